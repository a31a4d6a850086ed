//! The spool on a full disk: a real tmpfs of 256 KiB mounted for the test (we are root here),
//! filled up while the agent runs against a server that is down. Writes that fail with ENOSPC
//! are logged and counted, the agent keeps running, the samples spooled before are intact and
//! delivered, in order and once, when space (and the server) come back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use vigilops_agent::reporter::metrics_spool_dir;

use crate::{Script, reporter, start_server};

/// A tmpfs mounted on a directory for the life of the value; unmounted on drop (lazily if it
/// is still busy), so no mount outlives the test.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(path).map_err(|error| error.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|error| format!("cannot run mount: {error}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(Self {
            path: path.to_owned(),
        })
    }

    fn is_mounted(&self) -> bool {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let path = self.path.to_string_lossy();
        mounts
            .lines()
            .any(|line| line.split_whitespace().nth(1) == Some(path.as_ref()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
        if self.is_mounted() {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Log lines written through `tracing`, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The collection times of the samples in the metrics spool's segment files, in order.
fn spooled_times(dir: &Path) -> Vec<DateTime<Utc>> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "jsonl")
        })
        .collect();
    segments.sort();
    segments
        .iter()
        .flat_map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|line| {
                    let record: serde_json::Value = serde_json::from_str(line).unwrap();
                    serde_json::from_value(record["created_at"].clone()).unwrap()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Writes zeros to `path` until the file system says it is full.
fn fill_up(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = [0u8; 4096];
    loop {
        if let Err(error) = file.write_all(&chunk).and_then(|()| file.sync_data()) {
            assert_eq!(error.raw_os_error(), Some(28), "ENOSPC expected: {error}");
            return;
        }
    }
}

/// Whether a log line reports a sample lost to a full disk.
fn is_a_lost_sample(line: &str) -> bool {
    line.contains("failed to spool a metrics sample; sample lost")
        && line.contains("No space left on device")
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(15), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test]
async fn a_full_disk_loses_only_the_samples_it_refused() {
    let temp = tempfile::tempdir().unwrap();
    let mountpoint = temp.path().join("spool");
    let tmpfs = match Tmpfs::mount(&mountpoint, "256k") {
        Ok(tmpfs) => tmpfs,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPING: cannot mount a tmpfs (needs root): {error}");
            return;
        }
        Err(error) => panic!("cannot mount a tmpfs under CI: {error}"),
    };
    // The runtime of this test is single-threaded, so the agent's tasks log here.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let (server, url) = start_server(Script {
        batch: true,
        ..Script::default()
    })
    .await;
    server.available.store(false, Ordering::SeqCst);
    let mut agent = reporter(&url, &mountpoint);
    agent.metrics_interval = Duration::from_millis(100);
    let metrics_dir = metrics_spool_dir(&mountpoint);
    let ballast = mountpoint.join("ballast");
    let before_full = Arc::new(Mutex::new(Vec::new()));
    let spooled_before = Arc::clone(&before_full);
    let stats = agent
        .run(async {
            // Some samples are spooled while the server is down.
            until("samples in the spool", || {
                spooled_times(&metrics_dir).len() >= 3
            })
            .await;
            // The disk fills up; what is spooled now must survive.
            fill_up(&ballast);
            *spooled_before.lock().unwrap() = spooled_times(&metrics_dir);
            until("failed writes to be logged", || {
                captured
                    .text()
                    .lines()
                    .filter(|line| is_a_lost_sample(line))
                    .count()
                    >= 3
            })
            .await;
            // Space and the server come back: the agent, still running, delivers the backlog
            // and spools new samples again.
            std::fs::remove_file(&ballast).unwrap();
            server.available.store(true, Ordering::SeqCst);
            let wanted = spooled_before.lock().unwrap().len() + 3;
            until("delivery after the disk had room again", || {
                server.recorded.lock().unwrap().accepted_samples.len() >= wanted
            })
            .await;
        })
        .await;

    let logs = captured.text();
    let failures = logs.lines().filter(|line| is_a_lost_sample(line)).count();
    assert!(failures >= 3, "{logs}");
    // The agent's count of lost samples matches the failures logged, and nothing spooled was
    // dropped to make room.
    assert_eq!(
        usize::try_from(stats.spool_write_failures.load(Ordering::Relaxed)).unwrap(),
        failures,
        "{logs}"
    );
    assert_eq!(stats.spool_dropped.load(Ordering::Relaxed), 0);

    let spooled_before = before_full.lock().unwrap().clone();
    let accepted: Vec<DateTime<Utc>> = server
        .recorded
        .lock()
        .unwrap()
        .accepted_samples
        .iter()
        .map(|sample| sample.timestamp.unwrap())
        .collect();
    assert!(
        accepted.windows(2).all(|pair| pair[0] < pair[1]),
        "in order, none twice: {accepted:?}"
    );
    // Everything spooled before the disk filled arrived intact, first.
    assert_eq!(accepted[..spooled_before.len()], spooled_before[..]);
    // Then samples taken after space came back; those taken while it was full are the lost ones.
    assert!(accepted.len() >= spooled_before.len() + 3);
    let collected = usize::try_from(stats.collected.load(Ordering::Relaxed)).unwrap();
    assert!(
        collected >= accepted.len(),
        "{collected} < {}",
        accepted.len()
    );
    drop(tmpfs);
    assert!(
        !std::fs::read_to_string("/proc/mounts")
            .unwrap()
            .contains(&*mountpoint.to_string_lossy()),
        "the tmpfs is unmounted"
    );
}
