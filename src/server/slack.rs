//! Slack's side of the server: request verification, slash commands, interactions and events.
//! The payload handling is shared with Socket Mode ([`super::socket`]): only the transport
//! differs.
//!
//! A request is checked by the [`Verified`] extractor before anything reads its body: Slack signs
//! `v0:{timestamp}:{body}` with HMAC-SHA256 and the app's signing secret, and a request older than
//! five minutes is refused so a captured request cannot be replayed later. Anything that fails
//! gets 401 and changes nothing.

use std::{collections::HashMap, time::Duration};

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use tracing::Instrument;

use super::AppState;
use crate::{
    chat::{
        actions::Action,
        bot::{
            Asker, Bot, COMPENSATING_BLOCK, Click, EXCEPTION_FORM, EXPIRY_BLOCK, ExceptionForm,
            FormErrors, REASON_BLOCK, Surface,
        },
        reply::Reply,
        slack::MessageRef,
        text,
    },
    config::Secret,
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

impl SignatureError {
    /// A label for metrics.
    pub fn kind(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing",
            SignatureError::BadTimestamp => "bad_timestamp",
            SignatureError::Stale => "stale",
            SignatureError::Malformed => "malformed",
            SignatureError::Mismatch => "mismatch",
        }
    }
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
    metrics::counter!("kushim_signature_failures_total", "reason" => error.kind()).increment(1);
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
    pub response_url: Option<String>,
    pub trigger_id: Option<String>,
}

/// What was wrong with a request's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the body is not UTF-8")]
    NotUtf8,
    #[error("the form has no `{0}` field")]
    MissingField(&'static str),
    #[error("the payload is not what Slack sends: {0}")]
    BadPayload(String),
}

