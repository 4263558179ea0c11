//! The simulated Okta org behind the fake: users with their factors, groups, apps and admin
//! roles, policies with their rules, API tokens, log streams, and which credentials the org
//! accepts. Built like a story:
//!
//! ```
//! use kushim::sandbox::okta::world::OktaOrg;
//!
//! let org = OktaOrg::new()
//!     .with_user("alice", |u| u.active().with_factor("push"))
//!     .with_user("bob", |u| u.deprovisioned().assigned_to("salesforce"))
//!     .with_user("carol", |u| u.super_admin().with_factor("webauthn"));
//! ```
//!
//! A new org is what Okta creates: an Identity Engine org with its Default password policy, the
//! Default global session policy (no session limit, two hours idle, no MFA), the Okta Admin
//! Console and Okta Dashboard app sign-in policies (two factors), the Everyone group, no log
//! stream, and the sandbox API token ([`SANDBOX_API_TOKEN`]) accepted. Times are relative to
//! [`as_of`] unless [`OktaOrg::as_of`] says otherwise.

use chrono::{DateTime, TimeDelta, Utc};

use super::super::as_of;
use crate::integrations::okta::{
    AccessPolicy, AccessRule, AdminRole, ApiToken, Factor, FactorMode, FactorStatus,
    LifecycleStatus, LogStream, OktaPipeline, OktaSnapshot, PasswordAuthProvider, PasswordPolicy,
    RoleSource, RuleAccess, SignOnPolicy, SignOnRule, TokenNetwork, UserStatus,
};

/// The API token the sandbox org accepts unless told otherwise (`kushim demo` uses it).
pub const SANDBOX_API_TOKEN: &str = "00sandbox-kushim-demo-token";

/// Every scope a service app is granted unless told otherwise.
pub const READ_SCOPES: [&str; 6] = [
    "okta.users.read",
    "okta.policies.read",
    "okta.roles.read",
    "okta.apps.read",
    "okta.apiTokens.read",
    "okta.logStreams.read",
];

/// The id of the built-in group every user belongs to.
pub const EVERYONE_GROUP_ID: &str = "00geveryone";

/// A simulated Okta org.
#[derive(Debug, Clone)]
pub struct OktaOrg {
    pub(super) pipeline: OktaPipeline,
    pub(super) as_of: DateTime<Utc>,
    domain: String,
    pub(super) users: Vec<User>,
    pub(super) groups: Vec<Group>,
    pub(super) apps: Vec<App>,
    pub(super) password_policies: Vec<PasswordPolicy>,
    pub(super) sign_on_policies: Vec<SignOnPolicy>,
    pub(super) access_policies: Vec<AccessPolicy>,
    pub(super) api_tokens: Vec<ApiToken>,
    pub(super) log_streams: Vec<LogStream>,
    pub(super) api_credentials: Vec<String>,
    /// Scopes the org refuses to API tokens (their admin's role cannot read that data).
    pub(super) api_token_denied: Vec<String>,
    pub(super) service_apps: Vec<ServiceApp>,
    pub(super) rate_limit: Option<RateLimit>,
    pub(super) page_cap: Option<usize>,
}

/// A user of the org.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub id: String,
    pub login: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub status: UserStatus,
    pub created: DateTime<Utc>,
    pub activated: Option<DateTime<Utc>>,
    pub last_login: Option<DateTime<Utc>>,
    pub factors: Vec<Factor>,
    /// `GET …/factors` answers 404 for this user (deleted while being read).
    pub factors_unreadable: bool,
    /// Admin roles assigned to the user directly.
    pub roles: Vec<AdminRole>,
}

