//! The Jira remediation loop, through the real clients (gouqi and reqwest), against the
//! in-process fake Jira Cloud site: a control fails, gets its ticket, the ticket hears about
//! changes, closes when the control passes and reopens when it regresses; statuses come back by
//! search and webhook; every fault says what to fix and nothing is duplicated or lost, not even
//! when the answer to a create is lost and Kushim "restarts".
//!
//! The control in these stories is VM-01 ("Dependency vulnerability alerts enabled on all
//! repositories", severity high, one check): a GitHub snapshot with Dependabot off on some
//! repositories makes it fail, with it on everywhere it passes.

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use kushim::{
    config::{Config, JiraConfig, JiraSettings, ReopenPolicy, Secret},
    controls::ControlState,
    engine::{Actor, Engine, Refresh},
    integrations::{
        Integration, Snapshot, Source,
        collect::RetryPolicy,
        github::GitHubSnapshot,
        jira::{self, StatusCategory},
    },
    remediation::{Remediation, RemediationError, TicketEventKind, TicketOutcome},
    sandbox::{
        jira::{FakeJira, JiraSite, start, world::Issue},
        serve::Fault,
    },
    store::Backend,
};
use serde_json::Value;
use support::TestDb;

const CONTROL: &str = "VM-01";

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_server_wait: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
    }
}

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).single().expect("a valid time")
}

fn alice() -> Actor {
    Actor { name: "alice".into(), origin: "slack".into() }
}

/// A GitHub organisation in which the first `without_dependabot` repositories have Dependabot
/// alerts off.
fn github(without_dependabot: usize) -> GitHubSnapshot {
    let mut snapshot = kushim::sandbox::github::generated(8);
    for (i, repo) in snapshot.repos.iter_mut().enumerate() {
        repo.dependabot_alerts_enabled = Some(i >= without_dependabot);
    }
    snapshot
}

/// Kushim with its store, the fake site and the remediation loop: one "process".
struct Kushim {
    engine: Engine,
    remediation: Remediation,
}

impl Kushim {
    async fn start(db: &TestDb, jira: &FakeJira, tickets: JiraConfig) -> Kushim {
        let engine = Engine::new(db.store().await, &Config::default()).expect("an engine");
        let settings = JiraSettings { tickets, ..jira.settings() };
        let remediation =
            Remediation::new(engine.clone(), settings, quick()).expect("a remediation loop");
        Kushim { engine, remediation }
    }

    /// Collects GitHub with `failing` repositories lacking Dependabot, at `at`.
    async fn collect(&self, failing: usize, at: DateTime<Utc>) -> Refresh {
        let snapshot = Snapshot {
            github: Source::Collected { data: github(failing), observed_at: at },
            ..Snapshot::default()
        };
        self.engine.ingest(Integration::GitHub, &snapshot, at).await.expect("ingested").refresh
    }

    async fn open(&self, at: DateTime<Utc>) -> Result<TicketOutcome, RemediationError> {
        self.remediation.open_ticket(CONTROL, &alice(), at).await
    }
}

/// Only tickets on request, so the other failing GitHub controls stay out of the stories.
fn on_request() -> JiraConfig {
    JiraConfig { auto_create: Vec::new(), ..JiraConfig::default() }
}

async fn site(site: JiraSite) -> FakeJira {
    start(site).await.expect("the fake Jira site starts")
}

fn tickets_of(jira: &FakeJira, control: &str) -> Vec<Issue> {
    let label = kushim::remediation::control_label(control);
    jira.issues().into_iter().filter(|i| i.labels.contains(&label)).collect()
}

fn comment_texts(issue: &Issue) -> Vec<String> {
    issue.comments.iter().map(|c| c.body.to_string()).collect()
}

fn kinds(events: &[kushim::remediation::TicketEvent]) -> Vec<TicketEventKind> {
    events.iter().map(|e| e.kind).collect()
}

