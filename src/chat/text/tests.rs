//! The exact words people read. A change of wording changes these strings, so it shows up in
//! review as a diff.

use super::*;
use crate::{catalog::Catalog, chat::commands::parse};

/// What the bot answers to a line that does not parse.
fn reply(text: &str) -> String {
    let catalog = Catalog::builtin().expect("the built-in catalog is valid");
    match parse(text, &catalog) {
        Err(error) => parse_error(&error),
        Ok(command) => panic!("{text:?} parsed as {command:?}"),
    }
}

#[test]
fn the_help_listing_groups_every_command_with_its_usage_and_summary() {
    assert_eq!(
        help(None),
        "\
Here is what I can do. `/kushim help <command>` explains one; you can also mention me, like `@Kushim status`.

*Posture*
• `/kushim status` — Your SOC 2 posture: score, controls per state, and the top failing controls
• `/kushim controls [failing|all|<criterion>]` — List controls with their state: all of them, the failing ones, or one criterion's
• `/kushim control <ID>` — Explain one control: its checks, failing resources, evidence, ticket and exception
• `/kushim evidence <ID>` — The evidence behind one control: what was collected, when, and uploaded documents
• `/kushim digest` — Preview the digest that subscribed channels receive, without posting it

*Remediation*
• `/kushim collect [github|aws|okta|slack]` — Collect fresh evidence now, from every configured integration or just one
• `/kushim ticket <ID>` — Open the Jira ticket for a failing control, or show the one already open
• `/kushim except <ID>` — Request an exception for a control: opens a form for the reason and expiry date
• `/kushim exceptions` — List exceptions: awaiting approval, active, and expiring soon

*Channels*
• `/kushim subscribe #channel alerts|digest` — Post alerts (controls that start failing) or the digest to a channel
• `/kushim unsubscribe #channel alerts|digest` — Stop posting alerts or the digest to a channel

*Operations*
• `/kushim jobs` — Show the background job queue and the jobs that gave up, with a Retry button for each

*Help*
• `/kushim help [command]` — List what Kushim can do, or explain one command
"
    );
}

#[test]
fn help_for_a_command_shows_its_arguments_role_and_examples() {
    assert_eq!(
        help(Some(CommandName::Status)),
        "\
`/kushim status`
Your SOC 2 posture: score, controls per state, and the top failing controls

Anyone with a Kushim role can run it.
Example: `/kushim status`
"
    );
    assert_eq!(
        help(Some(CommandName::Controls)),
        "\
`/kushim controls [failing|all|<criterion>]`
List controls with their state: all of them, the failing ones, or one criterion's

• `filter` (optional): failing, all (the default), or a Trust Services Criterion such as CC6.1

Anyone with a Kushim role can run it.
Examples: `/kushim controls failing`, `/kushim controls CC6.1`, `/kushim controls`
"
    );
    assert_eq!(
        help(Some(CommandName::Collect)),
        "\
`/kushim collect [github|aws|okta|slack]`
Collect fresh evidence now, from every configured integration or just one

• `integration` (optional): Only this integration: github, aws, okta or slack (default: every configured one)

Responders, approvers and admins can run it.
Examples: `/kushim collect`, `/kushim collect github`
"
    );
    assert_eq!(
        help(Some(CommandName::Subscribe)),
        "\
`/kushim subscribe #channel alerts|digest`
Post alerts (controls that start failing) or the digest to a channel

• `channel` (required): The channel to post in, such as #security
• `feed` (required): alerts: controls as they start failing; digest: the periodic summary

Only admins can run it.
Examples: `/kushim subscribe #security alerts`, `/kushim subscribe #leadership digest`
"
    );
}

