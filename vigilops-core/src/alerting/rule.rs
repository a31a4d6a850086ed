//! The validated alert-rule model: what a rule watches (its kind), when it is violated (a
//! threshold with hysteresis or a detector), and how its alerts are handled (pending window,
//! cooldown, silence window, target selector, channels). [`AlertRule::from_wire`] is the one
//! place a rule is checked; every refusal names the wire field at fault.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Duration, NaiveTime};
use regex::{Regex, RegexBuilder};
use thiserror::Error;

use super::detect::{
    BaselineConfig, Deviation, ForecastConfig, Sample, baseline as baseline_verdict, forecast,
};
use super::wire::{AlertRuleCreate, DetectorWire, TargetFilterWire};

/// Host metrics a `metric` rule may name: the snapshot's numeric fields plus derived ones.
pub const HOST_METRICS: &[&str] = &[
    "cpu_percent",
    "memory_percent",
    "disk_percent",
    "cpu_load_1",
    "cpu_load_5",
    "cpu_load_15",
    "memory_used_mb",
    "disk_used_mb",
    "disk_total_mb",
    "net_bytes_sent",
    "net_bytes_recv",
    "net_send_rate_kb",
    "net_recv_rate_kb",
    "net_packet_loss_rate",
    "load_per_cpu",
    "host_alive",
];

/// The longest regular expression a log rule may compile, so one rule cannot eat the server.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One refused field: the wire name and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The RuleCreate field at fault, e.g. `"operator"`.
    pub field: &'static str,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

/// Why a rule was refused; the server answers 422 with one entry per field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid alert rule: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidRule {
    /// Every field at fault, in the order checked; never empty.
    pub errors: Vec<FieldError>,
}

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// `value <op> threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
}

impl Operator {
    /// Parses the wire form; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            ">" => Some(Operator::Greater),
            ">=" => Some(Operator::GreaterOrEqual),
            "<" => Some(Operator::Less),
            "<=" => Some(Operator::LessOrEqual),
            "==" => Some(Operator::Equal),
            "!=" => Some(Operator::NotEqual),
            _ => None,
        }
    }

    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Greater => ">",
            Operator::GreaterOrEqual => ">=",
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
        }
    }

    /// Whether `value <op> threshold` holds.
    #[allow(clippy::float_cmp)] // `==` and `!=` rules compare exactly, as the original did.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Operator::Greater => value > threshold,
            Operator::GreaterOrEqual => value >= threshold,
            Operator::Less => value < threshold,
            Operator::LessOrEqual => value <= threshold,
            Operator::Equal => value == threshold,
            Operator::NotEqual => value != threshold,
        }
    }
}

/// What one evaluation says about the condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assessment {
    /// The condition is violated.
    Violating,
    /// Not violated, but not yet past the recovery threshold: an open alert stays open and a
    /// pending one is cleared.
    Holding,
    /// Clearly not violated.
    Clear,
}

/// A fixed comparison with an optional, separate recovery threshold (hysteresis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// The comparison.
    pub operator: Operator,
    /// Violated when `value <operator> trigger`.
    pub trigger: f64,
    /// Cleared only when `value <operator> recovery` no longer holds either; equals `trigger`
    /// when the rule has no hysteresis.
    pub recovery: f64,
}

impl Threshold {
    /// Judges one value.
    pub fn assess(&self, value: f64) -> Assessment {
        if self.operator.holds(value, self.trigger) {
            Assessment::Violating
        } else if self.operator.holds(value, self.recovery) {
            Assessment::Holding
        } else {
            Assessment::Clear
        }
    }
}

/// Which side of the baseline band violates a baseline rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Only values above the band.
    Above,
    /// Only values below the band.
    Below,
    /// Either side.
    Both,
}

/// When a metric-like rule is violated.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A fixed comparison.
    Threshold(Threshold),
    /// The value leaves the series' robust baseline band.
    Baseline {
        /// Detector settings.
        config: BaselineConfig,
        /// Which side violates.
        direction: Direction,
    },
    /// The series' trend reaches `limit` within `within`.
    Forecast {
        /// The limit, e.g. 100 (% disk).
        limit: f64,
        /// The horizon.
        within: Duration,
        /// Detector settings.
        config: ForecastConfig,
    },
}

impl Condition {
    /// Judges the latest reading `current` given the series' earlier `history` (any order).
    /// `None` means "no data": a non-finite value or too little history for a detector, which
    /// neither fires nor resolves.
    pub fn assess(&self, current: Sample, history: &[Sample]) -> Option<Assessment> {
        if !current.value.is_finite() {
            return None;
        }
        match self {
            Condition::Threshold(threshold) => Some(threshold.assess(current.value)),
            Condition::Baseline { config, direction } => {
                let verdict = baseline_verdict(history, current, config).ok()?;
                let violating = match (direction, verdict.deviation) {
                    (_, Deviation::Normal) => false,
                    (Direction::Both, _)
                    | (Direction::Above, Deviation::High)
                    | (Direction::Below, Deviation::Low) => true,
                    (Direction::Above, Deviation::Low) | (Direction::Below, Deviation::High) => {
                        false
                    }
                };
                Some(if violating {
                    Assessment::Violating
                } else {
                    Assessment::Clear
                })
            }
            Condition::Forecast {
                limit,
                within,
                config,
            } => {
                let mut samples = history.to_vec();
                samples.push(current);
                let outlook = forecast(&samples, *limit, current.at, config).ok()?;
                Some(if outlook.reaches_within(*within) {
                    Assessment::Violating
                } else {
                    Assessment::Clear
                })
            }
        }
    }
}

/// How a log rule matches a message.
#[derive(Debug, Clone)]
pub enum LogMatcher {
    /// Case-insensitive substring (the original's behaviour); stored lowercased.
    Keyword(String),
    /// A regular expression.
    Regex(Regex),
}

