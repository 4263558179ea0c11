//! What every collector shares: the result of a run, its API-call count, the errors a person can
//! act on, and retries that honour what the server says about when to come back.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use backon::BackoffBuilder;
use chrono::{DateTime, Utc};

use super::{Integration, Source};

/// One collection run: what was seen, and what it cost.
#[derive(Debug, Clone)]
pub struct Collection<T> {
    /// `Collected` (possibly with gaps) or `Failed`; never `NotCollected`.
    pub source: Source<T>,
    pub api_calls: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

impl<T> Collection<T> {
    /// The run a collector's result makes: its data, observed when the run started, or the
    /// failure with its reason (logged), with the calls it cost.
    pub fn concluded(
        integration: Integration,
        result: Result<T, CollectError>,
        calls: &ApiCalls,
        started_at: DateTime<Utc>,
    ) -> Collection<T> {
        let finished_at = Utc::now();
        let source = match result {
            Ok(data) => Source::Collected { data, observed_at: started_at },
            Err(error) => {
                tracing::warn!(%error, "{} collection failed", integration.display_name());
                Source::Failed { reason: error.to_string(), observed_at: started_at }
            }
        };
        tracing::info!(
            api_calls = calls.total(),
            "{} collection finished",
            integration.display_name()
        );
        Collection { source, api_calls: calls.total(), started_at, finished_at }
    }
}

/// One line of `kushim doctor`: a credential or permission that was tried, and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    pub integration: Integration,
    /// What was tried, e.g. "token accepted", "read org members (read:org)".
    pub check: String,
    pub ok: bool,
    /// On success what was seen ("42 repositories visible"); on failure what to change
    /// ("grant the token the read:org scope").
    pub detail: String,
}

/// Counts the API requests of one run, retries included. Cheap to clone; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct ApiCalls(Arc<AtomicU64>);

impl ApiCalls {
    pub fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why a collection (or one part of it) failed, in words that say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error("{integration} is not configured: {what}")]
    NotConfigured { integration: Integration, what: String },
    #[error("{integration} rejected the credentials ({detail}); {fix}")]
    Unauthorized { integration: Integration, detail: String, fix: String },
    #[error("{integration} denied {call}: missing {missing} ({detail})")]
    Forbidden { integration: Integration, call: String, missing: String, detail: String },
    #[error(
        "{integration} kept rate-limiting {call} after {attempts} attempts; try again after {retry_after_seconds}s"
    )]
    RateLimited { integration: Integration, call: String, attempts: u32, retry_after_seconds: u64 },
    #[error("{integration} answered {call} with HTTP {status}: {detail}")]
    Server { integration: Integration, call: String, status: u16, detail: String },
    #[error("{integration}: cannot reach {call}: {detail}")]
    Transport { integration: Integration, call: String, detail: String },
    #[error("{integration}: {call} timed out after {seconds}s")]
    Timeout { integration: Integration, call: String, seconds: u64 },
    #[error("{integration}: unexpected response to {call}: {detail}")]
    Malformed { integration: Integration, call: String, detail: String },
}

/// One failed attempt, as the client classified it.
#[derive(Debug)]
pub enum Attempt {
    /// Worth another try: 429, 5xx, a timeout or a dropped connection. `after` is the server's
    /// own word (`Retry-After`, a rate-limit reset header) and wins over the backoff schedule.
    Retry { error: CollectError, after: Option<Duration> },
    /// Trying again cannot help: bad credentials, a missing permission, a malformed answer.
    Fail(CollectError),
}

