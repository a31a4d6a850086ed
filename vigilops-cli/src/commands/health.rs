//! `vigilops health`: the server's health checks, usable as a probe (exit 1 when degraded).

use std::process::ExitCode;

use super::{Context, explain};
use crate::args::OutputFormat;
use crate::output::{self, Cell};

/// Prints the health report; fails when the server says it is degraded.
pub(super) async fn run(context: &Context) -> anyhow::Result<ExitCode> {
    let health = context.anonymous_client().health().await.map_err(explain)?;
    match context.output {
        OutputFormat::Json => output::print_json(&health)?,
        OutputFormat::Table => {
            let tone = |status: &str| Cell::toned(status, output::status_tone(status));
            output::print(&output::render_fields(
                &[
                    ("status", tone(&health.status)),
                    ("api", tone(&health.checks.api)),
                    ("database", tone(&health.checks.database)),
                    ("redis", tone(&health.checks.redis)),
                    ("backend", health.database_backend.as_str().into()),
                    ("version", health.version.as_str().into()),
                    ("time", output::time(Some(&health.timestamp)).into()),
                ],
                context.stdout_style,
            ))?;
        }
    }
    if health.status == "ok" {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{} is {}", context.server, health.status);
        Ok(ExitCode::FAILURE)
    }
}
