//! GitHub snapshot: what Kushim saw of one GitHub organisation. The organisation's security
//! settings, its people (owners, 2FA, last activity), webhooks and Actions defaults, and for every
//! repository: default-branch protection (classic rule and rulesets), security features, open
//! alerts, outside collaborators and the recent changes on the default branch.
//!
//! This is Kushim's normalised form, not raw API JSON. The collector fills it from one batched
//! GraphQL query per 50 repositories (`../shared/reference/checks.md` §2.1) plus the REST calls
//! for what GraphQL does not expose (§2.2); each field names its source.
//!
//! `None` always means "not known" (not fetched, or the token may not read it), never "off": the
//! checks report `error` for it, never `pass`. A part that could not be fetched is also named in
//! [`GitHubSnapshot::gaps`] with the reason, keyed by one of the `PART_*` constants below, or by
//! [`repo_gap_key`] when only one repository's part failed.
//!
//! The collector: `client.rs` (octocrab, auth, retries, rate limits, paging, classification of
//! GitHub's answers), `graphql.rs` (the queries and their answer shapes), `collector.rs` (what
//! is fetched and how the snapshot is filled: [`collect`]), `etag.rs` (the conditional-request
//! cache, [`EtagCache`]) and `doctor.rs` ([`doctor`]).

mod client;
mod collector;
mod doctor;
mod etag;
mod graphql;

pub use collector::collect;
pub use doctor::doctor;
pub use etag::{CachedPage, EtagCache};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::integrations::Gaps;

/// `GET /orgs/{org}`: 2FA requirement, base permission, repository-creation policy.
pub const PART_ORG_SETTINGS: &str = "org_settings";
/// GraphQL `organization.membersWithRole` (logins and roles).
pub const PART_MEMBERS: &str = "members";
/// `GET /orgs/{org}/members?filter=2fa_disabled`.
pub const PART_MEMBERS_2FA: &str = "members_2fa_disabled";
/// `GET /orgs/{org}/outside_collaborators?filter=2fa_disabled`.
pub const PART_OUTSIDE_COLLABORATORS_2FA: &str = "outside_collaborators_2fa_disabled";
/// `GET /orgs/{org}/audit-log` (member last activity, Enterprise Cloud only).
pub const PART_AUDIT_LOG: &str = "audit_log";
/// `GET /orgs/{org}/hooks`.
pub const PART_ORG_WEBHOOKS: &str = "org_webhooks";
/// `GET /orgs/{org}/actions/permissions/workflow`.
pub const PART_ORG_WORKFLOW_PERMISSIONS: &str = "org_workflow_permissions";
/// The repository list itself (GraphQL `organization.repositories` pages).
pub const PART_REPOSITORIES: &str = "repositories";
/// Classic default-branch protection (GraphQL `branchProtectionRule`, REST `…/protection`).
pub const PART_BRANCH_PROTECTION: &str = "branch_protection";
/// Branch rulesets (`GET /repos/{o}/{r}/rulesets` + `GET …/rulesets/{id}`).
pub const PART_RULESETS: &str = "rulesets";
/// Default-branch history (GraphQL `history(first: 30)`).
pub const PART_RECENT_COMMITS: &str = "recent_commits";
/// `GET /repos/{o}/{r}` → `security_and_analysis`.
pub const PART_SECURITY_AND_ANALYSIS: &str = "security_and_analysis";
/// Whether Dependabot alerts are on (`hasVulnerabilityAlertsEnabled`).
pub const PART_DEPENDABOT_STATUS: &str = "dependabot_status";
/// Open Dependabot alerts (GraphQL `vulnerabilityAlerts` or the org alerts endpoint).
pub const PART_DEPENDABOT_ALERTS: &str = "dependabot_alerts";
/// Open secret-scanning alerts (`GET /orgs/{org}/secret-scanning/alerts?state=open`).
pub const PART_SECRET_SCANNING_ALERTS: &str = "secret_scanning_alerts";
/// Outside collaborators of a repository (GraphQL `collaborators(affiliation: OUTSIDE)`).
pub const PART_OUTSIDE_COLLABORATORS: &str = "outside_collaborators";
/// `GET /repos/{o}/{r}/hooks`.
pub const PART_REPO_WEBHOOKS: &str = "repo_webhooks";
/// `GET /repos/{o}/{r}/actions/permissions/workflow`.
pub const PART_REPO_WORKFLOW_PERMISSIONS: &str = "repo_workflow_permissions";

