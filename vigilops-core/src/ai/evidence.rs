//! Evidence: the facts around an alert, each pointing at the exact stored data it came from
//! (a metric series and time range, log line ids, service check ids, alert ids, command ids,
//! memory ids), with when it started to move and how far from normal it went.
//!
//! The builders here are pure: they turn rows into [`EvidenceItem`]s. `gather` reads the rows;
//! `correlate` ranks the items; the LLM sees the same items, by id.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cluster::LogPattern;
use crate::model::{MetricPoint, MetricValues, ServiceCheckPoint};
use crate::stats::{MAD_TO_SIGMA, median_and_mad};

/// The stored data an evidence item refers to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EvidenceRef {
    /// Samples of one host metric in a time range (`GET /hosts/{id}/metrics`).
    MetricSeries {
        host_id: i64,
        metric: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Log lines (`log_ids` are the first lines of a pattern).
    Logs {
        log_ids: Vec<i64>,
        count: usize,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Checks of a service.
    ServiceChecks {
        service_id: i64,
        check_ids: Vec<i64>,
    },
    /// Another alert.
    Alert { alert_id: i64 },
    /// A command run on the host through its agent (a remediation or a manual action).
    Command { request_id: String },
    /// A remembered past incident.
    Memory { memory_id: i64 },
}

/// One fact, with its reference and timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceItem {
    /// Short id the analysis cites (`E1`, `E2`, …), unique within one analysis.
    pub id: String,
    /// What the fact is about: `host:web-01`, `service:postgres@db-01`.
    pub component: String,
    pub reference: EvidenceRef,
    /// One line for people and for the model.
    pub summary: String,
    /// When the signal started to deviate; `None` for context that does not move (memories).
    pub onset: Option<DateTime<Utc>>,
    /// Whether the signal is abnormal (as opposed to context).
    pub anomalous: bool,
    /// How strongly it deviates, 0 to 1.
    pub strength: f64,
}

/// The metrics of a host sample an analysis looks at, with a unit and the smallest change that
/// matters (so a flat series with tiny noise is not "anomalous").
pub const HOST_METRICS: &[(&str, &str, f64)] = &[
    ("cpu_percent", "%", 5.0),
    ("memory_percent", "%", 3.0),
    ("disk_percent", "%", 1.0),
    ("cpu_load_1", "", 0.5),
    ("net_send_rate_kb", " KB/s", 50.0),
    ("net_recv_rate_kb", " KB/s", 50.0),
    ("net_packet_loss_rate", "%", 1.0),
];

