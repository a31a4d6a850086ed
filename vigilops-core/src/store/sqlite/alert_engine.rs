//! The SQLite side of the alert engine's bulk writes ([`AlertEngineStore`]): one transaction
//! per drained batch of observations instead of one per alert.
//!
//! `postgres/alert_engine.rs` holds the same statements; only the encodings at the top of each
//! file differ, so keep the two in step.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::super::codec::values_placeholders;
use super::super::{AlertEngineStore, StoreResult};
use sqlx::sqlite::{SqliteConnection as Connection, SqliteRow as BackendRow};

use super::alerting::{OPEN_ATTEMPTS, open_on, resolve_on};
use super::{SqliteStore as Backend, from_micros, micros};
use crate::model::{AlertWrites, AlertWritesOutcome};

// ---- Value encodings of this backend -------------------------------------------------------

/// How a batch begins: IMMEDIATE takes the write lock (waiting as the busy timeout allows)
/// before the first statement, so a batch that reads before it writes never fails to upgrade.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> i64 {
    micros(at)
}

fn get_ts(row: &BackendRow, column: &str) -> StoreResult<DateTime<Utc>> {
    from_micros(row.try_get(column)?)
}

// ---- Shared with postgres/alert_engine.rs from here on -------------------------------------

/// Pairs named in one statement (three parameters each at most).
const PAIRS_PER_STATEMENT: usize = 300;

/// The pairs' recorded pending starts.
async fn recorded_starts(
    connection: &mut Connection,
    pairs: &[(i64, String)],
) -> StoreResult<Vec<(i64, String, DateTime<Utc>)>> {
    let mut recorded = Vec::new();
    for chunk in pairs.chunks(PAIRS_PER_STATEMENT) {
        let rows = values_placeholders(chunk.len(), 2);
        let mut query = sqlx::query(sql!(
            "SELECT rule_id, target_key, since FROM alert_pending \
             WHERE (rule_id, target_key) IN (VALUES {rows})"
        ));
        for (rule_id, target_key) in chunk {
            query = query.bind(rule_id).bind(target_key);
        }
        for row in query.fetch_all(&mut *connection).await? {
            recorded.push((
                row.try_get("rule_id")?,
                row.try_get("target_key")?,
                get_ts(&row, "since")?,
            ));
        }
    }
    Ok(recorded)
}

/// Deletes the pairs' pending starts.
async fn clear_starts(connection: &mut Connection, pairs: &[(i64, String)]) -> StoreResult<()> {
    for chunk in pairs.chunks(PAIRS_PER_STATEMENT) {
        let rows = values_placeholders(chunk.len(), 2);
        let mut query = sqlx::query(sql!(
            "DELETE FROM alert_pending WHERE (rule_id, target_key) IN (VALUES {rows})"
        ));
        for (rule_id, target_key) in chunk {
            query = query.bind(rule_id).bind(target_key);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Records each start unless its pair has one (the first writer wins), and returns the start
/// that stands for each.
async fn record_starts(
    connection: &mut Connection,
    starts: &[(i64, String, DateTime<Utc>)],
) -> StoreResult<Vec<Option<DateTime<Utc>>>> {
    for chunk in starts.chunks(PAIRS_PER_STATEMENT) {
        let rows = values_placeholders(chunk.len(), 3);
        let mut query = sqlx::query(sql!(
            "INSERT INTO alert_pending (rule_id, target_key, since) VALUES {rows} \
             ON CONFLICT (rule_id, target_key) DO NOTHING"
        ));
        for (rule_id, target_key, since) in chunk {
            query = query.bind(rule_id).bind(target_key).bind(ts(*since));
        }
        query.execute(&mut *connection).await?;
    }
    let pairs: Vec<(i64, String)> = starts
        .iter()
        .map(|(rule_id, target_key, _)| (*rule_id, target_key.clone()))
        .collect();
    let recorded: HashMap<(i64, String), DateTime<Utc>> = recorded_starts(connection, &pairs)
        .await?
        .into_iter()
        .map(|(rule_id, target_key, since)| ((rule_id, target_key), since))
        .collect();
    Ok(pairs
        .iter()
        .map(|pair| recorded.get(pair).copied())
        .collect())
}

#[async_trait]
impl AlertEngineStore for Backend {
    async fn write_alerts(&self, writes: &AlertWrites) -> StoreResult<AlertWritesOutcome> {
        let mut outcome = AlertWritesOutcome {
            opened: vec![None; writes.opens.len()],
            resolved: vec![None; writes.resolves.len()],
            pending_since: Vec::new(),
        };
        if writes.is_empty() {
            return Ok(outcome);
        }
        let mut transaction = self.pool.begin_with(BEGIN_WRITE).await?;
        clear_starts(&mut transaction, &writes.pending_clears).await?;
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
        if !writes.pending_starts.is_empty() {
            outcome.pending_since = record_starts(&mut transaction, &writes.pending_starts).await?;
        }
        transaction.commit().await?;
        Ok(outcome)
    }

    async fn pending_starts(
        &self,
        pairs: &[(i64, String)],
    ) -> StoreResult<Vec<(i64, String, DateTime<Utc>)>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.pool.acquire().await?;
        recorded_starts(&mut connection, pairs).await
    }
}
