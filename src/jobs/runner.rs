//! The production job handler: what each [`JobRequest`] does in `kushim serve`.
//!
//! Every job that re-assesses controls queues the alerts its transitions call for, so a state
//! change is announced whichever job noticed it.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::{JobRequest, alerts, digest, worker::Handler};
use crate::{
    collection::{self, Progress, Targets},
    engine::{Engine, EngineError, Refresh},
    integrations::collect::RetryPolicy,
    server::Clock,
    store::{Job, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{integration} is not configured on this server")]
    NotConfigured { integration: String },
    #[error("{0}")]
    Hook(String),
    #[error("the collection stopped unexpectedly: {0}")]
    CollectionAborted(String),
}

/// A job kind whose work lives in another integration (Jira sync), plugged in by the server.
pub type JobHook = Arc<
    dyn Fn(DateTime<Utc>) -> futures_util::future::BoxFuture<'static, Result<(), String>>
        + Send
        + Sync,
>;

#[derive(Clone)]
pub struct Runner {
    engine: Engine,
    targets: Targets,
    clock: Clock,
    timezone: Tz,
    flap_window: TimeDelta,
    retry: RetryPolicy,
    jira_sync: Option<JobHook>,
    /// How long evidence payloads are kept; `None` keeps them forever.
    evidence_retention: Option<TimeDelta>,
}

impl Runner {
    pub fn new(
        engine: Engine,
        targets: Targets,
        clock: Clock,
        timezone: Tz,
        flap_window: TimeDelta,
    ) -> Runner {
        Runner {
            engine,
            targets,
            clock,
            timezone,
            flap_window,
            retry: RetryPolicy::default(),
            jira_sync: None,
            evidence_retention: None,
        }
    }

    /// Lets `evidence_retention` jobs drop payloads older than `keep` (without it they keep
    /// everything).
    pub fn with_evidence_retention(mut self, keep: Option<TimeDelta>) -> Runner {
        self.evidence_retention = keep;
        self
    }

    /// What `jira_sync` jobs run (without it they finish at once, saying Jira is not set up).
    pub fn with_jira_sync(mut self, hook: JobHook) -> Runner {
        self.jira_sync = Some(hook);
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    async fn announce(&self, refresh: &Refresh) -> Result<(), RunError> {
        let queued = alerts::queue_alerts(
            self.engine.store(),
            self.engine.catalog(),
            &refresh.transitions,
            self.flap_window,
            (self.clock)(),
        )
        .await?;
        if queued > 0 {
            tracing::info!(queued, "alerts queued");
        }
        Ok(())
    }

    async fn collect(
        &self,
        only: Option<crate::integrations::Integration>,
    ) -> Result<(), RunError> {
        let targets = match only {
            Some(integration) => {
                let targets = self.targets.clone().only(integration);
                if targets.integrations().is_empty() {
                    return Err(RunError::NotConfigured { integration: integration.to_string() });
                }
                targets
            }
            None => self.targets.clone(),
        };
        // The collectors' futures are not provably Send (rustc cannot see through their
        // per-item closures' lifetimes), so the collection runs on a blocking thread of its own
        // that drives it on this runtime.
        let (engine, retry, runtime) =
            (self.engine.clone(), self.retry, tokio::runtime::Handle::current());
        let reports = tokio::task::spawn_blocking(move || {
            runtime.block_on(collection::collect(&engine, &targets, &retry, &Progress::silent()))
        })
        .await
        .map_err(|e| RunError::CollectionAborted(e.to_string()))??;
        for report in &reports {
            tracing::info!(
                integration = %report.run.integration,
                outcome = %report.run.outcome,
                api_calls = report.run.api_calls,
                "collected"
            );
            self.announce(&report.refresh).await?;
        }
        Ok(())
    }

    async fn refresh(&self) -> Result<Refresh, RunError> {
        let refresh = self.engine.refresh((self.clock)()).await?;
        self.announce(&refresh).await?;
        Ok(refresh)
    }

    async fn digest(&self) -> Result<(), RunError> {
        let refresh = self.refresh().await?;
        let now = (self.clock)();
        let store = self.engine.store();
        let inputs =
            digest::gather(store, self.engine.catalog(), &refresh, self.timezone, now).await?;
        let queued = digest::queue_digests(store, &inputs, now).await?;
        tracing::info!(queued, score = inputs.score, "digest queued");
        Ok(())
    }

    async fn evidence_retention(&self) -> Result<(), RunError> {
        let Some(keep) = self.evidence_retention else {
            tracing::info!("evidence retention is off ([jobs] evidence_retention_days = 0)");
            return Ok(());
        };
        let now = (self.clock)();
        let report =
            self.engine.store().prune_evidence(now - keep, now, "kushim:retention").await?;
        metrics::counter!("kushim_evidence_pruned_total").increment(report.records as u64);
        tracing::info!(
            records = report.records,
            bytes = report.bytes,
            cutoff = %report.cutoff,
            "evidence retention: old payloads dropped, hashes kept"
        );
        Ok(())
    }

    async fn evidence_reminders(&self) -> Result<(), RunError> {
        let refresh = self.refresh().await?;
        let states: HashMap<_, _> =
            refresh.assessments.iter().map(|a| (a.control_id.clone(), a.state)).collect();
        alerts::queue_evidence_reminders(
            self.engine.store(),
            self.engine.catalog(),
            &states,
            (self.clock)(),
        )
        .await?;
        Ok(())
    }
}

impl Handler for Runner {
    type Error = RunError;

    async fn on_dead(&self, job: &Job, error: &str) {
        let now = (self.clock)();
        if let Err(problem) = alerts::queue_dead_job(self.engine.store(), job, error, now).await {
            tracing::error!(%problem, "cannot tell the alert channels about a dead job");
        }
    }

    async fn run(&self, _job: &Job, request: JobRequest) -> Result<(), RunError> {
        match request {
            JobRequest::Collect { integration } => self.collect(integration).await,
            JobRequest::Evaluate => self.refresh().await.map(drop),
            JobRequest::Digest => self.digest().await,
            JobRequest::ExceptionSweep => {
                self.refresh().await?;
                let store = self.engine.store();
                alerts::queue_exception_warnings(store, self.engine.catalog(), (self.clock)())
                    .await?;
                Ok(())
            }
            JobRequest::EvidenceReminders => self.evidence_reminders().await,
            JobRequest::EvidenceRetention => self.evidence_retention().await,
            JobRequest::JiraSync => match &self.jira_sync {
                Some(hook) => hook((self.clock)()).await.map_err(RunError::Hook),
                None => {
                    tracing::info!("Jira is not set up on this server; nothing to sync");
                    Ok(())
                }
            },
        }
    }
}
