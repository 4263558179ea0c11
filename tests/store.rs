//! Stories about what Kushim remembers, each run on SQLite and, when `TEST_DATABASE_URL` points
//! at a PostgreSQL server, on PostgreSQL too. Without it the PostgreSQL half is reported as
//! ignored, with a banner saying so.
//!
//! A custom harness (libtest-mimic) so one list of async stories becomes one test per backend.

mod support;

use std::{future::Future, pin::Pin, sync::Arc};

use chrono::{DateTime, TimeDelta, Utc};
use kushim::{
    config::{Config, Exclusion},
    controls::ControlState,
    engine::{Actor, Engine, EngineError},
    integrations::{Integration, Snapshot, Source, collect::Collection},
    sandbox,
    store::{
        AuditEntry, Backend, ExceptionDecision, NewEvidence, NewException, NewTicket,
        NewTicketEvent, Store, TicketClaim, TicketPhase,
    },
};
use libtest_mimic::{Arguments, Trial};
use serde_json::json;
use support::TestDb;

type Story = fn(TestDb) -> Pin<Box<dyn Future<Output = TestDb>>>;

macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), |db| Box::pin($name(db)) as Pin<Box<dyn Future<Output = TestDb>>>)),*]
    };
}

const STORIES: &[(&str, Story)] = stories![
    evidence_is_appended_and_the_chain_verifies,
    an_edited_evidence_payload_is_detected,
    a_consistently_rehashed_record_still_breaks_the_chain,
    a_deleted_record_in_the_middle_is_detected,
    a_deleted_newest_record_is_detected,
    an_edited_finding_is_detected,
    edits_to_what_people_added_are_detected,
    a_forged_current_state_is_detected,
    a_collection_fails_controls_and_records_transitions_once,
    a_failed_collection_never_leaves_a_control_passing,
    evidence_older_than_the_window_goes_stale,
    manual_evidence_is_stored_hashed_and_falls_due,
    an_approved_exception_covers_a_failing_control_until_it_expires,
    out_of_scope_controls_are_not_applicable,
    migrations_apply_in_order_onto_a_database_holding_data,
    concurrent_writers_keep_one_unbroken_chain,
    a_collection_run_is_logged_with_its_api_calls,
    a_control_has_one_current_ticket_however_many_callers_race,
    a_pending_ticket_is_reclaimed_by_one_caller_once_its_claim_runs_out,
    ticket_events_are_chained_and_an_edit_is_detected,
    two_approvers_clicking_at_once_record_one_decision,
    a_retried_slack_event_is_seen_once_and_snoozes_expire,
    retention_drops_old_payloads_but_keeps_hashes_and_the_newest_of_each_source,
    a_payload_removed_by_hand_is_detected_even_when_marked_pruned,
];

