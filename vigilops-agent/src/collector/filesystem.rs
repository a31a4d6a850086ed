//! Filesystem usage: `/` for the original `disk_*` fields, and every real mounted filesystem for
//! `disk_partitions` with inode counts (our extension). Mounts come from `/proc/self/mounts`,
//! usage from `statvfs(2)`.

use std::collections::HashSet;
use std::path::Path;

use vigilops_core::protocol::agent::DiskPartition;

use super::{CollectorError, read_text, round_to};

/// Filesystem types that never hold user data, or that are always full or layered on top of
/// another filesystem (squashfs images, overlay roots of containers), and network filesystems,
/// whose `statvfs` can hang when the server is gone.
const SKIPPED_FSTYPES: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "cifs",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "fuse.snapfuse",
    "fuse.sshfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nfs",
    "nfs4",
    "nfsd",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "smb3",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// `nodev` filesystems that still hold real data.
const REAL_NODEV_FSTYPES: &[&str] = &["zfs"];

/// One line of `/proc/self/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Device or source, e.g. `/dev/vda`.
    pub device: String,
    /// Where it is mounted.
    pub mountpoint: String,
    /// Filesystem type, e.g. `ext4`.
    pub fstype: String,
}

/// Usage numbers of one filesystem, from `statvfs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilesystemUsage {
    /// Size in bytes.
    pub total_bytes: u64,
    /// Bytes in use (total − free).
    pub used_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
    /// Inodes in all; 0 where the filesystem has no fixed inode table (btrfs).
    pub inodes_total: u64,
    /// Free inodes.
    pub inodes_free: u64,
}

/// A mounted filesystem with its usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesystemReading {
    /// The mount.
    pub mount: MountEntry,
    /// Its usage.
    pub usage: FilesystemUsage,
}

/// What the filesystem collector read in one sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilesystemsReading {
    /// Usage of `/`, for the original `disk_*` fields.
    pub root: Option<FilesystemUsage>,
    /// Every real filesystem, in mount order.
    pub partitions: Vec<FilesystemReading>,
}

/// Reads the mounts of `<proc_root>/self/mounts`, keeps the real ones, and asks each for its usage.
/// A filesystem whose `statvfs` fails is logged and left out. `/` is always measured, even when it
/// is a filtered type such as a container's overlay.
pub fn read(proc_root: &Path) -> Result<FilesystemsReading, CollectorError> {
    let mounts = parse_mounts(&read_text(&proc_root.join("self/mounts"))?);
    // Without /proc/filesystems the fixed list of skipped types still applies.
    let nodev = read_text(&proc_root.join("filesystems"))
        .map(|text| parse_nodev_fstypes(&text))
        .unwrap_or_default();
    let mut reading = FilesystemsReading::default();
    for mount in real_filesystems(mounts, &nodev) {
        match statvfs(Path::new(&mount.mountpoint)) {
            Ok(usage) => reading.partitions.push(FilesystemReading { mount, usage }),
            Err(error) => {
                tracing::debug!(%error, mountpoint = %mount.mountpoint, "filesystem skipped");
            }
        }
    }
    reading.root = match reading
        .partitions
        .iter()
        .find(|partition| partition.mount.mountpoint == "/")
    {
        Some(partition) => Some(partition.usage),
        None => Some(statvfs(Path::new("/"))?),
    };
    Ok(reading)
}

/// Usage of the filesystem holding `path`.
pub fn statvfs(path: &Path) -> Result<FilesystemUsage, CollectorError> {
    let stat = rustix::fs::statvfs(path).map_err(|error| CollectorError::Io {
        path: path.display().to_string(),
        source: error.into(),
    })?;
    let block = stat.f_frsize.max(1);
    Ok(FilesystemUsage {
        total_bytes: stat.f_blocks.saturating_mul(block),
        used_bytes: stat
            .f_blocks
            .saturating_sub(stat.f_bfree)
            .saturating_mul(block),
        available_bytes: stat.f_bavail.saturating_mul(block),
        inodes_total: stat.f_files,
        inodes_free: stat.f_ffree,
    })
}

/// Decodes the octal escapes (`\040` for a space) the kernel writes in mount table fields.
fn unescape_mount_field(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\'
            && let Some(octal) = bytes.get(index + 1..index + 4)
            && octal.iter().all(|digit| (b'0'..=b'7').contains(digit))
        {
            let value = octal
                .iter()
                .fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                decoded.push(byte);
                index += 4;
                continue;
            }
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Parses `/proc/self/mounts`; malformed lines are skipped.
pub fn parse_mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            Some(MountEntry {
                device: unescape_mount_field(fields.next()?),
                mountpoint: unescape_mount_field(fields.next()?),
                fstype: fields.next()?.to_owned(),
            })
        })
        .collect()
}

/// The types marked `nodev` in `/proc/filesystems` (not backed by a block device).
pub fn parse_nodev_fstypes(text: &str) -> HashSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("nodev"))
        .map(|fstype| fstype.trim().to_owned())
        .collect()
}

/// Keeps the mounts of real filesystems: not pseudo, not squashfs or overlay, not network, not
/// `nodev` (except ZFS), and each device once (bind mounts and btrfs subvolumes repeat a device,
/// and the first mount of it is kept).
pub fn real_filesystems(mounts: Vec<MountEntry>, nodev: &HashSet<String>) -> Vec<MountEntry> {
    let mut seen_devices = HashSet::new();
    mounts
        .into_iter()
        .filter(|mount| {
            let fstype = mount.fstype.as_str();
            !SKIPPED_FSTYPES.contains(&fstype)
                && (!nodev.contains(fstype) || REAL_NODEV_FSTYPES.contains(&fstype))
        })
        .filter(|mount| seen_devices.insert(mount.device.clone()))
        .collect()
}

