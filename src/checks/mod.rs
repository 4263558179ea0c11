//! Checks judge. Each check is a pure function of a typed snapshot and a [`CheckContext`] (the
//! time of judgement and the thresholds): no I/O, no clock, so every check is table-tested
//! without servers.
//!
//! The registry below is the one list of checks; the catalog names checks by these ids, and a
//! test holds the two to each other both ways.

mod context;
mod finding;

pub mod aws;
pub mod github;
pub mod jira;
pub mod okta;
pub mod slack;

use std::sync::LazyLock;

pub use context::{CheckContext, Thresholds};
pub use finding::{Finding, Outcome, Verdict};

use chrono::{DateTime, Utc};

use crate::integrations::{
    Integration, Snapshot, Source, aws::AwsSnapshot, github::GitHubSnapshot, jira::JiraSnapshot,
    okta::OktaSnapshot, slack::SlackSnapshot,
};

/// How a check reads its evidence. Most checks read one integration's snapshot; the engine then
/// handles a source that was never collected (no findings) or failed (an `error` finding with the
/// collector's reason) before the check runs, so a check only ever sees real data.
#[derive(Clone, Copy)]
pub enum Judge {
    GitHub(fn(&GitHubSnapshot, &CheckContext) -> Vec<Verdict>),
    Aws(fn(&AwsSnapshot, &CheckContext) -> Vec<Verdict>),
    Okta(fn(&OktaSnapshot, &CheckContext) -> Vec<Verdict>),
    Jira(fn(&JiraSnapshot, &CheckContext) -> Vec<Verdict>),
    Slack(fn(&SlackSnapshot, &CheckContext) -> Vec<Verdict>),
    /// Reads several sources. `primary` must be collected for the check to run; the others are
    /// optional and the check says in its reasons which ones it could not consult.
    Cross {
        primary: Integration,
        run: fn(&Snapshot, &CheckContext) -> Vec<Verdict>,
    },
}

impl Judge {
    /// The integration whose collection this check depends on.
    pub fn integration(&self) -> Integration {
        match self {
            Judge::GitHub(_) => Integration::GitHub,
            Judge::Aws(_) => Integration::Aws,
            Judge::Okta(_) => Integration::Okta,
            Judge::Jira(_) => Integration::Jira,
            Judge::Slack(_) => Integration::Slack,
            Judge::Cross { primary, .. } => *primary,
        }
    }
}

/// One automated check: a stable id (as used in the catalog), a one-line title, and its judge.
#[derive(Clone, Copy)]
pub struct CheckDef {
    pub id: &'static str,
    pub title: &'static str,
    pub judge: Judge,
}

impl std::fmt::Debug for CheckDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckDef").field("id", &self.id).field("title", &self.title).finish()
    }
}

static REGISTRY: LazyLock<Vec<CheckDef>> = LazyLock::new(|| {
    [aws::CHECKS, github::CHECKS, okta::CHECKS, jira::CHECKS, slack::CHECKS].concat()
});

/// Every automated check Kushim knows, in a stable order.
pub fn registry() -> &'static [CheckDef] {
    &REGISTRY
}

/// Looks a check up by id.
pub fn find(id: &str) -> Option<&'static CheckDef> {
    registry().iter().find(|check| check.id == id)
}

/// Check ids closest to a mistyped one, best first.
pub fn suggest(typed: &str) -> Vec<&'static str> {
    // Edit distance rather than Jaro-Winkler: every id shares a long prefix (`gh.repo.`), which
    // Jaro-Winkler rewards over the part that was actually mistyped.
    crate::suggest::closest(
        registry()
            .iter()
            .map(|check| (strsim::normalized_damerau_levenshtein(typed, check.id), check.id)),
    )
}

/// Runs every check of one integration over the snapshot and dates each verdict with the time
/// the data describes.
///
/// A source that was never collected yields no findings (the controls show "no evidence"); a
/// failed collection yields one `error` finding per check with the collector's reason, so a
/// control can never pass on data that is not there.
pub fn run_checks(
    snapshot: &Snapshot,
    integration: Integration,
    ctx: &CheckContext,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for check in registry().iter().filter(|c| c.judge.integration() == integration) {
        let (observed_at, verdicts) = match collection_state(snapshot, integration) {
            CollectionState::NotCollected => continue,
            CollectionState::Failed { reason, observed_at } => {
                let verdict = Verdict::error(
                    integration.as_str(),
                    format!("the {integration} collection failed: {reason}"),
                );
                findings.push(Finding::from_verdict(check.id, verdict, observed_at));
                continue;
            }
            CollectionState::Collected { observed_at } => {
                (observed_at, judge(check, snapshot, ctx))
            }
        };
        if verdicts.is_empty() {
            // Every check reports at least one verdict when it has data; silence is a bug, and a
            // bug must not read as a pass.
            let verdict = Verdict::error(integration.as_str(), "the check returned no verdict");
            findings.push(Finding::from_verdict(check.id, verdict, observed_at));
        }
        findings
            .extend(verdicts.into_iter().map(|v| Finding::from_verdict(check.id, v, observed_at)));
    }
    findings
}

enum CollectionState<'a> {
    NotCollected,
    Failed { reason: &'a str, observed_at: DateTime<Utc> },
    Collected { observed_at: DateTime<Utc> },
}

fn collection_state(snapshot: &Snapshot, integration: Integration) -> CollectionState<'_> {
    fn state<T>(source: &Source<T>) -> CollectionState<'_> {
        match source {
            Source::NotCollected => CollectionState::NotCollected,
            Source::Failed { reason, observed_at } => {
                CollectionState::Failed { reason, observed_at: *observed_at }
            }
            Source::Collected { observed_at, .. } => {
                CollectionState::Collected { observed_at: *observed_at }
            }
        }
    }
    match integration {
        Integration::GitHub => state(&snapshot.github),
        Integration::Aws => state(&snapshot.aws),
        Integration::Okta => state(&snapshot.okta),
        Integration::Jira => state(&snapshot.jira),
        Integration::Slack => state(&snapshot.slack),
    }
}

fn judge(check: &CheckDef, snapshot: &Snapshot, ctx: &CheckContext) -> Vec<Verdict> {
    fn with<T>(source: &Source<T>, run: impl FnOnce(&T) -> Vec<Verdict>) -> Vec<Verdict> {
        source.data().map(run).unwrap_or_default()
    }
    match check.judge {
        Judge::GitHub(run) => with(&snapshot.github, |data| run(data, ctx)),
        Judge::Aws(run) => with(&snapshot.aws, |data| run(data, ctx)),
        Judge::Okta(run) => with(&snapshot.okta, |data| run(data, ctx)),
        Judge::Jira(run) => with(&snapshot.jira, |data| run(data, ctx)),
        Judge::Slack(run) => with(&snapshot.slack, |data| run(data, ctx)),
        Judge::Cross { run, .. } => run(snapshot, ctx),
    }
}
