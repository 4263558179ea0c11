//! The fake GitHub API: serves a [`GitHubOrg`] over HTTP on 127.0.0.1 in GitHub's wire format,
//! so the real `octocrab` client can be pointed at it.
//!
//! What it speaks, checked against GitHub's REST OpenAPI description and GraphQL schema:
//! - REST: `GET /orgs/{org}`, `…/members` and `…/outside_collaborators` (with
//!   `filter=2fa_disabled`, owners only: 422 otherwise), `…/hooks`, `…/actions/permissions/workflow`,
//!   `…/secret-scanning/alerts`, `…/audit-log` (Enterprise Cloud only: 404 otherwise),
//!   `GET /repos/{o}/{r}` (`security_and_analysis` for admins), `…/hooks`,
//!   `…/actions/permissions/workflow`, `…/rulesets` (+ `includes_parents`, `targets`),
//!   `…/rulesets/{id}`, `…/branches/{b}/protection`; the same under `/api/v3` (GitHub
//!   Enterprise Server's layout).
//! - GraphQL: `POST /graphql` (and `/api/graphql`) answering the collector's operations by name
//!   (`OrgRepos`, `OrgArchivedRepos`, `OrgMembers`, `RepoAlerts`, `RepoCollaborators`), honouring
//!   `first`/`after` and returning `pageInfo` and `rateLimit`.
//! - `POST /app/installations/{id}/access_tokens` for GitHub Apps: the JWT must be RS256 and
//!   verify against the App's public key.
//! - Lists page with `page`/`per_page` and `Link` headers; every GET answer has an `ETag` and a
//!   matching `If-None-Match` gets `304` (not counted against the rate limit, as on GitHub);
//!   every answer has `x-ratelimit-limit/remaining/reset/used/resource`; errors are GitHub's
//!   `{"message", "documentation_url", "status"}`; a missing scope is a 403 naming it in
//!   `x-accepted-oauth-scopes` / `x-accepted-github-permissions`.
//! - Faults injected through the [`Recorder`] are rendered as GitHub renders them.

// Handlers answer a refusal with the HTTP response itself (`Result<_, Response>`), which is how
// axum composes; boxing every error response would only add noise to a test server.
#![allow(clippy::result_large_err)]

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{OriginalUri, Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::world::{GitHubOrg, RepoSpec, RulesetSpec};
use crate::{
    config::{GitHubAuth, GitHubSettings, Secret},
    sandbox::serve::{FakeServer, Fault, Recorder, with_faults},
};

const DOCS: &str = "https://docs.github.com/rest";

/// A running fake GitHub. Dropping it stops the server.
pub struct FakeGitHub {
    pub server: FakeServer,
    pub recorder: Recorder,
    state: Shared,
}

impl FakeGitHub {
    /// The API base URL to configure (`api_url`), like `https://api.github.com`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Settings that collect from this fake with its token.
    pub fn settings(&self) -> GitHubSettings {
        let state = self.state.lock();
        GitHubSettings {
            org: state.org.login.clone(),
            api_url: self.url(),
            auth: GitHubAuth::Token(Secret::new(state.org.token.value.clone())),
        }
    }

    /// The world's clock: judge findings at this time.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.lock().org.now
    }

    /// Changes the world while the fake runs.
    pub fn update(&self, change: impl FnOnce(&mut GitHubOrg)) {
        change(&mut self.state.lock().org);
    }

    /// Rate-limit points used so far in this hour: (REST `core`, GraphQL).
    pub fn rate_limit_used(&self) -> (u64, u64) {
        let state = self.state.lock();
        (state.core_used, state.graphql_used)
    }
}

/// Starts serving `world` on 127.0.0.1.
pub async fn start(world: GitHubOrg) -> std::io::Result<FakeGitHub> {
    let recorder = Recorder::default();
    let state = Shared(Arc::new(Mutex::new(Served {
        window_reset: Utc::now().timestamp() + 3600,
        org: world,
        installation_tokens: BTreeSet::new(),
        core_used: 0,
        graphql_used: 0,
    })));
    let server = FakeServer::start(router(state.clone(), recorder.clone())).await?;
    Ok(FakeGitHub { server, recorder, state })
}

#[derive(Clone)]
struct Shared(Arc<Mutex<Served>>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Served> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Served {
    org: GitHubOrg,
    installation_tokens: BTreeSet<String>,
    core_used: u64,
    graphql_used: u64,
    window_reset: i64,
}

impl Served {
    /// Starts a new rate-limit hour when the last one is over.
    fn roll_window(&mut self) {
        let now = Utc::now().timestamp();
        if now >= self.window_reset {
            self.window_reset = now + 3600;
            self.core_used = 0;
            self.graphql_used = 0;
        }
    }
}

fn router(state: Shared, recorder: Recorder) -> Router {
    let rest = Router::new()
        .route("/orgs/{org}", get(org_settings))
        .route("/orgs/{org}/members", get(org_members))
        .route("/orgs/{org}/outside_collaborators", get(outside_collaborators))
        .route("/orgs/{org}/hooks", get(org_hooks))
        .route("/orgs/{org}/actions/permissions/workflow", get(org_workflow))
        .route("/orgs/{org}/secret-scanning/alerts", get(secret_alerts))
        .route("/orgs/{org}/audit-log", get(audit_log))
        .route("/repos/{owner}/{repo}", get(repository))
        .route("/repos/{owner}/{repo}/hooks", get(repo_hooks))
        .route("/repos/{owner}/{repo}/actions/permissions/workflow", get(repo_workflow))
        .route("/repos/{owner}/{repo}/rulesets", get(rulesets))
        .route("/repos/{owner}/{repo}/rulesets/{id}", get(ruleset))
        .route("/repos/{owner}/{repo}/branches/{branch}/protection", get(protection))
        .route("/app/installations/{id}/access_tokens", post(access_token))
        .route("/graphql", post(graphql));
    Router::new()
        .merge(rest.clone())
        .nest("/api/v3", rest)
        .route("/api/graphql", post(graphql))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.clone(), limit))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            with_faults(recorder.clone(), render_fault, request, next)
        }))
        .layer(middleware::from_fn_with_state(state, decorate))
}

// ---------------------------------------------------------------------------------------------
// Middleware: rate limits, headers, faults

/// Marks an answer that GitHub does not count against the rate limit.
#[derive(Clone, Copy)]
struct Uncounted;

/// Marks an injected 403, to be completed with the scope the path needs.
#[derive(Clone, Copy)]
struct ForbiddenFault;

fn bucket(path: &str) -> &'static str {
    if path.ends_with("/graphql") { "graphql" } else { "core" }
}

