//! Migration 0007 on data from before it: the original allowed several unfinished runs of one
//! alert, so 0007 escalates all but the newest before it builds the unique index of unfinished
//! runs per alert. The database is migrated to 0006 from copies of those files, seeded with
//! plain SQL, then opened by the store, which applies 0007.

use std::path::{Path, PathBuf};

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use vigilops_core::model::{NewRemediation, RemediationStatus};
use vigilops_core::store::postgres::PostgresStore;
use vigilops_core::store::sqlite::SqliteStore;
use vigilops_core::store::testing::{drop_postgres_database, empty_postgres_database};
use vigilops_core::store::{Store, StoreError};

/// A copy of `backend`'s migrations before 0007, under `dir`.
fn migrations_before_0007(backend: &str, dir: &Path) -> PathBuf {
    let target = dir.join(format!("{backend}-before-0007"));
    std::fs::create_dir_all(&target).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().as_ref() < "0007" {
            std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
        }
    }
    target
}

/// The legacy rows per alert (`None`: a run without an alert), in insertion order.
const LEGACY: [(Option<usize>, &str); 7] = [
    (Some(0), "pending"),
    (Some(0), "approved"),
    (Some(0), "success"),
    (Some(0), "pending_approval"),
    (Some(1), "diagnosing"),
    (None, "pending"),
    (None, "pending"),
];

/// What 0007 makes of them: the older unfinished runs of the first alert are escalated.
const AFTER: [&str; 7] = [
    "escalated",
    "escalated",
    "success",
    "pending_approval",
    "diagnosing",
    "pending",
    "pending",
];

/// Seeds two alerts and the legacy runs with `insert_alert` and `insert_run` (each binding
/// the target key, or the alert id and status, and returning the id); returns (alerts, runs).
macro_rules! seed_legacy {
    ($pool:expr, $insert_alert:expr, $insert_run:expr) => {{
        let mut alerts = Vec::new();
        for target in ["legacy:0", "legacy:1"] {
            let id: i64 = sqlx::query_scalar($insert_alert)
                .bind(target)
                .fetch_one($pool)
                .await
                .unwrap();
            alerts.push(id);
        }
        let mut runs = Vec::new();
        for (alert, status) in LEGACY {
            let id: i64 = sqlx::query_scalar($insert_run)
                .bind(alert.map(|index| alerts[index]))
                .bind(status)
                .fetch_one($pool)
                .await
                .unwrap();
            runs.push(id);
        }
        (alerts, runs)
    }};
}

async fn check_settled(store: &dyn Store, alerts: &[i64], runs: &[i64]) {
    for (id, expected) in runs.iter().zip(AFTER) {
        let run = store.remediation(*id).await.unwrap().unwrap();
        assert_eq!(run.status.as_str(), expected, "run {id}");
        assert!(run.executed, "rows from before 0007 read as executed");
        let superseded = run
            .blocked_reason
            .as_deref()
            .is_some_and(|reason| reason.contains("Superseded"));
        assert_eq!(superseded, expected == "escalated", "run {id}");
    }
    for alert in alerts {
        let again = store
            .create_remediation(NewRemediation {
                alert_id: Some(*alert),
                host_id: None,
                status: RemediationStatus::Diagnosing,
                triggered_by: "auto".to_owned(),
                requested_by: None,
                created_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            })
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "alert {alert} still has its newest unfinished run: {again:?}"
        );
    }
}

#[tokio::test]
async fn sqlite_0007_settles_duplicate_unfinished_runs() {
    let dir = std::env::temp_dir().join(format!("vigilops-0007-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("legacy.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            url.parse::<sqlx::sqlite::SqliteConnectOptions>()
                .unwrap()
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .unwrap();
    Migrator::new(migrations_before_0007("sqlite", &dir).as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let (alerts, runs) = seed_legacy!(
        &pool,
        "INSERT INTO alerts (target_key, severity, title, fired_at, created_at) \
         VALUES ($1, 'critical', 'legacy', 0, 0) RETURNING id",
        "INSERT INTO remediation_logs (alert_id, status, created_at) VALUES ($1, $2, 0) \
         RETURNING id"
    );
    pool.close().await;
    let store = SqliteStore::connect(&url).await.unwrap();
    check_settled(&store, &alerts, &runs).await;
    store.pool().close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_0007_settles_duplicate_unfinished_runs() {
    let Some((url, name)) = empty_postgres_database().await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("vigilops-0007-{}", uuid::Uuid::new_v4()));
    let pool = PgPoolOptions::new().connect(&url).await.unwrap();
    Migrator::new(migrations_before_0007("postgres", &dir).as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let (alerts, runs) = seed_legacy!(
        &pool,
        "INSERT INTO alerts (target_key, severity, title, fired_at, created_at) \
         VALUES ($1, 'critical', 'legacy', now(), now()) RETURNING id",
        "INSERT INTO remediation_logs (alert_id, status, created_at) VALUES ($1, $2, now()) \
         RETURNING id"
    );
    pool.close().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    check_settled(&store, &alerts, &runs).await;
    store.pool().close().await;
    drop_postgres_database(&name).await;
    let _ = std::fs::remove_dir_all(&dir);
}
