//! The fake Okta org on 127.0.0.1: the Management API endpoints Kushim reads, in Okta's wire
//! format as the official API description (`/work/shared/specs/okta-management.json`) gives it.
//!
//! - JSON shapes and field names of `User`, `UserFactor`, `Group`, role assignments,
//!   `RoleAssignedUsers`, `Policy` / `PolicyRule`, `Application`, `AppUser`, `ApiToken`,
//!   `LogStream` and `WellKnownOrgMetadata`; settings a policy does not have are omitted, as Okta
//!   omits them.
//! - Paging with opaque `after` cursors in `Link: <…>; rel="next"` headers (in the body's
//!   `_links.next` for `/api/v1/iam/assignees/users`), each listing's own default and maximum
//!   `limit`.
//! - `GET /api/v1/users` without `search` or `filter` omits DEPROVISIONED users, as Okta does.
//! - `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (epoch seconds) on every answer, one bucket
//!   per endpoint with Okta's per-minute limits (or the world's), and 429 with Okta's body when a
//!   bucket is empty.
//! - `Authorization: SSWS <token>` for the world's API tokens; `Bearer` for access tokens from
//!   `POST /oauth2/v1/token`, which checks the private-key JWT client assertion (RS256 signature
//!   with the app's public key, `iss` = `sub` = client id, `aud` = the token URL, `exp` at most an
//!   hour after `iat`, an unused `jti`, the registered `kid`) and the requested scopes.
//! - Okta's error bodies (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`)
//!   for 401, 403, 404, 429 and 5xx; a Bearer token lacking a scope gets the `WWW-Authenticate`
//!   challenge naming it.
//!
//! Faults injected through the [`Recorder`] are rendered the same way.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Form, Json, Router,
    body::Body,
    extract::{MatchedPath, Path, Query, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::world::{EVERYONE_GROUP_ID, OktaOrg, SANDBOX_API_TOKEN, User};
use crate::config::{OktaAuth, OktaSettings, Secret};
use crate::integrations::okta::{
    AccessPolicy, AccessRule, AdminRole, Factor, FactorMode, FactorStatus, LifecycleStatus,
    OktaPipeline, PasswordAuthProvider, PasswordPolicy, RuleAccess, SignOnPolicy, SignOnRule,
    UserStatus,
};
use crate::sandbox::serve::{FakeServer, Fault, Recorder, with_faults};

/// The org's id in `/.well-known/okta-organization` and ORNs.
const ORG_ID: &str = "00osandboxacme";
/// How long an access token from `/oauth2/v1/token` lives.
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A running fake Okta org. Dropping it stops the server.
pub struct FakeOkta {
    pub server: FakeServer,
    /// Every request the fake saw, and the faults to inject.
    pub recorder: Recorder,
    state: Arc<Shared>,
}

impl FakeOkta {
    /// The org URL to give the client: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Settings for collecting from this org with the sandbox API token.
    pub fn settings(&self) -> OktaSettings {
        OktaSettings {
            org_url: self.url(),
            auth: OktaAuth::ApiToken(Secret::new(SANDBOX_API_TOKEN)),
        }
    }

    /// How many requests the fake's own rate-limit buckets answered with 429 (injected
    /// [`Fault::RateLimited`] faults not included).
    pub fn throttled(&self) -> u64 {
        self.state.throttled.load(Ordering::Relaxed)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// Serves `world` on 127.0.0.1 at a free port.
pub async fn start(world: OktaOrg) -> std::io::Result<FakeOkta> {
    let recorder = Recorder::default();
    let state = Arc::new(Shared { world, runtime: Mutex::default(), throttled: AtomicU64::new(0) });
    let server = FakeServer::start(router(state.clone(), recorder.clone())).await?;
    Ok(FakeOkta { server, recorder, state })
}

struct Shared {
    world: OktaOrg,
    runtime: Mutex<Runtime>,
    throttled: AtomicU64,
}

#[derive(Default)]
struct Runtime {
    /// Access tokens issued: token → (scopes, expiry).
    tokens: HashMap<String, (Vec<String>, DateTime<Utc>)>,
    /// `jti`s of client assertions already used; Okta rejects a replay.
    used_jtis: HashSet<String>,
    /// Per endpoint: (window number, calls in it).
    windows: HashMap<String, (i64, u64)>,
}

type OrgState = Arc<Shared>;

fn router(state: OrgState, recorder: Recorder) -> Router {
    Router::new()
        .route("/.well-known/okta-organization", get(org_metadata))
        .route("/oauth2/v1/token", post(token))
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}/factors", get(list_factors))
        .route("/api/v1/users/{id}/roles", get(list_user_roles))
        .route("/api/v1/users/{id}/groups", get(list_user_groups))
        .route("/api/v1/groups/{id}/roles", get(list_group_roles))
        .route("/api/v1/iam/assignees/users", get(list_role_assignees))
        .route("/api/v1/policies", get(list_policies))
        .route("/api/v1/policies/{id}/rules", get(list_policy_rules))
        .route("/api/v1/apps", get(list_apps))
        .route("/api/v1/apps/{id}/users", get(list_app_users))
        .route("/api/v1/api-tokens", get(list_api_tokens))
        .route("/api/v1/logStreams", get(list_log_streams))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
        .fallback(not_found)
        .layer(middleware::from_fn(move |request: Request<Body>, next: Next| {
            with_faults(recorder.clone(), render_fault, request, next)
        }))
        .with_state(state)
}

// ---- errors, headers, time -------------------------------------------------------------------

/// Any path the fake does not serve, with the rate-limit headers every Okta answer carries.
async fn not_found() -> Response {
    let mut response =
        okta_error(StatusCode::NOT_FOUND, "E0000007", "Not found: Resource not found");
    rate_headers(&mut response, 1200, 1199, Utc::now().timestamp() + 60);
    response
}

/// An error answer: Okta's error body (with a `WWW-Authenticate` challenge for a Bearer token),
/// or an OAuth error from the token endpoint.
enum Refusal {
    Okta { status: StatusCode, code: &'static str, summary: String, challenge: Option<String> },
    OAuth { status: StatusCode, error: &'static str, description: &'static str },
}

impl Refusal {
    fn okta(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Refusal {
        Refusal::Okta { status, code, summary: summary.into(), challenge: None }
    }

    fn not_found(id: &str, kind: &str) -> Refusal {
        Refusal::okta(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    fn challenged(self, challenge: String) -> Refusal {
        match self {
            Refusal::Okta { status, code, summary, .. } => {
                Refusal::Okta { status, code, summary, challenge: Some(challenge) }
            }
            oauth => oauth,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Okta { status, code, summary, challenge } => {
                let mut response = okta_error(status, code, &summary);
                if let Some(challenge) = challenge {
                    set_header(&mut response, "www-authenticate", challenge);
                }
                response
            }
            Refusal::OAuth { status, error, description } => {
                (status, Json(json!({ "error": error, "error_description": description })))
                    .into_response()
            }
        }
    }
}

/// Okta's error body.
fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": format!("oae{}", &uuid::Uuid::new_v4().simple().to_string()[..19]),
        "errorCauses": [],
    });
    (status, Json(body)).into_response()
}

fn set_header(response: &mut Response, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

fn rate_headers(response: &mut Response, limit: u64, remaining: u64, reset: i64) {
    set_header(response, "x-rate-limit-limit", limit);
    set_header(response, "x-rate-limit-remaining", remaining);
    set_header(response, "x-rate-limit-reset", reset);
    set_header(response, "x-okta-request-id", uuid::Uuid::new_v4().simple());
}

fn too_many_requests(limit: u64, reset: i64) -> Response {
    let mut response = okta_error(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
    );
    rate_headers(&mut response, limit, 0, reset);
    response
}

/// An injected fault in Okta's format.
fn render_fault(fault: &Fault) -> Option<Response> {
    let reset = Utc::now().timestamp() + 60;
    let mut response = match fault {
        Fault::RateLimited { retry_after_seconds } => {
            let reset = Utc::now().timestamp() + *retry_after_seconds as i64;
            return Some(too_many_requests(600, reset));
        }
        Fault::ServerError(status) => okta_error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "E0000009",
            "Internal Server Error",
        ),
        Fault::Unauthorized => {
            okta_error(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided")
        }
        Fault::Forbidden => okta_error(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        ),
        // A page cut off in transit.
        Fault::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"[{"id":"00u1malformed","status":"ACTIVE","profile":{"login":"#,
        )
            .into_response(),
        Fault::Slow(_) => return None,
    };
    rate_headers(&mut response, 600, 599, reset);
    Some(response)
}

/// Okta's timestamp form, `2025-06-01T00:00:00.000Z`.
fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn opt_time(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(time(at)))
}

/// `http://127.0.0.1:PORT`, as the client addressed the fake.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn href(url: String) -> Value {
    json!({ "href": url })
}

/// An object without the fields whose value is `None` (how Okta leaves out unset settings).
fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    let map: Map<String, Value> =
        fields.into_iter().filter_map(|(key, value)| Some((key.to_string(), value?))).collect();
    Value::Object(map)
}