fn main() {
    let args = Arguments::from_args();
    let postgres = support::postgres_server();
    if postgres.is_none() {
        eprintln!(
            "\n*** PostgreSQL suite NOT RUN: set TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB to run \
             every store story on PostgreSQL too. ***\n"
        );
    }
    let mut trials = Vec::new();
    for &(name, story) in STORIES {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let trial = Trial::test(format!("{}::{name}", backend.as_str()), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(async move {
                    let db = TestDb::new(backend).await;
                    story(db).await.cleanup().await;
                });
                Ok(())
            });
            trials
                .push(trial.with_ignored_flag(backend == Backend::Postgres && postgres.is_none()));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Shortly after the moment the generated organisation describes.
fn t0() -> DateTime<Utc> {
    sandbox::as_of() + TimeDelta::hours(9)
}

fn evidence(source: &str, n: i64) -> NewEvidence {
    NewEvidence {
        source: source.into(),
        kind: "snapshot".into(),
        collected_at: t0() + TimeDelta::minutes(n),
        observed_at: t0() + TimeDelta::minutes(n),
        payload: json!({"n": n, "users": [{"name": "alice", "mfa": n % 2 == 0}]}),
    }
}

async fn engine(db: &TestDb) -> Engine {
    engine_with(db, &Config::default()).await
}

async fn engine_with(db: &TestDb, config: &Config) -> Engine {
    Engine::new(db.store().await, config).expect("the built-in catalog loads")
}

/// Collects every integration of a generated organisation at `at`.
async fn collect_everything(engine: &Engine, at: DateTime<Utc>) -> Snapshot {
    let snapshot = sandbox::generated_org(600, at);
    for integration in Integration::ALL {
        engine.ingest(integration, &snapshot, at).await.expect("ingest");
    }
    snapshot
}

fn actor() -> Actor {
    Actor { name: "cli:alice".into(), origin: "cli@test".into() }
}

/// Asserts verify names the first broken record of `chain` at `seq`, with `problem` in its text.
async fn assert_broken(store: &Store, chain: &str, seq: i64, problem: &str) {
    let report = store.verify().await.unwrap();
    assert!(!report.intact(), "tampering with {chain} went unnoticed");
    let broken = report
        .chains
        .iter()
        .find(|c| c.chain == chain)
        .and_then(|c| c.broken.clone())
        .unwrap_or_else(|| panic!("{chain} is not reported broken: {report:#?}"));
    assert_eq!(broken.seq, seq, "{broken:?}");
    assert!(broken.problem.contains(problem), "{:?} does not mention {problem:?}", broken.problem);
    let others: Vec<_> =
        report.chains.iter().filter(|c| c.chain != chain && c.broken.is_some()).collect();
    assert!(others.is_empty(), "only {chain} was touched, yet {others:?}");
}

// ---------------------------------------------------------------------------------------------

async fn evidence_is_appended_and_the_chain_verifies(db: TestDb) -> TestDb {
    let store = db.store().await;
    let first = store.append_evidence(evidence("github", 1)).await.unwrap();
    store.append_evidence(evidence("aws", 2)).await.unwrap();
    let third = store.append_evidence(evidence("github", 3)).await.unwrap();
    assert_eq!((first.seq, third.seq), (1, 3));

    let latest = store.latest_evidence().await.unwrap();
    let sources: Vec<(&str, i64)> = latest.iter().map(|e| (e.source.as_str(), e.seq)).collect();
    assert_eq!(sources, vec![("aws", 2), ("github", 3)]);
    assert_eq!(store.evidence_payload(3).await.unwrap()["n"], 3);

    let report = store.verify().await.unwrap();
    assert!(report.intact(), "{report:#?}");
    let chain = report.chains.iter().find(|c| c.chain == "evidence").unwrap();
    assert_eq!((chain.records, chain.head_hash.as_str()), (3, third.record_hash.as_str()));
    store.close().await;
    db
}

async fn an_edited_evidence_payload_is_detected(db: TestDb) -> TestDb {
    let store = db.store().await;
    for n in 1..=3 {
        store.append_evidence(evidence("aws", n)).await.unwrap();
    }
    let changed = db
        .sql("UPDATE evidence SET payload = REPLACE(payload, 'false', 'true') WHERE seq = 1")
        .await;
    assert_eq!(changed, 1);
    assert_broken(&store, "evidence", 1, "payload does not match its SHA-256").await;
    store.close().await;
    db
}

async fn a_consistently_rehashed_record_still_breaks_the_chain(db: TestDb) -> TestDb {
    // Someone who edits the payload and also updates its SHA-256 still cannot make the record's
    // own hash match without recomputing the chain from that point on.
    let store = db.store().await;
    for n in 1..=3 {
        store.append_evidence(evidence("okta", n)).await.unwrap();
    }
    let forged = r#"{"n":2,"users":[]}"#;
    let sha = kushim::store::chain::sha256_hex(forged.as_bytes());
    db.sql(&format!(
        "UPDATE evidence SET payload = '{forged}', payload_sha256 = '{sha}' WHERE seq = 2"
    ))
    .await;
    assert_broken(&store, "evidence", 2, "contents do not match its hash").await;
    store.close().await;
    db
}

async fn a_deleted_record_in_the_middle_is_detected(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    collect_everything(&engine, t0()).await;
    db.sql("DELETE FROM findings WHERE seq = 5").await;
    assert_broken(engine.store(), "findings", 6, "expected record 5 next, found 6").await;
    db
}

async fn a_deleted_newest_record_is_detected(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    engine.refresh(t0()).await.unwrap();
    let last: i64 = engine
        .store()
        .verify()
        .await
        .unwrap()
        .chains
        .iter()
        .find(|c| c.chain == "transitions")
        .unwrap()
        .records;
    assert_eq!(last, 64, "the first refresh records one transition per control");
    // Remove the newest transition and the projection row that points at it, so only the chain
    // head can tell.
    db.sql(&format!("DELETE FROM control_states WHERE transition_seq = {last}")).await;
    db.sql(&format!("DELETE FROM transitions WHERE seq = {last}")).await;
    assert_broken(engine.store(), "transitions", last, "records were removed from the end").await;
    db
}

async fn an_edited_finding_is_detected(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    collect_everything(&engine, t0()).await;
    let first_fail = "(SELECT MIN(seq) FROM findings WHERE outcome = 'fail')";
    let seq: i64 = {
        let pool = sqlx::AnyPool::connect(db.url.expose()).await.unwrap();
        let row: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {first_fail}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row.0
    };
    db.sql(&format!("UPDATE findings SET outcome = 'pass' WHERE seq = {seq}")).await;
    assert_broken(engine.store(), "findings", seq, "the record was edited").await;
    db
}

async fn edits_to_what_people_added_are_detected(db: TestDb) -> TestDb {
    let untouched = engine_for_copy(&db).await;
    assert!(untouched.store().verify().await.unwrap().intact(), "nothing was edited yet");
    untouched.store().close().await;

    let tampering = [
        ("manual_evidence", forged_document(db.backend()), "document does not match"),
        (
            "exceptions",
            "UPDATE exceptions SET expires_at = expires_at + 31536000 WHERE seq = 1",
            "edited",
        ),
        (
            "exception_decisions",
            "UPDATE exception_decisions SET decided_by = 'mallory' WHERE seq = 1",
            "edited",
        ),
        ("audit_log", "UPDATE audit_log SET actor = 'cli:mallory' WHERE seq = 1", "edited"),
    ];
    for (chain, statement, problem) in tampering {
        let fresh = TestDb::new(db.backend()).await;
        let engine = engine_for_copy(&fresh).await;
        fresh.sql(statement).await;
        assert_broken(engine.store(), chain, 1, problem).await;
        engine.store().close().await;
        fresh.cleanup().await;
    }
    db
}

/// Replaces the stored document by hand, in each database's own syntax for binary values.
fn forged_document(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "UPDATE manual_evidence SET content = CAST('forged' AS BLOB) WHERE seq = 1"
        }
        Backend::Postgres => "UPDATE manual_evidence SET content = 'forged'::bytea WHERE seq = 1",
    }
}

