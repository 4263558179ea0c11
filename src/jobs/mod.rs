//! The background engine: what runs without anyone asking.
//!
//! - [`JobKind`] — every kind of job, in one visible list, with its payload ([`JobRequest`]).
//! - [`schedule`] — cron schedules from `kushim.toml` (and the defaults), turned into jobs
//!   exactly once per occurrence however many replicas tick.
//! - [`worker`] — claims due jobs with a lease, renews it while the handler runs, retries with
//!   backoff, parks jobs that keep failing as dead.
//! - [`runner`] — the production handler: collect, evaluate, digests, sweeps; alerts and
//!   digests go to the outbox ([`crate::outbox`]).
//! - [`alerts`] and [`digest`] — what the bot posts about state changes and every morning.
//! - [`background`] — the scheduler, workers and outbox delivery as tasks of `kushim serve`.
//!
//! Time is always passed in or read from a [`Clock`](crate::server::Clock), so tests step a
//! [`ManualClock`] instead of sleeping.

pub mod alerts;
pub mod background;
pub mod digest;
pub mod runner;
pub mod schedule;
pub mod worker;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    integrations::Integration,
    server::Clock,
    store::{Job, NewJob, StoreError},
};

/// Every kind of job. Chat commands and buttons enqueue the same jobs the scheduler does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// Collect one integration (or every configured one), evaluate, alert on changes.
    Collect,
    /// Re-assess every control without collecting (freshness windows, manual evidence due
    /// dates and exception expiries move with time), and alert on changes.
    Evaluate,
    /// The daily digest to every channel subscribed to `digest`.
    Digest,
    /// Warn about approved exceptions that expire within seven days.
    ExceptionSweep,
    /// Remind about manual evidence that is due within seven days or overdue.
    EvidenceReminders,
    /// Sync remediation tickets with Jira; its handler comes with the Jira integration.
    JiraSync,
    /// Drop the payloads of evidence older than `[jobs] evidence_retention_days`, keeping
    /// their hashes and everything concluded from them.
    EvidenceRetention,
}

impl JobKind {
    /// The registry: a test holds names unique and the default schedules to existing kinds.
    pub const ALL: [JobKind; 7] = [
        JobKind::Collect,
        JobKind::Evaluate,
        JobKind::Digest,
        JobKind::ExceptionSweep,
        JobKind::EvidenceReminders,
        JobKind::JiraSync,
        JobKind::EvidenceRetention,
    ];