#[derive(Debug, Clone)]
pub(super) struct Group {
    pub id: String,
    pub name: String,
    pub built_in: bool,
    pub members: Vec<String>,
    pub roles: Vec<AdminRole>,
    pub apps: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct App {
    pub id: String,
    pub name: String,
    pub label: String,
    /// Users assigned directly (scope `USER`).
    pub users: Vec<String>,
}

/// An OAuth 2.0 service app registered in the org.
#[derive(Debug, Clone)]
pub struct ServiceApp {
    pub(super) client_id: String,
    pub(super) public_key_pem: String,
    pub(super) key_id: Option<String>,
    pub(super) scopes: Vec<String>,
    pub(super) requires_dpop: bool,
}

impl ServiceApp {
    /// The `kid` registered with the key; assertions must then carry it.
    pub fn key_id(mut self, kid: &str) -> Self {
        self.key_id = Some(kid.to_string());
        self
    }

    /// The app was not granted this scope.
    pub fn without_scope(mut self, scope: &str) -> Self {
        self.scopes.retain(|granted| granted != scope);
        self
    }

    /// "Require Demonstrating Proof of Possession (DPoP) header in token requests" is on.
    pub fn requiring_dpop(mut self) -> Self {
        self.requires_dpop = true;
        self
    }
}

/// How many calls each endpoint's bucket allows per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub window_seconds: u64,
}

impl Default for OktaOrg {
    fn default() -> Self {
        Self::new()
    }
}

impl OktaOrg {
    /// A fresh Identity Engine org as Okta creates it (see the module documentation).
    pub fn new() -> OktaOrg {
        OktaOrg {
            pipeline: OktaPipeline::IdentityEngine,
            as_of: as_of(),
            domain: "acme.com".to_string(),
            users: Vec::new(),
            groups: vec![Group {
                id: EVERYONE_GROUP_ID.to_string(),
                name: "Everyone".to_string(),
                built_in: true,
                members: Vec::new(),
                roles: Vec::new(),
                apps: Vec::new(),
            }],
            apps: Vec::new(),
            password_policies: vec![default_password_policy("Default Policy")],
            sign_on_policies: vec![SignOnPolicy {
                id: "00pdefaultsignon".to_string(),
                name: "Default Policy".to_string(),
                status: Some(LifecycleStatus::Active),
                priority: Some(1),
                rules: Some(vec![SignOnRule {
                    system: true,
                    ..default_sign_on_rule("Default Rule")
                }]),
            }],
            access_policies: vec![
                access_policy("Okta Admin Console"),
                access_policy("Okta Dashboard"),
            ],
            api_tokens: Vec::new(),
            log_streams: Vec::new(),
            api_credentials: vec![SANDBOX_API_TOKEN.to_string()],
            api_token_denied: Vec::new(),
            service_apps: Vec::new(),
            rate_limit: None,
            page_cap: None,
        }
    }

    /// The time the org's relative times ("signed in 3 days ago") count back from.
    pub fn as_of(mut self, now: DateTime<Utc>) -> Self {
        self.as_of = now;
        self
    }

    /// A Classic Engine org: pipeline `v1`, and no app sign-in policies.
    pub fn classic(mut self) -> Self {
        self.pipeline = OktaPipeline::Classic;
        self.access_policies.clear();
        self
    }

    /// Adds a user, `name@acme.com` unless `name` is an email address.
    pub fn with_user(mut self, name: &str, build: impl FnOnce(UserBuilder) -> UserBuilder) -> Self {
        let login =
            if name.contains('@') { name.to_string() } else { format!("{name}@{}", self.domain) };
        let local = login.split('@').next().unwrap_or(name).to_string();
        let user = User {
            id: format!("00u{:017}", self.users.len() + 1),
            email: Some(login.clone()),
            login,
            first_name: capitalise(&local),
            last_name: "Example".to_string(),
            status: UserStatus::Active,
            created: self.as_of - TimeDelta::days(400),
            activated: Some(self.as_of - TimeDelta::days(400)),
            last_login: Some(self.as_of - TimeDelta::days(1)),
            factors: Vec::new(),
            factors_unreadable: false,
            roles: Vec::new(),
        };
        let built =
            build(UserBuilder { user, as_of: self.as_of, apps: Vec::new(), groups: Vec::new() });
        let id = built.user.id.clone();
        for app in &built.apps {
            let index = self.app_index(app);
            self.apps[index].users.push(id.clone());
        }
        for group in &built.groups {
            let index = self.group_index(group);
            self.groups[index].members.push(id.clone());
        }
        self.users.push(built.user);
        self
    }

