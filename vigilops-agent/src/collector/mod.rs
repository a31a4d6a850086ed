//! Host metric collection: one module per collector, each turning the system's state into a plain
//! reading, and one pure function, [`to_report`], turning readings into the wire sample.
//!
//! A collector that fails is logged and skipped: its fields are absent from that sample, and the
//! other collectors still report. Rates (CPU, network, the agent's own CPU) are computed from the
//! difference between the current reading and the previous successful one, so no sample blocks to
//! measure.

pub mod agent_process;
pub mod cpu;
pub mod diskio;
pub mod filesystem;
pub mod load;
pub mod memory;
pub mod network;
pub mod processes;
pub mod uptime;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vigilops_core::clock::Clock;
use vigilops_core::protocol::agent::MetricsReport;

use self::agent_process::ProcessReading;
use self::cpu::CpuTimes;
use self::diskio::DiskIoReading;
use self::filesystem::FilesystemsReading;
use self::load::LoadAverage;
use self::memory::MemoryReading;
use self::network::NetworkReading;
use self::processes::ProcessesReading;

/// Why one collector produced no reading this time.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// A file under `/proc` (or a `statvfs` call) failed.
    #[error("failed to read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file was read but did not have the expected shape.
    #[error("failed to parse `{path}`: {reason}")]
    Parse { path: String, reason: String },
    /// `sysinfo` could not answer.
    #[error("sysinfo failed: {0}")]
    Sysinfo(String),
    /// The platform gave no usable value.
    #[error("{0}")]
    Unavailable(&'static str),
}

