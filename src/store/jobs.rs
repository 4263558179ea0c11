//! The durable job queue and the scheduler's marks.
//!
//! A job is claimed with a lease: the worker that holds it renews the lease while it runs, and a
//! job whose lease ran out (its worker crashed or was killed) is claimable again. PostgreSQL
//! replicas claim with `FOR UPDATE SKIP LOCKED`, so two workers never take the same row; on
//! SQLite the claim is one `UPDATE`, a write, so it holds the database's single write lock.
//!
//! Enqueueing is idempotent by key: the second enqueue of `schedule:digest:1795424400` by another
//! replica returns the job the first one created.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Row, any::AnyRow};

use super::{Backend, QueryContext, Store, StoreError, from_unix, to_unix};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for its `run_at` (a first run, or a retry after backoff).
    Queued,
    /// Leased by a worker.
    Running,
    Done,
    /// Failed `max_attempts` times; kept with its last error for a person to look at.
    Dead,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] =
        [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    /// JSON text the job's handler understands.
    pub payload: String,
    /// Enqueueing the same key again returns the existing job instead of adding one.
    pub idempotency_key: String,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i64,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub idempotency_key: String,
    pub status: JobStatus,
    pub run_at: DateTime<Utc>,
    /// Runs started so far, including the one in progress.
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Jobs of one kind in one status, for `kushim jobs` and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub kind: String,
    pub status: JobStatus,
    pub jobs: i64,
}

/// What became of a failed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again for this time.
    Retry(DateTime<Utc>),
    /// Out of attempts: parked as dead.
    Dead,
    /// The lease was no longer ours (it expired and another worker took the job): nothing
    /// changed.
    LeaseLost,
}

const JOB_COLUMNS: &str = "id, kind, payload, idempotency_key, status, run_at, attempts, \
    max_attempts, lease_owner, lease_expires_at, last_error, created_at, finished_at";

