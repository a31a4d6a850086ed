//! Service check rollups (issue 7): raw `service_checks` are kept for a few days, while the
//! 5-minute and 1-hour rollups (`ServiceRollupStore`, migration 0013) keep, per service and
//! bucket, the checks taken and the time they cover, computed exactly as
//! `SlaStore::check_coverage` computes coverage. Coverage is additive over adjacent ranges, so
//! the buckets of a range sum to its raw coverage, and reads of ranges older than the stored
//! raw checks ([`check_coverage`]) give the figures the raw checks gave.
//!
//! Write side: [`roll`], called by the leased rollup job (see its window contract), and
//! [`roll_before_purge`], called before raw checks are purged. Read side: [`check_coverage`],
//! which splits a range at [`raw_split`] (from the [`raw_horizon`] of the stored data) into
//! rollups (whole hours from the 1-hour table, the rest from the 5-minute one) and raw checks.

use chrono::{DateTime, Duration, Utc};

use crate::model::{CheckCoverage, ServiceRollupResolution};
use crate::store::{Store, StoreError};

/// The longest range one store call recomputes, so a long window (a backfill, a gap after an
/// outage) is rolled up in bounded transactions.
pub const ROLL_CHUNK: Duration = Duration::hours(1);

/// Recomputes the 5-minute and 1-hour rollups of every service for the buckets that intersect
/// `[from, to)`, one hour per transaction; returns the rows written. Idempotent: rolling the
/// same checks again writes the same rows, and a bucket is never shrunk by a recomputation that
/// sees fewer checks or less covered time (so a window reaching into purged raw checks is
/// harmless).
///
/// **Window contract.** A bucket is right once every check that covers part of it is stored
/// and it was rolled after that. So the caller (the leased job, every few minutes) passes:
/// - `to` = now;
/// - `from` = the previous successful call's `to` minus one hour, so checks that arrive up to
///   an hour late (an agent's spool) and the coverage of the previous call's last checks,
///   which reaches into later buckets, are recomputed. After a gap (the job did not run) the
///   window is longer; that is what the chunking is for.
/// - On its very first run (no previous `to`): the oldest stored raw check
///   (`RawHorizon::oldest_raw_check` of [`raw_horizon`]), so checks stored before rollups
///   existed are rolled up before the retention purge deletes them.
///
/// Checks that arrive more than an hour late are picked up by [`roll_before_purge`], which the
/// retention purge calls before deleting raw checks.
pub async fn roll(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let five = ServiceRollupResolution::FiveMinutes;
    let (mut cursor, end) = (five.floor(from), five.ceil(to));
    let mut written = 0;
    while cursor < end {
        let chunk_end = (ServiceRollupResolution::Hour.floor(cursor) + ROLL_CHUNK).min(end);
        written += store.roll_service_checks(cursor, chunk_end).await?;
        cursor = chunk_end;
        // Let other work on this runtime (and other writers) in between chunks.
        tokio::task::yield_now().await;
    }
    Ok(written)
}

/// How far before a purge cutoff [`roll_before_purge`] recomputes.
pub const BEFORE_PURGE: Duration = Duration::hours(2);
/// How far after a purge cutoff [`roll_before_purge`] recomputes: the buckets just after it
/// are covered by checks before it, which are about to go.
pub const AFTER_PURGE: Duration = Duration::hours(1);

/// Rolls up, from the raw checks still stored, the buckets around `cutoff` before the raw
/// checks older than `cutoff` are purged, so checks that arrived late (more than the regular
/// job's hour) are in the rollups that outlive them. Call it with the same `cutoff`, just
/// before `purge_batch(Retained::ServiceChecks, cutoff, ..)`; the purge runs hourly and this
/// recomputes three hours, so every hour is recomputed once more while complete.
pub async fn roll_before_purge(
    store: &dyn Store,
    cutoff: DateTime<Utc>,
) -> Result<u64, StoreError> {
    roll(store, cutoff - BEFORE_PURGE, cutoff + AFTER_PURGE).await
}

/// Where the stored data can be trusted, as [`raw_horizon`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawHorizon {
    /// When the oldest stored raw check was taken: raw checks are purged oldest first, so
    /// every check from here on is stored (`None` when no raw check is).
    pub oldest_raw_check: Option<DateTime<Utc>>,
    /// Where the newest 5-minute rollup bucket starts: the buckets before it have been rolled
    /// up (`None` before the first rollup).
    pub rolled_until: Option<DateTime<Utc>>,
}

/// The stored data's [`RawHorizon`] (two index probes). Read from the data rather than from
/// the retention setting, so it is right before the first purge under a new setting, while a
/// purge runs, after the setting changes either way, and before the first rollup.
pub async fn raw_horizon(store: &dyn Store) -> Result<RawHorizon, StoreError> {
    Ok(RawHorizon {
        oldest_raw_check: store.oldest_service_check().await?,
        rolled_until: store.newest_service_rollup().await?,
    })
}

