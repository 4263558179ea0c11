//! Talking to one Jira Cloud site. gouqi (async, search forced to REST v3) does what its typed
//! calls fit: the `search/jql` search with `nextPageToken`, comments (through its versioned raw
//! call, so the body is our ADF), listing and triggering transitions. Plain `reqwest` does the
//! rest, where gouqi's typed structs are not Cloud-friendly: issue create with an ADF
//! description, edit, entity properties and issue links (see reference/crates.md §5).
//!
//! Every call counts itself in [`ApiCalls`], has the per-request timeout, and is classified into
//! a [`CollectError`] that names the cause: 401 the token, 403 the permission, 404 the project
//! or issue, 400 Jira's own messages. [`RetryPolicy::run`] retries what is safe to retry: a 429
//! always (Jira rejected the request before doing anything), a refused connection always
//! (nothing was sent), a 5xx or timeout only for reads and idempotent writes. An issue create is
//! never retried after a 5xx or timeout: Jira may have created the issue, and the caller
//! reconciles by searching for the ticket's idempotency label instead (see `remediation`).
//!
//! gouqi does not expose response headers, so a 429 on a gouqi call is retried on the backoff
//! schedule rather than after `Retry-After`; the reqwest calls honour `Retry-After`.

use std::{future::Future, time::Duration};

use chrono::{DateTime, NaiveDate, Utc};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::StatusCategory;
use crate::config::{JiraSettings, Secret};
use crate::integrations::{
    Integration,
    collect::{ApiCalls, Attempt, CollectError, RetryPolicy, retry_after},
};

/// Where an API token comes from, for the 401 message.
const TOKEN_FIX: &str = "check JIRA_EMAIL and JIRA_API_TOKEN (an API token of that account, from \
                         id.atlassian.com/manage-profile/security/api-tokens)";

/// A new issue, as `POST /rest/api/3/issue` takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIssue {
    pub project: String,
    pub issue_type: String,
    pub summary: String,
    /// An ADF document.
    pub description: Value,
    pub labels: Vec<String>,
    pub components: Vec<String>,
    pub priority: Option<String>,
    pub due_date: Option<NaiveDate>,
}

/// `201 {id, key, self}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
}

/// An issue's state as search or `GET /issue/{key}` return it.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueState {
    pub key: String,
    pub summary: String,
    pub status: String,
    pub status_category: StatusCategory,
    pub due_date: Option<NaiveDate>,
    /// `assignee.displayName`.
    pub assignee: Option<String>,
    pub labels: Vec<String>,
    pub created: Option<DateTime<Utc>>,
}

/// The fields [`IssueState`] reads.
pub const STATE_FIELDS: [&str; 6] =
    ["summary", "status", "duedate", "assignee", "labels", "created"];

/// One transition the workflow offers from an issue's current status.
#[derive(Debug, Clone, PartialEq)]
pub struct TransitionChoice {
    pub id: String,
    pub name: String,
    pub to_status: String,
    pub to_category: StatusCategory,
}

/// `GET /rest/api/3/myself`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub display_name: String,
}

/// A client for one site. Cheap to share by reference.
pub struct JiraClient {
    jira: gouqi::r#async::Jira,
    http: reqwest::Client,
    base: Url,
    email: String,
    token: Secret,
    policy: RetryPolicy,
    calls: ApiCalls,
}

fn not_configured(what: String) -> CollectError {
    CollectError::NotConfigured { integration: Integration::Jira, what }
}

