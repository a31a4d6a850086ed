//! The subcommands, one file each, and what they share: the server, the output format and the
//! access token, gathered in a [`Context`].

mod health;
mod hosts;
mod login;
mod logout;
mod tokens;
mod whoami;

use anyhow::Context as _;
use std::process::ExitCode;
use vigilops_core::client::{ApiClient, ClientError};

use crate::args::{Cli, Command, OutputFormat};
use crate::credentials::Credentials;
use crate::output::Style;

/// What every command needs.
#[derive(Debug)]
pub(crate) struct Context {
    /// Server base URL, without a trailing `/`.
    server: String,
    output: OutputFormat,
    /// `--token` / `VIGILOPS_ACCESS_TOKEN`, which wins over the stored login.
    token_override: Option<String>,
    /// Style of data written to stdout.
    stdout_style: Style,
}

impl Context {
    /// A client without credentials (login, health).
    fn anonymous_client(&self) -> ApiClient {
        ApiClient::new(&self.server)
    }

    /// A client with the access token of `--token`/`VIGILOPS_ACCESS_TOKEN` or of the stored login.
    fn client(&self) -> anyhow::Result<ApiClient> {
        if let Some(token) = &self.token_override {
            return Ok(self.anonymous_client().with_access_token(token.as_str()));
        }
        let credentials = Credentials::from_env()?;
        match credentials.get(&self.server)? {
            Some(login) => Ok(self
                .anonymous_client()
                .with_access_token(login.access_token)),
            None => anyhow::bail!(
                "not logged in to {}: run `vigilops login --email EMAIL` first, or set VIGILOPS_ACCESS_TOKEN",
                self.server
            ),
        }
    }
}

/// Turns a client error into the message the user sees, with a hint when the login is stale.
fn explain(error: ClientError) -> anyhow::Error {
    let hint = match error.status() {
        Some(401) => Some("the access token was refused: run `vigilops login` again"),
        Some(403) => Some("this needs a role the logged-in user does not have"),
        _ => None,
    };
    match hint {
        Some(hint) => anyhow::anyhow!("{error}\nhint: {hint}"),
        None => anyhow::Error::new(error),
    }
}

/// Runs the command `cli` names; the exit code on success, an error to report otherwise.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let token_override = cli.token.filter(|token| !token.trim().is_empty());
    let context = Context {
        server: cli.server.trim_end_matches('/').to_owned(),
        output: cli.output,
        token_override,
        stdout_style: Style::stdout(),
    };
    anyhow::ensure!(
        context.server.starts_with("http://") || context.server.starts_with("https://"),
        "invalid server URL `{}`: it must start with http:// or https://",
        context.server
    );
    match cli.command {
        Command::Login(args) => login::run(&context, &args).await.context("login failed")?,
        Command::Logout => logout::run(&context)?,
        Command::Whoami => whoami::run(&context).await?,
        Command::Health => return health::run(&context).await,
        Command::Hosts(command) => hosts::run(&context, &command).await?,
        Command::Tokens(command) => tokens::run(&context, &command).await?,
    }
    Ok(ExitCode::SUCCESS)
}
