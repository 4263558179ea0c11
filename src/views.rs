//! What Kushim shows, as data. The same structs are printed as tables for people and as JSON
//! (`--json`) for scripts by the CLI, and rendered as Block Kit by the chat replies; the JSON
//! shapes are documented in the README and only grow.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    catalog::{Catalog, Control, ControlKind, Severity},
    checks::{self, Finding, Outcome},
    controls::{self, Assessment, CheckSummary, ControlState, Posture},
    engine::{CollectionReport, Refresh},
    store::{
        EvidenceRecord, ExceptionRecord, ManualEvidenceRecord, TicketLink, TicketPhase,
        TransitionRecord,
    },
};

/// Failing resources listed per control before the rest are only counted.
pub const RESOURCES_SHOWN: usize = 20;

/// One control in a list.
#[derive(Debug, Clone, Serialize)]
pub struct ControlLine {
    pub id: String,
    pub title: String,
    pub state: ControlState,
    pub severity: Severity,
    pub kind: ControlKind,
    pub criteria: Vec<String>,
    pub reason: String,
}

impl ControlLine {
    pub fn new(control: &Control, assessment: &Assessment) -> Self {
        ControlLine {
            id: control.id.clone(),
            title: control.title.clone(),
            state: assessment.state,
            severity: control.severity,
            kind: control.kind,
            criteria: control.criteria.clone(),
            reason: assessment.reason.clone(),
        }
    }
}

/// `kushim status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub evaluated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub posture: Posture,
    /// Controls that need a person, worst state first, then highest severity.
    pub attention: Vec<ControlLine>,
    /// Whether any integration has ever been collected.
    pub has_collected_evidence: bool,
}

impl StatusView {
    pub fn new(catalog: &Catalog, refresh: &Refresh, has_collected_evidence: bool) -> Self {
        let posture = controls::posture(catalog, |id| refresh.state_of(id));
        let mut attention: Vec<ControlLine> = lines(catalog, refresh)
            .into_iter()
            .filter(|line| line.state.needs_attention())
            .collect();
        attention.sort_by(|a, b| {
            a.state.cmp(&b.state).then(b.severity.cmp(&a.severity)).then(a.id.cmp(&b.id))
        });
        StatusView { evaluated_at: refresh.at, posture, attention, has_collected_evidence }
    }
}

/// `kushim controls`.
#[derive(Debug, Clone, Serialize)]
pub struct ControlsView {
    pub evaluated_at: DateTime<Utc>,
    pub controls: Vec<ControlLine>,
}

/// Every control of the catalog with its assessment, in catalog order.
pub fn lines(catalog: &Catalog, refresh: &Refresh) -> Vec<ControlLine> {
    catalog
        .controls()
        .iter()
        .zip(&refresh.assessments)
        .map(|(control, assessment)| ControlLine::new(control, assessment))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct CriterionLine {
    pub id: String,
    pub title: String,
}

/// The ledger record a control's automated evidence comes from.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceLine {
    pub seq: i64,
    pub source: String,
    pub kind: String,
    pub collected_at: DateTime<Utc>,
    pub observed_at: DateTime<Utc>,
    pub payload_sha256: String,
    pub record_hash: String,
}

