//! Host metric rollups' part of the story: buckets computed by the database equal the raw
//! aggregation of the same samples (averages weighted by the samples that had a value, maxima),
//! at 5 minutes, an hour and a day; recomputing is idempotent; late-sample marks are taken once;
//! the watermark round-trips; retention and host deletion remove rollups. Its data lies after
//! the rest of the story's and in its own host.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::super::{Retained, RollupLevel, Store};
use crate::model::{Aggregate, MetricPoint, MetricSample, MetricValues, Resolution};

/// Long after every other part of the story (and before the SLA part's data).
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 6, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every rollup behaviour on a store that may already hold other data.
pub(super) async fn run(store: &dyn Store) {
    let host = seed(store).await;
    let end = base() + Duration::hours(3);
    for level in RollupLevel::ALL {
        store
            .roll_up_metrics(level, base(), end, None)
            .await
            .unwrap();
    }
    rollups_equal_raw_aggregation(store, host, end).await;

    // Recomputing changes nothing.
    for level in RollupLevel::ALL {
        store
            .roll_up_metrics(level, base(), end, Some(host))
            .await
            .unwrap();
    }
    rollups_equal_raw_aggregation(store, host, end).await;

    late_samples(store, host, end).await;
    watermark(store).await;
    retention_and_deletion(store, host, end).await;
}

/// Three hours of 15 s samples: cpu varies, memory is missing from every third sample (so a
/// plain average of averages would be wrong), disk is constant.
async fn seed(store: &dyn Store) -> i64 {
    let host = super::seed_host(store, "rollup-host", base()).await;
    let samples: Vec<MetricSample> = (0..720)
        .map(|index: i32| MetricSample {
            host_id: host,
            // Irregular: a few seconds of jitter, so buckets hold different sample counts.
            recorded_at: base() + Duration::seconds(i64::from(index) * 15 + i64::from(index % 4)),
            values: MetricValues {
                cpu_percent: Some(f64::from((index * 37) % 100)),
                memory_percent: (index % 3 != 0).then(|| f64::from(40 + index % 50)),
                disk_percent: Some(71.5),
                ..MetricValues::default()
            },
            extra: None,
        })
        .collect();
    store.insert_metrics(&samples, &[]).await.unwrap();
    host
}

fn assert_same_points(rolled: &[MetricPoint], raw: &[MetricPoint], what: &str) {
    assert_eq!(
        rolled.iter().map(|p| p.recorded_at).collect::<Vec<_>>(),
        raw.iter().map(|p| p.recorded_at).collect::<Vec<_>>(),
        "{what}: bucket starts"
    );
    for (rolled, raw) in rolled.iter().zip(raw) {
        assert_eq!(rolled.id, 0, "{what}: an aggregated point has id 0");
        for (name, a, b) in [
            ("cpu", rolled.values.cpu_percent, raw.values.cpu_percent),
            (
                "memory",
                rolled.values.memory_percent,
                raw.values.memory_percent,
            ),
            ("disk", rolled.values.disk_percent, raw.values.disk_percent),
            ("load", rolled.values.cpu_load_1, raw.values.cpu_load_1),
        ] {
            match (a, b) {
                (Some(a), Some(b)) => assert!(
                    (a - b).abs() < 1e-9,
                    "{what} {name} at {}: rolled {a} raw {b}",
                    raw.recorded_at
                ),
                (a, b) => assert_eq!(a, b, "{what} {name} at {}", raw.recorded_at),
            }
        }
    }
}

