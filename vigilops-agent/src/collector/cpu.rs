//! CPU usage from `/proc/stat`: cumulative time counters read each sample, with the usage computed
//! from the difference between two readings, so a sample never blocks to measure.

use std::path::Path;

use super::{CollectorError, read_text};

/// The aggregate CPU time counters of one `/proc/stat` reading, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time spent doing work: user, nice, system, irq, softirq and steal.
    pub busy: u64,
    /// Time spent idle, including waiting for I/O.
    pub idle: u64,
    /// Number of logical CPUs listed (`cpuN` lines).
    pub logical_cpus: usize,
}

/// Reads `<proc_root>/stat`.
pub fn read(proc_root: &Path) -> Result<CpuTimes, CollectorError> {
    let path = proc_root.join("stat");
    parse_proc_stat(&read_text(&path)?).ok_or_else(|| CollectorError::Parse {
        path: path.display().to_string(),
        reason: "no aggregate `cpu` line".to_owned(),
    })
}

/// Reads the per-CPU counters (`cpuN` lines) of `<proc_root>/stat`, in file order.
pub fn read_cores(proc_root: &Path) -> Result<Vec<CpuTimes>, CollectorError> {
    let path = proc_root.join("stat");
    let cores = parse_per_core(&read_text(&path)?);
    if cores.is_empty() {
        return Err(CollectorError::Parse {
            path: path.display().to_string(),
            reason: "no `cpuN` lines".to_owned(),
        });
    }
    Ok(cores)
}

/// The counters of one `cpu…` line's columns (at least four), or `None`.
fn line_times<'a>(fields: impl Iterator<Item = &'a str>) -> Option<(u64, u64)> {
    let values: Vec<u64> = fields.take(8).map_while(|f| f.parse().ok()).collect();
    if values.len() < 4 {
        return None;
    }
    let value = |index: usize| values.get(index).copied().unwrap_or(0);
    let idle = value(3) + value(4);
    let busy = value(0) + value(1) + value(2) + value(5) + value(6) + value(7);
    Some((busy, idle))
}

/// Parses the `cpuN` lines of `/proc/stat` in file order (each with `logical_cpus` 1);
/// malformed lines are skipped.
pub fn parse_per_core(text: &str) -> Vec<CpuTimes> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let name = fields.next()?;
            let number = name.strip_prefix("cpu")?;
            if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            let (busy, idle) = line_times(fields)?;
            Some(CpuTimes {
                busy,
                idle,
                logical_cpus: 1,
            })
        })
        .collect()
}

/// Busy percent (1 dp) of each core between two readings, matched by position; a core with no
/// earlier reading, or whose counters went backwards, reads 0.
pub fn per_core_percent(previous: &[CpuTimes], current: &[CpuTimes]) -> Vec<f64> {
    current
        .iter()
        .enumerate()
        .map(|(index, now)| {
            previous
                .get(index)
                .and_then(|before| percent(before, now))
                .map_or(0.0, |value| super::round_to(value, 1))
        })
        .collect()
}

/// Parses the text of `/proc/stat`. `guest` and `guest_nice` are left out because the kernel
/// already counts them in `user` and `nice`.
pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let mut times = None;
    let mut logical_cpus = 0;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        match fields.next() {
            Some("cpu") => times = Some(line_times(fields)?),
            Some(name) if name.starts_with("cpu") => logical_cpus += 1,
            _ => {}
        }
    }
    times.map(|(busy, idle)| CpuTimes {
        busy,
        idle,
        logical_cpus,
    })
}

/// CPU usage in percent (0–100) between two readings; `None` when the counters went backwards
/// (which only a CPU going offline can cause) and 0 when no time passed.
pub fn percent(previous: &CpuTimes, current: &CpuTimes) -> Option<f64> {
    let busy = current.busy.checked_sub(previous.busy)?;
    let idle = current.idle.checked_sub(previous.idle)?;
    let total = busy + idle;
    if total == 0 {
        return Some(0.0);
    }
    #[allow(clippy::cast_precision_loss)] // Tick counts stay far below 2^52.
    Some((busy as f64 / total as f64 * 100.0).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  178453 48 31148 89213 2333 0 666 4502 7 0\n\
                        cpu0 86495 33 14827 49078 516 0 59 2180 0 0\n\
                        cpu1 91957 14 16320 40134 1816 0 607 2321 0 0\n\
                        intr 1 2 3\nctxt 5\n";

    #[test]
    fn parses_the_aggregate_line_and_counts_cpus() {
        let times = parse_proc_stat(STAT).unwrap();
        assert_eq!(times.idle, 89213 + 2333);
        assert_eq!(times.busy, 178453 + 48 + 31148 + 666 + 4502);
        assert_eq!(times.logical_cpus, 2);
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        assert_eq!(parse_proc_stat("cpu 1 2\n"), None);
        // Old kernels print only four columns.
        assert_eq!(parse_proc_stat("cpu 1 2 3 4\n").unwrap().busy, 6);
    }

    #[test]
    fn per_core_counters_and_percentages() {
        let cores = parse_per_core(STAT);
        assert_eq!(cores.len(), 2);
        assert_eq!(cores[0].idle, 49078 + 516);
        assert_eq!(cores[1].busy, 91957 + 14 + 16320 + 607 + 2321);
        let later = parse_per_core(
            "cpu  0 0 0 0\ncpu0 86545 33 14827 49128 516 0 59 2180\n\
             cpu1 91957 14 16320 40234 1816 0 607 2321\ncpu2 5 0 0 5\n",
        );
        // cpu0: 50 busy of 100 ticks; cpu1: idle only; cpu2 appeared (no earlier reading).
        assert_eq!(per_core_percent(&cores, &later), vec![50.0, 0.0, 0.0]);
        // Counters going backwards (a core replaced after hotplug) read 0, never negative.
        assert_eq!(per_core_percent(&later, &cores), vec![0.0, 0.0]);
        assert!(parse_per_core("cpu 1 2 3 4\ncpux 1 2 3 4\nintr 1\n").is_empty());
    }

    #[test]
    fn percent_is_the_busy_share_of_the_delta() {
        let at = |busy, idle| CpuTimes {
            busy,
            idle,
            logical_cpus: 2,
        };
        assert_eq!(percent(&at(100, 100), &at(175, 125)), Some(75.0));
        assert_eq!(percent(&at(100, 100), &at(100, 200)), Some(0.0));
        assert_eq!(percent(&at(100, 100), &at(100, 100)), Some(0.0));
        assert_eq!(percent(&at(100, 100), &at(90, 200)), None);
    }
}