/// The gap key for one repository's part, e.g. `branch_protection:acme/api`. A per-repository
/// part (`PART_BRANCH_PROTECTION` …) recorded under its bare name applies to every repository.
pub fn repo_gap_key(part: &str, name_with_owner: &str) -> String {
    format!("{part}:{name_with_owner}")
}

/// One GitHub organisation as collected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitHubSnapshot {
    /// The organisation login (`acme`), as configured and as GraphQL `organization.login`.
    pub org: String,
    /// `GET /orgs/{org}`. None when the call failed (see gaps, [`PART_ORG_SETTINGS`]).
    pub settings: Option<OrgSettings>,
    /// Every member with their role: GraphQL `organization { membersWithRole { edges { role
    /// node { login } } } }` (or `GET /orgs/{org}/members?role=admin|member`), plus the last
    /// activity from the audit log. None when the list could not be fetched.
    pub members: Option<Vec<Member>>,
    /// `GET /orgs/{org}/members?filter=2fa_disabled` → logins. Only owners may use this filter;
    /// None when the token is not an owner (GitHub answers 422/403) or the call failed.
    pub members_2fa_disabled: Option<Vec<String>>,
    /// `GET /orgs/{org}/outside_collaborators?filter=2fa_disabled` → logins. None when not
    /// visible to the token, as for `members_2fa_disabled`.
    pub outside_collaborators_2fa_disabled: Option<Vec<String>>,
    /// Whether the organisation audit log API answers: `Some(true)` on Enterprise Cloud,
    /// `Some(false)` when `GET /orgs/{org}/audit-log` is unavailable because the organisation is
    /// not on Enterprise Cloud (GitHub answers 404), None when it was not determined.
    pub audit_log_available: Option<bool>,
    /// `GET /orgs/{org}/hooks` (organisation webhooks). None when the call failed (it needs the
    /// `admin:org_hook` scope / "Webhooks: read" organisation permission).
    pub webhooks: Option<Vec<Webhook>>,
    /// `GET /orgs/{org}/actions/permissions/workflow`. None when the call failed.
    pub workflow_permissions: Option<WorkflowPermissions>,
    /// Every repository of the organisation, archived ones included (the checks say they skip
    /// them): GraphQL `organization.repositories` pages plus the REST extras named on each field.
    /// When the list could not be fetched it is empty and [`PART_REPOSITORIES`] is in the gaps.
    pub repos: Vec<Repository>,
    /// Parts that could not be fetched, by `PART_*` name or [`repo_gap_key`], with the reason.
    pub gaps: Gaps,
}

/// Organisation-wide settings from `GET /orgs/{org}`. GitHub returns the security settings only
/// to organisation owners; for anyone else the fields are absent or null, hence the options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgSettings {
    /// `two_factor_requirement_enabled` (GraphQL `requiresTwoFactorAuthentication`). None when
    /// the token is not an organisation owner: GitHub returns null.
    pub two_factor_requirement_enabled: Option<bool>,
    /// `default_repository_permission`, the base permission every member has on every
    /// repository. None when the token is not an owner.
    pub default_repository_permission: Option<BasePermission>,
    /// `members_can_create_public_repositories`. None when the token is not an owner.
    pub members_can_create_public_repositories: Option<bool>,
}

/// `default_repository_permission` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BasePermission {
    /// `"none"`: members see only the repositories they are given.
    #[serde(rename = "none")]
    NoAccess,
    Read,
    Write,
    Admin,
}

impl BasePermission {
    /// The API's own word, for reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            BasePermission::NoAccess => "none",
            BasePermission::Read => "read",
            BasePermission::Write => "write",
            BasePermission::Admin => "admin",
        }
    }
}

/// One organisation member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// `node.login`.
    pub login: String,
    /// `membersWithRole.edges.role`: `ADMIN` is an organisation owner.
    pub role: OrgRole,
    /// The `@timestamp` of the newest event from `GET /orgs/{org}/audit-log?phrase=actor:{login}
    /// created:>={now-180d}&include=all&per_page=1` (Enterprise Cloud only). The `created`
    /// qualifier matters: without it the API searches only the last three months. None when no
    /// event by this member is in the log's 180-day retention, or when the audit log is not
    /// available at all (see [`GitHubSnapshot::audit_log_available`]).
    pub last_active: Option<DateTime<Utc>>,
}

