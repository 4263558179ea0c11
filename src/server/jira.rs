//! `POST /jira/webhook`: Jira Cloud tells Kushim when a ticket changes, so a ticket closed by
//! hand is noticed at once instead of at the next sync.
//!
//! Jira Cloud's admin webhooks, registered with a secret, sign each delivery in
//! `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`; the secret is `JIRA_WEBHOOK_SECRET`.
//! A delivery without a valid signature (or a server without the secret) gets 401 before the
//! body is parsed; a signed body that is not an issue event gets 400; neither changes anything.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AppState;
use crate::{config::Secret, remediation::RemediationError};

/// The header Jira Cloud signs webhook deliveries in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature";

/// Checks `sha256=<hex>` against the HMAC-SHA256 of `body` in constant time.
pub fn verify(secret: &Secret, signature: &str, body: &[u8]) -> bool {
    let Some(digest) = signature.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

/// The `X-Hub-Signature` value Jira would send for `body`.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(jira) = state.jira() else {
        tracing::warn!("jira webhook refused: JIRA_WEBHOOK_SECRET or [jira] is not configured");
        return (StatusCode::UNAUTHORIZED, "Jira webhooks are not configured").into_response();
    };
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !verify(&jira.secret, signature, &body) {
        tracing::warn!(signed = !signature.is_empty(), "jira webhook refused: bad signature");
        return (StatusCode::UNAUTHORIZED, "invalid signature").into_response();
    }
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(error) => {
            return (StatusCode::BAD_REQUEST, format!("the body is not JSON: {error}"))
                .into_response();
        }
    };
    match jira.remediation.apply_webhook(&payload, state.now()).await {
        Ok(events) => {
            for event in &events {
                tracing::info!(
                    kind = event.kind.as_str(),
                    control = %event.control_id,
                    key = %event.key,
                    "ticket event from a Jira webhook"
                );
            }
            let store = state.bot().engine().store();
            if let Err(error) =
                crate::jobs::alerts::queue_ticket_events(store, &events, state.now()).await
            {
                tracing::error!(%error, "cannot queue ticket events for the alert channels");
            }
            (StatusCode::OK, "ok").into_response()
        }
        Err(RemediationError::BadWebhook(reason)) => {
            (StatusCode::BAD_REQUEST, reason).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "jira webhook could not be applied");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not apply the webhook").into_response()
        }
    }
}
