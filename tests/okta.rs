//! The Okta collector, through `reqwest`, against the in-process fake Okta org: stories of orgs
//! collected and judged, both kinds of credentials, paging, rate limits and every fault the
//! collector must turn into an actionable error without losing the rest of the data.

mod support;

use std::time::{Duration, Instant};
use support::{collected as data, failure};

use kushim::checks::{CheckContext, Finding, Outcome, run_checks};
use kushim::config::{OktaAuth, OktaSettings, Secret};
use kushim::integrations::okta::{
    self, OktaSnapshot, PART_APP_ASSIGNMENTS, PART_FACTORS, PART_LOG_STREAMS,
    PART_PASSWORD_POLICIES, UserStatus,
};
use kushim::integrations::{Integration, Snapshot, collect::Collection, collect::RetryPolicy};
use kushim::sandbox::as_of;
use kushim::sandbox::okta::{
    FakeOkta, OktaOrg, generated, generated_world, generated_world_at, start,
};
use kushim::sandbox::serve::Fault;

const SERVICE_APP_KEY: &str = include_str!("fixtures/okta/service-app.pem");
const SERVICE_APP_PUBLIC_KEY: &str = include_str!("fixtures/okta/service-app.pub.pem");
const UNREGISTERED_KEY: &str = include_str!("fixtures/okta/unregistered.pem");
const CLIENT_ID: &str = "0oakushimcollector";

/// Small waits so fault stories stay fast; servers may still ask for up to two seconds.
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_server_wait: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
    }
}

async fn serve(org: OktaOrg) -> FakeOkta {
    start(org).await.expect("the fake Okta org starts")
}

fn service_app(fake: &FakeOkta, private_key: &str) -> OktaSettings {
    OktaSettings {
        org_url: fake.url(),
        auth: OktaAuth::PrivateKeyJwt {
            client_id: CLIENT_ID.to_string(),
            private_key: Secret::new(private_key),
            key_id: Some("kid-1".to_string()),
        },
    }
}

fn judge(collection: Collection<OktaSnapshot>) -> Vec<Finding> {
    let snapshot = Snapshot { okta: collection.source, ..Snapshot::default() };
    run_checks(&snapshot, Integration::Okta, &CheckContext::new(as_of()))
}

fn finding<'a>(findings: &'a [Finding], check: &str, resource: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check_id == check && f.resource == resource)
        .unwrap_or_else(|| panic!("no {check} finding for {resource} in {findings:#?}"))
}

fn requests_to(fake: &FakeOkta, prefix: &str) -> Vec<String> {
    fake.recorder
        .requests()
        .into_iter()
        .map(|request| request.uri)
        .filter(|uri| uri.starts_with(prefix))
        .collect()
}

/// An org with a bit of everything that can go wrong.
fn story_org() -> OktaOrg {
    OktaOrg::new()
        .with_user("alice", |u| u.active().with_factor("push"))
        .with_user("bob", |u| u.deprovisioned().assigned_to("salesforce"))
        .with_user("carol", |u| u.super_admin().with_factor("webauthn"))
        .with_user("dave", |u| u.active())
        .with_user("erin", |u| u.with_factor("sms"))
        .with_user("frank", |u| u.with_factor("signed_nonce").last_login_days_ago(200))
        .with_user("gina", |u| u.suspended())
        .with_user("hank", |u| u.staged())
        .with_group("Okta Admins", |g| g.with_role(okta::AdminRole::SuperAdmin))
        .with_user("ivan", |u| u.member_of("Okta Admins").with_factor("push"))
        .with_api_token("legacy-script", "carol", |t| t.anywhere())
        .with_api_token("kushim", "alice", |t| t.zones(&["nzoOffice"]))
        .with_sign_on_policy("Employees", |p| p.rule("Office hours", |r| r.session(480, 15)))
        .with_access_policy("Okta Dashboard", |p| p.rule("Managed devices", |r| r.one_factor()))
        .with_inactive_log_stream("old-splunk", "splunk_cloud_logstreaming")
}

