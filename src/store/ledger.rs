//! The evidence ledger and what was concluded from it.
//!
//! Evidence is a collected snapshot (or the reason a collection failed) as canonical JSON with its
//! SHA-256. An evaluation runs every check of one integration over one evidence record and
//! appends the findings. Nothing here is ever updated or deleted.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use super::{
    QueryContext, Store, StoreError, advance_chain_head,
    chain::{canonical_json, record_hash, sha256_hex},
    claim_chain_positions, from_unix, link_next, to_unix,
};
use crate::checks::{Finding, Outcome};

/// A snapshot to append to the ledger.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    /// The integration (`github`, `aws`, …).
    pub source: String,
    /// `snapshot` or `collection_error`.
    pub kind: String,
    /// When Kushim looked.
    pub collected_at: DateTime<Utc>,
    /// The time the data describes (for example an AWS credential report's generation time).
    pub observed_at: DateTime<Utc>,
    pub payload: Value,
}

/// A stored evidence record, without its (possibly large) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    pub seq: i64,
    pub source: String,
    pub kind: String,
    pub collected_at: DateTime<Utc>,
    pub observed_at: DateTime<Utc>,
    pub payload_sha256: String,
    pub record_hash: String,
}

/// What the hash of an evidence record covers (besides its place in the chain).
pub(super) fn evidence_content(
    source: &str,
    kind: &str,
    collected_at: i64,
    observed_at: i64,
    payload_sha256: &str,
) -> Value {
    json!({
        "source": source, "kind": kind, "collected_at": collected_at,
        "observed_at": observed_at, "payload_sha256": payload_sha256,
    })
}

pub(super) fn evaluation_content(source: &str, evidence_seq: i64, evaluated_at: i64) -> Value {
    json!({"source": source, "evidence_seq": evidence_seq, "evaluated_at": evaluated_at})
}

pub(super) fn finding_content(
    evaluation_seq: i64,
    check_id: &str,
    outcome: &str,
    resource: &str,
    reason: &str,
    observed_at: i64,
) -> Value {
    json!({
        "evaluation_seq": evaluation_seq, "check_id": check_id, "outcome": outcome,
        "resource": resource, "reason": reason, "observed_at": observed_at,
    })
}

/// Rows per multi-row INSERT: 500 findings × 9 columns stays far below both databases'
/// bind-parameter limits while saving a round trip per row.
const FINDINGS_PER_INSERT: usize = 500;

