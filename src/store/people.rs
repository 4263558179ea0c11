//! What people add: manual evidence, risk exceptions (requests and decisions) and the audit log.
//! All append-only and hash-chained. An exception's status is derived from its decisions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{Row, any::AnyRow};

use super::{QueryContext, Store, StoreError, chain::sha256_hex, from_unix, link_next, to_unix};

/// A document a person submits as evidence for a control.
#[derive(Debug, Clone)]
pub struct NewManualEvidence {
    pub control_id: String,
    pub file_name: String,
    pub content: Vec<u8>,
    pub note: String,
    /// Who is responsible for renewing it.
    pub owner: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    /// When it must be renewed.
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManualEvidenceRecord {
    pub seq: i64,
    pub control_id: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub content_sha256: String,
    pub note: String,
    pub owner: String,
    pub submitted_by: String,
    pub submitted_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// A request to accept the risk of a failing control until a date.
#[derive(Debug, Clone)]
pub struct NewException {
    pub control_id: String,
    pub reason: String,
    pub compensating_control: Option<String>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What an approver decided about an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionDecision {
    Approved,
    Rejected,
    /// An approved exception withdrawn before it expired.
    Revoked,
}

impl ExceptionDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionDecision::Approved => "approved",
            ExceptionDecision::Rejected => "rejected",
            ExceptionDecision::Revoked => "revoked",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Approved, Self::Rejected, Self::Revoked].into_iter().find(|d| d.as_str() == text)
    }
}

/// An exception with its newest decision, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionRecord {
    pub seq: i64,
    pub control_id: String,
    pub reason: String,
    pub compensating_control: Option<String>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decision: Option<ExceptionDecision>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl ExceptionRecord {
    /// Approved, not revoked, and not yet expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.decision == Some(ExceptionDecision::Approved) && self.expires_at > now
    }
}

/// One line of the audit log: who did what, from where, to what.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// A person (`cli:alice`, `slack:U123`) or `kushim` for the bot's own actions.
    pub actor: String,
    /// Where the action came from (`cli@host`, `slack`, `scheduler`).
    pub origin: String,
    pub action: String,
    pub target: String,
    pub detail: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn manual_evidence_content(
    control_id: &str,
    file_name: &str,
    content_sha256: &str,
    note: &str,
    owner: &str,
    submitted_by: &str,
    submitted_at: i64,
    due_at: i64,
) -> Value {
    json!({
        "control_id": control_id, "file_name": file_name, "content_sha256": content_sha256,
        "note": note, "owner": owner, "submitted_by": submitted_by,
        "submitted_at": submitted_at, "due_at": due_at,
    })
}

pub(super) fn exception_content(
    control_id: &str,
    reason: &str,
    compensating_control: Option<&str>,
    requested_by: &str,
    requested_at: i64,
    expires_at: i64,
) -> Value {
    json!({
        "control_id": control_id, "reason": reason, "compensating_control": compensating_control,
        "requested_by": requested_by, "requested_at": requested_at, "expires_at": expires_at,
    })
}

pub(super) fn decision_content(
    exception_seq: i64,
    decision: &str,
    decided_by: &str,
    decided_at: i64,
    note: &str,
) -> Value {
    json!({
        "exception_seq": exception_seq, "decision": decision, "decided_by": decided_by,
        "decided_at": decided_at, "note": note,
    })
}