fn created(outcome: TicketOutcome) -> kushim::remediation::TicketSummary {
    match outcome {
        TicketOutcome::Created(ticket) => ticket,
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failing_control_gets_one_ticket_that_follows_it_to_done_and_back() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;

    // Three repositories without Dependabot: VM-01 fails and a person asks for a ticket.
    let refresh = kushim.collect(3, monday()).await;
    assert_eq!(refresh.state_of(CONTROL), Some(ControlState::Failing));
    let ticket = created(kushim.open(monday()).await.unwrap());
    assert_eq!((ticket.key.as_str(), ticket.status.as_str()), ("SEC-1", "To Do"));
    // Project check, create, entity property, read back: four calls per new ticket.
    assert_eq!(kushim.remediation.api_calls(), 4);
    assert_eq!(ticket.url, format!("{}/browse/SEC-1", jira.url()));
    assert_eq!(ticket.due_date, Some(monday().date_naive() + TimeDelta::days(30)), "high: 30 days");

    let issue = jira.issue("SEC-1").unwrap();
    assert_eq!(
        issue.summary,
        "[Kushim] VM-01: Dependency vulnerability alerts enabled on all repositories"
    );
    assert_eq!(issue.priority.as_deref(), Some("High"));
    assert!(
        issue.labels.contains(&"kushim".to_string())
            && issue.labels.contains(&"kushim-vm-01".to_string())
    );
    let description = issue.description.to_string();
    assert_eq!(issue.description["type"], "doc", "the description is ADF");
    for expected in ["CC7.1", "Failing resources (3)", "/kushim control VM-01", "payload sha256"] {
        assert!(description.contains(expected), "{expected} missing from {description}");
    }
    assert_eq!(issue.properties["kushim"]["control_id"], "VM-01");

    // Asking again (a double click, the other replica) gives the same ticket.
    match kushim.open(monday()).await.unwrap() {
        TicketOutcome::AlreadyExists(same) => assert_eq!(same.key, "SEC-1"),
        other => panic!("expected the existing ticket, got {other:?}"),
    }

    // Unchanged failing resources: nothing to say. Five now fail: one comment, no new ticket.
    let tuesday = monday() + TimeDelta::days(1);
    let events =
        kushim.remediation.reconcile(&kushim.collect(3, tuesday).await, tuesday).await.unwrap();
    assert!(events.is_empty(), "{events:?}");
    let events =
        kushim.remediation.reconcile(&kushim.collect(5, tuesday).await, tuesday).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Commented]);
    let issue = jira.issue("SEC-1").unwrap();
    assert_eq!(issue.comments.len(), 1);
    assert!(
        issue.description.to_string().contains("Failing resources (5)"),
        "the description is current"
    );

    // Fixed: Kushim comments and moves the ticket to the workflow's done status ("Closed",
    // reached by the transition "Resolve": chosen by category, not by name).
    let wednesday = tuesday + TimeDelta::days(1);
    let events =
        kushim.remediation.reconcile(&kushim.collect(0, wednesday).await, wednesday).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Closed]);
    assert_eq!(jira.status_of("SEC-1").as_deref(), Some("Closed"));
    assert!(comment_texts(&jira.issue("SEC-1").unwrap())[1].contains("passes on fresh evidence"));

    // It regresses: the same ticket is reopened with a comment.
    let thursday = wednesday + TimeDelta::days(1);
    let events =
        kushim.remediation.reconcile(&kushim.collect(1, thursday).await, thursday).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Reopened]);
    assert_eq!(jira.status_of("SEC-1").as_deref(), Some("To Do"));
    assert!(comment_texts(&jira.issue("SEC-1").unwrap())[2].contains("fails again"));
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1, "never a second ticket");

    // The history is in the store, hash-chained.
    let history: Vec<String> = kushim
        .engine
        .store()
        .ticket_events_of(CONTROL)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(history, ["created", "commented", "closed", "reopened"]);
    assert!(kushim.engine.store().verify().await.unwrap().intact());

    // A month later it is still open: overdue, said once.
    let later = monday() + TimeDelta::days(40);
    let events =
        kushim.remediation.reconcile(&kushim.collect(1, later).await, later).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Overdue]);
    let events =
        kushim.remediation.reconcile(&kushim.collect(1, later).await, later).await.unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[tokio::test]