#[tokio::test]
async fn a_story_org_is_collected_and_judged() {
    let fake = serve(story_org()).await;
    let collection = okta::collect(&fake.settings(), &quick()).await;

    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.users.len(), 9, "every user, the deprovisioned one included");
    assert_eq!(
        collection.api_calls,
        fake.recorder.requests().len() as u64,
        "every request the fake saw is counted"
    );

    let findings = judge(collection);
    let mfa = |login: &str| {
        finding(&findings, "okta.users.mfa_enrolled", &format!("okta-user:{login}@acme.com"))
    };
    assert_eq!(mfa("alice").outcome, Outcome::Pass);
    assert_eq!(mfa("dave").outcome, Outcome::Fail);
    assert!(mfa("dave").reason.contains("no active MFA factor"), "{}", mfa("dave").reason);
    assert_eq!(mfa("erin").outcome, Outcome::Fail);
    assert!(
        mfa("erin").reason.contains("only weak factors active (sms)"),
        "{}",
        mfa("erin").reason
    );

    let leaver = finding(&findings, "okta.users.deprovisioned_no_access", "okta-user:bob@acme.com");
    assert_eq!(leaver.outcome, Outcome::Fail);
    assert!(
        leaver.reason.contains("DEPROVISIONED but still assigned to 1 app(s): Salesforce"),
        "{}",
        leaver.reason
    );
    let suspended =
        finding(&findings, "okta.users.deprovisioned_no_access", "okta-user:gina@acme.com");
    assert_eq!(suspended.outcome, Outcome::Pass);

    let dormant = finding(&findings, "okta.users.inactive", "okta-user:frank@acme.com");
    assert_eq!(dormant.outcome, Outcome::Fail);
    assert!(dormant.reason.contains("last signed in 200 days ago"), "{}", dormant.reason);

    let org = format!("okta-org:{}", fake.url().trim_start_matches("http://"));
    let admins = finding(&findings, "okta.admins.super_admin_count", &org);
    assert_eq!(admins.outcome, Outcome::Pass);
    assert!(
        admins.reason.contains(
            "2 super admins (limit 3): carol@acme.com (direct), ivan@acme.com (group Okta Admins)"
        ),
        "{}",
        admins.reason
    );
    let legacy = finding(&findings, "okta.apitokens.hardening", "okta-api-token:legacy-script");
    assert_eq!(legacy.outcome, Outcome::Fail);
    assert!(legacy.reason.contains("owned by super admin carol@acme.com"), "{}", legacy.reason);
    assert_eq!(
        finding(&findings, "okta.apitokens.hardening", "okta-api-token:kushim").outcome,
        Outcome::Pass
    );

    let password = finding(&findings, "okta.policy.password", "okta-policy:Default Policy");
    assert_eq!(password.outcome, Outcome::Fail);
    assert!(password.reason.contains("minimum length 8"), "{}", password.reason);
    let session =
        finding(&findings, "okta.policy.session", "okta-policy-rule:Default Policy/Default Rule");
    assert!(session.reason.contains("session lifetime is unlimited"), "{}", session.reason);
    assert_eq!(
        finding(&findings, "okta.policy.session", "okta-policy-rule:Employees/Office hours")
            .outcome,
        Outcome::Pass
    );
    let one_factor = finding(
        &findings,
        "okta.policy.mfa_required",
        "okta-policy-rule:Okta Dashboard/Managed devices",
    );
    assert_eq!(one_factor.outcome, Outcome::Fail);
    let streaming = finding(&findings, "okta.syslog.streaming", &org);
    assert!(
        streaming.reason.contains("every log stream is inactive (old-splunk)"),
        "{}",
        streaming.reason
    );
}

