//! What both backends share about the metric columns (the value fields by name, in wire
//! order), and the check that the backend file pairs written as "encodings, then shared
//! statements" really share their statements.

use crate::model::MetricValues;

/// The metric value columns by name, in wire order.
pub(crate) const METRIC_COLUMNS: [&str; 14] = [
    "cpu_percent",
    "cpu_load_1",
    "cpu_load_5",
    "cpu_load_15",
    "memory_used_mb",
    "memory_percent",
    "disk_used_mb",
    "disk_total_mb",
    "disk_percent",
    "net_bytes_sent",
    "net_bytes_recv",
    "net_send_rate_kb",
    "net_recv_rate_kb",
    "net_packet_loss_rate",
];

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

/// `($1, …, $n), ($n+1, …), …`: the VALUES of a multi-row insert of `rows` rows of `per_row`
/// parameters each.
pub(crate) fn values_placeholders(rows: usize, per_row: usize) -> String {
    (0..rows)
        .map(|row| {
            let params = (1..=per_row)
                .map(|column| format!("${}", row * per_row + column))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({params})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The part of a backend file after its value encodings: everything below the
/// `// ---- Shared with …` line.
#[cfg(test)]
pub(crate) fn shared_part(source: &str) -> &str {
    let Some(marker) = source.find("// ---- Shared with") else {
        return "";
    };
    let after = &source[marker..];
    after.find('\n').map_or("", |line_end| &after[line_end..])
}

#[cfg(test)]
mod tests {
    use super::shared_part;

    #[test]
    fn both_backends_run_the_same_statements() {
        for (name, sqlite, postgres) in [
            (
                "services.rs",
                include_str!("sqlite/services.rs"),
                include_str!("postgres/services.rs"),
            ),
            (
                "logs.rs",
                include_str!("sqlite/logs.rs"),
                include_str!("postgres/logs.rs"),
            ),
            (
                "retention.rs",
                include_str!("sqlite/retention.rs"),
                include_str!("postgres/retention.rs"),
            ),
            (
                "sla.rs",
                include_str!("sqlite/sla.rs"),
                include_str!("postgres/sla.rs"),
            ),
            (
                "service_rollup.rs",
                include_str!("sqlite/service_rollup.rs"),
                include_str!("postgres/service_rollup.rs"),
            ),
            (
                "report.rs",
                include_str!("sqlite/report.rs"),
                include_str!("postgres/report.rs"),
            ),
            (
                "rollup.rs",
                include_str!("sqlite/rollup.rs"),
                include_str!("postgres/rollup.rs"),
            ),
            (
                "alert_engine.rs",
                include_str!("sqlite/alert_engine.rs"),
                include_str!("postgres/alert_engine.rs"),
            ),
            (
                "topology.rs",
                include_str!("sqlite/topology.rs"),
                include_str!("postgres/topology.rs"),
            ),
        ] {
            assert!(shared_part(sqlite).len() > 400, "{name}: no shared part");
            assert_eq!(
                shared_part(sqlite),
                shared_part(postgres),
                "sqlite/{name} and postgres/{name} differ below their encodings"
            );
        }
    }
}
