//! Monitored databases over REST (`rest-api.md` §13): the list with each database's newest
//! sample, one database, its slow statements, and its metric history over a period, downsampled
//! to at most [`MAX_POINTS`] points.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::model::{DbPoint, MonitoredDatabase};
use crate::store::{Store, StoreError};

/// Most points a metric history returns.
pub const MAX_POINTS: usize = 500;
/// Most raw samples read for one history.
const MAX_RAW: i64 = 20_000;
/// The longest period a history covers.
const MAX_PERIOD: Duration = Duration::days(90);

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("Database not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A sample (`DbPoint` of the reference, with ours after).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DbPointView {
    pub connections_total: Option<f64>,
    pub connections_active: Option<f64>,
    pub database_size_mb: Option<f64>,
    pub slow_queries: Option<f64>,
    pub tables_count: Option<f64>,
    pub transactions_committed: Option<f64>,
    pub transactions_rolled_back: Option<f64>,
    pub qps: Option<f64>,
    pub tablespace_used_pct: Option<f64>,
    pub recorded_at: DateTime<Utc>,
    pub connections_max: Option<f64>,
    pub lock_waits: Option<f64>,
    pub deadlocks: Option<f64>,
}

impl From<DbPoint> for DbPointView {
    fn from(point: DbPoint) -> Self {
        Self {
            connections_total: point.connections_total,
            connections_active: point.connections_active,
            database_size_mb: point.database_size_mb,
            slow_queries: point.slow_queries,
            tables_count: point.tables_count,
            transactions_committed: point.transactions_committed,
            transactions_rolled_back: point.transactions_rolled_back,
            qps: point.qps,
            tablespace_used_pct: point.tablespace_used_pct,
            recorded_at: point.recorded_at,
            connections_max: point.connections_max,
            lock_waits: point.lock_waits,
            deadlocks: point.deadlocks,
        }
    }
}

/// A database with its newest sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseView {
    pub id: i64,
    pub host_id: i64,
    pub name: String,
    pub db_type: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub latest_metrics: Option<DbPointView>,
}

fn view((database, latest): (MonitoredDatabase, Option<DbPoint>)) -> DatabaseView {
    DatabaseView {
        id: database.id,
        host_id: database.host_id,
        name: database.name,
        db_type: database.db_type,
        status: database.status,
        created_at: database.created_at,
        updated_at: database.updated_at,
        latest_metrics: latest.map(DbPointView::from),
    }
}

/// `GET /databases`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseList {
    pub databases: Vec<DatabaseView>,
    pub total: usize,
}

/// `GET /databases/{id}/slow-queries`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowQueriesView {
    pub database_id: i64,
    /// `[{sql_id, avg_seconds, executions, sql_text}]`, as the agent reported them last.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub slow_queries: Vec<Value>,
}

/// `GET /databases/{id}/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DbMetricsView {
    pub database_id: i64,
    pub period: String,
    pub metrics: Vec<DbPointView>,
}

/// Databases as the REST API reads them.
#[derive(Debug, Clone)]
pub struct DatabaseService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl DatabaseService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Every database (of `host_id` when given), by id.
    pub async fn list(&self, host_id: Option<i64>) -> Result<DatabaseList, DatabaseError> {
        let databases: Vec<DatabaseView> = self
            .store
            .list_databases(host_id)
            .await?
            .into_iter()
            .map(view)
            .collect();
        Ok(DatabaseList {
            total: databases.len(),
            databases,
        })
    }

    /// One database.
    pub async fn get(&self, id: i64) -> Result<DatabaseView, DatabaseError> {
        self.store
            .database(id)
            .await?
            .map(view)
            .ok_or(DatabaseError::NotFound)
    }

    /// The slow statements the agent reported last.
    pub async fn slow_queries(&self, id: i64) -> Result<SlowQueriesView, DatabaseError> {
        let (database, _) = self
            .store
            .database(id)
            .await?
            .ok_or(DatabaseError::NotFound)?;
        let slow_queries = match database.slow_queries_detail {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        Ok(SlowQueriesView {
            database_id: id,
            slow_queries,
        })
    }

    /// The history over `period` (`<N>h`, `<N>d` or `<N>m`; anything else means `1h`), oldest
    /// first, at most [`MAX_POINTS`] points (averaged buckets when there are more samples).
    pub async fn metrics(&self, id: i64, period: &str) -> Result<DbMetricsView, DatabaseError> {
        if self.store.database(id).await?.is_none() {
            return Err(DatabaseError::NotFound);
        }
        let (period, span) = parse_period(period);
        let now = self.clock.now();
        let points = self.store.db_points(id, now - span, now, MAX_RAW).await?;
        Ok(DbMetricsView {
            database_id: id,
            period,
            metrics: downsample(&points, MAX_POINTS)
                .into_iter()
                .map(DbPointView::from)
                .collect(),
        })
    }
}

