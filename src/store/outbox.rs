//! The outbox of outgoing chat messages, the per-channel pacing, and channel subscriptions.
//!
//! A message is one row per (channel, kind, key): enqueueing the same key again changes that
//! row (and, once delivered, the platform message is updated in place) instead of adding one.
//! Within a channel rows are sent one at a time in the order they were (re)enqueued; a row being
//! sent holds a lease, so a replica that dies mid-send leaves a row another replica recovers.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sqlx::{Row, any::AnyRow};

use super::{Backend, QueryContext, Store, StoreError, from_unix, to_unix};

/// A message to send or to bring up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub channel: String,
    /// `alert`, `digest`, `reminder`, …
    pub kind: String,
    /// What makes two messages the same one (an alert's control id, a digest's date).
    pub key: String,
    /// The rendered message (JSON text the messenger understands).
    pub body: String,
    /// Start a new message instead of editing the existing one if that one was last changed
    /// before this time (an alert about a new incident; `None`: always edit in place).
    pub new_message_if_older_than: Option<DateTime<Utc>>,
}

/// What enqueueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Created,
    /// The body changed: it will be sent again (as an update when it was delivered).
    Changed,
    /// The old message is left as it is and a new one will be posted.
    Reposted,
    /// Identical to what is queued or shown: nothing to do.
    Unchanged,
}

/// Where a message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Pending,
    Sending,
    Delivered,
    /// Given up: the platform refused it, or it failed too often.
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sending => "sending",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<MessageStatus, StoreError> {
        [
            MessageStatus::Pending,
            MessageStatus::Sending,
            MessageStatus::Delivered,
            MessageStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt { context: "outbox status", detail: text.to_owned() })
    }
}

/// A stored outgoing message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub key: String,
    pub body: String,
    pub version: i64,
    pub delivered_version: i64,
    /// The platform's id of the posted message (Slack's `ts`), once posted.
    pub message_id: Option<String>,
    pub generation: i64,
    pub status: MessageStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub enqueued_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An earlier send died midway and may have been posted.
    pub in_doubt: bool,
}

impl OutboxMessage {
    /// The key a post carries so that, after a crash between posting and recording it, the
    /// message can be found instead of posted twice.
    pub fn dedupe_key(&self) -> String {
        format!("kushim-outbox-{}-{}", self.id, self.generation)
    }
}

/// What a channel receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    /// A message when a control changes state, updated in place as it changes again.
    Alerts,
    /// The daily digest.
    Digest,
}

