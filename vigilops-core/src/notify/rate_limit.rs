//! Per-channel rate limits that keep under each IM platform's documented limit, and storm
//! digests: a message over the limit is folded into one digest sent when capacity returns, never
//! dropped. Pure: the caller passes the time in.
//!
//! The limiter counts sends in sliding windows rather than with a token bucket: a bucket of 20
//! refilled at 20/min lets 39 messages through in one minute (a full burst, then the refill),
//! which DingTalk would answer with 130101 and a ten-minute ban.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{ChannelKind, Notification, NotificationKind, Severity};
use crate::clock::Clock;

/// At most `max` sends in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Sends allowed in the window.
    pub max: usize,
    /// The window's length.
    pub window: Duration,
}

/// The platform's documented limits for a channel kind; empty for webhook and email, which have
/// no platform limit of their own.
pub fn platform_limits(kind: ChannelKind) -> Vec<Window> {
    match kind {
        // DingTalk: 20 messages per minute per robot.
        // WeCom: 20 messages per minute per robot.
        ChannelKind::DingTalk | ChannelKind::WeCom => vec![Window {
            max: 20,
            window: Duration::minutes(1),
        }],
        // Feishu custom bots: 100 per minute and 5 per second.
        ChannelKind::Feishu => vec![
            Window {
                max: 5,
                window: Duration::seconds(1),
            },
            Window {
                max: 100,
                window: Duration::minutes(1),
            },
        ],
        ChannelKind::Webhook | ChannelKind::Email => Vec::new(),
    }
}

/// The digest lists this many held messages one per line, then counts the rest.
const DIGEST_LINES: usize = 50;

/// What the limiter decided for an offered message.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Send it now.
    Send(Notification),
    /// Held for the next digest; [`ChannelLimiter::next_release_at`] says when.
    Held,
}

#[derive(Debug, Default)]
struct Held {
    lines: Vec<String>,
    count: usize,
    firing: usize,
    resolved: usize,
    worst: Option<Severity>,
    first: Option<Notification>,
}

/// The limiter of one channel.
#[derive(Debug)]
pub struct ChannelLimiter {
    windows: Vec<Window>,
    sent: VecDeque<DateTime<Utc>>,
    held: Held,
}

impl ChannelLimiter {
    /// A limiter with `windows` (no windows: everything passes).
    pub fn new(windows: Vec<Window>) -> Self {
        Self {
            windows,
            sent: VecDeque::new(),
            held: Held::default(),
        }
    }

    /// A limiter with the platform's limits for `kind`.
    pub fn for_kind(kind: ChannelKind) -> Self {
        Self::new(platform_limits(kind))
    }

    fn forget_old(&mut self, now: DateTime<Utc>) {
        let longest = self.windows.iter().map(|w| w.window).max();
        if let Some(longest) = longest {
            while self.sent.front().is_some_and(|&at| at <= now - longest) {
                self.sent.pop_front();
            }
        }
    }

    /// The first instant at or after `now` when one more send fits every window.
    fn capacity_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut at = now;
        for window in &self.windows {
            let recent: Vec<_> = self
                .sent
                .iter()
                .filter(|&&sent| sent > now - window.window)
                .collect();
            if recent.len() >= window.max {
                // The send that must leave the window first frees the slot.
                let index = recent.len() - window.max;
                at = at.max(*recent[index] + window.window);
            }
        }
        at
    }

    /// Offers a message at `now`. While messages are held, new ones join them, so the order of
    /// events is kept and the digest goes out first.
    pub fn offer(&mut self, now: DateTime<Utc>, message: Notification) -> Admission {
        self.forget_old(now);
        if self.held.count == 0 && self.capacity_at(now) <= now {
            self.sent.push_back(now);
            return Admission::Send(message);
        }
        self.hold(message);
        Admission::Held
    }

    fn hold(&mut self, message: Notification) {
        let held = &mut self.held;
        held.count += 1;
        match message.kind {
            NotificationKind::Firing => held.firing += 1,
            NotificationKind::Resolved => held.resolved += 1,
            NotificationKind::Info => {}
        }
        held.worst = held.worst.max(Some(message.severity));
        if held.lines.len() < DIGEST_LINES {
            held.lines.push(format!(
                "- [{}] {}",
                message.severity.as_str(),
                message.display_title()
            ));
        }
        if held.first.is_none() {
            held.first = Some(message);
        }
    }

    /// When held messages can go out, `None` when nothing is held.
    pub fn next_release_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (self.held.count > 0).then(|| self.capacity_at(now))
    }

    /// The held messages as one message, when capacity has returned at `now`: the message itself
    /// when only one was held, else a digest of all of them.
    pub fn poll(&mut self, now: DateTime<Utc>) -> Option<Notification> {
        self.forget_old(now);
        if self.held.count == 0 || self.capacity_at(now) > now {
            return None;
        }
        self.sent.push_back(now);
        let held = std::mem::take(&mut self.held);
        if held.count == 1 {
            return held.first;
        }
        Some(digest(&held))
    }
}

