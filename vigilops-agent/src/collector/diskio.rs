//! Disk I/O rates from `/proc/diskstats`: cumulative per-device counters read each sample, with
//! read/write bytes and operations per second computed from the difference between two readings
//! (so a sample never blocks to measure), per physical disk only.
//!
//! Only whole physical disks count: partitions would count their disk's traffic twice, and loop,
//! RAM, zram, device-mapper, md RAID, optical, floppy and network block devices are not disks (or,
//! for dm/md, sit on top of disks already counted). When `/sys/block` is readable, a device must
//! also be listed there, which leaves out partitions of any naming scheme.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use vigilops_core::protocol::agent::DiskIo;

use super::{CollectorError, read_text, round_to};

/// `/proc/diskstats` counts sectors of 512 bytes whatever the device's real sector size.
const SECTOR_BYTES: u64 = 512;

/// Device name prefixes that are never physical disks.
const VIRTUAL_PREFIXES: [&str; 8] = ["loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd"];

/// The cumulative counters of one device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskCounters {
    /// Reads completed.
    pub reads: u64,
    /// Sectors read.
    pub sectors_read: u64,
    /// Writes completed.
    pub writes: u64,
    /// Sectors written.
    pub sectors_written: u64,
}

/// All physical disks at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskIoReading {
    /// When the counters were read (monotonic).
    pub at: Instant,
    /// Counters by device name.
    pub devices: BTreeMap<String, DiskCounters>,
}

/// Reads `<proc_root>/diskstats`, keeping the physical disks (checked against `/sys/block` when
/// the root is the real `/proc`).
pub fn read(proc_root: &Path) -> Result<DiskIoReading, CollectorError> {
    let at = Instant::now();
    let path = proc_root.join("diskstats");
    let text = read_text(&path)?;
    let listed = if proc_root == Path::new("/proc") {
        std::fs::read_dir("/sys/block").ok().map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().into_string().ok())
                .collect::<BTreeSet<String>>()
        })
    } else {
        None
    };
    Ok(DiskIoReading {
        at,
        devices: parse_diskstats(&text, listed.as_ref()),
    })
}

/// Whether `name` looks like a partition: `sda1`, `vdb2`, `xvda1`, `nvme0n1p1`, `mmcblk0p1`.
fn is_partition(name: &str) -> bool {
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() == name.len() {
        return false;
    }
    if ["sd", "hd", "vd", "xvd"]
        .iter()
        .any(|prefix| trimmed.starts_with(prefix))
        && trimmed
            .bytes()
            .skip(1)
            .all(|byte| byte.is_ascii_lowercase())
    {
        return true;
    }
    // nvme0n1p1, mmcblk0p1: the whole disk name ends in a digit, the partition adds `p<N>`.
    trimmed.ends_with('p')
        && trimmed[..trimmed.len() - 1]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_digit())
}

/// Whether `name` is a whole physical disk; `listed` is the content of `/sys/block` when known.
pub fn is_physical_disk(name: &str, listed: Option<&BTreeSet<String>>) -> bool {
    if VIRTUAL_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        return false;
    }
    match listed {
        Some(listed) => listed.contains(name),
        None => !is_partition(name),
    }
}

/// Parses `/proc/diskstats`, keeping physical disks; malformed lines are skipped.
pub fn parse_diskstats(
    text: &str,
    listed: Option<&BTreeSet<String>>,
) -> BTreeMap<String, DiskCounters> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            // major minor name, then at least the 11 classic counters.
            if fields.len() < 14 {
                return None;
            }
            let name = fields[2];
            if !is_physical_disk(name, listed) {
                return None;
            }
            let number = |index: usize| fields[index].parse::<u64>().ok();
            Some((
                name.to_owned(),
                DiskCounters {
                    reads: number(3)?,
                    sectors_read: number(5)?,
                    writes: number(7)?,
                    sectors_written: number(9)?,
                },
            ))
        })
        .collect()
}

