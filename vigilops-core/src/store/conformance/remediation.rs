//! Auto-remediation's part of the story: runs (one unfinished run per alert, even under
//! concurrent creation; compare-and-set updates; filters, paging and statistics; expiring
//! approvals), the run history the safety layer reads, agent presence and opt-out per host,
//! settings, and runs outliving their host and alert. Its data lies after the rest of the
//! story's, so its time windows see only it.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::super::{Store, StoreError};
use crate::alerting::rule::Severity;
use crate::alerting::wire::AlertRuleCreate;
use crate::model::{
    HostRegistration, NewAlert, NewRemediation, NewUser, Page, Remediation, RemediationFilter,
    RemediationStats, RemediationStatus, RemediationUpdate, Role, RunHistory,
};

use RemediationStatus as S;

/// Long after every other part of the story.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn minutes(count: i64) -> Duration {
    Duration::minutes(count)
}

/// Runs every remediation behaviour on a store that may already hold other data (but no
/// remediation runs or settings).
pub(super) async fn run(store: &dyn Store) {
    let seed = seed(store, "rem").await;
    list_and_stats(store, &seed).await;
    expire_approvals(store, &seed).await;
    create_conflicts(store, &seed).await;
    updates(store, &seed).await;
    run_history(store, &seed).await;
    agent_and_opt_out(store, &seed).await;
    settings(store).await;
    host_deletion_keeps_runs(store, &seed).await;
}

/// What the runs refer to: a user, two hosts and alerts on the first.
struct Seed {
    user: i64,
    host: i64,
    other_host: i64,
    rule: i64,
}

async fn seed(store: &dyn Store, prefix: &str) -> Seed {
    let user = store
        .create_user(
            NewUser {
                email: format!("{prefix}-operator@example.com"),
                name: format!("{prefix} operator"),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
                role: Role::Operator,
            },
            base(),
        )
        .await
        .unwrap()
        .id;
    let token = store
        .create_agent_token(prefix, &format!("hash-{prefix}"), "vop_rem0", None, base())
        .await
        .unwrap()
        .id;
    let host = register(store, token, &format!("{prefix}-a")).await;
    let other_host = register(store, token, &format!("{prefix}-b")).await;
    let rule = store
        .create_rule(
            &AlertRuleCreate {
                name: format!("{prefix} remediation"),
                ..AlertRuleCreate::default()
            },
            base(),
        )
        .await
        .unwrap()
        .id;
    Seed {
        user,
        host,
        other_host,
        rule,
    }
}

async fn register(store: &dyn Store, token: i64, hostname: &str) -> i64 {
    store
        .register_host(
            token,
            HostRegistration {
                hostname: hostname.to_owned(),
                ..HostRegistration::default()
            },
            base(),
        )
        .await
        .unwrap()
        .0
        .id
}

async fn fire(store: &dyn Store, seed: &Seed, target: &str) -> i64 {
    let (alert, opened) = store
        .open_alert(NewAlert {
            rule_id: seed.rule,
            target_key: target.to_owned(),
            host_id: Some(seed.host),
            service_id: None,
            database_id: None,
            severity: Severity::Critical,
            title: format!("{target} fired"),
            message: None,
            metric_value: Some(97.0),
            threshold: Some(95.0),
            group_key: None,
            fired_at: base(),
        })
        .await
        .unwrap();
    assert!(opened, "{target} is a new pair");
    alert.id
}

fn new_run(
    alert_id: Option<i64>,
    host_id: Option<i64>,
    triggered_by: &str,
    at: DateTime<Utc>,
) -> NewRemediation {
    NewRemediation {
        alert_id,
        host_id,
        status: if triggered_by == "manual" {
            S::Pending
        } else {
            S::Diagnosing
        },
        triggered_by: triggered_by.to_owned(),
        requested_by: None,
        created_at: at,
    }
}

/// Writes `update` whatever the run's status.
async fn set(store: &dyn Store, id: i64, update: RemediationUpdate) -> Remediation {
    store.update_remediation(id, &S::ALL, update).await.unwrap()
}