    /// Adds (or changes) a group; members join with [`UserBuilder::member_of`].
    pub fn with_group(
        mut self,
        name: &str,
        build: impl FnOnce(GroupBuilder) -> GroupBuilder,
    ) -> Self {
        let index = self.group_index(name);
        let built = build(GroupBuilder { group: self.groups[index].clone(), apps: Vec::new() });
        for app in &built.apps {
            let app_index = self.app_index(app);
            let app_id = self.apps[app_index].id.clone();
            if !self.groups[index].apps.contains(&app_id) {
                self.groups[index].apps.push(app_id);
            }
        }
        self.groups[index].roles = built.group.roles;
        self
    }

    /// Adds an app with the label admins see; [`UserBuilder::assigned_to`] adds missing apps
    /// with their name capitalised as the label.
    pub fn with_app(mut self, name: &str, label: &str) -> Self {
        let index = self.app_index(name);
        self.apps[index].label = label.to_string();
        self
    }

    /// Adds a password policy before the Default Policy, or changes the one of that name. New
    /// policies start from the Management API's documented defaults.
    pub fn with_password_policy(
        mut self,
        name: &str,
        build: impl FnOnce(PasswordPolicyBuilder) -> PasswordPolicyBuilder,
    ) -> Self {
        match self.password_policies.iter().position(|p| p.name == name) {
            Some(index) => {
                let policy = self.password_policies[index].clone();
                self.password_policies[index] = build(PasswordPolicyBuilder(policy)).0;
            }
            None => {
                let built = build(PasswordPolicyBuilder(default_password_policy(name))).0;
                let at = self.password_policies.len().saturating_sub(1);
                self.password_policies.insert(at, built);
            }
        }
        renumber(&mut self.password_policies, |p, n| p.priority = Some(n));
        self
    }

    /// Adds a global session (Okta sign-on) policy before the Default Policy, or changes the one
    /// of that name.
    pub fn with_sign_on_policy(
        mut self,
        name: &str,
        build: impl FnOnce(SignOnPolicyBuilder) -> SignOnPolicyBuilder,
    ) -> Self {
        match self.sign_on_policies.iter().position(|p| p.name == name) {
            Some(index) => {
                let policy = self.sign_on_policies[index].clone();
                self.sign_on_policies[index] = build(SignOnPolicyBuilder(policy)).0;
            }
            None => {
                let policy = SignOnPolicy {
                    id: format!("00psignon{}", self.sign_on_policies.len() + 1),
                    name: name.to_string(),
                    status: Some(LifecycleStatus::Active),
                    priority: None,
                    rules: Some(Vec::new()),
                };
                let at = self.sign_on_policies.len().saturating_sub(1);
                self.sign_on_policies.insert(at, build(SignOnPolicyBuilder(policy)).0);
            }
        }
        renumber(&mut self.sign_on_policies, |p, n| p.priority = Some(n));
        self
    }

    /// Adds an app sign-in (access) policy, or changes the one of that name. A new policy has a
    /// two-factor catch-all rule, as Okta creates it.
    pub fn with_access_policy(
        mut self,
        name: &str,
        build: impl FnOnce(AccessPolicyBuilder) -> AccessPolicyBuilder,
    ) -> Self {
        match self.access_policies.iter().position(|p| p.name == name) {
            Some(index) => {
                let policy = self.access_policies[index].clone();
                self.access_policies[index] = build(AccessPolicyBuilder(policy)).0;
            }
            None => self.access_policies.push(build(AccessPolicyBuilder(access_policy(name))).0),
        }
        self
    }

