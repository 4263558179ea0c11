//! GitHub checks: pure judgements of a [`GitHubSnapshot`]: organisation settings, people,
//! webhooks and Actions defaults, then each repository's default-branch protection, security
//! features, alerts and collaborators. Logic and thresholds follow
//! `../shared/reference/checks.md` §2.1–2.3 and the §6 table; a comment marks each departure.
//!
//! Repository checks judge every repository that is not archived and give each archived one a
//! `not_applicable` verdict that says so. Default-branch protection merges the classic rule with
//! the *active* rulesets as Prowler does (`_evaluate_default_branch_rulesets`): a requirement
//! holds when either source meets it, so the approval count is the larger of the two.
//! Unreadable data never passes: a requirement that no readable source meets, while some source
//! could not be read, is an `error`.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::checks::{CheckContext, CheckDef, Judge, Outcome, Verdict};
use crate::integrations::github::{
    AlertSeverity, BasePermission, BypassActor, ClassicProtection, ClassicRule, DefaultBranch,
    GitHubSnapshot, Member, OrgRole, OrgSettings, PART_AUDIT_LOG, PART_BRANCH_PROTECTION,
    PART_DEPENDABOT_ALERTS, PART_DEPENDABOT_STATUS, PART_MEMBERS, PART_MEMBERS_2FA,
    PART_ORG_SETTINGS, PART_ORG_WEBHOOKS, PART_ORG_WORKFLOW_PERMISSIONS,
    PART_OUTSIDE_COLLABORATORS, PART_OUTSIDE_COLLABORATORS_2FA, PART_RECENT_COMMITS,
    PART_REPO_WEBHOOKS, PART_REPO_WORKFLOW_PERMISSIONS, PART_REPOSITORIES, PART_RULESETS,
    PART_SECRET_SCANNING_ALERTS, PART_SECURITY_AND_ANALYSIS, RepoPermission, Repository, Ruleset,
    RulesetEnforcement, RulesetRule, SecurityAndAnalysis, Visibility, Webhook, WorkflowPermissions,
    WorkflowTokenPermission, repo_gap_key,
};

/// The GitHub checks, in catalog order.
pub const CHECKS: &[CheckDef] = &[
    CheckDef {
        id: "gh.org.2fa_required",
        title: "Organisation requires two-factor authentication",
        judge: Judge::GitHub(two_factor_required),
    },
    CheckDef {
        id: "gh.org.members_2fa",
        title: "No member or outside collaborator has two-factor authentication disabled",
        judge: Judge::GitHub(members_2fa),
    },
    CheckDef {
        id: "gh.org.owner_count",
        title: "Few organisation owners",
        judge: Judge::GitHub(owner_count),
    },
    CheckDef {
        id: "gh.org.base_permission",
        title: "Base repository permission is read or none",
        judge: Judge::GitHub(base_permission),
    },
    CheckDef {
        id: "gh.org.public_repo_creation",
        title: "Members cannot create public repositories",
        judge: Judge::GitHub(public_repo_creation),
    },
    CheckDef {
        id: "gh.org.workflow_token_readonly",
        title: "Workflow tokens are read-only by default",
        judge: Judge::GitHub(workflow_token_readonly),
    },
    CheckDef {
        id: "gh.org.actions_no_pr_approval",
        title: "GitHub Actions cannot approve pull requests",
        judge: Judge::GitHub(actions_no_pr_approval),
    },
    CheckDef {
        id: "gh.org.webhooks_secure",
        title: "Webhooks have a secret and verify TLS",
        judge: Judge::GitHub(webhooks_secure),
    },
    CheckDef {
        id: "gh.org.stale_members",
        title: "Members and owners were active recently",
        judge: Judge::GitHub(stale_members),
    },
    CheckDef {
        id: "gh.repo.default_branch_protected",
        title: "Default branch is protected",
        judge: Judge::GitHub(default_branch_protected),
    },
    CheckDef {
        id: "gh.repo.required_reviews",
        title: "Default branch requires approving reviews",
        judge: Judge::GitHub(required_reviews),
    },
    CheckDef {
        id: "gh.repo.dismiss_stale_reviews",
        title: "New pushes dismiss stale approvals",
        judge: Judge::GitHub(dismiss_stale_reviews),
    },
    CheckDef {
        id: "gh.repo.enforce_admins",
        title: "Branch protection binds administrators",
        judge: Judge::GitHub(enforce_admins),
    },
    CheckDef {
        id: "gh.repo.status_checks",
        title: "Default branch requires status checks",
        judge: Judge::GitHub(status_checks),
    },
    CheckDef {
        id: "gh.repo.no_force_push_delete",
        title: "Default branch cannot be force-pushed or deleted",
        judge: Judge::GitHub(no_force_push_delete),
    },
    CheckDef {
        id: "gh.repo.signed_commits",
        title: "Default branch requires signed commits",
        judge: Judge::GitHub(signed_commits),
    },
    CheckDef {
        id: "gh.repo.recent_changes_reviewed",
        title: "Recent changes were approved in review",
        judge: Judge::GitHub(recent_changes_reviewed),
    },
    CheckDef {
        id: "gh.repo.secret_scanning",
        title: "Secret scanning and push protection are on",
        judge: Judge::GitHub(secret_scanning),
    },
    CheckDef {
        id: "gh.repo.dependabot_enabled",
        title: "Dependabot alerts are on",
        judge: Judge::GitHub(dependabot_enabled),
    },
    CheckDef {
        id: "gh.repo.vuln_sla",
        title: "No critical or high Dependabot alert is past its SLA",
        judge: Judge::GitHub(vuln_sla),
    },
    CheckDef {
        id: "gh.repo.secret_alerts_open",
        title: "No secret-scanning alert is left open too long",
        judge: Judge::GitHub(secret_alerts_open),
    },
    CheckDef {
        id: "gh.repo.outside_collab_no_admin",
        title: "No outside collaborator has admin",
        judge: Judge::GitHub(outside_collab_no_admin),
    },
    CheckDef {
        id: "gh.repo.public_allowlisted",
        title: "Public repositories are on the allow-list",
        judge: Judge::GitHub(public_allowlisted),
    },
];

/// The `[checks.github]` section of `kushim.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitHubThresholds {
    /// Most organisation owners allowed (`gh.org.owner_count`). Default 3 (Legitify
    /// `organization_has_too_many_admins`).
    pub max_owners: usize,
    /// Fewest approving reviews the default branch must require (`gh.repo.required_reviews`).
    /// Default 1 (Legitify, Allstar, Scorecard tier 2); 2 is the strict profile.
    pub required_approvals: u32,
    /// Whether `gh.repo.status_checks` also requires branches to be up to date before merging
    /// ("strict" checks). Default false: the reference makes strictness optional.
    pub require_up_to_date_branches: bool,
    /// Whether default branches must require signed commits (`gh.repo.signed_commits`). Default
    /// false, in which case that check reports `not_applicable` (Allstar's default; Legitify
    /// rates it LOW).
    pub require_signed_commits: bool,
    /// How many of the newest default-branch commits `gh.repo.recent_changes_reviewed` reads.
    /// Default 30 (Scorecard Code-Review). The collector fetches as many.
    pub recent_commits: usize,
    /// Days an open critical Dependabot alert may stay open (`gh.repo.vuln_sla`). Default 15.
    pub vuln_sla_critical_days: u32,
    /// Days an open high Dependabot alert may stay open (`gh.repo.vuln_sla`). Default 30
    /// (FedRAMP ConMon's high-risk window).
    pub vuln_sla_high_days: u32,
    /// Days an open secret-scanning alert may stay open (`gh.repo.secret_alerts_open`).
    /// Default 7.
    pub secret_alert_max_age_days: u32,
    /// Days without audit-log activity after which a member is stale (`gh.org.stale_members`).
    /// Default 180 (Legitify's six months).
    pub stale_member_days: u32,
    /// The same for owners, stricter because they hold more. Default 90.
    pub stale_admin_days: u32,
    /// Repositories allowed to be public (`gh.repo.public_allowlisted`), as `owner/name` or bare
    /// `name`, compared without case as GitHub does. Default empty: no repository may be public.
    pub public_repo_allowlist: Vec<String>,
}

impl Default for GitHubThresholds {
    fn default() -> Self {
        Self {
            max_owners: 3,
            required_approvals: 1,
            require_up_to_date_branches: false,
            require_signed_commits: false,
            recent_commits: 30,
            vuln_sla_critical_days: 15,
            vuln_sla_high_days: 30,
            secret_alert_max_age_days: 7,
            stale_member_days: 180,
            stale_admin_days: 90,
            public_repo_allowlist: Vec::new(),
        }
    }
}

/// GitHub keeps organisation audit-log events for 180 days ("Reviewing the audit log for your
/// organization", docs.github.com, Enterprise Cloud). A member with no event in the log has been
/// inactive at least that long, which is enough to judge any limit up to 180 days.
const AUDIT_LOG_RETENTION_DAYS: i64 = 180;

/// How many items a reason lists before it says "and N more".
const LISTED: usize = 5;

// ---------------------------------------------------------------------------------------------
// Organisation checks

/// `gh.org.2fa_required`: the organisation requires 2FA. GitHub returns null to non-owners, which
/// is an error, never a pass (checks.md §2.3).
fn two_factor_required(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    on_org(s, || match org_settings(s)?.two_factor_requirement_enabled {
        Some(true) => pass(format!("organisation {} requires two-factor authentication", s.org)),
        Some(false) => fail(format!(
            "organisation {} does not require two-factor authentication; turn it on under \
             Settings → Authentication security",
            s.org
        )),
        None => Err(not_owner("two_factor_requirement_enabled")),
    })
}

/// `gh.org.members_2fa`: nobody in the `2fa_disabled` lists. One `fail` per person found, one
/// `pass` for the organisation when both lists are known and empty.
fn members_2fa(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    let lists = [
        (
            "member",
            need(
                s.members_2fa_disabled.as_ref(),
                gap(s, PART_MEMBERS_2FA, None),
                "the members without two-factor authentication",
                "only organisation owners may list members with filter=2fa_disabled",
            ),
        ),
        (
            "outside collaborator",
            need(
                s.outside_collaborators_2fa_disabled.as_ref(),
                gap(s, PART_OUTSIDE_COLLABORATORS_2FA, None),
                "the outside collaborators without two-factor authentication",
                "only organisation owners may list outside collaborators with filter=2fa_disabled",
            ),
        ),
    ];
    let mut verdicts = Vec::new();
    for (kind, list) in lists {
        match list {
            Err(reason) => verdicts.push(Verdict::error(org_resource(s), reason)),
            Ok(logins) => verdicts.extend(logins.iter().map(|login| {
                Verdict::fail(
                    user_resource(login),
                    format!(
                        "{kind} {login} has two-factor authentication disabled; ask them to enable \
                         it, or require 2FA for the organisation"
                    ),
                )
            })),
        }
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::pass(
            org_resource(s),
            format!(
                "every member and outside collaborator of {} has two-factor authentication",
                s.org
            ),
        ));
    }
    verdicts
}

/// `gh.org.owner_count`: at most `max_owners` owners.
fn owner_count(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let limit = ctx.thresholds.github.max_owners;
    on_org(s, || {
        let owners: Vec<&str> = members(s)?
            .iter()
            .filter(|m| m.role == OrgRole::Admin)
            .map(|m| m.login.as_str())
            .collect();
        // Every organisation has at least one owner, so an empty list means we saw only part of
        // the membership (GitHub hides private memberships from non-members).
        if owners.is_empty() {
            return Err(format!(
                "no owner of {} is visible to the token, so the member list is incomplete",
                s.org
            ));
        }
        let listed = listing(&owners);
        if owners.len() <= limit {
            pass(format!("{} (limit {limit}): {listed}", count(owners.len(), "owner", "owners")))
        } else {
            fail(format!(
                "{} (limit {limit}): {listed}; make the ones who do not need it members",
                count(owners.len(), "owner", "owners")
            ))
        }
    })
}

