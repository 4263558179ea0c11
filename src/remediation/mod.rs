//! Remediation: one Jira ticket per failing control, kept in step with the control.
//!
//! - [`Remediation::open_ticket`] — a person asks (Slack button, `/kushim ticket`, `kushim
//!   ticket`): the control's ticket, created once however often and from wherever it is asked.
//! - [`Remediation::reconcile`] — after a refresh: tickets for failing controls of the automatic
//!   severities, a comment when the failing resources change, done when the control passes,
//!   reopened (or replaced by a linked new ticket) when it fails again, overdue noted once.
//! - [`Remediation::sync`] and [`Remediation::apply_webhook`] — Jira's side back into the store;
//!   a ticket closed in Jira while its control still fails is flagged, not accepted.
//!
//! Every method returns the [`TicketEvent`]s it caused for the caller to post to chat; nothing
//! here talks to chat.
//!
//! **Never a duplicate.** A ticket is first written to the store as `pending` with a fresh
//! idempotency key (label `kushim-<key>` on the issue), under a unique index that allows one
//! current ticket per control: of two racing callers exactly one wins, the other is told the
//! ticket is being created. Only then is the issue created in Jira, then its key saved. If the
//! answer to the create is lost (timeout, 5xx, a crash before the save), the pending row stays;
//! whoever next finds it with its claim expired searches Jira for the key's label and links what
//! it finds, creating the issue only if there is none. A create Jira certainly refused (4xx)
//! drops the pending row.

pub mod content;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    catalog::Control,
    checks::{self, Finding, Outcome},
    config::{JiraSettings, ReopenPolicy},
    controls::ControlState,
    engine::{Actor, Engine, EngineError, Refresh},
    integrations::{
        collect::{ApiCalls, CollectError, RetryPolicy},
        jira::{
            LABEL, StatusCategory,
            client::{IssueState, JiraClient, NewIssue},
            tickets_jql,
        },
    },
    store::{
        AuditEntry, EvidenceRecord, NewTicket, NewTicketEvent, StoreError, TicketClaim, TicketLink,
        TicketPhase, chain::sha256_hex,
    },
};

/// How long the caller that wrote a pending ticket has to finish creating it before another
/// caller may reconcile it.
pub const CREATE_CLAIM: TimeDelta = TimeDelta::minutes(2);

/// The entity property holding the ticket's idempotency key and control.
pub const PROPERTY: &str = "kushim";

#[derive(Debug, thiserror::Error)]
pub enum RemediationError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Jira(#[from] CollectError),
    #[error("{id} is {state}: there is nothing to remediate")]
    NotFailing { id: String, state: String },
    #[error("the Jira webhook payload is not an issue event: {0}")]
    BadWebhook(String),
}

/// A control's ticket as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketSummary {
    pub control_id: String,
    pub key: String,
    /// `https://acme.atlassian.net/browse/SEC-1`.
    pub url: String,
    pub status: String,
    pub status_category: String,
    pub assignee: Option<String>,
    pub due_date: Option<NaiveDate>,
    /// Closed in Jira while the control still fails.
    pub flagged: bool,
}

/// What asking for a ticket did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TicketOutcome {
    Created(TicketSummary),
    /// The control already had this ticket.
    AlreadyExists(TicketSummary),
    /// Another request is creating it right now.
    BeingCreated {
        control_id: String,
    },
}

