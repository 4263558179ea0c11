//! Workers: claim a due job with a lease, run its handler while renewing the lease, then mark it
//! done, or queue a retry after [`Backoff`], or park it as dead once it has used its attempts.
//!
//! A worker that dies mid-job simply stops renewing: once the lease expires any worker (on any
//! replica) claims the job again. On a graceful stop the running job gets a grace period to
//! finish; if it does not, its lease is released so another replica starts it at once.
//!
//! [`Worker::run_once`] runs at most one job and returns what happened, so tests step workers
//! with a [`ManualClock`](super::ManualClock) instead of sleeping.

use std::{fmt::Display, future::Future, pin::pin, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tracing::Instrument;

use super::{Backoff, JobError, JobRequest};
use crate::{
    server::Clock,
    store::{FailOutcome, Job, Store},
};

/// Runs jobs. The production handler is [`super::runner::Runner`]; tests pass their own.
pub trait Handler: Send + Sync {
    type Error: Display + Send;

    fn run(
        &self,
        job: &Job,
        request: JobRequest,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Told when a job failed its last attempt and was parked as dead (to tell people).
    fn on_dead(&self, job: &Job, error: &str) -> impl Future<Output = ()> + Send {
        let _ = (job, error);
        async {}
    }
}

/// How a worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How long a claim lasts without renewal.
    pub lease: TimeDelta,
    pub backoff: Backoff,
    /// How long an idle worker waits before looking for due jobs again.
    pub poll: Duration,
    /// How long a running job may go on after a stop is asked for before its lease is released.
    pub grace: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            lease: TimeDelta::seconds(60),
            backoff: Backoff::default(),
            poll: Duration::from_secs(2),
            grace: Duration::from_secs(20),
        }
    }
}

/// What one step of a worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Done(Job),
    /// Failed; queued again for the time given.
    Retry {
        job: Job,
        at: DateTime<Utc>,
        error: String,
    },
    /// Failed on its last attempt.
    Dead {
        job: Job,
        error: String,
    },
    /// The lease expired and another worker took the job before this one finished.
    LeaseLost(Job),
    /// A stop was asked for and the job did not finish within the grace period: released.
    Released(Job),
}

pub struct Worker<H> {
    store: Store,
    name: String,
    handler: H,
    clock: Clock,
    settings: WorkerSettings,
}

impl<H: Handler> Worker<H> {
    /// `name` identifies the worker in leases and logs; make it unique per process
    /// (host, pid, a counter).
    pub fn new(
        store: Store,
        name: impl Into<String>,
        handler: H,
        clock: Clock,
        settings: WorkerSettings,
    ) -> Worker<H> {
        Worker { store, name: name.into(), handler, clock, settings }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Claims and runs one due job, if there is one.
    pub async fn run_once(&self) -> Result<Option<Ran>, JobError> {
        let (_never, mut stop) = watch::channel(false);
        self.step(&mut stop).await
    }

    /// Runs jobs until `stop` turns true: finishing (or, after the grace period, releasing) the
    /// job in progress.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let idle = match self.step(&mut stop).await {
                Ok(Some(_)) => false,
                Ok(None) => true,
                Err(error) => {
                    tracing::error!(worker = %self.name, %error, "the job queue is unavailable");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!(worker = %self.name, "worker stopped");
    }

    async fn step(&self, stop: &mut watch::Receiver<bool>) -> Result<Option<Ran>, JobError> {
        let now = (self.clock)();
        let Some(job) = self.store.claim_next_job(&self.name, now, self.settings.lease).await?
        else {
            return Ok(None);
        };
        let span = tracing::info_span!(
            "job",
            id = job.id,
            kind = %job.kind,
            key = %job.idempotency_key,
            attempt = job.attempts,
            worker = %self.name,
        );
        self.execute(job, stop).instrument(span).await.map(Some)
    }

    async fn execute(&self, job: Job, stop: &mut watch::Receiver<bool>) -> Result<Ran, JobError> {
        let outcome = match JobRequest::of(&job) {
            Ok(request) => self.run_renewing(&job, request, stop).await?,
            Err(error) => Some(Err(error.to_string())),
        };
        let now = (self.clock)();
        let ran = match outcome {
            None => {
                self.store.release_job(job.id, &self.name, now).await?;
                tracing::warn!("stopping: job released for another worker");
                Ran::Released(job)
            }
            Some(Ok(())) => {
                if self.store.complete_job(job.id, &self.name, now).await? {
                    tracing::info!("job done");
                    Ran::Done(job)
                } else {
                    tracing::warn!("job finished after its lease was taken over");
                    Ran::LeaseLost(job)
                }
            }
            Some(Err(error)) => {
                let retry_at = now + self.settings.backoff.delay(job.id, job.attempts);
                match self.store.fail_job(job.id, &self.name, now, &error, retry_at).await? {
                    FailOutcome::Retry(at) => {
                        tracing::warn!(%error, retry_at = %at, "job failed; will retry");
                        Ran::Retry { job, at, error }
                    }
                    FailOutcome::Dead => {
                        tracing::error!(%error, "job failed on its last attempt: parked as dead");
                        self.handler.on_dead(&job, &error).await;
                        Ran::Dead { job, error }
                    }
                    FailOutcome::LeaseLost => Ran::LeaseLost(job),
                }
            }
        };
        Ok(ran)
    }

    /// Runs the handler, renewing the lease every third of its length. `None` when a stop was
    /// asked for and the grace period ran out first.
    async fn run_renewing(
        &self,
        job: &Job,
        request: JobRequest,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Option<Result<(), String>>, JobError> {
        let mut handler = pin!(self.handler.run(job, request));
        let period = self.settings.lease.to_std().unwrap_or(Duration::from_secs(60)) / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut deadline = pin!(futures_util::future::Either::Left(std::future::pending::<()>()));
        let mut stopping = *stop.borrow();
        if stopping {
            deadline
                .set(futures_util::future::Either::Right(tokio::time::sleep(self.settings.grace)));
        }
        loop {
            tokio::select! {
                result = &mut handler => return Ok(Some(result.map_err(|e| e.to_string()))),
                _ = renew.tick() => {
                    let until = (self.clock)() + self.settings.lease;
                    if !self.store.renew_job_lease(job.id, &self.name, until).await? {
                        tracing::warn!("lease lost while running; another worker may run this job too");
                    }
                }
                changed = stop.changed(), if !stopping => {
                    stopping = changed.is_err() || *stop.borrow();
                    if changed.is_ok() && *stop.borrow() {
                        deadline.set(futures_util::future::Either::Right(tokio::time::sleep(self.settings.grace)));
                    }
                }
                _ = &mut deadline => return Ok(None),
            }
        }
    }
}