#[tokio::test]
async fn the_api_token_is_sent_as_ssws_and_only_to_the_org() {
    let fake = serve(story_org()).await;
    okta::collect(&fake.settings(), &quick()).await;
    for request in fake.recorder.requests() {
        if request.uri.starts_with("/.well-known/") {
            assert_eq!(request.authorization, None, "the org metadata needs no credentials");
        } else {
            assert_eq!(
                request.authorization.as_deref(),
                Some("SSWS 00sandbox-kushim-demo-token"),
                "{}",
                request.uri
            );
        }
    }
}

#[tokio::test]
async fn deprovisioned_users_are_fetched_though_the_plain_listing_omits_them() {
    let fake = serve(
        OktaOrg::new()
            .with_user("alice", |u| u.with_factor("push"))
            .with_user("bob", |u| u.deprovisioned()),
    )
    .await;
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let users = &data(&collection).users;
    let bob = users.iter().find(|u| u.login == "bob@acme.com").expect("bob is collected");
    assert_eq!(bob.status, UserStatus::Deprovisioned);
    assert_eq!(bob.factors, None, "a deprovisioned user's factors are not asked for");
    assert_eq!(bob.app_assignments, Some(Vec::new()));
    let listing = requests_to(&fake, "/api/v1/users?");
    assert_eq!(listing.len(), 1);
    assert!(
        listing[0].contains("DEPROVISIONED") && listing[0].contains("limit=200"),
        "{}",
        listing[0]
    );
}

#[tokio::test]
async fn listings_are_followed_across_pages() {
    let mut org = OktaOrg::new().pages_of(2);
    for name in ["ann", "ben", "cat", "dan", "eve", "fay"] {
        org = org.with_user(name, |u| u.with_factor("push").super_admin());
    }
    org = org
        .with_user("gus", |u| u.deprovisioned().assigned_to("github"))
        .with_log_stream("siem-1", "aws_eventbridge")
        .with_log_stream("siem-2", "splunk_cloud_logstreaming")
        .with_inactive_log_stream("siem-3", "aws_eventbridge")
        .with_api_token("a", "ann", |t| t)
        .with_api_token("b", "ben", |t| t)
        .with_api_token("c", "cat", |t| t);
    let fake = serve(org).await;
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);

    assert_eq!(snapshot.users.len(), 7);
    assert_eq!(snapshot.admins.len(), 6, "the role assignees page in their body");
    assert_eq!(snapshot.log_streams.len(), 3);
    assert_eq!(snapshot.api_tokens.len(), 3);
    let pages = requests_to(&fake, "/api/v1/users?");
    assert_eq!(pages.len(), 4, "7 users, 2 a page: {pages:?}");
    assert!(pages[1..].iter().all(|uri| uri.contains("after=")), "{pages:?}");
    assert_eq!(requests_to(&fake, "/api/v1/iam/assignees/users").len(), 3);
    assert_eq!(requests_to(&fake, "/api/v1/logStreams").len(), 2);
    assert_eq!(requests_to(&fake, "/api/v1/api-tokens").len(), 2);
}

#[tokio::test]
async fn one_users_factor_failure_is_that_users_error_alone() {
    let org = OktaOrg::new()
        .with_user("alice", |u| u.with_factor("push"))
        .with_user("bob", |u| u.with_factor("push"))
        .with_user("carol", |u| u.with_factor("webauthn"));
    let bob = org.user_ids().into_iter().find(|(login, _)| login == "bob@acme.com").unwrap().1;
    let fake = serve(org).await;
    let path = format!("/api/v1/users/{bob}/factors");
    fake.recorder.inject(&path, Fault::ServerError(500), None);

    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);
    let factors_of = |login: &str| {
        snapshot.users.iter().find(|u| u.login == login).and_then(|u| u.factors.clone())
    };
    assert_eq!(factors_of("bob@acme.com"), None);
    assert!(factors_of("alice@acme.com").is_some() && factors_of("carol@acme.com").is_some());
    let gap = &snapshot.gaps[PART_FACTORS];
    assert!(gap.contains("1 of 3 users' factors could not be read; bob@acme.com"), "{gap}");
    assert!(gap.contains("HTTP 500"), "{gap}");
    assert_eq!(requests_to(&fake, &path).len(), 3, "retried up to the policy's attempts");

    let findings = judge(collection);
    let bob = finding(&findings, "okta.users.mfa_enrolled", "okta-user:bob@acme.com");
    assert_eq!(bob.outcome, Outcome::Error);
    assert!(bob.reason.contains("enrolled factors could not be read"), "{}", bob.reason);
    assert_eq!(
        finding(&findings, "okta.users.mfa_enrolled", "okta-user:alice@acme.com").outcome,
        Outcome::Pass
    );
}

