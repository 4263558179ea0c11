//! Talking to one Okta org over HTTP with `reqwest`: authentication (an `SSWS` API token or an
//! OAuth 2.0 service app, see [`super::oauth`]), `Link` pagination, Okta's `X-Rate-Limit-*`
//! headers, retries, and Okta's error bodies turned into [`CollectError`]s that say what to fix.
//!
//! Every request goes through [`OktaClient::send`]: it waits its turn at the rate-limit bucket of
//! its endpoint, counts itself in [`ApiCalls`], applies the per-request timeout and classifies the
//! answer; [`RetryPolicy::run`] does the retrying, waiting for `X-Rate-Limit-Reset` after a 429.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, de::DeserializeOwned};
use tracing::Instrument;
use url::Url;

use super::oauth::ServiceApp;
use crate::config::{OktaAuth, OktaSettings, Secret};
use crate::integrations::{
    Integration,
    collect::{ApiCalls, Attempt, CollectError, RetryPolicy, until_reset},
};

/// At most this many requests in flight at once (per-user factor calls, per-app user listings,
/// per-policy rules). Okta allows 75 concurrent API transactions per org and counts other
/// integrations' traffic too; four keeps Kushim a polite guest.
pub(crate) const CONCURRENCY: usize = 4;

/// One Okta endpoint, as errors, spans and `kushim doctor` name it, with the permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `GET /api/v1/users/{id}/factors`. Also the key of its rate-limit bucket.
    pub call: &'static str,
    /// The OAuth 2.0 scope a service app needs (`security` of the operation in the Okta
    /// Management API description); empty for unauthenticated endpoints.
    pub scope: &'static str,
    /// What an API token's admin must be able to read, in words.
    pub reads: &'static str,
}

pub(crate) const ORG: Endpoint =
    Endpoint { call: "GET /.well-known/okta-organization", scope: "", reads: "org metadata" };
pub(crate) const TOKEN: Endpoint =
    Endpoint { call: "POST /oauth2/v1/token", scope: "", reads: "access tokens" };
pub(crate) const USERS: Endpoint =
    Endpoint { call: "GET /api/v1/users", scope: "okta.users.read", reads: "users" };
pub(crate) const FACTORS: Endpoint = Endpoint {
    call: "GET /api/v1/users/{id}/factors",
    scope: "okta.users.read",
    reads: "users' enrolled factors",
};
pub(crate) const USER_GROUPS: Endpoint = Endpoint {
    call: "GET /api/v1/users/{id}/groups",
    scope: "okta.users.read",
    reads: "users' groups",
};
pub(crate) const POLICIES: Endpoint =
    Endpoint { call: "GET /api/v1/policies", scope: "okta.policies.read", reads: "policies" };
pub(crate) const POLICY_RULES: Endpoint = Endpoint {
    call: "GET /api/v1/policies/{id}/rules",
    scope: "okta.policies.read",
    reads: "policy rules",
};
pub(crate) const ROLE_ASSIGNEES: Endpoint = Endpoint {
    call: "GET /api/v1/iam/assignees/users",
    scope: "okta.roles.read",
    reads: "admin role assignments",
};
pub(crate) const USER_ROLES: Endpoint = Endpoint {
    call: "GET /api/v1/users/{id}/roles",
    scope: "okta.roles.read",
    reads: "admin role assignments",
};
pub(crate) const GROUP_ROLES: Endpoint = Endpoint {
    call: "GET /api/v1/groups/{id}/roles",
    scope: "okta.roles.read",
    reads: "admin role assignments",
};
pub(crate) const APPS: Endpoint =
    Endpoint { call: "GET /api/v1/apps", scope: "okta.apps.read", reads: "apps" };
pub(crate) const APP_USERS: Endpoint = Endpoint {
    call: "GET /api/v1/apps/{id}/users",
    scope: "okta.apps.read",
    reads: "app assignments",
};
pub(crate) const API_TOKENS: Endpoint = Endpoint {
    call: "GET /api/v1/api-tokens",
    scope: "okta.apiTokens.read",
    reads: "API token metadata",
};
pub(crate) const LOG_STREAMS: Endpoint = Endpoint {
    call: "GET /api/v1/logStreams",
    scope: "okta.logStreams.read",
    reads: "log streams",
};

