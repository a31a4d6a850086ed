//! Behaviours every store backend must show. Each backend's tests call [`run_all`] on a fresh,
//! empty store; the same story runs on SQLite in every test run and on PostgreSQL in CI.

// Test-support code: a failed expectation is a test failure, so panicking is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::{ClaimedRows, IdempotencyClaim, IdempotencyState, Store, StoreError};

mod ai;
mod alerting;
mod remediation;
mod report;
mod rollup;
mod service_rollup;
mod sla;
mod topology;
use crate::model::{
    Aggregate, AuditFilter, CommandOutcome, CommandStatus, HostFilter, HostRegistration,
    HostStatus, MetricSample, MetricValues, NewAgentCommand, NewAuditEntry, NewDbMetric,
    NewDiscoveredDependency, NewLogEntry, NewServiceCheck, NewUser, Page, Resolution, Role,
    Service, ServiceRegistration, UserUpdate,
};
pub use remediation::{alert_deletion_keeps_runs, spawned_creations_race};
pub use report::scheduled_report_creations_race;
pub use service_rollup::service_check_rollups;

/// Registers `hostname` as of `at` through an agent token of its own (named after it); returns
/// the host's id. For stories that need a host and nothing about how it was registered.
async fn seed_host(store: &dyn Store, hostname: &str, at: DateTime<Utc>) -> i64 {
    let token = store
        .create_agent_token(hostname, &format!("hash-{hostname}"), "vop_seed", None, at)
        .await
        .unwrap()
        .id;
    let (host, _) = store
        .register_host(
            token,
            HostRegistration {
                hostname: hostname.to_owned(),
                ..HostRegistration::default()
            },
            at,
        )
        .await
        .unwrap();
    host.id
}

/// Registers an active HTTP service `name` of `host` checked every `interval` seconds, as of
/// `at`; returns its id.
async fn seed_service(
    store: &dyn Store,
    host: i64,
    name: &str,
    interval: i64,
    at: DateTime<Utc>,
) -> i64 {
    store
        .register_service(
            ServiceRegistration {
                host_id: host,
                name: name.to_owned(),
                target: "http://127.0.0.1:1/health".to_owned(),
                check_type: "http".to_owned(),
                check_interval: interval,
                timeout: 5,
                category: "business".to_owned(),
            },
            at,
        )
        .await
        .unwrap()
        .0
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every behaviour, in order, on one fresh store. Panics (as a test failure) on the first
/// behaviour that does not hold.
pub async fn run_all(store: &dyn Store) {
    store.ping().await.expect("ping");
    users(store).await;
    agent_tokens(store).await;
    hosts(store).await;
    metrics(store).await;
    services(store).await;
    discovered_dependencies(store).await;
    db_metrics(store).await;
    logs(store).await;
    audit(store).await;
    idempotency(store).await;
    idempotent_writes(store).await;
    throttle(store).await;
    leases(store).await;
    commands(store).await;
    alerting::run(store).await;
    host_deletion_cascades(store).await;
    ai::run(store).await;
    remediation::run(store).await;
    sla::run(store).await;
    report::run(store).await;
    topology::run(store).await;
    rollup::run(store).await;
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: email.split('@').next().unwrap_or("user").to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role,
    }
}