pub(crate) fn read_text(path: &Path) -> Result<String, CollectorError> {
    std::fs::read_to_string(path).map_err(|source| CollectorError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Rounds half away from zero to `decimals` places, the precision the protocol asks for.
pub fn round_to(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

/// Everything read in one collection; a collector that failed left its field `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// CPU time counters.
    pub cpu: Option<CpuTimes>,
    /// Load averages.
    pub load: Option<LoadAverage>,
    /// Memory and swap.
    pub memory: Option<MemoryReading>,
    /// `/` and the real filesystems.
    pub filesystems: Option<FilesystemsReading>,
    /// Interface counters.
    pub network: Option<NetworkReading>,
    /// The agent's own process.
    pub agent: Option<ProcessReading>,
    /// Per-core CPU time counters.
    pub cores: Option<Vec<CpuTimes>>,
    /// Block device counters.
    pub disks: Option<DiskIoReading>,
    /// Every process's CPU time and memory.
    pub processes: Option<ProcessesReading>,
    /// Seconds since boot.
    pub uptime_seconds: Option<u64>,
}

/// The last successful reading of each collector whose fields are rates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    /// Previous CPU counters.
    pub cpu: Option<CpuTimes>,
    /// Previous interface counters.
    pub network: Option<NetworkReading>,
    /// Previous reading of the agent's own process.
    pub agent: Option<ProcessReading>,
    /// Previous per-core counters.
    pub cores: Option<Vec<CpuTimes>>,
    /// Previous block device counters.
    pub disks: Option<DiskIoReading>,
    /// Previous process readings.
    pub processes: Option<ProcessesReading>,
}

impl Baseline {
    /// Moves the baseline forward to every reading `sample` has.
    pub fn advance(&mut self, sample: &Sample) {
        if let Some(cpu) = sample.cpu {
            self.cpu = Some(cpu);
        }
        if let Some(network) = &sample.network {
            self.network = Some(network.clone());
        }
        if let Some(agent) = sample.agent {
            self.agent = Some(agent);
        }
        if let Some(cores) = &sample.cores {
            self.cores = Some(cores.clone());
        }
        if let Some(disks) = &sample.disks {
            self.disks = Some(disks.clone());
        }
        if let Some(processes) = &sample.processes {
            self.processes = Some(processes.clone());
        }
    }
}

/// Turns one sample into the metrics report, with rates over the time since `baseline`.
/// Fields of collectors that failed are absent; with no baseline the CPU field is absent and
/// network rates are 0, as the protocol asks for a first sample.
pub fn to_report(
    baseline: &Baseline,
    sample: &Sample,
    host_id: i64,
    timestamp: DateTime<Utc>,
) -> MetricsReport {
    let mut report = MetricsReport {
        host_id,
        timestamp: Some(timestamp),
        ..MetricsReport::default()
    };
    if let (Some(previous), Some(current)) = (&baseline.cpu, &sample.cpu) {
        report.cpu_percent = cpu::percent(previous, current).map(|value| round_to(value, 1));
    }
    if let Some(load) = &sample.load {
        let [one, five, fifteen] = load::rounded(load);
        report.cpu_load_1 = Some(one);
        report.cpu_load_5 = Some(five);
        report.cpu_load_15 = Some(fifteen);
    }
    if let Some(memory) = &sample.memory {
        report.memory_used_mb = Some(memory::used_megabytes(memory));
        report.memory_percent = Some(memory::used_percent(memory));
        let megabytes = |bytes: u64| i64::try_from(bytes / (1024 * 1024)).unwrap_or(i64::MAX);
        report.swap_total_mb = Some(megabytes(memory.swap_total_bytes));
        report.swap_used_mb = Some(megabytes(memory.swap_used_bytes));
        report.swap_percent = Some(memory::swap_percent(memory));
    }
    if let Some(filesystems) = &sample.filesystems {
        if let Some(root) = &filesystems.root {
            report.disk_used_mb = Some(filesystem::megabytes(root.used_bytes));
            report.disk_total_mb = Some(filesystem::megabytes(root.total_bytes));
            report.disk_percent = Some(filesystem::used_percent(root));
        }
        report.disk_partitions = Some(
            filesystems
                .partitions
                .iter()
                .map(filesystem::to_partition)
                .collect(),
        );
    }
    if let Some(current) = &sample.network {
        let summary = network::summarize(baseline.network.as_ref(), current);
        report.net_bytes_sent = Some(i64::try_from(summary.bytes_sent).unwrap_or(i64::MAX));
        report.net_bytes_recv = Some(i64::try_from(summary.bytes_recv).unwrap_or(i64::MAX));
        report.net_send_rate_kb = Some(summary.send_rate_kb);
        report.net_recv_rate_kb = Some(summary.recv_rate_kb);
        report.net_packet_loss_rate = Some(summary.packet_loss_percent);
    }
    if let Some(agent) = &sample.agent {
        report.agent_cpu_percent = agent_process::cpu_percent(baseline.agent.as_ref(), agent);
        report.agent_memory_rss_mb = Some(agent_process::rss_megabytes(agent));
        report.agent_thread_count = Some(i64::try_from(agent.threads).unwrap_or(i64::MAX));
        report.agent_open_files = Some(i64::try_from(agent.open_files).unwrap_or(i64::MAX));
        report.agent_uptime_seconds =
            Some(i64::try_from(agent.uptime.as_secs()).unwrap_or(i64::MAX));
    }
    if let Some(cores) = &sample.cores {
        report.cpu_per_core = Some(cpu::per_core_percent(
            baseline.cores.as_deref().unwrap_or_default(),
            cores,
        ));
    }
    if let Some(disks) = &sample.disks {
        report.disk_io = Some(diskio::rates(baseline.disks.as_ref(), disks));
    }
    if let Some(current) = &sample.processes {
        report.top_processes = Some(processes::top(
            baseline.processes.as_ref(),
            current,
            processes::TOP_PROCESSES,
        ));
    }
    report.uptime_seconds = sample
        .uptime_seconds
        .map(|seconds| i64::try_from(seconds).unwrap_or(i64::MAX));
    report
}

/// Logs a failed collector once per failure and turns the result into an option.
fn skip_on_error<T>(collector: &'static str, result: Result<T, CollectorError>) -> Option<T> {
    match result {
        Ok(reading) => Some(reading),
        Err(error) => {
            tracing::warn!(collector, %error, "collector failed; its fields are left out of this sample");
            None
        }
    }
}

/// The stateful side of collection: where to read from, and the baseline for rates.
#[derive(Debug)]
pub struct HostCollector {
    proc_root: PathBuf,
    started: Instant,
    system: Option<sysinfo::System>,
    baseline: Baseline,
}

impl HostCollector {
    /// A collector reading the real `/proc`; `started` is when the agent started. It takes a first
    /// reading right away so that the first report already has CPU usage and rates.
    pub fn new(started: Instant) -> Self {
        Self::with_proc_root(PathBuf::from("/proc"), started)
    }

    /// A collector reading `proc_root` instead of `/proc` (tests point it at a fake tree).
    pub fn with_proc_root(proc_root: PathBuf, started: Instant) -> Self {
        let system = skip_on_error(
            "memory",
            sysinfo::System::new().map_err(|error| CollectorError::Sysinfo(error.to_string())),
        );
        let mut collector = Self {
            proc_root,
            started,
            system,
            baseline: Baseline::default(),
        };
        let first = collector.read_rate_sources();
        collector.baseline.advance(&first);
        collector
    }

    fn read_rate_sources(&self) -> Sample {
        Sample {
            cpu: skip_on_error("cpu", cpu::read(&self.proc_root)),
            network: skip_on_error("network", network::read(&self.proc_root)),
            agent: skip_on_error("agent", agent_process::read(&self.proc_root, self.started)),
            cores: skip_on_error("cpu_per_core", cpu::read_cores(&self.proc_root)),
            disks: skip_on_error("disk_io", diskio::read(&self.proc_root)),
            processes: skip_on_error("top_processes", processes::read(&self.proc_root)),
            ..Sample::default()
        }
    }

    /// Reads every collector once. Blocking (it reads files and calls `statvfs`), so async callers
    /// run it on a blocking thread.
    pub fn read(&mut self) -> Sample {
        let mut sample = self.read_rate_sources();
        sample.load = skip_on_error("load", load::read());
        sample.memory = match &mut self.system {
            Some(system) => skip_on_error("memory", memory::read(system)),
            None => None,
        };
        sample.filesystems = skip_on_error("filesystem", filesystem::read(&self.proc_root));
        sample.uptime_seconds = skip_on_error("uptime", uptime::read(&self.proc_root));
        sample
    }

    /// Reads every collector and returns the report, then moves the baseline forward.
    pub fn collect(&mut self, host_id: i64, timestamp: DateTime<Utc>) -> MetricsReport {
        let sample = self.read();
        let report = to_report(&self.baseline, &sample, host_id, timestamp);
        self.baseline.advance(&sample);
        report
    }

    /// The logical CPU count from the last CPU reading, if any.
    pub fn logical_cpus(&self) -> Option<usize> {
        self.baseline
            .cpu
            .map(|cpu| cpu.logical_cpus)
            .filter(|count| *count > 0)
    }
}

/// One full collection as `vigilops-agent collect` prints it: a first reading, `window` of waiting
/// (so CPU usage and rates cover a real interval), then the report (with `host_id` 0).
pub async fn collect_once(clock: &dyn Clock, window: Duration) -> MetricsReport {
    let started = Instant::now();
    let collector = tokio::task::spawn_blocking(move || HostCollector::new(started)).await;
    let Ok(mut collector) = collector else {
        return to_report(&Baseline::default(), &Sample::default(), 0, clock.now());
    };
    tokio::time::sleep(window).await;
    let timestamp = clock.now();
    tokio::task::spawn_blocking(move || collector.collect(0, timestamp))
        .await
        .unwrap_or_else(|_| to_report(&Baseline::default(), &Sample::default(), 0, timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::filesystem::{FilesystemReading, FilesystemUsage, MountEntry};
    use crate::collector::network::InterfaceCounters;
    use chrono::TimeZone;

    fn timestamp() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 21, 10, 0, 0).unwrap()
    }

    #[test]
    fn rounding() {
        assert_eq!(round_to(99.45, 1), 99.5);
        assert_eq!(round_to(1.23456, 2), 1.23);
        assert_eq!(round_to(0.000_049, 4), 0.0);
        assert_eq!(round_to(0.000_051, 4), 0.0001);
    }

    #[test]
    fn an_empty_sample_still_makes_a_valid_report() {
        let report = to_report(&Baseline::default(), &Sample::default(), 7, timestamp());
        assert_eq!(
            report,
            MetricsReport {
                host_id: 7,
                timestamp: Some(timestamp()),
                ..MetricsReport::default()
            }
        );
    }

    #[test]
    fn a_full_sample_fills_every_field() {
        let start = Instant::now();
        let interface = |rx: u64, tx: u64| InterfaceCounters {
            rx_bytes: rx,
            rx_packets: rx / 100,
            rx_drop: 0,
            tx_bytes: tx,
            tx_packets: tx / 100,
            tx_drop: 0,
        };
        let network = |at: Instant, rx, tx| NetworkReading {
            at,
            interfaces: [("eth0".to_owned(), interface(rx, tx))].into(),
        };
        let agent = |at: Instant, cpu_ms| ProcessReading {
            at,
            cpu_time: Duration::from_millis(cpu_ms),
            rss_bytes: 5 * 1024 * 1024,
            threads: 4,
            open_files: 9,
            uptime: at - start,
        };
        let core = |busy, idle| CpuTimes {
            busy,
            idle,
            logical_cpus: 1,
        };
        let disks = |at: Instant, reads: u64| DiskIoReading {
            at,
            devices: [(
                "vda".to_owned(),
                diskio::DiskCounters {
                    reads,
                    sectors_read: reads * 8,
                    ..diskio::DiskCounters::default()
                },
            )]
            .into(),
        };
        let procs = |at: Instant, cpu_ticks: u64| ProcessesReading {
            at,
            processes: [(
                42,
                processes::ProcStat {
                    name: "postgres".into(),
                    cpu_ticks,
                    start_ticks: 7,
                    rss_pages: 256,
                },
            )]
            .into(),
            ticks_per_second: 100,
            page_size: 4096,
        };
        let later = start + Duration::from_secs(15);
        let baseline = Baseline {
            cpu: Some(CpuTimes {
                busy: 1000,
                idle: 1000,
                logical_cpus: 4,
            }),
            network: Some(network(start, 0, 0)),
            agent: Some(agent(start, 0)),
            cores: Some(vec![core(100, 100), core(100, 100)]),
            disks: Some(disks(start, 0)),
            processes: Some(procs(start, 0)),
        };
        let sample = Sample {
            cpu: Some(CpuTimes {
                busy: 1333,
                idle: 1667,
                logical_cpus: 4,
            }),
            load: Some(LoadAverage {
                one: 0.504,
                five: 0.25,
                fifteen: 0.1,
            }),
            memory: Some(MemoryReading {
                total_bytes: 4096 * 1024 * 1024,
                used_bytes: 1024 * 1024 * 1024,
                swap_total_bytes: 2048 * 1024 * 1024,
                swap_used_bytes: 512 * 1024 * 1024,
            }),
            filesystems: Some(FilesystemsReading {
                root: Some(FilesystemUsage {
                    total_bytes: 10 << 30,
                    used_bytes: 5 << 30,
                    available_bytes: 5 << 30,
                    inodes_total: 10,
                    inodes_free: 5,
                }),
                partitions: vec![FilesystemReading {
                    mount: MountEntry {
                        device: "/dev/vda".into(),
                        mountpoint: "/".into(),
                        fstype: "ext4".into(),
                    },
                    usage: FilesystemUsage::default(),
                }],
            }),
            network: Some(network(later, 15 * 1024 * 10, 15 * 1024)),
            agent: Some(agent(later, 150)),
            cores: Some(vec![core(175, 125), core(100, 200)]),
            disks: Some(disks(later, 30)),
            processes: Some(procs(later, 300)),
            uptime_seconds: Some(86_400),
        };
        let report = to_report(&baseline, &sample, 3, timestamp());
        assert_eq!(report.cpu_percent, Some(33.3));
        assert_eq!(
            (report.cpu_load_1, report.cpu_load_5, report.cpu_load_15),
            (Some(0.5), Some(0.25), Some(0.1))
        );
        assert_eq!(report.memory_used_mb, Some(1024));
        assert_eq!(report.memory_percent, Some(25.0));
        assert_eq!(
            (
                report.swap_total_mb,
                report.swap_used_mb,
                report.swap_percent
            ),
            (Some(2048), Some(512), Some(25.0))
        );
        assert_eq!(report.disk_total_mb, Some(10 * 1024));
        assert_eq!(report.disk_used_mb, Some(5 * 1024));
        assert_eq!(report.disk_percent, Some(50.0));
        assert_eq!(report.disk_partitions.as_ref().map(Vec::len), Some(1));
        assert_eq!(report.net_recv_rate_kb, Some(10.0));
        assert_eq!(report.net_send_rate_kb, Some(1.0));
        assert_eq!(report.net_bytes_recv, Some(153_600));
        assert_eq!(report.net_packet_loss_rate, Some(0.0));
        assert_eq!(report.agent_cpu_percent, Some(1.0));
        assert_eq!(report.agent_memory_rss_mb, Some(5.0));
        assert_eq!(report.agent_thread_count, Some(4));
        assert_eq!(report.agent_open_files, Some(9));
        assert_eq!(report.agent_uptime_seconds, Some(15));
        assert_eq!(report.cpu_per_core, Some(vec![75.0, 0.0]));
        assert_eq!(report.uptime_seconds, Some(86_400));
        let io = report.disk_io.clone().unwrap_or_default();
        assert_eq!(io.len(), 1);
        assert_eq!(
            (io[0].read_ops_per_sec, io[0].read_bytes_per_sec),
            (2.0, 8192.0)
        );
        let top = report.top_processes.clone().unwrap_or_default();
        assert_eq!(top.by_cpu[0].name, "postgres");
        assert_eq!(top.by_cpu[0].cpu_percent, 20.0);
        assert_eq!(top.by_memory[0].rss_mb, 1.0);
        // The extension fields are on the wire under their documented names.
        let wire = serde_json::to_value(&report).unwrap_or_default();
        for field in ["cpu_per_core", "uptime_seconds", "disk_io", "top_processes"] {
            assert!(wire.get(field).is_some(), "{field}");
        }

        let mut advanced = baseline;
        advanced.advance(&sample);
        assert_eq!(advanced.cpu, sample.cpu);
        // A failed reading keeps the older baseline rather than erasing it.
        advanced.advance(&Sample::default());
        assert_eq!(advanced.cpu, sample.cpu);
    }

    #[test]
    fn failing_collectors_are_skipped_not_fatal() {
        // An empty directory as /proc: the /proc collectors fail, sysinfo ones still answer.
        let fake_proc = tempfile::tempdir().unwrap();
        let mut collector =
            HostCollector::with_proc_root(fake_proc.path().to_owned(), Instant::now());
        let report = collector.collect(1, timestamp());
        assert_eq!(report.host_id, 1);
        assert_eq!(report.cpu_percent, None);
        assert_eq!(report.net_bytes_sent, None);
        assert_eq!(report.agent_thread_count, None);
        assert_eq!(report.disk_partitions, None);
        assert_eq!(report.disk_io, None);
        assert_eq!(report.top_processes, None);
        assert_eq!(report.cpu_per_core, None);
        assert_eq!(report.uptime_seconds, None);
        assert!(report.memory_used_mb.is_some());
    }

    #[tokio::test]
    async fn collect_once_gives_a_full_report() {
        let report = collect_once(
            &vigilops_core::clock::SystemClock,
            Duration::from_millis(50),
        )
        .await;
        assert_eq!(report.host_id, 0);
        assert!(report.cpu_percent.is_some());
        assert!(report.timestamp.is_some());
    }

    #[test]
    fn collects_this_machine() {
        let mut collector = HostCollector::new(Instant::now());
        let report = collector.collect(1, timestamp());
        let cpu = report.cpu_percent.expect("cpu");
        assert!((0.0..=100.0).contains(&cpu));
        assert!(report.memory_used_mb.unwrap() > 0);
        assert!(report.disk_total_mb.unwrap() > 0);
        assert!(report.net_bytes_recv.is_some());
        assert!(report.agent_memory_rss_mb.unwrap() > 0.0);
        assert!(collector.logical_cpus().unwrap() >= 1);
        let cores = report.cpu_per_core.expect("cpu_per_core");
        assert_eq!(cores.len(), collector.logical_cpus().unwrap());
        assert!(cores.iter().all(|value| (0.0..=100.0).contains(value)));
        assert!(report.uptime_seconds.unwrap() > 0);
        assert!(report.disk_io.is_some());
        let top = report.top_processes.expect("top_processes");
        assert!(!top.by_memory.is_empty() && top.by_memory.len() <= processes::TOP_PROCESSES);
    }
}
