//! Log tailing (`agent-protocol.md` §3.7): follows the files matched by each `log_sources` glob,
//! joins multiline entries, detects levels, and hands out batches for
//! `POST /api/v1/agent/logs`.
//!
//! Files are tracked by identity (device and inode) and read through the handle the tailer holds:
//! - a file renamed away (rotation by rename) is read to its end through that handle, and the new
//!   file at the old path is read from its start;
//! - a file that shrank (truncation, copytruncate) is read again from its start;
//! - a file seen for the first time at a path never tracked before is tailed from its end (new
//!   files, and every file at the first start without saved offsets).
//!
//! Offsets: [`LogTailer::save_offsets`] writes, atomically, where each file must be read from on
//! the next start: the start of a pending (not yet emitted) multiline entry, else the end of the
//! last line read. The caller saves only once every emitted entry is in the spool, so a restart
//! neither re-sends nor skips lines.

pub mod parse;

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use vigilops_core::protocol::agent::{LogBatch, LogEntryReport};

use crate::config::{DEFAULT_MULTILINE_PATTERN, LogSourceConfig};
use crate::reporter::{AgentHandle, wait_stopped};
use crate::spool::RecordKind;

/// The most bytes read from one file in one poll.
const MAX_READ: usize = 1024 * 1024;

/// Timing and size knobs of log tailing (§3.7 and §6 defaults; tests shorten them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Time between two polls of the files.
    pub poll_interval: Duration,
    /// A pending multiline entry is emitted after this long without a continuation line.
    pub multiline_flush: Duration,
    /// A batch is sent once this many entries wait…
    pub batch_max: usize,
    /// …or once the oldest waiting entry is this old.
    pub batch_interval: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            multiline_flush: Duration::from_secs(2),
            batch_max: 100,
            batch_interval: Duration::from_secs(5),
        }
    }
}

/// What saving the offsets can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The offsets file could not be written.
    #[error("cannot write the log offsets `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The offsets could not be encoded.
    #[error("cannot encode the log offsets: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A file's identity, which survives renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_id(metadata: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId {
        dev: metadata.dev(),
        ino: metadata.ino(),
    }
}

#[cfg(not(unix))]
fn file_id(_metadata: &std::fs::Metadata) -> FileId {
    FileId { dev: 0, ino: 0 }
}

/// One saved offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SavedOffset {
    /// The `log_sources` path (glob) the file was matched by.
    pattern: String,
    path: PathBuf,
    dev: u64,
    ino: u64,
    offset: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OffsetsFile {
    files: Vec<SavedOffset>,
}

/// A multiline entry still collecting continuation lines.
#[derive(Debug)]
struct Pending {
    lines: Vec<String>,
    /// Byte offset of its first line.
    start: u64,
    read_at: DateTime<Utc>,
    last_line: Instant,
}

#[derive(Debug)]
struct Tracked {
    id: FileId,
    path: PathBuf,
    file: File,
    /// End of the last complete line read.
    offset: u64,
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Source {
    pattern: String,
    view: SourceView,
    files: Vec<Tracked>,
    /// Paths tracked at some point (and saved ones): a new file there is a rotation.
    known_paths: HashSet<PathBuf>,
    /// Paths already warned about, so a bad file is logged once, not every poll.
    warned: HashSet<PathBuf>,
}

/// The tailer of every configured log source.
#[derive(Debug)]
pub struct LogTailer {
    sources: Vec<Source>,
    saved: Vec<SavedOffset>,
    offsets_path: Option<PathBuf>,
    options: LogOptions,
    entries: Vec<LogEntryReport>,
    /// When the oldest waiting entry was emitted.
    oldest: Option<Instant>,
}

impl LogTailer {
    /// A tailer of `sources`, resuming from the offsets saved at `offsets_path` (if any).
    pub fn new(
        sources: &[LogSourceConfig],
        offsets_path: Option<PathBuf>,
        options: LogOptions,
    ) -> Self {
        let saved = offsets_path
            .as_deref()
            .map(load_offsets)
            .unwrap_or_default();
        let sources = sources
            .iter()
            .map(|config| {
                let multiline = config.multiline.then(|| {
                    Regex::new(&config.multiline_pattern).unwrap_or_else(|error| {
                        tracing::warn!(%error, path = %config.path, "invalid multiline_pattern; using the default");
                        #[allow(clippy::expect_used)] // a constant pattern, covered by the tests
                        Regex::new(DEFAULT_MULTILINE_PATTERN).expect("valid default pattern")
                    })
                });
                Source {
                    pattern: config.path.clone(),
                    view: SourceView {
                        service: config.service.clone(),
                        docker: config.docker,
                        multiline,
                    },
                    files: Vec::new(),
                    known_paths: saved
                        .iter()
                        .filter(|saved| saved.pattern == config.path)
                        .map(|saved| saved.path.clone())
                        .collect(),
                    warned: HashSet::new(),
                }
            })
            .collect();
        Self {
            sources,
            saved,
            offsets_path,
            options,
            entries: Vec::new(),
            oldest: None,
        }
    }

