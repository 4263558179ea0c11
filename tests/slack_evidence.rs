//! Slack as an evidence source, through slack-morphism's client (the bot's), against the
//! in-process fake Slack on 127.0.0.1: a workspace's members are listed page by page, judged by
//! `slack.admins_2fa`, and every way the listing can go wrong (a bot token that cannot see 2FA, a
//! rejected token, a missing scope, a rate limit) ends in an answer a person can act on and never
//! in a passing control.
//!
//! The fake's members come from `sandbox::slack::generated(n)`: one admin in 50 (the first the
//! primary owner), a third of the admins without 2FA, bots and deactivated members among them.

mod support;

use std::{collections::BTreeSet, time::Duration};

use kushim::{
    checks::{Finding, Outcome},
    collection::{self, Progress, Targets},
    config::{Config, SlackEvidenceSettings},
    controls::ControlState,
    engine::{CollectionReport, Engine},
    integrations::{
        Source,
        collect::RetryPolicy,
        slack::{self, PART_USERS},
    },
    sandbox::{
        serve::Fault,
        slack::{
            FakeSlack,
            server::{ADMIN_TOKEN, BOT_TOKEN},
        },
    },
    store::Backend,
};
use serde_json::Value;
use support::TestDb;

const CHECK: &str = "slack.admins_2fa";
/// "MFA enforced for all workforce identities": the control that reads `slack.admins_2fa`.
const CONTROL: &str = "AC-02";

/// Small waits so fault stories stay fast; Slack may still ask for a few seconds.
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_server_wait: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
    }
}

/// A Slack workspace served by the fake, and the tokens that read it.
struct Workspace {
    fake: FakeSlack,
}

impl Workspace {
    async fn with_members(members: usize) -> Workspace {
        let fake = kushim::sandbox::slack::start_with(kushim::sandbox::slack::generated(members))
            .await
            .expect("the fake Slack starts");
        Workspace { fake }
    }

    /// Settings reading the workspace with the primary owner's user token.
    fn as_admin(&self) -> SlackEvidenceSettings {
        self.fake.evidence_settings(ADMIN_TOKEN)
    }

    /// Settings reading the workspace with a bot token put in SLACK_EVIDENCE_TOKEN by mistake.
    fn as_bot(&self) -> SlackEvidenceSettings {
        SlackEvidenceSettings {
            token_source: "SLACK_EVIDENCE_TOKEN".into(),
            ..self.fake.evidence_settings(BOT_TOKEN)
        }
    }

    fn with_token(&self, token: &str) -> SlackEvidenceSettings {
        self.fake.evidence_settings(token)
    }

    /// The check's resources for the active human admins and owners with 2FA `on`.
    fn admins_with_2fa(&self, on: bool) -> BTreeSet<String> {
        self.fake
            .members()
            .into_iter()
            .filter(|m| (m.is_admin || m.is_owner) && !m.is_bot && !m.deleted)
            .filter(|m| m.has_2fa == Some(on))
            .map(|m| format!("slack-user:{}", m.name))
            .collect()
    }

    /// The query of every `users.list` call, in order.
    fn users_list_calls(&self) -> Vec<Value> {
        self.fake.calls_to("users.list").into_iter().map(|call| call.body).collect()
    }
}

/// Kushim with a fresh store, collecting and judging as `kushim collect --only slack` does.
struct Kushim {
    engine: Engine,
    _db: TestDb,
}

impl Kushim {
    async fn fresh() -> Kushim {
        let db = TestDb::new(Backend::Sqlite).await;
        let engine = Engine::new(db.store().await, &Config::default()).expect("an engine");
        Kushim { engine, _db: db }
    }

    async fn collects(
        &self,
        settings: SlackEvidenceSettings,
        policy: RetryPolicy,
    ) -> CollectionReport {
        let targets = Targets { slack: Some(settings), ..Targets::default() };
        let mut reports = collection::collect(&self.engine, &targets, &policy, &Progress::silent())
            .await
            .expect("the collection is recorded");
        assert_eq!(reports.len(), 1, "only Slack was configured");
        reports.remove(0)
    }

