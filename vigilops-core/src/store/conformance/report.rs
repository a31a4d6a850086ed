//! Reports' part of the story: creating (a scheduled report at most once per type and period
//! while one is generating or completed, even under concurrent creation; manual ones freely),
//! finishing as a compare-and-set, listing newest first with a type filter and pages, deleting,
//! failing stalled generations, and the aggregates of a period. Its data lies after the rest of
//! the story's, so its time windows see only it.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::super::{Store, StoreError};
use crate::alerting::rule::Severity;
use crate::alerting::wire::AlertRuleCreate;
use crate::model::{
    MetricSample, MetricValues, NewAlert, NewLogEntry, NewReport, NewServiceCheck, NewUser, Page,
    ReportFilter, ReportOutcome, ReportStatus, ReportType, Role, ServiceRegistration,
};

/// Long after every other part of the story.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2032, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn hours(count: i64) -> Duration {
    Duration::hours(count)
}

fn new_report(report_type: ReportType, day: i64, scheduled: bool, at: DateTime<Utc>) -> NewReport {
    NewReport {
        title: format!("{} {day}", report_type.as_str()),
        report_type,
        period_start: base() + Duration::days(day),
        period_end: base() + Duration::days(day + 1),
        generated_by: None,
        scheduled,
        created_at: at,
    }
}