#[tokio::test]
async fn a_rejected_api_token_fails_the_collection_naming_okta_api_token() {
    let fake = serve(story_org()).await;
    let settings = OktaSettings {
        org_url: fake.url(),
        auth: OktaAuth::ApiToken(Secret::new("00expired-token")),
    };
    let collection = okta::collect(&settings, &quick()).await;
    let reason = failure(&collection);
    assert!(
        reason.starts_with("okta rejected the credentials (E0000011: Invalid token provided"),
        "{reason}"
    );
    assert!(reason.contains("OKTA_API_TOKEN"), "{reason}");
    assert_eq!(collection.api_calls, 2, "the org metadata, then one refused call; no more");

    let findings = judge(collection);
    assert!(
        findings.iter().all(|f| f.outcome == Outcome::Error && f.reason.contains("OKTA_API_TOKEN"))
    );
}

#[tokio::test]
async fn a_missing_permission_is_a_gap_naming_the_scope_and_the_rest_survives() {
    let fake = serve(
        story_org()
            .with_log_stream("siem", "aws_eventbridge")
            .api_tokens_without("okta.logStreams.read"),
    )
    .await;
    fake.recorder.inject("/api/v1/api-tokens", Fault::Forbidden, None);
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);

    let gap = &snapshot.gaps[PART_LOG_STREAMS];
    assert!(gap.starts_with("okta denied GET /api/v1/logStreams: missing permission to read log streams (okta.logStreams.read)"), "{gap}");
    assert!(gap.contains("E0000006"), "{gap}");
    assert!(snapshot.gaps["api_tokens"].contains("okta.apiTokens.read"), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.users.len(), 9, "the users survive");
    assert!(!snapshot.password_policies.is_empty(), "the policies survive");
    assert_eq!(requests_to(&fake, "/api/v1/logStreams").len(), 1, "a 403 is not retried");

    let findings = judge(collection);
    let org = format!("okta-org:{}", fake.url().trim_start_matches("http://"));
    let streaming = finding(&findings, "okta.syslog.streaming", &org);
    assert_eq!(streaming.outcome, Outcome::Error);
    assert!(streaming.reason.contains("okta.logStreams.read"), "{}", streaming.reason);
}

#[tokio::test]
async fn malformed_json_is_named_and_not_retried() {
    let fake = serve(story_org()).await;
    fake.recorder.inject("/api/v1/policies", Fault::Malformed, Some(1));
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);
    let gap = &snapshot.gaps[PART_PASSWORD_POLICIES];
    assert!(
        gap.starts_with("okta: unexpected response to GET /api/v1/policies: EOF while parsing"),
        "{gap}"
    );
    assert!(snapshot.password_policies.is_empty());
    assert!(!snapshot.sign_on_policies.is_empty(), "the next listing is read normally");
    let password_calls = requests_to(&fake, "/api/v1/policies?type=PASSWORD");
    assert_eq!(password_calls.len(), 1, "{password_calls:?}");
}