impl From<EvidenceRecord> for EvidenceLine {
    fn from(r: EvidenceRecord) -> Self {
        EvidenceLine {
            seq: r.seq,
            source: r.source,
            kind: r.kind,
            collected_at: r.collected_at,
            observed_at: r.observed_at,
            payload_sha256: r.payload_sha256,
            record_hash: r.record_hash,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TransitionLine {
    pub at: DateTime<Utc>,
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
}

impl From<TransitionRecord> for TransitionLine {
    fn from(t: TransitionRecord) -> Self {
        TransitionLine { at: t.at, from: t.from_state, to: t.to_state, reason: t.reason }
    }
}

/// `kushim control <ID>`.
#[derive(Debug, Clone, Serialize)]
pub struct ControlDetail {
    pub id: String,
    pub title: String,
    pub description: String,
    pub state: ControlState,
    pub reason: String,
    pub evaluated_at: DateTime<Utc>,
    pub kind: ControlKind,
    pub severity: Severity,
    pub owner: String,
    pub criteria: Vec<CriterionLine>,
    pub freshness: Option<String>,
    pub evidence_expected: Option<String>,
    pub evidence_every: Option<String>,
    pub remediation: String,
    pub checks: Vec<CheckSummary>,
    /// Failing and erroring findings first, at most [`RESOURCES_SHOWN`].
    pub problems: Vec<Finding>,
    /// Problems not listed in `problems`.
    pub problems_not_shown: usize,
    pub evidence: Vec<EvidenceLine>,
    pub manual_evidence: Vec<ManualEvidenceRecord>,
    pub exceptions: Vec<ExceptionRecord>,
    pub history: Vec<TransitionLine>,
    /// The control's Jira remediation ticket, if it has one.
    pub ticket: Option<TicketLine>,
}

/// A control's Jira ticket as last seen (by Kushim's own actions, the sync or a webhook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketLine {
    /// `SEC-42`; empty while the ticket is still being created.
    pub key: String,
    /// The browse URL, when the Jira site is configured.
    pub url: Option<String>,
    pub status: String,
    /// `new`, `indeterminate` or `done`.
    pub status_category: String,
    pub assignee: Option<String>,
    pub due_date: Option<chrono::NaiveDate>,
    /// Closed in Jira while the control still fails.
    pub flagged: bool,
    /// Created in Kushim's store, not yet confirmed by Jira.
    pub pending: bool,
}

impl TicketLine {
    /// `site_url`: the configured Jira site, for the browse link.
    pub fn new(link: &TicketLink, site_url: Option<&str>) -> TicketLine {
        let key = link.issue_key.clone().unwrap_or_default();
        TicketLine {
            url: site_url
                .filter(|_| !key.is_empty())
                .map(|site| format!("{}/browse/{key}", site.trim_end_matches('/'))),
            key,
            status: link.status.clone(),
            status_category: link.status_category.clone(),
            assignee: link.assignee.clone(),
            due_date: link.due_date,
            flagged: link.flagged_at.is_some(),
            pending: link.phase == TicketPhase::Pending,
        }
    }
}

/// The parts of a control's detail that come from the store.
pub struct ControlRecords {
    pub findings: Vec<Finding>,
    pub evidence: Vec<EvidenceRecord>,
    pub manual_evidence: Vec<ManualEvidenceRecord>,
    pub exceptions: Vec<ExceptionRecord>,
    pub history: Vec<TransitionRecord>,
}

impl ControlDetail {
    pub fn new(
        catalog: &Catalog,
        control: &Control,
        assessment: &Assessment,
        evaluated_at: DateTime<Utc>,
        records: ControlRecords,
    ) -> Self {
        let mut problems: Vec<Finding> = records
            .findings
            .into_iter()
            .filter(|f| {
                control.checks.contains(&f.check_id)
                    && matches!(f.outcome, Outcome::Fail | Outcome::Error)
            })
            .collect();
        problems.sort_by(|a, b| a.outcome.cmp(&b.outcome).then(a.check_id.cmp(&b.check_id)));
        let problems_not_shown = problems.len().saturating_sub(RESOURCES_SHOWN);
        problems.truncate(RESOURCES_SHOWN);

        let sources: Vec<&str> = control
            .checks
            .iter()
            .filter_map(|id| checks::find(id))
            .map(|c| c.judge.integration().as_str())
            .collect();
        let evidence = records
            .evidence
            .into_iter()
            .filter(|e| sources.contains(&e.source.as_str()))
            .map(EvidenceLine::from)
            .collect();
        ControlDetail {
            id: control.id.clone(),
            title: control.title.clone(),
            description: control.description.clone(),
            state: assessment.state,
            reason: assessment.reason.clone(),
            evaluated_at,
            kind: control.kind,
            severity: control.severity,
            owner: control.owner.clone(),
            criteria: control
                .criteria
                .iter()
                .map(|id| CriterionLine {
                    id: id.clone(),
                    title: catalog.criterion(id).map(|c| c.title.clone()).unwrap_or_default(),
                })
                .collect(),
            freshness: control.freshness.map(|f| f.to_string()),
            evidence_expected: control.evidence.clone(),
            evidence_every: control.evidence_every.map(|f| f.to_string()),
            remediation: control.remediation.clone(),
            checks: assessment.checks.clone(),
            problems,
            problems_not_shown,
            evidence,
            manual_evidence: records.manual_evidence,
            exceptions: records
                .exceptions
                .into_iter()
                .filter(|x| x.control_id == control.id)
                .collect(),
            history: records.history.into_iter().map(TransitionLine::from).collect(),
            ticket: None,
        }
    }

    /// The detail with the control's Jira ticket.
    pub fn with_ticket(mut self, ticket: Option<TicketLine>) -> Self {
        self.ticket = ticket;
        self
    }
}

/// `kushim findings`.
#[derive(Debug, Clone, Serialize)]
pub struct FindingsView {
    pub findings: Vec<Finding>,
}

/// One collection run, for `kushim collect`.
#[derive(Debug, Clone, Serialize)]
pub struct RunLine {
    pub integration: String,
    /// `collected` or `failed`.
    pub outcome: String,
    pub api_calls: i64,
    pub findings: usize,
    pub seconds: f64,
    /// Why it failed, when it did.
    pub detail: String,
}

/// A control that changed state during a command.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeLine {
    pub control_id: String,
    pub title: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
}

/// `kushim collect` (and the demo's collection).
#[derive(Debug, Clone, Serialize)]
pub struct CollectView {
    pub runs: Vec<RunLine>,
    /// Controls whose state differs from before the collection.
    pub changes: Vec<ChangeLine>,
    /// Controls assessed for the first time (a new database).
    pub first_assessed: usize,
    /// The posture score after the collection.
    pub score: f64,
    /// What the Jira remediation loop did after the collection (when Jira is configured).
    pub ticket_events: Vec<crate::remediation::TicketEvent>,
}

impl CollectView {
    /// `before`: each control's recorded state before the collection.
    pub fn new(
        catalog: &Catalog,
        reports: &[CollectionReport],
        before: &HashMap<String, String>,
    ) -> Self {
        let runs = reports
            .iter()
            .map(|r| RunLine {
                integration: r.run.integration.clone(),
                outcome: r.run.outcome.clone(),
                api_calls: r.run.api_calls,
                findings: r.findings,
                seconds: r.took.num_milliseconds() as f64 / 1000.0,
                detail: r.run.detail.clone(),
            })
            .collect();
        let after = reports.last().map(|r| r.refresh.assessments.as_slice()).unwrap_or_default();
        let changes = after
            .iter()
            .filter_map(|a| {
                let from = before.get(&a.control_id)?;
                (from != a.state.as_str()).then(|| ChangeLine {
                    control_id: a.control_id.clone(),
                    title: catalog
                        .control(&a.control_id)
                        .map(|c| c.title.clone())
                        .unwrap_or_default(),
                    from: Some(from.clone()),
                    to: a.state.as_str().to_owned(),
                    reason: a.reason.clone(),
                })
            })
            .collect();
        let first_assessed = after.iter().filter(|a| !before.contains_key(&a.control_id)).count();
        let score = reports
            .last()
            .map(|r| controls::posture(catalog, |id| r.refresh.state_of(id)).overall.score)
            .unwrap_or_default();
        CollectView { runs, changes, first_assessed, score, ticket_events: Vec::new() }
    }

    pub fn with_ticket_events(mut self, events: Vec<crate::remediation::TicketEvent>) -> Self {
        self.ticket_events = events;
        self
    }
}
