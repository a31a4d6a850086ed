//! The `vigilops-agent` binary: parses arguments, sets up logging, loads the config and hands over
//! to the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use vigilops_agent::config::{self, AgentConfig, ConfigError};
use vigilops_agent::reporter::Reporter;
use vigilops_core::clock::SystemClock;

#[derive(Debug, Parser)]
#[command(name = "vigilops-agent", version, about = "VigilOps host agent")]
struct Args {
    /// Config file path.
    #[arg(short, long, global = true, default_value = config::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Verbose (debug) logging.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent in the foreground until SIGINT or SIGTERM.
    Run,
    /// Validate the config file and print a summary.
    Check,
    /// Collect one sample and print it as JSON (the metrics report body).
    Collect,
    /// Write a config file for a server and token.
    Config {
        /// Server base URL, e.g. http://vigilops.example.com:8001.
        #[arg(long)]
        server: String,
        /// Agent token (vop_…).
        #[arg(long)]
        token: String,
        /// Where to write the file (default: the --config path).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

fn init_tracing(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal (not in journald), and never when NO_COLOR is set.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// Loads the config; a missing file or token is an error (exit status 1), as in the original.
fn load_with_token(path: &Path) -> anyhow::Result<AgentConfig> {
    let config = AgentConfig::load(path)?;
    if config.server.token.is_empty() {
        bail!(
            "no agent token configured: set server.token in `{}` or the VIGILOPS_TOKEN environment variable",
            path.display()
        );
    }
    Ok(config)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => tracing::info!("received SIGINT"),
                    _ = terminate.recv() => tracing::info!("received SIGTERM"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the agent");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

// One thread runs every loop: the agent is idle between samples, and blocking work (reading
// /proc, statvfs, log files) already goes to the blocking pool. Worker threads only added
// wake-ups, stacks and malloc arenas (the footprint bench in BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let started = Instant::now();
    let args = Args::parse();
    init_tracing(args.verbose);
    // One TLS crypto provider for the whole process (see DEPENDENCIES.md).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match run_command(args, started).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_command(args: Args, started: Instant) -> anyhow::Result<()> {
    match args.command {
        None => {
            println!("VigilOps Agent v{}", env!("CARGO_PKG_VERSION"));
            println!("Config: {}", args.config.display());
            println!("Use --help for available commands");
        }
        Some(Command::Check) => {
            let config = AgentConfig::load(&args.config)?;
            println!("{}", config::summary(&config, &args.config));
            if config.server.token.is_empty() {
                bail!("no agent token configured: set server.token or VIGILOPS_TOKEN");
            }
        }
        Some(Command::Run) => {
            let config = load_with_token(&args.config)?;
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                server = %config.server.url,
                interval = ?config.metrics.interval,
                "starting VigilOps agent"
            );
            let reporter = Reporter::from_config(&config, Arc::new(SystemClock), started);
            reporter.run(shutdown_signal()).await;
        }
        Some(Command::Collect) => {
            let report =
                vigilops_agent::collector::collect_once(&SystemClock, Duration::from_millis(250))
                    .await;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).context("failed to encode the sample")?
            );
        }
        Some(Command::Config {
            server,
            token,
            output,
            force,
        }) => {
            if !(server.starts_with("http://") || server.starts_with("https://")) {
                bail!("--server must start with http:// or https://");
            }
            let path = output.unwrap_or(args.config);
            match config::write_config_file(&path, &config::render_config(&server, &token), force) {
                Ok(()) => println!("Config written to {}", path.display()),
                Err(error @ ConfigError::Exists { .. }) => bail!(error),
                Err(error) => return Err(error).context("cannot write the config file"),
            }
        }
    }
    Ok(())
}
