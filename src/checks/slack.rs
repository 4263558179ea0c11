//! Slack checks: the people who administer the workspace protect their accounts with 2FA
//! (shared/reference/checks.md §6, `slack.admins_2fa`).

use crate::checks::{CheckContext, CheckDef, Judge, Verdict};
use crate::integrations::slack::{PART_USERS, SlackSnapshot, SlackUser};

pub const CHECKS: &[CheckDef] = &[CheckDef {
    id: "slack.admins_2fa",
    title: "Slack admins and owners use 2FA",
    judge: Judge::Slack(admins_2fa),
}];

fn workspace_resource(snapshot: &SlackSnapshot) -> String {
    format!("slack-workspace:{}", snapshot.team_name)
}

fn role(user: &SlackUser) -> &'static str {
    if user.is_primary_owner {
        "primary owner"
    } else if user.is_owner {
        "owner"
    } else {
        "admin"
    }
}

/// `slack.admins_2fa`: every active human admin or owner has 2FA turned on, unless the workspace
/// requires SSO, in which case the identity provider's MFA protects the sign-in and Slack's own
/// 2FA does not apply. Bots and deactivated members cannot sign in and are not judged; guests
/// cannot hold admin roles.
fn admins_2fa(snapshot: &SlackSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(reason) = snapshot.gaps.get(PART_USERS) {
        return vec![Verdict::error(
            workspace_resource(snapshot),
            format!("workspace members could not be listed: {reason}"),
        )];
    }
    let sso = snapshot.sso_enforced == Some(true);
    let verdicts: Vec<Verdict> = snapshot
        .users
        .iter()
        .filter(|user| !user.deleted && !user.is_bot)
        .filter(|user| user.is_admin || user.is_owner || user.is_primary_owner)
        .map(|user| {
            let resource = format!("slack-user:{}", user.name);
            let role = role(user);
            match user.has_2fa {
                Some(true) => Verdict::pass(resource, format!("{role} with 2FA on")),
                _ if sso => Verdict::pass(
                    resource,
                    format!(
                        "{role}; the workspace requires SSO, so the identity provider's MFA applies"
                    ),
                ),
                Some(false) => Verdict::fail(
                    resource,
                    format!("{role} without 2FA; turn on two-factor authentication or require SSO"),
                ),
                None => Verdict::error(resource, "token cannot see 2FA status; use an admin token"),
            }
        })
        .collect();
    if verdicts.is_empty() {
        return vec![Verdict::not_applicable(
            workspace_resource(snapshot),
            "no active admins or owners",
        )];
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Outcome::{self, Error, Fail, NotApplicable, Pass};
    use chrono::DateTime;

    fn workspace() -> SlackSnapshot {
        SlackSnapshot {
            team_id: "T0ACME".to_string(),
            team_name: "acme".to_string(),
            ..SlackSnapshot::default()
        }
    }

    impl SlackSnapshot {
        fn with(mut self, user: SlackUser) -> Self {
            self.users.push(user);
            self
        }
        fn sso(mut self, enforced: Option<bool>) -> Self {
            self.sso_enforced = enforced;
            self
        }
        fn with_gap(mut self, reason: &str) -> Self {
            self.gaps.insert(PART_USERS.to_string(), reason.to_string());
            self
        }
    }

    /// A regular member with 2FA on.
    fn member(name: &str) -> SlackUser {
        SlackUser {
            id: format!("U{name}"),
            name: name.to_string(),
            is_admin: false,
            is_owner: false,
            is_primary_owner: false,
            is_bot: false,
            deleted: false,
            is_restricted: false,
            is_ultra_restricted: false,
            has_2fa: Some(true),
        }
    }

    impl SlackUser {
        fn admin(mut self) -> Self {
            self.is_admin = true;
            self
        }
        fn primary_owner(mut self) -> Self {
            self.is_admin = true;
            self.is_owner = true;
            self.is_primary_owner = true;
            self
        }
        fn no_2fa(mut self) -> Self {
            self.has_2fa = Some(false);
            self
        }
        fn two_fa_hidden(mut self) -> Self {
            self.has_2fa = None;
            self
        }
        fn bot(mut self) -> Self {
            self.is_bot = true;
            self
        }
        fn deleted(mut self) -> Self {
            self.deleted = true;
            self
        }
    }

    /// A row: its name, the workspace, and per expected verdict the outcome and a fragment of its
    /// reason or resource.
    type Row = (&'static str, SlackSnapshot, Vec<(Outcome, &'static str)>);

    #[test]
    fn admins_2fa_table() {
        let rows: Vec<Row> = vec![
            (
                "admin with 2FA passes",
                workspace().with(member("alice").admin()),
                vec![(Pass, "admin with 2FA on")],
            ),
            (
                "primary owner without 2FA fails",
                workspace().with(member("olga").primary_owner().no_2fa()),
                vec![(Fail, "primary owner without 2FA")],
            ),
            (
                "2FA hidden from the token: error",
                workspace().with(member("bob").admin().two_fa_hidden()),
                vec![(Error, "token cannot see 2FA status; use an admin token")],
            ),
            (
                "SSO enforced: admin without 2FA passes",
                workspace().sso(Some(true)).with(member("carl").admin().no_2fa()),
                vec![(Pass, "requires SSO")],
            ),
            (
                "SSO enforced: hidden 2FA passes",
                workspace().sso(Some(true)).with(member("dora").admin().two_fa_hidden()),
                vec![(Pass, "requires SSO")],
            ),
            (
                "SSO not enforced or unknown does not excuse",
                workspace()
                    .sso(Some(false))
                    .with(member("erik").admin().no_2fa())
                    .with(member("fay").admin().two_fa_hidden()),
                vec![(Fail, "slack-user:erik"), (Error, "slack-user:fay")],
            ),
            (
                "members, bots and deactivated admins are not judged",
                workspace()
                    .with(member("gus").no_2fa())
                    .with(member("helper").admin().bot().no_2fa())
                    .with(member("ida").admin().deleted().no_2fa())
                    .with(member("jo").admin()),
                vec![(Pass, "slack-user:jo")],
            ),
            (
                "no admins: not applicable",
                workspace().with(member("gus").no_2fa()),
                vec![(NotApplicable, "no active admins or owners")],
            ),
            (
                "users part missing: error with the reason",
                workspace().with(member("alice").admin()).with_gap("missing_scope users:read"),
                vec![(Error, "missing_scope users:read")],
            ),
        ];
        let ctx =
            CheckContext::new(DateTime::from_timestamp(1_748_736_000, 0).expect("a valid time"));
        for (name, snapshot, expect) in rows {
            let verdicts = admins_2fa(&snapshot, &ctx);
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
            assert!(check.id.starts_with("slack."), "{} lacks the slack. prefix", check.id);
            assert!(
                matches!(check.judge, Judge::Slack(_)),
                "{} is not judged on the Slack snapshot",
                check.id
            );
        }
    }
}
