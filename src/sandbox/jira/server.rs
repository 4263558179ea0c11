//! The fake Jira Cloud site, in the REST v3 wire format: Basic authentication with an email and
//! API token, `GET|POST /rest/api/3/search/jql` paged by `nextPageToken`/`isLast`, issue create
//! with an ADF description (400 with `errorMessages`/`errors` when a required field is missing
//! or the project is unknown), edit, entity properties, comments, transitions whose `to` status
//! carries its `statusCategory`, issue links, `GET /rest/api/3/project/{key}` (404 unknown) and
//! `/myself`. gouqi sends some calls to `/rest/api/latest/...`; every route answers under `3`,
//! `2` and `latest` alike, as Jira Cloud does. Injected faults ([`Fault`]) answer in Jira's
//! format: 429 with `Retry-After`, 401, 403, 5xx, truncated bodies.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU32, Ordering},
};

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::world::{Issue, JiraSite, SANDBOX_API_TOKEN, SANDBOX_EMAIL};
use crate::config::{JiraSettings, Secret};
use crate::sandbox::serve::{FakeServer, Fault, Recorder, with_faults};

/// A running fake Jira site. Dropping it stops the server.
pub struct FakeJira {
    pub server: FakeServer,
    /// Every request the fake saw, and the faults to inject.
    pub recorder: Recorder,
    state: Arc<Shared>,
}

struct Shared {
    site: Mutex<JiraSite>,
    /// Issue creates whose response is lost after the issue was created (a gateway timeout
    /// between Jira and the caller): the issue exists, the caller hears 504.
    lost_create_responses: AtomicU32,
}

type SiteState = Arc<Shared>;

/// Serves `site` on 127.0.0.1 at a free port.
pub async fn start(site: JiraSite) -> std::io::Result<FakeJira> {
    let recorder = Recorder::default();
    let state =
        Arc::new(Shared { site: Mutex::new(site), lost_create_responses: AtomicU32::new(0) });
    let server = FakeServer::start(router(state.clone(), recorder.clone())).await?;
    Ok(FakeJira { server, recorder, state })
}

impl FakeJira {
    /// The site URL to give the client: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Settings for this site with the sandbox credentials and project SEC.
    pub fn settings(&self) -> JiraSettings {
        JiraSettings::new(
            self.url(),
            SANDBOX_EMAIL.to_owned(),
            Secret::new(SANDBOX_API_TOKEN),
            crate::config::JiraConfig::default(),
        )
    }

    /// A copy of the site as it is now.
    pub fn site(&self) -> JiraSite {
        self.state.site.lock().expect("jira site").clone()
    }

    /// Every issue, in creation order.
    pub fn issues(&self) -> Vec<Issue> {
        self.site().issues
    }

    pub fn issue(&self, key: &str) -> Option<Issue> {
        self.site().issue(key).cloned()
    }

    /// The name of the issue's status.
    pub fn status_of(&self, key: &str) -> Option<String> {
        let site = self.site();
        let issue = site.issue(key)?;
        site.status(&issue.status_id).map(|s| s.name.clone())
    }

    /// A person moves the issue to the status called `status` (as on a board, whatever the
    /// transitions) and Jira emits the `jira:issue_updated` webhook this returns.
    pub fn move_issue(&self, key: &str, status: &str) -> Value {
        let mut site = self.state.site.lock().expect("jira site");
        let target = site.status_named(status).cloned().expect("a status of the workflow");
        let issue = site.issue_mut(key).expect("an issue of the site");
        let from = issue.status_id.clone();
        issue.status_id = target.id.clone();
        issue.updated = Utc::now();
        let issue = issue.clone();
        let from_name = site.status(&from).map(|s| s.name.clone()).unwrap_or_default();
        let base = self.url();
        json!({
            "timestamp": Utc::now().timestamp_millis(),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Dana Ops"},
            "issue": issue_json(&site, &issue, &base, None),
            "changelog": {"id": "10100", "items": [{
                "field": "status", "fieldtype": "jira", "fieldId": "status",
                "from": from, "fromString": from_name, "to": target.id, "toString": target.name,
            }]},
        })
    }

    /// A person assigns the issue.
    pub fn assign(&self, key: &str, account_id: &str) {
        let mut site = self.state.site.lock().expect("jira site");
        site.issue_mut(key).expect("an issue of the site").assignee = Some(account_id.to_owned());
    }

