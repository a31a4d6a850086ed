//! Database metrics against this machine's real servers: PostgreSQL at postgres@127.0.0.1:5432
//! (trust) and MariaDB at root@127.0.0.1:3306 (empty password). Each test works in a database of
//! its own, so the table count is exact. Under `CI=true` an unreachable server fails the test;
//! elsewhere the test prints SKIPPING and passes.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection, Executor};
use vigilops_agent::config::AgentConfig;
use vigilops_agent::db::{DbError, DbMonitor};
use vigilops_core::clock::{Clock, SystemClock};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

fn unreachable(what: &str, error: &dyn std::fmt::Display) {
    assert!(!in_ci(), "{what} is unreachable under CI=true: {error}");
    println!("SKIPPING: {what} is unreachable: {error}");
}

fn monitor(db_type: &str, port: u16, user: &str, database: &str) -> DbMonitor {
    let yaml = format!(
        "server: {{url: 'http://127.0.0.1:1', token: vop_test}}\n\
         databases:\n  - name: it-{db_type}\n    type: {db_type}\n    host: 127.0.0.1\n    \
         port: {port}\n    database: {database}\n    username: {user}\n    password: ''\n    \
         interval: 5\n    connect_timeout: 5\n"
    );
    let config = AgentConfig::from_yaml(&yaml, "db-it.yaml").unwrap();
    DbMonitor::new(config.databases[0].clone()).unwrap()
}

fn scratch_name(engine: &str) -> String {
    format!("vigilops_agent_it_{engine}_{}", std::process::id())
}

#[tokio::test]
async fn postgres_metrics_are_plausible() {
    let admin_options = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(5432)
        .username("postgres")
        .database("test");
    let mut admin = match admin_options.connect().await {
        Ok(admin) => admin,
        Err(error) => return unreachable("PostgreSQL at 127.0.0.1:5432", &error),
    };
    let name = scratch_name("pg");
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .await
        .unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let mut setup = admin_options
        .clone()
        .database(&name)
        .connect()
        .await
        .unwrap();
    setup
        .execute("CREATE TABLE first (id int); CREATE TABLE second (id int)")
        .await
        .unwrap();

    let mut monitor = monitor("postgres", 5432, "postgres", &name);
    let first = monitor.sample(SystemClock.now()).await.unwrap();
    assert_eq!(first.db_name.as_deref(), Some("it-postgres"));
    assert_eq!(first.db_type.as_deref(), Some("postgres"));
    assert!(first.connections_total.unwrap() >= 1.0, "{first:?}");
    assert!(first.connections_max.unwrap() >= 1.0);
    assert!(first.database_size_mb.unwrap() > 0.0);
    assert_eq!(first.tables_count, Some(2.0));
    assert_eq!(first.qps, Some(0.0), "qps is 0 on the first sample");
    assert!(first.transactions_committed.unwrap() >= 0.0);
    assert!(first.slow_queries_detail.is_some());
    let extra = first.extra.clone().unwrap();
    for key in [
        "waiting_connections",
        "cache_hit_ratio",
        "replication_lag_bytes",
        "long_running_queries",
        "autovacuum_count",
    ] {
        assert!(extra.contains_key(key), "extra.{key} missing: {extra:?}");
    }

    for _ in 0..20 {
        setup.execute("INSERT INTO first VALUES (1)").await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = monitor.sample(SystemClock.now()).await.unwrap();
    let qps = second.qps.unwrap();
    assert!(qps >= 0.0, "qps {qps}");
    assert!(
        second.transactions_committed.unwrap() >= first.transactions_committed.unwrap(),
        "the transaction counter is cumulative"
    );

    drop(monitor);
    setup.close().await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
}

#[tokio::test]
async fn mariadb_metrics_are_plausible() {
    let admin_options = sqlx::mysql::MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(3306)
        .username("root")
        .database("test");
    let mut admin = match admin_options.connect().await {
        Ok(admin) => admin,
        Err(error) => return unreachable("MariaDB at 127.0.0.1:3306", &error),
    };
    let name = scratch_name("my");
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .await
        .unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let mut setup = admin_options
        .clone()
        .database(&name)
        .connect()
        .await
        .unwrap();
    for table in ["first", "second", "third"] {
        setup
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE {table} (id INT PRIMARY KEY) ENGINE=InnoDB"
            )))
            .await
            .unwrap();
    }

    let mut monitor = monitor("mysql", 3306, "root", &name);
    let first = monitor.sample(SystemClock.now()).await.unwrap();
    assert_eq!(first.db_type.as_deref(), Some("mysql"));
    assert!(first.connections_total.unwrap() >= 1.0, "{first:?}");
    assert!(first.connections_active.unwrap() >= 1.0);
    assert!(first.connections_max.unwrap() >= 1.0);
    assert!(first.database_size_mb.unwrap() > 0.0, "{first:?}");
    assert_eq!(first.tables_count, Some(3.0));
    assert_eq!(first.qps, Some(0.0), "qps is 0 on the first sample");
    assert!(first.slow_queries.unwrap() >= 0.0);

    for id in 0..20 {
        setup
            .execute(sqlx::AssertSqlSafe(format!(
                "INSERT INTO first VALUES ({id})"
            )))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = monitor.sample(SystemClock.now()).await.unwrap();
    let qps = second.qps.unwrap();
    assert!(
        qps > 0.0,
        "20 statements ran between the samples, qps {qps}"
    );
    let counter = |report: &vigilops_core::protocol::agent::DbMetricsReport| {
        report.extra.as_ref().unwrap()["queries_total"]
            .as_u64()
            .unwrap()
    };
    let delta = counter(&second) - counter(&first);
    assert!(delta >= 20, "the Queries counter moved by {delta}");
    // At least 0.7 s passed, so a rate is at most delta / 0.7: never the cumulative counter.
    assert!(
        qps <= delta as f64 / 0.7 + 0.01,
        "qps {qps} for a delta of {delta}"
    );

    drop(monitor);
    setup.close().await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refused_connection_is_an_error_not_a_crash() {
    // Nothing listens on port 1.
    let mut monitor = monitor("postgres", 1, "postgres", "test");
    for _ in 0..2 {
        let error = monitor.sample(SystemClock.now()).await.unwrap_err();
        assert!(
            matches!(error, DbError::Connect { .. } | DbError::Timeout(_)),
            "{error}"
        );
    }
    let mut monitor = monitor_mysql_refused();
    assert!(monitor.sample(SystemClock.now()).await.is_err());
}

fn monitor_mysql_refused() -> DbMonitor {
    monitor("mysql", 1, "root", "test")
}
