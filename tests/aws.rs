//! The AWS collector through the real aws-sdk-iam and aws-sdk-sts, against the in-process IAM
//! fake (every test) and against moto, an independent IAM emulator (when `moto_server` is
//! installed; see `aws/moto.rs`).
//!
//! Each story builds a world, collects it as `kushim collect` would, and reads the result as a
//! person would: the findings, the gaps and their reasons, and the fake's request log (by IAM
//! action) for retries and API-call counts. Waits are a few milliseconds: the retry policy's
//! delays are tiny and IAM sends no `Retry-After`.

#[path = "aws/moto.rs"]
mod moto;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use kushim::checks::{CheckContext, Finding, Outcome, run_checks};
use kushim::config::{AwsAccountConfig, AwsSettings};
use kushim::integrations::aws::{
    self, AwsAccount, AwsSnapshot, PART_ACCOUNT, PART_ACCOUNT_SUMMARY, PART_AUTHORIZATION_DETAILS,
    PART_CREDENTIAL_REPORT, PART_PASSWORD_POLICY, PART_VIRTUAL_MFA_DEVICES, ReportCell,
};
use kushim::integrations::collect::{Collection, RetryPolicy};
use kushim::integrations::{Integration, Snapshot, Source};
use kushim::sandbox::aws::world::{AWS_SUPPORT_ACCESS, allow_everything, read_bucket};
use kushim::sandbox::aws::{AwsAccountWorld, AwsWorld, FakeIam, generated_world, start};
use kushim::sandbox::serve::Fault;
use moto::Moto;

const ACCOUNT: &str = "123456789012";

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
        max_server_wait: Duration::from_secs(1),
        request_timeout: Duration::from_secs(5),
    }
}

async fn collect(fake: &FakeIam) -> Collection<AwsSnapshot> {
    aws::collect_with(&fake.sdk_config(), &AwsSettings::default(), &quick()).await
}

fn snapshot(collection: &Collection<AwsSnapshot>) -> &AwsSnapshot {
    match &collection.source {
        Source::Collected { data, .. } => data,
        other => panic!("expected a collected snapshot, got {other:?}"),
    }
}

fn only_account(collection: &Collection<AwsSnapshot>) -> &AwsAccount {
    let snapshot = snapshot(collection);
    assert_eq!(snapshot.accounts.len(), 1, "{snapshot:#?}");
    &snapshot.accounts[0]
}

fn gap<'a>(account: &'a AwsAccount, part: &str) -> &'a str {
    account.gaps.get(part).unwrap_or_else(|| panic!("no {part} gap in {:#?}", account.gaps))
}

fn findings(collection: &Collection<AwsSnapshot>) -> Vec<Finding> {
    let snapshot = Snapshot { aws: collection.source.clone(), ..Snapshot::default() };
    run_checks(&snapshot, Integration::Aws, &CheckContext::new(Utc::now()))
}

/// The finding of `check` on `resource`.
fn finding<'a>(findings: &'a [Finding], check: &str, resource: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check_id == check && f.resource == resource)
        .unwrap_or_else(|| panic!("no {check} finding on {resource} among {findings:#?}"))
}

fn user(name: &str) -> String {
    format!("iam-user:{ACCOUNT}/{name}")
}

fn account_resource() -> String {
    format!("aws-account:{ACCOUNT}")
}

/// Every request the fake saw was counted, and nothing else.
fn assert_every_request_counted(fake: &FakeIam, collection: &Collection<AwsSnapshot>) {
    assert_eq!(
        collection.api_calls,
        fake.recorder.requests().len() as u64,
        "{:#?}",
        fake.recorder.requests()
    );
}

