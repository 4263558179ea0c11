//! Okta: what Kushim reads from one Okta org, normalised for the checks in `crate::checks::okta`.
//!
//! The snapshot holds the org's users (with their enrolled factors, and the app assignments of
//! users who should no longer have access), its password, global session (sign-on) and app
//! sign-in (access) policies with their rules, who holds admin roles, the API tokens and the
//! System Log streams. Every field names the Okta Management API call it comes from
//! (`/work/shared/specs/okta-management.json`). Okta omits settings it considers defaulted and
//! its SDK models fail on some policy types, so every setting a check judges is an `Option`:
//! `None` means "Okta did not say", and the checks never read it as compliant.
//!
//! Parts that could not be fetched at all are recorded in `gaps` under the `PART_*` names below;
//! one policy whose rules could not be read, under [`rules_gap_key`].
//!
//! [`collect`] and [`doctor`] talk to the org (`collector.rs`: what to fetch; `client.rs`:
//! transport, paging, rate limits, errors; `oauth.rs`: service-app tokens; `wire.rs`: Okta's
//! JSON).

mod client;
mod collector;
mod oauth;
mod wire;

pub use collector::{collect, doctor};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::integrations::Gaps;

/// `GET /.well-known/okta-organization` (the org's engine, [`OktaSnapshot::pipeline`]).
pub const PART_ORG: &str = "org";
/// `GET /api/v1/users` (all statuses).
pub const PART_USERS: &str = "users";
/// `GET /api/v1/users/{id}/factors` as a whole (e.g. the token lacks `okta.users.read`).
pub const PART_FACTORS: &str = "factors";
/// App assignments of DEPROVISIONED / SUSPENDED users as a whole.
pub const PART_APP_ASSIGNMENTS: &str = "app_assignments";
/// `GET /api/v1/policies?type=PASSWORD`.
pub const PART_PASSWORD_POLICIES: &str = "password_policies";
/// `GET /api/v1/policies?type=OKTA_SIGN_ON` and their rules.
pub const PART_SIGN_ON_POLICIES: &str = "sign_on_policies";
/// `GET /api/v1/policies?type=ACCESS_POLICY` and their rules (Identity Engine only).
pub const PART_ACCESS_POLICIES: &str = "access_policies";
/// `GET /api/v1/iam/assignees/users` and the role listings behind it.
pub const PART_ADMIN_ROLES: &str = "admin_roles";
/// `GET /api/v1/api-tokens`.
pub const PART_API_TOKENS: &str = "api_tokens";
/// `GET /api/v1/logStreams`.
pub const PART_LOG_STREAMS: &str = "log_streams";

/// The gap key for one policy of `part` (`PART_SIGN_ON_POLICIES`, `PART_ACCESS_POLICIES`) whose
/// rules could not be read (`GET /api/v1/policies/{id}/rules`); that policy's `rules` is `None`.
pub fn rules_gap_key(part: &str, policy_id: &str) -> String {
    format!("{part}/{policy_id}/rules")
}

/// Everything Kushim collected from one Okta org.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OktaSnapshot {
    /// The org's base URL as configured, e.g. `https://acme.okta.com`.
    pub org_url: String,
    /// `GET /.well-known/okta-organization` → `pipeline` (`v1` = Classic Engine, `idx` = Identity
    /// Engine); `None` when the call failed. Decides which policies enforce MFA.
    pub pipeline: Option<OktaPipeline>,
    /// `GET /api/v1/users?search=status eq "…"` for every status. The plain listing omits
    /// DEPROVISIONED users (Okta User API), so the collector must ask for them explicitly.
    pub users: Vec<OktaUser>,
    /// `GET /api/v1/policies?type=PASSWORD` (Okta returns them all, active or not).
    pub password_policies: Vec<PasswordPolicy>,
    /// `GET /api/v1/policies?type=OKTA_SIGN_ON` (Classic "Okta sign-on policy", Identity Engine
    /// "global session policy") with `GET /api/v1/policies/{id}/rules`.
    pub sign_on_policies: Vec<SignOnPolicy>,
    /// `GET /api/v1/policies?type=ACCESS_POLICY` (Identity Engine "app sign-in policies") with
    /// `GET /api/v1/policies/{id}/rules`. Empty on Classic orgs.
    pub access_policies: Vec<AccessPolicy>,
    /// Users holding at least one admin role: `GET /api/v1/iam/assignees/users` → `value[].id`,
    /// then their roles (see [`OktaAdmin::roles`]).
    pub admins: Vec<OktaAdmin>,
    /// `GET /api/v1/api-tokens` (metadata of the active SSWS API tokens).
    pub api_tokens: Vec<ApiToken>,
    /// `GET /api/v1/logStreams`.
    pub log_streams: Vec<LogStream>,
    /// Parts that could not be fetched, keyed by the `PART_*` constants of this module.
    pub gaps: Gaps,
}

