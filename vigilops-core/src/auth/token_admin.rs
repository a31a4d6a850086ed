//! Agent-token administration: create (plaintext shown once), list, revoke; each audited.

use serde_json::json;
use std::sync::Arc;

use super::agent_token;
use crate::audit::{self, Actor};
use crate::clock::Clock;
use crate::model::AgentToken;
use crate::store::{Store, StoreError, StoreResult};

/// Agent-token administration.
#[derive(Debug, Clone)]
pub struct TokenAdmin {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

/// A new token's row and its plaintext (never stored).
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: AgentToken,
    pub plaintext: String,
}

/// A token name is empty or too long.
#[derive(Debug, thiserror::Error)]
pub enum TokenAdminError {
    /// The name is empty or longer than 100 characters.
    #[error("name must have 1 to 100 characters")]
    InvalidName,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TokenAdmin {
    /// Administration over `store`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Creates a token named `name`.
    pub async fn create(&self, name: &str, actor: &Actor) -> Result<CreatedToken, TokenAdminError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(TokenAdminError::InvalidName);
        }
        let generated = agent_token::generate();
        let token = self
            .store
            .create_agent_token(
                name,
                &generated.hash,
                &generated.prefix,
                actor.user_id,
                self.clock.now(),
            )
            .await?;
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "create_agent_token",
            "agent_token",
            Some(token.id.to_string()),
            Some(json!({ "name": token.name, "token_prefix": token.token_prefix })),
        )
        .await?;
        Ok(CreatedToken {
            token,
            plaintext: generated.plaintext,
        })
    }

    /// Every token, newest first.
    pub async fn list(&self) -> StoreResult<Vec<AgentToken>> {
        self.store.list_agent_tokens().await
    }

    /// Revokes a token (soft delete). `NotFound` for an unknown id.
    pub async fn revoke(&self, id: i64, actor: &Actor) -> StoreResult<()> {
        self.store.revoke_agent_token(id).await?;
        audit::record(
            self.store.as_ref(),
            self.clock.as_ref(),
            actor,
            "revoke_agent_token",
            "agent_token",
            Some(id.to_string()),
            None,
        )
        .await
    }
}
