//! `kushim verify`: recomputes every hash chain from the stored columns and names the first
//! record that does not match. A row edited by hand (sqlite3, psql), deleted, inserted or
//! reordered breaks its own hash or its successor's link; a deleted tail no longer matches the
//! chain head.

use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::Value;
use sqlx::{Row, any::AnyRow};

use super::{
    QueryContext, Store, StoreError,
    chain::{GENESIS, canonical_json, record_hash, sha256_hex},
    history::transition_content,
    ledger::{evaluation_content, evidence_content, finding_content},
    people::{audit_content, decision_content, exception_content, manual_evidence_content},
    runs::run_content,
    tickets::ticket_event_content,
};

/// The first problem found in one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The position of the record that fails (for a missing tail: the head's position).
    pub seq: i64,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub chain: String,
    pub records: i64,
    pub head_hash: String,
    pub broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub chains: Vec<ChainReport>,
    /// Controls whose current state disagrees with their newest transition.
    pub state_mismatches: Vec<String>,
}

impl VerifyReport {
    pub fn intact(&self) -> bool {
        self.chains.iter().all(|c| c.broken.is_none()) && self.state_mismatches.is_empty()
    }
}

/// How to read one chain back: its rows in order, and how to rebuild each row's hashed content.
struct ChainSpec {
    chain: &'static str,
    select: &'static str,
    /// Rebuilds the hashed content from a row; `Err` names a problem inside the row itself
    /// (a payload that no longer matches its SHA-256).
    content: fn(&AnyRow) -> Result<Value, String>,
}

const CHAINS: &[ChainSpec] = &[
    ChainSpec {
        chain: "evidence",
        select: "SELECT seq, prev_hash, record_hash, source, kind, collected_at, observed_at, \
                 payload_sha256, payload, pruned_at FROM evidence ORDER BY seq",
        content: |row| {
            let stored_sha: String = row.get(7);
            let payload: String = row.get(8);
            // A pruned payload is gone by design; whether a retention run covers it is checked
            // against the audit log afterwards.
            let pruned = row.get::<Option<i64>, _>(9).is_some();
            if !pruned && sha256_hex(payload.as_bytes()) != stored_sha {
                return Err("the payload does not match its SHA-256".into());
            }
            Ok(evidence_content(
                &row.get::<String, _>(3),
                &row.get::<String, _>(4),
                row.get(5),
                row.get(6),
                &stored_sha,
            ))
        },
    },
    ChainSpec {
        chain: "evaluations",
        select: "SELECT seq, prev_hash, record_hash, source, evidence_seq, evaluated_at \
                 FROM evaluations ORDER BY seq",
        content: |row| Ok(evaluation_content(&row.get::<String, _>(3), row.get(4), row.get(5))),
    },
    ChainSpec {
        chain: "findings",
        select: "SELECT seq, prev_hash, record_hash, evaluation_seq, check_id, outcome, resource, \
                 reason, observed_at FROM findings ORDER BY seq",
        content: |row| {
            Ok(finding_content(
                row.get(3),
                &row.get::<String, _>(4),
                &row.get::<String, _>(5),
                &row.get::<String, _>(6),
                &row.get::<String, _>(7),
                row.get(8),
            ))
        },
    },
    ChainSpec {
        chain: "transitions",
        select: "SELECT seq, prev_hash, record_hash, control_id, from_state, to_state, at, reason \
                 FROM transitions ORDER BY seq",
        content: |row| {
            Ok(transition_content(
                &row.get::<String, _>(3),
                row.get::<Option<String>, _>(4).as_deref(),
                &row.get::<String, _>(5),
                row.get(6),
                &row.get::<String, _>(7),
            ))
        },
    },
    ChainSpec {
        chain: "manual_evidence",
        select: "SELECT seq, prev_hash, record_hash, control_id, file_name, content_sha256, note, \
                 owner, submitted_by, submitted_at, due_at, content FROM manual_evidence ORDER BY seq",
        content: |row| {
            let stored_sha: String = row.get(5);
            if sha256_hex(&row.get::<Vec<u8>, _>(11)) != stored_sha {
                return Err("the document does not match its SHA-256".into());
            }
            Ok(manual_evidence_content(
                &row.get::<String, _>(3),
                &row.get::<String, _>(4),
                &stored_sha,
                &row.get::<String, _>(6),
                &row.get::<String, _>(7),
                &row.get::<String, _>(8),
                row.get(9),
                row.get(10),
            ))
        },
    },
    ChainSpec {
        chain: "exceptions",
        select: "SELECT seq, prev_hash, record_hash, control_id, reason, compensating_control, \
                 requested_by, requested_at, expires_at FROM exceptions ORDER BY seq",
        content: |row| {
            Ok(exception_content(
                &row.get::<String, _>(3),
                &row.get::<String, _>(4),
                row.get::<Option<String>, _>(5).as_deref(),
                &row.get::<String, _>(6),
                row.get(7),
                row.get(8),
            ))
        },
    },
    ChainSpec {
        chain: "exception_decisions",
        select: "SELECT seq, prev_hash, record_hash, exception_seq, decision, decided_by, decided_at, \
                 note FROM exception_decisions ORDER BY seq",
        content: |row| {
            Ok(decision_content(
                row.get(3),
                &row.get::<String, _>(4),
                &row.get::<String, _>(5),
                row.get(6),
                &row.get::<String, _>(7),
            ))
        },
    },
    ChainSpec {
        chain: "audit_log",
        select: "SELECT seq, prev_hash, record_hash, at, actor, origin, action, target, detail \
                 FROM audit_log ORDER BY seq",
        content: |row| {
            Ok(audit_content(
                row.get(3),
                &row.get::<String, _>(4),
                &row.get::<String, _>(5),
                &row.get::<String, _>(6),
                &row.get::<String, _>(7),
                &row.get::<String, _>(8),
            ))
        },
    },
    ChainSpec {
        chain: "collection_runs",
        select: "SELECT seq, prev_hash, record_hash, integration, started_at, finished_at, outcome, \
                 api_calls, evidence_seq, detail FROM collection_runs ORDER BY seq",
        content: |row| {
            Ok(run_content(
                &row.get::<String, _>(3),
                row.get(4),
                row.get(5),
                &row.get::<String, _>(6),
                row.get(7),
                row.get(8),
                &row.get::<String, _>(9),
            ))
        },
    },
    ChainSpec {
        chain: "ticket_events",
        select: "SELECT seq, prev_hash, record_hash, control_id, issue_key, kind, at, actor, detail \
                 FROM ticket_events ORDER BY seq",
        content: |row| {
            Ok(ticket_event_content(
                &row.get::<String, _>(3),
                &row.get::<String, _>(4),
                &row.get::<String, _>(5),
                row.get(6),
                &row.get::<String, _>(7),
                &row.get::<String, _>(8),
            ))
        },
    },
];

