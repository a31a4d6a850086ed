//! Host liveness: a host is offline once it has sent no heartbeat for the threshold
//! (default 300 s). The sweep runs under a lease, so once per cluster.

use chrono::Duration;
use std::sync::Arc;

use crate::clock::Clock;
use crate::lease::Lease;
use crate::store::{Store, StoreError, StoreResult};

/// Default offline threshold.
pub const DEFAULT_OFFLINE_AFTER: Duration = Duration::seconds(300);
/// How often the sweep runs.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

/// Marks hosts offline whose last heartbeat is older than `offline_after`; returns their ids.
pub async fn sweep_offline(
    store: &dyn Store,
    clock: &dyn Clock,
    offline_after: Duration,
) -> StoreResult<Vec<i64>> {
    store
        .mark_stale_hosts_offline(clock.now() - offline_after)
        .await
}

/// One sweep with the `heartbeat_timeout` setting in force (`default_after` when it is not
/// set): the setting is read on every sweep, so a change holds at once on every replica.
pub async fn sweep_offline_as_set(
    store: &dyn Store,
    clock: &dyn Clock,
    default_after: Duration,
) -> Result<Vec<i64>, StoreError> {
    let seconds = crate::settings::int(
        store,
        crate::settings::HEARTBEAT_TIMEOUT,
        Some(default_after.num_seconds()),
    )
    .await;
    sweep_offline(store, clock, Duration::seconds(seconds)).await
}

/// Runs [`sweep_offline_as_set`] every [`SWEEP_INTERVAL`] while this process holds the lease,
/// until `shutdown` resolves; `went_offline` is told the ids of the hosts each sweep marked.
pub async fn run_offline_sweeper(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    lease: Lease,
    offline_after: Duration,
    went_offline: impl Fn(&[i64]),
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut ticker = tokio::time::interval(SWEEP_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        match lease.acquire().await {
            Ok(true) => {
                match sweep_offline_as_set(store.as_ref(), clock.as_ref(), offline_after).await {
                    Ok(ids) if !ids.is_empty() => {
                        tracing::info!(hosts = ?ids, "hosts went offline");
                        went_offline(&ids);
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "offline sweep failed"),
                }
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "could not take the offline-sweep lease"),
        }
    }
}