    /// The next `count` issue creates succeed in Jira but their answer is lost (504).
    pub fn lose_create_responses(&self, count: u32) {
        self.state.lost_create_responses.store(count, Ordering::SeqCst);
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn router(state: SiteState, recorder: Recorder) -> Router {
    Router::new()
        .route("/rest/api/{version}/myself", get(myself))
        .route("/rest/api/{version}/project/{key}", get(project))
        .route("/rest/api/{version}/search/jql", get(search_get).post(search_post))
        .route("/rest/api/{version}/issue", post(create_issue))
        .route("/rest/api/{version}/issue/{key}", get(read_issue).put(edit_issue))
        .route(
            "/rest/api/{version}/issue/{key}/transitions",
            get(list_transitions).post(do_transition),
        )
        .route("/rest/api/{version}/issue/{key}/comment", get(list_comments).post(add_comment))
        .route(
            "/rest/api/{version}/issue/{key}/properties/{property}",
            get(read_property).put(set_property),
        )
        .route("/rest/api/{version}/issueLink", post(link_issues))
        .fallback(|| async { jira_error(StatusCode::NOT_FOUND, "Not found", json!({})) })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(move |request: Request<Body>, next: Next| {
            with_faults(recorder.clone(), render_fault, request, next)
        }))
        .with_state(state)
}

/// Jira's error body: `{"errorMessages": [...], "errors": {field: message}}`.
fn jira_error(status: StatusCode, message: &str, errors: Value) -> Response {
    let messages: Vec<&str> = if message.is_empty() { vec![] } else { vec![message] };
    (status, Json(json!({"errorMessages": messages, "errors": errors}))).into_response()
}

fn render_fault(fault: &Fault) -> Option<Response> {
    Some(match fault {
        Fault::RateLimited { retry_after_seconds } => {
            let mut response =
                jira_error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.", json!({}));
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, (*retry_after_seconds).into());
            headers.insert("x-ratelimit-reason", "jira-burst-based".parse().expect("a header"));
            response
        }
        Fault::ServerError(status) => jira_error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "Internal server error",
            json!({}),
        ),
        Fault::Unauthorized => jira_error(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
            json!({}),
        ),
        Fault::Forbidden => jira_error(
            StatusCode::FORBIDDEN,
            "You do not have the permission to see the specified issue.",
            json!({}),
        ),
        Fault::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"issues":[{"id":"10001","key":"SEC-1","fields":{"summary":"#,
        )
            .into_response(),
        Fault::Slow(_) => return None,
    })
}

/// Basic authentication with the sandbox email and API token, as Jira Cloud takes it.
async fn authenticate(State(_state): State<SiteState>, request: Request, next: Next) -> Response {
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{SANDBOX_EMAIL}:{SANDBOX_API_TOKEN}"));
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    if given != Some(expected.as_str()) {
        return jira_error(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
            json!({}),
        );
    }
    next.run(request).await
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn person_json(site: &JiraSite, account_id: &str) -> Value {
    let name = site.person(account_id).map(|p| p.display_name.clone()).unwrap_or_default();
    json!({"accountId": account_id, "displayName": name, "active": true, "accountType": "atlassian"})
}

/// An issue as `GET /issue/{key}` and search return it, with only `fields` (all when `None`).
fn issue_json(site: &JiraSite, issue: &Issue, base: &str, fields: Option<&[String]>) -> Value {
    let status = site.status(&issue.status_id).cloned().unwrap_or_else(|| site.statuses[0].clone());
    let category_id = match status.category.as_str() {
        "new" => 2,
        "done" => 3,
        _ => 4,
    };
    let all = json!({
        "summary": issue.summary,
        "description": issue.description,
        "issuetype": {"name": issue.issue_type},
        "project": site.project(&issue.project_key).map(|p| json!({"id": p.id, "key": p.key, "name": p.name})),
        "status": {
            "self": format!("{base}/rest/api/3/status/{}", status.id),
            "id": status.id, "name": status.name,
            "statusCategory": {"id": category_id, "key": status.category, "name": match status.category.as_str() {
                "new" => "To Do", "done" => "Done", _ => "In Progress" }},
        },
        "labels": issue.labels,
        "components": issue.components.iter().map(|c| json!({"name": c})).collect::<Vec<_>>(),
        "duedate": issue.due_date.map(|d| d.to_string()),
        "priority": issue.priority.as_ref().map(|p| json!({"name": p})),
        "assignee": issue.assignee.as_ref().map(|a| person_json(site, a)),
        "created": issue.created.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        "updated": issue.updated.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        "issuelinks": issue
            .links
            .iter()
            .map(|k| json!({"type": {"name": "Relates"}, "outwardIssue": {"key": k}}))
            .collect::<Vec<_>>(),
    });
    let selected: serde_json::Map<String, Value> = match fields {
        None => all.as_object().cloned().unwrap_or_default(),
        Some(names) if names.iter().any(|n| n == "*all" || n == "*navigable") => {
            all.as_object().cloned().unwrap_or_default()
        }
        Some(names) => names
            .iter()
            .filter_map(|name| all.get(name).map(|value| (name.clone(), value.clone())))
            .collect(),
    };
    json!({
        "id": issue.id,
        "key": issue.key,
        "self": format!("{base}/rest/api/3/issue/{}", issue.id),
        "fields": selected,
    })
}

async fn myself(headers: HeaderMap) -> Response {
    Json(json!({
        "self": format!("{}/rest/api/3/user?accountId=5b10a2844c20165700ede21g", base_url(&headers)),
        "accountId": "5b10a2844c20165700ede21g",
        "emailAddress": SANDBOX_EMAIL,
        "displayName": "Kushim Bot",
        "active": true,
        "accountType": "atlassian",
    }))
    .into_response()
}

async fn project(
    State(state): State<SiteState>,
    Path((_, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let site = state.site.lock().expect("jira site");
    match site.project(&key) {
        Some(p) => Json(json!({
            "self": format!("{}/rest/api/3/project/{}", base_url(&headers), p.id),
            "id": p.id, "key": p.key, "name": p.name,
            "issueTypes": site.issue_types.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
        }))
        .into_response(),
        None => jira_error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with key '{key}'."),
            json!({}),
        ),
    }
}

/// The query of `GET /search/jql` (and the body of `POST`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    jql: Option<String>,
    next_page_token: Option<String>,
    max_results: Option<usize>,
    #[serde(default, deserialize_with = "fields_list")]
    fields: Option<Vec<String>>,
}

/// `fields` is comma-separated in a query string and an array in a JSON body.
fn fields_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Fields {
        Text(String),
        List(Vec<String>),
    }
    Ok(Option::<Fields>::deserialize(d)?.map(|f| match f {
        Fields::Text(text) => text.split(',').map(|s| s.trim().to_owned()).collect(),
        Fields::List(list) => list,
    }))
}

async fn search_get(
    State(state): State<SiteState>,
    headers: HeaderMap,
    Query(request): Query<SearchRequest>,
) -> Response {
    search(&state, &headers, request)
}

async fn search_post(
    State(state): State<SiteState>,
    headers: HeaderMap,
    Json(request): Json<SearchRequest>,
) -> Response {
    search(&state, &headers, request)
}

/// One JQL clause this fake understands.
enum Clause {
    Label(String),
    Project(String),
    NotDone,
}

/// The JQL subset Kushim sends: clauses `labels = X`, `project = X`, `statusCategory != Done`
/// joined by `AND`, optionally followed by `ORDER BY …`. Anything else is refused the way Jira
/// refuses a query it cannot parse.
fn parse_jql(jql: &str) -> Result<Vec<Clause>, String> {
    let upper = jql.to_ascii_uppercase();
    let body = match upper.find("ORDER BY") {
        Some(at) => &jql[..at],
        None => jql,
    };
    let lower = body.to_ascii_lowercase();
    let mut parts = Vec::new();
    let mut last = 0;
    for (at, _) in lower.match_indices(" and ") {
        parts.push(&body[last..at]);
        last = at + " and ".len();
    }
    parts.push(&body[last..]);
    let mut clauses = Vec::new();
    for part in parts.into_iter().filter(|p| !p.trim().is_empty()) {
        let (field, value) = if let Some((f, v)) = part.split_once("!=") {
            (f.trim().to_ascii_lowercase() + "!", v)
        } else if let Some((f, v)) = part.split_once('=') {
            (f.trim().to_ascii_lowercase(), v)
        } else {
            return Err(format!(
                "Error in the JQL Query: expecting an operator in '{}'.",
                part.trim()
            ));
        };
        let value = value.trim().trim_matches('"').trim_matches('\'').to_owned();
        clauses.push(match field.as_str() {
            "labels" => Clause::Label(value),
            "project" => Clause::Project(value),
            "statuscategory!" if value.eq_ignore_ascii_case("done") => Clause::NotDone,
            other => {
                return Err(format!(
                    "Field '{}' is not supported by this site.",
                    other.trim_end_matches('!')
                ));
            }
        });
    }
    Ok(clauses)
}

fn search(state: &SiteState, headers: &HeaderMap, request: SearchRequest) -> Response {
    let Some(jql) = request.jql.filter(|j| !j.trim().is_empty()) else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
            json!({}),
        );
    };
    let clauses = match parse_jql(&jql) {
        Ok(clauses) => clauses,
        Err(message) => return jira_error(StatusCode::BAD_REQUEST, &message, json!({})),
    };
    let site = state.site.lock().expect("jira site");
    let matching: Vec<&Issue> = site
        .issues
        .iter()
        .filter(|issue| {
            clauses.iter().all(|clause| match clause {
                Clause::Label(label) => issue.labels.contains(label),
                Clause::Project(key) => issue.project_key.eq_ignore_ascii_case(key),
                Clause::NotDone => {
                    site.status(&issue.status_id).is_none_or(|s| s.category != "done")
                }
            })
        })
        .collect();
    let start: usize = match request.next_page_token.as_deref() {
        None => 0,
        Some(token) => match token.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(start) => start,
            None => {
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    "The provided next page token is invalid or expired.",
                    json!({}),
                );
            }
        },
    };
    let size = request.max_results.unwrap_or(50).clamp(1, site.page_size);
    let end = (start + size).min(matching.len());
    let base = base_url(headers);
    // Without `fields`, search/jql returns ids only.
    let fields = request.fields.unwrap_or_else(|| vec!["id".to_owned()]);
    let issues: Vec<Value> = matching[start.min(end)..end]
        .iter()
        .map(|issue| issue_json(&site, issue, &base, Some(&fields)))
        .collect();
    let is_last = end >= matching.len();
    let mut answer = json!({"issues": issues, "isLast": is_last});
    if !is_last {
        answer["nextPageToken"] = json!(format!("page-{end}"));
    }
    Json(answer).into_response()
}

