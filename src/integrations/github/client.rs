//! Talking to GitHub through `octocrab`: authentication (token or GitHub App installation),
//! one request with its timeout, counting and rate-limit bookkeeping, the classification of
//! GitHub's answers into [`CollectError`]s, `Link` pagination, conditional requests and GraphQL.
//!
//! octocrab's typed calls turn an error response into `octocrab::Error`, which drops the
//! response headers (`Retry-After`, `x-ratelimit-*`, `x-accepted-oauth-scopes`) that say when to
//! come back and which scope is missing. So every request goes through octocrab's raw `_get` /
//! `_post`, inside [`RetryPolicy::run`], and this module reads status, headers and body itself.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode};
use octocrab::{Octocrab, models::AppId, service::middleware::retry::RetryConfig};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::etag::{CachedPage, EtagCache};
use crate::{
    config::{GitHubAuth, GitHubSettings},
    integrations::{
        Integration,
        collect::{ApiCalls, Attempt, CollectError, RetryPolicy, retry_after, until_reset},
    },
};

const GH: Integration = Integration::GitHub;

/// GitHub's secondary rate limits allow no more than 100 concurrent requests; we stay far below
/// (checks.md §5 proposes 8), for the whole run, whatever fans out.
pub(crate) const MAX_CONCURRENT_REQUESTS: usize = 8;

/// Below this many remaining points the client spreads its requests over the time left until the
/// reset instead of spending the rest at once and then stalling.
const LOW_REMAINING: u64 = 50;

/// A safety stop for servers whose `Link: rel="next"` never ends.
const MAX_PAGES: usize = 10_000;

/// One kind of call, with what GitHub requires for it: the classic token scope and the GitHub App
/// permission (GitHub's documented requirements). Used to name the missing one on a 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `GET /orgs/{org}/hooks`, as people read it in errors and logs.
    pub call: &'static str,
    /// Classic personal access token scope.
    pub scope: &'static str,
    /// GitHub App (and fine-grained token) permission, as in the installation token's
    /// `permissions` map: `name: level`.
    pub app_permission: &'static str,
}

/// How the client authenticated, for error messages that say what to renew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    Token,
    App { app_id: u64, installation_id: u64 },
}

impl Credential {
    fn what(self) -> String {
        match self {
            Credential::Token => "the token (GITHUB_TOKEN or [github] token_file)".to_string(),
            Credential::App { app_id, installation_id } => {
                format!(
                    "the installation token of GitHub App {app_id} (installation {installation_id})"
                )
            }
        }
    }

    fn renew(self) -> String {
        match self {
            Credential::Token => "create a new token (Settings → Developer settings → Personal \
                                  access tokens) and put it in GITHUB_TOKEN"
                .to_string(),
            Credential::App { installation_id, .. } => format!(
                "check that installation {installation_id} still exists and is not suspended \
                 (organisation Settings → GitHub Apps)"
            ),
        }
    }

    /// The requirement of `endpoint` in this credential's terms.
    pub fn requirement(self, endpoint: &Endpoint) -> String {
        match self {
            Credential::Token => format!("the {} scope", endpoint.scope),
            Credential::App { .. } => format!("the App permission {}", endpoint.app_permission),
        }
    }
}

/// An answer GitHub gave: 2xx, 304, or one of the statuses a caller may want to interpret
/// itself (404, 422). Every other status has become a [`CollectError`] already.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The JSON body of a 2xx answer; a 404 or 422 becomes an error naming the call.
    pub fn json<T: DeserializeOwned>(&self, endpoint: &Endpoint) -> Result<T, CollectError> {
        if !self.status.is_success() {
            return Err(self.unexpected(endpoint));
        }
        parse(endpoint, &self.body)
    }

    /// GitHub's `message`, or the start of the body when it is not GitHub's error JSON.
    pub fn message(&self) -> String {
        error_message(&self.body)
    }

    /// The error for a 404 or 422 that the caller does not expect.
    pub fn unexpected(&self, endpoint: &Endpoint) -> CollectError {
        let detail = match self.status {
            StatusCode::NOT_FOUND => format!(
                "{}: it does not exist, or GitHub hides it from this credential (GitHub answers \
                 404 instead of 403 for what a token may not see; it needs {} / {})",
                self.message(),
                endpoint.scope,
                endpoint.app_permission
            ),
            _ => self.message(),
        };
        CollectError::Server {
            integration: GH,
            call: endpoint.call.to_string(),
            status: self.status.as_u16(),
            detail,
        }
    }
}

