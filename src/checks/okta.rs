//! Okta checks: MFA enrolment, the password, MFA and session policies, dormant and deprovisioned
//! users, super admins, API tokens and System Log streaming (shared/reference/checks.md §3.2 and
//! the table in §6).
//!
//! A user can sign in when its status is ACTIVE, RECOVERY, PASSWORD_EXPIRED or LOCKED_OUT: the
//! last three are activated accounts in a passing state (a reset link, a forced password change,
//! an unlock) that lead straight back to a session, so the MFA and dormancy checks judge them
//! like ACTIVE users. STAGED and PROVISIONED users have no credentials yet and cannot sign in;
//! SUSPENDED and DEPROVISIONED users are blocked. Policies and rules are judged when ACTIVE; a
//! missing status counts as ACTIVE (as Prowler's `active_password_policies` does), so an omitted
//! field never hides a policy.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::checks::{CheckContext, CheckDef, Judge, Verdict};
use crate::integrations::okta::{
    AccessRule, AdminRole, FactorMode, FactorStatus, LifecycleStatus, OktaPipeline, OktaSnapshot,
    OktaUser, PART_ACCESS_POLICIES, PART_ADMIN_ROLES, PART_API_TOKENS, PART_APP_ASSIGNMENTS,
    PART_FACTORS, PART_LOG_STREAMS, PART_ORG, PART_PASSWORD_POLICIES, PART_SIGN_ON_POLICIES,
    PART_USERS, PasswordAuthProvider, PasswordPolicy, RoleSource, RuleAccess, SignOnRule,
    UserStatus,
};

pub const CHECKS: &[CheckDef] = &[
    CheckDef {
        id: "okta.users.mfa_enrolled",
        title: "Every active Okta user has a strong MFA factor",
        judge: Judge::Okta(users_mfa_enrolled),
    },
    CheckDef {
        id: "okta.policy.password",
        title: "Active Okta password policies meet the password profile",
        judge: Judge::Okta(policy_password),
    },
    CheckDef {
        id: "okta.policy.mfa_required",
        title: "Okta sign-in rules require MFA",
        judge: Judge::Okta(policy_mfa_required),
    },
    CheckDef {
        id: "okta.policy.session",
        title: "Okta sessions are bounded in lifetime and idle time",
        judge: Judge::Okta(policy_session),
    },
    CheckDef {
        id: "okta.users.inactive",
        title: "No Okta user is dormant",
        judge: Judge::Okta(users_inactive),
    },
    CheckDef {
        id: "okta.users.deprovisioned_no_access",
        title: "Deprovisioned and suspended Okta users hold no app assignments",
        judge: Judge::Okta(users_deprovisioned_no_access),
    },
    CheckDef {
        id: "okta.admins.super_admin_count",
        title: "Few Okta super admins",
        judge: Judge::Okta(admins_super_admin_count),
    },
    CheckDef {
        id: "okta.apitokens.hardening",
        title: "Okta API tokens are zone-restricted and not owned by super admins",
        judge: Judge::Okta(apitokens_hardening),
    },
    CheckDef {
        id: "okta.syslog.streaming",
        title: "The Okta System Log is streamed off-platform",
        judge: Judge::Okta(syslog_streaming),
    },
];

/// The `[checks.okta]` section of `kushim.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OktaThresholds {
    /// Okta `factorType`s that count as MFA for `okta.users.mfa_enrolled`. Default: `push`,
    /// `signed_nonce` (FastPass), `token:software:totp`, `token:hardware`, `webauthn`, `u2f`.
    pub strong_factor_types: Vec<String>,
    /// Factor types that are phishable or recoverable by a third party. Default: `sms`, `call`,
    /// `email`, `question`. They count only when `accept_weak_factors` is true.
    pub weak_factor_types: Vec<String>,
    /// Accept a weak factor as the user's MFA. Default: false.
    pub accept_weak_factors: bool,
    /// User logins not judged by `okta.users.mfa_enrolled`, e.g. users federated from an IdP that
    /// enforces MFA itself, or a documented break-glass account. Default: none.
    pub mfa_exemptions: Vec<String>,
    /// Requirements for `okta.policy.password`. Default: `standard`.
    pub password_profile: PasswordProfile,
    /// Longest allowed session lifetime, minutes. Default: 1080 (18 h, the DISA STIG value
    /// Prowler uses).
    pub max_session_lifetime_minutes: u32,
    /// Longest allowed session idle time, minutes. Default: 15 (STIG / Prowler).
    pub max_session_idle_minutes: u32,
    /// Days without sign-in after which a user counts as dormant. Default: 90.
    pub inactive_days: i64,
    /// Most super admins allowed. Default: 3.
    pub max_super_admins: usize,
}

impl Default for OktaThresholds {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
        Self {
            strong_factor_types: strings(&[
                "push",
                "signed_nonce",
                "token:software:totp",
                "token:hardware",
                "webauthn",
                "u2f",
            ]),
            weak_factor_types: strings(&["sms", "call", "email", "question"]),
            accept_weak_factors: false,
            mfa_exemptions: Vec::new(),
            password_profile: PasswordProfile::Standard,
            max_session_lifetime_minutes: 1080,
            max_session_idle_minutes: 15,
            inactive_days: 90,
            max_super_admins: 3,
        }
    }
}

/// A named set of password requirements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordProfile {
    /// SOC 2 baseline (checks.md §3.2 proposal, NIST 800-63B in spirit: length and a breached /
    /// common-password check rather than composition and rotation): length ≥ 12, history ≥ 5,
    /// lock-out after at most 10 failures, common-password check on.
    #[default]
    Standard,
    /// Okta IDaaS STIG V1R2 as Prowler implements it: length ≥ 15, one of each character class,
    /// history ≥ 5, lock-out after at most 3 failures, minimum age 24 h, maximum age 60 days,
    /// common-password check on.
    Stig,
}

impl PasswordProfile {
    fn as_str(self) -> &'static str {
        match self {
            PasswordProfile::Standard => "standard",
            PasswordProfile::Stig => "stig",
        }
    }

    fn requirements(self) -> PasswordRequirements {
        match self {
            PasswordProfile::Standard => PasswordRequirements {
                min_length: 12,
                every_character_class: false,
                min_history: 5,
                max_lockout_attempts: 10,
                min_age_minutes: None,
                max_age_days: None,
            },
            PasswordProfile::Stig => PasswordRequirements {
                min_length: 15,
                every_character_class: true,
                min_history: 5,
                max_lockout_attempts: 3,
                min_age_minutes: Some(24 * 60),
                max_age_days: Some(60),
            },
        }
    }
}

/// What a profile demands; every profile demands the common-password check.
struct PasswordRequirements {
    min_length: u32,
    every_character_class: bool,
    min_history: u32,
    max_lockout_attempts: u32,
    min_age_minutes: Option<u32>,
    max_age_days: Option<u32>,
}

/// Whether a user can sign in; `None` for a status this version does not know.
fn can_sign_in(status: &UserStatus) -> Option<bool> {
    match status {
        UserStatus::Active
        | UserStatus::Recovery
        | UserStatus::PasswordExpired
        | UserStatus::LockedOut => Some(true),
        UserStatus::Staged
        | UserStatus::Provisioned
        | UserStatus::Suspended
        | UserStatus::Deprovisioned => Some(false),
        UserStatus::Other(_) => None,
    }
}

fn org_resource(snapshot: &OktaSnapshot) -> String {
    let host = snapshot.org_url.trim_start_matches("https://").trim_start_matches("http://");
    format!("okta-org:{}", host.trim_end_matches('/'))
}

fn user_resource(user: &OktaUser) -> String {
    format!("okta-user:{}", user.login)
}

fn rule_resource(policy: &str, rule: &str) -> String {
    format!("okta-policy-rule:{policy}/{rule}")
}

/// ONE error verdict when a whole part of the snapshot could not be fetched.
fn missing_part(snapshot: &OktaSnapshot, part: &str, what: &str) -> Option<Vec<Verdict>> {
    let reason = snapshot.gaps.get(part)?;
    Some(vec![Verdict::error(
        org_resource(snapshot),
        format!("{what} could not be read: {reason}"),
    )])
}

/// The reason a per-item `None` is an error: the part's gap when recorded, else `fallback`.
fn gap_reason(snapshot: &OktaSnapshot, part: &str, fallback: &str) -> String {
    match snapshot.gaps.get(part) {
        Some(reason) => format!("{fallback}: {reason}"),
        None => fallback.to_string(),
    }
}

fn is_active(status: Option<LifecycleStatus>) -> bool {
    status != Some(LifecycleStatus::Inactive)
}

