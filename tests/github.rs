//! The GitHub collector, through the real `octocrab` client, against the in-process fake GitHub
//! (`kushim::sandbox::github`): stories of organisations and the findings a person expects,
//! paging, conditional requests, GitHub App authentication, and every fault the collector must
//! survive with a clear error.

mod support;

use std::time::{Duration, Instant};
use support::{collected as data, failure};

use kushim::{
    checks::{CheckContext, Finding, Outcome, run_checks},
    config::{GitHubAuth, GitHubSettings, Secret},
    integrations::{
        Integration, Snapshot,
        collect::{Collection, RetryPolicy},
        github::{
            EtagCache, GitHubSnapshot, PART_ORG_WEBHOOKS, PART_ORG_WORKFLOW_PERMISSIONS,
            PART_OUTSIDE_COLLABORATORS, PART_RULESETS, collect, doctor, repo_gap_key,
        },
    },
    sandbox::{
        github::{FakeGitHub, GitHubOrg, start},
        serve::Fault,
    },
};

const APP_KEY: &str = include_str!("fixtures/github-app-test-key.pem");
const APP_PUBLIC_KEY: &str = include_str!("fixtures/github-app-test-key.pub.pem");

/// Retries quickly; a server may ask for at most 2 s.
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_server_wait: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    }
}

/// A small organisation that is well configured except where a test says otherwise.
fn acme() -> GitHubOrg {
    GitHubOrg::new("acme")
        .with_member("alice", |m| m.owner())
        .with_member("carol", |m| m)
        .with_repo("api", |r| r)
        .with_repo("web", |r| r)
}

async fn serve(world: GitHubOrg) -> FakeGitHub {
    start(world).await.expect("the fake GitHub starts")
}

fn judge(
    collection: &Collection<GitHubSnapshot>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Finding> {
    let snapshot = Snapshot { github: collection.source.clone(), ..Snapshot::default() };
    run_checks(&snapshot, Integration::GitHub, &CheckContext::new(now))
}

fn finding<'a>(findings: &'a [Finding], check: &str, resource: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check_id == check && f.resource == resource)
        .unwrap_or_else(|| panic!("no {check} finding for {resource}"))
}

fn requests_to(fake: &FakeGitHub, path: &str) -> usize {
    fake.recorder.requests().iter().filter(|r| r.uri.split('?').next() == Some(path)).count()
}