/// Refuses requests once the hour's budget is spent, as GitHub's primary rate limit does.
async fn limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let exhausted = {
        let mut served = state.lock();
        served.roll_window();
        let used = if bucket(&path) == "graphql" { served.graphql_used } else { served.core_used };
        used >= served.org.rate_limit
    };
    if !exhausted {
        return next.run(request).await;
    }
    let mut response = if bucket(&path) == "graphql" {
        Json(json!({ "errors": [{ "type": "RATE_LIMITED", "message": "API rate limit already exceeded for user ID 1." }] }))
            .into_response()
    } else {
        error_with(
            StatusCode::FORBIDDEN,
            "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        )
    };
    response.extensions_mut().insert(Uncounted);
    response
}

/// Counts the request against the rate limit and adds GitHub's headers to every answer.
async fn decorate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let presented = bearer(request.headers());
    let mut response = next.run(request).await;
    let mut served = state.lock();
    let token = &served.org.token;
    let is_token = presented.as_deref() == Some(token.value.as_str());
    let scopes = token.scopes.join(", ");
    let is_app = presented.as_deref().is_some_and(|p| served.installation_tokens.contains(p));
    if response.extensions().get::<ForbiddenFault>().is_some() {
        let (scope, permission) = documented(&path);
        let message = if is_app {
            "Resource not accessible by integration"
        } else {
            "Resource not accessible by personal access token"
        };
        let mut denied = forbidden(message, scope, permission, is_token.then_some(scopes.as_str()));
        denied.extensions_mut().insert(Uncounted);
        response = denied;
    }
    let graphql = bucket(&path) == "graphql";
    if !graphql
        && response.status() != StatusCode::NOT_MODIFIED
        && response.extensions().get::<Uncounted>().is_none()
    {
        served.core_used += 1;
    }
    let used = if graphql { served.graphql_used } else { served.core_used };
    let limit = served.org.rate_limit;
    let reset = served.window_reset;
    let headers = response.headers_mut();
    if !headers.contains_key("x-ratelimit-remaining") {
        set(headers, "x-ratelimit-limit", limit.to_string());
        set(headers, "x-ratelimit-remaining", limit.saturating_sub(used).to_string());
        set(headers, "x-ratelimit-reset", reset.to_string());
        set(headers, "x-ratelimit-used", used.to_string());
        set(headers, "x-ratelimit-resource", bucket(&path).to_string());
    }
    if is_token && !headers.contains_key("x-oauth-scopes") {
        set(headers, "x-oauth-scopes", scopes);
    }
    set(headers, "x-github-api-version-selected", "2022-11-28".to_string());
    set(headers, "x-github-media-type", "github.v3; format=json".to_string());
    set(headers, "x-github-request-id", format!("{:08X}:{:04X}", reset, used));
    response
}

/// An injected fault as GitHub would answer it.
fn render_fault(fault: &Fault) -> Option<Response> {
    let mut response = match fault {
        Fault::RateLimited { retry_after_seconds } => {
            let mut response = error_with(
                StatusCode::TOO_MANY_REQUESTS,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            );
            let headers = response.headers_mut();
            let reset = Utc::now().timestamp() + *retry_after_seconds as i64;
            set(headers, "retry-after", retry_after_seconds.to_string());
            set(headers, "x-ratelimit-remaining", "0".to_string());
            set(headers, "x-ratelimit-reset", reset.to_string());
            response
        }
        Fault::ServerError(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                error(status, "Server Error")
            } else {
                // GitHub's load balancers answer 502/503/504 with an HTML page, not JSON.
                let mut response = (status, format!("<html><body><h1>{status}</h1>Unicorn! We're having a really bad day.</body></html>")).into_response();
                set(response.headers_mut(), "content-type", "text/html; charset=utf-8".to_string());
                response
            }
        }
        Fault::Unauthorized => error(StatusCode::UNAUTHORIZED, "Bad credentials"),
        Fault::Forbidden => {
            let mut response = StatusCode::FORBIDDEN.into_response();
            response.extensions_mut().insert(ForbiddenFault);
            response
        }
        Fault::Malformed => {
            let mut response =
                (StatusCode::OK, "{\"login\": \"acme\", \"id\": 9000001, \"two_factor_requ")
                    .into_response();
            set(
                response.headers_mut(),
                "content-type",
                "application/json; charset=utf-8".to_string(),
            );
            response
        }
        Fault::Slow(_) => return None,
    };
    if matches!(fault, Fault::Unauthorized | Fault::RateLimited { .. }) {
        response.extensions_mut().insert(Uncounted);
    }
    Some(response)
}

