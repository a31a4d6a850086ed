//! The alert state machine of one (rule, target): ok → pending → open (firing, possibly
//! acknowledged) → resolved, with the pending window, hysteresis (via [`Assessment::Holding`]),
//! the per-(rule, target) notification cooldown and flap detection. It is pure: each call takes
//! the evaluation result and `now`, and returns the events to persist and notify.
//!
//! There is at most one open alert per state, so one per (rule, target) when the caller keeps one
//! state per pair; an acknowledged alert stays the same alert and still resolves when its
//! condition clears (defect 1 of the original).

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use super::rule::{AlertRule, Assessment};

/// When a target counts as flapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlapPolicy {
    /// The window in which fire/resolve changes are counted.
    pub window: Duration,
    /// More changes than this within `window` start flapping; flapping ends once the window
    /// holds at most half as many, so it does not itself flap.
    pub max_changes: usize,
}

impl Default for FlapPolicy {
    fn default() -> Self {
        Self {
            window: Duration::hours(1),
            max_changes: 6,
        }
    }
}

/// The timing a state machine applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long a violation must last before the alert fires.
    pub pending: Duration,
    /// Minimum time between fired notifications of this (rule, target).
    pub cooldown: Duration,
    /// Flap detection.
    pub flap: FlapPolicy,
}

impl Policy {
    /// The rule's pending window and cooldown with the default flap detection.
    pub fn for_rule(rule: &AlertRule) -> Self {
        Self {
            pending: rule.pending,
            cooldown: rule.cooldown,
            flap: FlapPolicy::default(),
        }
    }
}

/// How an alert was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The condition cleared.
    Cleared,
    /// Someone resolved it by hand.
    Manual {
        /// Why, as they wrote it.
        comment: String,
    },
}

/// What a call changed, for the caller to persist and (when `notify`) send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new alert opened.
    Fired {
        /// Whether to send a fired notification (false within the cooldown or while flapping).
        notify: bool,
        /// Fired notifications suppressed by the cooldown since the last one sent.
        suppressed_count: u32,
    },
    /// The open alert's condition is still violated (log rules update the alert with it).
    StillFiring {
        /// Whether someone acknowledged the alert (acknowledged alerts are never re-notified).
        acknowledged: bool,
    },
    /// The open alert was acknowledged.
    Acknowledged,
    /// The open alert was resolved.
    Resolved {
        /// Whether to send a resolved notification: exactly when the fired one was sent, and
        /// not while flapping.
        notify: bool,
        /// Why.
        resolution: Resolution,
    },
    /// The target started flapping: notify this once, and nothing else until it settles.
    FlappingStarted,
    /// The target settled.
    FlappingEnded {
        /// Whether an alert is open now, so the notification can say where it settled.
        open: bool,
    },
}

/// Why a manual action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StateError {
    /// There is no open alert to act on.
    #[error("alert already resolved")]
    NotOpen,
    /// A manual resolve needs a comment.
    #[error("a comment is required to resolve an alert by hand")]
    CommentRequired,
}

/// Where the (rule, target) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No violation.
    Ok,
    /// Violated since `since`, not yet for the pending window.
    Pending {
        /// First violating evaluation.
        since: DateTime<Utc>,
    },
    /// An alert is open.
    Open {
        /// When it fired.
        fired_at: DateTime<Utc>,
        /// When it was acknowledged, if it was.
        acknowledged_at: Option<DateTime<Utc>>,
        /// Whether its fired notification was sent (or covered by the end of flapping).
        notified: bool,
    },
}

/// The state of one (rule, target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertState {
    phase: Phase,
    last_fire_notified_at: Option<DateTime<Utc>>,
    suppressed: u32,
    changes: VecDeque<DateTime<Utc>>,
    flapping: bool,
}

impl Default for AlertState {
    fn default() -> Self {
        Self::new()
    }
}

impl AlertState {
    /// A target with no violation and no history.
    pub fn new() -> Self {
        Self {
            phase: Phase::Ok,
            last_fire_notified_at: None,
            suppressed: 0,
            changes: VecDeque::new(),
            flapping: false,
        }
    }

