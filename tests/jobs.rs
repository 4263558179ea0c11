//! Stories about the background engine — the job queue, the scheduler, replicas, the outbox,
//! alerts and digests — each run on SQLite and, when `TEST_DATABASE_URL` points at a PostgreSQL
//! server, on PostgreSQL too. Time is a [`ManualClock`]; workers and the outbox are stepped, never
//! waited on with sleeps.

mod support;

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use kushim::{
    collection::Targets,
    config::Config,
    engine::Engine,
    jobs::{
        JobRequest, ManualClock, alerts,
        runner::Runner,
        schedule::{Schedule, Scheduler},
        worker::{Handler, Ran, Worker, WorkerSettings},
    },
    outbox::{Delivery, DeliveryError, Dispatcher, MessageBody, Messenger},
    sandbox,
    store::{
        Backend, Enqueued, Job, JobStatus, MessageStatus, NewJob, NewMessage, NewTransition, Store,
        Subscription,
    },
};
use libtest_mimic::{Arguments, Trial};
use support::TestDb;
use tokio::sync::Notify;

type Story = fn(TestDb) -> Pin<Box<dyn Future<Output = TestDb>>>;

macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), |db| Box::pin($name(db)) as Pin<Box<dyn Future<Output = TestDb>>>)),*]
    };
}

const STORIES: &[(&str, Story)] = stories![
    enqueueing_the_same_key_twice_keeps_one_job,
    a_leased_job_is_not_claimed_twice_until_its_lease_expires,
    a_failing_job_backs_off_then_is_parked_dead_with_its_error,
    a_job_whose_last_attempt_keeps_dying_is_parked_dead,
    a_graceful_stop_gives_the_job_back_without_using_an_attempt,
    three_replicas_run_each_scheduled_occurrence_exactly_once,
    a_replica_killed_mid_job_leaves_the_job_to_another_after_its_lease,
    missed_occurrences_run_once_after_downtime,
    the_outbox_posts_once_and_updates_in_place,
    messages_to_a_channel_go_out_in_order_one_per_second,
    a_rate_limited_channel_rests_for_retry_after_while_others_go_on,
    a_send_interrupted_by_a_crash_is_found_not_posted_again,
    a_refused_message_is_given_up_without_blocking_its_channel,
    channels_subscribe_and_unsubscribe,
    alerts_open_update_in_place_and_damp_flapping,
    the_runner_evaluates_alerts_and_sends_the_digest,
    concurrent_evaluations_record_each_change_once,
    a_429_storm_from_slack_slows_the_outbox_and_everything_arrives_in_order,
    a_slack_post_that_went_through_before_a_crash_is_found_by_its_metadata,
    a_snoozed_control_opens_no_alert_until_the_snooze_ends,
    a_job_that_gives_up_is_reported_to_the_alert_channels,
    the_retention_job_drops_payloads_past_the_window_and_the_ledger_still_verifies,
    an_alert_someone_deleted_in_slack_is_posted_again_when_it_changes,
    a_redrawn_alert_keeps_showing_the_controls_ticket,
];