fn listed(list: &[String], value: &str) -> bool {
    list.iter().any(|item| item.eq_ignore_ascii_case(value))
}

/// `okta.users.mfa_enrolled`: every user who can sign in has an ACTIVE factor of a strong type.
fn users_mfa_enrolled(snapshot: &OktaSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_USERS, "Okta users") {
        return error;
    }
    let mut verdicts = Vec::new();
    let mut not_yet_activated = 0;
    for user in &snapshot.users {
        match can_sign_in(&user.status) {
            Some(true) => verdicts.push(judge_user_mfa(snapshot, user, ctx)),
            // STAGED and PROVISIONED users have no credentials yet, so they cannot sign in and
            // cannot enrol a factor; Okta's enrollment policy asks them at first sign-in.
            Some(false) if matches!(user.status, UserStatus::Staged | UserStatus::Provisioned) => {
                not_yet_activated += 1;
            }
            Some(false) => {}
            None => verdicts.push(unknown_status(user)),
        }
    }
    if verdicts.is_empty() {
        let reason = if not_yet_activated > 0 {
            format!(
                "no active Okta users ({not_yet_activated} staged or provisioned, judged once \
                 active)"
            )
        } else {
            "no active Okta users".to_string()
        };
        return vec![Verdict::not_applicable(org_resource(snapshot), reason)];
    }
    verdicts
}

fn unknown_status(user: &OktaUser) -> Verdict {
    Verdict::error(
        user_resource(user),
        format!(
            "user status {} is unknown to Kushim, so it cannot tell whether the user can sign in",
            user.status.as_str()
        ),
    )
}

fn judge_user_mfa(snapshot: &OktaSnapshot, user: &OktaUser, ctx: &CheckContext) -> Verdict {
    let thresholds = &ctx.thresholds.okta;
    let resource = user_resource(user);
    if listed(&thresholds.mfa_exemptions, &user.login) {
        return Verdict::not_applicable(
            resource,
            "exempted from MFA by checks.okta.mfa_exemptions",
        );
    }
    let Some(factors) = &user.factors else {
        return Verdict::error(
            resource,
            gap_reason(snapshot, PART_FACTORS, "enrolled factors could not be read"),
        );
    };
    let active: Vec<&str> = factors
        .iter()
        .filter(|factor| factor.status == FactorStatus::Active)
        .map(|factor| factor.factor_type.as_str())
        .collect();
    let strong: Vec<&str> =
        active.iter().copied().filter(|t| listed(&thresholds.strong_factor_types, t)).collect();
    if !strong.is_empty() {
        return Verdict::pass(resource, format!("strong MFA factor active: {}", strong.join(", ")));
    }
    let weak: Vec<&str> =
        active.iter().copied().filter(|t| listed(&thresholds.weak_factor_types, t)).collect();
    if thresholds.accept_weak_factors && !weak.is_empty() {
        return Verdict::pass(
            resource,
            format!(
                "weak MFA factor active: {} (accepted by checks.okta.accept_weak_factors)",
                weak.join(", ")
            ),
        );
    }
    let enrol = format!("enrol one of {}", thresholds.strong_factor_types.join(", "));
    if active.is_empty() {
        Verdict::fail(resource, format!("no active MFA factor; {enrol}"))
    } else if weak.len() == active.len() {
        Verdict::fail(
            resource,
            format!("only weak factors active ({}); {enrol}", active.join(", ")),
        )
    } else {
        Verdict::fail(
            resource,
            format!("no strong factor active (has {}); {enrol}", active.join(", ")),
        )
    }
}

/// `okta.policy.password`: every ACTIVE password policy for Okta-mastered passwords meets the
/// configured profile. A setting Okta omitted fails, naming the setting: it cannot be shown to
/// comply.
fn policy_password(snapshot: &OktaSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_PASSWORD_POLICIES, "Okta password policies") {
        return error;
    }
    if snapshot.password_policies.is_empty() {
        return vec![none_returned(snapshot, "password policies")];
    }
    let profile = ctx.thresholds.okta.password_profile;
    let verdicts: Vec<Verdict> = snapshot
        .password_policies
        .iter()
        .filter(|policy| is_active(policy.status))
        .map(|policy| judge_password_policy(policy, profile))
        .collect();
    if verdicts.is_empty() {
        return vec![Verdict::not_applicable(
            org_resource(snapshot),
            "no active Okta password policies",
        )];
    }
    verdicts
}