/// `gh.org.base_permission`: members get `read` or `none` by default (Prowler
/// `organization_default_repository_permission_strict`; Legitify wants `none` only).
fn base_permission(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    on_org(s, || match org_settings(s)?.default_repository_permission {
        Some(permission @ (BasePermission::NoAccess | BasePermission::Read)) => {
            pass(format!("the base repository permission is {}", permission.as_str()))
        }
        Some(permission) => fail(format!(
            "the base repository permission is {}, so every member may {} every repository; set it \
             to read or none",
            permission.as_str(),
            if permission == BasePermission::Admin { "administer" } else { "push to" },
        )),
        None => Err(not_owner("default_repository_permission")),
    })
}

/// `gh.org.public_repo_creation`: members cannot create public repositories.
fn public_repo_creation(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    on_org(s, || match org_settings(s)?.members_can_create_public_repositories {
        Some(false) => pass("only owners can create public repositories"),
        Some(true) => fail(
            "members can create public repositories; allow only private (and internal) ones under \
             Settings → Member privileges",
        ),
        None => Err(not_owner("members_can_create_public_repositories")),
    })
}

/// `gh.org.workflow_token_readonly`: the default `GITHUB_TOKEN` is read-only, for the
/// organisation and for each repository that is not archived (a repository may set its own).
fn workflow_token_readonly(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    workflow_setting(s, |p| match p.default_workflow_permissions {
        WorkflowTokenPermission::Read => pass("workflows get a read-only GITHUB_TOKEN by default"),
        WorkflowTokenPermission::Write => fail(
            "workflows get a read-write GITHUB_TOKEN by default; set the default workflow \
             permissions to read and grant more per workflow",
        ),
    })
}

/// `gh.org.actions_no_pr_approval`: GitHub Actions may not create or approve pull requests, for
/// the organisation and each repository that is not archived. A workflow that can approve its
/// own pull request defeats required reviews.
fn actions_no_pr_approval(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    workflow_setting(s, |p| {
        if p.can_approve_pull_request_reviews {
            fail(
                "GitHub Actions may create and approve pull requests, which lets a workflow satisfy \
                 required reviews; turn it off under Actions → General",
            )
        } else {
            pass("GitHub Actions may not approve pull requests")
        }
    })
}

/// `gh.org.webhooks_secure`: every webhook, of the organisation and of each repository that is
/// not archived, has a secret and verifies TLS. One verdict per webhook.
fn webhooks_secure(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    match need(
        s.webhooks.as_ref(),
        gap(s, PART_ORG_WEBHOOKS, None),
        "the organisation's webhooks",
        "they were not collected (they need the admin:org_hook scope)",
    ) {
        Err(reason) => verdicts.push(Verdict::error(org_resource(s), reason)),
        Ok(hooks) => verdicts.extend(hooks.iter().map(|hook| webhook_verdict(&s.org, hook))),
    }
    verdicts.extend(repo_list_error(s));
    for repo in s.repos.iter().filter(|repo| !repo.is_archived) {
        match need(
            repo.webhooks.as_ref(),
            gap(s, PART_REPO_WEBHOOKS, Some(repo)),
            "the repository's webhooks",
            "they were not collected (they need Webhooks: read)",
        ) {
            Err(reason) => verdicts.push(Verdict::error(repo_resource(repo), reason)),
            Ok(hooks) => verdicts
                .extend(hooks.iter().map(|hook| webhook_verdict(&repo.name_with_owner, hook))),
        }
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::not_applicable(
            org_resource(s),
            format!("no webhooks in organisation {} or its repositories", s.org),
        ));
    }
    verdicts
}

fn webhook_verdict(owner: &str, hook: &Webhook) -> Verdict {
    let resource = format!("webhook:{owner}#{}", hook.id);
    let host = url_host(&hook.url);
    // GitHub never returns a secret: it returns the mask "********" when one is set, so any
    // non-empty value counts as set (Scorecard webhook.go: `Secret != ""`).
    let has_secret = hook.secret.as_deref().is_some_and(|secret| !secret.is_empty());
    let verifies_tls = hook.insecure_ssl.trim() == "0";
    let mut problems = Vec::new();
    if !has_secret {
        problems.push("has no secret, so the receiver cannot verify deliveries come from GitHub");
    }
    if !verifies_tls {
        problems.push("does not verify the receiver's TLS certificate (insecure_ssl is not 0)");
    }
    if problems.is_empty() {
        Verdict::pass(
            resource,
            format!("webhook to {host} has a secret and verifies TLS certificates"),
        )
    } else {
        Verdict::fail(resource, format!("webhook to {host} {}", problems.join(" and ")))
    }
}

