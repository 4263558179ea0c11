//! The simulated GitHub organisation the fake serves: plain data with a builder that reads like a
//! story. Everything starts out well configured, so a test names only what is wrong:
//!
//! ```
//! use kushim::sandbox::github::world::GitHubOrg;
//! let org = GitHubOrg::new("acme")
//!     .with_repo("api", |r| r.unprotected())
//!     .with_member("bob", |m| m.without_2fa());
//! assert_eq!(org.repos.len(), 1);
//! ```
//!
//! Times are days before the world's clock, [`GitHubOrg::now`] (the moment it was built unless
//! set with [`GitHubOrg::at`]), because the collector asks the audit log about "the last 180
//! days" by the real clock.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

/// The token the sandbox accepts unless a test sets another.
pub const SANDBOX_TOKEN: &str = "ghp_kushimSandboxToken0000000000000000";

/// Every classic scope the collection uses.
pub const ALL_SCOPES: &[&str] =
    &["repo", "admin:org", "admin:org_hook", "read:audit_log", "security_events"];

/// Every GitHub App permission the collection uses, at `read`.
pub const ALL_APP_PERMISSIONS: &[&str] = &[
    "members",
    "organization_administration",
    "organization_hooks",
    "administration",
    "metadata",
    "contents",
    "pull_requests",
    "repository_hooks",
    "vulnerability_alerts",
    "secret_scanning_alerts",
];

#[derive(Debug, Clone)]
pub struct GitHubOrg {
    pub login: String,
    pub id: u64,
    pub now: DateTime<Utc>,
    pub two_factor_required: bool,
    /// `default_repository_permission`: `none`, `read`, `write` or `admin`.
    pub base_permission: String,
    pub members_can_create_public_repositories: bool,
    pub members: Vec<MemberSpec>,
    pub repos: Vec<RepoSpec>,
    pub hooks: Vec<HookSpec>,
    pub workflow: WorkflowSpec,
    /// Organisation rulesets (served through each repository's `includes_parents`).
    pub rulesets: Vec<RulesetSpec>,
    /// Enterprise Cloud: the audit log API exists.
    pub enterprise_cloud: bool,
    pub token: TokenSpec,
    pub app: Option<AppSpec>,
    /// Primary rate limit per hour, for REST and for GraphQL points alike.
    pub rate_limit: u64,
    next_id: u64,
}

/// The personal access token the sandbox accepts.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub value: String,
    pub scopes: Vec<String>,
    /// Whether the token's user is an organisation owner (owner-only settings and filters).
    pub owner: bool,
}

