//! Slack's Web API, through `slack-morphism`: posting and updating messages, ephemeral replies,
//! modals, the App Home tab, `response_url` follow-ups, and resolving user groups for roles.
//!
//! The base URL is configurable (`SLACK_API_URL`) so tests and the sandbox point the real client
//! at a fake Slack on 127.0.0.1. slack-morphism's own connector is HTTPS-only, so the connector
//! is built here with the same type, allowing `http://` only for loopback addresses.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use slack_morphism::{errors::SlackClientError, prelude::*};
use url::Url;

use crate::{chat::reply::Reply, config::Secret};

/// Where a posted message lives: what `chat.update` needs to change it in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub channel: String,
    pub ts: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SlackApiError {
    /// Slack answered 429: come back after `retry_after` (Slack always sends it; absent means
    /// "soon").
    #[error("Slack rate-limited {method}; retry after {retry_after:?}")]
    RateLimited { method: &'static str, retry_after: Option<Duration> },
    /// Slack answered `{"ok": false, "error": …}`: `invalid_auth`, `channel_not_found`,
    /// `not_in_channel`, `expired_trigger_id`, …
    #[error("Slack refused {method}: {code}{}", hint(code))]
    Refused { method: &'static str, code: String },
    /// The request did not get a Slack answer (connection, TLS, HTTP error, unreadable body).
    #[error("Slack {method} failed: {detail}")]
    Transport { method: &'static str, detail: String },
    #[error("the Slack API URL {0:?} is not a URL")]
    BadUrl(String),
    /// Anything but `https://`, except `http://` to this machine (a fake Slack in tests and the
    /// sandbox): tokens never travel in the clear.
    #[error(
        "the Slack API URL {0:?} must start with https:// (plain http only to 127.0.0.1 or localhost)"
    )]
    InsecureUrl(String),
    /// A `response_url` that does not point at Slack (or the configured API host).
    #[error("refusing to send to {0}: not a Slack response URL")]
    ForeignResponseUrl(String),
    #[error("cannot set up the HTTPS client: {0}")]
    Tls(String),
}

/// What to do about the codes people can fix.
fn hint(code: &str) -> &'static str {
    match code {
        "invalid_auth" | "not_authed" | "token_revoked" | "account_inactive" => {
            " (check SLACK_BOT_TOKEN: the bot token from OAuth & Permissions, xoxb-…)"
        }
        "not_in_channel" => " (invite Kushim to the channel: /invite @Kushim)",
        "channel_not_found" => " (the channel does not exist or Kushim cannot see it)",
        "missing_scope" => " (reinstall the app from `kushim manifest slack` to grant its scopes)",
        _ => "",
    }
}

impl SlackApiError {
    fn from_client(method: &'static str, error: SlackClientError) -> SlackApiError {
        match error {
            SlackClientError::RateLimitError(limit) => {
                SlackApiError::RateLimited { method, retry_after: limit.retry_after }
            }
            SlackClientError::ApiError(api) => SlackApiError::Refused { method, code: api.code },
            other => SlackApiError::Transport { method, detail: other.to_string() },
        }
    }

    /// How long to wait before trying again, when trying again can help.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SlackApiError::RateLimited { retry_after, .. } => {
                Some(retry_after.unwrap_or(Duration::from_secs(1)))
            }
            SlackApiError::Transport { .. } => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

/// A Slack Web API client with the bot token. Cheap to clone.
#[derive(Clone)]
pub struct SlackWebApi {
    client: Arc<SlackHyperClient>,
    token: SlackApiToken,
    api_url: Url,
}

