//! Retention (`rest-api.md` §22.7): what is kept how long, and the purge that enforces it.
//! The original never purged host metrics or service checks; ours deletes, hourly and once
//! per cluster, in bounded batches:
//! - service checks older than `raw_metrics_retention_days` (7), rolled up once more just before
//!   (`service_rollup::roll_before_purge`); raw host metrics have their own purge, which keeps
//!   each host's newest sample and never outruns the rollup pass;
//! - 5-minute host metric rollups older than `metrics_retention_days` (90) and hourly ones
//!   older than `rollup_retention_days` (365), and service check rollups alike;
//! - log lines older than `log_retention_days` (`LOG_RETENTION_DAYS`, 7);
//! - database samples older than `db_metric_retention_days` (`DB_METRIC_RETENTION_DAYS`, 30);
//! - notification logs older than [`NOTIFICATION_LOG_DAYS`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::model::ServiceRollupResolution;
use crate::service_rollup;
use crate::settings;
use crate::store::{Retained, Store, StoreError};

/// Rows one statement deletes at most.
pub const BATCH: i64 = 5_000;
/// Days notification logs are kept.
pub const NOTIFICATION_LOG_DAYS: i64 = 90;

/// Days each kind of data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionDays {
    pub logs: i64,
    pub db_metrics: i64,
    pub service_checks: i64,
    pub notification_logs: i64,
    pub metric_rollups_5m: i64,
    pub metric_rollups_1h: i64,
}

impl RetentionDays {
    /// Days `what` is kept.
    pub fn of(&self, what: Retained) -> i64 {
        match what {
            Retained::Logs => self.logs,
            Retained::DbMetrics => self.db_metrics,
            Retained::ServiceChecks => self.service_checks,
            Retained::NotificationLogs => self.notification_logs,
            Retained::MetricRollups5m => self.metric_rollups_5m,
            Retained::MetricRollups1h => self.metric_rollups_1h,
        }
    }

    /// The settings in force, with the server's configured defaults for the log and database
    /// periods (read on every pass, so a change holds at once on every replica).
    pub async fn as_set(store: &dyn Store, log_default: i64, db_default: i64) -> Self {
        Self {
            logs: settings::int(store, settings::LOG_RETENTION_DAYS, Some(log_default)).await,
            db_metrics: settings::int(store, settings::DB_METRIC_RETENTION_DAYS, Some(db_default))
                .await,
            service_checks: settings::int(store, settings::RAW_METRICS_RETENTION_DAYS, None).await,
            notification_logs: NOTIFICATION_LOG_DAYS,
            metric_rollups_5m: settings::int(store, settings::METRICS_RETENTION_DAYS, None).await,
            metric_rollups_1h: settings::int(store, settings::ROLLUP_RETENTION_DAYS, None).await,
        }
    }
}

/// One name per kind, for logs and reports.
pub fn name(what: Retained) -> &'static str {
    what.table_and_column().0
}

/// Deletes the raw host samples recorded before `cutoff` (each host's newest stays), batch by
/// batch, so an upgrade that shortens retention never deletes months in one statement; returns
/// how many went. The caller picks a cut-off the rollup pass has covered
/// (`rollup::raw_purge_cutoff`).
pub async fn purge_raw_metrics(
    store: &dyn Store,
    cutoff: DateTime<Utc>,
) -> Result<u64, StoreError> {
    in_batches(|| store.purge_metrics_before(cutoff, BATCH)).await
}

/// Runs `delete` (one statement removing at most [`BATCH`] rows) until a batch comes back
/// short; returns the rows deleted in all.
async fn in_batches<F, Fut>(mut delete: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let deleted = delete().await?;
        total += deleted;
        if deleted < BATCH.unsigned_abs() {
            return Ok(total);
        }
        // Let other work on this runtime (and other writers) in between batches.
        tokio::task::yield_now().await;
    }
}

/// Deletes everything older than its period as of `now`, batch by batch; returns how many rows
/// of each table went.
pub async fn purge(
    store: &dyn Store,
    now: DateTime<Utc>,
    days: RetentionDays,
) -> Result<BTreeMap<&'static str, u64>, StoreError> {
    let mut purged = BTreeMap::new();
    for what in Retained::ALL {
        let cutoff = now - Duration::days(days.of(what));
        if what == Retained::ServiceChecks {
            service_rollup::roll_before_purge(store, cutoff).await?;
        }
        let total = in_batches(|| store.purge_batch(what, cutoff, BATCH)).await?;
        purged.insert(name(what), total);
    }
    for (resolution, kept, table) in [
        (
            ServiceRollupResolution::FiveMinutes,
            days.metric_rollups_5m,
            "service_check_rollups_5m",
        ),
        (
            ServiceRollupResolution::Hour,
            days.metric_rollups_1h,
            "service_check_rollups_1h",
        ),
    ] {
        let cutoff = now - Duration::days(kept);
        let total =
            in_batches(|| store.purge_service_rollups_before(resolution, cutoff, BATCH)).await?;
        purged.insert(table, total);
    }
    Ok(purged)
}
