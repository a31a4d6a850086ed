//! `vigilops hosts list|show|metrics`: monitored hosts and their metrics.

use serde_json::Value;
use vigilops_core::client::HostQuery;
use vigilops_core::protocol::rest::{HostView, LatestMetricsView, MetricPointView};

use super::{Context, explain};
use crate::args::{HostIdArgs, HostMetricsArgs, HostsCommand, HostsListArgs, OutputFormat};
use crate::output::{self, Cell, Table};

/// Runs one `hosts` subcommand.
pub(super) async fn run(context: &Context, command: &HostsCommand) -> anyhow::Result<()> {
    match command {
        HostsCommand::List(args) => list(context, args).await,
        HostsCommand::Show(args) => show(context, args).await,
        HostsCommand::Metrics(args) => metrics(context, args).await,
    }
}

async fn list(context: &Context, args: &HostsListArgs) -> anyhow::Result<()> {
    let query = HostQuery {
        status: args.status.clone(),
        search: args.search.clone(),
        group_name: None,
        page: Some(args.page),
        page_size: Some(args.page_size),
    };
    let page = context
        .client()?
        .list_hosts(&query)
        .await
        .map_err(explain)?;
    if context.output == OutputFormat::Json {
        return output::print_json(&page);
    }
    output::print(&hosts_table(&page.items).render(context.stdout_style))?;
    let pages = (page.total.max(0) as u64).div_ceil(u64::from(page.page_size.max(1)));
    eprintln!(
        "page {} of {}, {} host{} in total",
        page.page,
        pages.max(1),
        page.total,
        if page.total == 1 { "" } else { "s" }
    );
    Ok(())
}

/// The host list as a table.
fn hosts_table(hosts: &[HostView]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "HOSTNAME",
        "STATUS",
        "IP",
        "OS",
        "CPU",
        "MEM",
        "DISK",
        "LAST HEARTBEAT",
    ]);
    for host in hosts {
        let latest = host.latest_metrics.as_ref();
        table.row(vec![
            host.id.to_string().into(),
            host.hostname.as_str().into(),
            Cell::toned(host.status.as_str(), output::status_tone(&host.status)),
            output::text(host.ip_address.as_deref()).into(),
            output::text(host.os.as_deref()).into(),
            output::number(latest_value(latest, "cpu_percent"), "%").into(),
            output::number(latest_value(latest, "memory_percent"), "%").into(),
            output::number(latest_value(latest, "disk_percent"), "%").into(),
            output::time(host.last_heartbeat.as_ref()).into(),
        ]);
    }
    table
}

fn latest_value(latest: Option<&LatestMetricsView>, key: &str) -> Option<f64> {
    latest?.values.get(key).and_then(Value::as_f64)
}

async fn show(context: &Context, args: &HostIdArgs) -> anyhow::Result<()> {
    let host = context.client()?.host(args.id).await.map_err(explain)?;
    if context.output == OutputFormat::Json {
        return output::print_json(&host);
    }
    output::print(&output::render_fields(
        &host_fields(&host),
        context.stdout_style,
    ))
}

/// A host's details as `key: value` lines.
fn host_fields(host: &HostView) -> Vec<(&'static str, Cell)> {
    let os = match (host.os.as_deref(), host.os_version.as_deref()) {
        (Some(os), Some(version)) if !version.is_empty() => format!("{os} {version}"),
        (os, _) => output::text(os),
    };
    let tags = host
        .tags
        .as_ref()
        .and_then(Value::as_object)
        .map(|tags| tags.keys().cloned().collect::<Vec<_>>().join(", "));
    let mut fields: Vec<(&'static str, Cell)> = vec![
        ("id", host.id.to_string().into()),
        ("hostname", host.hostname.as_str().into()),
        (
            "display name",
            output::text(host.display_name.as_deref()).into(),
        ),
        (
            "status",
            Cell::toned(host.status.as_str(), output::status_tone(&host.status)),
        ),
        ("ip", output::text(host.ip_address.as_deref()).into()),
        (
            "private ip",
            output::text(host.private_ip.as_deref()).into(),
        ),
        ("public ip", output::text(host.public_ip.as_deref()).into()),
        ("os", os.into()),
        ("arch", output::text(host.arch.as_deref()).into()),
        (
            "cpu cores",
            host.cpu_cores
                .map_or_else(|| "-".to_owned(), |cores| cores.to_string())
                .into(),
        ),
        (
            "memory",
            host.memory_total_mb
                .map_or_else(|| "-".to_owned(), |mb| format!("{mb} MB"))
                .into(),
        ),
        ("agent", output::text(host.agent_version.as_deref()).into()),
        ("group", output::text(host.group_name.as_deref()).into()),
        ("tags", output::text(tags.as_deref()).into()),
        (
            "last heartbeat",
            output::time(host.last_heartbeat.as_ref()).into(),
        ),
        ("registered", output::time(Some(&host.created_at)).into()),
    ];
    match &host.latest_metrics {
        None => fields.push(("latest metrics", "none in the last 10 minutes".into())),
        Some(latest) => {
            let value = |key: &str, unit: &str| -> Cell {
                output::number(latest.values.get(key).and_then(Value::as_f64), unit).into()
            };
            fields.extend([
                ("metrics at", output::time(Some(&latest.recorded_at)).into()),
                ("cpu", value("cpu_percent", "%")),
                ("load 1/5/15", load(latest).into()),
                ("memory used", value("memory_percent", "%")),
                ("disk used", value("disk_percent", "%")),
                ("net in", value("net_recv_rate_kb", " KB/s")),
                ("net out", value("net_send_rate_kb", " KB/s")),
            ]);
        }
    }
    fields
}

fn load(latest: &LatestMetricsView) -> String {
    ["cpu_load_1", "cpu_load_5", "cpu_load_15"]
        .iter()
        .map(|key| {
            latest
                .values
                .get(*key)
                .and_then(Value::as_f64)
                .map_or_else(|| "-".to_owned(), |load| format!("{load:.2}"))
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

async fn metrics(context: &Context, args: &HostMetricsArgs) -> anyhow::Result<()> {
    let points = context
        .client()?
        .host_metrics(args.id, args.hours, &args.interval)
        .await
        .map_err(explain)?;
    if context.output == OutputFormat::Json {
        return output::print_json(&points);
    }
    output::print(&metrics_table(&points).render(context.stdout_style))?;
    eprintln!(
        "{} point{} over the last {} hour{} ({})",
        points.len(),
        if points.len() == 1 { "" } else { "s" },
        args.hours,
        if args.hours == 1 { "" } else { "s" },
        args.interval
    );
    Ok(())
}

/// A metric series as a table, oldest first as the server sends it.
fn metrics_table(points: &[MetricPointView]) -> Table {
    let mut table = Table::new(&["TIME", "CPU", "LOAD1", "MEM", "DISK", "NET IN", "NET OUT"]);
    for point in points {
        let values = &point.values;
        table.row(vec![
            output::time(Some(&point.recorded_at)).into(),
            output::number(values.cpu_percent, "%").into(),
            values
                .cpu_load_1
                .map_or_else(|| "-".to_owned(), |load| format!("{load:.2}"))
                .into(),
            output::number(values.memory_percent, "%").into(),
            output::number(values.disk_percent, "%").into(),
            output::number(values.net_recv_rate_kb, " KB/s").into(),
            output::number(values.net_send_rate_kb, " KB/s").into(),
        ]);
    }
    table
}
