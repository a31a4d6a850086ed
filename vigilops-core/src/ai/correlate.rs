//! The deterministic evidence correlator: root cause without a model.
//!
//! It answers "what moved first, and did a dependency fail first?" from the evidence items:
//! 1. Only abnormal signals that started before the alert fired (plus a short grace) count.
//! 2. Signals are grouped by component; a component's onset is its earliest signal.
//! 3. A dependency of the alert's target that failed before the target is the cause (a
//!    failing upstream explains its dependents); otherwise the earliest component is.
//! 4. Confidence grows with corroborating signals on the cause and with the lead it has over
//!    the next component; with no qualifying signal it says there is not enough evidence.
//!
//! Its result is labelled `correlator` and is what the LLM receives as a starting point.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::evidence::{EvidenceItem, EvidenceRef};

/// How long after the alert fired a signal may start and still count as part of the cause
/// (samples and checks arrive on their own intervals).
pub const ONSET_GRACE: Duration = Duration::seconds(60);
/// The lead over the next component from which the order is considered clear.
const CLEAR_LEAD: Duration = Duration::seconds(30);

/// How sure an analysis is, as the original's word plus a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The original's word for a model's number (remediation diagnosis uses numbers).
    pub fn from_score(score: f64) -> Self {
        if score >= 0.75 {
            Self::High
        } else if score >= 0.45 {
            Self::Medium
        } else {
            Self::Low
        }
    }
}

/// A claim and the evidence it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub statement: String,
    /// Evidence ids (`E1`, …).
    pub evidence: Vec<String>,
}

/// A cause that was considered, and why it ranks where it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    pub cause: String,
    pub confidence: Confidence,
    pub evidence: Vec<String>,
    /// Why it is not the chosen cause; `None` for the chosen one.
    pub rejected_because: Option<String>,
}

/// The alert an analysis is about, as the correlator needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub fired_at: DateTime<Utc>,
    /// The component the alert is on (`host:web-01`, `service:api@web-01`).
    pub target: String,
    /// Components the target depends on (its upstream services, transitively).
    pub upstream: BTreeSet<String>,
}

/// What the correlator concluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// The first-failing component, when the evidence names one.
    pub first_failing: Option<String>,
    /// The cause in words; `None` when there is not enough evidence.
    pub root_cause: Option<String>,
    pub confidence: Confidence,
    /// The claims that support the cause, each citing evidence.
    pub evidence: Vec<Claim>,
    /// Every component considered, the chosen one first.
    pub hypotheses: Vec<Hypothesis>,
}

struct Candidate<'a> {
    component: &'a str,
    onset: DateTime<Utc>,
    items: Vec<&'a EvidenceItem>,
    strength: f64,
}

