//! Services over REST (`rest-api.md` §5): the filtered list with its category and health counts
//! (optionally grouped by host), one service, and its check history. Categories are assigned
//! when an agent registers the service (`ingest::category`); uptime here is the reference's
//! count-based 24-hour figure, kept for compatibility (the SLA pages measure time instead).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::model::{Page, ServiceCheckPoint, ServiceCounts, ServiceFilter, ServiceInfo};
use crate::store::{Store, StoreError};

/// Most checks one history returns.
pub const MAX_CHECKS: i64 = 500;
/// The longest check history, in hours.
pub const MAX_HOURS: i64 = 720;
/// The statuses a list can be filtered by.
pub const STATUSES: [&str; 3] = ["up", "down", "unknown"];
/// The categories a service can have.
pub const CATEGORIES: [&str; 3] = ["middleware", "business", "infrastructure"];

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("Service not found")]
    NotFound,
    /// A query parameter out of its domain; `field` names it.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The host a listed service runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceHostView {
    pub id: i64,
    pub hostname: String,
    pub ip: Option<String>,
    pub status: String,
}

/// A service (`Service` of the reference).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceView {
    pub id: i64,
    pub name: String,
    /// `http` or `tcp`.
    #[serde(rename = "type")]
    pub check_type: String,
    pub target: String,
    pub check_interval: i64,
    pub timeout: i64,
    pub expected_status: Option<i64>,
    pub is_active: bool,
    /// `up`, `down` or `unknown`.
    pub status: String,
    pub host_id: Option<i64>,
    /// `middleware`, `business` or `infrastructure`.
    pub category: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub tags: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Up checks / all checks over the last 24 h × 100, 2 dp; `null` without checks.
    pub uptime_percent: Option<f64>,
    pub host_info: Option<ServiceHostView>,
}

impl From<ServiceInfo> for ServiceView {
    fn from(info: ServiceInfo) -> Self {
        Self {
            uptime_percent: uptime_percent(info.recent_up_checks, info.recent_checks),
            id: info.id,
            name: info.name,
            check_type: info.check_type,
            target: info.target,
            check_interval: info.check_interval,
            timeout: info.timeout,
            expected_status: info.expected_status,
            is_active: info.is_active,
            status: info.status,
            host_id: info.host_id,
            category: info.category,
            tags: info.tags,
            created_at: info.created_at,
            updated_at: info.updated_at,
            host_info: info.host.map(|host| ServiceHostView {
                id: host.id,
                hostname: host.hostname,
                ip: host.ip,
                status: host.status,
            }),
        }
    }
}

/// Counts over every service the list's filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceStatsView {
    pub total: i64,
    pub middleware: i64,
    pub business: i64,
    pub infrastructure: i64,
    /// Status `up`.
    pub healthy: i64,
    /// Status `down`.
    pub unhealthy: i64,
}

impl From<ServiceCounts> for ServiceStatsView {
    fn from(counts: ServiceCounts) -> Self {
        Self {
            total: counts.total,
            middleware: counts.middleware,
            business: counts.business,
            infrastructure: counts.infrastructure,
            healthy: counts.healthy,
            unhealthy: counts.unhealthy,
        }
    }
}

/// The page's services of one host (`group_by_host=true`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostGroup {
    /// `null` for services without a host (only in data migrated from the original).
    pub host_id: Option<i64>,
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub host_status: Option<String>,
    pub services: Vec<ServiceView>,
}

/// `GET /services`: the page envelope plus the counts (and the grouping when asked).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceList {
    pub items: Vec<ServiceView>,
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
    pub stats: ServiceStatsView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_groups: Option<Vec<HostGroup>>,
}

/// One check (`Check` of the reference).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckView {
    pub id: i64,
    pub service_id: i64,
    pub status: String,
    pub response_time_ms: Option<f64>,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

