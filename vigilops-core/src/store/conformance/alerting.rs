//! The alerting part of the story: rules (builtins seeded once, never deleted), alerts (one
//! active per pair even under concurrent opens, ack, resolve, timeline, filters and paging),
//! channels, templates (one default per type), the notification log and silences.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::super::{Store, StoreError};
use crate::alerting::rule::{Severity, builtin_rules};
use crate::alerting::wire::{AlertRuleCreate, DetectorWire, EscalationWire, TargetFilterWire};
use crate::model::{
    AlertEventKind, AlertFilter, AlertResolution, AlertStatus, AlertWrites, BuiltinRule, NewAlert,
    NewAlertEvent, NewChannel, NewNotificationLog, NewSilence, NewTemplate, NewUser, Page, Role,
    SilenceMatchers, SilenceSchedule, SilenceTarget,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every alerting behaviour on a store that may already hold other data.
pub(super) async fn run(store: &dyn Store) {
    let user = store
        .create_user(
            NewUser {
                email: "alerting@example.com".to_owned(),
                name: "alerting".to_owned(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
                role: Role::Operator,
            },
            t0(),
        )
        .await
        .unwrap()
        .id;
    let host = super::seed_host(store, "alert-host", t0()).await;
    let rule_id = rules(store).await;
    alerts(store, rule_id, host, user).await;
    notifications(store).await;
    silences(store, user).await;
    // `alerts` deleted its rule.
    let engine_rule = store
        .create_rule(
            &AlertRuleCreate {
                name: "engine batches".to_owned(),
                metric: "cpu_percent".to_owned(),
                operator: ">".to_owned(),
                threshold: 90.0,
                ..AlertRuleCreate::default()
            },
            t0(),
        )
        .await
        .unwrap()
        .id;
    engine_batches(store, engine_rule, host).await;
    shared_pending_windows(store, engine_rule).await;
    store.delete_host(host).await.unwrap();
    let (left, _) = store
        .list_alerts(&AlertFilter {
            host_id: Some(host),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert!(left.is_empty(), "a deleted host's alerts go with it");
}

fn builtins() -> Vec<BuiltinRule> {
    let keys = [
        "cpu_high",
        "memory_high",
        "disk_high",
        "host_offline",
        "service_down",
    ];
    keys.into_iter()
        .zip(builtin_rules())
        .map(|(key, rule)| BuiltinRule { key, rule })
        .collect()
}

/// Rules; returns the id of a user rule for the alert behaviours.
async fn rules(store: &dyn Store) -> i64 {
    assert_eq!(
        store.seed_builtin_rules(&builtins(), t0()).await.unwrap(),
        5
    );
    assert_eq!(
        store.seed_builtin_rules(&builtins(), t0()).await.unwrap(),
        0,
        "seeded once"
    );
    let seeded = store.list_rules(None).await.unwrap();
    assert_eq!(seeded.len(), 5);
    assert!(seeded.iter().all(|rule| rule.is_builtin));
    let cpu = &seeded[0];
    assert_eq!(cpu.rule.name, "CPU 使用率过高");
    assert_eq!(cpu.builtin_key.as_deref(), Some("cpu_high"));
    assert_eq!(cpu.rule, builtin_rules()[0], "stored as given");

    // A renamed builtin keeps its key, so it is not seeded again.
    let mut renamed = cpu.rule.clone();
    renamed.name = "CPU busy".to_owned();
    renamed.is_enabled = false;
    let later = t0() + Duration::minutes(1);
    let updated = store.update_rule(cpu.id, &renamed, later).await.unwrap();
    assert_eq!(updated.rule.name, "CPU busy");
    assert!(updated.is_builtin);
    assert_eq!(updated.updated_at, later);
    assert_eq!(updated.created_at, t0());
    assert_eq!(
        store.seed_builtin_rules(&builtins(), t0()).await.unwrap(),
        0
    );
    assert!(matches!(
        store.delete_rule(cpu.id).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.rule(cpu.id).await.unwrap().is_some(), "never deleted");

    // Every extension field round-trips.
    let full = AlertRuleCreate {
        name: "disk forecast".to_owned(),
        description: Some("fills up".to_owned()),
        severity: "critical".to_owned(),
        metric: "disk_percent".to_owned(),
        threshold: 100.0,
        duration_seconds: 0,
        target_filter: Some(TargetFilterWire {
            host_ids: Some(vec![1, 2]),
            group_name: Some("db".to_owned()),
            tags: Some(BTreeMap::from([("env".to_owned(), "prod".to_owned())])),
            ..TargetFilterWire::default()
        }),
        silence_start: Some("22:00:00".to_owned()),
        silence_end: Some("06:00:00".to_owned()),
        notification_channel_ids: Some(vec![3, 4]),
        recovery_threshold: None,
        detector: Some(DetectorWire::Forecast {
            within_hours: 24.0,
            lookback_seconds: Some(3600),
        }),
        repeat_interval_seconds: Some(3600),
        escalation: Some(EscalationWire {
            after_seconds: 900,
            channel_ids: vec![5],
        }),
        ..AlertRuleCreate::default()
    };
    let created = store.create_rule(&full, t0()).await.unwrap();
    assert!(!created.is_builtin);
    assert_eq!(created.builtin_key, None);
    assert_eq!(created.rule, full);
    assert_eq!(store.rule(created.id).await.unwrap().unwrap(), created);
    let log_rule = AlertRuleCreate {
        name: "oom".to_owned(),
        rule_type: "log_keyword".to_owned(),
        log_keyword: Some("out of memory|oom".to_owned()),
        log_keyword_is_regex: true,
        recovery_threshold: Some(1.0),
        ..AlertRuleCreate::default()
    };
    let log = store.create_rule(&log_rule, t0()).await.unwrap();
    assert_eq!(log.rule, log_rule);

    let enabled = store.list_rules(Some(true)).await.unwrap();
    assert_eq!(enabled.len(), 6, "the renamed builtin was disabled");
    assert!(enabled.iter().all(|rule| rule.rule.is_enabled));
    assert_eq!(store.list_rules(Some(false)).await.unwrap().len(), 1);
    let ids: Vec<i64> = store
        .list_rules(None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "by id");

    store.delete_rule(log.id).await.unwrap();
    assert!(store.rule(log.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_rule(log.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.update_rule(log.id, &log_rule, t0()).await,
        Err(StoreError::NotFound(_))
    ));
    created.id
}

fn new_alert(rule_id: i64, host_id: i64, at: DateTime<Utc>) -> NewAlert {
    NewAlert {
        rule_id,
        target_key: format!("host:{host_id}"),
        host_id: Some(host_id),
        service_id: None,
        database_id: None,
        severity: Severity::Critical,
        title: "disk forecast - alert-host".to_owned(),
        message: Some("disk_percent = 97 > 95".to_owned()),
        metric_value: Some(97.0),
        threshold: Some(95.0),
        group_key: Some("host:alert-host".to_owned()),
        fired_at: at,
    }
}

/// The engine's batches: many opens and resolves in one call, item by item as the single
/// calls would do them (the unique open index decides; a pair already open is followed).
async fn engine_batches(store: &dyn Store, rule_id: i64, host_id: i64) {
    let at = t0() + Duration::hours(2);
    let on = |target: &str, at| NewAlert {
        target_key: target.to_owned(),
        ..new_alert(rule_id, host_id, at)
    };
    let resolution = |at| AlertResolution {
        at,
        by: None,
        comment: None,
    };
    let empty = store.write_alerts(&AlertWrites::default()).await.unwrap();
    assert!(empty.opened.is_empty() && empty.resolved.is_empty());

    // The second open of a pair in one batch follows the first.
    let first = store
        .write_alerts(&AlertWrites {
            opens: vec![on("batch:1", at), on("batch:2", at), on("batch:1", at)],
            ..AlertWrites::default()
        })
        .await
        .unwrap();
    let opened: Vec<(i64, bool)> = first
        .opened
        .iter()
        .map(|outcome| {
            let (alert, created) = outcome.clone().expect("every open has an outcome");
            (alert.id, created)
        })
        .collect();
    assert!(opened[0].1 && opened[1].1, "{opened:?}");
    assert_eq!(
        opened[2],
        (opened[0].0, false),
        "one alert per (rule, target)"
    );
    assert_ne!(opened[0].0, opened[1].0);
    for id in [opened[0].0, opened[1].0] {
        let timeline = store.alert_events(id).await.unwrap();
        assert_eq!(timeline.len(), 1, "{timeline:?}");
        assert_eq!(timeline[0].kind, AlertEventKind::Fired);
        assert_eq!(timeline[0].at, at);
    }
    // A single open of a pair the batch opened follows it too.
    let (single, created) = store.open_alert(on("batch:2", at)).await.unwrap();
    assert_eq!((single.id, created), (opened[1].0, false));

    // Resolves come first, so a pair resolved and opened again in one batch is a new alert;
    // an unknown id has no outcome, and an already open pair is followed.
    let later = at + Duration::minutes(5);
    let second = store
        .write_alerts(&AlertWrites {
            opens: vec![on("batch:2", later), on("batch:1", later)],
            resolves: vec![
                (opened[1].0, resolution(later)),
                (i64::MAX, resolution(later)),
            ],
            ..AlertWrites::default()
        })
        .await
        .unwrap();
    let (resolved, changed) = second.resolved[0].clone().unwrap();
    assert!(changed);
    assert_eq!(resolved.id, opened[1].0);
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.resolved_at, Some(later));
    assert_eq!(second.resolved[1], None, "an unknown alert");
    let (reopened, created) = second.opened[0].clone().unwrap();
    assert!(created);
    assert_ne!(reopened.id, opened[1].0);
    let (followed, created) = second.opened[1].clone().unwrap();
    assert_eq!((followed.id, created), (opened[0].0, false));
    let timeline = store.alert_events(opened[1].0).await.unwrap();
    assert_eq!(
        timeline.iter().map(|event| event.kind).collect::<Vec<_>>(),
        [AlertEventKind::Fired, AlertEventKind::Resolved]
    );

    // Resolving twice: the second says it already was, and adds nothing to the timeline.
    let again = store
        .write_alerts(&AlertWrites {
            resolves: vec![
                (opened[1].0, resolution(later)),
                (opened[0].0, resolution(later)),
                (reopened.id, resolution(later)),
            ],
            ..AlertWrites::default()
        })
        .await
        .unwrap();
    let changed: Vec<bool> = again
        .resolved
        .iter()
        .map(|outcome| outcome.as_ref().unwrap().1)
        .collect();
    assert_eq!(changed, [false, true, true]);
    assert_eq!(store.alert_events(opened[1].0).await.unwrap().len(), 2);
    let open_batch: Vec<String> = store
        .open_alerts_for_rule(rule_id)
        .await
        .unwrap()
        .into_iter()
        .map(|alert| alert.target_key)
        .filter(|target| target.starts_with("batch:"))
        .collect();
    assert!(open_batch.is_empty(), "{open_batch:?}");
}

/// The pending windows the replicas share: the first recorded start of a pair stands, an end
/// deletes it (ends are written before starts in one batch), and many pairs at once work.
async fn shared_pending_windows(store: &dyn Store, rule_id: i64) {
    let at = |seconds| t0() + Duration::seconds(seconds);
    let pair = |target: &str| (rule_id, target.to_owned());
    let starts = |starts: Vec<(&str, i64)>| AlertWrites {
        pending_starts: starts
            .into_iter()
            .map(|(target, seconds)| (rule_id, target.to_owned(), at(seconds)))
            .collect(),
        ..AlertWrites::default()
    };
    let recorded = |mut starts: Vec<(i64, String, DateTime<Utc>)>| {
        starts.sort();
        starts
    };
    assert!(store.pending_starts(&[]).await.unwrap().is_empty());
    assert!(
        store
            .pending_starts(&[pair("pending:1")])
            .await
            .unwrap()
            .is_empty()
    );

    let first = store
        .write_alerts(&starts(vec![("pending:1", 0), ("pending:2", 15)]))
        .await
        .unwrap();
    assert_eq!(first.pending_since, [Some(at(0)), Some(at(15))]);
    // A second start of a pair (another replica's) leaves the first.
    let second = store
        .write_alerts(&starts(vec![("pending:1", 30)]))
        .await
        .unwrap();
    assert_eq!(second.pending_since, [Some(at(0))]);
    let looked_up = store
        .pending_starts(&[pair("pending:1"), pair("pending:2"), pair("pending:3")])
        .await
        .unwrap();
    assert_eq!(
        recorded(looked_up),
        [
            (rule_id, "pending:1".to_owned(), at(0)),
            (rule_id, "pending:2".to_owned(), at(15)),
        ]
    );

    // An end and a new start of a pair in one batch: the window starts again.
    let restarted = store
        .write_alerts(&AlertWrites {
            pending_clears: vec![pair("pending:1"), pair("pending:2")],
            ..starts(vec![("pending:1", 45)])
        })
        .await
        .unwrap();
    assert_eq!(restarted.pending_since, [Some(at(45))]);
    assert_eq!(
        store
            .pending_starts(&[pair("pending:1"), pair("pending:2")])
            .await
            .unwrap(),
        [(rule_id, "pending:1".to_owned(), at(45))]
    );

    // More pairs than one statement names.
    let many: Vec<String> = (0..650).map(|index| format!("many:{index}")).collect();
    let written = store
        .write_alerts(&starts(
            many.iter().map(|target| (target.as_str(), 60)).collect(),
        ))
        .await
        .unwrap();
    assert_eq!(written.pending_since, vec![Some(at(60)); many.len()]);
    let pairs: Vec<(i64, String)> = many.iter().map(|target| pair(target)).collect();
    assert_eq!(
        store.pending_starts(&pairs).await.unwrap().len(),
        many.len()
    );
    store
        .write_alerts(&AlertWrites {
            pending_clears: pairs.clone(),
            ..AlertWrites::default()
        })
        .await
        .unwrap();
    assert!(store.pending_starts(&pairs).await.unwrap().is_empty());
    store
        .write_alerts(&AlertWrites {
            pending_clears: vec![pair("pending:1")],
            ..AlertWrites::default()
        })
        .await
        .unwrap();
}

async fn alerts(store: &dyn Store, rule_id: i64, host_id: i64, user: i64) {
    // Concurrent opens of one pair make one alert.
    let opens = (0..8).map(|_| store.open_alert(new_alert(rule_id, host_id, t0())));
    let results = futures::future::join_all(opens).await;
    let created: Vec<_> = results
        .into_iter()
        .map(Result::unwrap)
        .filter(|(_, created)| *created)
        .collect();
    assert_eq!(created.len(), 1, "one alert per (rule, target)");
    let first = created[0].0.clone();
    assert_eq!(first.status, AlertStatus::Firing);
    assert_eq!(first.severity, Severity::Critical);
    assert_eq!(first.fired_at, t0());
    assert_eq!(first.created_at, t0());
    assert_eq!(first.group_key.as_deref(), Some("host:alert-host"));
    assert!(!first.flapping);
    let (again, created_again) = store
        .open_alert(new_alert(rule_id, host_id, t0() + Duration::minutes(1)))
        .await
        .unwrap();
    assert!(!created_again);
    assert_eq!(again, first, "the active alert is returned unchanged");
    let timeline = store.alert_events(first.id).await.unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].kind, AlertEventKind::Fired);
    assert_eq!(timeline[0].detail.as_ref().unwrap()["metric_value"], 97.0);

    // Acknowledge: once, and an acknowledged alert stays the active one.
    let ack_at = t0() + Duration::minutes(2);
    let (acked, changed) = store
        .acknowledge_alert(first.id, Some(user), ack_at)
        .await
        .unwrap();
    assert!(changed);
    assert_eq!(acked.status, AlertStatus::Acknowledged);
    assert_eq!(acked.acknowledged_by, Some(user));
    assert_eq!(acked.acknowledged_at, Some(ack_at));
    let (twice, changed) = store
        .acknowledge_alert(first.id, Some(user), ack_at + Duration::minutes(1))
        .await
        .unwrap();
    assert!(!changed);
    assert_eq!(twice.acknowledged_at, Some(ack_at));
    let (still, created_again) = store
        .open_alert(new_alert(rule_id, host_id, ack_at))
        .await
        .unwrap();
    assert!(!created_again, "acknowledged alerts are active");
    assert_eq!(still.id, first.id);
    assert_eq!(
        store.open_alerts_for_rule(rule_id).await.unwrap()[0].id,
        first.id
    );

    // Engine updates.
    assert!(
        store
            .update_alert_reading(first.id, Some("latest line"), Some(3.0))
            .await
            .unwrap()
    );
    store.set_alert_flapping(first.id, true).await.unwrap();
    let note = store
        .append_alert_event(NewAlertEvent {
            alert_id: first.id,
            kind: AlertEventKind::Notified,
            at: ack_at + Duration::minutes(1),
            actor_id: None,
            detail: Some(json!({"channel_id": 1, "status": "sent"})),
        })
        .await
        .unwrap();
    assert_eq!(note.kind, AlertEventKind::Notified);
    assert!(matches!(
        store
            .append_alert_event(NewAlertEvent {
                alert_id: first.id + 1000,
                kind: AlertEventKind::Comment,
                at: t0(),
                actor_id: None,
                detail: None,
            })
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Manual resolve with a comment.
    let resolved_at = t0() + Duration::minutes(10);
    let (resolved, changed) = store
        .resolve_alert(
            first.id,
            AlertResolution {
                at: resolved_at,
                by: Some(user),
                comment: Some("disk cleaned".to_owned()),
            },
        )
        .await
        .unwrap();
    assert!(changed);
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.resolved_at, Some(resolved_at));
    assert_eq!(resolved.resolved_by, Some(user));
    assert_eq!(resolved.resolution_comment.as_deref(), Some("disk cleaned"));
    assert_eq!(resolved.message.as_deref(), Some("latest line"));
    assert_eq!(resolved.metric_value, Some(3.0));
    assert!(resolved.flapping);
    let (again, changed) = store
        .resolve_alert(
            first.id,
            AlertResolution {
                at: resolved_at + Duration::minutes(1),
                by: None,
                comment: None,
            },
        )
        .await
        .unwrap();
    assert!(!changed);
    assert_eq!(again.resolved_at, Some(resolved_at));
    let (after_resolve, changed) = store
        .acknowledge_alert(first.id, Some(user), resolved_at)
        .await
        .unwrap();
    assert!(!changed, "a resolved alert is not acknowledged");
    assert_eq!(after_resolve.status, AlertStatus::Resolved);
    assert!(
        !store
            .update_alert_reading(first.id, None, None)
            .await
            .unwrap()
    );
    let kinds: Vec<AlertEventKind> = store
        .alert_events(first.id)
        .await
        .unwrap()
        .iter()
        .map(|event| event.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            AlertEventKind::Fired,
            AlertEventKind::Acknowledged,
            AlertEventKind::Notified,
            AlertEventKind::Resolved
        ]
    );
    let resolved_event = store.alert_events(first.id).await.unwrap().pop().unwrap();
    assert_eq!(resolved_event.actor_id, Some(user));
    assert_eq!(
        resolved_event.detail.unwrap()["comment"],
        json!("disk cleaned")
    );
    assert!(
        store
            .open_alerts_for_rule(rule_id)
            .await
            .unwrap()
            .is_empty()
    );

    // The pair may fire again; automatic resolution has no author.
    let (second, created) = store
        .open_alert(new_alert(rule_id, host_id, t0() + Duration::minutes(20)))
        .await
        .unwrap();
    assert!(created);
    assert_ne!(second.id, first.id);
    store
        .set_alert_parent(second.id, Some(first.id))
        .await
        .unwrap();
    let (third, _) = store
        .open_alert(NewAlert {
            target_key: "service:9".to_owned(),
            severity: Severity::Warning,
            ..new_alert(rule_id, host_id, t0() + Duration::minutes(30))
        })
        .await
        .unwrap();
    let open_ids: Vec<i64> = store
        .open_alerts()
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert!(open_ids.contains(&second.id) && open_ids.contains(&third.id));
    let (auto, _) = store
        .resolve_alert(
            third.id,
            AlertResolution {
                at: t0() + Duration::minutes(31),
                by: None,
                comment: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(auto.resolved_by, None);
    assert_eq!(
        store
            .alert(second.id)
            .await
            .unwrap()
            .unwrap()
            .parent_alert_id,
        Some(first.id)
    );

    // Filters and paging, newest fired first.
    let page = |status, severity, page: u32, page_size: u32| AlertFilter {
        status,
        severity,
        host_id: Some(host_id),
        rule_id: None,
        page: Page { page, page_size },
    };
    let (all, total) = store.list_alerts(&page(None, None, 1, 20)).await.unwrap();
    assert_eq!(total, 3);
    let order: Vec<i64> = all.iter().map(|a| a.id).collect();
    assert_eq!(order, [third.id, second.id, first.id]);
    let (paged, total) = store.list_alerts(&page(None, None, 2, 2)).await.unwrap();
    assert_eq!((paged.len(), total), (1, 3));
    assert_eq!(paged[0].id, first.id);
    let (firing, total) = store
        .list_alerts(&page(Some(AlertStatus::Firing), None, 1, 20))
        .await
        .unwrap();
    assert_eq!((firing[0].id, total), (second.id, 1));
    let (warnings, total) = store
        .list_alerts(&page(None, Some(Severity::Warning), 1, 20))
        .await
        .unwrap();
    assert_eq!((warnings[0].id, total), (third.id, 1));
    let (by_rule, total) = store
        .list_alerts(&AlertFilter {
            rule_id: Some(rule_id),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!((by_rule.len(), total), (3, 3));
    assert!(matches!(
        store
            .acknowledge_alert(third.id + 1000, Some(user), t0())
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.alert(third.id + 1000).await.unwrap().is_none());

    // Deleting a user rule keeps its alerts, without a rule.
    store.delete_rule(rule_id).await.unwrap();
    assert_eq!(store.alert(first.id).await.unwrap().unwrap().rule_id, None);
}

async fn notifications(store: &dyn Store) {
    let config = json!({"url": "https://hooks.example.com/x", "headers": {"X-Token": "s3cret"}});
    let channel = store
        .create_channel(
            &NewChannel {
                name: "ops hook".to_owned(),
                kind: "webhook".to_owned(),
                config: config.clone(),
                is_enabled: true,
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(channel.config, config, "stored as given, secrets included");
    assert_eq!(channel.kind, "webhook");
    let other = store
        .create_channel(
            &NewChannel {
                name: "robot".to_owned(),
                kind: "dingtalk".to_owned(),
                config: json!({"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=t"}),
                is_enabled: false,
            },
            t0(),
        )
        .await
        .unwrap();
    let updated = store
        .update_channel(
            channel.id,
            &NewChannel {
                name: "ops hook 2".to_owned(),
                kind: "webhook".to_owned(),
                config: json!({"url": "https://hooks.example.com/y"}),
                is_enabled: false,
            },
            t0() + Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "ops hook 2");
    assert!(!updated.is_enabled);
    assert_eq!(updated.updated_at, t0() + Duration::minutes(1));
    assert_eq!(store.channel(channel.id).await.unwrap().unwrap(), updated);
    assert_eq!(store.list_channels().await.unwrap().len(), 2);
    let picked = store
        .channels_by_ids(&[other.id, other.id + 1000])
        .await
        .unwrap();
    assert_eq!(picked.len(), 1);
    assert_eq!(picked[0].id, other.id);

    // Notification log, newest first, per alert or all.
    for (minute, status) in [(1, "failed"), (2, "sent")] {
        store
            .insert_notification_log(&NewNotificationLog {
                alert_id: None,
                channel_id: Some(channel.id),
                event: Some("test".to_owned()),
                status: status.to_owned(),
                response_code: Some(200),
                error: None,
                retries: 1,
                sent_at: t0() + Duration::minutes(minute),
            })
            .await
            .unwrap();
    }
    let logs = store.list_notification_logs(None, 50).await.unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].status, "sent");
    assert_eq!(logs[0].event.as_deref(), Some("test"));
    assert_eq!(logs[0].retries, 1);
    assert_eq!(
        store.list_notification_logs(None, 1).await.unwrap().len(),
        1
    );
    assert!(
        store
            .list_notification_logs(Some(999_999), 50)
            .await
            .unwrap()
            .is_empty()
    );

    // A delivery is recorded in one go; an event of an alert that is gone is skipped.
    let delivered = |minute: i64| NewNotificationLog {
        alert_id: None,
        channel_id: Some(channel.id),
        event: Some("digest".to_owned()),
        status: "sent".to_owned(),
        response_code: Some(200),
        error: None,
        retries: 0,
        sent_at: t0() + Duration::minutes(minute),
    };
    let gone = NewAlertEvent {
        alert_id: 999_999,
        kind: AlertEventKind::Notified,
        at: t0(),
        actor_id: None,
        detail: None,
    };
    store
        .record_delivery(&[delivered(3), delivered(4)], &[gone])
        .await
        .unwrap();
    let logs = store.list_notification_logs(None, 50).await.unwrap();
    assert_eq!(logs.len(), 4);
    assert_eq!(logs[0].event.as_deref(), Some("digest"));

    store.delete_channel(channel.id).await.unwrap();
    assert!(store.channel(channel.id).await.unwrap().is_none());
    assert!(
        store
            .list_notification_logs(None, 50)
            .await
            .unwrap()
            .is_empty(),
        "a channel's log rows go with it"
    );
    assert!(matches!(
        store.delete_channel(channel.id).await,
        Err(StoreError::NotFound(_))
    ));

    // Templates: one default per channel type; the type's own default wins over `all`.
    let template = |name: &str, channel_type: &str, is_default| NewTemplate {
        name: name.to_owned(),
        channel_type: channel_type.to_owned(),
        subject_template: None,
        body_template: format!("{name}: {{title}}"),
        is_default,
    };
    let all = store
        .create_template(&template("all", "all", true), t0())
        .await
        .unwrap();
    assert_eq!(
        store.default_template("wecom").await.unwrap().unwrap().id,
        all.id
    );
    let first = store
        .create_template(&template("first", "wecom", true), t0())
        .await
        .unwrap();
    let second = store
        .create_template(
            &template("second", "wecom", true),
            t0() + Duration::minutes(1),
        )
        .await
        .unwrap();
    assert!(
        !store.template(first.id).await.unwrap().unwrap().is_default,
        "the new default replaces the old one"
    );
    assert_eq!(
        store.default_template("wecom").await.unwrap().unwrap().id,
        second.id
    );
    assert!(store.template(all.id).await.unwrap().unwrap().is_default);
    let renamed = store
        .update_template(
            first.id,
            &NewTemplate {
                subject_template: Some("[{severity}]".to_owned()),
                ..template("first again", "wecom", true)
            },
            t0() + Duration::minutes(2),
        )
        .await
        .unwrap();
    assert_eq!(renamed.subject_template.as_deref(), Some("[{severity}]"));
    assert!(!store.template(second.id).await.unwrap().unwrap().is_default);
    assert_eq!(
        store.default_template("wecom").await.unwrap().unwrap().id,
        first.id
    );
    assert_eq!(store.list_templates().await.unwrap().len(), 3);
    store.delete_template(second.id).await.unwrap();
    assert!(matches!(
        store.delete_template(second.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .update_template(second.id, &template("x", "all", false), t0())
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn silences(store: &dyn Store, user: i64) {
    let at = |hours: i64| t0() + Duration::hours(hours);
    let tags = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
    let once = store
        .create_silence(
            &NewSilence {
                name: "upgrade".to_owned(),
                comment: Some("kernel upgrade".to_owned()),
                matchers: SilenceMatchers {
                    host_ids: vec![7],
                    ..SilenceMatchers::default()
                },
                schedule: SilenceSchedule::Once {
                    starts_at: at(1),
                    ends_at: at(3),
                },
                is_enabled: true,
                created_by: Some(user),
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(once.created_by, Some(user));
    assert_eq!(once.matchers.host_ids, [7]);
    // 2026-11-27 is a Friday: a daily window 02:00–03:00 for the prod group.
    let nightly = store
        .create_silence(
            &NewSilence {
                name: "nightly backup".to_owned(),
                comment: None,
                matchers: SilenceMatchers {
                    group_names: vec!["db".to_owned()],
                    tags: tags.clone(),
                    ..SilenceMatchers::default()
                },
                schedule: SilenceSchedule::Recurring {
                    cron: "0 2 * * *".to_owned(),
                    duration_seconds: 3600,
                    starts_at: None,
                    ends_at: None,
                },
                is_enabled: true,
                created_by: None,
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(store.silence(nightly.id).await.unwrap().unwrap(), nightly);

    let active_ids =
        |silences: Vec<crate::model::Silence>| silences.iter().map(|s| s.id).collect::<Vec<_>>();
    assert!(store.active_silences(at(0)).await.unwrap().is_empty());
    assert_eq!(
        active_ids(store.active_silences(at(1)).await.unwrap()),
        [once.id]
    );
    assert_eq!(
        active_ids(store.active_silences(at(2)).await.unwrap()),
        [once.id, nightly.id]
    );
    assert_eq!(
        active_ids(store.active_silences(at(3)).await.unwrap()),
        Vec::<i64>::new(),
        "both end exclusively"
    );
    assert_eq!(
        active_ids(store.active_silences(at(26)).await.unwrap()),
        [nightly.id],
        "the next night"
    );

    let empty = BTreeMap::new();
    let db_prod = SilenceTarget {
        host_id: Some(1),
        group_name: Some("db"),
        tags: &tags,
        service_id: None,
        rule_id: Some(3),
    };
    assert!(nightly.matchers.matches(&db_prod));
    assert!(!nightly.matchers.matches(&SilenceTarget {
        tags: &empty,
        ..db_prod
    }));
    assert!(!once.matchers.matches(&db_prod));

    // Disabled silences are never in force; updates keep the author.
    let disabled = store
        .update_silence(
            nightly.id,
            &NewSilence {
                name: "nightly backup".to_owned(),
                comment: Some("paused".to_owned()),
                matchers: nightly.matchers.clone(),
                schedule: nightly.schedule.clone(),
                is_enabled: false,
                created_by: Some(user),
            },
            t0() + Duration::minutes(5),
        )
        .await
        .unwrap();
    assert!(!disabled.is_enabled);
    assert_eq!(disabled.created_by, None, "the author is kept");
    assert!(store.active_silences(at(26)).await.unwrap().is_empty());
    assert_eq!(store.list_silences().await.unwrap().len(), 2);
    store.delete_silence(once.id).await.unwrap();
    assert!(store.silence(once.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_silence(once.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .update_silence(once.id, &disabled_copy(&disabled), t0())
            .await,
        Err(StoreError::NotFound(_))
    ));
}

fn disabled_copy(silence: &crate::model::Silence) -> NewSilence {
    NewSilence {
        name: silence.name.clone(),
        comment: silence.comment.clone(),
        matchers: silence.matchers.clone(),
        schedule: silence.schedule.clone(),
        is_enabled: silence.is_enabled,
        created_by: silence.created_by,
    }
}