impl PartialEq for LogMatcher {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (LogMatcher::Keyword(a), LogMatcher::Keyword(b)) => a == b,
            (LogMatcher::Regex(a), LogMatcher::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

/// A log-pattern rule's filter.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPattern {
    /// The message matcher.
    pub matcher: LogMatcher,
    /// The level must equal this, ignoring case.
    pub level: Option<String>,
    /// The service must equal this exactly.
    pub service: Option<String>,
}

impl LogPattern {
    /// Whether one log entry matches.
    pub fn matches(&self, message: &str, level: &str, service: Option<&str>) -> bool {
        let message_matches = match &self.matcher {
            LogMatcher::Keyword(keyword) => message.to_lowercase().contains(keyword.as_str()),
            LogMatcher::Regex(regex) => regex.is_match(message),
        };
        message_matches
            && self
                .level
                .as_deref()
                .is_none_or(|wanted| wanted.eq_ignore_ascii_case(level))
            && self
                .service
                .as_deref()
                .is_none_or(|wanted| service == Some(wanted))
    }
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A host metric from the latest snapshot.
    HostMetric {
        /// One of [`HOST_METRICS`].
        metric: String,
        /// When it is violated.
        condition: Condition,
    },
    /// A service's latest check is `down`.
    ServiceDown,
    /// **Ours:** a service's SLA rule has an open violation (its window availability is below
    /// target). Metric `sla_violation` of a service rule; the SLA evaluator reports the
    /// standing of every rule each run (`crate::sla::SlaService::evaluate`).
    SlaViolation,
    /// **Ours:** a service's SLA error budget burns too fast: metric `sla_burn_rate_1h` or
    /// `sla_burn_rate_6h` of a service rule, compared with the threshold; the value is the
    /// burn rate the SLA evaluator sees over both windows of the pair
    /// (`crate::sla::BurnWindow`, `crate::sla::pair_burn_rate`).
    SlaBurnRate {
        /// Which pair of windows.
        window: crate::sla::BurnWindow,
        /// The comparison (`sla_burn_rate_1h >= 14.4` pages on 2 % of a 30-day budget in an
        /// hour).
        threshold: Threshold,
    },
    /// Log entries matching a pattern; resolved after `quiet_period` without a match.
    LogPattern {
        /// The filter.
        pattern: LogPattern,
        /// Quiet time that resolves the alert.
        quiet_period: Duration,
    },
    /// A database metric.
    DbMetric {
        /// The name looked up in the db-metrics body (then in `extra`).
        name: String,
        /// One database, or every database when `None`.
        db_id: Option<i64>,
        /// When it is violated.
        condition: Condition,
    },
    /// The host is offline.
    HostOffline,
    /// **Ours:** a host metric has had no data for `after`.
    Absence {
        /// One of [`HOST_METRICS`].
        metric: String,
        /// How long without data violates.
        after: Duration,
    },
}

/// A daily window during which notifications are not sent; both ends inclusive, wrapping
/// midnight when `start > end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceWindow {
    /// First silent time of day.
    pub start: NaiveTime,
    /// Last silent time of day.
    pub end: NaiveTime,
}

impl SilenceWindow {
    /// Whether `time` (in the server's time zone) is silent.
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= time && time <= self.end
        } else {
            time >= self.start || time <= self.end
        }
    }
}

/// Facts about one target that a [`TargetSelector`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct TargetFacts<'a> {
    /// The host (of the service, for service targets).
    pub host_id: i64,
    /// The service, for service targets.
    pub service_id: Option<i64>,
    /// The host's group.
    pub group: Option<&'a str>,
    /// The target's tags.
    pub tags: &'a BTreeMap<String, String>,
}

/// Narrows a rule to some targets; every criterion set must match, and an empty selector
/// matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSelector {
    /// Only these hosts (empty: any).
    pub host_ids: Vec<i64>,
    /// Only these services (empty: any).
    pub service_ids: Vec<i64>,
    /// Only hosts of this group.
    pub group: Option<String>,
    /// Only targets with all these tags.
    pub tags: BTreeMap<String, String>,
}

impl TargetSelector {
    /// Whether the rule applies to this target.
    pub fn matches(&self, target: &TargetFacts<'_>) -> bool {
        (self.host_ids.is_empty() || self.host_ids.contains(&target.host_id))
            && (self.service_ids.is_empty()
                || target
                    .service_id
                    .is_some_and(|id| self.service_ids.contains(&id)))
            && self
                .group
                .as_deref()
                .is_none_or(|group| target.group == Some(group))
            && self
                .tags
                .iter()
                .all(|(key, value)| target.tags.get(key) == Some(value))
    }
}

/// A validated alert rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// Display name (builtin rules are found by it).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Copied to its alerts.
    pub severity: Severity,
    /// What it watches and when it is violated.
    pub kind: RuleKind,
    /// How long a violation must last before firing.
    pub pending: Duration,
    /// Minimum time between fired notifications of one (rule, target).
    pub cooldown: Duration,
    /// Daily notification silence.
    pub silence: Option<SilenceWindow>,
    /// Which targets it applies to.
    pub selector: TargetSelector,
    /// Channels to notify; empty means every enabled channel.
    pub channel_ids: Vec<i64>,
    /// Disabled rules are not evaluated.
    pub enabled: bool,
    /// Re-notify an active, unacknowledged alert this often.
    pub repeat_interval: Option<Duration>,
    /// Escalate an unacknowledged alert.
    pub escalation: Option<Escalation>,
    /// How long a recovery's resolved message is held (a re-fire within it continues).
    pub resolve_hold: Duration,
}

/// Notify more channels when an alert stays unacknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// How long after firing.
    pub after: Duration,
    /// The channels notified then; never empty.
    pub channel_ids: Vec<i64>,
}