    /// The knobs in use.
    pub fn options(&self) -> LogOptions {
        self.options
    }

    /// How many configured sources there are.
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// Reads what was appended since the last poll; `now` drives the multiline flush and `wall`
    /// stamps the entries (the time the line was read).
    pub fn poll(&mut self, now: Instant, wall: DateTime<Utc>) {
        for index in 0..self.sources.len() {
            self.poll_source(index, now, wall);
        }
    }

    fn poll_source(&mut self, index: usize, now: Instant, wall: DateTime<Utc>) {
        let Some(source) = self.sources.get_mut(index) else {
            return;
        };
        let paths = match glob::glob(&source.pattern) {
            Ok(paths) => paths,
            Err(error) => {
                if source.warned.insert(PathBuf::from(&source.pattern)) {
                    tracing::warn!(%error, path = %source.pattern, "invalid log path pattern; source skipped");
                }
                return;
            }
        };
        let mut seen = HashSet::new();
        for entry in paths {
            let path = match entry {
                Ok(path) => path,
                Err(error) => {
                    if source.warned.insert(error.path().to_owned()) {
                        tracing::warn!(%error, "unreadable log path skipped");
                    }
                    continue;
                }
            };
            let metadata = match std::fs::metadata(&path) {
                Ok(metadata) if metadata.is_file() => metadata,
                Ok(_) => {
                    if source.warned.insert(path.clone()) {
                        tracing::warn!(path = %path.display(), "log path is not a regular file; skipped");
                    }
                    continue;
                }
                Err(error) => {
                    if source.warned.insert(path.clone()) {
                        tracing::warn!(%error, path = %path.display(), "unreadable log file skipped");
                    }
                    continue;
                }
            };
            let id = file_id(&metadata);
            seen.insert(id);
            if let Some(tracked) = source.files.iter_mut().find(|tracked| tracked.id == id) {
                tracked.path = path;
                continue;
            }
            let saved_offset = self
                .saved
                .iter()
                .position(|saved| {
                    saved.pattern == source.pattern && saved.dev == id.dev && saved.ino == id.ino
                })
                .map(|position| self.saved.swap_remove(position).offset);
            let offset = match saved_offset {
                Some(offset) if offset <= metadata.len() => offset,
                // Shrunk while the agent was stopped.
                Some(_) => 0,
                // Rotated in at a path we followed: all of it is new.
                None if source.known_paths.contains(&path) => 0,
                None => metadata.len(),
            };
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(error) => {
                    if source.warned.insert(path.clone()) {
                        tracing::warn!(%error, path = %path.display(), "unreadable log file skipped");
                    }
                    continue;
                }
            };
            source.warned.remove(&path);
            tracing::info!(path = %path.display(), offset, "tailing log file");
            source.known_paths.insert(path.clone());
            source.files.push(Tracked {
                id,
                path,
                file,
                offset,
                pending: None,
            });
        }
        let mut emitted = Vec::new();
        // Files gone from the pattern (renamed away or deleted): read to the end, then let go.
        let (gone, kept): (Vec<Tracked>, Vec<Tracked>) = std::mem::take(&mut source.files)
            .into_iter()
            .partition(|tracked| !seen.contains(&tracked.id));
        let view = &source.view;
        for mut tracked in gone {
            read_new(view, &mut tracked, now, wall, &mut emitted);
            if let Some(pending) = tracked.pending.take() {
                emitted.push(entry(view, &tracked.path, &pending));
            }
            tracing::info!(path = %tracked.path.display(), "log file rotated away or removed; finished");
        }
        source.files = kept;
        let view = &source.view;
        for tracked in &mut source.files {
            read_new(view, tracked, now, wall, &mut emitted);
            let expired = tracked.pending.as_ref().is_some_and(|pending| {
                now.saturating_duration_since(pending.last_line) >= self.options.multiline_flush
            });
            if expired && let Some(pending) = tracked.pending.take() {
                emitted.push(entry(view, &tracked.path, &pending));
            }
        }
        if !emitted.is_empty() && self.oldest.is_none() {
            self.oldest = Some(now);
        }
        self.entries.extend(emitted);
    }

