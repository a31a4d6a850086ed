//! Host metric rollups (issue 7): 5-minute buckets computed from raw samples and hourly ones from
//! the 5-minute buckets (the same pass rolls up service checks, `crate::service_rollup`), so a week's chart reads 168 rows instead of 40,000, and raw samples can
//! be purged long before the history they summarise.
//!
//! **The pass** ([`pass`]) runs every [`PASS_EVERY`] under the `metric-rollup` lease (once per
//! cluster). It recomputes every bucket from [`OVERLAP`] before the previous pass up to now
//! (upserts, so a recompute is harmless), then the hours that late samples marked. Its
//! watermark is the time of the last completed pass; a first pass starts at the oldest raw
//! sample, so an existing deployment's history is rolled up before raw retention purges it.
//!
//! **Late samples** (an agent's spool replayed after an outage) are samples older than
//! [`LATE_AFTER`] when stored: ingestion marks their (host, hour) pairs ([`late_hours`]) and the
//! next pass recomputes those hours. Anything younger is inside the next pass's window anyway.
//!
//! **Reads** ([`series`]): a bucketed chart takes the buckets before the watermark from the
//! coarsest level whose bucket divides the requested one, and the rest (at most a few minutes
//! plus one requested bucket) from raw samples, so a stalled pass makes charts slower, never
//! wrong. Raw retention never purges samples the pass has not rolled up
//! ([`raw_purge_cutoff`]).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::model::{Aggregate, MetricPoint, MetricSample, Resolution};
use crate::service_rollup;
use crate::store::{RollupLevel, Store, StoreResult};

/// How often the pass runs.
pub const PASS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How far before the previous pass a pass starts recomputing (samples committed while it ran).
pub const OVERLAP: Duration = Duration::minutes(10);
/// Samples older than this when stored mark their hour for a recompute.
pub const LATE_AFTER: Duration = Duration::minutes(5);
/// The longest range one statement of a pass covers (a first pass over months of history).
const STEP: Duration = Duration::hours(6);
/// Late-sample marks taken at a time.
const DIRTY_BATCH: i64 = 500;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Where it started recomputing (`None`: there was nothing to roll up yet).
    pub from: Option<DateTime<Utc>>,
    /// 5-minute buckets written.
    pub five_minute_buckets: u64,
    /// Hourly buckets written.
    pub hourly_buckets: u64,
    /// (host, hour) pairs recomputed for late samples.
    pub late_hours: usize,
    /// Service check rollup rows written.
    pub service_rows: u64,
}

/// `at` rounded down to a multiple of `seconds` since the epoch.
pub fn align_down(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    let micros = seconds.max(1) * 1_000_000;
    let stamp = at.timestamp_micros();
    DateTime::from_timestamp_micros(stamp - stamp.rem_euclid(micros)).unwrap_or(at)
}