/// `gh.org.stale_members`: every member was active within `stale_member_days`, every owner within
/// `stale_admin_days`. Activity comes from the audit log, which only Enterprise Cloud has; on
/// other plans the check does not apply (checks.md §8.5). Legitify skips members with no audit
/// event; we fail them when the limit fits in the log's retention, since no event in the
/// retention window means inactive at least that long.
fn stale_members(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let org = org_resource(s);
    let thresholds = &ctx.thresholds.github;
    if s.audit_log_available == Some(false) {
        return vec![Verdict::not_applicable(
            org,
            format!(
                "member activity comes from the audit log API, which needs GitHub Enterprise Cloud, \
                 and organisation {} is not on it",
                s.org
            ),
        )];
    }
    let available = need(
        s.audit_log_available.as_ref(),
        gap(s, PART_AUDIT_LOG, None),
        "the audit log",
        "whether the organisation has one (Enterprise Cloud) was not determined",
    );
    let members = available.and_then(|_| members(s));
    let members = match members {
        Err(reason) => return vec![Verdict::error(org, reason)],
        Ok(members) if members.is_empty() => {
            return vec![Verdict::not_applicable(
                org,
                format!("organisation {} has no members", s.org),
            )];
        }
        Ok(members) => members,
    };
    members
        .iter()
        .map(|member| {
            let (role, limit) = match member.role {
                OrgRole::Admin => ("owner", thresholds.stale_admin_days),
                OrgRole::Member => ("member", thresholds.stale_member_days),
            };
            let limit = i64::from(limit);
            let resource = user_resource(&member.login);
            let login = &member.login;
            match member.last_active {
                Some(at) => {
                    let days = age_days(ctx.now, at);
                    let said =
                        format!("{role} {login} was last active {days} days ago (limit {limit})");
                    if days > limit {
                        Verdict::fail(resource, said)
                    } else {
                        Verdict::pass(resource, said)
                    }
                }
                None if limit <= AUDIT_LOG_RETENTION_DAYS => Verdict::fail(
                    resource,
                    format!(
                        "{role} {login} has no audit-log event in the log's \
                         {AUDIT_LOG_RETENTION_DAYS}-day retention (limit {limit}); remove them or \
                         confirm they still need access"
                    ),
                ),
                None => Verdict::error(
                    resource,
                    format!(
                        "{role} {login} has no audit-log event in the log's \
                         {AUDIT_LOG_RETENTION_DAYS}-day retention, which is shorter than the limit \
                         of {limit} days, so staleness cannot be told"
                    ),
                ),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Default-branch protection checks

/// `gh.repo.default_branch_protected`: a classic rule, or an active ruleset with a
/// `pull_request` rule, guards the default branch (checks.md §6; Legitify
/// `missing_default_branch_protection`).
fn default_branch_protected(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    each_default_branch(s, |repo, branch| {
        let protection = Protection::of(s, repo, branch);
        Evidence::any([
            protection.classic(|_| Ok("a classic protection rule guards it".into())),
            protection.ruleset_rule("requires pull requests", |rule| {
                matches!(rule, RulesetRule::PullRequest { .. })
            }),
        ])
        .judged(branch)
    })
}

/// `gh.repo.required_reviews`: merges need at least `required_approvals` approvals; the count is
/// the larger of the classic rule's and the active rulesets'.
fn required_reviews(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let required = ctx.thresholds.github.required_approvals;
    each_default_branch(s, |repo, branch| {
        let protection = Protection::of(s, repo, branch);
        let classic = protection.classic(|rule| {
            let approvals = if rule.requires_approving_reviews {
                rule.required_approving_review_count
            } else {
                0
            };
            let said = format!(
                "the classic rule requires {} (at least {required} required)",
                count(approvals as usize, "approving review", "approving reviews")
            );
            if approvals >= required { Ok(said) } else { Err(said) }
        });
        Evidence::any([classic, protection.ruleset_approvals(required)]).judged(branch)
    })
}

/// `gh.repo.dismiss_stale_reviews`: a new push dismisses earlier approvals.
fn dismiss_stale_reviews(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    each_default_branch(s, |repo, branch| {
        let protection = Protection::of(s, repo, branch);
        Evidence::any([
            protection.classic(|rule| {
                if rule.dismisses_stale_reviews {
                    Ok("the classic rule dismisses stale approvals on push".into())
                } else {
                    Err("the classic rule keeps approvals after new pushes".into())
                }
            }),
            protection.ruleset_rule("dismisses stale approvals on push", |rule| {
                matches!(rule, RulesetRule::PullRequest { dismiss_stale_reviews_on_push: true, .. })
            }),
        ])
        .judged(branch)
    })
}

/// `gh.repo.enforce_admins`: administrators cannot skip the protection. The classic rule's
/// `isAdminEnforced`, or an active ruleset with no bypass actors (Prowler). We also require that
/// ruleset to contain the `pull_request` rule: a bypass-free ruleset that only blocks deletion
/// still lets administrators merge unreviewed, which is what this check is about.
fn enforce_admins(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    each_default_branch(s, |repo, branch| {
        let protection = Protection::of(s, repo, branch);
        Evidence::any([
            protection.classic(|rule| {
                if rule.is_admin_enforced {
                    Ok("the classic rule applies to administrators".into())
                } else {
                    Err("the classic rule does not apply to administrators (enforce_admins is off)"
                        .into())
                }
            }),
            protection.ruleset_binds_admins(),
        ])
        .judged(branch)
    })
}

/// `gh.repo.status_checks`: merges need at least one named status check (and, when
/// `require_up_to_date_branches` is set, an up-to-date branch). An empty list requires nothing.
fn status_checks(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let strict = ctx.thresholds.github.require_up_to_date_branches;
    each_default_branch(s, |repo, branch| {
        let protection = Protection::of(s, repo, branch);
        let classic = protection.classic(|rule| {
            if !rule.requires_status_checks || rule.required_status_checks.is_empty() {
                Err("the classic rule requires no status check".into())
            } else if strict && !rule.requires_strict_status_checks {
                Err(format!(
                    "the classic rule requires {} but not an up-to-date branch",
                    listing(&rule.required_status_checks)
                ))
            } else {
                Ok(format!("the classic rule requires {}", listing(&rule.required_status_checks)))
            }
        });
        let what = if strict {
            "requires status checks on an up-to-date branch"
        } else {
            "requires status checks"
        };
        let ruleset = protection.ruleset_rule(what, |rule| match rule {
            RulesetRule::RequiredStatusChecks { contexts, strict: up_to_date } => {
                !contexts.is_empty() && (*up_to_date || !strict)
            }
            _ => false,
        });
        Evidence::any([classic, ruleset]).judged(branch)
    })
}

/// `gh.repo.no_force_push_delete`: force pushes and deletion are both blocked, each by the
/// classic rule or by an active ruleset (`non_fast_forward`, `deletion`).
fn no_force_push_delete(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    each_default_branch(s, |repo, branch| {
        let protection = Protection::of(s, repo, branch);
        let force_push = Evidence::any([
            protection.classic(|rule| {
                if rule.allows_force_pushes {
                    Err("the classic rule allows force pushes".into())
                } else {
                    Ok("the classic rule blocks force pushes".into())
                }
            }),
            protection.ruleset_rule("blocks force pushes", |rule| {
                matches!(rule, RulesetRule::NonFastForward)
            }),
        ]);
        let deletion = Evidence::any([
            protection.classic(|rule| {
                if rule.allows_deletions {
                    Err("the classic rule allows deleting the branch".into())
                } else {
                    Ok("the classic rule blocks deletion".into())
                }
            }),
            protection
                .ruleset_rule("blocks deletion", |rule| matches!(rule, RulesetRule::Deletion)),
        ]);
        Evidence::all([force_push, deletion]).judged(branch)
    })
}

/// `gh.repo.signed_commits`: only when `require_signed_commits` is set (optional in checks.md
/// §6); otherwise one `not_applicable` verdict for the organisation.
fn signed_commits(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    if !ctx.thresholds.github.require_signed_commits {
        return vec![Verdict::not_applicable(
            org_resource(s),
            "signed commits are not required by this configuration (set \
             checks.github.require_signed_commits = true to enforce them)",
        )];
    }
    each_default_branch(s, |repo, branch| {
        let protection = Protection::of(s, repo, branch);
        Evidence::any([
            protection.classic(|rule| {
                if rule.requires_commit_signatures {
                    Ok("the classic rule requires signed commits".into())
                } else {
                    Err("the classic rule does not require signed commits".into())
                }
            }),
            protection.ruleset_rule("requires signed commits", |rule| {
                matches!(rule, RulesetRule::RequiredSignatures)
            }),
        ])
        .judged(branch)
    })
}

/// `gh.repo.recent_changes_reviewed`: every commit by a person among the newest `recent_commits`
/// on the default branch came through a pull request with an approving review. Bot commits are
/// left out, as Scorecard's Code-Review check does. Scorecard also accepts "merged by someone
/// other than the committer" as an implicit review; the §6 table asks for approval, which is the
/// evidence an auditor samples for CC8.1, so we do too.
fn recent_changes_reviewed(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let window = ctx.thresholds.github.recent_commits;
    each_default_branch(s, |repo, branch| {
        let commits = need(
            branch.recent_commits.as_ref(),
            gap(s, PART_RECENT_COMMITS, Some(repo)),
            "the recent commits of the default branch",
            "they were not collected",
        )?;
        let commits = &commits[..commits.len().min(window)];
        if commits.is_empty() {
            return not_applicable(format!("default branch {} has no commits", branch.name));
        }
        let bots = commits.iter().filter(|c| c.author_is_bot).count();
        let humans = commits.len() - bots;
        if humans == 0 {
            return not_applicable(format!(
                "all {} newest commits on {} were made by bots",
                commits.len(),
                branch.name
            ));
        }
        let unapproved: Vec<String> = commits
            .iter()
            .filter(|c| !c.author_is_bot && !c.approved)
            .map(|c| {
                let oid = c.oid.get(..7).unwrap_or(&c.oid);
                match c.pull_request {
                    Some(number) => format!("{oid} (pull request #{number} not approved)"),
                    None => format!("{oid} (pushed without a pull request)"),
                }
            })
            .collect();
        let scope = format!(
            "{} among the {} newest on {} ({} left out)",
            count(humans, "human commit", "human commits"),
            commits.len(),
            branch.name,
            count(bots, "bot commit", "bot commits"),
        );
        if unapproved.is_empty() {
            pass(format!("all {scope} were approved in review"))
        } else {
            fail(format!(
                "{} of {scope} were not approved: {}",
                unapproved.len(),
                listing(&unapproved)
            ))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Other repository checks

/// `gh.repo.secret_scanning`: secret scanning and push protection are both on.
fn secret_scanning(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    each_repo(s, |repo| {
        let settings = security_and_analysis(s, repo)?;
        let mut off = Vec::new();
        if !settings.secret_scanning {
            off.push("secret scanning");
        }
        if !settings.secret_scanning_push_protection {
            off.push("push protection");
        }
        if off.is_empty() {
            pass("secret scanning and push protection are on")
        } else {
            fail(format!("{} off; turn it on under Settings → Code security", off.join(" and ")))
        }
    })
}

/// `gh.repo.dependabot_enabled`: Dependabot alerts are on.
fn dependabot_enabled(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    each_repo(s, |repo| {
        if *dependabot_status(s, repo)? {
            pass("Dependabot alerts are on")
        } else {
            fail("Dependabot alerts are off; turn them on under Settings → Code security")
        }
    })
}

/// `gh.repo.vuln_sla`: no open critical alert older than `vuln_sla_critical_days`, no high one
/// older than `vuln_sla_high_days` (checks.md §2.3 proposal). Medium and low alerts are not
/// timed. An empty alert list only passes when Dependabot alerts are known to be on.
fn vuln_sla(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let thresholds = &ctx.thresholds.github;
    each_repo(s, |repo| {
        let alerts = need(
            repo.dependabot_alerts.as_ref(),
            gap(s, PART_DEPENDABOT_ALERTS, Some(repo)),
            "the open Dependabot alerts",
            "they were not collected (they need Dependabot alerts: read)",
        )?;
        let overdue: Vec<String> = alerts
            .iter()
            .filter_map(|alert| {
                let limit = match alert.severity {
                    AlertSeverity::Critical => thresholds.vuln_sla_critical_days,
                    AlertSeverity::High => thresholds.vuln_sla_high_days,
                    _ => return None,
                };
                let days = age_days(ctx.now, alert.created_at);
                (days > i64::from(limit)).then(|| {
                    format!(
                        "#{} {} open {days} days (limit {limit})",
                        alert.number,
                        alert.severity.as_str()
                    )
                })
            })
            .collect();
        if !overdue.is_empty() {
            return fail(format!(
                "{} past the remediation SLA: {}",
                count(overdue.len(), "open Dependabot alert", "open Dependabot alerts"),
                listing(&overdue)
            ));
        }
        if !*dependabot_status(s, repo)? {
            return not_applicable(
                "Dependabot alerts are off, so there are no alerts to time (gh.repo.dependabot_enabled \
                 reports it)",
            );
        }
        pass(format!(
            "no critical or high Dependabot alert is past its SLA ({} open)",
            count(alerts.len(), "alert", "alerts")
        ))
    })
}

/// `gh.repo.secret_alerts_open`: no open secret-scanning alert older than
/// `secret_alert_max_age_days`. Alerts come from the organisation endpoint, which simply lists
/// none for a repository without secret scanning, so an empty list only passes when secret
/// scanning is known to be on.
fn secret_alerts_open(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let limit = ctx.thresholds.github.secret_alert_max_age_days;
    each_repo(s, |repo| {
        let alerts = need(
            repo.secret_scanning_alerts.as_ref(),
            gap(s, PART_SECRET_SCANNING_ALERTS, Some(repo)),
            "the open secret-scanning alerts",
            "they were not collected (owners and security managers only)",
        )?;
        let old: Vec<String> = alerts
            .iter()
            .filter_map(|alert| {
                let days = age_days(ctx.now, alert.created_at);
                (days > i64::from(limit))
                    .then(|| format!("#{} {} open {days} days", alert.number, alert.secret_type))
            })
            .collect();
        if !old.is_empty() {
            return fail(format!(
                "{} older than {limit} days: {}; revoke the secrets and close the alerts",
                count(old.len(), "open secret-scanning alert", "open secret-scanning alerts"),
                listing(&old)
            ));
        }
        if !security_and_analysis(s, repo)?.secret_scanning {
            return not_applicable(
                "secret scanning is off, so there are no alerts to age (gh.repo.secret_scanning \
                 reports it)",
            );
        }
        pass(format!(
            "{}, none older than {limit} days",
            count(alerts.len(), "open secret-scanning alert", "open secret-scanning alerts")
        ))
    })
}

/// `gh.repo.outside_collab_no_admin`: no outside collaborator holds admin (Allstar `outside`
/// policy defaults).
fn outside_collab_no_admin(s: &GitHubSnapshot, _: &CheckContext) -> Vec<Verdict> {
    each_repo(s, |repo| {
        let collaborators = need(
            repo.outside_collaborators.as_ref(),
            gap(s, PART_OUTSIDE_COLLABORATORS, Some(repo)),
            "the outside collaborators",
            "GitHub lists them only to tokens with push access to the repository",
        )?;
        let admins: Vec<&str> = collaborators
            .iter()
            .filter(|c| c.permission == RepoPermission::Admin)
            .map(|c| c.login.as_str())
            .collect();
        if admins.is_empty() {
            pass(format!(
                "no outside collaborator has admin ({})",
                count(collaborators.len(), "outside collaborator", "outside collaborators")
            ))
        } else {
            fail(format!(
                "{} with admin: {}; lower them to write or less",
                count(admins.len(), "outside collaborator", "outside collaborators"),
                listing(&admins)
            ))
        }
    })
}

/// `gh.repo.public_allowlisted`: every public repository is on `public_repo_allowlist`. One
/// verdict per public repository; private and internal ones are not judged. Unlike the other
/// repository checks this one judges archived repositories too: archiving freezes a repository
/// but leaves it public.
fn public_allowlisted(s: &GitHubSnapshot, ctx: &CheckContext) -> Vec<Verdict> {
    let allowlist = &ctx.thresholds.github.public_repo_allowlist;
    let mut verdicts = repo_list_error(s);
    for repo in s.repos.iter().filter(|repo| repo.visibility == Visibility::Public) {
        let archived = if repo.is_archived { " (archived)" } else { "" };
        verdicts.push(if allowlisted(allowlist, &repo.name_with_owner) {
            Verdict::pass(repo_resource(repo), format!("public{archived} and on the allow-list"))
        } else {
            Verdict::fail(
                repo_resource(repo),
                format!(
                    "public{archived} but not on the allow-list; make it private or add it to \
                     checks.github.public_repo_allowlist"
                ),
            )
        });
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::not_applicable(
            org_resource(s),
            format!("organisation {} has no public repositories", s.org),
        ));
    }
    verdicts
}

/// Whether `name_with_owner` is on the allow-list, by full name or bare name, without case
/// (GitHub names are case-insensitive).
fn allowlisted(allowlist: &[String], name_with_owner: &str) -> bool {
    let name = name_with_owner.rsplit('/').next().unwrap_or(name_with_owner);
    allowlist.iter().any(|entry| {
        entry.eq_ignore_ascii_case(name_with_owner) || entry.eq_ignore_ascii_case(name)
    })
}

// ---------------------------------------------------------------------------------------------
// Merging classic protection and rulesets

/// What the protection data says about one requirement of a default branch, with the clause a
/// reason is made of.
enum Evidence {
    Met(String),
    NotMet(String),
    /// A source could not be read, and none that could be read meets the requirement.
    Unknown(String),
}

impl Evidence {
    /// Met when any source meets it; not met when every source is known not to; unknown when an
    /// unreadable source might be the one that meets it.
    fn any(sources: impl IntoIterator<Item = Evidence>) -> Evidence {
        let (mut not_met, mut unknown) = (Vec::new(), Vec::new());
        for source in sources {
            match source {
                Evidence::Met(said) => return Evidence::Met(said),
                Evidence::NotMet(said) => not_met.push(said),
                Evidence::Unknown(said) => unknown.push(said),
            }
        }
        if unknown.is_empty() {
            Evidence::NotMet(not_met.join("; "))
        } else {
            unknown.extend(not_met);
            Evidence::Unknown(unknown.join("; "))
        }
    }

    /// Met when every requirement is; not met when any is known not to be; unknown otherwise.
    fn all(requirements: impl IntoIterator<Item = Evidence>) -> Evidence {
        let (mut met, mut not_met, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
        for requirement in requirements {
            match requirement {
                Evidence::Met(said) => met.push(said),
                Evidence::NotMet(said) => not_met.push(said),
                Evidence::Unknown(said) => unknown.push(said),
            }
        }
        if !not_met.is_empty() {
            Evidence::NotMet(not_met.join("; "))
        } else if !unknown.is_empty() {
            Evidence::Unknown(unknown.join("; "))
        } else {
            Evidence::Met(met.join("; "))
        }
    }

    fn judged(self, branch: &DefaultBranch) -> Judged {
        let name = &branch.name;
        match self {
            Evidence::Met(said) => pass(format!("default branch {name}: {said}")),
            Evidence::NotMet(said) => fail(format!("default branch {name}: {said}")),
            Evidence::Unknown(said) => Err(format!("default branch {name}: cannot tell, {said}")),
        }
    }
}

/// The two sources of default-branch protection, each known or unreadable (with the reason).
struct Protection<'a> {
    /// `Ok(None)`: really no classic rule.
    classic: Result<Option<&'a ClassicRule>, String>,
    /// Every ruleset that applies, whatever its enforcement.
    rulesets: Result<&'a [Ruleset], String>,
}

impl<'a> Protection<'a> {
    fn of(s: &GitHubSnapshot, repo: &Repository, branch: &'a DefaultBranch) -> Self {
        let classic = match (gap(s, PART_BRANCH_PROTECTION, Some(repo)), &branch.protection) {
            (Some(reason), _) => Err(format!("classic branch protection could not be collected ({reason})")),
            (None, ClassicProtection::Protected(rule)) => Ok(Some(rule)),
            (None, ClassicProtection::NotProtected) => Ok(None),
            (None, ClassicProtection::NoPermission) => Err(
                "the token may not read classic branch protection (GitHub answers null without admin \
                 on the repository)"
                    .to_string(),
            ),
        };
        let rulesets = match (gap(s, PART_RULESETS, Some(repo)), &branch.rulesets) {
            (Some(reason), _) => Err(format!("rulesets could not be collected ({reason})")),
            (None, Some(rulesets)) => Ok(rulesets.as_slice()),
            (None, None) => Err("the token may not read the repository's rulesets".to_string()),
        };
        Self { classic, rulesets }
    }

    /// What the classic rule says; `test` returns `Ok(clause)` when the rule meets the
    /// requirement and `Err(clause)` when it does not.
    fn classic(&self, test: impl FnOnce(&ClassicRule) -> Result<String, String>) -> Evidence {
        match &self.classic {
            Err(why) => Evidence::Unknown(why.clone()),
            Ok(None) => Evidence::NotMet("no classic protection rule".to_string()),
            Ok(Some(rule)) => match test(rule) {
                Ok(said) => Evidence::Met(said),
                Err(said) => Evidence::NotMet(said),
            },
        }
    }

    /// Whether an active ruleset has a rule passing `test`. `what` completes "ruleset X …". A
    /// ruleset in `evaluate` or `disabled` mode enforces nothing; the reason names it, since
    /// someone clearly meant to turn it on.
    fn ruleset_rule(&self, what: &str, test: impl Fn(&RulesetRule) -> bool) -> Evidence {
        let rulesets = match &self.rulesets {
            Err(why) => return Evidence::Unknown(why.clone()),
            Ok(rulesets) => *rulesets,
        };
        let matching = |ruleset: &&Ruleset| ruleset.rules.iter().any(&test);
        if let Some(ruleset) =
            rulesets.iter().filter(matching).find(|r| r.enforcement == RulesetEnforcement::Active)
        {
            return Evidence::Met(format!("active ruleset '{}' {what}", ruleset.name));
        }
        Evidence::NotMet(format!("no active ruleset {what}{}", inactive_note(rulesets, matching)))
    }

    /// The largest approval count any active ruleset requires, against `required`.
    fn ruleset_approvals(&self, required: u32) -> Evidence {
        let rulesets = match &self.rulesets {
            Err(why) => return Evidence::Unknown(why.clone()),
            Ok(rulesets) => *rulesets,
        };
        let approvals = |ruleset: &Ruleset| {
            ruleset
                .rules
                .iter()
                .filter_map(|rule| match rule {
                    RulesetRule::PullRequest { required_approving_review_count, .. } => {
                        Some(*required_approving_review_count)
                    }
                    _ => None,
                })
                .max()
        };
        let active = rulesets
            .iter()
            .filter(|r| r.enforcement == RulesetEnforcement::Active)
            .filter_map(approvals)
            .max();
        match active {
            Some(most) => {
                let said = format!(
                    "active rulesets require {} (at least {required} required)",
                    count(most as usize, "approving review", "approving reviews")
                );
                if most >= required { Evidence::Met(said) } else { Evidence::NotMet(said) }
            }
            None => Evidence::NotMet(format!(
                "no active ruleset requires pull requests{}",
                inactive_note(rulesets, |r: &&Ruleset| approvals(r).is_some())
            )),
        }
    }

    /// Whether an active ruleset that requires pull requests has no bypass actors, so it binds
    /// administrators too.
    fn ruleset_binds_admins(&self) -> Evidence {
        let rulesets = match &self.rulesets {
            Err(why) => return Evidence::Unknown(why.clone()),
            Ok(rulesets) => *rulesets,
        };
        let (mut bypassed, mut hidden) = (Vec::new(), Vec::new());
        let requiring_reviews = rulesets.iter().filter(|r| {
            r.enforcement == RulesetEnforcement::Active
                && r.rules.iter().any(|rule| matches!(rule, RulesetRule::PullRequest { .. }))
        });
        for ruleset in requiring_reviews {
            match &ruleset.bypass_actors {
                Some(actors) if actors.is_empty() => {
                    return Evidence::Met(format!(
                        "active ruleset '{}' requires pull requests and nobody may bypass it",
                        ruleset.name
                    ));
                }
                Some(actors) => bypassed.push(format!(
                    "active ruleset '{}' may be bypassed by {}",
                    ruleset.name,
                    listing(&actors.iter().map(bypass_actor).collect::<Vec<_>>())
                )),
                None => hidden.push(format!(
                    "the bypass actors of ruleset '{}' are not visible to the token",
                    ruleset.name
                )),
            }
        }
        if !hidden.is_empty() {
            hidden.extend(bypassed);
            Evidence::Unknown(hidden.join("; "))
        } else if !bypassed.is_empty() {
            Evidence::NotMet(bypassed.join("; "))
        } else {
            Evidence::NotMet("no active ruleset requires pull requests".to_string())
        }
    }
}

/// " (ruleset 'x' does, but its enforcement is evaluate, which enforces nothing)" for the first
/// inactive ruleset passing `matching`, or nothing.
fn inactive_note(rulesets: &[Ruleset], matching: impl Fn(&&Ruleset) -> bool) -> String {
    rulesets
        .iter()
        .filter(|r| r.enforcement != RulesetEnforcement::Active)
        .find(matching)
        .map(|r| {
            format!(
                " (ruleset '{}' does, but its enforcement is {}, which enforces nothing)",
                r.name,
                r.enforcement.as_str()
            )
        })
        .unwrap_or_default()
}

fn bypass_actor(actor: &BypassActor) -> String {
    match actor.actor_id {
        Some(id) => format!("{} {id}", actor.actor_type),
        None => actor.actor_type.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// What a check says about one resource before the resource is named; `Err` becomes an `error`
/// verdict with that reason, so `?` on missing data reads naturally.
type Judged = Result<(Outcome, String), String>;

fn pass(reason: impl Into<String>) -> Judged {
    Ok((Outcome::Pass, reason.into()))
}

fn fail(reason: impl Into<String>) -> Judged {
    Ok((Outcome::Fail, reason.into()))
}

fn not_applicable(reason: impl Into<String>) -> Judged {
    Ok((Outcome::NotApplicable, reason.into()))
}

fn verdict(resource: String, judged: Judged) -> Verdict {
    match judged {
        Ok((outcome, reason)) => Verdict::new(outcome, resource, reason),
        Err(reason) => Verdict::error(resource, reason),
    }
}

fn org_resource(s: &GitHubSnapshot) -> String {
    format!("org:{}", s.org)
}

fn repo_resource(repo: &Repository) -> String {
    format!("repo:{}", repo.name_with_owner)
}

fn user_resource(login: &str) -> String {
    format!("github-user:{login}")
}

/// One verdict about the organisation itself.
fn on_org(s: &GitHubSnapshot, judge: impl FnOnce() -> Judged) -> Vec<Verdict> {
    vec![verdict(org_resource(s), judge())]
}

/// One verdict per repository: archived ones are `not_applicable`, the others are judged. An
/// organisation without repositories gets one `not_applicable`; an unreadable list one `error`.
fn each_repo(s: &GitHubSnapshot, judge: impl Fn(&Repository) -> Judged) -> Vec<Verdict> {
    let mut verdicts = repo_list_error(s);
    if verdicts.is_empty() && s.repos.is_empty() {
        verdicts.push(Verdict::not_applicable(
            org_resource(s),
            format!("organisation {} has no repositories", s.org),
        ));
    }
    verdicts.extend(s.repos.iter().map(|repo| {
        let judged = if repo.is_archived {
            not_applicable("archived, so read-only: repository checks skip it")
        } else {
            judge(repo)
        };
        verdict(repo_resource(repo), judged)
    }));
    verdicts
}

/// [`each_repo`] for checks of the default branch; an empty repository has none.
fn each_default_branch(
    s: &GitHubSnapshot,
    judge: impl Fn(&Repository, &DefaultBranch) -> Judged,
) -> Vec<Verdict> {
    each_repo(s, |repo| match &repo.default_branch {
        Some(branch) => judge(repo, branch),
        None => not_applicable("the repository is empty, so it has no default branch yet"),
    })
}

/// An `error` for the organisation when the repository list could not be collected.
fn repo_list_error(s: &GitHubSnapshot) -> Vec<Verdict> {
    gap(s, PART_REPOSITORIES, None)
        .map(|reason| {
            Verdict::error(
                org_resource(s),
                format!("could not collect the repositories of {}: {reason}", s.org),
            )
        })
        .into_iter()
        .collect()
}

/// The recorded reason a part is missing, for one repository (`repo_gap_key`) or for all.
fn gap<'a>(s: &'a GitHubSnapshot, part: &str, repo: Option<&Repository>) -> Option<&'a str> {
    if s.gaps.is_empty() {
        return None;
    }
    repo.and_then(|repo| s.gaps.get(&repo_gap_key(part, &repo.name_with_owner)))
        .or_else(|| s.gaps.get(part))
        .map(String::as_str)
}

/// The data a check needs, or the reason it is missing. A recorded gap wins over a value: the
/// collector recording one means the value may be partial.
fn need<'a, T>(
    value: Option<&'a T>,
    gap: Option<&str>,
    what: &str,
    why_unknown: &str,
) -> Result<&'a T, String> {
    match (gap, value) {
        (Some(reason), _) => Err(format!("could not collect {what}: {reason}")),
        (None, Some(value)) => Ok(value),
        (None, None) => Err(format!("cannot read {what}: {why_unknown}")),
    }
}

fn org_settings(s: &GitHubSnapshot) -> Result<&OrgSettings, String> {
    need(
        s.settings.as_ref(),
        gap(s, PART_ORG_SETTINGS, None),
        "the organisation settings",
        "they were not collected",
    )
}

fn members(s: &GitHubSnapshot) -> Result<&Vec<Member>, String> {
    need(
        s.members.as_ref(),
        gap(s, PART_MEMBERS, None),
        "the organisation members",
        "they were not collected",
    )
}

fn security_and_analysis<'a>(
    s: &GitHubSnapshot,
    repo: &'a Repository,
) -> Result<&'a SecurityAndAnalysis, String> {
    need(
        repo.security_and_analysis.as_ref(),
        gap(s, PART_SECURITY_AND_ANALYSIS, Some(repo)),
        "the repository's security settings (security_and_analysis)",
        "GitHub returns them only to repository admins",
    )
}

fn dependabot_status<'a>(s: &GitHubSnapshot, repo: &'a Repository) -> Result<&'a bool, String> {
    need(
        repo.dependabot_alerts_enabled.as_ref(),
        gap(s, PART_DEPENDABOT_STATUS, Some(repo)),
        "whether Dependabot alerts are on",
        "it was not collected",
    )
}

/// The organisation verdict and one per repository that is not archived, for a setting of
/// `…/actions/permissions/workflow`.
fn workflow_setting(
    s: &GitHubSnapshot,
    judge: impl Fn(&WorkflowPermissions) -> Judged,
) -> Vec<Verdict> {
    let org = need(
        s.workflow_permissions.as_ref(),
        gap(s, PART_ORG_WORKFLOW_PERMISSIONS, None),
        "the organisation's workflow permissions",
        "they were not collected",
    );
    let mut verdicts = vec![verdict(org_resource(s), org.and_then(&judge))];
    verdicts.extend(repo_list_error(s));
    verdicts.extend(s.repos.iter().filter(|repo| !repo.is_archived).map(|repo| {
        let permissions = need(
            repo.workflow_permissions.as_ref(),
            gap(s, PART_REPO_WORKFLOW_PERMISSIONS, Some(repo)),
            "the repository's workflow permissions",
            "they were not collected",
        );
        verdict(repo_resource(repo), permissions.and_then(&judge))
    }));
    verdicts
}

/// The error for an owner-only field of `GET /orgs/{org}` that came back null.
fn not_owner(field: &str) -> String {
    format!(
        "GitHub returned no {field}: it shows this setting only to organisation owners, and the token is not one"
    )
}

/// Whole days from `then` to `now`.
fn age_days(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    (now - then).num_days()
}

/// "1 owner", "3 owners".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The first few items, then "and N more".
fn listing(items: &[impl AsRef<str>]) -> String {
    let shown: Vec<&str> = items.iter().take(LISTED).map(AsRef::as_ref).collect();
    match items.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// The host of a webhook URL, for reasons: the path and query may hold credentials.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit('@').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Outcome::{Error, Fail, NotApplicable as NA, Pass};
    use crate::integrations::Gaps;
    use crate::integrations::github::{
        Collaborator, DependabotAlert, RecentCommit, SecretScanningAlert,
    };
    use chrono::TimeDelta;

    // --- the world -------------------------------------------------------------------------

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_272_000, 0).expect("valid time")
    }

    fn days_ago(days: i64) -> DateTime<Utc> {
        now() - TimeDelta::days(days)
    }

    /// Organisation `acme`: every org-level setting known and good, one owner active yesterday,
    /// no webhooks, no repositories.
    fn org() -> GitHubSnapshot {
        GitHubSnapshot {
            org: "acme".to_string(),
            settings: Some(OrgSettings {
                two_factor_requirement_enabled: Some(true),
                default_repository_permission: Some(BasePermission::Read),
                members_can_create_public_repositories: Some(false),
            }),
            members: Some(vec![owner("alice")]),
            members_2fa_disabled: Some(Vec::new()),
            outside_collaborators_2fa_disabled: Some(Vec::new()),
            audit_log_available: Some(true),
            webhooks: Some(Vec::new()),
            workflow_permissions: Some(workflow(WorkflowTokenPermission::Read, false)),
            repos: Vec::new(),
            gaps: Gaps::new(),
        }
    }

    trait OrgBuilder: Sized {
        fn with(self, change: impl FnOnce(&mut GitHubSnapshot)) -> Self;

        fn with_repo(self, repo: Repository) -> Self {
            self.with(|o| o.repos.push(repo))
        }
        fn members(self, members: Vec<Member>) -> Self {
            self.with(|o| o.members = Some(members))
        }
        fn members_unreadable(self) -> Self {
            self.with(|o| o.members = None)
        }
        fn two_factor(self, required: Option<bool>) -> Self {
            self.with(|o| {
                o.settings.as_mut().expect("settings").two_factor_requirement_enabled = required
            })
        }
        fn base_permission(self, permission: Option<BasePermission>) -> Self {
            self.with(|o| {
                o.settings.as_mut().expect("settings").default_repository_permission = permission
            })
        }
        fn public_repo_creation(self, allowed: Option<bool>) -> Self {
            self.with(|o| {
                o.settings.as_mut().expect("settings").members_can_create_public_repositories =
                    allowed
            })
        }
        fn without_2fa(self, members: &[&str], outside: &[&str]) -> Self {
            self.with(|o| {
                o.members_2fa_disabled = Some(members.iter().map(|s| s.to_string()).collect());
                o.outside_collaborators_2fa_disabled =
                    Some(outside.iter().map(|s| s.to_string()).collect());
            })
        }
        fn audit_log(self, available: Option<bool>) -> Self {
            self.with(|o| o.audit_log_available = available)
        }
        fn org_hook(self, hook: Webhook) -> Self {
            self.with(|o| o.webhooks.get_or_insert_with(Vec::new).push(hook))
        }
        fn org_workflow(self, permissions: Option<WorkflowPermissions>) -> Self {
            self.with(|o| o.workflow_permissions = permissions)
        }
        /// The collector recorded that `part` could not be fetched.
        fn gap(self, part: &str, reason: &str) -> Self {
            self.with(|o| {
                o.gaps.insert(part.to_string(), reason.to_string());
            })
        }
    }

    impl OrgBuilder for GitHubSnapshot {
        fn with(mut self, change: impl FnOnce(&mut GitHubSnapshot)) -> Self {
            change(&mut self);
            self
        }
    }

    fn owner(login: &str) -> Member {
        Member { login: login.to_string(), role: OrgRole::Admin, last_active: Some(days_ago(1)) }
    }

    fn member(login: &str) -> Member {
        Member { login: login.to_string(), role: OrgRole::Member, last_active: Some(days_ago(1)) }
    }

    trait MemberBuilder {
        fn active_days_ago(self, days: i64) -> Self;
        fn never_seen(self) -> Self;
    }

    impl MemberBuilder for Member {
        fn active_days_ago(mut self, days: i64) -> Self {
            self.last_active = Some(days_ago(days));
            self
        }
        fn never_seen(mut self) -> Self {
            self.last_active = None;
            self
        }
    }

    fn workflow(permission: WorkflowTokenPermission, can_approve: bool) -> WorkflowPermissions {
        WorkflowPermissions {
            default_workflow_permissions: permission,
            can_approve_pull_request_reviews: can_approve,
        }
    }

    /// A webhook with a secret set (GitHub's mask) that verifies TLS.
    fn hook(id: u64) -> Webhook {
        Webhook {
            id,
            url: "https://ci.example.com/hook".to_string(),
            active: true,
            secret: Some("********".to_string()),
            insecure_ssl: "0".to_string(),
        }
    }

    trait HookBuilder {
        fn secret(self, secret: Option<&str>) -> Self;
        fn insecure(self) -> Self;
        fn url(self, url: &str) -> Self;
    }

    impl HookBuilder for Webhook {
        fn secret(mut self, secret: Option<&str>) -> Self {
            self.secret = secret.map(str::to_string);
            self
        }
        fn insecure(mut self) -> Self {
            self.insecure_ssl = "1".to_string();
            self
        }
        fn url(mut self, url: &str) -> Self {
            self.url = url.to_string();
            self
        }
    }

    /// Repository `acme/<name>`: private, everything readable and well configured. Its default
    /// branch `main` has a good classic rule, no rulesets and one approved human commit.
    fn repo(name: &str) -> Repository {
        Repository {
            name_with_owner: format!("acme/{name}"),
            visibility: Visibility::Private,
            is_archived: false,
            is_fork: false,
            default_branch: Some(DefaultBranch {
                name: "main".to_string(),
                protection: ClassicProtection::Protected(rule()),
                rulesets: Some(Vec::new()),
                recent_commits: Some(vec![by("alice")]),
            }),
            security_and_analysis: Some(SecurityAndAnalysis {
                secret_scanning: true,
                secret_scanning_push_protection: true,
                dependabot_security_updates: true,
            }),
            dependabot_alerts_enabled: Some(true),
            dependabot_alerts: Some(Vec::new()),
            secret_scanning_alerts: Some(Vec::new()),
            outside_collaborators: Some(Vec::new()),
            webhooks: Some(Vec::new()),
            workflow_permissions: Some(workflow(WorkflowTokenPermission::Read, false)),
        }
    }

    trait RepoBuilder: Sized {
        fn with(self, change: impl FnOnce(&mut Repository)) -> Self;

        fn branch(self, change: impl FnOnce(&mut DefaultBranch)) -> Self {
            self.with(|r| change(r.default_branch.as_mut().expect("default branch")))
        }
        fn public(self) -> Self {
            self.with(|r| r.visibility = Visibility::Public)
        }
        fn archived(self) -> Self {
            self.with(|r| r.is_archived = true)
        }
        fn empty(self) -> Self {
            self.with(|r| r.default_branch = None)
        }
        fn classic(self, rule: ClassicRule) -> Self {
            self.branch(|b| b.protection = ClassicProtection::Protected(rule))
        }
        /// Really unprotected: REST said "Branch not protected".
        fn unprotected(self) -> Self {
            self.branch(|b| b.protection = ClassicProtection::NotProtected)
        }
        /// GraphQL null and REST "Not Found": the token may not read protection.
        fn protection_unreadable(self) -> Self {
            self.branch(|b| b.protection = ClassicProtection::NoPermission)
        }
        fn ruleset(self, ruleset: Ruleset) -> Self {
            self.branch(|b| b.rulesets.get_or_insert_with(Vec::new).push(ruleset))
        }
        fn rulesets_unreadable(self) -> Self {
            self.branch(|b| b.rulesets = None)
        }
        fn commits(self, commits: Vec<RecentCommit>) -> Self {
            self.branch(|b| b.recent_commits = Some(commits))
        }
        fn commits_unreadable(self) -> Self {
            self.branch(|b| b.recent_commits = None)
        }
        fn security(self, secret_scanning: bool, push_protection: bool) -> Self {
            self.with(|r| {
                r.security_and_analysis = Some(SecurityAndAnalysis {
                    secret_scanning,
                    secret_scanning_push_protection: push_protection,
                    dependabot_security_updates: true,
                })
            })
        }
        fn security_unreadable(self) -> Self {
            self.with(|r| r.security_and_analysis = None)
        }
        fn dependabot(self, enabled: Option<bool>) -> Self {
            self.with(|r| r.dependabot_alerts_enabled = enabled)
        }
        fn alert(self, severity: AlertSeverity, days_old: i64) -> Self {
            self.with(|r| {
                let alerts = r.dependabot_alerts.get_or_insert_with(Vec::new);
                let number = alerts.len() as u64 + 1;
                alerts.push(DependabotAlert { number, severity, created_at: days_ago(days_old) });
            })
        }
        fn alerts_unreadable(self) -> Self {
            self.with(|r| r.dependabot_alerts = None)
        }
        fn secret_alert(self, days_old: i64) -> Self {
            self.with(|r| {
                let alerts = r.secret_scanning_alerts.get_or_insert_with(Vec::new);
                let number = alerts.len() as u64 + 1;
                alerts.push(SecretScanningAlert {
                    number,
                    secret_type: "aws_access_key_id".to_string(),
                    created_at: days_ago(days_old),
                });
            })
        }
        fn secret_alerts_unreadable(self) -> Self {
            self.with(|r| r.secret_scanning_alerts = None)
        }
        fn outside(self, login: &str, permission: RepoPermission) -> Self {
            self.with(|r| {
                r.outside_collaborators
                    .get_or_insert_with(Vec::new)
                    .push(Collaborator { login: login.to_string(), permission })
            })
        }
        fn outside_unreadable(self) -> Self {
            self.with(|r| r.outside_collaborators = None)
        }
        fn hook(self, hook: Webhook) -> Self {
            self.with(|r| r.webhooks.get_or_insert_with(Vec::new).push(hook))
        }
        fn workflow(self, permissions: Option<WorkflowPermissions>) -> Self {
            self.with(|r| r.workflow_permissions = permissions)
        }
    }

    impl RepoBuilder for Repository {
        fn with(mut self, change: impl FnOnce(&mut Repository)) -> Self {
            change(&mut self);
            self
        }
    }

    /// A classic rule that meets every requirement (one approval, `ci` status check).
    fn rule() -> ClassicRule {
        ClassicRule {
            requires_approving_reviews: true,
            required_approving_review_count: 1,
            dismisses_stale_reviews: true,
            requires_code_owner_reviews: false,
            is_admin_enforced: true,
            requires_status_checks: true,
            required_status_checks: vec!["ci".to_string()],
            requires_strict_status_checks: false,
            requires_commit_signatures: false,
            allows_force_pushes: false,
            allows_deletions: false,
        }
    }

    trait RuleBuilder: Sized {
        fn with(self, change: impl FnOnce(&mut ClassicRule)) -> Self;

        fn approvals(self, count: u32) -> Self {
            self.with(|r| r.required_approving_review_count = count)
        }
        fn no_reviews(self) -> Self {
            self.with(|r| {
                r.requires_approving_reviews = false;
                r.required_approving_review_count = 0;
            })
        }
        fn keeps_stale_reviews(self) -> Self {
            self.with(|r| r.dismisses_stale_reviews = false)
        }
        fn admins_exempt(self) -> Self {
            self.with(|r| r.is_admin_enforced = false)
        }
        fn status_checks(self, contexts: &[&str]) -> Self {
            self.with(|r| {
                r.required_status_checks = contexts.iter().map(|c| c.to_string()).collect()
            })
        }
        fn strict(self) -> Self {
            self.with(|r| r.requires_strict_status_checks = true)
        }
        fn signed(self) -> Self {
            self.with(|r| r.requires_commit_signatures = true)
        }
        fn force_pushes(self) -> Self {
            self.with(|r| r.allows_force_pushes = true)
        }
        fn deletions(self) -> Self {
            self.with(|r| r.allows_deletions = true)
        }
    }

    impl RuleBuilder for ClassicRule {
        fn with(mut self, change: impl FnOnce(&mut ClassicRule)) -> Self {
            change(&mut self);
            self
        }
    }

    /// An active ruleset with no rules and no bypass actors.
    fn ruleset(name: &str) -> Ruleset {
        Ruleset {
            id: 1,
            name: name.to_string(),
            enforcement: RulesetEnforcement::Active,
            bypass_actors: Some(Vec::new()),
            rules: Vec::new(),
        }
    }

    trait RulesetBuilder: Sized {
        fn with(self, change: impl FnOnce(&mut Ruleset)) -> Self;

        fn evaluate(self) -> Self {
            self.with(|r| r.enforcement = RulesetEnforcement::Evaluate)
        }
        fn disabled(self) -> Self {
            self.with(|r| r.enforcement = RulesetEnforcement::Disabled)
        }
        fn rule(self, rule: RulesetRule) -> Self {
            self.with(|r| r.rules.push(rule))
        }
        fn pull_request(self, approvals: u32) -> Self {
            self.rule(RulesetRule::PullRequest {
                required_approving_review_count: approvals,
                dismiss_stale_reviews_on_push: false,
                require_code_owner_review: false,
                require_last_push_approval: false,
            })
        }
        fn pull_request_dismissing_stale(self, approvals: u32) -> Self {
            self.rule(RulesetRule::PullRequest {
                required_approving_review_count: approvals,
                dismiss_stale_reviews_on_push: true,
                require_code_owner_review: false,
                require_last_push_approval: false,
            })
        }
        fn status_checks(self, contexts: &[&str], strict: bool) -> Self {
            self.rule(RulesetRule::RequiredStatusChecks {
                contexts: contexts.iter().map(|c| c.to_string()).collect(),
                strict,
            })
        }
        fn bypass(self, actor_type: &str) -> Self {
            self.with(|r| {
                r.bypass_actors.get_or_insert_with(Vec::new).push(BypassActor {
                    actor_type: actor_type.to_string(),
                    actor_id: None,
                    bypass_mode: "always".to_string(),
                })
            })
        }
        /// GitHub did not show the bypass actors to the token.
        fn bypass_hidden(self) -> Self {
            self.with(|r| r.bypass_actors = None)
        }
    }

    impl RulesetBuilder for Ruleset {
        fn with(mut self, change: impl FnOnce(&mut Ruleset)) -> Self {
            change(&mut self);
            self
        }
    }

    /// A commit by `author` merged through pull request #1 with an approval.
    fn by(author: &str) -> RecentCommit {
        RecentCommit {
            oid: format!("{:0<40}", author.len()),
            committed_at: days_ago(1),
            author: Some(author.to_string()),
            author_is_bot: false,
            pull_request: Some(1),
            approved: true,
        }
    }

    /// A commit by Dependabot, pushed directly.
    fn bot() -> RecentCommit {
        RecentCommit { author_is_bot: true, ..by("dependabot[bot]") }.pushed_directly()
    }

    trait CommitBuilder {
        fn oid(self, oid: &str) -> Self;
        fn unapproved_pr(self, number: u64) -> Self;
        fn pushed_directly(self) -> Self;
    }

    impl CommitBuilder for RecentCommit {
        fn oid(mut self, oid: &str) -> Self {
            self.oid = oid.to_string();
            self
        }
        fn unapproved_pr(mut self, number: u64) -> Self {
            self.pull_request = Some(number);
            self.approved = false;
            self
        }
        fn pushed_directly(mut self) -> Self {
            self.pull_request = None;
            self.approved = false;
            self
        }
    }

    // --- the table runner ------------------------------------------------------------------

    type Check = fn(&GitHubSnapshot, &CheckContext) -> Vec<Verdict>;

    struct Row {
        name: &'static str,
        snapshot: GitHubSnapshot,
        ctx: CheckContext,
        expect: Vec<Outcome>,
        says: Option<&'static str>,
    }

    fn row(name: &'static str, snapshot: GitHubSnapshot, expect: &[Outcome]) -> Row {
        Row { name, snapshot, ctx: CheckContext::new(now()), expect: expect.to_vec(), says: None }
    }

    impl Row {
        fn thresholds(mut self, change: impl FnOnce(&mut GitHubThresholds)) -> Self {
            change(&mut self.ctx.thresholds.github);
            self
        }
        /// Some verdict's reason must contain `text`.
        fn says(mut self, text: &'static str) -> Self {
            self.says = Some(text);
            self
        }
    }

    fn table(check: Check, rows: Vec<Row>) {
        let mut wrong = Vec::new();
        for row in rows {
            let verdicts = check(&row.snapshot, &row.ctx);
            let outcomes: Vec<Outcome> = verdicts.iter().map(|v| v.outcome).collect();
            if outcomes != row.expect {
                wrong.push(format!("{}: expected {:?}, got {verdicts:#?}", row.name, row.expect));
            }
            if let Some(text) = row.says
                && !verdicts.iter().any(|v| v.reason.contains(text))
            {
                wrong.push(format!("{}: no reason says {text:?}: {verdicts:#?}", row.name));
            }
            if let Some(v) = verdicts.iter().find(|v| v.reason.is_empty() || v.resource.is_empty())
            {
                wrong.push(format!("{}: verdict without resource or reason: {v:?}", row.name));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    // --- registry and configuration --------------------------------------------------------

    #[test]
    fn check_ids_are_the_catalog_ids_in_order_unique_and_prefixed() {
        let ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "gh.org.2fa_required",
                "gh.org.members_2fa",
                "gh.org.owner_count",
                "gh.org.base_permission",
                "gh.org.public_repo_creation",
                "gh.org.workflow_token_readonly",
                "gh.org.actions_no_pr_approval",
                "gh.org.webhooks_secure",
                "gh.org.stale_members",
                "gh.repo.default_branch_protected",
                "gh.repo.required_reviews",
                "gh.repo.dismiss_stale_reviews",
                "gh.repo.enforce_admins",
                "gh.repo.status_checks",
                "gh.repo.no_force_push_delete",
                "gh.repo.signed_commits",
                "gh.repo.recent_changes_reviewed",
                "gh.repo.secret_scanning",
                "gh.repo.dependabot_enabled",
                "gh.repo.vuln_sla",
                "gh.repo.secret_alerts_open",
                "gh.repo.outside_collab_no_admin",
                "gh.repo.public_allowlisted",
            ]
        );
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "duplicate check ids");
        for check in CHECKS {
            assert!(check.id.starts_with("gh."), "{} lacks the gh. prefix", check.id);
            assert!(
                matches!(check.judge, Judge::GitHub(_)),
                "{} is not judged from the GitHub snapshot",
                check.id
            );
        }
    }

    #[test]
    fn thresholds_default_to_the_documented_values_and_reject_unknown_keys() {
        let empty: GitHubThresholds = serde_json::from_str("{}").expect("empty section");
        assert_eq!(empty, GitHubThresholds::default());
        assert_eq!((empty.max_owners, empty.required_approvals, empty.recent_commits), (3, 1, 30));
        assert_eq!(
            (
                empty.vuln_sla_critical_days,
                empty.vuln_sla_high_days,
                empty.secret_alert_max_age_days
            ),
            (15, 30, 7)
        );
        assert_eq!((empty.stale_member_days, empty.stale_admin_days), (180, 90));
        assert!(empty.public_repo_allowlist.is_empty() && !empty.require_signed_commits);

        let custom: GitHubThresholds =
            serde_json::from_str(r#"{"max_owners": 5, "public_repo_allowlist": ["acme/site"]}"#)
                .expect("custom");
        assert_eq!(
            (custom.max_owners, custom.public_repo_allowlist.len(), custom.required_approvals),
            (5, 1, 1)
        );

        assert!(serde_json::from_str::<GitHubThresholds>(r#"{"max_owner": 5}"#).is_err());
    }

    // --- missing data never passes ---------------------------------------------------------

    /// An organisation of which nothing could be read, with one repository of which nothing
    /// could be read either.
    fn unknown_org() -> GitHubSnapshot {
        let unknown_repo = Repository {
            name_with_owner: "acme/api".to_string(),
            default_branch: Some(DefaultBranch {
                name: "main".to_string(),
                ..DefaultBranch::default()
            }),
            ..Repository::default()
        };
        GitHubSnapshot {
            org: "acme".to_string(),
            repos: vec![unknown_repo],
            ..GitHubSnapshot::default()
        }
    }

    #[test]
    fn no_check_passes_on_data_it_could_not_read() {
        let ctx = CheckContext::new(now());
        let mut strict = ctx.clone();
        strict.thresholds.github.require_signed_commits = true;
        for snapshot in [GitHubSnapshot::default(), unknown_org()] {
            for check in CHECKS {
                let Judge::GitHub(judge) = check.judge else { unreachable!() };
                for ctx in [&ctx, &strict] {
                    let verdicts = judge(&snapshot, ctx);
                    assert!(!verdicts.is_empty(), "{} returned nothing", check.id);
                    assert!(
                        verdicts.iter().all(|v| v.outcome != Pass),
                        "{} passed on unreadable data: {verdicts:#?}",
                        check.id
                    );
                }
            }
        }
    }

    #[test]
    fn a_recorded_gap_wins_over_collected_data() {
        let snapshot =
            org().with_repo(repo("api")).gap(PART_BRANCH_PROTECTION, "GitHub answered 502");
        for check in [default_branch_protected as Check, required_reviews, enforce_admins] {
            let verdicts = check(&snapshot, &CheckContext::new(now()));
            assert_eq!(verdicts.len(), 1);
            assert_eq!(verdicts[0].outcome, Error, "{verdicts:?}");
            assert!(verdicts[0].reason.contains("GitHub answered 502"), "{verdicts:?}");
        }
    }

    #[test]
    fn the_snapshot_survives_a_json_round_trip() {
        let snapshot = org()
            .with_repo(
                repo("api")
                    .unprotected()
                    .ruleset(
                        ruleset("all")
                            .pull_request(2)
                            .status_checks(&["ci"], true)
                            .rule(RulesetRule::NonFastForward)
                            .rule(RulesetRule::Deletion)
                            .rule(RulesetRule::RequiredSignatures)
                            .rule(RulesetRule::RequiredLinearHistory)
                            .rule(RulesetRule::Other { rule_type: "merge_queue".to_string() })
                            .bypass("Team")
                            .evaluate(),
                    )
                    .alert(AlertSeverity::Critical, 3)
                    .secret_alert(1)
                    .outside("eve", RepoPermission::Maintain)
                    .hook(hook(7).secret(None)),
            )
            .with_repo(repo("web").protection_unreadable().public())
            .with_repo(repo("docs").empty().archived())
            .base_permission(Some(BasePermission::NoAccess))
            .gap(PART_MEMBERS_2FA, "not an owner");
        let json = serde_json::to_string(&snapshot).expect("serialise");
        let back: GitHubSnapshot = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, snapshot);
        assert!(json.contains(r#""default_repository_permission":"none""#), "{json}");
        assert!(json.contains(r#""status":"not_protected""#), "{json}");
    }

    // --- organisation checks ---------------------------------------------------------------

    #[test]
    fn org_2fa_required() {
        table(
            two_factor_required,
            vec![
                row("required", org(), &[Pass]),
                row("not required", org().two_factor(Some(false)), &[Fail]),
                row("null because the token is not an owner", org().two_factor(None), &[Error])
                    .says("only to organisation owners"),
                row(
                    "settings not collected: the gap's reason is used",
                    org().with(|o| o.settings = None).gap(PART_ORG_SETTINGS, "GitHub answered 502"),
                    &[Error],
                )
                .says("GitHub answered 502"),
                row(
                    "settings missing without a recorded gap",
                    org().with(|o| o.settings = None),
                    &[Error],
                ),
            ],
        );
    }

    #[test]
    fn org_members_2fa() {
        table(
            members_2fa,
            vec![
                row("everyone has 2FA", org(), &[Pass]),
                row("a member without 2FA", org().without_2fa(&["bob"], &[]), &[Fail])
                    .says("member bob"),
                row(
                    "one of each without 2FA",
                    org().without_2fa(&["bob"], &["carol"]),
                    &[Fail, Fail],
                )
                .says("outside collaborator carol"),
                row(
                    "token may not filter members",
                    org().with(|o| o.members_2fa_disabled = None),
                    &[Error],
                )
                .says("only organisation owners"),
                row(
                    "members unknown, an outside collaborator without 2FA",
                    org().without_2fa(&[], &["carol"]).with(|o| o.members_2fa_disabled = None),
                    &[Error, Fail],
                ),
            ],
        );
    }

    #[test]
    fn org_owner_count() {
        let owners =
            |n: usize| (0..n).map(|i| owner(&format!("owner{i}"))).chain([member("bob")]).collect();
        table(
            owner_count,
            vec![
                row("three owners", org().members(owners(3)), &[Pass]).says("3 owners (limit 3)"),
                row("four owners", org().members(owners(4)), &[Fail]).says("4 owners (limit 3)"),
                row("four owners under a limit of five", org().members(owners(4)), &[Pass])
                    .thresholds(|t| t.max_owners = 5),
                row("member list unreadable", org().members_unreadable(), &[Error]),
                row(
                    "no owner visible: the list is partial",
                    org().members(vec![member("bob")]),
                    &[Error],
                ),
            ],
        );
    }

    #[test]
    fn org_base_permission() {
        table(
            base_permission,
            vec![
                row("read", org(), &[Pass]),
                row("none", org().base_permission(Some(BasePermission::NoAccess)), &[Pass])
                    .says("is none"),
                row("write", org().base_permission(Some(BasePermission::Write)), &[Fail])
                    .says("push to"),
                row("admin", org().base_permission(Some(BasePermission::Admin)), &[Fail])
                    .says("administer"),
                row("hidden from a non-owner", org().base_permission(None), &[Error]),
            ],
        );
    }

    #[test]
    fn org_public_repo_creation() {
        table(
            public_repo_creation,
            vec![
                row("members cannot", org(), &[Pass]),
                row("members can", org().public_repo_creation(Some(true)), &[Fail]),
                row("hidden from a non-owner", org().public_repo_creation(None), &[Error]),
            ],
        );
    }

    #[test]
    fn org_workflow_token_readonly() {
        let write = Some(workflow(WorkflowTokenPermission::Write, false));
        table(
            workflow_token_readonly,
            vec![
                row("read-only, no repositories", org(), &[Pass]),
                row("read-write by default", org().org_workflow(write.clone()), &[Fail]),
                row(
                    "a repository overrides to write",
                    org().with_repo(repo("api").workflow(write.clone())),
                    &[Pass, Fail],
                ),
                row(
                    "an archived repository is not judged",
                    org().with_repo(repo("old").workflow(write.clone()).archived()),
                    &[Pass],
                ),
                row("organisation setting unreadable", org().org_workflow(None), &[Error]),
                row(
                    "repository setting unreadable",
                    org().with_repo(repo("api").workflow(None)),
                    &[Pass, Error],
                ),
            ],
        );
    }

    #[test]
    fn org_actions_no_pr_approval() {
        let approving = Some(workflow(WorkflowTokenPermission::Read, true));
        table(
            actions_no_pr_approval,
            vec![
                row("Actions cannot approve", org().with_repo(repo("api")), &[Pass, Pass]),
                row("Actions can approve org-wide", org().org_workflow(approving.clone()), &[Fail]),
                row(
                    "one repository lets Actions approve",
                    org().with_repo(repo("api").workflow(approving)),
                    &[Pass, Fail],
                ),
                row("organisation setting unreadable", org().org_workflow(None), &[Error]),
            ],
        );
    }

    #[test]
    fn org_webhooks_secure() {
        table(
            webhooks_secure,
            vec![
                row("no webhooks anywhere", org().with_repo(repo("api")), &[NA]),
                row("masked secret ******** counts as set", org().org_hook(hook(1)), &[Pass]),
                row("no secret", org().org_hook(hook(1).secret(None)), &[Fail])
                    .says("has no secret"),
                row(
                    "an empty secret is no secret",
                    org().org_hook(hook(1).secret(Some(""))),
                    &[Fail],
                ),
                row("TLS not verified", org().org_hook(hook(1).insecure()), &[Fail])
                    .says("TLS certificate"),
                row(
                    "repository hooks judged one by one",
                    org().with_repo(repo("api").hook(hook(1)).hook(hook(2).insecure())),
                    &[Pass, Fail],
                ),
                row(
                    "organisation hooks unreadable",
                    org().with(|o| o.webhooks = None).with_repo(repo("api").hook(hook(1))),
                    &[Error, Pass],
                ),
                row(
                    "an archived repository's hooks are skipped",
                    org().with_repo(repo("old").hook(hook(1).secret(None)).archived()),
                    &[NA],
                ),
            ],
        );
    }

    #[test]
    fn webhook_reasons_name_the_host_not_the_url() {
        let snapshot = org().org_hook(
            hook(1).secret(None).url("https://bot:t0ken@hooks.slack.com/services/T0/B0/SECRET?x=1"),
        );
        let verdicts = webhooks_secure(&snapshot, &CheckContext::new(now()));
        assert_eq!(verdicts[0].resource, "webhook:acme#1");
        assert!(verdicts[0].reason.contains("hooks.slack.com"), "{verdicts:?}");
        assert!(
            !verdicts[0].reason.contains("SECRET") && !verdicts[0].reason.contains("t0ken"),
            "{verdicts:?}"
        );
    }

    #[test]
    fn org_stale_members() {
        table(
            stale_members,
            vec![
                row(
                    "not on Enterprise Cloud: no audit log",
                    org().audit_log(Some(false)).members_unreadable(),
                    &[NA],
                )
                .says("Enterprise Cloud"),
                row("active yesterday", org(), &[Pass]),
                row(
                    "member quiet for 200 days",
                    org().members(vec![owner("alice"), member("bob").active_days_ago(200)]),
                    &[Pass, Fail],
                )
                .says("last active 200 days ago (limit 180)"),
                row(
                    "100 days: too long for an owner, fine for a member",
                    org().members(vec![
                        owner("alice").active_days_ago(100),
                        member("bob").active_days_ago(100),
                    ]),
                    &[Fail, Pass],
                )
                .says("limit 90"),
                row(
                    "no event in the log's retention",
                    org().members(vec![member("bob").never_seen()]),
                    &[Fail],
                )
                .says("180-day retention"),
                row(
                    "no event, limit longer than the retention",
                    org().members(vec![member("bob").never_seen()]),
                    &[Error],
                )
                .thresholds(|t| t.stale_member_days = 365),
                row("availability not determined", org().audit_log(None), &[Error]),
                row("audit log failed", org().gap(PART_AUDIT_LOG, "rate limited"), &[Error])
                    .says("rate limited"),
                row("members unreadable", org().members_unreadable(), &[Error]),
                row("no members", org().members(Vec::new()), &[NA]),
            ],
        );
    }

    // --- default-branch protection ---------------------------------------------------------

    fn acme(repo: Repository) -> GitHubSnapshot {
        org().with_repo(repo)
    }

    #[test]
    fn repo_default_branch_protected() {
        table(
            default_branch_protected,
            vec![
                row("classic rule", acme(repo("api")), &[Pass]),
                row("really unprotected", acme(repo("api").unprotected()), &[Fail]),
                row(
                    "protection unknown: no permission",
                    acme(repo("api").protection_unreadable()),
                    &[Error],
                )
                .says("may not read classic branch protection"),
                row(
                    "protection only via an active ruleset",
                    acme(repo("api").unprotected().ruleset(ruleset("main").pull_request(1))),
                    &[Pass],
                )
                .says("active ruleset 'main'"),
                row(
                    "an active ruleset settles it even when classic protection is unreadable",
                    acme(
                        repo("api")
                            .protection_unreadable()
                            .ruleset(ruleset("main").pull_request(0)),
                    ),
                    &[Pass],
                ),
                row(
                    "an evaluate-mode ruleset does not count",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").pull_request(1).evaluate()),
                    ),
                    &[Fail],
                )
                .says("its enforcement is evaluate"),
                row(
                    "a disabled ruleset does not count",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").pull_request(1).disabled()),
                    ),
                    &[Fail],
                ),
                row(
                    "an active ruleset without a pull_request rule",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").rule(RulesetRule::Deletion)),
                    ),
                    &[Fail],
                ),
                row(
                    "unprotected, rulesets unreadable",
                    acme(repo("api").unprotected().rulesets_unreadable()),
                    &[Error],
                ),
                row(
                    "archived repository skipped",
                    acme(repo("api").unprotected().archived()),
                    &[NA],
                )
                .says("archived"),
                row("empty repository", acme(repo("api").empty()), &[NA]).says("no default branch"),
                row("organisation with no repositories", org(), &[NA]).says("has no repositories"),
                row(
                    "repository list failed",
                    org().gap(PART_REPOSITORIES, "GraphQL timeout"),
                    &[Error],
                )
                .says("GraphQL timeout"),
                row(
                    "one repository's protection failed",
                    org()
                        .with_repo(repo("api"))
                        .with_repo(repo("web"))
                        .gap(&repo_gap_key(PART_BRANCH_PROTECTION, "acme/api"), "HTTP 500"),
                    &[Error, Pass],
                )
                .says("HTTP 500"),
                row(
                    "one verdict per repository",
                    org().with_repo(repo("api")).with_repo(repo("web").unprotected()),
                    &[Pass, Fail],
                ),
            ],
        );
    }

    #[test]
    fn repo_required_reviews() {
        table(
            required_reviews,
            vec![
                row("classic rule, one approval", acme(repo("api")), &[Pass])
                    .says("requires 1 approving review"),
                row(
                    "classic rule without reviews",
                    acme(repo("api").classic(rule().no_reviews())),
                    &[Fail],
                )
                .says("requires 0 approving reviews (at least 1 required)"),
                row("really unprotected", acme(repo("api").unprotected()), &[Fail]),
                row("one approval against a strict two", acme(repo("api")), &[Fail])
                    .thresholds(|t| t.required_approvals = 2),
                row(
                    "two approvals against a strict two",
                    acme(repo("api").classic(rule().approvals(2))),
                    &[Pass],
                )
                .thresholds(|t| t.required_approvals = 2),
                row(
                    "approvals are the larger of classic and ruleset",
                    acme(repo("api").ruleset(ruleset("main").pull_request(2))),
                    &[Pass],
                )
                .thresholds(|t| t.required_approvals = 2),
                row(
                    "classic without reviews, ruleset with one",
                    acme(
                        repo("api")
                            .classic(rule().no_reviews())
                            .ruleset(ruleset("main").pull_request(1)),
                    ),
                    &[Pass],
                ),
                row(
                    "an evaluate-mode ruleset's approvals do not count",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").pull_request(2).evaluate()),
                    ),
                    &[Fail],
                )
                .says("evaluate"),
                row("protection unknown", acme(repo("api").protection_unreadable()), &[Error]),
                row(
                    "protection unknown, ruleset with too few approvals",
                    acme(
                        repo("api")
                            .protection_unreadable()
                            .ruleset(ruleset("main").pull_request(0)),
                    ),
                    &[Error],
                ),
            ],
        );
    }

    #[test]
    fn repo_dismiss_stale_reviews() {
        table(
            dismiss_stale_reviews,
            vec![
                row("classic rule dismisses", acme(repo("api")), &[Pass]),
                row(
                    "classic rule keeps stale approvals",
                    acme(repo("api").classic(rule().keeps_stale_reviews())),
                    &[Fail],
                ),
                row(
                    "ruleset dismisses on push",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").pull_request_dismissing_stale(1)),
                    ),
                    &[Pass],
                ),
                row(
                    "ruleset requires reviews but keeps them",
                    acme(repo("api").unprotected().ruleset(ruleset("main").pull_request(1))),
                    &[Fail],
                ),
                row("protection unknown", acme(repo("api").protection_unreadable()), &[Error]),
            ],
        );
    }

    #[test]
    fn repo_enforce_admins() {
        table(
            enforce_admins,
            vec![
                row("classic rule binds admins", acme(repo("api")), &[Pass]),
                row(
                    "classic rule exempts admins",
                    acme(repo("api").classic(rule().admins_exempt())),
                    &[Fail],
                )
                .says("enforce_admins is off"),
                row(
                    "ruleset without bypass actors counts as enforce-admins",
                    acme(repo("api").unprotected().ruleset(ruleset("main").pull_request(1))),
                    &[Pass],
                )
                .says("nobody may bypass it"),
                row(
                    "ruleset with a bypass actor does not",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").pull_request(1).bypass("OrganizationAdmin")),
                    ),
                    &[Fail],
                )
                .says("bypassed by OrganizationAdmin"),
                row(
                    "ruleset whose bypass actors are hidden",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").pull_request(1).bypass_hidden()),
                    ),
                    &[Error],
                ),
                row(
                    "bypass-free ruleset that does not require reviews",
                    acme(
                        repo("api")
                            .classic(rule().admins_exempt())
                            .ruleset(ruleset("main").rule(RulesetRule::Deletion)),
                    ),
                    &[Fail],
                ),
                row(
                    "bypass-free ruleset in evaluate mode",
                    acme(
                        repo("api")
                            .classic(rule().admins_exempt())
                            .ruleset(ruleset("main").pull_request(1).evaluate()),
                    ),
                    &[Fail],
                ),
                row("really unprotected", acme(repo("api").unprotected()), &[Fail]),
                row("protection unknown", acme(repo("api").protection_unreadable()), &[Error]),
            ],
        );
    }

    #[test]
    fn repo_status_checks() {
        table(
            status_checks,
            vec![
                row("classic rule requires ci", acme(repo("api")), &[Pass]).says("requires ci"),
                row(
                    "classic rule lists no check",
                    acme(repo("api").classic(rule().status_checks(&[]))),
                    &[Fail],
                ),
                row(
                    "checks listed but not up to date when strict is asked",
                    acme(repo("api")),
                    &[Fail],
                )
                .thresholds(|t| t.require_up_to_date_branches = true)
                .says("not an up-to-date branch"),
                row(
                    "strict classic rule when strict is asked",
                    acme(repo("api").classic(rule().strict())),
                    &[Pass],
                )
                .thresholds(|t| t.require_up_to_date_branches = true),
                row(
                    "ruleset with named checks",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").status_checks(&["build"], false)),
                    ),
                    &[Pass],
                ),
                row(
                    "ruleset with an empty list requires nothing",
                    acme(
                        repo("api").unprotected().ruleset(ruleset("main").status_checks(&[], true)),
                    ),
                    &[Fail],
                ),
                row("protection unknown", acme(repo("api").protection_unreadable()), &[Error]),
            ],
        );
    }

    #[test]
    fn repo_no_force_push_delete() {
        let both = || ruleset("main").rule(RulesetRule::NonFastForward).rule(RulesetRule::Deletion);
        table(
            no_force_push_delete,
            vec![
                row("classic rule blocks both", acme(repo("api")), &[Pass]),
                row(
                    "classic rule allows force pushes",
                    acme(repo("api").classic(rule().force_pushes())),
                    &[Fail],
                )
                .says("allows force pushes"),
                row(
                    "classic rule allows deletion",
                    acme(repo("api").classic(rule().deletions())),
                    &[Fail],
                ),
                row(
                    "classic allows deletion, an active ruleset blocks it",
                    acme(
                        repo("api")
                            .classic(rule().deletions())
                            .ruleset(ruleset("main").rule(RulesetRule::Deletion)),
                    ),
                    &[Pass],
                ),
                row(
                    "ruleset blocks both",
                    acme(repo("api").unprotected().ruleset(both())),
                    &[Pass],
                ),
                row(
                    "ruleset blocks force pushes only",
                    acme(
                        repo("api")
                            .unprotected()
                            .ruleset(ruleset("main").rule(RulesetRule::NonFastForward)),
                    ),
                    &[Fail],
                )
                .says("no active ruleset blocks deletion"),
                row("really unprotected", acme(repo("api").unprotected()), &[Fail]),
                row(
                    "protection unknown, ruleset covers force pushes only",
                    acme(
                        repo("api")
                            .protection_unreadable()
                            .ruleset(ruleset("main").rule(RulesetRule::NonFastForward)),
                    ),
                    &[Error],
                ),
                row(
                    "protection unknown, ruleset covers both",
                    acme(repo("api").protection_unreadable().ruleset(both())),
                    &[Pass],
                ),
            ],
        );
    }

    #[test]
    fn repo_signed_commits() {
        let required = |t: &mut GitHubThresholds| t.require_signed_commits = true;
        table(
            signed_commits,
            vec![
                row("not required by configuration", acme(repo("api")), &[NA])
                    .says("require_signed_commits"),
                row(
                    "required and the classic rule requires them",
                    acme(repo("api").classic(rule().signed())),
                    &[Pass],
                )
                .thresholds(required),
                row("required but not enforced", acme(repo("api")), &[Fail]).thresholds(required),
                row(
                    "required and an active ruleset requires them",
                    acme(
                        repo("api").ruleset(ruleset("main").rule(RulesetRule::RequiredSignatures)),
                    ),
                    &[Pass],
                )
                .thresholds(required),
                row(
                    "required, protection unknown",
                    acme(repo("api").protection_unreadable()),
                    &[Error],
                )
                .thresholds(required),
            ],
        );
    }

    #[test]
    fn repo_recent_changes_reviewed() {
        table(
            recent_changes_reviewed,
            vec![
                row(
                    "every human change approved",
                    acme(repo("api").commits(vec![by("alice"), by("bob")])),
                    &[Pass],
                ),
                row(
                    "a direct push",
                    acme(
                        repo("api").commits(vec![
                            by("alice"),
                            by("bob").oid("abcdef0123").pushed_directly(),
                        ]),
                    ),
                    &[Fail],
                )
                .says("abcdef0 (pushed without a pull request)"),
                row(
                    "an unapproved pull request",
                    acme(repo("api").commits(vec![by("bob").unapproved_pr(12)])),
                    &[Fail],
                )
                .says("pull request #12 not approved"),
                row(
                    "bot commits are excluded",
                    acme(repo("api").commits(vec![bot(), by("alice"), bot()])),
                    &[Pass],
                )
                .says("(2 bot commits left out)"),
                row("only bot commits", acme(repo("api").commits(vec![bot(), bot()])), &[NA]),
                row("no commits", acme(repo("api").commits(Vec::new())), &[NA]),
                row(
                    "only the newest commits count",
                    acme(repo("api").commits(vec![
                        by("alice"),
                        by("bob"),
                        by("old").pushed_directly(),
                    ])),
                    &[Pass],
                )
                .thresholds(|t| t.recent_commits = 2),
                row("history unreadable", acme(repo("api").commits_unreadable()), &[Error]),
                row("empty repository", acme(repo("api").empty()), &[NA]),
            ],
        );
    }

    // --- other repository checks -----------------------------------------------------------

    #[test]
    fn repo_secret_scanning() {
        table(
            secret_scanning,
            vec![
                row("both on", acme(repo("api")), &[Pass]),
                row("push protection off", acme(repo("api").security(true, false)), &[Fail])
                    .says("push protection off"),
                row("both off", acme(repo("api").security(false, false)), &[Fail])
                    .says("secret scanning and push protection off"),
                row(
                    "admin-only field not returned",
                    acme(repo("api").security_unreadable()),
                    &[Error],
                )
                .says("only to repository admins"),
                row(
                    "archived repository skipped",
                    acme(repo("api").security(false, false).archived()),
                    &[NA],
                ),
            ],
        );
    }

    #[test]
    fn repo_dependabot_enabled() {
        table(
            dependabot_enabled,
            vec![
                row("on", acme(repo("api")), &[Pass]),
                row("off", acme(repo("api").dependabot(Some(false))), &[Fail]),
                row("unknown", acme(repo("api").dependabot(None)), &[Error]),
            ],
        );
    }

    #[test]
    fn repo_vuln_sla() {
        use AlertSeverity::{Critical, High, Medium};
        table(
            vuln_sla,
            vec![
                row("no open alerts", acme(repo("api")), &[Pass]),
                row("critical, 15 days old", acme(repo("api").alert(Critical, 15)), &[Pass]),
                row("critical, 16 days old", acme(repo("api").alert(Critical, 16)), &[Fail])
                    .says("#1 critical open 16 days (limit 15)"),
                row("high, 30 days old", acme(repo("api").alert(High, 30)), &[Pass]),
                row("high, 31 days old", acme(repo("api").alert(High, 31)), &[Fail]),
                row("medium alerts are not timed", acme(repo("api").alert(Medium, 400)), &[Pass]),
                row(
                    "critical 20 days under a 30-day SLA",
                    acme(repo("api").alert(Critical, 20)),
                    &[Pass],
                )
                .thresholds(|t| t.vuln_sla_critical_days = 30),
                row("alerts unreadable", acme(repo("api").alerts_unreadable()), &[Error]),
                row(
                    "alerts off, so none to time",
                    acme(repo("api").dependabot(Some(false))),
                    &[NA],
                ),
                row(
                    "no alerts, but whether alerts are on is unknown",
                    acme(repo("api").dependabot(None)),
                    &[Error],
                ),
                row(
                    "an overdue alert fails even if the status is unknown",
                    acme(repo("api").dependabot(None).alert(High, 90)),
                    &[Fail],
                ),
            ],
        );
    }

    #[test]
    fn repo_secret_alerts_open() {
        table(
            secret_alerts_open,
            vec![
                row("no open alerts", acme(repo("api")), &[Pass]),
                row("a fresh alert", acme(repo("api").secret_alert(3)), &[Pass]),
                row("an alert open 8 days", acme(repo("api").secret_alert(8)), &[Fail])
                    .says("older than 7 days"),
                row("8 days under a 10-day limit", acme(repo("api").secret_alert(8)), &[Pass])
                    .thresholds(|t| t.secret_alert_max_age_days = 10),
                row("alerts unreadable", acme(repo("api").secret_alerts_unreadable()), &[Error]),
                row(
                    "secret scanning off, so no alerts",
                    acme(repo("api").security(false, false)),
                    &[NA],
                ),
                row(
                    "no alerts, scanning status unknown",
                    acme(repo("api").security_unreadable()),
                    &[Error],
                ),
            ],
        );
    }

    #[test]
    fn repo_outside_collab_no_admin() {
        table(
            outside_collab_no_admin,
            vec![
                row("no outside collaborators", acme(repo("api")), &[Pass]),
                row(
                    "an outside collaborator with write",
                    acme(repo("api").outside("eve", RepoPermission::Write)),
                    &[Pass],
                ),
                row(
                    "an outside collaborator with admin",
                    acme(repo("api").outside("eve", RepoPermission::Admin)),
                    &[Fail],
                )
                .says("eve"),
                row("collaborators unreadable", acme(repo("api").outside_unreadable()), &[Error]),
            ],
        );
    }

    #[test]
    fn repo_public_allowlisted() {
        let allow = |t: &mut GitHubThresholds| {
            t.public_repo_allowlist = vec!["acme/site".to_string(), "WEBSITE".to_string()]
        };
        table(
            public_allowlisted,
            vec![
                row("no public repositories", acme(repo("api")), &[NA])
                    .says("no public repositories"),
                row("organisation with no repositories", org(), &[NA]),
                row("public and not allowed", acme(repo("api").public()), &[Fail]),
                row("allowed by full name", acme(repo("site").public()), &[Pass]).thresholds(allow),
                row("allowed by bare name, any case", acme(repo("website").public()), &[Pass])
                    .thresholds(allow),
                row(
                    "private repositories are not judged",
                    org().with_repo(repo("api")).with_repo(repo("site").public()),
                    &[Pass],
                )
                .thresholds(allow),
                row(
                    "an archived public repository is still public",
                    acme(repo("old").public().archived()),
                    &[Fail],
                )
                .says("public (archived)"),
                row(
                    "repository list failed",
                    org().gap(PART_REPOSITORIES, "GraphQL timeout"),
                    &[Error],
                ),
            ],
        );
    }

    #[test]
    fn reasons_list_a_few_items_then_count_the_rest() {
        let items: Vec<String> = (1..=7).map(|i| format!("#{i}")).collect();
        assert_eq!(listing(&items), "#1, #2, #3, #4, #5 and 2 more");
        assert_eq!(listing(&items[..2]), "#1, #2");
        assert_eq!(url_host("https://hooks.example.com:8443/a?b"), "hooks.example.com:8443");
        assert_eq!(url_host("not a url"), "not a url");
    }
}