#[tokio::test]
async fn a_story_account_gives_the_findings_a_person_expects() {
    let world = AwsAccountWorld::new(ACCOUNT)
        .root(|r| r.virtual_mfa())
        .without_password_policy()
        .with_group("admins", |g| g.admin())
        .with_user("alice", |u| u.console().without_mfa().key_rotated_days_ago(120))
        .with_user("bob", |u| u.console_used_days_ago(2).hardware_mfa().in_group("admins"))
        .with_user("carol", |u| u.console_used_days_ago(1).virtual_mfa().admin())
        .with_user("deploy", |u| u.key_rotated_days_ago(10).key_rotated_days_ago(20))
        .with_role("support", |r| r.support());
    let fake = start(world).await.unwrap();

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    assert!(account.gaps.is_empty(), "{:#?}", account.gaps);
    assert_eq!(account.account_id, ACCOUNT);
    let findings = findings(&collection);

    let alice = finding(&findings, "aws.iam.console_users_mfa", &user("alice"));
    assert_eq!(alice.outcome, Outcome::Fail);
    assert!(alice.reason.contains("alice has a console password and no MFA"), "{}", alice.reason);
    assert_eq!(
        finding(&findings, "aws.iam.console_users_mfa", &user("bob")).outcome,
        Outcome::Pass
    );
    let rotation = finding(&findings, "aws.iam.access_keys_rotated_90d", &user("alice"));
    assert_eq!(rotation.outcome, Outcome::Fail);
    assert!(rotation.reason.contains("120 days ago"), "{}", rotation.reason);
    let root = finding(&findings, "aws.iam.root_hardware_mfa", &account_resource());
    assert_eq!(root.outcome, Outcome::Fail);
    assert!(root.reason.contains("mfa/root-account-mfa-device"), "{}", root.reason);
    assert_eq!(finding(&findings, "aws.iam.root_mfa", &account_resource()).outcome, Outcome::Pass);
    let policy = finding(&findings, "aws.iam.password_policy", &account_resource());
    assert_eq!(policy.outcome, Outcome::Fail);
    assert!(policy.reason.contains("AWS default"), "{}", policy.reason);
    assert_eq!(
        finding(&findings, "aws.iam.no_user_admin_access", &user("carol")).outcome,
        Outcome::Fail
    );
    assert_eq!(
        finding(&findings, "aws.iam.single_active_key", &user("deploy")).outcome,
        Outcome::Fail
    );
    let admin_mfa = finding(&findings, "aws.iam.admin_users_mfa", &user("bob"));
    assert!(admin_mfa.reason.contains("via group admins"), "{}", admin_mfa.reason);
    assert_eq!(
        finding(&findings, "aws.iam.support_role", &account_resource()).outcome,
        Outcome::Pass
    );
    assert!(findings.iter().all(|f| f.outcome != Outcome::Error), "{findings:#?}");

    // One request per part, none per user.
    assert_every_request_counted(&fake, &collection);
    assert_eq!(collection.api_calls, 8);
}

#[tokio::test]
async fn a_root_user_in_daily_use_is_flagged_and_a_root_without_credentials_is_not() {
    let busy = start(
        AwsAccountWorld::new(ACCOUNT).root(|r| r.access_key_used_days_ago(0).signed_in_days_ago(0)),
    )
    .await
    .unwrap();
    let findings_busy = findings(&collect(&busy).await);
    let keys = finding(&findings_busy, "aws.iam.root_no_access_keys", &account_resource());
    assert_eq!(keys.outcome, Outcome::Fail);
    assert!(keys.reason.contains("access key 1 is active"), "{}", keys.reason);
    let used = finding(&findings_busy, "aws.iam.root_not_used", &account_resource());
    assert_eq!(used.outcome, Outcome::Fail, "{}", used.reason);

    let locked =
        start(AwsAccountWorld::new(ACCOUNT).root(|r| r.without_credentials())).await.unwrap();
    let findings_locked = findings(&collect(&locked).await);
    for check in ["aws.iam.root_no_access_keys", "aws.iam.root_not_used"] {
        let f = finding(&findings_locked, check, &account_resource());
        assert_eq!(f.outcome, Outcome::Pass, "{check}: {}", f.reason);
    }
    let quiet = start(AwsAccountWorld::new(ACCOUNT).root(|r| r.never_signed_in())).await.unwrap();
    let findings_quiet = findings(&collect(&quiet).await);
    let unused = finding(&findings_quiet, "aws.iam.root_not_used", &account_resource());
    assert_eq!(unused.outcome, Outcome::Pass, "{}", unused.reason);
}

