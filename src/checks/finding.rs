//! What a check says about one resource.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The verdict of one check on one resource.
///
/// `Error` means the check could not judge (missing permission, malformed data); it never counts
/// as passing. `NotApplicable` means the resource or the whole check does not apply here (for
/// example no IAM users exist), and says why in the finding's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    Error,
    NotApplicable,
}

impl Outcome {
    pub const ALL: [Outcome; 4] =
        [Outcome::Pass, Outcome::Fail, Outcome::Error, Outcome::NotApplicable];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One verdict as a check returns it. The engine adds the check id and the time the underlying
/// data describes (`observed_at`) when it stores the finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// What was judged, in the source system's own words: `repo:acme/api`, `iam-user:alice`,
    /// `okta-user:00u1abc (alice@example.com)`, or the account / org itself.
    pub resource: String,
    /// Why, in one sentence a person can act on.
    pub reason: String,
}

impl Verdict {
    pub fn pass(resource: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(Outcome::Pass, resource, reason)
    }

    pub fn fail(resource: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(Outcome::Fail, resource, reason)
    }

    pub fn error(resource: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(Outcome::Error, resource, reason)
    }

    pub fn not_applicable(resource: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(Outcome::NotApplicable, resource, reason)
    }

    pub fn new(outcome: Outcome, resource: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { outcome, resource: resource.into(), reason: reason.into() }
    }
}

/// A verdict as stored: which check said it, and the time the judged data describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check_id: String,
    pub outcome: Outcome,
    pub resource: String,
    pub reason: String,
    pub observed_at: DateTime<Utc>,
}

impl Finding {
    pub fn from_verdict(check_id: &str, verdict: Verdict, observed_at: DateTime<Utc>) -> Self {
        Finding {
            check_id: check_id.to_owned(),
            outcome: verdict.outcome,
            resource: verdict.resource,
            reason: verdict.reason,
            observed_at,
        }
    }
}
