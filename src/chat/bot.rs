//! The bot: what Kushim does when someone types a command, clicks a button or submits a form,
//! whichever transport brought it (Slack's HTTP endpoints or Socket Mode).
//!
//! Every handler runs in the same order: who is asking and may they (refuse politely, and audit
//! the refusal), what exactly (look the reference up again: a button's value is never trusted),
//! the change (store, audited), the answer. Anything slower than Slack's three seconds (a
//! collection, a re-check) runs in the background and answers through `response_url` or by
//! updating the message in place.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio_util::task::TaskTracker;

use crate::{
    chat::{
        actions::Action,
        commands::{
            self, ChannelRef, Command, CommandName, ControlsFilter, Feed, ParseError, Role,
        },
        reply::{self, Reply},
        roles::Roles,
        slack::{MessageRef, SlackApiError, SlackWebApi},
        text,
    },
    collection::{self, Progress, Targets},
    controls::ControlState,
    engine::{Actor, Engine, EngineError},
    integrations::{Integration, collect::RetryPolicy},
    jobs::JobRequest,
    remediation::{Remediation, RemediationError, TicketEvent, TicketEventKind, TicketOutcome},
    store::{
        AuditEntry, ExceptionDecision, ExceptionRecord, JobStatus, NewException, Snooze,
        StoreError, Subscription,
    },
    views::{self, CollectView, ControlDetail, ControlRecords, StatusView, TicketLine},
};

/// How long a snooze lasts.
pub const SNOOZE_FOR: TimeDelta = TimeDelta::days(7);
/// The longest an exception may be granted for.
pub const MAX_EXCEPTION: TimeDelta = TimeDelta::days(365);
/// How often a queued collection's job is looked at, and for how long, to tell the asker.
const COLLECT_JOB_POLL: std::time::Duration = std::time::Duration::from_secs(2);
const COLLECT_JOB_WAIT: std::time::Duration = std::time::Duration::from_secs(25 * 60);

/// How a queued job ended, as far as a chat answer cares.
enum JobEnd {
    Done,
    Dead(String),
    StillRunning,
}

/// The modal's `callback_id`.
pub const EXCEPTION_FORM: &str = "exception_request";
/// Lines per page of a long list; "Show more" brings the next.
pub const PAGE: usize = 20;

/// Where the time comes from: the real clock in production, a pinned one in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Who is asking, and where the answer goes.
#[derive(Debug, Clone, Default)]
pub struct Asker {
    /// The Slack user id.
    pub user: String,
    /// Where they asked; empty in the App Home.
    pub channel: String,
    /// Where a later answer goes (slash commands and clicks).
    pub response_url: Option<String>,
    /// Lets the bot open a modal for this request, within three seconds.
    pub trigger_id: Option<String>,
}

/// The message a button was on.
#[derive(Debug, Clone)]
pub enum Surface {
    /// A message in a channel: changed with `chat.update`.
    Message(MessageRef),
    /// An ephemeral message: changed through the click's `response_url`.
    Ephemeral,
    /// The App Home tab: republished.
    Home,
}

/// A button click.
#[derive(Debug, Clone)]
pub struct Click {
    pub asker: Asker,
    pub action: Action,
    pub value: String,
    pub surface: Surface,
}

/// The exception form as submitted.
#[derive(Debug, Clone, Default)]
pub struct ExceptionForm {
    pub control_id: String,
    /// Where the request was made, for the approval message; empty means a direct message.
    pub channel: String,
    pub reason: String,
    pub expires_on: Option<NaiveDate>,
    pub compensating_control: Option<String>,
}

/// Field errors to show in the modal, by block id.
pub type FormErrors = HashMap<&'static str, String>;

/// The modal's block ids.
pub const REASON_BLOCK: &str = "reason";
pub const EXPIRY_BLOCK: &str = "expires_on";
pub const COMPENSATING_BLOCK: &str = "compensating_control";

#[derive(Clone)]
pub struct Bot {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    slack: Option<SlackWebApi>,
    roles: Roles,
    clock: Clock,
    targets: Targets,
    background: TaskTracker,
    /// The Jira remediation loop, when Jira is configured.
    remediation: OnceLock<Remediation>,
    /// The Jira site, for ticket links.
    jira_site: OnceLock<String>,
    /// The team's timezone, for the digest's days.
    timezone: OnceLock<chrono_tz::Tz>,
    /// Set when job workers run in this process: collections go through the queue.
    job_queue: OnceLock<()>,
    /// `/kushim status` as drawn for the assessment it was drawn from.
    status_reply: std::sync::Mutex<Option<(Arc<crate::engine::Refresh>, Reply)>>,
}

