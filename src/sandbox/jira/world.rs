//! The simulated Jira Cloud site the fake serves: projects, issue types, one workflow whose
//! statuses carry a status category, its transitions, priorities, people and issues (ADF
//! descriptions and comments, labels, due dates, entity properties, links). Tests change it
//! while it is served: a person moves an issue, assigns it, or the site loses a response.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// The API token the sandbox accepts (with [`SANDBOX_EMAIL`]).
pub const SANDBOX_API_TOKEN: &str = "ATATT-sandbox-token";
/// The account the sandbox token belongs to.
pub const SANDBOX_EMAIL: &str = "kushim-bot@sandbox-acme.com";

/// A workflow status (`StatusDetails`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: String,
    pub name: String,
    /// `statusCategory.key`: `new`, `indeterminate` or `done`.
    pub category: String,
}

/// A workflow transition, available from every status but its target (a global transition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub id: String,
    pub name: String,
    pub to_status_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub account_id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: String,
    /// An ADF document.
    pub body: Value,
    pub author: String,
    pub created: DateTime<Utc>,
}

/// One issue as the site holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: String,
    pub key: String,
    pub project_key: String,
    pub issue_type: String,
    pub summary: String,
    /// An ADF document, or `Value::Null`.
    pub description: Value,
    pub status_id: String,
    pub labels: Vec<String>,
    pub components: Vec<String>,
    pub due_date: Option<NaiveDate>,
    pub priority: Option<String>,
    pub assignee: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub comments: Vec<Comment>,
    pub properties: BTreeMap<String, Value>,
    /// Keys of issues linked to this one ("Relates").
    pub links: Vec<String>,
}

/// A Jira Cloud site.
#[derive(Debug, Clone)]
pub struct JiraSite {
    pub projects: Vec<Project>,
    pub issue_types: Vec<String>,
    pub priorities: Vec<String>,
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
    pub people: Vec<Person>,
    pub issues: Vec<Issue>,
    /// The most issues one search page returns, whatever `maxResults` asks (small, so paging
    /// is exercised).
    pub page_size: usize,
    /// No transition leaves a done status (a locked-down workflow).
    pub done_is_final: bool,
    next_id: u64,
}

impl Default for JiraSite {
    /// Project SEC ("Security"), issue types Task and Bug, priorities Highest…Lowest, and a
    /// workflow To Do → In Progress → In Review → Closed with a Reopen transition. The done
    /// status is deliberately called "Closed" and its transition "Resolve", so a client that
    /// picks transitions by name instead of by category fails.
    fn default() -> Self {
        let status = |id: &str, name: &str, category: &str| Status {
            id: id.into(),
            name: name.into(),
            category: category.into(),
        };
        let transition = |id: &str, name: &str, to: &str| Transition {
            id: id.into(),
            name: name.into(),
            to_status_id: to.into(),
        };
        JiraSite {
            projects: vec![Project {
                id: "10000".into(),
                key: "SEC".into(),
                name: "Security".into(),
            }],
            issue_types: vec!["Task".into(), "Bug".into()],
            priorities: ["Highest", "High", "Medium", "Low", "Lowest"].map(String::from).to_vec(),
            statuses: vec![
                status("10000", "To Do", "new"),
                status("10001", "In Progress", "indeterminate"),
                status("10002", "In Review", "indeterminate"),
                status("10003", "Closed", "done"),
            ],
            transitions: vec![
                transition("11", "Start progress", "10001"),
                transition("21", "Send to review", "10002"),
                transition("31", "Resolve", "10003"),
                transition("41", "Reopen", "10000"),
            ],
            people: vec![
                Person {
                    account_id: "5b10a2844c20165700ede21g".into(),
                    display_name: "Kushim Bot".into(),
                },
                Person {
                    account_id: "5b10ac8d82e05b22cc7d4ef5".into(),
                    display_name: "Dana Ops".into(),
                },
            ],
            issues: Vec::new(),
            page_size: 2,
            done_is_final: false,
            next_id: 10_001,
        }
    }
}

impl JiraSite {
    /// A workflow that cannot leave its done status, as some locked-down workflows are.
    pub fn without_reopen(mut self) -> Self {
        self.transitions.retain(|t| t.name != "Reopen");
        self.done_is_final = true;
        self
    }

    /// Search pages of at most `size` issues.
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    pub fn status(&self, id: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    pub fn status_named(&self, name: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn project(&self, key_or_id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.key.eq_ignore_ascii_case(key_or_id) || p.id == key_or_id)
    }

    pub fn issue(&self, key_or_id: &str) -> Option<&Issue> {
        self.issues.iter().find(|i| i.key.eq_ignore_ascii_case(key_or_id) || i.id == key_or_id)
    }

    pub fn issue_mut(&mut self, key_or_id: &str) -> Option<&mut Issue> {
        self.issues.iter_mut().find(|i| i.key.eq_ignore_ascii_case(key_or_id) || i.id == key_or_id)
    }

    pub fn person(&self, account_id: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.account_id == account_id)
    }

    /// Transitions the issue's workflow offers from `status_id`.
    pub fn transitions_from(&self, status_id: &str) -> Vec<&Transition> {
        let done = self.status(status_id).is_some_and(|s| s.category == "done");
        if done && self.done_is_final {
            return Vec::new();
        }
        self.transitions.iter().filter(|t| t.to_status_id != status_id).collect()
    }

    /// Adds an issue in the first status of the workflow and returns its key.
    #[allow(clippy::too_many_arguments)]
    pub fn create_issue(
        &mut self,
        project_key: &str,
        issue_type: &str,
        summary: &str,
        description: Value,
        labels: Vec<String>,
        components: Vec<String>,
        due_date: Option<NaiveDate>,
        priority: Option<String>,
        now: DateTime<Utc>,
    ) -> (String, String) {
        let id = self.next_id.to_string();
        self.next_id += 1;
        let number = self.issues.iter().filter(|i| i.project_key == project_key).count() + 1;
        let key = format!("{project_key}-{number}");
        self.issues.push(Issue {
            id: id.clone(),
            key: key.clone(),
            project_key: project_key.into(),
            issue_type: issue_type.into(),
            summary: summary.into(),
            description,
            status_id: self.statuses[0].id.clone(),
            labels,
            components,
            due_date,
            priority,
            assignee: None,
            created: now,
            updated: now,
            comments: Vec::new(),
            properties: BTreeMap::new(),
            links: Vec::new(),
        });
        (id, key)
    }

    pub fn next_comment_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }
}
