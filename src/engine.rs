//! The engine wires the layers together: evidence in (a collected snapshot, an uploaded
//! document), checks run, controls re-assessed, transitions recorded. It is the only place that
//! both reads the store and calls the pure judges.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    catalog::{Catalog, CatalogError, Control},
    checks::{self, CheckContext, Thresholds},
    config::Config,
    controls::{self, ActiveException, Assessment, ControlState, Evidence, ManualStatus},
    integrations::{
        Integration, Snapshot, SnapshotPart, Source, aws::AwsSnapshot, collect::Collection,
        github::GitHubSnapshot, jira::JiraSnapshot, okta::OktaSnapshot, slack::SlackSnapshot,
    },
    store::{
        AssessmentInputs, AuditEntry, CollectionRunRecord, EvidenceRecord, ManualEvidenceRecord,
        NewCollectionRun, NewEvidence, NewManualEvidence, NewTransition, Store, StoreError,
        TransitionRecord,
    },
    suggest::did_you_mean,
};

/// Manual evidence larger than this is refused: the ledger is a database, not a file server.
pub const MAX_MANUAL_EVIDENCE_BYTES: usize = 25 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("{0}")]
    Config(String),
    #[error("no control {id:?}{}", control_hint(suggestions))]
    UnknownControl { id: String, suggestions: Vec<String> },
    #[error("{id} is an automated control: its evidence is collected, not uploaded")]
    NotManual { id: String },
    #[error(
        "{file} is {size} bytes; manual evidence is limited to {MAX_MANUAL_EVIDENCE_BYTES} bytes"
    )]
    EvidenceTooLarge { file: String, size: usize },
    #[error("cannot encode the {integration} snapshot: {source}")]
    Encode { integration: Integration, source: serde_json::Error },
}

fn control_hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        "; `kushim controls` lists them".into()
    } else {
        did_you_mean(suggestions)
    }
}

/// The result of re-assessing every control.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub assessments: Vec<Assessment>,
    /// The state changes this refresh recorded.
    pub transitions: Vec<TransitionRecord>,
    pub at: DateTime<Utc>,
}

impl Refresh {
    pub fn state_of(&self, control_id: &str) -> Option<ControlState> {
        self.assessments.iter().find(|a| a.control_id == control_id).map(|a| a.state)
    }
}

/// What ingesting one collection did.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub evidence: EvidenceRecord,
    pub findings: usize,
    pub refresh: Refresh,
}

/// What recording one collection run did.
#[derive(Debug, Clone)]
pub struct CollectionReport {
    pub run: CollectionRunRecord,
    /// How long the collection took (the stored run keeps whole seconds).
    pub took: chrono::TimeDelta,
    pub findings: usize,
    pub refresh: Refresh,
}

/// Who did something, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub origin: String,
}

#[derive(Clone)]
pub struct Engine {
    store: Store,
    catalog: Catalog,
    thresholds: Thresholds,
    out_of_scope: HashMap<String, String>,
    /// The latest assessment and what it was made from, shared by every clone.
    current: Arc<tokio::sync::Mutex<Option<Cached>>>,
    /// Counts this process's re-assessments: a change made here is seen at once, without
    /// waiting for [`RECHECK_INPUTS_AFTER`].
    assessed: Arc<AtomicU64>,
}

/// How long an assessment is trusted before the store is asked whether its inputs changed. Other
/// processes' writes (another replica's collection) show within this; this process's own at once.
const RECHECK_INPUTS_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The controls as they stand, for answering questions.
#[derive(Debug, Clone)]
pub struct Current {
    pub refresh: Arc<Refresh>,
    /// Whether any integration was ever collected.
    pub has_evidence: bool,
}

struct Cached {
    inputs: AssessmentInputs,
    minute: i64,
    current: Current,
    /// When the inputs were last compared with the store's.
    checked: std::time::Instant,
    /// [`Engine::assessed`] when it was made.
    generation: u64,
}