/// Every scope a collection needs, in the order `kushim doctor` checks them.
pub(crate) const SCOPES: [&str; 6] = [
    "okta.users.read",
    "okta.policies.read",
    "okta.roles.read",
    "okta.apps.read",
    "okta.apiTokens.read",
    "okta.logStreams.read",
];

/// An HTTP answer, read to the end.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Okta's error body (`Error` in the Management API description).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct OktaError {
    error_code: String,
    error_summary: String,
    error_id: String,
}

impl OktaError {
    /// `E0000011: Invalid token provided (errorId oae…)`, or the start of a body that is not one.
    fn describe(body: &[u8]) -> String {
        match serde_json::from_slice::<OktaError>(body) {
            Ok(error) if !error.error_code.is_empty() => {
                let mut text = format!("{}: {}", error.error_code, error.error_summary);
                if !error.error_id.is_empty() {
                    text.push_str(&format!(" (errorId {})", error.error_id));
                }
                text
            }
            _ => snippet(body),
        }
    }
}

/// The first 200 characters of a body, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

enum Auth {
    ApiToken(Secret),
    ServiceApp(Box<ServiceApp>),
}

/// A client for one org. Cheap to share by reference across concurrent calls.
pub(crate) struct OktaClient {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    policy: RetryPolicy,
    calls: ApiCalls,
    limits: RateLimits,
}