/// A database holding one manual evidence, one approved exception and one audit entry.
async fn engine_for_copy(db: &TestDb) -> Engine {
    let engine = engine(db).await;
    let policy = manual_control(&engine);
    let document = b"%PDF signed".to_vec();
    engine
        .add_manual_evidence(
            &policy,
            "policy.pdf",
            document,
            "board approved",
            None,
            &actor(),
            t0(),
        )
        .await
        .unwrap();
    let exception = engine.store().request_exception(exception_for(&policy)).await.unwrap();
    engine
        .store()
        .decide_exception(exception.seq, ExceptionDecision::Approved, "bob", t0(), "ok")
        .await
        .unwrap();
    engine
}

async fn a_forged_current_state_is_detected(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    engine.refresh(t0()).await.unwrap();
    db.sql("UPDATE control_states SET state = 'passing' WHERE control_id = 'AC-01'").await;
    let report = engine.store().verify().await.unwrap();
    assert!(!report.intact());
    assert_eq!(report.state_mismatches, vec!["AC-01".to_owned()]);
    db
}

async fn a_collection_fails_controls_and_records_transitions_once(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    let before = engine.refresh(t0()).await.unwrap();
    assert!(
        before
            .assessments
            .iter()
            .all(|a| matches!(a.state, ControlState::NoEvidence | ControlState::ManualDue))
    );

    collect_everything(&engine, t0()).await;
    let after = engine.refresh(t0()).await.unwrap();
    let failing: Vec<&str> = after
        .assessments
        .iter()
        .filter(|a| a.state == ControlState::Failing)
        .map(|a| a.control_id.as_str())
        .collect();
    let passing = after.assessments.iter().filter(|a| a.state == ControlState::Passing).count();
    assert!(!failing.is_empty(), "a generated org has problems");
    assert!(
        passing + failing.len() >= 20,
        "every automated control is judged: {failing:?}, {passing} passing"
    );
    assert!(after.transitions.is_empty(), "nothing changed since the last ingest refreshed");

    let history = engine.store().transitions_of(failing[0], 10).await.unwrap();
    assert_eq!(history[0].from_state.as_deref(), Some("no_evidence"));
    assert_eq!(history[0].to_state, "failing");
    assert!(history[0].reason.contains("fails on"), "{}", history[0].reason);
    assert_eq!(
        history[1].from_state, None,
        "the first assessment is recorded as where the control started"
    );

    let findings = engine.store().latest_findings().await.unwrap();
    assert!(findings.len() > 600, "one finding per judged resource, got {}", findings.len());
    assert!(engine.store().verify().await.unwrap().intact());
    db
}