#[tokio::test]
async fn authorization_details_and_virtual_mfa_devices_are_read_across_pages() {
    let mut world = AwsAccountWorld::new(ACCOUNT)
        .with_policy("artifacts", read_bucket("artifacts"))
        .with_group("developers", |g| g.with_inline_policy("logs", read_bucket("logs")))
        .with_role("support", |r| r.support())
        .page_size(2);
    let artifacts = world.policy_arn("artifacts");
    for index in 0..5 {
        world = world.with_user(&format!("dev-{index}"), |u| {
            u.console_used_days_ago(1).virtual_mfa().in_group("developers").with_policy(&artifacts)
        });
    }
    let fake = start(world).await.unwrap();

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    assert!(account.gaps.is_empty(), "{:#?}", account.gaps);
    let details = account.authorization_details.as_ref().unwrap();
    assert_eq!(details.users.len(), 5);
    assert_eq!((details.groups.len(), details.roles.len(), details.policies.len()), (1, 1, 1));
    assert_eq!(details.policies[0].attachment_count, 5);
    assert_eq!(details.groups[0].inline_policies[0].document, read_bucket("logs"));
    assert_eq!(details.users[4].group_names, ["developers"]);
    assert_eq!(account.virtual_mfa_devices.as_ref().unwrap().len(), 5);

    // 8 items two to a page; 5 devices two to a page. Each later page carries the marker.
    assert_eq!(fake.requests_for("GetAccountAuthorizationDetails"), 4);
    assert_eq!(fake.requests_for("ListVirtualMFADevices"), 3);
    let markers = fake
        .recorder
        .requests()
        .iter()
        .filter(|r| r.uri.starts_with("/ListVirtualMFADevices") && r.uri.contains("Marker="))
        .count();
    assert_eq!(markers, 2);
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn the_credential_report_is_polled_until_it_is_ready() {
    let fake = start(
        AwsAccountWorld::new(ACCOUNT).with_user("alice", |u| u.console()).report_ready_after(3),
    )
    .await
    .unwrap();

    let collection = collect(&fake).await;
    let report = only_account(&collection).credential_report.as_ref().expect("a report");
    assert_eq!(report.users[0].user, "alice");
    assert_eq!(report.users[0].password_last_used, ReportCell::NoInformation);
    assert!(report.root.is_some());
    // Generated once; three ReportInProgress answers, then the report.
    assert_eq!(fake.requests_for("GenerateCredentialReport"), 1);
    assert_eq!(fake.requests_for("GetCredentialReport"), 4);
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn an_expired_report_is_generated_again() {
    let fake = start(
        AwsAccountWorld::new(ACCOUNT).with_user("alice", |u| u.console()).report_expires_once(),
    )
    .await
    .unwrap();

    let collection = collect(&fake).await;
    let report = only_account(&collection).credential_report.as_ref().expect("a report");
    assert_eq!(report.users.len(), 1);
    // Generate, fetch (410 ReportExpired), generate again, fetch.
    assert_eq!(fake.requests_for("GenerateCredentialReport"), 2);
    assert_eq!(fake.requests_for("GetCredentialReport"), 2);
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn a_report_that_is_never_ready_is_a_gap_and_the_rest_survives() {
    let fake = start(AwsAccountWorld::new(ACCOUNT).report_ready_after(1_000)).await.unwrap();

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    let reason = gap(account, PART_CREDENTIAL_REPORT);
    assert!(reason.contains("still ReportInProgress after 10 polls"), "{reason}");
    assert!(account.credential_report.is_none());
    assert!(account.account_summary.is_some() && account.authorization_details.is_some());
    // Ten polls: the first generates the report, the other nine ask for it.
    assert_eq!(fake.requests_for("GenerateCredentialReport"), 1);
    assert_eq!(fake.requests_for("GetCredentialReport"), 9);
    let findings = findings(&collection);
    let root_use = finding(&findings, "aws.iam.root_not_used", &account_resource());
    assert_eq!(root_use.outcome, Outcome::Error);
    assert_eq!(finding(&findings, "aws.iam.root_mfa", &account_resource()).outcome, Outcome::Pass);
}

#[tokio::test]
async fn a_truncated_credential_report_is_a_gap_never_a_shorter_list() {
    let fake = start(
        AwsAccountWorld::new(ACCOUNT)
            .with_user("alice", |u| u.console().virtual_mfa())
            .with_user("bob", |u| u.console().without_mfa())
            .truncated_report(),
    )
    .await
    .unwrap();

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    let reason = gap(account, PART_CREDENTIAL_REPORT);
    assert!(reason.starts_with("aws: unexpected response to GetCredentialReport"), "{reason}");
    assert!(reason.contains("truncated or malformed: line 4"), "{reason}");
    let findings = findings(&collection);
    let mfa = findings.iter().filter(|f| f.check_id == "aws.iam.console_users_mfa");
    for f in mfa {
        assert_eq!(f.outcome, Outcome::Error, "{f:?}");
        assert!(f.reason.contains("truncated"), "{}", f.reason);
    }
    // Root MFA comes from GetAccountSummary, which is intact.
    assert_eq!(finding(&findings, "aws.iam.root_mfa", &account_resource()).outcome, Outcome::Pass);
}

#[tokio::test]
async fn expired_credentials_fail_the_collection_with_how_to_renew_them() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    fake.recorder.inject("", Fault::Unauthorized, None);

    let collection = collect(&fake).await;
    let Source::Failed { reason, .. } = &collection.source else {
        panic!("expected a failed collection, got {:?}", collection.source);
    };
    assert!(reason.starts_with("aws rejected the credentials (ExpiredToken:"), "{reason}");
    assert!(reason.contains("renew them"), "{reason}");
    // Bad credentials are not retried.
    assert_eq!(fake.recorder.requests().len(), 1);
    assert_every_request_counted(&fake, &collection);
    let findings = findings(&collection);
    assert!(
        findings.iter().all(|f| f.outcome == Outcome::Error && f.reason.contains("ExpiredToken"))
    );
}

#[tokio::test]
async fn an_access_key_aws_never_issued_is_named_as_such() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    let config = fake.sdk_config_with("AKIAWRONGKEY00000000", "whatever");

    let collection = aws::collect_with(&config, &AwsSettings::default(), &quick()).await;
    let Source::Failed { reason, .. } = &collection.source else {
        panic!("expected a failed collection, got {:?}", collection.source);
    };
    assert!(reason.contains("InvalidClientTokenId"), "{reason}");
    assert!(reason.contains("AWS_ACCESS_KEY_ID"), "{reason}");
}

#[tokio::test]
async fn access_denied_on_one_call_names_the_action_and_the_rest_survives() {
    let fake = start(AwsAccountWorld::new(ACCOUNT).with_user("alice", |u| u.console().admin()))
        .await
        .unwrap();
    fake.recorder.inject("/GetAccountAuthorizationDetails", Fault::Forbidden, None);

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    let reason = gap(account, PART_AUTHORIZATION_DETAILS);
    assert!(
        reason.starts_with(
            "aws denied GetAccountAuthorizationDetails: missing the iam:GetAccountAuthorizationDetails permission"
        ),
        "{reason}"
    );
    assert!(reason.contains("SecurityAudit (arn:aws:iam::aws:policy/SecurityAudit)"), "{reason}");
    assert_eq!(account.gaps.len(), 1, "{:#?}", account.gaps);
    assert!(account.credential_report.is_some() && account.password_policy.is_some());
    // A denial is not retried.
    assert_eq!(fake.requests_for("GetAccountAuthorizationDetails"), 1);

    let findings = findings(&collection);
    let admin = finding(&findings, "aws.iam.no_user_admin_access", &account_resource());
    assert_eq!(admin.outcome, Outcome::Error);
    assert!(admin.reason.contains("iam:GetAccountAuthorizationDetails"), "{}", admin.reason);
    let mfa = finding(&findings, "aws.iam.console_users_mfa", &user("alice"));
    assert_eq!(mfa.outcome, Outcome::Fail, "the report still judges alice");
}

#[tokio::test]
async fn a_throttling_storm_is_ridden_out_with_every_attempt_counted() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    fake.recorder.inject(
        "/GetAccountSummary",
        Fault::RateLimited { retry_after_seconds: 1 },
        Some(3),
    );

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    assert!(account.gaps.is_empty(), "{:#?}", account.gaps);
    assert_eq!(account.account_summary.as_ref().unwrap().account_mfa_enabled, Some(true));
    assert_eq!(fake.requests_for("GetAccountSummary"), 4);
    assert_every_request_counted(&fake, &collection);
    assert_eq!(collection.api_calls, 8 + 3);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_reported_as_a_rate_limit() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    fake.recorder.inject("/GetAccountSummary", Fault::RateLimited { retry_after_seconds: 1 }, None);

    let collection = collect(&fake).await;
    let reason = gap(only_account(&collection), PART_ACCOUNT_SUMMARY);
    assert_eq!(
        reason,
        "aws kept rate-limiting GetAccountSummary after 4 attempts; try again after 60s"
    );
    assert_eq!(fake.requests_for("GetAccountSummary"), 4);
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn server_errors_are_retried_and_a_lasting_one_is_a_gap() {
    let fake = start(AwsAccountWorld::new(ACCOUNT).without_password_policy()).await.unwrap();
    fake.recorder.inject("/GetAccountPasswordPolicy", Fault::ServerError(503), Some(2));
    fake.recorder.inject("/ListVirtualMFADevices", Fault::ServerError(500), None);

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    assert!(account.password_policy.is_some(), "{:#?}", account.gaps);
    assert_eq!(fake.requests_for("GetAccountPasswordPolicy"), 3);
    let reason = gap(account, PART_VIRTUAL_MFA_DEVICES);
    assert!(
        reason.starts_with("aws answered ListVirtualMFADevices with HTTP 500: ServiceFailure"),
        "{reason}"
    );
    assert_eq!(fake.requests_for("ListVirtualMFADevices"), 4);
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn a_slow_answer_is_timed_out_and_retried_and_a_hanging_call_is_a_gap() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    fake.recorder.inject("/GetAccountSummary", Fault::Slow(Duration::from_secs(3)), Some(1));
    fake.recorder.inject("/GetAccountPasswordPolicy", Fault::Slow(Duration::from_secs(3)), None);
    let policy =
        RetryPolicy { max_attempts: 2, request_timeout: Duration::from_secs(1), ..quick() };

    let collection = aws::collect_with(&fake.sdk_config(), &AwsSettings::default(), &policy).await;
    let account = only_account(&collection);
    assert!(account.account_summary.is_some(), "{:#?}", account.gaps);
    assert_eq!(fake.requests_for("GetAccountSummary"), 2);
    assert_eq!(
        gap(account, PART_PASSWORD_POLICY),
        "aws: GetAccountPasswordPolicy timed out after 1s"
    );
    assert_eq!(fake.requests_for("GetAccountPasswordPolicy"), 2);
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn a_malformed_answer_is_a_gap_naming_the_call() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    fake.recorder.inject("/GetAccountSummary", Fault::Malformed, None);

    let collection = collect(&fake).await;
    let reason = gap(only_account(&collection), PART_ACCOUNT_SUMMARY);
    assert!(reason.starts_with("aws: unexpected response to GetAccountSummary"), "{reason}");
    assert!(reason.contains("HTTP 200 with a body that is not the documented XML"), "{reason}");
    assert_eq!(fake.requests_for("GetAccountSummary"), 1, "a wrong answer is not retried");
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn an_endpoint_that_cannot_be_reached_says_where_to_look() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    let config = fake.sdk_config();
    fake.server.stop().await;

    let collection = aws::collect_with(&config, &AwsSettings::default(), &quick()).await;
    let Source::Failed { reason, .. } = &collection.source else {
        panic!("expected a failed collection, got {:?}", collection.source);
    };
    assert!(reason.starts_with("aws: cannot reach GetCallerIdentity"), "{reason}");
    assert!(reason.contains("AWS_ENDPOINT_URL"), "{reason}");
    assert_eq!(collection.api_calls, 4, "each connection attempt counts");
}

fn audit_account(name: &str) -> AwsAccountConfig {
    AwsAccountConfig {
        name: name.to_owned(),
        role_arn: String::new(),
        external_id: Some("kushim-ext".to_owned()),
    }
}

#[tokio::test]
async fn each_account_is_entered_by_its_role_and_one_that_fails_is_only_its_gap() {
    let prod = AwsAccountWorld::new("111111111111")
        .with_role("kushim-audit", |r| r.assumable_by_kushim(Some("kushim-ext")))
        .with_user("ops", |u| u.console().without_mfa());
    let staging = AwsAccountWorld::new("222222222222")
        .with_role("kushim-audit", |r| r.with_policy(AWS_SUPPORT_ACCESS));
    let settings = AwsSettings {
        accounts: vec![
            AwsAccountConfig { role_arn: prod.role_arn("kushim-audit"), ..audit_account("prod") },
            AwsAccountConfig {
                role_arn: staging.role_arn("kushim-audit"),
                ..audit_account("staging")
            },
        ],
    };
    let world =
        AwsWorld::new(AwsAccountWorld::new(ACCOUNT)).with_account(prod).with_account(staging);
    let fake = start(world).await.unwrap();
    assert_eq!(fake.home_account(), ACCOUNT, "the sandbox credentials belong to the home account");

    let collection = aws::collect_with(&fake.sdk_config(), &settings, &quick()).await;
    let snapshot = snapshot(&collection);
    let [prod, staging] = &snapshot.accounts[..] else { panic!("{snapshot:#?}") };
    assert_eq!(prod.account_id, "111111111111");
    assert!(prod.gaps.is_empty(), "{:#?}", prod.gaps);
    assert_eq!(prod.credential_report.as_ref().unwrap().users[0].user, "ops");
    assert_eq!(staging.account_id, "222222222222");
    let reason = gap(staging, PART_ACCOUNT);
    assert!(reason.starts_with("account staging could not be entered: aws denied AssumeRole arn:aws:iam::222222222222:role/kushim-audit"), "{reason}");
    assert!(reason.contains("trust policy"), "{reason}");

    let findings = findings(&collection);
    let ops = finding(&findings, "aws.iam.console_users_mfa", "iam-user:111111111111/ops");
    assert_eq!(ops.outcome, Outcome::Fail);
    let staged = finding(&findings, "aws.iam.root_mfa", "aws-account:222222222222");
    assert_eq!(staged.outcome, Outcome::Error);
    assert!(staged.reason.contains("could not be entered"), "{}", staged.reason);
    // The home account itself is not collected when accounts are configured.
    assert!(findings.iter().all(|f| !f.resource.contains(ACCOUNT)));
    assert_eq!(fake.requests_for("AssumeRole"), 2);
    assert_every_request_counted(&fake, &collection);
}

#[tokio::test]
async fn a_wrong_external_id_is_refused_by_the_role() {
    let prod = AwsAccountWorld::new("111111111111")
        .with_role("kushim-audit", |r| r.assumable_by_kushim(Some("the-right-one")));
    let settings = AwsSettings {
        accounts: vec![AwsAccountConfig {
            role_arn: prod.role_arn("kushim-audit"),
            ..audit_account("prod")
        }],
    };
    let fake =
        start(AwsWorld::new(AwsAccountWorld::new(ACCOUNT)).with_account(prod)).await.unwrap();

    let collection = aws::collect_with(&fake.sdk_config(), &settings, &quick()).await;
    let account = &snapshot(&collection).accounts[0];
    assert!(gap(account, PART_ACCOUNT).contains("external_id"), "{:#?}", account.gaps);
}

#[tokio::test]
async fn a_150_user_account_takes_about_ten_calls() {
    let world = generated_world(150);
    let fake = start(world).await.unwrap();

    let collection = collect(&fake).await;
    let account = only_account(&collection);
    assert!(account.gaps.is_empty(), "{:#?}", account.gaps);
    assert_eq!(account.credential_report.as_ref().unwrap().users.len(), 150);
    assert_eq!(account.authorization_details.as_ref().unwrap().users.len(), 150);
    // 156 authorization items at the fake's 100 a page: two pages; nothing per user.
    assert_eq!(fake.requests_for("GetAccountAuthorizationDetails"), 2);
    assert_every_request_counted(&fake, &collection);
    assert_eq!(collection.api_calls, 9);
    let findings = findings(&collection);
    for outcome in [Outcome::Pass, Outcome::Fail] {
        assert!(findings.iter().any(|f| f.outcome == outcome));
    }
    assert!(findings.iter().all(|f| f.outcome != Outcome::Error), "{findings:#?}");
}

#[tokio::test]
async fn doctor_says_which_permission_is_missing() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    fake.recorder.inject("/GenerateCredentialReport", Fault::Forbidden, None);

    let diagnoses = aws::doctor_with(&fake.sdk_config(), &AwsSettings::default(), &quick()).await;
    let failing: Vec<_> = diagnoses.iter().filter(|d| !d.ok).collect();
    assert_eq!(failing.len(), 1, "{diagnoses:#?}");
    assert_eq!(failing[0].check, format!("account {ACCOUNT}: iam:GenerateCredentialReport"));
    assert!(
        failing[0].detail.contains("missing the iam:GenerateCredentialReport permission; attach the AWS managed policy SecurityAudit"),
        "{}",
        failing[0].detail
    );
    assert!(diagnoses[0].ok && diagnoses[0].detail.contains(":user/kushim"), "{diagnoses:#?}");
    // Credentials plus the seven actions a collection needs.
    assert_eq!(diagnoses.len(), 8);
    assert!(diagnoses.iter().all(|d| d.integration == Integration::Aws));
}