/// The classic scope and App permission GitHub documents for a path (for 403 headers).
fn documented(path: &str) -> (&'static str, &'static str) {
    let path = path.strip_prefix("/api/v3").unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [.., "graphql"] => ("repo", "metadata"),
        ["orgs", _, "hooks", ..] => ("admin:org_hook", "organization_hooks"),
        ["orgs", _, "actions", ..] => ("admin:org", "organization_administration"),
        ["orgs", _, "secret-scanning", ..] => ("security_events", "secret_scanning_alerts"),
        ["orgs", _, "audit-log"] => ("read:audit_log", "organization_administration"),
        ["orgs", _, "members" | "outside_collaborators", ..] => ("read:org", "members"),
        ["orgs", ..] => ("read:org", "organization_administration"),
        ["repos", _, _, "hooks", ..] => ("read:repo_hook", "repository_hooks"),
        ["repos", _, _, "branches", ..] | ["repos", _, _, "actions", ..] => {
            ("repo", "administration")
        }
        _ => ("repo", "metadata"),
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication and permissions

enum Principal {
    Token { scopes: Vec<String>, owner: bool },
    App { permissions: Vec<String> },
}

impl Principal {
    /// Whether the principal holds `scope` (token, with GitHub's implied scopes) or
    /// `permission` (App).
    fn holds(&self, scope: &str, permission: &str) -> bool {
        match self {
            Principal::Token { scopes, .. } => {
                let implied: &[&str] = match scope {
                    "read:org" => &["read:org", "write:org", "admin:org"],
                    "read:repo_hook" => {
                        &["read:repo_hook", "write:repo_hook", "admin:repo_hook", "repo"]
                    }
                    "security_events" => &["security_events", "repo"],
                    other => return scopes.iter().any(|s| s == other),
                };
                scopes.iter().any(|s| implied.contains(&s.as_str()))
            }
            Principal::App { permissions } => permissions.iter().any(|p| p == permission),
        }
    }

    /// Owner-only data: the token's user is an owner with `read:org`, or the App may administer
    /// the organisation.
    fn sees_owner_data(&self) -> bool {
        match self {
            Principal::Token { owner, .. } => *owner && self.holds("read:org", ""),
            Principal::App { .. } => self.holds("", "organization_administration"),
        }
    }
}

/// The request as a handler needs it: who asks, and the parts of the request.
struct Call {
    principal: Principal,
    headers: HeaderMap,
    query: HashMap<String, String>,
    /// `http://127.0.0.1:PORT` plus `/api/v3` when the request came in under it.
    api: String,
    /// The path and query as sent (for `Link` headers).
    path: String,
}

impl Call {
    fn need(&self, path: &str) -> Result<(), Response> {
        let (scope, permission) = documented(path);
        if self.principal.holds(scope, permission) {
            return Ok(());
        }
        Err(match &self.principal {
            Principal::Token { scopes, .. } => forbidden(
                "Resource not accessible by personal access token",
                scope,
                permission,
                Some(&scopes.join(", ")),
            ),
            Principal::App { .. } => {
                forbidden("Resource not accessible by integration", scope, permission, None)
            }
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("token "))
        .map(|t| t.trim().to_string())
}

fn authenticate(state: &Shared, request: &Request) -> Result<Call, Response> {
    let served = state.lock();
    let principal = match bearer(request.headers()) {
        None => return Err(uncounted(error(StatusCode::UNAUTHORIZED, "Requires authentication"))),
        Some(token) if token == served.org.token.value => Principal::Token {
            scopes: served.org.token.scopes.clone(),
            owner: served.org.token.owner,
        },
        Some(token) if served.installation_tokens.contains(&token) => Principal::App {
            permissions: served
                .org
                .app
                .as_ref()
                .map(|app| app.permissions.keys().cloned().collect())
                .unwrap_or_default(),
        },
        Some(_) => return Err(uncounted(error(StatusCode::UNAUTHORIZED, "Bad credentials"))),
    };
    let original = request
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.clone())
        .unwrap_or_else(|| request.uri().clone());
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let prefix = if original.path().starts_with("/api/v3/") { "/api/v3" } else { "" };
    let query = original
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    Ok(Call {
        principal,
        headers: request.headers().clone(),
        query,
        api: format!("http://{host}{prefix}"),
        path: original.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
    })
}

fn uncounted(mut response: Response) -> Response {
    response.extensions_mut().insert(Uncounted);
    response
}

// ---------------------------------------------------------------------------------------------
// Responses

struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::OK, self.0.to_string()).into_response();
        set(response.headers_mut(), "content-type", "application/json; charset=utf-8".to_string());
        response
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    error_with(status, message, DOCS)
}

fn error_with(status: StatusCode, message: &str, documentation_url: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.as_u16().to_string(),
    });
    let mut response = Json(body).into_response();
    *response.status_mut() = status;
    response
}

fn forbidden(message: &str, scope: &str, permission: &str, granted: Option<&str>) -> Response {
    let mut response = error(StatusCode::FORBIDDEN, message);
    let headers = response.headers_mut();
    set(headers, "x-accepted-oauth-scopes", scope.to_string());
    set(headers, "x-accepted-github-permissions", format!("{permission}=read"));
    if let Some(granted) = granted {
        set(headers, "x-oauth-scopes", granted.to_string());
    }
    response
}

/// A JSON answer with an `ETag`; `304` when the client already has it.
fn cached(call: &Call, value: Value) -> Response {
    let body = value.to_string();
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    let etag = format!("W/\"{}\"", &digest[..32]);
    let matches = call
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| sent.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = (StatusCode::OK, body).into_response();
        set(response.headers_mut(), "content-type", "application/json; charset=utf-8".to_string());
        response
    };
    set(response.headers_mut(), "etag", etag);
    set(response.headers_mut(), "cache-control", "private, max-age=60, s-maxage=60".to_string());
    response
}

/// One page of `items` (`page`, `per_page` up to 100, default 30) with GitHub's `Link` header.
fn paged(call: &Call, items: Vec<Value>) -> Response {
    let per_page = call
        .query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = call.query.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let mut response = cached(call, Value::Array(slice));
    let link_to = |target: usize| {
        let path = call.path.split('?').next().unwrap_or("");
        let path = path.strip_prefix("/api/v3").unwrap_or(path);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &call.query {
            if key != "page" {
                query.append_pair(key, value);
            }
        }
        query.append_pair("page", &target.to_string());
        format!("<{}{path}?{}>", call.api, query.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    if !links.is_empty() {
        set(response.headers_mut(), "link", links.join(", "));
    }
    response
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn node_id(kind: &str, id: u64) -> String {
    format!(
        "{kind}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
    )
}

fn user(api: &str, login: &str, id: u64) -> Value {
    json!({
        "login": login,
        "id": id,
        "node_id": node_id("U", id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{api}/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{api}/users/{login}/followers"),
        "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
        "organizations_url": format!("{api}/users/{login}/orgs"),
        "repos_url": format!("{api}/users/{login}/repos"),
        "events_url": format!("{api}/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("{api}/users/{login}/received_events"),
        "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
        "user_view_type": "public",
        "site_admin": false
    })
}

/// A stable number for a login that has no member record (outside collaborators).
fn login_id(login: &str) -> u64 {
    let digest = Sha256::digest(login.as_bytes());
    300_000 + u64::from(u16::from_be_bytes([digest[0], digest[1]]))
}

// ---------------------------------------------------------------------------------------------
// REST handlers

type Answer = Result<Response, Response>;

fn org_or_404<'a>(org: &'a GitHubOrg, login: &str) -> Result<&'a GitHubOrg, Response> {
    if org.login.eq_ignore_ascii_case(login) {
        Ok(org)
    } else {
        Err(error(StatusCode::NOT_FOUND, "Not Found"))
    }
}

fn repo_or_404<'a>(org: &'a GitHubOrg, owner: &str, name: &str) -> Result<&'a RepoSpec, Response> {
    org_or_404(org, owner)?;
    org.repos
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "Not Found"))
}