#[tokio::test]
async fn a_story_organisation_gives_the_findings_a_person_expects() {
    let fake = serve(
        acme()
            .with_member("bob", |m| m.without_2fa())
            .with_hook("https://hooks.example.com/no-secret", |h| h.without_secret())
            .with_repo("legacy", |r| r.unprotected())
            .with_repo("website", |r| r.public())
            .with_repo("infra", |r| r.with_outside_collaborator("mallory", "ADMIN"))
            .with_repo("billing", |r| {
                r.with_dependabot_alert("CRITICAL", 40).with_secret_alert("aws_access_key_id", 10)
            })
            .with_repo("scripts", |r| r.with_direct_push("dave").workflow_token_write())
            .with_repo("old", |r| r.archived()),
    )
    .await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.repos.len(), 8);

    let findings = judge(&collection, fake.now());
    let errors: Vec<_> = findings.iter().filter(|f| f.outcome == Outcome::Error).collect();
    assert!(errors.is_empty(), "nothing was missing, yet: {errors:#?}");

    let legacy = finding(&findings, "gh.repo.default_branch_protected", "repo:acme/legacy");
    assert_eq!(legacy.outcome, Outcome::Fail);
    assert!(
        legacy.reason.contains("default branch main: no classic protection rule"),
        "{}",
        legacy.reason
    );
    assert_eq!(
        finding(&findings, "gh.repo.default_branch_protected", "repo:acme/api").outcome,
        Outcome::Pass
    );
    assert_eq!(finding(&findings, "gh.org.members_2fa", "github-user:bob").outcome, Outcome::Fail);
    assert_eq!(finding(&findings, "gh.org.2fa_required", "org:acme").outcome, Outcome::Pass);
    let hook = findings
        .iter()
        .find(|f| f.check_id == "gh.org.webhooks_secure" && f.outcome == Outcome::Fail)
        .expect("the hook without a secret fails");
    assert!(
        hook.reason.contains("hooks.example.com") && hook.reason.contains("no secret"),
        "{}",
        hook.reason
    );
    let infra = finding(&findings, "gh.repo.outside_collab_no_admin", "repo:acme/infra");
    assert_eq!(infra.outcome, Outcome::Fail);
    assert!(infra.reason.contains("mallory"));
    assert_eq!(finding(&findings, "gh.repo.vuln_sla", "repo:acme/billing").outcome, Outcome::Fail);
    assert_eq!(
        finding(&findings, "gh.repo.secret_alerts_open", "repo:acme/billing").outcome,
        Outcome::Fail
    );
    let scripts = finding(&findings, "gh.repo.recent_changes_reviewed", "repo:acme/scripts");
    assert_eq!(scripts.outcome, Outcome::Fail);
    assert!(scripts.reason.contains("pushed without a pull request"), "{}", scripts.reason);
    assert_eq!(
        finding(&findings, "gh.org.workflow_token_readonly", "repo:acme/scripts").outcome,
        Outcome::Fail
    );
    assert_eq!(
        finding(&findings, "gh.repo.public_allowlisted", "repo:acme/website").outcome,
        Outcome::Fail
    );
    assert_eq!(
        finding(&findings, "gh.repo.secret_scanning", "repo:acme/old").outcome,
        Outcome::NotApplicable
    );
    // Not on Enterprise Cloud: no audit log, so staleness does not apply.
    assert_eq!(
        finding(&findings, "gh.org.stale_members", "org:acme").outcome,
        Outcome::NotApplicable
    );

    let requests = fake.recorder.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer ghp_")))
    );
    assert_eq!(collection.api_calls, requests.len() as u64);
}

#[tokio::test]
async fn rulesets_and_the_audit_log_are_read_where_they_exist() {
    let fake = serve(
        acme()
            .enterprise_cloud()
            .with_member("quiet", |m| m.never_active())
            .with_repo("ruled", |r| {
                r.unprotected().with_ruleset("protect", |rs| {
                    rs.require_pull_request(2)
                        .require_status_checks(&["ci"])
                        .block_force_pushes()
                        .block_deletion()
                })
            })
            .with_repo("evaluating", |r| {
                r.unprotected().with_ruleset("trial", |rs| rs.require_pull_request(1).evaluate())
            })
            .with_repo("release-only", |r| {
                r.unprotected().with_ruleset("releases", |rs| {
                    rs.require_pull_request(1).targeting("refs/heads/release/*")
                })
            })
            .with_repo("hidden", |r| r.not_admin()),
    )
    .await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.audit_log_available, Some(true));
    let findings = judge(&collection, fake.now());

    assert_eq!(
        finding(&findings, "gh.repo.default_branch_protected", "repo:acme/ruled").outcome,
        Outcome::Pass
    );
    assert_eq!(
        finding(&findings, "gh.repo.enforce_admins", "repo:acme/ruled").outcome,
        Outcome::Pass
    );
    let trial = finding(&findings, "gh.repo.default_branch_protected", "repo:acme/evaluating");
    assert_eq!(trial.outcome, Outcome::Fail);
    assert!(trial.reason.contains("enforcement is evaluate"), "{}", trial.reason);
    assert_eq!(
        finding(&findings, "gh.repo.default_branch_protected", "repo:acme/release-only").outcome,
        Outcome::Fail
    );
    // Without admin GitHub hides protection: an error, never a pass.
    let hidden = finding(&findings, "gh.repo.default_branch_protected", "repo:acme/hidden");
    assert_eq!(hidden.outcome, Outcome::Error);
    assert!(hidden.reason.contains("may not read classic branch protection"), "{}", hidden.reason);
    assert_eq!(
        finding(&findings, "gh.org.stale_members", "github-user:quiet").outcome,
        Outcome::Fail
    );
    assert_eq!(
        finding(&findings, "gh.org.stale_members", "github-user:alice").outcome,
        Outcome::Pass
    );
}

