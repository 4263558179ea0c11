//! Jira remediation tickets: the control ↔ ticket link (operational, mutable; see migration
//! 0005 for the pending → linked protocol) and the hash-chained ticket events.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use super::{QueryContext, Store, StoreError, from_unix, link_next, to_unix};

/// Where a ticket is in its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPhase {
    /// Written before the Jira create; Jira may or may not hold the issue yet.
    Pending,
    /// Jira's issue key is saved.
    Linked,
}

/// One ticket Kushim opened (or is opening) for a control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketLink {
    /// Also the label `kushim-<key>` on the Jira issue.
    pub idempotency_key: String,
    pub control_id: String,
    /// Whether this is the control's ticket (older ones were replaced by a linked new one).
    pub is_current: bool,
    pub phase: TicketPhase,
    /// Until when the caller that wrote a pending row may finish creating it undisturbed.
    pub claimed_until: DateTime<Utc>,
    pub issue_key: Option<String>,
    /// The Jira status name and `statusCategory.key` as last seen.
    pub status: String,
    pub status_category: String,
    pub assignee: Option<String>,
    pub due_date: Option<NaiveDate>,
    /// SHA-256 of the failing resources the ticket last described.
    pub failing_digest: String,
    /// Kushim moved it to done because the control passed.
    pub closed_by_kushim: bool,
    /// When it was seen closed in Jira while its control still failed.
    pub flagged_at: Option<DateTime<Utc>>,
    pub overdue_noted_at: Option<DateTime<Utc>>,
    /// The closed ticket this one replaced (`reopen = "new_linked"`).
    pub replaces_key: Option<String>,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What [`Store::begin_ticket`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketClaim {
    /// A new pending row: the caller creates the issue in Jira.
    Claimed(TicketLink),
    /// The control already has a current ticket (pending or linked).
    Existing(TicketLink),
}

/// A new pending ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub idempotency_key: String,
    pub control_id: String,
    pub failing_digest: String,
    pub opened_by: String,
    pub replaces_key: Option<String>,
    pub now: DateTime<Utc>,
    pub claim_until: DateTime<Utc>,
}

/// A ticket event to record.
#[derive(Debug, Clone)]
pub struct NewTicketEvent {
    pub control_id: String,
    pub issue_key: String,
    /// `created`, `commented`, `closed`, `reopened`, `overdue`, `closed_while_failing`,
    /// `status_changed`.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub detail: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketEventRecord {
    pub seq: i64,
    pub control_id: String,
    pub issue_key: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub detail: Value,
}

pub(super) fn ticket_event_content(
    control_id: &str,
    issue_key: &str,
    kind: &str,
    at: i64,
    actor: &str,
    detail: &str,
) -> Value {
    json!({"control_id": control_id, "issue_key": issue_key, "kind": kind, "at": at, "actor": actor, "detail": detail})
}

/// `SELECT <every link column> FROM jira_tickets <rest>`, as one literal.
macro_rules! select_links {
    ($rest:literal) => {
        concat!(
            "SELECT idempotency_key, control_id, is_current, phase, claimed_until, issue_key, \
             status, status_category, assignee, due_date, failing_digest, closed_by_kushim, \
             flagged_at, overdue_noted_at, replaces_key, opened_by, opened_at, updated_at \
             FROM jira_tickets ",
            $rest
        )
    };
}