/// The limiters of every channel, keyed by channel id, reading the time from a [`Clock`]: what
/// the dispatcher holds. It offers each message, sends what is admitted, and sleeps until
/// [`Self::next_release_at`] to send what [`Self::due`] returns.
#[derive(Debug)]
pub struct RateLimiters<K> {
    clock: Arc<dyn Clock>,
    limiters: HashMap<K, ChannelLimiter>,
}

impl<K: Hash + Eq + Clone> RateLimiters<K> {
    /// No limiters yet; each is made with its platform's limits on first use.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            limiters: HashMap::new(),
        }
    }

    /// Offers `message` to channel `key` of type `kind`.
    pub fn offer(&mut self, key: K, kind: ChannelKind, message: Notification) -> Admission {
        let now = self.clock.now();
        self.limiters
            .entry(key)
            .or_insert_with(|| ChannelLimiter::for_kind(kind))
            .offer(now, message)
    }

    /// The held messages (a digest per channel when several were held) whose channel has
    /// capacity again.
    pub fn due(&mut self) -> Vec<(K, Notification)> {
        let now = self.clock.now();
        self.limiters
            .iter_mut()
            .filter_map(|(key, limiter)| limiter.poll(now).map(|message| (key.clone(), message)))
            .collect()
    }

    /// The earliest time a held message can go out, `None` when nothing is held.
    pub fn next_release_at(&self) -> Option<DateTime<Utc>> {
        let now = self.clock.now();
        self.limiters
            .values()
            .filter_map(|limiter| limiter.next_release_at(now))
            .min()
    }
}