#[tokio::test]
async fn a_github_app_authenticates_with_a_signed_jwt_then_its_installation_token() {
    let fake = serve(acme().with_app(4242, 777, APP_PUBLIC_KEY)).await;
    let settings = GitHubSettings {
        auth: GitHubAuth::App {
            app_id: 4242,
            private_key: Secret::new(APP_KEY),
            installation_id: 777,
        },
        ..fake.settings()
    };
    let collection = collect(&settings, &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.repos.len(), 2);

    let requests = fake.recorder.requests();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].uri, "/app/installations/777/access_tokens");
    assert!(requests[0].authorization.as_deref().is_some_and(|a| a.starts_with("Bearer eyJ")));
    assert_eq!(
        requests.iter().filter(|r| r.uri.starts_with("/app/")).count(),
        1,
        "one token for the run"
    );
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer ghs_")))
    );
    assert_eq!(collection.api_calls, requests.len() as u64);

    let wrong_app = GitHubSettings {
        auth: GitHubAuth::App {
            app_id: 9999,
            private_key: Secret::new(APP_KEY),
            installation_id: 777,
        },
        ..fake.settings()
    };
    let reason = failure(&collect(&wrong_app, &quick(), &EtagCache::new()).await).to_string();
    assert!(
        reason.contains("github rejected the credentials") && reason.contains("App 9999"),
        "{reason}"
    );
}

#[tokio::test]
async fn repositories_come_in_graphql_pages_of_fifty_not_one_call_each() {
    let world = (0..120).fold(acme(), |org, i| org.with_repo(&format!("svc-{i:03}"), |r| r));
    let fake = serve(world).await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    assert_eq!(snapshot.repos.len(), 122);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    // 122 repositories: 3 OrgRepos pages, 1 OrgArchivedRepos, 1 OrgMembers.
    assert_eq!(requests_to(&fake, "/graphql"), 5);
}

#[tokio::test]
async fn rest_lists_follow_link_headers_across_pages() {
    let world = (0..150)
        .fold(acme(), |org, i| org.with_member(&format!("intern{i:03}"), |m| m.without_2fa()));
    let world = (0..130)
        .fold(world, |org, i| org.with_hook(&format!("https://hooks.example.com/{i}"), |h| h));
    let fake = serve(world).await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    assert_eq!(snapshot.members_2fa_disabled.as_ref().map(Vec::len), Some(150));
    assert_eq!(snapshot.webhooks.as_ref().map(Vec::len), Some(130));
    assert_eq!(snapshot.members.as_ref().map(Vec::len), Some(152));
    let uris: Vec<String> = fake.recorder.requests().into_iter().map(|r| r.uri).collect();
    assert!(
        uris.iter().any(|u| u.starts_with("/orgs/acme/members?") && u.contains("page=2")),
        "{uris:?}"
    );
    assert!(
        uris.iter().any(|u| u.starts_with("/orgs/acme/hooks?") && u.contains("page=2")),
        "{uris:?}"
    );
}