    /// Adds the metadata of an API token created by the user `owner` (a name given to
    /// [`OktaOrg::with_user`], or a user id). Okta's default network condition is `ANYWHERE`.
    pub fn with_api_token(
        mut self,
        name: &str,
        owner: &str,
        build: impl FnOnce(ApiTokenBuilder) -> ApiTokenBuilder,
    ) -> Self {
        let user_id = self
            .users
            .iter()
            .find(|u| u.login == owner || u.login.split('@').next() == Some(owner))
            .map_or_else(|| owner.to_string(), |u| u.id.clone());
        let token = ApiToken {
            id: format!("00T{:017}", self.api_tokens.len() + 1),
            name: name.to_string(),
            user_id,
            network: Some(TokenNetwork {
                connection: "ANYWHERE".to_string(),
                include: Vec::new(),
                exclude: Vec::new(),
            }),
        };
        self.api_tokens.push(build(ApiTokenBuilder(token)).0);
        self
    }

    /// Adds an active System Log stream (`aws_eventbridge` or `splunk_cloud_logstreaming`).
    pub fn with_log_stream(mut self, name: &str, stream_type: &str) -> Self {
        self.log_streams.push(LogStream {
            id: format!("0oa{}", name.replace(' ', "")),
            name: name.to_string(),
            stream_type: stream_type.to_string(),
            status: LifecycleStatus::Active,
        });
        self
    }

    /// Adds a deactivated System Log stream.
    pub fn with_inactive_log_stream(self, name: &str, stream_type: &str) -> Self {
        let mut org = self.with_log_stream(name, stream_type);
        if let Some(stream) = org.log_streams.last_mut() {
            stream.status = LifecycleStatus::Inactive;
        }
        org
    }

    /// Accepts this API token too (as `Authorization: SSWS <token>`).
    pub fn accepting_api_token(mut self, token: &str) -> Self {
        self.api_credentials.push(token.to_string());
        self
    }

    /// API tokens are refused data needing `scope` (their admin's role cannot read it): 403.
    pub fn api_tokens_without(mut self, scope: &str) -> Self {
        self.api_token_denied.push(scope.to_string());
        self
    }

    /// Registers an OAuth 2.0 service app authenticating with the RSA public key `public_key_pem`,
    /// granted every read scope unless `build` says otherwise.
    pub fn with_service_app(
        mut self,
        client_id: &str,
        public_key_pem: &str,
        build: impl FnOnce(ServiceApp) -> ServiceApp,
    ) -> Self {
        let app = ServiceApp {
            client_id: client_id.to_string(),
            public_key_pem: public_key_pem.to_string(),
            key_id: None,
            scopes: READ_SCOPES.iter().map(|scope| scope.to_string()).collect(),
            requires_dpop: false,
        };
        self.service_apps.push(build(app));
        self
    }

    /// Every endpoint's bucket allows `limit` calls per `window_seconds` (Okta: per minute).
    pub fn rate_limited_to(mut self, limit: u64, window_seconds: u64) -> Self {
        self.rate_limit = Some(RateLimit { limit, window_seconds: window_seconds.max(1) });
        self
    }

    /// Listings return at most `size` items a page, whatever `limit` asks for.
    pub fn pages_of(mut self, size: usize) -> Self {
        self.page_cap = Some(size.max(1));
        self
    }

