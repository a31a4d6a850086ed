//! Memory and swap usage, through `sysinfo` (which reads `/proc/meminfo` on Linux).

use super::{CollectorError, round_to};

/// Memory and swap at one instant, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryReading {
    /// Physical memory.
    pub total_bytes: u64,
    /// Memory in use: total − available, so page cache that can be reclaimed does not count.
    pub used_bytes: u64,
    /// Swap space.
    pub swap_total_bytes: u64,
    /// Swap in use.
    pub swap_used_bytes: u64,
}

/// Reads memory and swap, reusing `system` between samples.
pub fn read(system: &mut sysinfo::System) -> Result<MemoryReading, CollectorError> {
    system.refresh_memory();
    let reading = MemoryReading {
        total_bytes: system.total_memory(),
        used_bytes: system.used_memory(),
        swap_total_bytes: system.total_swap(),
        swap_used_bytes: system.used_swap(),
    };
    if reading.total_bytes == 0 {
        return Err(CollectorError::Unavailable("total memory reads as 0"));
    }
    Ok(reading)
}

/// Total memory in whole MiB read right now, for registration; `None` when unreadable.
pub fn total_megabytes_now() -> Option<i64> {
    let mut system = sysinfo::System::new().ok()?;
    read(&mut system)
        .ok()
        .map(|reading| total_megabytes(&reading))
}

/// Used memory in whole MiB.
pub fn used_megabytes(reading: &MemoryReading) -> i64 {
    i64::try_from(reading.used_bytes / (1024 * 1024)).unwrap_or(i64::MAX)
}

/// Total memory in whole MiB, as sent at registration.
pub fn total_megabytes(reading: &MemoryReading) -> i64 {
    i64::try_from(reading.total_bytes / (1024 * 1024)).unwrap_or(i64::MAX)
}

/// Used memory in percent of total (1 dp).
pub fn used_percent(reading: &MemoryReading) -> f64 {
    percent(reading.used_bytes, reading.total_bytes)
}

/// Used swap in percent of total (1 dp); 0 without swap.
pub fn swap_percent(reading: &MemoryReading) -> f64 {
    percent(reading.swap_used_bytes, reading.swap_total_bytes)
}

fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)] // A ratio; the precision lost is far below 0.1 %.
    round_to((used as f64 / total as f64 * 100.0).clamp(0.0, 100.0), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn conversions() {
        let reading = MemoryReading {
            total_bytes: 8 * GIB,
            used_bytes: GIB + GIB / 3,
            swap_total_bytes: 0,
            swap_used_bytes: 0,
        };
        assert_eq!(used_megabytes(&reading), 1365);
        assert_eq!(total_megabytes(&reading), 8192);
        assert_eq!(used_percent(&reading), 16.7);
        assert_eq!(swap_percent(&reading), 0.0);
    }

    #[test]
    fn reads_this_machine() {
        let mut system = sysinfo::System::new().unwrap();
        let reading = read(&mut system).unwrap();
        assert!(reading.total_bytes > 0);
        assert!(reading.used_bytes <= reading.total_bytes);
    }
}
