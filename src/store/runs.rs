//! Collection runs (which integration, when, outcome, API calls) and the state collectors keep
//! between runs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use super::{QueryContext, Store, StoreError, from_unix, link_next, to_unix};

/// A finished collection run to record.
#[derive(Debug, Clone)]
pub struct NewCollectionRun {
    pub integration: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `collected` or `failed`.
    pub outcome: String,
    pub api_calls: u64,
    pub evidence_seq: i64,
    /// The failure reason, or a short summary.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionRunRecord {
    pub seq: i64,
    pub integration: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: String,
    pub api_calls: i64,
    pub evidence_seq: i64,
    pub detail: String,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_content(
    integration: &str,
    started_at: i64,
    finished_at: i64,
    outcome: &str,
    api_calls: i64,
    evidence_seq: i64,
    detail: &str,
) -> Value {
    json!({
        "integration": integration, "started_at": started_at, "finished_at": finished_at,
        "outcome": outcome, "api_calls": api_calls, "evidence_seq": evidence_seq, "detail": detail,
    })
}

impl Store {
    pub async fn record_collection_run(
        &self,
        run: NewCollectionRun,
    ) -> Result<CollectionRunRecord, StoreError> {
        let (started_at, finished_at) = (to_unix(run.started_at), to_unix(run.finished_at));
        let api_calls = i64::try_from(run.api_calls).unwrap_or(i64::MAX);
        let content = run_content(
            &run.integration,
            started_at,
            finished_at,
            &run.outcome,
            api_calls,
            run.evidence_seq,
            &run.detail,
        );
        let mut tx = self.pool.begin().await.context("begin recording a collection run")?;
        let link = link_next(&mut tx, "collection_runs", &content).await?;
        sqlx::query(
            "INSERT INTO collection_runs (seq, integration, started_at, finished_at, outcome, api_calls, \
             evidence_seq, detail, prev_hash, record_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(link.seq)
        .bind(&run.integration)
        .bind(started_at)
        .bind(finished_at)
        .bind(&run.outcome)
        .bind(api_calls)
        .bind(run.evidence_seq)
        .bind(&run.detail)
        .bind(&link.prev_hash)
        .bind(&link.hash)
        .execute(&mut *tx)
        .await
        .context("record a collection run")?;
        tx.commit().await.context("commit a collection run")?;
        Ok(CollectionRunRecord {
            seq: link.seq,
            integration: run.integration,
            started_at: from_unix(started_at),
            finished_at: from_unix(finished_at),
            outcome: run.outcome,
            api_calls,
            evidence_seq: run.evidence_seq,
            detail: run.detail,
        })
    }

    /// Collection runs, newest first.
    pub async fn collection_runs(
        &self,
        limit: i64,
    ) -> Result<Vec<CollectionRunRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, integration, started_at, finished_at, outcome, api_calls, evidence_seq, detail \
             FROM collection_runs ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("read collection runs")?;
        Ok(rows.iter().map(run_from_row).collect())
    }

    /// What a collector kept from its last run (for example GitHub ETags), if anything.
    pub async fn collector_state(&self, integration: &str) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query("SELECT state FROM collector_state WHERE integration = $1")
            .bind(integration)
            .fetch_optional(&self.pool)
            .await
            .context("read collector state")?;
        row.map(|row| {
            serde_json::from_str(&row.get::<String, _>(0)).map_err(|e| StoreError::Corrupt {
                context: "collector state",
                detail: e.to_string(),
            })
        })
        .transpose()
    }

    pub async fn save_collector_state(
        &self,
        integration: &str,
        state: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO collector_state (integration, state, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (integration) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(integration)
        .bind(state.to_string())
        .bind(to_unix(at))
        .execute(&self.pool)
        .await
        .context("save collector state")?;
        Ok(())
    }
}

fn run_from_row(row: &AnyRow) -> CollectionRunRecord {
    CollectionRunRecord {
        seq: row.get(0),
        integration: row.get(1),
        started_at: from_unix(row.get(2)),
        finished_at: from_unix(row.get(3)),
        outcome: row.get(4),
        api_calls: row.get(5),
        evidence_seq: row.get(6),
        detail: row.get(7),
    }
}
