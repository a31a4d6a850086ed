//! Ops memory: what past incidents taught us, recalled when a similar one happens.
//!
//! - [`search_terms`] turns text into the normalised terms both store backends index and query
//!   (lower-case words, CJK character bigrams, variable values dropped), so SQLite FTS5 and
//!   PostgreSQL full-text search match the same memories.
//! - [`incident_text`] writes a resolved incident as one remembered text.
//! - [`MemoryServiceClient`] speaks the original's optional external memory service
//!   (`MEMORY_API_URL`, read by `config::ServerConfig`): recall and store, five-second timeout, best effort — a failure is
//!   logged and never fails or blocks the analysis that asked.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// The most terms a text or a query contributes.
const MAX_TERMS: usize = 48;
/// Words too common in ops text to say anything about similarity.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "by",
    "for",
    "from",
    "has",
    "in",
    "is",
    "it",
    "of",
    "on",
    "or",
    "the",
    "to",
    "was",
    "with",
    "alert",
    "host",
    "value",
    "threshold",
];

/// The normalised search terms of `text`, each once, in order of first appearance:
/// - ASCII and other alphabetic words, lower-cased, of two or more characters, without stop
///   words and without tokens made mostly of digits (values and ids differ between incidents);
/// - runs of CJK characters as overlapping bigrams (a lone character stays as it is), since
///   Chinese text has no spaces to split on.
pub fn search_terms(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut terms = Vec::new();
    let mut push = |term: String, terms: &mut Vec<String>| {
        if terms.len() < MAX_TERMS && seen.insert(term.clone()) {
            terms.push(term);
        }
    };
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_cjk(c) {
            flush_word(&mut word, &mut |t| push(t, &mut terms));
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut |t| push(t, &mut terms));
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, &mut |t| push(t, &mut terms));
            flush_cjk(&mut cjk, &mut |t| push(t, &mut terms));
        }
    }
    terms
}

fn flush_word(word: &mut String, push: &mut impl FnMut(String)) {
    let token = std::mem::take(word);
    let chars = token.chars().count();
    let digits = token.chars().filter(char::is_ascii_digit).count();
    if chars >= 2 && digits * 2 < chars && !STOP_WORDS.contains(&token.as_str()) {
        push(token);
    }
}

fn flush_cjk(run: &mut Vec<char>, push: &mut impl FnMut(String)) {
    match run.len() {
        0 => {}
        1 => push(run[0].to_string()),
        _ => {
            for pair in run.windows(2) {
                push(pair.iter().collect());
            }
        }
    }
    run.clear();
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'   // kana
        | '\u{3400}'..='\u{4dbf}' // CJK extension A
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{ac00}'..='\u{d7af}' // Hangul syllables
        | '\u{f900}'..='\u{faff}' // compatibility ideographs
    )
}

/// What is known about a finished incident, for [`incident_text`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFacts<'a> {
    pub alert_title: &'a str,
    pub severity: &'a str,
    pub hostname: Option<&'a str>,
    pub service: Option<&'a str>,
    pub rule_name: Option<&'a str>,
    pub duration_seconds: Option<i64>,
    pub root_cause: Option<&'a str>,
    pub runbook: Option<&'a str>,
    /// Commands run on the host while the alert was open, with how they ended.
    pub actions: Option<&'a str>,
    pub outcome: &'a str,
    pub feedback: Option<&'a str>,
    pub resolution_comment: Option<&'a str>,
}

/// One remembered text for an incident: what, where, why, what was done, and how it ended.
pub fn incident_text(facts: &IncidentFacts<'_>) -> String {
    let mut parts = vec![format!("[{}] {}", facts.severity, facts.alert_title)];
    if let Some(host) = facts.hostname {
        parts.push(format!("host {host}"));
    }
    if let Some(service) = facts.service {
        parts.push(format!("service {service}"));
    }
    if let Some(rule) = facts.rule_name {
        parts.push(format!("rule {rule}"));
    }
    if let Some(seconds) = facts.duration_seconds {
        parts.push(format!("lasted {}", human_duration(seconds)));
    }
    if let Some(cause) = facts.root_cause {
        parts.push(format!("root cause: {cause}"));
    }
    if let Some(runbook) = facts.runbook {
        parts.push(format!("runbook {runbook}"));
    }
    if let Some(actions) = facts.actions {
        parts.push(format!("done: {actions}"));
    }
    if let Some(comment) = facts.resolution_comment.filter(|c| !c.trim().is_empty()) {
        parts.push(format!("resolution note: {}", comment.trim()));
    }
    parts.push(format!("outcome: {}", facts.outcome));
    if let Some(feedback) = facts.feedback {
        parts.push(format!("analysis judged {feedback}"));
    }
    parts.join("; ")
}

fn human_duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

/// The external memory service of the original (`MEMORY_API_URL`, `MEMORY_ENABLED`).
#[derive(Debug, Clone)]
pub struct MemoryServiceClient {
    base: String,
    http: reqwest::Client,
}

/// How long one call to the memory service may take.
pub const MEMORY_TIMEOUT: Duration = Duration::from_secs(5);

