use std::sync::Arc;

use chrono::{DateTime, Utc};
use vigilops_core::model::{HostRegistration, NewServiceCheck, ServiceRegistration};
use vigilops_core::store::testing::{fresh_postgres, fresh_sqlite};
use vigilops_core::store::{Store, conformance};

#[tokio::test]
async fn sqlite_store_conforms() {
    let sqlite = fresh_sqlite().await;
    conformance::run_all(&sqlite.store).await;
}

#[tokio::test]
async fn postgres_store_conforms() {
    let Some(postgres) = fresh_postgres().await else {
        return;
    };
    conformance::run_all(&postgres.store).await;
    postgres.drop_database().await;
}

/// Rows only data migrated from the original can hold (an inactive service, a status spelled in
/// upper case, a host status other than online/offline), seeded directly since no store method
/// writes them; returns (host, other host, [inactive, upper-case, down] services of `host`).
async fn seed_legacy(store: &dyn Store) -> (i64, i64, [i64; 3]) {
    let token = store
        .create_agent_token("legacy", "hash-legacy", "vop_lgcy", None, at())
        .await
        .unwrap()
        .id;
    let register = |hostname: &str| HostRegistration {
        hostname: hostname.to_owned(),
        ..HostRegistration::default()
    };
    let (host, _) = store
        .register_host(token, register("legacy-a"), at())
        .await
        .unwrap();
    let (other, _) = store
        .register_host(token, register("legacy-b"), at())
        .await
        .unwrap();
    let mut services = [0; 3];
    for (slot, (name, status)) in
        services
            .iter_mut()
            .zip([("inactive", "up"), ("shouting", "up"), ("broken", "down")])
    {
        let (id, _) = store
            .register_service(
                ServiceRegistration {
                    host_id: host.id,
                    name: name.to_owned(),
                    target: "127.0.0.1:1".to_owned(),
                    check_type: "tcp".to_owned(),
                    check_interval: 60,
                    timeout: 10,
                    category: "business".to_owned(),
                },
                at(),
            )
            .await
            .unwrap();
        store
            .insert_service_check(
                NewServiceCheck {
                    service_id: id,
                    status: status.to_owned(),
                    response_time_ms: None,
                    status_code: None,
                    error: None,
                    checked_at: at(),
                },
                None,
            )
            .await
            .unwrap();
        *slot = id;
    }
    (host.id, other.id, services)
}

/// What the evidence reads make of the legacy rows.
async fn check_legacy(store: &dyn Store, host: i64, [inactive, shouting, broken]: [i64; 3]) {
    let summary = store.system_summary(at()).await.unwrap();
    assert_eq!(
        (
            summary.hosts_total,
            summary.hosts_online,
            summary.hosts_offline
        ),
        (2, 1, 1),
        "a host neither online nor offline counts as offline"
    );
    assert_eq!(
        (
            summary.services_total,
            summary.services_up,
            summary.services_down
        ),
        (2, 1, 1),
        "inactive services are not counted; `UP` is up"
    );
    assert_eq!(
        (summary.avg_cpu_percent, summary.avg_memory_percent),
        (None, None)
    );
    let overview = store.services_overview(Some(host)).await.unwrap();
    let seen: Vec<(i64, &str, bool)> = overview
        .iter()
        .map(|service| (service.id, service.status.as_str(), service.is_active))
        .collect();
    assert_eq!(
        seen,
        [
            (inactive, "up", false),
            (shouting, "up", true),
            (broken, "down", true)
        ]
    );
}

/// The statements that make the legacy rows; plain SQL both backends accept.
const LEGACY_ROWS: [&str; 3] = [
    "UPDATE services SET is_active = FALSE WHERE id = $1",
    "UPDATE services SET status = 'UP' WHERE id = $1",
    "UPDATE hosts SET status = 'maintenance' WHERE id = $1",
];

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

#[tokio::test]
async fn sqlite_evidence_reads_legacy_rows() {
    let sqlite = fresh_sqlite().await;
    let (host, other_host, services) = seed_legacy(&sqlite.store).await;
    for (statement, id) in LEGACY_ROWS
        .into_iter()
        .zip([services[0], services[1], other_host])
    {
        sqlx::query(statement)
            .bind(id)
            .execute(sqlite.store.pool())
            .await
            .unwrap();
    }
    check_legacy(&sqlite.store, host, services).await;
}

#[tokio::test]
async fn postgres_evidence_reads_legacy_rows() {
    let Some(postgres) = fresh_postgres().await else {
        return;
    };
    let (host, other_host, services) = seed_legacy(&postgres.store).await;
    for (statement, id) in LEGACY_ROWS
        .into_iter()
        .zip([services[0], services[1], other_host])
    {
        sqlx::query(statement)
            .bind(id)
            .execute(postgres.store.pool())
            .await
            .unwrap();
    }
    check_legacy(&postgres.store, host, services).await;
    postgres.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_remediation_creations_race() {
    let sqlite = fresh_sqlite().await;
    conformance::spawned_creations_race(Arc::new(sqlite.store.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_remediation_creations_race() {
    let Some(postgres) = fresh_postgres().await else {
        return;
    };
    conformance::spawned_creations_race(Arc::new(postgres.store.clone())).await;
    postgres.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scheduled_report_creations_race() {
    let sqlite = fresh_sqlite().await;
    conformance::scheduled_report_creations_race(Arc::new(sqlite.store.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_scheduled_report_creations_race() {
    let Some(postgres) = fresh_postgres().await else {
        return;
    };
    conformance::scheduled_report_creations_race(Arc::new(postgres.store.clone())).await;
    postgres.drop_database().await;
}

#[tokio::test]
async fn sqlite_service_check_rollups() {
    let sqlite = fresh_sqlite().await;
    conformance::service_check_rollups(Arc::new(sqlite.store.clone())).await;
}

#[tokio::test]
async fn postgres_service_check_rollups() {
    let Some(postgres) = fresh_postgres().await else {
        return;
    };
    conformance::service_check_rollups(Arc::new(postgres.store.clone())).await;
    postgres.drop_database().await;
}

/// No store method deletes a single alert; plain SQL both backends accept.
const DELETE_ALERT: &str = "DELETE FROM alerts WHERE id = $1";

#[tokio::test]
async fn sqlite_alert_deletion_keeps_remediation_runs() {
    let sqlite = fresh_sqlite().await;
    let pool = sqlite.store.pool();
    conformance::alert_deletion_keeps_runs(&sqlite.store, |alert| async move {
        sqlx::query(DELETE_ALERT)
            .bind(alert)
            .execute(pool)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn postgres_alert_deletion_keeps_remediation_runs() {
    let Some(postgres) = fresh_postgres().await else {
        return;
    };
    let pool = postgres.store.pool();
    conformance::alert_deletion_keeps_runs(&postgres.store, |alert| async move {
        sqlx::query(DELETE_ALERT)
            .bind(alert)
            .execute(pool)
            .await
            .unwrap();
    })
    .await;
    postgres.drop_database().await;
}
