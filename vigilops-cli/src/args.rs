//! Command-line arguments: every clap type of the `vigilops` binary, and nothing else.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The server used when neither `--server` nor `VIGILOPS_SERVER` says otherwise.
pub(crate) const DEFAULT_SERVER: &str = "http://127.0.0.1:8001";

/// Command-line client of a VigilOps server.
///
/// Data goes to stdout (a table, or JSON with `--output json`); messages and errors go to
/// stderr. Exit codes: 0 success, 1 failure (the server's message is shown), 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "vigilops", version)]
pub(crate) struct Cli {
    /// Base URL of the VigilOps server.
    #[arg(long, global = true, env = "VIGILOPS_SERVER", default_value = DEFAULT_SERVER)]
    pub(crate) server: String,

    /// How to print data on stdout.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,

    /// Access token to use instead of the one stored by `vigilops login`.
    #[arg(
        long,
        global = true,
        env = "VIGILOPS_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How data is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// The server's JSON, pretty-printed, for scripts.
    Json,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Log in and store the access token for this server.
    Login(LoginArgs),
    /// Forget the access token stored for this server.
    Logout,
    /// Show the logged-in user.
    Whoami,
    /// Show the server's health; exits 1 when it is degraded.
    Health,
    /// Monitored hosts.
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// Agent tokens (admin only).
    #[command(subcommand)]
    Tokens(TokensCommand),
}

/// `vigilops login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// Account email.
    #[arg(long)]
    pub(crate) email: String,
    /// Read the password from the first line of stdin instead of prompting for it.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

/// `vigilops hosts …`.
#[derive(Debug, Subcommand)]
pub(crate) enum HostsCommand {
    /// List hosts, one page at a time.
    List(HostsListArgs),
    /// Show one host with its latest metrics.
    Show(HostIdArgs),
    /// Show a host's metric series.
    Metrics(HostMetricsArgs),
}

/// `vigilops hosts list`.
#[derive(Debug, Args)]
pub(crate) struct HostsListArgs {
    /// Only hosts with this status.
    #[arg(long, value_parser = ["online", "offline"])]
    pub(crate) status: Option<String>,
    /// Only hosts whose hostname contains this text (case-insensitive).
    #[arg(long)]
    pub(crate) search: Option<String>,
    /// Page number, from 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) page: u32,
    /// Hosts per page (at most 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) page_size: u32,
}

/// A command taking one host id.
#[derive(Debug, Args)]
pub(crate) struct HostIdArgs {
    /// Host id, as `hosts list` shows it.
    pub(crate) id: i64,
}

/// `vigilops hosts metrics`.
#[derive(Debug, Args)]
pub(crate) struct HostMetricsArgs {
    /// Host id, as `hosts list` shows it.
    pub(crate) id: i64,
    /// How many hours back to go (1 to 720).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub(crate) hours: u32,
    /// Raw samples, or averages per bucket.
    #[arg(long, default_value = "raw", value_parser = ["raw", "5min", "1h", "1d"])]
    pub(crate) interval: String,
}

/// `vigilops tokens …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    /// List agent tokens, newest first.
    List,
    /// Create an agent token and print its plaintext, which is shown only this once.
    Create(TokenCreateArgs),
    /// Revoke an agent token: agents using it are refused from then on.
    Revoke(TokenIdArgs),
}

/// `vigilops tokens create`.
#[derive(Debug, Args)]
pub(crate) struct TokenCreateArgs {
    /// A name saying where the token is used.
    pub(crate) name: String,
}

/// `vigilops tokens revoke`.
#[derive(Debug, Args)]
pub(crate) struct TokenIdArgs {
    /// Token id, as `tokens list` shows it.
    pub(crate) id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn out_of_range_values_are_usage_errors() {
        for argv in [
            &["vigilops", "hosts", "list", "--page", "0"][..],
            &["vigilops", "hosts", "list", "--page-size", "101"],
            &["vigilops", "hosts", "list", "--status", "sleeping"],
            &["vigilops", "hosts", "metrics", "1", "--hours", "721"],
            &["vigilops", "hosts", "metrics", "1", "--interval", "2h"],
            &["vigilops", "hosts", "show", "web-1"],
        ] {
            let error = Cli::try_parse_from(argv).expect_err("should be refused");
            assert_eq!(error.exit_code(), 2, "{argv:?}");
        }
    }
}