    /// The name in the jobs table, `kushim.toml` (`job = "collect"`) and `kushim jobs`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Collect => "collect",
            JobKind::Evaluate => "evaluate",
            JobKind::Digest => "digest",
            JobKind::ExceptionSweep => "exception_sweep",
            JobKind::EvidenceReminders => "evidence_reminders",
            JobKind::JiraSync => "jira_sync",
            JobKind::EvidenceRetention => "evidence_retention",
        }
    }

    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Runs before a failure is final. Collections talk to flaky networks; the others mostly
    /// to the database.
    pub fn max_attempts(self) -> i64 {
        match self {
            JobKind::Collect | JobKind::JiraSync => 5,
            _ => 3,
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job's kind and arguments, as stored in its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobRequest {
    /// `integration: None` collects every configured integration.
    Collect {
        #[serde(default, skip_serializing_if = "Option::is_none", with = "integration_name")]
        integration: Option<Integration>,
    },
    Evaluate,
    Digest,
    ExceptionSweep,
    EvidenceReminders,
    JiraSync,
    EvidenceRetention,
}

impl JobRequest {
    pub fn kind(&self) -> JobKind {
        match self {
            JobRequest::Collect { .. } => JobKind::Collect,
            JobRequest::Evaluate => JobKind::Evaluate,
            JobRequest::Digest => JobKind::Digest,
            JobRequest::ExceptionSweep => JobKind::ExceptionSweep,
            JobRequest::EvidenceReminders => JobKind::EvidenceReminders,
            JobRequest::JiraSync => JobKind::JiraSync,
            JobRequest::EvidenceRetention => JobKind::EvidenceRetention,
        }
    }

    /// The request for a job kind by name (`collect`, …), with `integration` for collections.
    pub fn parse(kind: &str, integration: Option<Integration>) -> Result<JobRequest, JobError> {
        if integration.is_some() && JobKind::parse(kind).is_some_and(|k| k != JobKind::Collect) {
            return Err(JobError::Request("only `collect` takes an integration".into()));
        }
        let json = match integration {
            Some(integration) => {
                serde_json::json!({"job": kind, "integration": integration.as_str()})
            }
            None => serde_json::json!({"job": kind}),
        };
        serde_json::from_value(json).map_err(|_| {
            let kinds: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
            JobError::Request(format!("unknown job {kind:?}; jobs are {}", kinds.join(", ")))
        })
    }

    /// The job to enqueue for this request, run from `run_at`, de-duplicated by `key`.
    pub fn to_job(&self, key: String, run_at: DateTime<Utc>) -> NewJob {
        NewJob {
            kind: self.kind().as_str().to_owned(),
            payload: serde_json::to_string(self).expect("a job request serialises"),
            idempotency_key: key,
            run_at,
            max_attempts: self.kind().max_attempts(),
        }
    }

    /// Reads a stored job's request back.
    pub fn of(job: &Job) -> Result<JobRequest, JobError> {
        serde_json::from_str(&job.payload).map_err(|e| JobError::Payload {
            job: job.id,
            kind: job.kind.clone(),
            detail: e.to_string(),
        })
    }
}

/// An integration in a payload by the name people use (`github`, as in `--only github`).
mod integration_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::integrations::Integration;

    pub fn serialize<S: Serializer>(value: &Option<Integration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(integration) => s.serialize_str(integration.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Integration>, D::Error> {
        let name = Option::<String>::deserialize(d)?;
        name.map(|name| {
            Integration::parse(&name)
                .ok_or_else(|| D::Error::custom(format!("unknown integration {name:?}")))
        })
        .transpose()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("job {job} ({kind}) has a payload this version cannot read: {detail}")]
    Payload { job: i64, kind: String, detail: String },
    #[error("schedule {name:?}: {problem}")]
    Schedule { name: String, problem: String },
    #[error("{0}")]
    Request(String),
}

/// Queues `request` to run now, de-duplicated by `key`: what `/kushim collect`, buttons and
/// `kushim jobs enqueue` call. Returns the job and whether this call created it.
pub async fn enqueue(
    store: &crate::store::Store,
    request: &JobRequest,
    key: impl Into<String>,
    now: DateTime<Utc>,
) -> Result<(Job, bool), JobError> {
    let (job, created) = store.enqueue_job(&request.to_job(key.into(), now), now).await?;
    if created {
        tracing::info!(job = job.id, kind = %job.kind, key = %job.idempotency_key, "job queued");
    }
    Ok((job, created))
}

/// Exponential backoff with jitter between a failed run and its retry.
///
/// The n-th failure waits `min(cap, base × 2^(n-1))`, of which the second half is jitter. The
/// jitter is derived from the job id and attempt, so retries of different jobs spread out while
/// one job's retry time is reproducible in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: TimeDelta,
    pub cap: TimeDelta,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: TimeDelta::seconds(30), cap: TimeDelta::hours(1) }
    }
}