async fn org_settings(
    State(state): State<Shared>,
    Path(login): Path<String>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    let served = state.lock();
    let org = org_or_404(&served.org, &login)?;
    let api = &call.api;
    let login = &org.login;
    let public = org.repos.iter().filter(|r| r.visibility == "public").count();
    let mut body = json!({
        "login": login,
        "id": org.id,
        "node_id": node_id("O", org.id),
        "url": format!("{api}/orgs/{login}"),
        "repos_url": format!("{api}/orgs/{login}/repos"),
        "events_url": format!("{api}/orgs/{login}/events"),
        "hooks_url": format!("{api}/orgs/{login}/hooks"),
        "issues_url": format!("{api}/orgs/{login}/issues"),
        "members_url": format!("{api}/orgs/{login}/members{{/member}}"),
        "public_members_url": format!("{api}/orgs/{login}/public_members{{/member}}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", org.id),
        "description": "The sandbox organisation Kushim collects from",
        "name": "Acme Corp",
        "company": null,
        "blog": "https://acme.example.com",
        "location": null,
        "email": null,
        "twitter_username": null,
        "is_verified": false,
        "has_organization_projects": true,
        "has_repository_projects": true,
        "public_repos": public,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": format!("https://github.com/{login}"),
        "created_at": time(org.days_ago(2000)),
        "updated_at": time(org.days_ago(3)),
        "archived_at": null,
        "type": "Organization"
    });
    if call.principal.sees_owner_data() {
        let owner_only = json!({
            "total_private_repos": org.repos.len() - public,
            "owned_private_repos": org.repos.len() - public,
            "private_gists": 0,
            "disk_usage": 10_000,
            "collaborators": 0,
            "billing_email": format!("billing@{login}.example.com"),
            "plan": { "name": if org.enterprise_cloud { "enterprise" } else { "team" }, "space": 976_562_499, "private_repos": 999_999, "filled_seats": org.members.len(), "seats": org.members.len() + 5 },
            "default_repository_permission": org.base_permission,
            "members_can_create_repositories": true,
            "two_factor_requirement_enabled": org.two_factor_required,
            "members_allowed_repository_creation_type": if org.members_can_create_public_repositories { "all" } else { "private" },
            "members_can_create_public_repositories": org.members_can_create_public_repositories,
            "members_can_create_private_repositories": true,
            "members_can_create_internal_repositories": true,
            "members_can_create_pages": true,
            "members_can_create_public_pages": true,
            "members_can_create_private_pages": true,
            "members_can_fork_private_repositories": false,
            "web_commit_signoff_required": false,
            "advanced_security_enabled_for_new_repositories": false,
            "dependabot_alerts_enabled_for_new_repositories": true,
            "dependabot_security_updates_enabled_for_new_repositories": true,
            "dependency_graph_enabled_for_new_repositories": true,
            "secret_scanning_enabled_for_new_repositories": true,
            "secret_scanning_push_protection_enabled_for_new_repositories": true,
            "deploy_keys_enabled_for_repositories": true
        });
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, owner_only) {
            body.extend(extra);
        }
    }
    Ok(cached(&call, body))
}

