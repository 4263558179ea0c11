//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database created on the server
//! named by `TEST_DATABASE_URL` and dropped afterwards. [`process`] runs the real binary.

#![allow(dead_code)] // each test binary uses its own subset

#[cfg(unix)]
pub mod process;

use std::{
    str::FromStr,
    sync::atomic::{AtomicUsize, Ordering},
};

use kushim::store::{Backend, DatabaseUrl, Store};
use sqlx::{AnyPool, any::install_default_drivers};

/// The server the PostgreSQL suite runs against, if configured.
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|url| url.starts_with("postgres"))
}

pub struct TestDb {
    pub url: DatabaseUrl,
    backend: Backend,
    /// Keeps the SQLite file alive.
    _dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: the server URL and the database to drop.
    postgres: Option<(String, String)>,
}

/// The environment variables that configure an integration or where Kushim keeps its data: a
/// test clears them all so the developer's own settings never leak into it.
pub const SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "KUSHIM_CONFIG",
    "KUSHIM_LOG",
    "GITHUB_TOKEN",
    "GITHUB_ORG",
    "OKTA_ORG_URL",
    "OKTA_API_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "JIRA_URL",
    "JIRA_API_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_EVIDENCE_TOKEN",
];

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        install_default_drivers();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path = dir.path().join("kushim.db");
                TestDb {
                    url: DatabaseUrl::from_str(path.to_str().expect("utf-8 temp path")).unwrap(),
                    backend,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let server =
                    postgres_server().expect("TEST_DATABASE_URL is set for the PostgreSQL suite");
                let name = format!(
                    "kushim_test_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let admin = AnyPool::connect(&server).await.expect("the PostgreSQL server answers");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("create a test database");
                admin.close().await;
                let url = replace_database(&server, &name);
                TestDb {
                    url: DatabaseUrl::from_str(&url).unwrap(),
                    backend,
                    _dir: None,
                    postgres: Some((server, name)),
                }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        Store::open(&self.url).await.expect("the test database opens")
    }

    /// Runs SQL by hand, as someone with a database shell would.
    pub async fn sql(&self, statement: &str) -> u64 {
        let pool = AnyPool::connect(self.url.expose()).await.expect("connect for raw SQL");
        let result = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        pool.close().await;
        result.rows_affected()
    }

    /// Drops a PostgreSQL test database now (it is also dropped when the value is, even when a
    /// test panics; SQLite files go with their directory).
    pub async fn cleanup(mut self) {
        if let Some((server, name)) = self.postgres.take() {
            drop_database(&server, &name).await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            // Drop may run inside a runtime (or while unwinding from a panic), so use a thread of
            // its own with its own runtime.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(drop_database(&server, &name));
                }
            })
            .join();
        }
    }
}

async fn drop_database(server: &str, name: &str) {
    if let Ok(admin) = AnyPool::connect(server).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
        admin.close().await;
    }
}

fn replace_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The data of a collection that must have succeeded.
pub fn collected<T: std::fmt::Debug>(
    collection: &kushim::integrations::collect::Collection<T>,
) -> &T {
    match &collection.source {
        kushim::integrations::Source::Collected { data, .. } => data,
        other => panic!("expected a collection, got {other:?}"),
    }
}

/// The reason of a collection that must have failed as a whole.
pub fn failure<T: std::fmt::Debug>(
    collection: &kushim::integrations::collect::Collection<T>,
) -> &str {
    match &collection.source {
        kushim::integrations::Source::Failed { reason, .. } => reason,
        other => panic!("expected a failed collection, got {other:?}"),
    }
}
