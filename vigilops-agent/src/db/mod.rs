//! Database metrics (`databases:` in the config): one loop per configured database, each on its
//! own `interval`, sampling PostgreSQL or MySQL/MariaDB over a single connection and spooling a
//! `POST /api/v1/agent/db-metrics` body (protocol §3.6).
//!
//! Counters the server derives rates from (`transactions_*`, `slow_queries` on MySQL, `deadlocks`)
//! stay cumulative, as documented; `qps` is always a rate between two samples (0 on the first and
//! after a counter reset), never the cumulative counter the 0.1.x agent sent for MySQL (§10 item 4).
//! A refused or broken connection is logged and retried at the next interval; it never stops the
//! agent.

#[cfg(feature = "oracle")]
compile_error!(
    "the `oracle` feature of vigilops-agent is not implemented: Oracle metrics need the Oracle \
     client library (OCI / Instant Client), which is not available to build or test against here. \
     Build without `--features oracle`; oracle entries in `databases:` are logged and skipped."
);

pub mod mysql;
pub mod postgres;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigilops_core::protocol::agent::DbMetricsReport;

use tokio::sync::watch;

use crate::config::DatabaseConfig;
use crate::reporter::{AgentHandle, wait_stopped};
use crate::spool::RecordKind;

/// Why one sample could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Connecting failed (refused, unknown host, bad credentials…).
    #[error("cannot connect to {engine} at {address}: {source}")]
    Connect {
        /// `postgres` or `mysql`.
        engine: &'static str,
        /// `host:port/database`.
        address: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A statement failed on an open connection.
    #[error("{engine} query failed ({what}): {source}")]
    Query {
        /// `postgres` or `mysql`.
        engine: &'static str,
        /// Which figure was being read.
        what: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Connecting or sampling took longer than allowed.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The engine is not supported by this build.
    #[error("database type `{0}` is not supported by this agent build")]
    Unsupported(String),
}

/// One reading of a cumulative counter, with the monotonic time it was taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterReading {
    /// The counter's value.
    pub value: u64,
    /// When it was read.
    pub at: Instant,
}

/// The per-second rate between two readings of a cumulative counter: 0 without a previous
/// reading, when no time has passed, or when the counter went down (a server restart reset it).
pub fn counter_rate(previous: Option<CounterReading>, current: CounterReading) -> f64 {
    let Some(previous) = previous else {
        return 0.0;
    };
    let seconds = current
        .at
        .saturating_duration_since(previous.at)
        .as_secs_f64();
    if seconds <= 0.0 || current.value < previous.value {
        return 0.0;
    }
    round2((current.value - previous.value) as f64 / seconds)
}

/// Bytes to MiB, 2 dp (the original's `database_size_mb`).
pub fn bytes_to_mb(bytes: i64) -> f64 {
    round2(bytes.max(0) as f64 / (1024.0 * 1024.0))
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// A non-negative count as the report's JSON number.
fn count(value: i64) -> Option<f64> {
    Some(value.max(0) as f64)
}

/// The engines this build samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Engine {
    /// The engine for a config `type`, `None` when this build cannot sample it (oracle, redis).
    pub fn from_type(db_type: &str) -> Option<Self> {
        match db_type.trim().to_ascii_lowercase().as_str() {
            "" | "postgres" | "postgresql" | "pg" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::MySql),
            _ => None,
        }
    }

    /// The `db_type` sent to the server.
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }
}

enum Connection {
    None,
    Postgres(Box<sqlx::PgConnection>),
    MySql(Box<sqlx::MySqlConnection>),
}

/// Samples one configured database; keeps its connection and the previous query counter.
pub struct DbMonitor {
    config: DatabaseConfig,
    engine: Engine,
    connection: Connection,
    previous_queries: Option<CounterReading>,
}

impl std::fmt::Debug for DbMonitor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DbMonitor")
            .field("config", &self.config)
            .field("engine", &self.engine)
            .field("previous_queries", &self.previous_queries)
            .finish_non_exhaustive()
    }
}