async fn failing_controls_of_the_automatic_severities_get_tickets_without_anyone_asking() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, JiraConfig::default()).await;

    let refresh = kushim.collect(2, monday()).await;
    let events = kushim.remediation.reconcile(&refresh, monday()).await.unwrap();
    assert!(events.iter().all(|e| e.kind == TicketEventKind::Created), "{events:?}");
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1);
    let catalog = kushim.engine.catalog();
    for event in &events {
        let control = catalog.control(&event.control_id).unwrap();
        assert!(
            matches!(
                control.severity,
                kushim::catalog::Severity::Critical | kushim::catalog::Severity::High
            ),
            "{} ({}) should not be ticketed automatically",
            control.id,
            control.severity
        );
        assert_eq!(refresh.state_of(&control.id), Some(ControlState::Failing));
    }
    assert_eq!(jira.issues().len(), events.len());

    // The next reconcile creates nothing more.
    let again = kushim.remediation.reconcile(&refresh, monday()).await.unwrap();
    assert!(again.iter().all(|e| e.kind != TicketEventKind::Created), "{again:?}");
    assert_eq!(jira.issues().len(), events.len());
}

#[tokio::test]
async fn a_workflow_without_a_way_back_gets_a_new_ticket_linked_to_the_closed_one() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default().without_reopen()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;

    kushim.collect(1, monday()).await;
    created(kushim.open(monday()).await.unwrap());
    let later = monday() + TimeDelta::hours(1);
    kushim.remediation.reconcile(&kushim.collect(0, later).await, later).await.unwrap();
    assert_eq!(jira.status_of("SEC-1").as_deref(), Some("Closed"));

    let regressed = later + TimeDelta::hours(1);
    let events =
        kushim.remediation.reconcile(&kushim.collect(2, regressed).await, regressed).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Created]);
    assert!(events[0].detail.contains("replaces SEC-1"), "{}", events[0].detail);
    assert_eq!(jira.issue("SEC-2").unwrap().links, vec!["SEC-1"]);
    assert_eq!(kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap().key, "SEC-2");
}

#[tokio::test]
async fn the_new_linked_policy_replaces_a_closed_ticket_even_when_it_could_reopen() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let config = JiraConfig { reopen: ReopenPolicy::NewLinked, ..on_request() };
    let kushim = Kushim::start(&db, &jira, config).await;
    kushim.collect(1, monday()).await;
    created(kushim.open(monday()).await.unwrap());
    kushim.remediation.reconcile(&kushim.collect(0, monday()).await, monday()).await.unwrap();
    let events =
        kushim.remediation.reconcile(&kushim.collect(1, monday()).await, monday()).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Created]);
    assert_eq!(jira.status_of("SEC-1").as_deref(), Some("Closed"));
    assert_eq!(tickets_of(&jira, CONTROL).len(), 2);
}