/// The org's authentication pipeline (`PipelineType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OktaPipeline {
    /// `v1`: Classic Engine; MFA is required by the rules of the Okta sign-on policies.
    Classic,
    /// `idx`: Identity Engine; MFA is required by the rules of the app sign-in (access) policies.
    IdentityEngine,
}

/// One Okta user (`User`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaUser {
    /// `id`, e.g. `00u1abcd2EFGH3ijk4x7`.
    pub id: String,
    /// `profile.login` (unique in the org, usually an email address).
    pub login: String,
    /// `profile.email`; `None` when absent.
    pub email: Option<String>,
    /// `status`.
    pub status: UserStatus,
    /// `created`.
    pub created: DateTime<Utc>,
    /// `activated`; `None` when the user was never activated (Okta returns null).
    pub activated: Option<DateTime<Utc>>,
    /// `lastLogin`; `None` when the user never signed in (Okta returns null).
    pub last_login: Option<DateTime<Utc>>,
    /// `GET /api/v1/users/{id}/factors` → `[].{factorType, provider, status}`. Okta only returns
    /// factors that are REQUIRED or OPTIONAL in the highest-priority authenticator enrollment
    /// policy that applies to the user. Fetched for users who can sign in (ACTIVE, RECOVERY,
    /// PASSWORD_EXPIRED, LOCKED_OUT); `None` when the call failed or was not made.
    pub factors: Option<Vec<Factor>>,
    /// Apps the user is still assigned to, directly or through a group. Fetched only for
    /// DEPROVISIONED and SUSPENDED users: app-centric `GET /api/v1/apps/{appId}/users` joined on
    /// the user id (the apps bucket is small, 100/min, so one pass per app beats one call per
    /// user), or `GET /api/v1/users/{id}/appLinks`. `None` when not fetched or the call failed.
    pub app_assignments: Option<Vec<AppAssignment>>,
}

/// `User.status` (`UserStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    /// Activated and able to sign in.
    Active,
    /// Created, not yet activated.
    Staged,
    /// Activation started, the user has not set credentials yet.
    Provisioned,
    /// Password reset in progress.
    Recovery,
    /// Must change the password at next sign-in.
    PasswordExpired,
    /// Too many failed sign-ins.
    LockedOut,
    /// Blocked by an admin; can be unsuspended.
    Suspended,
    /// Deactivated.
    Deprovisioned,
    /// A status this version does not know (e.g. the transitional `ACTIVATING`), verbatim.
    #[serde(untagged)]
    Other(String),
}

impl UserStatus {
    /// ACTIVE, RECOVERY, PASSWORD_EXPIRED and LOCKED_OUT users can sign in (or are one step away
    /// from it); the rest cannot, and a status this version does not know is not assumed to.
    pub fn can_sign_in(&self) -> bool {
        matches!(
            self,
            UserStatus::Active
                | UserStatus::Recovery
                | UserStatus::PasswordExpired
                | UserStatus::LockedOut
        )
    }

    /// Okta's spelling, e.g. `PASSWORD_EXPIRED`.
    pub fn as_str(&self) -> &str {
        match self {
            UserStatus::Active => "ACTIVE",
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
            UserStatus::Other(status) => status,
        }
    }
}

/// One enrolled factor (`UserFactor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// `factorType`, verbatim: `push`, `signed_nonce`, `token:software:totp`, `sms`, …
    pub factor_type: String,
    /// `provider`, verbatim: `OKTA`, `GOOGLE`, `FIDO`, `YUBICO`, …
    pub provider: String,
    /// `status`.
    pub status: FactorStatus,
}

