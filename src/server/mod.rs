//! `kushim serve`: the HTTP server Slack talks to.
//!
//! - `GET /healthz` — the process answers.
//! - `GET /readyz` — the database answers and every migration is applied (503 with the reason
//!   otherwise), so a load balancer only sends traffic to a server that can answer.
//! - `POST /slack/commands` — slash commands, see [`slack`].
//! - `POST /jira/webhook` — Jira ticket changes, signed with `JIRA_WEBHOOK_SECRET`, see [`jira`].
//!
//! Every Slack route is verified (signature and timestamp) by [`slack::Verified`] before its body
//! is parsed.

pub mod jira;
pub mod slack;

use std::{future::Future, sync::Arc};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;

use crate::{config::Secret, engine::Engine};

/// Largest request body accepted. Slack's slash-command payloads are a few hundred bytes; the
/// limit stops a flood of large bodies from being buffered for signature checks.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where the server reads the time: the real clock in production, a pinned one in tests, so the
/// signature's five-minute window and the controls' freshness can be tested.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    signing_secret: Secret,
    clock: Clock,
    jira: Option<JiraWebhook>,
}

/// What `POST /jira/webhook` needs: the loop that applies ticket changes and the secret Jira
/// signs deliveries with.
pub struct JiraWebhook {
    pub remediation: crate::remediation::Remediation,
    pub secret: Secret,
}

impl AppState {
    pub fn new(engine: Engine, signing_secret: Secret, clock: Clock) -> AppState {
        AppState { inner: Arc::new(Inner { engine, signing_secret, clock, jira: None }) }
    }

    /// Accepts Jira webhooks (without this, `/jira/webhook` refuses every delivery).
    pub fn with_jira(self, webhook: JiraWebhook) -> AppState {
        let inner = &self.inner;
        AppState {
            inner: Arc::new(Inner {
                engine: inner.engine.clone(),
                signing_secret: inner.signing_secret.clone(),
                clock: inner.clock.clone(),
                jira: Some(webhook),
            }),
        }
    }

    fn jira(&self) -> Option<&JiraWebhook> {
        self.inner.jira.as_ref()
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    fn signing_secret(&self) -> &Secret {
        &self.inner.signing_secret
    }

    fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }
}

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Every route, with the body limit applied.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/slack/commands", post(slack::commands))
        .route("/jira/webhook", post(jira::webhook))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let store = state.engine().store();
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
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
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