/// Rates of each device in `current` over the time since `previous`: a device absent from
/// `previous`, a counter that went backwards (reset or wrap) or no elapsed time gives 0, never a
/// negative or inflated rate. Values are rounded to 1 dp.
pub fn rates(previous: Option<&DiskIoReading>, current: &DiskIoReading) -> Vec<DiskIo> {
    let seconds = previous
        .and_then(|previous| current.at.checked_duration_since(previous.at))
        .map_or(0.0, |elapsed| elapsed.as_secs_f64());
    current
        .devices
        .iter()
        .map(|(device, now)| {
            let before = previous.and_then(|previous| previous.devices.get(device));
            let rate = |pick: fn(&DiskCounters) -> u64, scale: u64| match before {
                Some(before) if seconds > 0.0 => {
                    let delta = pick(now).saturating_sub(pick(before)).saturating_mul(scale);
                    #[allow(clippy::cast_precision_loss)]
                    // Per-interval counts stay far below 2^52.
                    round_to(delta as f64 / seconds, 1)
                }
                _ => 0.0,
            };
            DiskIo {
                device: device.clone(),
                read_bytes_per_sec: rate(|c| c.sectors_read, SECTOR_BYTES),
                write_bytes_per_sec: rate(|c| c.sectors_written, SECTOR_BYTES),
                read_ops_per_sec: rate(|c| c.reads, 1),
                write_ops_per_sec: rate(|c| c.writes, 1),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Recorded from a VM (trimmed to the columns of kernel 5.5+ and an older 14-column line).
    const DISKSTATS: &str = "\
   7       0 loop0 12 0 100 0 0 0 0 0 0 4 0 0 0 0 0 0 0
 254       0 vda 169562 11355 11615890 618872 112122 152570 58574344 386368 0 60996 1015912 24463 49 2683464 8286 25605 2385
 254       1 vda1 169000 11000 11600000 618000 112000 152000 58500000 386000 0 60000 1015000 0 0 0 0 0 0
 259       0 nvme0n1 500 0 4000 10 600 0 9000 20 0 30 30
 259       1 nvme0n1p1 400 0 3000 10 500 0 8000 20 0 30 30
 253       0 zram0 10 0 80 0 10 0 80 0 0 0 0 0 0 0 0 0 0
 253       1 dm-0 10 0 80 0 10 0 80 0 0 0 0 0 0 0 0 0 0
   8      16 sdb 1 0 8 0 1 0 8 0 0 0 0
   8      17 sdb1 1 0 8 0 1 0 8 0 0 0 0
 179       0 mmcblk0 1 0 8 0 1 0 8 0 0 0 0
 179       1 mmcblk0p1 1 0 8 0 1 0 8 0 0 0 0
 bad line
";

    #[test]
    fn keeps_whole_physical_disks_only() {
        let devices = parse_diskstats(DISKSTATS, None);
        let names: Vec<&str> = devices.keys().map(String::as_str).collect();
        assert_eq!(names, ["mmcblk0", "nvme0n1", "sdb", "vda"]);
        assert_eq!(
            devices["vda"],
            DiskCounters {
                reads: 169_562,
                sectors_read: 11_615_890,
                writes: 112_122,
                sectors_written: 58_574_344,
            }
        );
        // With /sys/block known, only the devices listed there count.
        let listed: BTreeSet<String> = ["vda", "loop0"].map(str::to_owned).into();
        let names: Vec<String> = parse_diskstats(DISKSTATS, Some(&listed))
            .into_keys()
            .collect();
        assert_eq!(names, ["vda"]);
    }

    #[test]
    fn rates_are_per_second_and_never_negative() {
        let start = Instant::now();
        let reading = |at: Instant, reads, sectors_read, writes, sectors_written| DiskIoReading {
            at,
            devices: [(
                "vda".to_owned(),
                DiskCounters {
                    reads,
                    sectors_read,
                    writes,
                    sectors_written,
                },
            )]
            .into(),
        };
        let before = reading(start, 100, 1000, 50, 2000);
        let after = reading(start + Duration::from_secs(10), 150, 3000, 60, 2000);
        let io = rates(Some(&before), &after);
        assert_eq!(
            io,
            vec![DiskIo {
                device: "vda".into(),
                read_bytes_per_sec: 102_400.0,
                write_bytes_per_sec: 0.0,
                read_ops_per_sec: 5.0,
                write_ops_per_sec: 1.0,
            }]
        );
        // A counter reset (device re-attached) is no traffic, not a negative rate.
        let reset = reading(start + Duration::from_secs(20), 3, 24, 1, 8);
        let io = rates(Some(&after), &reset);
        assert_eq!(io[0].read_bytes_per_sec, 0.0);
        assert_eq!(io[0].write_ops_per_sec, 0.0);
        // No earlier reading: zeros, as for the first network sample.
        assert_eq!(rates(None, &after)[0].read_ops_per_sec, 0.0);
        // A device that appeared since the earlier reading also reads 0.
        let mut grown = after;
        grown.devices.insert(
            "vdb".into(),
            DiskCounters {
                reads: 9,
                ..DiskCounters::default()
            },
        );
        let io = rates(Some(&before), &grown);
        assert_eq!(io[1].device, "vdb");
        assert_eq!(io[1].read_ops_per_sec, 0.0);
    }

    #[test]
    fn reads_this_machine() {
        // Every machine this runs on has /proc/diskstats; a container may list no disk.
        let reading = read(Path::new("/proc")).expect("diskstats");
        assert!(reading.devices.keys().all(|name| !name.starts_with("loop")));
    }
}
