//! Slack's side of the server: request verification and slash commands.
//!
//! A request is checked by the [`Verified`] extractor before anything reads its body: Slack signs
//! `v0:{timestamp}:{body}` with HMAC-SHA256 and the app's signing secret, and a request older than
//! five minutes is refused so a captured request cannot be replayed later. Anything that fails
//! gets 401 and changes nothing.

use std::time::Duration;

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing::Instrument;

use super::AppState;
use crate::{
    chat::{
        commands::{self, Command, ControlsFilter},
        reply::{self, Reply},
        text,
    },
    config::Secret,
    controls::ControlState,
    views::{self, ControlDetail, ControlRecords, StatusView},
};

/// How far a request's timestamp may be from now, either way (Slack's recommendation).
pub const MAX_TIMESTAMP_SKEW_SECONDS: i64 = 5 * 60;

/// Slack waits 3 seconds for an answer; this leaves room for the network.
const ANSWER_WITHIN: Duration = Duration::from_millis(2500);

const SIGNATURE_HEADER: &str = "x-slack-signature";
const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Why a request was refused. Logged by kind only: the signature itself never reaches a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing signature or timestamp header")]
    Missing,
    #[error("timestamp is not a number")]
    BadTimestamp,
    #[error("timestamp is more than five minutes from now")]
    Stale,
    #[error("signature is not v0=<hex>")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks Slack's v0 signature of `body` sent at `timestamp`, as seen at `now`.
pub fn verify(
    secret: &Secret,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let sent: i64 = timestamp.parse().map_err(|_| SignatureError::BadTimestamp)?;
    if (now.timestamp() - sent).abs() > MAX_TIMESTAMP_SKEW_SECONDS {
        return Err(SignatureError::Stale);
    }
    let expected = signature
        .strip_prefix("v0=")
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
        .ok_or(SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    // `verify_slice` compares in constant time, so timing reveals nothing about the digest.
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// A request body whose Slack signature has been checked. Extracting it reads the body (subject
/// to the router's size limit: 413 when over) and refuses the request with 401 unless it verifies.
pub struct Verified(pub Bytes);

impl FromRequest<AppState> for Verified {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (timestamp, signature) =
            signature_headers(request.headers()).ok_or_else(|| refuse(SignatureError::Missing))?;
        let body =
            Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        verify(state.signing_secret(), &timestamp, &signature, &body, state.now())
            .map_err(refuse)?;
        Ok(Verified(body))
    }
}

fn signature_headers(headers: &HeaderMap) -> Option<(String, String)> {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Some((get(TIMESTAMP_HEADER)?, get(SIGNATURE_HEADER)?))
}

fn refuse(error: SignatureError) -> Response {
    tracing::warn!(reason = %error, "refused a Slack request");
    (StatusCode::UNAUTHORIZED, "invalid Slack signature").into_response()
}

/// What Slack posts to the slash-command URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashRequest {
    /// Slack checking the server's certificate (`ssl_check=1`); it only wants a 200.
    SslCheck,
    Command(SlashCommand),
}

/// The fields of a slash command Kushim reads (Slack sends more, form-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    pub command: String,
    pub text: String,
    pub user_id: String,
    pub channel_id: String,
}

/// What was wrong with a slash command's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the body is not UTF-8")]
    NotUtf8,
    #[error("the form has no `{0}` field")]
    MissingField(&'static str),
}

impl SlashRequest {
    /// Reads Slack's `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<SlashRequest, FormError> {
        std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if field("ssl_check").as_deref() == Some("1") {
            return Ok(SlashRequest::SslCheck);
        }
        let required = |name: &'static str| field(name).ok_or(FormError::MissingField(name));
        Ok(SlashRequest::Command(SlashCommand {
            command: required("command")?,
            text: required("text")?,
            user_id: required("user_id")?,
            channel_id: field("channel_id").unwrap_or_default(),
        }))
    }
}

/// `POST /slack/commands`: answers within Slack's three seconds with an ephemeral reply.
pub async fn commands(State(state): State<AppState>, Verified(body): Verified) -> Response {
    let slash = match SlashRequest::from_form(&body) {
        Ok(SlashRequest::Command(slash)) => slash,
        Ok(SlashRequest::SslCheck) => return StatusCode::OK.into_response(),
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    let span = tracing::info_span!(
        "slash_command",
        command = %slash.command,
        user = %slash.user_id,
        channel = %slash.channel_id,
    );
    let reply = async {
        match tokio::time::timeout(ANSWER_WITHIN, answer(&state, &slash.text)).await {
            Ok(reply) => reply,
            Err(_) => {
                tracing::warn!("the answer took longer than Slack waits");
                Reply::sentence(text::too_slow())
            }
        }
    }
    .instrument(span)
    .await;
    Json(reply.to_slack()).into_response()
}

/// The reply to one command line. A person's mistake is an answer; an internal error is logged
/// with its cause and answered generically.
async fn answer(state: &AppState, line: &str) -> Reply {
    let command = match commands::parse(line, state.engine().catalog()) {
        Ok(command) => command,
        Err(error) => return Reply::sentence(text::parse_error(&error)),
    };
    tracing::info!(name = command.name().as_str(), "answering");
    match run(state, command).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "answering a command failed");
            Reply::sentence(text::internal_error())
        }
    }
}

async fn run(state: &AppState, command: Command) -> anyhow::Result<Reply> {
    let engine = state.engine();
    let now = state.now();
    Ok(match command {
        Command::Help { command } => Reply::sentence(text::help(command)),
        Command::Status => {
            let refresh = engine.refresh(now).await?;
            let collected = !engine.store().latest_evidence().await?.is_empty();
            reply::status(&StatusView::new(engine.catalog(), &refresh, collected))
        }
        Command::Controls { filter } => {
            let refresh = engine.refresh(now).await?;
            let lines: Vec<_> = views::lines(engine.catalog(), &refresh)
                .into_iter()
                .filter(|line| match &filter {
                    ControlsFilter::All => true,
                    ControlsFilter::Failing => line.state == ControlState::Failing,
                    ControlsFilter::Criterion(id) => {
                        line.criteria.iter().any(|c| c.eq_ignore_ascii_case(id))
                    }
                })
                .collect();
            reply::controls(&filter, &lines)
        }
        Command::Control { id } => {
            let control = engine.control(&id)?.clone();
            let refresh = engine.refresh(now).await?;
            let assessment = refresh
                .assessments
                .iter()
                .find(|a| a.control_id == control.id)
                .ok_or_else(|| anyhow::anyhow!("{} was not assessed", control.id))?;
            let store = engine.store();
            let records = ControlRecords {
                findings: store.latest_findings().await?,
                evidence: store.latest_evidence().await?,
                manual_evidence: store.manual_evidence_of(&control.id).await?,
                exceptions: store.exceptions().await?,
                history: store.transitions_of(&control.id, 20).await?,
            };
            reply::control(&ControlDetail::new(
                engine.catalog(),
                &control,
                assessment,
                refresh.at,
                records,
            ))
        }
        // Parsed and listed in help, but their handlers come in a later increment: say so plainly
        // rather than pretend.
        Command::Evidence { .. }
        | Command::Collect { .. }
        | Command::Ticket { .. }
        | Command::Except { .. }
        | Command::Exceptions
        | Command::Digest
        | Command::Subscribe { .. }
        | Command::Unsubscribe { .. } => Reply::sentence(text::not_available(command.name())),
    })
}

#[cfg(test)]
mod tests;