fn number(value: Option<u32>) -> Option<Value> {
    value.map(Value::from)
}

// ---- the guard: rate limits and authentication ---------------------------------------------

/// The scope an endpoint needs (its `security` in the API description); `None`: no credentials.
fn required_scope(template: &str) -> Option<&'static str> {
    match template {
        "/.well-known/okta-organization" | "/oauth2/v1/token" => None,
        "/api/v1/policies" | "/api/v1/policies/{id}/rules" => Some("okta.policies.read"),
        "/api/v1/iam/assignees/users"
        | "/api/v1/users/{id}/roles"
        | "/api/v1/groups/{id}/roles" => Some("okta.roles.read"),
        "/api/v1/apps" | "/api/v1/apps/{id}/users" => Some("okta.apps.read"),
        "/api/v1/api-tokens" => Some("okta.apiTokens.read"),
        "/api/v1/logStreams" => Some("okta.logStreams.read"),
        _ => Some("okta.users.read"),
    }
}

/// Okta's per-minute limits for the busiest buckets (Workforce Identity, `rl-global-mgmt`);
/// 1 200 for "most other /api/v1" endpoints.
fn default_limit(template: &str) -> u64 {
    match template {
        "/api/v1/users" => 600,
        "/api/v1/apps" => 100,
        _ => 1200,
    }
}

impl Shared {
    /// Counts a call in its endpoint's bucket: (limit, remaining, reset epoch, over the limit).
    fn count(&self, template: &str) -> (u64, u64, i64, bool) {
        let (limit, window) = match self.world.rate_limit {
            Some(rate) => (rate.limit, rate.window_seconds as i64),
            None => (default_limit(template), 60),
        };
        let now = Utc::now().timestamp();
        let number = now.div_euclid(window);
        let reset = (number + 1) * window;
        let mut runtime = self.runtime.lock().expect("fake Okta state");
        let entry = runtime.windows.entry(template.to_string()).or_insert((number, 0));
        if entry.0 != number {
            *entry = (number, 0);
        }
        entry.1 += 1;
        let used = entry.1;
        (limit, limit.saturating_sub(used), reset, used > limit)
    }

    /// Checks the `Authorization` header for an endpoint needing `scope`.
    fn authenticate(&self, headers: &HeaderMap, scope: &str, base: &str) -> Result<(), Refusal> {
        let invalid =
            || Refusal::okta(StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided");
        let denied = || {
            Refusal::okta(
                StatusCode::FORBIDDEN,
                "E0000006",
                "You do not have permission to perform the requested action",
            )
        };
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Err(Refusal::okta(StatusCode::UNAUTHORIZED, "E0000005", "Invalid session"));
        };
        if let Some(token) = value.strip_prefix("SSWS ") {
            if !self.world.api_credentials.iter().any(|accepted| accepted == token) {
                return Err(invalid());
            }
            if self.world.api_token_denied.iter().any(|denied| denied == scope) {
                return Err(denied());
            }
            return Ok(());
        }
        let Some(token) = value.strip_prefix("Bearer ") else { return Err(invalid()) };
        let runtime = self.runtime.lock().expect("fake Okta state");
        let realm = format!(
            "Bearer authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"IdpMyAccountAPI\""
        );
        match runtime.tokens.get(token) {
            Some((_, expires)) if *expires > Utc::now() => {}
            _ => {
                return Err(invalid().challenged(format!(
                    "{realm}, error=\"invalid_token\", error_description=\"The token is not valid.\""
                )));
            }
        }
        let granted =
            runtime.tokens.get(token).is_some_and(|(scopes, _)| scopes.iter().any(|s| s == scope));
        if !granted {
            return Err(denied().challenged(format!(
                "{realm}, scope=\"{scope}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\""
            )));
        }
        Ok(())
    }
}

