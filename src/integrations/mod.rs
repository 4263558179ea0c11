//! Integrations collect. Each module holds one external system's snapshot types (and, as they
//! arrive, its client and collector). A snapshot is plain data: what we saw, never a judgement.

pub mod aws;
pub mod collect;
pub mod github;
pub mod jira;
pub mod okta;
pub mod slack;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The external systems Kushim collects evidence from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Integration {
    GitHub,
    Aws,
    Okta,
    Jira,
    Slack,
}

impl Integration {
    pub const ALL: [Integration; 5] = [
        Integration::GitHub,
        Integration::Aws,
        Integration::Okta,
        Integration::Jira,
        Integration::Slack,
    ];

    /// The name used in the store, the CLI (`--only github`) and check ids (`gh.`, `aws.`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Integration::GitHub => "github",
            Integration::Aws => "aws",
            Integration::Okta => "okta",
            Integration::Jira => "jira",
            Integration::Slack => "slack",
        }
    }

    /// The name people know the system by.
    pub fn display_name(self) -> &'static str {
        match self {
            Integration::GitHub => "GitHub",
            Integration::Aws => "AWS IAM",
            Integration::Okta => "Okta",
            Integration::Jira => "Jira",
            Integration::Slack => "Slack",
        }
    }

    pub fn parse(name: &str) -> Option<Integration> {
        Integration::ALL.into_iter().find(|i| i.as_str() == name)
    }
}

impl fmt::Display for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the latest collection of one integration produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Source<T> {
    /// Never collected (not configured, or no collection has run yet).
    #[default]
    NotCollected,
    /// The collection failed as a whole; every check of this integration reports `error` with
    /// this reason.
    Failed { reason: String, observed_at: DateTime<Utc> },
    /// Data as of `observed_at`. Parts that could not be fetched are recorded inside the
    /// snapshot itself (its `gaps`), so the checks that need them report `error`.
    Collected { data: T, observed_at: DateTime<Utc> },
}

impl<T> Source<T> {
    pub fn data(&self) -> Option<&T> {
        match self {
            Source::Collected { data, .. } => Some(data),
            _ => None,
        }
    }
}

/// Everything the checks may read: the latest collection of every integration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub github: Source<github::GitHubSnapshot>,
    pub aws: Source<aws::AwsSnapshot>,
    pub okta: Source<okta::OktaSnapshot>,
    pub jira: Source<jira::JiraSnapshot>,
    pub slack: Source<slack::SlackSnapshot>,
}

/// Parts of one collection that could not be fetched, by part name (`"branch_protection"`,
/// `"credential_report"`, …), with the reason. A check that needs a missing part reports `error`
/// with that reason instead of judging on partial data.
pub type Gaps = std::collections::BTreeMap<String, String>;

/// A snapshot type and its place in [`Snapshot`], so code that handles "one integration's
/// collection" is written once for all of them.
pub trait SnapshotPart: Serialize + serde::de::DeserializeOwned + Sized {
    const INTEGRATION: Integration;
    fn slot(snapshot: &mut Snapshot) -> &mut Source<Self>;
}

macro_rules! snapshot_part {
    ($type:ty, $integration:ident, $field:ident) => {
        impl SnapshotPart for $type {
            const INTEGRATION: Integration = Integration::$integration;
            fn slot(snapshot: &mut Snapshot) -> &mut Source<Self> {
                &mut snapshot.$field
            }
        }
    };
}

snapshot_part!(github::GitHubSnapshot, GitHub, github);
snapshot_part!(aws::AwsSnapshot, Aws, aws);
snapshot_part!(okta::OktaSnapshot, Okta, okta);
snapshot_part!(jira::JiraSnapshot, Jira, jira);
snapshot_part!(slack::SlackSnapshot, Slack, slack);