/// The value of `metric` in a sample.
pub fn metric_value(values: &MetricValues, metric: &str) -> Option<f64> {
    match metric {
        "cpu_percent" => values.cpu_percent,
        "memory_percent" => values.memory_percent,
        "disk_percent" => values.disk_percent,
        "cpu_load_1" => values.cpu_load_1,
        "cpu_load_5" => values.cpu_load_5,
        "cpu_load_15" => values.cpu_load_15,
        "memory_used_mb" => values.memory_used_mb,
        "disk_used_mb" => values.disk_used_mb,
        "net_send_rate_kb" => values.net_send_rate_kb,
        "net_recv_rate_kb" => values.net_recv_rate_kb,
        "net_packet_loss_rate" => values.net_packet_loss_rate,
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// Where a series left its normal range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Onset {
    pub at: DateTime<Utc>,
    /// The median before the change.
    pub baseline: f64,
    /// The value furthest from the baseline after the change.
    pub peak: f64,
    pub strength: f64,
}

/// The onset of a change in `points` (time-ordered), judged against the samples before
/// `baseline_until`: the first sample from which the series stays more than four robust
/// deviations (and at least `min_change`) away from the baseline median for two samples in a
/// row (or is the last sample). `None` if it never does or there is too little baseline.
pub fn series_onset(
    points: &[(DateTime<Utc>, f64)],
    baseline_until: DateTime<Utc>,
    min_change: f64,
) -> Option<Onset> {
    let baseline: Vec<f64> = points
        .iter()
        .filter(|(at, _)| *at < baseline_until)
        .map(|(_, v)| *v)
        .collect();
    if baseline.len() < 3 {
        return None;
    }
    let (median, mad) = median_and_mad(&baseline)?;
    let scale = (4.0 * MAD_TO_SIGMA * mad).max(min_change);
    let start = points.iter().position(|(at, _)| *at >= baseline_until)?;
    let after = &points[start..];
    let out = |v: f64| (v - median).abs() > scale;
    let first = after
        .iter()
        .enumerate()
        .position(|(i, (_, v))| out(*v) && after.get(i + 1).is_none_or(|(_, next)| out(*next)))?;
    let peak = after[first..]
        .iter()
        .map(|(_, v)| *v)
        .fold(after[first].1, |best, v| {
            if (v - median).abs() > (best - median).abs() {
                v
            } else {
                best
            }
        });
    Some(Onset {
        at: after[first].0,
        baseline: median,
        peak,
        strength: ((peak - median).abs() / (2.0 * scale)).min(1.0),
    })
}

/// The items of a host's metric series that moved: one per metric with an onset.
pub fn metric_items(
    host_id: i64,
    component: &str,
    points: &[MetricPoint],
    window: (DateTime<Utc>, DateTime<Utc>),
    baseline_until: DateTime<Utc>,
) -> Vec<EvidenceItem> {
    let mut items = Vec::new();
    for (metric, unit, min_change) in HOST_METRICS {
        let series: Vec<(DateTime<Utc>, f64)> = points
            .iter()
            .filter_map(|p| metric_value(&p.values, metric).map(|v| (p.recorded_at, v)))
            .collect();
        let Some(onset) = series_onset(&series, baseline_until, *min_change) else {
            continue;
        };
        let direction = if onset.peak > onset.baseline {
            "rose"
        } else {
            "fell"
        };
        items.push(EvidenceItem {
            id: String::new(),
            component: component.to_owned(),
            reference: EvidenceRef::MetricSeries {
                host_id,
                metric: (*metric).to_owned(),
                from: window.0,
                to: window.1,
            },
            summary: format!(
                "{metric} on {component} {direction} from {:.1}{unit} to {:.1}{unit} starting {}",
                onset.baseline,
                onset.peak,
                onset.at.format("%H:%M:%S")
            ),
            onset: Some(onset.at),
            anomalous: true,
            strength: onset.strength,
        });
    }
    items
}

/// The item of a service's checks: when it went down (after being up, or from the start of the
/// window), how many checks failed, and the errors seen. `None` when every check passed.
pub fn service_item(
    service_id: i64,
    component: &str,
    checks: &[ServiceCheckPoint],
) -> Option<EvidenceItem> {
    let is_up = |status: &str| status.eq_ignore_ascii_case("up");
    let last_up = checks.iter().rposition(|c| is_up(&c.status));
    // The outage still open at the end of the window, or else the last one in it.
    let outage_start = match last_up {
        Some(i) if i + 1 < checks.len() => i + 1,
        Some(_) => {
            // Up at the end: look for the last outage that recovered.
            let end = checks.iter().rposition(|c| !is_up(&c.status))?;
            checks[..end]
                .iter()
                .rposition(|c| is_up(&c.status))
                .map_or(0, |i| i + 1)
        }
        None => 0,
    };
    let failed: Vec<&ServiceCheckPoint> = checks[outage_start..]
        .iter()
        .take_while(|c| !is_up(&c.status))
        .collect();
    let first = failed.first()?;
    let error = failed
        .iter()
        .find_map(|c| c.error.as_deref())
        .map(|e| format!(" ({})", e.chars().take(120).collect::<String>()))
        .unwrap_or_default();
    let recovered = checks.len() > outage_start + failed.len();
    Some(EvidenceItem {
        id: String::new(),
        component: component.to_owned(),
        reference: EvidenceRef::ServiceChecks {
            service_id,
            check_ids: failed.iter().take(5).map(|c| c.id).collect(),
        },
        summary: format!(
            "{component} checks failed from {}: {} failed check(s){error}{}",
            first.checked_at.format("%H:%M:%S"),
            failed.len(),
            if recovered { ", then recovered" } else { "" }
        ),
        onset: Some(first.checked_at),
        anomalous: true,
        strength: 1.0,
    })
}

/// The item of one log pattern. A pattern first seen before `new_after` (the end of the
/// baseline) was already there: background noise, context rather than a cause. A new one is
/// scored by level and volume.
pub fn log_item(component: &str, pattern: &LogPattern, new_after: DateTime<Utc>) -> EvidenceItem {
    let level_weight = match pattern.level.as_str() {
        "FATAL" | "CRITICAL" => 1.0,
        "ERROR" => 0.8,
        "WARN" | "WARNING" => 0.4,
        _ => 0.2,
    };
    let new = pattern.first_seen >= new_after;
    let volume = (pattern.count as f64 / 10.0).clamp(0.3, 1.0);
    EvidenceItem {
        id: String::new(),
        component: component.to_owned(),
        reference: EvidenceRef::Logs {
            log_ids: pattern.example_ids.clone(),
            count: pattern.count,
            from: pattern.first_seen,
            to: pattern.last_seen,
        },
        summary: format!(
            "{} × {} \"{}\" on {component}, {} to {}{}",
            pattern.count,
            pattern.level,
            pattern.template,
            pattern.first_seen.format("%H:%M:%S"),
            pattern.last_seen.format("%H:%M:%S"),
            if new { "" } else { " (already present before)" }
        ),
        onset: Some(pattern.first_seen),
        anomalous: new && level_weight >= 0.4,
        strength: if new { level_weight * volume } else { 0.1 },
    }
}

/// Numbers the items `E1`, `E2`, … in order.
pub fn number(items: &mut [EvidenceItem]) {
    for (i, item) in items.iter_mut().enumerate() {
        item.id = format!("E{}", i + 1);
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 9, minute, 0)
            .single()
            .unwrap_or_default()
    }

    fn check(id: i64, minute: u32, status: &str) -> ServiceCheckPoint {
        ServiceCheckPoint {
            id,
            service_id: 7,
            status: status.to_owned(),
            response_time_ms: None,
            status_code: None,
            error: (status != "up").then(|| "connection refused".to_owned()),
            checked_at: at(minute),
        }
    }

    #[test]
    fn a_step_change_has_its_onset_at_the_first_sustained_sample() {
        let mut points: Vec<(DateTime<Utc>, f64)> =
            (0..20).map(|m| (at(m), 40.0 + f64::from(m % 3))).collect();
        // A single spike does not count; the sustained rise at minute 24 does.
        points.push((at(21), 80.0));
        points.push((at(22), 41.0));
        points.push((at(23), 40.0));
        points.extend((24..30).map(|m| (at(m), 95.0)));
        let onset = series_onset(&points, at(20), 5.0).expect("onset");
        assert_eq!(onset.at, at(24));
        assert_eq!(onset.baseline, 41.0);
        assert_eq!(onset.peak, 95.0);
        assert!(onset.strength > 0.9);
    }

    #[test]
    fn noise_and_small_changes_have_no_onset() {
        let points: Vec<(DateTime<Utc>, f64)> = (0..30)
            .map(|m| (at(m), 50.0 + if m % 2 == 0 { 1.5 } else { -1.5 }))
            .collect();
        assert_eq!(series_onset(&points, at(15), 5.0), None);
        // Too little baseline to judge.
        let short = vec![(at(0), 1.0), (at(1), 1.0), (at(2), 90.0), (at(3), 90.0)];
        assert_eq!(series_onset(&short, at(2), 5.0), None);
    }

    #[test]
    fn a_falling_series_is_a_change_too() {
        let mut points: Vec<(DateTime<Utc>, f64)> = (0..10).map(|m| (at(m), 500.0)).collect();
        points.extend((10..15).map(|m| (at(m), 0.0)));
        let onset = series_onset(&points, at(10), 50.0).expect("onset");
        assert_eq!(onset.at, at(10));
        assert_eq!(onset.peak, 0.0);
    }

    #[test]
    fn a_service_outage_starts_at_the_first_failed_check_after_the_last_success() {
        let checks = vec![
            check(1, 0, "up"),
            check(2, 1, "down"),
            check(3, 2, "up"),
            check(4, 3, "up"),
            check(5, 4, "down"),
            check(6, 5, "down"),
        ];
        let item = service_item(7, "service:db@db-01", &checks).expect("item");
        assert_eq!(item.onset, Some(at(4)));
        assert_eq!(
            item.reference,
            EvidenceRef::ServiceChecks {
                service_id: 7,
                check_ids: vec![5, 6]
            }
        );
        assert!(
            item.summary
                .contains("2 failed check(s) (connection refused)")
        );
    }

    #[test]
    fn a_recovered_outage_is_reported_and_a_healthy_service_is_not() {
        let checks = vec![check(1, 0, "up"), check(2, 1, "down"), check(3, 2, "up")];
        let item = service_item(7, "service:db@db-01", &checks).expect("item");
        assert_eq!(item.onset, Some(at(1)));
        assert!(item.summary.ends_with(", then recovered"));
        let healthy = vec![check(1, 0, "up"), check(2, 1, "up")];
        assert_eq!(service_item(7, "s", &healthy), None);
        assert_eq!(service_item(7, "s", &[]), None);
        // Down for the whole window: the outage starts at the first check seen.
        let down = vec![check(1, 0, "down"), check(2, 1, "down")];
        assert_eq!(
            service_item(7, "s", &down).and_then(|i| i.onset),
            Some(at(0))
        );
    }

    #[test]
    fn a_new_error_pattern_is_anomalous_and_an_old_one_is_context() {
        let pattern = LogPattern {
            level: "ERROR".to_owned(),
            template: "connection refused to <ip>".to_owned(),
            count: 12,
            first_seen: at(25),
            last_seen: at(29),
            host_ids: [1].into(),
            services: ["api".to_owned()].into(),
            example_ids: vec![3, 4, 5],
            example: "connection refused to 10.0.0.2:5432".to_owned(),
        };
        let item = log_item("service:api@web-01", &pattern, at(5));
        assert!(item.anomalous);
        assert!((item.strength - 0.8).abs() < 1e-9);
        let old = LogPattern {
            first_seen: at(1),
            ..pattern
        };
        let item = log_item("service:api@web-01", &old, at(5));
        assert!(!item.anomalous);
        assert!(item.summary.contains("already present before"));
    }

    #[test]
    fn items_are_numbered_in_order() {
        let mut items = vec![
            log_item(
                "c",
                &LogPattern {
                    level: "WARN".to_owned(),
                    template: "t".to_owned(),
                    count: 1,
                    first_seen: at(0),
                    last_seen: at(0),
                    host_ids: Default::default(),
                    services: Default::default(),
                    example_ids: vec![1],
                    example: "t".to_owned(),
                },
                at(0),
            );
            2
        ];
        number(&mut items);
        assert_eq!(items[0].id, "E1");
        assert_eq!(items[1].id, "E2");
    }
}
