use std::collections::HashMap;

use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::catalog::{FreshnessWindow, Severity};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn control(kind: ControlKind, checks: &[&str]) -> Control {
    Control {
        id: "AC-01".into(),
        title: "t".into(),
        description: "d".into(),
        criteria: vec!["CC6.1".into()],
        kind,
        checks: checks.iter().map(|c| c.to_string()).collect(),
        freshness: kind.has_checks().then(|| FreshnessWindow::days(2)),
        evidence: kind.has_manual_evidence().then(|| "a signed policy".into()),
        evidence_every: kind.has_manual_evidence().then(|| FreshnessWindow::days(365)),
        severity: Severity::High,
        owner: "security".into(),
        remediation: "r".into(),
        file: "test.toml".into(),
    }
}

fn finding(check: &str, outcome: Outcome, days_ago: i64) -> Finding {
    Finding {
        check_id: check.into(),
        outcome,
        resource: format!("resource-of-{check}"),
        reason: format!("{outcome} reason"),
        observed_at: now() - TimeDelta::days(days_ago),
    }
}

fn pass(check: &str) -> Finding {
    finding(check, Outcome::Pass, 0)
}
fn fail(check: &str) -> Finding {
    finding(check, Outcome::Fail, 0)
}
fn error(check: &str) -> Finding {
    finding(check, Outcome::Error, 0)
}
fn not_applicable(check: &str) -> Finding {
    finding(check, Outcome::NotApplicable, 0)
}

/// The inputs of one row, built up like a sentence.
#[derive(Default)]
struct World {
    findings: Vec<Finding>,
    manual: Option<ManualStatus>,
    exception: Option<ActiveException>,
    out_of_scope: Option<&'static str>,
}

impl World {
    fn with(findings: Vec<Finding>) -> Self {
        World { findings, ..World::default() }
    }
    fn manual_due_in_days(mut self, days: i64) -> Self {
        self.manual = Some(ManualStatus {
            submitted_at: now() - TimeDelta::days(10),
            due_at: now() + TimeDelta::days(days),
            owner: "alice".into(),
        });
        self
    }
    fn approved_exception(mut self) -> Self {
        self.exception = Some(ActiveException {
            id: 7,
            approved_by: "bob".into(),
            expires_at: now() + TimeDelta::days(30),
            reason: "vendor fix due next sprint".into(),
        });
        self
    }
    fn out_of_scope(mut self) -> Self {
        self.out_of_scope = Some("no office");
        self
    }

    fn assess(&self, control: &Control) -> Assessment {
        let mut by_check: HashMap<&str, Vec<&Finding>> = HashMap::new();
        for f in &self.findings {
            by_check.entry(f.check_id.as_str()).or_default().push(f);
        }
        assess(
            control,
            ControlInputs {
                findings: &by_check,
                manual: self.manual.as_ref(),
                exception: self.exception.as_ref(),
                out_of_scope: self.out_of_scope,
                now: now(),
            },
        )
    }
}

#[test]
fn automated_control_states() {
    let two_checks = control(ControlKind::Automated, &["a", "b"]);
    let rows: Vec<(&str, World, ControlState)> = vec![
        ("nothing collected yet", World::default(), ControlState::NoEvidence),
        ("one check never collected", World::with(vec![pass("a")]), ControlState::NoEvidence),
        ("every check passes", World::with(vec![pass("a"), pass("b")]), ControlState::Passing),
        (
            "one resource fails",
            World::with(vec![pass("a"), pass("b"), fail("b")]),
            ControlState::Failing,
        ),
        ("a check errored", World::with(vec![pass("a"), error("b")]), ControlState::Errored),
        (
            "a failure outranks an error",
            World::with(vec![fail("a"), error("b")]),
            ControlState::Failing,
        ),
        (
            "passing evidence older than the window",
            World::with(vec![pass("a"), finding("b", Outcome::Pass, 3)]),
            ControlState::Stale,
        ),
        (
            "a failure seen on stale data is stale, not failing",
            World::with(vec![pass("a"), finding("b", Outcome::Fail, 3)]),
            ControlState::Stale,
        ),
        (
            "evidence just inside the window",
            World::with(vec![pass("a"), finding("b", Outcome::Pass, 1)]),
            ControlState::Passing,
        ),
        (
            "nothing to judge anywhere",
            World::with(vec![not_applicable("a"), not_applicable("b")]),
            ControlState::NotApplicable,
        ),
        (
            "n/a beside a pass still passes",
            World::with(vec![not_applicable("a"), pass("b")]),
            ControlState::Passing,
        ),
        (
            "an approved exception covers a failure",
            World::with(vec![fail("a"), pass("b")]).approved_exception(),
            ControlState::Excepted,
        ),
        (
            "an exception changes nothing when passing",
            World::with(vec![pass("a"), pass("b")]).approved_exception(),
            ControlState::Passing,
        ),
        (
            "an exception covers missing evidence too",
            World::default().approved_exception(),
            ControlState::Excepted,
        ),
        (
            "out of scope wins over failing",
            World::with(vec![fail("a")]).out_of_scope(),
            ControlState::NotApplicable,
        ),
    ];
    for (name, world, expected) in rows {
        let assessment = world.assess(&two_checks);
        assert_eq!(assessment.state, expected, "{name}: {}", assessment.reason);
    }
}

