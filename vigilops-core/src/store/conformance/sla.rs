//! Service level agreements' part of the story: one rule per service (a second is a Conflict,
//! an unknown service NotFound), the coverage of a range by a service's checks computed in the
//! database and equal to `sla::coverage` (the specification), and violations (one open per
//! rule whatever the number of attempts, closing with a duration, listing by overlap). Its data
//! lies after the rest of the story's.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::super::{Store, StoreError};
use crate::model::{NewServiceCheck, NewSlaRule, NewSlaViolation, SlaWindow};
use crate::sla::{coverage, coverage_cap};

/// Long after every other part of the story.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2032, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every SLA behaviour on a store that may already hold other data (but no SLA rules).
pub(super) async fn run(store: &dyn Store) {
    let (steady, sparse) = seed(store).await;
    rules(store, steady, sparse).await;
    coverage_matches_the_specification(store, steady, sparse).await;
    violations(store, steady, sparse).await;
}

/// Two services of one host: one checked every 10 s, one every 300 s.
async fn seed(store: &dyn Store) -> (i64, i64) {
    let host = super::seed_host(store, "sla-host", base()).await;
    (
        super::seed_service(store, host, "sla-steady", 10, base()).await,
        super::seed_service(store, host, "sla-sparse", 300, base()).await,
    )
}

fn new_rule(service_id: i64, name: &str, window: SlaWindow) -> NewSlaRule {
    NewSlaRule {
        service_id,
        name: name.to_owned(),
        target_percent: 99.5,
        window,
    }
}