async fn a_failed_collection_never_leaves_a_control_passing(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    let mut snapshot = collect_everything(&engine, t0()).await;
    let aws_controls: Vec<String> = engine
        .catalog()
        .controls()
        .iter()
        .filter(|c| c.checks.iter().all(|id| id.starts_with("aws.")) && !c.checks.is_empty())
        .map(|c| c.id.clone())
        .collect();
    assert!(!aws_controls.is_empty());

    snapshot.aws = Source::Failed {
        reason: "AccessDenied: iam:GenerateCredentialReport".into(),
        observed_at: t0(),
    };
    let later = t0() + TimeDelta::hours(1);
    let ingested = engine.ingest(Integration::Aws, &snapshot, later).await.unwrap();
    for id in &aws_controls {
        let assessment = ingested.refresh.assessments.iter().find(|a| &a.control_id == id).unwrap();
        assert!(
            matches!(assessment.state, ControlState::Errored | ControlState::Failing),
            "{id} is {} after a failed collection",
            assessment.state
        );
        if assessment.state == ControlState::Errored {
            assert!(
                assessment.reason.contains("AccessDenied: iam:GenerateCredentialReport"),
                "{}",
                assessment.reason
            );
        }
    }
    let stored = engine.store().latest_evidence().await.unwrap();
    let aws = stored.iter().find(|e| e.source == "aws").unwrap();
    assert_eq!(aws.kind, "collection_error");
    db
}

async fn evidence_older_than_the_window_goes_stale(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    collect_everything(&engine, t0()).await;
    let three_days_later = engine.refresh(t0() + TimeDelta::days(3)).await.unwrap();
    let with_checks: Vec<&str> = engine
        .catalog()
        .controls()
        .iter()
        .filter(|c| c.kind.has_checks())
        .map(|c| c.id.as_str())
        .collect();
    for id in &with_checks {
        assert_eq!(three_days_later.state_of(id), Some(ControlState::Stale), "{id}");
    }
    assert!(!three_days_later.transitions.is_empty());
    assert!(
        three_days_later
            .transitions
            .iter()
            .all(|t| t.to_state == "stale" && with_checks.contains(&t.control_id.as_str()))
    );
    db
}

fn manual_control(engine: &Engine) -> String {
    engine
        .catalog()
        .controls()
        .iter()
        .find(|c| c.kind == kushim::catalog::ControlKind::Manual)
        .expect("the catalog has manual controls")
        .id
        .clone()
}

fn exception_for(control: &str) -> NewException {
    NewException {
        control_id: control.into(),
        reason: "migrating to a new IdP this quarter".into(),
        compensating_control: Some("weekly manual review".into()),
        requested_by: "slack:U1".into(),
        requested_at: t0(),
        expires_at: t0() + TimeDelta::days(30),
    }
}

