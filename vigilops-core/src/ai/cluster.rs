//! Deterministic log clustering: many raw lines become a few patterns with counts, so a model
//! (or a person) sees "`connection refused to <ip>:<num>` ×412 on 3 hosts" instead of 500 lines.
//!
//! Two passes, both pure:
//! 1. Each message becomes a template: its variable tokens (numbers, hex ids, UUIDs, IP
//!    addresses, paths, URLs, e-mail addresses, quoted strings, `key=value` values) are masked
//!    by a placeholder naming their kind. Lines with the same level and template join.
//! 2. Templates of the same level and token count that differ in few positions (the Drain
//!    similarity idea) are merged, the differing tokens becoming `<*>`.
//!
//! Secrets are redacted ([`super::redact`]) before anything else, so no template or example
//! carries one. The output order is deterministic: by count, then by first appearance.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::redact::redact;
use crate::model::LogEntry;

/// Token-position similarity above which two templates of one length merge (Drain uses 0.4–0.7).
const MERGE_SIMILARITY: f64 = 0.6;
/// Example log ids kept per pattern, so evidence can cite exact lines.
const MAX_EXAMPLE_IDS: usize = 5;
/// The longest template kept, in characters.
const MAX_TEMPLATE_CHARS: usize = 300;

/// A group of log lines that share a template.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPattern {
    /// Upper-cased level, `UNKNOWN` when the line had none.
    pub level: String,
    pub template: String,
    pub count: usize,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub host_ids: BTreeSet<i64>,
    pub services: BTreeSet<String>,
    /// The ids of the first lines of the pattern, oldest first.
    pub example_ids: Vec<i64>,
    /// One full message of the pattern, for context.
    pub example: String,
}

/// Clusters `logs` into patterns, most frequent first (ties: first seen first).
pub fn cluster(logs: &[LogEntry]) -> Vec<LogPattern> {
    let mut exact: Vec<LogPattern> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut ordered: Vec<&LogEntry> = logs.iter().collect();
    ordered.sort_by_key(|entry| (entry.timestamp, entry.id));
    for entry in ordered {
        let level = entry
            .level
            .as_deref()
            .map(|level| level.trim().to_ascii_uppercase())
            .filter(|level| !level.is_empty())
            .unwrap_or_else(|| "UNKNOWN".to_owned());
        let message = redact(&entry.message);
        let template = template(&message);
        match index.get(&(level.clone(), template.clone())) {
            Some(&position) => absorb(&mut exact[position], entry),
            None => {
                index.insert((level.clone(), template.clone()), exact.len());
                exact.push(new_pattern(level, template, &message, entry));
            }
        }
    }
    let mut merged = merge_similar(exact);
    merged.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.first_seen.cmp(&b.first_seen))
            .then(a.template.cmp(&b.template))
    });
    merged
}

fn new_pattern(level: String, template: String, message: &str, entry: &LogEntry) -> LogPattern {
    let mut pattern = LogPattern {
        level,
        template,
        count: 0,
        first_seen: entry.timestamp,
        last_seen: entry.timestamp,
        host_ids: BTreeSet::new(),
        services: BTreeSet::new(),
        example_ids: Vec::new(),
        example: message.chars().take(MAX_TEMPLATE_CHARS).collect(),
    };
    absorb(&mut pattern, entry);
    pattern
}

fn absorb(pattern: &mut LogPattern, entry: &LogEntry) {
    pattern.count += 1;
    pattern.first_seen = pattern.first_seen.min(entry.timestamp);
    pattern.last_seen = pattern.last_seen.max(entry.timestamp);
    pattern.host_ids.insert(entry.host_id);
    if let Some(service) = entry.service.as_deref().filter(|s| !s.is_empty()) {
        pattern.services.insert(service.to_owned());
    }
    if pattern.example_ids.len() < MAX_EXAMPLE_IDS {
        pattern.example_ids.push(entry.id);
    }
}

fn combine(into: &mut LogPattern, from: LogPattern) {
    into.count += from.count;
    into.first_seen = into.first_seen.min(from.first_seen);
    into.last_seen = into.last_seen.max(from.last_seen);
    into.host_ids.extend(from.host_ids);
    into.services.extend(from.services);
    for id in from.example_ids {
        if into.example_ids.len() < MAX_EXAMPLE_IDS {
            into.example_ids.push(id);
        }
    }
}

/// Second pass: merges templates of one level and length that agree on most positions.
fn merge_similar(patterns: Vec<LogPattern>) -> Vec<LogPattern> {
    let mut out: Vec<LogPattern> = Vec::new();
    for pattern in patterns {
        let tokens: Vec<&str> = pattern.template.split(' ').collect();
        let target = out.iter().position(|candidate| {
            candidate.level == pattern.level && similar(&candidate.template, &tokens)
        });
        match target {
            Some(position) => {
                let merged_template = generalise(&out[position].template, &tokens);
                out[position].template = merged_template;
                combine(&mut out[position], pattern);
            }
            None => out.push(pattern),
        }
    }
    out
}

