//! Log analysis: the model sees patterns with counts (from [`super::cluster`]), never hundreds of
//! raw lines; without a model, the same patterns give a deterministic assessment.

use serde_json::{Value, json};

use super::cluster::LogPattern;
use super::llm::ChatMessage;
use super::prompt::{DATA_BLOCK_RULE, DataBlock, strip_code_fence, user_message};

/// The most patterns shown to the model.
pub const MAX_PATTERNS: usize = 40;

/// The system message of a log analysis.
pub fn system_prompt() -> String {
    format!(
        "You are VigilOps, a site-reliability engineer reviewing the error and warning logs of \
         the monitored systems. {DATA_BLOCK_RULE}\n\
         The logs are given as patterns: a template with variable values masked, its level, how \
         many lines matched, when, on which hosts and services, and one example. Find the \
         anomalies, judge their risk and advise what to do. Never suggest shell commands.\n\
         Reply with one JSON object and nothing else:\n\
         {{\"severity\": \"info\" | \"warning\" | \"critical\", \"title\": string, \
         \"summary\": string, \"anomalies\": [{{\"pattern\": string, \"count\": number, \
         \"risk\": string, \"suggestion\": string}}], \"overall_assessment\": string}}\n\
         Write the text in Simplified Chinese (简体中文)."
    )
}