#[tokio::test]
async fn a_429_is_waited_out_until_x_rate_limit_reset() {
    let fake = serve(story_org()).await;
    fake.recorder.inject(
        "/api/v1/logStreams",
        Fault::RateLimited { retry_after_seconds: 1 },
        Some(1),
    );
    let started = Instant::now();
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let elapsed = started.elapsed();
    assert!(data(&collection).gaps.is_empty());
    assert_eq!(requests_to(&fake, "/api/v1/logStreams").len(), 2);
    assert!(
        elapsed >= Duration::from_millis(900),
        "waited for the reset a second later, not the 5 ms backoff: {elapsed:?}"
    );
    assert_eq!(collection.api_calls, fake.recorder.requests().len() as u64);
}

#[tokio::test]
async fn a_lasting_429_storm_becomes_a_gap_saying_when_to_come_back() {
    let fake = serve(story_org()).await;
    fake.recorder.inject("/api/v1/logStreams", Fault::RateLimited { retry_after_seconds: 0 }, None);
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let gap = &data(&collection).gaps[PART_LOG_STREAMS];
    assert!(
        gap.starts_with("okta kept rate-limiting GET /api/v1/logStreams after 3 attempts"),
        "{gap}"
    );
    assert_eq!(requests_to(&fake, "/api/v1/logStreams").len(), 3);
}

#[tokio::test]
async fn the_collector_slows_down_before_a_bucket_runs_dry() {
    let mut org = OktaOrg::new().rate_limited_to(6, 1);
    for index in 0..10 {
        org = org.with_user(&format!("user{index}"), |u| u.with_factor("push"));
    }
    let fake = serve(org).await;
    let started = Instant::now();
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert!(snapshot.users.iter().all(|u| u.factors.is_some()));
    assert_eq!(fake.throttled(), 0, "no call was refused with 429");
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited for a new window");
}

#[tokio::test]
async fn server_errors_are_retried_until_okta_answers() {
    let fake = serve(story_org()).await;
    fake.recorder.inject("/api/v1/policies", Fault::ServerError(503), Some(2));
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.password_policies.len(), 1);
    assert_eq!(requests_to(&fake, "/api/v1/policies?type=PASSWORD").len(), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let fake = serve(story_org()).await;
    let policy = RetryPolicy { request_timeout: Duration::from_millis(300), ..quick() };
    fake.recorder.inject("/api/v1/logStreams", Fault::Slow(Duration::from_secs(2)), Some(1));
    let collection = okta::collect(&fake.settings(), &policy).await;
    assert!(data(&collection).gaps.is_empty(), "{:?}", data(&collection).gaps);
    assert_eq!(requests_to(&fake, "/api/v1/logStreams").len(), 2);

    fake.recorder.inject("/api/v1/api-tokens", Fault::Slow(Duration::from_secs(2)), None);
    let collection = okta::collect(&fake.settings(), &policy).await;
    let gap = &data(&collection).gaps["api_tokens"];
    assert_eq!(gap, "okta: GET /api/v1/api-tokens timed out after 1s");
}

#[tokio::test]
async fn an_unreachable_org_fails_naming_okta_org_url() {
    let settings = OktaSettings {
        org_url: "http://127.0.0.1:9".to_string(),
        auth: OktaAuth::ApiToken(Secret::new("00token")),
    };
    let collection = okta::collect(&settings, &quick()).await;
    let reason = failure(&collection);
    assert!(
        reason.starts_with("okta: cannot reach GET /.well-known/okta-organization"),
        "{reason}"
    );
    assert!(reason.contains("check OKTA_ORG_URL"), "{reason}");
    assert_eq!(collection.api_calls, 3);
}

