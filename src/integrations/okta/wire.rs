//! Okta's JSON as the Management API sends it (`/work/shared/specs/okta-management.json`), read
//! leniently and turned into the snapshot types. Okta omits settings it considers defaulted and
//! adds fields over time, so everything a check judges is optional here and unknown fields are
//! ignored; only what identifies a resource (`id`, a user's `status` and `profile.login`) is
//! required, because a resource Kushim cannot name is one it cannot judge.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    AccessRule, AdminRole, ApiToken, Factor, FactorMode, FactorStatus, LifecycleStatus, LogStream,
    OktaPipeline, OktaUser, PasswordAuthProvider, PasswordPolicy, RuleAccess, SignOnRule,
    TokenNetwork, UserStatus,
};

/// `GET /.well-known/okta-organization` (`WellKnownOrgMetadata`).
#[derive(Debug, Deserialize)]
pub(crate) struct OrgMetadata {
    pub pipeline: Option<String>,
}

impl OrgMetadata {
    /// `v1` or `idx`; `Err` names any other value.
    pub fn pipeline(&self) -> Result<OktaPipeline, String> {
        match self.pipeline.as_deref() {
            Some("v1") => Ok(OktaPipeline::Classic),
            Some("idx") => Ok(OktaPipeline::IdentityEngine),
            Some(other) => Err(format!("unknown pipeline `{other}` (expected v1 or idx)")),
            None => Err("the org metadata has no pipeline".to_string()),
        }
    }
}

/// `User`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    pub id: String,
    pub status: UserStatus,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub activated: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_login: Option<DateTime<Utc>>,
    pub profile: UserProfile,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserProfile {
    pub login: String,
    #[serde(default)]
    pub email: Option<String>,
}

impl From<User> for OktaUser {
    fn from(user: User) -> OktaUser {
        OktaUser {
            id: user.id,
            login: user.profile.login,
            email: user.profile.email,
            status: user.status,
            created: user.created,
            activated: user.activated,
            last_login: user.last_login,
            factors: None,
            app_assignments: None,
        }
    }
}

/// `UserFactor`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserFactor {
    pub factor_type: String,
    #[serde(default)]
    pub provider: String,
    pub status: FactorStatus,
}

impl From<UserFactor> for Factor {
    fn from(factor: UserFactor) -> Factor {
        Factor { factor_type: factor.factor_type, provider: factor.provider, status: factor.status }
    }
}

/// `ACTIVE` / `INACTIVE`; any other value reads as "not said" (the checks treat that as active,
/// so an unknown status never hides a policy).
fn lifecycle(status: Option<&str>) -> Option<LifecycleStatus> {
    match status {
        Some("ACTIVE") => Some(LifecycleStatus::Active),
        Some("INACTIVE") => Some(LifecycleStatus::Inactive),
        _ => None,
    }
}

fn access(value: Option<&str>) -> Option<RuleAccess> {
    match value {
        Some("ALLOW") => Some(RuleAccess::Allow),
        Some("DENY") => Some(RuleAccess::Deny),
        _ => None,
    }
}

/// What every `Policy` carries.
#[derive(Debug, Deserialize)]
pub(crate) struct Policy<Conditions = serde::de::IgnoredAny, Settings = serde::de::IgnoredAny> {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default = "Option::default")]
    pub conditions: Option<Conditions>,
    #[serde(default = "Option::default")]
    pub settings: Option<Settings>,
}

impl<C, S> Policy<C, S> {
    pub fn lifecycle(&self) -> Option<LifecycleStatus> {
        lifecycle(self.status.as_deref())
    }
}

/// `PasswordPolicyConditions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct PasswordConditions {
    auth_provider: Option<AuthProviderCondition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AuthProviderCondition {
    provider: Option<PasswordAuthProvider>,
}