#[test]
fn errors_and_missing_evidence_never_pass() {
    // Whatever mix of non-passing findings a control has, it is not passing.
    let one_check = control(ControlKind::Automated, &["a"]);
    for findings in [
        vec![],
        vec![error("a")],
        vec![pass("a"), error("a")],
        vec![finding("a", Outcome::Pass, 30)],
    ] {
        let state = World::with(findings.clone()).assess(&one_check).state;
        assert!(!state.is_satisfied(), "{findings:?} gave {state}");
    }
}

#[test]
fn manual_control_states() {
    let policy = control(ControlKind::Manual, &[]);
    let rows = [
        ("nothing uploaded", World::default(), ControlState::ManualDue),
        ("evidence current", World::default().manual_due_in_days(30), ControlState::ManualOk),
        (
            "evidence past its due date",
            World::default().manual_due_in_days(-1),
            ControlState::ManualDue,
        ),
        ("due now counts as due", World::default().manual_due_in_days(0), ControlState::ManualDue),
        (
            "an exception covers overdue evidence",
            World::default().approved_exception(),
            ControlState::Excepted,
        ),
    ];
    for (name, world, expected) in rows {
        assert_eq!(world.assess(&policy).state, expected, "{name}");
    }
}

#[test]
fn hybrid_controls_need_both_halves() {
    let hybrid = control(ControlKind::Hybrid, &["a"]);
    let rows = [
        ("both hold", World::with(vec![pass("a")]).manual_due_in_days(10), ControlState::Passing),
        ("checks pass, sign-off missing", World::with(vec![pass("a")]), ControlState::ManualDue),
        (
            "checks fail, sign-off current",
            World::with(vec![fail("a")]).manual_due_in_days(10),
            ControlState::Failing,
        ),
        (
            "no evidence, sign-off current",
            World::default().manual_due_in_days(10),
            ControlState::NoEvidence,
        ),
        (
            "checks n/a, sign-off current",
            World::with(vec![not_applicable("a")]).manual_due_in_days(10),
            ControlState::ManualOk,
        ),
    ];
    for (name, world, expected) in rows {
        assert_eq!(world.assess(&hybrid).state, expected, "{name}");
    }
}

#[test]
fn reasons_say_what_to_look_at() {
    let two_checks = control(ControlKind::Automated, &["a", "b"]);
    let failing = World::with(vec![pass("a"), fail("b"), fail("b"), pass("b")]).assess(&two_checks);
    assert_eq!(failing.reason, "b fails on 2 of 3 resources");

    let errored = World::with(vec![pass("a"), error("b")]).assess(&two_checks);
    assert_eq!(errored.reason, "b could not be evaluated: resource-of-b: error reason");

    let missing = World::default().assess(&two_checks);
    assert_eq!(missing.reason, "no evidence collected yet for a, b");

    let excepted = World::with(vec![fail("a"), pass("b")]).approved_exception().assess(&two_checks);
    assert!(
        excepted.reason.starts_with("exception #7 approved by bob until 2026-12-25"),
        "{}",
        excepted.reason
    );
    assert!(
        excepted.reason.ends_with("(otherwise failing: a fails on 1 of 1 resource)"),
        "{}",
        excepted.reason
    );

    let policy = control(ControlKind::Manual, &[]);
    assert_eq!(
        World::default().assess(&policy).reason,
        "no evidence uploaded yet (owner: security)"
    );
}

#[test]
fn check_summaries_count_every_outcome() {
    let one_check = control(ControlKind::Automated, &["a"]);
    let assessment =
        World::with(vec![pass("a"), pass("a"), fail("a"), error("a"), not_applicable("a")])
            .assess(&one_check);
    let summary = &assessment.checks[0];
    assert_eq!(
        (summary.passed, summary.failed, summary.errored, summary.not_applicable),
        (2, 1, 1, 1)
    );
    assert_eq!(summary.status, CheckStatus::Failing);
    assert_eq!(summary.first_problem.as_deref(), Some("resource-of-a: fail reason"));
}