impl Backoff {
    /// How long to wait after `attempts` failed runs of job `job_id`.
    pub fn delay(&self, job_id: i64, attempts: i64) -> TimeDelta {
        let doublings = u32::try_from(attempts.clamp(1, 32) - 1).unwrap_or(0);
        let full = self.base.num_seconds().saturating_mul(1_i64 << doublings.min(30));
        let full = full.min(self.cap.num_seconds()).max(1);
        let half = full / 2;
        // SplitMix64 of (id, attempt): cheap, well spread, no random-number dependency.
        let mut x = (job_id as u64) ^ ((attempts as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        let jitter = (x % (u64::try_from(full - half).unwrap_or(0) + 1)) as i64;
        TimeDelta::seconds(half + jitter)
    }
}

/// A clock tests set and advance by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }

    pub fn advance(&self, by: TimeDelta) -> DateTime<Utc> {
        let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
        *now
    }

    /// This clock as the [`Clock`] the server, workers and outbox read.
    pub fn clock(&self) -> Clock {
        let this = self.clone();
        Arc::new(move || this.now())
    }
}

/// Workers per `kushim serve` process: a long collection does not hold up the digest.
pub const WORKERS_PER_PROCESS: usize = 2;

/// The production handler for `config`: collections of `targets`, digests in the team's
/// timezone, alerts damped by the flap window. Add hooks (`with_jira_sync`, …) before starting.
pub fn runner(
    engine: &crate::engine::Engine,
    config: &crate::config::Config,
    targets: crate::collection::Targets,
    clock: Clock,
) -> Result<runner::Runner, JobError> {
    let timezone =
        config.jobs.timezone().parse::<chrono_tz::Tz>().map_err(|_| JobError::Schedule {
            name: "[jobs] timezone".into(),
            problem: format!("unknown timezone {:?}; use an IANA name", config.jobs.timezone()),
        })?;
    Ok(runner::Runner::new(engine.clone(), targets, clock, timezone, config.jobs.flap_window())
        .with_evidence_retention(config.jobs.evidence_retention()))
}

/// Starts the scheduler and [`WORKERS_PER_PROCESS`] workers running `runner`'s jobs. The
/// schedules are checked first: a bad `[schedules]` entry stops the server from starting.
pub fn start(
    runner: runner::Runner,
    config: &crate::config::Config,
    integrations: &[Integration],
    clock: Clock,
) -> Result<background::Background, JobError> {
    let store = runner.engine().store().clone();
    let schedules = schedule::schedules(&config.jobs, &config.schedules, integrations)?;
    let settings = worker::WorkerSettings { lease: config.jobs.lease(), ..Default::default() };
    let process = process_name();
    let workers = (0..WORKERS_PER_PROCESS)
        .map(|n| {
            worker::Worker::new(
                store.clone(),
                format!("{process}/{n}"),
                runner.clone(),
                clock.clone(),
                settings,
            )
        })
        .collect();
    tracing::info!(
        schedules = schedules.len(),
        workers = WORKERS_PER_PROCESS,
        "background jobs started"
    );
    Ok(background::Background::start(
        schedule::Scheduler::new(store, schedules),
        workers,
        clock,
        config.jobs.tick(),
    ))
}

/// This process in leases and logs: host and pid.
pub fn process_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_kind_names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), JobKind::ALL.len());
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn requests_store_as_json_naming_their_kind() {
        let request = JobRequest::Collect { integration: Some(Integration::GitHub) };
        let job = request.to_job("k".into(), DateTime::UNIX_EPOCH);
        assert_eq!(job.payload, r#"{"job":"collect","integration":"github"}"#);
        assert_eq!(job.kind, "collect");
        assert_eq!(
            serde_json::from_str::<JobRequest>(r#"{"job":"digest"}"#).unwrap(),
            JobRequest::Digest
        );
        for kind in JobKind::ALL {
            let json = format!(r#"{{"job":"{kind}"}}"#);
            let request: JobRequest = serde_json::from_str(&json).unwrap();
            assert_eq!(request.kind(), kind, "every kind has a request of its own name");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let backoff = Backoff::default();
        for attempts in 1..=10 {
            let full = (30 * (1_i64 << (attempts - 1))).min(3600);
            for job in 1..50 {
                let delay = backoff.delay(job, attempts).num_seconds();
                assert!((full / 2..=full).contains(&delay), "attempt {attempts}: {delay}s");
                assert_eq!(delay, backoff.delay(job, attempts).num_seconds(), "reproducible");
            }
        }
        let spread: std::collections::HashSet<i64> =
            (1..50).map(|job| backoff.delay(job, 3).num_seconds()).collect();
        assert!(spread.len() > 10, "jobs retry at different times: {spread:?}");
    }
}