/// A member's organisation role (GraphQL `OrganizationMemberRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// `ADMIN`: an organisation owner.
    Admin,
    /// `MEMBER`.
    Member,
}

/// One webhook, of the organisation or of a repository (`GET /orgs/{org}/hooks`,
/// `GET /repos/{o}/{r}/hooks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// `id`.
    pub id: u64,
    /// `config.url`.
    pub url: String,
    /// `active`.
    pub active: bool,
    /// `config.secret` exactly as returned. GitHub never returns the value: it returns the mask
    /// `"********"` when a secret is set, and omits the key (None) or sends `""` when not.
    pub secret: Option<String>,
    /// `config.insecure_ssl` as a string: `"0"` (certificate verified) or `"1"` (not verified).
    /// GitHub may send it as a number; the collector writes that number as a string. Absent means
    /// `"0"`, GitHub's documented default.
    pub insecure_ssl: String,
}

/// The default permissions of the `GITHUB_TOKEN` given to workflows, from
/// `GET /orgs/{org}/actions/permissions/workflow` or `GET /repos/{o}/{r}/actions/permissions/workflow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowPermissions {
    /// `default_workflow_permissions`.
    pub default_workflow_permissions: WorkflowTokenPermission,
    /// `can_approve_pull_request_reviews`: whether Actions may create or approve pull requests.
    pub can_approve_pull_request_reviews: bool,
}

/// `default_workflow_permissions` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowTokenPermission {
    Read,
    Write,
}

/// One repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    /// GraphQL `nameWithOwner` (`acme/api`).
    pub name_with_owner: String,
    /// GraphQL `visibility`.
    pub visibility: Visibility,
    /// GraphQL `isArchived`. The §2.1 query filters `isArchived: false`; the collector lists
    /// archived repositories separately (a light GraphQL query with `isArchived: true`, names and
    /// visibility only) so the checks can say they were skipped.
    pub is_archived: bool,
    /// GraphQL `isFork`.
    pub is_fork: bool,
    /// GraphQL `defaultBranchRef`. None for an empty repository (GitHub returns null: no branch).
    pub default_branch: Option<DefaultBranch>,
    /// `GET /repos/{o}/{r}` → `security_and_analysis`. GitHub returns the object only to
    /// repository admins; None otherwise.
    pub security_and_analysis: Option<SecurityAndAnalysis>,
    /// GraphQL `hasVulnerabilityAlertsEnabled` (or `GET /repos/{o}/{r}/vulnerability-alerts`:
    /// 204 ⇒ true, 404 ⇒ false). None when it could not be read.
    pub dependabot_alerts_enabled: Option<bool>,
    /// Open Dependabot alerts, all pages: GraphQL `vulnerabilityAlerts(states: [OPEN])` →
    /// `createdAt`, `securityVulnerability.severity`, or `GET /orgs/{org}/dependabot/alerts?
    /// state=open` split by repository. None when they could not be read (needs "Dependabot
    /// alerts: read").
    pub dependabot_alerts: Option<Vec<DependabotAlert>>,
    /// Open secret-scanning alerts from `GET /orgs/{org}/secret-scanning/alerts?state=open`,
    /// split by `repository.full_name`. None when they could not be read (needs "Secret scanning
    /// alerts: read"; owners and security managers only).
    pub secret_scanning_alerts: Option<Vec<SecretScanningAlert>>,
    /// GraphQL `collaborators(affiliation: OUTSIDE)` → `edges { permission node { login } }` (or
    /// `GET /repos/{o}/{r}/collaborators?affiliation=outside`). GraphQL errors for tokens without
    /// push access: None then.
    pub outside_collaborators: Option<Vec<Collaborator>>,
    /// `GET /repos/{o}/{r}/hooks`. None when the call failed (needs "Webhooks: read").
    pub webhooks: Option<Vec<Webhook>>,
    /// `GET /repos/{o}/{r}/actions/permissions/workflow`. None when the call failed.
    pub workflow_permissions: Option<WorkflowPermissions>,
}

/// GraphQL `RepositoryVisibility`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    #[default]
    Private,
    /// Visible to every member of the enterprise.
    Internal,
}

