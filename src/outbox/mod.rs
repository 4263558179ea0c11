//! Delivering the outbox: every message Kushim posts on its own (alerts, digests, reminders) is
//! queued in the store first ([`Store::enqueue_message`]) and sent from here.
//!
//! - **Once.** A message carries a dedupe key; a send interrupted by a crash is looked up
//!   ([`Messenger::find_posted`]) before anything is posted again.
//! - **In place.** A message already shown is edited ([`Messenger::update`], Slack's
//!   `chat.update`), not posted again.
//! - **Paced.** At most one message per channel per [`PACE`] (Slack's documented rate for
//!   posting), and a 429's `Retry-After` rests the channel that long; messages of one channel
//!   go out in order.
//! - **Retried.** A failed send is retried with backoff on the channel, up to
//!   [`MAX_SEND_ATTEMPTS`]; a refusal (no such channel, not invited) is final.
//!
//! [`Dispatcher::deliver_due`] sends what is due at one instant and returns, so tests step it
//! with a manual clock; [`Dispatcher::run`] loops until stopped. [`slack`] is the Slack
//! messenger.

pub mod slack;

use std::{future::Future, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::Instrument;

use crate::{
    chat::reply::Reply,
    jobs::Backoff,
    server::Clock,
    store::{OutboxMessage, Store, StoreError},
};

/// The gap between two messages to one channel.
pub const PACE: TimeDelta = TimeDelta::seconds(1);
/// Sends of one message before it is marked failed.
pub const MAX_SEND_ATTEMPTS: i64 = 8;

/// A message as queued: Block Kit for Slack, and the same content as plain text for terminals
/// and notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageBody {
    /// Notification and fallback text.
    pub text: String,
    /// Block Kit blocks, already within Slack's limits and escaped.
    pub blocks: serde_json::Value,
    /// The message for a terminal.
    pub plain: String,
}

impl MessageBody {
    pub fn from_reply(reply: &Reply) -> MessageBody {
        MessageBody {
            text: reply.slack_fallback(),
            blocks: serde_json::Value::Array(reply.slack_blocks()),
            plain: reply.to_plain_text(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a message body serialises")
    }

    pub fn from_json(text: &str) -> Result<MessageBody, DeliveryError> {
        serde_json::from_str(text)
            .map_err(|e| DeliveryError::Rejected(format!("unreadable queued message: {e}")))
    }
}

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Slow down: try the channel again after this long.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Worth retrying (network, 5xx).
    #[error("{0}")]
    Failed(String),
    /// The message to update is no longer there (someone deleted it).
    #[error("the message to update was deleted")]
    Gone,
    /// Will never work as it is (unknown channel, bot not in the channel, bad token).
    #[error("refused: {0}")]
    Rejected(String),
}

/// The platform's id of a posted message (Slack's `ts`).
pub type MessageId = String;

/// Where messages go: the Slack Web API in production, a recording double in tests.
pub trait Messenger: Send + Sync {
    /// Posts a new message that carries `dedupe_key` (Slack: message metadata).
    fn post(
        &self,
        channel: &str,
        body: &MessageBody,
        dedupe_key: &str,
    ) -> impl Future<Output = Result<MessageId, DeliveryError>> + Send;

    /// Replaces the content of a message posted earlier.
    fn update(
        &self,
        channel: &str,
        id: &str,
        body: &MessageBody,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;

    /// A message posted earlier with `dedupe_key`, if there is one.
    fn find_posted(
        &self,
        channel: &str,
        dedupe_key: &str,
    ) -> impl Future<Output = Result<Option<MessageId>, DeliveryError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to one message in a delivery step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Posted {
        message: i64,
        channel: String,
        id: MessageId,
    },
    Updated {
        message: i64,
        channel: String,
        id: MessageId,
    },
    /// A crashed send had gone through: found and brought up to date instead of posted again.
    Recovered {
        message: i64,
        channel: String,
        id: MessageId,
    },
    Deferred {
        message: i64,
        channel: String,
        until: DateTime<Utc>,
        error: String,
    },
    GaveUp {
        message: i64,
        channel: String,
        error: String,
    },
}

/// Sends queued messages through a [`Messenger`].
pub struct Dispatcher<M> {
    store: Store,
    messenger: M,
    name: String,
    clock: Clock,
    lease: TimeDelta,
}

impl<M: Messenger> Dispatcher<M> {
    pub fn new(store: Store, messenger: M, name: impl Into<String>, clock: Clock) -> Dispatcher<M> {
        Dispatcher { store, messenger, name: name.into(), clock, lease: TimeDelta::seconds(60) }
    }