const MIB: u64 = 1024 * 1024;

/// Percent used as `df` and the original agent compute it: used / (used + available), 1 dp.
pub fn used_percent(usage: &FilesystemUsage) -> f64 {
    let usable = usage.used_bytes.saturating_add(usage.available_bytes);
    if usable == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)] // A ratio; the precision lost is far below 0.1 %.
    round_to(usage.used_bytes as f64 / usable as f64 * 100.0, 1)
}

/// Bytes to whole MiB, the unit of the `*_mb` fields.
pub fn megabytes(bytes: u64) -> i64 {
    i64::try_from(bytes / MIB).unwrap_or(i64::MAX)
}

/// The wire form of one filesystem, with inode counts where the filesystem has an inode table.
pub fn to_partition(reading: &FilesystemReading) -> DiskPartition {
    let usage = &reading.usage;
    let inodes_used = usage.inodes_total.saturating_sub(usage.inodes_free);
    let has_inodes = usage.inodes_total > 0;
    #[allow(clippy::cast_precision_loss)] // A ratio; the precision lost is far below 0.1 %.
    let inodes_percent = round_to(inodes_used as f64 / usage.inodes_total as f64 * 100.0, 1);
    DiskPartition {
        mountpoint: Some(reading.mount.mountpoint.clone()),
        device: Some(reading.mount.device.clone()),
        fstype: Some(reading.mount.fstype.clone()),
        total_mb: Some(megabytes(usage.total_bytes)),
        used_mb: Some(megabytes(usage.used_bytes)),
        percent: Some(used_percent(usage)),
        inodes_total: has_inodes.then(|| i64::try_from(usage.inodes_total).unwrap_or(i64::MAX)),
        inodes_used: has_inodes.then(|| i64::try_from(inodes_used).unwrap_or(i64::MAX)),
        inodes_percent: has_inodes.then_some(inodes_percent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "\
proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw 0 0
overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0
/dev/loop3 /snap/core/1 squashfs ro 0 0
/dev/vdb1 /srv/my\\040data xfs rw 0 0
/dev/vda /etc/hosts ext4 rw 0 0
tank/home /home zfs rw 0 0
server:/export /mnt/nfs nfs4 rw 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
/dev/vdc /mnt/cd iso9660 ro 0 0
weird
";

    const FILESYSTEMS: &str = "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\n\text4\n\txfs\nnodev\tzfs\n\tsquashfs\nnodev\toverlay\nnodev\tnfs4\n\tiso9660\n";

    #[test]
    fn keeps_real_filesystems_once_per_device() {
        let kept = real_filesystems(parse_mounts(MOUNTS), &parse_nodev_fstypes(FILESYSTEMS));
        let mountpoints: Vec<&str> = kept.iter().map(|m| m.mountpoint.as_str()).collect();
        assert_eq!(mountpoints, ["/", "/srv/my data", "/home", "/mnt/cd"]);
    }

    #[test]
    fn without_proc_filesystems_the_fixed_list_still_applies() {
        let kept = real_filesystems(parse_mounts(MOUNTS), &HashSet::new());
        let fstypes: Vec<&str> = kept.iter().map(|m| m.fstype.as_str()).collect();
        assert_eq!(fstypes, ["ext4", "xfs", "zfs", "iso9660"]);
    }

    #[test]
    fn partition_fields_and_rounding() {
        let reading = FilesystemReading {
            mount: MountEntry {
                device: "/dev/vda".into(),
                mountpoint: "/".into(),
                fstype: "ext4".into(),
            },
            usage: FilesystemUsage {
                total_bytes: 100 * MIB,
                used_bytes: 30 * MIB,
                // 5 MiB reserved for root: the percent is of what users can have.
                available_bytes: 65 * MIB,
                inodes_total: 3000,
                inodes_free: 2000,
            },
        };
        assert_eq!(
            to_partition(&reading),
            DiskPartition {
                mountpoint: Some("/".into()),
                device: Some("/dev/vda".into()),
                fstype: Some("ext4".into()),
                total_mb: Some(100),
                used_mb: Some(30),
                percent: Some(31.6),
                inodes_total: Some(3000),
                inodes_used: Some(1000),
                inodes_percent: Some(33.3),
            }
        );
    }

    #[test]
    fn filesystems_without_inode_tables_report_no_inodes() {
        let reading = FilesystemReading {
            mount: MountEntry {
                device: "/dev/sdb".into(),
                mountpoint: "/data".into(),
                fstype: "btrfs".into(),
            },
            usage: FilesystemUsage::default(),
        };
        let partition = to_partition(&reading);
        assert_eq!(partition.percent, Some(0.0));
        assert_eq!(partition.inodes_total, None);
        assert_eq!(partition.inodes_percent, None);
        let json = serde_json::to_value(&partition).unwrap();
        assert!(json.get("inodes_total").is_none(), "{json}");
    }

    #[test]
    fn statvfs_of_a_real_directory() {
        let usage = statvfs(Path::new("/")).unwrap();
        assert!(usage.total_bytes > 0);
        assert!(usage.used_bytes <= usage.total_bytes);
        assert!(statvfs(Path::new("/no/such/dir")).is_err());
    }
}