impl Store {
    /// Appends one evidence record to the ledger.
    pub async fn append_evidence(
        &self,
        evidence: NewEvidence,
    ) -> Result<EvidenceRecord, StoreError> {
        let payload = canonical_json(&evidence.payload);
        let payload_sha256 = sha256_hex(payload.as_bytes());
        let (collected_at, observed_at) =
            (to_unix(evidence.collected_at), to_unix(evidence.observed_at));
        let content = evidence_content(
            &evidence.source,
            &evidence.kind,
            collected_at,
            observed_at,
            &payload_sha256,
        );

        let mut tx = self.pool.begin().await.context("begin appending evidence")?;
        let link = link_next(&mut tx, "evidence", &content).await?;
        sqlx::query(
            "INSERT INTO evidence (seq, source, kind, collected_at, observed_at, payload, \
             payload_sha256, prev_hash, record_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(link.seq)
        .bind(&evidence.source)
        .bind(&evidence.kind)
        .bind(collected_at)
        .bind(observed_at)
        .bind(&payload)
        .bind(&payload_sha256)
        .bind(&link.prev_hash)
        .bind(&link.hash)
        .execute(&mut *tx)
        .await
        .context("append evidence")?;
        tx.commit().await.context("commit evidence")?;

        Ok(EvidenceRecord {
            seq: link.seq,
            source: evidence.source,
            kind: evidence.kind,
            collected_at: evidence.collected_at,
            observed_at: evidence.observed_at,
            payload_sha256,
            record_hash: link.hash,
        })
    }

    /// The newest evidence record of each source.
    pub async fn latest_evidence(&self) -> Result<Vec<EvidenceRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.seq, e.source, e.kind, e.collected_at, e.observed_at, e.payload_sha256, \
             e.record_hash FROM evidence e \
             JOIN (SELECT source, MAX(seq) AS seq FROM evidence GROUP BY source) newest \
               ON newest.seq = e.seq ORDER BY e.source",
        )
        .fetch_all(&self.pool)
        .await
        .context("read the latest evidence")?;
        Ok(rows.iter().map(evidence_from_row).collect())
    }

    /// The payload of one evidence record.
    pub async fn evidence_payload(&self, seq: i64) -> Result<Value, StoreError> {
        let row = sqlx::query("SELECT payload, pruned_at FROM evidence WHERE seq = $1")
            .bind(seq)
            .fetch_one(&self.pool)
            .await
            .context("read an evidence payload")?;
        if let Some(pruned_at) = row.get::<Option<i64>, _>(1) {
            return Err(StoreError::Corrupt {
                context: "evidence payload",
                detail: format!(
                    "record {seq}'s payload was dropped by evidence retention on {}",
                    from_unix(pruned_at).format("%Y-%m-%d")
                ),
            });
        }
        let payload: String = row.get(0);
        serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt { context: "evidence payload", detail: e.to_string() })
    }

    /// Evidence records, newest first.
    pub async fn evidence_history(&self, limit: i64) -> Result<Vec<EvidenceRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, source, kind, collected_at, observed_at, payload_sha256, record_hash \
             FROM evidence ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("read evidence history")?;
        Ok(rows.iter().map(evidence_from_row).collect())
    }

    /// Appends an evaluation of `evidence` and all its findings, atomically.
    pub async fn record_evaluation(
        &self,
        evidence: &EvidenceRecord,
        evaluated_at: DateTime<Utc>,
        findings: &[Finding],
    ) -> Result<i64, StoreError> {
        let evaluated_at = to_unix(evaluated_at);
        let mut tx = self.pool.begin().await.context("begin recording an evaluation")?;

        let content = evaluation_content(&evidence.source, evidence.seq, evaluated_at);
        let link = link_next(&mut tx, "evaluations", &content).await?;
        let evaluation_seq = link.seq;
        sqlx::query(
            "INSERT INTO evaluations (seq, source, evidence_seq, evaluated_at, prev_hash, record_hash) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(evaluation_seq)
        .bind(&evidence.source)
        .bind(evidence.seq)
        .bind(evaluated_at)
        .bind(&link.prev_hash)
        .bind(&link.hash)
        .execute(&mut *tx)
        .await
        .context("append an evaluation")?;

        if !findings.is_empty() {
            let count = i64::try_from(findings.len()).unwrap_or(i64::MAX);
            let (first_seq, mut prev_hash) =
                claim_chain_positions(&mut tx, "findings", count).await?;
            let mut seq = first_seq;
            for chunk in findings.chunks(FINDINGS_PER_INSERT) {
                let sql = multi_row_insert(
                    "INSERT INTO findings (seq, evaluation_seq, check_id, outcome, resource, reason, \
                     observed_at, prev_hash, record_hash) VALUES ",
                    9,
                    chunk.len(),
                );
                let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                for finding in chunk {
                    let observed_at = to_unix(finding.observed_at);
                    let content = canonical_json(&finding_content(
                        evaluation_seq,
                        &finding.check_id,
                        finding.outcome.as_str(),
                        &finding.resource,
                        &finding.reason,
                        observed_at,
                    ));
                    let hash = record_hash("findings", seq, &prev_hash, &content);
                    insert = insert
                        .bind(seq)
                        .bind(evaluation_seq)
                        .bind(finding.check_id.clone())
                        .bind(finding.outcome.as_str())
                        .bind(finding.resource.clone())
                        .bind(finding.reason.clone())
                        .bind(observed_at)
                        .bind(prev_hash.clone())
                        .bind(hash.clone());
                    prev_hash = hash;
                    seq += 1;
                }
                insert.execute(&mut *tx).await.context("append findings")?;
            }
            advance_chain_head(&mut tx, "findings", &prev_hash).await?;
        }

        tx.commit().await.context("commit an evaluation")?;
        Ok(evaluation_seq)
    }

    /// The findings of the newest evaluation of every source: what the checks say now.
    pub async fn latest_findings(&self) -> Result<Vec<Finding>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.check_id, f.outcome, f.resource, f.reason, f.observed_at \
             FROM findings f \
             JOIN (SELECT source, MAX(seq) AS seq FROM evaluations GROUP BY source) newest \
               ON newest.seq = f.evaluation_seq \
             ORDER BY f.seq",
        )
        .fetch_all(&self.pool)
        .await
        .context("read the latest findings")?;
        rows.iter().map(finding_from_row).collect()
    }
}

fn evidence_from_row(row: &AnyRow) -> EvidenceRecord {
    EvidenceRecord {
        seq: row.get(0),
        source: row.get(1),
        kind: row.get(2),
        collected_at: from_unix(row.get(3)),
        observed_at: from_unix(row.get(4)),
        payload_sha256: row.get(5),
        record_hash: row.get(6),
    }
}

fn finding_from_row(row: &AnyRow) -> Result<Finding, StoreError> {
    let outcome: String = row.get(1);
    Ok(Finding {
        check_id: row.get(0),
        outcome: Outcome::parse(&outcome).ok_or_else(|| StoreError::Corrupt {
            context: "finding outcome",
            detail: outcome.clone(),
        })?,
        resource: row.get(2),
        reason: row.get(3),
        observed_at: from_unix(row.get(4)),
    })
}

/// `prefix` followed by `rows` groups of `columns` numbered placeholders: `($1, $2), ($3, $4)`.
/// Written by hand because sqlx's `QueryBuilder` emits `?` for the `Any` driver, which
/// PostgreSQL rejects.
fn multi_row_insert(prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::from(prefix);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * columns + column + 1));
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    #[test]
    fn multi_row_inserts_number_placeholders_across_rows() {
        assert_eq!(
            super::multi_row_insert("INSERT INTO t (a, b) VALUES ", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
