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
    /// How long a told alert's resolution waits before it is told: a re-fire within it
    /// continues the incident (no resolved and no new fired message), so a fast-flapping
    /// target gives one message, not one per flap. Zero tells resolutions at once.
    pub resolve_hold: Duration,
}

/// The default [`Policy::resolve_hold`]: longer than the agents' 15 s report interval (a flap
/// at that rate continues the incident), short enough for a recovery to be told within a minute.
pub const RESOLVE_HOLD: Duration =
    Duration::seconds(crate::alerting::wire::DEFAULT_RESOLVE_HOLD_SECONDS);

impl Policy {
    /// The rule's pending window, cooldown and resolve hold with the default flap detection.
    pub fn for_rule(rule: &AlertRule) -> Self {
        Self {
            pending: rule.pending,
            cooldown: rule.cooldown,
            flap: FlapPolicy::default(),
            resolve_hold: rule.resolve_hold,
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
        /// Whether to send a resolved notification now: when the incident was told and its
        /// resolution is not held (a manual resolve, or no resolve hold).
        notify: bool,
        /// Why.
        resolution: Resolution,
    },
    /// The held resolution of the last resolved alert is due: tell it now.
    ResolutionDue,
    /// The target started flapping.
    FlappingStarted {
        /// Whether to say so: when the target's incident is not already told as firing (a
        /// flap inside a told incident only continues it), and then nothing else until it
        /// settles.
        notify: bool,
    },
    /// The target settled.
    FlappingEnded {
        /// Whether an alert is open now, so the notification can say where it settled.
        open: bool,
        /// Whether to say so (the start was told).
        notify: bool,
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
    /// Whether the last message about the target said it is firing (a fired message, or an
    /// incident continued), so its resolution is owed.
    told: bool,
    /// When the owed resolution of the last resolved alert is told, unless it re-fires first.
    held_until: Option<DateTime<Utc>>,
    /// Whether the current flapping was told (then its end is told too).
    flap_told: bool,
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
            told: false,
            held_until: None,
            flap_told: false,
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
            told: true,
            ..Self::new()
        }
    }

    /// Where the target is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Takes `since` as the start of the pending window, while pending: the window is shared
    /// by the replicas, which judge it from the start recorded first (or from a new start when
    /// another replica's recovery ended the window this one saw).
    pub fn follow_pending(&mut self, since: DateTime<Utc>) {
        if let Phase::Pending { since: start } = &mut self.phase {
            *start = since;
        }
    }

    /// Whether the target is flapping.
    pub fn is_flapping(&self) -> bool {
        self.flapping
    }

    /// When a held resolution is due, if one is.
    pub fn held_until(&self) -> Option<DateTime<Utc>> {
        self.held_until
    }

    /// Tells a held resolution once it is due (call periodically for targets that stopped
    /// reporting; [`AlertState::observe`] does it too).
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Event> {
        let mut events = Vec::new();
        self.release_due(now, &mut events);
        events
    }