fn judge_password_policy(policy: &PasswordPolicy, profile: PasswordProfile) -> Verdict {
    let resource = format!("okta-policy:{}", policy.name);
    // Passwords of directory-sourced users are set and checked in the directory.
    let directory = match policy.auth_provider {
        Some(PasswordAuthProvider::ActiveDirectory) => Some("Active Directory"),
        Some(PasswordAuthProvider::Ldap) => Some("LDAP"),
        _ => None,
    };
    if let Some(directory) = directory {
        return Verdict::not_applicable(
            resource,
            format!("governs {directory} passwords, which the directory's own policy sets"),
        );
    }
    let need = profile.requirements();
    let mut problems = Vec::new();
    match policy.min_length {
        None => problems.push("minLength is not set".to_string()),
        Some(length) if length < need.min_length => {
            problems.push(format!("minimum length {length} (needs at least {})", need.min_length))
        }
        Some(_) => {}
    }
    if need.every_character_class {
        for (setting, value, class) in [
            ("minLowerCase", policy.min_lower_case, "a lower-case letter"),
            ("minUpperCase", policy.min_upper_case, "an upper-case letter"),
            ("minNumber", policy.min_number, "a number"),
            ("minSymbol", policy.min_symbol, "a symbol"),
        ] {
            match value {
                None => problems.push(format!("{setting} is not set")),
                Some(0) => problems.push(format!("{class} is not required")),
                Some(_) => {}
            }
        }
    }
    match policy.common_password_check {
        None => problems.push("dictionary.common.exclude is not set".to_string()),
        Some(false) => problems.push("the common-password check is off".to_string()),
        Some(true) => {}
    }
    match policy.history_count {
        None => problems.push("historyCount is not set".to_string()),
        Some(history) if history < need.min_history => problems.push(format!(
            "remembers {history} previous passwords (needs at least {})",
            need.min_history
        )),
        Some(_) => {}
    }
    // `maxAttempts` 0 means "never lock out", the weakest setting, not the strongest.
    match policy.lockout_max_attempts {
        None => problems.push("lockout.maxAttempts is not set".to_string()),
        Some(0) => problems.push(format!(
            "accounts are never locked out (needs lock-out after at most {} failures)",
            need.max_lockout_attempts
        )),
        Some(attempts) if attempts > need.max_lockout_attempts => problems.push(format!(
            "locks out after {attempts} failures (needs at most {})",
            need.max_lockout_attempts
        )),
        Some(_) => {}
    }
    if let Some(min_age) = need.min_age_minutes {
        match policy.min_age_minutes {
            None => problems.push("minAgeMinutes is not set".to_string()),
            Some(age) if age < min_age => {
                problems.push(format!("minimum age {age} minutes (needs at least {min_age})"))
            }
            Some(_) => {}
        }
    }
    // `maxAgeDays` 0 means "never expires".
    if let Some(max_age) = need.max_age_days {
        match policy.max_age_days {
            None => problems.push("maxAgeDays is not set".to_string()),
            Some(0) => {
                problems.push(format!("passwords never expire (needs at most {max_age} days)"))
            }
            Some(age) if age > max_age => problems
                .push(format!("passwords expire after {age} days (needs at most {max_age})")),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Verdict::pass(
            resource,
            format!(
                "meets the {} password profile: minimum length {}, history {}, lock-out after {} \
                 failures, common-password check on",
                profile.as_str(),
                policy.min_length.unwrap_or_default(),
                policy.history_count.unwrap_or_default(),
                policy.lockout_max_attempts.unwrap_or_default(),
            ),
        )
    } else {
        Verdict::fail(
            resource,
            format!(
                "does not meet the {} password profile: {}",
                profile.as_str(),
                problems.join("; ")
            ),
        )
    }
}

/// `okta.policy.mfa_required`: no active rule lets a user sign in with one factor.
///
/// Which rules decide depends on the engine: Classic requires MFA in the Okta sign-on policy
/// (`requireFactor`), Identity Engine in the app sign-in policies (`factorMode`), where the global
/// session policy usually leaves MFA to them (`requireFactor` false is normal there). Every
/// active ALLOW rule is judged, not only the first: rule conditions (groups, zones, devices) are
/// not collected, so any of them may be the one a user hits. Okta evaluates `access` on every
/// rule; one it omitted is judged as if it allowed access.
fn policy_mfa_required(snapshot: &OktaSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    let org = org_resource(snapshot);
    let mut verdicts = Vec::new();
    match snapshot.pipeline {
        None => {
            let unknown = "the org's engine (Classic or Identity Engine) is unknown, so the \
                           policies that enforce MFA are too";
            return vec![Verdict::error(org, gap_reason(snapshot, PART_ORG, unknown))];
        }
        Some(OktaPipeline::Classic) => {
            if let Some(error) = missing_part(snapshot, PART_SIGN_ON_POLICIES, "sign-on policies") {
                return error;
            }
            if snapshot.sign_on_policies.is_empty() {
                return vec![none_returned(snapshot, "sign-on policies")];
            }
            for policy in snapshot.sign_on_policies.iter().filter(|p| is_active(p.status)) {
                let Some(rules) = &policy.rules else {
                    verdicts.push(rules_unreadable(snapshot, PART_SIGN_ON_POLICIES, &policy.name));
                    continue;
                };
                for rule in rules.iter().filter(|r| may_allow(r.status, r.access)) {
                    verdicts.push(classic_rule_mfa(&policy.name, rule));
                }
            }
        }
        Some(OktaPipeline::IdentityEngine) => {
            if let Some(error) =
                missing_part(snapshot, PART_ACCESS_POLICIES, "app sign-in policies")
            {
                return error;
            }
            if snapshot.access_policies.is_empty() {
                // Identity Engine orgs always carry the Admin Console and Dashboard policies.
                return vec![none_returned(snapshot, "app sign-in policies")];
            }
            for policy in snapshot.access_policies.iter().filter(|p| is_active(p.status)) {
                let Some(rules) = &policy.rules else {
                    verdicts.push(rules_unreadable(snapshot, PART_ACCESS_POLICIES, &policy.name));
                    continue;
                };
                for rule in rules.iter().filter(|r| may_allow(r.status, r.access)) {
                    verdicts.push(access_rule_mfa(&policy.name, rule));
                }
            }
        }
    }
    if verdicts.is_empty() {
        return vec![Verdict::not_applicable(org, "no active Okta policy rule allows sign-in")];
    }
    verdicts
}

/// An active rule that does not deny access; one whose `access` Okta omitted may allow it.
fn may_allow(status: Option<LifecycleStatus>, access: Option<RuleAccess>) -> bool {
    is_active(status) && access != Some(RuleAccess::Deny)
}

fn classic_rule_mfa(policy: &str, rule: &SignOnRule) -> Verdict {
    let resource = rule_resource(policy, &rule.name);
    match rule.require_factor {
        Some(true) => Verdict::pass(resource, "requires MFA at sign-in (requireFactor)"),
        Some(false) => Verdict::fail(resource, "allows sign-in without MFA (requireFactor false)"),
        None => Verdict::fail(
            resource,
            "requireFactor is not set and Okta's default is false (no MFA); require a factor",
        ),
    }
}

fn access_rule_mfa(policy: &str, rule: &AccessRule) -> Verdict {
    let resource = rule_resource(policy, &rule.name);
    match rule.factor_mode {
        Some(FactorMode::TwoFactor) => {
            Verdict::pass(resource, "requires two factors (factorMode 2FA)")
        }
        Some(FactorMode::OneFactor) => {
            Verdict::fail(resource, "allows sign-in with one factor (factorMode 1FA); require 2FA")
        }
        None => Verdict::fail(
            resource,
            "factorMode is not set, so two factors cannot be shown to be required; set it to 2FA",
        ),
    }
}

/// Every org has undeletable default policies of each kind, so an empty list means the token
/// could not see them, not that there are none.
fn none_returned(snapshot: &OktaSnapshot, what: &str) -> Verdict {
    Verdict::error(
        org_resource(snapshot),
        format!(
            "Okta returned no {what}, though every org has some; check the token can read policies"
        ),
    )
}

fn rules_unreadable(snapshot: &OktaSnapshot, part: &str, policy: &str) -> Verdict {
    Verdict::error(
        format!("okta-policy:{policy}"),
        gap_reason(snapshot, part, "the policy's rules could not be read"),
    )
}

/// `okta.policy.session`: every active ALLOW rule of every active sign-on / global session
/// policy bounds the session lifetime and idle time and does not persist session cookies.
///
/// Prowler (`signon_global_session_lifetime_18h`) looks only at each policy's priority-1 rule and
/// requires it not to be the built-in Default Rule. Kushim judges every active rule, the Default
/// Rule included, because rule conditions are not collected and so nothing shows the Default Rule
/// is unreachable; its session settings are editable, so a failure there is actionable.
fn policy_session(snapshot: &OktaSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_SIGN_ON_POLICIES, "Okta sign-on policies") {
        return error;
    }
    if snapshot.sign_on_policies.is_empty() {
        return vec![none_returned(snapshot, "sign-on policies")];
    }
    let mut verdicts = Vec::new();
    for policy in snapshot.sign_on_policies.iter().filter(|p| is_active(p.status)) {
        let Some(rules) = &policy.rules else {
            verdicts.push(rules_unreadable(snapshot, PART_SIGN_ON_POLICIES, &policy.name));
            continue;
        };
        for rule in
            rules.iter().filter(|r| is_active(r.status) && r.access != Some(RuleAccess::Deny))
        {
            verdicts.push(judge_session_rule(&policy.name, rule, ctx));
        }
    }
    if verdicts.is_empty() {
        return vec![Verdict::not_applicable(
            org_resource(snapshot),
            "no active Okta sign-on rule allows sign-in",
        )];
    }
    verdicts
}

fn judge_session_rule(policy: &str, rule: &SignOnRule, ctx: &CheckContext) -> Verdict {
    let max_lifetime = ctx.thresholds.okta.max_session_lifetime_minutes;
    let max_idle = ctx.thresholds.okta.max_session_idle_minutes;
    let mut problems = Vec::new();
    // `maxSessionLifetimeMinutes` 0 is Okta's default and means "no limit".
    match rule.max_session_lifetime_minutes {
        None => problems.push("maxSessionLifetimeMinutes is not set".to_string()),
        Some(0) => {
            problems.push(format!("session lifetime is unlimited (limit {max_lifetime} minutes)"))
        }
        Some(minutes) if minutes > max_lifetime => {
            problems.push(format!("session lifetime {minutes} minutes (limit {max_lifetime})"))
        }
        Some(_) => {}
    }
    match rule.max_session_idle_minutes {
        None => problems.push("maxSessionIdleMinutes is not set".to_string()),
        Some(minutes) if minutes > max_idle => {
            problems.push(format!("idle timeout {minutes} minutes (limit {max_idle})"))
        }
        Some(_) => {}
    }
    match rule.use_persistent_cookie {
        None => problems.push("usePersistentCookie is not set".to_string()),
        Some(true) => problems.push("session cookies persist across browser restarts".to_string()),
        Some(false) => {}
    }
    let resource = rule_resource(policy, &rule.name);
    if problems.is_empty() {
        Verdict::pass(
            resource,
            format!(
                "session lifetime {} minutes (limit {max_lifetime}), idle timeout {} minutes \
                 (limit {max_idle}), no persistent cookie",
                rule.max_session_lifetime_minutes.unwrap_or_default(),
                rule.max_session_idle_minutes.unwrap_or_default(),
            ),
        )
    } else {
        Verdict::fail(resource, problems.join("; "))
    }
}

/// `okta.users.inactive`: every user who can sign in has signed in within `inactive_days`. A user
/// who never signed in is measured from `activated`, else from `created`, so a forgotten invite
/// ages like a forgotten account.
fn users_inactive(snapshot: &OktaSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_USERS, "Okta users") {
        return error;
    }
    let limit = ctx.thresholds.okta.inactive_days;
    let mut verdicts = Vec::new();
    for user in &snapshot.users {
        match can_sign_in(&user.status) {
            Some(true) => {}
            Some(false) => continue,
            None => {
                verdicts.push(unknown_status(user));
                continue;
            }
        }
        let (since, what) = match (user.last_login, user.activated) {
            (Some(login), _) => (login, "last signed in"),
            (None, Some(activated)) => (activated, "never signed in; activated"),
            (None, None) => (user.created, "never signed in; created"),
        };
        let days = days_between(since, ctx.now);
        let reason = format!("{what} {days} days ago (limit {limit})");
        verdicts.push(if days > limit {
            Verdict::fail(
                user_resource(user),
                format!("{reason}; suspend or deactivate the account"),
            )
        } else {
            Verdict::pass(user_resource(user), reason)
        });
    }
    if verdicts.is_empty() {
        return vec![Verdict::not_applicable(org_resource(snapshot), "no active Okta users")];
    }
    verdicts
}