fn completed(content: &str) -> ReportOutcome {
    ReportOutcome {
        status: ReportStatus::Completed,
        content: content.to_owned(),
        summary: format!("summary of {content}"),
    }
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

/// Runs every report behaviour on a store that may already hold other data (but no reports).
pub(super) async fn run(store: &dyn Store) {
    lifecycle(store).await;
    scheduled_once_per_period(store).await;
    list_filter_and_pages(store).await;
    stalled(store).await;
    aggregates(store).await;
}

async fn lifecycle(store: &dyn Store) {
    let user = store
        .create_user(
            NewUser {
                email: "reporter@example.com".to_owned(),
                name: "reporter".to_owned(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
                role: Role::Operator,
            },
            base(),
        )
        .await
        .unwrap();
    let mut manual = new_report(ReportType::Daily, -1, false, base());
    manual.generated_by = Some(user.id);
    let created = store.create_report(manual.clone()).await.unwrap();
    assert_eq!(created.status, ReportStatus::Generating);
    assert_eq!(created.generated_by, Some(user.id));
    assert!(!created.scheduled);
    assert_eq!(
        (created.content.as_deref(), created.summary.as_deref()),
        (None, None)
    );
    assert_eq!(
        (created.period_start, created.period_end, created.created_at),
        (manual.period_start, manual.period_end, base())
    );
    assert_eq!(created.title, manual.title);
    assert_eq!(
        store.report(created.id).await.unwrap(),
        Some(created.clone())
    );

    // Manual reports may repeat a period.
    let again = store.create_report(manual.clone()).await.unwrap();
    assert_ne!(again.id, created.id);

    let done = store
        .finish_report(created.id, completed("# 日报"))
        .await
        .unwrap();
    assert_eq!(done.status, ReportStatus::Completed);
    assert_eq!(done.content.as_deref(), Some("# 日报"));
    assert_eq!(done.summary.as_deref(), Some("summary of # 日报"));
    // Finishing is a compare-and-set: only a generating report ends.
    assert!(is_conflict(
        &store.finish_report(created.id, completed("twice")).await
    ));
    assert!(matches!(
        store.finish_report(i64::MAX, completed("gone")).await,
        Err(StoreError::NotFound(_))
    ));
    let failed = store
        .finish_report(
            again.id,
            ReportOutcome {
                status: ReportStatus::Failed,
                content: "database error".to_owned(),
                summary: "database error".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.status, ReportStatus::Failed);

    // Deleting the user keeps the report, without its author.
    store.delete_user(user.id).await.unwrap();
    assert_eq!(
        store
            .report(created.id)
            .await
            .unwrap()
            .unwrap()
            .generated_by,
        None
    );

    store.delete_report(again.id).await.unwrap();
    assert_eq!(store.report(again.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_report(again.id).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_report(created.id).await.unwrap();
}

async fn scheduled_once_per_period(store: &dyn Store) {
    let first = store
        .create_report(new_report(ReportType::Daily, 10, true, base()))
        .await
        .unwrap();
    assert!(first.scheduled);
    // While it is generating, and once completed, the period is taken.
    assert!(is_conflict(
        &store
            .create_report(new_report(ReportType::Daily, 10, true, base()))
            .await
    ));
    // Another type or period is free; manual reports never conflict.
    let weekly = store
        .create_report(new_report(ReportType::Weekly, 10, true, base()))
        .await
        .unwrap();
    let next_day = store
        .create_report(new_report(ReportType::Daily, 11, true, base()))
        .await
        .unwrap();
    let manual = store
        .create_report(new_report(ReportType::Daily, 10, false, base()))
        .await
        .unwrap();
    store
        .finish_report(first.id, completed("day 10"))
        .await
        .unwrap();
    assert!(is_conflict(
        &store
            .create_report(new_report(ReportType::Daily, 10, true, base()))
            .await
    ));
    // A completed manual report takes the period too.
    store
        .finish_report(manual.id, completed("manual"))
        .await
        .unwrap();
    store.delete_report(first.id).await.unwrap();
    assert!(is_conflict(
        &store
            .create_report(new_report(ReportType::Daily, 10, true, base()))
            .await
    ));
    // A failed one does not: the period may be written again.
    store.delete_report(manual.id).await.unwrap();
    let retry = store
        .create_report(new_report(ReportType::Daily, 10, true, base()))
        .await
        .unwrap();
    store
        .finish_report(
            retry.id,
            ReportOutcome {
                status: ReportStatus::Failed,
                content: "x".to_owned(),
                summary: "x".to_owned(),
            },
        )
        .await
        .unwrap();
    let after_failure = store
        .create_report(new_report(ReportType::Daily, 10, true, base()))
        .await
        .unwrap();
    for id in [weekly.id, next_day.id, retry.id, after_failure.id] {
        store.delete_report(id).await.unwrap();
    }
}

async fn list_filter_and_pages(store: &dyn Store) {
    let mut ids = Vec::new();
    for (minute, report_type) in [
        (1, ReportType::Daily),
        (2, ReportType::Weekly),
        (3, ReportType::Daily),
        (3, ReportType::Daily),
    ] {
        let at = base() + Duration::minutes(minute);
        ids.push(
            store
                .create_report(new_report(report_type, minute, false, at))
                .await
                .unwrap()
                .id,
        );
    }
    let (all, total) = store.list_reports(&ReportFilter::default()).await.unwrap();
    assert_eq!(total, 4);
    // Newest first; equal times by id, newest first.
    assert_eq!(
        all.iter().map(|report| report.id).collect::<Vec<_>>(),
        vec![ids[3], ids[2], ids[1], ids[0]]
    );
    let (daily, total) = store
        .list_reports(&ReportFilter {
            report_type: Some(ReportType::Daily),
            page: Page {
                page: 2,
                page_size: 2,
            },
        })
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        daily.iter().map(|report| report.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    for id in ids {
        store.delete_report(id).await.unwrap();
    }
}

async fn stalled(store: &dyn Store) {
    let old = store
        .create_report(new_report(ReportType::Daily, 20, true, base()))
        .await
        .unwrap();
    let recent = store
        .create_report(new_report(ReportType::Daily, 21, true, base() + hours(1)))
        .await
        .unwrap();
    let finished = store
        .create_report(new_report(ReportType::Daily, 22, true, base()))
        .await
        .unwrap();
    store
        .finish_report(finished.id, completed("done"))
        .await
        .unwrap();
    let failed = store
        .fail_stalled_reports(base() + Duration::minutes(30), "interrupted")
        .await
        .unwrap();
    assert_eq!(failed, vec![old.id]);
    let old = store.report(old.id).await.unwrap().unwrap();
    assert_eq!(old.status, ReportStatus::Failed);
    assert_eq!(
        (old.content.as_deref(), old.summary.as_deref()),
        (Some("interrupted"), Some("interrupted"))
    );
    // Its writer, if it comes back, cannot overwrite the verdict.
    assert!(is_conflict(
        &store.finish_report(old.id, completed("late")).await
    ));
    assert_eq!(
        store.report(recent.id).await.unwrap().unwrap().status,
        ReportStatus::Generating
    );
    for id in [old.id, recent.id, finished.id] {
        store.delete_report(id).await.unwrap();
    }
}

async fn aggregates(store: &dyn Store) {
    let from = base() + Duration::days(100);
    let to = from + Duration::days(1);
    let empty = store.report_data(from, to).await.unwrap();
    assert_eq!(empty.metric_samples, 0);
    assert_eq!((empty.cpu.avg, empty.cpu.max), (None, None));
    assert!(empty.alerts.is_empty() && empty.top_error_services.is_empty());
    assert_eq!(empty.error_logs, 0);

    let host = super::seed_host(store, "report-01", from).await;
    let sample = |at: DateTime<Utc>, cpu: f64, memory: f64, disk: f64| MetricSample {
        host_id: host,
        recorded_at: at,
        values: MetricValues {
            cpu_percent: Some(cpu),
            memory_percent: Some(memory),
            disk_percent: Some(disk),
            ..MetricValues::default()
        },
        extra: None,
    };
    store
        .insert_metrics(
            &[
                sample(from - hours(1), 99.0, 99.0, 99.0),
                sample(from + hours(1), 20.0, 40.0, 70.0),
                sample(from + hours(2), 60.0, 50.0, 80.0),
                sample(to, 99.0, 99.0, 99.0),
            ],
            &[],
        )
        .await
        .unwrap();
    let (service, _) = store
        .register_service(
            ServiceRegistration {
                host_id: host,
                name: "report-api".to_owned(),
                target: "localhost:8080".to_owned(),
                check_type: "tcp".to_owned(),
                check_interval: 60,
                timeout: 10,
                category: "business".to_owned(),
            },
            from,
        )
        .await
        .unwrap();
    for (status, at) in [
        ("down", from - hours(1)),
        ("up", from + hours(1)),
        ("up", from + hours(2)),
        ("down", from + hours(3)),
        ("up", from + hours(4)),
    ] {
        store
            .insert_service_check(
                NewServiceCheck {
                    service_id: service,
                    status: status.to_owned(),
                    response_time_ms: Some(1.0),
                    status_code: None,
                    error: None,
                    checked_at: at,
                },
                None,
            )
            .await
            .unwrap();
    }
    let rule = store
        .create_rule(
            &AlertRuleCreate {
                name: "report rule".to_owned(),
                ..AlertRuleCreate::default()
            },
            from,
        )
        .await
        .unwrap()
        .id;
    for (target, severity, at) in [
        ("before", Severity::Critical, from - hours(1)),
        ("a", Severity::Critical, from + hours(1)),
        ("b", Severity::Warning, from + hours(2)),
        ("c", Severity::Warning, from + hours(3)),
    ] {
        store
            .open_alert(NewAlert {
                rule_id: rule,
                target_key: format!("report:{target}"),
                host_id: Some(host),
                service_id: None,
                database_id: None,
                severity,
                title: target.to_owned(),
                message: None,
                metric_value: None,
                threshold: None,
                group_key: None,
                fired_at: at,
            })
            .await
            .unwrap();
    }
    let line = |service: Option<&str>, level: &str, at: DateTime<Utc>| NewLogEntry {
        host_id: host,
        service: service.map(str::to_owned),
        source: None,
        level: Some(level.to_owned()),
        message: "boom".to_owned(),
        timestamp: at,
    };
    let mut lines = vec![
        line(Some("api"), "ERROR", from - hours(1)),
        line(Some("db"), "CRITICAL", from + hours(1)),
        line(None, "error", from + hours(1)),
        line(Some("api"), "WARN", from + hours(1)),
        line(Some("api"), "FATAL", from + hours(1)),
    ];
    for minute in 0..3 {
        lines.push(line(
            Some("api"),
            "ERROR",
            from + hours(2) + Duration::minutes(minute),
        ));
    }
    store.insert_logs(&lines, from, None).await.unwrap();

    let data = store.report_data(from, to).await.unwrap();
    assert_eq!(data.metric_samples, 2, "the window is [from, to)");
    assert_eq!((data.cpu.avg, data.cpu.max), (Some(40.0), Some(60.0)));
    assert_eq!((data.memory.avg, data.memory.max), (Some(45.0), Some(50.0)));
    assert_eq!((data.disk.avg, data.disk.max), (Some(75.0), Some(80.0)));
    let ours = data
        .services
        .iter()
        .find(|row| row.id == service)
        .expect("the service is listed");
    assert_eq!((ours.checks, ours.up_checks), (4, 3));
    assert_eq!(ours.availability_percent(), Some(75.0));
    assert_eq!(ours.hostname.as_deref(), Some("report-01"));
    assert_eq!(ours.status, "up", "the current status");
    assert!(
        data.services_by_status
            .iter()
            .any(|row| row.key == "up" && row.count >= 1)
    );
    let active: i64 = data.services_by_status.iter().map(|row| row.count).sum();
    assert_eq!(
        active,
        i64::try_from(data.services.len()).unwrap(),
        "fewer than the listing limit, so every active service is listed"
    );
    let alerts: Vec<(String, String, i64)> = data
        .alerts
        .iter()
        .map(|row| (row.severity.clone(), row.status.clone(), row.count))
        .collect();
    assert_eq!(
        alerts,
        vec![
            ("critical".to_owned(), "firing".to_owned(), 1),
            ("warning".to_owned(), "firing".to_owned(), 2),
        ]
    );
    assert_eq!(
        data.error_logs, 6,
        "ERROR, CRITICAL and FATAL (ingestion's CRITICAL), in any case"
    );
    let top: Vec<(&str, i64)> = data
        .top_error_services
        .iter()
        .map(|row| (row.key.as_str(), row.count))
        .collect();
    assert_eq!(top, vec![("api", 4), ("", 1), ("db", 1)]);
    let hosts: i64 = data.hosts_by_status.iter().map(|row| row.count).sum();
    assert_eq!(hosts, store.system_summary(from).await.unwrap().hosts_total);
    assert!(data.hosts_by_status.iter().any(|row| row.key == "online"));
}

/// Two replicas creating the same scheduled report at once: exactly one succeeds, ten times
/// over. Run it on a multi-threaded runtime.
pub async fn scheduled_report_creations_race(store: Arc<dyn Store>) {
    for day in 0..10 {
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .create_report(new_report(ReportType::Daily, 200 + day, true, base()))
                        .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("task"));
        }
        assert_eq!(
            results.iter().filter(|result| result.is_ok()).count(),
            1,
            "day {day}: {results:?}"
        );
        assert!(results.iter().filter(|r| r.is_err()).all(is_conflict));
    }
    let (_, total) = store.list_reports(&ReportFilter::default()).await.unwrap();
    assert_eq!(total, 10);
}