/// One line per pattern, most frequent first.
pub fn pattern_lines(patterns: &[LogPattern]) -> String {
    patterns
        .iter()
        .take(MAX_PATTERNS)
        .map(|p| {
            format!(
                "[{}] ×{} {} (first {}, last {}, hosts {:?}, services {:?}) example: {}",
                p.level,
                p.count,
                p.template,
                p.first_seen.format("%Y-%m-%d %H:%M:%S"),
                p.last_seen.format("%H:%M:%S"),
                p.host_ids,
                p.services,
                p.example
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The messages of a log analysis over `patterns` of `log_count` lines.
pub fn messages(patterns: &[LogPattern], log_count: i64, hours: f64) -> Vec<ChatMessage> {
    let task = format!(
        "Analyse {log_count} warning/error log lines of the last {hours} hour(s), clustered into \
         {} pattern(s){}.",
        patterns.len(),
        if patterns.len() > MAX_PATTERNS {
            format!(" (the {MAX_PATTERNS} most frequent are shown)")
        } else {
            String::new()
        }
    );
    vec![
        ChatMessage::system(system_prompt()),
        ChatMessage::user(user_message(
            &task,
            &[DataBlock::new("log patterns", &pattern_lines(patterns))],
        )),
    ]
}

/// The model's reply as the analysis object; a reply that is not a JSON object becomes the
/// `summary` of an otherwise empty analysis, as in the original.
pub fn parse_reply(reply: &str) -> Value {
    match serde_json::from_str::<Value>(strip_code_fence(reply)) {
        Ok(Value::Object(mut map)) => {
            let severity = map
                .get("severity")
                .and_then(Value::as_str)
                .filter(|s| matches!(*s, "info" | "warning" | "critical"))
                .unwrap_or("info")
                .to_owned();
            map.insert("severity".to_owned(), Value::String(severity));
            if !map.get("anomalies").is_some_and(Value::is_array) {
                map.insert("anomalies".to_owned(), json!([]));
            }
            Value::Object(map)
        }
        _ => json!({
            "severity": "info",
            "title": "Log analysis",
            "summary": reply.trim(),
            "anomalies": [],
            "overall_assessment": "",
        }),
    }
}

/// The analysis without a model: severity from the levels and volumes seen, one anomaly per
/// pattern (most frequent first), labelled as deterministic.
pub fn deterministic(patterns: &[LogPattern], log_count: i64) -> Value {
    let critical = patterns
        .iter()
        .any(|p| matches!(p.level.as_str(), "FATAL" | "CRITICAL"));
    let errors: usize = patterns
        .iter()
        .filter(|p| p.level == "ERROR")
        .map(|p| p.count)
        .sum();
    let severity = if critical || errors >= 100 {
        "critical"
    } else if errors > 0 {
        "warning"
    } else {
        "info"
    };
    let anomalies: Vec<Value> = patterns
        .iter()
        .take(10)
        .map(|p| {
            json!({
                "pattern": p.template,
                "count": p.count,
                "risk": match p.level.as_str() {
                    "FATAL" | "CRITICAL" => "high",
                    "ERROR" => "medium",
                    _ => "low",
                },
                "suggestion": format!(
                    "Look at the {} line(s) on host(s) {:?}{}",
                    p.count,
                    p.host_ids,
                    if p.services.is_empty() { String::new() } else { format!(", services {:?}", p.services) }
                ),
                "log_ids": p.example_ids,
            })
        })
        .collect();
    json!({
        "severity": severity,
        "title": format!("{log_count} problem log line(s) in {} pattern(s)", patterns.len()),
        "summary": patterns.first().map_or_else(
            || "No warning or error logs in the period.".to_owned(),
            |p| format!("Most frequent: [{}] {} ×{}", p.level, p.template, p.count),
        ),
        "anomalies": anomalies,
        "overall_assessment": "Deterministic clustering only (no LLM configured).",
        "method": "correlator",
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{TimeZone, Utc};
    use insta::assert_snapshot;

    use super::*;

    fn pattern(level: &str, count: usize, template: &str) -> LogPattern {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
            .single()
            .unwrap_or_default();
        LogPattern {
            level: level.to_owned(),
            template: template.to_owned(),
            count,
            first_seen: at,
            last_seen: at,
            host_ids: BTreeSet::from([1]),
            services: BTreeSet::from(["api".to_owned()]),
            example_ids: vec![11, 12],
            example: format!("{template} token=sk-abcdef1234567890abcdef"),
        }
    }

    #[test]
    fn the_prompt_shows_patterns_as_redacted_data() {
        let patterns = vec![
            pattern("ERROR", 412, "connection refused to <ip>"),
            pattern("WARN", 3, "slow query took <num>"),
        ];
        let messages = messages(&patterns, 415, 1.0);
        assert!(!messages[1].content.contains("sk-abcdef1234567890abcdef"));
        assert_snapshot!("log_analysis_user", messages[1].content);
    }

    #[test]
    fn a_json_reply_is_kept_and_normalised() {
        let analysis = parse_reply(
            "```json\n{\"severity\": \"urgent\", \"title\": \"t\", \"summary\": \"s\", \"anomalies\": null}\n```",
        );
        assert_eq!(analysis["severity"], "info");
        assert_eq!(analysis["anomalies"], json!([]));
        assert_eq!(analysis["title"], "t");
    }

    #[test]
    fn a_plain_text_reply_becomes_the_summary() {
        let analysis = parse_reply("Everything looks fine.");
        assert_eq!(analysis["summary"], "Everything looks fine.");
        assert_eq!(analysis["severity"], "info");
    }

    #[test]
    fn without_a_model_severity_follows_levels_and_volume() {
        assert_eq!(deterministic(&[], 0)["severity"], "info");
        let warn = vec![pattern("WARN", 5, "w")];
        assert_eq!(deterministic(&warn, 5)["severity"], "info");
        let error = vec![pattern("ERROR", 5, "e")];
        assert_eq!(deterministic(&error, 5)["severity"], "warning");
        let storm = vec![pattern("ERROR", 150, "e")];
        assert_eq!(deterministic(&storm, 150)["severity"], "critical");
        let fatal = vec![pattern("FATAL", 1, "f")];
        let analysis = deterministic(&fatal, 1);
        assert_eq!(analysis["severity"], "critical");
        assert_eq!(analysis["anomalies"][0]["log_ids"], json!([11, 12]));
        assert_eq!(analysis["method"], "correlator");
    }
}