impl SlackWebApi {
    /// A client for the Web API at `api_url` (`https://slack.com/api`, or a fake's
    /// `http://127.0.0.1:PORT/api`) with `token`: the bot's, or (for the evidence collector)
    /// whichever token reads the workspace.
    pub fn new(api_url: &str, token: &Secret) -> Result<SlackWebApi, SlackApiError> {
        install_crypto_provider();
        let parsed = Url::parse(api_url).map_err(|_| SlackApiError::BadUrl(api_url.into()))?;
        // Plain HTTP only to a fake on this machine; Slack itself is always HTTPS.
        let plain_http_allowed = match parsed.scheme() {
            "https" => false,
            "http" if is_loopback(&parsed) => true,
            _ => return Err(SlackApiError::InsecureUrl(api_url.into())),
        };
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| SlackApiError::Tls(error.to_string()))?;
        let https = if plain_http_allowed {
            builder.https_or_http().enable_http1().build()
        } else {
            builder.https_only().enable_http1().build()
        };
        let connector = SlackClientHyperConnector::with_connector(https)
            .with_slack_api_url(api_url.trim_end_matches('/'));
        Ok(SlackWebApi {
            client: Arc::new(SlackClient::new(connector)),
            token: SlackApiToken::new(token.expose().to_owned().into()),
            api_url: parsed,
        })
    }

    /// `chat.postMessage`: posts `reply` in `channel` (in a thread when `thread_ts` is given).
    pub async fn post_message(
        &self,
        channel: &str,
        reply: &Reply,
        thread_ts: Option<&str>,
    ) -> Result<MessageRef, SlackApiError> {
        let mut request = SlackApiChatPostMessageRequest::new(channel.into(), content(reply)?);
        request.thread_ts = thread_ts.map(|ts| ts.to_owned().into());
        self.send_post(request).await
    }

    /// `chat.update`: replaces the message at `message` with `reply`.
    pub async fn update_message(
        &self,
        message: &MessageRef,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        self.update_blocks(message, &reply.slack_fallback(), &Value::Array(reply.slack_blocks()))
            .await
    }

    /// `chat.postEphemeral`: `reply` shown only to `user` in `channel`.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        reply: &Reply,
    ) -> Result<(), SlackApiError> {
        const METHOD: &str = "chat.postEphemeral";
        let request =
            SlackApiChatPostEphemeralRequest::new(channel.into(), user.into(), content(reply)?);
        self.session()
            .chat_post_ephemeral(&request)
            .await
            .map_err(|e| SlackApiError::from_client(METHOD, e))?;
        Ok(())
    }

    /// `views.open`: shows a modal; `trigger_id` comes from the click or command (valid 3 s).
    pub async fn open_view(&self, trigger_id: &str, view: Value) -> Result<(), SlackApiError> {
        const METHOD: &str = "views.open";
        let view: SlackView = serde_json::from_value(view).map_err(|error| {
            SlackApiError::Transport { method: METHOD, detail: format!("bad view: {error}") }
        })?;
        let request = SlackApiViewsOpenRequest::new(trigger_id.to_owned().into(), view);
        self.session()
            .views_open(&request)
            .await
            .map_err(|e| SlackApiError::from_client(METHOD, e))?;
        Ok(())
    }

    /// `views.publish`: sets `user`'s App Home tab.
    pub async fn publish_home(&self, user: &str, view: Value) -> Result<(), SlackApiError> {
        const METHOD: &str = "views.publish";
        let view: SlackView = serde_json::from_value(view).map_err(|error| {
            SlackApiError::Transport { method: METHOD, detail: format!("bad view: {error}") }
        })?;
        let request = SlackApiViewsPublishRequest::new(user.into(), view);
        self.session()
            .views_publish(&request)
            .await
            .map_err(|e| SlackApiError::from_client(METHOD, e))?;
        Ok(())
    }

    /// Answers through a command's or click's `response_url`: `replace_original` updates the
    /// message the button was on, otherwise a new ephemeral message follows.
    pub async fn respond(
        &self,
        response_url: &str,
        reply: &Reply,
        replace_original: bool,
    ) -> Result<(), SlackApiError> {
        const METHOD: &str = "response_url";
        let url = self.checked_response_url(response_url)?;
        let mut request = SlackApiPostWebhookMessageRequest::new(content(reply)?);
        request.replace_original = Some(replace_original);
        self.client
            .post_webhook_message(&url, &request)
            .await
            .map_err(|e| SlackApiError::from_client(METHOD, e))?;
        Ok(())
    }

    /// The members of the user group with this handle (without `@`); empty when there is none.
    pub async fn user_group_members(&self, handle: &str) -> Result<Vec<String>, SlackApiError> {
        let session = self.session();
        let groups = session
            .usergroups_list(&SlackApiUserGroupsListRequest::new())
            .await
            .map_err(|e| SlackApiError::from_client("usergroups.list", e))?;
        let Some(group) = groups.usergroups.into_iter().find(|g| g.handle == handle) else {
            return Ok(Vec::new());
        };
        let users = session
            .usergroups_users_list(&SlackApiUserGroupsUsersListRequest::new(group.id))
            .await
            .map_err(|e| SlackApiError::from_client("usergroups.users.list", e))?;
        Ok(users.users.into_iter().map(|user| user.to_string()).collect())
    }

    /// The underlying client, for Socket Mode (which opens its connection through it).
    pub fn client(&self) -> Arc<SlackHyperClient> {
        self.client.clone()
    }

    /// A session with this client's token, for Web API methods this type does not wrap (the
    /// evidence collector's `auth.test` and `users.list`).
    pub(crate) fn session(&self) -> SlackClientSession<'_, SlackClientHyperHttpsConnector> {
        self.client.open_session(&self.token)
    }

    /// A `response_url` is only followed to Slack's hooks host or the configured API's host: it
    /// arrives inside a signed request, but following any URL would make Kushim a proxy.
    fn checked_response_url(&self, response_url: &str) -> Result<Url, SlackApiError> {
        let foreign = || SlackApiError::ForeignResponseUrl(response_url.to_owned());
        let url = Url::parse(response_url).map_err(|_| foreign())?;
        let slack_hooks = url.scheme() == "https" && url.host_str() == Some("hooks.slack.com");
        let configured_api = url.origin() == self.api_url.origin();
        if slack_hooks || configured_api { Ok(url) } else { Err(foreign()) }
    }
}