pub(super) fn audit_content(
    at: i64,
    actor: &str,
    origin: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Value {
    json!({"at": at, "actor": actor, "origin": origin, "action": action, "target": target, "detail": detail})
}

const EXCEPTION_COLUMNS: &str = "x.seq, x.control_id, x.reason, x.compensating_control, x.requested_by, \
     x.requested_at, x.expires_at, d.decision, d.decided_by, d.decided_at \
     FROM exceptions x LEFT JOIN exception_decisions d ON d.seq = \
     (SELECT MAX(seq) FROM exception_decisions WHERE exception_seq = x.seq)";

impl Store {
    /// Stores a document as evidence for a control, with its SHA-256 and due date.
    pub async fn add_manual_evidence(
        &self,
        evidence: NewManualEvidence,
    ) -> Result<ManualEvidenceRecord, StoreError> {
        let content_sha256 = sha256_hex(&evidence.content);
        let (submitted_at, due_at) = (to_unix(evidence.submitted_at), to_unix(evidence.due_at));
        let content = manual_evidence_content(
            &evidence.control_id,
            &evidence.file_name,
            &content_sha256,
            &evidence.note,
            &evidence.owner,
            &evidence.submitted_by,
            submitted_at,
            due_at,
        );
        let mut tx = self.pool.begin().await.context("begin adding manual evidence")?;
        let link = link_next(&mut tx, "manual_evidence", &content).await?;
        sqlx::query(
            "INSERT INTO manual_evidence (seq, control_id, file_name, content, content_sha256, note, \
             owner, submitted_by, submitted_at, due_at, prev_hash, record_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(link.seq)
        .bind(&evidence.control_id)
        .bind(&evidence.file_name)
        .bind(&evidence.content)
        .bind(&content_sha256)
        .bind(&evidence.note)
        .bind(&evidence.owner)
        .bind(&evidence.submitted_by)
        .bind(submitted_at)
        .bind(due_at)
        .bind(&link.prev_hash)
        .bind(&link.hash)
        .execute(&mut *tx)
        .await
        .context("add manual evidence")?;
        tx.commit().await.context("commit manual evidence")?;
        Ok(ManualEvidenceRecord {
            seq: link.seq,
            control_id: evidence.control_id,
            file_name: evidence.file_name,
            size_bytes: i64::try_from(evidence.content.len()).unwrap_or(i64::MAX),
            content_sha256,
            note: evidence.note,
            owner: evidence.owner,
            submitted_by: evidence.submitted_by,
            submitted_at: from_unix(submitted_at),
            due_at: from_unix(due_at),
        })
    }

    /// The newest manual evidence of every control that has any.
    pub async fn latest_manual_evidence(&self) -> Result<Vec<ManualEvidenceRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.seq, m.control_id, m.file_name, LENGTH(m.content), m.content_sha256, m.note, \
             m.owner, m.submitted_by, m.submitted_at, m.due_at FROM manual_evidence m \
             JOIN (SELECT control_id, MAX(seq) AS seq FROM manual_evidence GROUP BY control_id) newest \
               ON newest.seq = m.seq ORDER BY m.control_id",
        )
        .fetch_all(&self.pool)
        .await
        .context("read the latest manual evidence")?;
        Ok(rows.iter().map(manual_from_row).collect())
    }

    /// A control's manual evidence, newest first.
    pub async fn manual_evidence_of(
        &self,
        control_id: &str,
    ) -> Result<Vec<ManualEvidenceRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, control_id, file_name, LENGTH(content), content_sha256, note, owner, \
             submitted_by, submitted_at, due_at FROM manual_evidence WHERE control_id = $1 \
             ORDER BY seq DESC",
        )
        .bind(control_id)
        .fetch_all(&self.pool)
        .await
        .context("read a control's manual evidence")?;
        Ok(rows.iter().map(manual_from_row).collect())
    }

    /// Records a request for a risk exception; it has no effect until approved.
    pub async fn request_exception(
        &self,
        request: NewException,
    ) -> Result<ExceptionRecord, StoreError> {
        let (requested_at, expires_at) =
            (to_unix(request.requested_at), to_unix(request.expires_at));
        let content = exception_content(
            &request.control_id,
            &request.reason,
            request.compensating_control.as_deref(),
            &request.requested_by,
            requested_at,
            expires_at,
        );
        let mut tx = self.pool.begin().await.context("begin requesting an exception")?;
        let link = link_next(&mut tx, "exceptions", &content).await?;
        sqlx::query(
            "INSERT INTO exceptions (seq, control_id, reason, compensating_control, requested_by, \
             requested_at, expires_at, prev_hash, record_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(link.seq)
        .bind(&request.control_id)
        .bind(&request.reason)
        .bind(request.compensating_control.as_deref())
        .bind(&request.requested_by)
        .bind(requested_at)
        .bind(expires_at)
        .bind(&link.prev_hash)
        .bind(&link.hash)
        .execute(&mut *tx)
        .await
        .context("request an exception")?;
        tx.commit().await.context("commit an exception request")?;
        Ok(ExceptionRecord {
            seq: link.seq,
            control_id: request.control_id,
            reason: request.reason,
            compensating_control: request.compensating_control,
            requested_by: request.requested_by,
            requested_at: from_unix(requested_at),
            expires_at: from_unix(expires_at),
            decision: None,
            decided_by: None,
            decided_at: None,
        })
    }

    /// Records an approver's decision on an exception.
    pub async fn decide_exception(
        &self,
        exception_seq: i64,
        decision: ExceptionDecision,
        decided_by: &str,
        decided_at: DateTime<Utc>,
        note: &str,
    ) -> Result<(), StoreError> {
        let decided_at = to_unix(decided_at);
        let content =
            decision_content(exception_seq, decision.as_str(), decided_by, decided_at, note);
        let mut tx = self.pool.begin().await.context("begin deciding an exception")?;
        let link = link_next(&mut tx, "exception_decisions", &content).await?;
        // Claiming the chain position above locked the chain's head, so this check and the
        // insert below cannot interleave with another decision: of two approvers clicking at
        // once, the second learns the request was already decided.
        if decision != ExceptionDecision::Revoked {
            let earlier = sqlx::query(
                "SELECT decision, decided_by FROM exception_decisions \
                 WHERE exception_seq = $1 AND decision <> 'revoked' ORDER BY seq LIMIT 1",
            )
            .bind(exception_seq)
            .fetch_optional(&mut *tx)
            .await
            .context("read an exception's decision")?;
            if let Some(row) = earlier {
                return Err(StoreError::AlreadyDecided {
                    exception: exception_seq,
                    decision: row.get(0),
                    by: row.get(1),
                });
            }
        }
        sqlx::query(
            "INSERT INTO exception_decisions (seq, exception_seq, decision, decided_by, decided_at, \
             note, prev_hash, record_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(link.seq)
        .bind(exception_seq)
        .bind(decision.as_str())
        .bind(decided_by)
        .bind(decided_at)
        .bind(note)
        .bind(&link.prev_hash)
        .bind(&link.hash)
        .execute(&mut *tx)
        .await
        .context("decide an exception")?;
        tx.commit().await.context("commit an exception decision")?;
        Ok(())
    }

    /// Every exception with its current decision, newest first.
    pub async fn exceptions(&self) -> Result<Vec<ExceptionRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXCEPTION_COLUMNS} ORDER BY x.seq DESC"
        )))
        .fetch_all(&self.pool)
        .await
        .context("read exceptions")?;
        rows.iter().map(exception_from_row).collect()
    }

    /// Appends one line to the audit log.
    pub async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.context("begin writing the audit log")?;
        append_audit(&mut tx, &entry).await?;
        tx.commit().await.context("commit the audit log")?;
        Ok(())
    }

    /// The newest audit-log lines, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, origin, action, target, detail FROM audit_log ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("read the audit log")?;
        Ok(rows
            .iter()
            .map(|row| AuditRecord {
                seq: row.get(0),
                at: from_unix(row.get(1)),
                actor: row.get(2),
                origin: row.get(3),
                action: row.get(4),
                target: row.get(5),
                detail: row.get(6),
            })
            .collect())
    }
}

