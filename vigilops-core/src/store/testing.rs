//! Fresh databases for tests: a temporary SQLite file, or a new PostgreSQL database on the
//! machine's server that is dropped afterwards. Under `CI=true` an unreachable PostgreSQL is a
//! failure, never a silent skip.

// Test-support code: a failed expectation is a test failure, so panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Executor};
use std::path::PathBuf;

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;

/// Where the tests find PostgreSQL: `VIGILOPS_TEST_POSTGRES` or the machine's local server.
pub fn postgres_admin_url() -> String {
    std::env::var("VIGILOPS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh SQLite store in its own temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempSqlite {
    pub store: SqliteStore,
    pub dir: PathBuf,
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Opens a fresh SQLite store.
pub async fn fresh_sqlite() -> TempSqlite {
    let dir = std::env::temp_dir().join(format!("vigilops-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join("test.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open sqlite store");
    TempSqlite { store, dir }
}

/// A fresh PostgreSQL database; call [`TempPostgres::drop_database`] when done.
#[derive(Debug)]
pub struct TempPostgres {
    pub store: PostgresStore,
    pub url: String,
    name: String,
}

impl TempPostgres {
    /// Closes the pool and drops the database.
    pub async fn drop_database(self) {
        self.store.pool().close().await;
        drop_postgres_database(&self.name).await;
    }
}

/// Drops the test database `name` (made by [`empty_postgres_database`]), best effort.
pub async fn drop_postgres_database(name: &str) {
    if let Ok(admin) = PgPoolOptions::new()
        .max_connections(1)
        .connect(&postgres_admin_url())
        .await
    {
        let _ = admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .await;
        admin.close().await;
    }
}

/// Creates a fresh database on the test PostgreSQL server. Returns `None` (after saying so on
/// stderr) when the server is unreachable outside CI; panics under `CI=true`.
pub async fn fresh_postgres() -> Option<TempPostgres> {
    let (url, name) = empty_postgres_database().await?;
    let store = PostgresStore::connect(&url)
        .await
        .expect("open postgres store");
    Some(TempPostgres { store, url, name })
}

/// Creates a fresh, empty database (no migrations applied) on the test PostgreSQL server and
/// returns its URL and name, for tests that migrate it themselves; drop it with
/// [`drop_postgres_database`]. `None` when unreachable outside CI, as [`fresh_postgres`].
pub async fn empty_postgres_database() -> Option<(String, String)> {
    let admin_url = postgres_admin_url();
    let admin = match PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&admin_url)
        .await
    {
        Ok(admin) => admin,
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL at {admin_url} is unreachable under CI=true: {error}"
            );
            eprintln!(
                "SKIPPING PostgreSQL test: {admin_url} unreachable ({error}); CI=true makes this a failure"
            );
            return None;
        }
    };
    let name = format!("vigilops_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create test database");
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    Some((format!("{base}/{name}"), name))
}
