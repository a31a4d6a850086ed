//! Group commit for metric samples: concurrent reports are collected and written in one
//! transaction, so ingestion is bound by throughput rather than by one commit per report.
//! A submission of several samples (a `metrics/batch` request) is one job: its samples always
//! share a transaction, so they are stored all or none.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use crate::model::MetricSample;
use crate::store::Store;

/// Why a sample was not stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchError {
    /// The writer tasks are gone (shutdown).
    #[error("metric writer is shut down")]
    Closed,
    /// The store refused the sample.
    #[error("failed to store metric sample: {0}")]
    Store(String),
}

type Job = (
    Vec<MetricSample>,
    oneshot::Sender<Result<Vec<i64>, BatchError>>,
);

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
                    let mut samples = first.0.len();
                    let mut batch = vec![first];
                    while samples < config.max_batch {
                        match receiver.try_recv() {
                            Ok(job) => {
                                samples += job.0.len();
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

    /// Stores one sample and returns its id once its batch has committed.
    pub async fn submit(&self, sample: MetricSample) -> Result<i64, BatchError> {
        let ids = self.submit_many(vec![sample]).await?;
        ids.first().copied().ok_or(BatchError::Closed)
    }

    /// Stores `samples` in one transaction (shared with other submissions) and returns their
    /// ids in order once it has committed; all of them are stored, or none. The shard is chosen
    /// by the first sample's host.
    pub async fn submit_many(&self, samples: Vec<MetricSample>) -> Result<Vec<i64>, BatchError> {
        let Some(first) = samples.first() else {
            return Ok(Vec::new());
        };
        let (reply, receive) = oneshot::channel();
        let shard =
            usize::try_from(first.host_id.rem_euclid(self.shards.len() as i64)).unwrap_or(0);
        self.shards[shard]
            .send((samples, reply))
            .await
            .map_err(|_| BatchError::Closed)?;
        receive.await.map_err(|_| BatchError::Closed)?
    }
}

async fn write_batch(store: &dyn Store, batch: Vec<Job>) {
    let mut sizes = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    let mut samples = Vec::new();
    for (job, reply) in batch {
        sizes.push(job.len());
        replies.push(reply);
        samples.extend(job);
    }
    match store.insert_metrics(&samples).await {
        Ok(ids) => {
            let mut ids = ids.into_iter();
            for (reply, size) in replies.into_iter().zip(sizes) {
                // The requester may have gone away; its samples are stored all the same.
                let _ = reply.send(Ok(ids.by_ref().take(size).collect()));
            }
        }
        Err(error) if replies.len() > 1 => {
            // One bad submission (a host deleted meanwhile) must not fail its neighbours: retry
            // each alone (its samples still together) so only the bad one reports an error.
            tracing::warn!(%error, batch = samples.len(), "metric batch failed, retrying each submission alone");
            let mut offset = 0;
            for (reply, size) in replies.into_iter().zip(sizes) {
                let job = &samples[offset..offset + size];
                offset += size;
                let result = store
                    .insert_metrics(job)
                    .await
                    .map_err(|error| BatchError::Store(error.to_string()));
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(BatchError::Store(error.to_string())));
            }
        }
    }
}
