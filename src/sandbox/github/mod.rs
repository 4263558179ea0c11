//! A synthetic GitHub organisation for benchmarks and demos: [`generated`] builds a
//! [`GitHubSnapshot`] of any size, deterministically (every property is a pattern of the
//! member's or repository's index, no randomness), with a realistic mix of good and bad
//! configuration: most repositories are protected by a classic rule, some only by a ruleset, some
//! not at all, some unreadable; a few members lack 2FA or have gone quiet; alerts of every age.
//!
//! All times are relative to [`observed_at`], so judging at that instant gives stable results.
//!
//! The served sandbox: [`world`] holds the simulated organisation (a story-like builder and
//! [`world::generated_world`] for the performance run and `kushim demo`), [`server`] serves it in
//! GitHub's wire format ([`server::start`]) for the real `octocrab` client.

pub mod server;
pub mod world;

pub use server::{FakeGitHub, start};
pub use world::{GitHubOrg, generated_world};

use chrono::{DateTime, TimeDelta, Utc};

use super::as_of;
use crate::integrations::github::{
    AlertSeverity, BasePermission, BypassActor, ClassicProtection, ClassicRule, Collaborator,
    DefaultBranch, DependabotAlert, GitHubSnapshot, Member, OrgRole, OrgSettings, RecentCommit,
    RepoPermission, Repository, Ruleset, RulesetEnforcement, RulesetRule, SecretScanningAlert,
    SecurityAndAnalysis, Visibility, Webhook, WorkflowPermissions, WorkflowTokenPermission,
};

/// The organisation login of the synthetic organisation.
pub const ORG: &str = "acme";

/// Commits per default branch: enough to exercise the review check without bloating the
/// benchmark's memory.
const COMMITS_PER_BRANCH: usize = 10;

/// A synthetic organisation with `resources` judged resources in total: one member for every
/// five resources (at least one), repositories for the rest.
pub fn generated(resources: usize) -> GitHubSnapshot {
    let members = (resources / 5).max(1).min(resources);
    let repos = resources - members;
    GitHubSnapshot {
        org: ORG.to_string(),
        settings: Some(OrgSettings {
            // Not required, which is how members without 2FA can exist: GitHub removes them from
            // organisations that require it.
            two_factor_requirement_enabled: Some(false),
            default_repository_permission: Some(BasePermission::Read),
            // Another organisation-level finding.
            members_can_create_public_repositories: Some(true),
        }),
        members: Some((0..members).map(member).collect()),
        // Every 97th member and a couple of outside collaborators without 2FA.
        members_2fa_disabled: Some((0..members).filter(|i| i % 97 == 96).map(login).collect()),
        outside_collaborators_2fa_disabled: Some(vec![
            "contractor-7".to_string(),
            "agency-bot".to_string(),
        ]),
        audit_log_available: Some(true),
        webhooks: Some((0..3).map(|k| webhook(k, k)).collect()),
        workflow_permissions: Some(WorkflowPermissions {
            default_workflow_permissions: WorkflowTokenPermission::Read,
            can_approve_pull_request_reviews: false,
        }),
        repos: (0..repos).map(repository).collect(),
        gaps: Default::default(),
    }
}

fn login(i: usize) -> String {
    format!("user{i:05}")
}

fn days_ago(days: usize) -> DateTime<Utc> {
    as_of() - TimeDelta::days(days as i64)
}

/// Every 50th member is an owner (so a large organisation has too many); every 11th has no
/// audit-log event; the rest were last active 0–239 days ago.
fn member(i: usize) -> Member {
    Member {
        login: login(i),
        role: if i.is_multiple_of(50) { OrgRole::Admin } else { OrgRole::Member },
        last_active: (i % 11 != 10).then(|| days_ago(i * 37 % 240)),
    }
}

