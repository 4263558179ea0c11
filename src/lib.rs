//! Kushim: SOC 2 compliance automation that watches real systems and lives in chat.
//!
//! The flow runs one way (see `../shared/DESIGN.md` and the README):
//!
//! ```text
//!  integrations ──snapshots──► store (hash-chained evidence ledger)
//!        │                          │
//!        ▼                          ▼
//!     checks (pure: snapshot + now → findings) ──► controls (findings + manual evidence +
//!                                                  exceptions → state, posture score)
//! ```
//!
//! - [`integrations`] — what each external system looks like as a snapshot (collect).
//! - [`checks`] — pure functions judging snapshots, and their registry (judge).
//! - [`catalog`] — the 64 controls as data, loaded and validated.
//! - [`controls`] — control states and the posture score (decide).
//! - [`store`] — all SQL; the evidence ledger, findings, transitions, people's records (remember).
//! - [`engine`] — wires the above: ingest evidence, run checks, record transitions.
//! - [`collection`] — runs the collectors of the configured integrations into the engine.
//! - [`sandbox`] — generated organisations for demos, tests and benchmarks.
//! - [`chat`] — how Kushim talks: the `/kushim` commands, their help, the Slack and Discord manifests.
//! - [`server`] — `kushim serve`: health and readiness, and the verified Slack endpoints.
//! - [`config`] — the `kushim.toml` configuration.
//! - [`views`] — what is shown, as data: CLI tables, `--json` and chat replies render the same views.
//! - [`suggest`] — "did you mean …?" for mistyped control, check and command names.
//! - [`cli`] — the `kushim` command line.
//! - [`jobs`] — the background engine: durable jobs, cron schedules, workers, alerts, digests.
//! - [`outbox`] — delivering queued chat messages once, in order, paced, updated in place.
//! - [`remediation`] — the Jira ticket loop: one ticket per failing control, kept in step with it.

pub mod catalog;
pub mod chat;
pub mod checks;
pub mod cli;
pub mod collection;
pub mod config;
pub mod controls;
pub mod engine;
pub mod integrations;
pub mod jobs;
pub mod outbox;
pub mod remediation;
pub mod sandbox;
pub mod server;
pub mod store;
pub mod suggest;
pub mod views;
