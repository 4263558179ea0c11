//! Control-state history: every change of a control's state is a transition (from, to, when,
//! why), appended to a hash chain. `control_states` is the projection of each control's newest
//! transition, for fast reads.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use super::{
    QueryContext, Store, StoreError, advance_chain_head,
    chain::{canonical_json, record_hash},
    claim_chain_positions, from_unix, to_unix,
};

/// A state change to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransition {
    pub control_id: String,
    /// `None` for a control's first evaluation.
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRecord {
    pub seq: i64,
    pub control_id: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// A control's current state as last recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlStateRow {
    pub control_id: String,
    pub state: String,
    pub reason: String,
    pub since: DateTime<Utc>,
    pub transition_seq: i64,
}

pub(super) fn transition_content(
    control_id: &str,
    from_state: Option<&str>,
    to_state: &str,
    at: i64,
    reason: &str,
) -> Value {
    json!({"control_id": control_id, "from_state": from_state, "to_state": to_state, "at": at, "reason": reason})
}

impl Store {
    /// Appends transitions and moves each control's current state, atomically. A transition
    /// whose `from_state` is no longer the control's recorded state is skipped: another
    /// evaluation (a concurrent job, another replica) recorded that change first.
    pub async fn record_transitions(
        &self,
        transitions: &[NewTransition],
    ) -> Result<Vec<TransitionRecord>, StoreError> {
        if transitions.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.context("begin recording transitions")?;
        // A write first takes SQLite's write lock (PostgreSQL's row lock), so the states read
        // next cannot change before this transaction commits.
        sqlx::query("UPDATE chain_heads SET seq = seq WHERE chain = 'transitions'")
            .execute(&mut *tx)
            .await
            .context("lock the transitions chain")?;
        let current: std::collections::HashMap<String, String> =
            sqlx::query("SELECT control_id, state FROM control_states")
                .fetch_all(&mut *tx)
                .await
                .context("read current states")?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
        let transitions: Vec<&NewTransition> = transitions
            .iter()
            .filter(|t| current.get(&t.control_id) == t.from_state.as_ref())
            .collect();
        if transitions.is_empty() {
            return Ok(Vec::new());
        }
        let count = i64::try_from(transitions.len()).unwrap_or(i64::MAX);
        let (mut seq, mut prev_hash) = claim_chain_positions(&mut tx, "transitions", count).await?;
        let mut recorded = Vec::with_capacity(transitions.len());
        for t in transitions {
            let at = to_unix(t.at);
            let content = canonical_json(&transition_content(
                &t.control_id,
                t.from_state.as_deref(),
                &t.to_state,
                at,
                &t.reason,
            ));
            let hash = record_hash("transitions", seq, &prev_hash, &content);
            sqlx::query(
                "INSERT INTO transitions (seq, control_id, from_state, to_state, at, reason, prev_hash, record_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(seq)
            .bind(&t.control_id)
            .bind(t.from_state.as_deref())
            .bind(&t.to_state)
            .bind(at)
            .bind(&t.reason)
            .bind(&prev_hash)
            .bind(&hash)
            .execute(&mut *tx)
            .await
            .context("append a transition")?;
            sqlx::query(
                "INSERT INTO control_states (control_id, state, reason, since, transition_seq) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (control_id) DO UPDATE SET state = excluded.state, \
                 reason = excluded.reason, since = excluded.since, transition_seq = excluded.transition_seq",
            )
            .bind(&t.control_id)
            .bind(&t.to_state)
            .bind(&t.reason)
            .bind(at)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .context("move a control's current state")?;
            recorded.push(TransitionRecord {
                seq,
                control_id: t.control_id.clone(),
                from_state: t.from_state.clone(),
                to_state: t.to_state.clone(),
                at: from_unix(at),
                reason: t.reason.clone(),
            });
            prev_hash = hash;
            seq += 1;
        }
        advance_chain_head(&mut tx, "transitions", &prev_hash).await?;
        tx.commit().await.context("commit transitions")?;
        Ok(recorded)
    }

    /// Every control's current state, by control id.
    pub async fn control_states(&self) -> Result<Vec<ControlStateRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT control_id, state, reason, since, transition_seq FROM control_states ORDER BY control_id",
        )
        .fetch_all(&self.pool)
        .await
        .context("read control states")?;
        Ok(rows.iter().map(state_from_row).collect())
    }

    /// A control's transitions, newest first.
    pub async fn transitions_of(
        &self,
        control_id: &str,
        limit: i64,
    ) -> Result<Vec<TransitionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, control_id, from_state, to_state, at, reason FROM transitions \
             WHERE control_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(control_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("read a control's transitions")?;
        Ok(rows.iter().map(transition_from_row).collect())
    }
}

fn state_from_row(row: &AnyRow) -> ControlStateRow {
    ControlStateRow {
        control_id: row.get(0),
        state: row.get(1),
        reason: row.get(2),
        since: from_unix(row.get(3)),
        transition_seq: row.get(4),
    }
}

fn transition_from_row(row: &AnyRow) -> TransitionRecord {
    TransitionRecord {
        seq: row.get(0),
        control_id: row.get(1),
        from_state: row.get(2),
        to_state: row.get(3),
        at: from_unix(row.get(4)),
        reason: row.get(5),
    }
}

impl Store {
    /// Every transition up to `until`, oldest first: replayed, they give each control's state at
    /// any earlier moment (the digest's trend).
    pub async fn transitions_until(
        &self,
        until: DateTime<Utc>,
    ) -> Result<Vec<TransitionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, control_id, from_state, to_state, at, reason FROM transitions \
             WHERE at <= $1 ORDER BY seq",
        )
        .bind(to_unix(until))
        .fetch_all(&self.pool)
        .await
        .context("read transitions")?;
        Ok(rows.iter().map(transition_from_row).collect())
    }
}
