//! Agent authentication and host ownership, with short-lived caches so the hot ingest path does
//! not query the database for every report. The TTL bounds how long a revoked token or a deleted
//! host keeps working on any replica (5 s).

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::AgentToken;

/// How long a cached lookup is trusted.
pub(crate) const CACHE_TTL: Duration = Duration::seconds(5);
/// How often `last_used_at` is written per token at most.
pub(crate) const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// A cached value and when it was fetched.
type Cached<T> = (T, DateTime<Utc>);

#[derive(Debug, Default)]
pub(crate) struct AgentCaches {
    /// token hash → (token if active, fetched at).
    tokens: Mutex<HashMap<String, Cached<Option<AgentToken>>>>,
    /// host id → (owning token id, fetched at); `None` owner for an unknown host.
    hosts: Mutex<HashMap<i64, Cached<Option<Option<i64>>>>>,
    /// token id → last `last_used_at` write.
    touched: Mutex<HashMap<i64, DateTime<Utc>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AgentCaches {
    pub(crate) fn token(&self, hash: &str, now: DateTime<Utc>) -> Option<Option<AgentToken>> {
        let tokens = lock(&self.tokens);
        tokens
            .get(hash)
            .filter(|(_, at)| now - *at < CACHE_TTL)
            .map(|(token, _)| token.clone())
    }

    pub(crate) fn put_token(&self, hash: String, token: Option<AgentToken>, now: DateTime<Utc>) {
        let mut tokens = lock(&self.tokens);
        if tokens.len() > 10_000 {
            tokens.retain(|_, (_, at)| now - *at < CACHE_TTL);
        }
        tokens.insert(hash, (token, now));
    }

    pub(crate) fn host_owner(
        &self,
        host_id: i64,
        now: DateTime<Utc>,
    ) -> Option<Option<Option<i64>>> {
        let hosts = lock(&self.hosts);
        hosts
            .get(&host_id)
            .filter(|(_, at)| now - *at < CACHE_TTL)
            .map(|(owner, _)| *owner)
    }

    pub(crate) fn put_host_owner(
        &self,
        host_id: i64,
        owner: Option<Option<i64>>,
        now: DateTime<Utc>,
    ) {
        let mut hosts = lock(&self.hosts);
        if hosts.len() > 100_000 {
            hosts.retain(|_, (_, at)| now - *at < CACHE_TTL);
        }
        hosts.insert(host_id, (owner, now));
    }

    pub(crate) fn forget_tokens(&self) {
        lock(&self.tokens).clear();
    }

    pub(crate) fn forget_host(&self, host_id: i64) {
        lock(&self.hosts).remove(&host_id);
    }

    /// True when `last_used_at` should be written now (at most once per interval per token).
    pub(crate) fn should_touch(&self, token_id: i64, now: DateTime<Utc>) -> bool {
        let mut touched = lock(&self.touched);
        match touched.get(&token_id) {
            Some(last) if now - *last < TOUCH_INTERVAL => false,
            _ => {
                touched.insert(token_id, now);
                true
            }
        }
    }
}
