use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    kushim::chat::slack::install_crypto_provider();
    // Warnings only by default, on stderr, so stdout stays clean for tables and --json.
    // octocrab logs every failed request as an error of its own; Kushim reports those failures
    // itself, with what to fix, so octocrab's log is off unless asked for.
    // KUSHIM_LOG (same syntax as RUST_LOG) turns more on, e.g. `info` for a server.
    // gouqi's spans record its client with `Debug`, which prints the Jira API token in clear, so
    // they stay off whatever KUSHIM_LOG asks for: secrets never reach a log.
    let never_gouqi = "gouqi=off".parse().expect("a valid directive");
    let filter = EnvFilter::try_from_env("KUSHIM_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,octocrab=off"))
        .add_directive(never_gouqi);
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // People read a terminal; log collectors read JSON, one object per line, with the span's
    // fields (request id, route, command, user) on every line.
    if std::io::stderr().is_terminal() {
        logs.init();
    } else {
        logs.json().with_current_span(true).with_span_list(true).init();
    }
    kushim::cli::run(kushim::cli::Cli::parse()).await
}