#[tokio::test]
async fn a_ticket_closed_in_jira_while_its_control_fails_is_flagged_by_sync_and_by_webhook() {
    let db = TestDb::new(Backend::Sqlite).await;
    // Pages of two, so the sync must follow nextPageToken.
    let jira = site(JiraSite::default().with_page_size(2)).await;
    let kushim = Kushim::start(&db, &jira, JiraConfig::default()).await;
    let refresh = kushim.collect(2, monday()).await;
    let created = kushim.remediation.reconcile(&refresh, monday()).await.unwrap();
    assert!(created.len() > 2, "enough tickets to page through: {created:?}");
    let key = kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap().key;

    // Someone assigns it and closes it in Jira, though VM-01 still fails.
    jira.assign(&key, "5b10ac8d82e05b22cc7d4ef5");
    jira.move_issue(&key, "Closed");
    jira.recorder.clear_requests();
    let events = kushim.remediation.sync(monday()).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::ClosedWhileFailing]);
    assert_eq!(events[0].key, key);
    let pages: Vec<String> = jira
        .recorder
        .requests()
        .into_iter()
        .map(|r| r.uri)
        .filter(|uri| uri.starts_with("/rest/api/3/search/jql"))
        .collect();
    assert!(pages.len() >= 2 && pages[1].contains("nextPageToken="), "{pages:?}");
    let ticket = kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap();
    assert_eq!((ticket.status.as_str(), ticket.flagged), ("Closed", true));
    assert_eq!(ticket.assignee.as_deref(), Some("Dana Ops"));
    // Said once, and Kushim does not reopen a person's close behind their back.
    assert!(kushim.remediation.sync(monday()).await.unwrap().is_empty());
    let events =
        kushim.remediation.reconcile(&kushim.collect(2, monday()).await, monday()).await.unwrap();
    assert!(events.iter().all(|e| e.control_id != CONTROL), "{events:?}");
    assert_eq!(jira.status_of(&key).as_deref(), Some("Closed"));

    // Reopened in Jira, then closed again: the webhook flags it at once.
    let reopened = jira.move_issue(&key, "In Progress");
    assert!(kushim.remediation.apply_webhook(&reopened, monday()).await.unwrap().is_empty());
    assert!(!kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap().flagged);
    let closed = jira.move_issue(&key, "Closed");
    let events = kushim.remediation.apply_webhook(&closed, monday()).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::ClosedWhileFailing]);
}

#[tokio::test]
async fn a_lost_create_answer_is_reconciled_after_a_restart_into_exactly_one_ticket() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let first = Kushim::start(&db, &jira, on_request()).await;
    first.collect(1, monday()).await;

    // Jira creates the issue but the answer never arrives (504 from the gateway).
    jira.lose_create_responses(1);
    let error = first.open(monday()).await.unwrap_err().to_string();
    assert!(error.contains("504"), "{error}");
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1, "Jira holds the issue");
    assert!(first.remediation.ticket_of(CONTROL).await.unwrap().is_none(), "Kushim has no key");
    drop(first);

    // "Restart": a new process on the same database finds the pending ticket, searches Jira
    // for its label and links the issue instead of creating another.
    let restarted = Kushim::start(&db, &jira, on_request()).await;
    let later = monday() + TimeDelta::minutes(5);
    let ticket = created(restarted.open(later).await.unwrap());
    assert_eq!(ticket.key, "SEC-1");
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1, "exactly one ticket");

    // The same recovery happens in the scheduled reconcile, without anyone asking.
    let db2 = TestDb::new(Backend::Sqlite).await;
    let jira2 = site(JiraSite::default()).await;
    let crashed = Kushim::start(&db2, &jira2, on_request()).await;
    crashed.collect(1, monday()).await;
    jira2.lose_create_responses(1);
    crashed.open(monday()).await.unwrap_err();
    let restarted = Kushim::start(&db2, &jira2, on_request()).await;
    let refresh = restarted.collect(1, later).await;
    let events = restarted.remediation.reconcile(&refresh, later).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Created]);
    assert!(events[0].detail.contains("recovered"), "{}", events[0].detail);
    assert_eq!(tickets_of(&jira2, CONTROL).len(), 1);
}

async fn concurrent_clicks_on(backend: Backend) {
    let db = TestDb::new(backend).await;
    let jira = site(JiraSite::default()).await;
    // Two replicas on one database, each clicked three times at once.
    let a = Kushim::start(&db, &jira, on_request()).await;
    let b = Kushim::start(&db, &jira, on_request()).await;
    a.collect(2, monday()).await;
    let (r1, r2, r3, r4, r5, r6) = tokio::join!(
        a.open(monday()),
        b.open(monday()),
        a.open(monday()),
        b.open(monday()),
        a.open(monday()),
        b.open(monday())
    );
    let outcomes: Vec<TicketOutcome> =
        [r1, r2, r3, r4, r5, r6].into_iter().map(|r| r.expect("no click fails")).collect();
    let created = outcomes.iter().filter(|o| matches!(o, TicketOutcome::Created(_))).count();
    assert_eq!(created, 1, "{outcomes:?}");
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1, "{}: one ticket in Jira", backend.as_str());
    assert!(matches!(a.open(monday()).await.unwrap(), TicketOutcome::AlreadyExists(_)));
    db.cleanup().await;
}