/// Rate limits, then credentials, then the endpoint; `X-Rate-Limit-*` on every answer.
async fn guard(
    State(state): State<OrgState>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let template = matched.as_str().to_string();
    let (limit, remaining, reset, over) = state.count(&template);
    if over {
        state.throttled.fetch_add(1, Ordering::Relaxed);
        return too_many_requests(limit, reset);
    }
    let mut response = match required_scope(&template) {
        Some(scope) => {
            let base = base_url(request.headers());
            match state.authenticate(request.headers(), scope, &base) {
                Ok(()) => next.run(request).await,
                Err(refusal) => refusal.into_response(),
            }
        }
        None => next.run(request).await,
    };
    rate_headers(&mut response, limit, remaining, reset);
    response
}

// ---- paging -------------------------------------------------------------------------------

type Params = Query<Vec<(String, String)>>;

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// How a listing pages: its default and largest `limit`.
struct Paging {
    default_limit: usize,
    max_limit: usize,
}

/// One page of `items` (each with the id its cursor names), with `Link` headers for `self` and,
/// when more remain, `next` (the same query with `after` set to the page's last id).
fn page(
    state: &Shared,
    headers: &HeaderMap,
    path: &str,
    params: &[(String, String)],
    paging: Paging,
    items: Vec<(String, Value)>,
) -> Response {
    let (start, end) = match window(state, params, &paging, &items) {
        Ok(range) => range,
        Err(refusal) => return refusal.into_response(),
    };
    let base = base_url(headers);
    let link = |query: &[(String, String)]| {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        if encoded.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{encoded}") }
    };
    let mut links = vec![format!("<{}>; rel=\"self\"", link(params))];
    if end < items.len() {
        let mut next: Vec<(String, String)> =
            params.iter().filter(|(key, _)| key != "after").cloned().collect();
        next.push(("after".to_string(), items[end - 1].0.clone()));
        links.push(format!("<{}>; rel=\"next\"", link(&next)));
    }
    let body: Vec<Value> = items[start..end].iter().map(|(_, item)| item.clone()).collect();
    let mut response = Json(body).into_response();
    for link in links {
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().append(header::LINK, value);
        }
    }
    response
}

/// The `[start, end)` of the page `params` ask for.
fn window(
    state: &Shared,
    params: &[(String, String)],
    paging: &Paging,
    items: &[(String, Value)],
) -> Result<(usize, usize), Refusal> {
    let start = match param(params, "after") {
        None => 0,
        Some(after) => match items.iter().position(|(id, _)| id == after) {
            Some(index) => index + 1,
            None => {
                return Err(Refusal::okta(
                    StatusCode::BAD_REQUEST,
                    "E0000031",
                    "Invalid search criteria.",
                ));
            }
        },
    };
    let requested = match param(params, "limit").map(str::parse::<i64>) {
        None => paging.default_limit,
        Some(Ok(limit)) if limit > 0 => (limit as usize).min(paging.max_limit),
        Some(Ok(_)) => paging.default_limit,
        Some(Err(_)) => {
            return Err(Refusal::okta(
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: limit",
            ));
        }
    };
    let limit = state.world.page_cap.map_or(requested, |cap| requested.min(cap));
    Ok((start.min(items.len()), (start + limit).min(items.len())))
}

// ---- the org and the token endpoint -------------------------------------------------------

async fn org_metadata(State(state): State<OrgState>, headers: HeaderMap) -> Response {
    let pipeline = match state.world.pipeline {
        OktaPipeline::Classic => "v1",
        OktaPipeline::IdentityEngine => "idx",
    };
    Json(json!({
        "id": ORG_ID,
        "pipeline": pipeline,
        "_links": { "organization": href(base_url(&headers)) },
    }))
    .into_response()
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    #[serde(default)]
    iat: Option<i64>,
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
}

/// An OAuth error as the org authorization server sends it.
fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> Refusal {
    Refusal::OAuth { status, error, description }
}

/// `POST /oauth2/v1/token`: the client-credentials grant with a private-key JWT assertion.
async fn token(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return oauth_error_response(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        );
    }
    if field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return oauth_error_response(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed. Either the client or the client credentials are invalid.",
        );
    }
    let token_url = format!("{}/oauth2/v1/token", base_url(&headers));
    let scopes: Vec<String> = field("scope").split_whitespace().map(str::to_string).collect();
    match state.issue(field("client_assertion"), &token_url, &scopes) {
        Ok(access_token) => (
            [(header::CACHE_CONTROL, "no-cache, no-store"), (header::PRAGMA, "no-cache")],
            Json(json!({
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME.as_secs(),
                "access_token": access_token,
                "scope": scopes.join(" "),
            })),
        )
            .into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

fn oauth_error_response(
    status: StatusCode,
    error: &'static str,
    description: &'static str,
) -> Response {
    oauth_error(status, error, description).into_response()
}

impl Shared {
    /// Checks a client assertion and the scopes; an access token, or Okta's OAuth error.
    fn issue(
        &self,
        assertion: &str,
        token_url: &str,
        scopes: &[String],
    ) -> Result<String, Refusal> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
        fn invalid_client(description: &'static str) -> Refusal {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| invalid_client("The client_assertion token is malformed."))?;
        // The app is found by the assertion's issuer before its signature can be checked.
        let claimed = jsonwebtoken::dangerous::insecure_decode::<AssertionClaims>(assertion)
            .map_err(|_| invalid_client("The client_assertion token is malformed."))?;
        let app = self
            .world
            .service_apps
            .iter()
            .find(|app| app.client_id == claimed.claims.iss)
            .ok_or_else(|| invalid_client("Invalid value for 'client_id' parameter."))?;
        if app.requires_dpop {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_dpop_proof",
                "The DPoP proof JWT header is missing.",
            ));
        }
        if app.key_id.is_some() && header.kid != app.key_id {
            return Err(invalid_client("The client_assertion token has an invalid kid."));
        }
        let key = DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes())
            .map_err(|_| invalid_client("The client has no usable public key."))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[token_url]);
        validation.set_issuer(&[&app.client_id]);
        validation.sub = Some(app.client_id.clone());
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.leeway = 5;
        let verified = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
            .map_err(|error| {
                invalid_client(match error.kind() {
                    ErrorKind::InvalidSignature => "The client_assertion signature is invalid.",
                    ErrorKind::ExpiredSignature => "The client_assertion token is expired.",
                    ErrorKind::InvalidAudience => {
                        "The audience claim for client_assertion must be the endpoint invoked for \
                         the request."
                    }
                    ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => {
                        "The issuer and subject claims of the client_assertion must both be the \
                         client_id."
                    }
                    ErrorKind::InvalidAlgorithm => {
                        "The client_assertion token has an invalid algorithm."
                    }
                    _ => "The client_assertion token is invalid.",
                })
            })?
            .claims;
        let Some(iat) = verified.iat else {
            return Err(invalid_client("The client_assertion token must contain an 'iat' claim."));
        };
        if verified.exp - iat > 3600 {
            return Err(invalid_client(
                "The client_assertion token has an expiration too far in the future.",
            ));
        }
        let Some(jti) = verified.jti else {
            return Err(invalid_client("The client_assertion token must contain a 'jti' claim."));
        };
        if scopes.is_empty() {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "The authorization server resource does not have any configured default scopes, \
                 'scope' must be provided.",
            ));
        }
        if scopes.iter().any(|scope| !app.scopes.contains(scope)) {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "One or more scopes are not configured for the authorization server resource.",
            ));
        }
        let mut runtime = self.runtime.lock().expect("fake Okta state");
        if !runtime.used_jtis.insert(jti) {
            return Err(invalid_client("The client_assertion token has already been used."));
        }
        let access_token = format!("oat{}", uuid::Uuid::new_v4().simple());
        let expires = Utc::now() + TOKEN_LIFETIME;
        runtime.tokens.insert(access_token.clone(), (scopes.to_vec(), expires));
        Ok(access_token)
    }
}

