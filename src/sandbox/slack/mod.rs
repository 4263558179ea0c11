//! A synthetic Slack workspace for the sandbox and the evaluation benchmark: `generated(n)`
//! builds `n` members from index-based patterns: one admin in 50 (every 200th an owner, the
//! first the primary owner), a third of the admins without 2FA, bots, guests and deactivated
//! members sprinkled in.
//!
//! [`server`] is a fake Slack Web API on 127.0.0.1 that the real client (slack-morphism) posts
//! to: it records every call, keeps the messages it was sent so `chat.update` can change them,
//! serves such a workspace's members through `users.list` (the evidence collector's source),
//! and can answer 429 with `Retry-After`.

pub mod server;

pub use server::{FakeSlack, PostedMessage, SlackCall, start, start_with};

use crate::integrations::slack::{SlackSnapshot, SlackUser};

/// A workspace with `resources` members.
pub fn generated(resources: usize) -> SlackSnapshot {
    let users = (0..resources)
        .map(|i| {
            let is_admin = i.is_multiple_of(50);
            SlackUser {
                id: format!("U{i:08}"),
                name: format!("member{i}"),
                is_admin,
                is_owner: i.is_multiple_of(200),
                is_primary_owner: i == 0,
                is_bot: i % 9 == 4,
                deleted: i % 15 == 7,
                is_restricted: i % 10 == 3,
                is_ultra_restricted: i % 30 == 13,
                has_2fa: Some(!(is_admin && (i / 50) % 3 == 1)),
            }
        })
        .collect();
    SlackSnapshot {
        team_id: "T0SANDBOX".to_string(),
        team_name: "sandbox-acme".to_string(),
        users,
        sso_enforced: Some(false),
        gaps: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::slack::CHECKS;
    use crate::checks::{CheckContext, Judge, Outcome};
    use chrono::DateTime;

    #[test]
    fn produces_the_requested_number_of_members() {
        assert_eq!(generated(1_000).users.len(), 1_000);
        assert_eq!(generated(200), generated(200), "generation is deterministic");
    }

    #[test]
    fn every_check_runs_and_the_workspace_has_passes_and_failures() {
        let snapshot = generated(10_000);
        let ctx = CheckContext::new(DateTime::UNIX_EPOCH);
        let mut outcomes = Vec::new();
        for check in CHECKS {
            let Judge::Slack(judge) = check.judge else {
                panic!("{} is not a Slack check", check.id)
            };
            outcomes.extend(judge(&snapshot, &ctx).iter().map(|verdict| verdict.outcome));
        }
        assert!(outcomes.contains(&Outcome::Pass), "no pass in the sandbox workspace");
        assert!(outcomes.contains(&Outcome::Fail), "no fail in the sandbox workspace");
    }
}