impl Engine {
    /// Loads the catalog the configuration names (or the built-in one) and checks the scope
    /// against it.
    pub fn new(store: Store, config: &Config) -> Result<Engine, EngineError> {
        let catalog = match &config.catalog_dir {
            Some(dir) => Catalog::from_dir(dir)?,
            None => Catalog::builtin()?,
        };
        let mut out_of_scope = HashMap::new();
        for exclusion in &config.scope.exclude {
            let control = catalog.control(&exclusion.control).ok_or_else(|| {
                EngineError::Config(format!(
                    "[scope] exclude names {:?}, which is not in the catalog{}",
                    exclusion.control,
                    did_you_mean(&owned(catalog.suggest(&exclusion.control)))
                ))
            })?;
            out_of_scope.insert(control.id.clone(), exclusion.reason.trim().to_owned());
        }
        Ok(Engine {
            store,
            catalog,
            thresholds: config.checks.clone(),
            out_of_scope,
            current: Arc::new(tokio::sync::Mutex::new(None)),
            assessed: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Finds a control by id (any case), or says which ids are close.
    pub fn control(&self, id: &str) -> Result<&Control, EngineError> {
        self.catalog.control(id).ok_or_else(|| EngineError::UnknownControl {
            id: id.to_owned(),
            suggestions: owned(self.catalog.suggest(id)),
        })
    }

    /// The newest stored collection of every integration.
    pub async fn current_snapshot(&self) -> Result<Snapshot, EngineError> {
        let mut snapshot = Snapshot::default();
        for record in self.store.latest_evidence().await? {
            let Some(integration) = Integration::parse(&record.source) else { continue };
            let payload = self.store.evidence_payload(record.seq).await?;
            match integration {
                Integration::GitHub => restore::<GitHubSnapshot>(&mut snapshot, payload)?,
                Integration::Aws => restore::<AwsSnapshot>(&mut snapshot, payload)?,
                Integration::Okta => restore::<OktaSnapshot>(&mut snapshot, payload)?,
                Integration::Jira => restore::<JiraSnapshot>(&mut snapshot, payload)?,
                Integration::Slack => restore::<SlackSnapshot>(&mut snapshot, payload)?,
            }
        }
        Ok(snapshot)
    }

    /// Records one collection run: its data joins the newest data of the other integrations,
    /// is stored and judged, and the run (outcome, API calls) is logged.
    pub async fn ingest_collection<T: SnapshotPart>(
        &self,
        collection: Collection<T>,
    ) -> Result<CollectionReport, EngineError> {
        let integration = T::INTEGRATION;
        let took = collection.finished_at - collection.started_at;
        let (outcome, detail) = match &collection.source {
            Source::Failed { reason, .. } => ("failed", reason.clone()),
            _ => ("collected", String::new()),
        };
        let mut snapshot = self.current_snapshot().await?;
        *T::slot(&mut snapshot) = collection.source;
        let ingested = self.ingest(integration, &snapshot, collection.finished_at).await?;
        let run = self
            .store
            .record_collection_run(NewCollectionRun {
                integration: integration.as_str().to_owned(),
                started_at: collection.started_at,
                finished_at: collection.finished_at,
                outcome: outcome.to_owned(),
                api_calls: collection.api_calls,
                evidence_seq: ingested.evidence.seq,
                detail,
            })
            .await?;
        tracing::info!(%integration, outcome, api_calls = collection.api_calls, "collection recorded");
        Ok(CollectionReport { run, took, findings: ingested.findings, refresh: ingested.refresh })
    }

    /// Stores one integration's collection (from `snapshot`) in the ledger, runs that
    /// integration's checks over it and re-assesses every control.
    #[tracing::instrument(skip(self, snapshot), fields(%integration))]
    pub async fn ingest(
        &self,
        integration: Integration,
        snapshot: &Snapshot,
        collected_at: DateTime<Utc>,
    ) -> Result<Ingested, EngineError> {
        let encode = |source: serde_json::Error| EngineError::Encode { integration, source };
        let (payload, kind, observed_at) = match integration {
            Integration::GitHub => describe(&snapshot.github),
            Integration::Aws => describe(&snapshot.aws),
            Integration::Okta => describe(&snapshot.okta),
            Integration::Jira => describe(&snapshot.jira),
            Integration::Slack => describe(&snapshot.slack),
        };
        let payload = payload.map_err(encode)?;
        let evidence = self
            .store
            .append_evidence(NewEvidence {
                source: integration.as_str().to_owned(),
                kind: kind.to_owned(),
                collected_at,
                observed_at: observed_at.unwrap_or(collected_at),
                payload,
            })
            .await?;
        let ctx = CheckContext::new(collected_at).with_thresholds(self.thresholds.clone());
        let findings = checks::run_checks(snapshot, integration, &ctx);
        self.store.record_evaluation(&evidence, collected_at, &findings).await?;
        tracing::info!(
            evidence = evidence.seq,
            kind,
            findings = findings.len(),
            "evidence ingested and judged"
        );
        let refresh = self.refresh(collected_at).await?;
        Ok(Ingested { evidence, findings: findings.len(), refresh })
    }

    /// The controls as of `now`, re-assessed only when something they depend on changed
    /// (new evidence, an upload, an exception decision) or the minute turned (freshness windows
    /// move with time). Chat questions go through here, so a busy channel costs one assessment
    /// per change, not one per question.
    pub async fn current(&self, now: DateTime<Utc>) -> Result<Current, EngineError> {
        let minute = now.timestamp().div_euclid(60);
        let mut cached = self.current.lock().await;
        if let Some(hit) = cached.as_mut()
            && hit.minute == minute
            && hit.generation == self.assessed.load(Ordering::Acquire)
        {
            if hit.checked.elapsed() < RECHECK_INPUTS_AFTER {
                return Ok(hit.current.clone());
            }
            let inputs = self.store.assessment_inputs().await?;
            if inputs == hit.inputs {
                hit.checked = std::time::Instant::now();
                return Ok(hit.current.clone());
            }
        }
        let inputs = self.store.assessment_inputs().await?;
        let current = Current {
            refresh: Arc::new(self.refresh(now).await?),
            has_evidence: inputs.has_evidence(),
        };
        *cached = Some(Cached {
            inputs,
            minute,
            current: current.clone(),
            checked: std::time::Instant::now(),
            generation: self.assessed.load(Ordering::Acquire),
        });
        Ok(current)
    }

    /// Re-assesses every control as of `now` and records each state change as a transition.
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<Refresh, EngineError> {
        let findings = self.store.latest_findings().await?;
        let manual: HashMap<String, ManualStatus> = self
            .store
            .latest_manual_evidence()
            .await?
            .into_iter()
            .map(|m| {
                (
                    m.control_id,
                    ManualStatus { submitted_at: m.submitted_at, due_at: m.due_at, owner: m.owner },
                )
            })
            .collect();
        let mut exceptions: HashMap<String, ActiveException> = HashMap::new();
        for exception in self.store.exceptions().await? {
            if !exception.is_active(now) {
                continue;
            }
            // Newest first: the first active exception of a control is the one that counts.
            exceptions.entry(exception.control_id.clone()).or_insert(ActiveException {
                id: exception.seq,
                approved_by: exception.decided_by.clone().unwrap_or_default(),
                expires_at: exception.expires_at,
                reason: exception.reason.clone(),
            });
        }
        let assessments = controls::assess_all(
            &self.catalog,
            Evidence {
                findings: &findings,
                manual: &manual,
                exceptions: &exceptions,
                out_of_scope: &self.out_of_scope,
            },
            now,
        );

        let recorded: HashMap<String, String> = self
            .store
            .control_states()
            .await?
            .into_iter()
            .map(|row| (row.control_id, row.state))
            .collect();
        let changes: Vec<NewTransition> = assessments
            .iter()
            .filter(|a| recorded.get(&a.control_id).map(String::as_str) != Some(a.state.as_str()))
            .map(|a| NewTransition {
                control_id: a.control_id.clone(),
                from_state: recorded.get(&a.control_id).cloned(),
                to_state: a.state.as_str().to_owned(),
                at: now,
                reason: a.reason.clone(),
            })
            .collect();
        let transitions = self.store.record_transitions(&changes).await?;
        for t in &transitions {
            tracing::info!(control = %t.control_id, from = t.from_state.as_deref().unwrap_or("-"), to = %t.to_state, "control changed state");
        }
        for state in ControlState::ALL {
            let count = assessments.iter().filter(|a| a.state == state).count();
            metrics::gauge!("kushim_controls", "state" => state.as_str()).set(count as f64);
        }
        self.assessed.fetch_add(1, Ordering::AcqRel);
        Ok(Refresh { assessments, transitions, at: now })
    }

    /// Stores a document as a manual control's evidence, due again after the control's
    /// `evidence_every`, and re-assesses.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_manual_evidence(
        &self,
        control_id: &str,
        file_name: &str,
        content: Vec<u8>,
        note: &str,
        owner: Option<&str>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(ManualEvidenceRecord, Refresh), EngineError> {
        let control = self.control(control_id)?;
        let every = control
            .evidence_every
            .filter(|_| control.kind.has_manual_evidence())
            .ok_or_else(|| EngineError::NotManual { id: control.id.clone() })?;
        if content.len() > MAX_MANUAL_EVIDENCE_BYTES {
            return Err(EngineError::EvidenceTooLarge {
                file: file_name.to_owned(),
                size: content.len(),
            });
        }
        let record = self
            .store
            .add_manual_evidence(NewManualEvidence {
                control_id: control.id.clone(),
                file_name: file_name.to_owned(),
                content,
                note: note.to_owned(),
                owner: owner.unwrap_or(&control.owner).to_owned(),
                submitted_by: actor.name.clone(),
                submitted_at: now,
                due_at: now + every.as_delta(),
            })
            .await?;
        self.store
            .audit(AuditEntry {
                at: now,
                actor: actor.name.clone(),
                origin: actor.origin.clone(),
                action: "evidence.add".into(),
                target: control.id.clone(),
                detail: json!({"file": record.file_name, "sha256": record.content_sha256, "due_at": record.due_at}),
            })
            .await?;
        let refresh = self.refresh(now).await?;
        Ok((record, refresh))
    }
}

/// Puts a stored payload back into its slot of the snapshot.
fn restore<T: SnapshotPart>(
    snapshot: &mut Snapshot,
    payload: serde_json::Value,
) -> Result<(), EngineError> {
    *T::slot(snapshot) = serde_json::from_value(payload)
        .map_err(|e| StoreError::Corrupt { context: "evidence payload", detail: e.to_string() })?;
    Ok(())
}

/// A source as a ledger payload: its JSON, its kind and the time its data describes.
fn describe<T: serde::Serialize>(
    source: &Source<T>,
) -> (Result<serde_json::Value, serde_json::Error>, &'static str, Option<DateTime<Utc>>) {
    let (kind, observed_at) = match source {
        Source::NotCollected => ("not_collected", None),
        Source::Failed { observed_at, .. } => ("collection_error", Some(*observed_at)),
        Source::Collected { observed_at, .. } => ("snapshot", Some(*observed_at)),
    };
    (serde_json::to_value(source), kind, observed_at)
}

fn owned(ids: Vec<&str>) -> Vec<String> {
    ids.into_iter().map(str::to_owned).collect()
}