/// Collects field errors while a rule is checked.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn refuse(&mut self, field: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field,
            message: message.into(),
        });
    }

    fn seconds(&mut self, field: &'static str, seconds: i64) -> Duration {
        if seconds < 0 {
            self.refuse(field, format!("must not be negative, got {seconds}"));
            return Duration::zero();
        }
        // A century is more than any rule needs and keeps chrono in range.
        if seconds > 100 * 365 * 24 * 3600 {
            self.refuse(field, "is too large");
            return Duration::zero();
        }
        Duration::seconds(seconds)
    }

    fn time_of_day(&mut self, field: &'static str, text: &str) -> Option<NaiveTime> {
        let parsed = NaiveTime::parse_from_str(text, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"));
        match parsed {
            Ok(time) => Some(time),
            Err(_) => {
                self.refuse(field, format!("must be HH:MM or HH:MM:SS, got {text:?}"));
                None
            }
        }
    }
}

/// The longest resolve hold: an hour keeps a recovery's message meaningful.
const MAX_RESOLVE_HOLD_SECONDS: i64 = 3600;

impl AlertRule {
    /// Checks a RuleCreate (or an updated rule) and builds the rule, or names every bad field.
    pub fn from_wire(wire: &AlertRuleCreate) -> Result<Self, InvalidRule> {
        let mut check = Checker::default();

        let name = wire.name.trim();
        if name.is_empty() {
            check.refuse("name", "is required");
        } else if name.chars().count() > 255 {
            check.refuse("name", "must be at most 255 characters");
        }
        let severity = Severity::parse(&wire.severity).unwrap_or_else(|| {
            check.refuse(
                "severity",
                format!("must be info, warning or critical, got {:?}", wire.severity),
            );
            Severity::Warning
        });
        let pending = check.seconds("duration_seconds", wire.duration_seconds);
        let cooldown = check.seconds("cooldown_seconds", wire.cooldown_seconds);
        let silence = match (&wire.silence_start, &wire.silence_end) {
            (None, None) => None,
            (Some(start), Some(end)) => {
                let start = check.time_of_day("silence_start", start);
                let end = check.time_of_day("silence_end", end);
                start
                    .zip(end)
                    .map(|(start, end)| SilenceWindow { start, end })
            }
            (Some(_), None) => {
                check.refuse("silence_end", "is required when silence_start is set");
                None
            }
            (None, Some(_)) => {
                check.refuse("silence_start", "is required when silence_end is set");
                None
            }
        };
        let selector = selector(&mut check, wire.target_filter.as_ref());
        let channel_ids = wire.notification_channel_ids.clone().unwrap_or_default();
        if let Some(bad) = channel_ids.iter().find(|id| **id <= 0) {
            check.refuse(
                "notification_channel_ids",
                format!("must hold channel ids, got {bad}"),
            );
        }
        let repeat_interval = match wire.repeat_interval_seconds {
            None => None,
            Some(seconds) if seconds < 60 => {
                check.refuse(
                    "repeat_interval_seconds",
                    format!("must be at least 60, got {seconds}"),
                );
                None
            }
            Some(seconds) => Some(check.seconds("repeat_interval_seconds", seconds)),
        };
        let resolve_hold = if wire.resolve_hold_seconds > MAX_RESOLVE_HOLD_SECONDS {
            check.refuse(
                "resolve_hold_seconds",
                format!(
                    "must be at most {MAX_RESOLVE_HOLD_SECONDS}, got {}",
                    wire.resolve_hold_seconds
                ),
            );
            Duration::zero()
        } else {
            check.seconds("resolve_hold_seconds", wire.resolve_hold_seconds)
        };
        let escalation = wire.escalation.as_ref().and_then(|escalation| {
            if escalation.after_seconds <= 0 {
                check.refuse("escalation", "after_seconds must be positive");
                return None;
            }
            if escalation.channel_ids.is_empty() || escalation.channel_ids.iter().any(|id| *id <= 0)
            {
                check.refuse(
                    "escalation",
                    "channel_ids must hold at least one channel id",
                );
                return None;
            }
            Some(Escalation {
                after: check.seconds("escalation", escalation.after_seconds),
                channel_ids: escalation.channel_ids.clone(),
            })
        });
        let kind = kind(&mut check, wire, pending);

        if !check.errors.is_empty() {
            return Err(InvalidRule {
                errors: check.errors,
            });
        }
        // `kind` is `Some` whenever no error was recorded.
        let Some(kind) = kind else {
            return Err(InvalidRule {
                errors: vec![FieldError {
                    field: "rule_type",
                    message: "is not supported".to_owned(),
                }],
            });
        };
        Ok(Self {
            name: name.to_owned(),
            description: wire.description.clone(),
            severity,
            // Absence rules use `duration_seconds` as their silence length and log rules as their
            // quiet period, not as a pending window: one matching line fires at once.
            pending: if matches!(kind, RuleKind::Absence { .. } | RuleKind::LogPattern { .. }) {
                Duration::zero()
            } else {
                pending
            },
            kind,
            cooldown,
            silence,
            selector,
            channel_ids,
            enabled: wire.is_enabled,
            repeat_interval,
            escalation,
            resolve_hold,
        })
    }
}

/// Checks a RuleCreate and returns it as it should be stored and shown: the name trimmed and
/// the silence window as `"HH:MM:SS"` (the REST contract returns that form whatever was sent).
pub fn normalize(wire: &AlertRuleCreate) -> Result<(AlertRuleCreate, AlertRule), InvalidRule> {
    let rule = AlertRule::from_wire(wire)?;
    let mut stored = wire.clone();
    stored.name.clone_from(&rule.name);
    if let Some(silence) = rule.silence {
        stored.silence_start = Some(silence.start.format("%H:%M:%S").to_string());
        stored.silence_end = Some(silence.end.format("%H:%M:%S").to_string());
    }
    Ok((stored, rule))
}

/// The rules created at start-up when no rule has their name (the original's builtins).
pub fn builtin_rules() -> Vec<AlertRuleCreate> {
    let builtin =
        |name: &str, metric: &str, operator: &str, threshold: f64, duration: i64| AlertRuleCreate {
            name: name.to_owned(),
            metric: metric.to_owned(),
            operator: operator.to_owned(),
            threshold,
            duration_seconds: duration,
            ..AlertRuleCreate::default()
        };
    vec![
        builtin("CPU 使用率过高", "cpu_percent", ">", 90.0, 300),
        builtin("内存使用率过高", "memory_percent", ">", 90.0, 300),
        AlertRuleCreate {
            severity: "critical".to_owned(),
            ..builtin("磁盘使用率过高", "disk_percent", ">", 95.0, 0)
        },
        AlertRuleCreate {
            severity: "critical".to_owned(),
            ..builtin("主机离线", "host_offline", "==", 1.0, 0)
        },
        AlertRuleCreate {
            severity: "critical".to_owned(),
            target_type: "service".to_owned(),
            ..builtin("服务不可用", "service_down", "==", 1.0, 0)
        },
    ]
}