impl Bot {
    pub fn new(
        engine: Engine,
        slack: Option<SlackWebApi>,
        roles: Roles,
        targets: Targets,
        clock: Clock,
    ) -> Bot {
        Bot {
            inner: Arc::new(Inner {
                engine,
                slack,
                roles,
                clock,
                targets,
                background: TaskTracker::new(),
                remediation: OnceLock::new(),
                jira_site: OnceLock::new(),
                timezone: OnceLock::new(),
                job_queue: OnceLock::new(),
                status_reply: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Opens tickets in Jira from now on (the `ticket` command and button, and after each
    /// collection started in chat).
    pub fn set_remediation(&self, remediation: Remediation, site_url: &str) {
        let _ = self.inner.jira_site.set(site_url.to_owned());
        let _ = self.inner.remediation.set(remediation);
    }

    /// The team's timezone (`[jobs] timezone`), for the digest preview's days.
    pub fn set_timezone(&self, timezone: chrono_tz::Tz) {
        let _ = self.inner.timezone.set(timezone);
    }

    fn remediation(&self) -> Option<&Remediation> {
        self.inner.remediation.get()
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }

    fn slack(&self) -> Option<&SlackWebApi> {
        self.inner.slack.as_ref()
    }

    /// Waits for background work (collections, re-checks, follow-ups) to finish: on shutdown,
    /// and in tests.
    pub async fn drain(&self) {
        self.inner.background.close();
        self.inner.background.wait().await;
        self.inner.background.reopen();
    }

    fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let span = tracing::Span::current();
        self.inner.background.spawn(tracing::Instrument::instrument(work, span));
    }

    /// Runs `work` in the background, counted by [`Bot::drain`]: how transports acknowledge
    /// Slack at once and act after.
    pub fn spawn_tracked(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.inner.background.spawn(work);
    }

    async fn role_of(&self, user: &str) -> Role {
        self.inner.roles.role_of(user, self.slack()).await
    }

    async fn audit(&self, asker: &Asker, action: &str, target: &str, detail: Value) {
        let entry = AuditEntry {
            at: self.now(),
            actor: format!("slack:{}", asker.user),
            origin: "slack".into(),
            action: action.into(),
            target: target.into(),
            detail,
        };
        // The action already happened (or was refused); a failed audit write is an operator's
        // problem to see in the logs, not the person's to retry.
        if let Err(error) = self.engine().store().audit(entry).await {
            tracing::error!(%error, action, target, "cannot write the audit log");
        }
    }

    // ----- commands -------------------------------------------------------------------------

    /// The answer to `/kushim <line>` (or an `@Kushim <line>` mention), shown to the asker.
    pub async fn command(&self, asker: &Asker, line: &str) -> Reply {
        self.answer(asker, commands::parse(line, self.engine().catalog())).await
    }

    async fn answer(&self, asker: &Asker, parsed: Result<Command, ParseError>) -> Reply {
        let command = match parsed {
            Ok(command) => command,
            Err(error) => return Reply::sentence(text::parse_error(&error)),
        };
        let name = command.name().as_str();
        let role = self.role_of(&asker.user).await;
        if role < command.role() {
            self.audit(
                asker,
                "command.refused",
                name,
                json!({ "role": role, "needs": command.role() }),
            )
            .await;
            metrics::counter!("kushim_commands_total", "command" => name, "outcome" => "refused")
                .increment(1);
            return Reply::sentence(text::not_allowed(command.role()));
        }
        tracing::info!(command = name, "answering");
        match self.run(asker, command).await {
            Ok(reply) => {
                metrics::counter!("kushim_commands_total", "command" => name, "outcome" => "ok")
                    .increment(1);
                reply
            }
            Err(error) => {
                metrics::counter!("kushim_commands_total", "command" => name, "outcome" => "error")
                    .increment(1);
                tracing::error!(error = format!("{error:#}"), "answering a command failed");
                Reply::sentence(text::internal_error())
            }
        }
    }

    async fn run(&self, asker: &Asker, command: Command) -> anyhow::Result<Reply> {
        let engine = self.engine();
        let now = self.now();
        let command_kind = command.name();
        Ok(match command {
            Command::Help { command } => Reply::sentence(text::help(command)),
            Command::Status => {
                let current = engine.current(now).await?;
                // The busiest question: its answer is drawn once per assessment, not per asker.
                let mut drawn = self.inner.status_reply.lock().expect("status reply");
                match drawn.as_ref() {
                    Some((refresh, reply)) if Arc::ptr_eq(refresh, &current.refresh) => {
                        reply.clone()
                    }
                    _ => {
                        let reply = reply::status(&StatusView::new(
                            engine.catalog(),
                            &current.refresh,
                            current.has_evidence,
                        ));
                        *drawn = Some((current.refresh.clone(), reply.clone()));
                        reply
                    }
                }
            }
            Command::Controls { filter } => self.controls_page(&filter, 0).await?,
            Command::Control { id } => reply::control(&self.control_detail(&id).await?),
            Command::Evidence { id } => reply::evidence(&self.control_detail(&id).await?),
            Command::Exceptions => {
                let exceptions = engine.store().exceptions().await?;
                reply::exceptions(&exceptions, now)
            }
            Command::Collect { integration } => self.start_collection(asker, integration).await?,
            Command::Except { id } => {
                let control = engine.control(&id)?.clone();
                self.open_exception_form(asker, &control.id).await;
                Reply::sentence(text::exception_form_opening(&control.id))
            }
            Command::Ticket { id } => {
                let control = engine.control(&id)?.clone();
                self.start_ticket(asker, &control.id, None)
            }
            Command::Digest => {
                let current = engine.current(now).await?;
                let timezone = *self.inner.timezone.get().unwrap_or(&chrono_tz::UTC);
                let inputs = crate::jobs::digest::gather(
                    engine.store(),
                    engine.catalog(),
                    &current.refresh,
                    timezone,
                    now,
                )
                .await?;
                crate::jobs::digest::digest(&inputs, now)
            }
            Command::Jobs => self.jobs_reply(None).await?,
            Command::Subscribe { channel, feed } | Command::Unsubscribe { channel, feed } => {
                let subscribe = command_kind == CommandName::Subscribe;
                let ChannelRef::Id { id, .. } = channel else {
                    return Ok(Reply::sentence(text::pick_a_channel()));
                };
                let what = match feed {
                    Feed::Alerts => Subscription::Alerts,
                    Feed::Digest => Subscription::Digest,
                };
                let store = engine.store();
                let changed = if subscribe {
                    store.subscribe(&id, what, now).await?
                } else {
                    store.unsubscribe(&id, what).await?
                };
                let action = if subscribe { "subscribe" } else { "unsubscribe" };
                self.audit(
                    asker,
                    action,
                    &id,
                    json!({ "feed": what.as_str(), "changed": changed }),
                )
                .await;
                Reply::sentence(text::subscription(&id, what.as_str(), subscribe, changed))
            }
        })
    }

    /// `/kushim jobs`, with `note` on top after a Retry.
    async fn jobs_reply(&self, note: Option<String>) -> Result<Reply, StoreError> {
        let store = self.engine().store();
        let depth = store.queue_depth().await?;
        let dead = store.jobs(Some(JobStatus::Dead), reply::DEAD_JOBS_SHOWN as i64).await?;
        Ok(reply::jobs(&depth, &dead, note))
    }

    /// One page of `/kushim controls`, with "Show more" when there is another.
    async fn controls_page(&self, filter: &ControlsFilter, offset: usize) -> anyhow::Result<Reply> {
        let current = self.engine().current(self.now()).await?;
        let lines: Vec<_> = views::lines(self.engine().catalog(), &current.refresh)
            .into_iter()
            .filter(|line| match filter {
                ControlsFilter::All => true,
                ControlsFilter::Failing => line.state == ControlState::Failing,
                ControlsFilter::Criterion(id) => {
                    line.criteria.iter().any(|c| c.eq_ignore_ascii_case(id))
                }
            })
            .collect();
        Ok(reply::controls_page(filter, &lines, offset, PAGE))
    }

    async fn control_detail(&self, id: &str) -> Result<ControlDetail, EngineError> {
        let engine = self.engine();
        let control = engine.control(id)?.clone();
        let refresh = engine.current(self.now()).await?.refresh;
        let assessment = refresh
            .assessments
            .iter()
            .find(|a| a.control_id == control.id)
            .ok_or_else(|| EngineError::Config(format!("{} was not assessed", control.id)))?;
        let store = engine.store();
        let records = ControlRecords {
            findings: store.latest_findings().await?,
            evidence: store.latest_evidence().await?,
            manual_evidence: store.manual_evidence_of(&control.id).await?,
            exceptions: store.exceptions().await?,
            history: store.transitions_of(&control.id, 20).await?,
        };
        let ticket = store
            .current_ticket(&control.id)
            .await?
            .map(|link| TicketLine::new(&link, self.inner.jira_site.get().map(String::as_str)));
        Ok(ControlDetail::new(engine.catalog(), &control, assessment, refresh.at, records)
            .with_ticket(ticket))
    }

    /// Opens (or finds) the control's Jira ticket in the background: Jira takes a few calls.
    /// The asker hears at once, then the outcome; a clicked card shows who opened which ticket.
    fn start_ticket(&self, asker: &Asker, control_id: &str, click: Option<Click>) -> Reply {
        if self.remediation().is_none() {
            return Reply::sentence(text::jira_not_configured(control_id));
        }
        let bot = self.clone();
        let asker = asker.clone();
        let ack = Reply::sentence(text::opening_ticket(control_id));
        let control_id = control_id.to_owned();
        self.spawn(async move {
            let Some(remediation) = bot.remediation() else { return };
            let actor = Actor { name: actor_name(&asker.user), origin: "slack".into() };
            let outcome = remediation.open_ticket(&control_id, &actor, bot.now()).await;
            if let Ok(TicketOutcome::Created(ticket)) = &outcome {
                let event = TicketEvent {
                    kind: TicketEventKind::Created,
                    control_id: control_id.clone(),
                    key: ticket.key.clone(),
                    url: ticket.url.clone(),
                    detail: String::new(),
                    at: bot.now(),
                };
                let store = bot.engine().store();
                if let Err(error) =
                    crate::jobs::alerts::queue_ticket_events(store, &[event], bot.now()).await
                {
                    tracing::warn!(%error, "cannot queue the new ticket for the alert channels");
                }
            }
            let (sentence, note) = match &outcome {
                Ok(TicketOutcome::Created(ticket)) => (
                    text::ticket_opened(&ticket.key, &ticket.url, &control_id),
                    Some(text::ticket_opened_by(&asker.user, &ticket.key, &ticket.url)),
                ),
                Ok(TicketOutcome::AlreadyExists(ticket)) => (
                    text::ticket_exists(&ticket.key, &ticket.url, &ticket.status, &control_id),
                    None,
                ),
                Ok(TicketOutcome::BeingCreated { .. }) => {
                    (text::ticket_being_created(&control_id), None)
                }
                Err(RemediationError::NotFailing { state, .. }) => {
                    (text::nothing_to_remediate(&control_id, state), None)
                }
                Err(error) => {
                    tracing::warn!(%error, control = %control_id, "a ticket could not be opened");
                    (text::ticket_failed(&control_id, &error.to_string()), None)
                }
            };
            let detail = match &outcome {
                Ok(outcome) => json!({ "outcome": outcome }),
                Err(error) => json!({ "error": error.to_string() }),
            };
            bot.audit(&asker, "ticket.open", &control_id, detail).await;
            match (click, note) {
                (Some(click), Some(note)) => {
                    if let Err(error) = bot.update_card(&click, &control_id, note).await {
                        tracing::warn!(%error, "cannot show the new ticket on the card");
                    }
                }
                _ => bot.tell(&asker, &Reply::sentence(sentence)).await,
            }
        });
        ack
    }

    /// `/kushim collect`: answers at once, collects in the background, reports through the
    /// command's `response_url`.
    async fn start_collection(
        &self,
        asker: &Asker,
        only: Option<Integration>,
    ) -> anyhow::Result<Reply> {
        let targets = match only {
            Some(integration) => self.inner.targets.clone().only(integration),
            None => self.inner.targets.clone(),
        };
        let integrations = targets.integrations();
        if integrations.is_empty() {
            return Ok(Reply::sentence(text::nothing_to_collect(only)));
        }
        if self.inner.job_queue.get().is_some() {
            return self.queue_collection(asker, only, &integrations).await;
        }
        let bot = self.clone();
        let asker = asker.clone();
        let started = integrations.clone();
        self.spawn(async move {
            let reply = match bot.collect_in_background(targets).await {
                Ok(view) => reply::collected(&view),
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "a chat-started collection failed"
                    );
                    Reply::sentence(text::internal_error())
                }
            };
            bot.audit(&asker, "collect", &integration_names(&started), json!({})).await;
            bot.follow_up(&asker, &reply, false).await;
        });
        Ok(Reply::sentence(text::collecting(&integrations)))
    }

    /// `/kushim collect` under `kushim serve`: the same durable job the scheduler queues (it
    /// survives a crash and runs on whichever replica's worker is free); the asker hears when
    /// it is done, through the command's `response_url`.
    async fn queue_collection(
        &self,
        asker: &Asker,
        only: Option<Integration>,
        integrations: &[Integration],
    ) -> anyhow::Result<Reply> {
        let now = self.now();
        let store = self.engine().store();
        let scope = only.map_or("all", Integration::as_str);
        let key = format!("chat:collect:{scope}:{}:{}", asker.user, now.timestamp());
        let request = JobRequest::Collect { integration: only };
        let (job, _) = crate::jobs::enqueue(store, &request, key, now).await?;
        self.audit(asker, "collect", &integration_names(integrations), json!({ "job": job.id }))
            .await;
        let bot = self.clone();
        let asker = asker.clone();
        self.spawn(async move {
            let reply = match bot.wait_for_job(job.id).await {
                JobEnd::Done => {
                    let score = match bot.engine().current(bot.now()).await {
                        Ok(current) => {
                            StatusView::new(
                                bot.engine().catalog(),
                                &current.refresh,
                                current.has_evidence,
                            )
                            .posture
                            .overall
                            .score
                        }
                        Err(_) => f64::NAN,
                    };
                    Reply::sentence(text::collect_job_done(job.id, score))
                }
                JobEnd::Dead(error) => Reply::sentence(text::collect_job_failed(job.id, &error)),
                JobEnd::StillRunning => Reply::sentence(text::collect_job_still_running(job.id)),
            };
            bot.follow_up(&asker, &reply, false).await;
        });
        Ok(Reply::sentence(text::collect_queued(integrations, job.id)))
    }

    /// Polls a queued job until a worker (on any replica) finished it or gave up on it.
    async fn wait_for_job(&self, id: i64) -> JobEnd {
        let deadline = tokio::time::Instant::now() + COLLECT_JOB_WAIT;
        loop {
            match self.engine().store().job(id).await {
                Ok(Some(job)) if job.status == JobStatus::Done => return JobEnd::Done,
                Ok(Some(job)) if job.status == JobStatus::Dead => {
                    return JobEnd::Dead(job.last_error.unwrap_or_default());
                }
                Ok(_) if tokio::time::Instant::now() < deadline => {}
                Ok(_) => return JobEnd::StillRunning,
                Err(error) => {
                    tracing::warn!(%error, job = id, "cannot follow a queued job");
                    return JobEnd::StillRunning;
                }
            }
            tokio::time::sleep(COLLECT_JOB_POLL).await;
        }
    }

    /// Collections asked for in chat go through the durable job queue from now on (`kushim
    /// serve`, where workers run them).
    pub fn use_job_queue(&self) {
        let _ = self.inner.job_queue.set(());
    }

    /// Collects on a blocking-pool thread that drives the future itself. The collectors'
    /// stream combinators borrow across awaits in ways the compiler cannot prove `Send`, so
    /// their future cannot be handed to `tokio::spawn`; `block_on` does not need it to be.
    async fn collect_in_background(&self, targets: Targets) -> anyhow::Result<CollectView> {
        let bot = self.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || runtime.block_on(bot.collect(&targets))).await?
    }

    async fn collect(&self, targets: &Targets) -> anyhow::Result<CollectView> {
        let engine = self.engine();
        let before: HashMap<String, String> = engine
            .store()
            .control_states()
            .await?
            .into_iter()
            .map(|row| (row.control_id, row.state))
            .collect();
        let reports =
            collection::collect(engine, targets, &RetryPolicy::default(), &Progress::silent())
                .await?;
        let mut view = CollectView::new(engine.catalog(), &reports, &before);
        // Tickets follow the controls: opened, commented, closed or reopened as they changed.
        if let (Some(remediation), Some(latest)) = (self.remediation(), reports.last()) {
            let now = self.now();
            let mut events = remediation.sync(now).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "cannot sync Jira tickets");
                Vec::new()
            });
            events.extend(remediation.reconcile(&latest.refresh, now).await?);
            crate::jobs::alerts::queue_ticket_events(engine.store(), &events, now).await?;
            view = view.with_ticket_events(events);
        }
        Ok(view)
    }

    /// Answers later through the request's `response_url` (ephemeral, or replacing the message
    /// the button was on).
    async fn follow_up(&self, asker: &Asker, reply: &Reply, replace_original: bool) {
        let (Some(slack), Some(url)) = (self.slack(), asker.response_url.as_deref()) else {
            tracing::warn!("no Slack client or response_url: a follow-up answer is dropped");
            return;
        };
        if let Err(error) = slack.respond(url, reply, replace_original).await {
            tracing::warn!(%error, "a follow-up answer did not reach Slack");
        }
    }

    async fn open_exception_form(&self, asker: &Asker, control_id: &str) {
        let (Some(slack), Some(trigger)) = (self.slack(), asker.trigger_id.as_deref()) else {
            return;
        };
        let metadata = format!("{control_id}|{}", asker.channel);
        let today = self.now().date_naive();
        if let Err(error) =
            slack.open_view(trigger, reply::exception_form(control_id, &metadata, today)).await
        {
            tracing::warn!(%error, "cannot open the exception form");
            self.follow_up(asker, &Reply::sentence(text::form_failed()), false).await;
        }
    }

    // ----- buttons --------------------------------------------------------------------------

    /// Carries out a click, after checking the clicker's role now. Every click, carried out or
    /// refused, is audited.
    pub async fn click(&self, click: Click) {
        let action = click.action.as_str();
        let role = self.role_of(&click.asker.user).await;
        if role < click.action.role() {
            self.audit(
                &click.asker,
                &format!("action.{action}.refused"),
                &click.value,
                json!({ "role": role, "needs": click.action.role() }),
            )
            .await;
            metrics::counter!("kushim_actions_total", "action" => action, "outcome" => "refused")
                .increment(1);
            self.tell(&click.asker, &Reply::sentence(text::not_allowed(click.action.role()))).await;
            return;
        }
        let outcome = match self.carry_out(&click).await {
            Ok(()) => "ok",
            Err(error) => {
                let sentence = match &error {
                    ClickError::Engine(EngineError::UnknownControl { .. }) => text::stale_button(),
                    ClickError::Person(sentence) => sentence.clone(),
                    other => {
                        tracing::error!(error = %other, action, "a click failed");
                        text::internal_error()
                    }
                };
                self.tell(&click.asker, &Reply::sentence(sentence)).await;
                "error"
            }
        };
        metrics::counter!("kushim_actions_total", "action" => action, "outcome" => outcome)
            .increment(1);
    }

    async fn carry_out(&self, click: &Click) -> Result<(), ClickError> {
        let asker = &click.asker;
        let now = self.now();
        match click.action {
            Action::ShowMore => {
                let (filter, offset) = parse_page(&click.value, self.engine())
                    .ok_or_else(|| ClickError::Person(text::stale_button()))?;
                let page = self.controls_page(&filter, offset).await.map_err(ClickError::Other)?;
                self.follow_up(asker, &page, true).await;
            }
            Action::RequestException => {
                let control = self.engine().control(&click.value)?.clone();
                self.open_exception_form(asker, &control.id).await;
            }
            Action::Snooze => {
                let control = self.engine().control(&click.value)?.clone();
                let until = now + SNOOZE_FOR;
                self.engine()
                    .store()
                    .snooze(&Snooze {
                        control_id: control.id.clone(),
                        until,
                        snoozed_by: asker.user.clone(),
                        snoozed_at: now,
                    })
                    .await?;
                self.audit(asker, "action.snooze", &control.id, json!({ "until": until })).await;
                let note = text::snoozed_by(&asker.user, until);
                self.update_card(click, &control.id, note).await?;
            }
            Action::Recheck => {
                let control = self.engine().control(&click.value)?.clone();
                let targets = self.targets_for(&control.checks);
                let jobs = self.queue_recheck(&targets).await?;
                self.audit(asker, "action.recheck", &control.id, json!({ "jobs": jobs })).await;
                self.tell(asker, &Reply::sentence(text::rechecking(&control.id))).await;
                let bot = self.clone();
                let click = click.clone();
                self.spawn(async move {
                    let failure = bot.recheck(targets, &jobs).await;
                    let (user, now) = (&click.asker.user, bot.now());
                    let note = match failure {
                        None => text::rechecked_by(user, now),
                        Some(error) => text::recheck_failed(user, now, &error),
                    };
                    if let Err(error) = bot.update_card(&click, &control.id, note).await {
                        tracing::error!(%error, "cannot show a re-check's result");
                    }
                });
            }
            Action::Ticket => {
                let control = self.engine().control(&click.value)?.clone();
                if self.remediation().is_none() {
                    return Err(ClickError::Person(text::jira_not_configured(&control.id)));
                }
                let ack = self.start_ticket(asker, &control.id, Some(click.clone()));
                self.tell(asker, &ack).await;
            }
            Action::RetryJob => {
                let id: i64 =
                    click.value.parse().map_err(|_| ClickError::Person(text::stale_button()))?;
                let store = self.engine().store();
                let Some(job) = store.retry_dead_job(id, now).await? else {
                    return Err(ClickError::Person(match store.job(id).await? {
                        Some(job) => text::job_not_dead(id, job.status.as_str()),
                        None => text::stale_button(),
                    }));
                };
                self.audit(
                    asker,
                    "action.retry_job",
                    &format!("job:{id}"),
                    json!({ "kind": job.kind }),
                )
                .await;
                let note = text::job_requeued(&asker.user, id, now);
                let reply = match click.surface {
                    // The alert in a channel: redrawn without its button.
                    Surface::Message(_) => reply::dead_job(
                        &job,
                        job.last_error.as_deref().unwrap_or_default(),
                        Some(note),
                    ),
                    _ => self.jobs_reply(Some(note)).await?,
                };
                self.replace(click, &reply).await?;
            }
            Action::ApproveException | Action::RejectException => {
                let decision = if click.action == Action::ApproveException {
                    ExceptionDecision::Approved
                } else {
                    ExceptionDecision::Rejected
                };
                self.decide(click, decision).await?;
            }
        }
        Ok(())
    }

    /// Under `kushim serve`, a re-check is one queued `collect` job per integration. Clicks on
    /// any replica within the same second share the jobs. Elsewhere nothing is queued.
    async fn queue_recheck(&self, targets: &Targets) -> Result<Vec<i64>, ClickError> {
        if self.inner.job_queue.get().is_none() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let mut jobs = Vec::new();
        for integration in targets.integrations() {
            let request = JobRequest::Collect { integration: Some(integration) };
            let key = format!("chat:recheck:{integration}:{}", now.timestamp());
            let (job, _) = crate::jobs::enqueue(self.engine().store(), &request, key, now)
                .await
                .map_err(|error| ClickError::Other(error.into()))?;
            jobs.push(job.id);
        }
        Ok(jobs)
    }

    /// Waits for a re-check's queued jobs, or collects here when nothing was queued. Returns
    /// why it could not collect, if it could not.
    async fn recheck(&self, targets: Targets, jobs: &[i64]) -> Option<String> {
        if jobs.is_empty() {
            if targets.integrations().is_empty() {
                return None;
            }
            return self.collect_in_background(targets).await.err().map(|error| {
                tracing::error!(error = format!("{error:#}"), "a re-check's collection failed");
                text::internal_error()
            });
        }
        for job in jobs {
            match self.wait_for_job(*job).await {
                JobEnd::Done => {}
                JobEnd::Dead(error) => return Some(error),
                JobEnd::StillRunning => return Some(text::collect_job_still_running(*job)),
            }
        }
        None
    }

    /// The integrations whose collection re-checks a control (its checks' sources) that are
    /// configured here.
    fn targets_for(&self, checks: &[String]) -> Targets {
        let wanted: Vec<Integration> = checks
            .iter()
            .filter_map(|id| crate::checks::find(id))
            .map(|check| check.judge.integration())
            .collect();
        self.inner.targets.clone().retain(|integration| wanted.contains(&integration))
    }

    async fn decide(&self, click: &Click, decision: ExceptionDecision) -> Result<(), ClickError> {
        let asker = &click.asker;
        let seq: i64 = click.value.parse().map_err(|_| ClickError::Person(text::stale_button()))?;
        let exceptions = self.engine().store().exceptions().await?;
        let exception = exceptions
            .iter()
            .find(|x| x.seq == seq)
            .ok_or_else(|| ClickError::Person(text::stale_button()))?;
        // Segregation of duties: whoever asked for the exception cannot grant it.
        if exception.requested_by == actor_name(&asker.user) {
            self.audit(
                asker,
                "exception.self_decision.refused",
                &seq.to_string(),
                json!({ "control": exception.control_id }),
            )
            .await;
            return Err(ClickError::Person(text::cannot_decide_own_request()));
        }
        let now = self.now();
        match self
            .engine()
            .store()
            .decide_exception(seq, decision, &actor_name(&asker.user), now, "decided in Slack")
            .await
        {
            Ok(()) => {}
            Err(StoreError::AlreadyDecided { decision, by, .. }) => {
                return Err(ClickError::Person(text::already_decided(&decision, &by)));
            }
            Err(error) => return Err(error.into()),
        }
        self.audit(
            asker,
            &format!("exception.{}", decision.as_str()),
            &exception.control_id,
            json!({ "exception": seq }),
        )
        .await;
        // The control's state changes (excepted, or not) right away, not at the next collection.
        // Re-assessed now (not from the cache): the control's state changes with the decision.
        self.engine().refresh(now).await?;
        let decided = ExceptionRecord {
            decision: Some(decision),
            decided_by: Some(actor_name(&asker.user)),
            decided_at: Some(now),
            ..exception.clone()
        };
        self.replace(click, &reply::exception_request(&decided)).await?;
        Ok(())
    }

    /// Redraws the control's card where the button was, with a line saying who did what.
    async fn update_card(
        &self,
        click: &Click,
        control_id: &str,
        note: String,
    ) -> Result<(), ClickError> {
        if matches!(click.surface, Surface::Home) {
            return self.publish_home(&click.asker.user).await;
        }
        let detail = self.control_detail(control_id).await?;
        self.replace(click, &reply::control_card(&detail, Some(note))).await
    }

    /// Replaces the message the button was on.
    async fn replace(&self, click: &Click, reply: &Reply) -> Result<(), ClickError> {
        match &click.surface {
            Surface::Message(message) => {
                let slack = self.slack().ok_or(ClickError::NoSlack)?;
                slack.update_message(message, reply).await?;
            }
            Surface::Ephemeral => self.follow_up(&click.asker, reply, true).await,
            Surface::Home => self.publish_home(&click.asker.user).await?,
        }
        Ok(())
    }

    /// Tells only the asker: through the `response_url` when there is one.
    async fn tell(&self, asker: &Asker, reply: &Reply) {
        if asker.response_url.is_some() {
            self.follow_up(asker, reply, false).await;
        } else if let Some(slack) = self.slack()
            && !asker.channel.is_empty()
            && let Err(error) = slack.post_ephemeral(&asker.channel, &asker.user, reply).await
        {
            tracing::warn!(%error, "cannot tell a person something ephemerally");
        }
    }

    // ----- the exception form ---------------------------------------------------------------

    /// Takes a submitted exception form: field errors to show in the modal, or the request
    /// recorded and an approval message posted with Approve / Reject.
    pub async fn submit_exception(
        &self,
        asker: &Asker,
        form: ExceptionForm,
    ) -> Result<(), FormErrors> {
        let now = self.now();
        let mut errors = FormErrors::new();
        let reason = form.reason.trim().to_owned();
        if reason.is_empty() {
            errors.insert(REASON_BLOCK, text::reason_required());
        }
        let expires_at = match form.expires_on {
            None => {
                errors.insert(EXPIRY_BLOCK, text::expiry_required());
                None
            }
            Some(day) => {
                let at = day.and_hms_opt(23, 59, 59).map(|t| t.and_utc());
                match at {
                    Some(at) if at <= now => {
                        errors.insert(EXPIRY_BLOCK, text::expiry_in_past());
                        None
                    }
                    Some(at) if at > now + MAX_EXCEPTION => {
                        errors.insert(EXPIRY_BLOCK, text::expiry_too_far());
                        None
                    }
                    other => other,
                }
            }
        };
        let control = match self.engine().control(&form.control_id) {
            Ok(control) => Some(control.clone()),
            Err(_) => {
                errors.insert(REASON_BLOCK, text::stale_button());
                None
            }
        };
        let role = self.role_of(&asker.user).await;
        if role < Action::RequestException.role() {
            errors.insert(REASON_BLOCK, text::not_allowed(Action::RequestException.role()));
        }
        let (Some(control), Some(expires_at), true) = (control, expires_at, errors.is_empty())
        else {
            return Err(errors);
        };
        let compensating =
            form.compensating_control.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let recorded = self
            .engine()
            .store()
            .request_exception(NewException {
                control_id: control.id.clone(),
                reason,
                compensating_control: compensating,
                requested_by: actor_name(&asker.user),
                requested_at: now,
                expires_at,
            })
            .await;
        let exception = match recorded {
            Ok(exception) => exception,
            Err(error) => {
                tracing::error!(%error, "cannot record an exception request");
                return Err(FormErrors::from([(REASON_BLOCK, text::internal_error())]));
            }
        };
        self.audit(
            asker,
            "exception.request",
            &control.id,
            json!({ "exception": exception.seq, "expires_at": expires_at }),
        )
        .await;
        let bot = self.clone();
        let channel = if form.channel.is_empty() { asker.user.clone() } else { form.channel };
        self.spawn(async move {
            let Some(slack) = bot.slack() else { return };
            if let Err(error) =
                slack.post_message(&channel, &reply::exception_request(&exception), None).await
            {
                tracing::warn!(%error, "cannot post an exception request for approval");
            }
        });
        Ok(())
    }

    // ----- App Home -------------------------------------------------------------------------

    /// Publishes the posture dashboard to `user`'s App Home tab.
    pub async fn publish_home(&self, user: &str) -> Result<(), ClickError> {
        let slack = self.slack().ok_or(ClickError::NoSlack)?;
        let now = self.now();
        let engine = self.engine();
        let current = engine.current(now).await?;
        let status = StatusView::new(engine.catalog(), &current.refresh, current.has_evidence);
        let exceptions = engine.store().exceptions().await?;
        let timezone = *self.inner.timezone.get().unwrap_or(&chrono_tz::UTC);
        let digest = crate::jobs::digest::gather(
            engine.store(),
            engine.catalog(),
            &current.refresh,
            timezone,
            now,
        )
        .await?;
        let trend = crate::jobs::digest::sparkline(&digest.trend);
        let mut tickets = HashMap::new();
        for line in status.attention.iter().take(reply::HOME_CONTROLS) {
            if let Some(key) =
                engine.store().current_ticket(&line.id).await?.and_then(|ticket| ticket.issue_key)
            {
                tickets.insert(line.id.clone(), key);
            }
        }
        let home = reply::home(&status, &exceptions, now, &trend, &tickets);
        slack.publish_home(user, home).await?;
        Ok(())
    }

    /// Answers an `@Kushim …` mention in a thread under it, visible to the channel.
    /// `bot_user_id` is the bot's own user id, so other mentions in the message are skipped.
    pub async fn answer_mention(&self, asker: &Asker, text: &str, bot_user_id: &str, ts: &str) {
        let Some(parsed) = commands::parse_mention(text, bot_user_id, self.engine().catalog())
        else {
            return;
        };
        let reply = self.answer(asker, parsed).await;
        if let Some(slack) = self.slack()
            && let Err(error) = slack.post_message(&asker.channel, &reply, Some(ts)).await
        {
            tracing::warn!(%error, "cannot answer a mention");
        }
    }
}

