//! `/kushim status` under load, the way Slack sends it: a load generator with 64 keep-alive
//! connections posts signed slash commands to `kushim serve` (the real binary, in its own
//! process) over loopback, against a database holding 64 controls and a year of daily
//! collections.
//!
//! Run: `cargo bench --bench serve` (optionally `-- SECONDS`, default 10). Prints throughput,
//! p50 / p99 / max latency, and the server's resident memory idle and after the run. The load
//! generator shares the machine's cores with the server, so compare figures within one run.

use std::{
    process::{Command, Stdio},
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{TimeDelta, Utc};
use hmac::{Hmac, Mac};
use kushim::{
    config::Config,
    engine::Engine,
    integrations::Integration,
    sandbox,
    store::{DatabaseUrl, Store},
};
use sha2::Sha256;

const CONNECTIONS: usize = 64;
const SECRET: &str = "bench-signing-secret";
const HISTORY_DAYS: i64 = 365;

/// Resident memory of `pid` in kilobytes, from `/proc` (`VmRSS` now, `VmHWM` the peak).
fn memory_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

fn signed_status_request(now: i64) -> (String, String, String) {
    let body = "token=x&team_id=T1&channel_id=C1&user_id=U1&command=%2Fkushim&text=status\
                &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F1%2Fx";
    let timestamp = now.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    (body.to_owned(), timestamp, format!("v0={}", hex::encode(mac.finalize().into_bytes())))
}

/// A year of daily collections of a generated organisation whose size drifts, so controls
/// change state along the way.
async fn database_with_a_year_of_history(path: &std::path::Path) -> DatabaseUrl {
    let url = DatabaseUrl::from_str(path.to_str().expect("a UTF-8 path")).expect("a SQLite path");
    let store = Store::open(&url).await.expect("the database opens");
    let engine = Engine::new(store.clone(), &Config::default()).expect("the catalog loads");
    let start = Utc::now() - TimeDelta::days(HISTORY_DAYS);
    let started = Instant::now();
    for day in 0..HISTORY_DAYS {
        let at = start + TimeDelta::days(day);
        let snapshot = sandbox::generated_org(150 + (day as usize % 7) * 10, at);
        for integration in Integration::ALL {
            engine.ingest(integration, &snapshot, at).await.expect("ingest a day");
        }
    }
    engine.refresh(Utc::now()).await.expect("assess today");
    println!(
        "database: 64 controls, {HISTORY_DAYS} days × 5 integrations of evidence ({:.1} s to build)",
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    url
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = database_with_a_year_of_history(&dir.path().join("kushim.db")).await;

    let mut server = Command::new(env!("CARGO_BIN_EXE_kushim"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", url.expose())
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env_remove("SLACK_BOT_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kushim serve starts");
    let addr = {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(server.stderr.take().expect("stderr")).lines();
        loop {
            let line = lines.next().expect("kushim serve announces its address").expect("a line");
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.split_whitespace().next().expect("an address").to_owned();
            }
        }
    };
    let url = Arc::new(format!("http://{addr}/slack/commands"));
    // Let the server settle, then read its memory before any request.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_kb = memory_kb(server.id(), "VmRSS:");

    // Warm-up: one request assesses the controls and fills the cache.
    let client = reqwest::Client::new();
    let (body, ts, signature) = signed_status_request(Utc::now().timestamp());
    let warm = client
        .post(url.as_str())
        .header("x-slack-request-timestamp", ts)
        .header("x-slack-signature", signature)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(warm.status(), 200, "a signed status request is answered");

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                // One client per worker, each holding its own keep-alive connection.
                let client =
                    reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("a client");
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                while Instant::now() < deadline {
                    let (body, ts, signature) = signed_status_request(Utc::now().timestamp());
                    let sent = Instant::now();
                    let response = client
                        .post(url.as_str())
                        .header("x-slack-request-timestamp", ts)
                        .header("x-slack-signature", signature)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await;
                    match response {
                        Ok(response) if response.status() == 200 => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed());
                        }
                        _ => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (mine, failed) = worker.await.expect("a load worker");
        latencies.extend(mine);
        failures += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let loaded_kb = memory_kb(server.id(), "VmRSS:");
    let peak_kb = memory_kb(server.id(), "VmHWM:");

    println!("load: {CONNECTIONS} connections, signed `/kushim status`, {seconds} s");
    println!(
        "  {} requests answered, {failures} failed: {:.0} requests/s",
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    println!(
        "  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(*latencies.last().expect("requests were answered"))
    );
    println!(
        "  server memory: idle {:.1} MB, after the run {:.1} MB, peak {:.1} MB",
        idle_kb as f64 / 1024.0,
        loaded_kb as f64 / 1024.0,
        peak_kb as f64 / 1024.0
    );
    // The server's own view: its latency histogram, without the load generator's queueing.
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("the metrics text");
    if let Some((p50, p99)) = server_quantiles(&metrics) {
        println!("  server-side (its /metrics histogram): p50 ≤ {p50} s, p99 ≤ {p99} s");
    }
    // SIGTERM: the server drains and exits.
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
}

/// The buckets holding the 50th and 99th percentile of `/slack/commands` requests answered 200,
/// from the Prometheus histogram (upper bounds: the histogram only knows buckets).
fn server_quantiles(metrics: &str) -> Option<(String, String)> {
    let buckets: Vec<(String, f64)> = metrics
        .lines()
        .filter(|line| {
            line.starts_with("kushim_http_request_duration_seconds_bucket{")
                && line.contains("route=\"/slack/commands\"")
                && line.contains("status=\"200\"")
        })
        .filter_map(|line| {
            let le = line.split("le=\"").nth(1)?.split('"').next()?.to_owned();
            let count = line.rsplit(' ').next()?.parse().ok()?;
            Some((le, count))
        })
        .collect();
    let total = buckets.last()?.1;
    let at =
        |q: f64| buckets.iter().find(|(_, count)| *count >= q * total).map(|(le, _)| le.clone());
    Some((at(0.50)?, at(0.99)?))
}