impl Store {
    /// Recomputes every chain and checks the current-state projection against the transitions.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut chains = Vec::with_capacity(CHAINS.len());
        for spec in CHAINS {
            let mut report = self.verify_chain(spec).await?;
            if spec.chain == "evidence" && report.broken.is_none() {
                report.broken = self.unexplained_prune().await?;
            }
            chains.push(report);
        }
        Ok(VerifyReport { chains, state_mismatches: self.state_mismatches().await? })
    }

    async fn verify_chain(&self, spec: &ChainSpec) -> Result<ChainReport, StoreError> {
        let head = sqlx::query("SELECT seq, head_hash FROM chain_heads WHERE chain = $1")
            .bind(spec.chain)
            .fetch_optional(&self.pool)
            .await
            .context("read a chain head")?;
        let Some(head) = head else {
            return Ok(ChainReport {
                chain: spec.chain.into(),
                records: 0,
                head_hash: String::new(),
                broken: Some(BrokenLink { seq: 0, problem: "the chain head is missing".into() }),
            });
        };
        let (head_seq, head_hash): (i64, String) = (head.get(0), head.get(1));

        let mut rows = sqlx::query(spec.select).fetch(&self.pool);
        let (mut expected_seq, mut prev_hash, mut records) = (1_i64, GENESIS.to_owned(), 0_i64);
        let mut broken = None;
        while let Some(row) = rows.try_next().await.context("read a chain")? {
            let (seq, stored_prev, stored_hash): (i64, String, String) =
                (row.get(0), row.get(1), row.get(2));
            records += 1;
            let problem = if seq != expected_seq {
                Some(format!(
                    "expected record {expected_seq} next, found {seq}: a record was deleted or inserted"
                ))
            } else if stored_prev != prev_hash {
                Some("its link to the previous record does not match: the previous record was changed or removed".into())
            } else {
                match (spec.content)(&row) {
                    Err(problem) => Some(problem),
                    Ok(content) => {
                        (record_hash(spec.chain, seq, &stored_prev, &canonical_json(&content))
                            != stored_hash)
                            .then(|| {
                                "its contents do not match its hash: the record was edited"
                                    .to_owned()
                            })
                    }
                }
            };
            if let Some(problem) = problem {
                broken = Some(BrokenLink { seq, problem });
                break;
            }
            prev_hash = stored_hash;
            expected_seq += 1;
        }
        drop(rows);

        if broken.is_none() && (expected_seq - 1 != head_seq || prev_hash != head_hash) {
            broken = Some(BrokenLink {
                seq: head_seq,
                problem: format!(
                    "the chain ends at record {} but its head says {head_seq}: records were removed from the end",
                    expected_seq - 1
                ),
            });
        }
        Ok(ChainReport { chain: spec.chain.into(), records, head_hash, broken })
    }

    /// The first evidence record whose payload is missing although no retention run (in the
    /// audit log) had a cutoff after its collection: someone removed evidence by hand.
    async fn unexplained_prune(&self) -> Result<Option<BrokenLink>, StoreError> {
        let cutoff = self.retention_cutoff().await?.unwrap_or(i64::MIN);
        let row = sqlx::query(
            "SELECT MIN(seq) FROM evidence WHERE pruned_at IS NOT NULL AND collected_at >= $1",
        )
        .bind(cutoff)
        .fetch_one(&self.pool)
        .await
        .context("check pruned evidence")?;
        Ok(row.get::<Option<i64>, _>(0).map(|seq| BrokenLink {
            seq,
            problem: "its payload was removed, but no retention run in the audit log covers it"
                .into(),
        }))
    }

    /// Controls whose `control_states` row is not what their newest transition says.
    async fn state_mismatches(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.control_id FROM transitions t \
             JOIN (SELECT control_id, MAX(seq) AS seq FROM transitions GROUP BY control_id) newest \
               ON newest.seq = t.seq \
             LEFT JOIN control_states s ON s.control_id = t.control_id \
             WHERE s.control_id IS NULL OR s.state <> t.to_state OR s.transition_seq <> t.seq \
                OR s.reason <> t.reason OR s.since <> t.at \
             UNION \
             SELECT s.control_id FROM control_states s \
             WHERE NOT EXISTS (SELECT 1 FROM transitions t WHERE t.control_id = s.control_id) \
             ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .context("compare control states with transitions")?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}