async fn users(store: &dyn Store) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let first = store
        .create_user(new_user("first@example.com", Role::Viewer), t0())
        .await
        .unwrap();
    assert_eq!(first.role, Role::Admin, "the first user becomes admin");
    assert!(first.is_active);
    assert_eq!(first.created_at, t0());
    let second = store
        .create_user(new_user("second@example.com", Role::Viewer), t0())
        .await
        .unwrap();
    assert_eq!(second.role, Role::Viewer);
    let operator = store
        .create_user(new_user("op@example.com", Role::Operator), t0())
        .await
        .unwrap();
    assert_eq!(operator.role, Role::Operator);
    let duplicate = store
        .create_user(new_user("FIRST@example.com", Role::Viewer), t0())
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let found = store
        .user_by_email("First@Example.com")
        .await
        .unwrap()
        .expect("case-insensitive lookup");
    assert_eq!(found.id, first.id);
    assert_eq!(
        store
            .user_by_id(second.id)
            .await
            .unwrap()
            .map(|user| user.email),
        Some("second@example.com".to_owned())
    );
    assert!(store.user_by_id(999_999).await.unwrap().is_none());
    assert!(
        store
            .user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.count_users().await.unwrap(), 3);

    // Administration: a page, changes, the last active admin kept, deletion, password.
    let (page, total) = store
        .list_users(Page {
            page: 1,
            page_size: 2,
        })
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        page.iter().map(|u| u.id).collect::<Vec<_>>(),
        [first.id, second.id]
    );
    let later = t0() + Duration::minutes(1);
    let promoted = store
        .update_user(
            second.id,
            UserUpdate {
                name: Some("Second".to_owned()),
                role: Some(Role::Operator),
                is_active: None,
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(
        (promoted.name.as_str(), promoted.role, promoted.is_active),
        ("Second", Role::Operator, true)
    );
    assert_eq!(promoted.updated_at, later);
    for update in [
        UserUpdate {
            role: Some(Role::Viewer),
            ..UserUpdate::default()
        },
        UserUpdate {
            is_active: Some(false),
            ..UserUpdate::default()
        },
    ] {
        let refused = store.update_user(first.id, update, later).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "the last active admin stays: {refused:?}"
        );
    }
    assert!(matches!(
        store.delete_user(first.id).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_user(999_999, UserUpdate::default(), later)
            .await,
        Err(StoreError::NotFound(_))
    ));
    // With a second admin, the first may step down.
    store
        .update_user(
            operator.id,
            UserUpdate {
                role: Some(Role::Admin),
                ..UserUpdate::default()
            },
            later,
        )
        .await
        .unwrap();
    let demoted = store
        .update_user(
            first.id,
            UserUpdate {
                role: Some(Role::Viewer),
                ..UserUpdate::default()
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Viewer);
    store
        .set_password_hash(second.id, "$argon2id$new", later)
        .await
        .unwrap();
    assert_eq!(
        store
            .user_by_id(second.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );
    assert!(matches!(
        store.set_password_hash(999_999, "x", later).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_user(second.id).await.unwrap();
    assert!(store.user_by_id(second.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_user(second.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.count_users().await.unwrap(), 2);
}

async fn agent_tokens(store: &dyn Store) {
    let admin = store
        .user_by_email("first@example.com")
        .await
        .unwrap()
        .map(|user| user.id);
    let older = store
        .create_agent_token("older", "hash-older", "vop_0000", admin, t0())
        .await
        .unwrap();
    let newer = store
        .create_agent_token(
            "newer",
            "hash-newer",
            "vop_1111",
            admin,
            t0() + Duration::seconds(1),
        )
        .await
        .unwrap();
    assert!(older.is_active && newer.is_active);
    assert_eq!(older.created_by, admin);
    let listed: Vec<i64> = store
        .list_agent_tokens()
        .await
        .unwrap()
        .iter()
        .map(|token| token.id)
        .collect();
    assert_eq!(listed, vec![newer.id, older.id], "newest first");
    let by_hash = store
        .agent_token_by_hash("hash-older")
        .await
        .unwrap()
        .expect("lookup by hash");
    assert_eq!(by_hash.id, older.id);
    assert!(by_hash.last_used_at.is_none());
    store
        .touch_agent_token(older.id, t0() + Duration::minutes(1))
        .await
        .unwrap();
    let touched = store
        .agent_token_by_hash("hash-older")
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(touched.last_used_at, Some(t0() + Duration::minutes(1)));
    store.revoke_agent_token(older.id).await.unwrap();
    let revoked = store
        .agent_token_by_hash("hash-older")
        .await
        .unwrap()
        .expect("soft delete keeps the row");
    assert!(!revoked.is_active);
    assert!(matches!(
        store.revoke_agent_token(999_999).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_agent_token("dup", "hash-newer", "vop_1111", admin, t0())
            .await,
        Err(StoreError::Conflict(_))
    ));
}

fn registration(hostname: &str) -> HostRegistration {
    HostRegistration {
        hostname: hostname.to_owned(),
        os: Some("Linux".to_owned()),
        cpu_cores: Some(4),
        memory_total_mb: Some(7941),
        agent_version: Some("0.1.0".to_owned()),
        tags: Some(json!({"prod": true})),
        ..HostRegistration::default()
    }
}

async fn token_id(store: &dyn Store, hash: &str) -> i64 {
    store
        .agent_token_by_hash(hash)
        .await
        .unwrap()
        .map(|token| token.id)
        .expect("token exists")
}

async fn hosts(store: &dyn Store) {
    let token = token_id(store, "hash-newer").await;
    let other_token = token_id(store, "hash-older").await;

    let mut first = registration("web-01");
    first.fallback_ip_address = Some("10.0.0.5".to_owned());
    let (host, created) = store.register_host(token, first, t0()).await.unwrap();
    assert!(created);
    assert_eq!(host.token_id, Some(token));
    assert_eq!(host.status, HostStatus::Online);
    assert_eq!(host.last_heartbeat, Some(t0()));
    assert_eq!(
        host.ip_address.as_deref(),
        Some("10.0.0.5"),
        "peer address used when none is known"
    );
    assert_eq!(host.tags, Some(json!({"prod": true})));

    // A repeat updates non-null fields only and keeps the id.
    let mut again = registration("web-01");
    again.os = None;
    again.agent_version = Some("0.2.5".to_owned());
    again.fallback_ip_address = Some("10.9.9.9".to_owned());
    let later = t0() + Duration::minutes(5);
    let (same, created) = store.register_host(token, again, later).await.unwrap();
    assert!(!created);
    assert_eq!(same.id, host.id);
    assert_eq!(
        same.os.as_deref(),
        Some("Linux"),
        "null fields keep their value"
    );
    assert_eq!(same.agent_version.as_deref(), Some("0.2.5"));
    assert_eq!(
        same.ip_address.as_deref(),
        Some("10.0.0.5"),
        "the fallback never overwrites"
    );
    assert_eq!(same.last_heartbeat, Some(later));
    assert_eq!(same.created_at, t0());

    let mut explicit = registration("web-01");
    explicit.ip_address = Some("192.0.2.7".to_owned());
    let (same, _) = store.register_host(token, explicit, later).await.unwrap();
    assert_eq!(
        same.ip_address.as_deref(),
        Some("192.0.2.7"),
        "a reported address overwrites"
    );

    // The same hostname under another token is another host.
    let (foreign, created) = store
        .register_host(other_token, registration("web-01"), t0())
        .await
        .unwrap();
    assert!(created);
    assert_ne!(foreign.id, host.id);

    let mut db = registration("DB-Primary");
    db.group_name = Some("databases".to_owned());
    let (db_host, _) = store.register_host(token, db, t0()).await.unwrap();

    store.record_heartbeat(db_host.id, later).await.unwrap();
    assert_eq!(
        store
            .host(db_host.id)
            .await
            .unwrap()
            .and_then(|host| host.last_heartbeat),
        Some(later)
    );
    assert!(matches!(
        store.record_heartbeat(999_999, later).await,
        Err(StoreError::NotFound(_))
    ));

    // Liveness: hosts whose last heartbeat is before the cutoff go offline, once.
    let offline = store
        .mark_stale_hosts_offline(t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(offline, vec![foreign.id]);
    assert!(
        store
            .mark_stale_hosts_offline(t0() + Duration::minutes(1))
            .await
            .unwrap()
            .is_empty()
    );

    let list = |filter: HostFilter| async move { store.list_hosts(&filter).await.unwrap() };
    let (all, total) = list(HostFilter::default()).await;
    assert_eq!(total, 3);
    assert_eq!(
        all.iter().map(|host| host.id).collect::<Vec<_>>(),
        vec![host.id, foreign.id, db_host.id]
    );
    let (online, total) = list(HostFilter {
        status: Some(HostStatus::Online),
        ..HostFilter::default()
    })
    .await;
    assert_eq!(total, 2);
    assert!(online.iter().all(|host| host.status == HostStatus::Online));
    let (found, _) = list(HostFilter {
        search: Some("db-pri".to_owned()),
        ..HostFilter::default()
    })
    .await;
    assert_eq!(
        found.iter().map(|host| host.id).collect::<Vec<_>>(),
        vec![db_host.id],
        "case-insensitive search"
    );
    let (grouped, _) = list(HostFilter {
        group_name: Some("databases".to_owned()),
        ..HostFilter::default()
    })
    .await;
    assert_eq!(grouped.len(), 1);
    let (page, total) = list(HostFilter {
        page: Page {
            page: 2,
            page_size: 2,
        },
        ..HostFilter::default()
    })
    .await;
    assert_eq!((page.len(), total), (1, 3));
    assert_eq!(page[0].id, db_host.id);
}

fn sample(host_id: i64, at: DateTime<Utc>, cpu: f64) -> MetricSample {
    MetricSample {
        host_id,
        recorded_at: at,
        values: MetricValues {
            cpu_percent: Some(cpu),
            memory_percent: Some(50.0),
            net_bytes_recv: Some(466_782_872.0),
            ..MetricValues::default()
        },
        extra: Some(json!({"agent_thread_count": 2.0})),
    }
}

async fn host_named(store: &dyn Store, hostname: &str) -> i64 {
    let filter = HostFilter {
        search: Some(hostname.to_owned()),
        ..HostFilter::default()
    };
    store
        .list_hosts(&filter)
        .await
        .unwrap()
        .0
        .first()
        .map(|host| host.id)
        .expect("host exists")
}

async fn metrics(store: &dyn Store) {
    let web = host_named(store, "db-primary").await;
    assert!(store.insert_metrics(&[], &[]).await.unwrap().is_empty());

    // A batch spanning two hosts returns one id per sample, in order.
    let other = store.list_hosts(&HostFilter::default()).await.unwrap().0[0].id;
    let batch: Vec<MetricSample> = (0..10)
        .map(|minute| {
            sample(
                web,
                t0() + Duration::minutes(minute),
                f64::from(u8::try_from(minute).unwrap_or(0)) * 10.0,
            )
        })
        .chain([sample(other, t0(), 1.0)])
        .collect();
    let ids = store.insert_metrics(&batch, &[]).await.unwrap();
    assert_eq!(ids.len(), 11);
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 11, "ids are distinct");

    // Each id is the id of its own sample.
    let all = store
        .metric_series(
            web,
            t0() - Duration::hours(1),
            t0() + Duration::hours(1),
            Resolution::Raw,
            Aggregate::Avg,
            100,
        )
        .await
        .unwrap();
    for (sample, id) in batch
        .iter()
        .zip(&ids)
        .filter(|(sample, _)| sample.host_id == web)
    {
        let point = all
            .iter()
            .find(|point| point.id == *id)
            .expect("a stored point per id");
        assert_eq!(
            (point.recorded_at, point.values.cpu_percent),
            (sample.recorded_at, sample.values.cpu_percent)
        );
    }

    let latest = store.latest_metrics(&[web, other], t0()).await.unwrap();
    let snapshot = latest.get(&web).expect("snapshot for web");
    assert_eq!(snapshot.recorded_at, t0() + Duration::minutes(9));
    assert_eq!(snapshot.values.cpu_percent, Some(90.0));
    assert_eq!(snapshot.values.net_bytes_recv, Some(466_782_872.0));
    assert_eq!(snapshot.values.disk_percent, None);
    assert_eq!(snapshot.extra, Some(json!({"agent_thread_count": 2.0})));
    assert!(latest.contains_key(&other));

    // A replayed older sample is stored but does not move the snapshot back.
    store
        .insert_metrics(&[sample(web, t0() - Duration::hours(1), 5.0)], &[])
        .await
        .unwrap();
    let latest = store.latest_metrics(&[web], t0()).await.unwrap();
    assert_eq!(
        latest.get(&web).map(|snapshot| snapshot.values.cpu_percent),
        Some(Some(90.0))
    );
    // Snapshots older than `since` are not returned.
    assert!(
        store
            .latest_metrics(&[web], t0() + Duration::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.latest_metrics(&[], t0()).await.unwrap().is_empty());

    // Raw: at most `limit` samples, the newest ones, oldest first.
    let raw = store
        .metric_series(
            web,
            t0() - Duration::hours(2),
            t0() + Duration::hours(1),
            Resolution::Raw,
            Aggregate::Avg,
            3,
        )
        .await
        .unwrap();
    let minutes: Vec<i64> = raw
        .iter()
        .map(|point| (point.recorded_at - t0()).num_minutes())
        .collect();
    assert_eq!(minutes, vec![7, 8, 9]);
    assert!(raw.iter().all(|point| point.id > 0 && point.host_id == web));

    // 5-minute buckets: [0,5) and [5,10) minutes.
    let buckets = store
        .metric_series(
            web,
            t0(),
            t0() + Duration::hours(1),
            Resolution::FiveMinutes,
            Aggregate::Avg,
            500,
        )
        .await
        .unwrap();
    assert_eq!(buckets.len(), 2);
    assert_eq!(buckets[0].recorded_at, t0());
    assert_eq!(buckets[1].recorded_at, t0() + Duration::minutes(5));
    assert_eq!(buckets[0].values.cpu_percent, Some(20.0));
    assert_eq!(buckets[1].values.cpu_percent, Some(70.0));
    assert_eq!(buckets[0].id, 0);
    assert_eq!(buckets[0].values.disk_percent, None);
    let peaks = store
        .metric_series(
            web,
            t0(),
            t0() + Duration::hours(1),
            Resolution::FiveMinutes,
            Aggregate::Max,
            500,
        )
        .await
        .unwrap();
    assert_eq!(peaks[1].values.cpu_percent, Some(90.0));
    // The bucket limit keeps the newest buckets.
    let newest = store
        .metric_series(
            web,
            t0(),
            t0() + Duration::hours(1),
            Resolution::OneMinute,
            Aggregate::Avg,
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        newest
            .iter()
            .map(|point| point.values.cpu_percent)
            .collect::<Vec<_>>(),
        vec![Some(80.0), Some(90.0)]
    );
    let hourly = store
        .metric_series(
            web,
            t0(),
            t0() + Duration::hours(1),
            Resolution::OneHour,
            Aggregate::Avg,
            500,
        )
        .await
        .unwrap();
    assert_eq!(hourly.len(), 1);
    assert_eq!(hourly[0].values.cpu_percent, Some(45.0));

    // Retention: raw samples before the cut-off go; the latest sample of the host stays.
    let series = |from| {
        store.metric_series(
            web,
            from,
            t0() + Duration::days(1),
            Resolution::Raw,
            Aggregate::Avg,
            10_000,
        )
    };
    let before = series(t0() - Duration::days(365)).await.unwrap();
    let cutoff = t0() + Duration::minutes(30);
    let newest = before.last().map(|p| p.recorded_at).unwrap_or_default();
    assert!(
        newest < cutoff,
        "the story's samples are all older than the cut-off"
    );
    // In batches: one statement deletes at most its batch.
    assert_eq!(store.purge_metrics_before(cutoff, 1).await.unwrap(), 1);
    let purged = store.purge_metrics_before(cutoff, 100_000).await.unwrap();
    // Every host's old samples go (the story has another host's too), but not its newest.
    assert!(usize::try_from(purged).unwrap_or(usize::MAX) >= before.len() - 2);
    let after = series(t0() - Duration::days(365)).await.unwrap();
    assert_eq!(
        after.iter().map(|p| p.recorded_at).collect::<Vec<_>>(),
        [newest],
        "only the newest sample is left"
    );
    assert!(
        store
            .latest_metrics(&[web], t0() - Duration::days(365))
            .await
            .unwrap()
            .contains_key(&web)
    );
    assert_eq!(
        store.purge_metrics_before(cutoff, 100_000).await.unwrap(),
        0
    );
}

async fn services(store: &dyn Store) {
    let web = host_named(store, "db-primary").await;
    let other = store.list_hosts(&HostFilter::default()).await.unwrap().0[0].id;
    let service = |host_id: i64, target: &str| ServiceRegistration {
        host_id,
        name: "postgres (:5432)".to_owned(),
        target: target.to_owned(),
        check_type: "tcp".to_owned(),
        check_interval: 30,
        timeout: 10,
        category: "middleware".to_owned(),
    };
    let (id, created) = store
        .register_service(service(web, "localhost:5432"), t0())
        .await
        .unwrap();
    assert!(created);
    let (same, created) = store
        .register_service(service(web, "127.0.0.1:5432"), t0())
        .await
        .unwrap();
    assert_eq!((same, created), (id, false));
    let (elsewhere, created) = store
        .register_service(service(other, "localhost:5432"), t0())
        .await
        .unwrap();
    assert!(created);
    assert_ne!(
        elsewhere, id,
        "equal services of different hosts stay apart"
    );
    assert_eq!(store.service_host(id).await.unwrap(), Some(web));
    assert_eq!(store.service_host(999_999).await.unwrap(), None);
    // A host's services, with what its agent needs to check them; the re-registration above
    // updated the target in place.
    let listed = store.host_services(web).await.unwrap();
    assert_eq!(
        listed,
        [Service {
            id,
            host_id: web,
            name: "postgres (:5432)".to_owned(),
            check_type: "tcp".to_owned(),
            target: "127.0.0.1:5432".to_owned(),
            check_interval: 30,
            timeout: 10,
            is_active: true,
        }]
    );
    assert_eq!(store.host_services(999_999).await.unwrap(), []);

    let check = |status: &str, at: DateTime<Utc>| NewServiceCheck {
        service_id: id,
        status: status.to_owned(),
        response_time_ms: Some(1.5),
        status_code: None,
        error: None,
        checked_at: at,
    };
    let first = store
        .insert_service_check(check("down", t0() + Duration::minutes(2)), None)
        .await
        .unwrap();
    let replay = store
        .insert_service_check(check("up", t0()), None)
        .await
        .unwrap();
    assert_ne!(first, replay);
    // The older (replayed) check is stored but did not flip the status back to up: a newer
    // "up" check is needed.
    let newer = store
        .insert_service_check(check("up", t0() + Duration::minutes(3)), None)
        .await
        .unwrap();
    assert!(newer > 0);
}

async fn discovered_dependencies(store: &dyn Store) {
    let web = host_named(store, "db-primary").await;
    let other = store.list_hosts(&HostFilter::default()).await.unwrap().0[0].id;
    assert_ne!(web, other);
    let register = |host_id: i64, name: &str| ServiceRegistration {
        host_id,
        name: name.to_owned(),
        target: "localhost:1".to_owned(),
        check_type: "tcp".to_owned(),
        check_interval: 30,
        timeout: 10,
        category: "business".to_owned(),
    };
    let mut ids = Vec::new();
    for name in ["api (:8000)", "postgres (:5432)", "redis (:6379)"] {
        ids.push(
            store
                .register_service(register(web, name), t0())
                .await
                .unwrap()
                .0,
        );
    }
    // A service of the same name on another host must never be linked to this host's.
    store
        .register_service(register(other, "redis (:6379)"), t0())
        .await
        .unwrap();
    let edge = |from: &str, to: &str, connections: i64| NewDiscoveredDependency {
        from: from.to_owned(),
        to: to.to_owned(),
        connections,
    };
    let at = t0() + Duration::minutes(10);
    let stored = store
        .replace_discovered_dependencies(
            web,
            &[
                edge("api (:8000)", "postgres (:5432)", 4),
                edge("api (:8000)", "redis (:6379)", 2),
                // Unknown on this host: skipped, not an error.
                edge("api (:8000)", "ghost (:1)", 1),
            ],
            at,
        )
        .await
        .unwrap();
    assert_eq!(stored, Some(2));
    let edges = store.discovered_dependencies(web).await.unwrap();
    let view: Vec<(i64, &str, i64, &str, i64)> = edges
        .iter()
        .map(|e| {
            (
                e.source_service_id,
                e.source_name.as_str(),
                e.target_service_id,
                e.target_name.as_str(),
                e.connections,
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            (ids[0], "api (:8000)", ids[1], "postgres (:5432)", 4),
            (ids[0], "api (:8000)", ids[2], "redis (:6379)", 2),
        ]
    );
    assert!(edges.iter().all(|e| e.observed_at == at));
    assert!(
        store
            .discovered_dependencies(other)
            .await
            .unwrap()
            .is_empty()
    );

    // A replay of an older report changes nothing.
    let older = store
        .replace_discovered_dependencies(web, &[edge("redis (:6379)", "api (:8000)", 9)], t0())
        .await
        .unwrap();
    assert_eq!(older, None);
    assert_eq!(store.discovered_dependencies(web).await.unwrap().len(), 2);

    // A newer report replaces the whole set: the redis edge is gone.
    let later = at + Duration::minutes(1);
    let stored = store
        .replace_discovered_dependencies(web, &[edge("api (:8000)", "postgres (:5432)", 1)], later)
        .await
        .unwrap();
    assert_eq!(stored, Some(1));
    let edges = store.discovered_dependencies(web).await.unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(
        (edges[0].target_service_id, edges[0].connections),
        (ids[1], 1)
    );
    assert_eq!(edges[0].observed_at, later);
    // The alert engine asks what a service depends on, and its name for titles.
    assert_eq!(store.upstream_services(ids[0]).await.unwrap(), vec![ids[1]]);
    assert!(store.upstream_services(ids[1]).await.unwrap().is_empty());
    assert_eq!(
        store.service_name(ids[0]).await.unwrap().as_deref(),
        Some("api (:8000)")
    );
    assert_eq!(store.service_name(999_999).await.unwrap(), None);
    // The edges go with the host (checked again after host deletion at the end of the story).
}

async fn db_metrics(store: &dyn Store) {
    let web = host_named(store, "db-primary").await;
    let metric = |detail: Option<serde_json::Value>| NewDbMetric {
        host_id: web,
        db_name: "pg-main".to_owned(),
        db_type: "postgres".to_owned(),
        recorded_at: t0(),
        connections_total: Some(11.0),
        connections_active: Some(1.0),
        connections_max: Some(100.0),
        database_size_mb: Some(9.66),
        slow_queries: Some(0.0),
        tables_count: Some(44.0),
        transactions_committed: Some(68.0),
        transactions_rolled_back: Some(28.0),
        qps: None,
        tablespace_used_pct: None,
        lock_waits: Some(0.0),
        deadlocks: Some(0.0),
        extra: Some(json!({"cache_hit_ratio": 0.99})),
        slow_queries_detail: detail,
    };
    let (database, first) = store
        .insert_db_metric(metric(Some(json!([{"sql_text": "select 1"}]))), t0(), None)
        .await
        .unwrap();
    let (same, second) = store
        .insert_db_metric(metric(None), t0(), None)
        .await
        .unwrap();
    assert_eq!(database, same, "found by (host, name)");
    assert_ne!(first, second);

    // Read back: the list (by host), one database, its samples.
    let later = NewDbMetric {
        recorded_at: t0() + Duration::minutes(1),
        connections_total: Some(15.0),
        ..metric(None)
    };
    store.insert_db_metric(later, t0(), None).await.unwrap();
    let listed = store.list_databases(Some(web)).await.unwrap();
    assert_eq!(listed.len(), 1);
    let (db, latest) = &listed[0];
    assert_eq!(
        (db.id, db.name.as_str(), db.db_type.as_str()),
        (database, "pg-main", "postgres")
    );
    assert_eq!(
        db.slow_queries_detail,
        Some(json!([{"sql_text": "select 1"}])),
        "a report without details keeps the last ones"
    );
    let latest = latest.clone().unwrap_or_default();
    assert_eq!(latest.recorded_at, t0() + Duration::minutes(1));
    assert_eq!(latest.connections_total, Some(15.0));
    assert!(
        store
            .list_databases(Some(999_999))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_databases(None).await.unwrap().len(), 1);
    assert!(store.database(database).await.unwrap().is_some());
    assert!(store.database(999_999).await.unwrap().is_none());
    let points = store
        .db_points(database, t0(), t0() + Duration::hours(1), 100)
        .await
        .unwrap();
    assert_eq!(
        points
            .iter()
            .map(|p| p.connections_total)
            .collect::<Vec<_>>(),
        [Some(11.0), Some(11.0), Some(15.0)],
        "oldest first"
    );
    let newest = store
        .db_points(database, t0(), t0() + Duration::hours(1), 1)
        .await
        .unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].connections_total, Some(15.0));
}

async fn logs(store: &dyn Store) {
    let web = host_named(store, "db-primary").await;
    let entry = |host_id: i64, message: &str, offset: i64| NewLogEntry {
        host_id,
        service: Some("demo-app".to_owned()),
        source: Some("/var/log/app/app.log".to_owned()),
        level: Some("ERROR".to_owned()),
        message: message.to_owned(),
        timestamp: t0() + Duration::seconds(offset),
    };
    assert_eq!(store.insert_logs(&[], t0(), None).await.unwrap(), 0);
    let stored = store
        .insert_logs(
            &[
                entry(web, "first", 0),
                entry(web, "second", 1),
                entry(web, "多字节 ✓", 2),
            ],
            t0(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(stored, 3);
    // All or nothing: an entry for a host that does not exist fails the whole batch.
    let failed = store
        .insert_logs(
            &[entry(web, "lost?", 3), entry(999_999, "bad", 4)],
            t0(),
            None,
        )
        .await;
    assert!(failed.is_err());
    let recent = store.recent_logs(web, 10).await.unwrap();
    let messages: Vec<&str> = recent.iter().map(|entry| entry.message.as_str()).collect();
    assert_eq!(messages, vec!["多字节 ✓", "second", "first"]);
    assert_eq!(recent[0].timestamp, t0() + Duration::seconds(2));
}

async fn audit(store: &dyn Store) {
    let admin = store
        .user_by_email("first@example.com")
        .await
        .unwrap()
        .map(|user| user.id);
    for (offset, action) in [(0, "login"), (1, "create_agent_token"), (2, "login")] {
        store
            .insert_audit(
                NewAuditEntry {
                    user_id: admin,
                    action: action.to_owned(),
                    resource_type: "user".to_owned(),
                    resource_id: Some("1".to_owned()),
                    detail: Some("{}".to_owned()),
                    ip_address: Some("127.0.0.1".to_owned()),
                },
                t0() + Duration::seconds(offset),
            )
            .await
            .unwrap();
    }
    let (all, total) = store.list_audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        all[0].created_at,
        t0() + Duration::seconds(2),
        "newest first"
    );
    let (logins, total) = store
        .list_audit(&AuditFilter {
            action: Some("login".to_owned()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!((logins.len(), total), (2, 2));
    let (page, total) = store
        .list_audit(&AuditFilter {
            page: Page {
                page: 2,
                page_size: 2,
            },
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!((page.len(), total), (1, 3));
    let (none, total) = store
        .list_audit(&AuditFilter {
            user_id: Some(999_999),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty() && total == 0);
}

fn claim(key: &str, claimed_at: DateTime<Utc>) -> IdempotencyClaim {
    IdempotencyClaim {
        token_id: 7,
        key: key.to_owned(),
        claimed_at,
        status: 201,
        reply: |ids| format!("{ids:?}"),
    }
}

/// A write completes its claimed key in its own transaction: afterwards the key replays the
/// reply rendered from the written ids, and a claim taken over meanwhile rolls the write back.
async fn idempotent_writes(store: &dyn Store) {
    let web = host_named(store, "db-primary").await;
    let stale = Duration::seconds(60);
    let at = t0() + Duration::days(30);
    let stored_at = |from: DateTime<Utc>| async move {
        store
            .metric_series(
                web,
                from,
                from + Duration::minutes(5),
                Resolution::Raw,
                Aggregate::Avg,
                100,
            )
            .await
            .unwrap()
            .len()
    };

    // Two claimed samples in one batch: both keys replay their own sample's id.
    for key in ["w-1", "w-2"] {
        assert_eq!(
            store.begin_idempotent(7, key, at, stale).await.unwrap(),
            IdempotencyState::Started
        );
    }
    let batch = [
        sample(web, at, 1.0),
        sample(web, at + Duration::seconds(1), 2.0),
    ];
    let claims = [
        ClaimedRows {
            claim: claim("w-1", at),
            rows: 0..1,
        },
        ClaimedRows {
            claim: claim("w-2", at),
            rows: 1..2,
        },
    ];
    let ids = store.insert_metrics(&batch, &claims).await.unwrap();
    for (key, id) in ["w-1", "w-2"].into_iter().zip(&ids) {
        assert_eq!(
            store.begin_idempotent(7, key, at, stale).await.unwrap(),
            IdempotencyState::Completed {
                status: 201,
                body: format!("[{id}]")
            }
        );
    }
    assert_eq!(stored_at(at).await, 2);

    // A claim taken over by a retry (it went stale) fails the write, and nothing is stored:
    // not even the batch neighbour whose claim is fine.
    let later = at + Duration::hours(1);
    assert_eq!(
        store
            .begin_idempotent(7, "w-3", later, stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    assert_eq!(
        store
            .begin_idempotent(7, "w-4", later, stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    let retry_at = later + Duration::seconds(61);
    assert_eq!(
        store
            .begin_idempotent(7, "w-3", retry_at, stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    let lost = store
        .insert_metrics(
            &[
                sample(web, later, 3.0),
                sample(web, later + Duration::seconds(1), 4.0),
            ],
            &[
                ClaimedRows {
                    claim: claim("w-3", later),
                    rows: 0..1,
                },
                ClaimedRows {
                    claim: claim("w-4", later),
                    rows: 1..2,
                },
            ],
        )
        .await;
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "{lost:?}");
    assert_eq!(stored_at(later).await, 0, "a lost claim stores nothing");
    // The neighbour's key was rolled back with the write: still claimed, not completed.
    assert_eq!(
        store
            .begin_idempotent(7, "w-4", later + Duration::seconds(1), stale)
            .await
            .unwrap(),
        IdempotencyState::InProgress
    );
    // The retry that owns the key now stores it once.
    store
        .insert_metrics(
            &[sample(web, later, 3.0)],
            &[ClaimedRows {
                claim: claim("w-3", retry_at),
                rows: 0..1,
            }],
        )
        .await
        .unwrap();
    assert_eq!(stored_at(later).await, 1);

    // Logs, checks and database samples complete their claims the same way.
    let line = NewLogEntry {
        host_id: web,
        service: None,
        source: None,
        level: Some("INFO".to_owned()),
        message: "claimed".to_owned(),
        timestamp: at,
    };
    assert_eq!(
        store
            .begin_idempotent(7, "w-logs", at, stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    let stale_claim = claim("w-logs", at - Duration::seconds(1));
    let lost = store
        .insert_logs(std::slice::from_ref(&line), at, Some(&stale_claim))
        .await;
    assert!(matches!(lost, Err(StoreError::ClaimLost)), "{lost:?}");
    assert!(
        store
            .recent_logs(web, 100)
            .await
            .unwrap()
            .iter()
            .all(|entry| entry.message != "claimed")
    );
    let stored = store
        .insert_logs(&[line.clone(), line], at, Some(&claim("w-logs", at)))
        .await
        .unwrap();
    assert_eq!(stored, 2);
    assert_eq!(
        store
            .begin_idempotent(7, "w-logs", at, stale)
            .await
            .unwrap(),
        IdempotencyState::Completed {
            status: 201,
            body: "[2]".to_owned()
        }
    );

    let (service, _) = store
        .register_service(
            ServiceRegistration {
                host_id: web,
                name: "claimed-api".to_owned(),
                target: "http://127.0.0.1:9/".to_owned(),
                check_type: "http".to_owned(),
                check_interval: 60,
                timeout: 10,
                category: "business".to_owned(),
            },
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .begin_idempotent(7, "w-check", at, stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    let check_id = store
        .insert_service_check(
            NewServiceCheck {
                service_id: service,
                status: "up".to_owned(),
                response_time_ms: Some(3.0),
                status_code: Some(200),
                error: None,
                checked_at: at,
            },
            Some(&claim("w-check", at)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .begin_idempotent(7, "w-check", at, stale)
            .await
            .unwrap(),
        IdempotencyState::Completed {
            status: 201,
            body: format!("[{check_id}]")
        }
    );
}

async fn idempotency(store: &dyn Store) {
    let stale = Duration::seconds(60);
    assert_eq!(
        store
            .begin_idempotent(1, "key-a", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    assert_eq!(
        store
            .begin_idempotent(1, "key-a", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::InProgress
    );
    // Keys are per token.
    assert_eq!(
        store
            .begin_idempotent(2, "key-a", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    store
        .complete_idempotent(1, "key-a", 201, r#"{"metric_id":7}"#)
        .await
        .unwrap();
    assert_eq!(
        store
            .begin_idempotent(1, "key-a", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::Completed {
            status: 201,
            body: r#"{"metric_id":7}"#.to_owned()
        }
    );
    // A released key may run again.
    store.release_idempotent(2, "key-a").await.unwrap();
    assert_eq!(
        store
            .begin_idempotent(2, "key-a", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    // A claim that never completed is taken over once stale.
    assert_eq!(
        store
            .begin_idempotent(3, "key-b", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    let later = t0() + Duration::seconds(61);
    assert_eq!(
        store
            .begin_idempotent(3, "key-b", later, stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
    assert_eq!(
        store
            .begin_idempotent(3, "key-b", later, stale)
            .await
            .unwrap(),
        IdempotencyState::InProgress
    );
    // Completed keys are never released.
    store.release_idempotent(1, "key-a").await.unwrap();
    assert!(matches!(
        store
            .begin_idempotent(1, "key-a", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::Completed { .. }
    ));
    assert_eq!(
        store
            .purge_idempotency(t0() + Duration::seconds(1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .begin_idempotent(1, "key-a", t0(), stale)
            .await
            .unwrap(),
        IdempotencyState::Started
    );
}

async fn throttle(store: &dyn Store) {
    let window = Duration::seconds(300);
    for expected in 1..=3 {
        assert_eq!(
            store
                .record_hit("login:ip:1", t0() + Duration::seconds(expected), window)
                .await
                .unwrap(),
            expected
        );
    }
    assert_eq!(
        store.record_hit("login:ip:2", t0(), window).await.unwrap(),
        1,
        "keys are separate"
    );
    // Hits older than the window fall out.
    assert_eq!(
        store
            .record_hit("login:ip:1", t0() + Duration::seconds(302), window)
            .await
            .unwrap(),
        2
    );
    store.clear_hits("login:ip:1").await.unwrap();
    assert_eq!(
        store
            .record_hit("login:ip:1", t0() + Duration::seconds(303), window)
            .await
            .unwrap(),
        1
    );
}

async fn leases(store: &dyn Store) {
    let ttl = Duration::seconds(30);
    assert!(
        store
            .try_acquire_lease("offline-sweep", "a", t0(), ttl)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_acquire_lease("offline-sweep", "b", t0() + Duration::seconds(10), ttl)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_acquire_lease("offline-sweep", "a", t0() + Duration::seconds(20), ttl)
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        !store
            .try_acquire_lease("offline-sweep", "b", t0() + Duration::seconds(45), ttl)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_acquire_lease("offline-sweep", "b", t0() + Duration::seconds(51), ttl)
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        store
            .try_acquire_lease("retention", "a", t0(), ttl)
            .await
            .unwrap(),
        "leases are per name"
    );
}

fn queued(host_id: i64, command: &str, at: DateTime<Utc>) -> NewAgentCommand {
    NewAgentCommand {
        request_id: uuid::Uuid::new_v4(),
        host_id,
        command: command.to_owned(),
        argv: command.split(' ').map(str::to_owned).collect(),
        timeout_seconds: 60,
        requested_by: None,
        remediation_id: None,
        step: None,
        deadline_at: at + Duration::seconds(300),
    }
}

async fn commands(store: &dyn Store) {
    let host = host_named(store, "db-primary").await;
    let operator = store
        .user_by_email("op@example.com")
        .await
        .unwrap()
        .map(|user| user.id);
    let first = NewAgentCommand {
        requested_by: operator,
        remediation_id: Some(7),
        step: Some(2),
        ..queued(host, "df -h", t0())
    };
    let stored = store.insert_command(first.clone(), t0()).await.unwrap();
    assert_eq!(stored.request_id, first.request_id);
    assert_eq!(stored.argv, ["df", "-h"]);
    assert_eq!(stored.status, CommandStatus::Queued);
    assert_eq!(
        (stored.requested_by, stored.remediation_id, stored.step),
        (operator, Some(7), Some(2))
    );
    assert_eq!(
        (stored.stdout.as_str(), stored.exit_code, stored.sent_at),
        ("", None, None)
    );
    assert_eq!(stored.deadline_at, t0() + Duration::seconds(300));
    assert!(matches!(
        store.insert_command(first.clone(), t0()).await,
        Err(StoreError::Conflict(_))
    ));
    let second = store
        .insert_command(
            queued(host, "uptime", t0() + Duration::seconds(1)),
            t0() + Duration::seconds(1),
        )
        .await
        .unwrap();
    let third = store
        .insert_command(
            queued(host, "free -m", t0() + Duration::seconds(2)),
            t0() + Duration::seconds(2),
        )
        .await
        .unwrap();

    // An agent without the remediation capability never gets a remediation step.
    let plain = store
        .claim_queued_commands(
            host,
            uuid::Uuid::new_v4(),
            t0(),
            Duration::seconds(30),
            1,
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        plain.iter().map(|c| c.request_id).collect::<Vec<_>>(),
        [second.request_id]
    );
    let answered = CommandOutcome {
        status: CommandStatus::Failed,
        exit_code: Some(2),
        stdout: None,
        stderr: Some("boom".to_owned()),
        duration_ms: Some(1),
    };
    assert!(
        store
            .finish_command(host, plain[0].request_id, answered, t0())
            .await
            .unwrap()
    );
    // Queue a fresh one in its place for the race below.
    let second = store
        .insert_command(
            queued(host, "uptime", t0() + Duration::seconds(1)),
            t0() + Duration::seconds(1),
        )
        .await
        .unwrap();

    // Claiming hands out the oldest queued commands once, to one connection.
    let connection = uuid::Uuid::new_v4();
    let now = t0() + Duration::seconds(10);
    let claimed = store
        .claim_queued_commands(host, connection, now, Duration::seconds(30), 2, true)
        .await
        .unwrap();
    let ids: Vec<_> = claimed.iter().map(|c| c.request_id).collect();
    assert_eq!(ids, [first.request_id, second.request_id]);
    assert!(claimed.iter().all(|c| c.status == CommandStatus::Sent
        && c.connection_id == Some(connection)
        && c.sent_at == Some(now)
        && c.deadline_at == now + Duration::seconds(90)));
    let other = uuid::Uuid::new_v4();
    let rest = store
        .claim_queued_commands(host, other, now, Duration::seconds(30), 10, false)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|c| c.request_id).collect::<Vec<_>>(),
        [third.request_id]
    );
    assert!(
        store
            .claim_queued_commands(host, other, now, Duration::seconds(30), 10, true)
            .await
            .unwrap()
            .is_empty()
    );

    // Streamed output appends within the bound and marks the command running.
    assert!(
        store
            .append_command_output(host, first.request_id, "line 1\n", "", 16)
            .await
            .unwrap()
    );
    assert!(
        store
            .append_command_output(host, first.request_id, "", "warn\n", 16)
            .await
            .unwrap()
    );
    assert!(
        store
            .append_command_output(host, first.request_id, "a chunk too long\n", "", 16)
            .await
            .unwrap()
    );
    assert!(
        !store
            .append_command_output(host + 1000, first.request_id, "x", "", 16)
            .await
            .unwrap()
    );
    let running = store.command(first.request_id).await.unwrap().unwrap();
    assert_eq!(running.status, CommandStatus::Running);
    assert_eq!(
        (running.stdout.as_str(), running.stderr.as_str()),
        ("line 1\n", "warn\n")
    );

    // The first terminal result wins; it replaces the streamed output when given.
    let done = CommandOutcome {
        status: CommandStatus::Succeeded,
        exit_code: Some(0),
        stdout: Some("full output\n".to_owned()),
        stderr: None,
        duration_ms: Some(42),
    };
    let finished_at = now + Duration::seconds(1);
    assert!(
        store
            .finish_command(host, first.request_id, done.clone(), finished_at)
            .await
            .unwrap()
    );
    let again = CommandOutcome {
        status: CommandStatus::Rejected,
        ..done.clone()
    };
    assert!(
        !store
            .finish_command(host, first.request_id, again, finished_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_command(host + 1000, second.request_id, done.clone(), finished_at)
            .await
            .unwrap()
    );
    let finished = store.command(first.request_id).await.unwrap().unwrap();
    assert_eq!(finished.status, CommandStatus::Succeeded);
    assert_eq!(
        (finished.exit_code, finished.duration_ms),
        (Some(0), Some(42))
    );
    assert_eq!(
        (finished.stdout.as_str(), finished.stderr.as_str()),
        ("full output\n", "warn\n")
    );
    assert_eq!(finished.finished_at, Some(finished_at));
    assert!(
        !store
            .append_command_output(host, first.request_id, "late", "", 100)
            .await
            .unwrap()
    );

    // A dropped connection loses what it held, and only that.
    let lost = store
        .mark_connection_commands_lost(connection, finished_at)
        .await
        .unwrap();
    assert_eq!(
        lost.iter().map(|c| c.request_id).collect::<Vec<_>>(),
        [second.request_id]
    );
    assert_eq!(lost[0].status, CommandStatus::Lost);
    assert_eq!(
        store
            .command(third.request_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        CommandStatus::Sent
    );

    // Deadlines: a queued command nobody took and a sent one nobody answered both time out.
    let untaken = store
        .insert_command(queued(host, "ps aux", now), now)
        .await
        .unwrap();
    assert!(
        store
            .expire_commands(now + Duration::seconds(60), "nobody took it", "no answer")
            .await
            .unwrap()
            .is_empty()
    );
    store
        .append_command_output(host, third.request_id, "", "partial", 100)
        .await
        .unwrap();
    let expired = store
        .expire_commands(now + Duration::seconds(301), "nobody took it", "no answer")
        .await
        .unwrap();
    let by_id = |id| {
        expired
            .iter()
            .find(|c: &&crate::model::AgentCommand| c.request_id == id)
            .unwrap()
    };
    assert_eq!(expired.len(), 2);
    assert_eq!(by_id(third.request_id).stderr, "partial\nno answer");
    assert_eq!(by_id(untaken.request_id).stderr, "nobody took it");
    assert!(
        expired
            .iter()
            .all(|c| c.status == CommandStatus::TimedOut && c.exit_code == Some(-1))
    );

    let listed = store.host_commands(host, 2).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.request_id).collect::<Vec<_>>(),
        [untaken.request_id, third.request_id]
    );
    assert!(store.command(uuid::Uuid::new_v4()).await.unwrap().is_none());
}

async fn host_deletion_cascades(store: &dyn Store) {
    let web = host_named(store, "db-primary").await;
    store
        .insert_metrics(&[sample(web, t0() - Duration::minutes(1), 42.0)], &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .latest_metrics(&[web], t0() - Duration::days(1))
            .await
            .unwrap()
            .len(),
        1
    );
    let remaining = store.host_commands(web, 10).await.unwrap();
    assert!(!remaining.is_empty());
    store.delete_host(web).await.unwrap();
    assert!(store.host(web).await.unwrap().is_none());
    assert!(
        store
            .latest_metrics(&[web], t0() - Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    );
    let series = store
        .metric_series(
            web,
            t0() - Duration::days(1),
            t0(),
            Resolution::Raw,
            Aggregate::Avg,
            10,
        )
        .await
        .unwrap();
    assert!(series.is_empty(), "a deleted host's samples go with it");
    assert!(store.recent_logs(web, 10).await.unwrap().is_empty());
    assert!(store.discovered_dependencies(web).await.unwrap().is_empty());
    assert!(store.host_commands(web, 10).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_host(web).await,
        Err(StoreError::NotFound(_))
    ));
}