/// An ADF document: `{"type": "doc", "version": 1, "content": [...]}`.
fn is_adf(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("doc")
        && value.get("version").and_then(Value::as_u64) == Some(1)
        && value.get("content").is_some_and(Value::is_array)
}

fn name_or_key(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

async fn create_issue(
    State(state): State<SiteState>,
    Path(version): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let fields = body.get("fields").cloned().unwrap_or(Value::Null);
    let mut errors = serde_json::Map::new();
    let mut site = state.site.lock().expect("jira site");
    let project =
        fields.get("project").and_then(|p| name_or_key(p, "key").or_else(|| name_or_key(p, "id")));
    let project = match project.as_deref().and_then(|k| site.project(k)) {
        Some(p) => Some(p.key.clone()),
        None => {
            errors.insert("project".into(), json!("valid project is required"));
            None
        }
    };
    let issue_type = fields.get("issuetype").and_then(|t| name_or_key(t, "name"));
    let issue_type = match issue_type.filter(|t| site.issue_types.contains(t)) {
        Some(t) => Some(t),
        None => {
            errors.insert("issuetype".into(), json!("Specify an issue type"));
            None
        }
    };
    let summary = fields.get("summary").and_then(Value::as_str).unwrap_or_default().to_owned();
    if summary.trim().is_empty() {
        errors.insert("summary".into(), json!("You must specify a summary of the issue."));
    } else if summary.chars().count() > 255 {
        errors.insert("summary".into(), json!("Summary must be less than 255 characters."));
    }
    let description = fields.get("description").cloned().unwrap_or(Value::Null);
    if version == "3" && !description.is_null() && !is_adf(&description) {
        errors.insert(
            "description".into(),
            json!(
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)."
            ),
        );
    }
    let labels: Vec<String> = fields
        .get("labels")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if labels.iter().any(|l| l.contains(' ')) {
        errors.insert("labels".into(), json!("The label can't contain spaces."));
    }
    let due_date = match fields.get("duedate").and_then(Value::as_str) {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                errors.insert(
                    "duedate".into(),
                    json!("Error parsing date string: ".to_owned() + text),
                );
                None
            }
        },
    };
    let priority = fields.get("priority").and_then(|p| name_or_key(p, "name"));
    if let Some(p) = &priority
        && !site.priorities.contains(p)
    {
        errors.insert("priority".into(), json!(format!("Priority name '{p}' is not valid")));
    }
    let components: Vec<String> = fields
        .get("components")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|c| name_or_key(c, "name")).collect())
        .unwrap_or_default();
    if !errors.is_empty() {
        return jira_error(StatusCode::BAD_REQUEST, "", Value::Object(errors));
    }
    let (Some(project), Some(issue_type)) = (project, issue_type) else {
        return jira_error(StatusCode::BAD_REQUEST, "invalid issue", json!({}));
    };
    let (id, key) = site.create_issue(
        &project,
        &issue_type,
        &summary,
        description,
        labels,
        components,
        due_date,
        priority,
        Utc::now(),
    );
    drop(site);
    let lost = state
        .lost_create_responses
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if lost {
        return (StatusCode::GATEWAY_TIMEOUT, "<html><body>504 Gateway Time-out</body></html>")
            .into_response();
    }
    let base = base_url(&headers);
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "key": key, "self": format!("{base}/rest/api/3/issue/{id}")})),
    )
        .into_response()
}