/// A reply as message content: the fallback text and the blocks.
fn content(reply: &Reply) -> Result<SlackMessageContent, SlackApiError> {
    block_content("encode blocks", &reply.slack_fallback(), &Value::Array(reply.slack_blocks()))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// rustls is built with two crypto back-ends in this program (ring for Slack's and sqlx's TLS,
/// aws-lc-rs for AWS's and GitHub's), and then refuses to guess: the process default is set once,
/// before the first TLS client is built.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// What the outbox sends: blocks rendered when the message was queued, and a metadata key by
/// which a post can be found again after a crash ([`SlackWebApi::find_by_metadata`]).
impl SlackWebApi {
    /// `chat.postMessage` with prebuilt Block Kit `blocks`, carrying `metadata`
    /// (`event_type`, `key`) when given.
    pub async fn post_blocks(
        &self,
        channel: &str,
        text: &str,
        blocks: &Value,
        metadata: Option<(&str, &str)>,
    ) -> Result<MessageRef, SlackApiError> {
        const METHOD: &str = "chat.postMessage";
        let mut content = block_content(METHOD, text, blocks)?;
        content.metadata = metadata.map(|(event_type, key)| SlackMessageMetadata {
            event_type: event_type.to_owned(),
            event_payload: Some([("key".to_owned(), key.to_owned())].into_iter().collect()),
        });
        self.send_post(SlackApiChatPostMessageRequest::new(channel.into(), content)).await
    }

    /// `chat.postMessage`, however its content was built.
    async fn send_post(
        &self,
        request: SlackApiChatPostMessageRequest,
    ) -> Result<MessageRef, SlackApiError> {
        const METHOD: &str = "chat.postMessage";
        let response = self
            .session()
            .chat_post_message(&request)
            .await
            .map_err(|e| SlackApiError::from_client(METHOD, e))?;
        Ok(MessageRef { channel: response.channel.to_string(), ts: response.ts.to_string() })
    }

    /// `chat.update` with prebuilt blocks.
    pub async fn update_blocks(
        &self,
        message: &MessageRef,
        text: &str,
        blocks: &Value,
    ) -> Result<(), SlackApiError> {
        const METHOD: &str = "chat.update";
        let request = SlackApiChatUpdateRequest::new(
            message.channel.clone().into(),
            block_content(METHOD, text, blocks)?,
            message.ts.clone().into(),
        );
        self.session()
            .chat_update(&request)
            .await
            .map_err(|e| SlackApiError::from_client(METHOD, e))?;
        Ok(())
    }

    /// `conversations.history`: the `ts` of the newest of the channel's latest 100 messages that
    /// carries metadata `event_type` with this `key`.
    pub async fn find_by_metadata(
        &self,
        channel: &str,
        event_type: &str,
        key: &str,
    ) -> Result<Option<String>, SlackApiError> {
        const METHOD: &str = "conversations.history";
        let mut request = SlackApiConversationsHistoryRequest::new();
        request.channel = Some(channel.into());
        request.limit = Some(100);
        request.include_all_metadata = Some(true);
        let history = self
            .session()
            .conversations_history(&request)
            .await
            .map_err(|e| SlackApiError::from_client(METHOD, e))?;
        Ok(history
            .messages
            .into_iter()
            .find(|message| {
                message.content.metadata.as_ref().is_some_and(|m| {
                    m.event_type == event_type
                        && m.event_payload.as_ref().and_then(|p| p.get("key")).map(String::as_str)
                            == Some(key)
                })
            })
            .map(|message| message.origin.ts.to_string()))
    }
}

fn block_content(
    method: &'static str,
    text: &str,
    blocks: &Value,
) -> Result<SlackMessageContent, SlackApiError> {
    let blocks: Vec<SlackBlock> = serde_json::from_value(blocks.clone()).map_err(|error| {
        SlackApiError::Transport { method, detail: format!("bad blocks: {error}") }
    })?;
    Ok(SlackMessageContent::new().with_text(text.to_owned()).with_blocks(blocks))
}