/// How patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// First backoff delay; each retry doubles it (with jitter) up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest a server may ask us to wait before we give up on the call instead.
    pub max_server_wait: Duration,
    /// Timeout of a single request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_server_wait: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails for good, or the attempts run out.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, CollectError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut schedule = backon::ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_jitter()
            .without_max_times()
            .build();
        let mut tries = 0;
        loop {
            tries += 1;
            let (error, server_wait) = match attempt().await {
                Ok(value) => return Ok(value),
                Err(Attempt::Fail(error)) => return Err(error),
                Err(Attempt::Retry { error, after }) => (error, after),
            };
            if tries >= self.max_attempts {
                return Err(exhausted(error, tries, server_wait));
            }
            let delay = match server_wait {
                Some(wait) if wait > self.max_server_wait => {
                    return Err(exhausted(error, tries, server_wait));
                }
                Some(wait) => wait,
                None => schedule.next().unwrap_or(self.max_delay),
            };
            tracing::debug!(%error, attempt = tries, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// The error to report once retrying stops: rate limits say so and when to come back.
fn exhausted(error: CollectError, attempts: u32, server_wait: Option<Duration>) -> CollectError {
    match (error, server_wait) {
        (CollectError::Server { integration, call, status: 429, .. }, wait) => {
            CollectError::RateLimited {
                integration,
                call,
                attempts,
                retry_after_seconds: wait.map_or(60, |w| w.as_secs()),
            }
        }
        (error, _) => error,
    }
}

/// Reads `Retry-After` in its delay-seconds form (the form GitHub, Slack and Jira send).
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds: u64 =
        headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Time until an epoch-seconds reset header (`X-Rate-Limit-Reset`, `x-ratelimit-reset`), from
/// `now`; zero when the reset is already past.
pub fn until_reset(headers: &http::HeaderMap, name: &str, now: DateTime<Utc>) -> Option<Duration> {
    let reset: i64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(u64::try_from(reset - now.timestamp()).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    fn quick() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_server_wait: Duration::from_millis(50),
            request_timeout: Duration::from_secs(1),
        }
    }

    fn too_many_requests() -> CollectError {
        CollectError::Server {
            integration: Integration::Okta,
            call: "GET /api/v1/users".into(),
            status: 429,
            detail: "slow down".into(),
        }
    }

    #[tokio::test]
    async fn a_retryable_failure_is_retried_until_it_succeeds() {
        let tries = AtomicU32::new(0);
        let result = quick()
            .run(|| async {
                if tries.fetch_add(1, Ordering::Relaxed) < 2 {
                    Err(Attempt::Retry {
                        error: too_many_requests(),
                        after: Some(Duration::from_millis(2)),
                    })
                } else {
                    Ok("users")
                }
            })
            .await;
        assert_eq!(result, Ok("users"));
        assert_eq!(tries.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_lasting_rate_limit_is_reported_as_one_with_the_servers_wait() {
        let tries = AtomicU32::new(0);
        let result: Result<(), _> = quick()
            .run(|| async {
                tries.fetch_add(1, Ordering::Relaxed);
                Err(Attempt::Retry {
                    error: too_many_requests(),
                    after: Some(Duration::from_millis(1)),
                })
            })
            .await;
        assert_eq!(tries.load(Ordering::Relaxed), 4);
        assert!(matches!(result, Err(CollectError::RateLimited { attempts: 4, .. })), "{result:?}");
    }

    #[tokio::test]
    async fn a_server_asking_for_too_long_a_wait_is_not_waited_for() {
        let tries = AtomicU32::new(0);
        let result: Result<(), _> = quick()
            .run(|| async {
                tries.fetch_add(1, Ordering::Relaxed);
                Err(Attempt::Retry {
                    error: too_many_requests(),
                    after: Some(Duration::from_secs(3600)),
                })
            })
            .await;
        assert_eq!(tries.load(Ordering::Relaxed), 1);
        assert!(
            matches!(result, Err(CollectError::RateLimited { retry_after_seconds: 3600, .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_permanent_failure_is_not_retried() {
        let tries = AtomicU32::new(0);
        let denied = CollectError::Forbidden {
            integration: Integration::GitHub,
            call: "GET /orgs/acme".into(),
            missing: "the read:org scope".into(),
            detail: "Resource not accessible by personal access token".into(),
        };
        let result: Result<(), _> = quick()
            .run(|| async {
                tries.fetch_add(1, Ordering::Relaxed);
                Err(Attempt::Fail(denied.clone()))
            })
            .await;
        assert_eq!(tries.load(Ordering::Relaxed), 1);
        assert_eq!(
            result.unwrap_err().to_string(),
            "github denied GET /orgs/acme: missing the read:org scope (Resource not accessible by personal access token)"
        );
    }

    #[test]
    fn rate_limit_headers_are_read() {
        let mut headers = http::HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        headers.insert("x-rate-limit-reset", "1000".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let now = DateTime::<Utc>::from_timestamp(990, 0).unwrap();
        assert_eq!(until_reset(&headers, "x-rate-limit-reset", now), Some(Duration::from_secs(10)));
        let later = DateTime::<Utc>::from_timestamp(2000, 0).unwrap();
        assert_eq!(until_reset(&headers, "x-rate-limit-reset", later), Some(Duration::ZERO));
    }
}