/// The default branch and what guards it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DefaultBranch {
    /// `defaultBranchRef.name`.
    pub name: String,
    /// Classic branch protection of this branch.
    pub protection: ClassicProtection,
    /// Every branch ruleset whose conditions include this branch, whatever its enforcement,
    /// repository- and organisation-level: `GET /repos/{o}/{r}/rulesets?includes_parents=true&
    /// targets=branch`, then `GET /repos/{o}/{r}/rulesets/{id}` for rules and bypass actors (the
    /// collector resolves `conditions.ref_name`, including `~DEFAULT_BRANCH` and `~ALL`).
    /// `Some(vec![])` when there are none, or when rulesets are not available on the
    /// repository's plan (GitHub answers 404). None when they could not be read (403).
    pub rulesets: Option<Vec<Ruleset>>,
    /// The newest commits of the branch, newest first: GraphQL `history(first: 30)` with
    /// `associatedPullRequests(first: 1) { number reviews(states: APPROVED) { totalCount } }`.
    /// None when the history could not be read.
    pub recent_commits: Option<Vec<RecentCommit>>,
}

/// Classic branch protection of the default branch.
///
/// GraphQL returns `branchProtectionRule: null` both when the branch is unprotected and when the
/// token may not read protection (it needs admin). The collector tells them apart the way
/// Legitify does, with `GET /repos/{o}/{r}/branches/{b}/protection`: 404 "Branch not protected"
/// ⇒ [`ClassicProtection::NotProtected`], 404 "Not Found" or 403 ⇒
/// [`ClassicProtection::NoPermission`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ClassicProtection {
    /// The branch really has no classic protection rule.
    NotProtected,
    /// The token cannot read protection, so whether a rule exists is unknown. The default, so a
    /// collector that fills nothing produces errors rather than verdicts.
    #[default]
    NoPermission,
    /// A classic rule protects the branch.
    Protected(ClassicRule),
}

/// The fields of a classic protection rule the checks read (GraphQL `branchProtectionRule`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassicRule {
    /// `requiresApprovingReviews`: merges need a pull request with approvals.
    pub requires_approving_reviews: bool,
    /// `requiredApprovingReviewCount` (0 when reviews are not required).
    pub required_approving_review_count: u32,
    /// `dismissesStaleReviews`.
    pub dismisses_stale_reviews: bool,
    /// `requiresCodeOwnerReviews`.
    pub requires_code_owner_reviews: bool,
    /// `isAdminEnforced` (REST `enforce_admins.enabled`): the rule binds administrators too.
    pub is_admin_enforced: bool,
    /// `requiresStatusChecks`.
    pub requires_status_checks: bool,
    /// `requiredStatusCheckContexts` (REST `required_status_checks.contexts`); empty when none.
    pub required_status_checks: Vec<String>,
    /// `requiresStrictStatusChecks`: branches must be up to date before merging.
    pub requires_strict_status_checks: bool,
    /// `requiresCommitSignatures` (REST `GET …/protection/required_signatures` → `enabled`).
    pub requires_commit_signatures: bool,
    /// `allowsForcePushes`.
    pub allows_force_pushes: bool,
    /// `allowsDeletions`.
    pub allows_deletions: bool,
}

/// One branch ruleset that applies to the default branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ruleset {
    /// `id`.
    pub id: u64,
    /// `name`.
    pub name: String,
    /// `enforcement`.
    pub enforcement: RulesetEnforcement,
    /// `bypass_actors` (`actor_type`, `actor_id`, `bypass_mode`). GitHub includes the field only
    /// for tokens that may edit the ruleset; None when it was not returned.
    pub bypass_actors: Option<Vec<BypassActor>>,
    /// `rules`.
    pub rules: Vec<RulesetRule>,
}

/// `enforcement` of a ruleset. Only `active` rulesets enforce anything; `evaluate` only reports
/// what would have been blocked (Enterprise), `disabled` does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RulesetEnforcement {
    Active,
    Evaluate,
    Disabled,
}

impl RulesetEnforcement {
    /// The API's own word, for reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            RulesetEnforcement::Active => "active",
            RulesetEnforcement::Evaluate => "evaluate",
            RulesetEnforcement::Disabled => "disabled",
        }
    }
}

