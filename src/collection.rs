//! Running the collectors: which integrations are configured, collecting them side by side,
//! and handing each run to the engine (ledger, checks, transitions, run log). `kushim collect`,
//! `kushim doctor` and `kushim demo` all go through here.

use std::time::Duration;

use aws_config::SdkConfig;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::{
    config::{
        AwsSettings, Config, ConfigError, Env, GitHubSettings, JiraSettings, OktaSettings,
        SlackEvidenceSettings,
    },
    engine::{CollectionReport, Engine, EngineError},
    integrations::{
        Integration, aws,
        collect::{Diagnosis, RetryPolicy},
        github::{self, EtagCache},
        jira, okta, slack,
    },
};

/// The integrations to collect and how to reach them.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub github: Option<GitHubSettings>,
    pub aws: Option<AwsTarget>,
    pub okta: Option<OktaSettings>,
    pub jira: Option<JiraSettings>,
    /// The workspace's members, read with the evidence token (or the bot's).
    pub slack: Option<SlackEvidenceSettings>,
}

/// AWS settings and, for the sandbox and tests, an explicit SDK configuration instead of the
/// standard environment.
#[derive(Debug, Clone)]
pub struct AwsTarget {
    pub settings: AwsSettings,
    pub sdk: Option<SdkConfig>,
}

impl Targets {
    /// Every integration the configuration and environment set up.
    pub fn configured(config: &Config, env: Env<'_>) -> Result<Targets, ConfigError> {
        Ok(Targets {
            github: config.github(env)?,
            aws: config.aws(env).map(|settings| AwsTarget { settings, sdk: None }),
            okta: config.okta(env)?,
            jira: config.jira(env)?,
            slack: config.slack_evidence(env)?,
        })
    }

    /// Only `integration` (for `--only`).
    pub fn only(self, integration: Integration) -> Targets {
        self.retain(|candidate| candidate == integration)
    }

    /// The integrations `keep` accepts.
    pub fn retain(self, keep: impl Fn(Integration) -> bool) -> Targets {
        Targets {
            github: self.github.filter(|_| keep(Integration::GitHub)),
            aws: self.aws.filter(|_| keep(Integration::Aws)),
            okta: self.okta.filter(|_| keep(Integration::Okta)),
            jira: self.jira.filter(|_| keep(Integration::Jira)),
            slack: self.slack.filter(|_| keep(Integration::Slack)),
        }
    }

    pub fn integrations(&self) -> Vec<Integration> {
        let mut list = Vec::new();
        if self.github.is_some() {
            list.push(Integration::GitHub);
        }
        if self.aws.is_some() {
            list.push(Integration::Aws);
        }
        if self.okta.is_some() {
            list.push(Integration::Okta);
        }
        if self.jira.is_some() {
            list.push(Integration::Jira);
        }
        if self.slack.is_some() {
            list.push(Integration::Slack);
        }
        list
    }
}

/// Shows one spinner per integration on a terminal; silent otherwise.
pub struct Progress {
    bars: Option<(MultiProgress, Vec<(Integration, ProgressBar)>)>,
}

impl Progress {
    pub fn for_terminal(integrations: &[Integration]) -> Progress {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Progress { bars: None };
        }
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template("{spinner} {prefix:>7} {msg} {elapsed}")
            .expect("a valid progress template");
        let bars = integrations
            .iter()
            .map(|integration| {
                let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
                bar.set_prefix(integration.as_str());
                bar.set_message("collecting…");
                bar.enable_steady_tick(Duration::from_millis(120));
                (*integration, bar)
            })
            .collect();
        Progress { bars: Some((multi, bars)) }
    }

    pub fn silent() -> Progress {
        Progress { bars: None }
    }

    fn finish(&self, integration: Integration, message: String) {
        if let Some((_, bars)) = &self.bars
            && let Some((_, bar)) = bars.iter().find(|(i, _)| *i == integration)
        {
            bar.finish_with_message(message);
        }
    }
}