/// The `filter=2fa_disabled` rule: only owners may use it; GitHub answers others with 422.
fn two_factor_filter(call: &Call) -> Result<bool, Response> {
    match call.query.get("filter").map(String::as_str) {
        None | Some("all") => Ok(false),
        Some("2fa_disabled" | "2fa_insecure")
            if call.principal.sees_owner_data()
                || matches!(call.principal, Principal::App { .. }) =>
        {
            Ok(true)
        }
        Some("2fa_disabled" | "2fa_insecure") => {
            Err(error(StatusCode::UNPROCESSABLE_ENTITY, "Only owners can use this filter."))
        }
        Some(_) => Err(error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed")),
    }
}

async fn org_members(
    State(state): State<Shared>,
    Path(login): Path<String>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = org_or_404(&served.org, &login)?;
    let without_2fa = two_factor_filter(&call)?;
    let role = call.query.get("role").map(String::as_str).unwrap_or("all");
    let members = org
        .members
        .iter()
        .filter(|m| !without_2fa || !m.two_factor)
        .filter(|m| match role {
            "admin" => m.owner,
            "member" => !m.owner,
            _ => true,
        })
        .map(|m| user(&call.api, &m.login, m.id))
        .collect();
    Ok(paged(&call, members))
}

async fn outside_collaborators(
    State(state): State<Shared>,
    Path(login): Path<String>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = org_or_404(&served.org, &login)?;
    let without_2fa = two_factor_filter(&call)?;
    let mut seen = BTreeSet::new();
    let people = org
        .repos
        .iter()
        .flat_map(|r| &r.outside_collaborators)
        .filter(|c| !without_2fa || !c.two_factor)
        .filter(|c| seen.insert(c.login.clone()))
        .map(|c| user(&call.api, &c.login, login_id(&c.login)))
        .collect();
    Ok(paged(&call, people))
}

fn hook_json(
    api: &str,
    owner_path: &str,
    kind: &str,
    org: &GitHubOrg,
    hook: &super::world::HookSpec,
) -> Value {
    let mut config = json!({
        "url": hook.url,
        "content_type": "json",
        "insecure_ssl": if hook.insecure_ssl { "1" } else { "0" },
    });
    if hook.secret {
        // GitHub never returns a secret, only this mask when one is set.
        config["secret"] = json!("********");
    }
    let url = format!("{api}/{owner_path}/hooks/{}", hook.id);
    let mut body = json!({
        "type": kind,
        "id": hook.id,
        "name": "web",
        "active": hook.active,
        "events": ["push", "pull_request"],
        "config": config,
        "updated_at": time(org.days_ago(30)),
        "created_at": time(org.days_ago(400)),
        "url": url,
        "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
    });
    if kind == "Repository" {
        body["test_url"] = json!(format!("{url}/test"));
        body["last_response"] = json!({ "code": null, "status": "unused", "message": null });
    }
    body
}

async fn org_hooks(
    State(state): State<Shared>,
    Path(login): Path<String>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = org_or_404(&served.org, &login)?;
    let path = format!("orgs/{}", org.login);
    let hooks =
        org.hooks.iter().map(|h| hook_json(&call.api, &path, "Organization", org, h)).collect();
    Ok(paged(&call, hooks))
}

fn workflow_json(spec: &super::world::WorkflowSpec) -> Value {
    json!({
        "default_workflow_permissions": if spec.write_token { "write" } else { "read" },
        "can_approve_pull_request_reviews": spec.can_approve_pull_requests,
    })
}

async fn org_workflow(
    State(state): State<Shared>,
    Path(login): Path<String>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = org_or_404(&served.org, &login)?;
    Ok(cached(&call, workflow_json(&org.workflow)))
}

fn minimal_repo(api: &str, org: &GitHubOrg, repo: &RepoSpec) -> Value {
    let full_name = format!("{}/{}", org.login, repo.name);
    json!({
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "private": repo.visibility != "public",
        "owner": organisation_owner(api, org),
        "html_url": format!("https://github.com/{full_name}"),
        "description": null,
        "fork": repo.fork,
        "url": format!("{api}/repos/{full_name}"),
    })
}

fn organisation_owner(api: &str, org: &GitHubOrg) -> Value {
    let mut owner = user(api, &org.login, org.id);
    owner["type"] = json!("Organization");
    owner["node_id"] = json!(node_id("O", org.id));
    owner
}

async fn secret_alerts(
    State(state): State<Shared>,
    Path(login): Path<String>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = org_or_404(&served.org, &login)?;
    if call.query.get("state").is_some_and(|s| s != "open") {
        return Ok(paged(&call, Vec::new()));
    }
    let alerts = org
        .repos
        .iter()
        .flat_map(|repo| repo.secret_alerts.iter().map(move |alert| (repo, alert)))
        .map(|(repo, alert)| {
            let full_name = format!("{}/{}", org.login, repo.name);
            let url = format!("{}/repos/{full_name}/secret-scanning/alerts/{}", call.api, alert.number);
            json!({
                "number": alert.number,
                "created_at": time(org.days_ago(alert.age_days)),
                "updated_at": time(org.days_ago(alert.age_days)),
                "url": url,
                "html_url": format!("https://github.com/{full_name}/security/secret-scanning/{}", alert.number),
                "locations_url": format!("{url}/locations"),
                "state": "open",
                "resolution": null,
                "resolved_at": null,
                "resolved_by": null,
                "resolution_comment": null,
                "secret_type": alert.secret_type,
                "secret_type_display_name": alert.secret_type.replace('_', " "),
                "secret": "ghp_****************************",
                "repository": minimal_repo(&call.api, org, repo),
                "push_protection_bypassed": false,
                "push_protection_bypassed_by": null,
                "push_protection_bypassed_at": null,
                "validity": "unknown",
                "publicly_leaked": false,
                "multi_repo": false
            })
        })
        .collect();
    Ok(paged(&call, alerts))
}

/// The audit log, as far as the collector asks: `phrase=actor:LOGIN created:>=DATE`, newest
/// first. Organisations not on Enterprise Cloud have no such API (404).
async fn audit_log(
    State(state): State<Shared>,
    Path(login): Path<String>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    let served = state.lock();
    let org = org_or_404(&served.org, &login)?;
    if !org.enterprise_cloud {
        return Err(error(StatusCode::NOT_FOUND, "Not Found"));
    }
    call.need(request.uri().path())?;
    let phrase = call.query.get("phrase").cloned().unwrap_or_default();
    let mut actor = None;
    let mut since = None;
    for term in phrase.split_whitespace() {
        if let Some(login) = term.strip_prefix("actor:") {
            actor = Some(login.to_string());
        } else if let Some(date) = term.strip_prefix("created:>=") {
            since = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok();
        }
    }
    let mut events: Vec<(DateTime<Utc>, &str, u64)> = org
        .members
        .iter()
        .filter(|m| actor.as_deref().is_none_or(|a| a == m.login))
        .filter_map(|m| m.last_active_days.map(|days| (org.days_ago(days), m.login.as_str(), m.id)))
        // Events older than the log's retention are gone.
        .filter(|(at, ..)| *at >= org.now - TimeDelta::days(180))
        .filter(|(at, ..)| since.is_none_or(|since| at.date_naive() >= since))
        .collect();
    events.sort_by_key(|event| std::cmp::Reverse(event.0));
    let events = events
        .into_iter()
        .map(|(at, actor, id)| {
            json!({
                "@timestamp": at.timestamp_millis(),
                "action": "git.push",
                "actor": actor,
                "actor_id": id,
                "actor_location": { "country_code": "DE" },
                "created_at": at.timestamp_millis(),
                "_document_id": format!("{:x}", Sha256::digest(format!("{actor}{at}").as_bytes()))[..22].to_string(),
                "org": org.login,
                "org_id": org.id,
                "business": org.login,
                "operation_type": "access"
            })
        })
        .collect();
    Ok(paged(&call, events))
}

fn security_and_analysis(repo: &RepoSpec) -> Value {
    let status = |on: bool| json!({ "status": if on { "enabled" } else { "disabled" } });
    json!({
        "advanced_security": status(repo.secret_scanning),
        "dependabot_security_updates": status(repo.dependabot_security_updates),
        "secret_scanning": status(repo.secret_scanning),
        "secret_scanning_push_protection": status(repo.push_protection),
        "secret_scanning_non_provider_patterns": status(false),
        "secret_scanning_validity_checks": status(false)
    })
}

async fn repository(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    let served = state.lock();
    let org = &served.org;
    let repo = repo_or_404(org, &owner, &name)?;
    if repo.visibility != "public" {
        call.need(request.uri().path())?;
    }
    let mut body = minimal_repo(&call.api, org, repo);
    let full_name = format!("{}/{}", org.login, repo.name);
    let extra = json!({
        "homepage": null,
        "language": "Rust",
        "forks_count": 0,
        "stargazers_count": 3,
        "watchers_count": 3,
        "size": 1024,
        "default_branch": repo.default_branch,
        "open_issues_count": 0,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": false,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": repo.archived,
        "disabled": false,
        "visibility": repo.visibility,
        "pushed_at": time(org.days_ago(1)),
        "created_at": time(org.days_ago(700)),
        "updated_at": time(org.days_ago(1)),
        "permissions": { "admin": repo.viewer_admin, "maintain": repo.viewer_admin, "push": true, "triage": true, "pull": true },
        "allow_forking": false,
        "web_commit_signoff_required": false,
        "hooks_url": format!("{}/repos/{full_name}/hooks", call.api),
        "git_url": format!("git://github.com/{full_name}.git"),
        "ssh_url": format!("git@github.com:{full_name}.git"),
        "clone_url": format!("https://github.com/{full_name}.git"),
        "network_count": 0,
        "subscribers_count": 2,
        "organization": organisation_owner(&call.api, org)
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    if repo.viewer_admin {
        body["security_and_analysis"] = security_and_analysis(repo);
    }
    Ok(cached(&call, body))
}

async fn repo_hooks(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = &served.org;
    let repo = repo_or_404(org, &owner, &name)?;
    let path = format!("repos/{}/{}", org.login, repo.name);
    let hooks =
        repo.hooks.iter().map(|h| hook_json(&call.api, &path, "Repository", org, h)).collect();
    Ok(paged(&call, hooks))
}

async fn repo_workflow(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let repo = repo_or_404(&served.org, &owner, &name)?;
    Ok(cached(&call, workflow_json(&repo.workflow)))
}

/// The rulesets a repository sees: its own, and with `includes_parents` (GitHub's default:
/// true) the organisation's.
fn visible_rulesets<'a>(
    org: &'a GitHubOrg,
    repo: &'a RepoSpec,
    call: &Call,
) -> Vec<(&'a RulesetSpec, bool)> {
    let parents = call.query.get("includes_parents").is_none_or(|v| v != "false");
    let own = repo.rulesets.iter().map(|r| (r, false));
    let inherited = org.rulesets.iter().filter(|_| parents).map(|r| (r, true));
    own.chain(inherited).collect()
}

fn ruleset_json(
    call: &Call,
    org: &GitHubOrg,
    repo: &RepoSpec,
    ruleset: &RulesetSpec,
    inherited: bool,
    detail: bool,
) -> Value {
    let full_name = format!("{}/{}", org.login, repo.name);
    let (source_type, source) = if inherited {
        ("Organization", org.login.clone())
    } else {
        ("Repository", full_name.clone())
    };
    let self_url = if inherited {
        format!("{}/orgs/{}/rulesets/{}", call.api, org.login, ruleset.id)
    } else {
        format!("{}/repos/{full_name}/rulesets/{}", call.api, ruleset.id)
    };
    let mut body = json!({
        "id": ruleset.id,
        "name": ruleset.name,
        "target": "branch",
        "source_type": source_type,
        "source": source,
        "enforcement": ruleset.enforcement,
        "node_id": node_id("RRS", ruleset.id),
        "_links": { "self": { "href": self_url }, "html": { "href": format!("https://github.com/{full_name}/rules/{}", ruleset.id) } },
        "created_at": time(org.days_ago(200)),
        "updated_at": time(org.days_ago(20)),
    });
    if detail {
        let mut conditions = json!({ "ref_name": { "include": ruleset.include, "exclude": [] } });
        if inherited {
            conditions["repository_name"] =
                json!({ "include": ["~ALL"], "exclude": [], "protected": false });
        }
        body["conditions"] = conditions;
        body["rules"] = json!(ruleset.rules);
        body["current_user_can_bypass"] =
            json!(if ruleset.bypass.is_empty() { "never" } else { "always" });
        // GitHub shows bypass actors only to those who may edit the ruleset.
        if repo.viewer_admin {
            body["bypass_actors"] = json!(ruleset
                .bypass
                .iter()
                .map(|(kind, id)| json!({ "actor_id": id, "actor_type": kind, "bypass_mode": "always" }))
                .collect::<Vec<_>>());
        }
    }
    body
}

async fn rulesets(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = &served.org;
    let repo = repo_or_404(org, &owner, &name)?;
    if repo.rulesets_unavailable {
        return Err(error(StatusCode::NOT_FOUND, "Not Found"));
    }
    let target_ok = call.query.get("targets").is_none_or(|t| t.split(',').any(|t| t == "branch"));
    let list = visible_rulesets(org, repo, &call)
        .into_iter()
        .filter(|_| target_ok)
        .map(|(r, inherited)| ruleset_json(&call, org, repo, r, inherited, false))
        .collect();
    Ok(paged(&call, list))
}

async fn ruleset(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, u64)>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let org = &served.org;
    let repo = repo_or_404(org, &owner, &name)?;
    let (found, inherited) = visible_rulesets(org, repo, &call)
        .into_iter()
        .find(|(r, _)| r.id == id)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "Not Found"))?;
    Ok(cached(&call, ruleset_json(&call, org, repo, found, inherited, true)))
}

