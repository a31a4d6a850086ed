//! Network traffic from `/proc/net/dev`: cumulative byte counters, and send/receive rates and the
//! packet loss ratio over the last interval, computed per interface so that a counter reset or an
//! interface coming and going never yields a negative or inflated rate.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use super::{CollectorError, read_text, round_to};

/// The counters of one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InterfaceCounters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Received packets dropped.
    pub rx_drop: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Outgoing packets dropped.
    pub tx_drop: u64,
}

/// All interfaces at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkReading {
    /// When the counters were read (monotonic).
    pub at: Instant,
    /// Counters by interface name.
    pub interfaces: BTreeMap<String, InterfaceCounters>,
}

/// What one sample reports about the network.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NetworkSummary {
    /// Bytes sent since boot, summed over all interfaces.
    pub bytes_sent: u64,
    /// Bytes received since boot, summed over all interfaces.
    pub bytes_recv: u64,
    /// KB/s sent since the previous reading (2 dp).
    pub send_rate_kb: f64,
    /// KB/s received since the previous reading (2 dp).
    pub recv_rate_kb: f64,
    /// Dropped packets in percent of all packets since the previous reading (4 dp).
    pub packet_loss_percent: f64,
}

/// Reads `<proc_root>/net/dev`.
pub fn read(proc_root: &Path) -> Result<NetworkReading, CollectorError> {
    let at = Instant::now();
    let path = proc_root.join("net/dev");
    let interfaces = parse_proc_net_dev(&read_text(&path)?);
    if interfaces.is_empty() {
        return Err(CollectorError::Parse {
            path: path.display().to_string(),
            reason: "no interfaces listed".to_owned(),
        });
    }
    Ok(NetworkReading { at, interfaces })
}

/// Parses the text of `/proc/net/dev`; malformed lines are skipped.
pub fn parse_proc_net_dev(text: &str) -> BTreeMap<String, InterfaceCounters> {
    text.lines()
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let values: Vec<u64> = counters
                .split_ascii_whitespace()
                .map(|field| field.parse().ok())
                .collect::<Option<_>>()?;
            if values.len() < 12 {
                return None;
            }
            Some((
                name.trim().to_owned(),
                InterfaceCounters {
                    rx_bytes: values[0],
                    rx_packets: values[1],
                    rx_drop: values[3],
                    tx_bytes: values[8],
                    tx_packets: values[9],
                    tx_drop: values[11],
                },
            ))
        })
        .collect()
}

/// The increase of a counter; a decrease is a reset (or a wrap) and counts as no traffic.
fn increase(previous: u64, current: u64) -> u64 {
    current.saturating_sub(previous)
}