async fn rules(store: &dyn Store, steady: i64, sparse: i64) {
    assert!(store.list_sla_rules().await.unwrap().is_empty());
    let rule = store
        .create_sla_rule(new_rule(steady, "steady uptime", SlaWindow::Weekly), base())
        .await
        .unwrap();
    assert_eq!(rule.service_id, steady);
    assert_eq!(rule.service_name, "sla-steady");
    assert_eq!(rule.name, "steady uptime");
    assert_eq!(rule.target_percent, 99.5);
    assert_eq!(rule.window, SlaWindow::Weekly);
    assert_eq!(rule.check_interval, 10);
    assert_eq!(rule.created_at, base());

    let second = store
        .create_sla_rule(new_rule(steady, "again", SlaWindow::Daily), base())
        .await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    let unknown = store
        .create_sla_rule(new_rule(999_999, "nobody", SlaWindow::Daily), base())
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );

    let other = store
        .create_sla_rule(
            new_rule(sparse, "sparse uptime", SlaWindow::Monthly),
            base(),
        )
        .await
        .unwrap();
    let listed = store.list_sla_rules().await.unwrap();
    assert_eq!(
        listed.iter().map(|rule| rule.id).collect::<Vec<_>>(),
        vec![rule.id, other.id]
    );
    assert_eq!(store.sla_rule(rule.id).await.unwrap(), Some(rule.clone()));
    assert_eq!(
        store
            .service_sla_rule(sparse)
            .await
            .unwrap()
            .map(|rule| rule.id),
        Some(other.id)
    );
    assert!(store.sla_rule(999_999).await.unwrap().is_none());

    store.delete_sla_rule(other.id).await.unwrap();
    assert!(matches!(
        store.delete_sla_rule(other.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.service_sla_rule(sparse).await.unwrap().is_none());

    let service = store.sla_service(sparse).await.unwrap().unwrap();
    assert_eq!(
        (service.name.as_str(), service.check_interval),
        ("sla-sparse", 300)
    );
    assert!(store.sla_service(999_999).await.unwrap().is_none());
}

async fn insert_checks(store: &dyn Store, service_id: i64, checks: &[(DateTime<Utc>, bool)]) {
    for (checked_at, down) in checks {
        store
            .insert_service_check(
                NewServiceCheck {
                    service_id,
                    status: if *down { "down" } else { "up" }.to_owned(),
                    response_time_ms: Some(3.0),
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

async fn coverage_matches_the_specification(store: &dyn Store, steady: i64, sparse: i64) {
    // Steady: 10 s checks for 20 minutes (down from minute 5 to 10), a 30 minute gap where the
    // agent was away, then 10 minutes of 10 s checks again; a check 15 s before it all.
    let start = base() + Duration::hours(1);
    let mut steady_checks = vec![(start - Duration::seconds(15), true)];
    steady_checks.extend((0..120).map(|index| {
        (
            start + Duration::seconds(index * 10),
            (30..60).contains(&index),
        )
    }));
    steady_checks.extend((0..60).map(|index| {
        (
            start + Duration::minutes(50) + Duration::seconds(index * 10),
            false,
        )
    }));
    insert_checks(store, steady, &steady_checks).await;
    // Sparse: every 300 s for an hour, the fourth down, plus one at an odd time and one with
    // the same timestamp as another (a replay), which covers nothing twice.
    let mut sparse_checks: Vec<_> = (0..12)
        .map(|index| (start + Duration::seconds(index * 300), index == 3))
        .collect();
    sparse_checks.push((start + Duration::seconds(1234), false));
    sparse_checks.push((start + Duration::seconds(600), false));
    sparse_checks.sort_by_key(|(at, _)| *at);
    insert_checks(store, sparse, &sparse_checks).await;

    let ranges = [
        (start, start + Duration::hours(1)),
        (start - Duration::minutes(1), start + Duration::minutes(2)),
        (start + Duration::seconds(35), start + Duration::minutes(7)),
        (start + Duration::minutes(25), start + Duration::minutes(45)),
        (start + Duration::minutes(59), start + Duration::hours(3)),
        (start - Duration::days(1), start - Duration::hours(1)),
        (start + Duration::minutes(5), start + Duration::minutes(5)),
    ];
    for (service, checks, interval) in [(steady, &steady_checks, 10), (sparse, &sparse_checks, 300)]
    {
        for (from, to) in ranges {
            let cap = coverage_cap(interval);
            let stored = store.check_coverage(service, from, to, cap).await.unwrap();
            assert_eq!(
                stored,
                coverage(checks, from, to, cap),
                "service {service} over {from} .. {to}"
            );
        }
    }
    // The headline figures, spelled out: the last check before the gap covers 20 s into it,
    // so 30 min 10 s are covered (5 min down) and the rest of the hour is unknown.
    let hour = store
        .check_coverage(steady, start, start + Duration::hours(1), coverage_cap(10))
        .await
        .unwrap();
    assert_eq!(hour.covered, Duration::minutes(30) + Duration::seconds(10));
    assert_eq!(hour.down, Duration::minutes(5));
    assert_eq!((hour.total_checks, hour.down_checks), (180, 30));
    let sparse_hour = store
        .check_coverage(sparse, start, start + Duration::hours(1), coverage_cap(300))
        .await
        .unwrap();
    assert_eq!(sparse_hour.covered, Duration::hours(1));
    assert_eq!(sparse_hour.down, Duration::minutes(5));
}

async fn violations(store: &dyn Store, steady: i64, sparse: i64) {
    let rule = store.service_sla_rule(steady).await.unwrap().unwrap();
    let other = store
        .create_sla_rule(new_rule(sparse, "sparse again", SlaWindow::Daily), base())
        .await
        .unwrap();
    let opened_at = base() + Duration::hours(2);
    let open = |rule_id: i64, service_id: i64, at: DateTime<Utc>| NewSlaViolation {
        rule_id,
        service_id,
        started_at: at,
        description: "availability 99.20% < 99.5% (weekly)".to_owned(),
    };
    let (first, created) = store
        .open_sla_violation(open(rule.id, steady, opened_at), opened_at)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.service_name, "sla-steady");
    assert_eq!(first.started_at, opened_at);
    assert_eq!(first.ended_at, None);
    assert_eq!(
        first.description.as_deref(),
        Some("availability 99.20% < 99.5% (weekly)")
    );
    // A second attempt, later, finds the open one: one row.
    let later = opened_at + Duration::minutes(1);
    let (again, created) = store
        .open_sla_violation(open(rule.id, steady, later), later)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);
    assert_eq!(again.started_at, opened_at);
    let (sparse_violation, _) = store
        .open_sla_violation(open(other.id, sparse, later), later)
        .await
        .unwrap();
    assert_eq!(
        store
            .open_sla_violations()
            .await
            .unwrap()
            .iter()
            .map(|violation| violation.id)
            .collect::<Vec<_>>(),
        vec![first.id, sparse_violation.id]
    );

    let closed_at = opened_at + Duration::seconds(754) + Duration::milliseconds(400);
    assert!(
        store
            .close_sla_violation(first.id, closed_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .close_sla_violation(first.id, closed_at)
            .await
            .unwrap()
    );
    let (reopened, created) = store
        .open_sla_violation(
            open(rule.id, steady, closed_at + Duration::hours(1)),
            closed_at,
        )
        .await
        .unwrap();
    assert!(created, "a closed violation does not block a new one");

    // Listing by overlap with a range, newest first, optionally for one service.
    let all = store
        .sla_violations(None, base(), base() + Duration::days(1), 100)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|violation| violation.id).collect::<Vec<_>>(),
        vec![reopened.id, sparse_violation.id, first.id]
    );
    let closed = all
        .iter()
        .find(|violation| violation.id == first.id)
        .unwrap();
    assert_eq!(closed.ended_at, Some(closed_at));
    assert_eq!(closed.duration_seconds, Some(754));
    let after_first = store
        .sla_violations(
            Some(steady),
            closed_at + Duration::seconds(1),
            base() + Duration::days(1),
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        after_first
            .iter()
            .map(|violation| violation.id)
            .collect::<Vec<_>>(),
        vec![reopened.id]
    );
    let still_open = store
        .sla_violations(
            Some(sparse),
            base() + Duration::days(30),
            base() + Duration::days(31),
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        still_open.len(),
        1,
        "an open violation overlaps every later range"
    );
    assert!(
        store
            .sla_violations(None, base(), opened_at, 100)
            .await
            .unwrap()
            .is_empty(),
        "nothing started before the range"
    );
    assert_eq!(
        store
            .sla_violations(None, base(), base() + Duration::days(1), 1)
            .await
            .unwrap()
            .len(),
        1
    );

    // Deleting a rule deletes its violations.
    store.delete_sla_rule(other.id).await.unwrap();
    assert!(
        store
            .sla_violations(Some(sparse), base(), base() + Duration::days(31), 100)
            .await
            .unwrap()
            .is_empty()
    );
}