fn selector(check: &mut Checker, filter: Option<&TargetFilterWire>) -> TargetSelector {
    let Some(filter) = filter else {
        return TargetSelector::default();
    };
    let host_ids = filter.host_ids.clone().unwrap_or_default();
    let service_ids = filter.service_ids.clone().unwrap_or_default();
    if host_ids.iter().chain(&service_ids).any(|id| *id <= 0) {
        check.refuse("target_filter", "ids must be positive");
    }
    let group = filter
        .group_name
        .as_deref()
        .map(str::trim)
        .filter(|group| !group.is_empty())
        .map(str::to_owned);
    TargetSelector {
        host_ids,
        service_ids,
        group,
        tags: filter.tags.clone().unwrap_or_default(),
    }
}

fn threshold_condition(check: &mut Checker, wire: &AlertRuleCreate) -> Option<Condition> {
    if !wire.threshold.is_finite() {
        check.refuse("threshold", "must be a finite number");
    }
    if let Some(detector) = &wire.detector {
        if wire.recovery_threshold.is_some() {
            check.refuse(
                "recovery_threshold",
                "applies to fixed thresholds, not detectors",
            );
        }
        return detector_condition(check, detector, wire.threshold);
    }
    let Some(operator) = Operator::parse(&wire.operator) else {
        check.refuse(
            "operator",
            format!("must be one of > >= < <= == !=, got {:?}", wire.operator),
        );
        return None;
    };
    let recovery = wire.recovery_threshold.unwrap_or(wire.threshold);
    if !recovery.is_finite() {
        check.refuse("recovery_threshold", "must be a finite number");
    }
    let misplaced = match operator {
        Operator::Greater | Operator::GreaterOrEqual => recovery > wire.threshold,
        Operator::Less | Operator::LessOrEqual => recovery < wire.threshold,
        Operator::Equal | Operator::NotEqual => wire.recovery_threshold.is_some(),
    };
    if misplaced {
        let message = match operator {
            Operator::Greater | Operator::GreaterOrEqual => {
                "must not be above threshold for a > or >= rule"
            }
            Operator::Less | Operator::LessOrEqual => {
                "must not be below threshold for a < or <= rule"
            }
            Operator::Equal | Operator::NotEqual => "is not allowed with == or !=",
        };
        check.refuse("recovery_threshold", message);
    }
    Some(Condition::Threshold(Threshold {
        operator,
        trigger: wire.threshold,
        recovery,
    }))
}

fn detector_condition(
    check: &mut Checker,
    detector: &DetectorWire,
    threshold: f64,
) -> Option<Condition> {
    match detector {
        DetectorWire::Baseline {
            sensitivity,
            window_seconds,
            direction,
        } => {
            let mut config = BaselineConfig::default();
            if let Some(sensitivity) = sensitivity {
                if !(sensitivity.is_finite() && *sensitivity > 0.0) {
                    check.refuse("detector", "sensitivity must be a positive number");
                }
                config.sensitivity = *sensitivity;
            }
            if let Some(seconds) = window_seconds {
                if *seconds < 60 {
                    check.refuse("detector", "window_seconds must be at least 60");
                }
                config.window = check.seconds("detector", *seconds);
            }
            let direction = match direction.as_deref() {
                None | Some("above") => Direction::Above,
                Some("below") => Direction::Below,
                Some("both") => Direction::Both,
                Some(other) => {
                    check.refuse(
                        "detector",
                        format!("direction must be above, below or both, got {other:?}"),
                    );
                    Direction::Above
                }
            };
            Some(Condition::Baseline { config, direction })
        }
        DetectorWire::Forecast {
            within_hours,
            lookback_seconds,
        } => {
            if !(within_hours.is_finite() && *within_hours > 0.0 && *within_hours <= 24.0 * 365.0) {
                check.refuse("detector", "within_hours must be between 0 and 8760");
                return None;
            }
            let mut config = ForecastConfig::default();
            if let Some(seconds) = lookback_seconds {
                if *seconds < 600 {
                    check.refuse("detector", "lookback_seconds must be at least 600");
                }
                config.lookback = check.seconds("detector", *seconds);
            }
            Some(Condition::Forecast {
                limit: threshold,
                within: Duration::seconds((within_hours * 3600.0).round() as i64),
                config,
            })
        }
    }
}

fn known_host_metric(check: &mut Checker, metric: &str) -> bool {
    if HOST_METRICS.contains(&metric) {
        true
    } else {
        check.refuse("metric", format!("unknown host metric {metric:?}"));
        false
    }
}