fn similar(template: &str, tokens: &[&str]) -> bool {
    let other: Vec<&str> = template.split(' ').collect();
    if other.len() != tokens.len() || tokens.is_empty() {
        return false;
    }
    // The first word usually names the event; templates that differ there stay apart.
    if other[0] != tokens[0] {
        return false;
    }
    let same = other.iter().zip(tokens).filter(|(a, b)| a == b).count();
    // Short templates need every position but one to agree, or two masked values would merge
    // unrelated messages ("disk full" / "disk ok").
    let ratio = same as f64 / tokens.len() as f64;
    ratio >= MERGE_SIMILARITY && tokens.len() - same <= tokens.len().div_ceil(3)
}

fn generalise(template: &str, tokens: &[&str]) -> String {
    template
        .split(' ')
        .zip(tokens)
        .map(|(a, b)| if a == *b { a } else { "<*>" })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The template of one message: whitespace-normalised, variable tokens masked.
pub fn template(message: &str) -> String {
    let mut out = String::new();
    for token in message.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&mask_token(token));
        if out.len() > MAX_TEMPLATE_CHARS {
            break;
        }
    }
    if out.len() > MAX_TEMPLATE_CHARS {
        let mut end = MAX_TEMPLATE_CHARS;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push('…');
    }
    out
}

/// One whitespace-separated token, masked if it is a variable value. Punctuation around it
/// (`(`, `)`, `,`, `:` at the end, quotes) is kept so the template stays readable.
fn mask_token(token: &str) -> String {
    if let Some((key, value)) = token.split_once('=')
        && !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        if value.is_empty() {
            return token.to_owned();
        }
        return format!("{key}={}", mask_token(value));
    }
    let start = token
        .find(|c: char| !matches!(c, '(' | '[' | '{' | '<'))
        .unwrap_or(token.len());
    let core_and_tail = &token[start..];
    let end = core_and_tail
        .rfind(|c: char| !matches!(c, ')' | ']' | '}' | '>' | ',' | ';' | '.' | ':'))
        .map_or(0, |i| {
            i + core_and_tail[i..].chars().next().map_or(1, char::len_utf8)
        });
    let (core, tail) = core_and_tail.split_at(end);
    let head = &token[..start];
    if core.is_empty() {
        return token.to_owned();
    }
    match classify(core) {
        Some(kind) => format!("{head}<{kind}>{tail}"),
        None => token.to_owned(),
    }
}

/// The kind of variable value `core` is, if it is one.
fn classify(core: &str) -> Option<&'static str> {
    let quoted = |q: char| core.len() >= 2 && core.starts_with(q) && core.ends_with(q);
    if quoted('"') || quoted('\'') || quoted('`') {
        return Some("str");
    }
    if core.contains("://") {
        return Some("url");
    }
    if core.contains('@') && core.contains('.') && !core.starts_with('@') {
        return Some("email");
    }
    if is_uuid(core) {
        return Some("uuid");
    }
    if is_ip_and_port(core) {
        return Some("ip");
    }
    if core.starts_with('/') && core.len() > 1 {
        return Some("path");
    }
    if is_number(core) {
        return Some("num");
    }
    if is_hex_id(core) {
        return Some("hex");
    }
    if core.chars().any(|c| c.is_ascii_digit())
        && core.chars().filter(|c| c.is_ascii_digit()).count() * 2 >= core.chars().count()
    {
        // Mostly digits with some letters: ids, durations (`250ms`), sizes (`12MB`), times.
        return Some("num");
    }
    None
}

fn is_number(core: &str) -> bool {
    let digits = core.trim_start_matches(['-', '+']);
    !digits.is_empty()
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '%')
}

fn is_hex_id(core: &str) -> bool {
    let hex = core.strip_prefix("0x").unwrap_or(core);
    hex.len() >= 8
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && hex.chars().any(|c| c.is_ascii_digit())
}

