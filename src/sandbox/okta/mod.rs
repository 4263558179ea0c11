//! A synthetic Okta org for the sandbox and the evaluation benchmark: `generated(n)` builds about
//! `n` resources (users, policies and their rules, API tokens, log streams) from index-based
//! patterns, so the same `n` always gives the same org. It mixes good and bad configuration the
//! way a real org drifts: every 7th user has no factor, every 11th only SMS, a few users'
//! factors could not be read, some accounts are dormant, some leavers keep app assignments,
//! one super admin too many, a weak default password policy and an unbounded default session.
//!
//! Times are relative to [`as_of`]; judge the org with `CheckContext::new(as_of())`.
//!
//! The served fake lives beside it: [`world`] holds a simulated org built like a story (or from
//! a generated snapshot, [`generated_world`]), [`server`] serves it in Okta's wire format for the
//! real client to collect from.

pub mod server;
pub mod world;

pub use server::{FakeOkta, start};
pub use world::OktaOrg;

use chrono::{DateTime, TimeDelta, Utc};

use super::as_of;
use crate::integrations::okta::{
    AccessPolicy, AccessRule, AdminRole, ApiToken, AppAssignment, Factor, FactorMode, FactorStatus,
    LifecycleStatus, LogStream, OktaAdmin, OktaPipeline, OktaSnapshot, OktaUser,
    PasswordAuthProvider, PasswordPolicy, RoleGrant, RoleSource, RuleAccess, SignOnPolicy,
    SignOnRule, TokenNetwork, UserStatus,
};

fn days_ago(days: i64) -> DateTime<Utc> {
    as_of() - TimeDelta::days(days)
}

/// Resources that are not users: 3 password policies, 2 sign-on policies with 3 rules, 3 access
/// policies with 5 rules, 3 API tokens, 2 log streams.
const FIXED_RESOURCES: usize = 21;

/// An org of about `resources` resources, mostly users.
pub fn generated(resources: usize) -> OktaSnapshot {
    let user_count = resources.saturating_sub(FIXED_RESOURCES).max(8);
    let users: Vec<OktaUser> = (0..user_count).map(user).collect();
    OktaSnapshot {
        org_url: "https://sandbox-acme.okta.com".to_string(),
        pipeline: Some(OktaPipeline::IdentityEngine),
        admins: admins(),
        api_tokens: api_tokens(),
        password_policies: password_policies(),
        sign_on_policies: sign_on_policies(),
        access_policies: access_policies(),
        log_streams: vec![
            log_stream("siem-eventbridge", "aws_eventbridge", LifecycleStatus::Active),
            log_stream("old-splunk", "splunk_cloud_logstreaming", LifecycleStatus::Inactive),
        ],
        users,
        gaps: Default::default(),
    }
}

/// The org [`generated`] describes, with `users` users, to serve: `kushim demo` and the
/// performance run (1 000 users). Besides the leavers' app assignments of the snapshot, everyone
/// who can sign in is in an Employees group assigned to Slack and Salesforce, so app listings
/// page as they would in a real org.
pub fn generated_world(users: usize) -> OktaOrg {
    // Served by a live fake the org should describe today, so sign-ins are as recent as the
    // generated mix intends.
    generated_world_at(users, chrono::Utc::now())
}

/// [`generated_world`] with every time moved so the data describes `now` instead of
/// [`as_of`] (the same org, dated differently).
pub fn generated_world_at(users: usize, now: chrono::DateTime<chrono::Utc>) -> OktaOrg {
    let mut snapshot = generated(users + FIXED_RESOURCES);
    let shift = now - as_of();
    for user in &mut snapshot.users {
        user.created += shift;
        user.activated = user.activated.map(|at| at + shift);
        user.last_login = user.last_login.map(|at| at + shift);
    }
    let mut org = OktaOrg::from_snapshot(&snapshot);
    org.add_active_users_to_group("Employees");
    org.with_app("slack", "Slack")
        .with_app("salesforce", "Salesforce")
        .with_group("Employees", |g| g.assigned_to("slack").assigned_to("salesforce"))
}

