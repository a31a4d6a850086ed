//! Several metrics samples per request (the extension `metrics/batch`): a spool replay after an
//! outage arrives in batches, in order, each sample once; a retried batch keeps its key; a batch
//! the server finds too large is split; an original server gets single posts.

use std::collections::HashSet;
use std::time::Duration;

use vigilops_agent::reporter::metrics_spool_dir;

use crate::{Script, reporter, spooled_lines, start_server};

/// Waits (real time: the agent samples on its own clock) until `dir` holds `count` samples.
async fn until_spooled(dir: &std::path::Path, count: usize) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while spooled_lines(dir) < count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the samples were not spooled in time");
}

/// Takes samples every 100 ms against a server that is down, stops once `count` are spooled;
/// returns how many the run collected.
async fn run_during_an_outage(spool: &std::path::Path, count: usize) -> usize {
    let (down, url) = start_server(Script {
        unavailable_first: usize::MAX,
        batch: true,
        batch_unavailable_first: usize::MAX,
        ..Script::default()
    })
    .await;
    let mut agent = reporter(&url, spool);
    agent.metrics_interval = Duration::from_millis(100);
    let metrics_dir = metrics_spool_dir(spool);
    let collected = agent
        .run(async {
            until_spooled(&metrics_dir, count).await;
            // And the server has refused at least one attempt.
            down.until(|recorded| !recorded.metrics.is_empty() || !recorded.batches.is_empty())
                .await;
        })
        .await
        .collected
        .load(std::sync::atomic::Ordering::Relaxed);
    usize::try_from(collected).unwrap()
}

#[tokio::test]
async fn a_replay_after_an_outage_arrives_in_batches_once_and_in_order() {
    let spool = tempfile::tempdir().unwrap();
    let during_outage = run_during_an_outage(spool.path(), 6).await;
    assert!(during_outage >= 6, "{during_outage}");

    // The server is back and has the extension, but fails the first two batch posts.
    let (up, url) = start_server(Script {
        batch: true,
        batch_unavailable_first: 2,
        ..Script::default()
    })
    .await;
    let mut agent = reporter(&url, spool.path());
    agent.metrics_interval = Duration::from_millis(100);
    agent.run(up.until_accepted(during_outage + 3)).await;

    let recorded = up.recorded.lock().unwrap();
    // Every sample of the outage and after arrived once, oldest first.
    let times: Vec<_> = recorded
        .accepted_samples
        .iter()
        .map(|sample| sample.timestamp.expect("timestamp"))
        .collect();
    assert!(
        times.windows(2).all(|pair| pair[0] < pair[1]),
        "in order, none twice: {times:?}"
    );
    assert!(times.len() >= during_outage + 3);
    // The backlog went in batches: the first batch carried several samples, and it was retried
    // after the two 503s under the same key, with the same samples.
    let (statuses, keys): (Vec<u16>, Vec<&str>) = recorded
        .batches
        .iter()
        .take(3)
        .map(|(status, key, _)| (*status, key.as_str()))
        .unzip();
    assert_eq!(statuses, [503, 503, 201], "{:?}", recorded.batches);
    assert!(keys.iter().all(|key| *key == keys[0]), "{keys:?}");
    let first_batch = &recorded.batches[0].2;
    assert!(first_batch.len() >= 2, "{} samples", first_batch.len());
    assert_eq!(first_batch, &recorded.batches[2].2);
    let (uuid, count) = keys[0].rsplit_once(".b").expect("a batch key");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{}", keys[0]);
    assert_eq!(count, first_batch.len().to_string());
    // Far fewer requests than samples.
    let requests = recorded.metrics.len() + recorded.batches.len();
    assert!(
        requests < times.len(),
        "{requests} requests for {} samples",
        times.len()
    );
    for sample in &recorded.accepted_samples {
        assert_eq!(sample.host_id, 42);
        crate::assert_plausible(sample);
    }
}

#[tokio::test]
async fn a_batch_the_server_finds_too_large_is_split_in_order() {
    let spool = tempfile::tempdir().unwrap();
    let during_outage = run_during_an_outage(spool.path(), 7).await;
    let (up, url) = start_server(Script {
        batch: true,
        max_batch_samples: Some(2),
        ..Script::default()
    })
    .await;
    let mut agent = reporter(&url, spool.path());
    agent.metrics_interval = Duration::from_millis(100);
    agent.run(up.until_accepted(during_outage)).await;

    let recorded = up.recorded.lock().unwrap();
    let times: Vec<_> = recorded
        .accepted_samples
        .iter()
        .map(|sample| sample.timestamp)
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] < pair[1]), "{times:?}");
    let refused = recorded
        .batches
        .iter()
        .find(|(status, ..)| *status == 413)
        .expect("a batch too large");
    // Its halves were posted under derived keys, first half first, until they fitted.
    let parts: Vec<&str> = recorded
        .batches
        .iter()
        .filter(|(status, key, _)| *status == 201 && key.starts_with(&format!("{}.", refused.1)))
        .map(|(_, key, _)| key.as_str())
        .collect();
    assert!(!parts.is_empty(), "{:?}", recorded.batches);
    assert!(
        parts[0].ends_with(".1") || parts[0].ends_with(".1.1"),
        "{parts:?}"
    );
    let keys: HashSet<&str> = recorded
        .batches
        .iter()
        .map(|(_, key, _)| key.as_str())
        .collect();
    let accepted_keys: Vec<&str> = recorded
        .batches
        .iter()
        .filter(|(status, ..)| *status == 201)
        .map(|(_, key, _)| key.as_str())
        .collect();
    assert_eq!(
        accepted_keys.len(),
        accepted_keys.iter().collect::<HashSet<_>>().len(),
        "each part stored once"
    );
    assert!(keys.len() > 1);
}

#[tokio::test]
async fn an_original_server_gets_one_sample_per_request() {
    let spool = tempfile::tempdir().unwrap();
    let during_outage = run_during_an_outage(spool.path(), 4).await;
    // No `metrics/batch` route: 404, as the original server answers.
    let (up, url) = start_server(Script::default()).await;
    let mut agent = reporter(&url, spool.path());
    agent.metrics_interval = Duration::from_millis(100);
    agent.run(up.until_accepted(during_outage + 2)).await;

    let accepted = up.accepted_metrics();
    let recorded = up.recorded.lock().unwrap();
    assert!(recorded.batches.is_empty());
    let keys: HashSet<&String> = accepted.iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), accepted.len(), "one key per sample");
    for (key, _) in &accepted {
        assert!(uuid::Uuid::parse_str(key).is_ok(), "{key}");
    }
    assert!(
        accepted
            .windows(2)
            .all(|pair| pair[0].1.timestamp < pair[1].1.timestamp)
    );
    assert_eq!(accepted.len(), recorded.accepted_samples.len());
}
