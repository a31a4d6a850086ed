//! The agent's own footprint, from `/proc/self`: CPU share, resident memory, threads, open file
//! descriptors and uptime (the 0.2.x `agent_*` fields).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{CollectorError, read_text, round_to};

/// One reading of the agent process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessReading {
    /// When it was read (monotonic).
    pub at: Instant,
    /// User + system CPU time consumed so far.
    pub cpu_time: Duration,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
    /// Number of threads.
    pub threads: u64,
    /// Number of open file descriptors.
    pub open_files: u64,
    /// Time since the agent started.
    pub uptime: Duration,
}

/// Reads `<proc_root>/self/{stat,status,fd}`; `started` is when the agent started.
pub fn read(proc_root: &Path, started: Instant) -> Result<ProcessReading, CollectorError> {
    let at = Instant::now();
    let stat_path = proc_root.join("self/stat");
    let ticks = parse_cpu_ticks(&read_text(&stat_path)?).ok_or_else(|| CollectorError::Parse {
        path: stat_path.display().to_string(),
        reason: "no utime/stime fields".to_owned(),
    })?;
    let status_path = proc_root.join("self/status");
    let status = parse_status(&read_text(&status_path)?);
    let fd_path = proc_root.join("self/fd");
    let open_files = std::fs::read_dir(&fd_path)
        .map_err(|source| CollectorError::Io {
            path: fd_path.display().to_string(),
            source,
        })?
        .count();
    let ticks_per_second = rustix::param::clock_ticks_per_second().max(1);
    #[allow(clippy::cast_precision_loss)] // Tick counts stay far below 2^52.
    let cpu_time = Duration::from_secs_f64(ticks as f64 / ticks_per_second as f64);
    Ok(ProcessReading {
        at,
        cpu_time,
        rss_bytes: status.rss_kb.saturating_mul(1024),
        threads: status.threads,
        open_files: u64::try_from(open_files).unwrap_or(u64::MAX),
        uptime: at.saturating_duration_since(started),
    })
}

/// `utime + stime` in clock ticks from `/proc/self/stat`. The command name in parentheses may
/// contain spaces, so fields are counted after the last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(3) … utime is field 14 and stime field 15 of the whole line.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The fields of `/proc/self/status` the agent reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusFields {
    /// `VmRSS` in kB.
    pub rss_kb: u64,
    /// `Threads`.
    pub threads: u64,
}

/// Parses `VmRSS` and `Threads` out of `/proc/self/status`; missing ones are 0.
pub fn parse_status(status: &str) -> StatusFields {
    let mut fields = StatusFields::default();
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = || {
            value
                .split_ascii_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
        };
        match key {
            "VmRSS" => fields.rss_kb = number().unwrap_or(0),
            "Threads" => fields.threads = number().unwrap_or(0),
            _ => {}
        }
    }
    fields
}

/// The agent's CPU use in percent of one core since `previous` (1 dp); `None` without a previous
/// reading or when no time passed.
pub fn cpu_percent(previous: Option<&ProcessReading>, current: &ProcessReading) -> Option<f64> {
    let previous = previous?;
    let wall = current
        .at
        .checked_duration_since(previous.at)?
        .as_secs_f64();
    if wall <= 0.0 {
        return None;
    }
    let cpu = current
        .cpu_time
        .saturating_sub(previous.cpu_time)
        .as_secs_f64();
    Some(round_to(cpu / wall * 100.0, 1))
}

/// Resident memory in MiB (2 dp), as the 0.2.x agent reports it.
pub fn rss_megabytes(reading: &ProcessReading) -> f64 {
    #[allow(clippy::cast_precision_loss)] // An RSS is far below 2^52 bytes.
    round_to(reading.rss_bytes as f64 / (1024.0 * 1024.0), 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let stat =
            "4242 (vigil ops) S 1 4242 4242 0 -1 4194560 300 0 0 0 25 17 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(42));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn parses_status() {
        let status = "Name:\tvigilops-agent\nVmRSS:\t    1936 kB\nThreads:\t3\n";
        assert_eq!(
            parse_status(status),
            StatusFields {
                rss_kb: 1936,
                threads: 3
            }
        );
        assert_eq!(parse_status(""), StatusFields::default());
    }

    #[test]
    fn cpu_percent_over_the_interval() {
        let start = Instant::now();
        let at = |seconds: u64, cpu_ms: u64| ProcessReading {
            at: start + Duration::from_secs(seconds),
            cpu_time: Duration::from_millis(cpu_ms),
            rss_bytes: 3 * 1024 * 1024 + 512 * 1024,
            threads: 2,
            open_files: 5,
            uptime: Duration::from_secs(seconds),
        };
        assert_eq!(cpu_percent(None, &at(10, 0)), None);
        assert_eq!(cpu_percent(Some(&at(0, 100)), &at(10, 150)), Some(0.5));
        assert_eq!(cpu_percent(Some(&at(0, 0)), &at(0, 0)), None);
        assert_eq!(rss_megabytes(&at(0, 0)), 3.5);
    }

    #[test]
    fn reads_the_real_process() {
        let started = Instant::now();
        let reading = read(Path::new("/proc"), started).unwrap();
        assert!(reading.rss_bytes > 0);
        assert!(reading.threads >= 1);
        assert!(reading.open_files >= 3);
    }
}
