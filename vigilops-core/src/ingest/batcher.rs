//! Group commit for metric samples: concurrent reports are collected and written in one
//! transaction, so ingestion is bound by throughput rather than by one commit per report.
//! A submission of several samples (a `metrics/batch` request) is one job: its samples always
//! share a transaction, so they are stored all or none.

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

/// One submission: its samples, the idempotency claim their write completes, and where the
/// ids go.
struct Job {
    samples: Vec<MetricSample>,
    claim: Option<IdempotencyClaim>,
    reply: oneshot::Sender<Result<Vec<i64>, BatchError>>,
}

/// Tunables of the batcher.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most samples in one transaction (a larger submission gets one of its own).
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
                    let mut samples = first.samples.len();
                    let mut batch = vec![first];
                    while samples < config.max_batch {
                        match receiver.try_recv() {
                            Ok(job) => {
                                samples += job.samples.len();
                                batch.push(job);
                            }
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
        let ids = self.submit_many(vec![sample], claim).await?;
        ids.first().copied().ok_or(BatchError::Closed)
    }

    /// Stores `samples` in one transaction (shared with other submissions) and returns their
    /// ids in order once it has committed; all of them are stored, or none, and a `claim` is
    /// completed in that transaction. The shard is chosen by the first sample's host.
    pub async fn submit_many(
        &self,
        samples: Vec<MetricSample>,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Vec<i64>, BatchError> {
        let Some(first) = samples.first() else {
            return Ok(Vec::new());
        };
        let (reply, receive) = oneshot::channel();
        let shard =
            usize::try_from(first.host_id.rem_euclid(self.shards.len() as i64)).unwrap_or(0);
        self.shards[shard]
            .send(Job {
                samples,
                claim,
                reply,
            })
            .await
            .map_err(|_| BatchError::Closed)?;
        receive.await.map_err(|_| BatchError::Closed)?
    }
}

async fn write_batch(store: &dyn Store, batch: Vec<Job>) {
    let mut samples = Vec::new();
    let mut claims = Vec::new();
    let mut jobs = Vec::with_capacity(batch.len());
    for job in batch {
        let rows = samples.len()..samples.len() + job.samples.len();
        if let Some(claim) = job.claim.clone() {
            claims.push(ClaimedRows {
                claim,
                rows: rows.clone(),
            });
        }
        samples.extend(job.samples);
        jobs.push((rows, job.claim, job.reply));
    }
    match store.insert_metrics(&samples, &claims).await {
        Ok(ids) => {
            for (rows, _, reply) in jobs {
                // The requester may have gone away; its samples are stored all the same.
                let _ = reply.send(Ok(ids.get(rows).unwrap_or_default().to_vec()));
            }
        }
        Err(error) if jobs.len() > 1 => {
            // One bad submission (a lost idempotency claim, a store refusal) must not fail its
            // neighbours: retry each alone (its samples still together) so only it fails.
            tracing::warn!(%error, batch = samples.len(), "metric batch failed, retrying each submission alone");
            for (rows, claim, reply) in jobs {
                let count = rows.len();
                let claims: Vec<ClaimedRows> = claim
                    .into_iter()
                    .map(|claim| ClaimedRows {
                        claim,
                        rows: 0..count,
                    })
                    .collect();
                let job = samples.get(rows).unwrap_or_default();
                let result = store
                    .insert_metrics(job, &claims)
                    .await
                    .map_err(BatchError::from);
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            let error = BatchError::from(error);
            for (_, _, reply) in jobs {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