impl From<ServiceCheckPoint> for CheckView {
    fn from(check: ServiceCheckPoint) -> Self {
        Self {
            id: check.id,
            service_id: check.service_id,
            status: check.status,
            response_time_ms: check.response_time_ms,
            status_code: check.status_code,
            error: check.error,
            checked_at: check.checked_at,
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub host_id: Option<i64>,
    pub group_by_host: bool,
    pub page: Page,
}

/// `up / all × 100` to 2 dp, or `None` without checks.
pub fn uptime_percent(up: i64, all: i64) -> Option<f64> {
    if all <= 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // counts of checks are far below 2^52
    let ratio = up as f64 / all as f64 * 100.0;
    Some((ratio * 100.0).round() / 100.0)
}

/// Groups services by host, hosts in the order their first service appears.
pub fn group_by_host(services: &[ServiceView]) -> Vec<HostGroup> {
    let mut groups: Vec<HostGroup> = Vec::new();
    for service in services {
        if let Some(group) = groups
            .iter_mut()
            .find(|group| group.host_id == service.host_id)
        {
            group.services.push(service.clone());
            continue;
        }
        let host = service.host_info.as_ref();
        groups.push(HostGroup {
            host_id: service.host_id,
            hostname: host.map(|host| host.hostname.clone()),
            ip: host.and_then(|host| host.ip.clone()),
            host_status: host.map(|host| host.status.clone()),
            services: vec![service.clone()],
        });
    }
    groups
}

/// Reads services for the REST routes.
#[derive(Clone)]
pub struct ServiceCatalog {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl ServiceCatalog {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    fn day_ago(&self) -> DateTime<Utc> {
        self.clock.now() - Duration::hours(24)
    }

    /// A filtered page with the counts over every match.
    pub async fn list(&self, query: ListQuery) -> Result<ServiceList, ServiceError> {
        let status = one_of("status", query.status, &STATUSES)?;
        let category = one_of("category", query.category, &CATEGORIES)?;
        let filter = ServiceFilter {
            status,
            category,
            host_id: query.host_id,
            page: query.page,
        };
        let (services, counts) = self.store.list_services(&filter, self.day_ago()).await?;
        let items: Vec<ServiceView> = services.into_iter().map(ServiceView::from).collect();
        let host_groups = query.group_by_host.then(|| group_by_host(&items));
        Ok(ServiceList {
            items,
            total: counts.total,
            page: query.page.page,
            page_size: query.page.page_size,
            stats: counts.into(),
            host_groups,
        })
    }

    /// One service.
    pub async fn get(&self, id: i64) -> Result<ServiceView, ServiceError> {
        self.store
            .service_info(id, self.day_ago())
            .await?
            .map(ServiceView::from)
            .ok_or(ServiceError::NotFound)
    }

    /// The checks of the last `hours` (1–720, default 24), newest first, at most 500.
    pub async fn checks(
        &self,
        id: i64,
        hours: Option<i64>,
    ) -> Result<Vec<CheckView>, ServiceError> {
        let hours = hours.unwrap_or(24);
        if !(1..=MAX_HOURS).contains(&hours) {
            return Err(ServiceError::Invalid {
                field: "hours",
                message: format!("hours must be between 1 and {MAX_HOURS}"),
            });
        }
        if self.store.service_name(id).await?.is_none() {
            return Err(ServiceError::NotFound);
        }
        let since = self.clock.now() - Duration::hours(hours);
        let checks = self
            .store
            .recent_service_checks(id, since, MAX_CHECKS)
            .await?;
        Ok(checks.into_iter().map(CheckView::from).collect())
    }
}

/// `value` lower-cased when it is one of `allowed`, else `Invalid` naming `field`.
fn one_of(
    field: &'static str,
    value: Option<String>,
    allowed: &[&str],
) -> Result<Option<String>, ServiceError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let lower = value.trim().to_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(Some(lower))
    } else {
        Err(ServiceError::Invalid {
            field,
            message: format!("{field} must be one of {}", allowed.join(", ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_a_rounded_percentage_or_none() {
        assert_eq!(uptime_percent(0, 0), None);
        assert_eq!(uptime_percent(2, 3), Some(66.67));
        assert_eq!(uptime_percent(5, 5), Some(100.0));
        assert_eq!(uptime_percent(0, 7), Some(0.0));
    }

    #[test]
    fn filters_are_checked_and_normalised() {
        assert_eq!(
            one_of("status", Some(" UP ".into()), &STATUSES).ok(),
            Some(Some("up".to_owned()))
        );
        let refused = one_of("category", Some("database".into()), &CATEGORIES);
        assert!(matches!(
            refused,
            Err(ServiceError::Invalid {
                field: "category",
                ..
            })
        ));
        assert!(matches!(one_of("status", None, &STATUSES), Ok(None)));
    }
}
