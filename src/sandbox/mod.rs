//! Generated organisations: deterministic snapshots with a realistic mix of good and bad
//! configurations, for benchmarks and tests. (The served sandbox that `kushim demo` collects
//! from through the real client crates builds on these.)

pub mod aws;
pub mod github;
pub mod jira;
pub mod okta;
pub mod serve;
pub mod slack;

use chrono::{DateTime, TimeZone, Utc};

use crate::integrations::{Snapshot, Source};

/// The moment every generated organisation describes; judge it at (or shortly after) this time
/// to get the intended mix of good and bad configurations.
pub fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).single().expect("a valid date")
}

/// A whole organisation of about `resources` resources, split the way a typical startup's
/// systems are: most identities in Okta, then GitHub, AWS IAM, Slack and a few Jira tickets.
/// Its data describes [`as_of`]; `observed_at` is when it is said to have been collected.
pub fn generated_org(resources: usize, observed_at: DateTime<Utc>) -> Snapshot {
    let share = |percent: usize| (resources * percent / 100).max(1);
    Snapshot {
        github: Source::Collected { data: github::generated(share(30)), observed_at },
        aws: Source::Collected { data: aws::generated(share(15)), observed_at },
        okta: Source::Collected { data: okta::generated(share(45)), observed_at },
        jira: Source::Collected { data: jira::generated(share(2)), observed_at },
        slack: Source::Collected { data: slack::generated(share(8)), observed_at },
    }
}

/// How big a simulated organisation to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxSize {
    pub repos: usize,
    pub members: usize,
    pub okta_users: usize,
    pub iam_users: usize,
    pub slack_members: usize,
}

impl SandboxSize {
    /// Small enough to collect in a moment, big enough to show every kind of problem.
    pub const DEMO: SandboxSize =
        SandboxSize { repos: 24, members: 30, okta_users: 60, iam_users: 20, slack_members: 120 };
    /// The organisation the collection benchmark measures.
    pub const PERFORMANCE: SandboxSize = SandboxSize {
        repos: 300,
        members: 200,
        okta_users: 1000,
        iam_users: 150,
        slack_members: 1000,
    };
}

/// A whole simulated organisation served on 127.0.0.1 by fakes that speak the GitHub, AWS IAM,
/// Okta, Jira Cloud and Slack Web APIs (the Jira site starts empty: tickets are Kushim's own);
/// the real client crates collect from it exactly as from the real services.
pub struct Sandbox {
    pub github: github::FakeGitHub,
    pub aws: aws::FakeIam,
    pub okta: okta::FakeOkta,
    pub jira: jira::FakeJira,
    pub slack: slack::FakeSlack,
}

impl Sandbox {
    pub async fn start(size: SandboxSize) -> std::io::Result<Sandbox> {
        Ok(Sandbox {
            github: github::start(github::generated_world(size.repos, size.members)).await?,
            aws: aws::start(aws::generated_world(size.iam_users)).await?,
            okta: okta::start(okta::generated_world(size.okta_users)).await?,
            jira: jira::start(jira::JiraSite::default()).await?,
            slack: slack::start_with(slack::generated(size.slack_members)).await?,
        })
    }

    /// Collection targets pointing at the fakes.
    pub fn targets(&self) -> crate::collection::Targets {
        crate::collection::Targets {
            github: Some(self.github.settings()),
            aws: Some(crate::collection::AwsTarget {
                settings: crate::config::AwsSettings::default(),
                sdk: Some(self.aws.sdk_config()),
            }),
            okta: Some(self.okta.settings()),
            jira: Some(self.jira.settings()),
            // The primary owner's user token: the one that sees who has 2FA.
            slack: Some(self.slack.evidence_settings(slack::server::ADMIN_TOKEN)),
        }
    }
}