/// `<N>h`, `<N>d` or `<N>m` (N ≥ 1) as given, capped at 90 days; anything else is `1h`.
pub fn parse_period(period: &str) -> (String, Duration) {
    let period = period.trim();
    let parsed = period
        .char_indices()
        .last()
        .and_then(|(at, unit)| Some((period[..at].parse::<i64>().ok()?, unit)))
        .filter(|(n, _)| *n >= 1)
        .and_then(|(n, unit)| match unit {
            'h' => Some(Duration::hours(n.min(24 * 90))),
            'd' => Some(Duration::days(n.min(90))),
            'm' => Some(Duration::minutes(n.min(60 * 24 * 90))),
            _ => None,
        });
    match parsed {
        Some(span) => (period.to_owned(), span.min(MAX_PERIOD)),
        None => ("1h".to_owned(), Duration::hours(1)),
    }
}

/// At most `max` points: consecutive samples averaged in equal groups (each field over the
/// samples that have it), each group at its first sample's time.
pub fn downsample(points: &[DbPoint], max: usize) -> Vec<DbPoint> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let group = points.len().div_ceil(max);
    points
        .chunks(group)
        .map(|chunk| {
            let avg = |field: fn(&DbPoint) -> Option<f64>| {
                let values: Vec<f64> = chunk.iter().filter_map(field).collect();
                #[allow(clippy::cast_precision_loss)]
                let count = values.len() as f64;
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / count)
            };
            DbPoint {
                recorded_at: chunk[0].recorded_at,
                connections_total: avg(|p| p.connections_total),
                connections_active: avg(|p| p.connections_active),
                connections_max: avg(|p| p.connections_max),
                database_size_mb: avg(|p| p.database_size_mb),
                slow_queries: avg(|p| p.slow_queries),
                tables_count: avg(|p| p.tables_count),
                transactions_committed: avg(|p| p.transactions_committed),
                transactions_rolled_back: avg(|p| p.transactions_rolled_back),
                qps: avg(|p| p.qps),
                tablespace_used_pct: avg(|p| p.tablespace_used_pct),
                lock_waits: avg(|p| p.lock_waits),
                deadlocks: avg(|p| p.deadlocks),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_or_fall_back_to_one_hour() {
        assert_eq!(parse_period("6h"), ("6h".to_owned(), Duration::hours(6)));
        assert_eq!(parse_period("7d"), ("7d".to_owned(), Duration::days(7)));
        assert_eq!(
            parse_period("30m"),
            ("30m".to_owned(), Duration::minutes(30))
        );
        assert_eq!(parse_period("365d").1, Duration::days(90));
        for other in ["", "h", "0h", "-3h", "5x", "1.5h", "x7d"] {
            assert_eq!(
                parse_period(other),
                ("1h".to_owned(), Duration::hours(1)),
                "{other}"
            );
        }
    }

    #[test]
    fn downsampling_averages_equal_groups_in_order() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let points: Vec<DbPoint> = (0..10)
            .map(|i| DbPoint {
                recorded_at: at + Duration::minutes(i),
                connections_total: Some(f64::from(i32::try_from(i).unwrap_or(0))),
                qps: (i % 2 == 0).then_some(1.0),
                ..DbPoint::default()
            })
            .collect();
        let down = downsample(&points, 4);
        assert_eq!(down.len(), 4);
        assert_eq!(down[0].recorded_at, at);
        assert_eq!(down[0].connections_total, Some(1.0));
        assert_eq!(down[0].qps, Some(1.0));
        assert_eq!(down[3].connections_total, Some(9.0));
        assert_eq!(downsample(&points, 20), points);
    }
}