    /// Emits every pending multiline entry (at shutdown).
    pub fn flush_pending(&mut self, now: Instant) {
        for source in &mut self.sources {
            let view = &source.view;
            for tracked in &mut source.files {
                if let Some(pending) = tracked.pending.take() {
                    self.entries.push(entry(view, &tracked.path, &pending));
                }
            }
        }
        if !self.entries.is_empty() && self.oldest.is_none() {
            self.oldest = Some(now);
        }
    }

    /// Whether a batch is due: `batch_max` entries wait, or the oldest waited `batch_interval`.
    pub fn batch_due(&self, now: Instant) -> bool {
        self.entries.len() >= self.options.batch_max
            || self.oldest.is_some_and(|oldest| {
                now.saturating_duration_since(oldest) >= self.options.batch_interval
            })
    }

    /// Entries waiting to be batched.
    pub fn waiting(&self) -> usize {
        self.entries.len()
    }

    /// The oldest `batch_max` waiting entries (host id 0), still kept until [`Self::commit`].
    pub fn next_batch(&self) -> &[LogEntryReport] {
        let end = self.entries.len().min(self.options.batch_max.max(1));
        self.entries.get(..end).unwrap_or_default()
    }

    /// Forgets the first `count` entries: they are safely in the spool.
    pub fn commit(&mut self, count: usize, now: Instant) {
        self.entries.drain(..count.min(self.entries.len()));
        self.oldest = if self.entries.is_empty() {
            None
        } else {
            Some(now)
        };
    }

    /// Writes the offsets (atomically) if every emitted entry was committed; returns whether it
    /// wrote them.
    pub fn save_offsets(&self) -> Result<bool, LogError> {
        let Some(path) = &self.offsets_path else {
            return Ok(false);
        };
        if !self.entries.is_empty() {
            return Ok(false);
        }
        let mut files: Vec<SavedOffset> = self
            .sources
            .iter()
            .flat_map(|source| {
                source.files.iter().map(|tracked| SavedOffset {
                    pattern: source.pattern.clone(),
                    path: tracked.path.clone(),
                    dev: tracked.id.dev,
                    ino: tracked.id.ino,
                    offset: tracked
                        .pending
                        .as_ref()
                        .map_or(tracked.offset, |pending| pending.start),
                })
            })
            .collect();
        // Saved offsets of files not seen yet this run are kept for later.
        files.extend(self.saved.iter().cloned());
        let text = serde_json::to_vec_pretty(&OffsetsFile { files })?;
        let temporary = path.with_extension("json.tmp");
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)?;
        Ok(true)
    }
}

/// What line handling needs from a source.
#[derive(Debug)]
struct SourceView {
    service: String,
    docker: bool,
    multiline: Option<Regex>,
}

fn load_offsets(path: &Path) -> Vec<SavedOffset> {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice::<OffsetsFile>(&bytes) {
            Ok(file) => file.files,
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "log offsets unreadable; new files are tailed from their end");
                Vec::new()
            }
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "log offsets unreadable; new files are tailed from their end");
            Vec::new()
        }
    }
}

fn entry(view: &SourceView, path: &Path, pending: &Pending) -> LogEntryReport {
    let message = pending.lines.join("\n");
    LogEntryReport {
        host_id: 0,
        level: Some(parse::detect_level(&message).to_owned()),
        message,
        timestamp: pending.read_at,
        service: (!view.service.is_empty()).then(|| view.service.clone()),
        source: Some(path.display().to_string()),
    }
}

