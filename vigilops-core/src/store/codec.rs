//! How both backends encode values that have no native column: the latest-metrics snapshot as a
//! JSON object of its non-null values.

use serde_json::{Map, Value};

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

/// The non-null values as a JSON object.
pub(crate) fn values_to_json(values: &MetricValues) -> Value {
    let mut object = Map::new();
    for (name, value) in metric_fields(values) {
        if let Some(number) = value.and_then(serde_json::Number::from_f64) {
            object.insert(name.to_owned(), Value::Number(number));
        }
    }
    Value::Object(object)
}

/// Reads back what [`values_to_json`] wrote; unknown or non-numeric keys are ignored.
pub(crate) fn values_from_json(json: &Value) -> MetricValues {
    let get = |name: &str| json.get(name).and_then(Value::as_f64);
    MetricValues {
        cpu_percent: get("cpu_percent"),
        cpu_load_1: get("cpu_load_1"),
        cpu_load_5: get("cpu_load_5"),
        cpu_load_15: get("cpu_load_15"),
        memory_used_mb: get("memory_used_mb"),
        memory_percent: get("memory_percent"),
        disk_used_mb: get("disk_used_mb"),
        disk_total_mb: get("disk_total_mb"),
        disk_percent: get("disk_percent"),
        net_bytes_sent: get("net_bytes_sent"),
        net_bytes_recv: get("net_bytes_recv"),
        net_send_rate_kb: get("net_send_rate_kb"),
        net_recv_rate_kb: get("net_recv_rate_kb"),
        net_packet_loss_rate: get("net_packet_loss_rate"),
    }
}

/// For each host in `samples`, the index of its newest sample (the last one on ties).
pub(crate) fn newest_per_host(samples: &[crate::model::MetricSample]) -> Vec<usize> {
    let mut newest: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for (index, sample) in samples.iter().enumerate() {
        newest
            .entry(sample.host_id)
            .and_modify(|best| {
                if samples[*best].recorded_at <= sample.recorded_at {
                    *best = index;
                }
            })
            .or_insert(index);
    }
    let mut indexes: Vec<usize> = newest.into_values().collect();
    indexes.sort_unstable();
    indexes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_json_round_trips_and_skips_nulls() {
        let values = MetricValues {
            cpu_percent: Some(12.5),
            disk_total_mb: Some(258_019.0),
            ..MetricValues::default()
        };
        let json = values_to_json(&values);
        assert_eq!(json.as_object().map(Map::len), Some(2));
        assert_eq!(values_from_json(&json), values);
    }
}
