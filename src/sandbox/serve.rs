//! Serving a fake API on 127.0.0.1: a random port, a request log to assert on, and faults to
//! inject (rate limits, server errors, bad credentials, missing permissions, malformed bodies,
//! slowness). Each fake (GitHub, IAM, Okta, …) renders a fault in its own API's wire format.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::Request, middleware::Next, response::Response};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// Something to go wrong on a request whose path starts with `path_prefix` ("" = any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub path_prefix: String,
    pub fault: Fault,
    /// How many matching requests it applies to (`None` = every one from now on).
    pub times: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with the API's own rate-limit headers, asking to come back after this many seconds.
    RateLimited { retry_after_seconds: u64 },
    /// A 5xx with this status.
    ServerError(u16),
    /// The credentials are rejected (401).
    Unauthorized,
    /// The credentials lack a permission (403).
    Forbidden,
    /// 200 with a body that is not what the API documents.
    Malformed,
    /// The answer arrives only after this long.
    Slow(Duration),
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub authorization: Option<String>,
    pub if_none_match: Option<String>,
}

/// Shared state of one fake: its request log and its pending faults.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    faults: Arc<Mutex<VecDeque<FaultRule>>>,
}

impl Recorder {
    /// Adds a fault; faults apply in the order they were added.
    pub fn inject(&self, path_prefix: &str, fault: Fault, times: Option<u32>) {
        self.faults.lock().expect("fault list").push_back(FaultRule {
            path_prefix: path_prefix.into(),
            fault,
            times,
        });
    }

    pub fn clear_faults(&self) {
        self.faults.lock().expect("fault list").clear();
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().expect("request log").clone()
    }

    pub fn clear_requests(&self) {
        self.log.lock().expect("request log").clear();
    }

    /// Logs a request and returns the fault it should suffer, if any.
    pub fn observe(&self, request: &Request) -> Option<Fault> {
        let header = |name: &str| {
            request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        self.log.lock().expect("request log").push(LoggedRequest {
            method: request.method().to_string(),
            uri: request.uri().to_string(),
            authorization: header("authorization"),
            if_none_match: header("if-none-match"),
        });
        let path = request.uri().path();
        let mut faults = self.faults.lock().expect("fault list");
        let index = faults.iter().position(|rule| path.starts_with(&rule.path_prefix))?;
        let rule = &mut faults[index];
        let fault = rule.fault.clone();
        match &mut rule.times {
            Some(1) => {
                faults.remove(index);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }
}

/// A running fake. Dropping it stops the server.
pub struct FakeServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Serves `router` on 127.0.0.1 at a port the OS picks.
    pub async fn start(router: Router) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(FakeServer { addr, shutdown: Some(shutdown), task: Some(task) })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Middleware that logs every request into `recorder` and lets `render` answer an injected
/// fault in the fake API's own format (`None` from `render` means "serve normally").
pub async fn with_faults(
    recorder: Recorder,
    render: fn(&Fault) -> Option<Response>,
    request: Request,
    next: Next,
) -> Response {
    match recorder.observe(&request) {
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(fault) => match render(&fault) {
            Some(response) => response,
            None => next.run(request).await,
        },
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::StatusCode, middleware, response::IntoResponse, routing::get};

    use super::*;

    fn render(fault: &Fault) -> Option<Response> {
        match fault {
            Fault::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS.into_response()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn faults_apply_to_matching_paths_the_given_number_of_times() {
        let recorder = Recorder::default();
        let router = Router::new()
            .route("/api/users", get(|| async { "users" }))
            .route("/api/apps", get(|| async { "apps" }))
            .layer(middleware::from_fn({
                let recorder = recorder.clone();
                move |request: Request<Body>, next: Next| {
                    with_faults(recorder.clone(), render, request, next)
                }
            }));
        let server = FakeServer::start(router).await.unwrap();
        recorder.inject("/api/users", Fault::RateLimited { retry_after_seconds: 1 }, Some(2));

        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for path in ["/api/apps", "/api/users", "/api/users", "/api/users"] {
            statuses.push(
                client
                    .get(format!("{}{path}", server.url()))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(statuses, vec![200, 429, 429, 200]);
        assert_eq!(recorder.requests().len(), 4);
        assert!(server.url().starts_with("http://127.0.0.1:"));
        server.stop().await;
    }
}
