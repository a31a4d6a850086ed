//! `vigilops whoami`: the user the access token belongs to.

use super::{Context, explain};
use crate::args::OutputFormat;
use crate::output::{self, Cell, Tone};

/// Prints the logged-in user.
pub(super) async fn run(context: &Context) -> anyhow::Result<()> {
    let user = context.client()?.me().await.map_err(explain)?;
    match context.output {
        OutputFormat::Json => output::print_json(&user),
        OutputFormat::Table => output::print(&output::render_fields(
            &[
                ("id", user.id.to_string().into()),
                ("email", user.email.as_str().into()),
                ("name", user.name.as_str().into()),
                ("role", user.role.as_str().into()),
                (
                    "active",
                    Cell::toned(
                        if user.is_active { "yes" } else { "no" },
                        if user.is_active {
                            Tone::Good
                        } else {
                            Tone::Bad
                        },
                    ),
                ),
                ("created", output::time(Some(&user.created_at)).into()),
            ],
            context.stdout_style,
        )),
    }
}
