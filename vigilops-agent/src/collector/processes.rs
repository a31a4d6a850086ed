//! The host's busiest processes, from `/proc/<pid>/stat`: CPU share over the last interval (from
//! the difference between two readings of each process's CPU time, so nothing blocks to measure)
//! and resident memory, as the top N by each.
//!
//! A process is identified by its pid *and* start time, so a pid reused by a new process between
//! two readings starts from zero instead of inheriting (or going below) the old one's time.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use vigilops_core::protocol::agent::{TopProcess, TopProcesses};

use super::{CollectorError, round_to};

/// How many processes each top list holds.
pub const TOP_PROCESSES: usize = 5;

/// What `/proc/<pid>/stat` says about one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Command name (`comm`, at most 15 bytes).
    pub name: String,
    /// User + system time in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot in clock ticks (with the pid, the process identity).
    pub start_ticks: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

/// Every readable process at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessesReading {
    /// When it was read (monotonic).
    pub at: Instant,
    /// By pid.
    pub processes: HashMap<u32, ProcStat>,
    /// Clock ticks per second (`CLK_TCK`).
    pub ticks_per_second: u64,
    /// Bytes per page.
    pub page_size: u64,
}

/// Parses one `/proc/<pid>/stat` line. The name may hold spaces and parentheses, so the fields
/// are counted after the last `)`.
pub fn parse_pid_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let (head, rest) = text.rsplit_once(')')?;
    let name = head.get(open + 1..)?.to_owned();
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15, starttime 22, rss 24.
    let number = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    Some(ProcStat {
        name,
        cpu_ticks: number(14)?.saturating_add(number(15)?),
        start_ticks: number(22)?,
        rss_pages: number(24)?,
    })
}

/// Reads every `<proc_root>/<pid>/stat`; processes that exit meanwhile are skipped.
pub fn read(proc_root: &Path) -> Result<ProcessesReading, CollectorError> {
    let at = Instant::now();
    let entries = std::fs::read_dir(proc_root).map_err(|source| CollectorError::Io {
        path: proc_root.display().to_string(),
        source,
    })?;
    let processes: HashMap<u32, ProcStat> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            Some((pid, parse_pid_stat(&text)?))
        })
        .collect();
    if processes.is_empty() {
        return Err(CollectorError::Unavailable(
            "no readable process under /proc",
        ));
    }
    Ok(ProcessesReading {
        at,
        processes,
        ticks_per_second: rustix::param::clock_ticks_per_second().max(1),
        page_size: u64::try_from(rustix::param::page_size()).unwrap_or(4096),
    })
}