/// Reads the complete lines appended to `tracked` since its offset.
fn read_new(
    view: &SourceView,
    tracked: &mut Tracked,
    now: Instant,
    wall: DateTime<Utc>,
    emitted: &mut Vec<LogEntryReport>,
) {
    let length = match tracked.file.metadata() {
        Ok(metadata) => metadata.len(),
        Err(error) => {
            tracing::warn!(%error, path = %tracked.path.display(), "cannot stat log file");
            return;
        }
    };
    if length < tracked.offset {
        tracing::info!(path = %tracked.path.display(), offset = tracked.offset, length, "log file truncated; reading from its start");
        if let Some(pending) = tracked.pending.take() {
            emitted.push(entry(view, &tracked.path, &pending));
        }
        tracked.offset = 0;
    }
    loop {
        if tracked.offset >= length {
            return;
        }
        let mut buffer = Vec::new();
        let read = tracked
            .file
            .seek(SeekFrom::Start(tracked.offset))
            .and_then(|_| {
                (&mut tracked.file)
                    .take(MAX_READ as u64)
                    .read_to_end(&mut buffer)
            });
        if let Err(error) = read {
            tracing::warn!(%error, path = %tracked.path.display(), "cannot read log file");
            return;
        }
        let consumed = match buffer.iter().rposition(|byte| *byte == b'\n') {
            Some(last) => last + 1,
            // One line longer than a whole read is taken as it is rather than stall the file.
            None if buffer.len() >= MAX_READ => buffer.len(),
            None => return,
        };
        let mut line_start = tracked.offset;
        for raw in buffer[..consumed].split_inclusive(|byte| *byte == b'\n') {
            let start = line_start;
            line_start += raw.len() as u64;
            let text = String::from_utf8_lossy(raw);
            let text = text.trim_end_matches(['\n', '\r']);
            let line = if view.docker {
                parse::docker_message(text)
            } else {
                text.to_owned()
            };
            if line.trim().is_empty() {
                continue;
            }
            match &view.multiline {
                Some(pattern) => match &mut tracked.pending {
                    Some(pending) if !pattern.is_match(&line) => {
                        pending.lines.push(line);
                        pending.last_line = now;
                    }
                    slot => {
                        if let Some(previous) = slot.replace(Pending {
                            lines: vec![line],
                            start,
                            read_at: wall,
                            last_line: now,
                        }) {
                            emitted.push(entry(view, &tracked.path, &previous));
                        }
                    }
                },
                None => emitted.push(entry(
                    view,
                    &tracked.path,
                    &Pending {
                        lines: vec![line],
                        start,
                        read_at: wall,
                        last_line: now,
                    },
                )),
            }
        }
        tracked.offset += consumed as u64;
        if buffer.len() < MAX_READ {
            return;
        }
    }
}

/// Sets `host_id` on every entry of a spooled `{"logs": […]}` body.
pub fn set_host_id(body: &mut serde_json::Value, host_id: i64) {
    if let Some(entries) = body
        .get_mut("logs")
        .and_then(serde_json::Value::as_array_mut)
    {
        for entry in entries
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            entry.insert("host_id".to_owned(), host_id.into());
        }
    }
}

/// Spools every due batch; offsets are saved once nothing read is left outside the spool. With
/// `all`, every waiting entry is spooled whatever its age (at shutdown).
fn spool_batches(handle: &AgentHandle, tailer: &mut LogTailer, now: Instant, all: bool) {
    while tailer.waiting() > 0 && (all || tailer.batch_due(now)) {
        let batch = tailer.next_batch();
        let count = batch.len();
        let timestamp = batch
            .first()
            .map_or_else(|| handle.clock().now(), |entry| entry.timestamp);
        let body = match serde_json::to_value(LogBatch {
            logs: batch.to_vec(),
        }) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, entries = count, "failed to encode a log batch; lost");
                tailer.commit(count, now);
                continue;
            }
        };
        match handle.try_spool(RecordKind::Logs, timestamp, body) {
            Ok(()) => tailer.commit(count, now),
            Err(error) => {
                // Kept in memory and offered again at the next poll; offsets stay where they were.
                tracing::error!(%error, entries = count, "failed to spool a log batch; will retry");
                return;
            }
        }
    }
    if let Err(error) = tailer.save_offsets() {
        tracing::error!(%error, "failed to save the log offsets");
    }
}