#[tokio::test]
async fn doctor_stops_at_credentials_that_do_not_work_and_tries_each_role() {
    let fake = start(AwsAccountWorld::new(ACCOUNT)).await.unwrap();
    let bad = fake.sdk_config_with("AKIAWRONGKEY00000000", "whatever");
    let diagnoses = aws::doctor_with(&bad, &AwsSettings::default(), &quick()).await;
    assert_eq!(diagnoses.len(), 1, "{diagnoses:#?}");
    assert!(!diagnoses[0].ok && diagnoses[0].detail.contains("AWS_ACCESS_KEY_ID"));

    let settings = AwsSettings {
        accounts: vec![AwsAccountConfig {
            role_arn: "arn:aws:iam::999999999999:role/kushim-audit".into(),
            ..audit_account("elsewhere")
        }],
    };
    let diagnoses = aws::doctor_with(&fake.sdk_config(), &settings, &quick()).await;
    let assume = diagnoses.last().unwrap();
    assert_eq!(
        assume.check,
        "account elsewhere (arn:aws:iam::999999999999:role/kushim-audit): sts:AssumeRole"
    );
    assert!(!assume.ok && assume.detail.contains("trust policy"), "{assume:?}");
}

// ---------------------------------------------------------------------------------------------
// moto

/// A fixture both IAM implementations can hold: only what IAM's API can set (no ages, no last
/// use, no root credentials), everything created today.
fn shared_fixture() -> AwsAccountWorld {
    let mut world = AwsAccountWorld::new(ACCOUNT)
        // moto's GetAccountSummary always reports root without MFA or keys.
        .root(|r| r.without_mfa())
        .with_password_policy(kushim::integrations::aws::PasswordPolicy {
            minimum_password_length: Some(10),
            require_numbers: true,
            allow_users_to_change_password: true,
            ..Default::default()
        })
        .with_policy("artifacts", read_bucket("artifacts"))
        .with_policy("everything", allow_everything())
        .with_group("admins", |g| g.admin())
        .with_role("support", |r| r.support())
        .with_role("ops", |r| r.with_inline_policy("ops", read_bucket("ops")));
    let artifacts = world.policy_arn("artifacts");
    let everything = world.policy_arn("everything");
    world = world
        .with_group("deployers", |g| {
            g.with_policy(&artifacts).with_inline_policy("extra", allow_everything())
        })
        .with_user("alice", |u| u.created_days_ago(0).console().without_mfa())
        .with_user("bob", |u| u.created_days_ago(0).console().virtual_mfa().in_group("admins"))
        .with_user("carol", |u| u.created_days_ago(0).console().hardware_mfa().admin())
        .with_user("deploy", |u| {
            u.created_days_ago(0)
                .unused_key()
                .unused_key()
                .in_group("deployers")
                .with_policy(&everything)
        })
        .with_user("retired", |u| {
            u.created_days_ago(0).inactive_key().with_inline_policy("old", read_bucket("old"))
        });
    world
}

