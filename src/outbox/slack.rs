//! The outbox's [`Messenger`] for Slack: the Web API client posting, updating and finding
//! messages, with Slack's answers sorted into retry-later, rate-limited and refused.

use super::{DeliveryError, MessageBody, MessageId, Messenger};
use crate::chat::slack::{MessageRef, SlackApiError, SlackWebApi};

/// The metadata event type Kushim's outbox posts carry (Slack: `metadata.event_type`).
pub const OUTBOX_EVENT: &str = "kushim_outbox";

/// Slack error codes that a retry will not fix.
const FINAL: [&str; 9] = [
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "account_inactive",
    "missing_scope",
    "invalid_blocks",
];

fn delivery_error(error: SlackApiError) -> DeliveryError {
    match &error {
        SlackApiError::RateLimited { retry_after, .. } => DeliveryError::RateLimited {
            retry_after: retry_after.unwrap_or(std::time::Duration::from_secs(1)),
        },
        SlackApiError::Refused { code, .. } if code == "message_not_found" => DeliveryError::Gone,
        SlackApiError::Refused { code, .. } if FINAL.contains(&code.as_str()) => {
            DeliveryError::Rejected(error.to_string())
        }
        _ => DeliveryError::Failed(error.to_string()),
    }
}

impl Messenger for SlackWebApi {
    async fn post(
        &self,
        channel: &str,
        body: &MessageBody,
        dedupe_key: &str,
    ) -> Result<MessageId, DeliveryError> {
        let posted = self
            .post_blocks(channel, &body.text, &body.blocks, Some((OUTBOX_EVENT, dedupe_key)))
            .await
            .map_err(delivery_error)?;
        Ok(posted.ts)
    }

    async fn update(
        &self,
        channel: &str,
        id: &str,
        body: &MessageBody,
    ) -> Result<(), DeliveryError> {
        let message = MessageRef { channel: channel.to_owned(), ts: id.to_owned() };
        self.update_blocks(&message, &body.text, &body.blocks).await.map_err(delivery_error)
    }

    async fn find_posted(
        &self,
        channel: &str,
        dedupe_key: &str,
    ) -> Result<Option<MessageId>, DeliveryError> {
        self.find_by_metadata(channel, OUTBOX_EVENT, dedupe_key).await.map_err(delivery_error)
    }
}