    /// The newest verdicts of `slack.admins_2fa`.
    async fn verdicts(&self) -> Vec<Finding> {
        let findings = self.engine.store().latest_findings().await.expect("findings");
        findings.into_iter().filter(|f| f.check_id == CHECK).collect()
    }

    async fn resources_with(&self, outcome: Outcome) -> BTreeSet<String> {
        self.verdicts()
            .await
            .into_iter()
            .filter(|f| f.outcome == outcome)
            .map(|f| f.resource)
            .collect()
    }
}

fn state_of(report: &CollectionReport) -> ControlState {
    report.refresh.state_of(CONTROL).expect("the control is assessed")
}

#[tokio::test]
async fn every_member_arrives_across_pages_of_200() {
    let workspace = Workspace::with_members(450).await;

    let run = slack::collect(&workspace.as_admin(), &quick()).await;

    let snapshot = support::collected(&run);
    assert_eq!(
        (snapshot.team_id.as_str(), snapshot.team_name.as_str()),
        ("T0SANDBOX", "sandbox-acme")
    );
    let calls = workspace.users_list_calls();
    assert_eq!(calls.len(), 3, "450 members are three pages of 200: {calls:#?}");
    assert!(calls.iter().all(|query| query["limit"] == "200"), "{calls:#?}");
    assert!(calls[0].get("cursor").is_none(), "the first page has no cursor");
    assert!(calls[1..].iter().all(|query| query["cursor"].as_str().is_some_and(|c| !c.is_empty())));
    assert_eq!(run.api_calls, 4, "auth.test and three pages");

    let served = workspace.fake.members();
    assert_eq!(snapshot.users.len(), served.len(), "every member, none twice");
    for (collected, served) in snapshot.users.iter().zip(&served) {
        if served.deleted {
            // Slack sends deactivated members without their role flags: they read as false.
            assert_eq!(collected.id, served.id);
            assert!(collected.deleted && !collected.is_admin && !collected.is_restricted);
            assert_eq!(collected.has_2fa, None);
        } else {
            assert_eq!(collected, served, "an active member arrives as Slack described it");
        }
    }
}

#[tokio::test]
async fn an_admin_token_sees_2fa_and_only_the_admins_without_it_fail() {
    let workspace = Workspace::with_members(450).await;
    let kushim = Kushim::fresh().await;

    let report = kushim.collects(workspace.as_admin(), quick()).await;

    assert_eq!(report.run.outcome, "collected", "{}", report.run.detail);
    let failing = kushim.resources_with(Outcome::Fail).await;
    assert_eq!(failing, workspace.admins_with_2fa(false));
    assert!(!failing.is_empty(), "the generated workspace has admins without 2FA");
    assert_eq!(kushim.resources_with(Outcome::Pass).await, workspace.admins_with_2fa(true));
    assert!(kushim.resources_with(Outcome::Error).await.is_empty());
    let reasons: Vec<String> = kushim.verdicts().await.into_iter().map(|f| f.reason).collect();
    assert!(reasons.iter().any(|r| r.contains("without 2FA; turn on two-factor")), "{reasons:?}");
    assert_eq!(state_of(&report), ControlState::Failing);
}

#[tokio::test]
async fn an_operator_declaring_sso_lets_admins_without_slacks_2fa_pass() {
    let workspace = Workspace::with_members(120).await;
    let kushim = Kushim::fresh().await;

    let sso = SlackEvidenceSettings { sso_enforced: Some(true), ..workspace.as_admin() };
    kushim.collects(sso, quick()).await;

    assert!(kushim.resources_with(Outcome::Fail).await.is_empty());
    let without_2fa = workspace.admins_with_2fa(false);
    assert!(without_2fa.is_subset(&kushim.resources_with(Outcome::Pass).await));
}