// ---- users and factors -----------------------------------------------------------------------

fn user_json(user: &User, base: &str) -> Value {
    let self_href = format!("{base}/api/v1/users/{}", user.id);
    let mut links = json!({ "self": href(self_href.clone()) });
    if user.status == UserStatus::Deprovisioned {
        links["activate"] =
            json!({ "href": format!("{self_href}/lifecycle/activate"), "method": "POST" });
    } else {
        links["deactivate"] =
            json!({ "href": format!("{self_href}/lifecycle/deactivate"), "method": "POST" });
    }
    json!({
        "id": user.id,
        "status": user.status.as_str(),
        "created": time(user.created),
        "activated": opt_time(user.activated),
        "statusChanged": opt_time(user.activated.or(Some(user.created))),
        "lastLogin": opt_time(user.last_login),
        "lastUpdated": time(user.last_login.unwrap_or(user.created)),
        "passwordChanged": opt_time(user.activated),
        "type": { "id": "otysandboxdefault" },
        "profile": {
            "firstName": user.first_name,
            "lastName": user.last_name,
            "mobilePhone": null,
            "secondEmail": null,
            "login": user.login,
            "email": user.email,
        },
        "credentials": {
            "password": {},
            "provider": { "type": "OKTA", "name": "OKTA" },
        },
        "_links": links,
    })
}

/// The statuses a `search` or `filter` expression selects: `status eq "X"` terms joined by `or`,
/// optionally in parentheses. Anything else is refused, as Okta refuses what it cannot parse.
fn statuses(expression: &str) -> Option<Vec<String>> {
    let lower = expression.to_ascii_lowercase();
    let mut statuses = Vec::new();
    let mut rest = expression;
    let mut offset = 0;
    loop {
        let end = lower[offset..].find(" or ").map_or(expression.len(), |i| offset + i);
        let term = rest[..end - offset].trim().trim_start_matches('(').trim_end_matches(')').trim();
        let (property, value) = term.split_once(' ')?;
        let (operator, value) = value.trim().split_once(' ')?;
        if property != "status" || !operator.eq_ignore_ascii_case("eq") {
            return None;
        }
        statuses.push(value.trim().trim_matches('"').to_ascii_uppercase());
        if end == expression.len() {
            return Some(statuses);
        }
        offset = end + 4;
        rest = &expression[offset..];
    }
}

async fn list_users(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let expression = param(&params, "search").or_else(|| param(&params, "filter"));
    let wanted = match expression {
        Some(expression) => match statuses(expression) {
            Some(statuses) => Some(statuses),
            None => {
                return okta_error(StatusCode::BAD_REQUEST, "E0000031", "Invalid search criteria.");
            }
        },
        None => None,
    };
    let base = base_url(&headers);
    let mut users: Vec<&User> = state
        .world
        .users
        .iter()
        .filter(|user| match &wanted {
            Some(statuses) => statuses.iter().any(|s| s == user.status.as_str()),
            // The plain listing leaves DEPROVISIONED users out.
            None => user.status != UserStatus::Deprovisioned,
        })
        .collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let items = users.iter().map(|user| (user.id.clone(), user_json(user, &base))).collect();
    page(
        &state,
        &headers,
        "/api/v1/users",
        &params,
        Paging { default_limit: 200, max_limit: 200 },
        items,
    )
}

fn find_user<'a>(state: &'a Shared, id: &str) -> Result<&'a User, Refusal> {
    state
        .world
        .users
        .iter()
        .find(|user| user.id == id || user.login == id)
        .ok_or_else(|| Refusal::not_found(id, "User"))
}