#[tokio::test]
async fn a_second_run_revalidates_with_etags_and_spends_fewer_points() {
    let fake = serve(acme().with_hook("https://hooks.example.com/a", |h| h)).await;
    let first_cache = EtagCache::new();
    let first = collect(&fake.settings(), &quick(), &first_cache).await;
    let (core_first, _) = fake.rate_limit_used();
    assert!(!first_cache.is_empty());

    // The caller keeps the cache between runs, e.g. as JSON.
    let kept: EtagCache =
        serde_json::from_str(&serde_json::to_string(&first_cache).unwrap()).unwrap();
    fake.recorder.clear_requests();
    let second = collect(&fake.settings(), &quick(), &kept).await;
    let (core_both, _) = fake.rate_limit_used();

    assert_eq!(data(&first), data(&second));
    let conditional = fake.recorder.requests().iter().filter(|r| r.if_none_match.is_some()).count();
    // Organisation, its hooks and workflow permissions; per repository its settings, hooks,
    // workflow permissions and rulesets.
    assert_eq!(conditional, 3 + 2 * 4);
    assert!(
        core_both - core_first < core_first,
        "second run {} points, first {core_first}",
        core_both - core_first
    );
}

#[tokio::test]
async fn wrong_credentials_fail_the_run_and_say_how_to_renew_the_token() {
    let fake = serve(acme()).await;
    let settings =
        GitHubSettings { auth: GitHubAuth::Token(Secret::new("ghp_revoked")), ..fake.settings() };
    let collection = collect(&settings, &quick(), &EtagCache::new()).await;
    let reason = failure(&collection);
    assert!(reason.starts_with("github rejected the credentials"), "{reason}");
    assert!(reason.contains("Bad credentials") && reason.contains("GITHUB_TOKEN"), "{reason}");
    assert_eq!(collection.api_calls, 1, "a 401 is not retried");

    let findings = judge(&collection, fake.now());
    assert!(
        findings
            .iter()
            .all(|f| f.outcome == Outcome::Error && f.reason.contains("Bad credentials"))
    );
}

#[tokio::test]
async fn a_missing_scope_is_named_and_the_rest_is_kept() {
    let fake = serve(acme().token_scopes(&["repo", "read:org", "security_events"])).await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    let hooks = &snapshot.gaps[PART_ORG_WEBHOOKS];
    assert!(hooks.contains("missing the admin:org_hook scope"), "{hooks}");
    assert!(hooks.contains("the token has: repo, read:org, security_events"), "{hooks}");
    assert!(snapshot.gaps[PART_ORG_WORKFLOW_PERMISSIONS].contains("admin:org"));
    assert_eq!(snapshot.repos.len(), 2);
    assert!(snapshot.repos.iter().all(|r| r.webhooks.is_some()), "repo hooks need only repo");

    let findings = judge(&collection, fake.now());
    let org_hooks = finding(&findings, "gh.org.webhooks_secure", "org:acme");
    assert_eq!(org_hooks.outcome, Outcome::Error);
    assert!(org_hooks.reason.contains("admin:org_hook"));
}

