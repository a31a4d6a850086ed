//! Group commit for metric samples: concurrent reports are collected and written in one
//! transaction, so ingestion is bound by throughput rather than by one commit per report.

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

type Job = (MetricSample, oneshot::Sender<Result<i64, BatchError>>);

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

    /// Stores one sample and returns its id once its batch has committed.
    pub async fn submit(&self, sample: MetricSample) -> Result<i64, BatchError> {
        let (reply, receive) = oneshot::channel();
        let shard =
            usize::try_from(sample.host_id.rem_euclid(self.shards.len() as i64)).unwrap_or(0);
        self.shards[shard]
            .send((sample, reply))
            .await
            .map_err(|_| BatchError::Closed)?;
        receive.await.map_err(|_| BatchError::Closed)?
    }
}

async fn write_batch(store: &dyn Store, batch: Vec<Job>) {
    let (samples, replies): (Vec<MetricSample>, Vec<_>) = batch.into_iter().unzip();
    match store.insert_metrics(&samples).await {
        Ok(ids) => {
            for (reply, id) in replies.into_iter().zip(ids) {
                // The requester may have gone away; its sample is stored all the same.
                let _ = reply.send(Ok(id));
            }
        }
        Err(error) if samples.len() > 1 => {
            // One bad sample (a host deleted meanwhile) must not fail its neighbours: retry
            // each alone so only the bad one reports an error.
            tracing::warn!(%error, batch = samples.len(), "metric batch failed, retrying one by one");
            for (sample, reply) in samples.into_iter().zip(replies) {
                let result = store
                    .insert_metrics(std::slice::from_ref(&sample))
                    .await
                    .map_err(|error| BatchError::Store(error.to_string()))
                    .and_then(|ids| ids.first().copied().ok_or(BatchError::Closed));
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
