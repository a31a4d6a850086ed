//! Group commit for metric samples: concurrent reports are collected and written in one
//! transaction, so ingestion is bound by throughput rather than by one commit per report.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use crate::model::MetricSample;
use crate::store::{ClaimedRows, IdempotencyClaim, Store, StoreError};

/// Why a sample was not stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchError {
    /// The writer tasks are gone (shutdown).
    #[error("metric writer is shut down")]
    Closed,
    /// The sample's `Idempotency-Key` was taken over by another request; nothing was stored.
    #[error("idempotency key was taken over by another request")]
    ClaimLost,
    /// The store refused the sample.
    #[error("failed to store metric sample: {0}")]
    Store(String),
}

impl From<StoreError> for BatchError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ClaimLost => Self::ClaimLost,
            other => Self::Store(other.to_string()),
        }
    }
}

struct Job {
    sample: MetricSample,
    claim: Option<IdempotencyClaim>,
    reply: oneshot::Sender<Result<i64, BatchError>>,
}

/// Tunables of the batcher.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most samples in one transaction.
    pub max_batch: usize,
    /// Concurrent writer tasks; each commits one batch at a time. Samples are sharded by host,
    /// so two writers never update the same host's latest snapshot (no row-lock contention).
    pub writers: usize,
    /// Samples waiting before senders are slowed down (back-pressure).
    pub queue: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_batch: 512,
            writers: 2,
            queue: 16_384,
        }
    }
}

/// The handle request handlers submit samples through.
#[derive(Debug, Clone)]
pub struct MetricBatcher {
    shards: Arc<[mpsc::Sender<Job>]>,
}

impl MetricBatcher {
    /// Starts the writer tasks on the current runtime. They stop once every handle is dropped
    /// and the queue is drained, so a graceful shutdown loses nothing accepted.
    pub fn start(store: &Arc<dyn Store>, config: BatchConfig) -> Self {
        let writers = config.writers.max(1);
        let mut shards = Vec::with_capacity(writers);
        for _ in 0..writers {
            let (sender, mut receiver) = mpsc::channel::<Job>((config.queue / writers).max(1));
            shards.push(sender);
            let store = Arc::clone(store);
            tokio::spawn(async move {
                while let Some(first) = receiver.recv().await {
                    let mut batch = vec![first];
                    while batch.len() < config.max_batch {
                        match receiver.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    write_batch(store.as_ref(), batch).await;
                }
            });
        }
        Self {
            shards: shards.into(),
        }
    }

    /// Stores one sample and returns its id once its batch has committed. A `claim` is
    /// completed in that same transaction.
    pub async fn submit(
        &self,
        sample: MetricSample,
        claim: Option<IdempotencyClaim>,
    ) -> Result<i64, BatchError> {
        let (reply, receive) = oneshot::channel();
        let shard =
            usize::try_from(sample.host_id.rem_euclid(self.shards.len() as i64)).unwrap_or(0);
        self.shards[shard]
            .send(Job {
                sample,
                claim,
                reply,
            })
            .await
            .map_err(|_| BatchError::Closed)?;
        receive.await.map_err(|_| BatchError::Closed)?
    }
}

async fn write_batch(store: &dyn Store, batch: Vec<Job>) {
    let mut samples = Vec::with_capacity(batch.len());
    let mut claims = Vec::new();
    let mut replies = Vec::with_capacity(batch.len());
    for (row, job) in batch.into_iter().enumerate() {
        samples.push(job.sample);
        if let Some(claim) = job.claim.clone() {
            claims.push(ClaimedRows {
                claim,
                rows: row..row + 1,
            });
        }
        replies.push((job.claim, job.reply));
    }
    match store.insert_metrics(&samples, &claims).await {
        Ok(ids) => {
            for ((_, reply), id) in replies.into_iter().zip(ids) {
                // The requester may have gone away; its sample is stored all the same.
                let _ = reply.send(Ok(id));
            }
        }
        Err(error) if samples.len() > 1 => {
            // One bad sample (a lost idempotency claim, a store refusal) must not fail its
            // neighbours: retry each alone so only the bad one reports an error.
            tracing::warn!(%error, batch = samples.len(), "metric batch failed, retrying one by one");
            for (sample, (claim, reply)) in samples.into_iter().zip(replies) {
                let claims: Vec<ClaimedRows> = claim
                    .into_iter()
                    .map(|claim| ClaimedRows { claim, rows: 0..1 })
                    .collect();
                let result = store
                    .insert_metrics(std::slice::from_ref(&sample), &claims)
                    .await
                    .map_err(BatchError::from)
                    .and_then(|ids| ids.first().copied().ok_or(BatchError::Closed));
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            let error = BatchError::from(error);
            for (_, reply) in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