fn digest(held: &Held) -> Notification {
    let kind = if held.firing > 0 {
        NotificationKind::Firing
    } else if held.resolved == held.count {
        NotificationKind::Resolved
    } else {
        NotificationKind::Info
    };
    let mut body = format!(
        "VigilOps 告警风暴: {} 条通知因平台限流合并 (触发 {}, 恢复 {})\n\n",
        held.count, held.firing, held.resolved
    );
    body.push_str(&held.lines.join("\n"));
    if held.count > held.lines.len() {
        let _ = write!(body, "\n- … 以及另外 {} 条", held.count - held.lines.len());
    }
    let mut message = Notification::new(
        format!("告警汇总: {} 条通知", held.count),
        held.worst.unwrap_or(Severity::Info),
        kind,
        body,
    )
    .with_field("合并条数", held.count.to_string())
    .with_field("触发", held.firing.to_string())
    .with_field("恢复", held.resolved.to_string());
    message.subject = Some(format!("[VigilOps] 告警汇总: {} 条通知", held.count));
    message
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    fn alert(n: usize, severity: Severity, kind: NotificationKind) -> Notification {
        Notification::new(format!("alert {n}"), severity, kind, "body")
    }

    /// How many alerts a sent message stands for.
    fn folded(message: &Notification) -> usize {
        message
            .fields
            .first()
            .map_or(1, |f| f.value.parse().unwrap())
    }

    #[test]
    fn dingtalk_never_gets_more_than_twenty_in_any_minute_and_nothing_is_lost() {
        let mut limiter = ChannelLimiter::for_kind(ChannelKind::DingTalk);
        let mut sent_at = Vec::new();
        let mut delivered_alerts = 0;
        // 100 alerts, one every second, while draining whenever the limiter allows.
        for n in 0..100 {
            let now = at(n as i64);
            if let Some(digest) = limiter.poll(now) {
                sent_at.push(now);
                delivered_alerts += folded(&digest);
            }
            if let Admission::Send(_) =
                limiter.offer(now, alert(n, Severity::Warning, NotificationKind::Firing))
            {
                sent_at.push(now);
                delivered_alerts += 1;
            }
        }
        let mut now = at(100);
        while let Some(release) = limiter.next_release_at(now) {
            now = release;
            let digest = limiter.poll(now).expect("capacity at the promised time");
            sent_at.push(now);
            delivered_alerts += folded(&digest);
        }
        assert_eq!(delivered_alerts, 100, "every alert reached the channel");
        for (index, &start) in sent_at.iter().enumerate() {
            let in_window = sent_at[index..]
                .iter()
                .take_while(|&&t| t < start + Duration::minutes(1))
                .count();
            assert!(
                in_window <= 20,
                "{in_window} sends in the minute from {start}"
            );
        }
        // The first 20 went straight out; everything after waited for the window.
        assert_eq!(sent_at[19], at(19));
        assert_eq!(sent_at[20], at(60));
    }

    #[test]
    fn a_storm_is_folded_into_one_digest_when_capacity_returns() {
        let mut limiter = ChannelLimiter::new(vec![Window {
            max: 2,
            window: Duration::minutes(1),
        }]);
        assert!(matches!(
            limiter.offer(at(0), alert(0, Severity::Info, NotificationKind::Firing)),
            Admission::Send(_)
        ));
        assert!(matches!(
            limiter.offer(at(1), alert(1, Severity::Info, NotificationKind::Firing)),
            Admission::Send(_)
        ));
        for n in 2..80 {
            let severity = if n == 7 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            let kind = if n % 2 == 0 {
                NotificationKind::Firing
            } else {
                NotificationKind::Resolved
            };
            assert_eq!(
                limiter.offer(at(2), alert(n, severity, kind)),
                Admission::Held
            );
        }
        assert_eq!(limiter.poll(at(59)), None);
        assert_eq!(limiter.next_release_at(at(59)), Some(at(60)));
        let digest = limiter.poll(at(60)).unwrap();
        assert_eq!(digest.severity, Severity::Critical);
        assert_eq!(digest.kind, NotificationKind::Firing);
        assert_eq!(digest.title, "告警汇总: 78 条通知");
        assert!(digest.markdown.contains("- [warning] [告警] alert 2\n"));
        assert!(digest.markdown.contains("- [critical] [已恢复] alert 7\n"));
        assert!(digest.markdown.ends_with("- … 以及另外 28 条"));
        assert_eq!(digest.fields[1].value, "39");
        assert_eq!(limiter.next_release_at(at(60)), None);
    }

    #[test]
    fn a_single_held_message_goes_out_unchanged() {
        let mut limiter = ChannelLimiter::new(vec![Window {
            max: 1,
            window: Duration::seconds(10),
        }]);
        let first = alert(0, Severity::Warning, NotificationKind::Firing);
        let second = alert(1, Severity::Warning, NotificationKind::Resolved);
        assert_eq!(limiter.offer(at(0), first.clone()), Admission::Send(first));
        assert_eq!(limiter.offer(at(3), second.clone()), Admission::Held);
        assert_eq!(limiter.poll(at(10)), Some(second));
    }

    #[test]
    fn a_saturated_robot_holds_only_its_own_messages() {
        let clock = Arc::new(crate::clock::ManualClock::new(at(0)));
        let mut limiters = RateLimiters::new(clock.clone());
        for n in 0..25 {
            let message = alert(n, Severity::Warning, NotificationKind::Firing);
            let admitted = limiters.offer("robot", ChannelKind::DingTalk, message.clone());
            assert_eq!(admitted == Admission::Held, n >= 20, "message {n}");
            assert!(matches!(
                limiters.offer("hook", ChannelKind::Webhook, message),
                Admission::Send(_)
            ));
        }
        assert_eq!(limiters.next_release_at(), Some(at(60)));
        clock.advance(Duration::seconds(59));
        assert!(limiters.due().is_empty());
        clock.advance(Duration::seconds(1));
        let due = limiters.due();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, "robot");
        assert_eq!(due[0].1.title, "告警汇总: 5 条通知");
        assert_eq!(limiters.next_release_at(), None);
    }

    #[test]
    fn feishu_also_respects_five_per_second() {
        let mut limiter = ChannelLimiter::for_kind(ChannelKind::Feishu);
        let results: Vec<_> = (0..6)
            .map(|n| limiter.offer(at(0), alert(n, Severity::Info, NotificationKind::Info)))
            .collect();
        assert!(results[..5].iter().all(|r| matches!(r, Admission::Send(_))));
        assert_eq!(results[5], Admission::Held);
        assert_eq!(limiter.next_release_at(at(0)), Some(at(1)));
        // Webhooks have no platform limit.
        let mut webhook = ChannelLimiter::for_kind(ChannelKind::Webhook);
        assert!((0..1000).all(|n| matches!(
            webhook.offer(at(0), alert(n, Severity::Info, NotificationKind::Info)),
            Admission::Send(_)
        )));
    }
}