/// A GitHub App installed on the organisation.
#[derive(Debug, Clone)]
pub struct AppSpec {
    pub app_id: u64,
    pub installation_id: u64,
    /// The public half of the App's key, PEM; JWTs must verify against it (RS256).
    pub public_key_pem: String,
    /// Granted permissions, `name → read|write`.
    pub permissions: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct MemberSpec {
    pub login: String,
    pub id: u64,
    pub owner: bool,
    pub two_factor: bool,
    /// Days before `now` of the newest audit-log event; None: no event at all.
    pub last_active_days: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RepoSpec {
    pub name: String,
    pub id: u64,
    /// `public`, `private` or `internal`.
    pub visibility: String,
    pub archived: bool,
    pub fork: bool,
    /// No commits, so no default branch.
    pub empty: bool,
    pub default_branch: String,
    /// The token's user is a repository admin (sees protection and security settings).
    pub viewer_admin: bool,
    pub protection: Option<ProtectionSpec>,
    pub rulesets: Vec<RulesetSpec>,
    /// Rulesets are not on this repository's plan (the API answers 404).
    pub rulesets_unavailable: bool,
    pub secret_scanning: bool,
    pub push_protection: bool,
    pub dependabot_security_updates: bool,
    pub dependabot_alerts_enabled: bool,
    pub dependabot_alerts: Vec<AlertSpec>,
    pub secret_alerts: Vec<SecretAlertSpec>,
    pub outside_collaborators: Vec<CollaboratorSpec>,
    /// GraphQL answers `collaborators` with a FORBIDDEN error for this repository.
    pub collaborators_hidden: bool,
    pub hooks: Vec<HookSpec>,
    pub workflow: WorkflowSpec,
    pub commits: Vec<CommitSpec>,
}

/// A classic branch protection rule.
#[derive(Debug, Clone)]
pub struct ProtectionSpec {
    pub required_approvals: u32,
    pub dismiss_stale_reviews: bool,
    pub code_owner_reviews: bool,
    pub enforce_admins: bool,
    pub status_checks: Vec<String>,
    pub strict_status_checks: bool,
    pub signed_commits: bool,
    pub allow_force_pushes: bool,
    pub allow_deletions: bool,
}

impl Default for ProtectionSpec {
    fn default() -> Self {
        ProtectionSpec {
            required_approvals: 1,
            dismiss_stale_reviews: true,
            code_owner_reviews: false,
            enforce_admins: true,
            status_checks: vec!["ci/test".to_string()],
            strict_status_checks: false,
            signed_commits: false,
            allow_force_pushes: false,
            allow_deletions: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RulesetSpec {
    pub id: u64,
    pub name: String,
    /// `active`, `evaluate` or `disabled`.
    pub enforcement: String,
    /// `ref_name.include` patterns.
    pub include: Vec<String>,
    /// `(actor_type, actor_id)` pairs allowed to bypass.
    pub bypass: Vec<(String, Option<u64>)>,
    /// Rules exactly as the API lists them (`{"type": …, "parameters": …}`).
    pub rules: Vec<serde_json::Value>,
}

impl RulesetSpec {
    pub fn require_pull_request(mut self, approvals: u32) -> Self {
        self.rules.push(serde_json::json!({
            "type": "pull_request",
            "parameters": {
                "required_approving_review_count": approvals,
                "dismiss_stale_reviews_on_push": true,
                "require_code_owner_review": false,
                "require_last_push_approval": false,
                "required_review_thread_resolution": false,
                "allowed_merge_methods": ["merge", "squash", "rebase"]
            }
        }));
        self
    }

    pub fn require_status_checks(mut self, contexts: &[&str]) -> Self {
        let checks: Vec<_> = contexts.iter().map(|c| serde_json::json!({ "context": c })).collect();
        self.rules.push(serde_json::json!({
            "type": "required_status_checks",
            "parameters": { "strict_required_status_checks_policy": false, "required_status_checks": checks }
        }));
        self
    }

    pub fn block_force_pushes(mut self) -> Self {
        self.rules.push(serde_json::json!({ "type": "non_fast_forward" }));
        self
    }

    pub fn block_deletion(mut self) -> Self {
        self.rules.push(serde_json::json!({ "type": "deletion" }));
        self
    }

    /// `evaluate` mode: reports, enforces nothing.
    pub fn evaluate(mut self) -> Self {
        self.enforcement = "evaluate".into();
        self
    }

    pub fn disabled(mut self) -> Self {
        self.enforcement = "disabled".into();
        self
    }

    pub fn bypassed_by_org_admins(mut self) -> Self {
        self.bypass.push(("OrganizationAdmin".into(), None));
        self
    }

    /// Targets branches matching `pattern` (`refs/heads/release/*`) instead of the default one.
    pub fn targeting(mut self, pattern: &str) -> Self {
        self.include = vec![pattern.to_string()];
        self
    }
}

#[derive(Debug, Clone)]
pub struct AlertSpec {
    pub number: u64,
    /// GraphQL severity: `LOW`, `MODERATE`, `HIGH`, `CRITICAL`.
    pub severity: String,
    pub age_days: i64,
}

#[derive(Debug, Clone)]
pub struct SecretAlertSpec {
    pub number: u64,
    pub secret_type: String,
    pub age_days: i64,
}

#[derive(Debug, Clone)]
pub struct CollaboratorSpec {
    pub login: String,
    /// `READ`, `TRIAGE`, `WRITE`, `MAINTAIN`, `ADMIN`.
    pub permission: String,
    pub two_factor: bool,
}

#[derive(Debug, Clone)]
pub struct HookSpec {
    pub id: u64,
    pub url: String,
    pub secret: bool,
    pub insecure_ssl: bool,
    pub active: bool,
}

impl HookSpec {
    pub fn without_secret(mut self) -> Self {
        self.secret = false;
        self
    }

    pub fn insecure_ssl(mut self) -> Self {
        self.insecure_ssl = true;
        self
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct WorkflowSpec {
    pub write_token: bool,
    pub can_approve_pull_requests: bool,
}

#[derive(Debug, Clone)]
pub struct CommitSpec {
    pub author: String,
    pub bot: bool,
    pub pull_request: Option<u64>,
    pub approved: bool,
    pub age_days: i64,
}

impl GitHubOrg {
    pub fn new(login: &str) -> Self {
        GitHubOrg {
            login: login.to_string(),
            id: 9_000_001,
            now: Utc::now(),
            two_factor_required: true,
            base_permission: "read".to_string(),
            members_can_create_public_repositories: false,
            members: Vec::new(),
            repos: Vec::new(),
            hooks: Vec::new(),
            workflow: WorkflowSpec::default(),
            rulesets: Vec::new(),
            enterprise_cloud: false,
            token: TokenSpec {
                value: SANDBOX_TOKEN.to_string(),
                scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
                owner: true,
            },
            app: None,
            rate_limit: 5_000,
            next_id: 1,
        }
    }

    /// Sets the world's clock (all ages count back from it).
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A repository, good unless `configure` says otherwise; named `login/name`.
    pub fn with_repo(mut self, name: &str, configure: impl FnOnce(RepoSpec) -> RepoSpec) -> Self {
        let id = 100_000 + self.id();
        let mut repo = configure(RepoSpec::new(name, id));
        for hook in &mut repo.hooks {
            hook.id = 500_000 + self.next_id;
            self.next_id += 1;
        }
        for ruleset in &mut repo.rulesets {
            ruleset.id = 700_000 + self.next_id;
            self.next_id += 1;
        }
        self.repos.push(repo);
        self
    }

    /// A member with 2FA, active yesterday, unless `configure` says otherwise.
    pub fn with_member(
        mut self,
        login: &str,
        configure: impl FnOnce(MemberSpec) -> MemberSpec,
    ) -> Self {
        let id = 200_000 + self.id();
        self.members.push(configure(MemberSpec {
            login: login.to_string(),
            id,
            owner: false,
            two_factor: true,
            last_active_days: Some(1),
        }));
        self
    }

    /// An organisation webhook with a secret and TLS verification, unless `configure` says otherwise.
    pub fn with_hook(mut self, url: &str, configure: impl FnOnce(HookSpec) -> HookSpec) -> Self {
        let id = 400_000 + self.id();
        self.hooks.push(configure(HookSpec {
            id,
            url: url.to_string(),
            secret: true,
            insecure_ssl: false,
            active: true,
        }));
        self
    }

    /// An organisation ruleset, active on the default branch of every repository.
    pub fn with_ruleset(
        mut self,
        name: &str,
        configure: impl FnOnce(RulesetSpec) -> RulesetSpec,
    ) -> Self {
        let id = 600_000 + self.id();
        self.rulesets.push(configure(RulesetSpec {
            id,
            name: name.to_string(),
            enforcement: "active".into(),
            include: vec!["~DEFAULT_BRANCH".into()],
            bypass: Vec::new(),
            rules: Vec::new(),
        }));
        self
    }

    pub fn without_2fa_requirement(mut self) -> Self {
        self.two_factor_required = false;
        self
    }

    pub fn base_permission(mut self, permission: &str) -> Self {
        self.base_permission = permission.to_string();
        self
    }

    pub fn members_can_create_public_repositories(mut self) -> Self {
        self.members_can_create_public_repositories = true;
        self
    }

    pub fn workflow_token_write(mut self) -> Self {
        self.workflow.write_token = true;
        self
    }

    pub fn actions_can_approve_pull_requests(mut self) -> Self {
        self.workflow.can_approve_pull_requests = true;
        self
    }

    pub fn enterprise_cloud(mut self) -> Self {
        self.enterprise_cloud = true;
        self
    }

    /// The accepted token.
    pub fn token(mut self, value: &str) -> Self {
        self.token.value = value.to_string();
        self
    }

    /// The classic scopes the token holds (replacing all of them).
    pub fn token_scopes(mut self, scopes: &[&str]) -> Self {
        self.token.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The token's user is a member, not an owner.
    pub fn token_not_owner(mut self) -> Self {
        self.token.owner = false;
        self
    }

    /// Installs a GitHub App whose JWTs verify against `public_key_pem`, with every permission.
    pub fn with_app(mut self, app_id: u64, installation_id: u64, public_key_pem: &str) -> Self {
        self.app = Some(AppSpec {
            app_id,
            installation_id,
            public_key_pem: public_key_pem.to_string(),
            permissions: ALL_APP_PERMISSIONS
                .iter()
                .map(|p| (p.to_string(), "read".to_string()))
                .collect(),
        });
        self
    }

    /// Takes a permission away from the installed App.
    pub fn app_without(mut self, permission: &str) -> Self {
        if let Some(app) = &mut self.app {
            app.permissions.remove(permission);
        }
        self
    }

    pub fn rate_limit(mut self, per_hour: u64) -> Self {
        self.rate_limit = per_hour;
        self
    }

    pub fn repo(&self, name: &str) -> Option<&RepoSpec> {
        self.repos.iter().find(|r| r.name == name)
    }

    pub fn repo_mut(&mut self, name: &str) -> Option<&mut RepoSpec> {
        self.repos.iter_mut().find(|r| r.name == name)
    }

    /// A moment `days` before the world's clock.
    pub fn days_ago(&self, days: i64) -> DateTime<Utc> {
        self.now - TimeDelta::days(days)
    }
}

impl MemberSpec {
    pub fn owner(mut self) -> Self {
        self.owner = true;
        self
    }

    pub fn without_2fa(mut self) -> Self {
        self.two_factor = false;
        self
    }

    pub fn last_active_days_ago(mut self, days: i64) -> Self {
        self.last_active_days = Some(days);
        self
    }

    /// No audit-log event at all.
    pub fn never_active(mut self) -> Self {
        self.last_active_days = None;
        self
    }
}

impl RepoSpec {
    fn new(name: &str, id: u64) -> Self {
        RepoSpec {
            name: name.to_string(),
            id,
            visibility: "private".to_string(),
            archived: false,
            fork: false,
            empty: false,
            default_branch: "main".to_string(),
            viewer_admin: true,
            protection: Some(ProtectionSpec::default()),
            rulesets: Vec::new(),
            rulesets_unavailable: false,
            secret_scanning: true,
            push_protection: true,
            dependabot_security_updates: true,
            dependabot_alerts_enabled: true,
            dependabot_alerts: Vec::new(),
            secret_alerts: Vec::new(),
            outside_collaborators: Vec::new(),
            collaborators_hidden: false,
            hooks: Vec::new(),
            workflow: WorkflowSpec::default(),
            commits: (0..3)
                .map(|i| CommitSpec {
                    author: "alice".to_string(),
                    bot: false,
                    pull_request: Some(id % 1000 * 10 + i),
                    approved: true,
                    age_days: i as i64 + 1,
                })
                .collect(),
        }
    }

    pub fn unprotected(mut self) -> Self {
        self.protection = None;
        self
    }

    /// Adjusts the classic rule (creating the default one if there was none).
    pub fn protection(mut self, configure: impl FnOnce(ProtectionSpec) -> ProtectionSpec) -> Self {
        self.protection = Some(configure(self.protection.take().unwrap_or_default()));
        self
    }

    pub fn with_ruleset(
        mut self,
        name: &str,
        configure: impl FnOnce(RulesetSpec) -> RulesetSpec,
    ) -> Self {
        self.rulesets.push(configure(RulesetSpec {
            id: 0,
            name: name.to_string(),
            enforcement: "active".into(),
            include: vec!["~DEFAULT_BRANCH".into()],
            bypass: Vec::new(),
            rules: Vec::new(),
        }));
        self
    }

    pub fn rulesets_unavailable(mut self) -> Self {
        self.rulesets_unavailable = true;
        self
    }

    pub fn public(mut self) -> Self {
        self.visibility = "public".into();
        self
    }

    pub fn internal(mut self) -> Self {
        self.visibility = "internal".into();
        self
    }

    pub fn archived(mut self) -> Self {
        self.archived = true;
        self
    }

    pub fn fork(mut self) -> Self {
        self.fork = true;
        self
    }

    /// No commits yet: no default branch.
    pub fn empty(mut self) -> Self {
        self.empty = true;
        self.commits.clear();
        self
    }

    pub fn default_branch(mut self, name: &str) -> Self {
        self.default_branch = name.to_string();
        self
    }

    /// The token's user has write, not admin, on this repository.
    pub fn not_admin(mut self) -> Self {
        self.viewer_admin = false;
        self
    }

    pub fn without_secret_scanning(mut self) -> Self {
        self.secret_scanning = false;
        self.push_protection = false;
        self
    }

    pub fn without_push_protection(mut self) -> Self {
        self.push_protection = false;
        self
    }

    pub fn without_dependabot(mut self) -> Self {
        self.dependabot_alerts_enabled = false;
        self.dependabot_security_updates = false;
        self
    }

    /// An open Dependabot alert (`LOW`, `MODERATE`, `HIGH`, `CRITICAL`) opened `age_days` ago.
    pub fn with_dependabot_alert(mut self, severity: &str, age_days: i64) -> Self {
        let number = self.dependabot_alerts.len() as u64 + 1;
        self.dependabot_alerts.push(AlertSpec { number, severity: severity.to_string(), age_days });
        self
    }

    pub fn with_secret_alert(mut self, secret_type: &str, age_days: i64) -> Self {
        let number = self.secret_alerts.len() as u64 + 1;
        self.secret_alerts.push(SecretAlertSpec {
            number,
            secret_type: secret_type.to_string(),
            age_days,
        });
        self
    }

    /// An outside collaborator (with 2FA) holding `permission` (`WRITE`, `ADMIN`, …).
    pub fn with_outside_collaborator(mut self, login: &str, permission: &str) -> Self {
        self.outside_collaborators.push(CollaboratorSpec {
            login: login.to_string(),
            permission: permission.to_string(),
            two_factor: true,
        });
        self
    }

    /// An outside collaborator with write access and no 2FA.
    pub fn with_outside_collaborator_without_2fa(mut self, login: &str) -> Self {
        self.outside_collaborators.push(CollaboratorSpec {
            login: login.to_string(),
            permission: "WRITE".to_string(),
            two_factor: false,
        });
        self
    }

    pub fn collaborators_hidden(mut self) -> Self {
        self.collaborators_hidden = true;
        self
    }

    pub fn with_hook(mut self, url: &str, configure: impl FnOnce(HookSpec) -> HookSpec) -> Self {
        self.hooks.push(configure(HookSpec {
            id: 0,
            url: url.to_string(),
            secret: true,
            insecure_ssl: false,
            active: true,
        }));
        self
    }

    pub fn workflow_token_write(mut self) -> Self {
        self.workflow.write_token = true;
        self
    }

    pub fn actions_can_approve_pull_requests(mut self) -> Self {
        self.workflow.can_approve_pull_requests = true;
        self
    }

    /// A commit by `author` pushed straight to the default branch, newest.
    pub fn with_direct_push(mut self, author: &str) -> Self {
        self.commits.insert(
            0,
            CommitSpec {
                author: author.to_string(),
                bot: false,
                pull_request: None,
                approved: false,
                age_days: 0,
            },
        );
        self
    }

    /// A commit by a bot (`dependabot[bot]`), newest.
    pub fn with_bot_commit(mut self) -> Self {
        self.commits.insert(
            0,
            CommitSpec {
                author: "dependabot[bot]".to_string(),
                bot: true,
                pull_request: None,
                approved: false,
                age_days: 0,
            },
        );
        self
    }
}

/// A deterministic organisation of `repos` repositories and `members` members for the
/// performance run and `kushim demo`: a realistic mix of good and bad settings, patterned on each
/// index (see [`super::generated`] for the same idea as a snapshot). Enterprise Cloud, so the
/// audit log is read too.
pub fn generated_world(repos: usize, members: usize) -> GitHubOrg {
    let mut org = GitHubOrg::new(super::ORG)
        .without_2fa_requirement()
        .members_can_create_public_repositories()
        .enterprise_cloud()
        .with_hook("https://hooks.example.com/org/audit", |h| h)
        .with_hook("https://hooks.example.com/org/legacy", |h| h.without_secret())
        .with_ruleset("org-baseline", |r| r.block_deletion().evaluate());
    for i in 0..members {
        org = org.with_member(&format!("user{i:05}"), |m| {
            let m = if i % 50 == 0 { m.owner() } else { m };
            let m = if i % 97 == 96 { m.without_2fa() } else { m };
            if i % 11 == 10 {
                m.never_active()
            } else {
                m.last_active_days_ago((i * 37 % 240) as i64)
            }
        });
    }
    for i in 0..repos {
        org = org.with_repo(&format!("repo-{i:05}"), |r| generated_repo(r, i));
    }
    org
}

fn generated_repo(r: RepoSpec, i: usize) -> RepoSpec {
    let r = match i % 20 {
        0 => r.public(),
        3 | 13 => r.internal(),
        _ => r,
    };
    let r = if i % 25 == 24 { r.archived() } else { r };
    let r = if i % 50 == 49 { r.empty() } else { r };
    // Protection by the last digit: 0–5 classic, 6 an active ruleset only, 7 an evaluate-mode
    // ruleset only, 8 not readable by the token, 9 a weak classic rule.
    let r = match i % 10 {
        0..=5 => r.protection(|p| ProtectionSpec {
            required_approvals: if i.is_multiple_of(3) { 2 } else { 1 },
            dismiss_stale_reviews: i % 4 != 2,
            enforce_admins: i.is_multiple_of(3),
            status_checks: if i % 5 == 4 {
                Vec::new()
            } else {
                vec!["ci/build".into(), "ci/test".into()]
            },
            allow_deletions: i % 7 == 6,
            ..p
        }),
        6 => r.unprotected().with_ruleset("protect-default", |rs| {
            let rs = rs
                .require_pull_request(1)
                .require_status_checks(&["ci"])
                .block_force_pushes()
                .block_deletion();
            if i % 20 < 10 { rs } else { rs.bypassed_by_org_admins() }
        }),
        7 => r
            .unprotected()
            .with_ruleset("protect-default", |rs| rs.require_pull_request(1).evaluate()),
        8 => r.not_admin(),
        _ => r.protection(|p| ProtectionSpec {
            required_approvals: 0,
            allow_force_pushes: true,
            status_checks: Vec::new(),
            ..p
        }),
    };
    let r = if i % 4 == 1 { r.without_secret_scanning() } else { r };
    let r = if i % 9 == 5 { r.without_dependabot() } else { r };
    let severities = ["CRITICAL", "HIGH", "MODERATE", "LOW"];
    let r = (0..i % 4).fold(r, |r, k| {
        r.with_dependabot_alert(severities[(i + k) % 4], ((i * 7 + k * 11) % 60) as i64)
    });
    let r = if i.is_multiple_of(15) {
        r.with_secret_alert("github_personal_access_token", (i % 20) as i64)
    } else {
        r
    };
    let r = (0..i % 3).fold(r, |r, k| {
        r.with_outside_collaborator(
            &format!("contractor-{k}"),
            if i.is_multiple_of(40) { "ADMIN" } else { "WRITE" },
        )
    });
    let r = if i % 33 == 7 { r.with_outside_collaborator_without_2fa("agency-bot") } else { r };
    let r = (0..i % 3).fold(r, |r, k| {
        r.with_hook(&format!("https://hooks.example.com/{i}/{k}"), |h| {
            let h = if (i + k).is_multiple_of(8) { h.without_secret() } else { h };
            if (i + k).is_multiple_of(19) { h.insecure_ssl() } else { h }
        })
    });
    let r = if i.is_multiple_of(12) { r.workflow_token_write() } else { r };
    let r = if i.is_multiple_of(33) { r.actions_can_approve_pull_requests() } else { r };
    let r = if i % 37 == 3 { r.with_direct_push("user00003") } else { r };
    if i % 5 == 2 { r.with_bot_commit() } else { r }
}