impl OktaClient {
    /// Checks the settings (a usable org URL, a readable private key) without calling Okta.
    pub fn new(
        settings: &OktaSettings,
        policy: RetryPolicy,
        calls: ApiCalls,
    ) -> Result<OktaClient, CollectError> {
        let not_configured =
            |what: String| CollectError::NotConfigured { integration: Integration::Okta, what };
        let base = Url::parse(settings.org_url.trim_end_matches('/'))
            .ok()
            .filter(|url| url.host().is_some() && (url.scheme() == "https" || is_local(url)))
            .ok_or_else(|| {
                not_configured(format!(
                    "OKTA_ORG_URL `{}` is not an org URL such as https://acme.okta.com (plain \
                     http is accepted only on this machine, for the sandbox)",
                    settings.org_url
                ))
            })?;
        let auth = match &settings.auth {
            OktaAuth::ApiToken(token) => Auth::ApiToken(token.clone()),
            OktaAuth::PrivateKeyJwt { client_id, private_key, key_id } => {
                let token_url = join(&base, "/oauth2/v1/token");
                Auth::ServiceApp(Box::new(ServiceApp::new(
                    client_id,
                    private_key,
                    key_id.clone(),
                    token_url,
                )?))
            }
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("kushim/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| not_configured(format!("cannot build an HTTP client: {error}")))?;
        Ok(OktaClient { http, base, auth, policy, calls, limits: RateLimits::default() })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn service_app(&self) -> Option<&ServiceApp> {
        match &self.auth {
            Auth::ServiceApp(app) => Some(app),
            Auth::ApiToken(_) => None,
        }
    }

    /// `base` + `path` with the given query parameters, properly encoded.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = join(&self.base, path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One JSON document from a GET, retried as the policy allows.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        url: &Url,
    ) -> Result<(T, HeaderMap), CollectError> {
        let span = tracing::debug_span!("okta.call", call = endpoint.call, url = %url);
        self.policy
            .run(|| async {
                let authorization = self.authorization(endpoint).await.map_err(Attempt::Fail)?;
                let mut request =
                    self.http.get(url.clone()).header(header::ACCEPT, "application/json");
                if let Some(value) = authorization {
                    request = request.header(header::AUTHORIZATION, value);
                }
                let reply = self.send(endpoint, request).await?;
                let value = decode(endpoint, &reply.body).map_err(Attempt::Fail)?;
                Ok((value, reply.headers))
            })
            .instrument(span)
            .await
    }

    /// Every item of a listing, following `Link: <…>; rel="next"` exactly as Okta gives it.
    pub async fn list<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        first: Url,
    ) -> Result<Vec<T>, CollectError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let (page, headers): (Vec<T>, _) = self.get_json(endpoint, &url).await?;
            items.extend(page);
            next = self.next_page(endpoint, &url, next_link(&headers))?;
        }
        Ok(items)
    }

    /// Checks a `next` link before following it: same origin as the org (the credentials must
    /// never go to another host), and not the page just read (a loop).
    pub fn next_page(
        &self,
        endpoint: &Endpoint,
        current: &Url,
        next: Option<String>,
    ) -> Result<Option<Url>, CollectError> {
        let Some(next) = next else { return Ok(None) };
        let malformed = |detail: String| CollectError::Malformed {
            integration: Integration::Okta,
            call: endpoint.call.to_string(),
            detail,
        };
        let url = current
            .join(&next)
            .map_err(|error| malformed(format!("next link `{next}` is not a URL: {error}")))?;
        if url.origin() != self.base.origin() {
            return Err(malformed(format!(
                "next link `{url}` leaves the org {}; refusing to send the credentials there",
                self.base
            )));
        }
        if &url == current {
            return Err(malformed(format!("next link `{url}` points at the same page again")));
        }
        Ok(Some(url))
    }

    /// The `Authorization` header value for an endpoint, fetching an OAuth access token when
    /// needed. A scope the service app was refused fails here, without a request.
    async fn authorization(
        &self,
        endpoint: &Endpoint,
    ) -> Result<Option<HeaderValue>, CollectError> {
        if endpoint.scope.is_empty() {
            return Ok(None);
        }
        let value = match &self.auth {
            Auth::ApiToken(token) => format!("SSWS {}", token.expose()),
            Auth::ServiceApp(app) => {
                let token = app.access_token(self, endpoint).await?;
                format!("Bearer {}", token.expose())
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| CollectError::NotConfigured {
            integration: Integration::Okta,
            what: "the credential contains characters that cannot be sent in a header".into(),
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Sends one request: waits for the endpoint's rate-limit bucket, counts the call, applies the
    /// timeout, records the rate-limit headers and classifies a failure.
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        request: reqwest::RequestBuilder,
    ) -> Result<Reply, Attempt> {
        let reply = self.send_raw(endpoint, request).await?;
        if reply.status.is_success() {
            return Ok(reply);
        }
        Err(self.refusal(endpoint, reply.status, &reply.headers, &reply.body))
    }

    /// Like [`OktaClient::send`], but any HTTP answer is returned as it is; only a timeout or a
    /// broken connection is an error. The token endpoint reads OAuth error bodies itself.
    pub async fn send_raw(
        &self,
        endpoint: &Endpoint,
        request: reqwest::RequestBuilder,
    ) -> Result<Reply, Attempt> {
        let _turn = self.limits.wait_turn(endpoint.call).await;
        self.calls.record();
        let response = request
            .timeout(self.policy.request_timeout)
            .send()
            .await
            .map_err(|error| self.transport(endpoint, error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body =
            response.bytes().await.map_err(|error| self.transport(endpoint, error))?.to_vec();
        self.limits.observe(endpoint.call, &headers);
        Ok(Reply { status, headers, body })
    }

    fn transport(&self, endpoint: &Endpoint, error: reqwest::Error) -> Attempt {
        let call = endpoint.call.to_string();
        let error = if error.is_timeout() {
            CollectError::Timeout {
                integration: Integration::Okta,
                call,
                seconds: self.policy.request_timeout.as_secs().max(1),
            }
        } else {
            CollectError::Transport {
                integration: Integration::Okta,
                call,
                detail: format!("{}; check OKTA_ORG_URL ({})", error_chain(&error), self.base),
            }
        };
        Attempt::Retry { error, after: None }
    }

    /// Turns a non-2xx answer into an attempt outcome: 429 and 5xx are retried (a 429 after
    /// `X-Rate-Limit-Reset`), 401 and 403 say which credential or permission to fix.
    pub fn refusal(
        &self,
        endpoint: &Endpoint,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Attempt {
        let detail = OktaError::describe(body);
        let call = endpoint.call.to_string();
        match status {
            StatusCode::UNAUTHORIZED => Attempt::Fail(CollectError::Unauthorized {
                integration: Integration::Okta,
                detail,
                fix: self.credential_fix(),
            }),
            StatusCode::FORBIDDEN => {
                // A service app's token names the scope it lacked in `WWW-Authenticate`.
                let scope = challenge_param(headers, "scope");
                Attempt::Fail(self.forbidden(endpoint, scope.as_deref(), detail))
            }
            StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
                error: CollectError::Server {
                    integration: Integration::Okta,
                    call,
                    status: 429,
                    detail,
                },
                after: reset_wait(headers),
            },
            status if status.is_server_error() => Attempt::Retry {
                error: CollectError::Server {
                    integration: Integration::Okta,
                    call,
                    status: status.as_u16(),
                    detail,
                },
                after: crate::integrations::collect::retry_after(headers),
            },
            status => Attempt::Fail(CollectError::Server {
                integration: Integration::Okta,
                call,
                status: status.as_u16(),
                detail,
            }),
        }
    }

    /// What a 403 on `endpoint` means for the configured credential.
    pub fn forbidden(
        &self,
        endpoint: &Endpoint,
        scope: Option<&str>,
        detail: String,
    ) -> CollectError {
        let scope = scope.filter(|s| !s.is_empty()).unwrap_or(endpoint.scope);
        let missing = match &self.auth {
            Auth::ServiceApp(_) => {
                format!("the {scope} scope: grant it to the service app on its Okta API Scopes tab")
            }
            Auth::ApiToken(_) => format!(
                "permission to read {} ({scope}): an API token acts with its admin's roles, so give \
                 that admin a role that can read them (Read-Only Administrator or higher)",
                endpoint.reads
            ),
        };
        CollectError::Forbidden {
            integration: Integration::Okta,
            call: endpoint.call.to_string(),
            missing,
            detail,
        }
    }

    fn credential_fix(&self) -> String {
        match &self.auth {
            Auth::ApiToken(_) => {
                "set OKTA_API_TOKEN (or `token_file`) to a valid API token: create \
                one in the Admin Console under Security → API → Tokens, signed in as a read-only \
                admin; Okta revokes tokens unused for 30 days and those of deactivated admins"
                    .to_string()
            }
            Auth::ServiceApp(_) => "the service app's access token was refused; check that \
                OKTA_CLIENT_ID names an API Services app whose admin roles and okta.*.read scopes \
                are still granted"
                .to_string(),
        }
    }
}

/// An `http://` URL on the loopback interface, where the sandbox fake listens: the credentials
/// never cross a network in the clear.
fn is_local(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Domain(domain)) => domain == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// `base` with `path` replacing its path (an org URL has none of its own).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    url.set_query(None);
    url
}

/// Decodes a JSON body, or says what came back instead.
pub(crate) fn decode<T: DeserializeOwned>(
    endpoint: &Endpoint,
    body: &[u8],
) -> Result<T, CollectError> {
    serde_json::from_slice(body).map_err(|error| {
        let hint = if body.trim_ascii_start().starts_with(b"<") {
            "; the answer is HTML, so OKTA_ORG_URL may not be the org's API URL (https://YOUR-ORG.okta.com)"
        } else {
            ""
        };
        CollectError::Malformed {
            integration: Integration::Okta,
            call: endpoint.call.to_string(),
            detail: format!("{error} in {}{hint}", snippet(body)),
        }
    })
}

/// A reqwest error with its causes ("error sending request: connection refused").
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The `rel="next"` target among the `Link` headers. Okta sends one header per relation
/// (`<…>; rel="self"`, `<…>; rel="next"`); a single header with a comma-separated list is read
/// too. URLs cannot contain `<` or `>`, so they delimit the targets safely.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(header::LINK) {
        let Ok(mut rest) = value.to_str() else { continue };
        while let Some(open) = rest.find('<') {
            let after_open = &rest[open + 1..];
            let close = after_open.find('>')?;
            let target = &after_open[..close];
            let params_end = after_open[close..].find('<').map_or(after_open.len(), |i| close + i);
            let params = &after_open[close + 1..params_end];
            let is_next = params.split(';').any(|param| {
                let param = param.trim().trim_end_matches(',').trim();
                param
                    .strip_prefix("rel=")
                    .map(|rel| rel.trim_matches('"'))
                    .is_some_and(|rel| rel.split_whitespace().any(|r| r == "next"))
            });
            if is_next {
                return Some(target.to_string());
            }
            rest = &after_open[params_end..];
        }
    }
    None
}

/// A parameter of the `WWW-Authenticate` challenge, e.g. `scope` of
/// `Bearer …, error="insufficient_scope", scope="okta.users.read"`.
fn challenge_param(headers: &HeaderMap, name: &str) -> Option<String> {
    let challenge = headers.get(header::WWW_AUTHENTICATE)?.to_str().ok()?;
    let key = format!("{name}=\"");
    let start = challenge
        .match_indices(&key)
        .find(|(i, _)| *i == 0 || matches!(challenge.as_bytes()[i - 1], b' ' | b','))?
        .0
        + key.len();
    let end = challenge[start..].find('"')? + start;
    Some(challenge[start..end].to_string())
}

/// The server's clock (`Date`), so waits do not depend on ours being right; ours if absent.
fn server_now(headers: &HeaderMap) -> DateTime<Utc> {
    headers
        .get(header::DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| DateTime::parse_from_rfc2822(text).ok())
        .map_or_else(Utc::now, |date| date.with_timezone(&Utc))
}

/// How long until `X-Rate-Limit-Reset`, measured on the server's clock. `Date` has whole seconds
/// and lags the true time, so this never ends early.
fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    until_reset(headers, "x-rate-limit-reset", server_now(headers))
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Okta's rate limits, one bucket per endpoint as the `X-Rate-Limit-*` headers describe it.
/// A call waits for the reset when its bucket is nearly empty, so a full collection slows down
/// before Okta has to say 429, and leaves headroom for the org's other integrations.
#[derive(Default)]
struct RateLimits {
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

#[derive(Default)]
struct Bucket {
    limit: Option<u64>,
    /// As last reported, minus the calls sent since.
    remaining: Option<u64>,
    /// `X-Rate-Limit-Reset` of the window `remaining` belongs to.
    reset_epoch: Option<i64>,
    /// When that window ends, on our monotonic clock.
    resume_at: Option<Instant>,
    in_flight: u64,
}

impl Bucket {
    /// Calls kept in reserve: a tenth of the window (at least one), for the org's other clients.
    fn reserve(&self) -> u64 {
        self.limit.map_or(1, |limit| (limit / 10).max(1))
    }
}

/// A call in flight; dropping it frees its place in the bucket.
struct Turn<'a> {
    limits: &'a RateLimits,
    key: &'static str,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut buckets = self.limits.buckets.lock().expect("rate-limit buckets");
        if let Some(bucket) = buckets.get_mut(self.key) {
            bucket.in_flight = bucket.in_flight.saturating_sub(1);
        }
    }
}

