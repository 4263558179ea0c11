//! The store remembers. All SQL lives in this module, behind methods named for what they mean
//! (`append_evidence`, `record_transitions`, `request_exception`), never for the table they touch.
//!
//! One code path serves SQLite (the default: one file, WAL) and PostgreSQL (selected by a
//! `postgres://` URL) through sqlx's `Any` driver: `$N` placeholders work on both, times are unix
//! seconds, booleans are integers, JSON is text. Each backend has its own migrations folder.
//!
//! - [`chain`] — the hash chain shared by every append-only table.
//! - [`ledger`] — collected evidence, evaluations and findings.
//! - [`history`] — control-state transitions and the current-state projection.
//! - [`people`] — manual evidence, risk exceptions and the audit log.
//! - [`runs`] — collection runs and what collectors keep between runs.
//! - [`chat`] — Slack events already acted on, snoozed alerts.
//! - [`verify`] — recomputes every chain (`kushim verify`).
//! - [`jobs`] — the durable job queue and the scheduler's marks (not chained: operational).
//! - [`outbox`] — outgoing chat messages, channel pacing and subscriptions (operational too).
//! - [`tickets`] — Jira remediation tickets: the control ↔ ticket link and ticket events.

pub mod chain;
mod chat;
mod history;
mod jobs;
mod ledger;
mod outbox;
mod people;
mod retention;
mod runs;
mod tickets;
mod verify;

use std::{fmt, path::Path, str::FromStr};

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{
    AnyConnection, AnyPool, Connection, Row,
    any::{AnyPoolOptions, install_default_drivers},
    migrate::Migrator,
};

pub use chat::Snooze;
pub use history::{ControlStateRow, NewTransition, TransitionRecord};
pub use jobs::{FailOutcome, Job, JobStatus, NewJob, QueueDepth};
pub use ledger::{EvidenceRecord, NewEvidence};
pub use outbox::{Enqueued, MessageStatus, NewMessage, OutboxMessage, Subscription};
pub use people::{
    AuditEntry, AuditRecord, ExceptionDecision, ExceptionRecord, ManualEvidenceRecord,
    NewException, NewManualEvidence,
};
pub use retention::{PRUNE_ACTION, PruneReport};
pub use runs::{CollectionRunRecord, NewCollectionRun};
pub use tickets::{
    NewTicket, NewTicketEvent, TicketClaim, TicketEventRecord, TicketLink, TicketPhase,
};
pub use verify::{BrokenLink, ChainReport, VerifyReport};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL {0:?}: use a file path, sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error("cannot open the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database has no Kushim tables yet; run `kushim migrate`")]
    NotMigrated,
    #[error("{context}: {source}")]
    Query { context: &'static str, source: sqlx::Error },
    #[error("exception #{exception} was already {decision} by {by}")]
    AlreadyDecided { exception: i64, decision: String, by: String },
    #[error("stored data cannot be read ({context}): {detail}")]
    Corrupt { context: &'static str, detail: String },
}

/// Adds what the store was doing to a database error.
trait QueryContext<T> {
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> QueryContext<T> for Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { context, source })
    }
}

/// Where the database is: a file path, `sqlite://PATH` or `postgres://…`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The default: `kushim.db` in the working directory.
    pub fn default_sqlite() -> Self {
        DatabaseUrl::from_str("kushim.db").expect("a plain file name is a SQLite URL")
    }

    pub fn backend(&self) -> Backend {
        if self.0.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite }
    }

    /// The URL to hand to sqlx. Keep it out of logs: it may carry a password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;

    /// Accepts `postgres://` / `postgresql://` URLs, `sqlite:` URLs, and bare file paths (which
    /// become SQLite files, created on first use).
    fn from_str(text: &str) -> Result<Self, StoreError> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl(text.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let with_mode = if rest.contains("mode=") {
                text.to_owned()
            } else if rest.contains('?') {
                format!("{text}&mode=rwc")
            } else {
                format!("{text}?mode=rwc")
            };
            return Ok(DatabaseUrl(with_mode));
        }
        if text.is_empty() || text.contains("://") {
            return Err(StoreError::UnsupportedUrl(redact_password(text)));
        }
        Ok(DatabaseUrl(format!("sqlite://{}?mode=rwc", Path::new(text).display())))
    }
}

/// Shows the URL with any password replaced, so it can be printed and logged.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_password(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// See [`Store::assessment_inputs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentInputs(Vec<(String, i64)>);

impl AssessmentInputs {
    /// Whether any evidence was ever collected.
    pub fn has_evidence(&self) -> bool {
        self.0.iter().any(|(chain, seq)| chain == "evidence" && *seq > 0)
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the database (creating a SQLite file if needed) without migrating it.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = url.backend();
        let connect_error = |source| StoreError::Connect { url: url.to_string(), source };
        // One direct connection first: a pool retries a refused connection until its acquire
        // timeout, and a person typing `kushim status` should hear at once why it failed.
        AnyConnection::connect(url.expose())
            .await
            .map_err(connect_error)?
            .close()
            .await
            .map_err(connect_error)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .connect(url.expose())
            .await
            .map_err(connect_error)?;
        if backend == Backend::Sqlite {
            // WAL lets readers (chat commands) proceed while a collection writes; the setting is
            // stored in the file, so once is enough.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.context("enable WAL")?;
        }
        Ok(Store { pool, backend })
    }