#[tokio::test]
async fn concurrent_clicks_on_two_replicas_create_one_ticket() {
    concurrent_clicks_on(Backend::Sqlite).await;
    if support::postgres_server().is_some() {
        concurrent_clicks_on(Backend::Postgres).await;
    } else {
        eprintln!("PostgreSQL half NOT RUN: set TEST_DATABASE_URL");
    }
}

#[tokio::test]
async fn a_passing_control_gets_no_ticket_and_an_unknown_one_gets_a_suggestion() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(0, monday()).await;
    let error = kushim.open(monday()).await.unwrap_err().to_string();
    assert_eq!(error, "VM-01 is passing: there is nothing to remediate");
    let error = kushim.remediation.open_ticket("VM-1", &alice(), monday()).await.unwrap_err();
    assert!(error.to_string().contains("did you mean"), "{error}");
    assert!(jira.issues().is_empty());
}

/// Asks for the ticket with `fault` injected, then without: the error names the cause, and
/// afterwards exactly one ticket exists.
async fn after_fault(path: &str, fault: Fault, times: Option<u32>) -> String {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(1, monday()).await;
    jira.recorder.inject(path, fault, times);
    let error = kushim.open(monday()).await.unwrap_err().to_string();
    jira.recorder.clear_faults();
    created(kushim.open(monday()).await.expect("works once Jira does"));
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1, "nothing lost, nothing duplicated");
    error
}

#[tokio::test]
async fn a_rejected_token_says_to_check_the_token() {
    let error = after_fault("", Fault::Unauthorized, None).await;
    assert!(
        error.contains("jira rejected the credentials") && error.contains("JIRA_API_TOKEN"),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_permission_says_which_permission() {
    let error = after_fault("/rest/api/3/issue", Fault::Forbidden, None).await;
    assert!(
        error.contains("jira denied POST /rest/api/3/issue") && error.contains("Create issues"),
        "{error}"
    );
}

#[tokio::test]
async fn jira_down_says_it_cannot_be_reached_and_creates_nothing_twice() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let url = jira.url();
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(1, monday()).await;
    jira.stop().await;
    let error = kushim.open(monday()).await.unwrap_err().to_string();
    assert!(error.contains("cannot reach"), "{error}");
    assert!(url.starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn an_unknown_project_is_named() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim =
        Kushim::start(&db, &jira, JiraConfig { project: "NOPE".into(), ..on_request() }).await;
    kushim.collect(1, monday()).await;
    let error = kushim.open(monday()).await.unwrap_err().to_string();
    assert!(error.contains("no project `NOPE`") && error.contains("[jira] project"), "{error}");
    // Refused before anything was created: the control can get its ticket once fixed.
    assert!(kushim.engine.store().current_ticket(CONTROL).await.unwrap().is_none());
}

#[tokio::test]
async fn a_refused_create_shows_jiras_own_messages() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim =
        Kushim::start(&db, &jira, JiraConfig { issue_type: "Epic".into(), ..on_request() }).await;
    kushim.collect(1, monday()).await;
    let error = kushim.open(monday()).await.unwrap_err().to_string();
    assert!(
        error.contains("HTTP 400") && error.contains("issuetype: Specify an issue type"),
        "{error}"
    );
    assert!(jira.issues().is_empty());
}

#[tokio::test]
async fn a_rate_limited_create_is_retried_after_the_wait_jira_asks_for() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(1, monday()).await;
    jira.recorder.inject(
        "/rest/api/3/issue",
        Fault::RateLimited { retry_after_seconds: 1 },
        Some(1),
    );
    let started = Instant::now();
    created(kushim.open(monday()).await.unwrap());
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1);

    // A rate limit on a gouqi call (the search) is retried too, on the backoff schedule.
    jira.recorder.inject(
        "/rest/api/3/search/jql",
        Fault::RateLimited { retry_after_seconds: 1 },
        Some(1),
    );
    kushim.remediation.sync(monday()).await.unwrap();
}