fn status(status: RemediationStatus) -> RemediationUpdate {
    RemediationUpdate {
        status: Some(status),
        ..RemediationUpdate::default()
    }
}

fn ids(runs: &[Remediation]) -> Vec<i64> {
    runs.iter().map(|run| run.id).collect()
}

async fn list(store: &dyn Store, filter: RemediationFilter) -> (Vec<i64>, i64) {
    let (runs, total) = store.list_remediations(&filter).await.unwrap();
    (ids(&runs), total)
}

async fn list_and_stats(store: &dyn Store, seed: &Seed) {
    let today = base() + Duration::hours(2);
    let week = base() - Duration::days(1);
    assert_eq!(
        store.remediation_stats(today, week).await.unwrap(),
        RemediationStats::default(),
        "no runs: zero counts and no average"
    );
    assert_eq!(list(store, RemediationFilter::default()).await, (vec![], 0));

    let alert = fire(store, seed, "rem:list").await;
    let create = |run| async move { store.create_remediation(run).await.unwrap() };
    let a = Some(seed.host);
    let b = Some(seed.other_host);
    // A success of 120 s and a failure of 60 s.
    let r1 = create(new_run(None, a, "manual", base())).await.id;
    set(
        store,
        r1,
        RemediationUpdate {
            status: Some(S::Success),
            started_at: Some(base() + minutes(1)),
            completed_at: Some(base() + minutes(3)),
            ..RemediationUpdate::default()
        },
    )
    .await;
    let r2 = create(new_run(None, a, "auto", base() + Duration::hours(1)))
        .await
        .id;
    set(
        store,
        r2,
        RemediationUpdate {
            status: Some(S::Failed),
            started_at: Some(base() + Duration::hours(1)),
            completed_at: Some(base() + Duration::hours(1) + Duration::seconds(60)),
            ..RemediationUpdate::default()
        },
    )
    .await;
    // Created exactly at the `today` cut-off.
    let r3 = create(new_run(None, b, "auto", today)).await.id;
    set(store, r3, status(S::PendingApproval)).await;
    let r4 = create(new_run(
        Some(alert),
        b,
        "manual",
        base() + Duration::hours(3),
    ))
    .await
    .id;
    // Created at the same time as r4: the id orders them. Completed without a start, so it
    // has no duration.
    let r5 = create(new_run(None, a, "auto", base() + Duration::hours(3)))
        .await
        .id;
    set(
        store,
        r5,
        RemediationUpdate {
            status: Some(S::Escalated),
            completed_at: Some(base() + Duration::hours(3)),
            ..RemediationUpdate::default()
        },
    )
    .await;
    // Older than the week; started but not completed, so it has no duration either.
    let r6 = create(new_run(None, None, "manual", base() - Duration::days(7)))
        .await
        .id;
    set(
        store,
        r6,
        RemediationUpdate {
            status: Some(S::Diagnosing),
            started_at: Some(base() - Duration::days(7)),
            ..RemediationUpdate::default()
        },
    )
    .await;

    assert_eq!(
        store.remediation_stats(today, week).await.unwrap(),
        RemediationStats {
            total: 6,
            success: 1,
            failed: 1,
            pending: 3,
            avg_duration_seconds: Some(90.0),
            today_count: 3,
            week_count: 5,
        },
        "pending: pending_approval, pending and diagnosing; cut-offs inclusive"
    );
    for (run_status, pending) in [
        (S::Executing, 3),
        (S::Verifying, 3),
        (S::Approved, 2),
        (S::Rejected, 2),
        (S::Diagnosing, 3),
    ] {
        set(store, r6, status(run_status)).await;
        let stats = store.remediation_stats(today, week).await.unwrap();
        assert_eq!(stats.pending, pending, "with r6 {run_status:?}");
    }

    let all = RemediationFilter::default();
    assert_eq!(
        list(store, all.clone()).await,
        (vec![r5, r4, r3, r2, r1, r6], 6),
        "newest first, then by id"
    );
    let filters = [
        (
            RemediationFilter {
                status: Some(S::Pending),
                ..all.clone()
            },
            vec![r4],
        ),
        (
            RemediationFilter {
                host_id: b,
                ..all.clone()
            },
            vec![r4, r3],
        ),
        (
            RemediationFilter {
                alert_id: Some(alert),
                ..all.clone()
            },
            vec![r4],
        ),
        (
            RemediationFilter {
                triggered_by: Some("auto".to_owned()),
                ..all.clone()
            },
            vec![r5, r3, r2],
        ),
        (
            RemediationFilter {
                host_id: a,
                triggered_by: Some("auto".to_owned()),
                ..all.clone()
            },
            vec![r5, r2],
        ),
        (
            RemediationFilter {
                status: Some(S::Success),
                host_id: b,
                ..all.clone()
            },
            vec![],
        ),
    ];
    for (filter, expected) in filters {
        let total = i64::try_from(expected.len()).unwrap();
        assert_eq!(
            list(store, filter.clone()).await,
            (expected, total),
            "{filter:?}"
        );
    }
    let page = |page, page_size| RemediationFilter {
        page: Page { page, page_size },
        ..RemediationFilter::default()
    };
    assert_eq!(list(store, page(2, 2)).await, (vec![r3, r2], 6));
    assert_eq!(list(store, page(4, 2)).await, (vec![], 6));

    // Leave nothing unfinished but r3 (pending_approval, for the expiry) and r4 (pending, on
    // `alert`).
    set(store, r6, status(S::Failed)).await;
}