impl JiraClient {
    /// Checks the settings (a usable site URL) without calling Jira.
    pub fn new(
        settings: &JiraSettings,
        policy: RetryPolicy,
        calls: ApiCalls,
    ) -> Result<JiraClient, CollectError> {
        let base = Url::parse(&settings.url)
            .ok()
            .filter(|url| {
                url.host().is_some()
                    && (url.scheme() == "https"
                        || url.host_str().is_some_and(|h| h == "127.0.0.1" || h == "localhost"))
            })
            .ok_or_else(|| {
                not_configured(format!(
                    "JIRA_URL `{}` is not a site URL such as https://acme.atlassian.net (plain \
                     http is accepted only on this machine, for the sandbox)",
                    settings.url
                ))
            })?;
        // Forced to V3: gouqi's automatic choice takes V3 only for *.atlassian.net hosts, and
        // the legacy search it would use elsewhere is gone from Jira Cloud (410).
        let jira = gouqi::r#async::Jira::with_search_api_version(
            base.as_str().trim_end_matches('/'),
            gouqi::Credentials::Basic(settings.email.clone(), settings.token.expose().to_owned()),
            gouqi::SearchApiVersion::V3,
        )
        .map_err(|e| not_configured(format!("JIRA_URL `{}`: {e}", settings.url)))?;
        let http = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .build()
            .map_err(|e| not_configured(format!("cannot build an HTTP client: {e}")))?;
        Ok(JiraClient {
            jira,
            http,
            base,
            email: settings.email.clone(),
            token: settings.token.clone(),
            policy,
            calls,
        })
    }

    /// The browse URL of an issue, `https://acme.atlassian.net/browse/SEC-1`.
    pub fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.base.as_str().trim_end_matches('/'))
    }

    pub fn api_calls(&self) -> u64 {
        self.calls.total()
    }

    /// `GET /rest/api/3/myself`: whether the token is accepted, and whose it is.
    pub async fn myself(&self) -> Result<Account, CollectError> {
        let body = self.send(Method::GET, "/rest/api/3/myself", None, Safety::Idempotent).await?;
        Ok(Account {
            account_id: text(&body, "/accountId"),
            display_name: text(&body, "/displayName"),
        })
    }

    /// `GET /rest/api/3/project/{key}`; a 404 says the project is wrong, not the issue.
    pub async fn project(&self, key: &str) -> Result<String, CollectError> {
        let path = format!("/rest/api/3/project/{key}");
        match self.send(Method::GET, &path, None, Safety::Idempotent).await {
            Ok(body) => Ok(text(&body, "/name")),
            Err(CollectError::Server { status: 404, detail, .. }) => Err(not_configured(format!(
                "Jira has no project `{key}` visible to this account ({detail}); set [jira] \
                 project to an existing project key"
            ))),
            Err(error) => Err(error),
        }
    }

    /// `POST /rest/api/3/issue`. Never retried once the request may have reached Jira.
    pub async fn create_issue(&self, issue: &NewIssue) -> Result<CreatedIssue, CollectError> {
        let mut fields = json!({
            "project": {"key": issue.project},
            "issuetype": {"name": issue.issue_type},
            "summary": issue.summary,
            "description": issue.description,
            "labels": issue.labels,
        });
        if !issue.components.is_empty() {
            fields["components"] =
                issue.components.iter().map(|c| json!({"name": c})).collect::<Vec<_>>().into();
        }
        if let Some(priority) = &issue.priority {
            fields["priority"] = json!({"name": priority});
        }
        if let Some(due) = issue.due_date {
            fields["duedate"] = json!(due.to_string());
        }
        let body = self
            .send(Method::POST, "/rest/api/3/issue", Some(json!({"fields": fields})), Safety::Once)
            .await?;
        let created = CreatedIssue { id: text(&body, "/id"), key: text(&body, "/key") };
        if created.key.is_empty() {
            return Err(malformed("POST /rest/api/3/issue", "no issue key in the answer"));
        }
        Ok(created)
    }

    /// `PUT /rest/api/3/issue/{key}/properties/{property}` (idempotent).
    pub async fn set_property(
        &self,
        key: &str,
        property: &str,
        value: &Value,
    ) -> Result<(), CollectError> {
        let path = format!("/rest/api/3/issue/{key}/properties/{property}");
        self.send(Method::PUT, &path, Some(value.clone()), Safety::Idempotent).await?;
        Ok(())
    }

    /// `PUT /rest/api/3/issue/{key}` with `fields` (idempotent).
    pub async fn edit_issue(&self, key: &str, fields: Value) -> Result<(), CollectError> {
        let path = format!("/rest/api/3/issue/{key}");
        self.send(Method::PUT, &path, Some(json!({"fields": fields})), Safety::Idempotent).await?;
        Ok(())
    }

    /// `POST /rest/api/3/issueLink`: `new` relates to `old`.
    pub async fn link(&self, new: &str, old: &str) -> Result<(), CollectError> {
        let body = json!({"type": {"name": "Relates"}, "inwardIssue": {"key": new}, "outwardIssue": {"key": old}});
        self.send(Method::POST, "/rest/api/3/issueLink", Some(body), Safety::Once).await?;
        Ok(())
    }

    /// Every issue `jql` matches, following `nextPageToken` until `isLast` (gouqi, v3).
    pub async fn search(&self, jql: &str) -> Result<Vec<IssueState>, CollectError> {
        let call = "GET /rest/api/3/search/jql";
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut builder = gouqi::SearchOptions::builder();
            builder.max_results(100).fields(STATE_FIELDS.to_vec());
            if let Some(token) = &token {
                builder.next_page_token(token);
            }
            let options = builder.build();
            let page = self
                .gouqi(call, Safety::Idempotent, || async {
                    let search = self.jira.search();
                    search.list(jql, &options).await
                })
                .await?;
            for issue in &page.issues {
                found.push(issue_state(
                    &issue.key,
                    &Value::Object(issue.fields.clone().into_iter().collect()),
                ));
            }
            token = page.next_page_token.clone().filter(|_| page.is_last_page == Some(false));
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    /// `GET /rest/api/latest/issue/{key}` (gouqi).
    pub async fn issue(&self, key: &str) -> Result<IssueState, CollectError> {
        let endpoint = format!("/issue/{key}?fields={}", STATE_FIELDS.join(","));
        let body: Value = self
            .gouqi("GET /rest/api/latest/issue/{key}", Safety::Idempotent, || {
                self.jira.get::<Value>("api", &endpoint)
            })
            .await?;
        Ok(issue_state(key, body.get("fields").unwrap_or(&Value::Null)))
    }

    /// `POST /rest/api/3/issue/{key}/comment` with an ADF body (gouqi's versioned call).
    pub async fn comment(&self, key: &str, adf: &Value) -> Result<(), CollectError> {
        let endpoint = format!("/issue/{key}/comment");
        let body = json!({"body": adf});
        let _: Value = self
            .gouqi("POST /rest/api/3/issue/{key}/comment", Safety::Once, || {
                self.jira.post_versioned::<Value, Value>("api", Some("3"), &endpoint, body.clone())
            })
            .await?;
        Ok(())
    }

    /// The transitions available from the issue's status, each with its target's category.
    /// (gouqi's typed `TransitionOption` drops `to.statusCategory`, so the raw call is read.)
    pub async fn transitions(&self, key: &str) -> Result<Vec<TransitionChoice>, CollectError> {
        let call = "GET /rest/api/latest/issue/{key}/transitions";
        let endpoint = format!("/issue/{key}/transitions");
        let body: Value = self
            .gouqi(call, Safety::Idempotent, || self.jira.get::<Value>("api", &endpoint))
            .await?;
        let list = body
            .get("transitions")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(call, "no `transitions` list in the answer"))?;
        Ok(list
            .iter()
            .map(|t| TransitionChoice {
                id: text(t, "/id"),
                name: text(t, "/name"),
                to_status: text(t, "/to/name"),
                to_category: category(&text(t, "/to/statusCategory/key")),
            })
            .collect())
    }

    /// `POST /rest/api/latest/issue/{key}/transitions` (gouqi).
    pub async fn transition(&self, key: &str, transition_id: &str) -> Result<(), CollectError> {
        self.gouqi("POST /rest/api/latest/issue/{key}/transitions", Safety::Once, || async {
            let transitions = self.jira.transitions(key);
            transitions.trigger(gouqi::TransitionTriggerOptions::new(transition_id)).await
        })
        .await
    }

    /// One reqwest call with retries; the body of a 2xx answer (`Null` when empty).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        safety: Safety,
    ) -> Result<Value, CollectError> {
        let call = format!("{method} {path}");
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| not_configured(format!("JIRA_URL: {e}")))?;
        self.policy
            .run(|| async {
                self.calls.record();
                let mut request = self
                    .http
                    .request(method.clone(), url.clone())
                    .basic_auth(&self.email, Some(self.token.expose()))
                    .header(http::header::ACCEPT, "application/json");
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let response = match request.send().await {
                    Ok(response) => response,
                    Err(error) => return Err(transport(&call, &error, safety, &self.policy)),
                };
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = match response.bytes().await {
                    Ok(bytes) => bytes,
                    Err(error) => return Err(transport(&call, &error, safety, &self.policy)),
                };
                if status.is_success() {
                    if bytes.is_empty() {
                        return Ok(Value::Null);
                    }
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| Attempt::Fail(malformed(&call, &e.to_string())));
                }
                let after = retry_after(&headers);
                Err(classify(&call, status, &jira_messages(&bytes), after, safety))
            })
            .await
    }

    /// One gouqi call with the timeout and retries.
    async fn gouqi<T, F, Fut>(
        &self,
        call: &str,
        safety: Safety,
        attempt: F,
    ) -> Result<T, CollectError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, gouqi::Error>>,
    {
        self.policy
            .run(|| async {
                self.calls.record();
                match tokio::time::timeout(self.policy.request_timeout, attempt()).await {
                    Err(_) => {
                        let error = CollectError::Timeout {
                            integration: Integration::Jira,
                            call: call.to_owned(),
                            seconds: self.policy.request_timeout.as_secs(),
                        };
                        Err(retry_if(safety == Safety::Idempotent, error, None))
                    }
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(error)) => Err(classify_gouqi(call, error, safety, &self.policy)),
                }
            })
            .await
    }
}