#[tokio::test]
async fn the_collector_finds_kushims_tickets_across_pages() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default().with_page_size(2)).await;
    let kushim = Kushim::start(&db, &jira, JiraConfig::default()).await;
    // Collections stamp real time, so this story runs on it: every ticket is due in the future.
    let now = Utc::now();
    let refresh = kushim.collect(2, now).await;
    let events = kushim.remediation.reconcile(&refresh, now).await.unwrap();
    let key = kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap().key;
    jira.move_issue(&key, "Closed");

    let collection = jira::collect(&jira.settings(), &quick()).await;
    let snapshot = support::collected(&collection);
    assert_eq!(snapshot.tickets.len(), events.len());
    let closed = snapshot.tickets.iter().find(|t| t.key == key).unwrap();
    assert_eq!(
        (closed.status.as_str(), &closed.status_category),
        ("Closed", &StatusCategory::Done)
    );
    assert!(
        snapshot
            .tickets
            .iter()
            .all(|t| t.due_date.is_some() && t.labels.contains(&"kushim".into()))
    );
    assert!(collection.api_calls as usize >= events.len().div_ceil(2));

    // The SLA check judges them: VM-05 (remediation SLA) gets real evidence.
    let report = kushim.engine.ingest_collection(collection).await.unwrap();
    assert_eq!(report.refresh.state_of("VM-05"), Some(ControlState::Passing));

    let doctor = jira::doctor(&jira.settings(), &quick()).await;
    assert!(doctor.iter().all(|d| d.ok), "{doctor:?}");
    let wrong = JiraSettings { token: Secret::new("wrong"), ..jira.settings() };
    let doctor = jira::doctor(&wrong, &quick()).await;
    assert!(!doctor[0].ok && doctor[0].detail.contains("JIRA_API_TOKEN"), "{doctor:?}");
    let failed = jira::collect(&wrong, &quick()).await;
    assert!(support::failure(&failed).contains("rejected the credentials"));
}

#[tokio::test]
async fn a_webhook_payload_that_is_not_an_issue_event_changes_nothing() {
    let jira = site(JiraSite::default()).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(1, monday()).await;
    created(kushim.open(monday()).await.unwrap());
    let payload: Value = jira.move_issue("SEC-1", "In Review");
    assert_eq!(payload["webhookEvent"], "jira:issue_updated");
    assert_eq!(payload["issue"]["fields"]["status"]["statusCategory"]["key"], "indeterminate");
    let bad = serde_json::json!({"webhookEvent": "jira:issue_updated", "issue": {"key": "SEC-1"}});
    assert!(matches!(
        kushim.remediation.apply_webhook(&bad, monday()).await,
        Err(RemediationError::BadWebhook(_))
    ));
    assert_eq!(kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap().status, "To Do");
    kushim.remediation.apply_webhook(&payload, monday()).await.unwrap();
    assert_eq!(kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap().status, "In Review");
}