async fn protection(
    State(state): State<Shared>,
    Path((owner, name, branch)): Path<(String, String, String)>,
    request: Request,
) -> Answer {
    let call = authenticate(&state, &request)?;
    call.need(request.uri().path())?;
    let served = state.lock();
    let repo = repo_or_404(&served.org, &owner, &name)?;
    if repo.empty || branch != repo.default_branch {
        return Err(error(StatusCode::NOT_FOUND, "Branch not found"));
    }
    // Without admin GitHub does not say whether a rule exists.
    if !repo.viewer_admin {
        return Err(error(StatusCode::NOT_FOUND, "Not Found"));
    }
    let Some(rule) = &repo.protection else {
        return Err(error(StatusCode::NOT_FOUND, "Branch not protected"));
    };
    let url = format!(
        "{}/repos/{}/{}/branches/{branch}/protection",
        call.api, served.org.login, repo.name
    );
    let mut body = json!({
        "url": url,
        "required_signatures": { "url": format!("{url}/required_signatures"), "enabled": rule.signed_commits },
        "enforce_admins": { "url": format!("{url}/enforce_admins"), "enabled": rule.enforce_admins },
        "required_linear_history": { "enabled": false },
        "allow_force_pushes": { "enabled": rule.allow_force_pushes },
        "allow_deletions": { "enabled": rule.allow_deletions },
        "block_creations": { "enabled": false },
        "required_conversation_resolution": { "enabled": false },
        "lock_branch": { "enabled": false },
        "allow_fork_syncing": { "enabled": false }
    });
    if !rule.status_checks.is_empty() {
        body["required_status_checks"] = json!({
            "url": format!("{url}/required_status_checks"),
            "strict": rule.strict_status_checks,
            "contexts": rule.status_checks,
            "checks": rule.status_checks.iter().map(|c| json!({ "context": c, "app_id": null })).collect::<Vec<_>>(),
            "contexts_url": format!("{url}/required_status_checks/contexts"),
        });
    }
    if rule.required_approvals > 0 {
        body["required_pull_request_reviews"] = json!({
            "url": format!("{url}/required_pull_request_reviews"),
            "dismiss_stale_reviews": rule.dismiss_stale_reviews,
            "require_code_owner_reviews": rule.code_owner_reviews,
            "required_approving_review_count": rule.required_approvals,
            "require_last_push_approval": false,
        });
    }
    Ok(cached(&call, body))
}

/// `POST /app/installations/{id}/access_tokens`, authenticated by the App's JWT.
async fn access_token(
    State(state): State<Shared>,
    Path(id): Path<u64>,
    request: Request,
) -> Answer {
    let mut served = state.lock();
    let Some(app) = served.org.app.clone() else {
        return Err(uncounted(error(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        )));
    };
    let jwt = bearer(request.headers()).unwrap_or_default();
    let key =
        jsonwebtoken::DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes()).map_err(|_| {
            uncounted(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the sandbox App key is not a PEM public key",
            ))
        })?;
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    let claims = jsonwebtoken::decode::<Value>(&jwt, &key, &validation)
        .map_err(|_| {
            uncounted(error(StatusCode::UNAUTHORIZED, "A JSON web token could not be decoded"))
        })?
        .claims;
    let issuer = match &claims["iss"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    if issuer != Some(app.app_id) {
        return Err(uncounted(error(
            StatusCode::UNAUTHORIZED,
            "'Issuer' claim ('iss') must be the App's id",
        )));
    }
    if id != app.installation_id {
        return Err(error(StatusCode::NOT_FOUND, "Not Found"));
    }
    let token = format!("ghs_{}", uuid::Uuid::new_v4().simple());
    served.installation_tokens.insert(token.clone());
    let body = json!({
        "token": token,
        "expires_at": time(Utc::now() + TimeDelta::hours(1)),
        "permissions": app.permissions,
        "repository_selection": "all",
    });
    let mut response = Json(body).into_response();
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// GraphQL

fn cursor(index: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("cursor:v2:{index}"))
}