fn manual_from_row(row: &AnyRow) -> ManualEvidenceRecord {
    ManualEvidenceRecord {
        seq: row.get(0),
        control_id: row.get(1),
        file_name: row.get(2),
        size_bytes: row.get(3),
        content_sha256: row.get(4),
        note: row.get(5),
        owner: row.get(6),
        submitted_by: row.get(7),
        submitted_at: from_unix(row.get(8)),
        due_at: from_unix(row.get(9)),
    }
}

fn exception_from_row(row: &AnyRow) -> Result<ExceptionRecord, StoreError> {
    let decision: Option<String> = row.get(7);
    let decision = decision
        .map(|text| {
            ExceptionDecision::parse(&text)
                .ok_or(StoreError::Corrupt { context: "exception decision", detail: text })
        })
        .transpose()?;
    Ok(ExceptionRecord {
        seq: row.get(0),
        control_id: row.get(1),
        reason: row.get(2),
        compensating_control: row.get(3),
        requested_by: row.get(4),
        requested_at: from_unix(row.get(5)),
        expires_at: from_unix(row.get(6)),
        decision,
        decided_by: row.get(8),
        decided_at: row.get::<Option<i64>, _>(9).map(from_unix),
    })
}

/// Appends `entry` to the audit log inside the caller's transaction, so an action and its
/// audit line are written together or not at all.
pub(super) async fn append_audit(
    conn: &mut sqlx::AnyConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    let at = to_unix(entry.at);
    let detail = super::chain::canonical_json(&entry.detail);
    let content =
        audit_content(at, &entry.actor, &entry.origin, &entry.action, &entry.target, &detail);
    let link = link_next(conn, "audit_log", &content).await?;
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, origin, action, target, detail, prev_hash, record_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(link.seq)
    .bind(at)
    .bind(&entry.actor)
    .bind(&entry.origin)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&detail)
    .bind(&link.prev_hash)
    .bind(&link.hash)
    .execute(&mut *conn)
    .await
    .context("write the audit log")?;
    Ok(())
}