impl MemoryServiceClient {
    /// A client for the service at `base` (e.g. `http://memory:8002/api/v1/memory`); a trailing
    /// `/` is tolerated.
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(MEMORY_TIMEOUT).build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// Recalls up to `top_k` memories for `query`. Best effort: any failure is logged and gives
    /// an empty list.
    pub async fn recall(&self, query: &str, top_k: usize) -> Vec<String> {
        match self.try_recall(query, top_k).await {
            Ok(memories) => memories,
            Err(error) => {
                tracing::warn!(%error, "memory service recall failed; continuing without it");
                Vec::new()
            }
        }
    }

    async fn try_recall(&self, query: &str, top_k: usize) -> Result<Vec<String>, reqwest::Error> {
        let reply: Value = self
            .http
            .post(format!("{}/recall", self.base))
            .json(&json!({"query": query, "top_k": top_k}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(recalled_texts(&reply, top_k))
    }

    /// Stores one memory. Best effort: any failure is logged and ignored.
    pub async fn store(&self, content: &str, source: &str, tags: &[&str]) {
        let body = json!({
            "content": content,
            "source": source,
            "namespace": "vigilops",
            "memory_type": "episode",
            "importance": 5,
            "tags": tags,
        });
        let result = self
            .http
            .post(format!("{}/store", self.base))
            .json(&body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        if let Err(error) = result {
            tracing::warn!(%error, source, "memory service store failed; ignored");
        }
    }
}

/// The texts of a recall reply: a JSON array, `{"memories":[…]}` or `{"results":[…]}`; each
/// item's text from `content`, else `text` (or the item itself when it is a string).
pub fn recalled_texts(reply: &Value, top_k: usize) -> Vec<String> {
    #[derive(Deserialize)]
    struct Item {
        content: Option<String>,
        text: Option<String>,
    }
    let items = match reply {
        Value::Array(items) => items.as_slice(),
        Value::Object(map) => map
            .get("memories")
            .or_else(|| map.get("results"))
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice),
        _ => &[],
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(text) => Some(text.clone()),
            other => serde_json::from_value::<Item>(other.clone())
                .ok()
                .and_then(|item| item.content.or(item.text)),
        })
        .filter(|text| !text.trim().is_empty())
        .take(top_k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_cased_and_values_dropped() {
        assert_eq!(
            search_terms("Disk usage on web-01 is 93.5% (threshold 90) on /var"),
            vec!["disk", "usage", "web", "var"]
        );
    }

    #[test]
    fn cjk_runs_become_bigrams() {
        assert_eq!(
            search_terms("磁盘空间不足 on db-2"),
            vec!["磁盘", "盘空", "空间", "间不", "不足", "db"]
        );
        assert_eq!(search_terms("宕 down"), vec!["宕", "down"]);
    }

    #[test]
    fn terms_are_unique_and_bounded() {
        let text = (0..500)
            .map(|i| format!("w{}x{}", "a".repeat(i % 7 + 3), i % 90))
            .collect::<Vec<_>>()
            .join(" ");
        let terms = search_terms(&text);
        assert!(terms.len() <= MAX_TERMS);
        let unique: BTreeSet<&String> = terms.iter().collect();
        assert_eq!(unique.len(), terms.len());
    }

    #[test]
    fn query_syntax_is_just_text() {
        // Operators of FTS5 and tsquery never survive as operators: only word characters remain.
        for term in search_terms("NEAR(a b) OR \"x\" * -y col:z !w x & y | z 'q' \\") {
            assert!(
                term.chars().all(|c| c.is_alphanumeric() || c == '_'),
                "{term}"
            );
        }
    }

    #[test]
    fn the_incident_text_says_what_why_what_was_done_and_how_it_ended() {
        let text = incident_text(&IncidentFacts {
            alert_title: "Disk usage high",
            severity: "critical",
            hostname: Some("web-01"),
            service: None,
            rule_name: Some("disk_usage_high"),
            duration_seconds: Some(900),
            root_cause: Some("/var/log filled by app.log"),
            runbook: Some("log_rotation"),
            actions: Some("`logrotate -f /etc/logrotate.conf` succeeded"),
            outcome: "resolved",
            feedback: Some("correct"),
            resolution_comment: Some("  rotated by hand "),
        });
        assert_eq!(
            text,
            "[critical] Disk usage high; host web-01; rule disk_usage_high; lasted 15m; \
             root cause: /var/log filled by app.log; runbook log_rotation; \
             done: `logrotate -f /etc/logrotate.conf` succeeded; resolution note: rotated by hand; outcome: resolved; analysis judged correct"
        );
    }

    #[test]
    fn recall_replies_of_every_documented_shape_are_read() {
        let array = json!([{"content": "a"}, {"text": "b"}, "c", {"other": 1}]);
        assert_eq!(recalled_texts(&array, 5), vec!["a", "b", "c"]);
        let memories = json!({"memories": [{"content": "m1"}, {"content": "m2"}]});
        assert_eq!(recalled_texts(&memories, 1), vec!["m1"]);
        let results = json!({"results": [{"text": "r1"}]});
        assert_eq!(recalled_texts(&results, 5), vec!["r1"]);
        assert!(recalled_texts(&json!({"detail": "x"}), 5).is_empty());
        assert!(recalled_texts(&json!(42), 5).is_empty());
    }
}
