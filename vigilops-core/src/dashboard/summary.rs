//! The dashboard summary (`/ws/dashboard` frames, `rest-api.md` §21, and ours at
//! `GET /dashboard/summary`) and its health score.
//!
//! The health score starts from the reference formula (`remediation-and-ai.md` §10) and adds
//! what it missed, so that one host about to fill its disk or one critical alert is not hidden
//! by a healthy average:
//!
//! ```text
//! health = clamp(0, 100, round_half_even(100 − (0.3·cpu + 0.3·mem + 0.2·disk
//!                                             + 5·services_down
//!                                             + 10·critical_alerts_firing
//!                                             + 3·hosts_near_limit)))
//! ```
//!
//! `cpu`, `mem` and `disk` are the `avg_usage` means (a null counts as 0); `services_down`
//! counts active services whose status is down; `hosts_near_limit` counts hosts whose newest
//! sample of the last hour has CPU, memory or disk at 90 % or more. Each term is in
//! `health.penalties` of the frame, so the number can be explained.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::clock::Clock;
use crate::model::DashboardCounts;
use crate::store::{Store, StoreError};

/// Penalty per active service down.
pub const SERVICE_DOWN_PENALTY: f64 = 5.0;
/// Penalty per critical alert firing.
pub const CRITICAL_ALERT_PENALTY: f64 = 10.0;
/// Penalty per host at 90 % or more of CPU, memory or disk.
pub const NEAR_LIMIT_PENALTY: f64 = 3.0;

/// Host counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostCounts {
    pub total: i64,
    pub online: i64,
    /// Every host not online.
    pub offline: i64,
}

/// Active service counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceCounts {
    pub total: i64,
    pub up: i64,
    pub down: i64,
}

/// Alert counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertCounts {
    /// Fired in the last hour.
    pub total: i64,
    /// Firing now (open, not acknowledged).
    pub firing: i64,
}

/// The last hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecentCounts {
    pub alert_count: i64,
    /// ERROR, CRITICAL and FATAL lines.
    pub error_log_count: i64,
}

/// Means over each host's newest sample of the last hour, 1 dp.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
    pub disk_percent: Option<f64>,
}

/// What the health score subtracts from 100, term by term (ours).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthPenalties {
    /// 0.3·cpu + 0.3·mem + 0.2·disk.
    pub usage: f64,
    pub services_down: f64,
    pub critical_alerts: f64,
    pub hosts_near_limit: f64,
}

/// The score's inputs beyond the frame's other figures (ours).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub critical_alerts_firing: i64,
    pub hosts_near_limit: i64,
    pub penalties: HealthPenalties,
}

/// One summary frame (the reference's fields, then ours).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub timestamp: DateTime<Utc>,
    pub hosts: HostCounts,
    pub services: ServiceCounts,
    pub alerts: AlertCounts,
    pub recent_1h: RecentCounts,
    pub avg_usage: Usage,
    /// 0–100; see the module documentation for the formula.
    pub health_score: i64,
    pub health: Health,
}

fn one_decimal(value: Option<f64>) -> Option<f64> {
    value.map(|value| (value * 10.0).round() / 10.0)
}

/// The score and its penalties from the summary's figures.
pub fn health_score(
    usage: Usage,
    services_down: i64,
    critical_alerts: i64,
    hosts_near_limit: i64,
) -> (i64, HealthPenalties) {
    let [cpu, mem, disk] = [usage.cpu_percent, usage.memory_percent, usage.disk_percent]
        .map(|value| value.unwrap_or(0.0));
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let penalties = HealthPenalties {
        usage: 0.3 * cpu + 0.3 * mem + 0.2 * disk,
        services_down: SERVICE_DOWN_PENALTY * services_down as f64,
        critical_alerts: CRITICAL_ALERT_PENALTY * critical_alerts as f64,
        hosts_near_limit: NEAR_LIMIT_PENALTY * hosts_near_limit as f64,
    };
    let total = penalties.usage
        + penalties.services_down
        + penalties.critical_alerts
        + penalties.hosts_near_limit;
    let score = (100.0 - total).round_ties_even().clamp(0.0, 100.0);
    #[allow(clippy::cast_possible_truncation)] // clamped to 0..=100
    (score as i64, penalties)
}

/// The frame for `counts` taken at `now`.
pub fn summary_of(counts: &DashboardCounts, now: DateTime<Utc>) -> Summary {
    let usage = Usage {
        cpu_percent: one_decimal(counts.avg_cpu),
        memory_percent: one_decimal(counts.avg_memory),
        disk_percent: one_decimal(counts.avg_disk),
    };
    let (health_score, penalties) = health_score(
        usage,
        counts.services_down,
        counts.critical_firing,
        counts.hosts_near_limit,
    );
    Summary {
        timestamp: now,
        hosts: HostCounts {
            total: counts.hosts_total,
            online: counts.hosts_online,
            offline: counts.hosts_total - counts.hosts_online,
        },
        services: ServiceCounts {
            total: counts.services_total,
            up: counts.services_up,
            down: counts.services_down,
        },
        alerts: AlertCounts {
            total: counts.recent_alerts,
            firing: counts.alerts_firing,
        },
        recent_1h: RecentCounts {
            alert_count: counts.recent_alerts,
            error_log_count: counts.recent_error_logs,
        },
        avg_usage: usage,
        health_score,
        health: Health {
            critical_alerts_firing: counts.critical_firing,
            hosts_near_limit: counts.hosts_near_limit,
            penalties,
        },
    }
}

