//! The real `kushim` binary as an operator runs it: commands in a directory with an environment,
//! `kushim serve` processes signalled from outside, and waiting on events in them with a
//! deadline (never timing anything with a sleep).

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use kushim::sandbox::Sandbox;
use serde_json::Value;

/// The conventional environment pointing at the sandbox's GitHub (the other integrations stay
/// unconfigured so only one collection runs).
pub fn github_environment(sandbox: &Sandbox) -> Vec<(&'static str, String)> {
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

/// `kushim` in `dir` with only `env` of the settings it reads from the environment.
pub fn kushim(dir: &Path, env: &[(&'static str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kushim"));
    command.current_dir(dir).env("KUSHIM_ACTOR", "ops");
    for name in super::SETTINGS {
        command.env_remove(name);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Runs a `--json` command that must succeed and returns what it printed.
pub fn json(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> Value {
    let output = kushim(dir, env).args(args).output().expect("kushim runs");
    assert!(
        output.status.success(),
        "kushim {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// A running `kushim serve`. Dropping it kills the process, so a failing test leaves none
/// behind.
pub struct Server {
    child: Child,
    address: SocketAddr,
    /// Its stderr after the "listening" line, one entry a line (JSON logs: stderr is a pipe).
    log: Arc<Mutex<Vec<String>>>,
    /// Reads `log` until the process closes its stderr.
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Starts `kushim serve --listen 127.0.0.1:0` and returns once it says where it listens.
pub fn serve(dir: &Path, env: &[(&'static str, String)]) -> Server {
    let mut child = kushim(dir, env)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kushim serve starts");
    // Warnings (no bot token) may come first; the address line says the server is up. The rest
    // is kept, and read as it comes so the server never blocks on a full pipe.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "kushim serve exited early");
    }
    // "Kushim is listening on http://127.0.0.1:PORT (…"
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&log);
    let reader = std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    Server { child, address, log, reader: Some(reader) }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What it logged so far after starting.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: signals a child this test spawned and has not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// SIGKILL, as a crash or the OOM killer would; returns once it is gone.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        self.wait();
    }

    /// SIGTERM, as an orchestrator stopping it would; returns its exit code once it exited.
    /// Running jobs get their grace period (20 s), so this waits up to a minute.
    pub fn terminate(&mut self) -> Option<i32> {
        self.terminate_within(Duration::from_secs(60))
    }

    /// SIGTERM, failing the test unless it exits within `limit`; its exit code.
    pub fn terminate_within(&mut self, limit: Duration) -> Option<i32> {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + limit;
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                panic!("kushim serve did not stop within {limit:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.wait()
    }

    /// Waits for it to exit (after a signal) and for the last of its log; its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        status.code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A no-op for a process already reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` until it holds, failing after `limit`.
pub async fn wait_for(what: &str, limit: Duration, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
