//! A full collection of the performance-sized sandbox organisation (300 repositories,
//! 200 members, 1,000 Okta users, 150 IAM users), measured the way a user runs it: the
//! `kushim collect` binary in its own process against the fakes on 127.0.0.1.
//!
//! Run: `cargo bench --bench collect`. Prints API calls per integration, GraphQL pages, wall
//! time and the collecting process's peak memory (its maximum resident set size).

use std::{process::Command, time::Instant};

use kushim::{
    config::{GitHubAuth, OktaAuth},
    sandbox::{Sandbox, SandboxSize, aws::server as iam},
};

/// Peak resident memory of finished child processes, in kilobytes (Linux `ru_maxrss`).
fn children_peak_rss_kb() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes into the struct we hand it.
    let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    assert_eq!(status, 0, "getrusage failed");
    // SAFETY: initialised by the successful call above.
    unsafe { usage.assume_init() }.ru_maxrss
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size = SandboxSize::PERFORMANCE;
    let sandbox = Sandbox::start(size).await.expect("the sandbox starts");
    let github = sandbox.github.settings();
    let GitHubAuth::Token(github_token) = &github.auth else {
        unreachable!("the sandbox uses a token")
    };
    let okta = sandbox.okta.settings();
    let OktaAuth::ApiToken(okta_token) = &okta.auth else {
        unreachable!("the sandbox uses an API token")
    };
    let dir = tempfile::tempdir().expect("a temporary directory");

    println!(
        "sandbox: {} repositories, {} GitHub members, {} Okta users, {} IAM users",
        size.repos, size.members, size.okta_users, size.iam_users
    );
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_kushim"))
        .args(["collect", "--json"])
        .current_dir(dir.path())
        .env("GITHUB_TOKEN", github_token.expose())
        .env("GITHUB_ORG", &github.org)
        .env("GITHUB_API_URL", &github.api_url)
        .env("OKTA_ORG_URL", &okta.org_url)
        .env("OKTA_API_TOKEN", okta_token.expose())
        .env("AWS_ACCESS_KEY_ID", iam::SANDBOX_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", iam::SANDBOX_SECRET_ACCESS_KEY)
        .env("AWS_ENDPOINT_URL", sandbox.aws.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("DATABASE_URL")
        .output()
        .expect("kushim collect runs");
    let wall = started.elapsed();
    assert!(output.status.success(), "collect failed: {}", String::from_utf8_lossy(&output.stderr));

    let view: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("collect --json prints JSON");
    for run in view["runs"].as_array().expect("runs") {
        println!(
            "{:<7} {:>9}  {:>5} API calls  {:>6} findings  {:>5.2} s",
            run["integration"].as_str().unwrap_or("?"),
            run["outcome"].as_str().unwrap_or("?"),
            run["api_calls"],
            run["findings"],
            run["seconds"].as_f64().unwrap_or_default()
        );
    }
    let graphql_pages =
        sandbox.github.recorder.requests().iter().filter(|r| r.uri.ends_with("/graphql")).count();
    println!("github GraphQL requests: {graphql_pages}");
    println!(
        "wall time of `kushim collect` (all three, side by side, plus evaluation): {:.2} s",
        wall.as_secs_f64()
    );
    println!(
        "peak memory of the collecting process: {:.1} MB",
        children_peak_rss_kb() as f64 / 1024.0
    );
}