/// The summary as of `clock`'s now, read from the store.
pub async fn summary(store: &dyn Store, clock: &dyn Clock) -> Result<Summary, StoreError> {
    let now = clock.now();
    let counts = store.dashboard_counts(now - Duration::hours(1)).await?;
    Ok(summary_of(&counts, now))
}

/// How long a computed summary is served again at most.
pub const SUMMARY_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(2);

/// One replica's latest summary, shared by every request and dashboard socket: computed by one
/// caller at a time (the others wait and take its result), served again for at most
/// [`SUMMARY_MAX_AGE`], and dropped at once when [`SummaryCache::invalidate`] is called (the
/// live feed does so for every change it delivers). A fleet-wide summary costs one index probe
/// per host; a hundred open dashboards should not multiply that.
#[derive(Debug, Default)]
pub struct SummaryCache {
    latest: tokio::sync::Mutex<Option<Cached>>,
    generation: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Cached {
    summary: Summary,
    generation: u64,
    computed: std::time::Instant,
}

impl SummaryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the cached summary: the next caller reads the store.
    pub fn invalidate(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The summary, from the cache when it is fresh and nothing changed since.
    pub async fn get(&self, store: &dyn Store, clock: &dyn Clock) -> Result<Summary, StoreError> {
        let mut latest = self.latest.lock().await;
        // Read before the store, so a change during the read makes the result stale at once.
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        if let Some(cached) = latest.as_ref()
            && cached.generation == generation
            && cached.computed.elapsed() < SUMMARY_MAX_AGE
        {
            return Ok(cached.summary.clone());
        }
        let computed = std::time::Instant::now();
        let fresh = summary(store, clock).await?;
        *latest = Some(Cached {
            summary: fresh.clone(),
            generation,
            computed,
        });
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(cpu: Option<f64>, mem: Option<f64>, disk: Option<f64>) -> Usage {
        Usage {
            cpu_percent: cpu,
            memory_percent: mem,
            disk_percent: disk,
        }
    }

    #[test]
    fn the_reference_example_still_scores_48() {
        // remediation-and-ai.md §10: cpu 50, mem 60, disk 70, one service down.
        let (score, penalties) = health_score(usage(Some(50.0), Some(60.0), Some(70.0)), 1, 0, 0);
        assert_eq!(score, 48);
        assert!((penalties.usage - 47.0).abs() < 1e-9);
        assert!((penalties.services_down - 5.0).abs() < 1e-9);
    }

    #[test]
    fn critical_alerts_and_hosts_near_limits_cost_points() {
        let calm = usage(Some(10.0), Some(20.0), Some(30.0));
        assert_eq!(health_score(calm, 0, 0, 0).0, 85);
        assert_eq!(health_score(calm, 0, 1, 0).0, 75);
        assert_eq!(health_score(calm, 0, 0, 2).0, 79);
    }

    #[test]
    fn nulls_count_as_zero_and_the_score_is_clamped() {
        assert_eq!(health_score(usage(None, None, None), 0, 0, 0).0, 100);
        assert_eq!(
            health_score(usage(Some(99.0), Some(99.0), Some(99.0)), 30, 3, 0).0,
            0
        );
    }

    #[test]
    fn halves_round_to_even_as_the_reference_does() {
        // 100 − 0.3·5 = 98.5 → 98; 100 − 0.3·15 = 95.5 → 96.
        assert_eq!(health_score(usage(Some(5.0), None, None), 0, 0, 0).0, 98);
        assert_eq!(health_score(usage(Some(15.0), None, None), 0, 0, 0).0, 96);
    }

    #[test]
    fn the_frame_counts_offline_hosts_and_rounds_usage() {
        let counts = DashboardCounts {
            hosts_total: 12,
            hosts_online: 11,
            services_total: 40,
            services_up: 38,
            services_down: 2,
            recent_alerts: 5,
            alerts_firing: 3,
            critical_firing: 0,
            recent_error_logs: 17,
            avg_cpu: Some(23.44),
            avg_memory: Some(61.0),
            avg_disk: Some(48.25),
            hosts_near_limit: 0,
        };
        let frame = summary_of(&counts, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(frame.hosts.offline, 1);
        assert_eq!(frame.avg_usage.cpu_percent, Some(23.4));
        assert_eq!(frame.alerts.total, frame.recent_1h.alert_count);
        // 100 − (7.02 + 18.3 + 9.66 + 10) = 55.02 → 55 (from the rounded usage, as sent).
        assert_eq!(frame.health_score, 55);
    }
}