/// Whether a call may be repeated after it may have reached Jira.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Safety {
    /// Reads and writes that leave the same result when repeated.
    Idempotent,
    /// Writes that would happen twice (create, comment, transition, link).
    Once,
}

fn retry_if(retry: bool, error: CollectError, after: Option<Duration>) -> Attempt {
    if retry { Attempt::Retry { error, after } } else { Attempt::Fail(error) }
}

fn malformed(call: &str, detail: &str) -> CollectError {
    CollectError::Malformed {
        integration: Integration::Jira,
        call: call.to_owned(),
        detail: detail.to_owned(),
    }
}

fn transport(call: &str, error: &reqwest::Error, safety: Safety, policy: &RetryPolicy) -> Attempt {
    if error.is_timeout() {
        let timeout = CollectError::Timeout {
            integration: Integration::Jira,
            call: call.to_owned(),
            seconds: policy.request_timeout.as_secs(),
        };
        return retry_if(safety == Safety::Idempotent, timeout, None);
    }
    let failure = CollectError::Transport {
        integration: Integration::Jira,
        call: call.to_owned(),
        detail: error.to_string(),
    };
    // A refused connection never reached Jira, so even a create may be tried again.
    retry_if(error.is_connect() || safety == Safety::Idempotent, failure, None)
}