#[tokio::test]
async fn the_bot_token_cannot_see_2fa_so_the_check_errors_and_never_passes() {
    let workspace = Workspace::with_members(120).await;
    let kushim = Kushim::fresh().await;

    let report = kushim.collects(workspace.as_bot(), quick()).await;

    assert_eq!(report.run.outcome, "collected", "the members were listed");
    let verdicts = kushim.verdicts().await;
    assert!(!verdicts.is_empty());
    for verdict in &verdicts {
        assert_eq!(verdict.outcome, Outcome::Error, "{verdict:?}");
        assert!(verdict.reason.contains("use an admin token"), "{verdict:?}");
    }
    assert_eq!(state_of(&report), ControlState::Errored);

    let doctor = slack::doctor(&workspace.as_bot(), &quick()).await;
    let sight = doctor.iter().find(|d| d.check.contains("has_2fa")).expect("a 2FA line");
    assert!(!sight.ok, "{doctor:#?}");
    assert!(sight.detail.contains("use an admin's user token"), "{}", sight.detail);
    assert!(sight.detail.contains("SLACK_EVIDENCE_TOKEN is a bot token"), "{}", sight.detail);
    assert!(doctor.iter().filter(|d| d.check != sight.check).all(|d| d.ok), "{doctor:#?}");
}

#[tokio::test]
async fn a_rejected_token_fails_the_collection_and_says_which_token_to_check() {
    let workspace = Workspace::with_members(120).await;
    let kushim = Kushim::fresh().await;

    let report = kushim.collects(workspace.with_token("xoxp-revoked-secret"), quick()).await;

    assert_eq!(report.run.outcome, "failed");
    let reason = &report.run.detail;
    assert!(reason.contains("invalid_auth"), "{reason}");
    assert!(reason.contains("check SLACK_EVIDENCE_TOKEN"), "{reason}");
    assert!(!reason.contains("xoxp-revoked-secret"), "the token is never printed: {reason}");
    assert!(workspace.users_list_calls().is_empty(), "nothing is listed with a rejected token");
    let verdicts = kushim.verdicts().await;
    assert!(!verdicts.is_empty() && verdicts.iter().all(|f| f.outcome == Outcome::Error));
    assert!(verdicts.iter().all(|f| f.reason.contains("invalid_auth")), "{verdicts:#?}");
    assert_ne!(state_of(&report), ControlState::Passing);
    assert_eq!(state_of(&report), ControlState::Errored);
}