/// What one engine read, before it becomes a report.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EngineSample {
    /// The report with every engine field filled (`qps` excluded).
    pub report: DbMetricsReport,
    /// The cumulative counter `qps` is derived from.
    pub queries_counter: u64,
}

impl DbMonitor {
    /// A monitor for `config`, or an error for an engine this build cannot sample.
    pub fn new(config: DatabaseConfig) -> Result<Self, DbError> {
        let engine = Engine::from_type(&config.db_type)
            .ok_or_else(|| DbError::Unsupported(config.db_type.clone()))?;
        Ok(Self {
            config,
            engine,
            connection: Connection::None,
            previous_queries: None,
        })
    }

    /// The `db_name` this monitor reports under.
    pub fn db_name(&self) -> String {
        if self.config.name.is_empty() {
            self.config.database.clone()
        } else {
            self.config.name.clone()
        }
    }

    /// The time between samples.
    pub fn interval(&self) -> Duration {
        self.config.interval
    }

    /// Takes one sample stamped `timestamp` (host id left for the sender). On failure the
    /// connection is dropped, so the next sample reconnects.
    pub async fn sample(&mut self, timestamp: DateTime<Utc>) -> Result<DbMetricsReport, DbError> {
        let limit = self.config.connect_timeout.max(Duration::from_secs(1)) * 3;
        let result = match tokio::time::timeout(limit, self.sample_inner()).await {
            Ok(result) => result,
            Err(_) => Err(DbError::Timeout(limit)),
        };
        let sample = match result {
            Ok(sample) => sample,
            Err(error) => {
                self.connection = Connection::None;
                return Err(error);
            }
        };
        let reading = CounterReading {
            value: sample.queries_counter,
            at: Instant::now(),
        };
        let mut report = sample.report;
        report.qps = Some(counter_rate(self.previous_queries, reading));
        self.previous_queries = Some(reading);
        report.db_name = Some(self.db_name());
        report.db_type = Some(self.engine.wire_name().to_owned());
        report.timestamp = Some(timestamp);
        Ok(report)
    }

    async fn sample_inner(&mut self) -> Result<EngineSample, DbError> {
        if matches!(self.connection, Connection::None) {
            let timeout = self.config.connect_timeout.max(Duration::from_secs(1));
            let connected = tokio::time::timeout(timeout, self.connect()).await;
            self.connection = match connected {
                Ok(connection) => connection?,
                Err(_) => return Err(DbError::Timeout(timeout)),
            };
        }
        match &mut self.connection {
            Connection::Postgres(connection) => postgres::sample(connection).await,
            Connection::MySql(connection) => mysql::sample(connection).await,
            Connection::None => Err(DbError::Unsupported(self.config.db_type.clone())),
        }
    }

    async fn connect(&self) -> Result<Connection, DbError> {
        use sqlx::ConnectOptions;
        let config = &self.config;
        let connect_error = |source| DbError::Connect {
            engine: self.engine.wire_name(),
            address: format!("{}:{}/{}", config.host, config.port, config.database),
            source,
        };
        match self.engine {
            Engine::Postgres => {
                let mut options = sqlx::postgres::PgConnectOptions::new()
                    .host(&config.host)
                    .port(config.port)
                    .username(&config.username)
                    .application_name("vigilops-agent");
                if !config.password.is_empty() {
                    options = options.password(&config.password);
                }
                if !config.database.is_empty() {
                    options = options.database(&config.database);
                }
                let connection = options.connect().await.map_err(connect_error)?;
                Ok(Connection::Postgres(Box::new(connection)))
            }
            Engine::MySql => {
                let mut options = sqlx::mysql::MySqlConnectOptions::new()
                    .host(&config.host)
                    .port(config.port)
                    .username(&config.username);
                if !config.password.is_empty() {
                    options = options.password(&config.password);
                }
                if !config.database.is_empty() {
                    options = options.database(&config.database);
                }
                let connection = options.connect().await.map_err(connect_error)?;
                Ok(Connection::MySql(Box::new(connection)))
            }
        }
    }
}