/// Starts the log tailer when log sources are configured.
pub fn spawn_loop(
    handle: &AgentHandle,
    sources: &[LogSourceConfig],
    offsets_path: Option<PathBuf>,
    options: LogOptions,
    stop: &watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if sources.is_empty() {
        return None;
    }
    let tailer = LogTailer::new(sources, offsets_path, options);
    tracing::info!(sources = tailer.source_count(), "log tailing enabled");
    Some(tokio::spawn(tail_loop(
        handle.clone(),
        tailer,
        stop.clone(),
    )))
}

/// Polls the files every `poll_interval` and spools batches; at shutdown, everything read
/// (pending multiline entries too) is spooled and the offsets saved.
async fn tail_loop(handle: AgentHandle, tailer: LogTailer, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(tailer.options().poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut owned = Some(tailer);
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            () = wait_stopped(&mut stop) => true,
        };
        let Some(mut tailer) = owned.take() else {
            return;
        };
        let wall = handle.clock().now();
        // File reads block, so they run off the async workers.
        let polled = tokio::task::spawn_blocking(move || {
            let now = Instant::now();
            tailer.poll(now, wall);
            if stopping {
                tailer.flush_pending(now);
            }
            tailer
        })
        .await;
        let mut tailer = match polled {
            Ok(tailer) => tailer,
            Err(error) => {
                tracing::error!(%error, "log tailing panicked; log tailing stopped");
                return;
            }
        };
        spool_batches(&handle, &mut tailer, Instant::now(), stopping);
        if stopping {
            return;
        }
        owned = Some(tailer);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    fn source(path: &Path, multiline: bool) -> LogSourceConfig {
        LogSourceConfig {
            path: path.display().to_string(),
            service: "app".into(),
            multiline,
            multiline_pattern: DEFAULT_MULTILINE_PATTERN.into(),
            docker: false,
        }
    }

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    /// Polls and returns the messages emitted, committing them (as if spooled).
    fn drain(tailer: &mut LogTailer, now: Instant) -> Vec<String> {
        tailer.poll(now, DateTime::<Utc>::UNIX_EPOCH);
        let messages = tailer.entries.iter().map(|e| e.message.clone()).collect();
        tailer.commit(tailer.entries.len(), now);
        messages
    }

    #[test]
    fn new_files_from_end_then_rotation_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "old line\n");
        let mut tailer = LogTailer::new(&[source(&log, false)], None, LogOptions::default());
        let now = Instant::now();
        assert!(drain(&mut tailer, now).is_empty(), "tailed from the end");
        append(&log, "one\ntwo ERROR\npartial");
        assert_eq!(drain(&mut tailer, now), ["one", "two ERROR"]);
        append(&log, " done\nlast before rotation\n");
        std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
        append(&log, "first after rotation\n");
        assert_eq!(
            drain(&mut tailer, now),
            [
                "partial done",
                "last before rotation",
                "first after rotation"
            ]
        );
    }

    #[test]
    fn copytruncate_and_truncation_restart_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "");
        let mut tailer = LogTailer::new(&[source(&log, false)], None, LogOptions::default());
        let now = Instant::now();
        drain(&mut tailer, now);
        append(&log, "a fairly long line number one\nline two\n");
        assert_eq!(drain(&mut tailer, now).len(), 2);
        // copytruncate: copy away, truncate in place, the writer carries on.
        std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&log, "after\n");
        assert_eq!(drain(&mut tailer, now), ["after"]);
        // plain truncation with nothing written yet, then new lines.
        std::fs::write(&log, "").unwrap();
        assert!(drain(&mut tailer, now).is_empty());
        append(&log, "again\n");
        assert_eq!(drain(&mut tailer, now), ["again"]);
    }

    #[test]
    fn multiline_joining_and_flush_after_timeout_with_levels() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "");
        let options = LogOptions::default();
        let mut tailer = LogTailer::new(&[source(&log, true)], None, options);
        let start = Instant::now();
        drain(&mut tailer, start);
        append(
            &log,
            "2024-01-01 12:00:00 ERROR boom\n  at a()\n  at b()\n[x] warning: y\n",
        );
        tailer.poll(start, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(tailer.entries.len(), 1);
        assert_eq!(
            tailer.entries[0].message,
            "2024-01-01 12:00:00 ERROR boom\n  at a()\n  at b()"
        );
        assert_eq!(tailer.entries[0].level.as_deref(), Some("ERROR"));
        assert_eq!(tailer.entries[0].service.as_deref(), Some("app"));
        // The last entry is still pending; it goes out after 2 s without a continuation.
        tailer.poll(
            start + Duration::from_millis(1900),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        assert_eq!(tailer.entries.len(), 1);
        tailer.poll(start + options.multiline_flush, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(tailer.entries.len(), 2);
        assert_eq!(tailer.entries[1].message, "[x] warning: y");
        assert_eq!(tailer.entries[1].level.as_deref(), Some("WARN"));
    }

    #[test]
    fn batches_are_due_at_the_size_or_the_age_limit() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "");
        let options = LogOptions {
            batch_max: 3,
            ..LogOptions::default()
        };
        let mut tailer = LogTailer::new(&[source(&log, false)], None, options);
        let start = Instant::now();
        tailer.poll(start, DateTime::<Utc>::UNIX_EPOCH);
        append(&log, "1\n2\n");
        tailer.poll(start, DateTime::<Utc>::UNIX_EPOCH);
        assert!(!tailer.batch_due(start));
        assert!(tailer.batch_due(start + options.batch_interval));
        append(&log, "3\n4\n");
        tailer.poll(start, DateTime::<Utc>::UNIX_EPOCH);
        assert!(tailer.batch_due(start));
        assert_eq!(tailer.next_batch().len(), 3);
    }

    #[test]
    fn restart_resumes_from_the_saved_offset_without_resending() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let offsets = dir.path().join("offsets.json");
        append(&log, "before start\n");
        let sources = [source(&log, true)];
        let now = Instant::now();
        let mut first = LogTailer::new(&sources, Some(offsets.clone()), LogOptions::default());
        drain(&mut first, now);
        append(&log, "[1] one\n[2] two\n  continued\n");
        first.poll(now, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(first.entries.len(), 1);
        // Not everything emitted is spooled yet: nothing is saved.
        assert!(!first.save_offsets().unwrap());
        first.commit(1, now);
        assert!(first.save_offsets().unwrap());
        drop(first);
        // "[2] two" was still pending: it is read again, "[1] one" is not.
        append(&log, "[3] three\n");
        let mut second = LogTailer::new(&sources, Some(offsets), LogOptions::default());
        assert_eq!(drain(&mut second, now), ["[2] two\n  continued"]);
        second.flush_pending(now);
        assert_eq!(second.entries[0].message, "[3] three");
    }

    #[test]
    fn unreadable_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        // A directory and a dangling symlink match the pattern; neither stops the good file.
        std::fs::create_dir(dir.path().join("dir.log")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("missing"), dir.path().join("broken.log"))
            .unwrap();
        let good = dir.path().join("good.log");
        append(&good, "");
        let pattern = dir.path().join("*.log");
        let mut tailer = LogTailer::new(&[source(&pattern, false)], None, LogOptions::default());
        let now = Instant::now();
        drain(&mut tailer, now);
        append(&good, "ok\n");
        assert_eq!(drain(&mut tailer, now), ["ok"]);
        assert_eq!(tailer.sources[0].files.len(), 1);
    }

    #[test]
    fn docker_lines_and_host_ids() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        append(&log, "");
        let mut config = source(&log, false);
        config.docker = true;
        let mut tailer = LogTailer::new(&[config], None, LogOptions::default());
        let now = Instant::now();
        drain(&mut tailer, now);
        append(&log, "{\"log\":\"hi FATAL\\n\",\"stream\":\"stderr\"}\n");
        tailer.poll(now, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(tailer.entries[0].message, "hi FATAL");
        assert_eq!(tailer.entries[0].level.as_deref(), Some("FATAL"));
        let mut body = serde_json::to_value(LogBatch {
            logs: tailer.entries.clone(),
        })
        .unwrap();
        set_host_id(&mut body, 77);
        assert_eq!(body["logs"][0]["host_id"], 77);
    }
}