async fn manual_evidence_is_stored_hashed_and_falls_due(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    let policy = manual_control(&engine);
    let every = engine.control(&policy).unwrap().evidence_every.unwrap().as_delta();

    let (record, refresh) = engine
        .add_manual_evidence(
            &policy.to_lowercase(),
            "policy.pdf",
            b"%PDF-1.7 signed".to_vec(),
            "v3, approved",
            None,
            &actor(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(record.control_id, policy, "ids are accepted in any case");
    assert_eq!(record.content_sha256, kushim::store::chain::sha256_hex(b"%PDF-1.7 signed"));
    assert_eq!(record.due_at, t0() + every);
    assert_eq!(
        record.owner,
        engine.control(&policy).unwrap().owner,
        "the owner defaults to the control's"
    );
    assert_eq!(refresh.state_of(&policy), Some(ControlState::ManualOk));

    let audit = engine.store().audit_log(5).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].target.as_str(), audit[0].actor.as_str()),
        ("evidence.add", policy.as_str(), "cli:alice")
    );

    let overdue = engine.refresh(t0() + every + TimeDelta::hours(1)).await.unwrap();
    assert_eq!(overdue.state_of(&policy), Some(ControlState::ManualDue));
    let history = engine.store().transitions_of(&policy, 5).await.unwrap();
    assert_eq!(
        (history[0].from_state.as_deref(), history[0].to_state.as_str()),
        (Some("manual_ok"), "manual_due")
    );

    let automated = engine
        .catalog()
        .controls()
        .iter()
        .find(|c| c.kind == kushim::catalog::ControlKind::Automated)
        .unwrap();
    let refused =
        engine.add_manual_evidence(&automated.id, "x", vec![1], "", None, &actor(), t0()).await;
    assert!(matches!(refused, Err(EngineError::NotManual { .. })), "{refused:?}");
    let unknown =
        engine.add_manual_evidence("NOPE-1", "x", vec![1], "", None, &actor(), t0()).await;
    assert!(matches!(unknown, Err(EngineError::UnknownControl { .. })), "{unknown:?}");
    assert_eq!(
        engine.store().manual_evidence_of(&policy).await.unwrap().len(),
        1,
        "refusals store nothing"
    );
    db
}

async fn an_approved_exception_covers_a_failing_control_until_it_expires(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    collect_everything(&engine, t0()).await;
    let refresh = engine.refresh(t0()).await.unwrap();
    let failing = refresh
        .assessments
        .iter()
        .find(|a| a.state == ControlState::Failing)
        .unwrap()
        .control_id
        .clone();

    let request = engine.store().request_exception(exception_for(&failing)).await.unwrap();
    assert_eq!(
        engine.refresh(t0()).await.unwrap().state_of(&failing),
        Some(ControlState::Failing),
        "a request alone changes nothing"
    );

    engine
        .store()
        .decide_exception(request.seq, ExceptionDecision::Approved, "slack:UBOSS", t0(), "")
        .await
        .unwrap();
    let approved = engine.refresh(t0() + TimeDelta::hours(1)).await.unwrap();
    assert_eq!(approved.state_of(&failing), Some(ControlState::Excepted));

    engine
        .store()
        .decide_exception(
            request.seq,
            ExceptionDecision::Revoked,
            "slack:UBOSS",
            t0(),
            "fixed differently",
        )
        .await
        .unwrap();
    assert_eq!(
        engine.refresh(t0() + TimeDelta::hours(2)).await.unwrap().state_of(&failing),
        Some(ControlState::Failing)
    );

    let second = engine.store().request_exception(exception_for(&failing)).await.unwrap();
    engine
        .store()
        .decide_exception(second.seq, ExceptionDecision::Approved, "slack:UBOSS", t0(), "")
        .await
        .unwrap();
    // Re-collect so the failure is fresh when the exception runs out after 30 days.
    let expired_at = t0() + TimeDelta::days(31);
    collect_everything(&engine, expired_at).await;
    assert_eq!(
        engine.refresh(expired_at).await.unwrap().state_of(&failing),
        Some(ControlState::Failing)
    );
    db
}

async fn out_of_scope_controls_are_not_applicable(db: TestDb) -> TestDb {
    let mut config = Config::default();
    let physical = "PHY-01".to_owned();
    config
        .scope
        .exclude
        .push(Exclusion { control: physical.to_lowercase(), reason: "fully remote".into() });
    let engine = engine_with(&db, &config).await;
    let refresh = engine.refresh(t0()).await.unwrap();
    assert_eq!(refresh.state_of(&physical), Some(ControlState::NotApplicable));

    config.scope.exclude[0].control = "PHY-1".into();
    let error = Engine::new(db.store().await, &config)
        .err()
        .expect("an unknown control in scope is refused");
    assert!(error.to_string().contains("did you mean PHY-01?"), "{error}");
    db
}

