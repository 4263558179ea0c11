//! What a check may know besides the snapshot: the time of judgement and the thresholds.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    aws::AwsThresholds, github::GitHubThresholds, jira::JiraThresholds, okta::OktaThresholds,
};

/// Time is a parameter, never read from the clock inside a check, so a test can judge the same
/// snapshot "100 days later".
#[derive(Debug, Clone)]
pub struct CheckContext {
    pub now: DateTime<Utc>,
    pub thresholds: Thresholds,
}

impl CheckContext {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self { now, thresholds: Thresholds::default() }
    }

    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }
}

/// The `[checks]` section of `kushim.toml`. Every threshold has the documented default
/// (../shared/reference/checks.md section 6), so an empty section means "the defaults".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub aws: AwsThresholds,
    pub github: GitHubThresholds,
    pub okta: OktaThresholds,
    pub jira: JiraThresholds,
}