#[tokio::test]
async fn moto_collected_gives_the_expected_findings() {
    let Some(moto) = Moto::start("moto_collected_gives_the_expected_findings") else { return };
    moto.seed(&shared_fixture()).await;

    let collection = aws::collect_with(&moto.sdk_config(), &AwsSettings::default(), &quick()).await;
    let account = only_account(&collection);
    assert!(account.gaps.is_empty(), "{:#?}", account.gaps);
    let report = account.credential_report.as_ref().unwrap();
    assert!(report.root.is_none(), "moto's report has no <root_account> row");
    assert_eq!(report.users.len(), 5);

    let findings = findings(&collection);
    let alice = finding(&findings, "aws.iam.console_users_mfa", &user("alice"));
    assert_eq!(alice.outcome, Outcome::Fail);
    assert_eq!(
        finding(&findings, "aws.iam.console_users_mfa", &user("bob")).outcome,
        Outcome::Pass
    );
    assert_eq!(
        finding(&findings, "aws.iam.no_user_admin_access", &user("carol")).outcome,
        Outcome::Fail
    );
    assert_eq!(
        finding(&findings, "aws.iam.single_active_key", &user("deploy")).outcome,
        Outcome::Fail
    );
    assert_eq!(
        finding(&findings, "aws.iam.password_policy", &account_resource()).outcome,
        Outcome::Fail
    );
    assert_eq!(
        finding(&findings, "aws.iam.support_role", &account_resource()).outcome,
        Outcome::Pass
    );
    assert_eq!(finding(&findings, "aws.iam.root_mfa", &account_resource()).outcome, Outcome::Fail);
    let star = findings
        .iter()
        .filter(|f| f.check_id == "aws.iam.no_star_star_policies" && f.outcome == Outcome::Fail)
        .count();
    assert_eq!(star, 2, "the `everything` policy and deployers' inline `extra`: {findings:#?}");
    // moto answers the first GenerateCredentialReport with STARTED; the report follows anyway.
    assert!(collection.api_calls >= 8, "{}", collection.api_calls);
}

