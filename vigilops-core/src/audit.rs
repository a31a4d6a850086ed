//! The audit trail: who did what to which resource, from where. Every mutating call records
//! one row through [`record`].

use crate::clock::Clock;
use crate::model::NewAuditEntry;
use crate::store::{Store, StoreResult};

/// Who is acting: a user (or nobody, for anonymous calls) and the client address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub ip_address: Option<String>,
}

/// Appends one audit row. `detail` is stored as a JSON string, as the original did.
pub async fn record(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: &Actor,
    action: &str,
    resource_type: &str,
    resource_id: Option<String>,
    detail: Option<serde_json::Value>,
) -> StoreResult<()> {
    store
        .insert_audit(
            NewAuditEntry {
                user_id: actor.user_id,
                action: action.to_owned(),
                resource_type: resource_type.to_owned(),
                resource_id,
                detail: detail.map(|detail| detail.to_string()),
                ip_address: actor.ip_address.clone(),
            },
            clock.now(),
        )
        .await?;
    Ok(())
}