fn user(i: usize) -> OktaUser {
    let status = match i % 40 {
        0 => UserStatus::Staged,
        1 => UserStatus::Provisioned,
        2 | 3 => UserStatus::Suspended,
        4..=7 => UserStatus::Deprovisioned,
        8 => UserStatus::LockedOut,
        9 => UserStatus::PasswordExpired,
        _ => UserStatus::Active,
    };
    let can_sign_in = matches!(
        status,
        UserStatus::Active
            | UserStatus::LockedOut
            | UserStatus::PasswordExpired
            | UserStatus::Recovery
    );
    let index = i as i64;
    let created = days_ago(30 + index % 900);
    let (activated, last_login) = match status {
        UserStatus::Staged | UserStatus::Provisioned => (None, None),
        _ if i.is_multiple_of(17) => (Some(days_ago(20 + index % 150)), None),
        _ if i.is_multiple_of(13) => {
            (Some(days_ago(30 + index % 900)), Some(days_ago(91 + index % 200)))
        }
        _ => (Some(days_ago(30 + index % 900)), Some(days_ago(index % 60))),
    };
    let factors = if !can_sign_in || i.is_multiple_of(97) {
        None
    } else if i.is_multiple_of(7) {
        Some(Vec::new())
    } else if i.is_multiple_of(11) {
        Some(vec![factor("sms", "OKTA")])
    } else if i.is_multiple_of(3) {
        Some(vec![factor("webauthn", "FIDO"), factor("email", "OKTA")])
    } else {
        Some(vec![factor("signed_nonce", "OKTA"), factor("push", "OKTA")])
    };
    let app_assignments = match status {
        UserStatus::Suspended | UserStatus::Deprovisioned if i.is_multiple_of(3) => {
            Some(vec![AppAssignment {
                app_id: "0oasandboxgithub".to_string(),
                app_label: "GitHub Enterprise".to_string(),
            }])
        }
        UserStatus::Suspended | UserStatus::Deprovisioned => Some(Vec::new()),
        _ => None,
    };
    OktaUser {
        id: user_id(i),
        login: format!("user{i}@sandbox-acme.com"),
        email: Some(format!("user{i}@sandbox-acme.com")),
        status,
        created,
        activated,
        last_login,
        factors,
        app_assignments,
    }
}

fn user_id(i: usize) -> String {
    format!("00u{i:07}")
}

fn factor(factor_type: &str, provider: &str) -> Factor {
    Factor {
        factor_type: factor_type.to_string(),
        provider: provider.to_string(),
        status: FactorStatus::Active,
    }
}

/// Four super admins (two through the "Okta Admins" group), one over the default limit of 3.
fn admins() -> Vec<OktaAdmin> {
    let admins_group = RoleSource::Group {
        group_id: "00gsandboxadmins".to_string(),
        group_name: "Okta Admins".to_string(),
    };
    let grant = |role: AdminRole, via: &RoleSource| RoleGrant { role, via: via.clone() };
    vec![
        OktaAdmin {
            user_id: user_id(10),
            roles: vec![grant(AdminRole::SuperAdmin, &RoleSource::Direct)],
        },
        OktaAdmin {
            user_id: user_id(11),
            roles: vec![grant(AdminRole::SuperAdmin, &RoleSource::Direct)],
        },
        OktaAdmin {
            user_id: user_id(12),
            roles: vec![grant(AdminRole::SuperAdmin, &admins_group)],
        },
        OktaAdmin {
            user_id: user_id(13),
            roles: vec![
                grant(AdminRole::ReadOnlyAdmin, &RoleSource::Direct),
                grant(AdminRole::SuperAdmin, &admins_group),
            ],
        },
        OktaAdmin {
            user_id: user_id(14),
            roles: vec![grant(AdminRole::OrgAdmin, &RoleSource::Direct)],
        },
        OktaAdmin {
            user_id: user_id(15),
            roles: vec![grant(AdminRole::ReadOnlyAdmin, &RoleSource::Direct)],
        },
    ]
}

fn api_tokens() -> Vec<ApiToken> {
    let zone = |include: &[&str]| {
        Some(TokenNetwork {
            connection: "ZONE".to_string(),
            include: include.iter().map(|zone| zone.to_string()).collect(),
            exclude: Vec::new(),
        })
    };
    vec![
        ApiToken {
            id: "00Tscim".to_string(),
            name: "scim-bridge".to_string(),
            user_id: user_id(15),
            network: zone(&["nzoOffice"]),
        },
        ApiToken {
            id: "00Tkushim".to_string(),
            name: "kushim-collector".to_string(),
            user_id: user_id(14),
            network: zone(&["nzoOffice", "nzoCi"]),
        },
        ApiToken {
            id: "00Tlegacy".to_string(),
            name: "legacy-script".to_string(),
            user_id: user_id(10),
            network: Some(TokenNetwork {
                connection: "ANYWHERE".to_string(),
                include: Vec::new(),
                exclude: Vec::new(),
            }),
        },
    ]
}

fn password_policy(name: &str, priority: u32) -> PasswordPolicy {
    PasswordPolicy {
        id: format!("00p{}", name.replace(' ', "")),
        name: name.to_string(),
        status: Some(LifecycleStatus::Active),
        priority: Some(priority),
        auth_provider: Some(PasswordAuthProvider::Okta),
        min_length: Some(14),
        min_lower_case: Some(1),
        min_upper_case: Some(1),
        min_number: Some(1),
        min_symbol: Some(0),
        common_password_check: Some(true),
        history_count: Some(6),
        max_age_days: Some(0),
        min_age_minutes: Some(0),
        lockout_max_attempts: Some(5),
    }
}

fn password_policies() -> Vec<PasswordPolicy> {
    vec![
        password_policy("Engineering", 1),
        PasswordPolicy {
            status: Some(LifecycleStatus::Inactive),
            min_length: Some(6),
            ..password_policy("Legacy", 2)
        },
        // Okta's out-of-the-box Default Policy, never tightened.
        PasswordPolicy {
            min_length: Some(8),
            history_count: Some(0),
            lockout_max_attempts: Some(10),
            common_password_check: Some(false),
            ..password_policy("Default Policy", 3)
        },
    ]
}