fn days_between(earlier: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - earlier).num_days()
}

/// `okta.users.deprovisioned_no_access`: no DEPROVISIONED or SUSPENDED user is still assigned to
/// an Okta app (an assignment can keep a provisioned account alive in the app itself).
///
/// For now this judges Okta's own app assignments only. The cross-system join (GitHub org
/// membership and active AWS IAM credentials of the same person, matched by email) will be added
/// later by someone else, turning this into a `Judge::Cross` check with Okta as primary.
fn users_deprovisioned_no_access(snapshot: &OktaSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_USERS, "Okta users") {
        return error;
    }
    let mut verdicts = Vec::new();
    for user in &snapshot.users {
        if !matches!(user.status, UserStatus::Deprovisioned | UserStatus::Suspended) {
            continue;
        }
        let resource = user_resource(user);
        let status = user.status.as_str();
        verdicts.push(match &user.app_assignments {
            None => Verdict::error(
                resource,
                gap_reason(snapshot, PART_APP_ASSIGNMENTS, "app assignments could not be read"),
            ),
            Some(apps) if apps.is_empty() => {
                Verdict::pass(resource, format!("{status} and assigned to no apps"))
            }
            Some(apps) => {
                let labels: Vec<&str> = apps.iter().map(|app| app.app_label.as_str()).collect();
                Verdict::fail(
                    resource,
                    format!(
                        "{status} but still assigned to {} app(s): {}; remove the assignments",
                        apps.len(),
                        labels.join(", ")
                    ),
                )
            }
        });
    }
    if verdicts.is_empty() {
        return vec![Verdict::not_applicable(
            org_resource(snapshot),
            "no deprovisioned or suspended Okta users",
        )];
    }
    verdicts
}

/// Super admins by user id, each with how the role reaches them (`direct`, `group Admins`).
fn super_admins(snapshot: &OktaSnapshot) -> BTreeMap<&str, Vec<String>> {
    let mut found: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for admin in &snapshot.admins {
        for grant in admin.roles.iter().filter(|grant| grant.role == AdminRole::SuperAdmin) {
            let via = match &grant.via {
                RoleSource::Direct => "direct".to_string(),
                RoleSource::Group { group_name, .. } => format!("group {group_name}"),
            };
            found.entry(admin.user_id.as_str()).or_default().push(via);
        }
    }
    found
}

fn login_of<'a>(snapshot: &'a OktaSnapshot, user_id: &'a str) -> &'a str {
    snapshot
        .users
        .iter()
        .find(|user| user.id == user_id)
        .map_or(user_id, |user| user.login.as_str())
}

/// `okta.admins.super_admin_count`: at most `max_super_admins` users hold SUPER_ADMIN, directly or
/// through a group.
fn admins_super_admin_count(snapshot: &OktaSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_ADMIN_ROLES, "Okta admin role assignments") {
        return error;
    }
    let org = org_resource(snapshot);
    let limit = ctx.thresholds.okta.max_super_admins;
    let found = super_admins(snapshot);
    if found.is_empty() {
        // Okta refuses to remove the last super admin, so an empty list means the listing is
        // incomplete, not that nobody holds the role.
        return vec![Verdict::error(
            org,
            "no super admin found, though Okta always keeps one; check the token can list roles",
        )];
    }
    let names: Vec<String> = found
        .iter()
        .map(|(user_id, via)| format!("{} ({})", login_of(snapshot, user_id), via.join(", ")))
        .collect();
    let reason = format!("{} super admins (limit {limit}): {}", found.len(), names.join(", "));
    if found.len() > limit {
        vec![Verdict::fail(org, format!("{reason}; move the others to narrower admin roles"))]
    } else {
        vec![Verdict::pass(org, reason)]
    }
}

/// `okta.apitokens.hardening`: every API token is restricted to a network zone and is not owned
/// by a super admin (a token acts with its owner's roles). Prowler's `apitoken_not_super_admin`
/// and `apitoken_restricted_to_network_zone`; Prowler also fails zones that no longer exist,
/// which needs `GET /api/v1/zones` and is not collected.
fn apitokens_hardening(snapshot: &OktaSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_API_TOKENS, "Okta API tokens") {
        return error;
    }
    if snapshot.api_tokens.is_empty() {
        return vec![Verdict::not_applicable(org_resource(snapshot), "no Okta API tokens")];
    }
    // With the role listing incomplete, a super admin it does show still fails the token; the
    // absence of one proves nothing, so a token that is otherwise fine is then an error.
    let roles_gap = snapshot.gaps.get(PART_ADMIN_ROLES);
    let super_admin_ids: BTreeSet<&str> = super_admins(snapshot).into_keys().collect();
    let mut verdicts = Vec::new();
    for token in &snapshot.api_tokens {
        let resource = format!("okta-api-token:{}", token.name);
        let owner = login_of(snapshot, &token.user_id);
        let mut problems = Vec::new();
        match &token.network {
            Some(network)
                if network.connection.eq_ignore_ascii_case("ZONE")
                    && !network.include.is_empty() => {}
            Some(network) if network.connection.eq_ignore_ascii_case("ZONE") => problems.push(
                "names no allowed network zone (excluded zones alone do not restrict it)"
                    .to_string(),
            ),
            _ => problems
                .push("can be used from any IP address; restrict it to a network zone".to_string()),
        }
        if super_admin_ids.contains(token.user_id.as_str()) {
            problems.push(format!(
                "owned by super admin {owner}; create it as a service account with a narrower role"
            ));
        }
        verdicts.push(match (problems.is_empty(), roles_gap) {
            (false, _) => Verdict::fail(resource, problems.join("; ")),
            (true, Some(reason)) => Verdict::error(
                resource,
                format!("zone-restricted, but the owner's admin roles could not be read: {reason}"),
            ),
            (true, None) => Verdict::pass(
                resource,
                format!("zone-restricted and owned by {owner}, not a super admin"),
            ),
        });
    }
    verdicts
}

