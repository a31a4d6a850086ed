//! The run-level safety decision (`remediation-and-ai.md` §3, checks 4–6, and ours): the
//! circuit breaker, the rate limiter, the risk assessment, the hourly cap of automatic runs,
//! the kill switch, the per-host opt-out and maintenance windows.
//!
//! Unlike the original, which returned the first matching risk rule, every rule is applied and
//! the most restrictive result kept, and every reason is reported. The inputs come from the
//! stored runs ([`RunHistory`]), so the decision is the same on every replica and after a
//! restart.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::runbook::Risk;
use crate::model::RunHistory;

/// Failures within [`BREAKER_WINDOW`] that open a host's breaker.
pub const BREAKER_FAILURES: i64 = 3;
/// The breaker's window.
pub const BREAKER_WINDOW: Duration = Duration::minutes(30);

/// Settings of the safety layer.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetyPolicy {
    /// The global kill switch: nothing runs automatically, approvals still possible.
    pub automatic_enabled: bool,
    /// `AGENT_MAX_AUTO_PER_HOUR` (default 10): beyond it, `auto` becomes `confirm`.
    pub max_auto_per_hour: i64,
}

impl Default for SafetyPolicy {
    fn default() -> Self {
        Self {
            automatic_enabled: true,
            max_auto_per_hour: 10,
        }
    }
}

/// Everything the decision looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation<'a> {
    pub runbook: &'a str,
    /// The runbook's own risk (raised by riskier steps).
    pub base: Risk,
    pub cooldown: Duration,
    /// The diagnosis's confidence, 0 to 1.
    pub confidence: f64,
    pub history: &'a RunHistory,
    pub hostname: &'a str,
    /// Whether the host is opted out of automatic remediation.
    pub opted_out: bool,
    /// Whether a maintenance window covers the alert's target now.
    pub in_maintenance: bool,
    /// Whether the runbook may run inside a maintenance window.
    pub allowed_in_maintenance: bool,
    /// Whether a person triggered the run (manual runs skip the automatic-only rules).
    pub manual: bool,
    pub now: DateTime<Utc>,
}

/// What the safety layer decided, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// `Some` when the run must stop before anything runs: the `blocked_reason`.
    pub stopped: Option<String>,
    /// The risk after every rule.
    pub risk: Risk,
    /// Every rule that applied, in order, each a sentence.
    pub reasons: Vec<String>,
}

