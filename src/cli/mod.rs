//! The `kushim` command line. Each subcommand opens the store (migrating it), asks the engine, and
//! prints a view either as a table ([`render`]) or as JSON ([`crate::views`]).
//!
//! Exit codes: 0 success; 1 `kushim verify` found a broken chain; 2 any error (bad usage,
//! unreadable configuration, unknown control, database unreachable).

mod demo;
mod render;

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::views;
use crate::{
    chat::{self, bot::Bot, roles::Roles, slack::SlackWebApi},
    checks::{self, Finding, Outcome},
    collection::{self, Progress, Targets},
    config::SlackMode,
    config::{self, Config},
    engine::{Actor, Engine},
    integrations::{Integration, collect::RetryPolicy},
    server,
    store::{DatabaseUrl, Store},
    suggest::did_you_mean,
};
use render::Painter;
use views::{ControlDetail, ControlRecords, ControlsView, FindingsView, StatusView};

/// Kushim watches your systems for SOC 2 and keeps tamper-evident evidence.
#[derive(Debug, Parser)]
#[command(name = "kushim", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file [default: ./kushim.toml when present]
    #[arg(long, global = true, env = "KUSHIM_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    /// Database: a SQLite file path or sqlite:// URL, or postgres://user@host/db [default: kushim.db]
    #[arg(long, global = true, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations (also done automatically by every command)
    Migrate,
    /// Write a commented kushim.toml with every setting and its default
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Overall posture: score, controls per state, per SOC 2 category, what needs attention
    Status(JsonFlag),
    /// List controls with their current state
    Controls {
        /// Only controls in the failing state
        #[arg(long)]
        failing: bool,
        /// Only controls mapped to this Trust Services Criterion, e.g. CC6.1
        #[arg(long, value_name = "ID")]
        criterion: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Explain one control: criteria, checks, failing resources, evidence, history, remediation
    Control {
        /// Control id, e.g. AC-01 (any case)
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// The newest findings of the automated checks: outcome, resource, reason, observed time
    Findings {
        /// Only this check, e.g. gh.repo.required_reviews
        #[arg(long, value_name = "ID")]
        check: Option<String>,
        /// Only failing findings
        #[arg(long)]
        failing: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Recompute every evidence hash chain; exit 1 and name the first broken record if any
    Verify(JsonFlag),
    /// Collect evidence from the configured integrations, then evaluate every control
    Collect {
        /// Only this integration
        #[arg(long, value_enum)]
        only: Option<IntegrationArg>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Check each configured integration's credentials and permissions, and say what is missing
    Doctor {
        /// Only this integration
        #[arg(long, value_enum)]
        only: Option<IntegrationArg>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Try Kushim on a simulated organisation served on 127.0.0.1: no accounts, no network
    Demo {
        /// Keep the demo's database in this SQLite file (default: a temporary one, deleted on exit)
        #[arg(long, value_name = "PATH")]
        keep: Option<PathBuf>,
    },
    /// Serve Slack's slash commands, /healthz and /readyz over HTTP (needs SLACK_SIGNING_SECRET)
    Serve {
        /// Address to listen on
        #[arg(long, env = "KUSHIM_LISTEN", value_name = "ADDR", default_value = "127.0.0.1:3000")]
        listen: std::net::SocketAddr,
    },
    /// Manual evidence (policies, sign-offs, reports)
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Open the control's Jira remediation ticket, or show the one it has (needs [jira] or JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN)
    Ticket {
        /// Control id, e.g. AC-02
        id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Print the chat app definitions generated from the commands (manifest/*.json)
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// The background job queue: jobs per kind and status, recent jobs, dead jobs with their error
    #[command(args_conflicts_with_subcommands = true)]
    Jobs {
        #[command(subcommand)]
        action: Option<JobsAction>,
        /// Only jobs in this status
        #[arg(long, value_enum)]
        status: Option<JobStatusArg>,
        /// How many jobs to list, newest first
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
enum JobsAction {
    /// Run a job that gave up (status dead) again, with its attempts back
    Retry {
        /// The job's id, as `kushim jobs` lists it
        id: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Queue a job now for the workers of `kushim serve` (the same jobs the schedules queue)
    Enqueue {
        /// collect, evaluate, digest, exception_sweep, evidence_reminders, jira_sync or
        /// evidence_retention
        kind: String,
        /// For collect: only this integration
        #[arg(long, value_enum)]
        integration: Option<IntegrationArg>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// The job statuses `kushim jobs --status` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum JobStatusArg {
    Queued,
    Running,
    Done,
    Dead,
}

impl From<JobStatusArg> for crate::store::JobStatus {
    fn from(arg: JobStatusArg) -> Self {
        match arg {
            JobStatusArg::Queued => crate::store::JobStatus::Queued,
            JobStatusArg::Running => crate::store::JobStatus::Running,
            JobStatusArg::Done => crate::store::JobStatus::Done,
            JobStatusArg::Dead => crate::store::JobStatus::Dead,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ManifestCommand {
    /// The Slack app manifest (JSON) for a server Slack reaches at --base-url
    Slack {
        /// Where Slack reaches `kushim serve`, e.g. https://kushim.example.com
        #[arg(long, value_name = "URL")]
        base_url: String,
    },
    /// The Discord application commands (JSON), for the bulk-overwrite endpoint
    Discord,
}

#[derive(Debug, Subcommand)]
enum EvidenceCommand {
    /// Store a document as evidence for a manual or hybrid control
    Add {
        /// Control id, e.g. GOV-01
        control: String,
        /// The document to store (kept in the ledger with its SHA-256)
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
        /// What the document shows, for the auditor
        #[arg(long)]
        note: String,
        /// Who renews it [default: the control's owner role]
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// The integrations `--only` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum IntegrationArg {
    Github,
    Aws,
    Okta,
    Jira,
    Slack,
}

impl From<IntegrationArg> for Integration {
    fn from(arg: IntegrationArg) -> Integration {
        match arg {
            IntegrationArg::Github => Integration::GitHub,
            IntegrationArg::Aws => Integration::Aws,
            IntegrationArg::Okta => Integration::Okta,
            IntegrationArg::Jira => Integration::Jira,
            IntegrationArg::Slack => Integration::Slack,
        }
    }
}

#[derive(Debug, Clone, Copy, Args)]
struct JsonFlag {
    /// Print JSON instead of a table (stable; see the README)
    #[arg(long)]
    json: bool,
}

/// Runs the parsed command and turns its result into an exit code, printing errors to stderr.
pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init { force } => {
            return init(cli.config.as_deref().unwrap_or(Path::new(config::DEFAULT_PATH)), force);
        }
        // The demo never touches the configured database: sandbox data stays in its own file.
        Command::Demo { keep } => return demo::run(keep.as_deref()).await,
        // Generated from compiled-in data: no configuration, no database.
        Command::Manifest(which) => return manifest(which),
        Command::Serve { listen } => {
            return serve(cli.config.as_deref(), cli.database_url.as_deref(), listen).await;
        }
        _ => {}
    }
    let loaded = Config::load(cli.config.as_deref())?;
    let url = loaded.config.database_url(cli.database_url.as_deref())?;
    let store = Store::open(&url).await?;
    let engine = Engine::new(store, &loaded.config)?;
    let code =
        run_command(&engine, &loaded.config, &url, cli.command, Painter::for_stdout(), Utc::now())
            .await;
    engine.store().close().await;
    code
}

/// `kushim serve`: checks the Slack settings first (a server that cannot verify Slack must not
/// start), then opens the store and serves until Ctrl-C or SIGTERM.
async fn serve(
    config: Option<&Path>,
    database_url: Option<&str>,
    listen: std::net::SocketAddr,
) -> anyhow::Result<ExitCode> {
    let loaded = Config::load(config)?;
    // Secrets come from the environment or files, never a flag: a flag's value shows in `ps`
    // and shell history.
    let settings = loaded.config.slack(&config::process_env)?;
    let socket_mode = settings.mode == SlackMode::Socket;
    let secret = match (settings.signing_secret.clone(), socket_mode) {
        (Some(secret), _) => secret,
        // Over Socket Mode nothing arrives on the HTTP Slack endpoints; a secret nobody knows
        // makes them refuse every request.
        (None, true) => config::Secret::new(uuid::Uuid::new_v4().to_string()),
        (None, false) => bail!(
            "SLACK_SIGNING_SECRET is not set: copy the Signing Secret from your Slack app's \
             Basic Information page into it, so Kushim can verify that requests come from Slack \
             (or use Socket Mode: [slack] mode = \"socket\" with SLACK_APP_TOKEN)"
        ),
    };
    let slack = match &settings.bot_token {
        Some(token) => Some(SlackWebApi::new(&settings.api_url, token)?),
        None if socket_mode => {
            bail!("Socket Mode needs SLACK_BOT_TOKEN (OAuth & Permissions, xoxb-…) to answer")
        }
        None => {
            eprintln!(
                "SLACK_BOT_TOKEN is not set: slash commands answer, but buttons, forms, the App \
                 Home and mentions need the bot token (OAuth & Permissions, xoxb-…)."
            );
            None
        }
    };
    let app_token = match (&settings.app_token, socket_mode) {
        (Some(token), true) => Some(token.clone()),
        (None, true) => bail!(
            "Socket Mode needs SLACK_APP_TOKEN: an app-level token (xapp-…) with the \
             connections:write scope, from your Slack app's Basic Information page"
        ),
        (_, false) => None,
    };
    let targets = Targets::configured(&loaded.config, &config::process_env)?;
    let url = loaded.config.database_url(database_url)?;
    let store = Store::open(&url).await?;
    let engine = Engine::new(store, &loaded.config)?;
    let clock = server::system_clock();
    let integrations = targets.integrations();
    let mut runner = crate::jobs::runner(&engine, &loaded.config, targets.clone(), clock.clone())?;
    let jira = loaded.config.jira(&config::process_env)?;
    if let Some(jira) = &jira {
        // The scheduled Jira sync: statuses back from Jira, then tickets brought in line with
        // the controls as they stand.
        let remediation = std::sync::Arc::new(crate::remediation::Remediation::new(
            engine.clone(),
            jira.clone(),
            crate::integrations::collect::RetryPolicy::default(),
        )?);
        let engine = engine.clone();
        runner = runner.with_jira_sync(std::sync::Arc::new(move |now| {
            let (remediation, engine) = (remediation.clone(), engine.clone());
            Box::pin(async move {
                let mut events = remediation.sync(now).await.map_err(|e| e.to_string())?;
                let refresh = engine.refresh(now).await.map_err(|e| e.to_string())?;
                events
                    .extend(remediation.reconcile(&refresh, now).await.map_err(|e| e.to_string())?);
                crate::jobs::alerts::queue_ticket_events(engine.store(), &events, now)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            })
        }));
    }
    let mut background = crate::jobs::start(runner, &loaded.config, &integrations, clock.clone())?;
    if let Some(api) = &slack {
        let name = format!("{}/outbox", crate::jobs::process_name());
        let outbox = crate::outbox::Dispatcher::new(
            engine.store().clone(),
            api.clone(),
            name,
            clock.clone(),
        )
        .with_lease(loaded.config.jobs.lease());
        background.deliver(outbox, crate::jobs::background::OUTBOX_POLL);
    }
    let bot = Bot::new(engine, slack.clone(), Roles::new(&settings.roles), targets, clock);
    if let Ok(timezone) = loaded.config.jobs.timezone().parse::<chrono_tz::Tz>() {
        bot.set_timezone(timezone);
    }
    // The workers above run queued jobs in this process: chat collections become jobs too.
    bot.use_job_queue();
    if let Some(jira) = jira {
        let url = jira.url.clone();
        let remediation = crate::remediation::Remediation::new(
            bot.engine().clone(),
            jira,
            crate::integrations::collect::RetryPolicy::default(),
        )?;
        bot.set_remediation(remediation, &url);
    }
    let stopping = tokio_util::sync::CancellationToken::new();
    let signal = server::shutdown_signal();
    tokio::spawn({
        let stopping = stopping.clone();
        async move {
            signal.await;
            stopping.cancel();
        }
    });
    tokio::spawn({
        let (stopping, background) = (stopping.clone(), background.stop_handle());
        async move {
            stopping.cancelled().await;
            background.stop();
        }
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    // The bound address, not the asked one: `--listen 127.0.0.1:0` picks a free port.
    let bound = listener.local_addr().context("the listening address")?;
    let socket = match (&slack, &app_token) {
        (Some(slack), Some(app_token)) => {
            let (bot, slack, app_token, stopping) =
                (bot.clone(), slack.clone(), app_token.clone(), stopping.clone());
            Some(tokio::spawn(async move {
                server::socket::run(bot, &slack, &app_token, stopping.cancelled_owned()).await
            }))
        }
        _ => None,
    };
    if socket.is_some() {
        eprintln!(
            "Kushim is listening on http://{bound} (/metrics, /healthz, /readyz) and talks to \
             Slack over Socket Mode"
        );
    } else {
        eprintln!(
            "Kushim is listening on http://{bound} (Slack: /slack/commands, /slack/interactions, \
             /slack/events; /metrics, /healthz, /readyz)"
        );
    }
    let mut state = server::AppState::new(bot.clone(), secret);
    // Jira webhooks only when both Jira and the webhook secret are set up.
    let webhook_secret = config::process_env("JIRA_WEBHOOK_SECRET");
    if let (Some(jira), Some(secret)) = (loaded.config.jira(&config::process_env)?, webhook_secret)
    {
        let remediation = crate::remediation::Remediation::new(
            bot.engine().clone(),
            jira,
            crate::integrations::collect::RetryPolicy::default(),
        )?;
        state = state.with_jira(server::JiraWebhook {
            remediation,
            secret: config::Secret::new(secret.trim()),
        });
        eprintln!("Jira webhooks are accepted at /jira/webhook");
    }
    server::serve(listener, state, stopping.clone().cancelled_owned()).await.context("serving")?;
    if let Some(socket) = socket {
        socket.await.context("the Socket Mode task")??;
    }
    // Running jobs finish, or are released for another replica after the grace period.
    background.stop().await;
    bot.engine().store().close().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs one command on an open engine; the CLI and the demo's console share it.
async fn run_command(
    engine: &Engine,
    config: &Config,
    url: &DatabaseUrl,
    command: Command,
    painter: Painter,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init { .. }
        | Command::Demo { .. }
        | Command::Manifest(_)
        | Command::Serve { .. } => {
            unreachable!("handled before a store is opened")
        }
        Command::Migrate => {
            let mut out = format!("Database {url} is up to date.\n");
            for (version, description, applied) in engine.store().migration_status().await? {
                let mark = if applied { "applied" } else { "pending" };
                out.push_str(&format!("  {version:04} {description} ({mark})\n"));
            }
            print(&out);
        }
        Command::Status(flag) => {
            let refresh = engine.refresh(now).await?;
            let collected = !engine.store().latest_evidence().await?.is_empty();
            let view = StatusView::new(engine.catalog(), &refresh, collected);
            emit(flag.json, &view, || render::status(&view, painter))?;
        }
        Command::Controls { failing, criterion, json } => {
            if let Some(id) = &criterion
                && engine.catalog().criterion(id).is_none()
            {
                bail!(
                    "unknown criterion {id:?}; criteria look like CC6.1, A1.2, C1.1, PI1.3 or P4.2"
                );
            }
            let refresh = engine.refresh(now).await?;
            let controls = views::lines(engine.catalog(), &refresh)
                .into_iter()
                .filter(|line| !failing || line.state == crate::controls::ControlState::Failing)
                .filter(|line| {
                    criterion
                        .as_ref()
                        .is_none_or(|id| line.criteria.iter().any(|c| c.eq_ignore_ascii_case(id)))
                })
                .collect::<Vec<_>>();
            let view = ControlsView { evaluated_at: refresh.at, controls };
            emit(json.json, &view, || render::controls(&view.controls, painter))?;
        }
        Command::Control { id, json } => {
            let control = engine.control(&id)?.clone();
            let refresh = engine.refresh(now).await?;
            let assessment = refresh
                .assessments
                .iter()
                .find(|a| a.control_id == control.id)
                .context("every catalog control is assessed")?;
            let store = engine.store();
            let records = ControlRecords {
                findings: store.latest_findings().await?,
                evidence: store.latest_evidence().await?,
                manual_evidence: store.manual_evidence_of(&control.id).await?,
                exceptions: store.exceptions().await?,
                history: store.transitions_of(&control.id, 20).await?,
            };
            let site = config
                .jira
                .as_ref()
                .and_then(|j| j.url.clone())
                .or_else(|| config::process_env("JIRA_URL"));
            let ticket = store
                .current_ticket(&control.id)
                .await?
                .map(|link| crate::views::TicketLine::new(&link, site.as_deref()));
            let detail =
                ControlDetail::new(engine.catalog(), &control, assessment, refresh.at, records)
                    .with_ticket(ticket);
            emit(json.json, &detail, || render::control(&detail, painter))?;
        }
        Command::Findings { check, failing, json } => {
            if let Some(id) = &check
                && checks::find(id).is_none()
            {
                bail!("no check {id:?}{}", did_you_mean(&checks::suggest(id)));
            }
            let findings: Vec<Finding> = engine
                .store()
                .latest_findings()
                .await?
                .into_iter()
                .filter(|f| check.as_ref().is_none_or(|id| &f.check_id == id))
                .filter(|f| !failing || f.outcome == Outcome::Fail)
                .collect();
            let view = FindingsView { findings };
            emit(json.json, &view, || render::findings(&view.findings, painter))?;
        }
        Command::Collect { only, json } => {
            let targets = targets(config, only)?;
            let progress = if json.json {
                Progress::silent()
            } else {
                Progress::for_terminal(&targets.integrations())
            };
            let before = recorded_states(engine).await?;
            let reports =
                collection::collect(engine, &targets, &RetryPolicy::default(), &progress).await?;
            let mut view = views::CollectView::new(engine.catalog(), &reports, &before);
            // With Jira configured, tickets follow the new states whichever integration ran.
            if let (Some(jira), Some(latest)) = (config.jira(&config::process_env)?, reports.last())
            {
                let remediation = crate::remediation::Remediation::new(
                    engine.clone(),
                    jira,
                    RetryPolicy::default(),
                )?;
                let mut events = match remediation.sync(now).await {
                    Ok(events) => events,
                    // The reconcile below still runs; its own failures become events.
                    Err(error) => {
                        eprintln!("warning: Jira ticket statuses could not be synced: {error}");
                        Vec::new()
                    }
                };
                events.extend(remediation.reconcile(&latest.refresh, now).await?);
                // Posted to the alert channels by `kushim serve`'s outbox.
                crate::jobs::alerts::queue_ticket_events(engine.store(), &events, now).await?;
                view = view.with_ticket_events(events);
            }
            emit(json.json, &view, || render::collect(&view, painter))?;
            if view.runs.iter().any(|run| run.outcome != "collected") {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Doctor { only, json } => {
            let targets = targets(config, only)?;
            let diagnoses = collection::doctor(&targets, &RetryPolicy::default()).await;
            emit(json.json, &diagnoses, || render::doctor(&diagnoses, painter))?;
            if diagnoses.iter().any(|d| !d.ok) {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Verify(flag) => {
            let report = engine.store().verify().await?;
            emit(flag.json, &report, || render::verify(&report, painter))?;
            if !report.intact() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Jobs { action: Some(JobsAction::Enqueue { kind, integration, json }), .. } => {
            let request = crate::jobs::JobRequest::parse(&kind, integration.map(Into::into))?;
            let key = format!("cli:{}:{}", request.kind(), uuid::Uuid::new_v4());
            let (job, _) = crate::jobs::enqueue(engine.store(), &request, key, now).await?;
            emit(json.json, &job, || {
                format!("Queued job {} ({}); `kushim serve` runs it.\n", job.id, job.kind)
            })?;
        }
        Command::Jobs { action: Some(JobsAction::Retry { id, json }), .. } => {
            let store = engine.store();
            let Some(job) = store.retry_dead_job(id, now).await? else {
                match store.job(id).await? {
                    Some(job) => bail!(
                        "job {id} is {}, not dead: only a job that gave up can be retried",
                        job.status
                    ),
                    None => bail!("there is no job {id}; `kushim jobs` lists them"),
                }
            };
            let actor = cli_actor();
            store
                .audit(crate::store::AuditEntry {
                    at: now,
                    actor: actor.name,
                    origin: actor.origin,
                    action: "job.retry".into(),
                    target: format!("job:{id}"),
                    detail: serde_json::json!({ "kind": job.kind }),
                })
                .await?;
            emit(json.json, &job, || {
                format!("Queued job {id} ({}) again; `kushim serve` runs it.\n", job.kind)
            })?;
        }
        Command::Jobs { action: None, status, limit, json } => {
            let store = engine.store();
            let depth = store.queue_depth().await?;
            let jobs = store.jobs(status.map(Into::into), limit.clamp(1, 10_000)).await?;
            let view = serde_json::json!({ "queues": depth, "jobs": jobs });
            emit(json.json, &view, || render::jobs(&depth, &jobs, painter))?;
        }
        Command::Ticket { id, json } => {
            let settings = config.jira(&config::process_env)?.context(
                "Jira is not configured: set JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN (`kushim init` \
                 shows the [jira] settings)",
            )?;
            let remediation = crate::remediation::Remediation::new(
                engine.clone(),
                settings,
                crate::integrations::collect::RetryPolicy::default(),
            )?;
            // Judge on the newest evidence first, as `kushim control` does.
            engine.refresh(now).await?;
            let outcome = remediation.open_ticket(&id, &cli_actor(), now).await?;
            emit(json.json, &outcome, || render::ticket_outcome(&outcome))?;
        }
        Command::Evidence(EvidenceCommand::Add { control, file, note, owner, json }) => {
            let content =
                fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let file_name = file
                .file_name()
                .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
            let (record, refresh) = engine
                .add_manual_evidence(
                    &control,
                    &file_name,
                    content,
                    &note,
                    owner.as_deref(),
                    &cli_actor(),
                    now,
                )
                .await?;
            let state = refresh.state_of(&record.control_id).map_or("unknown", |s| s.as_str());
            emit(json.json, &record, || {
                format!(
                    "Stored {} ({} bytes, sha256:{}) as evidence #{} for {}.\nOwner {}; due again on {}. {} is now {state}.\n",
                    record.file_name,
                    record.size_bytes,
                    record.content_sha256,
                    record.seq,
                    record.control_id,
                    record.owner,
                    record.due_at.format("%Y-%m-%d"),
                    record.control_id
                )
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each control's recorded state, to report what a command changed.
async fn recorded_states(
    engine: &Engine,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    Ok(engine
        .store()
        .control_states()
        .await?
        .into_iter()
        .map(|row| (row.control_id, row.state))
        .collect())
}

/// The configured integrations, narrowed by `--only`; an error when there is nothing to do.
fn targets(config: &Config, only: Option<IntegrationArg>) -> anyhow::Result<Targets> {
    let mut targets = Targets::configured(config, &config::process_env)?;
    if let Some(only) = only {
        let integration = Integration::from(only);
        targets = targets.only(integration);
        if targets.integrations().is_empty() {
            bail!(
                "{integration} is not configured; `kushim init` writes a kushim.toml that shows how"
            );
        }
    }
    if targets.integrations().is_empty() {
        bail!(
            "no integration is configured: set GITHUB_TOKEN and GITHUB_ORG, the standard AWS \
             environment, OKTA_ORG_URL and OKTA_API_TOKEN, or SLACK_EVIDENCE_TOKEN (`kushim init` \
             shows every setting), or try `kushim demo`"
        );
    }
    Ok(targets)
}

fn init(path: &Path, force: bool) -> anyhow::Result<ExitCode> {
    if path.exists() && !force {
        bail!("{} already exists; pass --force to overwrite it", path.display());
    }
    fs::write(path, config::EXAMPLE).with_context(|| format!("cannot write {}", path.display()))?;
    print(&format!(
        "Wrote {}. Every setting is commented out with its default; edit what you need.\n",
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn manifest(which: ManifestCommand) -> anyhow::Result<ExitCode> {
    let manifest = match which {
        ManifestCommand::Slack { base_url } => {
            let url = url::Url::parse(&base_url)
                .ok()
                .filter(|url| matches!(url.scheme(), "https" | "http"));
            if url.is_none() {
                bail!(
                    "--base-url {base_url:?} must be an http(s) URL, like https://kushim.example.com"
                );
            }
            chat::manifest::slack_manifest(&base_url)
        }
        ManifestCommand::Discord => chat::manifest::discord_commands(),
    };
    print(&chat::manifest::to_file_text(&manifest));
    Ok(ExitCode::SUCCESS)
}

/// The person running the CLI, for the audit log.
fn cli_actor() -> Actor {
    let name = std::env::var("KUSHIM_ACTOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    let host = fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    Actor { name: format!("cli:{name}"), origin: format!("cli@{host}") }
}

fn emit<T: Serialize>(json: bool, view: &T, human: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json {
        print(&format!("{}\n", serde_json::to_string_pretty(view)?));
    } else {
        print(&human());
    }
    Ok(())
}

/// Prints to stdout, ignoring a closed pipe (`kushim controls | head`).
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // Flushed, so a prompt without a newline (the demo's console) shows before input is read.
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}