impl RateLimits {
    async fn wait_turn(&self, key: &'static str) -> Turn<'_> {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().expect("rate-limit buckets");
                let bucket = buckets.entry(key).or_default();
                let now = Instant::now();
                match (bucket.remaining, bucket.resume_at) {
                    (Some(remaining), Some(resume_at))
                        if remaining.saturating_sub(bucket.in_flight) <= bucket.reserve()
                            && resume_at > now =>
                    {
                        Some(resume_at - now)
                    }
                    _ => {
                        bucket.in_flight += 1;
                        if let Some(remaining) = &mut bucket.remaining {
                            *remaining = remaining.saturating_sub(1);
                        }
                        None
                    }
                }
            };
            let Some(wait) = wait else { return Turn { limits: self, key } };
            tracing::info!(
                call = key,
                wait_ms = wait.as_millis() as u64,
                "Okta rate limit nearly used up; waiting for X-Rate-Limit-Reset"
            );
            tokio::time::sleep(wait).await;
            let mut buckets = self.buckets.lock().expect("rate-limit buckets");
            if let Some(bucket) = buckets.get_mut(key)
                && bucket.resume_at.is_some_and(|at| at <= Instant::now())
            {
                // A new window: its budget is unknown until the next answer says.
                bucket.remaining = None;
                bucket.resume_at = None;
            }
        }
    }

    fn observe(&self, key: &'static str, headers: &HeaderMap) {
        let Some(remaining) = header_number(headers, "x-rate-limit-remaining") else { return };
        let reset_epoch =
            headers.get("x-rate-limit-reset").and_then(|v| v.to_str().ok()?.trim().parse().ok());
        let mut buckets = self.buckets.lock().expect("rate-limit buckets");
        let bucket = buckets.entry(key).or_default();
        bucket.limit = header_number(headers, "x-rate-limit-limit").or(bucket.limit);
        let same_window = reset_epoch.is_some() && reset_epoch == bucket.reset_epoch;
        bucket.remaining = match bucket.remaining {
            // Answers arrive out of order; within one window the lowest count is the latest.
            Some(known) if same_window => Some(known.min(remaining)),
            _ => Some(remaining),
        };
        bucket.reset_epoch = reset_epoch;
        bucket.resume_at = reset_wait(headers).map(|wait| Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_next_link_is_found_among_okta_link_headers() {
        let okta = headers(&[
            ("link", "<https://acme.okta.com/api/v1/users?limit=200>; rel=\"self\""),
            ("link", "<https://acme.okta.com/api/v1/users?after=00u2&limit=200>; rel=\"next\""),
        ]);
        assert_eq!(
            next_link(&okta).as_deref(),
            Some("https://acme.okta.com/api/v1/users?after=00u2&limit=200")
        );
        let combined =
            headers(&[("link", "<https://a/x?y=1,2>; rel=\"self\", <https://a/n>; rel=next")]);
        assert_eq!(next_link(&combined).as_deref(), Some("https://a/n"));
        let last = headers(&[("link", "<https://acme.okta.com/api/v1/users>; rel=\"self\"")]);
        assert_eq!(next_link(&last), None);
    }

    #[test]
    fn the_missing_scope_is_read_from_the_bearer_challenge() {
        let challenge = headers(&[(
            "www-authenticate",
            "Bearer authorization_uri=\"https://acme.okta.com/oauth2/v1/authorize\", realm=\"IdpMyAccountAPI\", scope=\"okta.logStreams.read\", error=\"insufficient_scope\"",
        )]);
        assert_eq!(challenge_param(&challenge, "scope").as_deref(), Some("okta.logStreams.read"));
        assert_eq!(challenge_param(&challenge, "error").as_deref(), Some("insufficient_scope"));
        assert_eq!(challenge_param(&HeaderMap::new(), "scope"), None);
    }

    #[test]
    fn the_reset_wait_is_measured_on_the_servers_clock() {
        let reply = headers(&[
            ("date", "Sun, 01 Jun 2025 00:00:10 GMT"),
            ("x-rate-limit-reset", "1748736012"),
        ]);
        assert_eq!(reset_wait(&reply), Some(Duration::from_secs(2)));
    }

    #[test]
    fn credentials_go_over_https_or_stay_on_this_machine() {
        let settings = |org_url: &str| OktaSettings {
            org_url: org_url.to_string(),
            auth: OktaAuth::ApiToken(Secret::new("00token")),
        };
        let client = |org_url: &str| {
            OktaClient::new(&settings(org_url), RetryPolicy::default(), ApiCalls::default())
        };
        assert!(client("https://acme.okta.com/").is_ok());
        assert!(client("http://127.0.0.1:8080").is_ok());
        assert!(client("http://localhost:8080").is_ok());
        let error = client("http://acme.okta.com").err().expect("plain http off this machine");
        assert!(error.to_string().contains("OKTA_ORG_URL `http://acme.okta.com`"), "{error}");
        assert!(client("acme.okta.com").is_err());
    }

    #[test]
    fn okta_error_bodies_are_summarised() {
        let body = br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oaeABC","errorCauses":[]}"#;
        assert_eq!(OktaError::describe(body), "E0000011: Invalid token provided (errorId oaeABC)");
        assert_eq!(OktaError::describe(b"<html>gateway</html>"), "<html>gateway</html>");
        assert_eq!(OktaError::describe(b""), "(empty body)");
    }
}