/// `kushim serve` with Jira webhooks on, over the same store as `kushim`.
async fn serve_webhooks(kushim: &Kushim, jira: &FakeJira, secret: Option<&str>) -> String {
    use kushim::server::{self, AppState, JiraWebhook};
    let now = monday();
    let bot = kushim::chat::bot::Bot::new(
        kushim.engine.clone(),
        None,
        kushim::chat::roles::Roles::new(&Default::default()),
        Default::default(),
        std::sync::Arc::new(move || now),
    );
    let mut state = AppState::new(bot, Secret::new("slack"));
    if let Some(secret) = secret {
        let remediation =
            Remediation::new(kushim.engine.clone(), jira.settings(), quick()).unwrap();
        state = state.with_jira(JiraWebhook { remediation, secret: Secret::new(secret) });
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jira/webhook", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    url
}

async fn deliver(url: &str, body: &str, signature: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_webhook_accepts_only_deliveries_signed_with_the_shared_secret() {
    use kushim::server::jira::sign;
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(1, monday()).await;
    created(kushim.open(monday()).await.unwrap());
    let url = serve_webhooks(&kushim, &jira, Some("whsec-kushim")).await;
    let secret = Secret::new("whsec-kushim");
    let closed = jira.move_issue("SEC-1", "Closed").to_string();

    // Unsigned, signed with another secret, or malformed: 401 and nothing changes.
    assert_eq!(deliver(&url, &closed, None).await.0, 401);
    let forged = sign(&Secret::new("guess"), closed.as_bytes());
    assert_eq!(deliver(&url, &closed, Some(&forged)).await.0, 401);
    assert_eq!(deliver(&url, &closed, Some("sha256=zz")).await.0, 401);
    let stored = kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap();
    assert_eq!(stored.status, "To Do");

    // Signed but not an issue event: 400, nothing changes.
    let junk = r#"{"webhookEvent":"jira:issue_updated"}"#;
    let (status, reason) = deliver(&url, junk, Some(&sign(&secret, junk.as_bytes()))).await;
    assert_eq!((status, reason.as_str()), (400, "no `issue`"));
    let (status, _) = deliver(&url, "not json", Some(&sign(&secret, b"not json"))).await;
    assert_eq!(status, 400);

    // Signed by Jira: the ticket is closed in the store, and flagged, since VM-01 still fails.
    let (status, _) = deliver(&url, &closed, Some(&sign(&secret, closed.as_bytes()))).await;
    assert_eq!(status, 200);
    let stored = kushim.remediation.ticket_of(CONTROL).await.unwrap().unwrap();
    assert_eq!((stored.status.as_str(), stored.flagged), ("Closed", true));
    let events = kushim.engine.store().ticket_events_of(CONTROL).await.unwrap();
    assert_eq!(events.last().unwrap().kind, "closed_while_failing");

    // A server without the secret refuses every delivery.
    let unconfigured = serve_webhooks(&kushim, &jira, None).await;
    assert_eq!(
        deliver(&unconfigured, &closed, Some(&sign(&secret, closed.as_bytes()))).await.0,
        401
    );
}

#[tokio::test]
async fn a_ticket_action_jira_refuses_is_reported_and_done_on_the_next_reconcile() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(1, monday()).await;
    created(kushim.open(monday()).await.unwrap());

    // The control passes, but the token may not transition issues.
    jira.recorder.inject("/rest/api/latest/issue/SEC-1/transitions", Fault::Forbidden, None);
    let refresh = kushim.collect(0, monday()).await;
    let events = kushim.remediation.reconcile(&refresh, monday()).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::ActionFailed]);
    assert!(
        events[0].detail.contains("jira denied") && events[0].detail.contains("Transition issues"),
        "{}",
        events[0].detail
    );
    assert_eq!(jira.status_of("SEC-1").as_deref(), Some("To Do"));

    // Permission granted: the next reconcile closes it.
    jira.recorder.clear_faults();
    let events = kushim.remediation.reconcile(&refresh, monday()).await.unwrap();
    assert_eq!(kinds(&events), vec![TicketEventKind::Closed]);
    assert_eq!(jira.status_of("SEC-1").as_deref(), Some("Closed"));
}