/// One entry of `bypass_actors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BypassActor {
    /// `actor_type`: `OrganizationAdmin`, `RepositoryRole`, `Team`, `Integration`, `DeployKey`.
    pub actor_type: String,
    /// `actor_id` (null for `OrganizationAdmin` and `DeployKey`).
    pub actor_id: Option<u64>,
    /// `bypass_mode`: `always` or `pull_request`.
    pub bypass_mode: String,
}

/// One rule of a ruleset (`rules[].type` and `rules[].parameters`). Rule types the checks do not
/// read are kept as [`RulesetRule::Other`] so the snapshot still says they exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RulesetRule {
    /// `pull_request`.
    PullRequest {
        /// `parameters.required_approving_review_count`.
        required_approving_review_count: u32,
        /// `parameters.dismiss_stale_reviews_on_push`.
        dismiss_stale_reviews_on_push: bool,
        /// `parameters.require_code_owner_review`.
        require_code_owner_review: bool,
        /// `parameters.require_last_push_approval`.
        require_last_push_approval: bool,
    },
    /// `required_status_checks`.
    RequiredStatusChecks {
        /// `parameters.required_status_checks[].context`.
        contexts: Vec<String>,
        /// `parameters.strict_required_status_checks_policy`.
        strict: bool,
    },
    /// `non_fast_forward`: blocks force pushes.
    NonFastForward,
    /// `deletion`: blocks deleting the branch.
    Deletion,
    /// `required_signatures`.
    RequiredSignatures,
    /// `required_linear_history`.
    RequiredLinearHistory,
    /// Any other rule type (`creation`, `update`, `merge_queue`, …), by its `type`.
    Other {
        /// `type`.
        rule_type: String,
    },
}

/// One recent commit of the default branch (GraphQL `history.nodes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentCommit {
    /// `oid`.
    pub oid: String,
    /// `committedDate`.
    pub committed_at: DateTime<Utc>,
    /// `author.user.login`; None when the author has no GitHub account.
    pub author: Option<String>,
    /// Whether the author is a bot: `author.user` is a `Bot` (`__typename`) or the login ends in
    /// `[bot]` (`dependabot[bot]`). Bot changes are excluded from the review check, as Scorecard
    /// does.
    pub author_is_bot: bool,
    /// `associatedPullRequests(first: 1).nodes[0].number`; None when pushed directly.
    pub pull_request: Option<u64>,
    /// Whether that pull request has at least one `APPROVED` review by someone other than its
    /// author (`reviews(states: APPROVED)`). False when there is no pull request.
    pub approved: bool,
}

/// `security_and_analysis` of `GET /repos/{o}/{r}`. A feature whose key is absent (not
/// available on the repository's plan) is false.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityAndAnalysis {
    /// `secret_scanning.status == "enabled"`.
    pub secret_scanning: bool,
    /// `secret_scanning_push_protection.status == "enabled"`.
    pub secret_scanning_push_protection: bool,
    /// `dependabot_security_updates.status == "enabled"`.
    pub dependabot_security_updates: bool,
}

/// One open Dependabot alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DependabotAlert {
    /// REST `number` (GraphQL `number`).
    pub number: u64,
    /// REST `security_advisory.severity` / GraphQL `securityVulnerability.severity`.
    pub severity: AlertSeverity,
    /// REST `created_at` / GraphQL `createdAt`.
    pub created_at: DateTime<Utc>,
}

/// Advisory severity. GraphQL says `MODERATE` where REST says `medium`; both are `Medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl AlertSeverity {
    /// The word used in reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Low => "low",
            AlertSeverity::Medium => "medium",
            AlertSeverity::High => "high",
            AlertSeverity::Critical => "critical",
        }
    }
}

/// One open secret-scanning alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretScanningAlert {
    /// `number`.
    pub number: u64,
    /// `secret_type` (`github_personal_access_token`, `aws_access_key_id`, …).
    pub secret_type: String,
    /// `created_at`.
    pub created_at: DateTime<Utc>,
}

/// One outside collaborator of a repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collaborator {
    /// `node.login`.
    pub login: String,
    /// `permission` (GraphQL `RepositoryPermission`; REST `role_name`).
    pub permission: RepoPermission,
}

/// GraphQL `RepositoryPermission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepoPermission {
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}