/// Decides on a run.
pub fn decide(situation: &Situation<'_>, policy: &SafetyPolicy) -> Decision {
    let mut reasons = Vec::new();
    let history = situation.history;
    // Check 5: the breaker.
    if history.recent_failures >= BREAKER_FAILURES {
        let reason = format!("Circuit breaker open for host {}", situation.hostname);
        reasons.push(format!(
            "{reason}: {} failures within {} minutes",
            history.recent_failures,
            BREAKER_WINDOW.num_minutes()
        ));
        return Decision {
            stopped: Some(reason),
            risk: Risk::Block,
            reasons,
        };
    }
    // Check 4: the rate limiter.
    if let Some(last) = history.last_run_of_runbook
        && situation.now - last < situation.cooldown
    {
        let reason = format!(
            "Rate limited: {} on {}",
            situation.runbook, situation.hostname
        );
        reasons.push(format!(
            "{reason}: last run {}s ago, cooldown {}s",
            (situation.now - last).num_seconds(),
            situation.cooldown.num_seconds()
        ));
        return Decision {
            stopped: Some(reason),
            risk: situation.base,
            reasons,
        };
    }
    // Check 6: every risk rule, the most restrictive wins.
    let mut risk = situation.base;
    reasons.push(format!("runbook risk is {}", situation.base.as_str()));
    let mut raise = |to: Risk, why: String, reasons: &mut Vec<String>| {
        if to > risk {
            risk = to;
        }
        reasons.push(why);
    };
    let confidence = situation.confidence;
    if confidence.is_nan() || confidence < 0.3 {
        raise(
            Risk::Block,
            format!("diagnosis confidence {confidence:.2} < 0.3: block"),
            &mut reasons,
        );
    } else if confidence < 0.7 && situation.base == Risk::Auto {
        raise(
            Risk::Confirm,
            format!("diagnosis confidence {confidence:.2} < 0.7: confirm"),
            &mut reasons,
        );
    }
    if history.runs_last_hour >= 5 {
        raise(
            Risk::Block,
            format!(
                "{} runs on this host within the hour: block",
                history.runs_last_hour
            ),
            &mut reasons,
        );
    } else if history.runs_last_hour >= 3 && situation.base == Risk::Auto {
        raise(
            Risk::Confirm,
            format!(
                "{} runs on this host within the hour: confirm",
                history.runs_last_hour
            ),
            &mut reasons,
        );
    }
    if !situation.manual {
        if history.auto_runs_last_hour >= policy.max_auto_per_hour {
            raise(
                Risk::Confirm,
                format!(
                    "{} automatic runs within the hour reach AGENT_MAX_AUTO_PER_HOUR={}: confirm",
                    history.auto_runs_last_hour, policy.max_auto_per_hour
                ),
                &mut reasons,
            );
        }
        if !policy.automatic_enabled {
            raise(
                Risk::Confirm,
                "automatic remediation is switched off: confirm".to_owned(),
                &mut reasons,
            );
        }
        if situation.opted_out {
            raise(
                Risk::Confirm,
                "the host is opted out of automatic remediation: confirm".to_owned(),
                &mut reasons,
            );
        }
        if situation.in_maintenance && !situation.allowed_in_maintenance {
            raise(
                Risk::Confirm,
                "a maintenance window is active and the runbook does not allow it: confirm"
                    .to_owned(),
                &mut reasons,
            );
        }
    }
    let stopped = (risk == Risk::Block).then(|| "Risk assessment: BLOCK".to_owned());
    Decision {
        stopped,
        risk,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn situation(history: &RunHistory, base: Risk, confidence: f64) -> Situation<'_> {
        Situation {
            runbook: "disk_cleanup",
            base,
            cooldown: Duration::seconds(600),
            confidence,
            history,
            hostname: "web-01",
            opted_out: false,
            in_maintenance: false,
            allowed_in_maintenance: false,
            manual: false,
            now: now(),
        }
    }

    #[test]
    fn a_confident_auto_run_on_a_quiet_host_runs() {
        let history = RunHistory::default();
        let decision = decide(
            &situation(&history, Risk::Auto, 0.9),
            &SafetyPolicy::default(),
        );
        assert_eq!(decision.risk, Risk::Auto);
        assert_eq!(decision.stopped, None);
    }

    #[test]
    fn three_failures_open_the_breaker() {
        let history = RunHistory {
            recent_failures: 3,
            ..RunHistory::default()
        };
        let decision = decide(
            &situation(&history, Risk::Auto, 0.9),
            &SafetyPolicy::default(),
        );
        assert_eq!(
            decision.stopped.as_deref(),
            Some("Circuit breaker open for host web-01")
        );
    }

    #[test]
    fn the_cooldown_is_per_runbook_and_host() {
        let history = RunHistory {
            last_run_of_runbook: Some(now() - Duration::seconds(599)),
            ..RunHistory::default()
        };
        let decision = decide(
            &situation(&history, Risk::Auto, 0.9),
            &SafetyPolicy::default(),
        );
        assert_eq!(
            decision.stopped.as_deref(),
            Some("Rate limited: disk_cleanup on web-01")
        );
        let history = RunHistory {
            last_run_of_runbook: Some(now() - Duration::seconds(600)),
            ..RunHistory::default()
        };
        let decision = decide(
            &situation(&history, Risk::Auto, 0.9),
            &SafetyPolicy::default(),
        );
        assert_eq!(decision.stopped, None);
    }

    #[test]
    fn every_rule_applies_and_the_most_restrictive_wins() {
        // The original's first match would give `confirm` for the low confidence; five runs
        // within the hour call for `block`, which wins.
        let history = RunHistory {
            runs_last_hour: 5,
            ..RunHistory::default()
        };
        let decision = decide(
            &situation(&history, Risk::Auto, 0.5),
            &SafetyPolicy::default(),
        );
        assert_eq!(decision.risk, Risk::Block);
        assert_eq!(decision.stopped.as_deref(), Some("Risk assessment: BLOCK"));
        assert_eq!(decision.reasons.len(), 3, "{:?}", decision.reasons);
    }

    #[test]
    fn the_reference_table_holds() {
        let quiet = RunHistory::default();
        let policy = SafetyPolicy::default();
        assert_eq!(
            decide(&situation(&quiet, Risk::Auto, 0.2), &policy).risk,
            Risk::Block
        );
        assert_eq!(
            decide(&situation(&quiet, Risk::Auto, 0.5), &policy).risk,
            Risk::Confirm
        );
        assert_eq!(
            decide(&situation(&quiet, Risk::Confirm, 0.5), &policy).risk,
            Risk::Confirm
        );
        let busy = RunHistory {
            runs_last_hour: 3,
            ..RunHistory::default()
        };
        assert_eq!(
            decide(&situation(&busy, Risk::Auto, 0.9), &policy).risk,
            Risk::Confirm
        );
        assert_eq!(
            decide(&situation(&quiet, Risk::Auto, f64::NAN), &policy).risk,
            Risk::Block
        );
    }

    #[test]
    fn the_hourly_cap_kill_switch_opt_out_and_maintenance_require_a_person() {
        let policy = SafetyPolicy::default();
        let capped = RunHistory {
            auto_runs_last_hour: 10,
            ..RunHistory::default()
        };
        assert_eq!(
            decide(&situation(&capped, Risk::Auto, 0.9), &policy).risk,
            Risk::Confirm
        );
        let quiet = RunHistory::default();
        let off = SafetyPolicy {
            automatic_enabled: false,
            ..SafetyPolicy::default()
        };
        assert_eq!(
            decide(&situation(&quiet, Risk::Auto, 0.9), &off).risk,
            Risk::Confirm
        );
        let mut opted = situation(&quiet, Risk::Auto, 0.9);
        opted.opted_out = true;
        assert_eq!(decide(&opted, &policy).risk, Risk::Confirm);
        let mut maintenance = situation(&quiet, Risk::Auto, 0.9);
        maintenance.in_maintenance = true;
        assert_eq!(decide(&maintenance, &policy).risk, Risk::Confirm);
        maintenance.allowed_in_maintenance = true;
        assert_eq!(decide(&maintenance, &policy).risk, Risk::Auto);
        // A person who triggers a run by hand is not held by the automatic-only rules.
        let mut manual = situation(&capped, Risk::Auto, 0.9);
        manual.manual = true;
        assert_eq!(decide(&manual, &off).risk, Risk::Auto);
    }

    proptest! {
        /// More evidence of trouble never makes a run less guarded.
        #[test]
        fn the_decision_is_monotonic(
            confidence in 0.0_f64..1.0,
            runs in 0_i64..10,
            failures in 0_i64..5,
            auto_runs in 0_i64..20,
        ) {
            let policy = SafetyPolicy::default();
            let base = RunHistory { runs_last_hour: runs, recent_failures: failures, auto_runs_last_hour: auto_runs, last_run_of_runbook: None };
            let worse = RunHistory { runs_last_hour: runs + 1, recent_failures: failures + 1, auto_runs_last_hour: auto_runs + 1, last_run_of_runbook: None };
            let a = decide(&situation(&base, Risk::Auto, confidence), &policy);
            let b = decide(&situation(&worse, Risk::Auto, (confidence - 0.1).max(0.0)), &policy);
            let rank = |d: &Decision| (d.stopped.is_some(), d.risk);
            prop_assert!(rank(&b) >= rank(&a));
        }
    }
}
