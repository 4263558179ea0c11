//! Jira checks: Kushim's own remediation tickets are closed by their due date
//! (shared/reference/checks.md §4.2 and §6, `jira.remediation_sla`).

use chrono::NaiveDate;
use serde::Deserialize;

use crate::checks::{CheckContext, CheckDef, Judge, Verdict};
use crate::integrations::jira::{JiraSnapshot, JiraTicket, PART_TICKETS, StatusCategory};

pub const CHECKS: &[CheckDef] = &[CheckDef {
    id: "jira.remediation_sla",
    title: "Kushim remediation tickets are resolved by their due date",
    judge: Judge::Jira(remediation_sla),
}];

/// The `[checks.jira]` section of `kushim.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraThresholds {
    /// Days past its due date before an open ticket counts as overdue. Default: 0.
    pub grace_days: u32,
}

#[allow(clippy::derivable_impls)] // spelled out so the documented default is visible here
impl Default for JiraThresholds {
    fn default() -> Self {
        Self { grace_days: 0 }
    }
}

fn site_resource(snapshot: &JiraSnapshot) -> String {
    let host = snapshot.site_url.trim_start_matches("https://").trim_start_matches("http://");
    format!("jira-site:{}", host.trim_end_matches('/'))
}

/// `jira.remediation_sla`: every ticket not in the done category is within its due date plus
/// `grace_days`, judged on `ctx.now`'s UTC date. A ticket due today is on time: a due date names
/// the day by which the work is due. (The reference's JQL `duedate < now()` would already count
/// it, since Jira reads a date as its midnight.)
///
/// Having nothing open is the compliant state, so no open tickets is ONE pass, not
/// `not_applicable`.
fn remediation_sla(snapshot: &JiraSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(reason) = snapshot.gaps.get(PART_TICKETS) {
        return vec![Verdict::error(
            site_resource(snapshot),
            format!("remediation tickets could not be searched: {reason}"),
        )];
    }
    let today = ctx.now.date_naive();
    let grace = i64::from(ctx.thresholds.jira.grace_days);
    let verdicts: Vec<Verdict> = snapshot
        .tickets
        .iter()
        .filter(|ticket| ticket.status_category != StatusCategory::Done)
        .map(|ticket| judge_ticket(ticket, today, grace))
        .collect();
    if verdicts.is_empty() {
        return vec![Verdict::pass(site_resource(snapshot), "no open remediation tickets")];
    }
    verdicts
}

