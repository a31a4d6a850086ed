//! A bounded, append-only on-disk queue of reports waiting to be delivered, so that a server that
//! is down or unreachable costs no data (defect 1 of the original agent).
//!
//! Every report is appended here first and sent from here in order; a record leaves the spool only
//! when the server accepted it, or when it can never be accepted (a 4xx other than the retryable
//! ones), or when a limit forces it out. Each record keeps its collection time and its
//! `Idempotency-Key`, so a replay after a restart is stored once by the server.
//!
//! Layout of `spool.dir`:
//! - `segment-<20-digit sequence>.jsonl`: one [`SpoolRecord`] as compact JSON per line, appended
//!   to the newest segment, which is replaced by a new one beyond a size limit (and at each start);
//! - `cursor`: `<segment sequence> <byte offset>` of the oldest record not yet delivered, written
//!   atomically (write then rename) after each delivery; followed by ` <count>` while a batch of
//!   that many records from the head is in flight ([`Spool::peek_batch`]), so that after a
//!   restart the same records form the same batch again (and its `Idempotency-Key`, derived from
//!   them, is the same).
//!
//! Limits: when the spool would grow past `max_bytes`, whole oldest segments are deleted (each
//! segment is at most an eighth of the limit, so at most that much goes at once); records older
//! than `max_age` are dropped when they reach the head. Both are counted in [`Spool::dropped`].
//! A line that cannot be parsed (a torn write after a crash) is skipped and counted too.
//!
//! When the directory cannot be used, [`Spool::in_memory`] keeps the same behaviour without
//! surviving a restart.
//!
//! A write that fails (a full disk: ENOSPC) loses that record only: it is logged by the caller
//! and counted in [`Spool::write_failures`], a torn line is cut off, and what was spooled before
//! stays intact and is delivered once the server can be reached.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kind of report a record holds, which names the endpoint it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// A host metrics sample for `POST /api/v1/agent/metrics`.
    Metrics,
    /// A database sample for `POST /api/v1/agent/db-metrics` (host id filled in when sent).
    DbMetrics,
    /// A service check result for `POST /api/v1/agent/services` (carries no host id).
    ServiceCheck,
    /// A log batch for `POST /api/v1/agent/logs` (each entry's host id filled in when sent).
    Logs,
    /// Extension: the discovered service dependencies for
    /// `POST /api/v1/agent/service-dependencies` (host id filled in when sent).
    ServiceDependencies,
}

impl RecordKind {
    /// The endpoint under `/api/v1/agent/`.
    pub fn path(self) -> &'static str {
        match self {
            Self::Metrics => "metrics",
            Self::DbMetrics => "db-metrics",
            Self::ServiceCheck => "services",
            Self::Logs => "logs",
            Self::ServiceDependencies => "service-dependencies",
        }
    }

    /// Whether the body carries the `host_id`, rewritten to the current one when sent.
    pub fn has_host_id(self) -> bool {
        !matches!(self, Self::ServiceCheck | Self::Logs)
    }
}

/// One report waiting for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolRecord {
    /// What the body is.
    pub kind: RecordKind,
    /// The `Idempotency-Key` sent with every attempt.
    pub key: String,
    /// When the record was collected; limits its age.
    pub created_at: DateTime<Utc>,
    /// The request body as collected (the host id is filled in when it is sent).
    pub body: serde_json::Value,
    /// For a service check: which service the body's `service_id` stands for, so that the
    /// record is remapped to the service's id under the current host id when it is sent (after
    /// a re-registration the old id belongs to no service, or to another one). Absent in records
    /// of older agents, which are sent as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceRef>,
}

/// The identity of the service a spooled check belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRef {
    /// The service name: with the host, its identity on the server (protocol §4).
    pub name: String,
    /// The host id the body's `service_id` was assigned under.
    pub host_id: i64,
    /// The `services/register` body, sent again with the current host id when needed.
    pub register: vigilops_core::protocol::agent::ServiceRegisterRequest,
}

/// Size and age limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    /// Bytes the pending records may take.
    pub max_bytes: u64,
    /// Age beyond which a record is dropped rather than sent.
    pub max_age: Duration,
}