#[tokio::test]
async fn a_service_app_signs_in_with_a_private_key_jwt() {
    let fake = serve(
        story_org().with_service_app(CLIENT_ID, SERVICE_APP_PUBLIC_KEY, |a| a.key_id("kid-1")),
    )
    .await;
    let collection = okta::collect(&service_app(&fake, SERVICE_APP_KEY), &quick()).await;
    let snapshot = data(&collection);
    assert!(snapshot.gaps.is_empty(), "{:?}", snapshot.gaps);
    assert_eq!(snapshot.users.len(), 9);

    let requests = fake.recorder.requests();
    let token_requests: Vec<_> = requests.iter().filter(|r| r.uri == "/oauth2/v1/token").collect();
    assert_eq!(token_requests.len(), 1, "one access token serves the whole run");
    assert_eq!(token_requests[0].method, "POST");
    for request in requests.iter().filter(|r| r.uri.starts_with("/api/")) {
        let authorization = request.authorization.as_deref().unwrap_or_default();
        assert!(authorization.starts_with("Bearer oat"), "{}: {authorization}", request.uri);
    }
}

#[tokio::test]
async fn a_service_app_with_an_unregistered_key_is_told_which_key_to_check() {
    let fake = serve(story_org().with_service_app(CLIENT_ID, SERVICE_APP_PUBLIC_KEY, |a| a)).await;
    let collection = okta::collect(&service_app(&fake, UNREGISTERED_KEY), &quick()).await;
    let reason = failure(&collection);
    assert!(
        reason.contains("invalid_client: The client_assertion signature is invalid."),
        "{reason}"
    );
    assert!(reason.contains("OKTA_PRIVATE_KEY_PATH"), "{reason}");
    assert_eq!(requests_to(&fake, "/api/").len(), 0, "no API call without a token");
}

#[tokio::test]
async fn a_service_app_missing_a_scope_collects_the_rest_and_names_it() {
    let fake = serve(story_org().with_service_app(CLIENT_ID, SERVICE_APP_PUBLIC_KEY, |a| {
        a.key_id("kid-1").without_scope("okta.logStreams.read")
    }))
    .await;
    let collection = okta::collect(&service_app(&fake, SERVICE_APP_KEY), &quick()).await;
    let snapshot = data(&collection);
    let gap = &snapshot.gaps[PART_LOG_STREAMS];
    assert!(
        gap.contains("missing the okta.logStreams.read scope: grant it to the service app on its Okta API Scopes tab"),
        "{gap}"
    );
    assert_eq!(snapshot.gaps.len(), 1, "{:?}", snapshot.gaps);
    assert_eq!(snapshot.users.len(), 9);
    assert_eq!(
        requests_to(&fake, "/api/v1/logStreams").len(),
        0,
        "a refused scope is not even tried"
    );
}

#[tokio::test]
async fn a_service_app_requiring_dpop_is_reported_as_unsupported() {
    let fake = serve(
        story_org().with_service_app(CLIENT_ID, SERVICE_APP_PUBLIC_KEY, |a| a.requiring_dpop()),
    )
    .await;
    let collection = okta::collect(&service_app(&fake, SERVICE_APP_KEY), &quick()).await;
    let reason = failure(&collection);
    assert!(reason.contains("invalid_dpop_proof"), "{reason}");
    assert!(reason.contains("Kushim does not support yet"), "{reason}");
}

#[tokio::test]
async fn a_bearer_token_without_the_scope_gets_the_challenge_naming_it() {
    // Okta says which scope was missing; the collector reports that one.
    let fake = serve(story_org().with_service_app(CLIENT_ID, SERVICE_APP_PUBLIC_KEY, |a| a)).await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/api/v1/users", fake.url()))
        .header("authorization", "Bearer oat-not-issued")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    for name in ["x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"] {
        assert!(response.headers().contains_key(name), "{name} on an error answer too");
    }
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000011");
    assert_eq!(body["errorSummary"], "Invalid token provided");
}