/// Correlates `items` around `subject`.
pub fn correlate(subject: &Subject, items: &[EvidenceItem]) -> Correlation {
    let deadline = subject.fired_at + ONSET_GRACE;
    let mut by_component: BTreeMap<&str, Candidate<'_>> = BTreeMap::new();
    for item in items {
        let Some(onset) = item.onset else { continue };
        if !item.anomalous || onset > deadline {
            continue;
        }
        let entry = by_component
            .entry(item.component.as_str())
            .or_insert_with(|| Candidate {
                component: item.component.as_str(),
                onset,
                items: Vec::new(),
                strength: 0.0,
            });
        entry.onset = entry.onset.min(onset);
        entry.strength = entry.strength.max(item.strength);
        entry.items.push(item);
    }
    let mut candidates: Vec<Candidate<'_>> = by_component.into_values().collect();
    // Earliest first; on equal onsets, the stronger, then by name (deterministic).
    candidates.sort_by(|a, b| {
        a.onset
            .cmp(&b.onset)
            .then(b.strength.total_cmp(&a.strength))
            .then(a.component.cmp(b.component))
    });
    for candidate in &mut candidates {
        candidate
            .items
            .sort_by(|a, b| a.onset.cmp(&b.onset).then(a.id.cmp(&b.id)));
    }
    if candidates.is_empty() {
        return Correlation {
            first_failing: None,
            root_cause: None,
            confidence: Confidence::Low,
            evidence: Vec::new(),
            hypotheses: Vec::new(),
        };
    }
    // An upstream dependency that failed no later than the target explains it.
    let target_onset = candidates
        .iter()
        .find(|c| c.component == subject.target)
        .map(|c| c.onset);
    let chosen = candidates
        .iter()
        .position(|c| {
            subject.upstream.contains(c.component)
                && target_onset.is_none_or(|target| c.onset <= target)
        })
        .unwrap_or(0);
    let cause = &candidates[chosen];
    let next_onset = candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != chosen)
        .map(|(_, c)| c.onset)
        .min();
    let lead_is_clear = next_onset.is_none_or(|next| next - cause.onset >= CLEAR_LEAD);
    let is_dependency = subject.upstream.contains(cause.component);
    let confidence = match (cause.items.len() >= 2, lead_is_clear || is_dependency) {
        (true, true) => Confidence::High,
        (false, true) | (true, false) => Confidence::Medium,
        (false, false) => Confidence::Low,
    };
    let root_cause = if is_dependency {
        format!(
            "{} failed first at {}; {} depends on it",
            cause.component,
            cause.onset.format("%H:%M:%S"),
            subject.target
        )
    } else if cause.component == subject.target {
        format!(
            "the problem started on {} itself at {}",
            cause.component,
            cause.onset.format("%H:%M:%S")
        )
    } else {
        format!(
            "{} moved first at {}, before {}",
            cause.component,
            cause.onset.format("%H:%M:%S"),
            subject.target
        )
    };
    let evidence = cause
        .items
        .iter()
        .map(|item| Claim {
            statement: item.summary.clone(),
            evidence: vec![item.id.clone()],
        })
        .collect();
    let mut hypotheses = vec![Hypothesis {
        cause: cause.component.to_owned(),
        confidence,
        evidence: cause.items.iter().map(|i| i.id.clone()).collect(),
        rejected_because: None,
    }];
    for (i, other) in candidates.iter().enumerate() {
        if i == chosen {
            continue;
        }
        let reason = if other.onset > cause.onset {
            format!(
                "started at {}, {}s after {}",
                other.onset.format("%H:%M:%S"),
                (other.onset - cause.onset).num_seconds(),
                cause.component
            )
        } else if is_dependency {
            format!(
                "started earlier, but {} is a dependency of {} and failed before it",
                cause.component, subject.target
            )
        } else {
            "ranked below a stronger signal with the same onset".to_owned()
        };
        hypotheses.push(Hypothesis {
            cause: other.component.to_owned(),
            confidence: Confidence::Low,
            evidence: other.items.iter().map(|i| i.id.clone()).collect(),
            rejected_because: Some(reason),
        });
    }
    Correlation {
        first_failing: Some(cause.component.to_owned()),
        root_cause: Some(root_cause),
        confidence,
        evidence,
        hypotheses,
    }
}

