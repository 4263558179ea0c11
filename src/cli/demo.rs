//! `kushim demo`: the whole product on a simulated organisation, in one command.
//!
//! It starts the sandbox (fakes of GitHub, AWS IAM, Okta, Jira and Slack on 127.0.0.1), collects
//! from it through the real client crates into a database of its own, evaluates all 64 controls,
//! prints the posture and the failing controls with their reasons, and opens the remediation
//! tickets of the severe ones in the sandbox Jira. On a terminal it then offers a console for the
//! other commands; otherwise (scripts, CI) it exits.

use std::{io::IsTerminal, path::Path, process::ExitCode, str::FromStr};

use anyhow::Context;
use chrono::Utc;
use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Cli, Command, Painter, print, recorded_states, render, run_command};
use crate::{
    chat::{
        bot::{Asker, Bot},
        roles::Roles,
    },
    collection::{self, Progress},
    config::{Config, SlackRoles},
    controls::ControlState,
    engine::Engine,
    integrations::collect::RetryPolicy,
    jobs,
    sandbox::{Sandbox, SandboxSize},
    store::{DatabaseUrl, Store},
    views,
};

/// Failing controls explained after the posture, and problems listed under each.
const FAILING_SHOWN: usize = 8;
const PROBLEMS_SHOWN: usize = 3;

pub async fn run(keep: Option<&Path>) -> anyhow::Result<ExitCode> {
    let painter = Painter::for_stdout();
    let size = SandboxSize::DEMO;
    let temporary = tempfile::tempdir().context("cannot create a temporary directory")?;
    let path = keep.map_or_else(|| temporary.path().join("kushim-demo.db"), Path::to_path_buf);
    let url = DatabaseUrl::from_str(&path.display().to_string())?;

    print(&format!(
        "Kushim demo: a simulated organisation (GitHub org \"acme\" with {} repositories and {} members, \
         an AWS account with {} IAM users, an Okta org with {} users, a Slack workspace with {} members, \
         a Jira site with project SEC)\nserved on 127.0.0.1 by fakes that speak each service's API. \
         Nothing leaves this machine.\n\n",
        size.repos, size.members, size.iam_users, size.okta_users, size.slack_members
    ));
    let sandbox = Sandbox::start(size).await.context("cannot start the sandbox servers")?;
    let config = Config::default();
    let engine = Engine::new(Store::open(&url).await?, &config)?;

    let targets = sandbox.targets();
    let progress = Progress::for_terminal(&targets.integrations());
    let before = recorded_states(&engine).await?;
    let reports =
        collection::collect(&engine, &targets, &RetryPolicy::default(), &progress).await?;
    print(&render::collect(&views::CollectView::new(engine.catalog(), &reports, &before), painter));

    let now = Utc::now();
    let refresh = engine.refresh(now).await?;
    let status = views::StatusView::new(engine.catalog(), &refresh, true);
    print(&format!("\n{}", render::status(&status, painter)));
    print(&failing_controls(&engine, &refresh).await?);
    // Tickets first, so the digest below lists them.
    print(&remediation_tickets(&engine, &sandbox, &refresh).await?);
    print(&in_slack(&engine, &refresh, now).await?);

    match keep {
        Some(path) => print(&format!(
            "\nThe demo database is kept in {}: `kushim --database-url {} status` reads it.\n",
            path.display(),
            path.display()
        )),
        None => print(
            "\nThe demo database is temporary and is deleted when the demo ends (--keep FILE keeps it).\n",
        ),
    }

    if std::io::stdin().is_terminal() {
        let bot = chat_bot(&engine, &sandbox);
        console(&engine, &bot, &config, &url).await?;
    }
    engine.store().close().await;
    drop(sandbox);
    Ok(ExitCode::SUCCESS)
}