    fn release_due(&mut self, now: DateTime<Utc>, events: &mut Vec<Event>) {
        if self.held_until.is_some_and(|due| due <= now) {
            self.held_until = None;
            self.told = false;
            events.push(Event::ResolutionDue);
        }
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
            self.release_due(now, &mut events);
            return events;
        };
        if assessment != Assessment::Violating {
            self.release_due(now, &mut events);
        }
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
            (Phase::Open { .. }, Assessment::Clear) => {
                let told = self.told;
                self.record_change(now, policy, &mut events);
                self.phase = Phase::Ok;
                let notify = told && policy.resolve_hold <= Duration::zero();
                if told && !notify {
                    self.held_until = Some(now + policy.resolve_hold);
                }
                if notify {
                    self.told = false;
                }
                events.push(Event::Resolved {
                    notify,
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
        let Phase::Open { .. } = self.phase else {
            return Err(StateError::NotOpen);
        };
        let mut events = Vec::new();
        self.settle(now, policy, &mut events);
        self.phase = Phase::Ok;
        // A person resolved it: told at once, never held.
        let notify = std::mem::take(&mut self.told);
        events.push(Event::Resolved {
            notify,
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
        let continuing = self.held_until.take().is_some() || self.told;
        let (notify, suppressed_count) = if continuing {
            // The incident was told and its resolution not yet: it simply goes on.
            self.told = true;
            (false, 0)
        } else if self.flapping && self.flap_told {
            (false, 0)
        } else if cooling {
            self.suppressed = self.suppressed.saturating_add(1);
            (false, 0)
        } else {
            let suppressed = std::mem::take(&mut self.suppressed);
            self.last_fire_notified_at = Some(now);
            self.told = true;
            (true, suppressed)
        };
        self.phase = Phase::Open {
            fired_at: now,
            acknowledged_at: None,
            notified: self.told,
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
            // Inside a told incident (firing, or its resolution held) the flaps only continue
            // it; otherwise the target's flapping is told once.
            let inside = self.told || self.held_until.is_some();
            self.flap_told = !inside;
            events.push(Event::FlappingStarted {
                notify: self.flap_told,
            });
        }
    }

    /// Ends flapping once the window has calmed down.
    fn settle(&mut self, now: DateTime<Utc>, policy: &Policy, events: &mut Vec<Event>) {
        self.forget_old_changes(now, policy);
        if self.flapping && self.changes.len() <= policy.flap.max_changes / 2 {
            self.flapping = false;
            let notify = std::mem::take(&mut self.flap_told);
            let open = match &mut self.phase {
                Phase::Open { notified, .. } => {
                    if notify {
                        // The end-of-flapping notification reports the open alert, so its
                        // resolution will be told too.
                        *notified = true;
                        self.told = true;
                    }
                    true
                }
                Phase::Ok | Phase::Pending { .. } => false,
            };
            events.push(Event::FlappingEnded { open, notify });
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

    /// Without a resolve hold: resolutions are told at once.
    fn policy(pending_minutes: i64, cooldown_minutes: i64) -> Policy {
        Policy {
            pending: Duration::minutes(pending_minutes),
            cooldown: Duration::minutes(cooldown_minutes),
            flap: FlapPolicy::default(),
            resolve_hold: Duration::zero(),
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
    fn a_followed_pending_start_decides_when_it_fires() {
        let policy = policy(5, 5);
        let mut state = AlertState::new();
        assert!(state.observe(Some(Violating), t(2), &policy).is_empty());
        // Another replica saw the violation first.
        state.follow_pending(t(0));
        assert_eq!(state.phase(), Phase::Pending { since: t(0) });
        assert_eq!(
            state.observe(Some(Violating), t(5), &policy),
            [fired(true, 0)]
        );
        // Only a pending window moves.
        state.follow_pending(t(9));
        assert!(matches!(state.phase(), Phase::Open { fired_at, .. } if fired_at == t(5)));
        let mut ok = AlertState::new();
        ok.follow_pending(t(0));
        assert_eq!(ok.phase(), Phase::Ok);
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
            resolve_hold: Duration::zero(),
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
                Event::FlappingStarted { notify: true },
                fired(false, 0),
            ]
        );
        assert_eq!(
            log.iter()
                .filter(|e| matches!(e, Event::FlappingStarted { .. }))
                .count(),
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
                Event::FlappingEnded {
                    open: true,
                    notify: true
                },
                Event::StillFiring {
                    acknowledged: false
                }
            ]
        );
        // The settled alert's recovery is notified.
        assert_eq!(state.observe(Some(Clear), t(141), &policy), [cleared(true)]);
    }

    #[test]
    fn a_held_resolution_is_told_only_if_the_target_stays_clear() {
        let policy = Policy {
            resolve_hold: Duration::minutes(1),
            ..policy(0, 5)
        };
        let mut state = AlertState::new();
        assert_eq!(
            state.observe(Some(Violating), t(0), &policy),
            [fired(true, 0)]
        );
        // Cleared: resolved now, told after the hold.
        assert_eq!(state.observe(Some(Clear), t(1), &policy), [cleared(false)]);
        assert_eq!(state.held_until(), Some(t(2)));
        assert!(state.tick(t(1) + Duration::seconds(30)).is_empty());
        // Fired again within the hold: the incident goes on, nothing is told.
        assert_eq!(
            state.observe(Some(Violating), t(1) + Duration::seconds(45), &policy),
            [fired(false, 0)]
        );
        assert_eq!(state.held_until(), None);
        assert_eq!(state.observe(Some(Clear), t(3), &policy), [cleared(false)]);
        // Stays clear past the hold: the resolution is told once.
        assert_eq!(
            state.observe(Some(Clear), t(4), &policy),
            [Event::ResolutionDue]
        );
        assert!(state.tick(t(5)).is_empty());
        // A new breach after that is a new incident, told (outside the cooldown).
        assert_eq!(
            state.observe(Some(Violating), t(10), &policy),
            [fired(true, 0)]
        );
        // A person's resolve is told at once.
        let manual = state.resolve_manually("fixed", t(11), &policy).unwrap();
        assert!(matches!(manual[..], [Event::Resolved { notify: true, .. }]));
        assert_eq!(state.held_until(), None);
    }

    #[test]
    fn a_fast_flapping_target_is_one_message() {
        let policy = Policy {
            resolve_hold: Duration::seconds(45),
            ..policy(0, 5)
        };
        let mut state = AlertState::new();
        let mut told = Vec::new();
        let mut now = t(0);
        for step in 0..40 {
            let assessment = if step % 2 == 0 { Violating } else { Clear };
            for event in state.observe(Some(assessment), now, &policy) {
                match event {
                    Event::Fired { notify: true, .. }
                    | Event::Resolved { notify: true, .. }
                    | Event::ResolutionDue
                    | Event::FlappingStarted { notify: true }
                    | Event::FlappingEnded { notify: true, .. } => told.push(event),
                    _ => {}
                }
            }
            now += Duration::seconds(15);
        }
        assert_eq!(told, [fired(true, 0)]);
        assert!(state.is_flapping(), "still recorded as flapping");
        // Once it stays clear, the resolution is told.
        assert_eq!(
            state.tick(now + Duration::minutes(1)),
            [Event::ResolutionDue]
        );
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
            hold in 0..3i64,
        ) {
            let policy = Policy {
                pending: Duration::minutes(pending),
                cooldown: Duration::minutes(cooldown),
                flap: FlapPolicy { window: Duration::minutes(60), max_changes },
                resolve_hold: Duration::minutes(hold),
            };
            let mut state = AlertState::new();
            let mut now = t(0);
            let mut open = false;
            // Whether the user was last told the target is firing (a resolution is owed).
            let mut owed = false;
            let mut last_notified_fire: Option<DateTime<Utc>> = None;
            let mut flapping = false;
            let mut flap_told = false;
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
                            if notify {
                                prop_assert!(!owed, "told firing twice without a resolution");
                                prop_assert!(!(flapping && flap_told));
                                if let Some(last) = last_notified_fire {
                                    prop_assert!(now - last >= policy.cooldown);
                                }
                                last_notified_fire = Some(now);
                                owed = true;
                            }
                        }
                        Event::Resolved { notify, .. } => {
                            prop_assert!(open, "Resolved without an open alert");
                            if notify {
                                prop_assert!(owed, "a resolution told for an untold fire");
                                owed = false;
                            }
                            open = false;
                        }
                        Event::ResolutionDue => {
                            prop_assert!(!open, "a held resolution told while firing");
                            prop_assert!(owed, "a resolution told for an untold fire");
                            owed = false;
                        }
                        Event::StillFiring { .. } | Event::Acknowledged => prop_assert!(open),
                        Event::FlappingStarted { notify } => {
                            prop_assert!(!flapping);
                            flapping = true;
                            flap_told = notify;
                        }
                        Event::FlappingEnded { open: is_open, notify } => {
                            prop_assert!(flapping);
                            prop_assert_eq!(is_open, open);
                            prop_assert_eq!(notify, flap_told);
                            flapping = false;
                            if notify && is_open {
                                owed = true;
                            }
                            flap_told = false;
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