impl Store {
    /// Writes a pending ticket for the control unless it already has a current one. The unique
    /// index decides between racing callers: exactly one of them gets `Claimed`.
    pub async fn begin_ticket(&self, ticket: NewTicket) -> Result<TicketClaim, StoreError> {
        let now = to_unix(ticket.now);
        let inserted = sqlx::query(
            "INSERT INTO jira_tickets (idempotency_key, control_id, is_current, phase, claimed_until, \
             issue_key, status, status_category, assignee, due_date, failing_digest, closed_by_kushim, \
             flagged_at, overdue_noted_at, replaces_key, opened_by, opened_at, updated_at) \
             VALUES ($1, $2, 1, 'pending', $3, NULL, '', '', NULL, NULL, $4, 0, NULL, NULL, $5, $6, $7, $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&ticket.idempotency_key)
        .bind(&ticket.control_id)
        .bind(to_unix(ticket.claim_until))
        .bind(&ticket.failing_digest)
        .bind(&ticket.replaces_key)
        .bind(&ticket.opened_by)
        .bind(now)
        .execute(&self.pool)
        .await
        .context("write a pending ticket")?
        .rows_affected();
        let current =
            self.current_ticket(&ticket.control_id).await?.ok_or(StoreError::Corrupt {
                context: "jira ticket",
                detail: format!("no current ticket for {} after claiming one", ticket.control_id),
            })?;
        if inserted == 1 && current.idempotency_key == ticket.idempotency_key {
            Ok(TicketClaim::Claimed(current))
        } else {
            Ok(TicketClaim::Existing(current))
        }
    }

    /// Takes over a pending ticket whose claim has run out (its creator crashed or gave up).
    /// Only one caller can win a given expiry.
    pub async fn reclaim_pending_ticket(
        &self,
        idempotency_key: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE jira_tickets SET claimed_until = $1, updated_at = $2 \
             WHERE idempotency_key = $3 AND phase = 'pending' AND claimed_until <= $2",
        )
        .bind(to_unix(claim_until))
        .bind(to_unix(now))
        .bind(idempotency_key)
        .execute(&self.pool)
        .await
        .context("reclaim a pending ticket")?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Ends the caller's claim on a pending ticket at once (its create failed in a way that may
    /// still have created the issue), so the next caller reconciles it without waiting.
    pub async fn release_ticket_claim(
        &self,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jira_tickets SET claimed_until = $1, updated_at = $1 \
             WHERE idempotency_key = $2 AND phase = 'pending'",
        )
        .bind(to_unix(now))
        .bind(idempotency_key)
        .execute(&self.pool)
        .await
        .context("release a pending ticket")?;
        Ok(())
    }

    /// Saves Jira's key for a pending ticket.
    #[allow(clippy::too_many_arguments)]
    pub async fn link_ticket(
        &self,
        idempotency_key: &str,
        issue_key: &str,
        status: &str,
        status_category: &str,
        due_date: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<TicketLink, StoreError> {
        sqlx::query(
            "UPDATE jira_tickets SET phase = 'linked', issue_key = $1, status = $2, status_category = $3, \
             due_date = $4, updated_at = $5 WHERE idempotency_key = $6",
        )
        .bind(issue_key)
        .bind(status)
        .bind(status_category)
        .bind(due_date.map(|d| d.to_string()))
        .bind(to_unix(now))
        .bind(idempotency_key)
        .execute(&self.pool)
        .await
        .context("link a ticket to its Jira issue")?;
        self.ticket(idempotency_key).await?.ok_or(StoreError::Corrupt {
            context: "jira ticket",
            detail: format!("ticket {idempotency_key} vanished while being linked"),
        })
    }

    /// Forgets a pending ticket Jira certainly did not create (the create was refused), so the
    /// control can get one later.
    pub async fn abandon_pending_ticket(&self, idempotency_key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM jira_tickets WHERE idempotency_key = $1 AND phase = 'pending'")
            .bind(idempotency_key)
            .execute(&self.pool)
            .await
            .context("abandon a pending ticket")?;
        Ok(())
    }

    /// Makes the control's current ticket a former one, so a replacement can be opened.
    pub async fn retire_ticket(
        &self,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jira_tickets SET is_current = 0, updated_at = $1 WHERE idempotency_key = $2",
        )
        .bind(to_unix(now))
        .bind(idempotency_key)
        .execute(&self.pool)
        .await
        .context("retire a ticket")?;
        Ok(())
    }