/// `PasswordPolicySettings`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasswordSettings {
    password: Option<PasswordRules>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordRules {
    complexity: Option<Complexity>,
    age: Option<Age>,
    lockout: Option<Lockout>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Complexity {
    min_length: Option<u32>,
    min_lower_case: Option<u32>,
    min_upper_case: Option<u32>,
    min_number: Option<u32>,
    min_symbol: Option<u32>,
    dictionary: Option<Dictionary>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Dictionary {
    common: Option<CommonDictionary>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CommonDictionary {
    exclude: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Age {
    max_age_days: Option<u32>,
    min_age_minutes: Option<u32>,
    history_count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Lockout {
    max_attempts: Option<u32>,
}

impl From<Policy<PasswordConditions, PasswordSettings>> for PasswordPolicy {
    fn from(policy: Policy<PasswordConditions, PasswordSettings>) -> PasswordPolicy {
        let status = policy.lifecycle();
        let rules = policy.settings.and_then(|s| s.password).unwrap_or_default();
        let complexity = rules.complexity.unwrap_or_default();
        let age = rules.age.unwrap_or_default();
        PasswordPolicy {
            id: policy.id,
            name: policy.name,
            status,
            priority: policy.priority,
            auth_provider: policy.conditions.and_then(|c| c.auth_provider).and_then(|a| a.provider),
            min_length: complexity.min_length,
            min_lower_case: complexity.min_lower_case,
            min_upper_case: complexity.min_upper_case,
            min_number: complexity.min_number,
            min_symbol: complexity.min_symbol,
            common_password_check: complexity
                .dictionary
                .and_then(|d| d.common)
                .and_then(|c| c.exclude),
            history_count: age.history_count,
            max_age_days: age.max_age_days,
            min_age_minutes: age.min_age_minutes,
            lockout_max_attempts: rules.lockout.and_then(|l| l.max_attempts),
        }
    }
}

/// What every `PolicyRule` carries, with the rule type's `actions`.
#[derive(Debug, Deserialize)]
pub(crate) struct Rule<Actions> {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub system: Option<bool>,
    #[serde(default = "Option::default")]
    pub actions: Option<Actions>,
}

/// `OktaSignOnPolicyRuleActions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SignOnActions {
    signon: Option<SignOn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SignOn {
    access: Option<String>,
    require_factor: Option<bool>,
    session: Option<Session>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Session {
    max_session_idle_minutes: Option<u32>,
    max_session_lifetime_minutes: Option<u32>,
    use_persistent_cookie: Option<bool>,
}

impl From<Rule<SignOnActions>> for SignOnRule {
    fn from(rule: Rule<SignOnActions>) -> SignOnRule {
        let signon = rule.actions.and_then(|a| a.signon).unwrap_or_default();
        let session = signon.session.unwrap_or_default();
        SignOnRule {
            id: rule.id,
            name: rule.name,
            status: lifecycle(rule.status.as_deref()),
            priority: rule.priority,
            system: rule.system.unwrap_or(false),
            access: access(signon.access.as_deref()),
            require_factor: signon.require_factor,
            max_session_lifetime_minutes: session.max_session_lifetime_minutes,
            max_session_idle_minutes: session.max_session_idle_minutes,
            use_persistent_cookie: session.use_persistent_cookie,
        }
    }
}

/// `AccessPolicyRuleActions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct AccessActions {
    app_sign_on: Option<AppSignOn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AppSignOn {
    access: Option<String>,
    verification_method: Option<VerificationMethod>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct VerificationMethod {
    factor_mode: Option<String>,
}

impl From<Rule<AccessActions>> for AccessRule {
    fn from(rule: Rule<AccessActions>) -> AccessRule {
        let sign_on = rule.actions.and_then(|a| a.app_sign_on).unwrap_or_default();
        let factor_mode = match sign_on.verification_method.and_then(|v| v.factor_mode).as_deref() {
            Some("1FA") => Some(FactorMode::OneFactor),
            Some("2FA") => Some(FactorMode::TwoFactor),
            _ => None,
        };
        AccessRule {
            id: rule.id,
            name: rule.name,
            status: lifecycle(rule.status.as_deref()),
            priority: rule.priority,
            system: rule.system.unwrap_or(false),
            access: access(sign_on.access.as_deref()),
            factor_mode,
        }
    }
}

/// `RoleAssignedUsers`: one page of `GET /api/v1/iam/assignees/users`, paged in its body.
#[derive(Debug, Deserialize)]
pub(crate) struct RoleAssignedUsers {
    #[serde(default)]
    pub value: Vec<RoleAssignedUser>,
    #[serde(default, rename = "_links")]
    pub links: Option<NextLinks>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RoleAssignedUser {
    pub id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NextLinks {
    pub next: Option<Href>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Href {
    pub href: String,
}

/// `StandardRole` / `CustomRole`: only the role type and how it is assigned matter here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleAssignment {
    #[serde(rename = "type")]
    pub role: AdminRole,
    #[serde(default)]
    pub assignment_type: Option<String>,
}

impl RoleAssignment {
    /// Assigned to the user itself. A role the user holds through a group is read from the
    /// group's own listing instead, which also names the group.
    pub fn is_direct(&self) -> bool {
        self.assignment_type.as_deref().is_none_or(|kind| kind == "USER")
    }
}

/// `Group`.
#[derive(Debug, Deserialize)]
pub(crate) struct Group {
    pub id: String,
    #[serde(default)]
    pub profile: Option<GroupProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GroupProfile {
    pub name: Option<String>,
}

impl Group {
    pub fn name(&self) -> String {
        self.profile.as_ref().and_then(|p| p.name.clone()).unwrap_or_else(|| self.id.clone())
    }
}

/// `Application`.
#[derive(Debug, Deserialize)]
pub(crate) struct Application {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

impl Application {
    pub fn label(&self) -> String {
        self.label.clone().or_else(|| self.name.clone()).unwrap_or_else(|| self.id.clone())
    }
}

/// `AppUser`: its `id` is the Okta user's.
#[derive(Debug, Deserialize)]
pub(crate) struct AppUser {
    pub id: String,
}

/// `ApiToken`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireApiToken {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub network: Option<WireNetwork>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireNetwork {
    connection: Option<String>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
}

impl From<WireApiToken> for ApiToken {
    fn from(token: WireApiToken) -> ApiToken {
        ApiToken {
            id: token.id,
            name: token.name,
            user_id: token.user_id,
            network: token.network.map(|network| TokenNetwork {
                // Okta's documented default for a token without a network condition.
                connection: network.connection.unwrap_or_else(|| "ANYWHERE".to_string()),
                include: network.include.unwrap_or_default(),
                exclude: network.exclude.unwrap_or_default(),
            }),
        }
    }
}

/// `LogStream`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireLogStream {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub stream_type: String,
    pub status: LifecycleStatus,
}

impl From<WireLogStream> for LogStream {
    fn from(stream: WireLogStream) -> LogStream {
        LogStream {
            id: stream.id,
            name: stream.name,
            stream_type: stream.stream_type,
            status: stream.status,
        }
    }
}
