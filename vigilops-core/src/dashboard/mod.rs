//! The dashboard's read models: the 24 h trends (`GET /dashboard/trends`, `rest-api.md` §18):
//! per hour, the average CPU and memory over every host sample, alerts fired and error log
//! lines, one entry per hour of the last 24 (the current one included), oldest first; the
//! summary with its health score ([`summary`]); and the live feed of changes ([`feed`]).

#[cfg(feature = "notify")]
pub mod feed;
pub mod summary;

use chrono::{DateTime, DurationRound, Utc};
use serde::Serialize;

use crate::clock::Clock;
use crate::store::{Store, StoreError};

/// Hours in the trends.
pub const TREND_HOURS: u32 = 24;

/// One hour of `GET /dashboard/trends`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    /// The hour's start (UTC).
    pub hour: DateTime<Utc>,
    /// One decimal; null without samples.
    pub avg_cpu: Option<f64>,
    pub avg_mem: Option<f64>,
    pub alert_count: i64,
    /// ERROR, CRITICAL and FATAL lines.
    pub error_log_count: i64,
}

/// `GET /dashboard/trends`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendsView {
    pub trends: Vec<TrendPoint>,
}

/// The trends as of `clock`'s now.
pub async fn trends(store: &dyn Store, clock: &dyn Clock) -> Result<TrendsView, StoreError> {
    let now = clock.now();
    let this_hour = now
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap_or(now);
    let from = this_hour - chrono::Duration::hours(i64::from(TREND_HOURS) - 1);
    let rolled_until = store.rollup_watermark().await?;
    let rows = store.trend_rows(from, TREND_HOURS, rolled_until).await?;
    let one_decimal = |value: f64| (value * 10.0).round() / 10.0;
    Ok(TrendsView {
        trends: rows
            .by_hour(from, TREND_HOURS)
            .into_iter()
            .map(|hour| TrendPoint {
                hour: hour.hour,
                avg_cpu: hour.avg_cpu.map(one_decimal),
                avg_mem: hour.avg_mem.map(one_decimal),
                alert_count: hour.alert_count,
                error_log_count: hour.error_log_count,
            })
            .collect(),
    })
}