    /// How long a claimed send may take before another sender treats it as interrupted
    /// (default 60 s).
    pub fn with_lease(self, lease: TimeDelta) -> Dispatcher<M> {
        Dispatcher { lease, ..self }
    }

    pub fn messenger(&self) -> &M {
        &self.messenger
    }

    /// Sends every message that may go out now: at most one per channel, since a send rests
    /// its channel for [`PACE`].
    pub async fn deliver_due(&self) -> Result<Vec<Delivery>, OutboxError> {
        let now = (self.clock)();
        let mut deliveries = Vec::new();
        while let Some(message) = self.store.claim_next_message(&self.name, now, self.lease).await?
        {
            let span = tracing::info_span!(
                "outbox",
                message = message.id,
                channel = %message.channel,
                kind = %message.kind,
                key = %message.key,
                attempt = message.attempts,
            );
            deliveries.push(self.deliver(message, now).instrument(span).await?);
        }
        Ok(deliveries)
    }

    /// Delivers until `stop` turns true, checking for due messages every `poll`.
    pub async fn run(&self, poll: Duration, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            if let Err(error) = self.deliver_due().await {
                tracing::error!(%error, "the outbox is unavailable");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn deliver(
        &self,
        message: OutboxMessage,
        now: DateTime<Utc>,
    ) -> Result<Delivery, OutboxError> {
        let (id, channel) = (message.id, message.channel.clone());
        let result = match MessageBody::from_json(&message.body) {
            Ok(body) => self.send(&message, &body).await,
            Err(error) => Err(error),
        };
        let delivery = match result {
            Ok((platform_id, how)) => {
                self.store
                    .message_delivered(id, &self.name, &platform_id, message.version, now + PACE)
                    .await?;
                tracing::info!(message_id = %platform_id, "message delivered");
                how(id, channel, platform_id)
            }
            Err(DeliveryError::RateLimited { retry_after }) => {
                let until = now + TimeDelta::from_std(retry_after).unwrap_or(PACE).max(PACE);
                let error = format!("rate limited until {until}");
                self.store.message_not_delivered(id, &self.name, &error, false, until).await?;
                tracing::info!(%until, "rate limited: the channel rests");
                Delivery::Deferred { message: id, channel, until, error }
            }
            Err(DeliveryError::Failed(error)) if message.attempts < MAX_SEND_ATTEMPTS => {
                let until = now
                    + Backoff { base: TimeDelta::seconds(2), cap: TimeDelta::minutes(10) }
                        .delay(id, message.attempts);
                self.store.message_not_delivered(id, &self.name, &error, false, until).await?;
                tracing::warn!(%error, %until, "send failed; will retry");
                Delivery::Deferred { message: id, channel, until, error }
            }
            Err(error) => {
                let error = error.to_string();
                self.store.message_not_delivered(id, &self.name, &error, true, now + PACE).await?;
                tracing::error!(%error, "message given up");
                Delivery::GaveUp { message: id, channel, error }
            }
        };
        Ok(delivery)
    }

    /// Posts, updates, or recovers a message whose earlier send may have gone through.
    #[allow(clippy::type_complexity)]
    async fn send(
        &self,
        message: &OutboxMessage,
        body: &MessageBody,
    ) -> Result<(MessageId, fn(i64, String, MessageId) -> Delivery), DeliveryError> {
        let channel = &message.channel;
        if let Some(id) = &message.message_id {
            match self.messenger.update(channel, id, body).await {
                // Deleted in the channel: the news (a control failing again, say) is posted
                // anew rather than lost.
                Err(DeliveryError::Gone) => {
                    tracing::info!(message_id = %id, "the message was deleted; posting it again");
                }
                result => {
                    result?;
                    return Ok((id.clone(), |message, channel, id| Delivery::Updated {
                        message,
                        channel,
                        id,
                    }));
                }
            }
        }
        let dedupe = message.dedupe_key();
        // An earlier attempt may have posted and then died before recording it.
        if message.in_doubt
            && let Some(id) = self.messenger.find_posted(channel, &dedupe).await?
        {
            self.messenger.update(channel, &id, body).await?;
            return Ok((id, |message, channel, id| Delivery::Recovered { message, channel, id }));
        }
        let id = self.messenger.post(channel, body, &dedupe).await?;
        Ok((id, |message, channel, id| Delivery::Posted { message, channel, id }))
    }
}