    /// The org a snapshot describes: its users (with their factors; a user whose factors are
    /// `None` though they can sign in answers 404 for them), the apps of its leavers, its admins
    /// (roles through groups become those groups' roles), policies, tokens and log streams.
    pub fn from_snapshot(snapshot: &OktaSnapshot) -> OktaOrg {
        let mut org = OktaOrg::new();
        org.pipeline = snapshot.pipeline.unwrap_or(OktaPipeline::IdentityEngine);
        org.password_policies = snapshot.password_policies.clone();
        org.sign_on_policies = snapshot.sign_on_policies.clone();
        org.access_policies = snapshot.access_policies.clone();
        org.api_tokens = snapshot.api_tokens.clone();
        org.log_streams = snapshot.log_streams.clone();
        for user in &snapshot.users {
            let can_sign_in = user.status.can_sign_in();
            let local = user.login.split('@').next().unwrap_or(&user.login);
            org.users.push(User {
                id: user.id.clone(),
                login: user.login.clone(),
                email: user.email.clone(),
                first_name: capitalise(local),
                last_name: "Example".to_string(),
                status: user.status.clone(),
                created: user.created,
                activated: user.activated,
                last_login: user.last_login,
                factors: user.factors.clone().unwrap_or_default(),
                factors_unreadable: can_sign_in && user.factors.is_none(),
                roles: Vec::new(),
            });
            for assignment in user.app_assignments.iter().flatten() {
                let index = match org.apps.iter().position(|a| a.id == assignment.app_id) {
                    Some(index) => index,
                    None => {
                        org.apps.push(App {
                            id: assignment.app_id.clone(),
                            name: assignment.app_label.to_lowercase().replace(' ', "_"),
                            label: assignment.app_label.clone(),
                            users: Vec::new(),
                        });
                        org.apps.len() - 1
                    }
                };
                org.apps[index].users.push(user.id.clone());
            }
        }
        for admin in &snapshot.admins {
            for grant in &admin.roles {
                match &grant.via {
                    RoleSource::Direct => {
                        if let Some(user) = org.users.iter_mut().find(|u| u.id == admin.user_id) {
                            user.roles.push(grant.role.clone());
                        }
                    }
                    RoleSource::Group { group_id, group_name } => {
                        let index = match org.groups.iter().position(|g| &g.id == group_id) {
                            Some(index) => index,
                            None => {
                                org.groups.push(Group {
                                    id: group_id.clone(),
                                    name: group_name.clone(),
                                    built_in: false,
                                    members: Vec::new(),
                                    roles: Vec::new(),
                                    apps: Vec::new(),
                                });
                                org.groups.len() - 1
                            }
                        };
                        let group = &mut org.groups[index];
                        if !group.roles.contains(&grant.role) {
                            group.roles.push(grant.role.clone());
                        }
                        if !group.members.contains(&admin.user_id) {
                            group.members.push(admin.user_id.clone());
                        }
                    }
                }
            }
        }
        org
    }

    /// Makes every user who can sign in a member of `group` (created if missing).
    pub(super) fn add_active_users_to_group(&mut self, group: &str) {
        let index = self.group_index(group);
        let members: Vec<String> =
            self.users.iter().filter(|u| u.status.can_sign_in()).map(|u| u.id.clone()).collect();
        self.groups[index].members.extend(members);
    }

    /// The org's users, for tests that need an id: `(login, id)`.
    pub fn user_ids(&self) -> Vec<(String, String)> {
        self.users.iter().map(|u| (u.login.clone(), u.id.clone())).collect()
    }

    fn app_index(&mut self, name: &str) -> usize {
        if let Some(index) = self.apps.iter().position(|a| a.name == name || a.label == name) {
            return index;
        }
        self.apps.push(App {
            id: format!("0oa{:017}", self.apps.len() + 1),
            name: name.to_string(),
            label: capitalise(name),
            users: Vec::new(),
        });
        self.apps.len() - 1
    }