    /// The state of a pair whose alert is already open in the store (after a restart): open
    /// since `fired_at`, its fired notification counted as sent.
    pub fn restored(fired_at: DateTime<Utc>, acknowledged_at: Option<DateTime<Utc>>) -> Self {
        Self {
            phase: Phase::Open {
                fired_at,
                acknowledged_at,
                notified: true,
            },
            last_fire_notified_at: Some(fired_at),
            ..Self::new()
        }
    }

    /// Where the target is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the target is flapping.
    pub fn is_flapping(&self) -> bool {
        self.flapping
    }

    /// Applies one evaluation (`None` = no data, which changes nothing but the flap window).
    pub fn observe(
        &mut self,
        assessment: Option<Assessment>,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        self.settle(now, policy, &mut events);
        let Some(assessment) = assessment else {
            return events;
        };
        match (self.phase, assessment) {
            (Phase::Ok, Assessment::Violating) => {
                if policy.pending <= Duration::zero() {
                    self.fire(now, policy, &mut events);
                } else {
                    self.phase = Phase::Pending { since: now };
                }
            }
            (Phase::Pending { since }, Assessment::Violating) => {
                if now - since >= policy.pending {
                    self.fire(now, policy, &mut events);
                }
            }
            (Phase::Pending { .. }, Assessment::Holding | Assessment::Clear) => {
                self.phase = Phase::Ok;
            }
            (
                Phase::Open {
                    acknowledged_at, ..
                },
                Assessment::Violating,
            ) => events.push(Event::StillFiring {
                acknowledged: acknowledged_at.is_some(),
            }),
            (Phase::Open { notified, .. }, Assessment::Clear) => {
                self.record_change(now, policy, &mut events);
                self.phase = Phase::Ok;
                events.push(Event::Resolved {
                    notify: notified && !self.flapping,
                    resolution: Resolution::Cleared,
                });
            }
            (Phase::Ok, Assessment::Holding | Assessment::Clear)
            | (Phase::Open { .. }, Assessment::Holding) => {}
        }
        events
    }

    /// Acknowledges the open alert; acknowledging twice is a no-op.
    pub fn acknowledge(&mut self, now: DateTime<Utc>) -> Result<Vec<Event>, StateError> {
        match &mut self.phase {
            Phase::Open {
                acknowledged_at: Some(_),
                ..
            } => Ok(Vec::new()),
            Phase::Open {
                acknowledged_at, ..
            } => {
                *acknowledged_at = Some(now);
                Ok(vec![Event::Acknowledged])
            }
            Phase::Ok | Phase::Pending { .. } => Err(StateError::NotOpen),
        }
    }