/// Collects every target side by side, then records each run through the engine, in a stable
/// order. A failed collection is recorded too (its checks report `error`).
pub async fn collect(
    engine: &Engine,
    targets: &Targets,
    policy: &RetryPolicy,
    progress: &Progress,
) -> Result<Vec<CollectionReport>, EngineError> {
    let etags: EtagCache =
        match engine.store().collector_state(Integration::GitHub.as_str()).await? {
            Some(saved) => serde_json::from_value(saved).unwrap_or_default(),
            None => EtagCache::default(),
        };
    let finished = |integration: Integration, calls: u64, ok: bool| {
        progress.finish(
            integration,
            format!("{} after {calls} API calls", if ok { "collected" } else { "FAILED" }),
        );
    };

    let (github, aws, okta, jira, slack) = tokio::join!(
        async {
            let settings = targets.github.as_ref()?;
            let run = github::collect(settings, policy, &etags).await;
            finished(Integration::GitHub, run.api_calls, run.source.data().is_some());
            Some(run)
        },
        async {
            let target = targets.aws.as_ref()?;
            let run = match &target.sdk {
                Some(sdk) => aws::collect_with(sdk, &target.settings, policy).await,
                None => aws::collect(&target.settings, policy).await,
            };
            finished(Integration::Aws, run.api_calls, run.source.data().is_some());
            Some(run)
        },
        async {
            let settings = targets.okta.as_ref()?;
            let run = okta::collect(settings, policy).await;
            finished(Integration::Okta, run.api_calls, run.source.data().is_some());
            Some(run)
        },
        async {
            let settings = targets.jira.as_ref()?;
            let run = jira::collect(settings, policy).await;
            finished(Integration::Jira, run.api_calls, run.source.data().is_some());
            Some(run)
        },
        async {
            let settings = targets.slack.as_ref()?;
            let run = slack::collect(settings, policy).await;
            finished(Integration::Slack, run.api_calls, run.source.data().is_some());
            Some(run)
        },
    );

    let mut reports = Vec::new();
    if let Some(run) = github {
        reports.push(engine.ingest_collection(run).await?);
        let saved = serde_json::to_value(&etags).unwrap_or_default();
        engine
            .store()
            .save_collector_state(Integration::GitHub.as_str(), &saved, chrono::Utc::now())
            .await?;
    }
    if let Some(run) = aws {
        reports.push(engine.ingest_collection(run).await?);
    }
    if let Some(run) = okta {
        reports.push(engine.ingest_collection(run).await?);
    }
    if let Some(run) = jira {
        reports.push(engine.ingest_collection(run).await?);
    }
    if let Some(run) = slack {
        reports.push(engine.ingest_collection(run).await?);
    }
    for report in &reports {
        let integration = report.run.integration.clone();
        let seconds = report.took.as_seconds_f64();
        metrics::histogram!("kushim_collection_duration_seconds", "integration" => integration.clone(), "outcome" => report.run.outcome.clone())
            .record(seconds);
        metrics::counter!("kushim_api_calls_total", "integration" => integration)
            .increment(report.run.api_calls.max(0) as u64);
    }
    Ok(reports)
}

/// Tries every target's credentials and permissions.
pub async fn doctor(targets: &Targets, policy: &RetryPolicy) -> Vec<Diagnosis> {
    let (github, aws, okta, jira, slack) = tokio::join!(
        async {
            match &targets.github {
                Some(settings) => github::doctor(settings, policy).await,
                None => Vec::new(),
            }
        },
        async {
            match &targets.aws {
                Some(AwsTarget { settings, sdk: Some(sdk) }) => {
                    aws::doctor_with(sdk, settings, policy).await
                }
                Some(AwsTarget { settings, sdk: None }) => aws::doctor(settings, policy).await,
                None => Vec::new(),
            }
        },
        async {
            match &targets.okta {
                Some(settings) => okta::doctor(settings, policy).await,
                None => Vec::new(),
            }
        },
        async {
            match &targets.jira {
                Some(settings) => jira::doctor(settings, policy).await,
                None => Vec::new(),
            }
        },
        async {
            match &targets.slack {
                Some(settings) => slack::doctor(settings, policy).await,
                None => Vec::new(),
            }
        },
    );
    [github, aws, okta, jira, slack].concat()
}