/// The registered runbook the evidence of the cause points at, if any is registered:
/// disk growth → `disk_cleanup`, memory → `memory_pressure`, a failed service check →
/// `service_restart`, connection exhaustion → `connection_reset`, zombies → `zombie_killer`,
/// an oversized log → `log_rotation`.
pub fn suggest_runbook(
    correlation: &Correlation,
    items: &[EvidenceItem],
    registered: &[&str],
) -> Option<String> {
    let cause_ids: BTreeSet<&str> = correlation
        .hypotheses
        .first()
        .map(|h| h.evidence.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut wanted = Vec::new();
    for item in items.iter().filter(|i| cause_ids.contains(i.id.as_str())) {
        let summary = item.summary.to_ascii_lowercase();
        match &item.reference {
            EvidenceRef::MetricSeries { metric, .. } if metric.starts_with("disk") => {
                wanted.push("disk_cleanup");
            }
            EvidenceRef::MetricSeries { metric, .. } if metric.starts_with("memory") => {
                wanted.push("memory_pressure");
            }
            EvidenceRef::Logs { .. } if summary.contains("too many connections") => {
                wanted.push("connection_reset");
            }
            EvidenceRef::Logs { .. }
                if summary.contains("zombie") || summary.contains("defunct") =>
            {
                wanted.push("zombie_killer");
            }
            EvidenceRef::Logs { .. }
                if summary.contains("no space left") || summary.contains("log file too large") =>
            {
                wanted.push("log_rotation");
            }
            EvidenceRef::ServiceChecks { .. } => wanted.push("service_restart"),
            _ => {}
        }
    }
    wanted
        .into_iter()
        .find(|name| registered.contains(name))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 9, minute, second)
            .single()
            .unwrap_or_default()
    }

    fn item(
        id: &str,
        component: &str,
        onset: DateTime<Utc>,
        reference: EvidenceRef,
    ) -> EvidenceItem {
        EvidenceItem {
            id: id.to_owned(),
            component: component.to_owned(),
            reference,
            summary: format!("{component} signal {id}"),
            onset: Some(onset),
            anomalous: true,
            strength: 0.8,
        }
    }

    fn checks(service_id: i64) -> EvidenceRef {
        EvidenceRef::ServiceChecks {
            service_id,
            check_ids: vec![1],
        }
    }

    fn logs() -> EvidenceRef {
        EvidenceRef::Logs {
            log_ids: vec![1],
            count: 1,
            from: at(0, 0),
            to: at(0, 0),
        }
    }

    fn subject(target: &str, upstream: &[&str]) -> Subject {
        Subject {
            fired_at: at(10, 0),
            target: target.to_owned(),
            upstream: upstream.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_dependency_that_failed_first_is_the_cause() {
        let items = vec![
            item("E1", "service:api@web", at(9, 10), logs()),
            item("E2", "service:api@web", at(9, 40), checks(2)),
            item("E3", "service:db@db", at(9, 0), checks(1)),
            item("E4", "service:db@db", at(9, 2), logs()),
        ];
        let result = correlate(&subject("service:api@web", &["service:db@db"]), &items);
        assert_eq!(result.first_failing.as_deref(), Some("service:db@db"));
        assert_eq!(result.confidence, Confidence::High);
        assert_eq!(
            result
                .evidence
                .iter()
                .map(|c| c.evidence[0].as_str())
                .collect::<Vec<_>>(),
            vec!["E3", "E4"]
        );
        assert_eq!(result.hypotheses.len(), 2);
        assert_eq!(result.hypotheses[1].cause, "service:api@web");
        assert!(result.hypotheses[1].rejected_because.is_some());
        assert!(
            result
                .root_cause
                .unwrap_or_default()
                .contains("depends on it")
        );
    }

    #[test]
    fn a_loud_later_signal_does_not_win_over_the_first_mover() {
        let mut loud = item("E2", "host:cache", at(9, 30), logs());
        loud.strength = 1.0;
        let mut quiet = item("E1", "host:web", at(9, 0), logs());
        quiet.strength = 0.3;
        let result = correlate(&subject("host:web", &[]), &[loud, quiet]);
        assert_eq!(result.first_failing.as_deref(), Some("host:web"));
        assert_eq!(result.confidence, Confidence::Medium);
    }

    #[test]
    fn signals_after_the_alert_and_context_do_not_count() {
        let mut context = item("E1", "host:web", at(9, 0), logs());
        context.anomalous = false;
        let late = item("E2", "host:other", at(11, 1), logs());
        let result = correlate(&subject("host:web", &[]), &[context, late]);
        assert_eq!(result.first_failing, None);
        assert_eq!(result.root_cause, None);
        assert_eq!(result.confidence, Confidence::Low);
        assert!(result.evidence.is_empty());
    }

    #[test]
    fn a_dependency_failing_after_the_target_is_not_blamed() {
        let items = vec![
            item("E1", "service:api@web", at(9, 0), checks(2)),
            item("E2", "service:db@db", at(9, 30), checks(1)),
        ];
        let result = correlate(&subject("service:api@web", &["service:db@db"]), &items);
        assert_eq!(result.first_failing.as_deref(), Some("service:api@web"));
    }

    #[test]
    fn near_simultaneous_onsets_lower_the_confidence() {
        let items = vec![
            item("E1", "host:a", at(9, 0), logs()),
            item("E2", "host:b", at(9, 0) + Duration::seconds(5), logs()),
        ];
        let result = correlate(&subject("host:c", &[]), &items);
        assert_eq!(result.confidence, Confidence::Low);
    }

    #[test]
    fn the_runbook_follows_the_cause_and_must_be_registered() {
        let items = vec![item(
            "E1",
            "host:web",
            at(9, 0),
            EvidenceRef::MetricSeries {
                host_id: 1,
                metric: "disk_percent".to_owned(),
                from: at(0, 0),
                to: at(20, 0),
            },
        )];
        let result = correlate(&subject("host:web", &[]), &items);
        assert_eq!(
            suggest_runbook(&result, &items, &["disk_cleanup", "service_restart"]).as_deref(),
            Some("disk_cleanup")
        );
        assert_eq!(suggest_runbook(&result, &items, &["service_restart"]), None);
    }

    #[test]
    fn confidence_words_follow_scores() {
        assert_eq!(Confidence::from_score(0.9), Confidence::High);
        assert_eq!(Confidence::from_score(0.5), Confidence::Medium);
        assert_eq!(Confidence::from_score(0.1), Confidence::Low);
    }
}