/// The failing controls, worst first, each with its reason and first failing resources.
async fn failing_controls(
    engine: &Engine,
    refresh: &crate::engine::Refresh,
) -> anyhow::Result<String> {
    let findings = engine.store().latest_findings().await?;
    let mut failing: Vec<_> = engine
        .catalog()
        .controls()
        .iter()
        .zip(&refresh.assessments)
        .filter(|(_, a)| a.state == ControlState::Failing)
        .collect();
    failing.sort_by(|(a, _), (b, _)| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    let mut out = format!("\nFailing controls ({}), most severe first:\n", failing.len());
    for (control, assessment) in failing.iter().take(FAILING_SHOWN) {
        out.push_str(&format!(
            "\n  {} {} [{}]\n    {}\n",
            control.id, control.title, control.severity, assessment.reason
        ));
        let mut seen = std::collections::HashSet::new();
        let problems = findings.iter().filter(|f| {
            control.checks.contains(&f.check_id)
                && f.outcome == crate::checks::Outcome::Fail
                // Two checks may fail one resource for one reason; say it once.
                && seen.insert((f.resource.as_str(), f.reason.as_str()))
        });
        for finding in problems.take(PROBLEMS_SHOWN) {
            out.push_str(&format!("    - {}: {}\n", finding.resource, finding.reason));
        }
    }
    if failing.len() > FAILING_SHOWN {
        out.push_str(&format!(
            "\n  … and {} more: `controls --failing` lists them.\n",
            failing.len() - FAILING_SHOWN
        ));
    }
    Ok(out)
}

/// An alert and the daily digest as `kushim serve` would post them to subscribed channels.
async fn in_slack(
    engine: &Engine,
    refresh: &crate::engine::Refresh,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let worst = engine
        .catalog()
        .controls()
        .iter()
        .zip(&refresh.assessments)
        .filter(|(_, a)| a.state == ControlState::Failing)
        .max_by(|(a, _), (b, _)| a.severity.cmp(&b.severity).then(b.id.cmp(&a.id)));
    if let Some((control, _)) = worst
        && let Some(transition) = engine.store().transitions_of(&control.id, 1).await?.first()
    {
        let alert = jobs::alerts::alert(control, transition, 1, chrono::TimeDelta::hours(1));
        out.push_str(&format!(
            "\nIn a channel subscribed to alerts (`/kushim subscribe #security alerts`), `kushim serve` posts:\n\n{}",
            indent(&alert.to_plain_text())
        ));
    }
    let inputs =
        jobs::digest::gather(engine.store(), engine.catalog(), refresh, chrono_tz::UTC, now)
            .await?;
    out.push_str(&format!(
        "\nAnd every weekday at 09:00 in a channel subscribed to the digest:\n\n{}",
        indent(&jobs::digest::digest(&inputs, now).to_plain_text())
    ));
    Ok(out)
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

/// The remediation loop on the sandbox's Jira site: tickets for the failing controls of the
/// automatic severities (critical and high by default), as `kushim` would open them.
async fn remediation_tickets(
    engine: &Engine,
    sandbox: &Sandbox,
    refresh: &crate::engine::Refresh,
) -> anyhow::Result<String> {
    let remediation = crate::remediation::Remediation::new(
        engine.clone(),
        sandbox.jira.settings(),
        RetryPolicy::default(),
    )?;
    let events = remediation.reconcile(refresh, refresh.at).await?;
    let opened: Vec<_> =
        events.iter().filter(|e| e.kind == crate::remediation::TicketEventKind::Created).collect();
    let mut out = format!(
        "\nJira (sandbox site, project SEC): {} remediation tickets opened for the failing critical and \
         high-severity controls, each labelled, due by severity, with the failing resources in its \
         description:\n",
        opened.len()
    );
    for event in opened.iter().take(PROBLEMS_SHOWN) {
        out.push_str(&format!("  {}  {}  {}\n", event.key, event.control_id, event.url));
    }
    if opened.len() > PROBLEMS_SHOWN {
        out.push_str(&format!("  … and {} more.\n", opened.len() - PROBLEMS_SHOWN));
    }
    Ok(out)
}

/// The person at the demo's console, as Slack would name them. An admin, so every command works.
const CONSOLE_USER: &str = "UDEMOADMIN";

/// The chat bot over the demo's data, for `/kushim …` typed at the console. No Slack workspace
/// is behind it: replies are printed as plain text.
fn chat_bot(engine: &Engine, sandbox: &Sandbox) -> Bot {
    let roles =
        Roles::new(&SlackRoles { admins: vec![CONSOLE_USER.into()], ..SlackRoles::default() });
    let bot =
        Bot::new(engine.clone(), None, roles, sandbox.targets(), crate::server::system_clock());
    let jira = sandbox.jira.settings();
    let url = jira.url.clone();
    if let Ok(remediation) =
        crate::remediation::Remediation::new(engine.clone(), jira, RetryPolicy::default())
    {
        bot.set_remediation(remediation, &url);
    }
    bot
}

/// Reads commands from the terminal and runs them on the demo's database: CLI commands as the
/// CLI would, and `/kushim …` as the Slack bot would answer them.
async fn console(
    engine: &Engine,
    bot: &Bot,
    config: &Config,
    url: &DatabaseUrl,
) -> anyhow::Result<()> {
    print(
        "\nTry the other commands on the demo data: status, controls --failing, control AC-02, \
         findings --failing, verify. Type `/kushim status` (or any `/kushim` command) to see what \
         the Slack bot answers. `help` lists them, `quit` ends the demo.\n",
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        print("kushim> ");
        let Some(line) = lines.next_line().await? else { break };
        if let Some(chat) = line.trim().strip_prefix("/kushim") {
            let asker = Asker { user: CONSOLE_USER.into(), ..Asker::default() };
            print(&format!("\n{}\n", bot.command(&asker, chat).await.to_plain_text()));
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            None => continue,
            Some("quit" | "exit" | "q") => break,
            Some("help") => {
                let _ = Cli::try_parse_from(["kushim", "--help"])
                    .map_err(|help| print(&help.to_string()));
                continue;
            }
            Some(_) => {}
        }
        let command =
            match Cli::try_parse_from(std::iter::once("kushim").chain(words.iter().copied())) {
                Ok(cli) => cli.command,
                Err(error) => {
                    print(&error.to_string());
                    continue;
                }
            };
        if matches!(command, Command::Init { .. } | Command::Demo { .. }) {
            print("That command is not available inside the demo.\n");
            continue;
        }
        if let Err(error) =
            run_command(engine, config, url, command, Painter::for_stdout(), Utc::now()).await
        {
            print(&format!("error: {error:#}\n"));
        }
    }
    Ok(())
}
