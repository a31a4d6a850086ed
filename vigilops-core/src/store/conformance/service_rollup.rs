//! Service check rollups' part of the story, on a fresh store (it purges raw checks, which
//! would take other parts' data): the buckets of a range sum to the raw coverage of that range
//! (irregular check times, gaps longer than twice the interval, down periods and a check's
//! coverage crossing bucket boundaries), rolling up again changes nothing even after the raw
//! checks are purged, and SLA availability, reports and report counts are the same before and
//! after the raw checks older than seven days are purged.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::super::{Retained, Store};
use crate::clock::ManualClock;
use crate::model::{
    CheckCoverage, NewServiceCheck, NewSlaRule, ServiceRollupResolution, SlaWindow,
};
use crate::service_rollup::{self, RawHorizon};
use crate::sla::{self, ReportQuery, SlaService, coverage_cap};

const FIVE: ServiceRollupResolution = ServiceRollupResolution::FiveMinutes;
const HOUR: ServiceRollupResolution = ServiceRollupResolution::Hour;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2033, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every rollup behaviour on a fresh, empty store.
pub async fn service_check_rollups(store: Arc<dyn Store>) {
    let host = super::seed_host(store.as_ref(), "rollup-host", base()).await;
    buckets_sum_to_the_raw_coverage(store.as_ref(), host).await;
    availability_survives_the_raw_purge(store, host).await;
}

async fn insert_checks(store: &dyn Store, service_id: i64, checks: &[(DateTime<Utc>, bool)]) {
    for (index, (checked_at, down)) in checks.iter().enumerate() {
        store
            .insert_service_check(
                NewServiceCheck {
                    service_id,
                    status: if *down { "down" } else { "up" }.to_owned(),
                    response_time_ms: (index % 7 != 0).then_some(index as f64 % 50.0 + 1.0),
                    status_code: None,
                    error: None,
                    checked_at: *checked_at,
                },
                None,
            )
            .await
            .unwrap();
    }
}

/// A deterministic jitter in `0..spread`.
fn jitter(index: i64, spread: i64) -> i64 {
    (index * 7919 + 13).rem_euclid(spread)
}

/// `count` checks from `start`, every `every` seconds plus up to `spread` milliseconds of
/// jitter, down where `down` says.
fn series(
    start: DateTime<Utc>,
    count: i64,
    every: i64,
    spread: i64,
    down: impl Fn(i64) -> bool,
) -> Vec<(DateTime<Utc>, bool)> {
    (0..count)
        .map(|index| {
            (
                start
                    + Duration::seconds(index * every)
                    + Duration::milliseconds(jitter(index, spread)),
                down(index),
            )
        })
        .collect()
}

async fn drop_raw_checks_before(store: &dyn Store, cutoff: DateTime<Utc>) {
    while store
        .purge_batch(Retained::ServiceChecks, cutoff, 1000)
        .await
        .unwrap()
        > 0
    {}
}