/// Summarises `current`, with rates over the time since `previous` (all zero without one).
/// Only interfaces present in both readings contribute to the rates.
pub fn summarize(previous: Option<&NetworkReading>, current: &NetworkReading) -> NetworkSummary {
    let mut summary = NetworkSummary {
        bytes_sent: current.interfaces.values().map(|c| c.tx_bytes).sum(),
        bytes_recv: current.interfaces.values().map(|c| c.rx_bytes).sum(),
        ..NetworkSummary::default()
    };
    let Some(previous) = previous else {
        return summary;
    };
    let (mut sent, mut received, mut packets, mut dropped) = (0u64, 0u64, 0u64, 0u64);
    for (name, now) in &current.interfaces {
        let Some(before) = previous.interfaces.get(name) else {
            continue;
        };
        sent += increase(before.tx_bytes, now.tx_bytes);
        received += increase(before.rx_bytes, now.rx_bytes);
        packets += increase(before.rx_packets, now.rx_packets)
            + increase(before.tx_packets, now.tx_packets);
        dropped += increase(before.rx_drop, now.rx_drop) + increase(before.tx_drop, now.tx_drop);
    }
    let seconds = current
        .at
        .checked_duration_since(previous.at)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or(0.0);
    #[allow(clippy::cast_precision_loss)] // Per-interval counts stay far below 2^52.
    if seconds > 0.0 {
        summary.send_rate_kb = round_to(sent as f64 / 1024.0 / seconds, 2);
        summary.recv_rate_kb = round_to(received as f64 / 1024.0 / seconds, 2);
    }
    #[allow(clippy::cast_precision_loss)]
    if packets + dropped > 0 {
        summary.packet_loss_percent =
            round_to(dropped as f64 / (packets + dropped) as f64 * 100.0, 4);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 3158895   10969    0    0    0     0          0         0  3158895   10969    0    0    0     0       0          0
  eth0: 854793056   21384    0    7    0     0          0         0  1271981   10926    0    3    0     0       0          0
broken: 1 2 3
";

    fn reading(at: Instant, interfaces: &[(&str, InterfaceCounters)]) -> NetworkReading {
        NetworkReading {
            at,
            interfaces: interfaces
                .iter()
                .map(|(name, counters)| ((*name).to_owned(), *counters))
                .collect(),
        }
    }

    fn counters(rx_bytes: u64, tx_bytes: u64, packets: u64, drops: u64) -> InterfaceCounters {
        InterfaceCounters {
            rx_bytes,
            rx_packets: packets,
            rx_drop: drops,
            tx_bytes,
            tx_packets: 0,
            tx_drop: 0,
        }
    }

    #[test]
    fn parses_proc_net_dev() {
        let parsed = parse_proc_net_dev(NET_DEV);
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed["eth0"],
            InterfaceCounters {
                rx_bytes: 854_793_056,
                rx_packets: 21384,
                rx_drop: 7,
                tx_bytes: 1_271_981,
                tx_packets: 10926,
                tx_drop: 3,
            }
        );
    }

    #[test]
    fn first_sample_has_counters_and_zero_rates() {
        let start = Instant::now();
        let current = reading(start, &[("eth0", counters(2048, 1024, 10, 1))]);
        assert_eq!(
            summarize(None, &current),
            NetworkSummary {
                bytes_sent: 1024,
                bytes_recv: 2048,
                ..NetworkSummary::default()
            }
        );
    }

    #[test]
    fn rates_are_per_second_over_the_interval() {
        let start = Instant::now();
        let previous = reading(start, &[("eth0", counters(0, 0, 100, 0))]);
        let current = reading(
            start + Duration::from_secs(2),
            &[("eth0", counters(4096, 1024, 199, 1))],
        );
        let summary = summarize(Some(&previous), &current);
        assert_eq!(summary.recv_rate_kb, 2.0);
        assert_eq!(summary.send_rate_kb, 0.5);
        // 1 drop out of 99 packets + 1 drop in the interval, not since boot.
        assert_eq!(summary.packet_loss_percent, 1.0);
    }

    #[test]
    fn a_counter_reset_reports_zero_not_negative() {
        let start = Instant::now();
        let previous = reading(
            start,
            &[
                ("eth0", counters(10_000, 10_000, 500, 50)),
                ("eth1", counters(0, 0, 0, 0)),
            ],
        );
        let current = reading(
            start + Duration::from_secs(1),
            &[
                ("eth0", counters(100, 50, 5, 0)),
                ("eth1", counters(1024, 0, 0, 0)),
            ],
        );
        let summary = summarize(Some(&previous), &current);
        assert_eq!(summary.recv_rate_kb, 1.0, "eth1 still counts");
        assert_eq!(summary.send_rate_kb, 0.0);
        assert_eq!(summary.packet_loss_percent, 0.0);
        assert_eq!(summary.bytes_recv, 1124);
    }

    #[test]
    fn interfaces_that_appear_do_not_count_their_history_as_traffic() {
        let start = Instant::now();
        let previous = reading(start, &[("eth0", counters(0, 0, 0, 0))]);
        let current = reading(
            start + Duration::from_secs(1),
            &[
                ("eth0", counters(0, 0, 0, 0)),
                ("veth9", counters(1 << 30, 1 << 30, 1000, 1000)),
            ],
        );
        let summary = summarize(Some(&previous), &current);
        assert_eq!((summary.recv_rate_kb, summary.send_rate_kb), (0.0, 0.0));
        assert_eq!(summary.packet_loss_percent, 0.0);
    }

    #[test]
    fn loss_keeps_four_decimals() {
        let start = Instant::now();
        let previous = reading(start, &[("eth0", counters(0, 0, 0, 0))]);
        let current = reading(
            start + Duration::from_secs(1),
            &[("eth0", counters(0, 0, 29_999, 1))],
        );
        let summary = summarize(Some(&previous), &current);
        assert_eq!(summary.packet_loss_percent, 0.0033);
    }
}
