//! The SQLite side of the alert engine's bulk writes ([`AlertEngineStore`]): one transaction
//! per drained batch of observations instead of one per alert.
//!
//! `postgres/alert_engine.rs` holds the same statements; only the encodings at the top of each
//! file differ, so keep the two in step.

use async_trait::async_trait;

use super::super::{AlertEngineStore, StoreResult};
use super::SqliteStore as Backend;
use super::alerting::{OPEN_ATTEMPTS, open_on, resolve_on};
use crate::model::{AlertWrites, AlertWritesOutcome};

// ---- Value encodings of this backend -------------------------------------------------------

/// How a batch begins: IMMEDIATE takes the write lock (waiting as the busy timeout allows)
/// before the first statement, so a batch that reads before it writes never fails to upgrade.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

// ---- Shared with postgres/alert_engine.rs from here on -------------------------------------

#[async_trait]
impl AlertEngineStore for Backend {
    async fn write_alerts(&self, writes: &AlertWrites) -> StoreResult<AlertWritesOutcome> {
        let mut outcome = AlertWritesOutcome {
            opened: vec![None; writes.opens.len()],
            resolved: vec![None; writes.resolves.len()],
        };
        if writes.is_empty() {
            return Ok(outcome);
        }
        let mut transaction = self.pool.begin_with(BEGIN_WRITE).await?;
        // Resolves first, so a pair resolved and opened again in one batch gets a new alert.
        // Ids, then pairs, in a stable order: two replicas' batches then wait on each other
        // rather than deadlock.
        let mut resolves: Vec<usize> = (0..writes.resolves.len()).collect();
        resolves.sort_by_key(|&index| writes.resolves[index].0);
        for index in resolves {
            let (id, resolution) = &writes.resolves[index];
            outcome.resolved[index] = resolve_on(&mut transaction, *id, resolution).await?;
        }
        let mut opens: Vec<usize> = (0..writes.opens.len()).collect();
        opens.sort_by(|&left, &right| {
            let (left, right) = (&writes.opens[left], &writes.opens[right]);
            (left.rule_id, &left.target_key).cmp(&(right.rule_id, &right.target_key))
        });
        for index in opens {
            for _ in 0..OPEN_ATTEMPTS {
                let opened = open_on(&mut transaction, &writes.opens[index]).await?;
                if opened.is_some() {
                    outcome.opened[index] = opened;
                    break;
                }
            }
        }
        transaction.commit().await?;
        Ok(outcome)
    }
}