#[tokio::test]
async fn malformed_json_is_a_gap_naming_the_call() {
    let fake = serve(acme()).await;
    fake.recorder.inject("/orgs/acme/actions", Fault::Malformed, Some(1));
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    let gap = &snapshot.gaps[PART_ORG_WORKFLOW_PERMISSIONS];
    assert!(
        gap.starts_with(
            "github: unexpected response to GET /orgs/{org}/actions/permissions/workflow"
        ),
        "{gap}"
    );
    assert_eq!(snapshot.gaps.len(), 1, "{:?}", snapshot.gaps);
    assert!(snapshot.settings.is_some() && snapshot.repos.len() == 2);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_as_retry_after_says() {
    let fake = serve(acme()).await;
    fake.recorder.inject(
        "/orgs/acme/hooks",
        Fault::RateLimited { retry_after_seconds: 1 },
        Some(1),
    );
    let started = Instant::now();
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    assert!(data(&collection).gaps.is_empty(), "{:?}", data(&collection).gaps);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
    assert_eq!(requests_to(&fake, "/orgs/acme/hooks"), 2);
    assert_eq!(collection.api_calls, fake.recorder.requests().len() as u64);

    // A storm that does not end: give up after the policy's attempts and say when to return.
    fake.recorder.clear_requests();
    fake.recorder.inject("/orgs/acme/hooks", Fault::RateLimited { retry_after_seconds: 1 }, None);
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let gap = &data(&collection).gaps[PART_ORG_WEBHOOKS];
    assert!(
        gap.contains(
            "kept rate-limiting GET /orgs/{org}/hooks after 3 attempts; try again after 1s"
        ),
        "{gap}"
    );
    assert_eq!(requests_to(&fake, "/orgs/acme/hooks"), 3);
}

#[tokio::test]
async fn an_exhausted_hourly_limit_stops_the_calls_instead_of_hammering() {
    let fake = serve(acme().rate_limit(4)).await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    let rate_limited: Vec<&String> =
        snapshot.gaps.values().filter(|g| g.contains("kept rate-limiting")).collect();
    assert!(!rate_limited.is_empty(), "{:?}", snapshot.gaps);
    assert!(rate_limited.iter().all(|g| g.contains("try again after")));
    // Four answered calls, then each part learns the limit once and stops.
    assert!(fake.recorder.requests().len() < 30, "{} requests", fake.recorder.requests().len());
}

#[tokio::test]
async fn server_errors_are_retried_until_github_answers() {
    let fake = serve(acme()).await;
    fake.recorder.inject("/graphql", Fault::ServerError(502), Some(2));
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    assert!(data(&collection).gaps.is_empty(), "{:?}", data(&collection).gaps);
    assert_eq!(requests_to(&fake, "/graphql"), 3 + 2);
    assert_eq!(collection.api_calls, fake.recorder.requests().len() as u64);

    fake.recorder.inject("/repos/acme/web/hooks", Fault::ServerError(500), None);
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let gap = &data(&collection).gaps[&repo_gap_key("repo_webhooks", "acme/web")];
    assert_eq!(gap, "github answered GET /repos/{owner}/{repo}/hooks with HTTP 500: Server Error");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_a_gap() {
    let fake = serve(acme()).await;
    fake.recorder.inject("/orgs/acme/hooks", Fault::Slow(Duration::from_secs(2)), None);
    let policy =
        RetryPolicy { request_timeout: Duration::from_millis(200), max_attempts: 2, ..quick() };
    let collection = collect(&fake.settings(), &policy, &EtagCache::new()).await;
    let snapshot = data(&collection);
    assert_eq!(
        snapshot.gaps[PART_ORG_WEBHOOKS],
        "github: GET /orgs/{org}/hooks timed out after 1s"
    );
    assert_eq!(snapshot.gaps.len(), 1);
    assert_eq!(requests_to(&fake, "/orgs/acme/hooks"), 2);
}

#[tokio::test]
async fn one_repositorys_forbidden_rulesets_leave_a_gap_and_keep_the_rest() {
    let fake = serve(acme().with_repo("legacy", |r| r.unprotected())).await;
    fake.recorder.inject("/repos/acme/legacy/rulesets", Fault::Forbidden, None);
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    let gap = &snapshot.gaps[&repo_gap_key(PART_RULESETS, "acme/legacy")];
    assert!(
        gap.contains("denied GET /repos/{owner}/{repo}/rulesets: missing the repo scope"),
        "{gap}"
    );
    assert_eq!(snapshot.gaps.len(), 1);
    let api = snapshot.repos.iter().find(|r| r.name_with_owner == "acme/api").unwrap();
    assert_eq!(
        api.default_branch.as_ref().and_then(|b| b.rulesets.as_ref()).map(Vec::len),
        Some(0)
    );

    let findings = judge(&collection, fake.now());
    let legacy = finding(&findings, "gh.repo.default_branch_protected", "repo:acme/legacy");
    assert_eq!(legacy.outcome, Outcome::Error, "unreadable rulesets might protect it");
    assert!(legacy.reason.contains("rulesets could not be collected"), "{}", legacy.reason);
    assert_eq!(
        finding(&findings, "gh.repo.default_branch_protected", "repo:acme/api").outcome,
        Outcome::Pass
    );
}

#[tokio::test]
async fn a_graphql_field_github_refuses_is_a_gap_of_that_repository_only() {
    let fake = serve(acme().with_repo("vendor", |r| r.collaborators_hidden())).await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let snapshot = data(&collection);
    let gap = &snapshot.gaps[&repo_gap_key(PART_OUTSIDE_COLLABORATORS, "acme/vendor")];
    assert!(gap.contains("Must have push access"), "{gap}");
    assert_eq!(snapshot.gaps.len(), 1);
    assert!(
        snapshot
            .repos
            .iter()
            .filter(|r| r.name_with_owner != "acme/vendor")
            .all(|r| r.outside_collaborators.is_some())
    );
}

#[tokio::test]
async fn a_token_without_owner_rights_never_passes_owner_only_checks() {
    let fake = serve(acme().token_not_owner()).await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    let findings = judge(&collection, fake.now());
    let two_factor = finding(&findings, "gh.org.2fa_required", "org:acme");
    assert_eq!(two_factor.outcome, Outcome::Error);
    let members = findings.iter().find(|f| f.check_id == "gh.org.members_2fa").unwrap();
    assert_eq!(members.outcome, Outcome::Error);
    assert!(members.reason.contains("owner"), "{}", members.reason);
}

#[tokio::test]
async fn every_request_is_counted_and_the_count_is_what_the_plan_says() {
    let fake = serve(acme()).await;
    let collection = collect(&fake.settings(), &quick(), &EtagCache::new()).await;
    assert!(data(&collection).gaps.is_empty());
    // Organisation: settings, 2 × 2FA lists, hooks, workflow, secret alerts, audit-log probe;
    // GraphQL: members, repositories, archived repositories. Each repository: settings, hooks,
    // workflow, rulesets.
    assert_eq!(collection.api_calls, 7 + 3 + 2 * 4);
    assert_eq!(collection.api_calls, fake.recorder.requests().len() as u64);
}

#[tokio::test]
async fn github_enterprise_server_urls_work() {
    let fake = serve(acme()).await;
    let settings = GitHubSettings { api_url: format!("{}/api/v3", fake.url()), ..fake.settings() };
    let collection = collect(&settings, &quick(), &EtagCache::new()).await;
    assert!(data(&collection).gaps.is_empty(), "{:?}", data(&collection).gaps);
    let uris: Vec<String> = fake.recorder.requests().into_iter().map(|r| r.uri).collect();
    assert!(uris.contains(&"/api/v3/orgs/acme".to_string()), "{uris:?}");
    assert!(uris.contains(&"/api/graphql".to_string()), "{uris:?}");
}

#[tokio::test]
async fn an_unknown_organisation_fails_the_run_naming_the_setting() {
    let fake = serve(acme()).await;
    let settings = GitHubSettings { org: "acme-typo".into(), ..fake.settings() };
    let reason = failure(&collect(&settings, &quick(), &EtagCache::new()).await).to_string();
    assert!(reason.contains("acme-typo") && reason.contains("GITHUB_ORG"), "{reason}");
}

#[tokio::test]
async fn doctor_names_the_missing_scope() {
    let fake = serve(acme().token_scopes(&["repo", "read:org"])).await;
    let diagnoses = doctor(&fake.settings(), &quick()).await;
    let failing: Vec<_> = diagnoses.iter().filter(|d| !d.ok).collect();
    let hooks =
        failing.iter().find(|d| d.check.contains("organisation webhooks")).expect("webhooks fail");
    assert!(hooks.check.contains("admin:org_hook"), "{}", hooks.check);
    assert!(hooks.detail.contains("missing the admin:org_hook scope"), "{}", hooks.detail);
    let workflow = failing
        .iter()
        .find(|d| d.check.contains("organisation Actions defaults"))
        .expect("Actions fail");
    assert!(workflow.detail.contains("missing the admin:org scope"), "{}", workflow.detail);
    assert_eq!(failing.len(), 2, "{failing:#?}");
    assert!(diagnoses.iter().any(|d| d.ok && d.check.contains("organisation acme readable")));
    assert!(diagnoses.iter().any(|d| d.ok && d.check.contains("repositories readable")));

    let revoked =
        GitHubSettings { auth: GitHubAuth::Token(Secret::new("ghp_revoked")), ..fake.settings() };
    let diagnoses = doctor(&revoked, &quick()).await;
    assert_eq!(diagnoses.len(), 1);
    assert!(
        !diagnoses[0].ok && diagnoses[0].detail.contains("Bad credentials"),
        "{:?}",
        diagnoses[0]
    );
}

#[tokio::test]
async fn doctor_names_a_missing_app_permission() {
    let fake =
        serve(acme().with_app(4242, 777, APP_PUBLIC_KEY).app_without("organization_hooks")).await;
    let settings = GitHubSettings {
        auth: GitHubAuth::App {
            app_id: 4242,
            private_key: Secret::new(APP_KEY),
            installation_id: 777,
        },
        ..fake.settings()
    };
    let diagnoses = doctor(&settings, &quick()).await;
    let missing: Vec<_> = diagnoses.iter().filter(|d| !d.ok).collect();
    assert!(!missing.is_empty());
    assert!(
        missing
            .iter()
            .all(|d| d.check.contains("organization_hooks")
                || d.detail.contains("organization_hooks")),
        "{missing:#?}"
    );
}

#[tokio::test]
async fn the_generated_organisation_needs_a_few_graphql_pages_and_gives_a_realistic_posture() {
    let fake = serve(kushim::sandbox::github::generated_world(300, 200)).await;
    let started = Instant::now();
    let collection = collect(&fake.settings(), &RetryPolicy::default(), &EtagCache::new()).await;
    let elapsed = started.elapsed();
    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.repos.len(), 300);
    assert_eq!(snapshot.members.as_ref().map(Vec::len), Some(200));
    // 288 active repositories in 6 OrgRepos pages, 1 OrgArchivedRepos, 2 OrgMembers pages.
    assert_eq!(requests_to(&fake, "/graphql"), 6 + 1 + 2);
    assert_eq!(collection.api_calls, fake.recorder.requests().len() as u64);
    let (core, graphql) = fake.rate_limit_used();
    eprintln!(
        "generated org (300 repos, 200 members): {} API calls, {core} REST points, {graphql} GraphQL points, {elapsed:?}",
        collection.api_calls
    );

    let findings = judge(&collection, fake.now());
    for outcome in [Outcome::Pass, Outcome::Fail] {
        assert!(findings.iter().any(|f| f.outcome == outcome), "no {outcome:?} finding");
    }
    // Errors come only from the repositories the token may not administer (every tenth).
    let errors: Vec<_> = findings.iter().filter(|f| f.outcome == Outcome::Error).collect();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|f| f.reason.contains("classic branch protection")
            || f.reason.contains("security settings")
            || f.reason.contains("bypass actors")),
        "{:#?}",
        errors.iter().take(3).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_unreachable_github_fails_the_run_as_a_whole_with_what_to_check() {
    // A port nothing listens on: every call would fail, so the run must not pretend to have
    // collected a snapshot full of gaps.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let settings = GitHubSettings {
        org: "acme".into(),
        api_url: format!("http://{closed}"),
        auth: GitHubAuth::Token(Secret::new("ghp_unused")),
    };
    let collection = collect(&settings, &quick(), &EtagCache::new()).await;
    let reason = failure(&collection);
    assert!(reason.contains("cannot reach GET /orgs/{org}"), "{reason}");
    assert_eq!(
        collection.api_calls,
        u64::from(quick().max_attempts),
        "the first call is retried, nothing else is tried"
    );
}
