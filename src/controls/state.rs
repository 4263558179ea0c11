//! A control's state, derived from its checks' findings, its manual evidence and any active
//! exception. Pure: the engine gathers the inputs, this decides.
//!
//! Precedence, and why:
//! 1. `not_applicable` when the control is out of scope (configured) — nothing else matters.
//! 2. The automated part (automated and hybrid controls), worst first: `failing` (fresh evidence
//!    shows a problem: the most actionable), `errored` (a check could not run), `stale` (the
//!    newest evidence is older than the control's freshness window), `no_evidence` (a check has
//!    never been collected), `not_applicable` (every check said so), else `passing`.
//! 3. The manual part (manual and hybrid): `manual_ok` while the newest uploaded evidence is not
//!    yet due, else `manual_due`. A hybrid control passes only when both parts do.
//! 4. An approved, unexpired exception turns any state that is not satisfied into `excepted`.
//!
//! Errors and missing evidence never yield `passing`.

use std::{collections::HashMap, fmt};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    catalog::{Control, ControlKind},
    checks::{Finding, Outcome},
};

/// Where a control stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlState {
    Failing,
    Errored,
    Stale,
    NoEvidence,
    ManualDue,
    Excepted,
    Passing,
    ManualOk,
    NotApplicable,
}

impl ControlState {
    /// Worst first, the order in which people should look at them.
    pub const ALL: [ControlState; 9] = [
        ControlState::Failing,
        ControlState::Errored,
        ControlState::Stale,
        ControlState::NoEvidence,
        ControlState::ManualDue,
        ControlState::Excepted,
        ControlState::Passing,
        ControlState::ManualOk,
        ControlState::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlState::Passing => "passing",
            ControlState::Failing => "failing",
            ControlState::Errored => "errored",
            ControlState::Stale => "stale",
            ControlState::NoEvidence => "no_evidence",
            ControlState::ManualDue => "manual_due",
            ControlState::ManualOk => "manual_ok",
            ControlState::Excepted => "excepted",
            ControlState::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(text: &str) -> Option<ControlState> {
        ControlState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The control is doing its job (an exception is a managed gap, not a satisfied control).
    pub fn is_satisfied(self) -> bool {
        matches!(self, ControlState::Passing | ControlState::ManualOk)
    }

    /// The state asks a person to act.
    pub fn needs_attention(self) -> bool {
        !matches!(
            self,
            ControlState::Passing
                | ControlState::ManualOk
                | ControlState::Excepted
                | ControlState::NotApplicable
        )
    }
}

impl fmt::Display for ControlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The newest manual evidence of a control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualStatus {
    pub submitted_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub owner: String,
}

/// An approved exception that has not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveException {
    pub id: i64,
    pub approved_by: String,
    pub expires_at: DateTime<Utc>,
    pub reason: String,
}

/// Everything known about one control at one instant.
#[derive(Debug, Clone, Copy)]
pub struct ControlInputs<'a> {
    /// The newest findings of every check, by check id.
    pub findings: &'a HashMap<&'a str, Vec<&'a Finding>>,
    pub manual: Option<&'a ManualStatus>,
    pub exception: Option<&'a ActiveException>,
    /// Why the control is out of scope, when it is.
    pub out_of_scope: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// How one check of a control stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Failing,
    Errored,
    Stale,
    Missing,
    NotApplicable,
    Passing,
}

/// One check's findings, summarised for a control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckSummary {
    pub check_id: String,
    pub status: CheckStatus,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub not_applicable: usize,
    /// The time the newest judged data describes.
    pub observed_at: Option<DateTime<Utc>>,
    /// The first failing or erroring finding's reason, to say why in one line.
    pub first_problem: Option<String>,
}

/// A control's derived state and the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub control_id: String,
    pub state: ControlState,
    pub reason: String,
    pub checks: Vec<CheckSummary>,
}

/// Decides one control's state.
pub fn assess(control: &Control, inputs: ControlInputs<'_>) -> Assessment {
    let checks: Vec<CheckSummary> = control
        .checks
        .iter()
        .map(|id| summarise_check(id, inputs.findings.get(id.as_str()), control, inputs.now))
        .collect();
    let (state, reason) = match inputs.out_of_scope {
        Some(why) => (ControlState::NotApplicable, format!("out of scope: {why}")),
        None => decide(control, &checks, inputs),
    };
    Assessment { control_id: control.id.clone(), state, reason, checks }
}

