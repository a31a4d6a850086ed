//! The PostgreSQL side of age-based purges.
//!
//! `sqlite/retention.rs` holds the same statement; only the value encodings at the top of
//! each file differ, so keep the two in step.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::super::{Retained, RetentionStore, StoreResult};
use super::PostgresStore as Backend;

// ---- Value encodings of this backend -------------------------------------------------------

/// A timestamp as bound.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

/// A write transaction.
async fn begin_write(
    pool: &sqlx::PgPool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    Ok(pool.begin().await?)
}

// ---- Shared with sqlite/retention.rs from here on --------------------------------------

#[async_trait]
impl RetentionStore for Backend {
    async fn purge_batch(
        &self,
        what: Retained,
        cutoff: DateTime<Utc>,
        batch: i64,
    ) -> StoreResult<u64> {
        // Table and column names come from `Retained`, never from input.
        let (table, column) = what.table_and_column();
        let mut transaction = begin_write(&self.pool).await?;
        let result = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE id IN \
                (SELECT id FROM {table} WHERE {column} < $1 ORDER BY {column} LIMIT $2)"
        )))
        .bind(ts(cutoff))
        .bind(batch.max(0))
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(result.rows_affected())
    }
}
