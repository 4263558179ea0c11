//! OAuth 2.0 for an Okta service app (an "API Services" app): the client-credentials grant at
//! `{org}/oauth2/v1/token`, authenticated with a private-key JWT client assertion (RFC 7523):
//! RS256, `iss` = `sub` = the client id, `aud` = the token URL, a five-minute lifetime (Okta
//! accepts at most an hour), a fresh `jti` every time (Okta rejects a reused one), and `kid` when
//! configured. The access token is cached for the run and renewed a minute before it expires.
//!
//! A service app may be refused some of the `okta.*.read` scopes. Okta then refuses the whole
//! request (`invalid_scope`), so the app asks for each scope alone to learn which ones it has,
//! takes a token for those, and lets the calls that need the others fail as "missing scope".
//! Apps that require DPoP-bound tokens are reported as not supported yet.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::Instrument;
use url::Url;

use super::client::{Endpoint, OktaClient, SCOPES, TOKEN, snippet};
use crate::config::Secret;
use crate::integrations::{
    Integration,
    collect::{Attempt, CollectError},
};

/// How long a client assertion is valid.
const ASSERTION_LIFETIME: i64 = 300;
/// Renew the access token this long before Okta says it expires.
const RENEW_EARLY: Duration = Duration::from_secs(60);

pub(crate) struct ServiceApp {
    client_id: String,
    key: EncodingKey,
    key_id: Option<String>,
    token_url: Url,
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    token: Option<AccessToken>,
    /// Scopes Okta would not grant; `None` until a request was refused with `invalid_scope`.
    refused: Vec<&'static str>,
    /// A token request that failed for good: every later call fails the same way at once.
    failure: Option<CollectError>,
}

struct AccessToken {
    value: Secret,
    renew_at: Instant,
    scopes: Vec<&'static str>,
}

/// Which of [`SCOPES`] the service app holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub granted: Vec<&'static str>,
    pub refused: Vec<&'static str>,
}

/// `{"error": "invalid_scope", "error_description": "…"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OAuthError {
    error: String,
    error_description: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    token_type: String,
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

impl ServiceApp {
    pub fn new(
        client_id: &str,
        private_key: &Secret,
        key_id: Option<String>,
        token_url: Url,
    ) -> Result<ServiceApp, CollectError> {
        let key = EncodingKey::from_rsa_pem(private_key.expose().as_bytes()).map_err(|error| {
            CollectError::NotConfigured {
                integration: Integration::Okta,
                what: format!(
                    "the service app key (OKTA_PRIVATE_KEY_PATH) is not an RSA private key in PEM \
                     form: {error}"
                ),
            }
        })?;
        Ok(ServiceApp {
            client_id: client_id.to_string(),
            key,
            key_id,
            token_url,
            state: Mutex::default(),
        })
    }

    /// An access token good for `endpoint`, from the cache or a new token request.
    pub async fn access_token(
        &self,
        client: &OktaClient,
        endpoint: &Endpoint,
    ) -> Result<Secret, CollectError> {
        let mut state = self.state.lock().await;
        self.ensure_token(client, &mut state).await?;
        if state.refused.contains(&endpoint.scope) {
            return Err(client.forbidden(
                endpoint,
                Some(endpoint.scope),
                "Okta would not grant the scope to the service app (invalid_scope)".to_string(),
            ));
        }
        let token = state.token.as_ref().expect("ensure_token leaves a token");
        Ok(token.value.clone())
    }

    /// Which scopes the service app holds (requests a token if none is cached).
    pub async fn grant(&self, client: &OktaClient) -> Result<Grant, CollectError> {
        let mut state = self.state.lock().await;
        self.ensure_token(client, &mut state).await?;
        let granted = state.token.as_ref().map(|t| t.scopes.clone()).unwrap_or_default();
        Ok(Grant { granted, refused: state.refused.clone() })
    }

    async fn ensure_token(
        &self,
        client: &OktaClient,
        state: &mut TokenState,
    ) -> Result<(), CollectError> {
        if let Some(failure) = &state.failure {
            return Err(failure.clone());
        }
        if state.token.as_ref().is_some_and(|t| t.renew_at > Instant::now()) {
            return Ok(());
        }
        let wanted: Vec<&'static str> =
            SCOPES.into_iter().filter(|scope| !state.refused.contains(scope)).collect();
        let result = match self.request(client, &wanted).await {
            Ok(Err(error)) if error.error == "invalid_scope" && state.refused.is_empty() => {
                self.probe(client, state).await
            }
            other => self.settle(other),
        };
        match result {
            Ok(token) => {
                state.token = Some(token);
                Ok(())
            }
            Err(error) => {
                state.failure = Some(error.clone());
                Err(error)
            }
        }
    }

