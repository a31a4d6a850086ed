//! What both backends share about the metric columns: the value fields by name, in wire order.

use crate::model::MetricValues;

/// The metric value fields by name, in wire order.
pub(crate) fn metric_fields(values: &MetricValues) -> [(&'static str, Option<f64>); 14] {
    [
        ("cpu_percent", values.cpu_percent),
        ("cpu_load_1", values.cpu_load_1),
        ("cpu_load_5", values.cpu_load_5),
        ("cpu_load_15", values.cpu_load_15),
        ("memory_used_mb", values.memory_used_mb),
        ("memory_percent", values.memory_percent),
        ("disk_used_mb", values.disk_used_mb),
        ("disk_total_mb", values.disk_total_mb),
        ("disk_percent", values.disk_percent),
        ("net_bytes_sent", values.net_bytes_sent),
        ("net_bytes_recv", values.net_bytes_recv),
        ("net_send_rate_kb", values.net_send_rate_kb),
        ("net_recv_rate_kb", values.net_recv_rate_kb),
        ("net_packet_loss_rate", values.net_packet_loss_rate),
    ]
}