    /// Saves what Kushim last saw of and did to a linked ticket.
    pub async fn save_ticket_state(&self, ticket: &TicketLink) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jira_tickets SET status = $1, status_category = $2, assignee = $3, due_date = $4, \
             failing_digest = $5, closed_by_kushim = $6, flagged_at = $7, overdue_noted_at = $8, \
             updated_at = $9 WHERE idempotency_key = $10",
        )
        .bind(&ticket.status)
        .bind(&ticket.status_category)
        .bind(&ticket.assignee)
        .bind(ticket.due_date.map(|d| d.to_string()))
        .bind(&ticket.failing_digest)
        .bind(i64::from(ticket.closed_by_kushim))
        .bind(ticket.flagged_at.map(to_unix))
        .bind(ticket.overdue_noted_at.map(to_unix))
        .bind(to_unix(ticket.updated_at))
        .bind(&ticket.idempotency_key)
        .execute(&self.pool)
        .await
        .context("save a ticket's state")?;
        Ok(())
    }

    pub async fn ticket(&self, idempotency_key: &str) -> Result<Option<TicketLink>, StoreError> {
        let row = sqlx::query(select_links!("WHERE idempotency_key = $1"))
            .bind(idempotency_key)
            .fetch_optional(&self.pool)
            .await
            .context("read a ticket")?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// The control's current ticket, if any.
    pub async fn current_ticket(&self, control_id: &str) -> Result<Option<TicketLink>, StoreError> {
        let row = sqlx::query(select_links!("WHERE control_id = $1 AND is_current = 1"))
            .bind(control_id)
            .fetch_optional(&self.pool)
            .await
            .context("read a control's ticket")?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// Current tickets in Jira that are not done yet, oldest first.
    pub async fn open_tickets(&self) -> Result<Vec<TicketLink>, StoreError> {
        let rows = sqlx::query(select_links!(
            "WHERE is_current = 1 AND phase = 'linked' AND status_category <> 'done' \
             ORDER BY opened_at, control_id"
        ))
        .fetch_all(&self.pool)
        .await
        .context("list open tickets")?;
        rows.iter().map(link_from_row).collect()
    }

    pub async fn ticket_by_issue_key(
        &self,
        issue_key: &str,
    ) -> Result<Option<TicketLink>, StoreError> {
        let row = sqlx::query(select_links!("WHERE issue_key = $1"))
            .bind(issue_key)
            .fetch_optional(&self.pool)
            .await
            .context("read a ticket by its Jira key")?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// Appends one event to the hash-chained ticket history.
    pub async fn record_ticket_event(
        &self,
        event: NewTicketEvent,
    ) -> Result<TicketEventRecord, StoreError> {
        let at = to_unix(event.at);
        let detail = event.detail.to_string();
        let content = ticket_event_content(
            &event.control_id,
            &event.issue_key,
            &event.kind,
            at,
            &event.actor,
            &detail,
        );
        let mut tx = self.pool.begin().await.context("begin recording a ticket event")?;
        let link = link_next(&mut tx, "ticket_events", &content).await?;
        sqlx::query(
            "INSERT INTO ticket_events (seq, control_id, issue_key, kind, at, actor, detail, prev_hash, record_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(link.seq)
        .bind(&event.control_id)
        .bind(&event.issue_key)
        .bind(&event.kind)
        .bind(at)
        .bind(&event.actor)
        .bind(&detail)
        .bind(&link.prev_hash)
        .bind(&link.hash)
        .execute(&mut *tx)
        .await
        .context("record a ticket event")?;
        tx.commit().await.context("commit a ticket event")?;
        Ok(TicketEventRecord {
            seq: link.seq,
            control_id: event.control_id,
            issue_key: event.issue_key,
            kind: event.kind,
            at: from_unix(at),
            actor: event.actor,
            detail: event.detail,
        })
    }

    /// A control's ticket events, oldest first.
    pub async fn ticket_events_of(
        &self,
        control_id: &str,
    ) -> Result<Vec<TicketEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, control_id, issue_key, kind, at, actor, detail FROM ticket_events \
             WHERE control_id = $1 ORDER BY seq",
        )
        .bind(control_id)
        .fetch_all(&self.pool)
        .await
        .context("read ticket events")?;
        rows.iter()
            .map(|row| {
                Ok(TicketEventRecord {
                    seq: row.get(0),
                    control_id: row.get(1),
                    issue_key: row.get(2),
                    kind: row.get(3),
                    at: from_unix(row.get(4)),
                    actor: row.get(5),
                    detail: serde_json::from_str(&row.get::<String, _>(6)).map_err(|e| {
                        StoreError::Corrupt { context: "ticket event", detail: e.to_string() }
                    })?,
                })
            })
            .collect()
    }
}

fn link_from_row(row: &AnyRow) -> Result<TicketLink, StoreError> {
    let phase = match row.get::<String, _>(3).as_str() {
        "pending" => TicketPhase::Pending,
        "linked" => TicketPhase::Linked,
        other => {
            return Err(StoreError::Corrupt {
                context: "jira ticket",
                detail: format!("unknown phase {other:?}"),
            });
        }
    };
    Ok(TicketLink {
        idempotency_key: row.get(0),
        control_id: row.get(1),
        is_current: row.get::<i64, _>(2) == 1,
        phase,
        claimed_until: from_unix(row.get(4)),
        issue_key: row.get(5),
        status: row.get(6),
        status_category: row.get(7),
        assignee: row.get(8),
        due_date: row
            .get::<Option<String>, _>(9)
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        failing_digest: row.get(10),
        closed_by_kushim: row.get::<i64, _>(11) == 1,
        flagged_at: row.get::<Option<i64>, _>(12).map(from_unix),
        overdue_noted_at: row.get::<Option<i64>, _>(13).map(from_unix),
        replaces_key: row.get(14),
        opened_by: row.get(15),
        opened_at: from_unix(row.get(16)),
        updated_at: from_unix(row.get(17)),
    })
}
