//! Notification grouping: alert events of one rule that arrive close together go out as one
//! message ("37 hosts: disk > 90 %"), and later events of the same incident as updates every
//! `interval`, never as one message per host.
//!
//! The first event of a group waits only `wait` (a fraction of a second), so a single breach is
//! still notified within a second; events arriving meanwhile join it. After a message, the group
//! stays open for `interval`: events arriving then are held and sent together when it ends. A
//! group with nothing new at the end of its interval is closed, so the next incident starts
//! fresh. Pure: time is passed in.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::hash::Hash;

/// How long to wait and how often to update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPolicy {
    /// How long the first event of a group waits for others.
    pub wait: Duration,
    /// How long after a message further events are collected into one update.
    pub interval: Duration,
}

impl Default for GroupPolicy {
    fn default() -> Self {
        Self {
            wait: Duration::milliseconds(250),
            interval: Duration::seconds(60),
        }
    }
}

/// A message's worth of events of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<K, T> {
    /// The group.
    pub key: K,
    /// The events, in arrival order.
    pub members: Vec<T>,
    /// 0 for the group's first message, then 1, 2, … for its updates.
    pub sequence: u32,
}

#[derive(Debug)]
struct Group<T> {
    pending: Vec<T>,
    /// When the pending events are due (or, with none pending, when the group closes).
    due_at: DateTime<Utc>,
    /// Messages sent so far.
    sent: u32,
}

/// Open groups by key.
#[derive(Debug)]
pub struct Grouper<K, T> {
    policy: GroupPolicy,
    groups: HashMap<K, Group<T>>,
}

impl<K: Hash + Eq + Clone, T> Grouper<K, T> {
    /// No open group.
    pub fn new(policy: GroupPolicy) -> Self {
        Self {
            policy,
            groups: HashMap::new(),
        }
    }

    /// Adds an event to its group, opening the group if needed.
    pub fn offer(&mut self, key: K, member: T, now: DateTime<Utc>) {
        let wait = self.policy.wait;
        let group = self.groups.entry(key).or_insert_with(|| Group {
            pending: Vec::new(),
            due_at: now + wait,
            sent: 0,
        });
        group.pending.push(member);
    }

    /// The batches due at `now`; closes groups whose interval ended with nothing new.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Batch<K, T>> {
        let interval = self.policy.interval;
        let mut batches = Vec::new();
        let mut closed = Vec::new();
        for (key, group) in &mut self.groups {
            if group.due_at > now {
                continue;
            }
            if group.pending.is_empty() {
                closed.push(key.clone());
                continue;
            }
            batches.push(Batch {
                key: key.clone(),
                members: std::mem::take(&mut group.pending),
                sequence: group.sent,
            });
            group.sent += 1;
            group.due_at = now + interval;
        }
        for key in closed {
            self.groups.remove(&key);
        }
        batches
    }

    /// Every pending event now, whatever its group's schedule (shutdown).
    pub fn drain(&mut self) -> Vec<Batch<K, T>> {
        self.groups
            .drain()
            .filter(|(_, group)| !group.pending.is_empty())
            .map(|(key, group)| Batch {
                key,
                members: group.pending,
                sequence: group.sent,
            })
            .collect()
    }

    /// When [`Self::due`] next has something to do.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.groups.values().map(|group| group.due_at).min()
    }

    /// Whether no group is open.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap() + Duration::milliseconds(ms)
    }

    fn grouper() -> Grouper<&'static str, u32> {
        Grouper::new(GroupPolicy {
            wait: Duration::milliseconds(250),
            interval: Duration::seconds(60),
        })
    }

    #[test]
    fn a_single_event_goes_out_after_the_short_wait() {
        let mut groups = grouper();
        groups.offer("disk", 1, t(0));
        assert!(groups.due(t(249)).is_empty());
        assert_eq!(groups.next_due(), Some(t(250)));
        let batches = groups.due(t(250));
        assert_eq!(
            batches,
            vec![Batch {
                key: "disk",
                members: vec![1],
                sequence: 0
            }]
        );
    }

    #[test]
    fn a_storm_is_one_message_then_one_update_per_interval() {
        let mut groups = grouper();
        for host in 0..50 {
            groups.offer("disk", host, t(i64::from(host) * 4));
        }
        let first = groups.due(t(250));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].members.len(), 50);
        // Stragglers during the interval are one update at its end.
        groups.offer("disk", 50, t(10_000));
        groups.offer("disk", 51, t(20_000));
        assert!(groups.due(t(59_000)).is_empty());
        let update = groups.due(t(60_250));
        assert_eq!(update.len(), 1);
        assert_eq!(update[0].members, vec![50, 51]);
        assert_eq!(update[0].sequence, 1);
        // A quiet interval closes the group; the next incident starts fresh.
        assert!(groups.due(t(120_250)).is_empty());
        assert!(groups.is_empty());
        groups.offer("disk", 99, t(200_000));
        assert_eq!(groups.due(t(200_250))[0].sequence, 0);
    }

    #[test]
    fn groups_are_independent() {
        let mut groups = grouper();
        groups.offer("disk", 1, t(0));
        groups.offer("cpu", 2, t(100));
        let mut batches = groups.due(t(350));
        batches.sort_by_key(|batch| batch.key);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].key, "cpu");
        assert_eq!(batches[1].key, "disk");
    }

    proptest! {
        /// Every offered event is delivered exactly once, in arrival order within its group,
        /// and a group never sends two messages less than `interval` apart.
        #[test]
        fn every_event_is_delivered_once_and_messages_are_spaced(
            offers in proptest::collection::vec((0u8..3, 0i64..5_000), 1..200),
        ) {
            let mut groups: Grouper<u8, usize> = Grouper::new(GroupPolicy {
                wait: Duration::milliseconds(250),
                interval: Duration::seconds(2),
            });
            let mut offers: Vec<(u8, i64)> = offers;
            offers.sort_by_key(|(_, at)| *at);
            let mut delivered: Vec<(u8, usize)> = Vec::new();
            let mut last_sent: HashMap<u8, DateTime<Utc>> = HashMap::new();
            let mut now = 0;
            let mut next = 0;
            while now <= 20_000 {
                while next < offers.len() && offers[next].1 <= now {
                    groups.offer(offers[next].0, next, t(now));
                    next += 1;
                }
                for batch in groups.due(t(now)) {
                    if let Some(previous) = last_sent.get(&batch.key) {
                        prop_assert!(t(now) - *previous >= Duration::seconds(2));
                    }
                    last_sent.insert(batch.key, t(now));
                    delivered.extend(batch.members.iter().map(|member| (batch.key, *member)));
                }
                now += 50;
            }
            let mut ids: Vec<usize> = delivered.iter().map(|(_, id)| *id).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..offers.len()).collect::<Vec<_>>());
            for key in 0..3u8 {
                let order: Vec<usize> = delivered.iter().filter(|(k, _)| *k == key).map(|(_, id)| *id).collect();
                let mut sorted = order.clone();
                sorted.sort_unstable();
                prop_assert_eq!(order, sorted);
            }
        }
    }
}