/// Starts one sampling loop per configured database this build supports; the others are logged
/// and skipped.
pub fn spawn_loops(
    handle: &AgentHandle,
    databases: &[DatabaseConfig],
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    databases
        .iter()
        .filter_map(|config| match DbMonitor::new(config.clone()) {
            Ok(monitor) => {
                tracing::info!(db_name = %monitor.db_name(), db_type = monitor.engine.wire_name(), interval = ?monitor.interval(), "database metrics enabled");
                Some(tokio::spawn(sample_loop(handle.clone(), monitor, stop.clone())))
            }
            Err(error) => {
                tracing::warn!(%error, db_name = %config.name, "database skipped");
                None
            }
        })
        .collect()
}

/// Samples `monitor` every interval (the first at once) into the spool until stopped.
async fn sample_loop(handle: AgentHandle, mut monitor: DbMonitor, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(monitor.interval().max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let db_name = monitor.db_name();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = wait_stopped(&mut stop) => return,
        }
        let timestamp = handle.clock().now();
        let sampled = tokio::select! {
            sampled = monitor.sample(timestamp) => sampled,
            () = wait_stopped(&mut stop) => return,
        };
        match sampled.map(|report| serde_json::to_value(&report)) {
            Ok(Ok(body)) => {
                tracing::debug!(%db_name, "database sampled");
                handle.spool(RecordKind::DbMetrics, timestamp, body);
            }
            Ok(Err(error)) => {
                tracing::error!(%error, %db_name, "failed to encode a database sample")
            }
            Err(error) => {
                tracing::warn!(%error, %db_name, retry_in = ?monitor.interval(), "database sample failed; retrying next interval");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, seconds: u64, value: u64) -> CounterReading {
        CounterReading {
            value,
            at: base + Duration::from_secs(seconds),
        }
    }

    #[test]
    fn rate_is_zero_on_the_first_sample() {
        let base = Instant::now();
        assert_eq!(counter_rate(None, at(base, 0, 1_000_000)), 0.0);
    }

    #[test]
    fn rate_is_the_delta_per_second() {
        let base = Instant::now();
        assert_eq!(
            counter_rate(Some(at(base, 0, 100)), at(base, 10, 350)),
            25.0
        );
        assert_eq!(counter_rate(Some(at(base, 0, 100)), at(base, 3, 101)), 0.33);
        assert_eq!(counter_rate(Some(at(base, 0, 100)), at(base, 10, 100)), 0.0);
    }

    #[test]
    fn counter_reset_gives_zero_not_negative() {
        let base = Instant::now();
        assert_eq!(
            counter_rate(Some(at(base, 0, 5_000)), at(base, 60, 12)),
            0.0
        );
    }

    #[test]
    fn no_elapsed_time_gives_zero() {
        let base = Instant::now();
        assert_eq!(counter_rate(Some(at(base, 5, 1)), at(base, 5, 9)), 0.0);
        // A reading that claims to be older than the previous one.
        assert_eq!(counter_rate(Some(at(base, 5, 1)), at(base, 1, 9)), 0.0);
    }

    #[test]
    fn sizes_are_mebibytes_rounded() {
        assert_eq!(bytes_to_mb(10_129_571), 9.66);
        assert_eq!(bytes_to_mb(-1), 0.0);
    }

    #[test]
    fn engines_from_config_types() {
        assert_eq!(Engine::from_type(""), Some(Engine::Postgres));
        assert_eq!(Engine::from_type("postgres"), Some(Engine::Postgres));
        assert_eq!(Engine::from_type("MySQL"), Some(Engine::MySql));
        assert_eq!(Engine::from_type("mariadb"), Some(Engine::MySql));
        assert_eq!(Engine::from_type("oracle"), None);
        assert_eq!(Engine::from_type("redis"), None);
    }
}