/// The answer to one GraphQL query: `data`, and the errors GitHub reported beside it (GraphQL
/// answers partially: a field the token may not read is null, with an error naming its path).
#[derive(Debug)]
pub(crate) struct GraphqlReply<T> {
    pub data: T,
    pub errors: Vec<GraphqlError>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GraphqlError {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub path: Vec<Value>,
    pub message: String,
}

#[derive(Deserialize)]
struct GraphqlEnvelope<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

/// Rate-limit state of one resource (`core`, `graphql`, …) as the last answer reported it.
#[derive(Debug, Clone, Copy)]
struct Budget {
    remaining: u64,
    reset: i64,
}

/// A connection to one GitHub organisation's API, shared by the collector's concurrent tasks.
#[derive(Clone)]
pub(crate) struct Client {
    rest: Octocrab,
    /// GraphQL lives at `{api_url}/graphql` on github.com but at `https://HOST/api/graphql` on
    /// GitHub Enterprise Server, whose REST base is `https://HOST/api/v3`; octocrab prefixes
    /// the base path to every route, so GHES needs a second client rooted at `/api`.
    graphql: Octocrab,
    pub credential: Credential,
    pub calls: ApiCalls,
    policy: RetryPolicy,
    permits: Arc<Semaphore>,
    budgets: Arc<Mutex<HashMap<String, Budget>>>,
    not_modified: Arc<AtomicU64>,
    /// The App installation token's `permissions`, for `doctor`. Empty for tokens.
    pub app_permissions: BTreeMap<String, String>,
}

const ACCESS_TOKEN: Endpoint = Endpoint {
    call: "POST /app/installations/{installation_id}/access_tokens",
    scope: "(a GitHub App JWT)",
    app_permission: "(a GitHub App JWT)",
};

/// `POST /app/installations/{id}/access_tokens` answer.
#[derive(Deserialize)]
struct InstallationToken {
    token: String,
    #[serde(default)]
    permissions: BTreeMap<String, String>,
}

impl Client {
    /// Builds the client; for a GitHub App this already asks for the installation token (one
    /// request, counted).
    pub async fn connect(
        settings: &GitHubSettings,
        policy: &RetryPolicy,
        calls: ApiCalls,
    ) -> Result<Client, CollectError> {
        let not_configured = |what: String| CollectError::NotConfigured { integration: GH, what };
        let api_url = settings.api_url.trim_end_matches('/').to_string();
        let graphql_url = match api_url.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api"),
            None => api_url.clone(),
        };
        let builder = |url: &str| {
            Octocrab::builder()
                // Retries are ours (RetryPolicy), so they are counted and honour Retry-After.
                .add_retry_config(RetryConfig::None)
                .base_uri(url)
                .map_err(|e| not_configured(format!("api_url {url:?} is not a URL ({e})")))
        };
        let (token, credential, app_permissions) = match &settings.auth {
            GitHubAuth::Token(token) => {
                (token.expose().to_string(), Credential::Token, BTreeMap::new())
            }
            GitHubAuth::App { app_id, private_key, installation_id } => {
                let credential =
                    Credential::App { app_id: *app_id, installation_id: *installation_id };
                let app = builder(&api_url)?
                    .app_from_rsa_pem(AppId(*app_id), private_key.expose().as_bytes())
                    .map_err(|e| {
                        not_configured(format!(
                            "the private key of GitHub App {app_id} is not an RSA key in PEM form \
                             ({e}); download a new one from the App's settings"
                        ))
                    })?
                    .build()
                    .map_err(|e| not_configured(format!("cannot build the HTTP client ({e})")))?;
                let token =
                    mint_installation_token(&app, *app_id, *installation_id, policy, &calls)
                        .await?;
                (token.token, credential, token.permissions)
            }
        };
        // An installation token is a bearer token like a personal one. We mint it ourselves
        // rather than through octocrab's `installation()`, which would ask for it inside the
        // first call and again, silently, after any 401: requests we could neither count nor
        // classify.
        let client = |url: &str| {
            builder(url)?
                .personal_token(token.clone())
                .build()
                .map_err(|e| not_configured(format!("cannot build the HTTP client ({e})")))
        };
        Ok(Client {
            rest: client(&api_url)?,
            graphql: client(&graphql_url)?,
            credential,
            calls,
            policy: *policy,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_REQUESTS)),
            budgets: Arc::default(),
            not_modified: Arc::default(),
            app_permissions,
        })
    }

    /// How many answers were `304 Not Modified` so far.
    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }

    /// One REST GET, retried per the policy. Returns 2xx, 304, 404 and 422 answers.
    pub async fn get(&self, endpoint: &Endpoint, path: &str) -> Result<Reply, CollectError> {
        self.get_with(endpoint, path, None).await
    }

    async fn get_with(
        &self,
        endpoint: &Endpoint,
        path: &str,
        if_none_match: Option<&str>,
    ) -> Result<Reply, CollectError> {
        let span = tracing::debug_span!(
            "github request",
            integration = "github",
            call = endpoint.call,
            path
        );
        self.policy
            .run(|| send(&self.rest, self, endpoint, Method::Get { path, if_none_match }))
            .instrument(span)
            .await
    }

    /// A REST GET answered from `etags` when GitHub says it has not changed.
    pub async fn get_cached(
        &self,
        endpoint: &Endpoint,
        path: &str,
        etags: &EtagCache,
    ) -> Result<(Reply, Option<String>), CollectError> {
        let cached = etags.get(path);
        let reply = self.get_with(endpoint, path, cached.as_ref().map(|c| c.etag.as_str())).await?;
        match (reply.status, cached) {
            (StatusCode::NOT_MODIFIED, Some(page)) => {
                self.not_modified.fetch_add(1, Ordering::Relaxed);
                let reply =
                    Reply { status: StatusCode::OK, headers: reply.headers, body: page.body };
                Ok((reply, page.next))
            }
            (StatusCode::NOT_MODIFIED, None) => Err(CollectError::Malformed {
                integration: GH,
                call: endpoint.call.to_string(),
                detail: "304 Not Modified to a request without If-None-Match".to_string(),
            }),
            (status, _) => {
                let next = next_link(endpoint, &reply.headers)?;
                let etag = reply.headers.get(http::header::ETAG).and_then(|v| v.to_str().ok());
                if let (true, Some(etag)) = (status.is_success(), etag) {
                    etags.put(
                        path,
                        CachedPage {
                            etag: etag.to_string(),
                            body: reply.body.clone(),
                            next: next.clone(),
                        },
                    );
                }
                Ok((reply, next))
            }
        }
    }

    /// Every page of a REST list, following `Link: rel="next"`; conditional when `etags` is
    /// given. The first page's 404 or 422 is returned to the caller as `Err(Ok(reply))`.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        first: &str,
        etags: Option<&EtagCache>,
    ) -> Result<Vec<T>, ListError> {
        let mut items = Vec::new();
        let mut path = first.to_string();
        for page in 0..MAX_PAGES {
            let (reply, next) = match etags {
                Some(etags) => self.get_cached(endpoint, &path, etags).await?,
                None => {
                    let reply = self.get(endpoint, &path).await?;
                    let next = next_link(endpoint, &reply.headers)?;
                    (reply, next)
                }
            };
            if !reply.status.is_success() {
                return Err(if page == 0 {
                    ListError::Status(reply)
                } else {
                    ListError::Failed(reply.unexpected(endpoint))
                });
            }
            items.extend(parse::<Vec<T>>(endpoint, &reply.body)?);
            match next {
                Some(next) => path = next,
                None => return Ok(items),
            }
        }
        Err(ListError::Failed(CollectError::Malformed {
            integration: GH,
            call: endpoint.call.to_string(),
            detail: format!("more than {MAX_PAGES} pages; the Link header never ends"),
        }))
    }

    /// One GraphQL query (`operation` names it for GitHub's logs and our fake), retried per the
    /// policy, including when GitHub reports `RATE_LIMITED` inside a 200.
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        operation: &str,
        query: &str,
        variables: Value,
    ) -> Result<GraphqlReply<T>, CollectError> {
        let body = serde_json::json!({
            "query": query,
            "operationName": operation,
            "variables": variables,
        });
        let span = tracing::debug_span!(
            "github graphql",
            integration = "github",
            call = endpoint.call,
            operation
        );
        self.policy
            .run(|| async {
                let reply = send(
                    &self.graphql,
                    self,
                    endpoint,
                    Method::Post { path: "/graphql", body: &body },
                )
                .await?;
                let envelope: GraphqlEnvelope<T> =
                    parse(endpoint, &reply.body).map_err(Attempt::Fail)?;
                if let Some(limited) =
                    envelope.errors.iter().find(|e| e.kind.as_deref() == Some("RATE_LIMITED"))
                {
                    return Err(Attempt::Retry {
                        error: rate_limited(endpoint, &limited.message),
                        after: Some(server_wait(&reply.headers).unwrap_or(Duration::from_secs(1))),
                    });
                }
                match envelope.data {
                    Some(data) => Ok(GraphqlReply { data, errors: envelope.errors }),
                    None => Err(Attempt::Fail(graphql_failure(
                        self.credential,
                        endpoint,
                        &envelope.errors,
                    ))),
                }
            })
            .instrument(span)
            .await
    }

    /// Waits until the resource's rate limit allows another request: until the reset when it is
    /// used up, a share of the time left when it runs low. A wait longer than the policy allows
    /// is reported as a rate limit instead.
    async fn pace(&self, endpoint: &Endpoint, bucket: &str) -> Result<(), Attempt> {
        let budget = self.budgets.lock().unwrap_or_else(|p| p.into_inner()).get(bucket).copied();
        let Some(wait) = budget.and_then(|b| pause(b, Utc::now())) else {
            return Ok(());
        };
        if wait > self.policy.max_server_wait {
            return Err(Attempt::Retry {
                error: rate_limited(endpoint, &format!("the {bucket} rate limit is used up")),
                after: Some(wait),
            });
        }
        tracing::info!(bucket, wait_ms = wait.as_millis() as u64, "github rate limit low; pausing");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn note_budget(&self, bucket: &str, headers: &HeaderMap) {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        if let (Some(remaining), Some(reset)) =
            (number("x-ratelimit-remaining"), number("x-ratelimit-reset"))
        {
            let bucket = header_text(headers, "x-ratelimit-resource").unwrap_or(bucket.to_string());
            let budget = Budget { remaining: u64::try_from(remaining).unwrap_or(0), reset };
            self.budgets.lock().unwrap_or_else(|p| p.into_inner()).insert(bucket, budget);
        }
    }
}

