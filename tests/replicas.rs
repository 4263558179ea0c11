//! Three `kushim serve` replicas sharing one PostgreSQL database, as a deployment runs them:
//! the real binary, started together on a fresh database, a schedule firing every three
//! seconds, and one replica killed with SIGKILL in the middle of a collection. Checked from
//! outside: the replicas' `/metrics` and logs, the database, `kushim verify`.
//!
//! Over at least 100 scheduler ticks (summed over the replicas) it proves that
//! - every occurrence was queued, once: one job per `schedule:collect-github:<unix>` key, the
//!   occurrences from the first to the last without a gap;
//! - every occurrence was executed once: one `collection_runs` row per collect job done (a
//!   killed attempt stores nothing), one "job done" per job across all the replicas' logs, and
//!   no run that finished after its lease had been taken over;
//! - the killed replica's job was taken over by another replica once its lease expired and
//!   completed on its second attempt;
//! - the replicas shared the work, and the ledger they wrote together verifies.
//!
//! Runs when `TEST_DATABASE_URL` names a PostgreSQL server (CI sets it); skipped otherwise.
//! Waiting is on events in the replicas (their tick counters, a job's status), polled with a
//! deadline: nothing is timed with a sleep.

#![cfg(unix)]

mod support;

use std::{
    collections::BTreeMap,
    path::PathBuf,
    time::{Duration, Instant},
};

use kushim::{
    sandbox::{Sandbox, SandboxSize, serve::Fault},
    store::Backend,
};
use serde_json::Value;
use sqlx::{AnyPool, Row};
use support::{
    TestDb,
    process::{Server, github_environment, kushim, serve, wait_for},
};

/// Scheduler ticks to see, summed over the replicas.
const TICKS: u64 = 100;

/// How often `collect-github` fires, in seconds.
const EVERY: i64 = 3;

/// Each replica ticks every second; an occurrence every three seconds, so one is lost only if
/// every live replica stalls for three seconds. A short lease so a killed replica's job is taken
/// over within seconds. Only the GitHub collection is scheduled.
const CONFIG: &str = r#"
[jobs]
lease_seconds = 5
tick_seconds = 1