fn after(variables: &Value) -> usize {
    variables["after"]
        .as_str()
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("cursor:v2:").and_then(|i| i.parse::<usize>().ok()))
        .map_or(0, |i| i + 1)
}

/// `first` must be 1–100, as on GitHub.
fn first(variables: &Value, name: &str) -> Result<usize, String> {
    match variables[name].as_u64() {
        Some(n @ 1..=100) => Ok(n as usize),
        _ => Err(format!("`{name}` on a connection must be between 1 and 100")),
    }
}

/// A page of a connection: the items from the cursor on, and its `pageInfo`.
fn connection<T>(items: &[T], start: usize, first: usize) -> (&[T], Value) {
    let start = start.min(items.len());
    let end = (start + first).min(items.len());
    let page = &items[start..end];
    let info = json!({
        "hasNextPage": end < items.len(),
        "endCursor": if page.is_empty() { Value::Null } else { json!(cursor(end - 1)) },
    });
    (page, info)
}

async fn graphql(State(state): State<Shared>, request: Request) -> Answer {
    let call = authenticate(&state, &request)?;
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .map_err(|_| error(StatusCode::BAD_REQUEST, "Problems parsing JSON"))?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|_| error(StatusCode::BAD_REQUEST, "Problems parsing JSON"))?;
    let operation = body["operationName"].as_str().map(str::to_string).unwrap_or_else(|| {
        body["query"]
            .as_str()
            .and_then(|q| q.trim_start().strip_prefix("query "))
            .map(|rest| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
            .unwrap_or_default()
    });
    let variables = &body["variables"];
    let mut served = state.lock();
    let needed = match operation.as_str() {
        "OrgMembers" => ("read:org", "members"),
        _ => ("repo", "metadata"),
    };
    if !call.principal.holds(needed.0, needed.1) {
        let granted = match &call.principal {
            Principal::Token { scopes, .. } => {
                scopes.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
            }
            Principal::App { .. } => String::new(),
        };
        let message = format!(
            "Your token has not been granted the required scopes to execute this query. The '{}' field requires one of the following scopes: ['{}'], but your token has only been granted the: [{granted}] scopes. Please modify your token's scopes at: https://github.com/settings/tokens.",
            if operation == "OrgMembers" { "membersWithRole" } else { "repositories" },
            needed.0
        );
        return Ok(Json(json!({ "errors": [{ "type": "INSUFFICIENT_SCOPES", "locations": [{ "line": 1, "column": 1 }], "message": message }] })).into_response());
    }
    let org = served.org.clone();
    let result = match operation.as_str() {
        "OrgRepos" => org_repos(&org, variables, false),
        "OrgArchivedRepos" => org_repos(&org, variables, true),
        "OrgMembers" => org_members_graphql(&org, variables),
        "RepoAlerts" | "RepoCollaborators" => repo_connection(&org, variables, &operation),
        other => Err(format!("the sandbox does not know the operation {other:?}")),
    };
    let (data, errors, cost) = match result {
        Ok(answer) => answer,
        Err(message) => {
            return Ok(Json(json!({ "errors": [{ "message": message, "locations": [{ "line": 1, "column": 1 }] }] })).into_response());
        }
    };
    served.graphql_used += cost;
    let remaining = served.org.rate_limit.saturating_sub(served.graphql_used);
    let reset = DateTime::<Utc>::from_timestamp(served.window_reset, 0).unwrap_or_else(Utc::now);
    let mut data = data;
    data["rateLimit"] = json!({ "cost": cost, "remaining": remaining, "resetAt": time(reset) });
    let mut answer = json!({ "data": data });
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    Ok(Json(answer).into_response())
}

type GraphqlAnswer = Result<(Value, Vec<Value>, u64), String>;

fn not_found_org(login: &str) -> (Value, Vec<Value>, u64) {
    (
        json!({ "organization": null }),
        vec![json!({
            "type": "NOT_FOUND",
            "path": ["organization"],
            "locations": [{ "line": 3, "column": 3 }],
            "message": format!("Could not resolve to an Organization with the login of '{login}'.")
        })],
        1,
    )
}

/// GitHub's cost: the requests the query needs with full pages, divided by 100, at least 1.
fn cost(requests: usize) -> u64 {
    ((requests as u64 + 50) / 100).max(1)
}

fn org_repos(org: &GitHubOrg, variables: &Value, archived: bool) -> GraphqlAnswer {
    let login = variables["org"].as_str().unwrap_or_default();
    if !org.login.eq_ignore_ascii_case(login) {
        return Ok(not_found_org(login));
    }
    let first_repos = first(variables, "first")?;
    let mut repos: Vec<&RepoSpec> = org.repos.iter().filter(|r| r.archived == archived).collect();
    repos.sort_by_key(|a| a.name.to_lowercase());
    let (page, info) = connection(&repos, after(variables), first_repos);
    let mut errors = Vec::new();
    let nodes: Vec<Value> = if archived {
        page.iter()
            .map(|repo| {
                json!({
                    "nameWithOwner": format!("{}/{}", org.login, repo.name),
                    "visibility": repo.visibility.to_uppercase(),
                    "isFork": repo.fork,
                    "isArchived": true,
                })
            })
            .collect()
    } else {
        let commits = first(variables, "commits")?;
        let per_connection = first(variables, "page")?;
        page.iter()
            .enumerate()
            .map(|(index, repo)| {
                let node = repo_node(org, repo, commits, per_connection);
                if repo.collaborators_hidden {
                    errors.push(json!({
                        "type": "FORBIDDEN",
                        "path": ["organization", "repositories", "nodes", index, "collaborators"],
                        "extensions": { "saml_failure": false },
                        "locations": [{ "line": 33, "column": 9 }],
                        "message": "Must have push access to view repository collaborators."
                    }));
                }
                node
            })
            .collect()
    };
    let requests = if archived {
        1
    } else {
        1 + first_repos * 3 + first_repos * first(variables, "commits")? * 2
    };
    Ok((
        json!({ "organization": { "repositories": { "pageInfo": info, "nodes": nodes } } }),
        errors,
        cost(requests),
    ))
}