async fn migrations_apply_in_order_onto_a_database_holding_data(db: TestDb) -> TestDb {
    // Stop after the first migration, store evidence, then let the store bring the schema up to
    // date: the old data must survive and the chain must still verify.
    let pool = sqlx::AnyPool::connect(db.url.expose()).await.unwrap();
    let migrator = match db.backend() {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    assert!(migrator.iter().count() >= 2, "this story needs at least two migrations");
    let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    let mut sorted = versions.clone();
    sorted.sort();
    assert_eq!(versions, sorted, "migrations are numbered in order");
    migrator.run_to(versions[0], &pool).await.unwrap();
    pool.close().await;

    let old = Store::connect(&db.url).await.unwrap();
    old.append_evidence(evidence("github", 1)).await.unwrap();
    old.close().await;

    let store = db.store().await;
    let status = store.migration_status().await.unwrap();
    assert!(status.iter().all(|(_, _, applied)| *applied), "{status:?}");
    assert_eq!(store.latest_evidence().await.unwrap()[0].seq, 1);
    store
        .audit(AuditEntry {
            at: t0(),
            actor: "cli:alice".into(),
            origin: "cli@test".into(),
            action: "evidence.add".into(),
            target: "GOV-01".into(),
            detail: json!({}),
        })
        .await
        .unwrap();
    assert!(store.verify().await.unwrap().intact());
    store.migrate().await.expect("migrating twice is harmless");
    store.close().await;
    db
}

async fn concurrent_writers_keep_one_unbroken_chain(db: TestDb) -> TestDb {
    let store = Arc::new(db.store().await);
    let mut writers = Vec::new();
    for writer in 0..6 {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            for n in 0..10 {
                store.append_evidence(evidence(&format!("source-{writer}"), n)).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let report = store.verify().await.unwrap();
    assert!(report.intact(), "{report:#?}");
    assert_eq!(report.chains.iter().find(|c| c.chain == "evidence").unwrap().records, 60);
    store.close().await;
    db
}

async fn a_collection_run_is_logged_with_its_api_calls(db: TestDb) -> TestDb {
    let engine = engine(&db).await;
    let snapshot = sandbox::generated_org(300, t0());
    let okta = Collection {
        source: snapshot.okta.clone(),
        api_calls: 42,
        started_at: t0() - TimeDelta::seconds(5),
        finished_at: t0(),
    };
    let report = engine.ingest_collection(okta).await.unwrap();
    assert_eq!(
        (report.run.integration.as_str(), report.run.outcome.as_str(), report.run.api_calls),
        ("okta", "collected", 42)
    );
    assert!(report.findings > 0);

    let failed = Collection::<kushim::integrations::okta::OktaSnapshot> {
        source: Source::Failed {
            reason: "okta rejected the credentials (E0000011)".into(),
            observed_at: t0(),
        },
        api_calls: 1,
        started_at: t0(),
        finished_at: t0() + TimeDelta::seconds(1),
    };
    engine.ingest_collection(failed).await.unwrap();
    let runs = engine.store().collection_runs(10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0].outcome.as_str(), runs[0].detail.as_str()),
        ("failed", "okta rejected the credentials (E0000011)")
    );
    assert!(engine.store().verify().await.unwrap().intact());

    db.sql("UPDATE collection_runs SET api_calls = 1 WHERE seq = 1").await;
    assert_broken(engine.store(), "collection_runs", 1, "edited").await;
    db
}

fn pending_ticket(control: &str, key: &str, at: DateTime<Utc>) -> NewTicket {
    NewTicket {
        idempotency_key: key.into(),
        control_id: control.into(),
        failing_digest: "digest".into(),
        opened_by: "alice".into(),
        replaces_key: None,
        now: at,
        claim_until: at + TimeDelta::minutes(2),
    }
}

async fn a_control_has_one_current_ticket_however_many_callers_race(db: TestDb) -> TestDb {
    let store = Arc::new(db.store().await);
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.begin_ticket(pending_ticket("AC-02", &format!("key{i}"), t0())).await
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for racer in racers {
        if let TicketClaim::Claimed(link) = racer.await.unwrap().unwrap() {
            claimed.push(link.idempotency_key);
        }
    }
    assert_eq!(claimed.len(), 1, "exactly one caller creates the ticket: {claimed:?}");

    // Linked, it is what every later caller gets; another control is independent.
    let linked = store.link_ticket(&claimed[0], "SEC-1", "To Do", "new", None, t0()).await.unwrap();
    assert_eq!((linked.phase, linked.issue_key.as_deref()), (TicketPhase::Linked, Some("SEC-1")));
    let later = store.begin_ticket(pending_ticket("AC-02", "late", t0())).await.unwrap();
    assert!(
        matches!(later, TicketClaim::Existing(ref l) if l.issue_key.as_deref() == Some("SEC-1"))
    );
    assert!(matches!(
        store.begin_ticket(pending_ticket("AC-03", "other", t0())).await.unwrap(),
        TicketClaim::Claimed(_)
    ));

    // Retired (replaced by a linked new ticket), the control may have a new current one.
    store.retire_ticket(&claimed[0], t0()).await.unwrap();
    assert!(matches!(
        store.begin_ticket(pending_ticket("AC-02", "second", t0())).await.unwrap(),
        TicketClaim::Claimed(_)
    ));
    assert_eq!(
        store.ticket_by_issue_key("SEC-1").await.unwrap().map(|l| l.is_current),
        Some(false)
    );
    db
}

async fn a_pending_ticket_is_reclaimed_by_one_caller_once_its_claim_runs_out(db: TestDb) -> TestDb {
    let store = db.store().await;
    store.begin_ticket(pending_ticket("AC-02", "crashed", t0())).await.unwrap();
    let soon = t0() + TimeDelta::minutes(1);
    assert!(
        !store.reclaim_pending_ticket("crashed", soon, soon + TimeDelta::minutes(2)).await.unwrap()
    );
    let later = t0() + TimeDelta::minutes(3);
    let until = later + TimeDelta::minutes(2);
    assert!(store.reclaim_pending_ticket("crashed", later, until).await.unwrap());
    assert!(!store.reclaim_pending_ticket("crashed", later, until).await.unwrap(), "only once");

    // A refused create frees the control; a released claim can be taken at once.
    store.release_ticket_claim("crashed", later).await.unwrap();
    assert!(store.reclaim_pending_ticket("crashed", later, until).await.unwrap());
    store.abandon_pending_ticket("crashed").await.unwrap();
    assert!(store.current_ticket("AC-02").await.unwrap().is_none());
    db
}

async fn ticket_events_are_chained_and_an_edit_is_detected(db: TestDb) -> TestDb {
    let store = db.store().await;
    for (i, kind) in ["created", "commented", "closed"].into_iter().enumerate() {
        store
            .record_ticket_event(NewTicketEvent {
                control_id: "AC-02".into(),
                issue_key: "SEC-1".into(),
                kind: kind.into(),
                at: t0() + TimeDelta::hours(i as i64),
                actor: "kushim".into(),
                detail: json!({"detail": kind}),
            })
            .await
            .unwrap();
    }
    let kinds: Vec<String> =
        store.ticket_events_of("AC-02").await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["created", "commented", "closed"]);
    assert!(store.verify().await.unwrap().intact());
    db.sql("UPDATE ticket_events SET kind = 'reopened' WHERE seq = 3").await;
    assert_broken(&store, "ticket_events", 3, "edited").await;
    db
}