#[test]
fn every_parse_error_becomes_a_sentence_that_points_to_help() {
    let cases = [
        ("stauts", "I don't know `stauts`. Did you mean `status`? Try `/kushim help`."),
        (
            "contol AC-01",
            "I don't know `contol`. Did you mean `control` or `controls`? Try `/kushim help`.",
        ),
        ("deploy", "I don't know `deploy`. Try `/kushim help` to see what I can do."),
        ("help stauts", "I don't know `stauts`. Did you mean `status`? Try `/kushim help`."),
        (
            "control",
            "`/kushim control` needs a control id, such as `AC-01`. Usage: `/kushim control <ID>`. \
             Try `/kushim help control`.",
        ),
        (
            "subscribe",
            "`/kushim subscribe` needs a channel, such as `#security`. Usage: \
             `/kushim subscribe #channel alerts|digest`. Try `/kushim help subscribe`.",
        ),
        (
            "subscribe #security",
            "`/kushim subscribe` needs `alerts` or `digest`. Usage: \
             `/kushim subscribe #channel alerts|digest`. Try `/kushim help subscribe`.",
        ),
        (
            "control AC-1",
            "I don't know the control `AC-1`. Did you mean `AC-01`, `AC-10` or `AC-11`? Try \
             `/kushim controls` to see them all.",
        ),
        (
            "evidence XYZ-99",
            "I don't know the control `XYZ-99`. Try `/kushim controls` to see them all.",
        ),
        (
            "controls CC9.9",
            "I don't know the criterion `CC9.9`. Criteria look like `CC6.1`, `A1.2`, `C1.1`, \
             `PI1.3` or `P4.2`. Try `/kushim help controls`.",
        ),
        (
            "controls failng",
            "`/kushim controls` doesn't take `failng`: use `failing`, `all` or a criterion, such \
             as `CC6.1`. Try `/kushim help controls`.",
        ),
        (
            "collect jira",
            "`/kushim collect` doesn't take `jira`: use `github`, `aws`, `okta` or `slack`. \
             Try `/kushim help collect`.",
        ),
        (
            "unsubscribe #security alert",
            "`/kushim unsubscribe` doesn't take `alert`: use `alerts` or `digest`. Try \
             `/kushim help unsubscribe`.",
        ),
        (
            "status now",
            "I didn't expect `now` there. Usage: `/kushim status`. Try `/kushim help status`.",
        ),
        (
            "control AC-01 AC-02 please",
            "I didn't expect `AC-02 please` there. Usage: `/kushim control <ID>`. Try \
             `/kushim help control`.",
        ),
        (
            "subscribe general alerts",
            "I can't tell which channel `general` is: type `#` and pick it from the list, like \
             `#security`. Try `/kushim help subscribe`.",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(reply(text), expected, "{text:?}");
    }
}

#[test]
fn what_a_person_typed_is_quoted_safely() {
    assert_eq!(
        reply("control `AC`"),
        "I don't know the control `'AC'`. Try `/kushim controls` to see them all."
    );
    assert_eq!(
        reply(&format!("control {}", "x".repeat(500))),
        format!(
            "I don't know the control `{}…`. Try `/kushim controls` to see them all.",
            "x".repeat(40)
        )
    );
}

mod replies {
    use chrono::TimeZone;

    use super::*;
    use crate::{
        catalog::{ControlKind, Severity},
        checks::Outcome,
        controls::CheckStatus,
        views::CriterionLine,
    };

    fn line() -> ControlLine {
        ControlLine {
            id: "AC-01".into(),
            title: "MFA for everyone".into(),
            state: ControlState::Failing,
            severity: Severity::High,
            kind: ControlKind::Automated,
            criteria: vec!["CC6.1".into()],
            reason: "2 of 9 users lack MFA".into(),
        }
    }

    fn detail() -> ControlDetail {
        ControlDetail {
            id: "AC-01".into(),
            title: "MFA for everyone".into(),
            description: String::new(),
            state: ControlState::NoEvidence,
            reason: "nothing collected yet".into(),
            evaluated_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 0).unwrap(),
            kind: ControlKind::Hybrid,
            severity: Severity::Critical,
            owner: "security".into(),
            criteria: vec![
                CriterionLine { id: "CC6.1".into(), title: String::new() },
                CriterionLine { id: "CC6.2".into(), title: String::new() },
            ],
            freshness: None,
            evidence_expected: None,
            evidence_every: None,
            remediation: "Turn on MFA.".into(),
            checks: vec![],
            problems: vec![],
            problems_not_shown: 0,
            evidence: vec![],
            manual_evidence: vec![],
            exceptions: vec![],
            history: vec![],
            ticket: None,
        }
    }

    #[test]
    fn a_controls_ticket_shows_beside_its_facts() {
        let ticket = crate::views::TicketLine {
            key: "SEC-7".into(),
            url: Some("https://acme.atlassian.net/browse/SEC-7".into()),
            status: "Closed".into(),
            status_category: "done".into(),
            assignee: Some("Dana Ops".into()),
            due_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 2),
            flagged: true,
            pending: false,
        };
        let fields = control_fields(&detail().with_ticket(Some(ticket)));
        assert_eq!(
            fields.last().unwrap(),
            "*Jira ticket*\nSEC-7 — Closed, Dana Ops, due 2026-12-02\n*closed in Jira while the \
             control still fails*\nhttps://acme.atlassian.net/browse/SEC-7"
        );
        assert_eq!(control_fields(&detail()).len(), 4, "no ticket, no field");
    }

    #[test]
    fn failures_on_kushims_side_are_answered_without_details() {
        assert_eq!(
            internal_error(),
            "Something went wrong on my side while answering. The details are in Kushim's log; \
             please try again in a moment."
        );
        assert_eq!(
            too_slow(),
            "That took longer than Slack lets me answer in. Please try again in a moment."
        );
    }

    #[test]
    fn status_sentences() {
        assert_eq!(status_header(87.45), "SOC 2 posture: 87.5 / 100");
        assert_eq!(status_header(0.0), "SOC 2 posture: 0.0 / 100");
        assert_eq!(
            status_summary(64, Utc.with_ymd_and_hms(2026, 11, 25, 9, 30, 0).unwrap()),
            "Across 64 controls, evaluated 2026-11-25 09:30 UTC."
        );
        assert_eq!(
            no_evidence_yet(),
            "No evidence has been collected yet, so automated controls show `no_evidence` and \
             manual controls `manual_due`."
        );
        assert_eq!(state_counts_title(), "*Controls per state*");
        assert_eq!(state_count(ControlState::NoEvidence, 12), "*no_evidence*\n12");
        assert_eq!(attention_title(), "*Needs attention*");
        assert_eq!(
            all_clear(),
            "Nothing needs attention: every control is passing, excepted or not applicable."
        );
        assert_eq!(and_more(3), "…and 3 more");
    }

    #[test]
    fn controls_sentences() {
        assert_eq!(
            control_line(&line()),
            "• `AC-01` MFA for everyone — *failing*: 2 of 9 users lack MFA"
        );
        assert_eq!(controls_header(&ControlsFilter::All, 64), "All controls (64)");
        assert_eq!(controls_header(&ControlsFilter::Failing, 2), "Failing controls (2)");
        let criterion = ControlsFilter::Criterion("CC6.1".into());
        assert_eq!(controls_header(&criterion, 5), "Controls for CC6.1 (5)");
        assert_eq!(no_controls(&ControlsFilter::All), "The catalog has no controls.");
        assert_eq!(no_controls(&ControlsFilter::Failing), "No control is failing.");
        assert_eq!(no_controls(&criterion), "No control maps to `CC6.1`.");
    }

    #[test]
    fn control_sentences() {
        let detail = detail();
        assert_eq!(control_header(&detail), "AC-01 — MFA for everyone");
        assert_eq!(control_state(&detail), "*no_evidence*: nothing collected yet");
        assert_eq!(
            control_fields(&detail),
            [
                "*Severity*\ncritical",
                "*Kind*\nhybrid",
                "*Owner*\nsecurity",
                "*Criteria*\nCC6.1, CC6.2"
            ]
        );
        assert_eq!(checks_title(), "*Checks*");
        let check = CheckSummary {
            check_id: "okta.user.mfa".into(),
            status: CheckStatus::Failing,
            passed: 7,
            failed: 2,
            errored: 0,
            not_applicable: 0,
            observed_at: None,
            first_problem: Some("bob has no MFA factor".into()),
        };
        assert_eq!(
            check_line(&check),
            "• `okta.user.mfa` — *failing* (7 passed, 2 failed): bob has no MFA factor"
        );
        let check = CheckSummary { status: CheckStatus::Missing, first_problem: None, ..check };
        assert_eq!(check_line(&check), "• `okta.user.mfa` — *missing* (7 passed, 2 failed)");
        assert_eq!(problems_title(), "*Failing resources*");
        let finding = Finding {
            check_id: "okta.user.mfa".into(),
            outcome: Outcome::Fail,
            resource: "bob@example.com".into(),
            reason: "no MFA factor".into(),
            observed_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap(),
        };
        assert_eq!(problem_line(&finding), "• `bob@example.com` (okta.user.mfa): no MFA factor");
        assert_eq!(remediation("Turn on MFA."), "*Remediation*\nTurn on MFA.");
    }
}