impl TicketOutcome {
    pub fn ticket(&self) -> Option<&TicketSummary> {
        match self {
            TicketOutcome::Created(t) | TicketOutcome::AlreadyExists(t) => Some(t),
            TicketOutcome::BeingCreated { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketEventKind {
    Created,
    Commented,
    Closed,
    Reopened,
    Overdue,
    /// A person closed it in Jira while the control still fails.
    ClosedWhileFailing,
    /// A ticket action failed; `detail` says why (it is retried on the next reconcile).
    ActionFailed,
}

impl TicketEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketEventKind::Created => "created",
            TicketEventKind::Commented => "commented",
            TicketEventKind::Closed => "closed",
            TicketEventKind::Reopened => "reopened",
            TicketEventKind::Overdue => "overdue",
            TicketEventKind::ClosedWhileFailing => "closed_while_failing",
            TicketEventKind::ActionFailed => "action_failed",
        }
    }
}

/// Something that happened to a ticket, for the caller to post to the control's channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketEvent {
    pub kind: TicketEventKind,
    pub control_id: String,
    /// Empty for an [`TicketEventKind::ActionFailed`] before any ticket existed.
    pub key: String,
    pub url: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// The remediation loop for one Jira site.
pub struct Remediation {
    engine: Engine,
    client: JiraClient,
    settings: JiraSettings,
}

/// The newest findings and evidence records, as the store has them.
struct Ledger {
    findings: Vec<Finding>,
    evidence: Vec<EvidenceRecord>,
}

/// A control's failing resources and the ledger records they come from.
struct Failing {
    findings: Vec<Finding>,
    evidence: Vec<EvidenceRecord>,
    digest: String,
}

impl Remediation {
    pub fn new(
        engine: Engine,
        settings: JiraSettings,
        policy: RetryPolicy,
    ) -> Result<Remediation, RemediationError> {
        let client = JiraClient::new(&settings, policy, ApiCalls::default())?;
        Ok(Remediation { engine, client, settings })
    }

    /// Jira API calls made so far.
    pub fn api_calls(&self) -> u64 {
        self.client.api_calls()
    }