fn judge_ticket(ticket: &JiraTicket, today: NaiveDate, grace: i64) -> Verdict {
    let resource = format!("jira-issue:{}", ticket.key);
    let status = &ticket.status;
    // Kushim sets a due date on every ticket it opens (severity SLA), so a missing one was removed
    // by hand or the ticket was labelled by a person; either way no date commits anyone to a fix,
    // and "corrected timely" cannot be shown. That is a finding, not a gap in Kushim's data.
    let Some(due) = ticket.due_date else {
        return Verdict::fail(
            resource,
            format!("no due date, SLA cannot be tracked (status {status}); set a due date"),
        );
    };
    let late = (today - due).num_days();
    if late > grace {
        Verdict::fail(
            resource,
            format!("overdue: due {due}, {late} days ago (grace {grace} days), status {status}"),
        )
    } else if late > 0 {
        Verdict::pass(
            resource,
            format!(
                "due {due}, {late} days ago, within the {grace}-day grace period (status {status})"
            ),
        )
    } else if late == 0 {
        Verdict::pass(resource, format!("due today (status {status})"))
    } else {
        Verdict::pass(resource, format!("due {due}, in {} days (status {status})", -late))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Outcome::{self, Error, Fail, Pass};
    use crate::checks::Thresholds;
    use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

    fn now() -> DateTime<Utc> {
        // 2025-06-01T23:30:00Z: late in the UTC day, so "today" must come from the date alone.
        DateTime::from_timestamp(1_748_820_600, 0).expect("a valid time")
    }

    fn today() -> NaiveDate {
        now().date_naive()
    }

    fn site() -> JiraSnapshot {
        JiraSnapshot {
            site_url: "https://acme.atlassian.net".to_string(),
            ..JiraSnapshot::default()
        }
    }

    impl JiraSnapshot {
        fn with(mut self, ticket: JiraTicket) -> Self {
            self.tickets.push(ticket);
            self
        }
        fn with_gap(mut self, reason: &str) -> Self {
            self.gaps.insert(PART_TICKETS.to_string(), reason.to_string());
            self
        }
    }

    /// An open ("To Do") ticket due in 10 days.
    fn ticket(key: &str) -> JiraTicket {
        JiraTicket {
            key: key.to_string(),
            summary: format!("[Kushim] {key}"),
            status: "To Do".to_string(),
            status_category: StatusCategory::New,
            due_date: Some(today() + TimeDelta::days(10)),
            created: now() - TimeDelta::days(20),
            labels: vec!["kushim".to_string()],
        }
    }

    impl JiraTicket {
        fn due_in(mut self, days: i64) -> Self {
            self.due_date = Some(today() + TimeDelta::days(days));
            self
        }
        fn no_due_date(mut self) -> Self {
            self.due_date = None;
            self
        }
        fn in_progress(mut self) -> Self {
            self.status = "In Progress".to_string();
            self.status_category = StatusCategory::Indeterminate;
            self
        }
        fn done(mut self) -> Self {
            self.status = "Closed".to_string();
            self.status_category = StatusCategory::Done;
            self
        }
    }

    /// A row: its name, the project, the context, and per expected verdict the outcome and a
    /// fragment of its reason or resource.
    type Row = (&'static str, JiraSnapshot, CheckContext, Vec<(Outcome, &'static str)>);

    fn with_grace(days: u32) -> CheckContext {
        let mut thresholds = Thresholds::default();
        thresholds.jira.grace_days = days;
        CheckContext::new(now()).with_thresholds(thresholds)
    }

    #[test]
    fn remediation_sla_table() {
        let rows: Vec<Row> = vec![
            (
                "on time passes",
                site().with(ticket("SEC-1")),
                with_grace(0),
                vec![(Pass, "in 10 days")],
            ),
            (
                "due today passes",
                site().with(ticket("SEC-2").due_in(0)),
                with_grace(0),
                vec![(Pass, "due today")],
            ),
            (
                "overdue in progress fails",
                site().with(ticket("SEC-3").due_in(-12).in_progress()),
                with_grace(0),
                vec![(
                    Fail,
                    "overdue: due 2025-05-20, 12 days ago (grace 0 days), status In Progress",
                )],
            ),
            (
                "one day late fails",
                site().with(ticket("SEC-4").due_in(-1)),
                with_grace(0),
                vec![(Fail, "1 days ago")],
            ),
            (
                "within grace passes",
                site().with(ticket("SEC-5").due_in(-2)),
                with_grace(3),
                vec![(Pass, "within the 3-day grace period")],
            ),
            (
                "past grace fails",
                site().with(ticket("SEC-6").due_in(-4)),
                with_grace(3),
                vec![(Fail, "4 days ago (grace 3 days)")],
            ),
            (
                "no due date fails",
                site().with(ticket("SEC-7").no_due_date()),
                with_grace(0),
                vec![(Fail, "no due date, SLA cannot be tracked")],
            ),
            (
                "done tickets are skipped, even overdue or undated",
                site()
                    .with(ticket("SEC-8").due_in(-30).done())
                    .with(ticket("SEC-9").no_due_date().done())
                    .with(ticket("SEC-10").due_in(-5)),
                with_grace(0),
                vec![(Fail, "jira-issue:SEC-10")],
            ),
            (
                "an unknown category counts as open",
                site().with(JiraTicket {
                    status_category: StatusCategory::Other("undefined".to_string()),
                    ..ticket("SEC-11").due_in(-3)
                }),
                with_grace(0),
                vec![(Fail, "overdue")],
            ),
            (
                "only done tickets: one pass",
                site().with(ticket("SEC-12").done()),
                with_grace(0),
                vec![(Pass, "no open remediation tickets")],
            ),
            (
                "no tickets: one pass",
                site(),
                with_grace(0),
                vec![(Pass, "no open remediation tickets")],
            ),
            (
                "search failed: error with the reason",
                site().with(ticket("SEC-13")).with_gap("HTTP 410 Gone"),
                with_grace(0),
                vec![(Error, "HTTP 410 Gone")],
            ),
        ];
        for (name, snapshot, ctx, expect) in rows {
            let verdicts = remediation_sla(&snapshot, &ctx);
            assert_eq!(verdicts.len(), expect.len(), "{name}: {verdicts:#?}");
            for (verdict, (outcome, fragment)) in verdicts.iter().zip(&expect) {
                assert_eq!(verdict.outcome, *outcome, "{name}: {verdict:?}");
                assert!(
                    verdict.reason.contains(fragment) || verdict.resource.contains(fragment),
                    "{name}: expected {fragment:?} in {verdict:?}"
                );
            }
        }
    }

    #[test]
    fn ids_are_unique_and_prefixed() {
        let ids: std::collections::BTreeSet<&str> = CHECKS.iter().map(|check| check.id).collect();
        assert_eq!(ids.len(), CHECKS.len(), "duplicate check id in {CHECKS:?}");
        for check in CHECKS {
            assert!(check.id.starts_with("jira."), "{} lacks the jira. prefix", check.id);
            assert!(
                matches!(check.judge, Judge::Jira(_)),
                "{} is not judged on the Jira snapshot",
                check.id
            );
        }
    }

    #[test]
    fn thresholds_default_and_parse() {
        assert_eq!(JiraThresholds::default().grace_days, 0);
        let parsed: JiraThresholds =
            serde_json::from_str(r#"{"grace_days": 2}"#).expect("valid thresholds");
        assert_eq!(parsed.grace_days, 2);
        assert!(
            serde_json::from_str::<JiraThresholds>(r#"{"grace": 2}"#).is_err(),
            "unknown field accepted"
        );
    }
}