/// `UserFactor.status` (`UserFactorStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FactorStatus {
    Active,
    PendingActivation,
    Enrolled,
    NotSetup,
    Inactive,
    Expired,
    Disabled,
    /// Any other value, verbatim.
    #[serde(untagged)]
    Other(String),
}

/// One app a user is assigned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppAssignment {
    /// The app's `id`.
    pub app_id: String,
    /// The app's `label` as admins see it, e.g. `GitHub Enterprise`.
    pub app_label: String,
}

/// `Policy.status` / `PolicyRule.status` / `LogStream.status` (`LifecycleStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStatus {
    Active,
    Inactive,
}

/// One password policy (`PasswordPolicy`). The settings come from
/// `settings.password.{complexity,age,lockout}`; each is `None` when Okta omitted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// `id`.
    pub id: String,
    /// `name`, e.g. `Default Policy`.
    pub name: String,
    /// `status`; `None` when omitted.
    pub status: Option<LifecycleStatus>,
    /// `priority` (1 is evaluated first).
    pub priority: Option<u32>,
    /// `conditions.authProvider.provider`: whose passwords the policy governs; `None` when
    /// omitted (Okta's default is `OKTA`).
    pub auth_provider: Option<PasswordAuthProvider>,
    /// `complexity.minLength` (Okta default 8).
    pub min_length: Option<u32>,
    /// `complexity.minLowerCase`: 1 = a lower-case letter is required, 0 = not.
    pub min_lower_case: Option<u32>,
    /// `complexity.minUpperCase`: 1 = an upper-case letter is required, 0 = not.
    pub min_upper_case: Option<u32>,
    /// `complexity.minNumber`: 1 = a digit is required, 0 = not.
    pub min_number: Option<u32>,
    /// `complexity.minSymbol`: 1 = a symbol is required, 0 = not.
    pub min_symbol: Option<u32>,
    /// `complexity.dictionary.common.exclude`: reject passwords from Okta's common-password list.
    pub common_password_check: Option<bool>,
    /// `age.historyCount`: previous passwords that cannot be reused (0 = none).
    pub history_count: Option<u32>,
    /// `age.maxAgeDays`: days until a password expires (0 = never).
    pub max_age_days: Option<u32>,
    /// `age.minAgeMinutes`: minutes before a password may be changed again (0 = no limit).
    pub min_age_minutes: Option<u32>,
    /// `lockout.maxAttempts`: failed sign-ins before lock-out (0 = never locked out).
    pub lockout_max_attempts: Option<u32>,
}

/// `PasswordPolicyAuthenticationProviderType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PasswordAuthProvider {
    Okta,
    ActiveDirectory,
    Ldap,
    Any,
    /// Any other value, verbatim.
    #[serde(untagged)]
    Other(String),
}

/// `ALLOW` or `DENY`: `actions.signon.access` of a sign-on rule, `actions.appSignOn.access` of
/// an access-policy rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleAccess {
    Allow,
    Deny,
}

/// One Okta sign-on / global session policy (`OktaSignOnPolicy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOnPolicy {
    /// `id`.
    pub id: String,
    /// `name`, e.g. `Default Policy`.
    pub name: String,
    /// `status`; `None` when omitted.
    pub status: Option<LifecycleStatus>,
    /// `priority` (1 is evaluated first).
    pub priority: Option<u32>,
    /// `GET /api/v1/policies/{id}/rules`; `None` when that call failed.
    pub rules: Option<Vec<SignOnRule>>,
}

/// One rule of a sign-on policy (`OktaSignOnPolicyRule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOnRule {
    /// `id`.
    pub id: String,
    /// `name`, e.g. `Default Rule`.
    pub name: String,
    /// `status`; `None` when omitted.
    pub status: Option<LifecycleStatus>,
    /// `priority` (1 is evaluated first).
    pub priority: Option<u32>,
    /// `system`: Okta's built-in catch-all rule.
    pub system: bool,
    /// `actions.signon.access`.
    pub access: Option<RuleAccess>,
    /// `actions.signon.requireFactor` (Okta default false). Classic Engine's MFA switch; on
    /// Identity Engine MFA belongs to the app sign-in policies instead.
    pub require_factor: Option<bool>,
    /// `actions.signon.session.maxSessionLifetimeMinutes` (0 = no limit, Okta's default).
    pub max_session_lifetime_minutes: Option<u32>,
    /// `actions.signon.session.maxSessionIdleMinutes` (Okta default 120).
    pub max_session_idle_minutes: Option<u32>,
    /// `actions.signon.session.usePersistentCookie` (Okta default false).
    pub use_persistent_cookie: Option<bool>,
}