    /// Opens the database and applies any pending migrations.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations in order. Safe to run repeatedly and from several processes
    /// (sqlx takes a migration lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// The migrations this build knows and which of them are applied, by version.
    pub async fn migration_status(&self) -> Result<Vec<(i64, String, bool)>, StoreError> {
        let applied: Vec<i64> =
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await
                .map(|rows| rows.iter().map(|row| row.get::<i64, _>(0)).collect())
                .unwrap_or_default();
        Ok(self
            .backend
            .migrator()
            .iter()
            .map(|m| (m.version, m.description.to_string(), applied.contains(&m.version)))
            .collect())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A fingerprint of everything an assessment reads (evidence, findings, uploads, exceptions
    /// and their decisions): the chains' lengths. Equal fingerprints mean equal inputs, so an
    /// assessment made for one still holds. Transitions and the audit log are outputs, not inputs.
    pub async fn assessment_inputs(&self) -> Result<AssessmentInputs, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, seq FROM chain_heads WHERE chain NOT IN ('transitions', 'audit_log') \
             ORDER BY chain",
        )
        .fetch_all(&self.pool)
        .await
        .context("read the chain heads")?;
        Ok(AssessmentInputs(rows.iter().map(|row| (row.get(0), row.get(1))).collect()))
    }

    /// Whether the database answers, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.context("ping the database")?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Claims `count` consecutive positions at the end of `chain` inside the caller's transaction and
/// returns the first position and the hash the first new record must link to.
///
/// The `UPDATE … RETURNING` is the transaction's first write, so it takes SQLite's write lock
/// (or PostgreSQL's row lock) before anything is read: two writers can never link to the same
/// head.
async fn claim_chain_positions(
    conn: &mut AnyConnection,
    chain: &'static str,
    count: i64,
) -> Result<(i64, String), StoreError> {
    let row = sqlx::query(
        "UPDATE chain_heads SET seq = seq + $1 WHERE chain = $2 RETURNING seq, head_hash",
    )
    .bind(count)
    .bind(chain)
    .fetch_optional(&mut *conn)
    .await
    .context("claim a place in the hash chain")?
    .ok_or(StoreError::NotMigrated)?;
    let last: i64 = row.get(0);
    Ok((last - count + 1, row.get(1)))
}

/// Records the new head of `chain` after the caller appended its records.
async fn advance_chain_head(
    conn: &mut AnyConnection,
    chain: &'static str,
    head_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE chain_heads SET head_hash = $1 WHERE chain = $2")
        .bind(head_hash)
        .bind(chain)
        .execute(&mut *conn)
        .await
        .context("advance the hash chain")?;
    Ok(())
}

/// A record's place in its chain.
struct ChainLink {
    seq: i64,
    prev_hash: String,
    hash: String,
}

/// Links one record with this content at the end of `chain` (inside the caller's transaction,
/// which then inserts the row with these values).
async fn link_next(
    conn: &mut AnyConnection,
    chain: &'static str,
    content: &serde_json::Value,
) -> Result<ChainLink, StoreError> {
    let (seq, prev_hash) = claim_chain_positions(conn, chain, 1).await?;
    let hash = chain::record_hash(chain, seq, &prev_hash, &chain::canonical_json(content));
    advance_chain_head(conn, chain, &hash).await?;
    Ok(ChainLink { seq, prev_hash, hash })
}

/// Unix seconds, the stored form of every time.
fn to_unix(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

fn from_unix(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_paths_and_sqlite_urls_become_creatable_sqlite_files() {
        assert_eq!(
            DatabaseUrl::from_str("kushim.db").unwrap().expose(),
            "sqlite://kushim.db?mode=rwc"
        );
        assert_eq!(
            DatabaseUrl::from_str("sqlite:///var/lib/kushim.db").unwrap().expose(),
            "sqlite:///var/lib/kushim.db?mode=rwc"
        );
        assert_eq!(
            DatabaseUrl::from_str("sqlite://x.db?mode=ro").unwrap().expose(),
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(DatabaseUrl::default_sqlite().backend(), Backend::Sqlite);
    }

    #[test]
    fn postgres_urls_select_postgres_and_never_print_their_password() {
        let url =
            DatabaseUrl::from_str("postgres://kushim:s3cret@db.internal:5432/kushim").unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(url.to_string(), "postgres://kushim:***@db.internal:5432/kushim");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_a_password() {
        let error = DatabaseUrl::from_str("mysql://root:hunter2@localhost/db").unwrap_err();
        assert!(error.to_string().contains("mysql://root:***@localhost/db"), "{error}");
    }
}