#[tokio::test]
async fn doctor_names_the_missing_scope() {
    let fake = serve(story_org().with_service_app(CLIENT_ID, SERVICE_APP_PUBLIC_KEY, |a| {
        a.key_id("kid-1").without_scope("okta.roles.read")
    }))
    .await;
    let report = okta::doctor(&service_app(&fake, SERVICE_APP_KEY), &quick()).await;
    let line = |check: &str| {
        report
            .iter()
            .find(|d| d.check.contains(check))
            .unwrap_or_else(|| panic!("no {check} line in {report:#?}"))
    };
    assert!(line("reach the org").ok && line("reach the org").detail == "Identity Engine org");
    let token = line("service app token");
    assert!(token.ok && token.detail.ends_with("refused: okta.roles.read"), "{}", token.detail);
    let roles = line("(okta.roles.read)");
    assert!(!roles.ok);
    assert!(
        roles.detail.contains("grant it to the service app on its Okta API Scopes tab"),
        "{}",
        roles.detail
    );
    for scope in [
        "okta.users.read",
        "okta.policies.read",
        "okta.apps.read",
        "okta.apiTokens.read",
        "okta.logStreams.read",
    ] {
        assert!(line(&format!("({scope})")).ok, "{scope}: {report:#?}");
    }
}

#[tokio::test]
async fn doctor_says_how_to_renew_a_rejected_api_token() {
    let fake = serve(story_org()).await;
    let settings =
        OktaSettings { org_url: fake.url(), auth: OktaAuth::ApiToken(Secret::new("00nope")) };
    let report = okta::doctor(&settings, &quick()).await;
    let last = report.last().unwrap();
    assert_eq!(last.check, "API token accepted (SSWS)");
    assert!(!last.ok && last.detail.contains("Security → API → Tokens"), "{}", last.detail);

    let report = okta::doctor(&fake.settings(), &quick()).await;
    assert!(report.iter().all(|d| d.ok), "{report:#?}");
    assert_eq!(
        report.len(),
        9,
        "org, token, users, factors and five more permissions: {report:#?}"
    );
}

#[tokio::test]
async fn a_classic_org_is_judged_on_its_sign_on_rules() {
    let fake = serve(
        OktaOrg::new()
            .classic()
            .with_user("alice", |u| u.with_factor("push"))
            .with_sign_on_policy("Admins", |p| {
                p.rule("MFA always", |r| r.require_mfa().session(480, 15))
            }),
    )
    .await;
    let collection = okta::collect(&fake.settings(), &quick()).await;
    assert_eq!(data(&collection).pipeline, Some(okta::OktaPipeline::Classic));
    assert!(requests_to(&fake, "/api/v1/policies?type=ACCESS_POLICY").is_empty());
    let findings = judge(collection);
    let rule = |name: &str| finding(&findings, "okta.policy.mfa_required", name).outcome;
    assert_eq!(rule("okta-policy-rule:Admins/MFA always"), Outcome::Pass);
    assert_eq!(rule("okta-policy-rule:Default Policy/Default Rule"), Outcome::Fail);
}

#[tokio::test]
async fn the_generated_org_is_collected_exactly_as_generated() {
    let users = 300;
    let fake = serve(generated_world_at(users, kushim::sandbox::as_of())).await;
    let collection = okta::collect(&fake.settings(), &RetryPolicy::default()).await;
    let mut collected = data(&collection).clone();
    let gaps = std::mem::take(&mut collected.gaps);
    assert_eq!(gaps.keys().collect::<Vec<_>>(), vec![PART_FACTORS], "{gaps:?}");
    assert!(gaps[PART_FACTORS].contains("users' factors could not be read"), "{gaps:?}");
    assert!(!gaps.contains_key(PART_APP_ASSIGNMENTS));

    let mut expected = generated(users + 21);
    assert_eq!(expected.users.len(), users);
    expected.org_url = fake.url();
    assert_eq!(collected.users, expected.users);
    assert_eq!(collected.admins, expected.admins);
    assert_eq!(collected, expected);
}

