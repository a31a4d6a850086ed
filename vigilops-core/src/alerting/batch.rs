//! The alert engine's group commit: the opens and resolves that one drained batch of
//! observations decided, written in one transaction ([`crate::store::AlertEngineStore`]), and
//! what to do with each once it is committed (notices go to the dispatcher only then).
//!
//! The pending windows the replicas share go through it too: starts and ends are written with
//! the alerts, and the questions a reading raises about them ("did another replica see this
//! pair recover?", "when did its window start?") are asked once per batch, in one read.
//!
//! A (rule, target) appears in a batch at most once: the engine commits before it evaluates a
//! pair that the batch already touches, so every decision is taken on committed state.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::dispatch::{Notice, NoticeKind, TargetInfo};
use super::rule::AlertRule;
use crate::model::{AlertResolution, AlertWrites, NewAlert};

/// A (rule id, target key) pair.
pub(super) type PairKey = (i64, String);

/// Who a notice about a pair speaks of: the rule and the target.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    pub(super) rule_id: i64,
    pub(super) rule: Arc<AlertRule>,
    pub(super) target: Arc<TargetInfo>,
}

impl Subject {
    /// A notice of `kind` about `alert`.
    pub(super) fn notice(
        &self,
        kind: NoticeKind,
        alert: crate::model::Alert,
        suppressed_count: u32,
    ) -> Notice {
        Notice {
            kind,
            alert,
            rule_id: self.rule_id,
            rule: Arc::clone(&self.rule),
            target: Arc::clone(&self.target),
            suppressed_count,
            note: None,
        }
    }
}

/// What follows a committed open.
#[derive(Debug)]
pub(super) struct AfterOpen {
    pub(super) key: PairKey,
    pub(super) subject: Subject,
    pub(super) at: DateTime<Utc>,
    /// Whether to send the fired notification (else the timeline says it was suppressed).
    pub(super) notify: bool,
    pub(super) suppressed_count: u32,
}

/// What follows a committed resolve.
#[derive(Debug)]
pub(super) struct AfterResolve {
    pub(super) key: PairKey,
    pub(super) subject: Subject,
    /// Whether to tell the resolution now (else it is held, if the pair holds one).
    pub(super) notify: bool,
}

/// One step to take after the commit, in the order the events happened: the next open of
/// [`AlertWrites::opens`] or the next resolve of [`AlertWrites::resolves`].
#[derive(Debug, Clone, Copy)]
pub(super) enum After {
    Open,
    Resolve,
}

/// The writes of the observations drained so far and what follows each.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) writes: AlertWrites,
    pub(super) opens: Vec<AfterOpen>,
    pub(super) resolves: Vec<AfterResolve>,
    pub(super) order: Vec<After>,
    /// The pair of each of [`AlertWrites::pending_starts`], to follow the start that stands.
    pub(super) starts: Vec<PairKey>,
    /// Pairs whose recorded pending start to look up before the commit: `None` for a
    /// non-violating reading of a pair not pending here (another replica's window ends), the
    /// reading's time for a violating reading of a pair pending here (its window continues
    /// from the recorded start, or from this reading when another replica ended it).
    pub(super) asks: Vec<(PairKey, Option<DateTime<Utc>>)>,
    touched: HashSet<PairKey>,
}

impl Batch {
    /// Whether nothing is queued.
    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty() && self.asks.is_empty() && self.writes.is_empty()
    }

    /// Whether a write of this pair is queued (then commit before evaluating it again).
    pub(super) fn touches(&self, key: &PairKey) -> bool {
        self.touched.contains(key)
    }

    /// Queues an open.
    pub(super) fn open(&mut self, alert: NewAlert, after: AfterOpen) {
        self.touched.insert(after.key.clone());
        self.order.push(After::Open);
        self.writes.opens.push(alert);
        self.opens.push(after);
    }

    /// Queues the start of the pair's pending window at `since`.
    pub(super) fn start_pending(&mut self, key: PairKey, since: DateTime<Utc>) {
        self.touched.insert(key.clone());
        self.writes
            .pending_starts
            .push((key.0, key.1.clone(), since));
        self.starts.push(key);
    }

    /// Queues the end of the pair's pending window.
    pub(super) fn clear_pending(&mut self, key: PairKey) {
        self.touched.insert(key.clone());
        self.writes.pending_clears.push(key);
    }

    /// Queues a look-up of the pair's recorded pending start (see [`Batch::asks`]).
    pub(super) fn ask_pending(&mut self, key: PairKey, violating_at: Option<DateTime<Utc>>) {
        self.touched.insert(key.clone());
        self.asks.push((key, violating_at));
    }

    /// Queues the resolve of alert `alert_id`.
    pub(super) fn resolve(
        &mut self,
        alert_id: i64,
        resolution: AlertResolution,
        after: AfterResolve,
    ) {
        self.touched.insert(after.key.clone());
        self.order.push(After::Resolve);
        self.writes.resolves.push((alert_id, resolution));
        self.resolves.push(after);
    }
}