/// What both implementations must agree on: the snapshot without ids, dates and moto's
/// documented quirks (checks.md §1.5: no root row, a hard-coded summary, `not_supported` where
/// AWS writes `N/A`).
fn comparable(account: &AwsAccount) -> serde_json::Value {
    let report = account.credential_report.as_ref().expect("a report");
    let users: Vec<_> = report
        .users
        .iter()
        .map(|row| {
            serde_json::json!({
                "user": row.user,
                "arn": row.arn,
                "password_enabled": row.password_enabled,
                "console_never_used": row.password_last_used == ReportCell::NoInformation,
                "mfa_active": row.mfa_active,
                "keys": row.access_keys().map(|(_, key)| (key.active, key.last_rotated.value().is_some(), key.last_used_date.value().is_some())),
                "certs": (row.cert_1.active, row.cert_2.active),
            })
        })
        .collect();
    let details = account.authorization_details.as_ref().expect("details");
    let sorted = |mut values: Vec<String>| {
        values.sort();
        values
    };
    let attached = |policies: &[aws::AttachedPolicy]| {
        sorted(policies.iter().map(|p| format!("{} {}", p.policy_name, p.policy_arn)).collect())
    };
    let inline = |policies: &[aws::InlinePolicy]| {
        policies.iter().map(|p| (p.policy_name.clone(), p.document.clone())).collect::<Vec<_>>()
    };
    let summary = account.account_summary.as_ref().expect("a summary");
    // AWS omits `HardExpiry` when it was never set; moto writes `false`.
    let password_policy = match account.password_policy.clone() {
        Some(aws::AccountPasswordPolicy::Set(policy)) => {
            serde_json::json!(aws::PasswordPolicy { hard_expiry: None, ..policy })
        }
        other => serde_json::json!(other),
    };
    serde_json::json!({
        "users": users,
        "summary": (summary.account_mfa_enabled, summary.account_access_keys_present, summary.users),
        "password_policy": password_policy,
        "virtual_mfa": sorted(account.virtual_mfa_devices.as_ref().unwrap().iter().map(|d| format!("{} {:?}", d.serial_number, d.user_arn)).collect()),
        "gaad_users": details.users.iter().map(|u| serde_json::json!([u.user_name, u.arn, attached(&u.attached_managed_policies), inline(&u.inline_policies), u.group_names])).collect::<Vec<_>>(),
        "gaad_groups": details.groups.iter().map(|g| serde_json::json!([g.group_name, g.arn, attached(&g.attached_managed_policies), inline(&g.inline_policies)])).collect::<Vec<_>>(),
        "gaad_roles": details.roles.iter().map(|r| serde_json::json!([r.role_name, r.arn, attached(&r.attached_managed_policies), inline(&r.inline_policies)])).collect::<Vec<_>>(),
        "gaad_policies": sorted(details.policies.iter().map(|p| serde_json::json!([p.policy_name, p.arn, p.attachment_count, p.default_version_id, p.document]).to_string()).collect()),
        "support_roles": account.support_access_roles.as_ref().unwrap().iter().map(|r| r.role_name.clone()).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn the_fake_and_moto_give_the_same_answers_for_the_same_fixture() {
    let Some(moto) = Moto::start("the_fake_and_moto_give_the_same_answers_for_the_same_fixture")
    else {
        return;
    };
    let fixture = shared_fixture();
    moto.seed(&fixture).await;
    let fake = start(fixture).await.unwrap();

    let from_moto = aws::collect_with(&moto.sdk_config(), &AwsSettings::default(), &quick()).await;
    let from_fake = collect(&fake).await;
    let (moto_account, fake_account) = (only_account(&from_moto), only_account(&from_fake));
    assert_eq!(comparable(fake_account), comparable(moto_account));

    // The same findings, except root's last use: moto's report has no root row (checks.md §1.5),
    // so moto can only answer `error` where AWS (and the fake) give root's sign-in date.
    let verdicts = |collection: &Collection<AwsSnapshot>| {
        findings(collection)
            .into_iter()
            .filter(|f| f.check_id != "aws.iam.root_not_used")
            .map(|f| (f.check_id, f.resource, f.outcome))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(verdicts(&from_fake), verdicts(&from_moto));
}

#[tokio::test]
async fn moto_accounts_are_entered_through_sts_assume_role() {
    let Some(moto) = Moto::start("moto_accounts_are_entered_through_sts_assume_role") else {
        return;
    };
    let settings = AwsSettings {
        accounts: vec![AwsAccountConfig {
            role_arn: "arn:aws:iam::111111111111:role/kushim-audit".into(),
            ..audit_account("prod")
        }],
    };

    let collection = aws::collect_with(&moto.sdk_config(), &settings, &quick()).await;
    let account = only_account(&collection);
    assert_eq!(account.account_id, "111111111111");
    assert!(account.gaps.is_empty(), "{:#?}", account.gaps);
    // A fresh account of its own: none of the default account's users.
    assert_eq!(account.credential_report.as_ref().unwrap().users.len(), 0);
}