/// Two approvers press Approve and Reject at the same moment: one decision is recorded, the
/// other is told who decided first.
async fn two_approvers_clicking_at_once_record_one_decision(db: TestDb) -> TestDb {
    let store = db.store().await;
    let now = Utc::now();
    let request = store
        .request_exception(NewException {
            control_id: "AC-02".into(),
            reason: "vendor fix pending".into(),
            compensating_control: None,
            requested_by: "slack:U1".into(),
            requested_at: now,
            expires_at: now + TimeDelta::days(30),
        })
        .await
        .unwrap();
    let (approve, reject) = tokio::join!(
        store.decide_exception(request.seq, ExceptionDecision::Approved, "slack:UA", now, ""),
        store.decide_exception(request.seq, ExceptionDecision::Rejected, "slack:UB", now, ""),
    );
    let outcomes = [approve.is_ok(), reject.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{approve:?} {reject:?}");
    let refused = approve.err().or(reject.err()).unwrap();
    assert!(refused.to_string().contains("was already"), "{refused}");
    let decided = store.exceptions().await.unwrap();
    assert!(decided[0].decision.is_some());
    assert!(store.verify().await.unwrap().intact());
    store.close().await;
    db
}

async fn a_retried_slack_event_is_seen_once_and_snoozes_expire(db: TestDb) -> TestDb {
    let store = db.store().await;
    let now = Utc::now();
    assert!(store.first_sighting_of_event("Ev1", now).await.unwrap());
    assert!(!store.first_sighting_of_event("Ev1", now).await.unwrap());
    assert!(store.first_sighting_of_event("Ev2", now).await.unwrap());

    let snooze = kushim::store::Snooze {
        control_id: "AC-02".into(),
        until: now + TimeDelta::days(7),
        snoozed_by: "U1".into(),
        snoozed_at: now,
    };
    store.snooze(&snooze).await.unwrap();
    store
        .snooze(&kushim::store::Snooze { snoozed_by: "U2".into(), ..snooze.clone() })
        .await
        .unwrap();
    let active = store.active_snoozes(now).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].snoozed_by, "U2", "the latest snooze wins");
    assert!(store.active_snoozes(now + TimeDelta::days(8)).await.unwrap().is_empty());
    store.close().await;
    db
}