/// The (host, hour start) pairs of the samples in `samples` that are late at `now`, each once.
pub fn late_hours(samples: &[MetricSample], now: DateTime<Utc>) -> Vec<(i64, DateTime<Utc>)> {
    let cutoff = now - LATE_AFTER;
    samples
        .iter()
        .filter(|sample| sample.recorded_at < cutoff)
        .map(|sample| (sample.host_id, align_down(sample.recorded_at, 3600)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Rolls up everything new since the last pass, then the hours late samples marked, and
/// records the pass at `now`.
pub async fn pass(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<PassReport> {
    let mut report = PassReport::default();
    let watermark = store.rollup_watermark().await?;
    roll_host_metrics(store, watermark, now, &mut report).await?;
    // Service checks (`crate::service_rollup`): an hour of overlap, or everything stored on a
    // first pass.
    let service_from = match watermark {
        Some(through) => through.min(now) - Duration::hours(1),
        None => service_rollup::raw_horizon(store)
            .await?
            .oldest_raw_check
            .unwrap_or(now),
    };
    report.service_rows = service_rollup::roll(store, service_from, now).await?;
    store.set_rollup_watermark(now).await?;
    Ok(report)
}

/// The host metric part of [`pass`].
async fn roll_host_metrics(
    store: &dyn Store,
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> StoreResult<()> {
    let from = match watermark {
        Some(through) => align_down(through.min(now) - OVERLAP, 300),
        None => match store.oldest_raw_metric().await? {
            Some(oldest) => align_down(oldest, 3600),
            None => return Ok(()),
        },
    };
    report.from = Some(from);
    let mut start = from;
    while start < now {
        let end = (start + STEP).min(now);
        report.five_minute_buckets += store
            .roll_up_metrics(RollupLevel::FiveMinutes, start, end, None)
            .await?;
        // The hour `start` falls in is recomputed whole, from its 5-minute buckets.
        report.hourly_buckets += store
            .roll_up_metrics(RollupLevel::OneHour, align_down(start, 3600), end, None)
            .await?;
        start = end;
        tokio::task::yield_now().await;
    }
    loop {
        let marks = store.take_dirty_rollups(DIRTY_BATCH).await?;
        for (done, (host_id, hour)) in marks.iter().enumerate() {
            if let Err(error) = recompute_hour(store, *host_id, *hour).await {
                // Put back what is not done, so the next pass does it.
                if let Err(again) = store.mark_rollups_dirty(&marks[done..]).await {
                    tracing::warn!(error = %again, "could not keep late-sample marks");
                }
                return Err(error);
            }
        }
        report.late_hours += marks.len();
        if i64::try_from(marks.len()).unwrap_or(i64::MAX) < DIRTY_BATCH {
            break;
        }
    }
    Ok(())
}

async fn recompute_hour(store: &dyn Store, host_id: i64, hour: DateTime<Utc>) -> StoreResult<()> {
    let end = hour + Duration::hours(1);
    for level in RollupLevel::ALL {
        store
            .roll_up_metrics(level, hour, end, Some(host_id))
            .await?;
    }
    Ok(())
}

/// The level whose buckets make up buckets of `bucket_seconds`: hourly for whole hours, 5-minute
/// for whole multiples of 5 minutes, none for finer ones.
pub fn level_for(bucket_seconds: i64) -> Option<RollupLevel> {
    RollupLevel::ALL
        .into_iter()
        .rev()
        .find(|level| bucket_seconds > 0 && bucket_seconds % level.bucket_seconds() == 0)
}

/// The newest time raw samples may be purged up to, given the retention `cutoff`: never past
/// what the pass has rolled up (its watermark less [`OVERLAP`]), nor anything when it has not
/// run yet.
pub async fn raw_purge_cutoff(
    store: &dyn Store,
    cutoff: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(store
        .rollup_watermark()
        .await?
        .map(|through| cutoff.min(align_down(through - OVERLAP, 3600))))
}

/// A host's chart in `[from, to]` at `resolution`: at most `limit` of the newest points, oldest
/// first. Bucketed resolutions start at the bucket holding `from` and read rollups for the buckets the last pass completed and raw
/// samples for the rest; raw and 1-minute ones read raw samples.
#[allow(clippy::too_many_arguments)]
pub async fn series(
    store: &dyn Store,
    host_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    resolution: Resolution,
    aggregate: Aggregate,
    limit: i64,
) -> StoreResult<Vec<MetricPoint>> {
    let raw = |from| store.metric_series(host_id, from, to, resolution, aggregate, limit);
    let Some(seconds) = resolution.bucket_seconds() else {
        return raw(from).await;
    };
    // Whole buckets only, so the first point means the same whichever level serves it.
    let from = align_down(from, seconds);
    let Some(level) = level_for(seconds) else {
        return raw(from).await;
    };
    let Some(through) = store.rollup_watermark().await? else {
        return raw(from).await;
    };
    // Buckets starting before `split` are complete in the rollups.
    let split = align_down(through.min(to), seconds);
    if split <= from {
        return raw(from).await;
    }
    let recent = raw(split).await?;
    let room = limit - i64::try_from(recent.len()).unwrap_or(limit);
    let mut points = if room > 0 {
        store
            .rollup_series(host_id, level, from, split, seconds, aggregate, room)
            .await?
    } else {
        Vec::new()
    };
    points.extend(recent);
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MetricValues;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn align_down_rounds_to_the_bucket_start() {
        assert_eq!(
            align_down(at("2026-11-27T10:07:31.5Z"), 300),
            at("2026-11-27T10:05:00Z")
        );
        assert_eq!(
            align_down(at("2026-11-27T10:05:00Z"), 300),
            at("2026-11-27T10:05:00Z")
        );
        assert_eq!(
            align_down(at("2026-11-27T10:59:59Z"), 3600),
            at("2026-11-27T10:00:00Z")
        );
        assert_eq!(
            align_down(at("1969-12-31T23:59:59Z"), 3600),
            at("1969-12-31T23:00:00Z")
        );
    }

    #[test]
    fn each_bucket_size_is_served_by_the_coarsest_level_that_divides_it() {
        assert_eq!(level_for(60), None);
        assert_eq!(level_for(300), Some(RollupLevel::FiveMinutes));
        assert_eq!(level_for(900), Some(RollupLevel::FiveMinutes));
        assert_eq!(level_for(3600), Some(RollupLevel::OneHour));
        assert_eq!(level_for(86_400), Some(RollupLevel::OneHour));
        assert_eq!(level_for(0), None);
    }

    #[test]
    fn only_late_samples_mark_their_hour_once_per_host() {
        let now = at("2026-11-27T12:00:00Z");
        let sample = |host_id, recorded_at| MetricSample {
            host_id,
            recorded_at,
            values: MetricValues::default(),
            extra: None,
        };
        let samples = [
            sample(1, at("2026-11-27T11:58:00Z")),
            sample(1, at("2026-11-27T09:10:00Z")),
            sample(1, at("2026-11-27T09:50:00Z")),
            sample(2, at("2026-11-27T11:54:59Z")),
        ];
        assert_eq!(
            late_hours(&samples, now),
            vec![
                (1, at("2026-11-27T09:00:00Z")),
                (2, at("2026-11-27T11:00:00Z"))
            ]
        );
    }
}