fn repo_node(org: &GitHubOrg, repo: &RepoSpec, commits: usize, per_connection: usize) -> Value {
    let alerts = alerts_connection(org, repo, 0, per_connection);
    let collaborators = if repo.collaborators_hidden {
        Value::Null
    } else {
        collaborators_connection(repo, 0, per_connection)
    };
    let default_branch = if repo.empty {
        Value::Null
    } else {
        let rule = match (&repo.protection, repo.viewer_admin) {
            // Protection is readable only by repository admins; GraphQL says null otherwise.
            (Some(rule), true) => json!({
                "requiresApprovingReviews": rule.required_approvals > 0,
                "requiredApprovingReviewCount": rule.required_approvals,
                "dismissesStaleReviews": rule.dismiss_stale_reviews,
                "requiresCodeOwnerReviews": rule.code_owner_reviews,
                "isAdminEnforced": rule.enforce_admins,
                "requiresStatusChecks": !rule.status_checks.is_empty(),
                "requiredStatusCheckContexts": rule.status_checks,
                "requiresStrictStatusChecks": rule.strict_status_checks,
                "requiresCommitSignatures": rule.signed_commits,
                "allowsForcePushes": rule.allow_force_pushes,
                "allowsDeletions": rule.allow_deletions,
            }),
            _ => Value::Null,
        };
        let history: Vec<Value> = repo
            .commits
            .iter()
            .take(commits)
            .enumerate()
            .map(|(i, commit)| {
                let oid = hex::encode(&Sha256::digest(format!("{}/{}/{i}", org.login, repo.name).as_bytes())[..20]);
                let pull_request = commit.pull_request.map(|number| {
                    let reviews: Vec<Value> = if commit.approved {
                        vec![json!({ "author": { "login": "reviewer-carol" } })]
                    } else {
                        Vec::new()
                    };
                    json!({ "number": number, "author": { "login": commit.author }, "reviews": { "nodes": reviews } })
                });
                json!({
                    "oid": oid,
                    "committedDate": time(org.days_ago(commit.age_days)),
                    "author": {
                        "name": commit.author,
                        "user": if commit.bot { Value::Null } else { json!({ "login": commit.author }) },
                    },
                    "associatedPullRequests": { "nodes": pull_request.into_iter().collect::<Vec<_>>() },
                })
            })
            .collect();
        json!({
            "name": repo.default_branch,
            "branchProtectionRule": rule,
            "target": { "history": { "nodes": history } },
        })
    };
    json!({
        "nameWithOwner": format!("{}/{}", org.login, repo.name),
        "visibility": repo.visibility.to_uppercase(),
        "isFork": repo.fork,
        "isArchived": repo.archived,
        "viewerPermission": if repo.viewer_admin { "ADMIN" } else { "WRITE" },
        "hasVulnerabilityAlertsEnabled": repo.dependabot_alerts_enabled,
        "defaultBranchRef": default_branch,
        "vulnerabilityAlerts": alerts,
        "collaborators": collaborators,
    })
}

fn alerts_connection(org: &GitHubOrg, repo: &RepoSpec, start: usize, first: usize) -> Value {
    let open: Vec<_> = if repo.dependabot_alerts_enabled {
        repo.dependabot_alerts.iter().collect()
    } else {
        Vec::new()
    };
    let (page, info) = connection(&open, start, first);
    let nodes: Vec<Value> = page
        .iter()
        .map(|alert| {
            json!({
                "number": alert.number,
                "createdAt": time(org.days_ago(alert.age_days)),
                "securityVulnerability": { "severity": alert.severity },
            })
        })
        .collect();
    json!({ "pageInfo": info, "nodes": nodes })
}

fn collaborators_connection(repo: &RepoSpec, start: usize, first: usize) -> Value {
    let (page, info) = connection(&repo.outside_collaborators, start, first);
    let edges: Vec<Value> = page
        .iter()
        .map(|c| json!({ "permission": c.permission, "node": { "login": c.login } }))
        .collect();
    json!({ "pageInfo": info, "edges": edges })
}

fn org_members_graphql(org: &GitHubOrg, variables: &Value) -> GraphqlAnswer {
    let login = variables["org"].as_str().unwrap_or_default();
    if !org.login.eq_ignore_ascii_case(login) {
        return Ok(not_found_org(login));
    }
    let (page, info) = connection(&org.members, after(variables), first(variables, "first")?);
    let edges: Vec<Value> = page
        .iter()
        .map(|m| json!({ "role": if m.owner { "ADMIN" } else { "MEMBER" }, "node": { "login": m.login } }))
        .collect();
    Ok((
        json!({ "organization": { "membersWithRole": { "pageInfo": info, "edges": edges, "totalCount": org.members.len() } } }),
        Vec::new(),
        1,
    ))
}

fn repo_connection(org: &GitHubOrg, variables: &Value, operation: &str) -> GraphqlAnswer {
    let owner = variables["owner"].as_str().unwrap_or_default();
    let name = variables["name"].as_str().unwrap_or_default();
    let Some(repo) =
        org.repos.iter().find(|r| org.login.eq_ignore_ascii_case(owner) && r.name == name)
    else {
        return Ok((
            json!({ "repository": null }),
            vec![json!({
                "type": "NOT_FOUND",
                "path": ["repository"],
                "message": format!("Could not resolve to a Repository with the name '{owner}/{name}'.")
            })],
            1,
        ));
    };
    let first = first(variables, "first")?;
    let start = after(variables);
    let repository = if operation == "RepoAlerts" {
        json!({ "vulnerabilityAlerts": alerts_connection(org, repo, start, first) })
    } else {
        json!({ "collaborators": collaborators_connection(repo, start, first) })
    };
    Ok((json!({ "repository": repository }), Vec::new(), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_needs_follow_githubs_docs() {
        assert_eq!(documented("/orgs/acme/hooks"), ("admin:org_hook", "organization_hooks"));
        assert_eq!(
            documented("/api/v3/repos/acme/api/hooks"),
            ("read:repo_hook", "repository_hooks")
        );
        assert_eq!(documented("/repos/acme/api/rulesets"), ("repo", "metadata"));
    }

    #[test]
    fn connections_page_with_cursors() {
        let items: Vec<u32> = (0..5).collect();
        let (page, info) = connection(&items, 0, 2);
        assert_eq!(page, &[0, 1]);
        assert_eq!(info["hasNextPage"], json!(true));
        let next = after(&json!({ "after": info["endCursor"] }));
        let (page, info) = connection(&items, next, 10);
        assert_eq!(page, &[2, 3, 4]);
        assert_eq!(info["hasNextPage"], json!(false));
    }
}
