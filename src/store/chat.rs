//! What the chat side remembers: Slack event ids already acted on, and snoozed alerts.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::Row;

use super::{QueryContext, Store, StoreError, from_unix, to_unix};

/// Event ids older than this are forgotten: Slack retries for at most about an hour.
const REMEMBER_EVENTS_FOR: TimeDelta = TimeDelta::days(1);

/// A control whose alerts are silenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snooze {
    pub control_id: String,
    pub until: DateTime<Utc>,
    pub snoozed_by: String,
    pub snoozed_at: DateTime<Utc>,
}

impl Store {
    /// Records that `event_id` arrived; true only the first time, on any replica. A retried
    /// delivery of the same event gets false and is not acted on again.
    pub async fn first_sighting_of_event(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO slack_events_seen (event_id, seen_at) VALUES ($1, $2) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(to_unix(now))
        .execute(&self.pool)
        .await
        .context("remember a Slack event")?
        .rows_affected();
        sqlx::query("DELETE FROM slack_events_seen WHERE seen_at < $1")
            .bind(to_unix(now - REMEMBER_EVENTS_FOR))
            .execute(&self.pool)
            .await
            .context("forget old Slack events")?;
        Ok(inserted == 1)
    }

    /// Silences `control_id`'s alerts until `until`.
    pub async fn snooze(&self, snooze: &Snooze) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snoozes (control_id, until_at, snoozed_by, snoozed_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (control_id) DO UPDATE SET \
             until_at = excluded.until_at, snoozed_by = excluded.snoozed_by, \
             snoozed_at = excluded.snoozed_at",
        )
        .bind(&snooze.control_id)
        .bind(to_unix(snooze.until))
        .bind(&snooze.snoozed_by)
        .bind(to_unix(snooze.snoozed_at))
        .execute(&self.pool)
        .await
        .context("snooze a control")?;
        Ok(())
    }

    /// The snoozes still in force at `now`.
    pub async fn active_snoozes(&self, now: DateTime<Utc>) -> Result<Vec<Snooze>, StoreError> {
        let rows = sqlx::query(
            "SELECT control_id, until_at, snoozed_by, snoozed_at FROM snoozes \
             WHERE until_at > $1 ORDER BY control_id",
        )
        .bind(to_unix(now))
        .fetch_all(&self.pool)
        .await
        .context("read snoozes")?;
        Ok(rows
            .iter()
            .map(|row| Snooze {
                control_id: row.get(0),
                until: from_unix(row.get(1)),
                snoozed_by: row.get(2),
                snoozed_at: from_unix(row.get(3)),
            })
            .collect())
    }
}