fn form_fields(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
    Ok(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

impl SlashRequest {
    /// Reads Slack's `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<SlashRequest, FormError> {
        let fields = form_fields(body)?;
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
            response_url: field("response_url").filter(|url| !url.is_empty()),
            trigger_id: field("trigger_id").filter(|id| !id.is_empty()),
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
    let asker = Asker {
        user: slash.user_id,
        channel: slash.channel_id,
        response_url: slash.response_url,
        trigger_id: slash.trigger_id,
    };
    let reply = async {
        match tokio::time::timeout(ANSWER_WITHIN, state.bot().command(&asker, &slash.text)).await {
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

/// An interaction payload: the fields Kushim reads, as Slack sends them. Unknown fields are
/// ignored, so Slack adding fields never breaks a click.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Interaction {
    BlockActions {
        user: SlackUser,
        #[serde(default)]
        channel: Option<SlackChannel>,
        #[serde(default)]
        container: Option<Container>,
        #[serde(default)]
        response_url: Option<String>,
        #[serde(default)]
        trigger_id: Option<String>,
        actions: Vec<ClickedAction>,
    },
    ViewSubmission {
        user: SlackUser,
        view: SubmittedView,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct SlackUser {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct SlackChannel {
    pub id: String,
}

/// Where the clicked button was.
#[derive(Debug, Deserialize)]
pub struct Container {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub message_ts: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub is_ephemeral: bool,
}

#[derive(Debug, Deserialize)]
pub struct ClickedAction {
    pub action_id: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SubmittedView {
    #[serde(default)]
    pub callback_id: String,
    #[serde(default)]
    pub private_metadata: String,
    #[serde(default)]
    pub state: ViewState,
}

#[derive(Debug, Default, Deserialize)]
pub struct ViewState {
    /// block id → action id → the input's value.
    #[serde(default)]
    pub values: HashMap<String, HashMap<String, InputValue>>,
}

/// A form input's value: `value` for text inputs, `selected_date` for date pickers.
#[derive(Debug, Default, Deserialize)]
pub struct InputValue {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub selected_date: Option<String>,
}

impl Interaction {
    /// Reads the `payload` field of Slack's form body.
    pub fn from_form(body: &[u8]) -> Result<Interaction, FormError> {
        let fields = form_fields(body)?;
        let payload = fields
            .into_iter()
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v)
            .ok_or(FormError::MissingField("payload"))?;
        serde_json::from_str(&payload).map_err(|error| FormError::BadPayload(error.to_string()))
    }
}

impl SubmittedView {
    fn text(&self, block: &str) -> Option<String> {
        self.state.values.get(block)?.values().find_map(|input| input.value.clone())
    }

    fn date(&self, block: &str) -> Option<NaiveDate> {
        let value = self.state.values.get(block)?.values().find_map(|i| i.selected_date.clone())?;
        NaiveDate::parse_from_str(&value, "%Y-%m-%d").ok()
    }
}

/// `POST /slack/interactions`: button clicks are acknowledged at once and carried out in the
/// background (the answer arrives by `chat.update` or `response_url`); a submitted form is
/// validated before answering, so its errors show beside the fields.
pub async fn interactions(State(state): State<AppState>, Verified(body): Verified) -> Response {
    let interaction = match Interaction::from_form(&body) {
        Ok(interaction) => interaction,
        Err(error) => {
            tracing::warn!(%error, "refused a malformed interaction");
            return (StatusCode::BAD_REQUEST, error.to_string()).into_response();
        }
    };
    handle_interaction(state.bot(), interaction).await.into_response()
}

/// What Slack gets back for an interaction.
#[derive(Debug)]
pub enum InteractionAnswer {
    /// A plain acknowledgement (and, for a form, "close it").
    Ack,
    /// The form stays open with these errors beside its fields.
    FormErrors(FormErrors),
    /// The interaction was not usable.
    Malformed(&'static str),
}

impl IntoResponse for InteractionAnswer {
    fn into_response(self) -> Response {
        match self {
            InteractionAnswer::Ack => StatusCode::OK.into_response(),
            InteractionAnswer::FormErrors(errors) => {
                Json(json!({ "response_action": "errors", "errors": errors })).into_response()
            }
            InteractionAnswer::Malformed(why) => (StatusCode::BAD_REQUEST, why).into_response(),
        }
    }
}

/// Shared by HTTP and Socket Mode: what to answer Slack for an interaction.
pub async fn handle_interaction(bot: &Bot, interaction: Interaction) -> InteractionAnswer {
    match interaction {
        Interaction::BlockActions {
            user,
            channel,
            container,
            response_url,
            trigger_id,
            actions,
        } => {
            let Some(clicked) = actions.into_iter().next() else {
                return InteractionAnswer::Malformed("no action");
            };
            let channel_id = channel
                .map(|c| c.id)
                .or_else(|| container.as_ref().and_then(|c| c.channel_id.clone()))
                .unwrap_or_default();
            let asker =
                Asker { user: user.id, channel: channel_id.clone(), response_url, trigger_id };
            let span = tracing::info_span!("click", action = %clicked.action_id, user = %asker.user, channel = %asker.channel);
            let Some(action) = Action::from_id(&clicked.action_id) else {
                // A button this version never made: nothing to do, and nothing is changed.
                span.in_scope(|| tracing::warn!("unknown action_id"));
                return InteractionAnswer::Ack;
            };
            let surface = match container {
                Some(c) if c.kind == "view" => Surface::Home,
                Some(c) if c.is_ephemeral => Surface::Ephemeral,
                Some(Container { message_ts: Some(ts), .. }) if !channel_id.is_empty() => {
                    Surface::Message(MessageRef { channel: channel_id, ts })
                }
                _ => Surface::Ephemeral,
            };
            let click = Click { asker, action, value: clicked.value.unwrap_or_default(), surface };
            let bot = bot.clone();
            bot.clone().spawn_tracked(async move { bot.click(click).await }.instrument(span));
            InteractionAnswer::Ack
        }
        Interaction::ViewSubmission { user, view } if view.callback_id == EXCEPTION_FORM => {
            let (control_id, channel) = view
                .private_metadata
                .split_once('|')
                .map(|(control, channel)| (control.to_owned(), channel.to_owned()))
                .unwrap_or_else(|| (view.private_metadata.clone(), String::new()));
            let form = ExceptionForm {
                control_id,
                channel,
                reason: view.text(REASON_BLOCK).unwrap_or_default(),
                expires_on: view.date(EXPIRY_BLOCK),
                compensating_control: view.text(COMPENSATING_BLOCK),
            };
            let asker = Asker { user: user.id, ..Asker::default() };
            match bot.submit_exception(&asker, form).await {
                // An empty 200 closes the modal.
                Ok(()) => InteractionAnswer::Ack,
                Err(errors) => InteractionAnswer::FormErrors(errors),
            }
        }
        Interaction::ViewSubmission { .. } | Interaction::Other => InteractionAnswer::Ack,
    }
}

/// An Events API delivery: the fields Kushim reads.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventDelivery {
    UrlVerification {
        challenge: String,
    },
    EventCallback {
        event_id: String,
        event: Event,
        #[serde(default)]
        authorizations: Vec<Authorization>,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct Authorization {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub is_bot: bool,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    AppMention {
        user: String,
        text: String,
        channel: String,
        ts: String,
        #[serde(default)]
        thread_ts: Option<String>,
    },
    AppHomeOpened {
        user: String,
        #[serde(default)]
        tab: Option<String>,
    },
    #[serde(other)]
    Other,
}

/// `POST /slack/events`: the Events API. Answered at once; the work happens in the background.
/// Each event id is acted on once, however often Slack retries it.
pub async fn events(State(state): State<AppState>, Verified(body): Verified) -> Response {
    let delivery: EventDelivery = match serde_json::from_slice(&body) {
        Ok(delivery) => delivery,
        Err(error) => {
            tracing::warn!(%error, "refused a malformed event");
            return (
                StatusCode::BAD_REQUEST,
                format!("the payload is not what Slack sends: {error}"),
            )
                .into_response();
        }
    };
    match handle_event(state.bot(), delivery).await {
        EventAnswer::Ack => StatusCode::OK.into_response(),
        EventAnswer::Challenge(challenge) => {
            Json(json!({ "challenge": challenge })).into_response()
        }
        // Not acknowledged, so Slack retries it later rather than it being lost.
        EventAnswer::RetryLater => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// What Slack gets back for an event.
#[derive(Debug, PartialEq, Eq)]
pub enum EventAnswer {
    Ack,
    /// The `url_verification` handshake.
    Challenge(String),
    /// The event could not be recorded; Slack should deliver it again.
    RetryLater,
}

/// Shared by HTTP and Socket Mode: acts on an event (once per event id) and says what to answer.
pub async fn handle_event(bot: &Bot, delivery: EventDelivery) -> EventAnswer {
    match delivery {
        EventDelivery::UrlVerification { challenge } => EventAnswer::Challenge(challenge),
        EventDelivery::EventCallback { event_id, event, authorizations } => {
            let span = tracing::info_span!("event", event_id = %event_id);
            match bot.engine().store().first_sighting_of_event(&event_id, bot.now()).await {
                Ok(true) => {}
                Ok(false) => {
                    span.in_scope(|| tracing::info!("a retried event, already handled"));
                    return EventAnswer::Ack;
                }
                Err(error) => {
                    span.in_scope(|| tracing::error!(%error, "cannot record an event"));
                    return EventAnswer::RetryLater;
                }
            }
            let bot_user = authorizations
                .iter()
                .find(|a| a.is_bot)
                .or(authorizations.first())
                .and_then(|a| a.user_id.clone());
            let worker = bot.clone();
            match event {
                Event::AppMention { user, text, channel, ts, thread_ts } => {
                    let asker = Asker { user, channel, ..Asker::default() };
                    let thread = thread_ts.unwrap_or(ts);
                    let bot_user = bot_user.unwrap_or_default();
                    bot.spawn_tracked(
                        async move { worker.answer_mention(&asker, &text, &bot_user, &thread).await }
                            .instrument(span),
                    );
                }
                Event::AppHomeOpened { user, tab } if tab.as_deref() != Some("messages") => {
                    bot.spawn_tracked(
                        async move {
                            if let Err(error) = worker.publish_home(&user).await {
                                tracing::warn!(%error, "cannot publish the App Home");
                            }
                        }
                        .instrument(span),
                    );
                }
                Event::AppHomeOpened { .. } | Event::Other => {}
            }
            EventAnswer::Ack
        }
        EventDelivery::Other => EventAnswer::Ack,
    }
}

#[cfg(test)]
mod tests;