/// Where a service's coverage switches from rollups to raw checks (`None`: raw checks
/// throughout): the first whole hour at least `cap` (the longest a check covers) after the
/// oldest stored raw check, so the check just before the split, which covers into it, is
/// still stored; but never after the rollups end. Splitting earlier than that hour is exact
/// too when no check before the oldest stored one covers past the split, which is the case
/// when the rollups end there: checks purged are days older than the newest bucket.
pub fn raw_split(horizon: RawHorizon, cap: Duration) -> Option<DateTime<Utc>> {
    let rolled_until = horizon.rolled_until?;
    Some(match horizon.oldest_raw_check {
        Some(oldest) => ServiceRollupResolution::Hour
            .ceil(oldest + cap)
            .min(rolled_until),
        None => rolled_until,
    })
}

/// The coverage of `[from, to)` by the checks of `service_id` (each covering at most `cap`),
/// as `SlaStore::check_coverage` measures it, for any range: the part before
/// [`raw_split`]`(horizon, cap)` from the rollups, the rest from the raw checks.
///
/// The rollup part uses the 1-hour buckets for its whole hours and the 5-minute buckets for
/// the rest; an end inside a 5-minute bucket counts that bucket in the range when it starts
/// at or after `from`, so such an end is accurate to 5 minutes (the SLA's ranges start at
/// midnight and the split is on a bucket boundary, so theirs are exact). When no rollup bucket
/// lies in the rollup part, it is read from the raw checks instead: for data stored before
/// rollups existed, the raw checks are all there is. Buckets are rolled up with the check
/// interval of their time; `cap` applies to raw checks.
pub async fn check_coverage(
    store: &dyn Store,
    service_id: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    cap: Duration,
    horizon: RawHorizon,
) -> Result<CheckCoverage, StoreError> {
    if to <= from {
        return Ok(CheckCoverage::default());
    }
    let split = raw_split(horizon, cap).unwrap_or(from).clamp(from, to);
    let mut total = CheckCoverage::default();
    if split > from {
        let rolled = rollup_coverage(store, service_id, from, split).await?;
        total = if rolled == CheckCoverage::default() {
            store.check_coverage(service_id, from, split, cap).await?
        } else {
            rolled
        };
    }
    if to > split {
        total = total + store.check_coverage(service_id, split, to, cap).await?;
    }
    Ok(total)
}

/// The rollup coverage of `[from, to)`: whole hours from the 1-hour buckets, the ends from the
/// 5-minute ones.
async fn rollup_coverage(
    store: &dyn Store,
    service_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<CheckCoverage, StoreError> {
    let (five, hour) = (
        ServiceRollupResolution::FiveMinutes,
        ServiceRollupResolution::Hour,
    );
    let hours_from = hour.ceil(from).min(to);
    let hours_to = hour.floor(to).max(hours_from);
    let mut total = CheckCoverage::default();
    for (resolution, start, end) in [
        (five, from, hours_from),
        (hour, hours_from, hours_to),
        (five, hours_to, to),
    ] {
        if end > start {
            total = total
                + store
                    .service_rollup_coverage(service_id, resolution, start, end)
                    .await?;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, s)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn buckets_are_aligned_to_the_epoch() {
        let five = ServiceRollupResolution::FiveMinutes;
        let hour = ServiceRollupResolution::Hour;
        assert_eq!(five.floor(at(10, 7, 30)), at(10, 5, 0));
        assert_eq!(five.ceil(at(10, 7, 30)), at(10, 10, 0));
        assert_eq!(five.ceil(at(10, 5, 0)), at(10, 5, 0));
        assert_eq!(hour.floor(at(10, 59, 59)), at(10, 0, 0));
        assert_eq!(hour.ceil(at(10, 0, 1)), at(11, 0, 0));
    }

    #[test]
    fn the_split_leaves_the_check_before_it_stored() {
        let horizon = |oldest, rolled_until| RawHorizon {
            oldest_raw_check: Some(oldest),
            rolled_until: Some(rolled_until),
        };
        let later = at(20, 0, 0);
        // The oldest check at 10:07:30; a 10 s service's checks cover 20 s, so 11:00 is the
        // first hour whose preceding check is certainly stored.
        assert_eq!(
            raw_split(horizon(at(10, 7, 30), later), Duration::seconds(20)),
            Some(at(11, 0, 0))
        );
        // A check every 30 min covers up to an hour past the oldest check.
        assert_eq!(
            raw_split(horizon(at(10, 7, 30), later), Duration::hours(1)),
            Some(at(12, 0, 0))
        );
        // Never after the rollups end; raw checks throughout before the first rollup.
        assert_eq!(
            raw_split(horizon(at(10, 7, 30), at(10, 35, 0)), Duration::seconds(20)),
            Some(at(10, 35, 0))
        );
        let unrolled = RawHorizon {
            oldest_raw_check: Some(at(10, 7, 30)),
            rolled_until: None,
        };
        assert_eq!(raw_split(unrolled, Duration::seconds(20)), None);
        let all_purged = RawHorizon {
            oldest_raw_check: None,
            rolled_until: Some(later),
        };
        assert_eq!(raw_split(all_purged, Duration::seconds(20)), Some(later));
    }
}