/// What paging a list can end in besides the items: an answer the caller may interpret (a 404
/// or 422 on the first page), or an error.
#[derive(Debug)]
pub(crate) enum ListError {
    Status(Reply),
    Failed(CollectError),
}

impl From<CollectError> for ListError {
    fn from(error: CollectError) -> Self {
        ListError::Failed(error)
    }
}

impl ListError {
    /// The error, treating a 404/422 first page as unexpected.
    pub fn into_error(self, endpoint: &Endpoint) -> CollectError {
        match self {
            ListError::Status(reply) => reply.unexpected(endpoint),
            ListError::Failed(error) => error,
        }
    }
}

enum Method<'a> {
    Get { path: &'a str, if_none_match: Option<&'a str> },
    Post { path: &'a str, body: &'a Value },
}

/// One attempt: wait for the rate limit, take a concurrency permit, send, read the body within
/// the request timeout, and classify the answer.
async fn send(
    crab: &Octocrab,
    client: &Client,
    endpoint: &Endpoint,
    method: Method<'_>,
) -> Result<Reply, Attempt> {
    let bucket = match method {
        Method::Post { path: "/graphql", .. } => "graphql",
        _ => "core",
    };
    client.pace(endpoint, bucket).await?;
    let _permit =
        client.permits.acquire().await.map_err(|_| {
            Attempt::Fail(transport(endpoint, "the client was shut down".to_string()))
        })?;
    client.calls.record();
    let reply = exchange(crab, client.policy.request_timeout, endpoint, method).await?;
    client.note_budget(bucket, &reply.headers);
    if reply.status == StatusCode::NOT_MODIFIED {
        tracing::debug!(call = endpoint.call, "304 not modified");
    }
    classify(client.credential, endpoint, reply)
}