/// The top `count` processes by CPU over the time since `previous` and by resident memory. CPU is
/// in percent of one CPU (a process busy on two cores reads 200), 0 for a process without an
/// earlier reading (new, or a reused pid) and without elapsed time. Ties keep the lower pid first.
pub fn top(
    previous: Option<&ProcessesReading>,
    current: &ProcessesReading,
    count: usize,
) -> TopProcesses {
    let seconds = previous
        .and_then(|previous| current.at.checked_duration_since(previous.at))
        .map_or(0.0, |elapsed| elapsed.as_secs_f64());
    let mut all: Vec<TopProcess> = current
        .processes
        .iter()
        .map(|(pid, now)| {
            let earlier = previous
                .and_then(|previous| previous.processes.get(pid))
                .filter(|before| before.start_ticks == now.start_ticks);
            let cpu_percent = match earlier {
                Some(before) if seconds > 0.0 => {
                    let ticks = now.cpu_ticks.saturating_sub(before.cpu_ticks);
                    #[allow(clippy::cast_precision_loss)] // Tick counts stay far below 2^52.
                    let busy = ticks as f64 / current.ticks_per_second as f64;
                    round_to(busy / seconds * 100.0, 1)
                }
                _ => 0.0,
            };
            #[allow(clippy::cast_precision_loss)] // Memory sizes stay far below 2^52 bytes.
            let rss_mb = round_to(
                now.rss_pages.saturating_mul(current.page_size) as f64 / (1024.0 * 1024.0),
                1,
            );
            TopProcess {
                pid: i64::from(*pid),
                name: now.name.clone(),
                cpu_percent,
                rss_mb,
            }
        })
        .collect();
    all.sort_by_key(|process| process.pid);
    let mut by_cpu = all.clone();
    by_cpu.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
    by_cpu.truncate(count);
    let mut by_memory = all;
    by_memory.sort_by(|a, b| b.rss_mb.total_cmp(&a.rss_mb));
    by_memory.truncate(count);
    TopProcesses { by_cpu, by_memory }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Recorded from `/proc/<pid>/stat` (kernel 6.x); the second has a name with spaces and `)`.
    const POSTGRES: &str = "812 (postgres) S 1 812 812 0 -1 4194560 12029 0 0 0 150 50 0 0 20 0 1 0 2311 229466112 6400 18446744073709551615 1 1 0 0 0 0 0 4096 16903 0 0 0 17 1 0 0 0 0 0\n";
    const ODD: &str = "77 (my (odd) app) R 1 77 77 0 -1 4194560 0 0 0 0 10 0 0 0 20 0 4 0 500 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";

    #[test]
    fn parses_stat_lines() {
        assert_eq!(
            parse_pid_stat(POSTGRES),
            Some(ProcStat {
                name: "postgres".into(),
                cpu_ticks: 200,
                start_ticks: 2311,
                rss_pages: 6400,
            })
        );
        let odd = parse_pid_stat(ODD).unwrap();
        assert_eq!(odd.name, "my (odd) app");
        assert_eq!(
            (odd.cpu_ticks, odd.start_ticks, odd.rss_pages),
            (10, 500, 100)
        );
        assert_eq!(parse_pid_stat("1 (init) S 0 1"), None);
        assert_eq!(parse_pid_stat(""), None);
    }

    fn reading(at: Instant, processes: &[(u32, &str, u64, u64, u64)]) -> ProcessesReading {
        ProcessesReading {
            at,
            processes: processes
                .iter()
                .map(|(pid, name, cpu_ticks, start_ticks, rss_pages)| {
                    (
                        *pid,
                        ProcStat {
                            name: (*name).to_owned(),
                            cpu_ticks: *cpu_ticks,
                            start_ticks: *start_ticks,
                            rss_pages: *rss_pages,
                        },
                    )
                })
                .collect(),
            ticks_per_second: 100,
            page_size: 4096,
        }
    }

    #[test]
    fn tops_by_cpu_delta_and_by_memory() {
        let start = Instant::now();
        let before = reading(
            start,
            &[
                (1, "init", 50, 1, 256),
                (10, "busy", 1000, 100, 2560),
                (20, "fat", 0, 200, 25_600),
                (30, "reused", 5000, 300, 256),
            ],
        );
        let after = reading(
            start + Duration::from_secs(10),
            &[
                (1, "init", 60, 1, 256),
                // 1500 ticks in 10 s at 100 Hz: 1.5 CPUs busy.
                (10, "busy", 2500, 100, 2560),
                (20, "fat", 0, 200, 25_600),
                // Pid 30 is a new process now (other start time): no inherited time.
                (30, "reused", 10, 900, 256),
                (40, "new", 400, 950, 512),
            ],
        );
        let top = top(Some(&before), &after, 3);
        let by_cpu: Vec<(&str, f64)> = top
            .by_cpu
            .iter()
            .map(|process| (process.name.as_str(), process.cpu_percent))
            .collect();
        assert_eq!(by_cpu, [("busy", 150.0), ("init", 1.0), ("fat", 0.0)]);
        let by_memory: Vec<(i64, f64)> = top
            .by_memory
            .iter()
            .map(|process| (process.pid, process.rss_mb))
            .collect();
        assert_eq!(by_memory, [(20, 100.0), (10, 10.0), (40, 2.0)]);
        // No earlier reading: memory ranks, CPU is 0 for all.
        let first = super::top(None, &after, 2);
        assert!(
            first
                .by_cpu
                .iter()
                .all(|process| process.cpu_percent == 0.0)
        );
        assert_eq!(first.by_memory[0].pid, 20);
    }

    #[test]
    fn reads_this_machine() {
        let reading = read(Path::new("/proc")).expect("processes");
        let own = reading
            .processes
            .get(&std::process::id())
            .expect("this process");
        assert!(own.rss_pages > 0);
        let top = top(None, &reading, TOP_PROCESSES);
        assert!(top.by_memory.len() <= TOP_PROCESSES && !top.by_memory.is_empty());
    }
}
