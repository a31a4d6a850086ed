//! The AI engine's part of the story: insights (filters, paging, feedback), the LLM call record,
//! the ops memory (ranking, exclusion, whole-word and CJK bigram matching, hostile terms,
//! verdicts) and the evidence windows (logs, service checks, alerts, services, the system
//! summary). Its data lies years after the rest of the story's, so time windows see only it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::super::{Store, StoreError};
use crate::alerting::rule::Severity;
use crate::alerting::wire::AlertRuleCreate;
use crate::model::{
    AlertResolution, AnalysisMethod, HostFilter, HostRegistration, HostStatus, InsightFeedback,
    InsightFilter, LogWindow, MetricSample, MetricValues, NewAlert, NewInsight, NewLlmCall,
    NewLogEntry, NewMemory, NewServiceCheck, Page, ServiceCheckPoint, ServiceOverview,
    ServiceRegistration, Verdict,
};

/// No memory at all.
const NOTHING: [i64; 0] = [];

/// Long after every other part of the story.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Runs every AI behaviour on a store that may already hold other data (but no insights, LLM
/// calls or memories).
pub(super) async fn run(store: &dyn Store) {
    let token = store
        .create_agent_token("ai", "hash-ai", "vop_ai00", None, base())
        .await
        .unwrap()
        .id;
    let host = register(store, token, "ai-host", base()).await;
    let rule = store
        .create_rule(
            &AlertRuleCreate {
                name: "ai evidence".to_owned(),
                ..AlertRuleCreate::default()
            },
            base(),
        )
        .await
        .unwrap()
        .id;
    let first_alert = fire(store, rule, "ai:1", host, base()).await;
    let second_alert = fire(store, rule, "ai:2", host, base()).await;
    insights(store, host, first_alert).await;
    llm_calls(store).await;
    memory(store, host, first_alert, second_alert).await;
    hostile_terms(store).await;
    logs(store, token).await;
    service_checks_and_overview(store, token, host).await;
    alerts_in_window(store, rule, host).await;
    system_summary(store, token).await;
    host_deletion_keeps_memories(store, host, first_alert).await;
}

/// Memories and insights outlive the host and alerts they were about.
async fn host_deletion_keeps_memories(store: &dyn Store, host: i64, alert: i64) {
    store.delete_host(host).await.unwrap();
    assert!(
        store.alert(alert).await.unwrap().is_none(),
        "alerts go with their host"
    );
    assert!(store.alert_memories(alert).await.unwrap().is_empty());
    let hits = store.recall(&["crash".to_owned()], None, 5).await.unwrap();
    assert_eq!(hits.len(), 1);
    let kept = &hits[0].memory.memory;
    assert_eq!((kept.alert_id, kept.host_id), (None, None));
    assert_eq!(kept.rule_id, Some(42), "rule ids are kept as they were");
    let (insights, _) = store
        .list_insights(&InsightFilter::default())
        .await
        .unwrap();
    assert_eq!(insights.len(), 3);
    assert!(
        insights
            .iter()
            .all(|insight| insight.related_alert_id.is_none() && insight.related_host_id.is_none())
    );
}

async fn register(store: &dyn Store, token: i64, hostname: &str, at: DateTime<Utc>) -> i64 {
    store
        .register_host(
            token,
            HostRegistration {
                hostname: hostname.to_owned(),
                ..HostRegistration::default()
            },
            at,
        )
        .await
        .unwrap()
        .0
        .id
}

async fn fire(store: &dyn Store, rule: i64, target: &str, host: i64, at: DateTime<Utc>) -> i64 {
    let (alert, opened) = store
        .open_alert(NewAlert {
            rule_id: rule,
            target_key: target.to_owned(),
            host_id: Some(host),
            service_id: None,
            database_id: None,
            severity: Severity::Warning,
            title: format!("{target} fired"),
            message: None,
            metric_value: Some(91.5),
            threshold: Some(90.0),
            group_key: None,
            fired_at: at,
        })
        .await
        .unwrap();
    assert!(opened, "{target} is a new pair");
    alert.id
}

async fn resolve(store: &dyn Store, alert: i64, at: DateTime<Utc>) {
    let (_, resolved) = store
        .resolve_alert(
            alert,
            AlertResolution {
                at,
                by: None,
                comment: None,
            },
        )
        .await
        .unwrap();
    assert!(resolved);
}

