//! From an alert to a runbook: the alert's type and labels (`remediation-and-ai.md` §1, "Alert →
//! runbook input"), and the matching order of §2.

use std::collections::BTreeMap;

use super::runbook::Runbook;

/// The `alert_type` of an alert from its rule's metric (or rule type when there is no metric).
pub fn alert_type(metric: &str) -> String {
    match metric {
        "disk_percent" => "disk_usage_high".to_owned(),
        "memory_percent" => "memory_usage_high".to_owned(),
        "service_down" => "service_down".to_owned(),
        m if m.starts_with("connections_") => "too_many_connections".to_owned(),
        other => other.to_owned(),
    }
}

/// A service name without its `" (:port)"` suffix: `nginx (:80)` → `nginx`.
pub fn service_name(name: &str) -> String {
    match name.rfind(" (:") {
        Some(at) if name.ends_with(')') => name[..at].trim().to_owned(),
        _ => name.trim().to_owned(),
    }
}

/// What is known about the alert for its labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFacts<'a> {
    pub hostname: Option<&'a str>,
    pub service_name: Option<&'a str>,
    pub service_id: Option<i64>,
    pub metric: Option<&'a str>,
    pub db_name: Option<&'a str>,
    pub threshold: Option<f64>,
}

/// The labels placeholders are filled from. Only known facts become labels: a placeholder
/// without one stops the run ("Missing label").
pub fn labels(facts: &AlertFacts<'_>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if let Some(host) = facts.hostname {
        labels.insert("host".to_owned(), host.to_owned());
    }
    if let Some(service) = facts.service_name {
        labels.insert("service_name".to_owned(), service_name(service));
    }
    if let Some(id) = facts.service_id {
        labels.insert("service_id".to_owned(), id.to_string());
    }
    if let Some(metric) = facts.metric {
        labels.insert("metric".to_owned(), metric.to_owned());
    }
    if let Some(db) = facts.db_name {
        labels.insert("db_name".to_owned(), db.to_owned());
    }
    if let Some(threshold) = facts.threshold {
        labels.insert("threshold".to_owned(), threshold.to_string());
    }
    labels
}

/// How a runbook was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The diagnosis suggested it.
    Diagnosis,
    /// Its `match_alert_types` contain the alert type (ties broken by keyword hits).
    AlertType,
    /// One of its keywords is in the alert's message or type.
    Keyword,
}

/// The runbook for an alert, in the reference's order: the diagnosis's suggestion when it names
/// a known runbook; else those matching the alert type (most keyword hits in message and type
/// wins, then the first); else the first with any keyword in message and type
/// (case-insensitive).
pub fn match_runbook<'a>(
    runbooks: &'a [Runbook],
    suggested: Option<&str>,
    alert_type: &str,
    message: &str,
) -> Option<(&'a Runbook, MatchedBy)> {
    if let Some(found) = suggested.and_then(|name| runbooks.iter().find(|r| r.name() == name)) {
        return Some((found, MatchedBy::Diagnosis));
    }
    let haystack = format!("{message} {alert_type}").to_lowercase();
    let hits = |runbook: &Runbook| {
        runbook
            .spec()
            .keywords
            .iter()
            .filter(|k| haystack.contains(&k.to_lowercase()))
            .count()
    };
    let by_type = runbooks
        .iter()
        .enumerate()
        .filter(|(_, r)| r.spec().match_alert_types.iter().any(|t| t == alert_type))
        // Most hits first; on a tie the earlier runbook.
        .max_by(|(ia, a), (ib, b)| hits(a).cmp(&hits(b)).then(ib.cmp(ia)))
        .map(|(_, r)| r);
    if let Some(found) = by_type {
        return Some((found, MatchedBy::AlertType));
    }
    runbooks
        .iter()
        .find(|r| hits(r) > 0)
        .map(|r| (r, MatchedBy::Keyword))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediation::builtin::builtin_runbooks;

    #[test]
    fn alert_types_follow_the_reference_table() {
        assert_eq!(alert_type("disk_percent"), "disk_usage_high");
        assert_eq!(alert_type("memory_percent"), "memory_usage_high");
        assert_eq!(alert_type("service_down"), "service_down");
        assert_eq!(alert_type("connections_active"), "too_many_connections");
        assert_eq!(alert_type("cpu_percent"), "cpu_percent");
    }

    #[test]
    fn labels_strip_the_port_suffix_and_skip_unknown_facts() {
        let labels = labels(&AlertFacts {
            hostname: Some("web-01"),
            service_name: Some("nginx (:80)"),
            service_id: Some(7),
            metric: Some("service_down"),
            db_name: None,
            threshold: Some(1.0),
        });
        assert_eq!(labels["service_name"], "nginx");
        assert_eq!(labels["host"], "web-01");
        assert_eq!(labels["service_id"], "7");
        assert!(!labels.contains_key("db_name"));
        assert_eq!(service_name("api"), "api");
        assert_eq!(service_name("weird (:x"), "weird (:x");
    }

    #[test]
    fn the_reference_matching_order_holds() {
        let runbooks = builtin_runbooks().expect("the built-ins load");
        // A known suggestion wins over everything.
        let (found, by) =
            match_runbook(&runbooks, Some("log_rotation"), "service_down", "").expect("match");
        assert_eq!((found.name(), by), ("log_rotation", MatchedBy::Diagnosis));
        // An unknown suggestion is ignored.
        let (found, by) =
            match_runbook(&runbooks, Some("rm_rf"), "service_down", "api is down").expect("match");
        assert_eq!(
            (found.name(), by),
            ("service_restart", MatchedBy::AlertType)
        );
        // disk_full matches disk_cleanup and log_rotation: keyword hits decide.
        let (found, _) = match_runbook(
            &runbooks,
            None,
            "disk_full",
            "log growing fast, log rotation needed",
        )
        .expect("match");
        assert_eq!(found.name(), "log_rotation");
        let (found, _) =
            match_runbook(&runbooks, None, "disk_full", "no space left on device").expect("match");
        assert_eq!(found.name(), "disk_cleanup");
        // No type match: the first runbook with a keyword.
        let (found, by) =
            match_runbook(&runbooks, None, "cpu_percent", "too many zombie processes")
                .expect("match");
        assert_eq!((found.name(), by), ("zombie_killer", MatchedBy::Keyword));
        assert!(match_runbook(&runbooks, None, "cpu_percent", "cpu at 99").is_none());
    }
}