fn factor_json(user: &User, index: usize, factor: &Factor, base: &str) -> Value {
    let id = format!("fct{}{index}", &user.id[3..]);
    let profile = match factor.factor_type.as_str() {
        "push" | "signed_nonce" => json!({
            "credentialId": user.login, "deviceType": "SmartPhone_IPhone", "name": "iPhone",
            "platform": "IOS", "version": "17.5",
        }),
        "sms" | "call" => json!({ "phoneNumber": "+1-555-415-1337" }),
        "email" => json!({ "email": user.email }),
        "webauthn" | "u2f" => {
            json!({ "credentialId": format!("cred-{id}"), "authenticatorName": "Security key" })
        }
        "question" => {
            json!({ "question": "disliked_food", "questionText": "What is the food you least liked as a child?" })
        }
        _ => json!({ "credentialId": user.login }),
    };
    let status = match &factor.status {
        FactorStatus::Active => "ACTIVE",
        FactorStatus::PendingActivation => "PENDING_ACTIVATION",
        FactorStatus::Enrolled => "ENROLLED",
        FactorStatus::NotSetup => "NOT_SETUP",
        FactorStatus::Inactive => "INACTIVE",
        FactorStatus::Expired => "EXPIRED",
        FactorStatus::Disabled => "DISABLED",
        FactorStatus::Other(other) => other.as_str(),
    };
    let self_href = format!("{base}/api/v1/users/{}/factors/{id}", user.id);
    json!({
        "id": id,
        "factorType": factor.factor_type,
        "provider": factor.provider,
        "vendorName": factor.provider,
        "status": status,
        "created": time(user.created),
        "lastUpdated": time(user.created),
        "profile": profile,
        "_links": {
            "self": { "href": self_href, "hints": { "allow": ["GET", "DELETE"] } },
            "user": { "href": format!("{base}/api/v1/users/{}", user.id), "hints": { "allow": ["GET"] } },
        },
    })
}

async fn list_factors(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let user = match find_user(&state, &id) {
        Ok(user) => user,
        Err(refusal) => return refusal.into_response(),
    };
    if user.factors_unreadable {
        return Refusal::not_found(&id, "User").into_response();
    }
    let base = base_url(&headers);
    let factors: Vec<Value> =
        user.factors.iter().enumerate().map(|(i, f)| factor_json(user, i, f, &base)).collect();
    Json(factors).into_response()
}

// ---- groups and admin roles ----------------------------------------------------------------

fn role_type(role: &AdminRole) -> String {
    serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn role_label(role: &AdminRole) -> String {
    match role {
        AdminRole::SuperAdmin => "Super Administrator".to_string(),
        AdminRole::OrgAdmin => "Organizational Administrator".to_string(),
        AdminRole::ReadOnlyAdmin => "Read-only Administrator".to_string(),
        AdminRole::AppAdmin => "Application Administrator".to_string(),
        AdminRole::HelpDeskAdmin => "Help Desk Administrator".to_string(),
        other => role_type(other),
    }
}

fn role_json(
    role: &AdminRole,
    assignee: &str,
    assignment: &str,
    base: &str,
    created: DateTime<Utc>,
) -> Value {
    let kind = role_type(role);
    let path = if assignment == "USER" { "users" } else { "groups" };
    json!({
        "id": format!("ra{}{}", kind.to_lowercase().replace('_', ""), &assignee[3..]),
        "label": role_label(role),
        "type": kind,
        "status": "ACTIVE",
        "created": time(created),
        "lastUpdated": time(created),
        "assignmentType": assignment,
        "_links": { "assignee": href(format!("{base}/api/v1/{path}/{assignee}")) },
    })
}

/// Groups of a user: Everyone, then the groups naming them.
fn groups_of<'a>(
    state: &'a Shared,
    user_id: &'a str,
) -> impl Iterator<Item = &'a super::world::Group> {
    state
        .world
        .groups
        .iter()
        .filter(move |group| group.built_in || group.members.iter().any(|m| m == user_id))
}

fn group_json(group: &super::world::Group, base: &str, created: DateTime<Utc>) -> Value {
    json!({
        "id": group.id,
        "created": time(created),
        "lastUpdated": time(created),
        "lastMembershipUpdated": time(created),
        "objectClass": ["okta:user_group"],
        "type": if group.built_in { "BUILT_IN" } else { "OKTA_GROUP" },
        "profile": {
            "name": group.name,
            "description": if group.built_in { "All users in your organization" } else { "" },
        },
        "_links": {
            "users": href(format!("{base}/api/v1/groups/{}/users", group.id)),
            "apps": href(format!("{base}/api/v1/groups/{}/apps", group.id)),
        },
    })
}

/// A user's role assignments: direct ones (`USER`) and those through groups (`GROUP`).
async fn list_user_roles(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let user = match find_user(&state, &id) {
        Ok(user) => user,
        Err(refusal) => return refusal.into_response(),
    };
    let base = base_url(&headers);
    let created = state.world.as_of;
    let mut roles: Vec<Value> =
        user.roles.iter().map(|role| role_json(role, &user.id, "USER", &base, created)).collect();
    for group in groups_of(&state, &user.id) {
        roles.extend(
            group.roles.iter().map(|role| role_json(role, &group.id, "GROUP", &base, created)),
        );
    }
    Json(roles).into_response()
}

async fn list_user_groups(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let user = match find_user(&state, &id) {
        Ok(user) => user,
        Err(refusal) => return refusal.into_response(),
    };
    let base = base_url(&headers);
    let created = state.world.as_of;
    let groups: Vec<Value> =
        groups_of(&state, &user.id).map(|group| group_json(group, &base, created)).collect();
    Json(groups).into_response()
}

async fn list_group_roles(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(group) = state.world.groups.iter().find(|group| group.id == id) else {
        return Refusal::not_found(&id, "UserGroup").into_response();
    };
    let base = base_url(&headers);
    let roles: Vec<Value> = group
        .roles
        .iter()
        .map(|role| role_json(role, &group.id, "GROUP", &base, state.world.as_of))
        .collect();
    Json(roles).into_response()
}

/// Users holding a role directly or through a group, paged in the body (`RoleAssignedUsers`).
async fn list_role_assignees(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let mut ids: Vec<&str> = state
        .world
        .users
        .iter()
        .filter(|user| {
            !user.roles.is_empty()
                || groups_of(&state, &user.id).any(|group| !group.roles.is_empty())
        })
        .map(|user| user.id.as_str())
        .collect();
    ids.sort_unstable();
    let items: Vec<(String, Value)> = ids.iter().map(|id| (id.to_string(), Value::Null)).collect();
    let (start, end) =
        match window(&state, &params, &Paging { default_limit: 100, max_limit: 100 }, &items) {
            Ok(range) => range,
            Err(refusal) => return refusal.into_response(),
        };
    let base = base_url(&headers);
    let value: Vec<Value> = ids[start..end]
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "orn": format!("orn:okta:directory:{ORG_ID}:users:{id}"),
                "_links": {
                    "self": href(format!("{base}/api/v1/users/{id}")),
                    "roles": href(format!("{base}/api/v1/users/{id}/roles")),
                },
            })
        })
        .collect();
    let mut body = json!({ "value": value });
    if end < ids.len() {
        let limit = param(&params, "limit").unwrap_or("100");
        body["_links"] = json!({
            "next": href(format!(
                "{base}/api/v1/iam/assignees/users?after={}&limit={limit}",
                ids[end - 1]
            )),
        });
    }
    Json(body).into_response()
}

