//! `kushim serve`'s background engine as an operator meets it: the real binary, killed with
//! SIGKILL in the middle of its work, restarted, and checked from the outside (`kushim jobs`,
//! `kushim verify`, the sandbox's request log).
//!
//! Waiting here is on events in another process (a job's status, a request reaching the fake),
//! polled with a deadline: nothing is timed with a sleep.

#![cfg(unix)]

mod support;

use std::{path::Path, time::Duration};

use kushim::sandbox::{Sandbox, SandboxSize, serve::Fault};
use serde_json::Value;
use support::process::{github_environment, json, kushim, serve, wait_for};

/// A short lease so a killed server's job is taken over within seconds; no schedule fires
/// during the test, so the only job is the one it queues.
const CONFIG: &str = r#"
[jobs]
lease_seconds = 5

[schedules]
collect-github = { enabled = false }
evaluate = { enabled = false }
digest = { enabled = false }
exception-sweep = { enabled = false }
evidence-reminders = { enabled = false }
"#;

fn job_status(dir: &Path, env: &[(&'static str, String)], id: i64) -> (String, i64) {
    let jobs = json(dir, env, &["jobs", "--json"]);
    let job = jobs["jobs"].as_array().unwrap().iter().find(|j| j["id"] == id).cloned().unwrap();
    (job["status"].as_str().unwrap().to_owned(), job["attempts"].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_killed_midway_completes_after_restart_and_the_ledger_verifies() {
    let sandbox = Sandbox::start(SandboxSize::DEMO).await.unwrap();
    let env = github_environment(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kushim.toml"), CONFIG).unwrap();
    // Every GitHub answer takes a while, so the server is surely mid-collection when killed.
    sandbox.github.recorder.inject("", Fault::Slow(Duration::from_millis(400)), None);

    let queued = json(
        dir.path(),
        &env,
        &["jobs", "enqueue", "collect", "--integration", "github", "--json"],
    );
    let id = queued["id"].as_i64().unwrap();

    let mut first = serve(dir.path(), &env);
    wait_for("the collection to start", Duration::from_secs(30), async || {
        !sandbox.github.recorder.requests().is_empty()
    })
    .await;
    first.kill();
    assert_eq!(job_status(dir.path(), &env, id), ("running".to_owned(), 1), "killed mid-job");
    assert!(github_findings(dir.path(), &env).is_empty(), "nothing of the killed run was stored");

    sandbox.github.recorder.clear_faults();
    let mut second = serve(dir.path(), &env);
    wait_for("the job to complete on the restarted server", Duration::from_secs(60), async || {
        job_status(dir.path(), &env, id).0 == "done"
    })
    .await;
    assert_eq!(second.terminate(), Some(0));

    assert_eq!(job_status(dir.path(), &env, id), ("done".to_owned(), 2), "run again, once");
    let verify = kushim(dir.path(), &env).args(["verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    assert!(!github_findings(dir.path(), &env).is_empty(), "the GitHub collection was judged");
}

fn github_findings(dir: &Path, env: &[(&'static str, String)]) -> Vec<Value> {
    let findings = json(dir, env, &["findings", "--json"]);
    findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check_id"].as_str().is_some_and(|id| id.starts_with("gh.")))
        .cloned()
        .collect()
}

/// Runs SQL on the test's SQLite database, as someone with a sqlite3 shell would; returns the
/// first column of the first row, if any.
async fn sql(dir: &Path, statement: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", dir.join("kushim.db").display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let row = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .fetch_optional(&pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    pool.close().await;
    use sqlx::Row;
    row.and_then(|row| row.try_get::<String, _>(0).ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_send_posts_the_digest_exactly_once_after_restart() {
    use kushim::sandbox::slack;
    let fake = slack::start().await.unwrap();
    let env = vec![
        ("SLACK_SIGNING_SECRET", "test-secret".to_owned()),
        ("SLACK_BOT_TOKEN", slack::server::BOT_TOKEN.to_owned()),
        ("SLACK_API_URL", fake.api_url()),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kushim.toml"), CONFIG).unwrap();
    json(dir.path(), &env, &["jobs", "--json"]); // creates and migrates the database
    // What `/kushim subscribe #digest digest` stores.
    sql(
        dir.path(),
        "INSERT INTO subscriptions (channel, kind, created_at) VALUES ('C0DIGEST', 'digest', 0)",
    )
    .await;
    json(dir.path(), &env, &["jobs", "enqueue", "digest", "--json"]);
    // Slack takes two seconds to answer: the server is killed while its post is in flight.
    fake.recorder.inject("/api/chat.postMessage", Fault::Slow(Duration::from_secs(2)), None);

    let mut first = serve(dir.path(), &env);
    wait_for("the digest post to reach Slack", Duration::from_secs(30), async || {
        fake.recorder.requests().iter().any(|r| r.uri.contains("chat.postMessage"))
    })
    .await;
    first.kill();
    assert_eq!(sql(dir.path(), "SELECT status FROM outbox").await.as_deref(), Some("sending"));

    fake.recorder.clear_faults();
    let mut second = serve(dir.path(), &env);
    wait_for("the digest to be delivered", Duration::from_secs(60), async || {
        sql(dir.path(), "SELECT status FROM outbox").await.as_deref() == Some("delivered")
    })
    .await;
    assert_eq!(second.terminate(), Some(0));

    let messages = fake.messages_in("C0DIGEST");
    assert_eq!(messages.len(), 1, "posted exactly once: {messages:#?}");
    assert!(
        !fake.calls_to("conversations.history").is_empty(),
        "the restarted server looked for the interrupted post before posting"
    );
    assert!(messages[0].body["text"].as_str().unwrap().starts_with("SOC 2 daily digest"));
    let ts = sql(dir.path(), "SELECT message_id FROM outbox").await;
    assert_eq!(
        ts.as_deref(),
        Some(messages[0].ts.as_str()),
        "the outbox knows the message it shows"
    );
    let verify = kushim(dir.path(), &env).args(["verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}