fn is_uuid(core: &str) -> bool {
    let parts: Vec<&str> = core.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_ip_and_port(core: &str) -> bool {
    let host = match core.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => core,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    core.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, second)
            .single()
            .unwrap_or_default()
    }

    fn line(id: i64, host_id: i64, level: &str, second: u32, message: &str) -> LogEntry {
        LogEntry {
            id,
            host_id,
            service: Some("api".to_owned()),
            source: None,
            level: Some(level.to_owned()),
            message: message.to_owned(),
            timestamp: at(second),
            created_at: at(second),
        }
    }

    #[test]
    fn variable_values_are_masked_by_kind() {
        assert_eq!(
            template("connect to 10.0.0.12:5432 failed after 250ms (attempt 3)"),
            "connect to <ip> failed after <num> (attempt <num>)"
        );
        assert_eq!(
            template("GET https://api.example.com/v1/x returned 503 for user=alice@example.com"),
            "GET <url> returned <num> for user=<email>"
        );
        assert_eq!(
            template("request 6f1c2a9e-3b7d-4c1a-9f00-1234567890ab took 1.5s, trace 0xdeadbeef01"),
            "request <uuid> took <num>, trace <hex>"
        );
        assert_eq!(
            template("open \"/data/x.db\" failed: /var/lib/app/x.db: No space left on device"),
            "open <str> failed: <path>: No space left on device"
        );
        assert_eq!(template("pid=4242 status=ok"), "pid=<num> status=ok");
        assert_eq!(template("  spaced   out\ttext "), "spaced out text");
    }

    #[test]
    fn secrets_never_reach_a_template_or_an_example() {
        let logs = vec![line(
            1,
            1,
            "ERROR",
            0,
            "login failed password=hunter2 for postgres://app:s3cret@db/app",
        )];
        let pattern = &cluster(&logs)[0];
        assert!(!pattern.template.contains("hunter2") && !pattern.template.contains("s3cret"));
        assert!(!pattern.example.contains("hunter2") && !pattern.example.contains("s3cret"));
        assert!(pattern.example.contains("[REDACTED:password]"));
    }

    #[test]
    fn ordinary_words_are_kept() {
        assert_eq!(
            template("Out of memory: Killed process nginx"),
            "Out of memory: Killed process nginx"
        );
        assert_eq!(template("ERROR: disk full"), "ERROR: disk full");
    }

    #[test]
    fn lines_of_one_template_join_with_counts_hosts_and_examples() {
        let mut logs = Vec::new();
        for i in 0..8 {
            logs.push(line(
                i + 1,
                1 + i % 3,
                "error",
                i as u32,
                &format!("connection refused to 10.0.0.{i}:5432"),
            ));
        }
        logs.push(line(20, 1, "WARN", 30, "slow query took 2300ms"));
        logs.push(line(21, 1, "ERROR", 40, "disk full on /var/lib/postgresql"));
        let patterns = cluster(&logs);
        assert_eq!(patterns.len(), 3);
        let first = &patterns[0];
        assert_eq!(first.level, "ERROR");
        assert_eq!(first.template, "connection refused to <ip>");
        assert_eq!(first.count, 8);
        assert_eq!(first.host_ids, BTreeSet::from([1, 2, 3]));
        assert_eq!(first.example_ids, vec![1, 2, 3, 4, 5]);
        assert_eq!(first.first_seen, at(0));
        assert_eq!(first.last_seen, at(7));
        // Ties are ordered by first appearance.
        assert_eq!(patterns[1].template, "slow query took <num>");
        assert_eq!(patterns[2].template, "disk full on <path>");
    }

    #[test]
    fn the_same_template_at_another_level_is_another_pattern() {
        let logs = vec![
            line(1, 1, "WARN", 0, "retrying job 17"),
            line(2, 1, "ERROR", 1, "retrying job 18"),
        ];
        let patterns = cluster(&logs);
        assert_eq!(patterns.len(), 2);
    }

    #[test]
    fn templates_that_differ_in_one_word_merge_but_different_events_do_not() {
        let logs = vec![
            line(1, 1, "ERROR", 0, "user alice failed to login from office"),
            line(2, 1, "ERROR", 1, "user bob failed to login from office"),
            line(3, 1, "ERROR", 2, "user carol failed to login from office"),
            line(4, 1, "ERROR", 3, "disk full"),
            line(5, 1, "ERROR", 4, "disk ok"),
        ];
        let patterns = cluster(&logs);
        assert_eq!(patterns[0].template, "user <*> failed to login from office");
        assert_eq!(patterns[0].count, 3);
        assert_eq!(patterns.len(), 3, "{patterns:#?}");
    }

    #[test]
    fn clustering_is_deterministic_whatever_the_input_order() {
        let mut logs: Vec<LogEntry> = (0..30)
            .map(|i| {
                line(
                    i,
                    i % 4,
                    if i % 2 == 0 { "ERROR" } else { "WARN" },
                    (i % 60) as u32,
                    &format!("event {} on shard {}", i % 3, i),
                )
            })
            .collect();
        let forward = cluster(&logs);
        logs.reverse();
        assert_eq!(cluster(&logs), forward);
    }

    #[test]
    fn a_huge_message_gives_a_bounded_template() {
        let message = "word ".repeat(10_000);
        let logs = vec![line(1, 1, "ERROR", 0, &message)];
        let patterns = cluster(&logs);
        assert!(patterns[0].template.chars().count() <= MAX_TEMPLATE_CHARS + 1);
        assert!(patterns[0].example.chars().count() <= MAX_TEMPLATE_CHARS);
    }

    #[test]
    fn an_empty_input_gives_no_patterns() {
        assert!(cluster(&[]).is_empty());
    }
}