/// Turns an HTTP error status into what to tell a person.
fn classify(
    call: &str,
    status: StatusCode,
    messages: &str,
    after: Option<Duration>,
    safety: Safety,
) -> Attempt {
    let integration = Integration::Jira;
    let server = |status: u16| CollectError::Server {
        integration,
        call: call.to_owned(),
        status,
        detail: messages.to_owned(),
    };
    match status {
        StatusCode::UNAUTHORIZED => Attempt::Fail(CollectError::Unauthorized {
            integration,
            detail: messages.to_owned(),
            fix: TOKEN_FIX.to_owned(),
        }),
        StatusCode::FORBIDDEN => Attempt::Fail(CollectError::Forbidden {
            integration,
            call: call.to_owned(),
            missing: "the Jira project permission for it (Browse projects, Create issues, Add \
                      comments, Transition issues, Edit issues or Link issues)"
                .to_owned(),
            detail: messages.to_owned(),
        }),
        // Jira refused before doing anything: always safe to try again, when it says.
        StatusCode::TOO_MANY_REQUESTS => Attempt::Retry { error: server(429), after },
        status if status.is_server_error() => {
            retry_if(safety == Safety::Idempotent, server(status.as_u16()), after)
        }
        status => Attempt::Fail(server(status.as_u16())),
    }
}