/// What a spool operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file of the spool could not be read or written (for example: the disk is full).
    #[error("spool i/o on `{}` failed: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A record could not be encoded.
    #[error("failed to encode a spool record: {0}")]
    Encode(#[from] serde_json::Error),
    /// A single record is larger than the whole spool may be.
    #[error("a record of {size} bytes exceeds the spool limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The queue of pending reports.
#[derive(Debug)]
pub struct Spool {
    backend: Backend,
    limits: SpoolLimits,
    dropped: u64,
    /// Records that could not be written (for example: the disk is full).
    write_failures: u64,
    /// The record returned by the last [`Spool::peek`] and its size, until it is acknowledged.
    peeked: Option<(SpoolRecord, u64)>,
    /// The records returned by the last [`Spool::peek_batch`], until they are acknowledged.
    batch: Option<PendingBatch>,
}

/// A batch handed out by [`Spool::peek_batch`]: its records and where each one ends.
#[derive(Debug)]
struct PendingBatch {
    records: Vec<SpoolRecord>,
    /// For each record: the position just after it (on disk) and its size in bytes.
    ends: Vec<(Position, u64)>,
}

#[derive(Debug)]
enum Backend {
    Disk(DiskSpool),
    Memory(MemorySpool),
}

#[derive(Debug, Default)]
struct MemorySpool {
    records: VecDeque<(SpoolRecord, u64)>,
    bytes: u64,
}

#[derive(Debug)]
struct DiskSpool {
    dir: PathBuf,
    segment_max: u64,
    /// Sequence → size in bytes of each segment still on disk.
    segments: BTreeMap<u64, u64>,
    /// The oldest undelivered record: segment sequence and byte offset.
    head: (u64, u64),
    /// The segment open for appending.
    writer: Option<(u64, File)>,
    /// How many records from the head form the batch in flight (saved in the cursor file).
    pinned: Option<usize>,
}

/// A place in the spool: segment sequence and byte offset.
type Position = (u64, u64);

const SEGMENT_PREFIX: &str = "segment-";
const SEGMENT_SUFFIX: &str = ".jsonl";

fn segment_path(dir: &Path, sequence: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{sequence:020}{SEGMENT_SUFFIX}"))
}

/// Counts the complete and partial lines of `path` from `offset`.
fn count_lines(path: &Path, offset: u64) -> u64 {
    let Ok(mut file) = File::open(path) else {
        return 0;
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return 0;
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return 0;
    }
    let newlines = bytes.iter().filter(|byte| **byte == b'\n').count();
    let partial = usize::from(bytes.last().is_some_and(|byte| *byte != b'\n'));
    u64::try_from(newlines + partial).unwrap_or(u64::MAX)
}

impl DiskSpool {
    fn open(dir: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut segments = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            let name = entry.file_name();
            let Some(sequence) = name
                .to_str()
                .and_then(|name| name.strip_prefix(SEGMENT_PREFIX))
                .and_then(|name| name.strip_suffix(SEGMENT_SUFFIX))
                .and_then(|sequence| sequence.parse::<u64>().ok())
            else {
                continue;
            };
            let size = entry.metadata().map_err(io_error(&entry.path()))?.len();
            segments.insert(sequence, size);
        }
        let cursor_text = std::fs::read_to_string(dir.join("cursor")).unwrap_or_default();
        let mut fields = cursor_text.split_ascii_whitespace();
        let cursor = (|| {
            Some((
                fields.next()?.parse::<u64>().ok()?,
                fields.next()?.parse::<u64>().ok()?,
            ))
        })();
        let pinned = fields
            .next()
            .and_then(|count| count.parse::<usize>().ok())
            .filter(|count| *count > 0);
        let mut spool = Self {
            dir: dir.to_owned(),
            segment_max: (max_bytes / 8).clamp(4096, 16 * 1024 * 1024),
            segments,
            head: (0, 0),
            writer: None,
            pinned: None,
        };
        // Segments before the cursor were delivered. A cursor past its segment's end means that
        // segment was finished; a cursor naming a segment that is gone resumes at the next one.
        let first = spool.segments.keys().next().copied().unwrap_or(0);
        spool.head = match cursor {
            Some((sequence, offset))
                if spool
                    .segments
                    .get(&sequence)
                    .is_some_and(|size| offset > *size) =>
            {
                (sequence + 1, 0)
            }
            Some(cursor) => cursor,
            None => (first, 0),
        };
        let delivered: Vec<u64> = spool
            .segments
            .range(..spool.head.0)
            .map(|(sequence, _)| *sequence)
            .collect();
        for sequence in delivered {
            spool.remove_segment(sequence)?;
        }
        if !spool.segments.contains_key(&spool.head.0) {
            let next = spool.segments.keys().next().copied();
            spool.head = (next.unwrap_or(spool.head.0), 0);
        }
        // The batch in flight at the last stop still starts at the head, unless the head moved.
        if cursor == Some(spool.head) {
            spool.pinned = pinned;
        }
        Ok(spool)
    }

    fn pending_bytes(&self) -> u64 {
        let total: u64 = self.segments.values().sum();
        total.saturating_sub(self.head.1)
    }

    fn remove_segment(&mut self, sequence: u64) -> Result<(), SpoolError> {
        if self
            .writer
            .as_ref()
            .is_some_and(|(open, _)| *open == sequence)
        {
            self.writer = None;
        }
        let path = segment_path(&self.dir, sequence);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error(&path)(error)),
        }
        self.segments.remove(&sequence);
        Ok(())
    }

    fn save_cursor(&self) -> Result<(), SpoolError> {
        let path = self.dir.join("cursor");
        let temporary = self.dir.join("cursor.tmp");
        let text = match self.pinned {
            Some(count) => format!("{} {} {count}\n", self.head.0, self.head.1),
            None => format!("{} {}\n", self.head.0, self.head.1),
        };
        std::fs::write(&temporary, text).map_err(io_error(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(io_error(&path))
    }

    /// Deletes the oldest segment; returns how many records it still held.
    fn drop_oldest_segment(&mut self) -> Result<u64, SpoolError> {
        let Some(oldest) = self.segments.keys().next().copied() else {
            return Ok(0);
        };
        let offset = if self.head.0 == oldest {
            self.head.1
        } else {
            0
        };
        let lost = count_lines(&segment_path(&self.dir, oldest), offset);
        self.remove_segment(oldest)?;
        let next = self.segments.keys().next().copied().unwrap_or(oldest + 1);
        self.head = (next, 0);
        self.pinned = None;
        self.save_cursor()?;
        Ok(lost)
    }

    fn append(&mut self, line: &[u8]) -> Result<(), SpoolError> {
        let needs_new_segment = match &self.writer {
            None => true,
            Some((sequence, _)) => {
                self.segments.get(sequence).copied().unwrap_or(0) >= self.segment_max
            }
        };
        if needs_new_segment {
            // Sequence numbers are never reused, so a saved cursor can never point into a
            // newer segment by mistake.
            let sequence = self
                .segments
                .keys()
                .next_back()
                .map_or(self.head.0, |last| *last)
                .max(self.head.0)
                + 1;
            let path = segment_path(&self.dir, sequence);
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_error(&path))?;
            self.segments.insert(sequence, 0);
            self.writer = Some((sequence, file));
            if self.segments.len() == 1 {
                self.head = (sequence, 0);
                self.save_cursor()?;
            }
        }
        let Some((sequence, file)) = &mut self.writer else {
            return Ok(());
        };
        let path = segment_path(&self.dir, *sequence);
        let size = self.segments.get(sequence).copied().unwrap_or(0);
        let written = file.write_all(line).and_then(|()| file.sync_data());
        if let Err(error) = written {
            // Cut a torn line off so the next append starts clean, and start a new segment.
            let _ = file.set_len(size);
            self.writer = None;
            return Err(io_error(&path)(error));
        }
        self.segments.insert(*sequence, size + line.len() as u64);
        Ok(())
    }

    /// Reads up to `max` complete lines from the head on (across segments) without moving it,
    /// each with the position just after it. Stops before a torn line.
    fn read_from_head(&self, max: usize) -> Result<Vec<(Vec<u8>, Position)>, SpoolError> {
        let mut lines = Vec::new();
        for sequence in self
            .segments
            .range(self.head.0..)
            .map(|(sequence, _)| *sequence)
        {
            let mut offset = if sequence == self.head.0 {
                self.head.1
            } else {
                0
            };
            let path = segment_path(&self.dir, sequence);
            let mut file = match File::open(&path) {
                Ok(file) => file,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => return Err(io_error(&path)(error)),
            };
            file.seek(SeekFrom::Start(offset))
                .map_err(io_error(&path))?;
            let mut reader = BufReader::new(file);
            loop {
                if lines.len() >= max {
                    return Ok(lines);
                }
                let mut line = Vec::new();
                let read = reader
                    .read_until(b'\n', &mut line)
                    .map_err(io_error(&path))?;
                if read == 0 {
                    break;
                }
                if !line.ends_with(b"\n") {
                    return Ok(lines);
                }
                offset += read as u64;
                lines.push((line, (sequence, offset)));
            }
        }
        Ok(lines)
    }

    /// Reads the line at the head, moving past exhausted segments. `None` when caught up.
    fn read_head(&mut self) -> Result<Option<Vec<u8>>, SpoolError> {
        loop {
            let Some(first) = self.segments.keys().next().copied() else {
                return Ok(None);
            };
            if self.head.0 < first {
                self.head = (first, 0);
            }
            let sequence = self.head.0;
            let path = segment_path(&self.dir, sequence);
            let mut line = Vec::new();
            match File::open(&path) {
                Ok(mut file) => {
                    file.seek(SeekFrom::Start(self.head.1))
                        .map_err(io_error(&path))?;
                    BufReader::new(file)
                        .read_until(b'\n', &mut line)
                        .map_err(io_error(&path))?;
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io_error(&path)(error)),
            }
            if !line.is_empty() {
                return Ok(Some(line));
            }
            let is_writing = self
                .writer
                .as_ref()
                .is_some_and(|(open, _)| *open == sequence);
            if is_writing {
                return Ok(None);
            }
            // A finished segment fully delivered: delete it and go on with the next one.
            self.remove_segment(sequence)?;
            match self.segments.keys().next().copied() {
                Some(next) => {
                    self.head = (next, 0);
                    self.save_cursor()?;
                }
                None => return Ok(None),
            }
        }
    }
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, resuming after the last delivered record.
    pub fn open(dir: &Path, limits: SpoolLimits) -> Result<Self, SpoolError> {
        Ok(Self {
            backend: Backend::Disk(DiskSpool::open(dir, limits.max_bytes)?),
            limits,
            dropped: 0,
            write_failures: 0,
            peeked: None,
            batch: None,
        })
    }

    /// A spool kept in memory only, for when no directory is usable.
    pub fn in_memory(limits: SpoolLimits) -> Self {
        Self {
            backend: Backend::Memory(MemorySpool::default()),
            limits,
            dropped: 0,
            write_failures: 0,
            peeked: None,
            batch: None,
        }
    }

    /// Whether records survive a restart.
    pub fn is_persistent(&self) -> bool {
        matches!(self.backend, Backend::Disk(_))
    }

    /// Records dropped since the spool was opened: pushed out by the size limit, too old, or
    /// unreadable, plus those the caller gave up on through [`Spool::drop_head`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Records that could not be written since the spool was opened (for example: the disk was
    /// full); each is lost.
    pub fn write_failures(&self) -> u64 {
        self.write_failures
    }

    /// Bytes of the records not yet delivered.
    pub fn pending_bytes(&self) -> u64 {
        match &self.backend {
            Backend::Disk(disk) => disk.pending_bytes(),
            Backend::Memory(memory) => memory.bytes,
        }
    }

    /// Appends a record, first dropping the oldest records if the size limit requires it.
    pub fn push(&mut self, record: &SpoolRecord) -> Result<(), SpoolError> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let size = line.len() as u64;
        if size > self.limits.max_bytes {
            self.dropped += 1;
            return Err(SpoolError::TooLarge {
                size,
                limit: self.limits.max_bytes,
            });
        }
        let before = self.dropped;
        match &mut self.backend {
            Backend::Disk(disk) => {
                while disk.pending_bytes() + size > self.limits.max_bytes
                    && !disk.segments.is_empty()
                {
                    self.dropped += disk.drop_oldest_segment()?;
                    self.peeked = None;
                    self.batch = None;
                }
                if let Err(error) = disk.append(&line) {
                    self.write_failures += 1;
                    return Err(error);
                }
            }
            Backend::Memory(memory) => {
                while memory.bytes + size > self.limits.max_bytes {
                    let Some((_, oldest)) = memory.records.pop_front() else {
                        break;
                    };
                    memory.bytes -= oldest;
                    self.dropped += 1;
                    self.peeked = None;
                    self.batch = None;
                }
                memory.bytes += size;
                memory.records.push_back((record.clone(), size));
            }
        }
        if self.dropped > before {
            tracing::warn!(
                dropped = self.dropped - before,
                dropped_total = self.dropped,
                "spool full: oldest records dropped"
            );
        }
        Ok(())
    }

    /// The oldest record still to deliver, skipping (and counting) those older than `max_age`
    /// at `now` and unreadable ones. It stays at the head until [`Spool::ack`] or
    /// [`Spool::drop_head`].
    pub fn peek(&mut self, now: DateTime<Utc>) -> Result<Option<SpoolRecord>, SpoolError> {
        loop {
            if self.peeked.is_none() {
                self.peeked = match &mut self.backend {
                    Backend::Memory(memory) => memory.records.front().cloned(),
                    Backend::Disk(disk) => match disk.read_head()? {
                        None => None,
                        Some(line) => {
                            let size = line.len() as u64;
                            match serde_json::from_slice::<SpoolRecord>(&line) {
                                Ok(record) if line.ends_with(b"\n") => Some((record, size)),
                                _ => {
                                    tracing::warn!(size, "unreadable spool record skipped");
                                    self.dropped += 1;
                                    disk.head.1 += size;
                                    disk.pinned = None;
                                    disk.save_cursor()?;
                                    continue;
                                }
                            }
                        }
                    },
                };
            }
            let Some((record, _)) = &self.peeked else {
                return Ok(None);
            };
            let age = now.signed_duration_since(record.created_at);
            let too_old = age.to_std().is_ok_and(|age| age > self.limits.max_age);
            if !too_old {
                return Ok(Some(record.clone()));
            }
            let key = record.key.clone();
            tracing::warn!(%key, created_at = %record.created_at, "spool record older than max_age dropped");
            self.drop_head(&key)?;
        }
    }

    /// Removes the record with `key` last returned by [`Spool::peek`]: it was delivered. Nothing
    /// happens when a limit removed it in the meantime.
    pub fn ack(&mut self, key: &str) -> Result<(), SpoolError> {
        if self
            .peeked
            .as_ref()
            .is_none_or(|(record, _)| record.key != key)
        {
            return Ok(());
        }
        let Some((_, size)) = self.peeked.take() else {
            return Ok(());
        };
        match &mut self.backend {
            Backend::Memory(memory) => {
                if memory.records.pop_front().is_some() {
                    memory.bytes = memory.bytes.saturating_sub(size);
                }
            }
            Backend::Disk(disk) => {
                disk.head.1 += size;
                disk.pinned = None;
                disk.save_cursor()?;
            }
        }
        Ok(())
    }

    /// Up to `max` records from the head, oldest first, for one batched request; the head skips
    /// records that are too old or unreadable as [`Spool::peek`] does. They stay in the spool
    /// until [`Spool::ack_batch`], and the same records are returned again until then, also after
    /// a restart (the count is saved with the cursor), whatever `max` is by then.
    pub fn peek_batch(
        &mut self,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<SpoolRecord>, SpoolError> {
        if let Some(batch) = &self.batch {
            return Ok(batch.records.clone());
        }
        let Some(_head) = self.peek(now)? else {
            return Ok(Vec::new());
        };
        self.peeked = None;
        let batch = match &mut self.backend {
            Backend::Memory(memory) => {
                let entries: Vec<_> = memory.records.iter().take(max.max(1)).collect();
                PendingBatch {
                    records: entries.iter().map(|(record, _)| record.clone()).collect(),
                    ends: entries.iter().map(|(_, size)| ((0, 0), *size)).collect(),
                }
            }
            Backend::Disk(disk) => {
                let wanted = disk.pinned.unwrap_or(max).max(1);
                let mut batch = PendingBatch {
                    records: Vec::new(),
                    ends: Vec::new(),
                };
                for (line, end) in disk.read_from_head(wanted)? {
                    // Stop before an unreadable line; `peek` skips it once it is the head.
                    let Ok(record) = serde_json::from_slice::<SpoolRecord>(&line) else {
                        break;
                    };
                    batch.records.push(record);
                    batch.ends.push((end, line.len() as u64));
                }
                let count = batch.records.len();
                if count > 0 && disk.pinned != Some(count) {
                    disk.pinned = Some(count);
                    disk.save_cursor()?;
                }
                batch
            }
        };
        let records = batch.records.clone();
        if !records.is_empty() {
            self.batch = Some(batch);
        }
        Ok(records)
    }

    /// Removes the first `count` records of the batch starting with `first_key` (the last one
    /// returned by [`Spool::peek_batch`]), of which `refused` were not delivered but given up on
    /// (counted as dropped). The rest of the batch, if any, stays the batch in flight. Nothing
    /// happens when a limit removed the batch in the meantime.
    pub fn ack_batch(
        &mut self,
        first_key: &str,
        count: usize,
        refused: u64,
    ) -> Result<(), SpoolError> {
        let Some(batch) = &mut self.batch else {
            return Ok(());
        };
        if batch
            .records
            .first()
            .is_none_or(|record| record.key != first_key)
            || count == 0
        {
            return Ok(());
        }
        let count = count.min(batch.records.len());
        let Some(&(end, _)) = batch.ends.get(count - 1) else {
            return Ok(());
        };
        let bytes: u64 = batch.ends[..count].iter().map(|(_, size)| size).sum();
        batch.records.drain(..count);
        batch.ends.drain(..count);
        let remaining = batch.records.len();
        if remaining == 0 {
            self.batch = None;
        }
        self.dropped += refused;
        match &mut self.backend {
            Backend::Memory(memory) => {
                for _ in 0..count {
                    memory.records.pop_front();
                }
                memory.bytes = memory.bytes.saturating_sub(bytes);
            }
            Backend::Disk(disk) => {
                disk.head = end;
                disk.pinned = (remaining > 0).then_some(remaining);
                disk.save_cursor()?;
                // Segments the batch went past were delivered to their end.
                let delivered: Vec<u64> = disk
                    .segments
                    .range(..end.0)
                    .map(|(sequence, _)| *sequence)
                    .collect();
                for sequence in delivered {
                    disk.remove_segment(sequence)?;
                }
            }
        }
        Ok(())
    }

    /// Removes the record with `key` last returned by [`Spool::peek`] without delivering it, and
    /// counts it.
    pub fn drop_head(&mut self, key: &str) -> Result<(), SpoolError> {
        if self
            .peeked
            .as_ref()
            .is_some_and(|(record, _)| record.key == key)
        {
            self.dropped += 1;
        }
        self.ack(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 21, 10, 0, second).unwrap()
    }

    fn record(number: u32) -> SpoolRecord {
        SpoolRecord {
            service: None,
            kind: RecordKind::Metrics,
            key: format!("key-{number}"),
            created_at: at(number % 60),
            body: json!({"host_id": 1, "cpu_percent": number}),
        }
    }

    fn limits(max_bytes: u64) -> SpoolLimits {
        SpoolLimits {
            max_bytes,
            max_age: Duration::from_secs(3600),
        }
    }

    /// Delivers everything pending and returns the keys in order.
    fn drain(spool: &mut Spool) -> Vec<String> {
        let mut keys = Vec::new();
        while let Some(record) = spool.peek(at(59)).unwrap() {
            spool.ack(&record.key).unwrap();
            keys.push(record.key);
        }
        keys
    }

    #[test]
    fn replays_in_order_with_keys_and_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        for number in 0..5 {
            spool.push(&record(number)).unwrap();
        }
        let first = spool.peek(at(59)).unwrap().unwrap();
        assert_eq!(first, record(0));
        // Peeking again without an ack returns the same record: a failed send is retried.
        assert_eq!(spool.peek(at(59)).unwrap().unwrap(), record(0));
        assert_eq!(
            drain(&mut spool),
            ["key-0", "key-1", "key-2", "key-3", "key-4"]
        );
        assert_eq!(spool.peek(at(59)).unwrap(), None);
        assert_eq!(spool.pending_bytes(), 0);
        assert_eq!(spool.dropped(), 0);
    }

    #[test]
    fn a_service_reference_survives_a_restart_and_old_lines_still_parse() {
        let dir = tempfile::tempdir().unwrap();
        let check = SpoolRecord {
            kind: RecordKind::ServiceCheck,
            service: Some(ServiceRef {
                name: "web (:8080)".into(),
                host_id: 7,
                register: vigilops_core::protocol::agent::ServiceRegisterRequest {
                    name: Some("web (:8080)".into()),
                    target: Some("http://localhost:8080".into()),
                    host_id: Some(7),
                    ..Default::default()
                },
            }),
            ..record(1)
        };
        Spool::open(dir.path(), limits(1 << 20))
            .unwrap()
            .push(&check)
            .unwrap();
        let mut reopened = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(reopened.peek(at(59)).unwrap(), Some(check));
        // A line written by an agent without the field is a record without a service.
        let old: SpoolRecord = serde_json::from_str(
            r#"{"kind":"service-check","key":"k","created_at":"2026-02-21T10:00:00Z","body":{"service_id":5}}"#,
        )
        .unwrap();
        assert_eq!(old.service, None);
    }

    #[test]
    fn survives_a_restart_without_resending_delivered_records() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
            for number in 0..4 {
                spool.push(&record(number)).unwrap();
            }
            let first = spool.peek(at(59)).unwrap().unwrap();
            spool.ack(&first.key).unwrap();
            // key-1 was sent but not acknowledged when the agent stopped.
            spool.peek(at(59)).unwrap();
        }
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        spool.push(&record(4)).unwrap();
        assert_eq!(drain(&mut spool), ["key-1", "key-2", "key-3", "key-4"]);
        drop(spool);
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(drain(&mut spool), Vec::<String>::new());
    }

    #[test]
    fn the_size_limit_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let line = serde_json::to_vec(&record(10)).unwrap().len() as u64 + 1;
        // Segments are at least 4 KiB, so a 12 KiB limit keeps two to three of them.
        let limit = 12 * 1024;
        let mut spool = Spool::open(dir.path(), limits(limit)).unwrap();
        let total = 400;
        for number in 0..total {
            spool.push(&record(number)).unwrap();
            assert!(spool.pending_bytes() <= limit);
        }
        let kept = drain(&mut spool);
        assert!(spool.dropped() > 0);
        assert_eq!(kept.len() as u64 + spool.dropped(), u64::from(total));
        // What is kept is the newest, in order, ending with the last record.
        assert_eq!(kept.last().map(String::as_str), Some("key-399"));
        let first_kept: u32 = kept[0].trim_start_matches("key-").parse().unwrap();
        let expected: Vec<String> = (first_kept..total).map(|n| format!("key-{n}")).collect();
        assert_eq!(kept, expected);
        // At most one segment's worth below the limit is given up.
        assert!(kept.len() as u64 * line > limit - 4096 - line);
    }

    #[test]
    fn records_older_than_max_age_are_dropped() {
        let mut spool = Spool::in_memory(SpoolLimits {
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(30),
        });
        spool.push(&record(0)).unwrap();
        spool.push(&record(40)).unwrap();
        assert_eq!(spool.peek(at(59)).unwrap().unwrap().key, "key-40");
        assert_eq!(spool.dropped(), 1);
    }

    #[test]
    fn torn_and_garbage_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
            spool.push(&record(1)).unwrap();
        }
        // A crash in the middle of the next write leaves half a line.
        let segment = segment_path(dir.path(), 1);
        let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
        file.write_all(b"not json\n{\"kind\":\"metr").unwrap();
        drop(file);
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        spool.push(&record(2)).unwrap();
        assert_eq!(drain(&mut spool), ["key-1", "key-2"]);
        assert_eq!(spool.dropped(), 2);
    }

    #[test]
    fn drop_head_counts_records_the_server_refused() {
        let mut spool = Spool::in_memory(limits(1 << 20));
        spool.push(&record(1)).unwrap();
        spool.push(&record(2)).unwrap();
        let refused = spool.peek(at(59)).unwrap().unwrap();
        // Acknowledging a key that is not the head changes nothing.
        spool.ack("key-2").unwrap();
        spool.drop_head(&refused.key).unwrap();
        assert_eq!(drain(&mut spool), ["key-2"]);
        assert_eq!(spool.dropped(), 1);
    }

    #[test]
    fn memory_spool_has_the_same_size_bound() {
        let mut spool = Spool::in_memory(limits(1000));
        for number in 0..100 {
            spool.push(&record(number)).unwrap();
        }
        assert!(spool.pending_bytes() <= 1000);
        let kept = drain(&mut spool);
        assert_eq!(kept.last().map(String::as_str), Some("key-99"));
        assert_eq!(kept.len() as u64 + spool.dropped(), 100);
        assert!(!spool.is_persistent());
    }

    fn keys(records: &[SpoolRecord]) -> Vec<String> {
        records.iter().map(|record| record.key.clone()).collect()
    }

    fn numbered(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|number| format!("key-{number}")).collect()
    }

    #[test]
    fn a_batch_is_the_same_until_acknowledged_even_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        for number in 0..6 {
            spool.push(&record(number)).unwrap();
        }
        let batch = spool.peek_batch(at(59), 4).unwrap();
        assert_eq!(keys(&batch), numbered(0..4));
        spool.push(&record(6)).unwrap();
        // Unacknowledged (a failed send): the very same records, whatever the size asked now.
        assert_eq!(
            keys(&spool.peek_batch(at(59), 100).unwrap()),
            numbered(0..4)
        );
        drop(spool);
        // A restart while the batch was in flight: the same four records form it again, so its
        // key (derived from them) is the same and the server stores it once.
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(
            keys(&spool.peek_batch(at(59), 100).unwrap()),
            numbered(0..4)
        );
        // A stale acknowledgement changes nothing.
        spool.ack_batch("key-1", 4, 0).unwrap();
        spool.ack_batch("key-0", 4, 0).unwrap();
        assert_eq!(
            keys(&spool.peek_batch(at(59), 100).unwrap()),
            numbered(4..7)
        );
        // Part of a batch (the first record, sent alone): the rest stays the batch in flight,
        // also after a restart.
        spool.ack_batch("key-4", 1, 1).unwrap();
        assert_eq!(spool.dropped(), 1, "a refused record is counted");
        spool.push(&record(7)).unwrap();
        drop(spool);
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(
            keys(&spool.peek_batch(at(59), 100).unwrap()),
            numbered(5..7)
        );
        spool.ack_batch("key-5", 2, 0).unwrap();
        assert_eq!(
            keys(&spool.peek_batch(at(59), 100).unwrap()),
            numbered(7..8)
        );
        spool.ack_batch("key-7", 1, 0).unwrap();
        assert_eq!(spool.peek_batch(at(59), 100).unwrap(), []);
        assert_eq!(spool.pending_bytes(), 0);
        drop(spool);
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(spool.peek_batch(at(59), 100).unwrap(), [], "nothing resent");
    }

    #[test]
    fn batches_cross_segments_in_order_and_delivered_segments_go() {
        let dir = tempfile::tempdir().unwrap();
        // 4 KiB segments (an eighth of the limit): the records span several of them.
        let mut spool = Spool::open(dir.path(), limits(32 * 1024)).unwrap();
        for number in 0..200 {
            spool.push(&record(number)).unwrap();
        }
        let segments = |dir: &Path| {
            std::fs::read_dir(dir)
                .unwrap()
                .filter(|entry| {
                    entry.as_ref().is_ok_and(|entry| {
                        entry
                            .file_name()
                            .to_string_lossy()
                            .starts_with(SEGMENT_PREFIX)
                    })
                })
                .count()
        };
        let before = segments(dir.path());
        assert!(before > 3, "{before} segments");
        let mut delivered = Vec::new();
        loop {
            let batch = spool.peek_batch(at(59), 30).unwrap();
            let Some(first) = batch.first() else { break };
            assert!(batch.len() <= 30);
            spool.ack_batch(&first.key.clone(), batch.len(), 0).unwrap();
            delivered.extend(keys(&batch));
        }
        assert_eq!(delivered, numbered(0..200));
        assert_eq!(spool.pending_bytes(), 0);
        assert_eq!(spool.dropped(), 0);
        assert!(segments(dir.path()) <= 1, "delivered segments are deleted");
        drop(spool);
        let mut spool = Spool::open(dir.path(), limits(32 * 1024)).unwrap();
        assert_eq!(spool.peek_batch(at(59), 30).unwrap(), []);
    }

    #[test]
    fn memory_spool_batches_too() {
        let mut spool = Spool::in_memory(limits(1 << 20));
        for number in 0..5 {
            spool.push(&record(number)).unwrap();
        }
        assert_eq!(keys(&spool.peek_batch(at(59), 3).unwrap()), numbered(0..3));
        spool.ack_batch("key-0", 3, 0).unwrap();
        assert_eq!(keys(&spool.peek_batch(at(59), 3).unwrap()), numbered(3..5));
        spool.ack_batch("key-3", 2, 0).unwrap();
        assert_eq!(spool.peek_batch(at(59), 3).unwrap(), []);
        assert_eq!(spool.pending_bytes(), 0);
    }

    #[test]
    fn a_record_larger_than_the_limit_is_refused() {
        let mut spool = Spool::in_memory(limits(10));
        assert!(matches!(
            spool.push(&record(1)),
            Err(SpoolError::TooLarge { .. })
        ));
        assert_eq!(spool.dropped(), 1);
    }
}