    /// The control's ticket: created if it has none, the existing one otherwise. Refused for a
    /// control that is not failing (passing, excepted, out of scope…).
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn open_ticket(
        &self,
        control_id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TicketOutcome, RemediationError> {
        let control = self.engine.control(control_id)?.clone();
        let (state, reason) = self.recorded_state(&control.id).await?;
        if matches!(
            state,
            Some(
                ControlState::Passing
                    | ControlState::ManualOk
                    | ControlState::Excepted
                    | ControlState::NotApplicable
            )
        ) {
            return Err(RemediationError::NotFailing {
                id: control.id.clone(),
                state: state.map_or("unknown", |s| s.as_str()).to_owned(),
            });
        }
        let (outcome, event) = self
            .ensure_ticket(&self.ledger().await?, &control, &reason, &actor.name, None, now)
            .await?;
        self.record(event.as_slice(), &actor.name).await?;
        if let TicketOutcome::Created(ticket) = &outcome {
            self.engine
                .store()
                .audit(AuditEntry {
                    at: now,
                    actor: actor.name.clone(),
                    origin: actor.origin.clone(),
                    action: "ticket.open".into(),
                    target: control.id.clone(),
                    detail: json!({"issue_key": ticket.key}),
                })
                .await?;
        }
        Ok(outcome)
    }

    /// The control's current ticket as people see it, if it has a linked one.
    pub async fn ticket_of(
        &self,
        control_id: &str,
    ) -> Result<Option<TicketSummary>, RemediationError> {
        let link = self.engine.store().current_ticket(control_id).await?;
        Ok(link.filter(|l| l.phase == TicketPhase::Linked).map(|l| self.summary(&l)))
    }

    /// Brings every ticket in line with `refresh` (see the module doc). A Jira failure on one
    /// control becomes an [`TicketEventKind::ActionFailed`] event and the others go on; the
    /// failed action is tried again next time, since the store still says what is left to do.
    pub async fn reconcile(
        &self,
        refresh: &Refresh,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketEvent>, RemediationError> {
        let mut events = Vec::new();
        let ledger = self.ledger().await?;
        for assessment in &refresh.assessments {
            let Some(control) = self.engine.catalog().control(&assessment.control_id).cloned()
            else {
                continue;
            };
            let link = self.engine.store().current_ticket(&control.id).await?;
            let result = match (assessment.state, link) {
                (ControlState::Failing, None)
                    if self.settings.tickets.auto_create.contains(&control.severity) =>
                {
                    self.auto_create(&ledger, &control, &assessment.reason, now).await
                }
                (ControlState::Failing, Some(link)) => {
                    self.keep_failing(&ledger, &control, &assessment.reason, link, now).await
                }
                (ControlState::Passing, Some(link))
                    if link.phase == TicketPhase::Linked && link.status_category != "done" =>
                {
                    self.close(&control, link, now).await
                }
                _ => Ok(Vec::new()),
            };
            match result {
                Ok(mut caused) => events.append(&mut caused),
                Err(RemediationError::Jira(error)) => {
                    tracing::warn!(control = %control.id, %error, "ticket action failed");
                    let key = self
                        .engine
                        .store()
                        .current_ticket(&control.id)
                        .await?
                        .and_then(|l| l.issue_key)
                        .unwrap_or_default();
                    events.push(self.event(
                        TicketEventKind::ActionFailed,
                        &control.id,
                        &key,
                        error.to_string(),
                        now,
                    ));
                }
                Err(other) => return Err(other),
            }
        }
        self.record(&events, "kushim").await?;
        Ok(events)
    }

    /// Pulls every Kushim ticket's status back from Jira (`search/jql` on our label, all
    /// pages) and flags tickets closed while their control still fails.
    pub async fn sync(&self, now: DateTime<Utc>) -> Result<Vec<TicketEvent>, RemediationError> {
        let found = self.client.search(&tickets_jql(&self.settings)).await?;
        let states = self.recorded_states().await?;
        let mut events = Vec::new();
        for issue in found {
            if let Some(link) = self.engine.store().ticket_by_issue_key(&issue.key).await? {
                events.extend(self.observe(link, &issue, &states, now).await?);
            }
        }
        self.record(&events, "jira").await?;
        Ok(events)
    }

    /// Applies a Jira `jira:issue_updated` webhook (already authenticated by the caller).
    /// Issues that are not Kushim tickets are ignored (`Ok(vec![])`); a payload that is not an
    /// issue event is refused and changes nothing.
    pub async fn apply_webhook(
        &self,
        payload: &Value,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketEvent>, RemediationError> {
        let issue = payload
            .get("issue")
            .ok_or_else(|| RemediationError::BadWebhook("no `issue`".into()))?;
        let key = issue
            .get("key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| RemediationError::BadWebhook("no `issue.key`".into()))?;
        let fields = issue
            .get("fields")
            .filter(|f| f.pointer("/status/statusCategory/key").is_some())
            .ok_or_else(|| RemediationError::BadWebhook("no `issue.fields.status`".into()))?;
        let state = crate::integrations::jira::client::issue_state(key, fields);
        let Some(link) = self.engine.store().ticket_by_issue_key(key).await? else {
            return Ok(Vec::new());
        };
        let states = self.recorded_states().await?;
        let events = self.observe(link, &state, &states, now).await?;
        self.record(&events, "jira-webhook").await?;
        Ok(events)
    }

    /// Saves what Jira says about one ticket; flags it when it was closed while failing.
    async fn observe(
        &self,
        mut link: TicketLink,
        issue: &IssueState,
        states: &HashMap<String, ControlState>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketEvent>, RemediationError> {
        let category = category_key(&issue.status_category);
        let mut events = Vec::new();
        let was_done = link.status_category == "done";
        link.status = issue.status.clone();
        link.status_category = category.clone();
        link.assignee = issue.assignee.clone();
        link.due_date = issue.due_date.or(link.due_date);
        link.updated_at = now;
        if category == "done" {
            let failing = states.get(&link.control_id) == Some(&ControlState::Failing);
            if failing && !link.closed_by_kushim && link.flagged_at.is_none() {
                link.flagged_at = Some(now);
                events.push(self.event(
                    TicketEventKind::ClosedWhileFailing,
                    &link.control_id,
                    &issue.key,
                    format!(
                        "{} was moved to {} in Jira while {} still fails",
                        issue.key, issue.status, link.control_id
                    ),
                    now,
                ));
            }
        } else if was_done {
            // Reopened by a person: no longer Kushim's close, no longer flagged.
            link.closed_by_kushim = false;
            link.flagged_at = None;
        }
        self.engine.store().save_ticket_state(&link).await?;
        Ok(events)
    }

    async fn auto_create(
        &self,
        ledger: &Ledger,
        control: &Control,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketEvent>, RemediationError> {
        let (_, event) = self.ensure_ticket(ledger, control, reason, "kushim", None, now).await?;
        Ok(event.into_iter().collect())
    }

    /// Creates the control's ticket unless it has one; reconciles a stale pending one.
    async fn ensure_ticket(
        &self,
        ledger: &Ledger,
        control: &Control,
        reason: &str,
        opened_by: &str,
        replaces: Option<&TicketLink>,
        now: DateTime<Utc>,
    ) -> Result<(TicketOutcome, Option<TicketEvent>), RemediationError> {
        let store = self.engine.store();
        let failing = failing(ledger, control);
        let claim = store
            .begin_ticket(NewTicket {
                idempotency_key: uuid::Uuid::new_v4().simple().to_string()[..16].to_owned(),
                control_id: control.id.clone(),
                failing_digest: failing.digest.clone(),
                opened_by: opened_by.to_owned(),
                replaces_key: replaces.and_then(|r| r.issue_key.clone()),
                now,
                claim_until: now + CREATE_CLAIM,
            })
            .await?;
        let link = match claim {
            TicketClaim::Existing(link) if link.phase == TicketPhase::Linked => {
                return Ok((TicketOutcome::AlreadyExists(self.summary(&link)), None));
            }
            TicketClaim::Existing(link) => {
                if !store
                    .reclaim_pending_ticket(&link.idempotency_key, now, now + CREATE_CLAIM)
                    .await?
                {
                    return Ok((
                        TicketOutcome::BeingCreated { control_id: control.id.clone() },
                        None,
                    ));
                }
                // A create was interrupted: Jira may hold the issue already.
                if let Some(found) = self.find_by_key_label(&link).await? {
                    let linked = store
                        .link_ticket(
                            &link.idempotency_key,
                            &found.key,
                            &found.status,
                            &category_key(&found.status_category),
                            found.due_date,
                            now,
                        )
                        .await?;
                    let detail = format!(
                        "{} linked to {} (recovered an interrupted create)",
                        found.key, control.id
                    );
                    let event =
                        self.event(TicketEventKind::Created, &control.id, &found.key, detail, now);
                    return Ok((TicketOutcome::Created(self.summary(&linked)), Some(event)));
                }
                link
            }
            TicketClaim::Claimed(link) => link,
        };
        self.create_remote(control, reason, &failing, link, now).await
    }

    /// `labels = kushim-<key>`: the issue an interrupted create may have left.
    async fn find_by_key_label(
        &self,
        link: &TicketLink,
    ) -> Result<Option<IssueState>, RemediationError> {
        let jql = format!(
            "project = \"{}\" AND labels = {}",
            self.settings.tickets.project,
            key_label(&link.idempotency_key)
        );
        Ok(self.client.search(&jql).await?.into_iter().next())
    }

    async fn create_remote(
        &self,
        control: &Control,
        reason: &str,
        failing: &Failing,
        link: TicketLink,
        now: DateTime<Utc>,
    ) -> Result<(TicketOutcome, Option<TicketEvent>), RemediationError> {
        let store = self.engine.store();
        let tickets = &self.settings.tickets;
        let mut labels =
            vec![LABEL.to_owned(), control_label(&control.id), key_label(&link.idempotency_key)];
        labels.extend(tickets.labels.iter().cloned());
        let due_date =
            now.date_naive() + TimeDelta::days(i64::from(*tickets.due_days.get(control.severity)));
        let issue = NewIssue {
            project: tickets.project.clone(),
            issue_type: tickets.issue_type.clone(),
            summary: content::summary(control),
            description: content::description(
                self.engine.catalog(),
                control,
                reason,
                &failing.findings,
                &failing.evidence,
            ),
            labels,
            components: tickets.components.clone(),
            priority: Some(tickets.priority.get(control.severity).clone()),
            due_date: Some(due_date),
        };
        let created = match self.client.project(&tickets.project).await {
            Ok(_) => self.client.create_issue(&issue).await,
            Err(error) => Err(error),
        };
        let created = match created {
            Ok(created) => created,
            Err(error) => {
                if certainly_not_created(&error) {
                    store.abandon_pending_ticket(&link.idempotency_key).await?;
                } else {
                    // Jira may hold the issue; let the next caller reconcile at once.
                    store.release_ticket_claim(&link.idempotency_key, now).await?;
                }
                return Err(error.into());
            }
        };
        let linked = store
            .link_ticket(&link.idempotency_key, &created.key, "", "new", Some(due_date), now)
            .await?;
        // After the key is safe: the property and the link to a replaced ticket are extras.
        let property = json!({"control_id": control.id, "idempotency_key": link.idempotency_key});
        if let Err(error) = self.client.set_property(&created.key, PROPERTY, &property).await {
            tracing::warn!(key = %created.key, %error, "could not set the ticket's entity property");
        }
        if let Some(old) = &link.replaces_key
            && let Err(error) = self.client.link(&created.key, old).await
        {
            tracing::warn!(key = %created.key, old = %old, %error, "could not link the replaced ticket");
        }
        let mut linked = linked;
        if let Ok(state) = self.client.issue(&created.key).await {
            linked.status = state.status;
            linked.status_category = category_key(&state.status_category);
            linked.assignee = state.assignee;
            store.save_ticket_state(&linked).await?;
        }
        let detail = match &link.replaces_key {
            Some(old) => format!("{} opened for {} (replaces {old})", created.key, control.id),
            None => format!("{} opened for {}", created.key, control.id),
        };
        let event = self.event(TicketEventKind::Created, &control.id, &created.key, detail, now);
        Ok((TicketOutcome::Created(self.summary(&linked)), Some(event)))
    }

    /// A failing control with a ticket: finish a stale create, reopen a closed ticket, comment
    /// on changed resources, note it overdue.
    async fn keep_failing(
        &self,
        ledger: &Ledger,
        control: &Control,
        reason: &str,
        mut link: TicketLink,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketEvent>, RemediationError> {
        let store = self.engine.store();
        let Some(key) = link.issue_key.clone() else {
            if link.claimed_until > now {
                return Ok(Vec::new());
            }
            let (_, event) =
                self.ensure_ticket(ledger, control, reason, "kushim", None, now).await?;
            return Ok(event.into_iter().collect());
        };
        let failing = failing(ledger, control);
        let mut events = Vec::new();
        if link.status_category == "done" {
            if !link.closed_by_kushim {
                // Closed by a person while failing: flagged by `observe`, not reopened behind
                // their back.
                return Ok(events);
            }
            let back = self
                .client
                .transitions(&key)
                .await?
                .into_iter()
                .filter(|t| t.to_category != StatusCategory::Done)
                .min_by_key(|t| matches!(t.to_category, StatusCategory::Indeterminate));
            match (self.settings.tickets.reopen, back) {
                (ReopenPolicy::Reopen, Some(transition)) => {
                    self.client
                        .comment(&key, &content::regression_comment(control, &failing.findings))
                        .await?;
                    self.client.transition(&key, &transition.id).await?;
                    link.status = transition.to_status.clone();
                    link.status_category = category_key(&transition.to_category);
                    link.closed_by_kushim = false;
                    link.failing_digest = failing.digest.clone();
                    link.updated_at = now;
                    store.save_ticket_state(&link).await?;
                    events.push(self.event(
                        TicketEventKind::Reopened,
                        &control.id,
                        &key,
                        format!("{key} reopened: {} fails again", control.id),
                        now,
                    ));
                }
                _ => {
                    store.retire_ticket(&link.idempotency_key, now).await?;
                    let (_, event) = self
                        .ensure_ticket(ledger, control, reason, "kushim", Some(&link), now)
                        .await?;
                    events.extend(event);
                }
            }
            return Ok(events);
        }
        if link.failing_digest != failing.digest {
            self.client.comment(&key, &content::changed_comment(&failing.findings)).await?;
            // The description stays the current picture; the comments keep the history.
            let description = content::description(
                self.engine.catalog(),
                control,
                reason,
                &failing.findings,
                &failing.evidence,
            );
            self.client.edit_issue(&key, json!({"description": description})).await?;
            link.failing_digest = failing.digest.clone();
            link.updated_at = now;
            store.save_ticket_state(&link).await?;
            events.push(self.event(
                TicketEventKind::Commented,
                &control.id,
                &key,
                format!("{} failing resources now", failing.findings.len()),
                now,
            ));
        }
        if let Some(due) = link.due_date
            && due < now.date_naive()
            && link.overdue_noted_at.is_none()
        {
            link.overdue_noted_at = Some(now);
            store.save_ticket_state(&link).await?;
            events.push(self.event(
                TicketEventKind::Overdue,
                &control.id,
                &key,
                format!("{key} was due {due}"),
                now,
            ));
        }
        Ok(events)
    }

    /// The control passes: comment, then move the ticket to a done-category status.
    async fn close(
        &self,
        control: &Control,
        mut link: TicketLink,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketEvent>, RemediationError> {
        let Some(key) = link.issue_key.clone() else { return Ok(Vec::new()) };
        let done = self
            .client
            .transitions(&key)
            .await?
            .into_iter()
            .find(|t| t.to_category == StatusCategory::Done);
        let Some(done) = done else {
            let detail = format!(
                "{key}: the workflow offers no transition to a done status from {}",
                link.status
            );
            return Ok(vec![self.event(
                TicketEventKind::ActionFailed,
                &control.id,
                &key,
                detail,
                now,
            )]);
        };
        self.client.comment(&key, &content::passing_comment(control)).await?;
        self.client.transition(&key, &done.id).await?;
        link.status = done.to_status.clone();
        link.status_category = "done".into();
        link.closed_by_kushim = true;
        link.flagged_at = None;
        link.updated_at = now;
        self.engine.store().save_ticket_state(&link).await?;
        Ok(vec![self.event(
            TicketEventKind::Closed,
            &control.id,
            &key,
            format!("{key} moved to {}: {} passes", done.to_status, control.id),
            now,
        )])
    }

    /// The newest findings and evidence, read once per call of the public methods.
    async fn ledger(&self) -> Result<Ledger, RemediationError> {
        let store = self.engine.store();
        Ok(Ledger {
            findings: store.latest_findings().await?,
            evidence: store.latest_evidence().await?,
        })
    }

    async fn recorded_states(&self) -> Result<HashMap<String, ControlState>, RemediationError> {
        Ok(self
            .engine
            .store()
            .control_states()
            .await?
            .into_iter()
            .filter_map(|row| ControlState::parse(&row.state).map(|s| (row.control_id, s)))
            .collect())
    }

    async fn recorded_state(
        &self,
        control_id: &str,
    ) -> Result<(Option<ControlState>, String), RemediationError> {
        let row = self
            .engine
            .store()
            .control_states()
            .await?
            .into_iter()
            .find(|row| row.control_id == control_id);
        Ok(match row {
            Some(row) => (ControlState::parse(&row.state), row.reason),
            None => (None, "not assessed yet".into()),
        })
    }

    fn summary(&self, link: &TicketLink) -> TicketSummary {
        let key = link.issue_key.clone().unwrap_or_default();
        TicketSummary {
            control_id: link.control_id.clone(),
            url: self.client.browse_url(&key),
            key,
            status: link.status.clone(),
            status_category: link.status_category.clone(),
            assignee: link.assignee.clone(),
            due_date: link.due_date,
            flagged: link.flagged_at.is_some(),
        }
    }

    fn event(
        &self,
        kind: TicketEventKind,
        control_id: &str,
        key: &str,
        detail: String,
        at: DateTime<Utc>,
    ) -> TicketEvent {
        TicketEvent {
            kind,
            control_id: control_id.to_owned(),
            key: key.to_owned(),
            url: if key.is_empty() { String::new() } else { self.client.browse_url(key) },
            detail,
            at,
        }
    }

    /// Appends events to the hash-chained ticket history (failed actions are not history).
    async fn record(&self, events: &[TicketEvent], actor: &str) -> Result<(), RemediationError> {
        for event in events.iter().filter(|e| e.kind != TicketEventKind::ActionFailed) {
            self.engine
                .store()
                .record_ticket_event(NewTicketEvent {
                    control_id: event.control_id.clone(),
                    issue_key: event.key.clone(),
                    kind: event.kind.as_str().to_owned(),
                    at: event.at,
                    actor: actor.to_owned(),
                    detail: json!({"detail": event.detail}),
                })
                .await?;
        }
        Ok(())
    }
}

/// `kushim-cc-01`: every ticket of a control.
pub fn control_label(control_id: &str) -> String {
    format!("{LABEL}-{}", control_id.to_ascii_lowercase())
}

/// `kushim-key-<idempotency key>`: exactly one ticket.
pub fn key_label(idempotency_key: &str) -> String {
    format!("{LABEL}-key-{idempotency_key}")
}

fn category_key(category: &StatusCategory) -> String {
    match category {
        StatusCategory::New => "new".into(),
        StatusCategory::Indeterminate => "indeterminate".into(),
        StatusCategory::Done => "done".into(),
        StatusCategory::Other(other) => other.clone(),
    }
}

/// Whether Jira certainly did not create the issue: it refused the request (4xx, including a
/// rate limit that outlasted the retries) or was never asked.
fn certainly_not_created(error: &CollectError) -> bool {
    match error {
        CollectError::NotConfigured { .. }
        | CollectError::Unauthorized { .. }
        | CollectError::Forbidden { .. }
        | CollectError::RateLimited { .. } => true,
        CollectError::Server { status, .. } => (400..500).contains(status),
        CollectError::Transport { .. }
        | CollectError::Timeout { .. }
        | CollectError::Malformed { .. } => false,
    }
}

/// The failing findings of the control's checks, sorted, with their digest, and the evidence
/// records they were judged on.
fn failing(ledger: &Ledger, control: &Control) -> Failing {
    let mut findings: Vec<Finding> = ledger
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail && control.checks.contains(&f.check_id))
        .cloned()
        .collect();
    findings.sort_by(|a, b| a.check_id.cmp(&b.check_id).then(a.resource.cmp(&b.resource)));
    let digest_input: String =
        findings.iter().map(|f| format!("{}|{}\n", f.check_id, f.resource)).collect();
    let sources: Vec<&str> = control
        .checks
        .iter()
        .filter_map(|id| checks::find(id))
        .map(|c| c.judge.integration().as_str())
        .collect();
    let evidence =
        ledger.evidence.iter().filter(|e| sources.contains(&e.source.as_str())).cloned().collect();
    Failing { findings, evidence, digest: sha256_hex(digest_input.as_bytes()) }
}