fn sign_on_rule(name: &str, priority: u32, lifetime: u32, idle: u32) -> SignOnRule {
    SignOnRule {
        id: format!("0pr{}", name.replace(' ', "")),
        name: name.to_string(),
        status: Some(LifecycleStatus::Active),
        priority: Some(priority),
        system: false,
        access: Some(RuleAccess::Allow),
        require_factor: Some(false),
        max_session_lifetime_minutes: Some(lifetime),
        max_session_idle_minutes: Some(idle),
        use_persistent_cookie: Some(false),
    }
}

fn sign_on_policies() -> Vec<SignOnPolicy> {
    vec![
        SignOnPolicy {
            id: "00psignonadmins".to_string(),
            name: "Admins".to_string(),
            status: Some(LifecycleStatus::Active),
            priority: Some(1),
            rules: Some(vec![sign_on_rule("Admins 8h", 1, 480, 15)]),
        },
        SignOnPolicy {
            id: "00psignondefault".to_string(),
            name: "Default Policy".to_string(),
            status: Some(LifecycleStatus::Active),
            priority: Some(2),
            rules: Some(vec![
                sign_on_rule("Employees 18h", 1, 1080, 15),
                // Okta's Default Rule as shipped: no lifetime limit, two hours idle.
                SignOnRule { system: true, ..sign_on_rule("Default Rule", 2, 0, 120) },
            ]),
        },
    ]
}

fn access_rule(name: &str, priority: u32, factor_mode: FactorMode) -> AccessRule {
    AccessRule {
        id: format!("rul{}", name.replace(' ', "")),
        name: name.to_string(),
        status: Some(LifecycleStatus::Active),
        priority: Some(priority),
        system: false,
        access: Some(RuleAccess::Allow),
        factor_mode: Some(factor_mode),
    }
}

fn access_policy(name: &str, rules: Vec<AccessRule>) -> AccessPolicy {
    AccessPolicy {
        id: format!("rst{}", name.replace(' ', "")),
        name: name.to_string(),
        status: Some(LifecycleStatus::Active),
        rules: Some(rules),
    }
}

fn access_policies() -> Vec<AccessPolicy> {
    vec![
        access_policy("Okta Admin Console", vec![access_rule("Admins", 1, FactorMode::TwoFactor)]),
        access_policy(
            "Okta Dashboard",
            vec![
                access_rule("Managed devices", 1, FactorMode::OneFactor),
                AccessRule {
                    system: true,
                    ..access_rule("Catch-all Rule", 2, FactorMode::TwoFactor)
                },
            ],
        ),
        access_policy(
            "Any two factors",
            vec![
                access_rule("Everyone", 1, FactorMode::TwoFactor),
                AccessRule {
                    access: Some(RuleAccess::Deny),
                    ..access_rule("Blocked countries", 2, FactorMode::OneFactor)
                },
            ],
        ),
    ]
}

fn log_stream(name: &str, stream_type: &str, status: LifecycleStatus) -> LogStream {
    LogStream {
        id: format!("0oa{name}"),
        name: name.to_string(),
        stream_type: stream_type.to_string(),
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::okta::CHECKS;
    use crate::checks::{CheckContext, Judge, Outcome};

    fn resource_count(snapshot: &OktaSnapshot) -> usize {
        let rules = |count: Option<usize>| count.unwrap_or_default();
        snapshot.users.len()
            + snapshot.password_policies.len()
            + snapshot
                .sign_on_policies
                .iter()
                .map(|p| 1 + rules(p.rules.as_ref().map(Vec::len)))
                .sum::<usize>()
            + snapshot
                .access_policies
                .iter()
                .map(|p| 1 + rules(p.rules.as_ref().map(Vec::len)))
                .sum::<usize>()
            + snapshot.api_tokens.len()
            + snapshot.log_streams.len()
    }

    #[test]
    fn produces_about_the_requested_number_of_resources() {
        for requested in [100, 1_000, 10_000] {
            let count = resource_count(&generated(requested));
            assert!(
                count.abs_diff(requested) <= requested / 20,
                "asked for {requested}, got {count}"
            );
        }
        assert_eq!(generated(500), generated(500), "generation is deterministic");
    }

    #[test]
    fn every_check_runs_and_the_org_has_passes_and_failures() {
        let snapshot = generated(10_000);
        let ctx = CheckContext::new(as_of());
        let mut outcomes = Vec::new();
        for check in CHECKS {
            let Judge::Okta(judge) = check.judge else {
                panic!("{} is not an Okta check", check.id)
            };
            let verdicts = judge(&snapshot, &ctx);
            assert!(!verdicts.is_empty(), "{} returned no verdict", check.id);
            outcomes.extend(verdicts.iter().map(|verdict| verdict.outcome));
        }
        assert!(outcomes.contains(&Outcome::Pass), "no pass in the sandbox org");
        assert!(outcomes.contains(&Outcome::Fail), "no fail in the sandbox org");
    }
}