// ---- policies --------------------------------------------------------------------------------

fn lifecycle(status: Option<LifecycleStatus>) -> Option<Value> {
    status.map(|status| {
        Value::from(match status {
            LifecycleStatus::Active => "ACTIVE",
            LifecycleStatus::Inactive => "INACTIVE",
        })
    })
}

fn access(access: Option<RuleAccess>) -> Option<Value> {
    access.map(|access| {
        Value::from(match access {
            RuleAccess::Allow => "ALLOW",
            RuleAccess::Deny => "DENY",
        })
    })
}

fn policy_links(base: &str, id: &str) -> Value {
    json!({
        "self": { "href": format!("{base}/api/v1/policies/{id}"), "hints": { "allow": ["GET", "PUT", "DELETE"] } },
        "rules": { "href": format!("{base}/api/v1/policies/{id}/rules"), "hints": { "allow": ["GET", "POST"] } },
    })
}

fn password_policy_json(policy: &PasswordPolicy, base: &str, created: DateTime<Utc>) -> Value {
    let provider = policy.auth_provider.as_ref().map(|provider| {
        Value::from(match provider {
            PasswordAuthProvider::Okta => "OKTA",
            PasswordAuthProvider::ActiveDirectory => "ACTIVE_DIRECTORY",
            PasswordAuthProvider::Ldap => "LDAP",
            PasswordAuthProvider::Any => "ANY",
            PasswordAuthProvider::Other(other) => other.as_str(),
        })
    });
    let complexity = object(vec![
        ("minLength", number(policy.min_length)),
        ("minLowerCase", number(policy.min_lower_case)),
        ("minUpperCase", number(policy.min_upper_case)),
        ("minNumber", number(policy.min_number)),
        ("minSymbol", number(policy.min_symbol)),
        ("excludeUsername", Some(Value::Bool(true))),
        (
            "dictionary",
            policy.common_password_check.map(|on| json!({ "common": { "exclude": on } })),
        ),
        ("excludeAttributes", Some(json!([]))),
    ]);
    let age = object(vec![
        ("maxAgeDays", number(policy.max_age_days)),
        ("expireWarnDays", Some(Value::from(0))),
        ("minAgeMinutes", number(policy.min_age_minutes)),
        ("historyCount", number(policy.history_count)),
    ]);
    let lockout = policy.lockout_max_attempts.map(|attempts| {
        json!({
            "maxAttempts": attempts,
            "autoUnlockMinutes": 0,
            "userLockoutNotificationChannels": [],
            "showLockoutFailures": false,
        })
    });
    object(vec![
        ("id", Some(Value::from(policy.id.clone()))),
        ("status", lifecycle(policy.status)),
        ("name", Some(Value::from(policy.name.clone()))),
        ("description", Some(Value::from(format!("{} password policy", policy.name)))),
        ("priority", number(policy.priority)),
        ("system", Some(Value::Bool(policy.name == "Default Policy"))),
        (
            "conditions",
            Some(object(vec![
                ("people", Some(json!({ "groups": { "include": [EVERYONE_GROUP_ID] } }))),
                ("authProvider", Some(object(vec![("provider", provider)]))),
            ])),
        ),
        (
            "settings",
            Some(json!({
                "password": object(vec![
                    ("complexity", Some(complexity)),
                    ("age", Some(age)),
                    ("lockout", lockout),
                ]),
                "recovery": { "factors": { "recovery_question": { "status": "INACTIVE" }, "okta_email": { "status": "ACTIVE" } } },
                "delegation": { "options": { "skipUnlock": false } },
            })),
        ),
        ("created", Some(Value::from(time(created)))),
        ("lastUpdated", Some(Value::from(time(created)))),
        ("type", Some(Value::from("PASSWORD"))),
        ("_links", Some(policy_links(base, &policy.id))),
    ])
}

fn sign_on_policy_json(policy: &SignOnPolicy, base: &str, created: DateTime<Utc>) -> Value {
    object(vec![
        ("id", Some(Value::from(policy.id.clone()))),
        ("status", lifecycle(policy.status)),
        ("name", Some(Value::from(policy.name.clone()))),
        ("description", Some(Value::from(format!("{} global session policy", policy.name)))),
        ("priority", number(policy.priority)),
        ("system", Some(Value::Bool(policy.name == "Default Policy"))),
        ("conditions", Some(json!({ "people": { "groups": { "include": [EVERYONE_GROUP_ID] } } }))),
        ("created", Some(Value::from(time(created)))),
        ("lastUpdated", Some(Value::from(time(created)))),
        ("type", Some(Value::from("OKTA_SIGN_ON"))),
        ("_links", Some(policy_links(base, &policy.id))),
    ])
}

fn access_policy_json(
    policy: &AccessPolicy,
    priority: usize,
    base: &str,
    created: DateTime<Utc>,
) -> Value {
    object(vec![
        ("id", Some(Value::from(policy.id.clone()))),
        ("status", lifecycle(policy.status)),
        ("name", Some(Value::from(policy.name.clone()))),
        ("description", Some(Value::from(format!("{} authentication policy", policy.name)))),
        ("priority", Some(Value::from(priority))),
        ("system", Some(Value::Bool(false))),
        ("conditions", Some(Value::Null)),
        ("created", Some(Value::from(time(created)))),
        ("lastUpdated", Some(Value::from(time(created)))),
        ("type", Some(Value::from("ACCESS_POLICY"))),
        ("_embedded", Some(json!({ "resourceType": "APP" }))),
        ("_links", Some(policy_links(base, &policy.id))),
    ])
}