fn unknown_issue() -> Response {
    jira_error(
        StatusCode::NOT_FOUND,
        "Issue does not exist or you do not have permission to see it.",
        json!({}),
    )
}

async fn read_issue(
    State(state): State<SiteState>,
    Path((_, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let site = state.site.lock().expect("jira site");
    match site.issue(&key) {
        Some(issue) => Json(issue_json(&site, issue, &base_url(&headers), None)).into_response(),
        None => unknown_issue(),
    }
}

/// `PUT /issue/{key}`: `fields` replaced (summary, description, duedate, labels, priority) and
/// `update.labels` add/remove operations.
async fn edit_issue(
    State(state): State<SiteState>,
    Path((_, key)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut site = state.site.lock().expect("jira site");
    let Some(issue) = site.issue_mut(&key) else { return unknown_issue() };
    if let Some(fields) = body.get("fields").and_then(Value::as_object) {
        for (name, value) in fields {
            match name.as_str() {
                "summary" => issue.summary = value.as_str().unwrap_or_default().to_owned(),
                "description" if value.is_null() || is_adf(value) => {
                    issue.description = value.clone()
                }
                "duedate" => {
                    issue.due_date =
                        value.as_str().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                }
                "priority" => issue.priority = name_or_key(value, "name"),
                "labels" => {
                    issue.labels = value
                        .as_array()
                        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                        .unwrap_or_default()
                }
                other => {
                    return jira_error(
                        StatusCode::BAD_REQUEST,
                        "",
                        json!({other: format!(
                            "Field '{other}' cannot be set. It is not on the appropriate screen, \
                             or unknown."
                        )}),
                    );
                }
            }
        }
    }
    if let Some(ops) = body.pointer("/update/labels").and_then(Value::as_array) {
        for op in ops {
            if let Some(label) = op.get("add").and_then(Value::as_str)
                && !issue.labels.iter().any(|l| l == label)
            {
                issue.labels.push(label.to_owned());
            }
            if let Some(label) = op.get("remove").and_then(Value::as_str) {
                issue.labels.retain(|l| l != label);
            }
        }
    }
    issue.updated = Utc::now();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_transitions(
    State(state): State<SiteState>,
    Path((_, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let site = state.site.lock().expect("jira site");
    let Some(issue) = site.issue(&key) else { return unknown_issue() };
    let base = base_url(&headers);
    let transitions: Vec<Value> = site
        .transitions_from(&issue.status_id)
        .into_iter()
        .filter_map(|t| {
            let to = site.status(&t.to_status_id)?;
            Some(json!({
                "id": t.id, "name": t.name, "hasScreen": false, "isGlobal": true,
                "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false,
                "to": {
                    "self": format!("{base}/rest/api/3/status/{}", to.id),
                    "description": "", "iconUrl": "", "name": to.name, "id": to.id,
                    "statusCategory": {"id": match to.category.as_str() { "new" => 2, "done" => 3, _ => 4 },
                        "key": to.category, "colorName": "", "name": to.category},
                },
            }))
        })
        .collect();
    Json(json!({"expand": "transitions", "transitions": transitions})).into_response()
}

async fn do_transition(
    State(state): State<SiteState>,
    Path((_, key)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut site = state.site.lock().expect("jira site");
    let Some(issue) = site.issue(&key) else { return unknown_issue() };
    let id = body.pointer("/transition/id").and_then(Value::as_str).unwrap_or_default();
    let Some(target) = site
        .transitions_from(&issue.status_id)
        .into_iter()
        .find(|t| t.id == id)
        .map(|t| t.to_status_id.clone())
    else {
        return jira_error(
            StatusCode::BAD_REQUEST,
            &format!("Transition id '{id}' is not valid for this issue."),
            json!({}),
        );
    };
    let comment = body.pointer("/update/comment/0/add/body").cloned();
    let now = Utc::now();
    let comment_id = site.next_comment_id();
    let issue = site.issue_mut(&key).expect("checked above");
    issue.status_id = target;
    issue.updated = now;
    if let Some(body) = comment {
        issue.comments.push(super::world::Comment {
            id: comment_id,
            body,
            author: "5b10a2844c20165700ede21g".into(),
            created: now,
        });
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn list_comments(
    State(state): State<SiteState>,
    Path((_, key)): Path<(String, String)>,
) -> Response {
    let site = state.site.lock().expect("jira site");
    let Some(issue) = site.issue(&key) else { return unknown_issue() };
    let comments: Vec<Value> = issue
        .comments
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "body": c.body, "author": person_json(&site, &c.author),
                "created": c.created.to_rfc3339(),
            })
        })
        .collect();
    let total = comments.len();
    Json(json!({"startAt": 0, "maxResults": total, "total": total, "comments": comments}))
        .into_response()
}

/// `POST /issue/{key}/comment`: v3 takes an ADF body; v2/latest a plain string (stored as one
/// paragraph).
async fn add_comment(
    State(state): State<SiteState>,
    Path((version, key)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let text = body.get("body").cloned().unwrap_or(Value::Null);
    let adf = match (&text, version.as_str()) {
        (doc, "3") if is_adf(doc) => doc.clone(),
        (Value::String(s), v) if v != "3" => {
            json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": s}]}]})
        }
        _ => {
            return jira_error(
                StatusCode::BAD_REQUEST,
                "",
                json!({"comment": "Comment body is not valid!"}),
            );
        }
    };
    let mut site = state.site.lock().expect("jira site");
    if site.issue(&key).is_none() {
        return unknown_issue();
    }
    let id = site.next_comment_id();
    let now = Utc::now();
    let issue = site.issue_mut(&key).expect("checked above");
    issue.comments.push(super::world::Comment {
        id: id.clone(),
        body: adf.clone(),
        author: "5b10a2844c20165700ede21g".into(),
        created: now,
    });
    let author = person_json(&site, "5b10a2844c20165700ede21g");
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "body": adf, "author": author, "created": now.to_rfc3339()})),
    )
        .into_response()
}

async fn read_property(
    State(state): State<SiteState>,
    Path((_, key, property)): Path<(String, String, String)>,
) -> Response {
    let site = state.site.lock().expect("jira site");
    let Some(issue) = site.issue(&key) else { return unknown_issue() };
    match issue.properties.get(&property) {
        Some(value) => Json(json!({"key": property, "value": value})).into_response(),
        None => jira_error(
            StatusCode::NOT_FOUND,
            &format!("The property with key '{property}' does not exist."),
            json!({}),
        ),
    }
}

async fn set_property(
    State(state): State<SiteState>,
    Path((_, key, property)): Path<(String, String, String)>,
    Json(value): Json<Value>,
) -> Response {
    let mut site = state.site.lock().expect("jira site");
    let Some(issue) = site.issue_mut(&key) else { return unknown_issue() };
    let existed = issue.properties.insert(property, value).is_some();
    if existed { StatusCode::OK } else { StatusCode::CREATED }.into_response()
}

/// `POST /issueLink` `{type: {name}, inwardIssue: {key}, outwardIssue: {key}}`.
async fn link_issues(State(state): State<SiteState>, Json(body): Json<Value>) -> Response {
    let inward =
        body.pointer("/inwardIssue/key").and_then(Value::as_str).unwrap_or_default().to_owned();
    let outward =
        body.pointer("/outwardIssue/key").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut site = state.site.lock().expect("jira site");
    if site.issue(&inward).is_none() || site.issue(&outward).is_none() {
        return jira_error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
            json!({}),
        );
    }
    if let Some(issue) = site.issue_mut(&inward) {
        issue.links.push(outward.clone());
    }
    if let Some(issue) = site.issue_mut(&outward) {
        issue.links.push(inward);
    }
    StatusCode::CREATED.into_response()
}