fn classify_gouqi(
    call: &str,
    error: gouqi::Error,
    safety: Safety,
    policy: &RetryPolicy,
) -> Attempt {
    match error {
        gouqi::Error::Unauthorized => classify(call, StatusCode::UNAUTHORIZED, "", None, safety),
        gouqi::Error::NotFound => classify(
            call,
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
            None,
            safety,
        ),
        gouqi::Error::Fault { code, errors } => {
            let mut parts = errors.error_messages.clone();
            parts
                .extend(errors.errors.iter().map(|(field, message)| format!("{field}: {message}")));
            parts.extend(errors.error.clone());
            classify(call, code, &parts.join("; "), None, safety)
        }
        gouqi::Error::Http(error) => transport(call, &error, safety, policy),
        // gouqi reads a 5xx body as the expected answer, so a server error surfaces as an
        // unreadable answer: worth another try when the call is safe to repeat.
        gouqi::Error::Serde(error) => retry_if(
            safety == Safety::Idempotent,
            malformed(call, &format!("{error} (a server error reads like this through gouqi)")),
            None,
        ),
        other => Attempt::Fail(malformed(call, &other.to_string())),
    }
}

/// Jira's error body as one line: `errorMessages` then `field: message` pairs.
fn jira_messages(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        return match text.char_indices().nth(200) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None if text.is_empty() => "(empty body)".into(),
            None => text.to_owned(),
        };
    };
    let mut parts: Vec<String> = value
        .get("errorMessages")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(errors) = value.get("errors").and_then(Value::as_object) {
        parts.extend(
            errors.iter().map(|(field, message)| {
                format!("{field}: {}", message.as_str().unwrap_or_default())
            }),
        );
    }
    parts.join("; ")
}

fn text(value: &Value, pointer: &str) -> String {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned()
}

pub(crate) fn category(key: &str) -> StatusCategory {
    match key {
        "new" => StatusCategory::New,
        "indeterminate" => StatusCategory::Indeterminate,
        "done" => StatusCategory::Done,
        other => StatusCategory::Other(other.to_owned()),
    }
}

/// Reads an issue's `fields` object.
pub(crate) fn issue_state(key: &str, fields: &Value) -> IssueState {
    IssueState {
        key: key.to_owned(),
        summary: text(fields, "/summary"),
        status: text(fields, "/status/name"),
        status_category: category(&text(fields, "/status/statusCategory/key")),
        due_date: fields
            .get("duedate")
            .and_then(Value::as_str)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        assignee: fields
            .pointer("/assignee/displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        labels: fields
            .get("labels")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        created: fields
            .get("created")
            .and_then(Value::as_str)
            .and_then(|c| DateTime::parse_from_str(c, "%Y-%m-%dT%H:%M:%S%.f%z").ok())
            .map(|c| c.with_timezone(&Utc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_error_bodies_become_one_line() {
        let body = br#"{"errorMessages":["Bad"],"errors":{"summary":"You must specify a summary of the issue."}}"#;
        assert_eq!(jira_messages(body), "Bad; summary: You must specify a summary of the issue.");
        assert_eq!(jira_messages(b"<html>504</html>"), "<html>504</html>");
    }

    #[test]
    fn a_create_is_not_retried_after_a_server_error_but_a_read_is() {
        let once =
            classify("POST /rest/api/3/issue", StatusCode::BAD_GATEWAY, "", None, Safety::Once);
        assert!(matches!(once, Attempt::Fail(CollectError::Server { status: 502, .. })));
        let read = classify("GET /x", StatusCode::BAD_GATEWAY, "", None, Safety::Idempotent);
        assert!(matches!(read, Attempt::Retry { .. }));
        let limited = classify(
            "POST /rest/api/3/issue",
            StatusCode::TOO_MANY_REQUESTS,
            "",
            Some(Duration::from_secs(3)),
            Safety::Once,
        );
        assert!(
            matches!(limited, Attempt::Retry { after: Some(d), .. } if d == Duration::from_secs(3))
        );
    }
}