fn sign_on_rule_json(rule: &SignOnRule, created: DateTime<Utc>) -> Value {
    let session = object(vec![
        ("usePersistentCookie", rule.use_persistent_cookie.map(Value::Bool)),
        ("maxSessionIdleMinutes", number(rule.max_session_idle_minutes)),
        ("maxSessionLifetimeMinutes", number(rule.max_session_lifetime_minutes)),
    ]);
    let mfa = rule.require_factor == Some(true);
    let signon = object(vec![
        ("access", access(rule.access)),
        ("requireFactor", rule.require_factor.map(Value::Bool)),
        ("primaryFactor", Some(Value::from("PASSWORD_IDP_ANY_FACTOR"))),
        ("factorPromptMode", mfa.then(|| Value::from("ALWAYS"))),
        ("rememberDeviceByDefault", Some(Value::Bool(false))),
        ("session", Some(session)),
    ]);
    object(vec![
        ("id", Some(Value::from(rule.id.clone()))),
        ("status", lifecycle(rule.status)),
        ("name", Some(Value::from(rule.name.clone()))),
        ("priority", number(rule.priority)),
        ("created", Some(Value::from(time(created)))),
        ("lastUpdated", Some(Value::from(time(created)))),
        ("system", Some(Value::Bool(rule.system))),
        (
            "conditions",
            Some(json!({
                "people": { "users": { "exclude": [] } },
                "network": { "connection": "ANYWHERE" },
                "authContext": { "authType": "ANY" },
            })),
        ),
        ("actions", Some(json!({ "signon": signon }))),
        ("type", Some(Value::from("SIGN_ON"))),
    ])
}

fn access_rule_json(rule: &AccessRule, created: DateTime<Utc>) -> Value {
    let method = match rule.factor_mode {
        Some(mode) => json!({
            "factorMode": match mode { FactorMode::OneFactor => "1FA", FactorMode::TwoFactor => "2FA" },
            "type": "ASSURANCE",
            "reauthenticateIn": "PT2H",
            "constraints": [{ "knowledge": { "types": ["password"] } }],
        }),
        None => json!({
            "type": "AUTH_METHOD_CHAIN",
            "chains": [{ "authenticationMethods": [{ "key": "okta_verify", "method": "push" }], "reauthenticateIn": "PT43800H" }],
        }),
    };
    let sign_on =
        object(vec![("access", access(rule.access)), ("verificationMethod", Some(method))]);
    object(vec![
        ("id", Some(Value::from(rule.id.clone()))),
        ("status", lifecycle(rule.status)),
        ("name", Some(Value::from(rule.name.clone()))),
        ("priority", number(rule.priority)),
        ("created", Some(Value::from(time(created)))),
        ("lastUpdated", Some(Value::from(time(created)))),
        ("system", Some(Value::Bool(rule.system))),
        ("conditions", Some(Value::Null)),
        ("actions", Some(json!({ "appSignOn": sign_on }))),
        ("type", Some(Value::from("ACCESS_POLICY"))),
    ])
}

const POLICY_TYPES: [&str; 12] = [
    "ACCESS_POLICY",
    "ENTITY_RISK",
    "IDP_DISCOVERY",
    "MFA_ENROLL",
    "OKTA_SIGN_ON",
    "PASSWORD",
    "POST_AUTH_SESSION",
    "PROFILE_ENROLLMENT",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
];

async fn list_policies(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let kind = param(&params, "type").unwrap_or_default();
    let classic = state.world.pipeline == OktaPipeline::Classic;
    if !POLICY_TYPES.contains(&kind) || (classic && kind == "ACCESS_POLICY") {
        return okta_error(StatusCode::BAD_REQUEST, "E0000001", "Api validation failed: type");
    }
    let base = base_url(&headers);
    let created = state.world.as_of;
    let world = &state.world;
    let mut policies: Vec<(Option<LifecycleStatus>, String, Value)> = match kind {
        "PASSWORD" => world
            .password_policies
            .iter()
            .map(|p| (p.status, p.id.clone(), password_policy_json(p, &base, created)))
            .collect(),
        "OKTA_SIGN_ON" => world
            .sign_on_policies
            .iter()
            .map(|p| (p.status, p.id.clone(), sign_on_policy_json(p, &base, created)))
            .collect(),
        "ACCESS_POLICY" => world
            .access_policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.status, p.id.clone(), access_policy_json(p, i + 1, &base, created)))
            .collect(),
        // Types Kushim does not read exist in a real org too; the fake has none of them.
        _ => Vec::new(),
    };
    if let Some(status) = param(&params, "status") {
        policies.retain(|(s, _, _)| lifecycle(*s).as_ref().and_then(Value::as_str) == Some(status));
    }
    let items = policies.into_iter().map(|(_, id, json)| (id, json)).collect();
    page(
        &state,
        &headers,
        "/api/v1/policies",
        &params,
        Paging { default_limit: 200, max_limit: 200 },
        items,
    )
}

async fn list_policy_rules(State(state): State<OrgState>, Path(id): Path<String>) -> Response {
    let created = state.world.as_of;
    let world = &state.world;
    let rules: Option<Vec<Value>> =
        if let Some(policy) = world.sign_on_policies.iter().find(|p| p.id == id) {
            Some(policy.rules.iter().flatten().map(|r| sign_on_rule_json(r, created)).collect())
        } else if let Some(policy) = world.access_policies.iter().find(|p| p.id == id) {
            Some(policy.rules.iter().flatten().map(|r| access_rule_json(r, created)).collect())
        } else if world.password_policies.iter().any(|p| p.id == id) {
            Some(Vec::new())
        } else {
            None
        };
    match rules {
        Some(rules) => Json(rules).into_response(),
        None => Refusal::not_found(&id, "Policy").into_response(),
    }
}

// ---- apps ------------------------------------------------------------------------------------

async fn list_apps(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let base = base_url(&headers);
    let created = time(state.world.as_of);
    let items: Vec<(String, Value)> = state
        .world
        .apps
        .iter()
        .map(|app| {
            let json = json!({
                "id": app.id,
                "name": app.name,
                "label": app.label,
                "status": "ACTIVE",
                "signOnMode": "SAML_2_0",
                "created": created,
                "lastUpdated": created,
                "features": [],
                "visibility": { "autoSubmitToolbar": false, "hide": { "iOS": false, "web": false } },
                "_links": {
                    "self": href(format!("{base}/api/v1/apps/{}", app.id)),
                    "users": href(format!("{base}/api/v1/apps/{}/users", app.id)),
                    "groups": href(format!("{base}/api/v1/apps/{}/groups", app.id)),
                },
            });
            (app.id.clone(), json)
        })
        .collect();
    // Without `limit` Okta returns every app (`limit` defaults to -1).
    let paging = Paging { default_limit: items.len().max(1), max_limit: 200 };
    page(&state, &headers, "/api/v1/apps", &params, paging, items)
}

