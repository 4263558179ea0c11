//! A synthetic Jira project for the sandbox and the evaluation benchmark: `generated(n)` builds
//! `n` Kushim remediation tickets from index-based patterns (a quarter closed, every 5th overdue,
//! every 23rd without a due date, the rest due within the next weeks). Dates are relative to
//! [`as_of`]; judge it with `CheckContext::new(as_of())`.
//!
//! The served fake lives beside it: [`world`] holds a simulated Jira Cloud site (project,
//! workflow with status categories, issues), [`server`] serves it in the REST v3 wire format for
//! the real clients (gouqi and reqwest) to work against.

pub mod server;
pub mod world;

pub use server::{FakeJira, start};
pub use world::JiraSite;

use chrono::TimeDelta;

use super::as_of;
use crate::integrations::jira::{JiraSnapshot, JiraTicket, StatusCategory};

/// A project with `resources` Kushim tickets.
pub fn generated(resources: usize) -> JiraSnapshot {
    let today = as_of().date_naive();
    let tickets = (0..resources)
        .map(|i| {
            let offset = (i % 40) as i64;
            let (status, status_category) = match i % 4 {
                0 => ("Done", StatusCategory::Done),
                1 => ("In Progress", StatusCategory::Indeterminate),
                _ => ("To Do", StatusCategory::New),
            };
            let due_date = if i % 23 == 2 {
                None
            } else if i % 5 == 1 {
                Some(today - TimeDelta::days(offset + 1))
            } else {
                Some(today + TimeDelta::days(offset))
            };
            JiraTicket {
                key: format!("SEC-{}", i + 1),
                summary: format!("[Kushim] remediation {}", i + 1),
                status: status.to_string(),
                status_category,
                due_date,
                created: as_of() - TimeDelta::days(offset + 30),
                labels: vec!["kushim".to_string(), format!("kushim-{:016x}", i)],
            }
        })
        .collect();
    JiraSnapshot {
        site_url: "https://sandbox-acme.atlassian.net".to_string(),
        tickets,
        gaps: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::jira::CHECKS;
    use crate::checks::{CheckContext, Judge, Outcome};

    #[test]
    fn produces_the_requested_number_of_tickets() {
        assert_eq!(generated(1_000).tickets.len(), 1_000);
        assert_eq!(generated(200), generated(200), "generation is deterministic");
    }

    #[test]
    fn every_check_runs_and_the_project_has_passes_and_failures() {
        let snapshot = generated(10_000);
        let ctx = CheckContext::new(as_of());
        let mut outcomes = Vec::new();
        for check in CHECKS {
            let Judge::Jira(judge) = check.judge else {
                panic!("{} is not a Jira check", check.id)
            };
            outcomes.extend(judge(&snapshot, &ctx).iter().map(|verdict| verdict.outcome));
        }
        assert!(outcomes.contains(&Outcome::Pass), "no pass in the sandbox project");
        assert!(outcomes.contains(&Outcome::Fail), "no fail in the sandbox project");
    }
}