    /// Resolves the open alert by hand. If the condition persists, the next violating
    /// evaluation starts a new pending window (and eventually a new alert).
    pub fn resolve_manually(
        &mut self,
        comment: &str,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<Vec<Event>, StateError> {
        let comment = comment.trim();
        if comment.is_empty() {
            return Err(StateError::CommentRequired);
        }
        let Phase::Open { notified, .. } = self.phase else {
            return Err(StateError::NotOpen);
        };
        let mut events = Vec::new();
        self.settle(now, policy, &mut events);
        self.phase = Phase::Ok;
        events.push(Event::Resolved {
            notify: notified && !self.flapping,
            resolution: Resolution::Manual {
                comment: comment.to_owned(),
            },
        });
        Ok(events)
    }

    fn fire(&mut self, now: DateTime<Utc>, policy: &Policy, events: &mut Vec<Event>) {
        self.record_change(now, policy, events);
        let cooling = self
            .last_fire_notified_at
            .is_some_and(|last| now - last < policy.cooldown);
        let (notify, suppressed_count) = if self.flapping {
            (false, 0)
        } else if cooling {
            self.suppressed = self.suppressed.saturating_add(1);
            (false, 0)
        } else {
            let suppressed = std::mem::take(&mut self.suppressed);
            self.last_fire_notified_at = Some(now);
            (true, suppressed)
        };
        self.phase = Phase::Open {
            fired_at: now,
            acknowledged_at: None,
            notified: notify,
        };
        events.push(Event::Fired {
            notify,
            suppressed_count,
        });
    }

    /// Counts a fire/resolve change and starts flapping when there are too many.
    fn record_change(&mut self, now: DateTime<Utc>, policy: &Policy, events: &mut Vec<Event>) {
        self.changes.push_back(now);
        self.forget_old_changes(now, policy);
        if !self.flapping && self.changes.len() > policy.flap.max_changes {
            self.flapping = true;
            events.push(Event::FlappingStarted);
        }
    }

    /// Ends flapping once the window has calmed down.
    fn settle(&mut self, now: DateTime<Utc>, policy: &Policy, events: &mut Vec<Event>) {
        self.forget_old_changes(now, policy);
        if self.flapping && self.changes.len() <= policy.flap.max_changes / 2 {
            self.flapping = false;
            let open = match &mut self.phase {
                Phase::Open { notified, .. } => {
                    // The end-of-flapping notification reports the open alert, so its
                    // resolution will be notified too.
                    *notified = true;
                    true
                }
                Phase::Ok | Phase::Pending { .. } => false,
            };
            events.push(Event::FlappingEnded { open });
        }
    }

    fn forget_old_changes(&mut self, now: DateTime<Utc>, policy: &Policy) {
        while self
            .changes
            .front()
            .is_some_and(|at| now - *at > policy.flap.window)
        {
            self.changes.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::alerting::rule::{Operator, Threshold};

    use Assessment::{Clear, Holding, Violating};

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn policy(pending_minutes: i64, cooldown_minutes: i64) -> Policy {
        Policy {
            pending: Duration::minutes(pending_minutes),
            cooldown: Duration::minutes(cooldown_minutes),
            flap: FlapPolicy::default(),
        }
    }

    fn fired(notify: bool, suppressed_count: u32) -> Event {
        Event::Fired {
            notify,
            suppressed_count,
        }
    }

    fn cleared(notify: bool) -> Event {
        Event::Resolved {
            notify,
            resolution: Resolution::Cleared,
        }
    }

    #[test]
    fn fires_after_the_pending_window_and_not_before() {
        let policy = policy(5, 5);
        let mut state = AlertState::new();
        assert!(state.observe(Some(Violating), t(0), &policy).is_empty());
        assert_eq!(state.phase(), Phase::Pending { since: t(0) });
        assert!(state.observe(Some(Violating), t(4), &policy).is_empty());
        assert_eq!(
            state.observe(Some(Violating), t(5), &policy),
            [fired(true, 0)]
        );
        assert_eq!(
            state.observe(Some(Violating), t(6), &policy),
            [Event::StillFiring {
                acknowledged: false
            }]
        );
    }

    #[test]
    fn a_clear_evaluation_restarts_the_pending_window() {
        let policy = policy(5, 5);
        let mut state = AlertState::new();
        state.observe(Some(Violating), t(0), &policy);
        state.observe(Some(Holding), t(3), &policy);
        assert_eq!(state.phase(), Phase::Ok);
        state.observe(Some(Violating), t(4), &policy);
        assert!(state.observe(Some(Violating), t(8), &policy).is_empty());
        assert_eq!(
            state.observe(Some(Violating), t(9), &policy),
            [fired(true, 0)]
        );
    }

    #[test]
    fn zero_pending_fires_at_once_and_no_data_changes_nothing() {
        let policy = policy(0, 5);
        let mut state = AlertState::new();
        assert!(state.observe(None, t(0), &policy).is_empty());
        assert_eq!(
            state.observe(Some(Violating), t(0), &policy),
            [fired(true, 0)]
        );
        assert!(state.observe(None, t(1), &policy).is_empty());
        assert!(matches!(state.phase(), Phase::Open { .. }));
    }

    #[test]
    fn no_data_keeps_a_pending_window_running() {
        let policy = policy(5, 5);
        let mut state = AlertState::new();
        state.observe(Some(Violating), t(0), &policy);
        state.observe(None, t(3), &policy);
        assert_eq!(
            state.observe(Some(Violating), t(5), &policy),
            [fired(true, 0)]
        );
    }

    #[test]
    fn hysteresis_holds_the_alert_until_the_recovery_threshold() {
        let threshold = Threshold {
            operator: Operator::Greater,
            trigger: 90.0,
            recovery: 80.0,
        };
        let policy = policy(0, 5);
        let mut state = AlertState::new();
        let mut all = Vec::new();
        for (minute, value) in [(0, 95.0), (1, 89.0), (2, 91.0), (3, 85.0), (4, 79.0)] {
            all.extend(state.observe(Some(threshold.assess(value)), t(minute), &policy));
        }
        assert_eq!(
            all,
            [
                fired(true, 0),
                Event::StillFiring {
                    acknowledged: false
                },
                cleared(true)
            ]
        );
    }

    #[test]
    fn an_acknowledged_alert_stays_the_same_alert_and_still_resolves() {
        let policy = policy(0, 5);
        let mut state = AlertState::new();
        state.observe(Some(Violating), t(0), &policy);
        assert_eq!(state.acknowledge(t(1)), Ok(vec![Event::Acknowledged]));
        assert_eq!(state.acknowledge(t(2)), Ok(vec![]));
        assert_eq!(
            state.observe(Some(Violating), t(3), &policy),
            [Event::StillFiring { acknowledged: true }]
        );
        assert!(matches!(
            state.phase(),
            Phase::Open {
                fired_at,
                acknowledged_at: Some(_),
                ..
            } if fired_at == t(0)
        ));
        assert_eq!(state.observe(Some(Clear), t(4), &policy), [cleared(true)]);
        assert_eq!(state.acknowledge(t(5)), Err(StateError::NotOpen));
    }

    #[test]
    fn manual_resolve_needs_a_comment_and_an_open_alert() {
        let policy = policy(0, 5);
        let mut state = AlertState::new();
        assert_eq!(
            state.resolve_manually("fixed", t(0), &policy),
            Err(StateError::NotOpen)
        );
        state.observe(Some(Violating), t(0), &policy);
        assert_eq!(
            state.resolve_manually("  ", t(1), &policy),
            Err(StateError::CommentRequired)
        );
        assert_eq!(
            state.resolve_manually(" restarted nginx ", t(1), &policy),
            Ok(vec![Event::Resolved {
                notify: true,
                resolution: Resolution::Manual {
                    comment: "restarted nginx".to_owned()
                }
            }])
        );
        assert_eq!(state.phase(), Phase::Ok);
        // Still violated: a new alert, within the cooldown so not notified.
        assert_eq!(
            state.observe(Some(Violating), t(2), &policy),
            [fired(false, 0)]
        );
    }

    #[test]
    fn cooldown_suppresses_refires_and_counts_them() {
        let policy = Policy {
            // Not flapping at this rate, so only the cooldown is at work.
            flap: FlapPolicy {
                window: Duration::minutes(60),
                max_changes: 100,
            },
            ..policy(0, 30)
        };
        let mut state = AlertState::new();
        let mut log = Vec::new();
        for minute in [0, 10, 20, 40] {
            log.extend(state.observe(Some(Violating), t(minute), &policy));
            log.extend(state.observe(Some(Clear), t(minute + 1), &policy));
        }
        assert_eq!(
            log,
            [
                fired(true, 0),
                cleared(true),
                fired(false, 0),
                cleared(false),
                fired(false, 0),
                cleared(false),
                fired(true, 2),
                cleared(true),
            ]
        );
    }

    #[test]
    fn flapping_is_notified_once_until_it_settles() {
        let policy = Policy {
            pending: Duration::zero(),
            cooldown: Duration::zero(),
            flap: FlapPolicy {
                window: Duration::minutes(60),
                max_changes: 4,
            },
        };
        let mut state = AlertState::new();
        let mut log = Vec::new();
        // Fire and clear every 5 minutes for 30 minutes.
        for i in 0..6 {
            log.extend(state.observe(Some(Violating), t(i * 5), &policy));
            log.extend(state.observe(Some(Clear), t(i * 5 + 2), &policy));
        }
        assert_eq!(
            log[..6],
            [
                fired(true, 0),
                cleared(true),
                fired(true, 0),
                cleared(true),
                Event::FlappingStarted,
                fired(false, 0),
            ]
        );
        assert_eq!(
            log.iter().filter(|e| **e == Event::FlappingStarted).count(),
            1
        );
        assert!(log[6..].iter().all(|e| matches!(
            e,
            Event::Fired { notify: false, .. } | Event::Resolved { notify: false, .. }
        )));
        assert!(state.is_flapping());

        // It stays violated; once the old changes leave the window it settles, open.
        let later = state.observe(Some(Violating), t(80), &policy);
        assert_eq!(later, [fired(false, 0)]);
        let settled = state.observe(Some(Violating), t(140), &policy);
        assert_eq!(
            settled,
            [
                Event::FlappingEnded { open: true },
                Event::StillFiring {
                    acknowledged: false
                }
            ]
        );
        // The settled alert's recovery is notified.
        assert_eq!(state.observe(Some(Clear), t(141), &policy), [cleared(true)]);
    }

    #[test]
    fn policy_for_rule_copies_its_timing() {
        let rule = AlertRule::from_wire(&crate::alerting::wire::AlertRuleCreate {
            name: "cpu".to_owned(),
            metric: "cpu_percent".to_owned(),
            duration_seconds: 120,
            cooldown_seconds: 600,
            ..Default::default()
        })
        .unwrap();
        let policy = Policy::for_rule(&rule);
        assert_eq!(policy.pending, Duration::minutes(2));
        assert_eq!(policy.cooldown, Duration::minutes(10));
    }

    #[derive(Debug, Clone)]
    enum Step {
        Observe(Option<Assessment>),
        Acknowledge,
        Resolve,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => prop_oneof![
                Just(None),
                Just(Some(Violating)),
                Just(Some(Holding)),
                Just(Some(Clear)),
            ]
            .prop_map(Step::Observe),
            1 => Just(Step::Acknowledge),
            1 => Just(Step::Resolve),
        ]
    }

    proptest! {
        #[test]
        fn fired_and_resolved_alternate_and_notifications_respect_cooldown(
            steps in prop::collection::vec((step(), 0..20i64), 1..200),
            pending in 0..10i64,
            cooldown in 0..30i64,
            max_changes in 1..8usize,
        ) {
            let policy = Policy {
                pending: Duration::minutes(pending),
                cooldown: Duration::minutes(cooldown),
                flap: FlapPolicy { window: Duration::minutes(60), max_changes },
            };
            let mut state = AlertState::new();
            let mut now = t(0);
            let mut open = false;
            let mut open_notified = false;
            let mut last_notified_fire: Option<DateTime<Utc>> = None;
            let mut flapping = false;
            for (step, advance) in steps {
                now += Duration::minutes(advance);
                let events = match step {
                    Step::Observe(assessment) => state.observe(assessment, now, &policy),
                    Step::Acknowledge => state.acknowledge(now).unwrap_or_default(),
                    Step::Resolve => state.resolve_manually("done", now, &policy).unwrap_or_default(),
                };
                for event in events {
                    match event {
                        Event::Fired { notify, .. } => {
                            prop_assert!(!open, "two Fired without a Resolved");
                            open = true;
                            open_notified = notify;
                            if notify {
                                prop_assert!(!flapping);
                                if let Some(last) = last_notified_fire {
                                    prop_assert!(now - last >= policy.cooldown);
                                }
                                last_notified_fire = Some(now);
                            }
                        }
                        Event::Resolved { notify, .. } => {
                            prop_assert!(open, "Resolved without an open alert");
                            prop_assert!(!notify || open_notified);
                            open = false;
                        }
                        Event::StillFiring { .. } | Event::Acknowledged => prop_assert!(open),
                        Event::FlappingStarted => {
                            prop_assert!(!flapping);
                            flapping = true;
                        }
                        Event::FlappingEnded { open: is_open } => {
                            prop_assert!(flapping);
                            prop_assert_eq!(is_open, open);
                            flapping = false;
                            open_notified = open_notified || is_open;
                        }
                    }
                }
                prop_assert_eq!(open, matches!(state.phase(), Phase::Open { .. }));
                prop_assert_eq!(flapping, state.is_flapping());
            }
        }

        #[test]
        fn oscillating_inside_the_hysteresis_band_never_resolves_and_refires(
            values in prop::collection::vec(80.5..100.0f64, 1..100),
        ) {
            let threshold = Threshold { operator: Operator::Greater, trigger: 90.0, recovery: 80.0 };
            let policy = policy(0, 5);
            let mut state = AlertState::new();
            state.observe(Some(Violating), t(0), &policy);
            for (i, value) in values.into_iter().enumerate() {
                let events = state.observe(Some(threshold.assess(value)), t(i as i64 + 1), &policy);
                for event in events {
                    let still_firing = matches!(event, Event::StillFiring { .. });
                    prop_assert!(still_firing, "unexpected {:?}", event);
                }
            }
            prop_assert!(
                matches!(state.phase(), Phase::Open { fired_at, .. } if fired_at == t(0)),
                "the first alert must still be open"
            );
        }
    }
}