fn decide(
    control: &Control,
    checks: &[CheckSummary],
    inputs: ControlInputs<'_>,
) -> (ControlState, String) {
    let automated = control.kind.has_checks().then(|| automated_state(checks));
    let manual = control
        .kind
        .has_manual_evidence()
        .then(|| manual_state(inputs.manual, &control.owner, inputs.now));
    let (state, reason) = match (control.kind, automated, manual) {
        (ControlKind::Automated, Some(automated), _) => automated,
        (ControlKind::Manual, _, Some(manual)) => manual,
        (ControlKind::Hybrid, Some(automated), Some(manual)) => match automated.0 {
            // The automated half holds (or does not apply): the manual half decides.
            ControlState::Passing => match manual.0 {
                ControlState::ManualOk => {
                    (ControlState::Passing, format!("{}; {}", automated.1, manual.1))
                }
                _ => manual,
            },
            ControlState::NotApplicable => manual,
            _ => automated,
        },
        _ => unreachable!("a control's kind decides which parts exist"),
    };
    match inputs.exception {
        Some(exception) if state.needs_attention() => (
            ControlState::Excepted,
            format!(
                "exception #{} approved by {} until {}: {} (otherwise {state}: {reason})",
                exception.id,
                exception.approved_by,
                exception.expires_at.format("%Y-%m-%d"),
                exception.reason
            ),
        ),
        _ => (state, reason),
    }
}

fn summarise_check(
    check_id: &str,
    findings: Option<&Vec<&Finding>>,
    control: &Control,
    now: DateTime<Utc>,
) -> CheckSummary {
    let findings = findings.map(Vec::as_slice).unwrap_or_default();
    let count = |outcome| findings.iter().filter(|f| f.outcome == outcome).count();
    let (passed, failed, errored, not_applicable) = (
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Error),
        count(Outcome::NotApplicable),
    );
    let observed_at = findings.iter().map(|f| f.observed_at).max();
    let first_problem = findings
        .iter()
        .find(|f| f.outcome == Outcome::Fail)
        .or_else(|| findings.iter().find(|f| f.outcome == Outcome::Error))
        .map(|f| format!("{}: {}", f.resource, f.reason));
    let is_stale = match (observed_at, control.freshness) {
        (Some(observed_at), Some(window)) => now - observed_at > window.as_delta(),
        _ => false,
    };
    let status = if findings.is_empty() {
        CheckStatus::Missing
    } else if is_stale {
        CheckStatus::Stale
    } else if failed > 0 {
        CheckStatus::Failing
    } else if errored > 0 {
        CheckStatus::Errored
    } else if passed == 0 {
        CheckStatus::NotApplicable
    } else {
        CheckStatus::Passing
    };
    CheckSummary {
        check_id: check_id.to_owned(),
        status,
        passed,
        failed,
        errored,
        not_applicable,
        observed_at,
        first_problem,
    }
}

fn automated_state(checks: &[CheckSummary]) -> (ControlState, String) {
    let with = |status| checks.iter().filter(move |c| c.status == status);
    let names = |status| with(status).map(|c| c.check_id.as_str()).collect::<Vec<_>>().join(", ");

    if with(CheckStatus::Failing).next().is_some() {
        let parts: Vec<String> = with(CheckStatus::Failing)
            .map(|c| {
                format!(
                    "{} fails on {} of {}",
                    c.check_id,
                    c.failed,
                    resources(c.failed + c.passed)
                )
            })
            .collect();
        return (ControlState::Failing, parts.join("; "));
    }
    if let Some(check) = with(CheckStatus::Errored).next() {
        let problem = check.first_problem.as_deref().unwrap_or("no reason given");
        return (
            ControlState::Errored,
            format!("{} could not be evaluated: {problem}", check.check_id),
        );
    }
    if let Some(oldest) = with(CheckStatus::Stale).filter_map(|c| c.observed_at).min() {
        return (
            ControlState::Stale,
            format!(
                "evidence for {} is from {}, older than the freshness window",
                names(CheckStatus::Stale),
                oldest.format("%Y-%m-%d %H:%M UTC")
            ),
        );
    }
    if with(CheckStatus::Missing).next().is_some() {
        return (
            ControlState::NoEvidence,
            format!("no evidence collected yet for {}", names(CheckStatus::Missing)),
        );
    }
    if checks.iter().all(|c| c.status == CheckStatus::NotApplicable) {
        return (ControlState::NotApplicable, "no resource these checks apply to".into());
    }
    let passed: usize = checks.iter().map(|c| c.passed).sum();
    let plural = if checks.len() == 1 { "check passes" } else { "checks pass" };
    (ControlState::Passing, format!("{} {plural} on {}", checks.len(), resources(passed)))
}

fn resources(count: usize) -> String {
    if count == 1 { "1 resource".into() } else { format!("{count} resources") }
}

fn manual_state(
    manual: Option<&ManualStatus>,
    default_owner: &str,
    now: DateTime<Utc>,
) -> (ControlState, String) {
    match manual {
        None => {
            (ControlState::ManualDue, format!("no evidence uploaded yet (owner: {default_owner})"))
        }
        Some(m) if m.due_at <= now => (
            ControlState::ManualDue,
            format!("evidence was due on {} (owner: {})", m.due_at.format("%Y-%m-%d"), m.owner),
        ),
        Some(m) => (
            ControlState::ManualOk,
            format!("evidence current until {} (owner: {})", m.due_at.format("%Y-%m-%d"), m.owner),
        ),
    }
}

#[cfg(test)]
mod tests;