#[tokio::test]
async fn a_thousand_user_org_costs_about_one_call_per_user_who_can_sign_in() {
    let fake = serve(generated_world(1000)).await;
    let started = Instant::now();
    let collection = okta::collect(&fake.settings(), &RetryPolicy::default()).await;
    let snapshot = data(&collection);
    let can_sign_in = snapshot
        .users
        .iter()
        .filter(|u| {
            matches!(
                u.status,
                UserStatus::Active | UserStatus::LockedOut | UserStatus::PasswordExpired
            )
        })
        .count() as u64;
    let overhead = collection.api_calls - can_sign_in;
    assert!(overhead <= 40, "{} calls for {can_sign_in} factor listings", collection.api_calls);
    assert_eq!(fake.throttled(), 0);
    eprintln!(
        "okta: {} users, {} API calls, {:?}",
        snapshot.users.len(),
        collection.api_calls,
        started.elapsed()
    );
}

#[tokio::test]
async fn a_policy_whose_rules_cannot_be_read_is_an_error_of_its_own() {
    let fake = serve(story_org()).await;
    fake.recorder.inject("/api/v1/policies/00pdefaultsignon/rules", Fault::ServerError(500), None);
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);
    let default = snapshot.sign_on_policies.iter().find(|p| p.name == "Default Policy").unwrap();
    assert_eq!(default.rules, None);
    let employees = snapshot.sign_on_policies.iter().find(|p| p.name == "Employees").unwrap();
    assert_eq!(employees.rules.as_ref().map(Vec::len), Some(1));
    let key = okta::rules_gap_key(okta::PART_SIGN_ON_POLICIES, "00pdefaultsignon");
    assert!(snapshot.gaps[&key].contains("HTTP 500"), "{:?}", snapshot.gaps);

    let findings = judge(collection);
    let default = finding(&findings, "okta.policy.session", "okta-policy:Default Policy");
    assert_eq!(default.outcome, Outcome::Error);
    assert!(default.reason.contains("the policy's rules could not be read"), "{}", default.reason);
    assert_eq!(
        finding(&findings, "okta.policy.session", "okta-policy-rule:Employees/Office hours")
            .outcome,
        Outcome::Pass
    );
}

#[tokio::test]
async fn an_unreadable_app_leaves_only_the_unproven_leavers_unknown() {
    let org = OktaOrg::new()
        .with_user("bob", |u| u.deprovisioned().assigned_to("github").assigned_to("salesforce"))
        .with_user("gina", |u| u.suspended())
        .with_user("alice", |u| u.with_factor("push").assigned_to("github"));
    let fake = serve(org).await;
    let salesforce = {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/apps", fake.url()))
            .header("authorization", "SSWS 00sandbox-kushim-demo-token")
            .send()
            .await
            .unwrap();
        let apps: Vec<serde_json::Value> = response.json().await.unwrap();
        apps.iter().find(|app| app["name"] == "salesforce").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    fake.recorder.inject(
        &format!("/api/v1/apps/{salesforce}/users"),
        Fault::ServerError(502),
        None,
    );
    let collection = okta::collect(&fake.settings(), &quick()).await;
    let snapshot = data(&collection);
    let apps_of = |login: &str| {
        snapshot.users.iter().find(|u| u.login == login).unwrap().app_assignments.clone()
    };
    let bob = apps_of("bob@acme.com").expect("bob is known to keep GitHub");
    assert_eq!(bob.iter().map(|a| a.app_label.as_str()).collect::<Vec<_>>(), ["Github"]);
    assert_eq!(apps_of("gina@acme.com"), None, "no app shown, but one app could not be read");
    let gap = &snapshot.gaps[PART_APP_ASSIGNMENTS];
    assert!(gap.starts_with("1 of 2 apps' assignments could not be read; Salesforce: "), "{gap}");

    let findings = judge(collection);
    let gina = finding(&findings, "okta.users.deprovisioned_no_access", "okta-user:gina@acme.com");
    assert_eq!(gina.outcome, Outcome::Error);
    let bob = finding(&findings, "okta.users.deprovisioned_no_access", "okta-user:bob@acme.com");
    assert_eq!(bob.outcome, Outcome::Fail);
}