fn optional_text(text: Option<&String>) -> Option<String> {
    text.map(|text| text.trim())
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn kind(check: &mut Checker, wire: &AlertRuleCreate, pending: Duration) -> Option<RuleKind> {
    if wire.target_type != "host" && wire.target_type != "service" {
        check.refuse(
            "target_type",
            format!("must be host or service, got {:?}", wire.target_type),
        );
        return None;
    }
    let metric = wire.metric.trim();
    match wire.rule_type.as_str() {
        "metric" if wire.target_type == "service" => {
            if wire.detector.is_some() {
                check.refuse("detector", "is not available for service rules");
            }
            match metric {
                "sla_violation" => Some(RuleKind::SlaViolation),
                "sla_burn_rate_1h" | "sla_burn_rate_6h" => {
                    let window = crate::sla::BurnWindow::of_metric(metric)?;
                    match threshold_condition(check, wire)? {
                        Condition::Threshold(threshold) => {
                            Some(RuleKind::SlaBurnRate { window, threshold })
                        }
                        _ => None,
                    }
                }
                "service_down" => Some(RuleKind::ServiceDown),
                _ => {
                    check.refuse(
                        "metric",
                        format!(
                            "service rules watch service_down, sla_violation, \
                             sla_burn_rate_1h or sla_burn_rate_6h, got {metric:?}"
                        ),
                    );
                    Some(RuleKind::ServiceDown)
                }
            }
        }
        "metric" if metric == "host_offline" => {
            if wire.detector.is_some() {
                check.refuse("detector", "is not available for host_offline");
            }
            Some(RuleKind::HostOffline)
        }
        "metric" => {
            let known = known_host_metric(check, metric);
            let condition = threshold_condition(check, wire)?;
            known.then(|| RuleKind::HostMetric {
                metric: metric.to_owned(),
                condition,
            })
        }
        "db_metric" => {
            let Some(name) = optional_text(wire.db_metric_name.as_ref()) else {
                check.refuse("db_metric_name", "is required for db_metric rules");
                return None;
            };
            if wire.db_id.is_some_and(|id| id <= 0) {
                check.refuse("db_id", "must be a database id");
            }
            let condition = threshold_condition(check, wire)?;
            Some(RuleKind::DbMetric {
                name,
                db_id: wire.db_id,
                condition,
            })
        }
        "log_keyword" => {
            let Some(keyword) = optional_text(wire.log_keyword.as_ref()) else {
                check.refuse("log_keyword", "is required for log_keyword rules");
                return None;
            };
            if wire.detector.is_some() {
                check.refuse("detector", "is not available for log rules");
            }
            let matcher = if wire.log_keyword_is_regex {
                match RegexBuilder::new(&keyword)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                {
                    Ok(regex) => LogMatcher::Regex(regex),
                    Err(error) => {
                        check.refuse("log_keyword", format!("invalid regex: {error}"));
                        return None;
                    }
                }
            } else {
                LogMatcher::Keyword(keyword.to_lowercase())
            };
            let quiet_period = if pending.is_zero() {
                Duration::seconds(300)
            } else {
                pending
            };
            Some(RuleKind::LogPattern {
                pattern: LogPattern {
                    matcher,
                    level: optional_text(wire.log_level.as_ref()),
                    service: optional_text(wire.log_service.as_ref()),
                },
                quiet_period,
            })
        }
        "absence" => {
            let known = known_host_metric(check, metric);
            if pending.is_zero() {
                check.refuse(
                    "duration_seconds",
                    "must be positive for absence rules (how long without data)",
                );
            }
            if wire.detector.is_some() {
                check.refuse("detector", "is not available for absence rules");
            }
            known.then(|| RuleKind::Absence {
                metric: metric.to_owned(),
                after: pending,
            })
        }
        other => {
            check.refuse(
                "rule_type",
                format!("must be metric, log_keyword, db_metric or absence, got {other:?}"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rule(edit: impl FnOnce(&mut AlertRuleCreate)) -> AlertRuleCreate {
        let mut wire = AlertRuleCreate {
            name: "cpu".to_owned(),
            metric: "cpu_percent".to_owned(),
            threshold: 90.0,
            ..AlertRuleCreate::default()
        };
        edit(&mut wire);
        wire
    }

    /// The fields refused for `wire`, in order.
    fn refused(wire: &AlertRuleCreate) -> Vec<&'static str> {
        match AlertRule::from_wire(wire) {
            Ok(rule) => panic!("accepted {rule:?}"),
            Err(invalid) => invalid.errors.iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn the_original_builtins_are_valid_rules() {
        let rules: Vec<AlertRule> = builtin_rules()
            .iter()
            .map(|wire| AlertRule::from_wire(wire).unwrap())
            .collect();
        let kinds: Vec<(&str, Severity, i64)> = rules
            .iter()
            .map(|rule| {
                (
                    rule.name.as_str(),
                    rule.severity,
                    rule.pending.num_seconds(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("CPU 使用率过高", Severity::Warning, 300),
                ("内存使用率过高", Severity::Warning, 300),
                ("磁盘使用率过高", Severity::Critical, 0),
                ("主机离线", Severity::Critical, 0),
                ("服务不可用", Severity::Critical, 0),
            ]
        );
        assert_eq!(rules[3].kind, RuleKind::HostOffline);
        assert_eq!(rules[4].kind, RuleKind::ServiceDown);
        assert!(
            rules
                .iter()
                .all(|rule| rule.cooldown == Duration::seconds(300))
        );
    }

    #[test]
    fn normalize_stores_silence_as_hh_mm_ss_and_trims_the_name() {
        let (stored, normalized) = normalize(&rule(|r| {
            r.name = "  cpu high ".to_owned();
            r.silence_start = Some("22:00".to_owned());
            r.silence_end = Some("06:30:15".to_owned());
        }))
        .unwrap();
        assert_eq!(stored.name, "cpu high");
        assert_eq!(normalized.name, "cpu high");
        assert_eq!(stored.silence_start.as_deref(), Some("22:00:00"));
        assert_eq!(stored.silence_end.as_deref(), Some("06:30:15"));
        assert!(normalize(&rule(|r| r.operator = "≥".to_owned())).is_err());
    }

    #[test]
    fn builtin_rules_are_valid() {
        let cpu = AlertRule::from_wire(&rule(|_| {})).unwrap();
        assert_eq!(cpu.severity, Severity::Warning);
        assert_eq!(cpu.pending, Duration::seconds(300));
        assert_eq!(
            cpu.kind,
            RuleKind::HostMetric {
                metric: "cpu_percent".to_owned(),
                condition: Condition::Threshold(Threshold {
                    operator: Operator::Greater,
                    trigger: 90.0,
                    recovery: 90.0
                })
            }
        );
        let offline = AlertRule::from_wire(&rule(|r| {
            r.metric = "host_offline".to_owned();
            r.operator = "==".to_owned();
        }))
        .unwrap();
        assert_eq!(offline.kind, RuleKind::HostOffline);
        let service = AlertRule::from_wire(&rule(|r| {
            r.metric = "service_down".to_owned();
            r.target_type = "service".to_owned();
        }))
        .unwrap();
        assert_eq!(service.kind, RuleKind::ServiceDown);
        let sla = AlertRule::from_wire(&rule(|r| {
            r.metric = "sla_violation".to_owned();
            r.target_type = "service".to_owned();
        }))
        .unwrap();
        assert_eq!(sla.kind, RuleKind::SlaViolation);
        assert!(
            AlertRule::from_wire(&rule(|r| {
                r.metric = "cpu_percent".to_owned();
                r.target_type = "service".to_owned();
            }))
            .is_err()
        );
        for metric in ["host_alive", "load_per_cpu"] {
            assert!(AlertRule::from_wire(&rule(|r| r.metric = metric.to_owned())).is_ok());
        }
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases: Vec<(AlertRuleCreate, Vec<&str>)> = vec![
            (rule(|r| r.metric = "cpu_pct".to_owned()), vec!["metric"]),
            (rule(|r| r.operator = "=>".to_owned()), vec!["operator"]),
            (rule(|r| r.duration_seconds = -1), vec!["duration_seconds"]),
            (rule(|r| r.cooldown_seconds = -5), vec!["cooldown_seconds"]),
            (
                rule(|r| r.resolve_hold_seconds = -1),
                vec!["resolve_hold_seconds"],
            ),
            (
                rule(|r| r.resolve_hold_seconds = 3601),
                vec!["resolve_hold_seconds"],
            ),
            (rule(|r| r.severity = "fatal".to_owned()), vec!["severity"]),
            (rule(|r| r.name = "  ".to_owned()), vec!["name"]),
            (rule(|r| r.rule_type = "sql".to_owned()), vec!["rule_type"]),
            (
                rule(|r| r.target_type = "db".to_owned()),
                vec!["target_type"],
            ),
            (
                rule(|r| r.silence_start = Some("22:00".to_owned())),
                vec!["silence_end"],
            ),
            (
                rule(|r| {
                    r.silence_start = Some("25:00".to_owned());
                    r.silence_end = Some("06:00".to_owned());
                }),
                vec!["silence_start"],
            ),
            (
                rule(|r| {
                    r.silence_start = Some("22:00".to_owned());
                    r.silence_end = Some("7am".to_owned());
                }),
                vec!["silence_end"],
            ),
            (
                rule(|r| {
                    r.rule_type = "log_keyword".to_owned();
                    r.log_keyword = Some("error(".to_owned());
                    r.log_keyword_is_regex = true;
                }),
                vec!["log_keyword"],
            ),
            (
                rule(|r| r.rule_type = "log_keyword".to_owned()),
                vec!["log_keyword"],
            ),
            (
                rule(|r| r.rule_type = "db_metric".to_owned()),
                vec!["db_metric_name"],
            ),
            (
                rule(|r| r.recovery_threshold = Some(95.0)),
                vec!["recovery_threshold"],
            ),
            (
                rule(|r| r.notification_channel_ids = Some(vec![1, 0])),
                vec!["notification_channel_ids"],
            ),
            (
                rule(|r| {
                    r.detector = Some(DetectorWire::Forecast {
                        within_hours: -1.0,
                        lookback_seconds: None,
                    })
                }),
                vec!["detector"],
            ),
            (
                rule(|r| {
                    r.detector = Some(DetectorWire::Baseline {
                        sensitivity: None,
                        window_seconds: None,
                        direction: Some("sideways".to_owned()),
                    })
                }),
                vec!["detector"],
            ),
            (
                rule(|r| {
                    r.rule_type = "absence".to_owned();
                    r.duration_seconds = 0;
                }),
                vec!["duration_seconds"],
            ),
        ];
        for (wire, fields) in cases {
            assert_eq!(refused(&wire), fields, "{wire:?}");
        }
    }

    #[test]
    fn several_bad_fields_are_all_reported() {
        let wire = rule(|r| {
            r.metric = "nope".to_owned();
            r.operator = "~".to_owned();
            r.duration_seconds = -3;
        });
        let error = AlertRule::from_wire(&wire).unwrap_err();
        assert_eq!(
            error.errors.iter().map(|e| e.field).collect::<Vec<_>>(),
            ["duration_seconds", "metric", "operator"]
        );
        let text = error.to_string();
        assert!(text.contains("`operator`: must be one of"), "{text}");
        assert!(text.contains("\"nope\""), "{text}");
    }

    #[test]
    fn thresholds_have_hysteresis() {
        let above = Threshold {
            operator: Operator::Greater,
            trigger: 90.0,
            recovery: 80.0,
        };
        assert_eq!(above.assess(95.0), Assessment::Violating);
        assert_eq!(above.assess(90.0), Assessment::Holding);
        assert_eq!(above.assess(85.0), Assessment::Holding);
        assert_eq!(above.assess(80.0), Assessment::Clear);
        let below = Threshold {
            operator: Operator::LessOrEqual,
            trigger: 10.0,
            recovery: 20.0,
        };
        assert_eq!(below.assess(10.0), Assessment::Violating);
        assert_eq!(below.assess(15.0), Assessment::Holding);
        assert_eq!(below.assess(25.0), Assessment::Clear);
        let plain = Threshold {
            operator: Operator::NotEqual,
            trigger: 1.0,
            recovery: 1.0,
        };
        assert_eq!(plain.assess(0.0), Assessment::Violating);
        assert_eq!(plain.assess(1.0), Assessment::Clear);
    }

    #[test]
    fn operators_parse_and_compare() {
        for (text, value, holds) in [
            (">", 2.0, true),
            (">=", 1.0, true),
            ("<", 1.0, false),
            ("<=", 1.0, true),
            ("==", 1.0, true),
            ("!=", 1.0, false),
        ] {
            let operator = Operator::parse(text).unwrap();
            assert_eq!(operator.as_str(), text);
            assert_eq!(operator.holds(value, 1.0), holds, "{text}");
        }
        assert_eq!(Operator::parse("=<"), None);
    }

    #[test]
    fn log_patterns_match_keyword_regex_level_and_service() {
        let keyword = AlertRule::from_wire(&rule(|r| {
            r.rule_type = "log_keyword".to_owned();
            r.metric = String::new();
            r.log_keyword = Some("OutOfMemory".to_owned());
            r.log_level = Some("ERROR".to_owned());
            r.log_service = Some("api".to_owned());
            r.duration_seconds = 0;
        }))
        .unwrap();
        let RuleKind::LogPattern {
            pattern,
            quiet_period,
        } = keyword.kind
        else {
            panic!("{keyword:?}");
        };
        assert_eq!(quiet_period, Duration::seconds(300));
        assert!(pattern.matches("java.lang.outofmemory: heap", "error", Some("api")));
        assert!(!pattern.matches("java.lang.outofmemory: heap", "warn", Some("api")));
        assert!(!pattern.matches("java.lang.outofmemory: heap", "error", Some("web")));
        assert!(!pattern.matches("java.lang.outofmemory: heap", "error", None));
        assert!(!pattern.matches("all fine", "error", Some("api")));

        let regex = AlertRule::from_wire(&rule(|r| {
            r.rule_type = "log_keyword".to_owned();
            r.log_keyword = Some(r"status=5\d\d".to_owned());
            r.log_keyword_is_regex = true;
        }))
        .unwrap();
        let RuleKind::LogPattern { pattern, .. } = regex.kind else {
            panic!("{regex:?}");
        };
        assert!(pattern.matches("GET / status=503", "info", None));
        assert!(!pattern.matches("GET / status=404", "info", None));
    }

    #[test]
    fn detectors_become_conditions() {
        let forecast = AlertRule::from_wire(&rule(|r| {
            r.metric = "disk_percent".to_owned();
            r.threshold = 100.0;
            r.detector = Some(DetectorWire::Forecast {
                within_hours: 24.0,
                lookback_seconds: None,
            });
        }))
        .unwrap();
        let RuleKind::HostMetric { condition, .. } = forecast.kind else {
            panic!("{forecast:?}");
        };
        assert_eq!(
            condition,
            Condition::Forecast {
                limit: 100.0,
                within: Duration::hours(24),
                config: ForecastConfig::default()
            }
        );
        let baseline = AlertRule::from_wire(&rule(|r| {
            r.detector = Some(DetectorWire::Baseline {
                sensitivity: Some(5.0),
                window_seconds: Some(7200),
                direction: Some("both".to_owned()),
            });
        }))
        .unwrap();
        let RuleKind::HostMetric { condition, .. } = baseline.kind else {
            panic!("{baseline:?}");
        };
        let Condition::Baseline { config, direction } = condition else {
            panic!("{condition:?}");
        };
        assert_eq!(direction, Direction::Both);
        assert_eq!(config.sensitivity, 5.0);
        assert_eq!(config.window, Duration::hours(2));
    }

    #[test]
    fn conditions_assess_with_thresholds_and_detectors() {
        use chrono::{TimeZone, Utc};

        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let series = |per_hour: f64| -> Vec<Sample> {
            (1..=120)
                .map(|i| {
                    let at = now - Duration::minutes(i);
                    Sample::new(at, 50.0 - per_hour * i as f64 / 60.0)
                })
                .collect()
        };
        let threshold = Condition::Threshold(Threshold {
            operator: Operator::Greater,
            trigger: 90.0,
            recovery: 80.0,
        });
        assert_eq!(
            threshold.assess(Sample::new(now, 95.0), &[]),
            Some(Assessment::Violating)
        );
        assert_eq!(threshold.assess(Sample::new(now, f64::NAN), &[]), None);

        let disk_full_within_day = Condition::Forecast {
            limit: 100.0,
            within: Duration::hours(24),
            config: ForecastConfig::default(),
        };
        // 50 % rising 5 %/h: full in 10 h.
        assert_eq!(
            disk_full_within_day.assess(Sample::new(now, 50.0), &series(5.0)),
            Some(Assessment::Violating)
        );
        // 50 % rising 1 %/h: full in 50 h.
        assert_eq!(
            disk_full_within_day.assess(Sample::new(now, 50.0), &series(1.0)),
            Some(Assessment::Clear)
        );
        assert_eq!(
            disk_full_within_day.assess(Sample::new(now, 50.0), &[]),
            None
        );

        let below = Condition::Baseline {
            config: BaselineConfig::default(),
            direction: Direction::Below,
        };
        let flat = series(0.0);
        assert_eq!(
            below.assess(Sample::new(now, 10.0), &flat),
            Some(Assessment::Violating)
        );
        assert_eq!(
            below.assess(Sample::new(now, 90.0), &flat),
            Some(Assessment::Clear)
        );
        assert_eq!(below.assess(Sample::new(now, 10.0), &flat[..3]), None);
    }

    #[test]
    fn absence_and_db_rules() {
        let absence = AlertRule::from_wire(&rule(|r| {
            r.rule_type = "absence".to_owned();
            r.duration_seconds = 600;
        }))
        .unwrap();
        assert_eq!(
            absence.kind,
            RuleKind::Absence {
                metric: "cpu_percent".to_owned(),
                after: Duration::minutes(10)
            }
        );
        assert_eq!(absence.pending, Duration::zero());
        let db = AlertRule::from_wire(&rule(|r| {
            r.rule_type = "db_metric".to_owned();
            r.metric = String::new();
            r.db_metric_name = Some("slow_queries".to_owned());
            r.db_id = Some(4);
        }))
        .unwrap();
        assert!(
            matches!(db.kind, RuleKind::DbMetric { ref name, db_id: Some(4), .. } if name == "slow_queries")
        );
    }

    #[test]
    fn silence_windows_are_inclusive_and_wrap_midnight() {
        let time = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let day = SilenceWindow {
            start: time(9, 0),
            end: time(17, 0),
        };
        assert!(day.contains(time(9, 0)) && day.contains(time(17, 0)));
        assert!(!day.contains(time(17, 1)) && !day.contains(time(8, 59)));
        let night = SilenceWindow {
            start: time(22, 0),
            end: time(6, 0),
        };
        assert!(night.contains(time(23, 30)) && night.contains(time(0, 0)));
        assert!(night.contains(time(6, 0)) && !night.contains(time(12, 0)));

        let parsed = AlertRule::from_wire(&rule(|r| {
            r.silence_start = Some("22:00".to_owned());
            r.silence_end = Some("06:00:30".to_owned());
        }))
        .unwrap();
        assert_eq!(
            parsed.silence,
            Some(SilenceWindow {
                start: time(22, 0),
                end: NaiveTime::from_hms_opt(6, 0, 30).unwrap()
            })
        );
    }

    fn any_wire() -> impl Strategy<Value = AlertRuleCreate> {
        let text = |options: &'static [&'static str]| {
            prop::sample::select(options).prop_map(str::to_owned)
        };
        (
            (
                text(&["cpu", "", " disk "]),
                text(&["info", "warning", "critical", "fatal"]),
                text(&["cpu_percent", "host_offline", "service_down", "nope", ""]),
                text(&[">", ">=", "<", "<=", "==", "!=", "=>"]),
                -1e3..1e3f64,
                -10..1000i64,
            ),
            (
                text(&["host", "service", "db"]),
                text(&["metric", "log_keyword", "db_metric", "absence", "sql"]),
                prop::option::of(text(&["error", "(unclosed", "a+b", ""])),
                any::<bool>(),
                prop::option::of(text(&["slow_queries", " "])),
                -10..1000i64,
            ),
            (
                prop::option::of(text(&["22:00", "06:00:30", "24:00", "x"])),
                prop::option::of(text(&["22:00", "06:00:30", "24:00", "x"])),
                prop::option::of(-1e3..1e3f64),
                prop::option::of(prop::collection::vec(-2..5i64, 0..3)),
            ),
        )
            .prop_map(|(a, b, c)| AlertRuleCreate {
                name: a.0,
                severity: a.1,
                metric: a.2,
                operator: a.3,
                threshold: a.4,
                duration_seconds: a.5,
                target_type: b.0,
                rule_type: b.1,
                log_keyword: b.2,
                log_keyword_is_regex: b.3,
                db_metric_name: b.4,
                cooldown_seconds: b.5,
                silence_start: c.0,
                silence_end: c.1,
                recovery_threshold: c.2,
                notification_channel_ids: c.3,
                ..AlertRuleCreate::default()
            })
    }

    proptest! {
        #[test]
        fn validation_never_panics_and_the_stored_form_is_stable(wire in any_wire()) {
            match normalize(&wire) {
                Ok((stored, rule)) => {
                    let (again, rule_again) = normalize(&stored).unwrap();
                    prop_assert_eq!(again, stored);
                    prop_assert_eq!(rule_again, rule);
                }
                Err(invalid) => {
                    prop_assert!(!invalid.errors.is_empty());
                    let text = invalid.to_string();
                    for error in &invalid.errors {
                        prop_assert!(text.contains(error.field));
                    }
                }
            }
        }
    }

    #[test]
    fn selectors_match_by_id_group_and_tags() {
        let mut tags = BTreeMap::new();
        tags.insert("env".to_owned(), "prod".to_owned());
        tags.insert("team".to_owned(), "db".to_owned());
        let facts = TargetFacts {
            host_id: 7,
            service_id: Some(3),
            group: Some("databases"),
            tags: &tags,
        };
        assert!(TargetSelector::default().matches(&facts));
        let by_host = TargetSelector {
            host_ids: vec![1, 7],
            ..TargetSelector::default()
        };
        assert!(by_host.matches(&facts));
        assert!(!by_host.matches(&TargetFacts {
            host_id: 2,
            ..facts
        }));
        let by_service = TargetSelector {
            service_ids: vec![4],
            ..TargetSelector::default()
        };
        assert!(!by_service.matches(&facts));
        let by_group_and_tag = TargetSelector {
            group: Some("databases".to_owned()),
            tags: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
            ..TargetSelector::default()
        };
        assert!(by_group_and_tag.matches(&facts));
        let wrong_tag = TargetSelector {
            tags: BTreeMap::from([("env".to_owned(), "staging".to_owned())]),
            ..TargetSelector::default()
        };
        assert!(!wrong_tag.matches(&facts));

        let parsed = AlertRule::from_wire(&rule(|r| {
            r.target_filter = Some(TargetFilterWire {
                host_ids: Some(vec![7]),
                group_name: Some("databases".to_owned()),
                ..TargetFilterWire::default()
            });
        }))
        .unwrap();
        assert!(parsed.selector.matches(&facts));
    }

    #[test]
    fn repeat_and_escalation_are_checked() {
        use crate::alerting::wire::EscalationWire;

        let parsed = AlertRule::from_wire(&rule(|r| {
            r.repeat_interval_seconds = Some(3600);
            r.escalation = Some(EscalationWire {
                after_seconds: 900,
                channel_ids: vec![2, 3],
            });
        }))
        .unwrap();
        assert_eq!(parsed.repeat_interval, Some(Duration::hours(1)));
        assert_eq!(
            parsed.escalation,
            Some(Escalation {
                after: Duration::minutes(15),
                channel_ids: vec![2, 3]
            })
        );
        assert_eq!(
            AlertRule::from_wire(&rule(|_| {})).unwrap().repeat_interval,
            None
        );
        assert_eq!(
            refused(&rule(|r| r.repeat_interval_seconds = Some(10))),
            ["repeat_interval_seconds"]
        );
        for escalation in [
            EscalationWire {
                after_seconds: 0,
                channel_ids: vec![1],
            },
            EscalationWire {
                after_seconds: 60,
                channel_ids: vec![],
            },
            EscalationWire {
                after_seconds: 60,
                channel_ids: vec![-1],
            },
        ] {
            assert_eq!(
                refused(&rule(|r| r.escalation = Some(escalation.clone()))),
                ["escalation"]
            );
        }
    }
}