#[tokio::test]
async fn a_token_without_users_read_leaves_a_gap_that_says_to_add_it() {
    let workspace = Workspace::with_members(120).await;
    workspace.fake.recorder.inject("/api/users.list", Fault::Forbidden, None);

    let run = slack::collect(&workspace.as_admin(), &quick()).await;

    let snapshot = support::collected(&run);
    assert!(snapshot.users.is_empty(), "no partial list is judged");
    let gap = &snapshot.gaps[PART_USERS];
    assert!(gap.contains("missing the users:read scope"), "{gap}");
    assert!(gap.contains("add users:read"), "{gap}");

    let kushim = Kushim::fresh().await;
    let report = kushim.collects(workspace.as_admin(), quick()).await;
    let verdicts = kushim.verdicts().await;
    assert_eq!(verdicts.len(), 1, "{verdicts:#?}");
    assert_eq!(verdicts[0].outcome, Outcome::Error);
    assert!(verdicts[0].reason.contains("users:read"), "{}", verdicts[0].reason);
    assert_eq!(state_of(&report), ControlState::Errored);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_for_as_long_as_slack_asks() {
    let workspace = Workspace::with_members(450).await;
    let kushim = Kushim::fresh().await;
    workspace.fake.rate_limit("users.list", 1, 1);
    // Backoff of its own would take ten minutes: only honouring Retry-After (1 s) finishes.
    let patient_only_when_told = RetryPolicy {
        base_delay: Duration::from_secs(600),
        max_delay: Duration::from_secs(600),
        ..quick()
    };

    let report = tokio::time::timeout(
        Duration::from_secs(60),
        kushim.collects(workspace.as_admin(), patient_only_when_told),
    )
    .await
    .expect("Retry-After (1 s) was not honoured: the collection waited on its own backoff");

    assert_eq!(report.run.outcome, "collected", "{}", report.run.detail);
    assert_eq!(report.run.api_calls, 5, "auth.test, the refused page, then three pages");
    let refused_then_served: Vec<String> = workspace
        .fake
        .recorder
        .requests()
        .into_iter()
        .filter(|r| r.uri.starts_with("/api/users.list"))
        .map(|r| r.uri)
        .collect();
    assert_eq!(refused_then_served.len(), 4, "{refused_then_served:#?}");
    assert_eq!(refused_then_served[0], refused_then_served[1], "the same page, asked again");
    let verdicts = kushim.verdicts().await;
    assert!(verdicts.iter().all(|f| f.outcome != Outcome::Error), "{verdicts:#?}");
}

#[tokio::test]
async fn an_api_url_that_is_not_https_is_refused_before_any_token_is_sent() {
    let settings = SlackEvidenceSettings {
        api_url: "http://slack.example.com/api".into(),
        token: kushim::config::Secret::new(ADMIN_TOKEN),
        token_source: "SLACK_EVIDENCE_TOKEN".into(),
        sso_enforced: None,
    };

    let run = slack::collect(&settings, &quick()).await;

    let reason = support::failure(&run);
    assert!(reason.contains("must start with https://"), "{reason}");
    assert!(reason.contains("SLACK_API_URL"), "{reason}");
    assert_eq!(run.api_calls, 0);
    assert!(matches!(run.source, Source::Failed { .. }));
}

/// `kushim` in a fresh directory with only Slack's settings from the environment.
fn kushim(
    dir: &std::path::Path,
    env: &[(&'static str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let env: Vec<(&'static str, String)> =
        env.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
    let output = support::process::kushim(dir, &env).args(args).output().expect("kushim runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kushim_collect_only_slack_reads_the_environment_and_reports_the_run() {
    let workspace = Workspace::with_members(120).await;
    let dir = tempfile::tempdir().unwrap();
    let api_url = workspace.fake.api_url();
    let admin = [("SLACK_EVIDENCE_TOKEN", ADMIN_TOKEN), ("SLACK_API_URL", api_url.as_str())];

    let (code, stdout, stderr) =
        kushim(dir.path(), &admin, &["collect", "--only", "slack", "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let view: Value = serde_json::from_str(&stdout).unwrap();
    let runs = view["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{view:#}");
    assert_eq!(runs[0]["integration"], "slack");
    assert_eq!(runs[0]["outcome"], "collected", "{view:#}");
    assert_eq!(runs[0]["api_calls"], 2, "auth.test and one page of 120");

    let (code, stdout, _) =
        kushim(dir.path(), &[], &["findings", "--check", CHECK, "--failing", "--json"]);
    assert_eq!(code, 0);
    let failing: BTreeSet<String> = serde_json::from_str::<Value>(&stdout).unwrap()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failing, workspace.admins_with_2fa(false));

    let (code, stdout, _) = kushim(dir.path(), &admin, &["doctor", "--only", "slack"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("visible: the token belongs to a workspace admin"), "{stdout}");

    let bot = [("SLACK_EVIDENCE_TOKEN", BOT_TOKEN), ("SLACK_API_URL", api_url.as_str())];
    let (code, stdout, _) = kushim(dir.path(), &bot, &["doctor", "--only", "slack"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("token cannot see has_2fa: use an admin's user token"), "{stdout}");
    assert!(!stdout.contains(BOT_TOKEN) && !stdout.contains(ADMIN_TOKEN), "{stdout}");
}