/// Webhook `k` of a resource with index `i`: every 8th has no secret, every 19th skips TLS
/// verification; the others carry GitHub's mask for a set secret.
fn webhook(i: usize, k: usize) -> Webhook {
    Webhook {
        id: (i * 10 + k) as u64 + 1,
        url: format!("https://hooks.example.com/{i}/{k}"),
        active: true,
        secret: (!(i + k).is_multiple_of(8)).then(|| "********".to_string()),
        insecure_ssl: if (i + k).is_multiple_of(19) { "1" } else { "0" }.to_string(),
    }
}

fn repository(i: usize) -> Repository {
    Repository {
        name_with_owner: format!("{ORG}/repo-{i:05}"),
        visibility: match i % 20 {
            0 => Visibility::Public,
            3 | 13 => Visibility::Internal,
            _ => Visibility::Private,
        },
        is_archived: i % 25 == 24,
        is_fork: i % 30 == 29,
        default_branch: (i % 50 != 49).then(|| default_branch(i)),
        security_and_analysis: (!i.is_multiple_of(17)).then_some(SecurityAndAnalysis {
            secret_scanning: i % 4 != 1,
            secret_scanning_push_protection: i % 3 != 1,
            dependabot_security_updates: i.is_multiple_of(2),
        }),
        dependabot_alerts_enabled: Some(i % 9 != 5),
        dependabot_alerts: Some((0..i % 4).map(|k| dependabot_alert(i, k)).collect()),
        secret_scanning_alerts: Some(if i.is_multiple_of(15) {
            vec![SecretScanningAlert {
                number: 1,
                secret_type: "github_personal_access_token".to_string(),
                created_at: days_ago(i % 20),
            }]
        } else {
            Vec::new()
        }),
        outside_collaborators: Some(
            (0..i % 3)
                .map(|k| Collaborator {
                    login: format!("contractor-{k}"),
                    permission: if i.is_multiple_of(40) {
                        RepoPermission::Admin
                    } else {
                        RepoPermission::Write
                    },
                })
                .collect(),
        ),
        webhooks: Some((0..i % 3).map(|k| webhook(i, k)).collect()),
        workflow_permissions: Some(WorkflowPermissions {
            default_workflow_permissions: if i.is_multiple_of(12) {
                WorkflowTokenPermission::Write
            } else {
                WorkflowTokenPermission::Read
            },
            can_approve_pull_request_reviews: i.is_multiple_of(33),
        }),
    }
}

fn dependabot_alert(i: usize, k: usize) -> DependabotAlert {
    DependabotAlert {
        number: k as u64 + 1,
        severity: [
            AlertSeverity::Critical,
            AlertSeverity::High,
            AlertSeverity::Medium,
            AlertSeverity::Low,
        ][(i + k) % 4],
        created_at: days_ago((i * 7 + k * 11) % 60),
    }
}

/// Protection by the last digit of the index: 0–5 a classic rule (one in three with two
/// approvals, enforced on admins, signed commits), 6 only an active ruleset (every other one with
/// a bypass actor), 7 unprotected but with an `evaluate`-mode ruleset, 8 unreadable, 9 a weak
/// classic rule (no reviews, force pushes allowed).
fn default_branch(i: usize) -> DefaultBranch {
    let (protection, rulesets) = match i % 10 {
        0..=5 => (ClassicProtection::Protected(good_rule(i)), Some(Vec::new())),
        6 => (ClassicProtection::NotProtected, Some(vec![ruleset(i, RulesetEnforcement::Active)])),
        7 => {
            (ClassicProtection::NotProtected, Some(vec![ruleset(i, RulesetEnforcement::Evaluate)]))
        }
        8 => (ClassicProtection::NoPermission, None),
        _ => (
            ClassicProtection::Protected(ClassicRule {
                allows_force_pushes: true,
                ..ClassicRule::default()
            }),
            Some(Vec::new()),
        ),
    };
    DefaultBranch {
        name: if i.is_multiple_of(6) { "master" } else { "main" }.to_string(),
        protection,
        rulesets,
        recent_commits: Some((0..COMMITS_PER_BRANCH).map(|j| commit(i, j)).collect()),
    }
}

