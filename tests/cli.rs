//! The `kushim` binary as a new user meets it: a fresh directory, no configuration, an embedded
//! SQLite file.

mod support;

use std::{path::Path, process::Command};

use serde_json::Value;

/// One user's working directory and the binary run inside it.
struct Kushim {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Kushim {
    fn in_fresh_directory() -> Kushim {
        Kushim { dir: tempfile::tempdir().expect("a temporary directory") }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kushim"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("KUSHIM_CONFIG")
            // A developer's own Slack tokens would add a Slack collection to every run.
            .env_remove("SLACK_BOT_TOKEN")
            .env_remove("SLACK_EVIDENCE_TOKEN");
        command.env("KUSHIM_ACTOR", "alice");
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().expect("kushim runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed and print JSON.
    fn json(&self, args: &[&str]) -> Value {
        let run = self.run(args);
        assert_eq!(run.code, 0, "kushim {args:?} failed: {}", run.stderr);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("kushim {args:?} printed no JSON ({e}): {}", run.stdout))
    }

    /// Edits the database by hand, as someone with a sqlite3 shell would.
    fn tamper(&self, statement: &str) {
        let url = format!("sqlite://{}", self.path("kushim.db").display());
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(
            async {
                sqlx::any::install_default_drivers();
                let pool = sqlx::AnyPool::connect(&url).await.unwrap();
                let done = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
                    .execute(&pool)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1, "{statement}");
                pool.close().await;
            },
        );
    }
}

impl Run {
    fn assert_fails_with(&self, code: i32, message: &str) {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(message), "{message:?} not in stderr: {}", self.stderr);
    }
}