/// What went wrong carrying out a click.
#[derive(Debug, thiserror::Error)]
pub enum ClickError {
    /// Something the person should read (and can act on).
    #[error("{0}")]
    Person(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Slack(#[from] SlackApiError),
    #[error("Slack is not configured (SLACK_BOT_TOKEN)")]
    NoSlack,
    #[error("{0:#}")]
    Other(anyhow::Error),
}

/// How a Slack user is named in the store.
pub fn actor_name(user: &str) -> String {
    format!("slack:{user}")
}

fn integration_names(integrations: &[Integration]) -> String {
    integrations.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(",")
}

/// A "Show more" value: `controls:<filter>:<offset>`.
pub fn page_value(filter: &ControlsFilter, offset: usize) -> String {
    let filter = match filter {
        ControlsFilter::All => "all".to_owned(),
        ControlsFilter::Failing => "failing".to_owned(),
        ControlsFilter::Criterion(id) => id.clone(),
    };
    format!("controls:{filter}:{offset}")
}

fn parse_page(value: &str, engine: &Engine) -> Option<(ControlsFilter, usize)> {
    let rest = value.strip_prefix("controls:")?;
    let (filter, offset) = rest.rsplit_once(':')?;
    let offset = offset.parse().ok()?;
    let filter = match filter {
        "all" => ControlsFilter::All,
        "failing" => ControlsFilter::Failing,
        id => {
            // Only criteria the catalog knows: the value is looked up, not trusted.
            engine.catalog().criterion(id)?;
            ControlsFilter::Criterion(id.to_owned())
        }
    };
    Some((filter, offset))
}