#[tokio::test]
async fn a_server_error_on_a_search_is_retried_and_a_lasting_garbled_answer_fails_the_collection() {
    let jira = site(JiraSite::default()).await;
    jira.recorder.inject("/rest/api/3/search/jql", Fault::ServerError(503), Some(1));
    let collection = jira::collect(&jira.settings(), &quick()).await;
    assert!(support::collected(&collection).tickets.is_empty());
    assert_eq!(collection.api_calls, 2, "one 503, one answer");

    jira.recorder.inject("/rest/api/3/search/jql", Fault::Malformed, None);
    let collection = jira::collect(&jira.settings(), &quick()).await;
    let reason = support::failure(&collection);
    assert!(reason.contains("jira: unexpected response to GET /rest/api/3/search/jql"), "{reason}");
    assert_eq!(collection.api_calls, 3, "retried up to the policy's attempts");
}

#[tokio::test]
async fn the_fake_answers_the_post_form_of_search_jql_with_page_tokens_too() {
    let jira = site(JiraSite::default().with_page_size(1)).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(3, monday()).await;
    created(kushim.open(monday()).await.unwrap());
    for control in ["VM-02", "CM-02"] {
        let _ = kushim.remediation.open_ticket(control, &alice(), monday()).await;
    }
    let http = reqwest::Client::new();
    let settings = jira.settings();
    let mut token: Option<String> = None;
    let mut keys = Vec::new();
    loop {
        let mut body =
            serde_json::json!({"jql": "labels = kushim", "fields": ["status"], "maxResults": 50});
        if let Some(token) = &token {
            body["nextPageToken"] = token.clone().into();
        }
        let page: Value = http
            .post(format!("{}/rest/api/3/search/jql", jira.url()))
            .basic_auth(&settings.email, Some(settings.token.expose()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        keys.extend(
            page["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_owned()),
        );
        assert!(page["issues"][0]["fields"]["status"]["statusCategory"]["key"].is_string());
        if page["isLast"] == true {
            break;
        }
        token = page["nextPageToken"].as_str().map(str::to_owned);
    }
    assert_eq!(keys, jira.issues().into_iter().map(|i| i.key).collect::<Vec<_>>());
    assert!(keys.len() >= 2, "{keys:?}");
}

#[tokio::test]
async fn a_create_that_times_out_is_not_repeated_blindly_and_ends_as_one_ticket() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(1, monday()).await;
    jira.recorder.inject("/rest/api/3/issue", Fault::Slow(Duration::from_secs(3)), Some(1));
    let error = kushim.open(monday()).await.unwrap_err().to_string();
    assert!(error.contains("POST /rest/api/3/issue timed out"), "{error}");
    let creates = |jira: &FakeJira| {
        jira.recorder
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.uri == "/rest/api/3/issue")
            .count()
    };
    assert_eq!(creates(&jira), 1, "a create that may have happened is not sent again");

    // Asked again, Kushim looks for the issue first and creates it only if it is not there.
    let ticket = created(kushim.open(monday()).await.unwrap());
    assert_eq!(tickets_of(&jira, CONTROL).len(), 1, "{ticket:?}");
}

#[tokio::test]
async fn the_digest_lists_open_tickets_with_their_age_and_the_late_ones_first() {
    let db = TestDb::new(Backend::Sqlite).await;
    let jira = site(JiraSite::default()).await;
    let kushim = Kushim::start(&db, &jira, on_request()).await;
    kushim.collect(3, monday()).await;
    created(kushim.open(monday()).await.unwrap());

    // 40 days later VM-01 (high: due in 30 days) still fails and its ticket is late.
    let later = monday() + TimeDelta::days(40);
    let refresh = kushim.collect(3, later).await;
    let store = kushim.engine.store();
    let inputs = kushim::jobs::digest::gather(
        store,
        kushim.engine.catalog(),
        &refresh,
        chrono_tz::UTC,
        later,
    )
    .await
    .unwrap();
    let plain = kushim::jobs::digest::digest(&inputs, later).to_plain_text();

    assert!(
        plain.contains(
            "*Open remediation tickets* (1, 1 past due)\n• SEC-1 `VM-01` — 40 days old, *10 days past due*"
        ),
        "{plain}"
    );
}