impl Subscription {
    pub const ALL: [Subscription; 2] = [Subscription::Alerts, Subscription::Digest];

    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::Alerts => "alerts",
            Subscription::Digest => "digest",
        }
    }

    pub fn parse(text: &str) -> Option<Subscription> {
        Subscription::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

const MESSAGE_COLUMNS: &str = "id, channel, kind, message_key, body, version, delivered_version, \
    message_id, generation, status, attempts, last_error, enqueued_at, updated_at, in_doubt";

impl Store {
    /// Queues a message, or brings the queued or shown one with the same (channel, kind, key)
    /// up to date.
    pub async fn enqueue_message(
        &self,
        message: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Enqueued, StoreError> {
        // Replicas may race on the same key: each round reads the row and changes it only if
        // nobody else did in between (its version), so at most a few rounds are ever needed.
        for _ in 0..5 {
            let Some(existing) = self.message_by_key(message).await? else {
                let inserted = sqlx::query(
                    "INSERT INTO outbox (channel, kind, message_key, body, version, \
                     delivered_version, generation, status, attempts, in_doubt, enqueued_at, \
                     updated_at) VALUES ($1, $2, $3, $4, 1, 0, 1, 'pending', 0, 0, $5, $5) \
                     ON CONFLICT (channel, kind, message_key) DO NOTHING",
                )
                .bind(&message.channel)
                .bind(&message.kind)
                .bind(&message.key)
                .bind(&message.body)
                .bind(to_unix(now))
                .execute(&self.pool)
                .await
                .context("queue a message")?;
                if inserted.rows_affected() == 1 {
                    return Ok(Enqueued::Created);
                }
                continue;
            };
            let repost = existing.status != MessageStatus::Sending
                && existing.message_id.is_some()
                && message.new_message_if_older_than.is_some_and(|t| existing.updated_at < t);
            if !repost && existing.body == message.body && existing.status != MessageStatus::Failed
            {
                return Ok(Enqueued::Unchanged);
            }
            let changed = sqlx::query(
                "UPDATE outbox SET body = $1, version = version + 1, updated_at = $2, \
                   status = CASE WHEN status = 'sending' THEN 'sending' ELSE 'pending' END, \
                   attempts = CASE WHEN status = 'sending' THEN attempts ELSE 0 END, \
                   enqueued_at = CASE WHEN status = 'sending' THEN enqueued_at ELSE $2 END, \
                   message_id = CASE WHEN $3 = 1 THEN NULL ELSE message_id END, \
                   delivered_version = CASE WHEN $3 = 1 THEN 0 ELSE delivered_version END, \
                   generation = generation + $3 \
                 WHERE id = $4 AND version = $5",
            )
            .bind(&message.body)
            .bind(to_unix(now))
            .bind(i64::from(repost))
            .bind(existing.id)
            .bind(existing.version)
            .execute(&self.pool)
            .await
            .context("update a queued message")?;
            if changed.rows_affected() == 1 {
                return Ok(if repost { Enqueued::Reposted } else { Enqueued::Changed });
            }
        }
        Err(StoreError::Corrupt {
            context: "queue a message",
            detail: format!(
                "{}/{}/{} keeps changing under us",
                message.channel, message.kind, message.key
            ),
        })
    }

    async fn message_by_key(
        &self,
        message: &NewMessage,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        self.outbox_message(&message.channel, &message.kind, &message.key).await
    }

    /// The message queued for `channel` under (`kind`, `key`), if any.
    pub async fn outbox_message(
        &self,
        channel: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE channel = $1 AND kind = $2 AND message_key = $3"
        )))
        .bind(channel)
        .bind(kind)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .context("read a queued message")?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Leases the next message to send to `worker`: the first unsent message of a channel that
    /// is not being paced, whose earlier messages are all sent (order within a channel), or one
    /// whose sender's lease ran out.
    pub async fn claim_next_message(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
    ) -> Result<Option<OutboxMessage>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET status = 'sending', lease_owner = $1, lease_expires_at = $2, \
               attempts = attempts + 1, \
               in_doubt = CASE WHEN status = 'sending' THEN 1 ELSE in_doubt END \
             WHERE id = (SELECT o.id FROM outbox o \
               WHERE (o.status = 'pending' OR (o.status = 'sending' AND o.lease_expires_at <= $3)) \
                 AND NOT EXISTS (SELECT 1 FROM outbox_channels c \
                   WHERE c.channel = o.channel AND c.next_send_at > $3) \
                 AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel \
                   AND e.status IN ('pending', 'sending') \
                   AND (e.enqueued_at < o.enqueued_at OR (e.enqueued_at = o.enqueued_at AND e.id < o.id))) \
               ORDER BY o.enqueued_at, o.id LIMIT 1 {lock}) \
             RETURNING {MESSAGE_COLUMNS}"
        )))
        .bind(worker)
        .bind(to_unix(now + lease))
        .bind(to_unix(now))
        .fetch_optional(&self.pool)
        .await
        .context("claim the next message")?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Records that `version` of a message was sent as platform message `message_id`; the
    /// channel rests until `next_send_at`. A row changed while it was being sent stays pending.
    pub async fn message_delivered(
        &self,
        id: i64,
        worker: &str,
        message_id: &str,
        version: i64,
        next_send_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.context("begin recording a delivery")?;
        let result = sqlx::query(
            "UPDATE outbox SET message_id = $1, delivered_version = $2, last_error = NULL, in_doubt = 0, \
               status = CASE WHEN version = $2 THEN 'delivered' ELSE 'pending' END, \
               attempts = CASE WHEN version = $2 THEN attempts ELSE 0 END, \
               lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $3 AND lease_owner = $4 AND status = 'sending'",
        )
        .bind(message_id)
        .bind(version)
        .bind(id)
        .bind(worker)
        .execute(&mut *tx)
        .await
        .context("record a delivery")?;
        let channel: String = sqlx::query("SELECT channel FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .context("read a message's channel")?
            .get(0);
        pace_channel(&mut tx, &channel, next_send_at).await?;
        tx.commit().await.context("commit a delivery")?;
        Ok(result.rows_affected() == 1)
    }

    /// Records a send that did not go through: the message is pending again (or `failed` when
    /// `give_up`), and its channel rests until `next_send_at` (Retry-After, backoff).
    pub async fn message_not_delivered(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        give_up: bool,
        next_send_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.context("begin recording a failed send")?;
        sqlx::query(
            "UPDATE outbox SET status = $1, last_error = $2, lease_owner = NULL, \
             lease_expires_at = NULL, in_doubt = 0 WHERE id = $3 AND lease_owner = $4 AND status = 'sending'",
        )
        .bind(if give_up { "failed" } else { "pending" })
        .bind(error)
        .bind(id)
        .bind(worker)
        .execute(&mut *tx)
        .await
        .context("record a failed send")?;
        let channel: String = sqlx::query("SELECT channel FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .context("read a message's channel")?
            .get(0);
        pace_channel(&mut tx, &channel, next_send_at).await?;
        tx.commit().await.context("commit a failed send")?;
        Ok(())
    }

    /// Messages, oldest first, optionally of one channel.
    pub async fn outbox_messages(
        &self,
        channel: Option<&str>,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE ($1 = '' OR channel = $1) ORDER BY id"
        )))
        .bind(channel.unwrap_or(""))
        .fetch_all(&self.pool)
        .await
        .context("list outgoing messages")?;
        rows.iter().map(message_from_row).collect()
    }

    /// Messages not delivered yet (pending or being sent).
    pub async fn undelivered_messages(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
            .fetch_one(&self.pool)
            .await
            .context("count undelivered messages")?;
        Ok(row.get(0))
    }

    /// Subscribes `channel` to `what`; `false` when it already was.
    pub async fn subscribe(
        &self,
        channel: &str,
        what: Subscription,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO subscriptions (channel, kind, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (channel, kind) DO NOTHING",
        )
        .bind(channel)
        .bind(what.as_str())
        .bind(to_unix(now))
        .execute(&self.pool)
        .await
        .context("subscribe a channel")?;
        Ok(result.rows_affected() == 1)
    }

    /// Unsubscribes `channel` from `what`; `false` when it was not subscribed.
    pub async fn unsubscribe(&self, channel: &str, what: Subscription) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM subscriptions WHERE channel = $1 AND kind = $2")
            .bind(channel)
            .bind(what.as_str())
            .execute(&self.pool)
            .await
            .context("unsubscribe a channel")?;
        Ok(result.rows_affected() == 1)
    }

    /// The channels subscribed to `what`, in the order they subscribed.
    pub async fn subscribers(&self, what: Subscription) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel FROM subscriptions WHERE kind = $1 ORDER BY created_at, channel",
        )
        .bind(what.as_str())
        .fetch_all(&self.pool)
        .await
        .context("read subscribers")?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

/// Moves a channel's next allowed send time forward (never back).
async fn pace_channel(
    conn: &mut sqlx::AnyConnection,
    channel: &str,
    next_send_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox_channels (channel, next_send_at) VALUES ($1, $2) \
         ON CONFLICT (channel) DO UPDATE SET next_send_at = excluded.next_send_at \
         WHERE outbox_channels.next_send_at < excluded.next_send_at",
    )
    .bind(channel)
    .bind(to_unix(next_send_at))
    .execute(&mut *conn)
    .await
    .context("pace a channel")?;
    Ok(())
}

fn message_from_row(row: &AnyRow) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: row.get(0),
        channel: row.get(1),
        kind: row.get(2),
        key: row.get(3),
        body: row.get(4),
        version: row.get(5),
        delivered_version: row.get(6),
        message_id: row.get(7),
        generation: row.get(8),
        status: MessageStatus::parse(&row.get::<String, _>(9))?,
        attempts: row.get(10),
        last_error: row.get(11),
        enqueued_at: from_unix(row.get(12)),
        updated_at: from_unix(row.get(13)),
        in_doubt: row.get::<i64, _>(14) != 0,
    })
}
