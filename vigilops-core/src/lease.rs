//! Once-per-cluster background jobs. Each job holds a named lease in the shared store; only the
//! holder runs the job, and a crashed holder's lease expires so another replica takes over.
//! With the embedded SQLite store there is one replica, so the lease is always ours.

use chrono::Duration;
use std::sync::Arc;

use crate::clock::Clock;
use crate::store::{Store, StoreResult};

/// A named lease held by this process.
#[derive(Debug, Clone)]
pub struct Lease {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    name: String,
    holder: String,
    ttl: Duration,
}

impl Lease {
    /// A lease `name` for this process (`holder` must be unique per process), held for `ttl`
    /// after each successful acquisition.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        name: impl Into<String>,
        holder: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Self {
            store,
            clock,
            name: name.into(),
            holder: holder.into(),
            ttl,
        }
    }

    /// Takes or renews the lease; true when this process may run the job now.
    pub async fn acquire(&self) -> StoreResult<bool> {
        self.store
            .try_acquire_lease(&self.name, &self.holder, self.clock.now(), self.ttl)
            .await
    }
}

/// A holder name unique to this process: hostname-less on purpose (a UUID), so two replicas on
/// one machine never share it.
pub fn process_holder_id() -> String {
    format!("vigilops-{}", uuid::Uuid::new_v4())
}
