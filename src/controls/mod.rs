//! Controls decide: from findings, manual evidence, exceptions and scope to one state per
//! control ([`state`]), and from states to a posture score ([`posture`]). Pure functions; the
//! engine feeds them from the store.

mod posture;
mod state;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

pub use posture::{CategoryPosture, Posture, Tally, credit, posture, weight};
pub use state::{
    ActiveException, Assessment, CheckStatus, CheckSummary, ControlInputs, ControlState,
    ManualStatus, assess,
};

use crate::{catalog::Catalog, checks::Finding};

/// What the whole catalog is judged on at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The newest findings of every check.
    pub findings: &'a [Finding],
    /// The newest manual evidence, by control id.
    pub manual: &'a HashMap<String, ManualStatus>,
    /// Active exceptions, by control id.
    pub exceptions: &'a HashMap<String, ActiveException>,
    /// Controls configured out of scope, with the reason.
    pub out_of_scope: &'a HashMap<String, String>,
}

/// Assesses every control of the catalog.
pub fn assess_all(
    catalog: &Catalog,
    evidence: Evidence<'_>,
    now: DateTime<Utc>,
) -> Vec<Assessment> {
    let mut by_check: HashMap<&str, Vec<&Finding>> = HashMap::new();
    for finding in evidence.findings {
        by_check.entry(finding.check_id.as_str()).or_default().push(finding);
    }
    catalog
        .controls()
        .iter()
        .map(|control| {
            assess(
                control,
                ControlInputs {
                    findings: &by_check,
                    manual: evidence.manual.get(&control.id),
                    exception: evidence.exceptions.get(&control.id),
                    out_of_scope: evidence.out_of_scope.get(&control.id).map(String::as_str),
                    now,
                },
            )
        })
        .collect()
}