fn good_rule(i: usize) -> ClassicRule {
    let strict = i.is_multiple_of(3);
    ClassicRule {
        requires_approving_reviews: true,
        required_approving_review_count: if strict { 2 } else { 1 },
        dismisses_stale_reviews: i % 4 != 2,
        requires_code_owner_reviews: strict,
        is_admin_enforced: strict,
        requires_status_checks: i % 5 != 4,
        required_status_checks: if i % 5 != 4 {
            vec!["ci/build".to_string(), "ci/test".to_string()]
        } else {
            Vec::new()
        },
        requires_strict_status_checks: strict,
        requires_commit_signatures: strict,
        allows_force_pushes: false,
        allows_deletions: i % 7 == 6,
    }
}

fn ruleset(i: usize, enforcement: RulesetEnforcement) -> Ruleset {
    Ruleset {
        id: i as u64,
        name: "protect-default".to_string(),
        enforcement,
        bypass_actors: Some(if i % 20 < 10 {
            Vec::new()
        } else {
            vec![BypassActor {
                actor_type: "OrganizationAdmin".to_string(),
                actor_id: None,
                bypass_mode: "always".to_string(),
            }]
        }),
        rules: vec![
            RulesetRule::PullRequest {
                required_approving_review_count: 1,
                dismiss_stale_reviews_on_push: true,
                require_code_owner_review: false,
                require_last_push_approval: false,
            },
            RulesetRule::RequiredStatusChecks { contexts: vec!["ci".to_string()], strict: false },
            RulesetRule::NonFastForward,
            RulesetRule::Deletion,
        ],
    }
}

/// Commit `j` of repository `i`: every fifth by a bot; every 37th (by index sum) not approved,
/// half of those pushed without a pull request.
fn commit(i: usize, j: usize) -> RecentCommit {
    let approved = !(i + j).is_multiple_of(37);
    let seed = (i as u64)
        .wrapping_mul(1_000_003)
        .wrapping_add(j as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    RecentCommit {
        oid: format!("{seed:016x}{:016x}{:08x}", seed.rotate_left(17), seed >> 32),
        committed_at: days_ago(j * 2),
        author: Some(if j % 5 == 4 { "dependabot[bot]".to_string() } else { login(i % 40) }),
        author_is_bot: j % 5 == 4,
        pull_request: (approved || j.is_multiple_of(2)).then_some((i * 10 + j) as u64),
        approved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{CheckContext, Judge, Outcome, github::CHECKS};

    #[test]
    fn produces_the_requested_number_of_resources() {
        for resources in [1, 10, 1_000, 10_000] {
            let snapshot = generated(resources);
            let members = snapshot.members.as_ref().map_or(0, Vec::len);
            assert_eq!(members + snapshot.repos.len(), resources, "for {resources} resources");
        }
    }

    #[test]
    fn is_deterministic() {
        assert_eq!(generated(500), generated(500));
    }

    #[test]
    fn every_check_finds_something_and_the_whole_run_both_passes_and_fails() {
        let snapshot = generated(2_000);
        let ctx = CheckContext::new(as_of());
        let mut outcomes = Vec::new();
        for check in CHECKS {
            let Judge::GitHub(judge) = check.judge else {
                panic!("{} is not a GitHub check", check.id)
            };
            let verdicts = judge(&snapshot, &ctx);
            assert!(!verdicts.is_empty(), "{} returned no verdict", check.id);
            outcomes.extend(verdicts.iter().map(|v| v.outcome));
        }
        assert!(outcomes.contains(&Outcome::Pass), "no check passed anything");
        assert!(outcomes.contains(&Outcome::Fail), "no check failed anything");
    }
}