async fn exchange(
    crab: &Octocrab,
    timeout: Duration,
    endpoint: &Endpoint,
    method: Method<'_>,
) -> Result<Reply, Attempt> {
    let request = async {
        let response = match method {
            Method::Get { path, if_none_match } => {
                let mut headers = HeaderMap::new();
                if let Some(tag) = if_none_match.and_then(|t| HeaderValue::from_str(t).ok()) {
                    headers.insert(http::header::IF_NONE_MATCH, tag);
                }
                crab._get_with_headers(path, Some(headers)).await?
            }
            Method::Post { path, body } => crab._post(path, Some(body)).await?,
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = crab.body_to_string(response).await?;
        Ok::<_, octocrab::Error>(Reply { status, headers, body })
    };
    match tokio::time::timeout(timeout, request).await {
        Err(_) => Err(Attempt::Retry {
            error: CollectError::Timeout {
                integration: GH,
                call: endpoint.call.to_string(),
                seconds: timeout.as_secs().max(1),
            },
            after: None,
        }),
        Ok(Err(error)) => {
            Err(Attempt::Retry { error: transport(endpoint, error_chain(&error)), after: None })
        }
        Ok(Ok(reply)) => Ok(reply),
    }
}

/// Turns a status into success, a retry or a final error, per GitHub's documented behaviour.
fn classify(credential: Credential, endpoint: &Endpoint, reply: Reply) -> Result<Reply, Attempt> {
    let status = reply.status;
    if status.is_success()
        || status == StatusCode::NOT_MODIFIED
        || status == StatusCode::NOT_FOUND
        || status == StatusCode::UNPROCESSABLE_ENTITY
    {
        return Ok(reply);
    }
    let message = reply.message();
    let headers = &reply.headers;
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (header_text(headers, "x-ratelimit-remaining").as_deref() == Some("0")
                || headers.contains_key(http::header::RETRY_AFTER)));
    if limited {
        // Primary (403, remaining 0) and secondary (403/429 with Retry-After) limits alike.
        return Err(Attempt::Retry {
            error: rate_limited(endpoint, &format!("HTTP {}: {message}", status.as_u16())),
            after: Some(server_wait(headers).unwrap_or(Duration::from_secs(60))),
        });
    }
    match status {
        StatusCode::UNAUTHORIZED => Err(Attempt::Fail(CollectError::Unauthorized {
            integration: GH,
            detail: format!("{} was rejected on {}: {message}", credential.what(), endpoint.call),
            fix: credential.renew(),
        })),
        StatusCode::FORBIDDEN => Err(Attempt::Fail(CollectError::Forbidden {
            integration: GH,
            call: endpoint.call.to_string(),
            missing: missing_permission(credential, endpoint, headers),
            detail: message,
        })),
        status if status.is_server_error() => Err(Attempt::Retry {
            error: CollectError::Server {
                integration: GH,
                call: endpoint.call.to_string(),
                status: status.as_u16(),
                detail: message,
            },
            after: retry_after(headers),
        }),
        status => Err(Attempt::Fail(CollectError::Server {
            integration: GH,
            call: endpoint.call.to_string(),
            status: status.as_u16(),
            detail: message,
        })),
    }
}

