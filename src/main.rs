use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // Warnings only by default, on stderr, so stdout stays clean for tables and --json.
    // octocrab logs every failed request as an error of its own; Kushim reports those failures
    // itself, with what to fix, so octocrab's log is off unless asked for.
    // KUSHIM_LOG (same syntax as RUST_LOG) turns more on.
    // gouqi's spans record its client with `Debug`, which prints the Jira API token in clear, so
    // they stay off whatever KUSHIM_LOG asks for: secrets never reach a log.
    let never_gouqi = "gouqi=off".parse().expect("a valid directive");
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("KUSHIM_LOG")
                .unwrap_or_else(|_| EnvFilter::new("warn,octocrab=off"))
                .add_directive(never_gouqi),
        )
        .with_writer(std::io::stderr)
        .init();
    kushim::cli::run(kushim::cli::Cli::parse()).await
}