    fn group_index(&mut self, name: &str) -> usize {
        if let Some(index) = self.groups.iter().position(|g| g.name == name) {
            return index;
        }
        self.groups.push(Group {
            id: format!("00g{:017}", self.groups.len()),
            name: name.to_string(),
            built_in: false,
            members: Vec::new(),
            roles: Vec::new(),
            apps: Vec::new(),
        });
        self.groups.len() - 1
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

fn renumber<T>(items: &mut [T], mut set: impl FnMut(&mut T, u32)) {
    for (index, item) in items.iter_mut().enumerate() {
        set(item, index as u32 + 1);
    }
}

/// A password policy with the Management API's documented defaults
/// (`PasswordPolicyPasswordSettings*`).
fn default_password_policy(name: &str) -> PasswordPolicy {
    PasswordPolicy {
        id: format!("00p{}", name.replace(' ', "").to_lowercase()),
        name: name.to_string(),
        status: Some(LifecycleStatus::Active),
        priority: Some(1),
        auth_provider: Some(PasswordAuthProvider::Okta),
        min_length: Some(8),
        min_lower_case: Some(1),
        min_upper_case: Some(1),
        min_number: Some(1),
        min_symbol: Some(1),
        common_password_check: Some(false),
        history_count: Some(0),
        max_age_days: Some(0),
        min_age_minutes: Some(0),
        lockout_max_attempts: Some(10),
    }
}

/// A sign-on rule with Okta's defaults (`OktaSignOnPolicyRuleSignon*`): allow, no MFA, no
/// lifetime limit, two hours idle, no persistent cookie.
fn default_sign_on_rule(name: &str) -> SignOnRule {
    SignOnRule {
        id: format!("0pr{}", name.replace(' ', "").to_lowercase()),
        name: name.to_string(),
        status: Some(LifecycleStatus::Active),
        priority: Some(1),
        system: false,
        access: Some(RuleAccess::Allow),
        require_factor: Some(false),
        max_session_lifetime_minutes: Some(0),
        max_session_idle_minutes: Some(120),
        use_persistent_cookie: Some(false),
    }
}

fn access_policy(name: &str) -> AccessPolicy {
    let id = format!("rst{}", name.replace(' ', "").to_lowercase());
    AccessPolicy {
        rules: Some(vec![AccessRule {
            id: format!("rul{}catchall", name.replace(' ', "").to_lowercase()),
            name: "Catch-all Rule".to_string(),
            status: Some(LifecycleStatus::Active),
            priority: Some(1),
            system: true,
            access: Some(RuleAccess::Allow),
            factor_mode: Some(FactorMode::TwoFactor),
        }]),
        id,
        name: name.to_string(),
        status: Some(LifecycleStatus::Active),
    }
}

/// Shapes one user in [`OktaOrg::with_user`]. A user starts ACTIVE, created and activated 400
/// days ago, last signed in yesterday, with no factor.
pub struct UserBuilder {
    user: User,
    as_of: DateTime<Utc>,
    apps: Vec<String>,
    groups: Vec<String>,
}

impl UserBuilder {
    pub fn status(mut self, status: UserStatus) -> Self {
        self.user.status = status;
        self
    }

    pub fn active(self) -> Self {
        self.status(UserStatus::Active)
    }

    /// Created but not activated: no credentials, never signed in.
    pub fn staged(mut self) -> Self {
        self.user.activated = None;
        self.user.last_login = None;
        self.status(UserStatus::Staged)
    }

    pub fn provisioned(mut self) -> Self {
        self.user.activated = None;
        self.user.last_login = None;
        self.status(UserStatus::Provisioned)
    }

    pub fn recovery(self) -> Self {
        self.status(UserStatus::Recovery)
    }

    pub fn password_expired(self) -> Self {
        self.status(UserStatus::PasswordExpired)
    }

    pub fn locked_out(self) -> Self {
        self.status(UserStatus::LockedOut)
    }

    pub fn suspended(self) -> Self {
        self.status(UserStatus::Suspended)
    }

    pub fn deprovisioned(self) -> Self {
        self.status(UserStatus::Deprovisioned)
    }

    /// An ACTIVE factor of this `factorType` (`push`, `signed_nonce`, `webauthn`, `sms`, …).
    pub fn with_factor(self, factor_type: &str) -> Self {
        self.with_factor_in(factor_type, FactorStatus::Active)
    }

    /// A factor enrolment the user never finished.
    pub fn with_pending_factor(self, factor_type: &str) -> Self {
        self.with_factor_in(factor_type, FactorStatus::PendingActivation)
    }

    fn with_factor_in(mut self, factor_type: &str, status: FactorStatus) -> Self {
        let provider = match factor_type {
            "webauthn" | "u2f" => "FIDO",
            "token:hardware" => "YUBICO",
            _ => "OKTA",
        };
        self.user.factors.push(Factor {
            factor_type: factor_type.to_string(),
            provider: provider.to_string(),
            status,
        });
        self
    }

    /// `GET /api/v1/users/{id}/factors` answers 404 for this user.
    pub fn factors_unreadable(mut self) -> Self {
        self.user.factors_unreadable = true;
        self
    }

    pub fn last_login_days_ago(mut self, days: i64) -> Self {
        self.user.last_login = Some(self.as_of - TimeDelta::days(days));
        self
    }

    pub fn never_signed_in(mut self) -> Self {
        self.user.last_login = None;
        self
    }

    /// Created (and, unless staged or provisioned, activated) this many days ago.
    pub fn created_days_ago(mut self, days: i64) -> Self {
        self.user.created = self.as_of - TimeDelta::days(days);
        if self.user.activated.is_some() {
            self.user.activated = Some(self.user.created);
        }
        self
    }

    /// Assigned directly to the app of this name (created if the org has none yet).
    pub fn assigned_to(mut self, app: &str) -> Self {
        self.apps.push(app.to_string());
        self
    }

    /// A member of the group of this name (created if the org has none yet).
    pub fn member_of(mut self, group: &str) -> Self {
        self.groups.push(group.to_string());
        self
    }

    /// Holds this admin role directly.
    pub fn with_role(mut self, role: AdminRole) -> Self {
        self.user.roles.push(role);
        self
    }

    pub fn super_admin(self) -> Self {
        self.with_role(AdminRole::SuperAdmin)
    }
}

/// Shapes one group in [`OktaOrg::with_group`].
pub struct GroupBuilder {
    group: Group,
    apps: Vec<String>,
}

impl GroupBuilder {
    /// The group holds this admin role, so every member does.
    pub fn with_role(mut self, role: AdminRole) -> Self {
        self.group.roles.push(role);
        self
    }

    /// The group is assigned to the app, so every member is (scope `GROUP`).
    pub fn assigned_to(mut self, app: &str) -> Self {
        self.apps.push(app.to_string());
        self
    }
}

/// Shapes a password policy in [`OktaOrg::with_password_policy`].
pub struct PasswordPolicyBuilder(PasswordPolicy);

impl PasswordPolicyBuilder {
    pub fn min_length(mut self, length: u32) -> Self {
        self.0.min_length = Some(length);
        self
    }

    /// Previous passwords that cannot be reused.
    pub fn history(mut self, count: u32) -> Self {
        self.0.history_count = Some(count);
        self
    }

    /// Failed sign-ins before lock-out (0: never).
    pub fn lockout_after(mut self, attempts: u32) -> Self {
        self.0.lockout_max_attempts = Some(attempts);
        self
    }

    /// Reject passwords from Okta's common-password list.
    pub fn common_password_check(mut self, on: bool) -> Self {
        self.0.common_password_check = Some(on);
        self
    }

    pub fn max_age_days(mut self, days: u32) -> Self {
        self.0.max_age_days = Some(days);
        self
    }

    pub fn min_age_minutes(mut self, minutes: u32) -> Self {
        self.0.min_age_minutes = Some(minutes);
        self
    }

    /// Governs Active Directory passwords instead of Okta's.
    pub fn for_active_directory(mut self) -> Self {
        self.0.auth_provider = Some(PasswordAuthProvider::ActiveDirectory);
        self
    }

    /// Okta omits the lock-out settings from its answer.
    pub fn omitting_lockout(mut self) -> Self {
        self.0.lockout_max_attempts = None;
        self
    }

    pub fn inactive(mut self) -> Self {
        self.0.status = Some(LifecycleStatus::Inactive);
        self
    }

    /// A policy that meets the standard password profile: 14 characters, history 5, lock-out
    /// after 5 failures, common-password check on.
    pub fn strong(self) -> Self {
        self.min_length(14).history(5).lockout_after(5).common_password_check(true)
    }
}

/// Shapes a sign-on policy in [`OktaOrg::with_sign_on_policy`].
pub struct SignOnPolicyBuilder(SignOnPolicy);

impl SignOnPolicyBuilder {
    /// Adds a rule before the policy's system rule, or changes the one of that name. A new rule
    /// has Okta's defaults.
    pub fn rule(
        mut self,
        name: &str,
        build: impl FnOnce(SignOnRuleBuilder) -> SignOnRuleBuilder,
    ) -> Self {
        let rules = self.0.rules.get_or_insert_with(Vec::new);
        match rules.iter().position(|r| r.name == name) {
            Some(index) => rules[index] = build(SignOnRuleBuilder(rules[index].clone())).0,
            None => {
                let at = rules.iter().position(|r| r.system).unwrap_or(rules.len());
                rules.insert(at, build(SignOnRuleBuilder(default_sign_on_rule(name))).0);
            }
        }
        renumber(rules, |r, n| r.priority = Some(n));
        self
    }

    pub fn inactive(mut self) -> Self {
        self.0.status = Some(LifecycleStatus::Inactive);
        self
    }
}

/// Shapes a sign-on rule.
pub struct SignOnRuleBuilder(SignOnRule);

impl SignOnRuleBuilder {
    pub fn require_mfa(mut self) -> Self {
        self.0.require_factor = Some(true);
        self
    }

    /// Maximum session lifetime and idle time, minutes (lifetime 0: no limit).
    pub fn session(mut self, lifetime_minutes: u32, idle_minutes: u32) -> Self {
        self.0.max_session_lifetime_minutes = Some(lifetime_minutes);
        self.0.max_session_idle_minutes = Some(idle_minutes);
        self
    }

    pub fn persistent_cookie(mut self) -> Self {
        self.0.use_persistent_cookie = Some(true);
        self
    }

    pub fn deny(mut self) -> Self {
        self.0.access = Some(RuleAccess::Deny);
        self
    }

    pub fn inactive(mut self) -> Self {
        self.0.status = Some(LifecycleStatus::Inactive);
        self
    }
}

/// Shapes an app sign-in policy in [`OktaOrg::with_access_policy`].
pub struct AccessPolicyBuilder(AccessPolicy);

impl AccessPolicyBuilder {
    /// Adds a rule before the catch-all rule, or changes the one of that name. A new rule allows
    /// access with two factors.
    pub fn rule(
        mut self,
        name: &str,
        build: impl FnOnce(AccessRuleBuilder) -> AccessRuleBuilder,
    ) -> Self {
        let rules = self.0.rules.get_or_insert_with(Vec::new);
        match rules.iter().position(|r| r.name == name) {
            Some(index) => rules[index] = build(AccessRuleBuilder(rules[index].clone())).0,
            None => {
                let rule = AccessRule {
                    id: format!("rul{}{}", self.0.id, rules.len() + 1),
                    name: name.to_string(),
                    status: Some(LifecycleStatus::Active),
                    priority: None,
                    system: false,
                    access: Some(RuleAccess::Allow),
                    factor_mode: Some(FactorMode::TwoFactor),
                };
                let at = rules.iter().position(|r| r.system).unwrap_or(rules.len());
                rules.insert(at, build(AccessRuleBuilder(rule)).0);
            }
        }
        renumber(rules, |r, n| r.priority = Some(n));
        self
    }
}

/// Shapes an app sign-in rule.
pub struct AccessRuleBuilder(AccessRule);

impl AccessRuleBuilder {
    pub fn one_factor(mut self) -> Self {
        self.0.factor_mode = Some(FactorMode::OneFactor);
        self
    }

    pub fn two_factors(mut self) -> Self {
        self.0.factor_mode = Some(FactorMode::TwoFactor);
        self
    }

    /// An authentication method chain: the rule has no `factorMode`.
    pub fn method_chain(mut self) -> Self {
        self.0.factor_mode = None;
        self
    }

    pub fn deny(mut self) -> Self {
        self.0.access = Some(RuleAccess::Deny);
        self
    }
}

/// Shapes API token metadata in [`OktaOrg::with_api_token`].
pub struct ApiTokenBuilder(ApiToken);

impl ApiTokenBuilder {
    /// Usable only from these network zones.
    pub fn zones(mut self, zones: &[&str]) -> Self {
        self.0.network = Some(TokenNetwork {
            connection: "ZONE".to_string(),
            include: zones.iter().map(|zone| zone.to_string()).collect(),
            exclude: Vec::new(),
        });
        self
    }

    /// Usable from anywhere (Okta's default).
    pub fn anywhere(mut self) -> Self {
        self.0.network = Some(TokenNetwork {
            connection: "ANYWHERE".to_string(),
            include: Vec::new(),
            exclude: Vec::new(),
        });
        self
    }
}