impl Store {
    /// Adds a job unless one with the same idempotency key exists; returns the job and whether
    /// this call created it.
    pub async fn enqueue_job(
        &self,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> Result<(Job, bool), StoreError> {
        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO jobs (kind, payload, idempotency_key, status, run_at, attempts, \
             max_attempts, created_at) VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING {JOB_COLUMNS}"
        )))
        .bind(&job.kind)
        .bind(&job.payload)
        .bind(&job.idempotency_key)
        .bind(to_unix(job.run_at))
        .bind(job.max_attempts.max(1))
        .bind(to_unix(now))
        .fetch_optional(&self.pool)
        .await
        .context("enqueue a job")?;
        if let Some(row) = inserted {
            return Ok((job_from_row(&row)?, true));
        }
        let existing = self.job_by_key(&job.idempotency_key).await?.ok_or(StoreError::Corrupt {
            context: "enqueue a job",
            detail: format!("key {:?} conflicted but no job has it", job.idempotency_key),
        })?;
        Ok((existing, false))
    }

    pub async fn job_by_key(&self, key: &str) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE idempotency_key = $1"
        )))
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .context("read a job by key")?;
        row.as_ref().map(job_from_row).transpose()
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("read a job")?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Leases the next job that is due (queued with `run_at <= now`, or running under an expired
    /// lease) to `worker` until `now + lease`, counting an attempt. A job whose lease expired
    /// on its last allowed attempt is parked as dead instead: it keeps killing its workers.
    pub async fn claim_next_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::TimeDelta,
    ) -> Result<Option<Job>, StoreError> {
        let now_s = to_unix(now);
        sqlx::query(
            "UPDATE jobs SET status = 'dead', finished_at = $1, lease_owner = NULL, \
             lease_expires_at = NULL, last_error = COALESCE(last_error || '; ', '') || \
             'its worker stopped without finishing it (lease expired) on the last attempt' \
             WHERE status = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts",
        )
        .bind(now_s)
        .execute(&self.pool)
        .await
        .context("park jobs whose last attempt was abandoned")?;
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // SQLite has one writer at a time: this UPDATE holds the write lock from the
            // moment it starts, so the row it picks cannot be picked by anyone else.
            Backend::Sqlite => "",
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs \
                WHERE (status = 'queued' AND run_at <= $3) \
                   OR (status = 'running' AND lease_expires_at <= $3) \
                ORDER BY run_at, id LIMIT 1 {lock}) \
             RETURNING {JOB_COLUMNS}"
        )))
        .bind(worker)
        .bind(to_unix(now + lease))
        .bind(now_s)
        .fetch_optional(&self.pool)
        .await
        .context("claim the next job")?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Extends `worker`'s lease on a running job; `false` when the lease is no longer its own.
    pub async fn renew_job_lease(
        &self,
        job_id: i64,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(to_unix(until))
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await
        .context("renew a job lease")?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks a job done; `false` when the lease was no longer `worker`'s.
    pub async fn complete_job(
        &self,
        job_id: i64,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $1, lease_owner = NULL, \
             lease_expires_at = NULL WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(to_unix(now))
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await
        .context("complete a job")?;
        Ok(result.rows_affected() == 1)
    }

    /// Records a failed run: queued again at `retry_at` while attempts remain, else dead with
    /// the error.
    pub async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        now: DateTime<Utc>,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<FailOutcome, StoreError> {
        let row = sqlx::query(
            "UPDATE jobs SET \
               status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
               finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, \
               run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE $2 END, \
               last_error = $3, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $4 AND lease_owner = $5 AND status = 'running' RETURNING status",
        )
        .bind(to_unix(now))
        .bind(to_unix(retry_at))
        .bind(error)
        .bind(job_id)
        .bind(worker)
        .fetch_optional(&self.pool)
        .await
        .context("record a failed job")?;
        Ok(match row.map(|r| r.get::<String, _>(0)) {
            None => FailOutcome::LeaseLost,
            Some(status) if status == "dead" => FailOutcome::Dead,
            Some(_) => FailOutcome::Retry(from_unix(to_unix(retry_at))),
        })
    }

    /// Gives a running job back without counting the attempt (a graceful stop), to run at `now`.
    pub async fn release_job(
        &self,
        job_id: i64,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_at = $1, attempts = attempts - 1, \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(to_unix(now))
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await
        .context("release a job")?;
        Ok(result.rows_affected() == 1)
    }

    /// Queues a dead job to run at `now` with all its attempts back (a person's "retry"); its
    /// last error stays until a run replaces it. `None` when the job is not dead (done, still
    /// queued, or retried by someone else a moment ago).
    pub async fn retry_dead_job(
        &self,
        job_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET status = 'queued', run_at = $1, attempts = 0, finished_at = NULL              WHERE id = $2 AND status = 'dead' RETURNING {JOB_COLUMNS}"
        )))
        .bind(to_unix(now))
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await
        .context("retry a dead job")?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs newest first, optionally only those in `status`.
    pub async fn jobs(
        &self,
        status: Option<JobStatus>,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 = '' OR status = $1) ORDER BY id DESC LIMIT $2"
        )))
        .bind(status.map_or("", JobStatus::as_str))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("list jobs")?;
        rows.iter().map(job_from_row).collect()
    }

    /// How many jobs of each kind are in each status.
    pub async fn queue_depth(&self) -> Result<Vec<QueueDepth>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status ORDER BY kind, status",
        )
        .fetch_all(&self.pool)
        .await
        .context("count jobs")?;
        rows.iter()
            .map(|row| {
                Ok(QueueDepth {
                    kind: row.get(0),
                    status: parse_status(&row.get::<String, _>(1))?,
                    jobs: row.get(2),
                })
            })
            .collect()
    }

    /// The newest occurrence of `schedule` the scheduler enqueued, if any.
    pub async fn schedule_mark(&self, schedule: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query("SELECT last_occurrence FROM schedule_marks WHERE schedule = $1")
            .bind(schedule)
            .fetch_optional(&self.pool)
            .await
            .context("read a schedule mark")?;
        Ok(row.map(|row| from_unix(row.get(0))))
    }

    /// Moves `schedule`'s mark forward to `occurrence` (never backwards: replicas race).
    pub async fn advance_schedule_mark(
        &self,
        schedule: &str,
        occurrence: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schedule_marks (schedule, last_occurrence) VALUES ($1, $2) \
             ON CONFLICT (schedule) DO UPDATE SET last_occurrence = excluded.last_occurrence \
             WHERE schedule_marks.last_occurrence < excluded.last_occurrence",
        )
        .bind(schedule)
        .bind(to_unix(occurrence))
        .execute(&self.pool)
        .await
        .context("advance a schedule mark")?;
        Ok(())
    }
}

fn parse_status(text: &str) -> Result<JobStatus, StoreError> {
    JobStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt { context: "job status", detail: text.to_owned() })
}

fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
    Ok(Job {
        id: row.get(0),
        kind: row.get(1),
        payload: row.get(2),
        idempotency_key: row.get(3),
        status: parse_status(&row.get::<String, _>(4))?,
        run_at: from_unix(row.get(5)),
        attempts: row.get(6),
        max_attempts: row.get(7),
        lease_owner: row.get(8),
        lease_expires_at: row.get::<Option<i64>, _>(9).map(from_unix),
        last_error: row.get(10),
        created_at: from_unix(row.get(11)),
        finished_at: row.get::<Option<i64>, _>(12).map(from_unix),
    })
}
