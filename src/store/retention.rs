//! Evidence retention: the bodies of old evidence records are dropped, their hashes kept.
//!
//! An evidence record's hash covers its payload's SHA-256, not the payload, so emptying the
//! payload leaves every chain verifiable and keeps what was concluded from the evidence
//! (evaluations, findings, transitions, the audit log) forever. The newest record of each source
//! is never pruned: it is what the engine judges now. Each batch is pruned in one transaction
//! with its audit-log line (action [`PRUNE_ACTION`], detail `{"cutoff": <unix>, …}`); `kushim
//! verify` flags a payload that is missing without a retention run whose cutoff covers it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::{
    AuditEntry, QueryContext, Store, StoreError, from_unix, people::append_audit, to_unix,
};

/// The audit-log action of a pruning.
pub const PRUNE_ACTION: &str = "retention.prune";

/// Records pruned per transaction: short write locks on SQLite, bounded memory everywhere.
const PRUNE_BATCH: i64 = 500;

/// What one retention run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Evidence collected before this lost its payload.
    pub cutoff: DateTime<Utc>,
    pub records: i64,
    /// About how many payload bytes were dropped (SQLite reuses the pages; `VACUUM` returns
    /// them to the disk).
    pub bytes: i64,
}

/// The candidates: older than the cutoff, not pruned yet, not the newest of their source.
const PRUNABLE: &str = "pruned_at IS NULL AND collected_at < $1 \
     AND seq NOT IN (SELECT MAX(seq) FROM evidence GROUP BY source)";

impl Store {
    /// Drops the payloads of evidence collected before `cutoff`, in batches, each with its
    /// audit-log line by `actor`.
    pub async fn prune_evidence(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<PruneReport, StoreError> {
        let mut report = PruneReport { cutoff: from_unix(to_unix(cutoff)), records: 0, bytes: 0 };
        loop {
            let mut tx = self.pool.begin().await.context("begin pruning evidence")?;
            let batch = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT MIN(seq), MAX(seq), COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM \
                 (SELECT seq, payload FROM evidence WHERE {PRUNABLE} ORDER BY seq LIMIT $2) batch"
            )))
            .bind(to_unix(cutoff))
            .bind(PRUNE_BATCH)
            .fetch_one(&mut *tx)
            .await
            .context("find evidence to prune")?;
            let (first, last, count, bytes): (Option<i64>, Option<i64>, i64, i64) =
                (batch.get(0), batch.get(1), batch.get(2), batch.get(3));
            let (Some(first), Some(last)) = (first, last) else { break };
            let pruned = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE evidence SET payload = '', pruned_at = $2 \
                 WHERE seq BETWEEN $3 AND $4 AND {PRUNABLE}"
            )))
            .bind(to_unix(cutoff))
            .bind(to_unix(now))
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await
            .context("prune evidence payloads")?
            .rows_affected();
            let pruned = i64::try_from(pruned).unwrap_or(i64::MAX);
            append_audit(
                &mut tx,
                &AuditEntry {
                    at: now,
                    actor: actor.to_owned(),
                    origin: "retention".into(),
                    action: PRUNE_ACTION.into(),
                    target: "evidence".into(),
                    detail: json!({
                        "cutoff": to_unix(cutoff),
                        "records": pruned,
                        "first_seq": first,
                        "last_seq": last,
                    }),
                },
            )
            .await?;
            tx.commit().await.context("commit pruned evidence")?;
            report.records += pruned;
            report.bytes += bytes;
            if count < PRUNE_BATCH {
                break;
            }
        }
        Ok(report)
    }

    /// The latest cutoff any retention run recorded in the audit log.
    pub(super) async fn retention_cutoff(&self) -> Result<Option<i64>, StoreError> {
        let rows = sqlx::query("SELECT detail FROM audit_log WHERE action = $1")
            .bind(PRUNE_ACTION)
            .fetch_all(&self.pool)
            .await
            .context("read retention runs")?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let detail: serde_json::Value =
                    serde_json::from_str(&row.get::<String, _>(0)).ok()?;
                detail["cutoff"].as_i64()
            })
            .max())
    }
}