async fn rolled(
    store: &dyn Store,
    service: i64,
    resolution: ServiceRollupResolution,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> CheckCoverage {
    store
        .service_rollup_coverage(service, resolution, from, to)
        .await
        .unwrap()
}

async fn buckets_sum_to_the_raw_coverage(store: &dyn Store, host: i64) {
    let start = base() + Duration::hours(1);
    // 10 s checks with jitter for 90 min, down for ten minutes across bucket boundaries, a
    // 25 min gap (the agent was away), an hour more with a short outage, and a replayed check
    // with the timestamp of another.
    let steady = super::seed_service(store, host, "rollup-steady", 10, base()).await;
    let mut steady_checks = series(start + Duration::seconds(127), 540, 10, 3000, |index| {
        (200..260).contains(&index)
    });
    steady_checks.extend(series(
        start + Duration::minutes(115),
        360,
        10,
        2000,
        |index| (100..106).contains(&index),
    ));
    steady_checks.push(steady_checks[17]);
    steady_checks.sort_by_key(|(at, _)| *at);
    // 300 s checks for four hours with a 40 min gap, down three times in a row.
    let sparse = super::seed_service(store, host, "rollup-sparse", 300, base()).await;
    let mut sparse_checks = series(start, 20, 300, 40_000, |index| (6..9).contains(&index));
    sparse_checks.extend(series(
        start + Duration::minutes(140),
        20,
        300,
        40_000,
        |_| false,
    ));
    // 30 min checks for five hours: each covers up to an hour, across twelve buckets.
    let slow = super::seed_service(store, host, "rollup-slow", 1800, base()).await;
    let slow_checks = series(start + Duration::seconds(61), 10, 1800, 100_000, |index| {
        index == 3
    });
    for (service_id, checks) in [
        (steady, &steady_checks),
        (sparse, &sparse_checks),
        (slow, &slow_checks),
    ] {
        insert_checks(store, service_id, checks).await;
    }
    let window = (start - Duration::hours(1), start + Duration::hours(6));
    assert!(
        service_rollup::roll(store, window.0, window.1)
            .await
            .unwrap()
            > 0
    );

    let services = [
        (steady, &steady_checks, 10),
        (sparse, &sparse_checks, 300),
        (slow, &slow_checks, 1800),
    ];
    let five_minute_ranges = [
        (start, start + Duration::hours(6)),
        (start + Duration::minutes(35), start + Duration::minutes(50)),
        (
            start + Duration::minutes(95),
            start + Duration::minutes(145),
        ),
        (start - Duration::minutes(30), start + Duration::minutes(5)),
        (
            start + Duration::minutes(200),
            start + Duration::minutes(205),
        ),
    ];
    for (service_id, checks, interval) in services {
        let cap = coverage_cap(interval);
        for range in five_minute_ranges {
            let raw = store
                .check_coverage(service_id, range.0, range.1, cap)
                .await
                .unwrap();
            assert_eq!(raw, sla::coverage(checks, range.0, range.1, cap));
            assert_eq!(
                rolled(store, service_id, FIVE, range).await,
                raw,
                "5-minute buckets of service {service_id} over {range:?}"
            );
        }
        for hours in [(0, 6), (1, 2), (2, 5)] {
            let range = (
                start + Duration::hours(hours.0),
                start + Duration::hours(hours.1),
            );
            let raw = store
                .check_coverage(service_id, range.0, range.1, cap)
                .await
                .unwrap();
            assert_eq!(
                rolled(store, service_id, HOUR, range).await,
                raw,
                "1-hour buckets of service {service_id} over {range:?}"
            );
        }
    }
    // Every single bucket of the slow service, whose checks mostly cover buckets they were
    // not taken in.
    let slow_cap = coverage_cap(1800);
    for bucket in 0..72 {
        let range = (
            start + Duration::minutes(5 * bucket),
            start + Duration::minutes(5 * bucket + 5),
        );
        assert_eq!(
            rolled(store, slow, FIVE, range).await,
            store
                .check_coverage(slow, range.0, range.1, slow_cap)
                .await
                .unwrap(),
            "slow service's bucket at {}",
            range.0
        );
    }
    let headline = rolled(store, steady, HOUR, (start, start + Duration::hours(1))).await;
    assert!(headline.total_checks > 300 && headline.down_checks == 60);

    // Rolling up again, whole or in part, writes the same figures.
    let service_ids = services.map(|(service_id, _, _)| service_id);
    let before: Vec<CheckCoverage> = hourly(store, &service_ids, start).await;
    service_rollup::roll(
        store,
        start + Duration::minutes(70),
        start + Duration::minutes(150),
    )
    .await
    .unwrap();
    service_rollup::roll(store, window.0, window.1)
        .await
        .unwrap();
    assert_eq!(hourly(store, &service_ids, start).await, before);

    // The combined read equals the raw coverage wherever the split falls.
    let whole = (start, start + Duration::hours(6));
    for (service_id, _, interval) in services {
        let cap = coverage_cap(interval);
        let raw = store
            .check_coverage(service_id, whole.0, whole.1, cap)
            .await
            .unwrap();
        for horizon in [
            RawHorizon::default(),
            RawHorizon {
                oldest_raw_check: None,
                rolled_until: Some(window.1),
            },
            RawHorizon {
                oldest_raw_check: Some(start),
                rolled_until: Some(window.1),
            },
            RawHorizon {
                oldest_raw_check: Some(start + Duration::minutes(133)),
                rolled_until: Some(window.1),
            },
            RawHorizon {
                oldest_raw_check: Some(start + Duration::hours(5)),
                rolled_until: Some(start + Duration::minutes(275)),
            },
        ] {
            assert_eq!(
                service_rollup::check_coverage(store, service_id, whole, cap, horizon)
                    .await
                    .unwrap(),
                raw,
                "service {service_id} split after {horizon:?}"
            );
        }
    }

    // Purge the raw checks of the first three hours: rolling up the whole window again
    // cannot shrink what was rolled up while they were stored, and the combined read with the
    // store's horizon still gives the raw figures of before.
    let raw_before: Vec<CheckCoverage> = {
        let mut figures = Vec::new();
        for (service_id, _, interval) in services {
            figures.push(
                store
                    .check_coverage(service_id, whole.0, whole.1, coverage_cap(interval))
                    .await
                    .unwrap(),
            );
        }
        figures
    };
    drop_raw_checks_before(store, start + Duration::hours(3)).await;
    let horizon = service_rollup::raw_horizon(store).await.unwrap();
    assert!(
        horizon
            .oldest_raw_check
            .is_some_and(|oldest| oldest >= start + Duration::hours(3))
    );
    service_rollup::roll(store, window.0, window.1)
        .await
        .unwrap();
    assert_eq!(hourly(store, &service_ids, start).await, before);
    for ((service_id, _, interval), raw) in services.into_iter().zip(raw_before) {
        assert_eq!(
            service_rollup::check_coverage(
                store,
                service_id,
                whole,
                coverage_cap(interval),
                horizon
            )
            .await
            .unwrap(),
            raw,
            "service {service_id} after the purge"
        );
    }

    // The rollup purge: bounded batches, oldest first, each resolution on its own.
    let cutoff = start + Duration::hours(2);
    let mut purged = 0;
    loop {
        let deleted = store
            .purge_service_rollups_before(FIVE, cutoff, 7)
            .await
            .unwrap();
        assert!(deleted <= 7);
        purged += deleted;
        if deleted == 0 {
            break;
        }
    }
    assert!(purged > 24, "{purged} five-minute buckets purged");
    assert_eq!(
        rolled(store, steady, FIVE, (window.0, cutoff)).await,
        CheckCoverage::default()
    );
    assert!(
        rolled(store, steady, FIVE, (cutoff, window.1))
            .await
            .total_checks
            > 0
    );
    assert!(
        rolled(store, steady, HOUR, (window.0, cutoff))
            .await
            .total_checks
            > 0
    );
    assert!(
        store
            .purge_service_rollups_before(HOUR, window.1, 1000)
            .await
            .unwrap()
            > 0
    );
    assert_eq!(
        rolled(store, steady, HOUR, window).await,
        CheckCoverage::default()
    );
    // What is left of this part's raw checks goes, so the next part starts the raw history.
    drop_raw_checks_before(store, base() + Duration::days(365)).await;
}

/// Each service's coverage of each of the six hours from `start`, from both resolutions.
async fn hourly(
    store: &dyn Store,
    service_ids: &[i64],
    start: DateTime<Utc>,
) -> Vec<CheckCoverage> {
    let mut figures = Vec::new();
    for service_id in service_ids {
        for hour in 0..6 {
            let range = (
                start + Duration::hours(hour),
                start + Duration::hours(hour + 1),
            );
            figures.push(rolled(store, *service_id, FIVE, range).await);
            figures.push(rolled(store, *service_id, HOUR, range).await);
        }
    }
    figures
}

/// Ten days of 15-minute checks with outages (one across midnight), a gap where the agent was
/// away, then the raw checks older than seven days purged: the SLA report, the rule's status
/// and the operations report's check counts read the same before and after.
async fn availability_survives_the_raw_purge(store: Arc<dyn Store>, host: i64) {
    let first_day = Utc
        .with_ymd_and_hms(2034, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let service_id = super::seed_service(store.as_ref(), host, "rollup-sla", 900, base()).await;
    let checks = series(
        first_day + Duration::minutes(3),
        960,
        900,
        120_000,
        |index| {
            // Day 1 10:00-11:15, day 4 23:45-00:15, day 8 05:00-06:00.
            (136..141).contains(&index)
                || (479..481).contains(&index)
                || (788..792).contains(&index)
        },
    );
    // The agent was away for three hours on day 2.
    let checks: Vec<_> = checks
        .into_iter()
        .enumerate()
        .filter(|(index, _)| !(200..212).contains(index))
        .map(|(_, check)| check)
        .collect();
    insert_checks(store.as_ref(), service_id, &checks).await;
    store
        .create_sla_rule(
            NewSlaRule {
                service_id,
                name: "rolled".to_owned(),
                target_percent: 99.9,
                window: SlaWindow::Monthly,
            },
            first_day,
        )
        .await
        .unwrap();
    let now = first_day + Duration::days(10);
    let query = ReportQuery {
        service_id,
        period: None,
        start_date: Some("2034-03-01".to_owned()),
        end_date: Some("2034-03-10".to_owned()),
    };
    // A new service each time, so no remembered day hides a difference.
    let measure = || {
        let store = Arc::clone(&store);
        let query = query.clone();
        async move {
            let sla = SlaService::new(Arc::clone(&store), Arc::new(ManualClock::new(now)));
            let report = sla.report(query).await.unwrap();
            let status = sla.status().await.unwrap();
            let counts = store
                .report_data(first_day, now)
                .await
                .unwrap()
                .services
                .into_iter()
                .find(|service| service.id == service_id)
                .map(|service| (service.checks, service.up_checks));
            (report, status, counts)
        }
    };
    let before = measure().await;
    assert_eq!(before.0.total_checks, 948);
    assert!(before.0.unknown_minutes > 150.0);
    assert!(before.0.total_downtime_minutes > 100.0);
    assert!(
        before
            .0
            .overall_availability
            .is_some_and(|actual| actual < 99.9),
        "{:?}",
        before.0.overall_availability
    );
    assert_eq!(before.2, Some((948, 948 - 11)));

    // The job's first run rolls up from the oldest raw check; the figures do not move.
    let oldest = service_rollup::raw_horizon(store.as_ref())
        .await
        .unwrap()
        .oldest_raw_check
        .unwrap();
    service_rollup::roll(store.as_ref(), oldest, now)
        .await
        .unwrap();
    assert_eq!(measure().await, before);

    // The retention purge: roll up around the cutoff, then delete the older raw checks.
    let cutoff = now - Duration::days(7);
    service_rollup::roll_before_purge(store.as_ref(), cutoff)
        .await
        .unwrap();
    drop_raw_checks_before(store.as_ref(), cutoff).await;
    assert_eq!(
        store
            .check_coverage(service_id, first_day, cutoff, coverage_cap(900))
            .await
            .unwrap()
            .total_checks,
        0,
        "the raw checks before the cutoff are gone"
    );
    let after = measure().await;
    assert_eq!(after.0, before.0, "the SLA report");
    assert_eq!(after.1, before.1, "the SLA status");
    assert_eq!(after.2, before.2, "the operations report's check counts");
}