async fn list_app_users(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    let world = &state.world;
    let Some(app) = world.apps.iter().find(|app| app.id == id) else {
        return Refusal::not_found(&id, "AppInstance").into_response();
    };
    let mut assigned: Vec<(&str, &str)> =
        app.users.iter().map(|user| (user.as_str(), "USER")).collect();
    for group in world.groups.iter().filter(|group| group.apps.contains(&app.id)) {
        let members: Vec<&str> = if group.built_in {
            world.users.iter().map(|user| user.id.as_str()).collect()
        } else {
            group.members.iter().map(String::as_str).collect()
        };
        for member in members {
            if !assigned.iter().any(|(user, _)| *user == member) {
                assigned.push((member, "GROUP"));
            }
        }
    }
    assigned.sort_unstable();
    let base = base_url(&headers);
    let created = time(world.as_of);
    let items = assigned
        .into_iter()
        .filter_map(|(user_id, scope)| {
            let user = world.users.iter().find(|user| user.id == user_id)?;
            let json = json!({
                "id": user.id,
                "externalId": null,
                "created": created,
                "lastUpdated": created,
                "scope": scope,
                "status": if user.status == UserStatus::Deprovisioned { "INACTIVE" } else { "PROVISIONED" },
                "statusChanged": created,
                "passwordChanged": null,
                "syncState": "DISABLED",
                "credentials": { "userName": user.login },
                "profile": {},
                "_links": {
                    "app": href(format!("{base}/api/v1/apps/{}", app.id)),
                    "user": href(format!("{base}/api/v1/users/{}", user.id)),
                },
            });
            Some((user.id.clone(), json))
        })
        .collect();
    let path = format!("/api/v1/apps/{}/users", app.id);
    page(&state, &headers, &path, &params, Paging { default_limit: 50, max_limit: 500 }, items)
}

// ---- API tokens and log streams ------------------------------------------------------------

async fn list_api_tokens(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let base = base_url(&headers);
    let created = state.world.as_of;
    let items = state
        .world
        .api_tokens
        .iter()
        .map(|token| {
            let network = token.network.as_ref().map(|network| {
                object(vec![
                    ("connection", Some(Value::from(network.connection.clone()))),
                    ("include", (!network.include.is_empty()).then(|| json!(network.include))),
                    ("exclude", (!network.exclude.is_empty()).then(|| json!(network.exclude))),
                ])
            });
            let json = object(vec![
                ("name", Some(Value::from(token.name.clone()))),
                ("userId", Some(Value::from(token.user_id.clone()))),
                ("tokenWindow", Some(Value::from("P30D"))),
                ("network", network),
                ("id", Some(Value::from(token.id.clone()))),
                ("clientName", Some(Value::from("Okta API"))),
                ("expiresAt", Some(Value::from(time(created + chrono::TimeDelta::days(30))))),
                ("created", Some(Value::from(time(created)))),
                ("lastUpdated", Some(Value::from(time(created)))),
                (
                    "_links",
                    Some(json!({
                        "self": { "href": format!("{base}/api/v1/api-tokens/{}", token.id), "hints": { "allow": ["GET", "DELETE"] } },
                        "user": { "href": format!("{base}/api/v1/users/{}", token.user_id), "hints": { "allow": ["GET"] } },
                    })),
                ),
            ]);
            (token.id.clone(), json)
        })
        .collect();
    page(
        &state,
        &headers,
        "/api/v1/api-tokens",
        &params,
        Paging { default_limit: 20, max_limit: 200 },
        items,
    )
}

async fn list_log_streams(
    State(state): State<OrgState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let base = base_url(&headers);
    let created = time(state.world.as_of);
    let items = state
        .world
        .log_streams
        .iter()
        .map(|stream| {
            let active = stream.status == LifecycleStatus::Active;
            let settings = if stream.stream_type == "splunk_cloud_logstreaming" {
                json!({ "edition": "aws", "host": "acme.splunkcloud.com" })
            } else {
                json!({ "accountId": "123456789012", "eventSourceName": "kushim-sandbox", "region": "us-east-2" })
            };
            let (action, method) = if active { ("deactivate", "POST") } else { ("activate", "POST") };
            let self_href = format!("{base}/api/v1/logStreams/{}", stream.id);
            let json = json!({
                "id": stream.id,
                "type": stream.stream_type,
                "name": stream.name,
                "lastUpdated": created,
                "created": created,
                "status": if active { "ACTIVE" } else { "INACTIVE" },
                "settings": settings,
                "_links": {
                    "self": { "href": self_href, "method": "GET" },
                    action: { "href": format!("{self_href}/lifecycle/{action}"), "method": method },
                },
            });
            (stream.id.clone(), json)
        })
        .collect();
    page(
        &state,
        &headers,
        "/api/v1/logStreams",
        &params,
        Paging { default_limit: 20, max_limit: 200 },
        items,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_expressions_are_read_like_okta_reads_them() {
        assert_eq!(statuses("status eq \"ACTIVE\""), Some(vec!["ACTIVE".to_string()]));
        assert_eq!(
            statuses("(status eq \"active\" OR status eq \"DEPROVISIONED\")"),
            Some(vec!["ACTIVE".to_string(), "DEPROVISIONED".to_string()])
        );
        assert_eq!(statuses("profile.login eq \"a@b.c\""), None);
        assert_eq!(statuses("status ne \"ACTIVE\""), None);
    }

    #[test]
    fn okta_timestamps_have_milliseconds_and_a_z() {
        let at = DateTime::from_timestamp(1_748_736_000, 0).unwrap();
        assert_eq!(time(at), "2025-06-01T00:00:00.000Z");
    }

    #[test]
    fn unset_settings_are_left_out() {
        let value = object(vec![("minLength", Some(json!(8))), ("historyCount", None)]);
        assert_eq!(value, json!({ "minLength": 8 }));
    }
}
