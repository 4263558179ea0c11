//! Jira, as an evidence source: the remediation tickets Kushim opened, found by the JQL
//! `labels = kushim`, normalised for `crate::checks::jira`. Whether they are closed in time is
//! the evidence for CC4.2 ("deficiencies are communicated and corrected timely").
//!
//! Parts that could not be fetched are recorded in `gaps` under the `PART_*` names below.
//!
//! [`collect`] and [`doctor`] talk to the site (`client.rs`: gouqi and reqwest, errors, retries;
//! `collector.rs`: what to fetch). The remediation loop (`crate::remediation`) uses the same
//! client to create, comment on and transition the tickets.

pub mod client;
mod collector;

pub use collector::{collect, doctor, tickets_jql};

/// The label on every ticket Kushim opens.
pub const LABEL: &str = "kushim";

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::integrations::Gaps;

/// The ticket search as a whole.
pub const PART_TICKETS: &str = "tickets";

/// Kushim's remediation tickets in one Jira Cloud site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JiraSnapshot {
    /// The site's base URL as configured, e.g. `https://acme.atlassian.net`.
    pub site_url: String,
    /// `POST /rest/api/3/search/jql` with `jql = "labels = kushim"`,
    /// `fields = [summary, status, duedate, created, labels]`, following `nextPageToken` (the
    /// legacy `/rest/api/3/search` answers 410 Gone). Done tickets are included; the check skips
    /// them.
    pub tickets: Vec<JiraTicket>,
    /// Parts that could not be fetched, keyed by the `PART_*` constants of this module.
    pub gaps: Gaps,
}

/// One issue found by the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JiraTicket {
    /// `issues[].key`, e.g. `SEC-42`.
    pub key: String,
    /// `fields.summary`.
    pub summary: String,
    /// `fields.status.name`, the workflow's own word, e.g. `In Review`.
    pub status: String,
    /// `fields.status.statusCategory.key`: the workflow-independent meaning of the status.
    pub status_category: StatusCategory,
    /// `fields.duedate` (`YYYY-MM-DD`); `None` when the ticket has no due date (Jira returns null).
    pub due_date: Option<NaiveDate>,
    /// `fields.created`.
    pub created: DateTime<Utc>,
    /// `fields.labels`.
    pub labels: Vec<String>,
}

/// `statusCategory.key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCategory {
    /// "To Do".
    New,
    /// "In Progress".
    Indeterminate,
    /// "Done".
    Done,
    /// Any other key (Jira also knows `undefined`, "No Category"), verbatim.
    #[serde(untagged)]
    Other(String),
}