fn main() {
    let args = Arguments::from_args();
    let postgres = support::postgres_server();
    if postgres.is_none() {
        eprintln!(
            "\n*** PostgreSQL suite NOT RUN: set TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB to run \
             every jobs story on PostgreSQL too. ***\n"
        );
    }
    let mut trials = Vec::new();
    for &(name, story) in STORIES {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let trial = Trial::test(format!("{}::{name}", backend.as_str()), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(4)
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

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T09:00:00Z").unwrap().with_timezone(&Utc)
}

fn job(key: &str) -> NewJob {
    JobRequest::Evaluate.to_job(key.into(), t0())
}

/// A handler that counts runs per job key, fails the keys it is told to, and can hang on a key
/// until the test "kills" its worker (drops the future).
#[derive(Clone, Default)]
struct Recorder {
    runs: Arc<Mutex<HashMap<String, usize>>>,
    failing: Arc<Mutex<Vec<String>>>,
    hang_on: Arc<Mutex<Option<String>>>,
    started: Arc<Notify>,
}

impl Recorder {
    fn runs_of(&self, key: &str) -> usize {
        self.runs.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    fn all_runs(&self) -> HashMap<String, usize> {
        self.runs.lock().unwrap().clone()
    }
}

impl Handler for Recorder {
    type Error = String;

    async fn run(&self, job: &Job, _request: JobRequest) -> Result<(), String> {
        let key = job.idempotency_key.clone();
        *self.runs.lock().unwrap().entry(key.clone()).or_default() += 1;
        let hang = self.hang_on.lock().unwrap().as_deref() == Some(key.as_str());
        if hang {
            self.started.notify_one();
            std::future::pending::<()>().await;
        }
        if self.failing.lock().unwrap().contains(&key) {
            return Err(format!("GitHub answered 502 for {key}"));
        }
        Ok(())
    }
}

fn worker(store: &Store, name: &str, handler: Recorder, clock: &ManualClock) -> Worker<Recorder> {
    let settings = WorkerSettings { lease: TimeDelta::seconds(60), ..WorkerSettings::default() };
    Worker::new(store.clone(), name, handler, clock.clock(), settings)
}

// ---------------------------------------------------------------------------------------------

async fn enqueueing_the_same_key_twice_keeps_one_job(db: TestDb) -> TestDb {
    let store = db.store().await;
    let (first, created) = store.enqueue_job(&job("schedule:evaluate:1"), t0()).await.unwrap();
    assert!(created);
    assert_eq!((first.status, first.attempts), (JobStatus::Queued, 0));
    let (second, created) = store.enqueue_job(&job("schedule:evaluate:1"), t0()).await.unwrap();
    assert!(!created, "the second enqueue is a no-op");
    assert_eq!(second.id, first.id);
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 1);
    db
}

async fn a_leased_job_is_not_claimed_twice_until_its_lease_expires(db: TestDb) -> TestDb {
    let store = db.store().await;
    store.enqueue_job(&job("k"), t0()).await.unwrap();
    let lease = TimeDelta::seconds(60);
    let claimed = store.claim_next_job("a", t0(), lease).await.unwrap().expect("a due job");
    assert_eq!((claimed.status, claimed.attempts), (JobStatus::Running, 1));
    assert_eq!(claimed.lease_owner.as_deref(), Some("a"));
    assert!(
        store.claim_next_job("b", t0() + TimeDelta::seconds(59), lease).await.unwrap().is_none()
    );

    assert!(store.renew_job_lease(claimed.id, "a", t0() + TimeDelta::seconds(120)).await.unwrap());
    assert!(
        store.claim_next_job("b", t0() + TimeDelta::seconds(90), lease).await.unwrap().is_none()
    );

    let taken =
        store.claim_next_job("b", t0() + TimeDelta::seconds(120), lease).await.unwrap().unwrap();
    assert_eq!(
        (taken.id, taken.attempts, taken.lease_owner.as_deref()),
        (claimed.id, 2, Some("b"))
    );
    assert!(!store.complete_job(claimed.id, "a", t0()).await.unwrap(), "a's lease is gone");
    assert!(!store.renew_job_lease(claimed.id, "a", t0()).await.unwrap());
    assert!(store.complete_job(taken.id, "b", t0() + TimeDelta::seconds(121)).await.unwrap());
    assert_eq!(store.job(taken.id).await.unwrap().unwrap().status, JobStatus::Done);
    db
}

async fn a_failing_job_backs_off_then_is_parked_dead_with_its_error(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let handler = Recorder::default();
    handler.failing.lock().unwrap().push("flaky".into());
    let worker = worker(&store, "w", handler.clone(), &clock);
    store.enqueue_job(&job("flaky"), t0()).await.unwrap();

    let mut retries = Vec::new();
    loop {
        match worker.run_once().await.unwrap() {
            Some(Ran::Retry { at, error, .. }) => {
                assert_eq!(error, "GitHub answered 502 for flaky");
                retries.push(at - clock.now());
                assert!(worker.run_once().await.unwrap().is_none(), "not due before its backoff");
                clock.set(at);
            }
            Some(Ran::Dead { job, error }) => {
                assert_eq!(job.attempts, 3, "evaluate jobs get three attempts");
                assert_eq!(error, "GitHub answered 502 for flaky");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(retries.len(), 2);
    assert!((15..=30).contains(&retries[0].num_seconds()), "{retries:?}");
    assert!((30..=60).contains(&retries[1].num_seconds()), "{retries:?}");
    let dead = store.jobs(Some(JobStatus::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("GitHub answered 502 for flaky"));
    assert!(worker.run_once().await.unwrap().is_none(), "a dead job is not run again");
    db
}

async fn a_job_whose_last_attempt_keeps_dying_is_parked_dead(db: TestDb) -> TestDb {
    let store = db.store().await;
    let mut new = job("crashes-its-worker");
    new.max_attempts = 2;
    let (job, _) = store.enqueue_job(&new, t0()).await.unwrap();
    let lease = TimeDelta::seconds(60);
    let mut now = t0();
    for _ in 0..2 {
        assert!(store.claim_next_job("w", now, lease).await.unwrap().is_some());
        now += TimeDelta::seconds(61); // the worker died: the lease runs out
    }
    assert!(store.claim_next_job("w", now, lease).await.unwrap().is_none());
    let parked = store.job(job.id).await.unwrap().unwrap();
    assert_eq!(parked.status, JobStatus::Dead);
    assert!(parked.last_error.unwrap().contains("lease expired"));
    db
}

async fn a_graceful_stop_gives_the_job_back_without_using_an_attempt(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let handler = Recorder::default();
    *handler.hang_on.lock().unwrap() = Some("long".into());
    let settings = WorkerSettings {
        lease: TimeDelta::seconds(60),
        grace: Duration::from_millis(50),
        ..WorkerSettings::default()
    };
    let worker = Worker::new(store.clone(), "w", handler.clone(), clock.clock(), settings);
    let (job, _) = store.enqueue_job(&job("long"), t0()).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { worker.run(stopped).await });
    handler.started.notified().await;
    stop.send(true).unwrap();
    running.await.unwrap();
    let released = store.job(job.id).await.unwrap().unwrap();
    assert_eq!((released.status, released.attempts), (JobStatus::Queued, 0));
    assert_eq!(released.lease_owner, None);
    let next = store.claim_next_job("other", t0(), TimeDelta::seconds(60)).await.unwrap();
    assert_eq!(next.map(|j| j.id), Some(job.id), "another replica starts it at once");
    db
}

struct Replica {
    scheduler: Scheduler,
    worker: Worker<Recorder>,
    clock: ManualClock,
    skew: TimeDelta,
    store: Store,
}

fn minutely() -> Vec<Schedule> {
    vec![
        Schedule::parse("every-minute", "0 * * * * *", "UTC", JobRequest::Evaluate).unwrap(),
        Schedule::parse("every-5-minutes", "30 */5 * * * *", "Europe/Berlin", JobRequest::Digest)
            .unwrap(),
    ]
}

async fn replicas(db: &TestDb, handler: &Recorder) -> Vec<Replica> {
    let mut replicas = Vec::new();
    for (n, skew) in [0, 3, -2].into_iter().enumerate() {
        // Each replica has its own pool, as separate processes would.
        let store = db.store().await;
        let clock = ManualClock::new(t0());
        replicas.push(Replica {
            scheduler: Scheduler::new(store.clone(), minutely()),
            worker: worker(&store, &format!("replica-{n}"), handler.clone(), &clock),
            clock,
            skew: TimeDelta::seconds(skew),
            store,
        });
    }
    replicas
}

async fn three_replicas_run_each_scheduled_occurrence_exactly_once(db: TestDb) -> TestDb {
    let handler = Recorder::default();
    let replicas = replicas(&db, &handler).await;
    let tick = TimeDelta::seconds(20);
    for n in 0..100 {
        let base = t0() + tick * n;
        let steps = replicas.iter().map(|r| async move {
            let now = base + r.skew;
            r.clock.set(now);
            r.scheduler.tick(now).await.unwrap();
            while r.worker.run_once().await.unwrap().is_some() {}
        });
        futures_util::future::join_all(steps).await;
    }
    // Drain: a replica may have enqueued after the others' last worker step.
    for r in &replicas {
        while r.worker.run_once().await.unwrap().is_some() {}
    }
    let jobs = replicas[0].store.jobs(None, 1000).await.unwrap();
    let runs = handler.all_runs();
    assert!(jobs.iter().all(|j| j.status == JobStatus::Done), "{jobs:#?}");
    assert_eq!(runs.len(), jobs.len());
    assert!(runs.values().all(|&count| count == 1), "a job ran twice: {runs:?}");

    // 100 ticks of 20 s from 09:00:00 (skews of -2 s..+3 s): every minute from 09:01 to 09:33,
    // every five minutes at :30 from 09:00:30 to 09:30:30, none missing, none twice.
    let mut minutes: Vec<i64> = jobs
        .iter()
        .filter_map(|j| j.idempotency_key.strip_prefix("schedule:every-minute:"))
        .map(|t| t.parse().unwrap())
        .collect();
    minutes.sort();
    let expected: Vec<i64> = (1..=33).map(|m| (t0() + TimeDelta::minutes(m)).timestamp()).collect();
    assert_eq!(minutes, expected);
    let fives = jobs.iter().filter(|j| j.idempotency_key.starts_with("schedule:every-5-minutes:"));
    assert_eq!(fives.count(), 7);
    for r in replicas {
        r.store.close().await;
    }
    db
}

async fn a_replica_killed_mid_job_leaves_the_job_to_another_after_its_lease(db: TestDb) -> TestDb {
    let handler = Recorder::default();
    let doomed = handler.clone();
    let replicas = replicas(&db, &handler).await;
    let store = &replicas[0].store;
    let (job, _) = store.enqueue_job(&job("collect-github"), t0()).await.unwrap();
    *doomed.hang_on.lock().unwrap() = Some("collect-github".into());

    // Replica 0 starts the job and is killed mid-way (its future dropped: no completion, no
    // release, no more renewals).
    tokio::select! {
        _ = replicas[0].worker.run_once() => panic!("the job was meant to hang"),
        _ = doomed.started.notified() => {}
    }
    *doomed.hang_on.lock().unwrap() = None;
    assert!(replicas[1].worker.run_once().await.unwrap().is_none(), "still leased to replica 0");

    replicas[1].clock.advance(TimeDelta::seconds(61));
    match replicas[1].worker.run_once().await.unwrap() {
        Some(Ran::Done(done)) => assert_eq!((done.id, done.attempts), (job.id, 2)),
        other => panic!("expected replica 1 to finish the job, got {other:?}"),
    }
    assert_eq!(handler.runs_of("collect-github"), 2, "started twice, finished once");
    assert_eq!(store.job(job.id).await.unwrap().unwrap().status, JobStatus::Done);
    db
}

async fn missed_occurrences_run_once_after_downtime(db: TestDb) -> TestDb {
    let store = db.store().await;
    let daily =
        Schedule::parse("digest", "0 0 9 * * *", "Europe/Berlin", JobRequest::Digest).unwrap();
    let scheduler = Scheduler::new(store.clone(), vec![daily]);
    let start = t0() - TimeDelta::hours(2); // 07:00 UTC, before the 08:00 UTC digest
    assert!(scheduler.tick(start).await.unwrap().is_empty(), "first sight starts from now");
    let created = scheduler.tick(start + TimeDelta::hours(1)).await.unwrap();
    assert_eq!(created.len(), 1, "today's 09:00 Berlin digest");

    // Everything is down for three days and comes back at noon on the fourth.
    let back = start + TimeDelta::days(3) + TimeDelta::hours(5);
    let created = scheduler.tick(back).await.unwrap();
    assert_eq!(created.len(), 1, "three missed digests run once, not three times");
    assert_eq!(created[0].run_at, (t0() - TimeDelta::hours(1)) + TimeDelta::days(3));
    assert!(scheduler.tick(back + TimeDelta::minutes(1)).await.unwrap().is_empty());
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 2);
    db
}

// --- the outbox -------------------------------------------------------------------------------

/// A chat platform double: records posts and edits, answers with scripted errors, and can die
/// right after a post went through (before the outbox hears of it).
#[derive(Clone, Default)]
struct Chat {
    state: Arc<Mutex<ChatState>>,
    posted: Arc<Notify>,
}

#[derive(Default)]
struct ChatState {
    messages: Vec<Posted>,
    /// Errors to answer, per channel, in order.
    script: HashMap<String, VecDeque<DeliveryError>>,
    hang_after_post: bool,
    calls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Posted {
    channel: String,
    id: String,
    text: String,
    dedupe: String,
    edits: usize,
}

impl Chat {
    fn script(&self, channel: &str, errors: impl IntoIterator<Item = DeliveryError>) {
        self.state.lock().unwrap().script.entry(channel.into()).or_default().extend(errors);
    }

    fn messages(&self) -> Vec<Posted> {
        self.state.lock().unwrap().messages.clone()
    }

    fn scripted(&self, channel: &str, call: String) -> Result<(), DeliveryError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(call);
        match state.script.get_mut(channel).and_then(VecDeque::pop_front) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Messenger for Chat {
    async fn post(
        &self,
        channel: &str,
        body: &MessageBody,
        dedupe_key: &str,
    ) -> Result<String, DeliveryError> {
        self.scripted(channel, format!("post {channel}"))?;
        let hang = {
            let mut state = self.state.lock().unwrap();
            let id = format!("1764061200.{:06}", state.messages.len() + 1);
            state.messages.push(Posted {
                channel: channel.into(),
                id,
                text: body.text.clone(),
                dedupe: dedupe_key.into(),
                edits: 0,
            });
            state.hang_after_post
        };
        if hang {
            self.posted.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(self.state.lock().unwrap().messages.last().unwrap().id.clone())
    }

    async fn update(
        &self,
        channel: &str,
        id: &str,
        body: &MessageBody,
    ) -> Result<(), DeliveryError> {
        self.scripted(channel, format!("update {channel}"))?;
        let mut state = self.state.lock().unwrap();
        let message = state.messages.iter_mut().find(|m| m.id == id).expect("an existing message");
        message.text = body.text.clone();
        message.edits += 1;
        Ok(())
    }

    async fn find_posted(
        &self,
        channel: &str,
        dedupe_key: &str,
    ) -> Result<Option<String>, DeliveryError> {
        self.scripted(channel, format!("find {channel}"))?;
        let state = self.state.lock().unwrap();
        Ok(state
            .messages
            .iter()
            .find(|m| m.channel == channel && m.dedupe == dedupe_key)
            .map(|m| m.id.clone()))
    }
}

fn text_message(channel: &str, key: &str, text: &str) -> NewMessage {
    let reply = kushim::chat::reply::Reply::sentence(text.into());
    NewMessage {
        channel: channel.into(),
        kind: "alert".into(),
        key: key.into(),
        body: MessageBody::from_reply(&reply).to_json(),
        new_message_if_older_than: None,
    }
}

async fn the_outbox_posts_once_and_updates_in_place(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let chat = Chat::default();
    let outbox = Dispatcher::new(store.clone(), chat.clone(), "outbox", clock.clock());

    let alert = text_message("C1", "AC-02", "AC-02 is failing");
    assert_eq!(store.enqueue_message(&alert, t0()).await.unwrap(), Enqueued::Created);
    assert_eq!(store.enqueue_message(&alert, t0()).await.unwrap(), Enqueued::Unchanged);
    let sent = outbox.deliver_due().await.unwrap();
    assert!(matches!(&sent[..], [Delivery::Posted { .. }]), "{sent:?}");
    assert!(outbox.deliver_due().await.unwrap().is_empty(), "nothing twice");
    assert_eq!(store.enqueue_message(&alert, t0()).await.unwrap(), Enqueued::Unchanged);

    clock.advance(TimeDelta::minutes(5));
    let fixed = text_message("C1", "AC-02", "AC-02 is passing again");
    assert_eq!(store.enqueue_message(&fixed, clock.now()).await.unwrap(), Enqueued::Changed);
    let sent = outbox.deliver_due().await.unwrap();
    assert!(matches!(&sent[..], [Delivery::Updated { .. }]), "{sent:?}");
    let messages = chat.messages();
    assert_eq!(messages.len(), 1, "one message, edited in place");
    assert_eq!((messages[0].text.as_str(), messages[0].edits), ("AC-02 is passing again", 1));
    let row = &store.outbox_messages(Some("C1")).await.unwrap()[0];
    assert_eq!((row.status, row.version, row.delivered_version), (MessageStatus::Delivered, 2, 2));
    assert_eq!(row.message_id.as_deref(), Some(messages[0].id.as_str()));
    db
}

async fn messages_to_a_channel_go_out_in_order_one_per_second(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let chat = Chat::default();
    let outbox = Dispatcher::new(store.clone(), chat.clone(), "outbox", clock.clock());
    for n in 0..5 {
        store
            .enqueue_message(&text_message("C1", &format!("m{n}"), &format!("one-{n}")), t0())
            .await
            .unwrap();
        store
            .enqueue_message(&text_message("C2", &format!("m{n}"), &format!("two-{n}")), t0())
            .await
            .unwrap();
    }
    let mut steps = 0;
    while store.undelivered_messages().await.unwrap() > 0 {
        let sent = outbox.deliver_due().await.unwrap();
        assert!(sent.len() <= 2, "at most one per channel per second: {sent:?}");
        clock.advance(TimeDelta::seconds(1));
        steps += 1;
    }
    assert_eq!(steps, 5, "five messages per channel take five seconds");
    let texts = |channel: &str| -> Vec<String> {
        chat.messages().into_iter().filter(|m| m.channel == channel).map(|m| m.text).collect()
    };
    assert_eq!(texts("C1"), ["one-0", "one-1", "one-2", "one-3", "one-4"]);
    assert_eq!(texts("C2"), ["two-0", "two-1", "two-2", "two-3", "two-4"]);
    db
}

async fn a_rate_limited_channel_rests_for_retry_after_while_others_go_on(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let chat = Chat::default();
    let outbox = Dispatcher::new(store.clone(), chat.clone(), "outbox", clock.clock());
    chat.script("C1", [DeliveryError::RateLimited { retry_after: Duration::from_secs(30) }]);
    store.enqueue_message(&text_message("C1", "a", "first"), t0()).await.unwrap();
    store.enqueue_message(&text_message("C1", "b", "second"), t0()).await.unwrap();
    store.enqueue_message(&text_message("C2", "a", "elsewhere"), t0()).await.unwrap();

    let sent = outbox.deliver_due().await.unwrap();
    assert!(
        matches!(&sent[..], [Delivery::Deferred { channel, until, .. }, Delivery::Posted { .. }]
            if channel == "C1" && *until == t0() + TimeDelta::seconds(30)),
        "{sent:?}"
    );
    for _ in 0..29 {
        clock.advance(TimeDelta::seconds(1));
        assert!(outbox.deliver_due().await.unwrap().is_empty(), "C1 rests for Retry-After");
    }
    clock.advance(TimeDelta::seconds(1));
    outbox.deliver_due().await.unwrap();
    clock.advance(TimeDelta::seconds(1));
    outbox.deliver_due().await.unwrap();
    let c1: Vec<String> =
        chat.messages().into_iter().filter(|m| m.channel == "C1").map(|m| m.text).collect();
    assert_eq!(c1, ["first", "second"], "delivered, in order, once");
    db
}

async fn a_send_interrupted_by_a_crash_is_found_not_posted_again(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let chat = Chat::default();
    store.enqueue_message(&text_message("C1", "AC-02", "AC-02 is failing"), t0()).await.unwrap();
    chat.state.lock().unwrap().hang_after_post = true;
    {
        let doomed = Dispatcher::new(store.clone(), chat.clone(), "replica-a", clock.clock());
        tokio::select! {
            _ = doomed.deliver_due() => panic!("the send was meant to hang"),
            _ = chat.posted.notified() => {} // posted; the process dies before recording it
        }
    }
    chat.state.lock().unwrap().hang_after_post = false;
    assert_eq!(store.outbox_messages(None).await.unwrap()[0].status, MessageStatus::Sending);

    let survivor = Dispatcher::new(store.clone(), chat.clone(), "replica-b", clock.clock());
    assert!(survivor.deliver_due().await.unwrap().is_empty(), "leased to the dead sender");
    clock.advance(TimeDelta::seconds(61));
    let sent = survivor.deliver_due().await.unwrap();
    assert!(matches!(&sent[..], [Delivery::Recovered { .. }]), "{sent:?}");
    assert_eq!(chat.messages().len(), 1, "never posted twice");
    assert_eq!(store.outbox_messages(None).await.unwrap()[0].status, MessageStatus::Delivered);
    db
}

async fn a_refused_message_is_given_up_without_blocking_its_channel(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let chat = Chat::default();
    let outbox = Dispatcher::new(store.clone(), chat.clone(), "outbox", clock.clock());
    chat.script(
        "C1",
        [
            DeliveryError::Failed("502 Bad Gateway".into()),
            DeliveryError::Rejected("channel_not_found".into()),
        ],
    );
    store.enqueue_message(&text_message("C1", "a", "first"), t0()).await.unwrap();
    store.enqueue_message(&text_message("C1", "b", "second"), t0()).await.unwrap();
    let sent = outbox.deliver_due().await.unwrap();
    let Delivery::Deferred { until, .. } = &sent[0] else { panic!("{sent:?}") };
    clock.set(*until);
    let sent = outbox.deliver_due().await.unwrap();
    assert!(
        matches!(&sent[..], [Delivery::GaveUp { error, .. }] if error == "refused: channel_not_found"),
        "{sent:?}"
    );
    clock.advance(TimeDelta::seconds(1));
    outbox.deliver_due().await.unwrap();
    let rows = store.outbox_messages(Some("C1")).await.unwrap();
    assert_eq!(rows[0].status, MessageStatus::Failed);
    assert_eq!(rows[0].last_error.as_deref(), Some("refused: channel_not_found"));
    assert_eq!(rows[1].status, MessageStatus::Delivered);
    db
}

async fn channels_subscribe_and_unsubscribe(db: TestDb) -> TestDb {
    let store = db.store().await;
    assert!(store.subscribe("C-SEC", Subscription::Alerts, t0()).await.unwrap());
    assert!(!store.subscribe("C-SEC", Subscription::Alerts, t0()).await.unwrap(), "already");
    store.subscribe("C-ALL", Subscription::Digest, t0()).await.unwrap();
    store.subscribe("C-SEC", Subscription::Digest, t0() + TimeDelta::seconds(1)).await.unwrap();
    assert_eq!(store.subscribers(Subscription::Alerts).await.unwrap(), ["C-SEC"]);
    assert_eq!(store.subscribers(Subscription::Digest).await.unwrap(), ["C-ALL", "C-SEC"]);
    assert!(store.unsubscribe("C-SEC", Subscription::Digest).await.unwrap());
    assert!(!store.unsubscribe("C-SEC", Subscription::Digest).await.unwrap());
    assert_eq!(store.subscribers(Subscription::Digest).await.unwrap(), ["C-ALL"]);
    db
}

// --- alerts and digests -----------------------------------------------------------------------

async fn alerts_open_update_in_place_and_damp_flapping(db: TestDb) -> TestDb {
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let store = engine.store().clone();
    let clock = ManualClock::new(t0());
    let chat = Chat::default();
    let outbox = Dispatcher::new(store.clone(), chat.clone(), "outbox", clock.clock());
    store.subscribe("C-SEC", Subscription::Alerts, t0()).await.unwrap();
    let window = TimeDelta::hours(1);

    let change = |from: Option<&str>, to: &str, at: DateTime<Utc>| NewTransition {
        control_id: "AC-02".into(),
        from_state: from.map(str::to_owned),
        to_state: to.into(),
        at,
        reason: format!("now {to}"),
    };
    let step = |from: Option<&'static str>, to: &'static str| {
        let store = store.clone();
        let engine = engine.clone();
        let clock = clock.clone();
        async move {
            let now = clock.advance(TimeDelta::minutes(10));
            let recorded = store.record_transitions(&[change(from, to, now)]).await.unwrap();
            alerts::queue_alerts(&store, engine.catalog(), &recorded, window, now).await.unwrap()
        }
    };
    assert_eq!(step(None, "passing").await, 0, "a first assessment alerts nobody");
    assert_eq!(step(Some("passing"), "failing").await, 1);
    outbox.deliver_due().await.unwrap();
    assert_eq!(step(Some("failing"), "errored").await, 1);
    outbox.deliver_due().await.unwrap();
    assert_eq!(step(Some("errored"), "passing").await, 1);
    outbox.deliver_due().await.unwrap();
    let messages = chat.messages();
    assert_eq!(messages.len(), 1, "one alert for the whole incident: {messages:?}");
    assert_eq!(messages[0].edits, 2);
    assert!(messages[0].text.ends_with("passing"), "{}", messages[0].text);

    // Failing again ten minutes after the fix: flapping, so the same message is edited.
    step(Some("passing"), "failing").await;
    outbox.deliver_due().await.unwrap();
    assert_eq!(chat.messages().len(), 1, "damped");
    assert!(chat.messages()[0].text.ends_with("failing"));

    // A new incident a day later gets a message of its own; the old one keeps its history.
    clock.advance(TimeDelta::days(1));
    step(Some("failing"), "passing").await;
    outbox.deliver_due().await.unwrap();
    clock.advance(TimeDelta::days(1));
    step(Some("passing"), "stale").await;
    outbox.deliver_due().await.unwrap();
    let messages = chat.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[1].text.ends_with("stale"));
    assert!(messages[0].text.ends_with("passing"));
    db
}

async fn the_runner_evaluates_alerts_and_sends_the_digest(db: TestDb) -> TestDb {
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let store = engine.store().clone();
    let at = sandbox::as_of() + TimeDelta::hours(9);
    let clock = ManualClock::new(at);
    let snapshot = sandbox::generated_org(300, at);
    for integration in kushim::integrations::Integration::ALL {
        engine.ingest(integration, &snapshot, at).await.unwrap();
    }
    store.subscribe("C-SEC", Subscription::Alerts, at).await.unwrap();
    store.subscribe("C-ALL", Subscription::Digest, at).await.unwrap();
    let runner = Runner::new(
        engine.clone(),
        Targets::default(),
        clock.clock(),
        chrono_tz::Europe::Berlin,
        TimeDelta::hours(1),
    );
    let worker = Worker::new(store.clone(), "w", runner, clock.clock(), WorkerSettings::default());

    // Three days without collection: automated controls go stale, and the alerts say so.
    clock.advance(TimeDelta::days(3));
    store
        .enqueue_job(
            &JobRequest::Evaluate.to_job("manual:evaluate".into(), clock.now()),
            clock.now(),
        )
        .await
        .unwrap();
    assert!(matches!(worker.run_once().await.unwrap(), Some(Ran::Done(_))));
    let alerts = store.outbox_messages(Some("C-SEC")).await.unwrap();
    assert!(!alerts.is_empty());
    assert!(alerts.iter().all(|m| m.kind == "alert"));
    let plain: Vec<String> =
        alerts.iter().map(|m| MessageBody::from_json(&m.body).unwrap().plain).collect();
    assert!(plain.iter().any(|p| p.contains("Now *stale* (was passing)")), "{plain:#?}");

    store
        .enqueue_job(&JobRequest::Digest.to_job("manual:digest".into(), clock.now()), clock.now())
        .await
        .unwrap();
    assert!(matches!(worker.run_once().await.unwrap(), Some(Ran::Done(_))));
    let digests = store.outbox_messages(Some("C-ALL")).await.unwrap();
    assert_eq!(digests.len(), 1);
    let digest = MessageBody::from_json(&digests[0].body).unwrap();
    assert!(digest.plain.starts_with("SOC 2 daily digest, Wed 04 Jun 2025"), "{}", digest.plain);
    assert!(digest.plain.contains("*Manual evidence due*"), "{}", digest.plain);
    assert!(digest.blocks.as_array().unwrap().len() <= 50);
    db
}

async fn concurrent_evaluations_record_each_change_once(db: TestDb) -> TestDb {
    let at = sandbox::as_of() + TimeDelta::hours(9);
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let snapshot = sandbox::generated_org(300, at);
    for integration in kushim::integrations::Integration::ALL {
        engine.ingest(integration, &snapshot, at).await.unwrap();
    }
    // Four workers (on any replicas) re-evaluate at once, three days later: everything with
    // checks goes stale, and each change is recorded, and alerted, once.
    let later = at + TimeDelta::days(3);
    let mut evaluations = Vec::new();
    for _ in 0..4 {
        let engine = Engine::new(db.store().await, &Config::default()).unwrap();
        evaluations.push(tokio::spawn(async move { engine.refresh(later).await.unwrap() }));
    }
    let mut recorded = Vec::new();
    for evaluation in evaluations {
        recorded.extend(evaluation.await.unwrap().transitions);
    }
    let mut controls: Vec<&str> = recorded.iter().map(|t| t.control_id.as_str()).collect();
    let changes = controls.len();
    controls.sort();
    controls.dedup();
    assert_eq!(changes, controls.len(), "a change recorded twice: {recorded:#?}");
    assert!(changes > 10);
    assert!(engine.store().verify().await.unwrap().intact());
    db
}

// --- the outbox against the fake Slack, through the real Web API client --------------------

async fn slack() -> (kushim::sandbox::slack::FakeSlack, kushim::chat::slack::SlackWebApi) {
    let fake = kushim::sandbox::slack::start().await.expect("the fake Slack starts");
    let token = kushim::config::Secret::new(kushim::sandbox::slack::server::BOT_TOKEN);
    let api = kushim::chat::slack::SlackWebApi::new(&fake.api_url(), &token).expect("a client");
    (fake, api)
}

async fn a_429_storm_from_slack_slows_the_outbox_and_everything_arrives_in_order(
    db: TestDb,
) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let (fake, api) = slack().await;
    let outbox = Dispatcher::new(store.clone(), api, "outbox", clock.clock());
    let channels = ["C0ALERTS", "C0DIGEST", "C0SECURITY"];
    for n in 0..5 {
        for channel in channels {
            let message =
                text_message(channel, &format!("m{n}"), &format!("{channel} message {n}"));
            store.enqueue_message(&message, t0()).await.unwrap();
        }
    }
    // The storm: Slack answers the next six posts with 429 and Retry-After: 2.
    fake.rate_limit("chat.postMessage", 2, 6);

    let mut seconds = 0;
    while store.undelivered_messages().await.unwrap() > 0 {
        for delivery in outbox.deliver_due().await.unwrap() {
            assert!(
                matches!(delivery, Delivery::Posted { .. } | Delivery::Deferred { .. }),
                "{delivery:?}"
            );
        }
        clock.advance(TimeDelta::seconds(1));
        seconds += 1;
        assert!(seconds < 60, "the outbox never finished");
    }
    for channel in channels {
        let texts: Vec<String> = fake
            .messages_in(channel)
            .iter()
            .map(|m| m.body["text"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = (0..5).map(|n| format!("{channel} message {n}")).collect();
        assert_eq!(texts, expected, "everything, once, in order");
    }
    let attempts =
        fake.recorder.requests().iter().filter(|r| r.uri.contains("chat.postMessage")).count();
    assert_eq!(attempts, 15 + 6, "each 429 cost one attempt, nothing else was repeated");
    assert!(seconds >= 9, "slowed down by Retry-After: {seconds} s instead of 5");
    db
}

async fn a_slack_post_that_went_through_before_a_crash_is_found_by_its_metadata(
    db: TestDb,
) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let (fake, api) = slack().await;
    store
        .enqueue_message(&text_message("C0ALERTS", "AC-02", "AC-02 is failing"), t0())
        .await
        .unwrap();

    // A replica claims the message, posts it, and dies before recording the post.
    let claimed = store
        .claim_next_message("dead-replica", t0(), TimeDelta::seconds(60))
        .await
        .unwrap()
        .unwrap();
    let body = MessageBody::from_json(&claimed.body).unwrap();
    Messenger::post(&api, "C0ALERTS", &body, &claimed.dedupe_key()).await.unwrap();

    clock.advance(TimeDelta::seconds(61));
    let outbox = Dispatcher::new(store.clone(), api, "survivor", clock.clock());
    let sent = outbox.deliver_due().await.unwrap();
    assert!(matches!(&sent[..], [Delivery::Recovered { .. }]), "{sent:?}");
    let messages = fake.messages_in("C0ALERTS");
    assert_eq!(messages.len(), 1, "found through conversations.history, not posted again");
    assert_eq!(messages[0].updates, 1, "brought up to date in place");
    assert_eq!(
        store.outbox_messages(None).await.unwrap()[0].message_id.as_deref(),
        Some(messages[0].ts.as_str())
    );
    db
}

async fn a_snoozed_control_opens_no_alert_until_the_snooze_ends(db: TestDb) -> TestDb {
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let store = engine.store().clone();
    store.subscribe("C-SEC", Subscription::Alerts, t0()).await.unwrap();
    store
        .snooze(&kushim::store::Snooze {
            control_id: "AC-02".into(),
            until: t0() + TimeDelta::days(7),
            snoozed_by: "U0ALICE".into(),
            snoozed_at: t0(),
        })
        .await
        .unwrap();
    let goes_bad = |at: DateTime<Utc>, from: &str, to: &str| NewTransition {
        control_id: "AC-02".into(),
        from_state: Some(from.into()),
        to_state: to.into(),
        at,
        reason: to.into(),
    };
    store
        .record_transitions(&[NewTransition { from_state: None, ..goes_bad(t0(), "", "passing") }])
        .await
        .unwrap();
    let during = store.record_transitions(&[goes_bad(t0(), "passing", "failing")]).await.unwrap();
    let queued = alerts::queue_alerts(&store, engine.catalog(), &during, TimeDelta::hours(1), t0())
        .await
        .unwrap();
    assert_eq!(queued, 0, "snoozed");

    let later = t0() + TimeDelta::days(8);
    store.record_transitions(&[goes_bad(later, "failing", "passing")]).await.unwrap();
    let after = store.record_transitions(&[goes_bad(later, "passing", "failing")]).await.unwrap();
    let queued = alerts::queue_alerts(&store, engine.catalog(), &after, TimeDelta::hours(1), later)
        .await
        .unwrap();
    assert_eq!(queued, 1, "the snooze has ended");
    db
}

async fn a_job_that_gives_up_is_reported_to_the_alert_channels(db: TestDb) -> TestDb {
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let store = engine.store().clone();
    store.subscribe("C-SEC", Subscription::Alerts, t0()).await.unwrap();
    let clock = ManualClock::new(t0());
    let runner = Runner::new(
        engine.clone(),
        Targets::default(),
        clock.clock(),
        chrono_tz::UTC,
        TimeDelta::hours(1),
    );
    let worker = Worker::new(store.clone(), "w", runner, clock.clock(), WorkerSettings::default());
    // GitHub is not configured on this server: every attempt fails the same way.
    let github =
        JobRequest::Collect { integration: Some(kushim::integrations::Integration::GitHub) };
    store.enqueue_job(&github.to_job("chat:collect:1".into(), t0()), t0()).await.unwrap();
    loop {
        match worker.run_once().await.unwrap() {
            Some(Ran::Retry { at, .. }) => clock.set(at),
            Some(Ran::Dead { job, error }) => {
                assert_eq!(job.attempts, 5);
                assert_eq!(error, "github is not configured on this server");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let messages = store.outbox_messages(Some("C-SEC")).await.unwrap();
    assert_eq!(messages.len(), 1);
    let body = MessageBody::from_json(&messages[0].body).unwrap();
    assert!(body.plain.starts_with("Background job failed: collect"), "{}", body.plain);
    assert!(
        body.plain.contains(
            "failed 5 times and will not be retried on its own. Last error: github is not configured"
        ),
        "{}",
        body.plain
    );
    assert!(body.plain.contains("[Retry]"), "admins can retry it from the alert: {}", body.plain);
    db
}

async fn the_retention_job_drops_payloads_past_the_window_and_the_ledger_still_verifies(
    db: TestDb,
) -> TestDb {
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let store = engine.store().clone();
    // Two collections of every integration 14 months apart, then today's.
    let days_ago = |days| t0() - TimeDelta::days(days);
    for at in [days_ago(830), days_ago(410), t0()] {
        let snapshot = sandbox::generated_org(50, at);
        for integration in kushim::integrations::Integration::ALL {
            engine.ingest(integration, &snapshot, at).await.unwrap();
        }
    }
    let before = store.evidence_history(100).await.unwrap();
    let clock = ManualClock::new(t0());
    let keep = Config {
        jobs: toml::from_str("evidence_retention_days = 400").unwrap(),
        ..Config::default()
    };
    let runner = kushim::jobs::runner(&engine, &keep, Targets::default(), clock.clock()).unwrap();
    let worker = Worker::new(store.clone(), "w", runner, clock.clock(), WorkerSettings::default());
    let request = JobRequest::parse("evidence_retention", None).unwrap();
    store
        .enqueue_job(&request.to_job("schedule:evidence-retention:1".into(), t0()), t0())
        .await
        .unwrap();

    assert!(matches!(worker.run_once().await.unwrap(), Some(Ran::Done(_))));

    let integrations = kushim::integrations::Integration::ALL.len();
    let mut pruned = 0;
    for record in &before {
        let kept = store.evidence_payload(record.seq).await.is_ok();
        let old = record.collected_at < t0() - TimeDelta::days(400);
        assert_eq!(kept, !old, "record {} from {}", record.seq, record.collected_at);
        pruned += usize::from(!kept);
    }
    assert_eq!(pruned, 2 * integrations, "both old collections of every integration");
    assert!(store.verify().await.unwrap().intact());
    // Today's evidence is whole, so the engine still judges from it.
    engine.current_snapshot().await.expect("the newest evidence is kept");
    db
}

async fn an_alert_someone_deleted_in_slack_is_posted_again_when_it_changes(db: TestDb) -> TestDb {
    let store = db.store().await;
    let clock = ManualClock::new(t0());
    let (fake, api) = slack().await;
    let outbox = Dispatcher::new(store.clone(), api, "outbox", clock.clock());
    store.enqueue_message(&text_message("C1", "AC-02", "AC-02 is failing"), t0()).await.unwrap();
    outbox.deliver_due().await.unwrap();
    let first = fake.messages_in("C1").remove(0);
    fake.delete_message("C1", &first.ts);

    clock.advance(TimeDelta::minutes(5));
    let worse = text_message("C1", "AC-02", "AC-02 is failing on 3 more resources");
    store.enqueue_message(&worse, clock.now()).await.unwrap();
    let sent = outbox.deliver_due().await.unwrap();

    assert!(matches!(&sent[..], [Delivery::Posted { .. }]), "posted anew, not given up: {sent:?}");
    let messages = fake.messages_in("C1");
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0].body["text"], "AC-02 is failing on 3 more resources");
    assert_ne!(messages[0].ts, first.ts);
    let row = &store.outbox_messages(Some("C1")).await.unwrap()[0];
    assert_eq!(row.message_id.as_deref(), Some(messages[0].ts.as_str()), "later edits go there");
    db
}

async fn a_redrawn_alert_keeps_showing_the_controls_ticket(db: TestDb) -> TestDb {
    use kushim::remediation::{TicketEvent, TicketEventKind};
    let engine = Engine::new(db.store().await, &Config::default()).unwrap();
    let store = engine.store().clone();
    store.subscribe("C-SEC", Subscription::Alerts, t0()).await.unwrap();
    let window = TimeDelta::hours(1);
    let change = |from: &str, to: &str, minutes: i64| NewTransition {
        control_id: "AC-02".into(),
        from_state: (!from.is_empty()).then(|| from.to_owned()),
        to_state: to.into(),
        at: t0() + TimeDelta::minutes(minutes),
        reason: format!("now {to}"),
    };
    let alert_body = || async {
        store.outbox_message("C-SEC", alerts::ALERT, "AC-02").await.unwrap().unwrap().body
    };
    for (from, to, minutes) in [("", "passing", 0), ("passing", "failing", 10)] {
        let recorded = store.record_transitions(&[change(from, to, minutes)]).await.unwrap();
        alerts::queue_alerts(&store, engine.catalog(), &recorded, window, t0()).await.unwrap();
    }
    let opened = TicketEvent {
        kind: TicketEventKind::Created,
        control_id: "AC-02".into(),
        key: "SEC-7".into(),
        url: "https://acme.atlassian.net/browse/SEC-7".into(),
        detail: String::new(),
        at: t0() + TimeDelta::minutes(11),
    };
    alerts::queue_ticket_events(&store, &[opened], t0()).await.unwrap();
    assert!(alert_body().await.contains("SEC-7"), "the alert shows the new ticket");

    // The control's collection now errors: the alert is redrawn for the new state.
    let recorded = store.record_transitions(&[change("failing", "errored", 20)]).await.unwrap();
    alerts::queue_alerts(&store, engine.catalog(), &recorded, window, t0()).await.unwrap();

    let body = MessageBody::from_json(&alert_body().await).unwrap();
    assert!(body.plain.contains("now errored"), "{}", body.plain);
    let line = "|SEC-7> for `AC-02` opened.";
    assert_eq!(body.plain.matches(line).count(), 1, "the ticket line, once: {}", body.plain);
    let blocks = body.blocks.as_array().unwrap();
    let ticket =
        blocks.iter().position(|b| b["block_id"] == "kushim-ticket").expect("ticket block");
    let buttons = blocks.iter().position(|b| b["type"] == "actions").expect("buttons");
    assert!(ticket < buttons, "the ticket line sits above the buttons");
    db
}
