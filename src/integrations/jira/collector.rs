//! The Jira evidence collector and `kushim doctor`'s Jira lines: Kushim's own remediation
//! tickets, found by their label, become the [`JiraSnapshot`] the SLA check judges.

use chrono::Utc;

use super::client::JiraClient;
use super::{JiraSnapshot, JiraTicket, LABEL};
use crate::config::JiraSettings;
use crate::integrations::{
    Integration, Source,
    collect::{ApiCalls, Collection, Diagnosis, RetryPolicy},
};

/// The JQL that finds every Kushim ticket of the configured project, done ones included.
pub fn tickets_jql(settings: &JiraSettings) -> String {
    format!("project = \"{}\" AND labels = {LABEL} ORDER BY created ASC", settings.tickets.project)
}

/// Searches the site for Kushim's tickets. A failed search fails the collection (there is
/// nothing else to collect), so the SLA check reports `error` instead of passing.
pub async fn collect(settings: &JiraSettings, policy: &RetryPolicy) -> Collection<JiraSnapshot> {
    let started_at = Utc::now();
    let calls = ApiCalls::default();
    let result = async {
        let client = JiraClient::new(settings, *policy, calls.clone())?;
        client.search(&tickets_jql(settings)).await
    }
    .await;
    let finished_at = Utc::now();
    let source = match result {
        Ok(found) => Source::Collected {
            data: JiraSnapshot {
                site_url: settings.url.clone(),
                tickets: found
                    .into_iter()
                    .map(|issue| JiraTicket {
                        key: issue.key,
                        summary: issue.summary,
                        status: issue.status,
                        status_category: issue.status_category,
                        due_date: issue.due_date,
                        created: issue.created.unwrap_or(started_at),
                        labels: issue.labels,
                    })
                    .collect(),
                gaps: Default::default(),
            },
            observed_at: finished_at,
        },
        Err(error) => {
            tracing::warn!(%error, "jira collection failed");
            Source::Failed { reason: error.to_string(), observed_at: finished_at }
        }
    };
    Collection { source, api_calls: calls.total(), started_at, finished_at }
}

/// The token, the project and the search, each with what to fix.
pub async fn doctor(settings: &JiraSettings, policy: &RetryPolicy) -> Vec<Diagnosis> {
    let line = |check: &str, result: Result<String, String>| Diagnosis {
        integration: Integration::Jira,
        check: check.to_owned(),
        ok: result.is_ok(),
        detail: result.unwrap_or_else(|e| e),
    };
    let client = match JiraClient::new(settings, *policy, ApiCalls::default()) {
        Ok(client) => client,
        Err(error) => return vec![line("site URL", Err(error.to_string()))],
    };
    let mut lines = Vec::new();
    let token = client.myself().await;
    let accepted = token.is_ok();
    lines.push(line(
        "API token accepted",
        token.map(|a| format!("as {}", a.display_name)).map_err(|e| e.to_string()),
    ));
    if !accepted {
        return lines;
    }
    let project = &settings.tickets.project;
    lines.push(line(
        &format!("project {project} visible"),
        client.project(project).await.map(|name| format!("\"{name}\"")).map_err(|e| e.to_string()),
    ));
    lines.push(line(
        "search remediation tickets (search/jql)",
        client
            .search(&tickets_jql(settings))
            .await
            .map(|found| format!("{} Kushim tickets", found.len()))
            .map_err(|e| e.to_string()),
    ));
    lines
}