/// What a 403 says is missing: GitHub names the accepted scopes (`x-accepted-oauth-scopes`, with
/// the token's own in `x-oauth-scopes`) or, for Apps and fine-grained tokens, the permission
/// (`x-accepted-github-permissions`). Without those headers, the endpoint's documented need.
fn missing_permission(credential: Credential, endpoint: &Endpoint, headers: &HeaderMap) -> String {
    let accepted_permissions =
        header_text(headers, "x-accepted-github-permissions").filter(|p| !p.trim().is_empty());
    match credential {
        Credential::App { app_id, .. } => {
            let permission = accepted_permissions.unwrap_or(endpoint.app_permission.to_string());
            format!(
                "the GitHub App permission {permission} (grant it to App {app_id} and approve the \
                 change in the organisation)"
            )
        }
        Credential::Token => {
            let accepted = header_text(headers, "x-accepted-oauth-scopes")
                .map(|s| {
                    s.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let scope = if accepted.is_empty() || accepted.iter().any(|s| s == endpoint.scope) {
                endpoint.scope.to_string()
            } else {
                accepted[0].clone()
            };
            let granted = header_text(headers, "x-oauth-scopes")
                .map(|s| if s.trim().is_empty() { "none".to_string() } else { s })
                .unwrap_or_else(|| "not reported".to_string());
            let fine_grained = accepted_permissions
                .map(|p| format!("; a fine-grained token needs {p}"))
                .unwrap_or_default();
            format!("the {scope} scope (the token has: {granted}{fine_grained})")
        }
    }
}

/// A GraphQL answer without data: name the missing scope when GitHub says so.
fn graphql_failure(
    credential: Credential,
    endpoint: &Endpoint,
    errors: &[GraphqlError],
) -> CollectError {
    let message = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
    let kinds: Vec<&str> = errors.iter().filter_map(|e| e.kind.as_deref()).collect();
    if kinds.iter().any(|k| matches!(*k, "INSUFFICIENT_SCOPES" | "FORBIDDEN")) {
        // "… requires one of the following scopes: ['read:org'] …"
        let named = message
            .split_once("scopes: [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(scopes, _)| scopes.replace('\'', ""));
        let missing = match (credential, named) {
            (Credential::Token, Some(scopes)) => format!("the {scopes} scope"),
            _ => credential.requirement(endpoint),
        };
        return CollectError::Forbidden {
            integration: GH,
            call: endpoint.call.to_string(),
            missing,
            detail: message,
        };
    }
    if errors.is_empty() {
        return CollectError::Malformed {
            integration: GH,
            call: endpoint.call.to_string(),
            detail: "neither data nor errors in the GraphQL answer".to_string(),
        };
    }
    CollectError::Server {
        integration: GH,
        call: endpoint.call.to_string(),
        status: 200,
        detail: format!("GraphQL errors: {message}"),
    }
}

/// Mints an installation access token with the App's JWT (octocrab signs it, RS256).
async fn mint_installation_token(
    app: &Octocrab,
    app_id: u64,
    installation_id: u64,
    policy: &RetryPolicy,
    calls: &ApiCalls,
) -> Result<InstallationToken, CollectError> {
    let path = format!("/app/installations/{installation_id}/access_tokens");
    let credential = Credential::App { app_id, installation_id };
    let body = serde_json::json!({});
    let minting = Client {
        rest: app.clone(),
        graphql: app.clone(),
        credential,
        calls: calls.clone(),
        policy: *policy,
        permits: Arc::new(Semaphore::new(1)),
        budgets: Arc::default(),
        not_modified: Arc::default(),
        app_permissions: BTreeMap::new(),
    };
    let reply = policy
        .run(|| send(app, &minting, &ACCESS_TOKEN, Method::Post { path: &path, body: &body }))
        .await
        .map_err(|error| match error {
            CollectError::Unauthorized { integration, detail, .. } => CollectError::Unauthorized {
                integration,
                detail: format!("the JWT of GitHub App {app_id} was rejected ({detail})"),
                fix: format!(
                    "check that app_id is {app_id}'s id and that the private key is one of the \
                     App's current keys (App settings → Private keys)"
                ),
            },
            other => other,
        })?;
    if reply.status == StatusCode::NOT_FOUND {
        return Err(CollectError::NotConfigured {
            integration: GH,
            what: format!(
                "GitHub App {app_id} has no installation {installation_id}; set installation_id \
                 (GITHUB_APP_INSTALLATION_ID) to the number in the installation's settings URL"
            ),
        });
    }
    reply.json(&ACCESS_TOKEN)
}

/// How long the server asked us to wait: `Retry-After` first, then the rate-limit reset.
fn server_wait(headers: &HeaderMap) -> Option<Duration> {
    retry_after(headers).or_else(|| until_reset(headers, "x-ratelimit-reset", Utc::now()))
}

/// A rate-limit error in the form [`RetryPolicy::run`] turns into `RateLimited` once it stops
/// retrying (it recognises status 429; GitHub also says 403 for the primary limit).
fn rate_limited(endpoint: &Endpoint, detail: &str) -> CollectError {
    CollectError::Server {
        integration: GH,
        call: endpoint.call.to_string(),
        status: 429,
        detail: detail.to_string(),
    }
}

fn transport(endpoint: &Endpoint, detail: String) -> CollectError {
    CollectError::Transport { integration: GH, call: endpoint.call.to_string(), detail }
}

/// The pause a budget calls for at `now`: until the reset when nothing remains; the time left
/// shared among the remaining points when they run low; nothing otherwise.
fn pause(budget: Budget, now: DateTime<Utc>) -> Option<Duration> {
    let left = budget.reset - now.timestamp();
    if left <= 0 || budget.remaining >= LOW_REMAINING {
        return None;
    }
    let left = Duration::from_secs(left as u64);
    Some(if budget.remaining == 0 { left } else { left / budget.remaining as u32 })
}

fn parse<T: DeserializeOwned>(endpoint: &Endpoint, body: &str) -> Result<T, CollectError> {
    serde_json::from_str(body).map_err(|e| CollectError::Malformed {
        integration: GH,
        call: endpoint.call.to_string(),
        detail: format!(
            "the body is not the JSON GitHub documents ({e}); starts with {:?}",
            snippet(body)
        ),
    })
}

/// The `next` target of a `Link` header, as a path and query on the API's own host.
fn next_link(endpoint: &Endpoint, headers: &HeaderMap) -> Result<Option<String>, CollectError> {
    let Some(link) = header_text(headers, "link") else { return Ok(None) };
    let next = link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"))
            .then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    });
    let Some(next) = next else { return Ok(None) };
    let url = url::Url::parse(&next).map_err(|e| CollectError::Malformed {
        integration: GH,
        call: endpoint.call.to_string(),
        detail: format!("Link rel=\"next\" is not a URL ({e}): {next}"),
    })?;
    // Only the path and query are used: the request goes to the configured API host, so a
    // Link pointing elsewhere can never receive our credentials.
    Ok(Some(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct GitHubError {
        message: String,
    }
    match serde_json::from_str::<GitHubError>(body) {
        Ok(error) => error.message,
        Err(_) if body.trim().is_empty() => "no body".to_string(),
        Err(_) => snippet(body),
    }
}

fn snippet(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_string(),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOOKS: Endpoint = Endpoint {
        call: "GET /orgs/{org}/hooks",
        scope: "admin:org_hook",
        app_permission: "organization_hooks: read",
    };

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_next_link_keeps_path_and_query_only() {
        let h = headers(&[(
            "link",
            "<https://api.github.com/organizations/1/members?page=2&per_page=100>; rel=\"next\", \
             <https://api.github.com/organizations/1/members?page=4&per_page=100>; rel=\"last\"",
        )]);
        assert_eq!(
            next_link(&HOOKS, &h).unwrap().as_deref(),
            Some("/organizations/1/members?page=2&per_page=100")
        );
        let last_page = headers(&[("link", "<https://x/a?page=1>; rel=\"first\"")]);
        assert_eq!(next_link(&HOOKS, &last_page).unwrap(), None);
    }

    #[test]
    fn a_403_names_the_missing_scope_from_githubs_headers() {
        let h = headers(&[
            ("x-accepted-oauth-scopes", "admin:org_hook"),
            ("x-oauth-scopes", "repo, read:org"),
        ]);
        assert_eq!(
            missing_permission(Credential::Token, &HOOKS, &h),
            "the admin:org_hook scope (the token has: repo, read:org)"
        );
        let app = Credential::App { app_id: 7, installation_id: 9 };
        let h = headers(&[("x-accepted-github-permissions", "organization_hooks=read")]);
        assert!(
            missing_permission(app, &HOOKS, &h)
                .starts_with("the GitHub App permission organization_hooks=read")
        );
    }

    #[test]
    fn rate_limits_are_retried_with_the_servers_wait_and_other_403s_are_not() {
        let reply = |status: u16, pairs: &[(&'static str, &str)]| Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: headers(pairs),
            body: r#"{"message":"nope"}"#.into(),
        };
        let secondary = classify(Credential::Token, &HOOKS, reply(429, &[("retry-after", "3")]));
        assert!(
            matches!(secondary, Err(Attempt::Retry { after: Some(d), .. }) if d == Duration::from_secs(3))
        );
        let primary =
            classify(Credential::Token, &HOOKS, reply(403, &[("x-ratelimit-remaining", "0")]));
        assert!(matches!(primary, Err(Attempt::Retry { .. })));
        let denied = classify(Credential::Token, &HOOKS, reply(403, &[]));
        assert!(matches!(denied, Err(Attempt::Fail(CollectError::Forbidden { .. }))));
        let unauthorized = classify(Credential::Token, &HOOKS, reply(401, &[]));
        assert!(matches!(unauthorized, Err(Attempt::Fail(CollectError::Unauthorized { .. }))));
        let flaky = classify(Credential::Token, &HOOKS, reply(502, &[]));
        assert!(matches!(flaky, Err(Attempt::Retry { after: None, .. })));
    }

    #[test]
    fn requests_slow_down_as_the_budget_runs_out() {
        let now = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        let plenty = Budget { remaining: 4_000, reset: 2_000 };
        assert_eq!(pause(plenty, now), None);
        let low = Budget { remaining: 10, reset: 1_100 };
        assert_eq!(pause(low, now), Some(Duration::from_secs(10)));
        let empty = Budget { remaining: 0, reset: 1_100 };
        assert_eq!(pause(empty, now), Some(Duration::from_secs(100)));
        let reset_passed = Budget { remaining: 0, reset: 900 };
        assert_eq!(pause(reset_passed, now), None);
    }
}