fn states(view: &Value) -> Vec<String> {
    view["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_fresh_directory_shows_all_64_controls_honestly_without_evidence() {
    let kushim = Kushim::in_fresh_directory();
    let status = kushim.json(&["status", "--json"]);
    assert_eq!(status["controls"], 64);
    assert_eq!(status["score"], 0.0);
    assert_eq!(status["has_collected_evidence"], false);
    let no_evidence = status["states"]["no_evidence"].as_u64().unwrap();
    let manual_due = status["states"]["manual_due"].as_u64().unwrap();
    assert_eq!(no_evidence + manual_due, 64, "{status:#}");
    assert!(no_evidence > 0 && manual_due > 0);
    assert_eq!(status["states"]["passing"], 0);
    assert!(kushim.path("kushim.db").exists(), "the SQLite file is created on first use");

    let human = kushim.run(&["status"]);
    assert_eq!(human.code, 0);
    assert!(
        human.stdout.contains("SOC 2 posture: 0.0 / 100 across 64 controls"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("No evidence has been collected yet"), "{}", human.stdout);
    assert!(!human.stdout.contains("\u{1b}["), "no colour codes when stdout is not a terminal");

    let controls = kushim.json(&["controls", "--json"]);
    let states = states(&controls);
    assert_eq!(states.len(), 64);
    assert!(states.iter().all(|s| s == "no_evidence" || s == "manual_due"), "{states:?}");
}

#[test]
fn controls_filter_by_criterion_and_by_failing() {
    let kushim = Kushim::in_fresh_directory();
    let cc61 = kushim.json(&["controls", "--criterion", "cc6.1", "--json"]);
    let listed = cc61["controls"].as_array().unwrap();
    assert!(!listed.is_empty() && listed.len() < 64);
    for control in listed {
        assert!(control["criteria"].as_array().unwrap().iter().any(|c| c == "CC6.1"), "{control}");
    }
    assert!(
        states(&kushim.json(&["controls", "--failing", "--json"])).is_empty(),
        "nothing fails without evidence"
    );
    assert!(kushim.run(&["controls", "--failing"]).stdout.contains("No controls match."));

    kushim
        .run(&["controls", "--criterion", "CC99.1"])
        .assert_fails_with(2, "unknown criterion \"CC99.1\"");
}

#[test]
fn one_control_is_explained_and_a_typo_gets_suggestions() {
    let kushim = Kushim::in_fresh_directory();
    let detail = kushim.json(&["control", "ac-01", "--json"]);
    assert_eq!(detail["id"], "AC-01");
    assert_eq!(detail["state"], "no_evidence");
    assert!(!detail["checks"].as_array().unwrap().is_empty());
    assert!(!detail["criteria"][0]["title"].as_str().unwrap().is_empty());
    assert!(detail["history"].as_array().unwrap().len() == 1, "the first assessment is recorded");

    let human = kushim.run(&["control", "AC-01"]);
    for section in ["Trust Services Criteria", "Checks", "History", "Remediation"] {
        assert!(human.stdout.contains(section), "{section} missing:\n{}", human.stdout);
    }

    kushim.run(&["control", "AC-1"]).assert_fails_with(2, "no control \"AC-1\"; did you mean");
}

#[test]
fn manual_evidence_is_stored_and_then_verify_catches_an_edit() {
    let kushim = Kushim::in_fresh_directory();
    let policy = kushim.path("infosec-policy.pdf");
    std::fs::write(&policy, b"%PDF-1.7 Information security policy v3, approved 2026-11-20")
        .unwrap();
    let manual = kushim.json(&["controls", "--json"])["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "manual")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let added = kushim.run(&[
        "evidence",
        "add",
        &manual,
        "--file",
        policy.to_str().unwrap(),
        "--note",
        "v3 approved by the board",
    ]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(added.stdout.contains("is now manual_ok"), "{}", added.stdout);
    assert!(added.stdout.contains("sha256:"), "{}", added.stdout);

    let detail = kushim.json(&["control", &manual, "--json"]);
    assert_eq!(detail["state"], "manual_ok");
    assert_eq!(detail["manual_evidence"][0]["file_name"], "infosec-policy.pdf");
    assert_eq!(detail["manual_evidence"][0]["submitted_by"], "cli:alice");

    let intact = kushim.run(&["verify"]);
    assert_eq!(intact.code, 0, "{}", intact.stdout);
    assert!(intact.stdout.contains("The evidence store is intact."));

    kushim.tamper("UPDATE manual_evidence SET note = 'approved by nobody' WHERE seq = 1");
    let broken = kushim.run(&["verify"]);
    assert_eq!(broken.code, 1, "{}", broken.stdout);
    assert!(
        broken
            .stdout
            .contains("TAMPERING DETECTED: the first broken record is manual_evidence record 1."),
        "{}",
        broken.stdout
    );
    let report = kushim.run(&["verify", "--json"]);
    assert_eq!(report.code, 1);
    let report: Value = serde_json::from_str(&report.stdout).unwrap();
    let chain = report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == "manual_evidence")
        .unwrap();
    assert_eq!(chain["broken"]["seq"], 1);
}

#[test]
fn evidence_for_the_wrong_control_is_refused_and_stores_nothing() {
    let kushim = Kushim::in_fresh_directory();
    let file = kushim.path("x.txt");
    std::fs::write(&file, "x").unwrap();
    let path = file.to_str().unwrap();
    kushim
        .run(&["evidence", "add", "AC-01", "--file", path, "--note", "n"])
        .assert_fails_with(2, "AC-01 is an automated control");
    kushim
        .run(&["evidence", "add", "NOPE-9", "--file", path, "--note", "n"])
        .assert_fails_with(2, "no control \"NOPE-9\"");
    kushim
        .run(&["evidence", "add", "GOV-01", "--file", "missing.pdf", "--note", "n"])
        .assert_fails_with(2, "cannot read missing.pdf");
    let audit_free = kushim.json(&["control", "GOV-01", "--json"]);
    assert!(audit_free["manual_evidence"].as_array().unwrap().is_empty());
}

#[test]
fn init_writes_a_config_that_the_next_command_accepts() {
    let kushim = Kushim::in_fresh_directory();
    let first = kushim.run(&["init"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(Path::new(&kushim.path("kushim.toml")).exists());
    kushim.run(&["init"]).assert_fails_with(2, "kushim.toml already exists; pass --force");
    assert_eq!(kushim.run(&["init", "--force"]).code, 0);
    assert_eq!(kushim.run(&["status"]).code, 0, "the written file is valid");
}

/// The documented way to regenerate the checked-in manifests prints exactly those files, and
/// needs neither a configuration nor a database.
#[test]
fn the_manifest_commands_print_the_checked_in_manifests() {
    let kushim = Kushim::in_fresh_directory();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let slack = kushim.run(&["manifest", "slack", "--base-url", "https://kushim.example.com"]);
    assert_eq!(slack.code, 0, "{}", slack.stderr);
    assert_eq!(slack.stdout, std::fs::read_to_string(repo.join("manifest/slack.json")).unwrap());
    let discord = kushim.run(&["manifest", "discord"]);
    assert_eq!(discord.code, 0, "{}", discord.stderr);
    assert_eq!(
        discord.stdout,
        std::fs::read_to_string(repo.join("manifest/discord.json")).unwrap()
    );
    assert!(!kushim.path("kushim.db").exists(), "no database is created");

    kushim
        .run(&["manifest", "slack", "--base-url", "kushim.example.com"])
        .assert_fails_with(2, "must be an http(s) URL, like https://kushim.example.com");
}

#[test]
fn a_config_typo_names_the_file_the_line_and_the_key() {
    let kushim = Kushim::in_fresh_directory();
    std::fs::write(kushim.path("kushim.toml"), "[scope]\n\n[checks.aws]\nkey_max_age = 30\n")
        .unwrap();
    let run = kushim.run(&["status"]);
    run.assert_fails_with(2, "kushim.toml: TOML parse error at line 4");
    assert!(run.stderr.contains("key_max_age"), "{}", run.stderr);
}

#[test]
fn out_of_scope_controls_come_from_the_config() {
    let kushim = Kushim::in_fresh_directory();
    std::fs::write(
        kushim.path("kushim.toml"),
        "[scope]\nexclude = [{ control = \"PHY-01\", reason = \"fully remote\" }]\n",
    )
    .unwrap();
    let detail = kushim.json(&["control", "PHY-01", "--json"]);
    assert_eq!(detail["state"], "not_applicable");
    assert_eq!(detail["reason"], "out of scope: fully remote");
}

#[test]
fn a_database_password_never_reaches_the_terminal() {
    let kushim = Kushim::in_fresh_directory();
    let run = kushim.run_with_env(
        &["status"],
        &[("DATABASE_URL", "postgres://kushim:hunter2@127.0.0.1:1/kushim")],
    );
    run.assert_fails_with(
        2,
        "cannot open the database at postgres://kushim:***@127.0.0.1:1/kushim",
    );
    assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"));
}

#[test]
fn migrate_reports_every_migration_applied() {
    let kushim = Kushim::in_fresh_directory();
    let run = kushim.run(&["migrate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("0001 ledger (applied)"), "{}", run.stdout);
    assert!(run.stdout.contains("0002 people (applied)"), "{}", run.stdout);
    assert!(run.stdout.contains("0003 collection runs (applied)"), "{}", run.stdout);
}

#[test]
fn a_custom_catalog_replaces_the_builtin_one_and_is_validated() {
    let kushim = Kushim::in_fresh_directory();
    let catalog = kushim.path("controls");
    std::fs::create_dir(&catalog).unwrap();
    let control = r#"
[[control]]
id = "ACME-01"
title = "Laptops encrypted"
description = "Every laptop has full-disk encryption."
criteria = ["CC6.7"]
kind = "manual"
evidence = "MDM export showing FileVault on"
evidence_every = "90d"
severity = "high"
owner = "it"
remediation = "Turn on FileVault through the MDM profile."
"#;
    std::fs::write(catalog.join("acme.toml"), control).unwrap();
    std::fs::write(kushim.path("kushim.toml"), "catalog_dir = \"controls\"\n").unwrap();
    let listed = kushim.json(&["controls", "--json"]);
    assert_eq!(states(&listed), vec!["manual_due"]);
    assert_eq!(listed["controls"][0]["id"], "ACME-01");

    std::fs::write(catalog.join("acme.toml"), control.replace("CC6.7", "CC6.77")).unwrap();
    kushim
        .run(&["status"])
        .assert_fails_with(2, "acme.toml: control ACME-01: unknown criterion \"CC6.77\"");
}

/// The environment a person would export to point Kushim at the sandbox's fakes: the
/// conventional variables of each service, nothing Kushim-specific.
fn sandbox_environment(sandbox: &kushim::sandbox::Sandbox) -> Vec<(&'static str, String)> {
    use kushim::config::{GitHubAuth, OktaAuth};
    let github = sandbox.github.settings();
    let GitHubAuth::Token(github_token) = &github.auth else { panic!("the sandbox uses a token") };
    let okta = sandbox.okta.settings();
    let OktaAuth::ApiToken(okta_token) = &okta.auth else {
        panic!("the sandbox uses an API token")
    };
    vec![
        ("GITHUB_TOKEN", github_token.expose().to_owned()),
        ("GITHUB_ORG", github.org.clone()),
        ("GITHUB_API_URL", github.api_url.clone()),
        ("OKTA_ORG_URL", okta.org_url.clone()),
        ("OKTA_API_TOKEN", okta_token.expose().to_owned()),
        ("AWS_ACCESS_KEY_ID", kushim::sandbox::aws::server::SANDBOX_ACCESS_KEY_ID.to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            kushim::sandbox::aws::server::SANDBOX_SECRET_ACCESS_KEY.to_owned(),
        ),
        ("AWS_ENDPOINT_URL", sandbox.aws.url()),
        ("AWS_REGION", "us-east-1".to_owned()),
        // Keep a developer's own AWS files and the instance-metadata lookup out of the test.
        ("AWS_CONFIG_FILE", "/nonexistent/kushim-test".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/kushim-test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

impl Kushim {
    fn run_in(&self, env: &[(&'static str, String)], args: &[&str]) -> Run {
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.run_with_env(args, &pairs)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_reads_the_conventional_environment_and_judges_what_it_saw() {
    let sandbox =
        kushim::sandbox::Sandbox::start(kushim::sandbox::SandboxSize::DEMO).await.unwrap();
    let env = sandbox_environment(&sandbox);
    let kushim = Kushim::in_fresh_directory();

    let doctor = kushim.run_in(&env, &["doctor"]);
    assert_eq!(doctor.code, 0, "{}\n{}", doctor.stdout, doctor.stderr);
    assert!(
        doctor.stdout.contains("Every credential and permission Kushim needs is in place."),
        "{}",
        doctor.stdout
    );

    let collected = kushim.run_in(&env, &["collect", "--json"]);
    assert_eq!(collected.code, 0, "{}\n{}", collected.stdout, collected.stderr);
    let view: Value = serde_json::from_str(&collected.stdout).unwrap();
    let runs = view["runs"].as_array().unwrap();
    let integrations: Vec<&str> = runs.iter().map(|r| r["integration"].as_str().unwrap()).collect();
    assert_eq!(integrations, vec!["github", "aws", "okta"]);
    for run in runs {
        assert_eq!(run["outcome"], "collected", "{run}");
        assert!(run["api_calls"].as_u64().unwrap() > 0, "{run}");
    }
    assert_eq!(view["first_assessed"], 64);

    let unprotected = kushim.json(&[
        "findings",
        "--check",
        "gh.repo.default_branch_protected",
        "--failing",
        "--json",
    ]);
    let unprotected = unprotected["findings"].as_array().unwrap();
    assert!(!unprotected.is_empty());
    assert!(unprotected.iter().all(
        |f| f["outcome"] == "fail" && f["resource"].as_str().unwrap().starts_with("repo:acme/")
    ));
    kushim
        .run(&["findings", "--check", "gh.repo.default_branch_protectd"])
        .assert_fails_with(2, "did you mean gh.repo.default_branch_protected?");

    let status = kushim.json(&["status", "--json"]);
    assert_eq!(status["has_collected_evidence"], true);
    assert!(status["states"]["failing"].as_u64().unwrap() > 0);
    assert_eq!(kushim.run(&["verify"]).code, 0);

    // A second run changes nothing and says so.
    let again = kushim.run_in(&env, &["collect", "--only", "github"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("No control changed state."), "{}", again.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_visibly_and_never_passes_a_control() {
    let sandbox =
        kushim::sandbox::Sandbox::start(kushim::sandbox::SandboxSize::DEMO).await.unwrap();
    let mut env = sandbox_environment(&sandbox);
    let kushim = Kushim::in_fresh_directory();
    assert_eq!(kushim.run_in(&env, &["collect"]).code, 0);
    let passing_before: Vec<String> = kushim.json(&["controls", "--json"])["controls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "passing")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();

    env.iter_mut().find(|(k, _)| *k == "OKTA_API_TOKEN").unwrap().1 = "00-expired-token".into();
    let failed = kushim.run_in(&env, &["collect", "--only", "okta"]);
    assert_eq!(failed.code, 1, "{}", failed.stdout);
    assert!(failed.stdout.contains("failed"), "{}", failed.stdout);
    assert!(
        failed.stdout.contains("OKTA_API_TOKEN"),
        "the failure says what to fix: {}",
        failed.stdout
    );

    let errored = kushim.json(&["findings", "--check", "okta.users.mfa_enrolled", "--json"]);
    let errored = errored["findings"].as_array().unwrap();
    assert!(!errored.is_empty() && errored.iter().all(|f| f["outcome"] == "error"), "{errored:?}");
    let controls = kushim.json(&["controls", "--json"]);
    let okta_mfa =
        controls["controls"].as_array().unwrap().iter().find(|c| c["id"] == "AC-02").unwrap();
    assert_ne!(okta_mfa["state"], "passing");
    for id in passing_before {
        let control = controls["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap();
        let detail = kushim.json(&["control", &id, "--json"]);
        let reads_okta = detail["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check_id"].as_str().unwrap().starts_with("okta."));
        if reads_okta {
            assert_ne!(
                control["state"], "passing",
                "{id} kept passing on a failed Okta collection"
            );
        }
    }

    let doctor = kushim.run_in(&env, &["doctor", "--only", "okta"]);
    assert_eq!(doctor.code, 1, "{}", doctor.stdout);
    assert!(doctor.stdout.contains("FAIL"), "{}", doctor.stdout);
}

#[test]
fn collect_without_any_integration_says_how_to_configure_one() {
    let kushim = Kushim::in_fresh_directory();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kushim"));
    command.args(["collect"]).current_dir(kushim.dir.path());
    for name in support::SETTINGS {
        command.env_remove(name);
    }
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no integration is configured") && stderr.contains("kushim demo"),
        "{stderr}"
    );
}

#[test]
fn the_demo_runs_to_the_end_without_a_terminal() {
    let kushim = Kushim::in_fresh_directory();
    let demo = kushim.run(&["demo"]);
    assert_eq!(demo.code, 0, "{}\n{}", demo.stdout, demo.stderr);
    for expected in [
        "Nothing leaves this machine",
        "First assessment of 64 controls",
        "SOC 2 posture:",
        "Failing controls (",
        // Slack evidence is collected from the sandbox workspace and judged.
        "a Slack workspace with 120 members",
        "slack.admins_2fa fails on 1 of 3 resources",
    ] {
        assert!(demo.stdout.contains(expected), "{expected:?} missing:\n{}", demo.stdout);
    }
    assert!(!kushim.path("kushim.db").exists(), "the demo leaves the user's database alone");
}

#[test]
fn serve_refuses_to_start_without_a_signing_secret() {
    let kushim = Kushim::in_fresh_directory();
    // Empty counts as unset, and overrides whatever the test's own environment holds.
    let run =
        kushim.run_with_env(&["serve", "--listen", "127.0.0.1:0"], &[("SLACK_SIGNING_SECRET", "")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("SLACK_SIGNING_SECRET is not set"), "{}", run.stderr);
    assert!(!kushim.path("kushim.db").exists(), "nothing is opened before the secret is checked");
}

/// `kushim serve` as an operator runs it: it says where it listens, answers health checks, and
/// exits 0 on SIGTERM (what `docker stop` and Kubernetes send).
#[cfg(unix)]
#[test]
fn serve_answers_health_checks_and_stops_cleanly_on_sigterm() {
    use std::{
        io::{Read, Write},
        net::TcpStream,
        time::Duration,
    };

    let kushim = Kushim::in_fresh_directory();
    let secret = [("SLACK_SIGNING_SECRET", "test-secret".to_owned())];
    // It returns once the server announced where it listens.
    let mut server = support::process::serve(kushim.dir.path(), &secret);

    let mut stream = TcpStream::connect(server.address()).expect("the server accepts");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: kushim\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("\r\n\r\nok"), "{response}");

    assert_eq!(server.terminate_within(Duration::from_secs(10)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_opens_the_controls_jira_ticket_once_and_control_shows_it() {
    let sandbox =
        kushim::sandbox::Sandbox::start(kushim::sandbox::SandboxSize::DEMO).await.unwrap();
    let jira = sandbox.jira.settings();
    let mut env = sandbox_environment(&sandbox);
    env.extend([
        ("JIRA_URL", jira.url.clone()),
        ("JIRA_EMAIL", jira.email.clone()),
        ("JIRA_API_TOKEN", jira.token.expose().to_owned()),
    ]);
    let kushim = Kushim::in_fresh_directory();
    kushim.run(&["ticket", "AC-02"]).assert_fails_with(
        2,
        "Jira is not configured: set JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN",
    );
    // Collecting opens the tickets of the failing critical and high controls by itself.
    let collected = kushim.run_in(&env, &["collect", "--json"]);
    assert_eq!(collected.code, 0, "{}\n{}", collected.stdout, collected.stderr);
    let collected: Value = serde_json::from_str(&collected.stdout).unwrap();
    let events = collected["ticket_events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["kind"] == "created" && e["control_id"] == "AC-02"),
        "{events:?}"
    );
    let automatic = sandbox.jira.issues().len();
    assert_eq!(automatic, events.len());

    // AC-03 (medium) is ticketed when a person asks, once.
    let opened = kushim.run_in(&env, &["ticket", "AC-03"]);
    assert_eq!(opened.code, 0, "{}", opened.stderr);
    let key = format!("SEC-{}", automatic + 1);
    assert!(
        opened.stdout.starts_with(&format!("Opened {key} for AC-03 in Jira: http://127.0.0.1:")),
        "{}",
        opened.stdout
    );
    let again = kushim.run_in(&env, &["ticket", "ac-03", "--json"]);
    let again: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        (again["outcome"].as_str(), again["key"].as_str()),
        (Some("already_exists"), Some(key.as_str()))
    );
    assert_eq!(sandbox.jira.issues().len(), automatic + 1);

    let shown = kushim.run_in(&env, &["control", "AC-03"]);
    assert!(
        shown.stdout.contains(&format!("Ticket:    {key} (To Do), unassigned, due ")),
        "{}",
        shown.stdout
    );
    let shown = kushim.run_in(&env, &["control", "AC-03", "--json"]);
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["ticket"]["key"], key.as_str());

    // A second collection changes no ticket.
    let again = kushim.run_in(&env, &["collect"]);
    assert!(!again.stdout.contains("Jira tickets:"), "{}", again.stdout);
    assert_eq!(sandbox.jira.issues().len(), automatic + 1);
    assert_eq!(kushim.run(&["verify"]).code, 0, "ticket events are chained and intact");
}

#[test]
fn the_demo_opens_jira_tickets_and_no_log_level_shows_the_jira_token() {
    let kushim = Kushim::in_fresh_directory();
    // gouqi records its client, token included, in its trace spans; Kushim keeps them off.
    let demo = kushim.run_with_env(&["demo"], &[("KUSHIM_LOG", "trace,gouqi=trace")]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    assert!(demo.stdout.contains("remediation tickets opened"), "{}", demo.stdout);
    assert!(demo.stdout.contains("SEC-1"), "{}", demo.stdout);
    let token = kushim::sandbox::jira::world::SANDBOX_API_TOKEN;
    assert!(!demo.stderr.is_empty(), "trace logging is on");
    assert!(!demo.stderr.contains(token), "the Jira API token reached the log");
    let slack_token = kushim::sandbox::slack::server::ADMIN_TOKEN;
    assert!(!demo.stderr.contains(slack_token), "the Slack evidence token reached the log");
}

#[test]
fn jobs_retry_queues_a_job_that_gave_up_and_refuses_any_other() {
    let kushim = Kushim::in_fresh_directory();
    let queued = kushim.json(&["jobs", "enqueue", "digest", "--json"]);
    let id = queued["id"].as_i64().unwrap().to_string();
    // What a worker leaves after the last failed attempt.
    kushim.tamper(&format!(
        "UPDATE jobs SET status = 'dead', attempts = 3, last_error = 'Slack answered 500' \
         WHERE id = {id}"
    ));

    let retried = kushim.json(&["jobs", "retry", &id, "--json"]);
    assert_eq!(
        (retried["status"].as_str(), retried["attempts"].as_i64()),
        (Some("queued"), Some(0))
    );
    assert_eq!(retried["last_error"], "Slack answered 500", "kept until a run replaces it");

    let again = kushim.run(&["jobs", "retry", &id]);
    assert_eq!(again.code, 2, "an error, as every refused command");
    assert!(again.stderr.contains(&format!("job {id} is queued, not dead")), "{}", again.stderr);
    let missing = kushim.run(&["jobs", "retry", "999"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("there is no job 999"), "{}", missing.stderr);
    assert_eq!(kushim.run(&["verify"]).code, 0, "the retry's audit line keeps the log whole");
}