async fn expire_approvals(store: &dyn Store, seed: &Seed) {
    let (waiting, _) = store
        .list_remediations(&RemediationFilter {
            status: Some(S::PendingApproval),
            ..RemediationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    let old = waiting[0].clone();
    let newer = store
        .create_remediation(new_run(
            None,
            Some(seed.host),
            "auto",
            old.created_at + minutes(30),
        ))
        .await
        .unwrap()
        .id;
    set(store, newer, status(S::PendingApproval)).await;
    let reason = "Approval timed out after 1 hour";
    let now = old.created_at + Duration::hours(1);

    let none = store
        .expire_approvals(old.created_at, reason, now)
        .await
        .unwrap();
    assert!(none.is_empty(), "created at the cut-off is not before it");
    let expired = store
        .expire_approvals(old.created_at + Duration::seconds(1), reason, now)
        .await
        .unwrap();
    assert_eq!(ids(&expired), [old.id]);
    let run = &expired[0];
    assert_eq!(run.status, S::Escalated);
    assert_eq!(run.blocked_reason.as_deref(), Some(reason));
    assert_eq!(run.completed_at, Some(now));
    assert_eq!(
        (run.created_at, run.host_id, &run.triggered_by),
        (old.created_at, old.host_id, &old.triggered_by)
    );
    assert_eq!(store.remediation(old.id).await.unwrap().as_ref(), Some(run));
    assert!(
        store
            .expire_approvals(old.created_at + Duration::seconds(1), reason, now)
            .await
            .unwrap()
            .is_empty(),
        "only pending_approval runs expire"
    );
    // Other statuses never expire, however old.
    let expired = store
        .expire_approvals(now + Duration::days(365), reason, now)
        .await
        .unwrap();
    assert_eq!(ids(&expired), [newer]);
    let (pending, _) = store
        .list_remediations(&RemediationFilter {
            status: Some(S::Pending),
            ..RemediationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "the pending run stays pending");
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

async fn create_conflicts(store: &dyn Store, seed: &Seed) {
    let alert = fire(store, seed, "rem:conflict").await;
    let at = base() + Duration::days(1);
    let first = store
        .create_remediation(NewRemediation {
            requested_by: Some(seed.user),
            ..new_run(Some(alert), Some(seed.host), "manual", at)
        })
        .await
        .unwrap();
    let expected = Remediation {
        id: first.id,
        alert_id: Some(alert),
        host_id: Some(seed.host),
        status: S::Pending,
        risk_level: None,
        runbook_name: None,
        diagnosis: None,
        command_results: None,
        verification_passed: None,
        blocked_reason: None,
        triggered_by: "manual".to_owned(),
        requested_by: Some(seed.user),
        decision: None,
        executed: true,
        approved_by: None,
        approved_at: None,
        review_comment: None,
        started_at: None,
        completed_at: None,
        created_at: at,
    };
    assert_eq!(first, expected);
    assert_eq!(store.remediation(first.id).await.unwrap(), Some(expected));
    assert!(store.remediation(999_999).await.unwrap().is_none());

    // Every unfinished status holds the alert; every terminal one frees it.
    let mut current = first.id;
    for run_status in S::ALL {
        set(store, current, status(run_status)).await;
        let again = store
            .create_remediation(new_run(Some(alert), Some(seed.host), "auto", at))
            .await;
        if run_status.is_terminal() {
            current = again.unwrap().id;
        } else {
            match again {
                Err(StoreError::Conflict(message)) => {
                    assert!(message.contains("already in progress"), "{message}");
                }
                other => panic!("with a {run_status:?} run: {other:?}"),
            }
        }
    }
    set(store, current, status(S::Failed)).await;

    // A finished run cannot become unfinished while another run of its alert is.
    let newest = store
        .create_remediation(new_run(Some(alert), Some(seed.host), "manual", at))
        .await
        .unwrap();
    let reopened = store
        .update_remediation(current, &[S::Failed], status(S::Pending))
        .await;
    match reopened {
        Err(StoreError::Conflict(message)) => assert!(message.contains("cannot"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store
            .remediation(current)
            .await
            .unwrap()
            .map(|run| run.status),
        Some(S::Failed)
    );
    set(store, newest.id, status(S::Rejected)).await;

    // Concurrent creations for one alert: exactly one wins.
    let raced = fire(store, seed, "rem:race").await;
    let creates = (0..8).map(|_| store.create_remediation(new_run(Some(raced), None, "auto", at)));
    let results = futures::future::join_all(creates).await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter(|result| result.is_err())
            .all(is_conflict)
    );
    for result in results.into_iter().flatten() {
        set(store, result.id, status(S::Escalated)).await;
    }

    // Runs without an alert never conflict, even concurrently.
    let creates = (0..4).map(|_| store.create_remediation(new_run(None, None, "manual", at)));
    let results = futures::future::join_all(creates).await;
    for result in results {
        let run = result.unwrap();
        assert_eq!((run.status, run.alert_id), (S::Pending, None));
        set(store, run.id, status(S::Rejected)).await;
    }
}

async fn updates(store: &dyn Store, seed: &Seed) {
    let at = base() + Duration::days(2);
    let run = store
        .create_remediation(new_run(None, Some(seed.host), "auto", at))
        .await
        .unwrap();
    let diagnosis = json!({
        "root_cause": "/var/log filled by app.log — 日志",
        "confidence": 0.82,
        "suggested_runbook": "log_rotation",
        "reasoning": "it's \"full\"",
        "nested": {"empty": [], "null": null, "big": 9_007_199_254_740_991_i64},
    });
    let decision = json!({
        "risk": "auto",
        "reasons": ["base risk auto"],
        "checks": {"breaker": "closed"},
    });
    let diagnosed = store
        .update_remediation(
            run.id,
            &[S::Diagnosing],
            RemediationUpdate {
                status: Some(S::Executing),
                risk_level: Some("auto".to_owned()),
                runbook_name: Some("log_rotation".to_owned()),
                diagnosis: Some(diagnosis.clone()),
                decision: Some(decision.clone()),
                started_at: Some(at + minutes(1)),
                ..RemediationUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        diagnosed,
        Remediation {
            status: S::Executing,
            risk_level: Some("auto".to_owned()),
            runbook_name: Some("log_rotation".to_owned()),
            diagnosis: Some(diagnosis.clone()),
            decision: Some(decision.clone()),
            started_at: Some(at + minutes(1)),
            ..run.clone()
        },
        "only the given fields change"
    );

    // A status the run is not in: nothing changes, and the conflict names the status.
    let stale = store
        .update_remediation(
            run.id,
            &[S::Diagnosing, S::PendingApproval],
            status(S::Failed),
        )
        .await;
    match stale {
        Err(StoreError::Conflict(message)) => assert!(message.contains("executing"), "{message}"),
        other => panic!("{other:?}"),
    }
    let nothing_expected = store
        .update_remediation(run.id, &[], status(S::Failed))
        .await;
    assert!(is_conflict(&nothing_expected), "{nothing_expected:?}");
    assert_eq!(
        store.remediation(run.id).await.unwrap().as_ref(),
        Some(&diagnosed)
    );
    assert!(matches!(
        store
            .update_remediation(999_999, &S::ALL, status(S::Failed))
            .await,
        Err(StoreError::NotFound(_))
    ));

    let results = json!([
        {"step": 1, "command": "logrotate -f /etc/logrotate.conf", "exit_code": 0,
         "stdout": "[DRY RUN] Would execute: logrotate -f /etc/logrotate.conf", "stderr": "",
         "executed": false, "duration_ms": 3},
    ]);
    let finished = store
        .update_remediation(
            run.id,
            &[S::Executing, S::Verifying],
            RemediationUpdate {
                status: Some(S::Success),
                command_results: Some(results.clone()),
                verification_passed: Some(false),
                executed: Some(false),
                blocked_reason: Some("dry run".to_owned()),
                completed_at: Some(at + minutes(2)),
                ..RemediationUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        finished,
        Remediation {
            status: S::Success,
            command_results: Some(results),
            verification_passed: Some(false),
            executed: false,
            blocked_reason: Some("dry run".to_owned()),
            completed_at: Some(at + minutes(2)),
            ..diagnosed
        }
    );
    assert_eq!(
        store.remediation(run.id).await.unwrap().as_ref(),
        Some(&finished)
    );

    // An approval racing a rejection: exactly one wins.
    let waiting = store
        .create_remediation(new_run(None, Some(seed.host), "auto", at))
        .await
        .unwrap()
        .id;
    set(store, waiting, status(S::PendingApproval)).await;
    let review = |run_status, comment: &str| RemediationUpdate {
        status: Some(run_status),
        approved_by: Some(seed.user),
        approved_at: Some(at + minutes(5)),
        review_comment: Some(comment.to_owned()),
        ..RemediationUpdate::default()
    };
    let (approved, rejected) = futures::join!(
        store.update_remediation(waiting, &[S::PendingApproval], review(S::Approved, "go")),
        store.update_remediation(waiting, &[S::PendingApproval], review(S::Rejected, "no")),
    );
    assert_eq!(
        usize::from(approved.is_ok()) + usize::from(rejected.is_ok()),
        1,
        "{approved:?} {rejected:?}"
    );
    let winner = approved.or(rejected).unwrap();
    assert_eq!(
        store.remediation(waiting).await.unwrap(),
        Some(winner.clone())
    );
    assert_eq!(winner.approved_by, Some(seed.user));
    assert_eq!(winner.approved_at, Some(at + minutes(5)));
    assert!(matches!(
        winner.review_comment.as_deref(),
        Some("go" | "no")
    ));
    set(store, waiting, status(S::Rejected)).await;
}

/// A run on `host` that started at `started` (risk `risk`, runbook `runbook`) and ended as
/// `end` at `completed`.
async fn past_run(
    store: &dyn Store,
    host: Option<i64>,
    runbook: &str,
    risk: &str,
    started: Option<DateTime<Utc>>,
    end: RemediationStatus,
    completed: Option<DateTime<Utc>>,
) -> i64 {
    let created = started.unwrap_or(base() + Duration::days(30));
    let id = store
        .create_remediation(new_run(None, host, "auto", created))
        .await
        .unwrap()
        .id;
    set(
        store,
        id,
        RemediationUpdate {
            status: Some(end),
            risk_level: Some(risk.to_owned()),
            runbook_name: Some(runbook.to_owned()),
            started_at: started,
            completed_at: completed,
            ..RemediationUpdate::default()
        },
    )
    .await;
    id
}

async fn run_history(store: &dyn Store, seed: &Seed) {
    let now = base() + Duration::days(30);
    let window = minutes(30);
    let c = Some(seed.host);
    let d = Some(seed.other_host);
    let ago = |count| Some(now - minutes(count));
    let history = |host, runbook: &'static str, window| async move {
        store.run_history(host, runbook, now, window).await.unwrap()
    };

    // An old success of disk_cleanup, outside the hour.
    past_run(
        store,
        c,
        "disk_cleanup",
        "auto",
        ago(120),
        S::Success,
        ago(119),
    )
    .await;
    // Failures after it: within the window (two), and before it (one).
    past_run(
        store,
        c,
        "disk_cleanup",
        "auto",
        ago(30),
        S::Failed,
        ago(29),
    )
    .await;
    past_run(
        store,
        c,
        "service_restart",
        "confirm",
        ago(10),
        S::Failed,
        ago(9),
    )
    .await;
    past_run(
        store,
        c,
        "disk_cleanup",
        "auto",
        ago(41),
        S::Failed,
        ago(40),
    )
    .await;
    // Started exactly an hour ago: counts; escalated, so neither a failure nor a success.
    past_run(
        store,
        c,
        "log_rotation",
        "confirm",
        ago(60),
        S::Escalated,
        ago(59),
    )
    .await;
    // Escalated before it started: counts nowhere.
    past_run(store, c, "disk_cleanup", "auto", None, S::Escalated, ago(1)).await;
    // Another host's failure and automatic run.
    past_run(store, d, "disk_cleanup", "auto", ago(5), S::Failed, ago(4)).await;
    // A run without a host (its host was deleted): counts only cluster-wide.
    past_run(
        store,
        None,
        "disk_cleanup",
        "auto",
        ago(3),
        S::Success,
        ago(2),
    )
    .await;

    assert_eq!(
        history(seed.host, "disk_cleanup", window).await,
        RunHistory {
            last_run_of_runbook: ago(30),
            runs_last_hour: 4,
            recent_failures: 2,
            auto_runs_last_hour: 4,
        }
    );
    assert_eq!(
        history(seed.host, "service_restart", window)
            .await
            .last_run_of_runbook,
        ago(10)
    );
    assert_eq!(
        history(seed.host, "zombie_killer", window)
            .await
            .last_run_of_runbook,
        None
    );
    assert_eq!(
        history(seed.host, "disk_cleanup", minutes(60))
            .await
            .recent_failures,
        3,
        "a longer window keeps older failures"
    );
    assert_eq!(
        history(seed.other_host, "disk_cleanup", window).await,
        RunHistory {
            last_run_of_runbook: ago(5),
            runs_last_hour: 1,
            recent_failures: 1,
            auto_runs_last_hour: 4,
        }
    );
    assert_eq!(
        history(999_999, "disk_cleanup", window).await,
        RunHistory {
            auto_runs_last_hour: 4,
            ..RunHistory::default()
        },
        "an unknown host has no history, the cluster-wide count stays"
    );
    // An hour later nothing is within the hour; the cooldown still sees the last run.
    let later = store
        .run_history(seed.host, "disk_cleanup", now + Duration::hours(2), window)
        .await
        .unwrap();
    assert_eq!(
        later,
        RunHistory {
            last_run_of_runbook: ago(30),
            ..RunHistory::default()
        }
    );

    // A success clears the failures before it; a failure after it counts again.
    past_run(
        store,
        c,
        "memory_pressure",
        "confirm",
        ago(6),
        S::Success,
        ago(5),
    )
    .await;
    let cleared = history(seed.host, "disk_cleanup", window).await;
    assert_eq!((cleared.recent_failures, cleared.runs_last_hour), (0, 5));
    past_run(store, c, "disk_cleanup", "auto", ago(3), S::Failed, ago(2)).await;
    assert_eq!(
        history(seed.host, "disk_cleanup", window).await,
        RunHistory {
            last_run_of_runbook: ago(3),
            runs_last_hour: 6,
            recent_failures: 1,
            auto_runs_last_hour: 5,
        }
    );
    // A failure that completed at the same moment as a success is cleared by it.
    past_run(
        store,
        d,
        "disk_cleanup",
        "confirm",
        ago(5),
        S::Success,
        ago(4),
    )
    .await;
    assert_eq!(
        history(seed.other_host, "disk_cleanup", window)
            .await
            .recent_failures,
        0
    );
    // A success after `now` has not happened yet as of `now`.
    past_run(
        store,
        c,
        "disk_cleanup",
        "confirm",
        Some(now),
        S::Success,
        Some(now + minutes(1)),
    )
    .await;
    assert_eq!(
        history(seed.host, "disk_cleanup", window)
            .await
            .recent_failures,
        1
    );
}

async fn agent_and_opt_out(store: &dyn Store, seed: &Seed) {
    let at = base() + Duration::days(40);
    assert_eq!(
        store.remediation_agent_seen_at(seed.host).await.unwrap(),
        None
    );
    store.touch_remediation_agent(seed.host, at).await.unwrap();
    assert_eq!(
        store.remediation_agent_seen_at(seed.host).await.unwrap(),
        Some(at)
    );
    store
        .touch_remediation_agent(seed.host, at - minutes(1))
        .await
        .unwrap();
    assert_eq!(
        store.remediation_agent_seen_at(seed.host).await.unwrap(),
        Some(at),
        "an older sighting recorded late does not move it back"
    );
    store
        .touch_remediation_agent(seed.host, at + minutes(1))
        .await
        .unwrap();
    assert_eq!(
        store.remediation_agent_seen_at(seed.host).await.unwrap(),
        Some(at + minutes(1))
    );
    assert_eq!(
        store
            .remediation_agent_seen_at(seed.other_host)
            .await
            .unwrap(),
        None
    );
    store.touch_remediation_agent(999_999, at).await.unwrap();
    assert_eq!(
        store.remediation_agent_seen_at(999_999).await.unwrap(),
        None
    );

    assert!(!store.remediation_opt_out(seed.host).await.unwrap());
    store
        .set_remediation_opt_out(seed.host, true)
        .await
        .unwrap();
    assert!(store.remediation_opt_out(seed.host).await.unwrap());
    assert!(!store.remediation_opt_out(seed.other_host).await.unwrap());
    store
        .set_remediation_opt_out(seed.host, true)
        .await
        .unwrap();
    assert!(store.remediation_opt_out(seed.host).await.unwrap());
    store
        .set_remediation_opt_out(seed.host, false)
        .await
        .unwrap();
    assert!(!store.remediation_opt_out(seed.host).await.unwrap());
    assert!(matches!(
        store.set_remediation_opt_out(999_999, true).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(!store.remediation_opt_out(999_999).await.unwrap());
}

async fn settings(store: &dyn Store) {
    let at = base();
    assert_eq!(store.setting("heartbeat_timeout").await.unwrap(), None);
    let value = json!({"seconds": 300, "note": "it's 5 min — 五分钟", "list": [1, null, true]});
    store
        .put_setting("heartbeat_timeout", &value, at)
        .await
        .unwrap();
    assert_eq!(
        store.setting("heartbeat_timeout").await.unwrap(),
        Some(value)
    );
    store
        .put_setting("heartbeat_timeout", &json!("120"), at + minutes(1))
        .await
        .unwrap();
    assert_eq!(
        store.setting("heartbeat_timeout").await.unwrap(),
        Some(json!("120")),
        "replaced"
    );
    store
        .put_setting("it's a key", &json!(null), at)
        .await
        .unwrap();
    assert_eq!(
        store.setting("it's a key").await.unwrap(),
        Some(json!(null))
    );
    assert_eq!(
        store.setting("heartbeat_timeout").await.unwrap(),
        Some(json!("120"))
    );
    assert_eq!(store.setting("HEARTBEAT_TIMEOUT").await.unwrap(), None);
}

/// Runs outlive the host and alert they were about.
async fn host_deletion_keeps_runs(store: &dyn Store, seed: &Seed) {
    let alert = fire(store, seed, "rem:deleted").await;
    let run = store
        .create_remediation(new_run(
            Some(alert),
            Some(seed.host),
            "manual",
            base() + Duration::days(50),
        ))
        .await
        .unwrap();
    let (before, _) = store
        .list_remediations(&RemediationFilter {
            host_id: Some(seed.host),
            page: Page {
                page: 1,
                page_size: 1000,
            },
            ..RemediationFilter::default()
        })
        .await
        .unwrap();
    assert!(before.len() > 5);
    store.delete_host(seed.host).await.unwrap();
    assert!(
        store.alert(alert).await.unwrap().is_none(),
        "alerts go with their host"
    );
    let kept = store.remediation(run.id).await.unwrap().unwrap();
    assert_eq!(
        kept,
        Remediation {
            alert_id: None,
            host_id: None,
            ..run
        }
    );
    for old in &before {
        let kept = store.remediation(old.id).await.unwrap().unwrap();
        assert_eq!(kept.host_id, None);
        assert_eq!(kept.created_at, old.created_at);
    }
    // The run is unfinished but no longer holds an alert.
    assert_eq!(kept.status, S::Pending);
    let history = store
        .run_history(
            seed.host,
            "disk_cleanup",
            base() + Duration::days(30),
            minutes(30),
        )
        .await
        .unwrap();
    assert_eq!(
        history.runs_last_hour, 0,
        "a deleted host's runs are nobody's"
    );
}

/// Two tasks on their own create a run for one alert at once, several times over: each time
/// exactly one succeeds and the other is a `Conflict`. Needs a store shared across tasks, so it
/// is separate from [`super::run_all`]; run it on a fresh store.
pub async fn spawned_creations_race(store: Arc<dyn Store>) {
    let seed = seed(store.as_ref(), "race").await;
    let host = seed.host;
    for round in 0..10 {
        let alert = fire(store.as_ref(), &seed, &format!("race:{round}")).await;
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .create_remediation(new_run(Some(alert), Some(host), "auto", base()))
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
            "round {round}: {results:?}"
        );
        assert!(
            results
                .iter()
                .filter(|result| result.is_err())
                .all(is_conflict)
        );
    }
    let (runs, total) = store
        .list_remediations(&RemediationFilter::default())
        .await
        .unwrap();
    assert_eq!(total, 10);
    assert!(runs.iter().all(|run| run.status == S::Diagnosing));
}

/// Deleting an alert (here by `delete_alert`, a statement of the caller's backend, since no
/// store method deletes a single alert) keeps its runs, with `alert_id` cleared. Run it on a
/// fresh store.
pub async fn alert_deletion_keeps_runs<F, Fut>(store: &dyn Store, delete_alert: F)
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let seed = seed(store, "alert-deletion").await;
    let alert = fire(store, &seed, "deleted:1").await;
    let run = store
        .create_remediation(new_run(Some(alert), Some(seed.host), "manual", base()))
        .await
        .unwrap();
    delete_alert(alert).await;
    assert!(store.alert(alert).await.unwrap().is_none());
    let kept = store.remediation(run.id).await.unwrap().unwrap();
    assert_eq!(
        kept,
        Remediation {
            alert_id: None,
            ..run
        }
    );
    let (by_alert, total) = store
        .list_remediations(&RemediationFilter {
            alert_id: Some(alert),
            ..RemediationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!((by_alert.len(), total), (0, 0));
}
