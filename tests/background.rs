//! `kushim serve`'s background engine as an operator meets it: the real binary, killed with
//! SIGKILL in the middle of its work, restarted, and checked from the outside (`kushim jobs`,
//! `kushim verify`, the sandbox's request log).
//!
//! Waiting here is on events in another process (a job's status, a request reaching the fake),
//! polled with a deadline: nothing is timed with a sleep.

#![cfg(unix)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use kushim::sandbox::{Sandbox, SandboxSize, serve::Fault};
use serde_json::Value;

/// The conventional environment pointing at the sandbox's GitHub (the other integrations stay
/// unconfigured so only one collection runs).
fn github_environment(sandbox: &Sandbox) -> Vec<(&'static str, String)> {
    let github = sandbox.github.settings();
    let kushim::config::GitHubAuth::Token(token) = &github.auth else {
        panic!("the sandbox uses a token")
    };
    vec![
        ("GITHUB_TOKEN", token.expose().to_owned()),
        ("GITHUB_ORG", github.org.clone()),
        ("GITHUB_API_URL", github.api_url.clone()),
        ("SLACK_SIGNING_SECRET", "test-secret".to_owned()),
    ]
}

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

fn kushim(dir: &Path, env: &[(&'static str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kushim"));
    command
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("KUSHIM_CONFIG")
        .env("KUSHIM_ACTOR", "ops");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn json(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> Value {
    let output = kushim(dir, env).args(args).output().expect("kushim runs");
    assert!(
        output.status.success(),
        "kushim {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn serve(dir: &Path, env: &[(&'static str, String)]) -> Child {
    let mut child = kushim(dir, env)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kushim serve starts");
    let mut line = String::new();
    BufReader::new(child.stderr.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{line}");
    child
}

/// Polls `condition` until it holds, failing after `limit`.
async fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn job_status(dir: &Path, env: &[(&'static str, String)], id: i64) -> (String, i64) {
    let jobs = json(dir, env, &["jobs", "--json"]);
    let job = jobs["jobs"].as_array().unwrap().iter().find(|j| j["id"] == id).cloned().unwrap();
    (job["status"].as_str().unwrap().to_owned(), job["attempts"].as_i64().unwrap())
}

fn signal(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signals a child this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
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
    wait_for("the collection to start", Duration::from_secs(30), || {
        !sandbox.github.recorder.requests().is_empty()
    })
    .await;
    signal(&first, libc::SIGKILL);
    first.wait().unwrap();
    assert_eq!(job_status(dir.path(), &env, id), ("running".to_owned(), 1), "killed mid-job");
    assert!(github_findings(dir.path(), &env).is_empty(), "nothing of the killed run was stored");

    sandbox.github.recorder.clear_faults();
    let second = serve(dir.path(), &env);
    wait_for("the job to complete on the restarted server", Duration::from_secs(60), || {
        job_status(dir.path(), &env, id).0 == "done"
    })
    .await;
    signal(&second, libc::SIGTERM);
    let status = second.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(0));

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
