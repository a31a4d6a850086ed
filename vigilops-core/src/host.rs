//! Reading hosts: the list with latest metrics, the detail, and chart series with the resolution
//! chosen so any range returns a bounded number of points.

use chrono::Duration;
use std::collections::HashMap;
use std::sync::Arc;

use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::{Aggregate, HostFilter, Resolution};
use crate::protocol::rest::{HostView, MetricPointView, PageOf};
use crate::store::{Store, StoreError, StoreResult};

/// A latest snapshot older than this is not shown.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::seconds(600);
/// Most raw points a series returns.
pub const MAX_RAW_POINTS: i64 = 1_000;
/// Most aggregated points a series returns.
pub const MAX_BUCKETS: i64 = 500;

/// Read access to hosts.
#[derive(Debug, Clone)]
pub struct HostService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

/// The resolution to serve a `requested` one over `range`: raw while the range holds at most
/// [`MAX_RAW_POINTS`] samples at the agents' 15 s interval, otherwise the finest bucket that
/// gives at most [`MAX_BUCKETS`] points. Aggregated requests are coarsened the same way.
pub fn effective_resolution(requested: Resolution, range: Duration) -> Resolution {
    let seconds = range.num_seconds().max(1);
    if requested == Resolution::Raw && seconds / 15 <= MAX_RAW_POINTS {
        return Resolution::Raw;
    }
    let ladder = [
        Resolution::OneMinute,
        Resolution::FiveMinutes,
        Resolution::OneHour,
        Resolution::OneDay,
    ];
    let floor = requested.bucket_seconds().unwrap_or(0);
    ladder
        .into_iter()
        .filter(|resolution| resolution.bucket_seconds().unwrap_or(0) >= floor)
        .find(|resolution| seconds / resolution.bucket_seconds().unwrap_or(1) <= MAX_BUCKETS)
        .unwrap_or(Resolution::OneDay)
}

impl HostService {
    /// A service over `store`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A page of hosts with their fresh latest metrics.
    pub async fn list(&self, filter: &HostFilter) -> StoreResult<PageOf<HostView>> {
        let (hosts, total) = self.store.list_hosts(filter).await?;
        let ids: Vec<i64> = hosts.iter().map(|host| host.id).collect();
        let mut latest = self
            .store
            .latest_metrics(&ids, self.clock.now() - SNAPSHOT_MAX_AGE)
            .await?;
        Ok(PageOf {
            items: hosts
                .into_iter()
                .map(|host| {
                    let snapshot = latest.remove(&host.id);
                    HostView::new(host, snapshot)
                })
                .collect(),
            total,
            page: filter.page.page,
            page_size: filter.page.page_size,
        })
    }

    /// One host. `NotFound` for an unknown id.
    pub async fn get(&self, id: i64) -> StoreResult<HostView> {
        let host = self
            .store
            .host(id)
            .await?
            .ok_or(StoreError::NotFound("host"))?;
        let mut latest: HashMap<_, _> = self
            .store
            .latest_metrics(&[id], self.clock.now() - SNAPSHOT_MAX_AGE)
            .await?;
        Ok(HostView::new(host, latest.remove(&id)))
    }

    /// The last `hours` of a host's samples, oldest first.
    pub async fn series(
        &self,
        id: i64,
        hours: u32,
        requested: Resolution,
        aggregate: Aggregate,
    ) -> StoreResult<Vec<MetricPointView>> {
        if self.store.host(id).await?.is_none() {
            return Err(StoreError::NotFound("host"));
        }
        let to = self.clock.now();
        let range = Duration::hours(i64::from(hours));
        let resolution = effective_resolution(requested, range);
        let limit = if resolution == Resolution::Raw {
            MAX_RAW_POINTS
        } else {
            MAX_BUCKETS
        };
        let points = crate::rollup::series(
            self.store.as_ref(),
            id,
            to - range,
            to,
            resolution,
            aggregate,
            limit,
        )
        .await?;
        Ok(points.into_iter().map(MetricPointView::from).collect())
    }

    /// Removes a host and its data (audited). `NotFound` for an unknown id. Its agent then
    /// gets 403 and registers again.
    pub async fn delete(&self, id: i64, actor: &Actor) -> StoreResult<()> {
        self.store.delete_host(id).await?;
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "delete_host",
            "host",
            Some(id.to_string()),
            None,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(requested: Resolution, hours: i64, expected: Resolution) {
        assert_eq!(
            effective_resolution(requested, Duration::hours(hours)),
            expected,
            "{requested:?} over {hours} h"
        );
    }

    #[test]
    fn resolution_keeps_series_bounded() {
        check(Resolution::Raw, 1, Resolution::Raw);
        check(Resolution::Raw, 4, Resolution::Raw);
        check(Resolution::Raw, 6, Resolution::OneMinute);
        check(Resolution::Raw, 24, Resolution::FiveMinutes);
        check(Resolution::Raw, 24 * 7, Resolution::OneHour);
        check(Resolution::Raw, 24 * 30, Resolution::OneDay);
        check(Resolution::FiveMinutes, 1, Resolution::FiveMinutes);
        check(Resolution::OneDay, 1, Resolution::OneDay);
        check(Resolution::FiveMinutes, 24 * 30, Resolution::OneDay);
        check(Resolution::FiveMinutes, 24 * 14, Resolution::OneHour);
    }
}