async fn retention_drops_old_payloads_but_keeps_hashes_and_the_newest_of_each_source(
    db: TestDb,
) -> TestDb {
    let store = db.store().await;
    for (source, minute) in [("github", 1), ("aws", 2), ("github", 3), ("github", 4)] {
        store.append_evidence(evidence(source, minute)).await.unwrap();
    }
    let cutoff = t0() + TimeDelta::seconds(3 * 60 + 30);
    let now = t0() + TimeDelta::days(400);

    let report = store.prune_evidence(cutoff, now, "kushim:retention").await.unwrap();

    // Records 1 and 3 (GitHub, older than the cutoff) lose their payloads; record 2 is the
    // newest AWS evidence and record 4 is newer than the cutoff.
    assert_eq!(report.records, 2, "{report:?}");
    assert!(report.bytes > 0, "{report:?}");
    for seq in [1, 3] {
        let error = store.evidence_payload(seq).await.unwrap_err().to_string();
        assert!(error.contains("dropped by evidence retention"), "{error}");
    }
    assert_eq!(store.evidence_payload(2).await.unwrap()["n"], 2);
    assert_eq!(store.evidence_payload(4).await.unwrap()["n"], 4);
    let report = store.verify().await.unwrap();
    assert!(report.intact(), "pruning keeps every chain whole: {report:#?}");
    assert_eq!(report.chains.iter().find(|c| c.chain == "evidence").unwrap().records, 4);

    // Each pruning is in the audit log with its cutoff; running again finds nothing new.
    let again = store.prune_evidence(cutoff, now, "kushim:retention").await.unwrap();
    assert_eq!(again.records, 0);
    let runs: Vec<_> = store
        .audit_log(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| entry.action == kushim::store::PRUNE_ACTION)
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].detail.contains(&format!("\"cutoff\":{}", cutoff.timestamp())), "{runs:?}");
    store.close().await;
    db
}

async fn a_payload_removed_by_hand_is_detected_even_when_marked_pruned(db: TestDb) -> TestDb {
    let store = db.store().await;
    for minute in 1..=4 {
        store.append_evidence(evidence("aws", minute)).await.unwrap();
    }
    // With no retention run at all, a missing payload is somebody's doing.
    db.sql("UPDATE evidence SET payload = '', pruned_at = 0 WHERE seq = 2").await;
    assert_broken(&store, "evidence", 2, "no retention run in the audit log covers it").await;

    // A retention run whose cutoff is after record 2 explains it, but not record 3, collected
    // after the cutoff.
    let cutoff = t0() + TimeDelta::seconds(2 * 60 + 30);
    store.prune_evidence(cutoff, t0() + TimeDelta::days(400), "kushim:retention").await.unwrap();
    assert!(store.verify().await.unwrap().intact());
    db.sql("UPDATE evidence SET payload = '', pruned_at = 0 WHERE seq = 3").await;
    assert_broken(&store, "evidence", 3, "no retention run in the audit log covers it").await;
    store.close().await;
    db
}