async fn rollups_equal_raw_aggregation(store: &dyn Store, host: i64, end: DateTime<Utc>) {
    for (level, resolution) in [
        (RollupLevel::FiveMinutes, Resolution::FiveMinutes),
        (RollupLevel::OneHour, Resolution::OneHour),
        (RollupLevel::OneHour, Resolution::OneDay),
    ] {
        for aggregate in [Aggregate::Avg, Aggregate::Max] {
            let seconds = resolution.bucket_seconds().unwrap();
            let rolled = store
                .rollup_series(host, level, base(), end, seconds, aggregate, 500)
                .await
                .unwrap();
            let raw = store
                .metric_series(
                    host,
                    base(),
                    end - Duration::microseconds(1),
                    resolution,
                    aggregate,
                    500,
                )
                .await
                .unwrap();
            assert!(!raw.is_empty());
            assert_same_points(
                &rolled,
                &raw,
                &format!("{level:?} as {resolution:?} {aggregate:?}"),
            );
        }
    }
    // The limit keeps the newest buckets.
    let newest = store
        .rollup_series(
            host,
            RollupLevel::FiveMinutes,
            base(),
            end,
            300,
            Aggregate::Avg,
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        newest.iter().map(|p| p.recorded_at).collect::<Vec<_>>(),
        [15, 10, 5].map(|minutes| end - Duration::minutes(minutes))
    );
}

async fn late_samples(store: &dyn Store, host: i64, end: DateTime<Utc>) {
    // A sample arrives late for the first hour: until its hour is recomputed the rollups miss
    // it; the mark is taken once, and the recompute brings rollups and raw together again.
    let late_at = base() + Duration::minutes(7) + Duration::seconds(3);
    store
        .insert_metrics(
            &[MetricSample {
                host_id: host,
                recorded_at: late_at,
                values: MetricValues {
                    cpu_percent: Some(1000.0),
                    ..MetricValues::default()
                },
                extra: None,
            }],
            &[],
        )
        .await
        .unwrap();
    let hour = base();
    store
        .mark_rollups_dirty(&[(host, hour), (host, hour)])
        .await
        .unwrap();
    store.mark_rollups_dirty(&[(host, hour)]).await.unwrap();
    let max_of_first_bucket = |level| async move {
        store
            .rollup_series(host, level, base(), end, 3600, Aggregate::Max, 500)
            .await
            .unwrap()[0]
            .values
            .cpu_percent
    };
    assert_eq!(max_of_first_bucket(RollupLevel::OneHour).await, Some(99.0));
    let marks = store.take_dirty_rollups(10).await.unwrap();
    assert_eq!(marks, [(host, hour)], "one mark per (host, hour)");
    assert!(store.take_dirty_rollups(10).await.unwrap().is_empty());
    for level in RollupLevel::ALL {
        store
            .roll_up_metrics(level, hour, hour + Duration::hours(1), Some(host))
            .await
            .unwrap();
    }
    assert_eq!(
        max_of_first_bucket(RollupLevel::OneHour).await,
        Some(1000.0)
    );
    assert_eq!(
        max_of_first_bucket(RollupLevel::FiveMinutes).await,
        Some(1000.0)
    );
    rollups_equal_raw_aggregation(store, host, end).await;
}

async fn watermark(store: &dyn Store) {
    assert!(store.oldest_raw_metric().await.unwrap().unwrap() <= base());
    let first = base() + Duration::hours(5);
    store.set_rollup_watermark(first).await.unwrap();
    assert_eq!(store.rollup_watermark().await.unwrap(), Some(first));
    let second = first + Duration::seconds(61);
    store.set_rollup_watermark(second).await.unwrap();
    assert_eq!(store.rollup_watermark().await.unwrap(), Some(second));
}

async fn retention_and_deletion(store: &dyn Store, host: i64, end: DateTime<Utc>) {
    let count = |level| async move {
        store
            .rollup_series(host, level, base(), end, 300, Aggregate::Avg, 1000)
            .await
            .unwrap()
            .len()
    };
    assert_eq!(count(RollupLevel::FiveMinutes).await, 36);
    // 5-minute buckets of the first hour go; the hourly ones stay.
    let purged = store
        .purge_batch(
            Retained::MetricRollups5m,
            base() + Duration::hours(1),
            5_000,
        )
        .await
        .unwrap();
    assert!(purged >= 12, "purged {purged}");
    assert_eq!(count(RollupLevel::FiveMinutes).await, 24);
    assert_eq!(count(RollupLevel::OneHour).await, 3);
    store.delete_host(host).await.unwrap();
    assert_eq!(count(RollupLevel::FiveMinutes).await, 0);
    assert_eq!(count(RollupLevel::OneHour).await, 0);
}