async fn insights(store: &dyn Store, host: i64, alert: i64) {
    let user = store
        .create_user(
            crate::model::NewUser {
                email: "ai-reviewer@example.com".to_owned(),
                name: "ai reviewer".to_owned(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
                role: crate::model::Role::Operator,
            },
            base(),
        )
        .await
        .unwrap()
        .id;
    let details = json!({
        "evidence": [{"kind": "log", "text": "OOM killer 杀死了 nginx", "weight": 0.75}],
        "hypotheses": [{"cause": "memory leak", "confidence": 0.6}],
        "nested": {"empty": [], "null": null, "flag": true, "big": 9_007_199_254_740_991_i64},
    });
    let anomaly = store
        .insert_insight(
            NewInsight {
                insight_type: "anomaly".to_owned(),
                severity: "warning".to_owned(),
                title: "memory climbing".to_owned(),
                summary: Some("RSS doubled in an hour".to_owned()),
                details: Some(details.clone()),
                related_host_id: Some(host),
                related_alert_id: Some(alert),
                method: AnalysisMethod::Llm,
                model: Some("deepseek-chat".to_owned()),
            },
            base(),
        )
        .await
        .unwrap();
    assert_eq!(anomaly.status, "new");
    assert_eq!(anomaly.details, Some(details));
    assert_eq!(anomaly.method, AnalysisMethod::Llm);
    assert_eq!(anomaly.model.as_deref(), Some("deepseek-chat"));
    assert_eq!(anomaly.feedback, None);
    assert_eq!(anomaly.created_at, base());
    assert_eq!(
        store.insight(anomaly.id).await.unwrap().as_ref(),
        Some(&anomaly)
    );
    assert!(store.insight(999_999).await.unwrap().is_none());

    let later = base() + Duration::minutes(1);
    let root_cause = store
        .insert_insight(
            NewInsight {
                insight_type: "root_cause".to_owned(),
                severity: "critical".to_owned(),
                title: "nginx killed by the OOM killer".to_owned(),
                summary: None,
                details: None,
                related_host_id: None,
                related_alert_id: Some(alert),
                method: AnalysisMethod::Correlator,
                model: None,
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(root_cause.method, AnalysisMethod::Correlator);
    assert_eq!(root_cause.details, None);
    let chat = store
        .insert_insight(
            NewInsight {
                insight_type: "chat".to_owned(),
                severity: "info".to_owned(),
                title: "what changed?".to_owned(),
                summary: None,
                details: Some(json!(["a", 1])),
                related_host_id: None,
                related_alert_id: None,
                method: AnalysisMethod::Llm,
                model: Some("m".to_owned()),
            },
            later,
        )
        .await
        .unwrap();

    let list = |filter: InsightFilter| async move {
        let (page, total) = store.list_insights(&filter).await.unwrap();
        (page.iter().map(|i| i.id).collect::<Vec<_>>(), total)
    };
    // Newest first, ties newest id first.
    assert_eq!(
        list(InsightFilter::default()).await,
        (vec![chat.id, root_cause.id, anomaly.id], 3)
    );
    assert_eq!(
        list(InsightFilter {
            severity: Some("critical".to_owned()),
            ..InsightFilter::default()
        })
        .await,
        (vec![root_cause.id], 1)
    );
    assert_eq!(
        list(InsightFilter {
            insight_type: Some("chat".to_owned()),
            ..InsightFilter::default()
        })
        .await,
        (vec![chat.id], 1)
    );
    assert_eq!(
        list(InsightFilter {
            related_alert_id: Some(alert),
            ..InsightFilter::default()
        })
        .await,
        (vec![root_cause.id, anomaly.id], 2)
    );
    assert_eq!(
        list(InsightFilter {
            status: Some("new".to_owned()),
            insight_type: Some("anomaly".to_owned()),
            ..InsightFilter::default()
        })
        .await,
        (vec![anomaly.id], 1)
    );
    assert_eq!(
        list(InsightFilter {
            status: Some("dismissed".to_owned()),
            ..InsightFilter::default()
        })
        .await,
        (vec![], 0)
    );
    assert_eq!(
        list(InsightFilter {
            page: Page {
                page: 2,
                page_size: 2,
            },
            ..InsightFilter::default()
        })
        .await,
        (vec![anomaly.id], 3),
        "the total counts every match, not the page"
    );

    // Feedback is recorded, then replaced as a whole.
    let judged = store
        .set_insight_feedback(
            anomaly.id,
            InsightFeedback {
                verdict: Verdict::Correct,
                comment: Some("spot on".to_owned()),
                by: Some(user),
                at: later,
            },
        )
        .await
        .unwrap();
    let expected = InsightFeedback {
        verdict: Verdict::Correct,
        comment: Some("spot on".to_owned()),
        by: Some(user),
        at: later,
    };
    assert_eq!(judged.feedback.as_ref(), Some(&expected));
    assert_eq!(
        judged,
        crate::model::Insight {
            feedback: Some(expected),
            ..anomaly.clone()
        },
        "feedback changes nothing else"
    );
    let rejudged = InsightFeedback {
        verdict: Verdict::Incorrect,
        comment: None,
        by: None,
        at: later + Duration::minutes(1),
    };
    let replaced = store
        .set_insight_feedback(anomaly.id, rejudged.clone())
        .await
        .unwrap();
    assert_eq!(replaced.feedback.as_ref(), Some(&rejudged));
    assert_eq!(
        store.insight(anomaly.id).await.unwrap().unwrap().feedback,
        Some(rejudged.clone())
    );
    assert!(matches!(
        store.set_insight_feedback(999_999, rejudged).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn llm_calls(store: &dyn Store) {
    let call = |seconds: i64, error: Option<&str>| NewLlmCall {
        purpose: "root_cause".to_owned(),
        model: "deepseek-chat".to_owned(),
        prompt_tokens: Some(1200 + seconds),
        completion_tokens: error.is_none().then_some(300),
        latency_ms: 850,
        attempts: if error.is_some() { 3 } else { 1 },
        error: error.map(str::to_owned),
        at: base() + Duration::seconds(seconds),
    };
    let mut ids = Vec::new();
    for (seconds, error) in [
        (0, None),
        (1, Some("timed out after 3 attempts")),
        (2, None),
    ] {
        ids.push(store.record_llm_call(call(seconds, error)).await.unwrap());
    }
    let since_first = store.llm_calls(base(), 10).await.unwrap();
    assert_eq!(
        since_first.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids,
        "oldest first"
    );
    assert_eq!(
        since_first[1].call,
        call(1, Some("timed out after 3 attempts"))
    );
    assert_eq!(since_first[0].call, call(0, None));
    let since_second = store
        .llm_calls(base() + Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(
        since_second.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[1..],
        "`since` is inclusive"
    );
    let limited = store.llm_calls(base(), 2).await.unwrap();
    assert_eq!(limited.iter().map(|c| c.id).collect::<Vec<_>>(), ids[..2]);
    assert!(
        store
            .llm_calls(base() + Duration::seconds(3), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.llm_calls(base(), -1).await.unwrap().is_empty());
}

fn memory_of(search_text: &str, alert_id: Option<i64>, at: DateTime<Utc>) -> NewMemory {
    NewMemory {
        source: "vigilops-incident".to_owned(),
        title: format!("incident: {search_text}"),
        content: format!("what happened: {search_text}"),
        search_text: search_text.to_owned(),
        alert_id,
        rule_id: None,
        host_id: None,
        runbook: None,
        outcome: None,
        verdict: None,
        at,
    }
}

async fn recalled(store: &dyn Store, terms: &[&str], exclude: Option<i64>, limit: i64) -> Vec<i64> {
    let terms: Vec<String> = terms.iter().map(|term| (*term).to_owned()).collect();
    let hits = store.recall(&terms, exclude, limit).await.unwrap();
    assert!(
        hits.windows(2).all(|pair| pair[0].score >= pair[1].score),
        "best first: {hits:?}"
    );
    hits.iter().map(|hit| hit.memory.id).collect()
}

async fn memory(store: &dyn Store, host: i64, first_alert: i64, second_alert: i64) {
    let full = NewMemory {
        source: "vigilops-root-cause".to_owned(),
        title: "nginx crashed: disk full".to_owned(),
        content: "The disk filled up and nginx crashed; cleaned /var/log.".to_owned(),
        search_text: "disk full nginx crash".to_owned(),
        alert_id: Some(first_alert),
        rule_id: Some(42),
        host_id: Some(host),
        runbook: Some("disk_cleanup".to_owned()),
        outcome: Some("success".to_owned()),
        verdict: Some(Verdict::Correct),
        at: base() + Duration::hours(1),
    };
    let crash = store.remember(full.clone()).await.unwrap();
    assert_eq!(crash.memory, full, "every field round-trips");
    let database = store
        .remember(memory_of("disk full database", None, base()))
        .await
        .unwrap();
    let oom = store
        .remember(memory_of("nginx oom kill", Some(second_alert), base()))
        .await
        .unwrap();
    // "disk" is common, "oom" and "crash" are rare.
    let mut fillers = Vec::new();
    for index in 0..4 {
        let text = format!("disk usage report{index}");
        fillers.push(
            store
                .remember(memory_of(&text, None, base()))
                .await
                .unwrap()
                .id,
        );
    }
    let proxy = store
        .remember(memory_of("nginxproxy restart", None, base()))
        .await
        .unwrap();
    let cjk = store
        .remember(memory_of("磁盘 盘空 空间 间满 disk", None, base()))
        .await
        .unwrap();
    // An older memory of the first alert, stored after the newer one.
    let earlier = store
        .remember(memory_of("certificate expired", Some(first_alert), base()))
        .await
        .unwrap();

    // More matching terms rank first; rarer terms rank above common ones.
    let hits = recalled(store, &["disk", "crash"], None, 20).await;
    assert_eq!(hits.first(), Some(&crash.id), "{hits:?}");
    assert_eq!(hits.len(), 7, "every memory with disk or crash: {hits:?}");
    let hits = recalled(store, &["disk", "oom"], None, 20).await;
    assert_eq!(hits.first(), Some(&oom.id), "the rare term wins: {hits:?}");
    let hits = recalled(store, &["oom", "kill", "nginx"], None, 20).await;
    assert_eq!(hits, [oom.id, crash.id], "two terms beat one");
    // Whole words only: `nginx` is not `nginxproxy`, `crash` is not `crashed`.
    assert_eq!(recalled(store, &["nginxproxy"], None, 20).await, [proxy.id]);
    assert_eq!(recalled(store, &["crashed"], None, 20).await, NOTHING);
    // The memories of the alert being analysed are left out; those without an alert stay.
    let hits = recalled(store, &["nginx"], Some(first_alert), 20).await;
    assert_eq!(hits, [oom.id]);
    let hits = recalled(store, &["full"], Some(first_alert), 20).await;
    assert_eq!(hits, [database.id]);
    assert_eq!(recalled(store, &["disk"], None, 2).await.len(), 2);
    assert_eq!(recalled(store, &["disk"], None, 0).await, NOTHING);
    assert_eq!(recalled(store, &["disk"], None, -5).await, NOTHING);
    // Nothing to look for recalls nothing.
    assert_eq!(recalled(store, &[], None, 20).await, NOTHING);
    assert_eq!(recalled(store, &["", "  "], None, 20).await, NOTHING);
    assert_eq!(recalled(store, &["absent"], None, 20).await, NOTHING);
    // CJK bigrams are whole tokens: a bigram matches, a single character or a bigram across
    // two tokens does not.
    assert_eq!(recalled(store, &["盘空"], None, 20).await, [cjk.id]);
    assert_eq!(recalled(store, &["盘"], None, 20).await, NOTHING);
    assert_eq!(recalled(store, &["磁盘空"], None, 20).await, NOTHING);
    let hits = recalled(store, &["间满", "空间", "disk"], None, 20).await;
    assert_eq!(hits.first(), Some(&cjk.id));
    // Upper case terms find the lower-case text (both tokenizers fold case).
    assert_eq!(recalled(store, &["OOM"], None, 20).await, [oom.id]);
    // A repeated term counts once.
    let once = store.recall(&["oom".to_owned()], None, 5).await.unwrap();
    let twice = store
        .recall(&["oom".to_owned(), "oom".to_owned()], None, 5)
        .await
        .unwrap();
    assert_eq!(once, twice);
    assert!(fillers.iter().all(|id| !recalled_contains(&once, *id)));

    // An alert's memories, oldest first.
    let of_alert = store.alert_memories(first_alert).await.unwrap();
    assert_eq!(
        of_alert.iter().map(|m| m.id).collect::<Vec<_>>(),
        [earlier.id, crash.id]
    );
    assert!(store.alert_memories(999_999).await.unwrap().is_empty());
    assert_eq!(
        store
            .set_memory_verdict(first_alert, Verdict::Incorrect)
            .await
            .unwrap(),
        2
    );
    let of_alert = store.alert_memories(first_alert).await.unwrap();
    assert!(
        of_alert
            .iter()
            .all(|m| m.memory.verdict == Some(Verdict::Incorrect))
    );
    assert_eq!(
        store
            .alert_memories(second_alert)
            .await
            .unwrap()
            .iter()
            .map(|m| m.memory.verdict)
            .collect::<Vec<_>>(),
        [None],
        "other alerts' memories keep theirs"
    );
    assert_eq!(
        store
            .set_memory_verdict(999_999, Verdict::Correct)
            .await
            .unwrap(),
        0
    );
    // A verdict does not disturb the full-text index.
    assert_eq!(
        recalled(store, &["certificate"], None, 20).await,
        [earlier.id]
    );
}

fn recalled_contains(hits: &[crate::model::MemoryHit], id: i64) -> bool {
    hits.iter().any(|hit| hit.memory.id == id)
}

/// User-controlled terms are text, never query syntax: each one either matches the memories
/// containing its words (as a phrase) or nothing, and never fails.
async fn hostile_terms(store: &dyn Store) {
    let mut ids = Vec::new();
    for text in [
        "alpha beta",
        "near a b",
        "b a",
        "x y",
        "x z",
        "either or neither",
        "it s quoted",
    ] {
        ids.push(
            store
                .remember(memory_of(text, None, base()))
                .await
                .unwrap()
                .id,
        );
    }
    let [alpha, near, _reversed, xy, xz, either, quoted] = ids[..] else {
        unreachable!("seven memories")
    };
    let cases: [(&str, Vec<i64>); 16] = [
        // FTS5: a bare OR is a syntax error; here it is the word "or".
        ("OR", vec![either]),
        ("\"", vec![]),
        // A quote is punctuation: it neither opens a string nor fails.
        ("\"alpha", vec![alpha]),
        // FTS5 NEAR group: would match "b a" too; here the phrase "near a b".
        ("NEAR(a b)", vec![near]),
        // A lone `*` is a syntax error in FTS5; `alph*` would be a prefix query.
        ("*", vec![]),
        ("alph*", vec![]),
        // FTS5 column filter (an unknown column is an error); here the phrase "a b".
        ("a:b", vec![near]),
        ("search_text:alpha", vec![]),
        // tsquery negation would match everything without x; here the word x.
        ("!x", vec![xy, xz]),
        // tsquery conjunction of x and y; here the phrase "x y".
        ("x & y", vec![xy]),
        ("x | z", vec![xz]),
        ("'", vec![]),
        // An apostrophe inside a word (a string delimiter in SQL and tsquery) splits it.
        ("it's", vec![quoted]),
        ("\\", vec![]),
        ("-x", vec![xy, xz]),
        ("^alpha", vec![alpha]),
    ];
    for (term, expected) in &cases {
        let found: BTreeSet<i64> = recalled(store, &[term], None, 50)
            .await
            .into_iter()
            .collect();
        let expected: BTreeSet<i64> = expected.iter().copied().collect();
        assert_eq!(found, expected, "term {term:?}");
    }
    // All at once (and with a NUL character, which neither backend may choke on).
    let mut every: Vec<&str> = cases.iter().map(|(term, _)| *term).collect();
    every.push("a\0b");
    let found: BTreeSet<i64> = recalled(store, &every, None, 50)
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<i64> = cases
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    assert_eq!(found, expected);
}

async fn logs(store: &dyn Store, token: i64) {
    let host = register(store, token, "ai-logs", base()).await;
    let other = register(store, token, "ai-logs-other", base()).await;
    let at = |seconds: i64| base() + Duration::seconds(seconds);
    let entry = |host_id: i64, seconds: i64, level: Option<&str>, service: &str, message: &str| {
        NewLogEntry {
            host_id,
            service: Some(service.to_owned()),
            source: Some("/var/log/app.log".to_owned()),
            level: level.map(str::to_owned),
            message: message.to_owned(),
            timestamp: at(seconds),
        }
    };
    store
        .insert_logs(
            &[
                entry(host, 0, Some("ERROR"), "db", "a"),
                entry(host, 10, Some("error"), "db", "b"),
                entry(host, 10, Some("Error"), "db", "c"),
                entry(host, 20, Some("WARN"), "db", "d"),
                entry(host, 30, Some("info"), "db", "e"),
                entry(host, 40, None, "db", "f"),
                entry(host, 50, Some("ERROR"), "api", "g"),
                entry(other, 10, Some("ERROR"), "db", "h"),
                entry(host, 61, Some("ERROR"), "db", "after"),
            ],
            at(100),
            None,
        )
        .await
        .unwrap();
    let window =
        |host_id: Option<i64>, levels: &[&str], from: i64, to: i64, limit: i64| LogWindow {
            host_id,
            service: None,
            levels: levels.iter().map(|level| (*level).to_owned()).collect(),
            from: at(from),
            to: at(to),
            limit,
        };
    let messages = |window: LogWindow| async move {
        let lines = store.logs_in_window(&window).await.unwrap();
        let count = store.count_logs(&window).await.unwrap();
        (
            lines
                .iter()
                .map(|line| line.message.clone())
                .collect::<Vec<_>>()
                .join(""),
            count,
        )
    };
    // Inclusive bounds, oldest first, equal timestamps by id.
    assert_eq!(
        messages(window(Some(host), &[], 10, 40, 100)).await,
        ("bcdef".to_owned(), 5)
    );
    // Levels compared case-insensitively; a line without a level has none of them.
    assert_eq!(
        messages(window(Some(host), &["error"], 0, 60, 100)).await,
        ("abcg".to_owned(), 4)
    );
    assert_eq!(
        messages(window(Some(host), &["Error", "warn"], 0, 60, 100)).await,
        ("abcdg".to_owned(), 5)
    );
    // Over the limit: the newest lines, still oldest first; the count ignores the limit.
    assert_eq!(
        messages(window(Some(host), &["ERROR"], 0, 60, 2)).await,
        ("cg".to_owned(), 4)
    );
    assert_eq!(
        messages(window(Some(host), &[], 0, 60, 0)).await,
        (String::new(), 7)
    );
    // Every host, and one service.
    assert_eq!(
        messages(window(None, &[], 10, 10, 100)).await,
        ("bch".to_owned(), 3)
    );
    let mut api = window(None, &[], 0, 60, 100);
    api.service = Some("api".to_owned());
    assert_eq!(messages(api).await, ("g".to_owned(), 1));
    let lines = store
        .logs_in_window(&window(Some(host), &[], 50, 50, 10))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0].host_id,
            lines[0].service.as_deref(),
            lines[0].level.as_deref(),
            lines[0].timestamp,
            lines[0].created_at
        ),
        (host, Some("api"), Some("ERROR"), at(50), at(100))
    );
    assert_eq!(
        messages(window(Some(999_999), &[], 0, 60, 100)).await,
        (String::new(), 0)
    );
}

async fn service_checks_and_overview(store: &dyn Store, token: i64, host: i64) {
    let service = |name: &str| ServiceRegistration {
        host_id: host,
        name: name.to_owned(),
        target: format!("http://localhost/{name}"),
        check_type: "http".to_owned(),
        check_interval: 60,
        timeout: 10,
        category: "business".to_owned(),
    };
    let (web, _) = store
        .register_service(service("web"), base())
        .await
        .unwrap();
    let (api, _) = store
        .register_service(service("api"), base())
        .await
        .unwrap();
    let (queue, _) = store
        .register_service(service("queue"), base())
        .await
        .unwrap();
    let (odd, _) = store
        .register_service(service("odd"), base())
        .await
        .unwrap();
    let check = |service_id: i64, status: &str, minutes: i64| NewServiceCheck {
        service_id,
        status: status.to_owned(),
        response_time_ms: Some(12.5),
        status_code: Some(200),
        error: (status == "down").then(|| "connection refused".to_owned()),
        checked_at: base() + Duration::minutes(minutes),
    };
    let mut ids = Vec::new();
    for (status, minutes) in [("up", 0), ("down", 1), ("down", 2), ("up", 3)] {
        ids.push(
            store
                .insert_service_check(check(web, status, minutes), None)
                .await
                .unwrap(),
        );
    }
    store
        .insert_service_check(check(api, "down", 2), None)
        .await
        .unwrap();
    store
        .insert_service_check(check(odd, "degraded", 2), None)
        .await
        .unwrap();

    let minute = |minutes: i64| base() + Duration::minutes(minutes);
    let checks = store
        .service_checks_in_window(web, minute(1), minute(3), 10)
        .await
        .unwrap();
    assert_eq!(
        checks.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[1..],
        "inclusive bounds, oldest first, other services left out"
    );
    assert_eq!(
        checks[0],
        ServiceCheckPoint {
            id: ids[1],
            service_id: web,
            status: "down".to_owned(),
            response_time_ms: Some(12.5),
            status_code: Some(200),
            error: Some("connection refused".to_owned()),
            checked_at: minute(1),
        }
    );
    let newest = store
        .service_checks_in_window(web, minute(0), minute(3), 2)
        .await
        .unwrap();
    assert_eq!(
        newest.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[2..],
        "the newest two, oldest first"
    );
    assert!(
        store
            .service_checks_in_window(999_999, minute(0), minute(3), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let overview = |id: i64, name: &str, status: &str| ServiceOverview {
        id,
        host_id: host,
        name: name.to_owned(),
        check_type: "http".to_owned(),
        target: format!("http://localhost/{name}"),
        status: status.to_owned(),
        is_active: true,
    };
    assert_eq!(
        store.services_overview(Some(host)).await.unwrap(),
        [
            overview(web, "web", "up"),
            overview(api, "api", "down"),
            overview(queue, "queue", "unknown"),
            overview(odd, "odd", "unknown"),
        ],
        "by id; never checked and unrecognised statuses are unknown"
    );
    let elsewhere = register(store, token, "ai-overview-other", base()).await;
    let (remote, _) = store
        .register_service(
            ServiceRegistration {
                host_id: elsewhere,
                ..service("remote")
            },
            base(),
        )
        .await
        .unwrap();
    let every = store.services_overview(None).await.unwrap();
    assert!(every.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert!(every.iter().any(|service| service.id == queue));
    assert!(
        every
            .iter()
            .any(|service| service.id == remote && service.host_id == elsewhere)
    );
    assert!(
        store
            .services_overview(Some(999_999))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn alerts_in_window(store: &dyn Store, rule: i64, host: i64) {
    let from = base() + Duration::days(10);
    let to = from + Duration::hours(1);
    let minutes = |count: i64| from + Duration::minutes(count);
    let closed = |name: &'static str, fired: i64, resolved: i64| (name, fired, Some(resolved));
    let cases = [
        closed("resolved before", -120, -1),
        closed("resolved at from", -110, 0),
        closed("spanning", -60, 120),
        closed("during", 10, 20),
        ("fired at to", 60, None),
        ("fired after", 61, None),
        ("still open", -180, None),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, fired, resolved) in cases {
        let id = fire(store, rule, name, host, minutes(fired)).await;
        if let Some(resolved) = resolved {
            resolve(store, id, minutes(resolved)).await;
        }
        ids.insert(name, id);
    }
    let everything = store.alerts_in_window(from, to, 100).await.unwrap();
    assert!(
        everything
            .windows(2)
            .all(|pair| (pair[0].fired_at, pair[0].id) < (pair[1].fired_at, pair[1].id)),
        "oldest fired_at first"
    );
    let mine: Vec<i64> = everything
        .iter()
        .filter(|alert| alert.rule_id == Some(rule) && alert.target_key != "ai:1")
        .filter(|alert| alert.target_key != "ai:2")
        .map(|alert| alert.id)
        .collect();
    assert_eq!(
        mine,
        [
            ids["still open"],
            ids["resolved at from"],
            ids["spanning"],
            ids["during"],
            ids["fired at to"],
        ]
    );
    let spanning = everything
        .iter()
        .find(|alert| alert.id == ids["spanning"])
        .unwrap();
    assert_eq!(spanning.fired_at, minutes(-60));
    assert_eq!(spanning.resolved_at, Some(minutes(120)));
    assert_eq!(spanning.metric_value, Some(91.5));
    let limited = store.alerts_in_window(from, to, 2).await.unwrap();
    assert_eq!(limited, everything[..2]);
    assert!(
        store
            .alerts_in_window(from, to, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn system_summary(store: &dyn Store, token: i64) {
    let since = base() + Duration::days(100);
    let before = store.system_summary(since).await.unwrap();
    assert_eq!(
        (before.recent_alerts, before.recent_error_logs),
        (0, 0),
        "nothing else happened that late"
    );
    assert_eq!(
        before.hosts_online + before.hosts_offline,
        before.hosts_total
    );

    let busy = register(store, token, "ai-summary-busy", since).await;
    let idle = register(store, token, "ai-summary-idle", since - Duration::days(1)).await;
    let after_registering = store.system_summary(since).await.unwrap();
    assert_eq!(after_registering.hosts_total, before.hosts_total + 2);
    assert_eq!(after_registering.hosts_online, before.hosts_online + 2);
    // Every host whose heartbeat is older than a minute before `since`, `idle` among them, goes
    // offline; `busy` stays online.
    let gone = store
        .mark_stale_hosts_offline(since - Duration::minutes(1))
        .await
        .unwrap();
    assert!(gone.contains(&idle) && !gone.contains(&busy));
    let gone = i64::try_from(gone.len()).unwrap();

    // Services: two up, one down, one never checked (unknown).
    let service = |name: &str| ServiceRegistration {
        host_id: busy,
        name: name.to_owned(),
        target: "127.0.0.1:80".to_owned(),
        check_type: "tcp".to_owned(),
        check_interval: 60,
        timeout: 10,
        category: "business".to_owned(),
    };
    for (name, status) in [
        ("a", Some("up")),
        ("b", Some("up")),
        ("c", Some("down")),
        ("d", None),
    ] {
        let (id, _) = store.register_service(service(name), since).await.unwrap();
        if let Some(status) = status {
            store
                .insert_service_check(
                    NewServiceCheck {
                        service_id: id,
                        status: status.to_owned(),
                        response_time_ms: None,
                        status_code: None,
                        error: None,
                        checked_at: since,
                    },
                    None,
                )
                .await
                .unwrap();
        }
    }

    // Alerts fired from `since` on count; earlier ones do not.
    let rule = store
        .create_rule(
            &AlertRuleCreate {
                name: "ai summary".to_owned(),
                ..AlertRuleCreate::default()
            },
            since,
        )
        .await
        .unwrap()
        .id;
    fire(store, rule, "early", busy, since - Duration::seconds(1)).await;
    fire(store, rule, "at since", busy, since).await;
    fire(store, rule, "later", busy, since + Duration::hours(1)).await;

    // ERROR, CRITICAL and FATAL in any case count, from `since` on.
    let line = |seconds: i64, level: Option<&str>| NewLogEntry {
        host_id: busy,
        service: None,
        source: None,
        level: level.map(str::to_owned),
        message: "line".to_owned(),
        timestamp: since + Duration::seconds(seconds),
    };
    store
        .insert_logs(
            &[
                line(-1, Some("ERROR")),
                line(0, Some("error")),
                line(1, Some("Critical")),
                line(2, Some("FATAL")),
                line(3, Some("WARNING")),
                line(4, None),
                line(5, Some("ERROR")),
            ],
            since,
            None,
        )
        .await
        .unwrap();

    // CPU and memory are averaged over each host's newest sample: for `busy` the later of
    // two samples with the same time, not its older, busier one.
    let percent = |host_id: i64, seconds: i64, cpu: f64, memory: f64| MetricSample {
        host_id,
        recorded_at: since + Duration::seconds(seconds),
        values: MetricValues {
            cpu_percent: Some(cpu),
            memory_percent: Some(memory),
            ..MetricValues::default()
        },
        extra: None,
    };
    store
        .insert_metrics(
            &[percent(busy, -60, 95.0, 95.0), percent(busy, 0, 99.0, 99.0)],
            &[],
        )
        .await
        .unwrap();
    store
        .insert_metrics(
            &[percent(busy, 0, 10.0, 20.0), percent(idle, -30, 30.0, 40.0)],
            &[],
        )
        .await
        .unwrap();

    let summary = store.system_summary(since).await.unwrap();
    assert_eq!(summary.hosts_total, before.hosts_total + 2);
    assert_eq!(summary.hosts_online, before.hosts_online + 2 - gone);
    assert_eq!(summary.hosts_offline, before.hosts_offline + gone);
    let online = store
        .list_hosts(&HostFilter {
            status: Some(HostStatus::Online),
            ..HostFilter::default()
        })
        .await
        .unwrap()
        .1;
    assert_eq!(summary.hosts_online, online);
    assert_eq!(summary.services_total, before.services_total + 4);
    assert_eq!(summary.services_up, before.services_up + 2);
    assert_eq!(summary.services_down, before.services_down + 1);
    assert_eq!(summary.recent_alerts, 2);
    assert_eq!(summary.recent_error_logs, 4);

    // The same average from each host's latest sample as `latest_metrics` reads it.
    let hosts = store
        .list_hosts(&HostFilter {
            page: Page {
                page: 1,
                page_size: 10_000,
            },
            ..HostFilter::default()
        })
        .await
        .unwrap()
        .0;
    let host_ids: Vec<i64> = hosts.iter().map(|host| host.id).collect();
    let epoch = DateTime::from_timestamp(0, 0).unwrap_or_default();
    let latest = store.latest_metrics(&host_ids, epoch).await.unwrap();
    assert_eq!(latest[&busy].values.cpu_percent, Some(10.0));
    let average = |pick: fn(&MetricValues) -> Option<f64>| {
        let values: Vec<f64> = latest.values().filter_map(|l| pick(&l.values)).collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    let cpu = average(|values| values.cpu_percent);
    let memory = average(|values| values.memory_percent);
    let close = |actual: Option<f64>, expected: f64| {
        actual.is_some_and(|actual| (actual - expected).abs() < 1e-9)
    };
    assert!(close(summary.avg_cpu_percent, cpu), "{summary:?} vs {cpu}");
    assert!(
        close(summary.avg_memory_percent, memory),
        "{summary:?} vs {memory}"
    );
    // Each host counts once, whatever its number of samples.
    assert!(latest.len() >= 2);
}