/// `okta.syslog.streaming`: at least one ACTIVE log stream sends the System Log off Okta, which
/// keeps it for only 90 days.
fn syslog_streaming(snapshot: &OktaSnapshot, _ctx: &CheckContext) -> Vec<Verdict> {
    if let Some(error) = missing_part(snapshot, PART_LOG_STREAMS, "Okta log streams") {
        return error;
    }
    let org = org_resource(snapshot);
    let active: Vec<String> = snapshot
        .log_streams
        .iter()
        .filter(|stream| stream.status == LifecycleStatus::Active)
        .map(|stream| format!("{} ({})", stream.name, stream.stream_type))
        .collect();
    if !active.is_empty() {
        return vec![Verdict::pass(org, format!("System Log streamed to {}", active.join(", ")))];
    }
    if snapshot.log_streams.is_empty() {
        return vec![Verdict::fail(
            org,
            "no log stream configured; stream the System Log to a SIEM (EventBridge or Splunk)",
        )];
    }
    let inactive: Vec<&str> =
        snapshot.log_streams.iter().map(|stream| stream.name.as_str()).collect();
    vec![Verdict::fail(
        org,
        format!("every log stream is inactive ({}); activate one", inactive.join(", ")),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Outcome::{self, Error, Fail, NotApplicable, Pass};
    use crate::checks::Thresholds;
    use crate::integrations::okta::{
        AccessPolicy, AccessRule, AdminRole, ApiToken, AppAssignment, Factor, LogStream, OktaAdmin,
        RoleGrant, SignOnPolicy, TokenNetwork,
    };
    use chrono::TimeDelta;

    type Check = fn(&OktaSnapshot, &CheckContext) -> Vec<Verdict>;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_748_736_000, 0).expect("2025-06-01 is a valid time")
    }

    fn days_ago(days: i64) -> DateTime<Utc> {
        now() - TimeDelta::days(days)
    }

    fn ctx() -> CheckContext {
        CheckContext::new(now())
    }

    fn ctx_with(change: impl FnOnce(&mut OktaThresholds)) -> CheckContext {
        let mut thresholds = Thresholds::default();
        change(&mut thresholds.okta);
        CheckContext::new(now()).with_thresholds(thresholds)
    }

    // ---- a small world -------------------------------------------------------------------

    fn org() -> OktaSnapshot {
        OktaSnapshot {
            org_url: "https://acme.okta.com".to_string(),
            pipeline: Some(OktaPipeline::IdentityEngine),
            ..OktaSnapshot::default()
        }
    }

    impl OktaSnapshot {
        fn with_user(mut self, user: OktaUser) -> Self {
            self.users.push(user);
            self
        }
        fn with_gap(mut self, part: &str, reason: &str) -> Self {
            self.gaps.insert(part.to_string(), reason.to_string());
            self
        }
        fn classic(mut self) -> Self {
            self.pipeline = Some(OktaPipeline::Classic);
            self
        }
        fn engine_unknown(mut self) -> Self {
            self.pipeline = None;
            self
        }
        fn with_password_policy(mut self, policy: PasswordPolicy) -> Self {
            self.password_policies.push(policy);
            self
        }
        fn with_sign_on_policy(mut self, policy: SignOnPolicy) -> Self {
            self.sign_on_policies.push(policy);
            self
        }
        fn with_access_policy(mut self, policy: AccessPolicy) -> Self {
            self.access_policies.push(policy);
            self
        }
        fn with_admin(mut self, user_id: &str, roles: Vec<RoleGrant>) -> Self {
            self.admins.push(OktaAdmin { user_id: user_id.to_string(), roles });
            self
        }
        fn with_token(mut self, token: ApiToken) -> Self {
            self.api_tokens.push(token);
            self
        }
        fn with_stream(mut self, name: &str, status: LifecycleStatus) -> Self {
            self.log_streams.push(LogStream {
                id: format!("0oa{name}"),
                name: name.to_string(),
                stream_type: "aws_eventbridge".to_string(),
                status,
            });
            self
        }
    }

    /// An ACTIVE user who enrolled Okta Verify push and signed in yesterday.
    fn user(name: &str) -> OktaUser {
        OktaUser {
            id: format!("00u{name}"),
            login: format!("{name}@acme.com"),
            email: Some(format!("{name}@acme.com")),
            status: UserStatus::Active,
            created: days_ago(400),
            activated: Some(days_ago(400)),
            last_login: Some(days_ago(1)),
            factors: Some(vec![factor("push")]),
            app_assignments: None,
        }
    }

    fn factor(factor_type: &str) -> Factor {
        Factor {
            factor_type: factor_type.to_string(),
            provider: "OKTA".to_string(),
            status: FactorStatus::Active,
        }
    }

    impl OktaUser {
        fn status(mut self, status: UserStatus) -> Self {
            self.status = status;
            self
        }
        fn factors(mut self, types: &[&str]) -> Self {
            self.factors = Some(types.iter().map(|t| factor(t)).collect());
            self
        }
        fn pending_factor(mut self, factor_type: &str) -> Self {
            let pending = Factor { status: FactorStatus::PendingActivation, ..factor(factor_type) };
            self.factors = Some(vec![pending]);
            self
        }
        fn factors_failed(mut self) -> Self {
            self.factors = None;
            self
        }
        fn last_login(mut self, days: i64) -> Self {
            self.last_login = Some(days_ago(days));
            self
        }
        fn never_logged_in(mut self) -> Self {
            self.last_login = None;
            self
        }
        fn activated(mut self, days: Option<i64>) -> Self {
            self.activated = days.map(days_ago);
            self
        }
        fn created(mut self, days: i64) -> Self {
            self.created = days_ago(days);
            self
        }
        fn apps(mut self, labels: &[&str]) -> Self {
            let apps = labels
                .iter()
                .map(|label| AppAssignment {
                    app_id: format!("0oa{label}"),
                    app_label: label.to_string(),
                })
                .collect();
            self.app_assignments = Some(apps);
            self
        }
    }

    /// An ACTIVE Okta-mastered password policy meeting the standard profile.
    fn password_policy(name: &str) -> PasswordPolicy {
        PasswordPolicy {
            id: format!("00p{name}"),
            name: name.to_string(),
            status: Some(LifecycleStatus::Active),
            priority: Some(1),
            auth_provider: Some(PasswordAuthProvider::Okta),
            min_length: Some(14),
            min_lower_case: Some(1),
            min_upper_case: Some(1),
            min_number: Some(1),
            min_symbol: Some(1),
            common_password_check: Some(true),
            history_count: Some(5),
            max_age_days: Some(0),
            min_age_minutes: Some(0),
            lockout_max_attempts: Some(5),
        }
    }

    /// An ACTIVE sign-on policy with the given rules.
    fn sign_on_policy(name: &str, rules: Vec<SignOnRule>) -> SignOnPolicy {
        SignOnPolicy {
            id: format!("00p{name}"),
            name: name.to_string(),
            status: Some(LifecycleStatus::Active),
            priority: Some(1),
            rules: Some(rules),
        }
    }

    /// An ACTIVE ALLOW rule requiring MFA, 8 h sessions, 15 min idle, no persistent cookie.
    fn sign_on_rule(name: &str) -> SignOnRule {
        SignOnRule {
            id: format!("0pr{name}"),
            name: name.to_string(),
            status: Some(LifecycleStatus::Active),
            priority: Some(1),
            system: false,
            access: Some(RuleAccess::Allow),
            require_factor: Some(true),
            max_session_lifetime_minutes: Some(480),
            max_session_idle_minutes: Some(15),
            use_persistent_cookie: Some(false),
        }
    }

    fn access_policy(name: &str, rules: Vec<AccessRule>) -> AccessPolicy {
        AccessPolicy {
            id: format!("rst{name}"),
            name: name.to_string(),
            status: Some(LifecycleStatus::Active),
            rules: Some(rules),
        }
    }

    /// An ACTIVE ALLOW rule requiring two factors.
    fn access_rule(name: &str) -> AccessRule {
        AccessRule {
            id: format!("rul{name}"),
            name: name.to_string(),
            status: Some(LifecycleStatus::Active),
            priority: Some(1),
            system: false,
            access: Some(RuleAccess::Allow),
            factor_mode: Some(FactorMode::TwoFactor),
        }
    }

    fn direct(role: AdminRole) -> RoleGrant {
        RoleGrant { role, via: RoleSource::Direct }
    }

    fn via_group(role: AdminRole, group: &str) -> RoleGrant {
        RoleGrant {
            role,
            via: RoleSource::Group {
                group_id: format!("00g{group}"),
                group_name: group.to_string(),
            },
        }
    }

    /// A token restricted to the office zone, owned by `owner`.
    fn token(name: &str, owner: &str) -> ApiToken {
        ApiToken {
            id: format!("00T{name}"),
            name: name.to_string(),
            user_id: format!("00u{owner}"),
            network: Some(TokenNetwork {
                connection: "ZONE".to_string(),
                include: vec!["nzoOffice".to_string()],
                exclude: Vec::new(),
            }),
        }
    }

    fn anywhere(mut token: ApiToken) -> ApiToken {
        token.network = Some(TokenNetwork {
            connection: "ANYWHERE".to_string(),
            include: vec![],
            exclude: vec![],
        });
        token
    }

    // ---- table runner --------------------------------------------------------------------

    /// One row: a name, the world, the context, and per expected verdict its outcome and a
    /// fragment its reason (or resource) must contain.
    struct Row {
        name: &'static str,
        snapshot: OktaSnapshot,
        ctx: CheckContext,
        expect: Vec<(Outcome, &'static str)>,
    }

    fn row(name: &'static str, snapshot: OktaSnapshot, expect: &[(Outcome, &'static str)]) -> Row {
        Row { name, snapshot, ctx: ctx(), expect: expect.to_vec() }
    }

    fn row_with(
        name: &'static str,
        snapshot: OktaSnapshot,
        ctx: CheckContext,
        expect: &[(Outcome, &'static str)],
    ) -> Row {
        Row { name, snapshot, ctx, expect: expect.to_vec() }
    }

    fn run(check: Check, rows: Vec<Row>) {
        for row in rows {
            let verdicts = check(&row.snapshot, &row.ctx);
            assert_eq!(
                verdicts.len(),
                row.expect.len(),
                "{}: expected {} verdicts, got {verdicts:#?}",
                row.name,
                row.expect.len()
            );
            for (verdict, (outcome, fragment)) in verdicts.iter().zip(&row.expect) {
                assert_eq!(verdict.outcome, *outcome, "{}: {verdict:?}", row.name);
                assert!(
                    verdict.reason.contains(fragment) || verdict.resource.contains(fragment),
                    "{}: expected {fragment:?} in {verdict:?}",
                    row.name
                );
            }
        }
    }

    // ---- tables --------------------------------------------------------------------------

    #[test]
    fn mfa_enrolled() {
        run(
            users_mfa_enrolled,
            vec![
                row("push passes", org().with_user(user("alice")), &[(Pass, "push")]),
                row(
                    "webauthn passes",
                    org().with_user(user("bob").factors(&["sms", "webauthn"])),
                    &[(Pass, "webauthn")],
                ),
                row(
                    "no factor fails",
                    org().with_user(user("carol").factors(&[])),
                    &[(Fail, "no active MFA factor")],
                ),
                row(
                    "only weak factors (sms) fail",
                    org().with_user(user("dave").factors(&["sms"])),
                    &[(Fail, "only weak factors active (sms)")],
                ),
                row_with(
                    "weak factors pass when accepted",
                    org().with_user(user("dave").factors(&["sms"])),
                    ctx_with(|t| t.accept_weak_factors = true),
                    &[(Pass, "accepted by checks.okta.accept_weak_factors")],
                ),
                row(
                    "an unlisted factor type fails",
                    org().with_user(user("erin").factors(&["token:hotp"])),
                    &[(Fail, "no strong factor active (has token:hotp)")],
                ),
                row(
                    "a pending strong factor does not count",
                    org().with_user(user("frank").pending_factor("push")),
                    &[(Fail, "no active MFA factor")],
                ),
                row(
                    "factors call failed for one user: error for that user, others judged",
                    org().with_user(user("grace").factors_failed()).with_user(user("heidi")),
                    &[(Error, "enrolled factors could not be read"), (Pass, "heidi")],
                ),
                row(
                    "factors part missing: the gap's reason",
                    org()
                        .with_user(user("grace").factors_failed())
                        .with_gap(PART_FACTORS, "HTTP 403"),
                    &[(Error, "HTTP 403")],
                ),
                row_with(
                    "exempted user is not judged",
                    org().with_user(user("svc").factors(&[])),
                    ctx_with(|t| t.mfa_exemptions = vec!["SVC@acme.com".to_string()]),
                    &[(NotApplicable, "exempted")],
                ),
                row(
                    "STAGED and PROVISIONED users are not judged (no credentials yet)",
                    org()
                        .with_user(user("new").status(UserStatus::Staged).factors(&[]))
                        .with_user(user("newer").status(UserStatus::Provisioned).factors(&[]))
                        .with_user(user("ivan")),
                    &[(Pass, "ivan")],
                ),
                row(
                    "LOCKED_OUT and PASSWORD_EXPIRED users are judged",
                    org()
                        .with_user(user("judy").status(UserStatus::LockedOut).factors(&[]))
                        .with_user(user("ken").status(UserStatus::PasswordExpired)),
                    &[(Fail, "judy"), (Pass, "ken")],
                ),
                row(
                    "SUSPENDED and DEPROVISIONED users are not judged",
                    org()
                        .with_user(user("leo").status(UserStatus::Suspended).factors(&[]))
                        .with_user(user("mia").status(UserStatus::Deprovisioned).factors_failed())
                        .with_user(user("ned")),
                    &[(Pass, "ned")],
                ),
                row(
                    "unknown status is an error",
                    org().with_user(user("oz").status(UserStatus::Other("ACTIVATING".to_string()))),
                    &[(Error, "ACTIVATING")],
                ),
                row(
                    "no ACTIVE users: not applicable",
                    org().with_user(user("new").status(UserStatus::Staged)),
                    &[(NotApplicable, "1 staged or provisioned")],
                ),
                row("empty org: not applicable", org(), &[(NotApplicable, "no active Okta users")]),
                row(
                    "users part missing: one error",
                    org().with_user(user("alice")).with_gap(PART_USERS, "HTTP 401"),
                    &[(Error, "HTTP 401")],
                ),
            ],
        );
    }

    #[test]
    fn password_policy_strength() {
        let weak = PasswordPolicy {
            min_length: Some(8),
            history_count: Some(0),
            lockout_max_attempts: Some(0),
            common_password_check: Some(false),
            ..password_policy("Default Policy")
        };
        let omitted = PasswordPolicy {
            min_length: None,
            lockout_max_attempts: None,
            ..password_policy("Terse")
        };
        let stig_ok = PasswordPolicy {
            min_length: Some(15),
            lockout_max_attempts: Some(3),
            min_age_minutes: Some(1440),
            max_age_days: Some(60),
            ..password_policy("Stig")
        };
        run(
            policy_password,
            vec![
                row(
                    "strong policy passes",
                    org().with_password_policy(password_policy("Default Policy")),
                    &[(Pass, "meets the standard password profile")],
                ),
                row(
                    "weak policy fails with every problem",
                    org().with_password_policy(weak.clone()),
                    &[(
                        Fail,
                        "minimum length 8 (needs at least 12); the common-password check is off; \
                         remembers 0 previous passwords (needs at least 5); accounts are never \
                         locked out",
                    )],
                ),
                row(
                    "missing fields fail naming the setting",
                    org().with_password_policy(omitted),
                    &[(Fail, "minLength is not set; lockout.maxAttempts is not set")],
                ),
                row(
                    "lock-out after too many failures fails",
                    org().with_password_policy(PasswordPolicy {
                        lockout_max_attempts: Some(11),
                        ..password_policy("Loose")
                    }),
                    &[(Fail, "locks out after 11 failures (needs at most 10)")],
                ),
                row(
                    "INACTIVE policies are ignored",
                    org()
                        .with_password_policy(PasswordPolicy {
                            status: Some(LifecycleStatus::Inactive),
                            ..weak.clone()
                        })
                        .with_password_policy(password_policy("Engineering")),
                    &[(Pass, "okta-policy:Engineering")],
                ),
                row(
                    "a policy without status counts as active",
                    org().with_password_policy(PasswordPolicy { status: None, ..weak.clone() }),
                    &[(Fail, "minimum length 8")],
                ),
                row(
                    "only INACTIVE policies: not applicable",
                    org().with_password_policy(PasswordPolicy {
                        status: Some(LifecycleStatus::Inactive),
                        ..weak
                    }),
                    &[(NotApplicable, "no active Okta password policies")],
                ),
                row(
                    "Active Directory policy: not applicable",
                    org().with_password_policy(PasswordPolicy {
                        auth_provider: Some(PasswordAuthProvider::ActiveDirectory),
                        min_length: Some(4),
                        ..password_policy("AD")
                    }),
                    &[(NotApplicable, "Active Directory")],
                ),
                row_with(
                    "STIG profile demands more than standard",
                    org().with_password_policy(password_policy("Default Policy")),
                    ctx_with(|t| t.password_profile = PasswordProfile::Stig),
                    &[(Fail, "minimum length 14 (needs at least 15)")],
                ),
                row_with(
                    "STIG profile: never-expiring passwords fail",
                    org().with_password_policy(PasswordPolicy {
                        max_age_days: Some(0),
                        ..stig_ok.clone()
                    }),
                    ctx_with(|t| t.password_profile = PasswordProfile::Stig),
                    &[(Fail, "passwords never expire")],
                ),
                row_with(
                    "STIG profile: a compliant policy passes",
                    org().with_password_policy(stig_ok),
                    ctx_with(|t| t.password_profile = PasswordProfile::Stig),
                    &[(Pass, "meets the stig password profile")],
                ),
                row("no policies returned: error", org(), &[(Error, "no password policies")]),
                row(
                    "policies part missing: error with the gap's reason",
                    org().with_gap(PART_PASSWORD_POLICIES, "HTTP 403 okta.policies.read"),
                    &[(Error, "okta.policies.read")],
                ),
            ],
        );
    }

    #[test]
    fn mfa_required() {
        let one_factor = AccessRule {
            factor_mode: Some(FactorMode::OneFactor),
            ..access_rule("Catch-all Rule")
        };
        run(
            policy_mfa_required,
            vec![
                row(
                    "OIE: 2FA rules pass, a 1FA rule fails",
                    org().with_access_policy(access_policy(
                        "Okta Dashboard",
                        vec![access_rule("Managed devices"), one_factor.clone()],
                    )),
                    &[(Pass, "factorMode 2FA"), (Fail, "factorMode 1FA")],
                ),
                row(
                    "OIE: a rule without factorMode fails naming it",
                    org().with_access_policy(access_policy(
                        "Okta Admin Console",
                        vec![AccessRule { factor_mode: None, ..access_rule("Chain") }],
                    )),
                    &[(Fail, "factorMode is not set")],
                ),
                row(
                    "OIE: DENY and INACTIVE rules are not judged",
                    org().with_access_policy(access_policy(
                        "Okta Dashboard",
                        vec![
                            AccessRule { access: Some(RuleAccess::Deny), ..one_factor.clone() },
                            AccessRule {
                                status: Some(LifecycleStatus::Inactive),
                                ..one_factor.clone()
                            },
                            access_rule("Everyone"),
                        ],
                    )),
                    &[(Pass, "Okta Dashboard/Everyone")],
                ),
                row(
                    "OIE: INACTIVE policies are ignored",
                    org()
                        .with_access_policy(AccessPolicy {
                            status: Some(LifecycleStatus::Inactive),
                            ..access_policy("Old", vec![one_factor.clone()])
                        })
                        .with_access_policy(access_policy(
                            "Okta Admin Console",
                            vec![access_rule("Admins")],
                        )),
                    &[(Pass, "Okta Admin Console/Admins")],
                ),
                row(
                    "OIE: the global session policy's requireFactor is not judged",
                    org()
                        .with_sign_on_policy(sign_on_policy(
                            "Default Policy",
                            vec![SignOnRule {
                                require_factor: Some(false),
                                ..sign_on_rule("Default Rule")
                            }],
                        ))
                        .with_access_policy(access_policy(
                            "Okta Dashboard",
                            vec![access_rule("Everyone")],
                        )),
                    &[(Pass, "Okta Dashboard/Everyone")],
                ),
                row(
                    "OIE: rules unreadable for one policy: error for it",
                    org().with_access_policy(AccessPolicy {
                        rules: None,
                        ..access_policy("Okta Dashboard", vec![])
                    }),
                    &[(Error, "rules could not be read")],
                ),
                row(
                    "OIE: no app sign-in policies returned: error",
                    org(),
                    &[(Error, "no app sign-in policies")],
                ),
                row(
                    "OIE: access policies part missing: error",
                    org().with_gap(PART_ACCESS_POLICIES, "HTTP 403"),
                    &[(Error, "HTTP 403")],
                ),
                row(
                    "Classic: requireFactor true passes, false fails, missing fails",
                    org().classic().with_sign_on_policy(sign_on_policy(
                        "Default Policy",
                        vec![
                            sign_on_rule("MFA"),
                            SignOnRule { require_factor: Some(false), ..sign_on_rule("Office") },
                            SignOnRule { require_factor: None, ..sign_on_rule("Default Rule") },
                        ],
                    )),
                    &[
                        (Pass, "requires MFA"),
                        (Fail, "requireFactor false"),
                        (Fail, "requireFactor is not set"),
                    ],
                ),
                row(
                    "Classic: only DENY rules: not applicable",
                    org().classic().with_sign_on_policy(sign_on_policy(
                        "Default Policy",
                        vec![SignOnRule {
                            access: Some(RuleAccess::Deny),
                            ..sign_on_rule("Block")
                        }],
                    )),
                    &[(NotApplicable, "no active Okta policy rule allows sign-in")],
                ),
                row(
                    "Classic: no sign-on policies returned: error",
                    org().classic(),
                    &[(Error, "no sign-on policies")],
                ),
                row(
                    "engine unknown: error",
                    org().engine_unknown().with_gap(PART_ORG, "timeout"),
                    &[(Error, "engine (Classic or Identity Engine) is unknown")],
                ),
            ],
        );
    }

    #[test]
    fn session() {
        run(
            policy_session,
            vec![
                row(
                    "bounded rule passes",
                    org().with_sign_on_policy(sign_on_policy(
                        "Default Policy",
                        vec![sign_on_rule("Employees")],
                    )),
                    &[(Pass, "session lifetime 480 minutes (limit 1080)")],
                ),
                row(
                    "unlimited lifetime, long idle and persistent cookie fail together",
                    org().with_sign_on_policy(sign_on_policy(
                        "Default Policy",
                        vec![SignOnRule {
                            max_session_lifetime_minutes: Some(0),
                            max_session_idle_minutes: Some(120),
                            use_persistent_cookie: Some(true),
                            system: true,
                            ..sign_on_rule("Default Rule")
                        }],
                    )),
                    &[(
                        Fail,
                        "session lifetime is unlimited (limit 1080 minutes); idle timeout 120 \
                         minutes (limit 15); session cookies persist",
                    )],
                ),
                row(
                    "lifetime over the limit fails",
                    org().with_sign_on_policy(sign_on_policy(
                        "Default Policy",
                        vec![SignOnRule {
                            max_session_lifetime_minutes: Some(1440),
                            ..sign_on_rule("Long")
                        }],
                    )),
                    &[(Fail, "session lifetime 1440 minutes (limit 1080)")],
                ),
                row(
                    "missing settings fail naming them",
                    org().with_sign_on_policy(sign_on_policy(
                        "Default Policy",
                        vec![SignOnRule {
                            max_session_lifetime_minutes: None,
                            max_session_idle_minutes: None,
                            use_persistent_cookie: None,
                            ..sign_on_rule("Terse")
                        }],
                    )),
                    &[(
                        Fail,
                        "maxSessionLifetimeMinutes is not set; maxSessionIdleMinutes is not set; \
                         usePersistentCookie is not set",
                    )],
                ),
                row(
                    "INACTIVE policies and rules are ignored",
                    org()
                        .with_sign_on_policy(SignOnPolicy {
                            status: Some(LifecycleStatus::Inactive),
                            ..sign_on_policy(
                                "Old",
                                vec![SignOnRule {
                                    max_session_lifetime_minutes: Some(0),
                                    ..sign_on_rule("Old")
                                }],
                            )
                        })
                        .with_sign_on_policy(sign_on_policy(
                            "Default Policy",
                            vec![
                                SignOnRule {
                                    status: Some(LifecycleStatus::Inactive),
                                    ..sign_on_rule("Draft")
                                },
                                sign_on_rule("Employees"),
                            ],
                        )),
                    &[(Pass, "Default Policy/Employees")],
                ),
                row_with(
                    "a looser configured limit passes",
                    org().with_sign_on_policy(sign_on_policy(
                        "Default Policy",
                        vec![SignOnRule {
                            max_session_idle_minutes: Some(60),
                            ..sign_on_rule("Employees")
                        }],
                    )),
                    ctx_with(|t| t.max_session_idle_minutes = 60),
                    &[(Pass, "idle timeout 60 minutes (limit 60)")],
                ),
                row(
                    "rules unreadable: error for that policy",
                    org().with_sign_on_policy(SignOnPolicy {
                        rules: None,
                        ..sign_on_policy("Default Policy", vec![])
                    }),
                    &[(Error, "okta-policy:Default Policy")],
                ),
                row(
                    "no sign-on policies returned: error",
                    org(),
                    &[(Error, "no sign-on policies")],
                ),
                row(
                    "part missing: error",
                    org().with_gap(PART_SIGN_ON_POLICIES, "HTTP 429 after retries"),
                    &[(Error, "HTTP 429")],
                ),
            ],
        );
    }

    #[test]
    fn inactive_users() {
        run(
            users_inactive,
            vec![
                row(
                    "recent sign-in passes",
                    org().with_user(user("alice").last_login(3)),
                    &[(Pass, "last signed in 3 days ago (limit 90)")],
                ),
                row(
                    "exactly at the limit passes",
                    org().with_user(user("alice").last_login(90)),
                    &[(Pass, "90 days ago")],
                ),
                row(
                    "dormant user fails",
                    org().with_user(user("bob").last_login(134)),
                    &[(Fail, "last signed in 134 days ago (limit 90)")],
                ),
                row(
                    "never logged in falls back to activated",
                    org().with_user(
                        user("carol").never_logged_in().activated(Some(120)).created(300),
                    ),
                    &[(Fail, "never signed in; activated 120 days ago")],
                ),
                row(
                    "never logged in nor activated falls back to created",
                    org().with_user(user("dave").never_logged_in().activated(None).created(10)),
                    &[(Pass, "never signed in; created 10 days ago")],
                ),
                row_with(
                    "configured limit",
                    org().with_user(user("erin").last_login(40)),
                    ctx_with(|t| t.inactive_days = 30),
                    &[(Fail, "40 days ago (limit 30)")],
                ),
                row(
                    "deprovisioned and staged users are not judged",
                    org()
                        .with_user(user("gone").status(UserStatus::Deprovisioned).last_login(400))
                        .with_user(user("new").status(UserStatus::Staged).never_logged_in()),
                    &[(NotApplicable, "no active Okta users")],
                ),
                row(
                    "users part missing: error",
                    org().with_gap(PART_USERS, "HTTP 500"),
                    &[(Error, "HTTP 500")],
                ),
            ],
        );
    }

    #[test]
    fn deprovisioned_no_access() {
        run(
            users_deprovisioned_no_access,
            vec![
                row(
                    "deprovisioned user with an app assignment fails",
                    org().with_user(
                        user("gone").status(UserStatus::Deprovisioned).apps(&["GitHub", "AWS"]),
                    ),
                    &[(Fail, "DEPROVISIONED but still assigned to 2 app(s): GitHub, AWS")],
                ),
                row(
                    "suspended user with an app assignment fails",
                    org().with_user(user("away").status(UserStatus::Suspended).apps(&["Slack"])),
                    &[(Fail, "SUSPENDED but still assigned to 1 app(s): Slack")],
                ),
                row(
                    "deprovisioned user without assignments passes",
                    org().with_user(user("gone").status(UserStatus::Deprovisioned).apps(&[])),
                    &[(Pass, "assigned to no apps")],
                ),
                row(
                    "assignments not read: error with the gap's reason",
                    org()
                        .with_user(user("gone").status(UserStatus::Deprovisioned))
                        .with_gap(PART_APP_ASSIGNMENTS, "apps bucket exhausted"),
                    &[(Error, "apps bucket exhausted")],
                ),
                row(
                    "active users are not judged",
                    org().with_user(user("alice").apps(&["GitHub"])),
                    &[(NotApplicable, "no deprovisioned or suspended")],
                ),
            ],
        );
    }

    #[test]
    fn super_admin_count() {
        let with_admins = |count: usize| {
            (0..count).fold(org(), |snapshot, i| {
                let name = format!("admin{i}");
                snapshot
                    .with_user(user(&name))
                    .with_admin(&format!("00u{name}"), vec![direct(AdminRole::SuperAdmin)])
            })
        };
        run(
            admins_super_admin_count,
            vec![
                row(
                    "three super admins pass",
                    with_admins(3),
                    &[(Pass, "3 super admins (limit 3)")],
                ),
                row(
                    "four super admins fail",
                    with_admins(4),
                    &[(Fail, "4 super admins (limit 3)")],
                ),
                row(
                    "super admin via group counts",
                    with_admins(3).with_user(user("grouped")).with_admin(
                        "00ugrouped",
                        vec![
                            direct(AdminRole::ReadOnlyAdmin),
                            via_group(AdminRole::SuperAdmin, "Okta Admins"),
                        ],
                    ),
                    &[(Fail, "grouped@acme.com (group Okta Admins)")],
                ),
                row(
                    "a user holding it twice counts once",
                    org().with_user(user("alice")).with_admin(
                        "00ualice",
                        vec![
                            direct(AdminRole::SuperAdmin),
                            via_group(AdminRole::SuperAdmin, "Okta Admins"),
                        ],
                    ),
                    &[(
                        Pass,
                        "1 super admins (limit 3): alice@acme.com (direct, group Okta Admins)",
                    )],
                ),
                row(
                    "other admin roles do not count",
                    org()
                        .with_admin("00ux", vec![direct(AdminRole::OrgAdmin)])
                        .with_admin("00uy", vec![direct(AdminRole::SuperAdmin)]),
                    &[(Pass, "1 super admins")],
                ),
                row("no super admin visible: error", org(), &[(Error, "Okta always keeps one")]),
                row(
                    "roles part missing: error",
                    org().with_gap(PART_ADMIN_ROLES, "HTTP 403"),
                    &[(Error, "HTTP 403")],
                ),
            ],
        );
    }

    #[test]
    fn apitokens() {
        let admins = || {
            org()
                .with_user(user("root"))
                .with_user(user("svc"))
                .with_admin("00uroot", vec![via_group(AdminRole::SuperAdmin, "Okta Admins")])
                .with_admin("00usvc", vec![direct(AdminRole::ReadOnlyAdmin)])
        };
        run(
            apitokens_hardening,
            vec![
                row(
                    "restricted service token passes",
                    admins().with_token(token("scim", "svc")),
                    &[(Pass, "owned by svc@acme.com")],
                ),
                row(
                    "unrestricted token fails",
                    admins().with_token(anywhere(token("ci", "svc"))),
                    &[(Fail, "any IP address")],
                ),
                row(
                    "token without a network condition fails",
                    admins().with_token(ApiToken { network: None, ..token("old", "svc") }),
                    &[(Fail, "any IP address")],
                ),
                row(
                    "zone connection with only exclusions fails",
                    admins().with_token(ApiToken {
                        network: Some(TokenNetwork {
                            connection: "ZONE".to_string(),
                            include: vec![],
                            exclude: vec!["nzoBlocked".to_string()],
                        }),
                        ..token("half", "svc")
                    }),
                    &[(Fail, "excluded zones alone")],
                ),
                row(
                    "token of a super admin (via group) fails",
                    admins().with_token(token("script", "root")),
                    &[(Fail, "owned by super admin root@acme.com")],
                ),
                row(
                    "both problems are reported",
                    admins().with_token(anywhere(token("script", "root"))),
                    &[(
                        Fail,
                        "any IP address; restrict it to a network zone; owned by super admin",
                    )],
                ),
                row(
                    "roles unknown: a restricted token is an error, an open one still fails",
                    admins()
                        .with_gap(PART_ADMIN_ROLES, "HTTP 403")
                        .with_token(token("scim", "svc"))
                        .with_token(anywhere(token("ci", "svc"))),
                    &[(Error, "HTTP 403"), (Fail, "any IP address")],
                ),
                row(
                    "roles unknown: a super admin the partial listing shows still fails",
                    admins()
                        .with_gap(PART_ADMIN_ROLES, "page 2 failed")
                        .with_token(token("script", "root")),
                    &[(Fail, "owned by super admin root@acme.com")],
                ),
                row(
                    "no tokens: not applicable",
                    admins(),
                    &[(NotApplicable, "no Okta API tokens")],
                ),
                row(
                    "tokens part missing: error",
                    org().with_gap(PART_API_TOKENS, "HTTP 403"),
                    &[(Error, "HTTP 403")],
                ),
            ],
        );
    }

    #[test]
    fn syslog() {
        run(
            syslog_streaming,
            vec![
                row(
                    "an active stream passes",
                    org().with_stream("siem", LifecycleStatus::Active),
                    &[(Pass, "siem (aws_eventbridge)")],
                ),
                row(
                    "one active among inactive passes",
                    org()
                        .with_stream("old", LifecycleStatus::Inactive)
                        .with_stream("siem", LifecycleStatus::Active),
                    &[(Pass, "siem")],
                ),
                row("no log streams fail", org(), &[(Fail, "no log stream configured")]),
                row(
                    "only inactive streams fail",
                    org().with_stream("old", LifecycleStatus::Inactive),
                    &[(Fail, "every log stream is inactive (old)")],
                ),
                row(
                    "part missing: error",
                    org().with_gap(PART_LOG_STREAMS, "HTTP 403"),
                    &[(Error, "HTTP 403")],
                ),
            ],
        );
    }

    #[test]
    fn ids_are_unique_and_prefixed() {
        let ids: BTreeSet<&str> = CHECKS.iter().map(|check| check.id).collect();
        assert_eq!(ids.len(), CHECKS.len(), "duplicate check id in {CHECKS:?}");
        for check in CHECKS {
            assert!(check.id.starts_with("okta."), "{} lacks the okta. prefix", check.id);
            assert!(
                matches!(check.judge, Judge::Okta(_)),
                "{} is not judged on the Okta snapshot",
                check.id
            );
        }
    }

    #[test]
    fn thresholds_default_and_parse() {
        let defaults = OktaThresholds::default();
        assert_eq!(defaults.max_super_admins, 3);
        assert_eq!(defaults.max_session_lifetime_minutes, 1080);
        assert!(defaults.strong_factor_types.iter().any(|t| t == "signed_nonce"));
        assert!(!defaults.accept_weak_factors);
        let parsed: OktaThresholds =
            serde_json::from_str(r#"{"password_profile": "stig", "inactive_days": 45}"#)
                .expect("valid thresholds");
        assert_eq!(parsed.password_profile, PasswordProfile::Stig);
        assert_eq!(parsed.inactive_days, 45);
        assert_eq!(parsed.max_super_admins, 3, "unnamed fields keep their defaults");
        assert!(
            serde_json::from_str::<OktaThresholds>(r#"{"max_admins": 2}"#).is_err(),
            "unknown field accepted"
        );
    }

    #[test]
    fn user_status_round_trips_unknown_values() {
        let status: UserStatus =
            serde_json::from_str(r#""PASSWORD_EXPIRED""#).expect("known status");
        assert_eq!(status, UserStatus::PasswordExpired);
        let other: UserStatus = serde_json::from_str(r#""ACTIVATING""#).expect("unknown status");
        assert_eq!(other, UserStatus::Other("ACTIVATING".to_string()));
        assert_eq!(serde_json::to_string(&other).expect("serialises"), r#""ACTIVATING""#);
    }
}