/// One Identity Engine app sign-in policy (`AccessPolicy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessPolicy {
    /// `id`.
    pub id: String,
    /// `name`, e.g. `Okta Admin Console`.
    pub name: String,
    /// `status`; `None` when omitted.
    pub status: Option<LifecycleStatus>,
    /// `GET /api/v1/policies/{id}/rules`; `None` when that call failed.
    pub rules: Option<Vec<AccessRule>>,
}

/// One rule of an app sign-in policy (`AccessPolicyRule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessRule {
    /// `id`.
    pub id: String,
    /// `name`, e.g. `Catch-all Rule`.
    pub name: String,
    /// `status`; `None` when omitted.
    pub status: Option<LifecycleStatus>,
    /// `priority` (1 is evaluated first).
    pub priority: Option<u32>,
    /// `system`: Okta's built-in catch-all rule.
    pub system: bool,
    /// `actions.appSignOn.access`.
    pub access: Option<RuleAccess>,
    /// `actions.appSignOn.verificationMethod.factorMode` (`1FA` / `2FA`); `None` when omitted,
    /// including verification methods that have no factor mode (`AUTH_METHOD_CHAIN`).
    pub factor_mode: Option<FactorMode>,
}

/// `AssuranceMethodFactorMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FactorMode {
    #[serde(rename = "1FA")]
    OneFactor,
    #[serde(rename = "2FA")]
    TwoFactor,
}

/// A user holding admin roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaAdmin {
    /// `GET /api/v1/iam/assignees/users` → `value[].id`.
    pub user_id: String,
    /// Direct grants from `GET /api/v1/users/{id}/roles` → `[].type` (that call returns direct
    /// assignments only), plus grants through groups from `GET /api/v1/groups/{groupId}/roles`
    /// for each of the user's groups (`GET /api/v1/users/{id}/groups`).
    pub roles: Vec<RoleGrant>,
}

/// One admin role a user holds, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleGrant {
    /// The role assignment's `type`.
    pub role: AdminRole,
    /// Whether the role is assigned to the user or to one of the user's groups.
    pub via: RoleSource,
}

/// `RoleType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdminRole {
    SuperAdmin,
    OrgAdmin,
    AppAdmin,
    UserAdmin,
    GroupMembershipAdmin,
    HelpDeskAdmin,
    ReadOnlyAdmin,
    ReportAdmin,
    ApiAccessManagementAdmin,
    AccessCertificationsAdmin,
    AccessRequestsAdmin,
    WorkflowsAdmin,
    Custom,
    /// Any other value, verbatim.
    #[serde(untagged)]
    Other(String),
}

/// How a role reaches a user (`RoleAssignmentType` `USER` or `GROUP`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleSource {
    /// Assigned to the user.
    Direct,
    /// Assigned to a group the user belongs to.
    Group {
        /// The group's `id`.
        group_id: String,
        /// The group's `profile.name`.
        group_name: String,
    },
}

/// One SSWS API token (`ApiToken`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `userId`: the user who created the token; it acts with that user's admin roles.
    pub user_id: String,
    /// `network`; `None` when Okta returned no network condition.
    pub network: Option<TokenNetwork>,
}

/// `ApiToken.network`: where the token may be used from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenNetwork {
    /// `connection`, verbatim: `ANYWHERE` or `ZONE`.
    pub connection: String,
    /// `include`: network zone ids the token may be used from.
    pub include: Vec<String>,
    /// `exclude`: network zone ids the token may not be used from.
    pub exclude: Vec<String>,
}

/// One System Log stream (`LogStream`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogStream {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `type`, verbatim: `aws_eventbridge`, `splunk_cloud_logstreaming`.
    pub stream_type: String,
    /// `status`.
    pub status: LifecycleStatus,
}
