//! Pure parsers for `/proc/net/tcp{,6}` and `/proc/<pid>/fd` socket links, and the blocking
//! readers that apply them to a `/proc` tree.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// The TCP states discovery cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TcpState {
    /// `01`.
    Established,
    /// `0A`.
    Listen,
    /// Anything else (TIME_WAIT, CLOSE_WAIT…).
    Other(u8),
}

impl TcpState {
    fn from_code(code: u8) -> Self {
        match code {
            0x01 => Self::Established,
            0x0A => Self::Listen,
            other => Self::Other(other),
        }
    }
}

/// One row of a `/proc/net/tcp{,6}` table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SocketEntry {
    /// Local address and port.
    pub local: SocketAddr,
    /// Remote address and port (`0.0.0.0:0` for a listener).
    pub remote: SocketAddr,
    /// Connection state.
    pub state: TcpState,
    /// The socket inode, matched against `/proc/<pid>/fd` links.
    pub inode: u64,
}

/// Parses `ADDRHEX:PORTHEX` as the kernel prints it: the address as 32-bit words in host byte
/// order (one for IPv4, four for IPv6), the port in big-endian hex.
pub fn parse_address(text: &str, ipv6: bool) -> Option<SocketAddr> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |index: usize| -> Option<[u8; 4]> {
        let hex = address.get(index * 8..index * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = if ipv6 {
        if address.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for index in 0..4 {
            bytes[index * 4..index * 4 + 4].copy_from_slice(&word(index)?);
        }
        let v6 = Ipv6Addr::from(bytes);
        // Show IPv4-mapped addresses as IPv4, so both tables compare equal.
        v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
    } else {
        if address.len() != 8 {
            return None;
        }
        IpAddr::V4(Ipv4Addr::from(word(0)?))
    };
    Some(SocketAddr::new(ip, port))
}

/// Parses a whole `/proc/net/tcp` (or `tcp6` with `ipv6`) table; malformed rows are skipped.
pub fn parse_tcp_table(text: &str, ipv6: bool) -> Vec<SocketEntry> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some(SocketEntry {
                local: parse_address(fields.get(1)?, ipv6)?,
                remote: parse_address(fields.get(2)?, ipv6)?,
                state: TcpState::from_code(u8::from_str_radix(fields.get(3)?, 16).ok()?),
                inode: fields.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// The inode of a `socket:[12345]` fd link.
pub fn parse_socket_link(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Maps each wanted socket inode to a process holding it, by reading `<proc_root>/<pid>/fd`.
/// Processes whose fds cannot be read (another user's, or gone meanwhile) are skipped.
pub fn socket_owners(proc_root: &Path, wanted: &HashSet<u64>) -> HashMap<u64, u32> {
    let mut owners = HashMap::new();
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return owners;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if let Some(inode) = link.to_str().and_then(parse_socket_link)
                && wanted.contains(&inode)
            {
                owners.entry(inode).or_insert(pid);
            }
        }
    }
    owners
}

/// `<proc_root>/<pid>/comm` without its newline.
pub fn process_name(proc_root: &Path, pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(proc_root.join(pid.to_string()).join("comm")).ok()?;
    let name = text.trim_end_matches('\n').trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded on x86-64 (little-endian), as every fixture in this module.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   108        0 23456 1 0000000000000000 100 0 0 10 0
   1: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   112        0 23457 1 0000000000000000 100 0 0 10 0
   2: 0100007F:A028 0100007F:1538 01 00000000:00000000 00:00000000 00000000  1000        0 99001 1 0000000000000000 20 4 30 10 -1
   3: 0500000A:0016 0900000A:D431 06 00000000:00000000 03:00000AE6 00000000     0        0 0 3 0000000000000000
   garbage line
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1538 0000000000000000FFFF00000100007F:A02A 01 00000000:00000000 00:00000000 00000000   108        0 31339 1 0000000000000000 20 4 30 10 -1
";

    #[cfg(target_endian = "little")]
    #[test]
    fn ipv4_table() {
        let entries = parse_tcp_table(TCP, false);
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].local, "0.0.0.0:5432".parse().unwrap());
        assert_eq!(entries[0].state, TcpState::Listen);
        assert_eq!(entries[0].inode, 23456);
        assert_eq!(entries[1].local, "127.0.0.1:6379".parse().unwrap());
        assert_eq!(entries[2].state, TcpState::Established);
        assert_eq!(entries[2].local, "127.0.0.1:41000".parse().unwrap());
        assert_eq!(entries[2].remote, "127.0.0.1:5432".parse().unwrap());
        assert_eq!(entries[3].local, "10.0.0.5:22".parse().unwrap());
        assert_eq!(entries[3].state, TcpState::Other(6));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn ipv6_table() {
        let entries = parse_tcp_table(TCP6, true);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].local, "[::]:8080".parse().unwrap());
        assert_eq!(entries[1].local, "[::1]:631".parse().unwrap());
        // IPv4-mapped addresses read as IPv4.
        assert_eq!(entries[2].local, "127.0.0.1:5432".parse().unwrap());
        assert_eq!(entries[2].state, TcpState::Established);
    }

    #[test]
    fn bad_addresses_are_rejected() {
        assert_eq!(parse_address("0100007F", false), None);
        assert_eq!(parse_address("0100007:1538", false), None);
        assert_eq!(parse_address("0100007F:XYZ", false), None);
        assert_eq!(parse_address("0100007F:1538", true), None);
    }

    #[test]
    fn socket_links() {
        assert_eq!(parse_socket_link("socket:[23456]"), Some(23456));
        assert_eq!(parse_socket_link("pipe:[23456]"), None);
        assert_eq!(parse_socket_link("/dev/null"), None);
        assert_eq!(parse_socket_link("socket:[x]"), None);
    }
}