[schedules]
collect-github = { cron = "*/3 * * * * *" }
evaluate = { enabled = false }
digest = { enabled = false }
exception-sweep = { enabled = false }
evidence-reminders = { enabled = false }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_run_each_occurrence_once_and_finish_a_killed_replicas_job() {
    if support::postgres_server().is_none() {
        eprintln!(
            "three replicas on PostgreSQL NOT RUN: set TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB"
        );
        return;
    }
    let started = Instant::now();
    let db = TestDb::new(Backend::Postgres).await;
    let sandbox = Sandbox::start(SandboxSize::DEMO).await.unwrap();
    // Every GitHub answer takes a while, so a collection lasts a few seconds: a replica is
    // surely mid-collection when killed, and collections overlap on different replicas.
    sandbox.github.recorder.inject("", Fault::Slow(Duration::from_millis(200)), None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kushim.toml"), CONFIG).unwrap();
    let mut env = github_environment(&sandbox);
    env.push(("DATABASE_URL", db.url.expose().to_owned()));
    // Info from the job workers: their "job done" lines say which replica ran what.
    env.push(("KUSHIM_LOG", "warn,octocrab=off,kushim::jobs=info".to_owned()));

    // Started together on the fresh database, as a deployment's replicas are.
    let (first, second, third) = tokio::join!(
        spawn_replica(1, dir.path(), &env),
        spawn_replica(2, dir.path(), &env),
        spawn_replica(3, dir.path(), &env),
    );
    let mut replicas = [first, second, third];
    let database = Database(AnyPool::connect(db.url.expose()).await.unwrap());

    // Tick until 100 ticks were seen; as soon as replica 1 runs a job, kill it mid-job.
    let mut killed_job = None;
    let deadline = Instant::now() + Duration::from_secs(75);
    loop {
        let seen = ticks(&mut replicas).await;
        if killed_job.is_none()
            && let Some(job) = database.job_running_on(&replicas[0]).await
        {
            replicas[0].kill();
            assert_eq!(database.job(job).await, ("running".to_owned(), 1), "killed mid-job");
            killed_job = Some(job);
        }
        if seen >= TICKS && killed_job.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {seen} ticks (replica 1 killed: {})",
            killed_job.is_some()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let killed_job = killed_job.unwrap();
    wait_for(
        "another replica to finish the killed replica's job",
        Duration::from_secs(30),
        async || database.job(killed_job).await.0 == "done",
    )
    .await;
    let total = ticks(&mut replicas).await;
    // Both stopped together; each finishes the collection it is running.
    for survivor in &replicas[1..] {
        survivor.server.signal(libc::SIGTERM);
    }
    for survivor in &mut replicas[1..] {
        assert_eq!(survivor.server.wait(), Some(0), "replica {} stops cleanly", survivor.number);
    }

    // Who ran what, from each replica's log: the database forgets a finished job's worker
    // (completing it clears the lease).
    let mut completions: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for replica in &replicas {
        for (job, worker) in replica.completed() {
            assert!(replica.owns(&worker), "replica {} logged {worker}'s job", replica.number);
            completions.entry(job).or_default().push(replica.number);
        }
        let late = replica.logged("job finished after its lease was taken over");
        assert_eq!(late, 0, "replica {} finished jobs it no longer held", replica.number);
    }
    let jobs = database.collect_jobs().await;
    let done: Vec<&CollectJob> = jobs.iter().filter(|j| j.status == "done").collect();
    let mut by_status = BTreeMap::<&str, usize>::new();
    for job in &jobs {
        *by_status.entry(job.status.as_str()).or_default() += 1;
    }
    let mut per_replica = BTreeMap::<usize, usize>::new();
    for numbers in completions.values() {
        for number in numbers {
            *per_replica.entry(*number).or_default() += 1;
        }
    }
    let runs = database.github_runs().await;
    println!(
        "ticks: {} = {total}; collect jobs: {by_status:?}; done per replica: {per_replica:?}; \
         github collection runs: {runs}; killed job {killed_job}; {:.1} s",
        replicas.iter().map(|r| format!("{}", r.ticks)).collect::<Vec<_>>().join(" + "),
        started.elapsed().as_secs_f64()
    );
    for job in jobs.iter().filter(|j| j.last_error.is_some()) {
        println!("job {} ({}) attempts {}: {:?}", job.id, job.status, job.attempts, job.last_error);
    }

    // 1. The killed job was taken over and completed by another replica, on its second attempt.
    assert_eq!(database.job(killed_job).await, ("done".to_owned(), 2));
    let finisher = completions.get(&killed_job).cloned().unwrap_or_default();
    assert!(
        finisher.len() == 1 && finisher[0] != 1,
        "the killed job was completed once, by another replica: {finisher:?}"
    );

    // 2. Every occurrence queued, each once (keys are unique), none skipped.
    let mut occurrences: Vec<i64> = jobs.iter().map(|j| j.occurrence()).collect();
    occurrences.sort_unstable();
    assert!(occurrences.iter().all(|at| at % EVERY == 0), "on the schedule: {occurrences:?}");
    let gaps: Vec<(i64, i64)> = occurrences
        .windows(2)
        .filter(|pair| pair[1] - pair[0] != EVERY)
        .map(|pair| (pair[0], pair[1]))
        .collect();
    println!(
        "occurrences: {} from {} to {}, {} gaps",
        occurrences.len(),
        occurrences[0],
        occurrences[occurrences.len() - 1],
        gaps.len()
    );
    assert!(gaps.is_empty(), "occurrences missed between {gaps:?}");
    assert!(!by_status.contains_key("dead"), "no collection gave up: {by_status:?}");

    // 3. Each occurrence executed once: one stored run per job done, one completion per job.
    assert_eq!(runs, done.len(), "one GitHub collection run per collect job done");
    for job in &done {
        let by = completions.get(&job.id).map_or(0, Vec::len);
        assert_eq!(by, 1, "job {} ({}) completed {by} times", job.id, job.key);
    }
    assert_eq!(completions.len(), done.len(), "every completion is of a job done");

    // 4. The replicas shared the work.
    assert!(per_replica.len() >= 2, "more than one replica ran jobs: {per_replica:?}");

    // 5. The ledger the three wrote together verifies.
    let verify = kushim(dir.path(), &env).arg("verify").output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    database.0.close().await;
    db.cleanup().await;
}

/// One `kushim serve` of the deployment.
struct Replica {
    number: usize,
    server: Server,
    /// Its scheduler's ticks as last read from its `/metrics` (a killed one keeps its last).
    ticks: u64,
    killed: bool,
}

async fn spawn_replica(
    number: usize,
    dir: &std::path::Path,
    env: &[(&'static str, String)],
) -> Replica {
    let (dir, env): (PathBuf, Vec<_>) = (dir.to_owned(), env.to_vec());
    let server = tokio::task::spawn_blocking(move || serve(&dir, &env)).await.unwrap();
    Replica { number, server, ticks: 0, killed: false }
}

impl Replica {
    /// Whether a lease owner (`<host>:<pid>/<worker>`) is one of this replica's workers.
    fn owns(&self, owner: &str) -> bool {
        let process = owner.rsplit_once('/').map_or(owner, |(process, _)| process);
        process.rsplit_once(':').and_then(|(_, pid)| pid.parse().ok()) == Some(self.server.pid())
    }

    fn kill(&mut self) {
        self.server.kill();
        self.killed = true;
    }

    async fn read_ticks(&mut self) -> u64 {
        if !self.killed {
            let url = format!("http://{}/metrics", self.server.address());
            let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
            self.ticks = metrics
                .lines()
                .find_map(|line| {
                    line.strip_prefix(r#"kushim_scheduler_ticks_total{outcome="ok"} "#)
                })
                .map_or(0, |value| value.trim().parse::<f64>().unwrap() as u64);
        }
        self.ticks
    }

    /// The jobs its workers logged as done: (job id, worker).
    fn completed(&self) -> Vec<(i64, String)> {
        self.events("job done")
            .map(|event| {
                let span = &event["span"];
                (span["id"].as_i64().unwrap(), span["worker"].as_str().unwrap().to_owned())
            })
            .collect()
    }

    /// How many times it logged `message`.
    fn logged(&self, message: &str) -> usize {
        self.events(message).count()
    }

    fn events(&self, message: &str) -> impl Iterator<Item = Value> {
        let message = message.to_owned();
        self.server
            .log()
            .into_iter()
            .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
            .filter(move |event| event["fields"]["message"] == message.as_str())
    }
}

/// The scheduler ticks of all the replicas so far.
async fn ticks(replicas: &mut [Replica]) -> u64 {
    let mut total = 0;
    for replica in replicas {
        total += replica.read_ticks().await;
    }
    total
}

/// The shared database, read as someone with `psql` would.
struct Database(AnyPool);

#[derive(Debug)]
struct CollectJob {
    id: i64,
    key: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
}

impl CollectJob {
    fn occurrence(&self) -> i64 {
        let at = self.key.strip_prefix("schedule:collect-github:");
        at.and_then(|at| at.parse().ok()).unwrap_or_else(|| panic!("not scheduled: {self:?}"))
    }
}

impl Database {
    /// A job running under a lease of one of `replica`'s workers.
    async fn job_running_on(&self, replica: &Replica) -> Option<i64> {
        let rows = sqlx::query("SELECT id, lease_owner FROM jobs WHERE status = 'running'")
            .fetch_all(&self.0)
            .await
            .unwrap();
        rows.iter()
            .find(|row| row.get::<Option<String>, _>(1).is_some_and(|owner| replica.owns(&owner)))
            .map(|row| row.get(0))
    }

    /// A job's status and attempts.
    async fn job(&self, id: i64) -> (String, i64) {
        let row = sqlx::query("SELECT status, attempts FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.0)
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    async fn collect_jobs(&self) -> Vec<CollectJob> {
        let rows = sqlx::query(
            "SELECT id, idempotency_key, status, attempts, last_error FROM jobs \
             WHERE kind = 'collect' ORDER BY id",
        )
        .fetch_all(&self.0)
        .await
        .unwrap();
        rows.iter()
            .map(|row| CollectJob {
                id: row.get(0),
                key: row.get(1),
                status: row.get(2),
                attempts: row.get(3),
                last_error: row.get(4),
            })
            .collect()
    }

    async fn github_runs(&self) -> usize {
        let row = sqlx::query("SELECT COUNT(*) FROM collection_runs WHERE integration = 'github'")
            .fetch_one(&self.0)
            .await
            .unwrap();
        usize::try_from(row.get::<i64, _>(0)).unwrap()
    }
}