    /// After `invalid_scope`: asks for each scope alone, then for all those granted together.
    async fn probe(
        &self,
        client: &OktaClient,
        state: &mut TokenState,
    ) -> Result<AccessToken, CollectError> {
        let mut granted = Vec::new();
        for scope in SCOPES {
            match self.request(client, &[scope]).await {
                Ok(Ok(_)) => granted.push(scope),
                Ok(Err(error)) if error.error == "invalid_scope" => state.refused.push(scope),
                other => return self.settle(other),
            }
        }
        tracing::warn!(refused = ?state.refused, "the Okta service app lacks some scopes");
        if granted.is_empty() {
            return Err(CollectError::Forbidden {
                integration: Integration::Okta,
                call: TOKEN.call.to_string(),
                missing: format!(
                    "every scope Kushim needs: grant {} to the service app on its Okta API \
                     Scopes tab",
                    SCOPES.join(", ")
                ),
                detail: "invalid_scope".to_string(),
            });
        }
        self.settle(self.request(client, &granted).await)
    }

    /// A token, or the error a person can act on.
    fn settle(
        &self,
        outcome: Result<Result<AccessToken, OAuthError>, CollectError>,
    ) -> Result<AccessToken, CollectError> {
        let error = match outcome {
            Ok(Ok(token)) => return Ok(token),
            Ok(Err(error)) => error,
            Err(error) => return Err(error),
        };
        let detail = if error.error_description.is_empty() {
            error.error.clone()
        } else {
            format!("{}: {}", error.error, error.error_description)
        };
        let fix = match error.error.as_str() {
            "invalid_dpop_proof" | "use_dpop_nonce" => {
                "the service app requires DPoP-bound access tokens, which Kushim does not support \
                 yet; clear \"Require Demonstrating Proof of Possession (DPoP) header in token \
                 requests\" on the app's General tab, or use an API token (OKTA_API_TOKEN)"
            }
            "invalid_client" => {
                "check OKTA_CLIENT_ID, and that the key in OKTA_PRIVATE_KEY_PATH is one of the \
                 public keys registered on the service app (Public key / Private key client \
                 authentication), with OKTA_KEY_ID set to its kid when the app has several keys"
            }
            "unauthorized_client" => {
                "OKTA_CLIENT_ID must name an API Services app that may use the Client Credentials \
                 grant"
            }
            "invalid_scope" => {
                "grant the service app the okta.*.read scopes on its Okta API Scopes tab"
            }
            _ => {
                "check the service app's settings (OKTA_CLIENT_ID, OKTA_PRIVATE_KEY_PATH, OKTA_KEY_ID)"
            }
        };
        Err(CollectError::Unauthorized {
            integration: Integration::Okta,
            detail,
            fix: fix.to_string(),
        })
    }

    /// One token request, retried on 429, 5xx and timeouts. `Ok(Err(_))` is Okta's OAuth error.
    async fn request(
        &self,
        client: &OktaClient,
        scopes: &[&'static str],
    ) -> Result<Result<AccessToken, OAuthError>, CollectError> {
        let span = tracing::debug_span!("okta.call", call = TOKEN.call, scopes = scopes.join(" "));
        let scope = scopes.join(" ");
        client
            .policy()
            .run(|| async {
                let assertion = self.assertion().map_err(Attempt::Fail)?;
                let form = [
                    ("grant_type", "client_credentials"),
                    ("scope", scope.as_str()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.expose()),
                ];
                let request = client
                    .http()
                    .post(self.token_url.clone())
                    .header(http::header::ACCEPT, "application/json")
                    .form(&form);
                let reply = client.send_raw(&TOKEN, request).await?;
                if reply.status.is_success() {
                    return token(&reply.body, scopes).map(Ok).map_err(Attempt::Fail);
                }
                if reply.status.as_u16() == 429 || reply.status.is_server_error() {
                    return Err(client.refusal(&TOKEN, reply.status, &reply.headers, &reply.body));
                }
                let mut error: OAuthError = serde_json::from_slice(&reply.body).unwrap_or_default();
                if error.error.is_empty() {
                    error.error = format!("HTTP {}", reply.status.as_u16());
                    error.error_description = snippet(&reply.body);
                }
                Ok(Err(error))
            })
            .instrument(span)
            .await
    }

    /// A signed client assertion for one token request.
    fn assertion(&self) -> Result<Secret, CollectError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: self.token_url.as_str(),
            iat: now,
            exp: now + ASSERTION_LIFETIME,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        encode(&header, &claims, &self.key).map(Secret::new).map_err(|error| {
            CollectError::NotConfigured {
                integration: Integration::Okta,
                what: format!("cannot sign a client assertion with OKTA_PRIVATE_KEY_PATH: {error}"),
            }
        })
    }
}

/// Reads a successful token response.
fn token(body: &[u8], scopes: &[&'static str]) -> Result<AccessToken, CollectError> {
    let response: TokenResponse = super::client::decode(&TOKEN, body)?;
    if !response.token_type.eq_ignore_ascii_case("Bearer") {
        return Err(CollectError::Unauthorized {
            integration: Integration::Okta,
            detail: format!("Okta issued a {} token", response.token_type),
            fix: "Kushim supports Bearer tokens only; turn off DPoP for the service app or use an \
                  API token (OKTA_API_TOKEN)"
                .to_string(),
        });
    }
    let lifetime = Duration::from_secs(response.expires_in.unwrap_or(3600));
    Ok(AccessToken {
        value: Secret::new(response.access_token),
        renew_at: Instant::now() + lifetime.saturating_sub(RENEW_EARLY),
        scopes: scopes.to_vec(),
    })
}
