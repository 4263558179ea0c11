//! `kushim serve`: the HTTP server Slack talks to.
//!
//! - `GET /healthz` — the process answers.
//! - `GET /readyz` — the database answers and every migration is applied (503 with the reason
//!   otherwise), so a load balancer only sends traffic to a server that can answer.
//! - `GET /metrics` — Prometheus text format.
//! - `POST /slack/commands`, `/slack/interactions`, `/slack/events` — see [`slack`].
//! - `POST /jira/webhook` — Jira ticket changes, signed with `JIRA_WEBHOOK_SECRET`, see [`jira`].
//!
//! Every Slack route is verified (signature and timestamp) by [`slack::Verified`] before its body
//! is parsed. Every request runs in a span with its method, route and a request id, and its
//! latency is measured by route and status.

pub mod jira;
pub mod slack;
pub mod socket;

use std::{
    future::Future,
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::{chat::bot::Bot, config::Secret};

/// Largest request body accepted. Slack's slash-command payloads are a few hundred bytes; the
/// limit stops a flood of large bodies from being buffered for signature checks.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub use crate::chat::bot::Clock;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    bot: Bot,
    signing_secret: Secret,
    jira: Option<JiraWebhook>,
}

/// What `POST /jira/webhook` needs: the loop that applies ticket changes and the secret Jira
/// signs deliveries with.
pub struct JiraWebhook {
    pub remediation: crate::remediation::Remediation,
    pub secret: Secret,
}

impl AppState {
    pub fn new(bot: Bot, signing_secret: Secret) -> AppState {
        AppState { inner: Arc::new(Inner { bot, signing_secret, jira: None }) }
    }

    /// Accepts Jira webhooks (without this, `/jira/webhook` refuses every delivery).
    pub fn with_jira(self, webhook: JiraWebhook) -> AppState {
        let inner = &self.inner;
        AppState {
            inner: Arc::new(Inner {
                bot: inner.bot.clone(),
                signing_secret: inner.signing_secret.clone(),
                jira: Some(webhook),
            }),
        }
    }

    fn jira(&self) -> Option<&JiraWebhook> {
        self.inner.jira.as_ref()
    }

    pub fn bot(&self) -> &Bot {
        &self.inner.bot
    }

    fn signing_secret(&self) -> &Secret {
        &self.inner.signing_secret
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.bot.now()
    }
}

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Every route, with the body limit applied.
pub fn router(state: AppState) -> Router {
    metrics_handle();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus))
        .route("/slack/commands", post(slack::commands))
        .route("/slack/interactions", post(slack::interactions))
        .route("/slack/events", post(slack::events))
        .route("/jira/webhook", post(jira::webhook))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(observe))
        .with_state(state)
}

/// The process's metrics registry, installed on first use (several servers in one test process
/// share it).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".into()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
                    120.0,
                ],
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        handle
    })
}

async fn prometheus() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        metrics_handle().render(),
    )
        .into_response()
}

/// One span per request (method, route, request id) and its latency by route and status.
async fn observe(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %uuid::Uuid::new_v4(),
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span).await;
    metrics::histogram!(
        "kushim_http_request_duration_seconds",
        "route" => route,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let store = state.bot().engine().store();
    if let Err(error) = store.ping().await {
        tracing::warn!(%error, "readiness: the database does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable".into());
    }
    match store.migration_status().await {
        Ok(migrations) => {
            let pending = migrations.iter().filter(|(_, _, applied)| !applied).count();
            if pending == 0 {
                (StatusCode::OK, "ready".into())
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, format!("{pending} migrations pending"))
            }
        }
        Err(error) => {
            tracing::warn!(%error, "readiness: migration status unreadable");
            (StatusCode::SERVICE_UNAVAILABLE, "migration status unreadable".into())
        }
    }
}

/// Serves until `shutdown` completes, then stops accepting and lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let bot = state.bot().clone();
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await?;
    // Clicks and collections already acknowledged finish before the process exits.
    bot.drain().await;
    Ok(())
}

/// Completes on Ctrl-C or, on Unix, SIGTERM (what `docker stop` and Kubernetes send).
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// signal that arrives between "listening" and the server's first poll must still stop it
/// gracefully instead of killing the process.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    };
    async move {
        #[cfg(unix)]
        {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "cannot listen for Ctrl-C / SIGTERM; stop with SIGKILL");
                    std::future::pending::<()>().await;
                }
            }
        }
        #[cfg(not(unix))]
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
