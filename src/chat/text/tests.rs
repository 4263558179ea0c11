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
• `/kushim collect [github|aws|okta]` — Collect fresh evidence now, from every configured integration or just one
• `/kushim ticket <ID>` — Open the Jira ticket for a failing control, or show the one already open
• `/kushim except <ID>` — Request an exception for a control: opens a form for the reason and expiry date
• `/kushim exceptions` — List exceptions: awaiting approval, active, and expiring soon

*Channels*
• `/kushim subscribe #channel alerts|digest` — Post alerts (controls that start failing) or the digest to a channel
• `/kushim unsubscribe #channel alerts|digest` — Stop posting alerts or the digest to a channel

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
`/kushim collect [github|aws|okta]`
Collect fresh evidence now, from every configured integration or just one

• `integration` (optional): Only this integration: github, aws or okta (default: every configured one)

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
            "`/kushim collect` doesn't take `jira`: use `github`, `aws` or `okta`. Try \
             `/kushim help collect`.",
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
