//! `vigilops`: the command-line client of a VigilOps server. Parses arguments, sets up logging
//! on stderr, and runs one command from [`commands`].

mod args;
mod commands;
mod credentials;
mod output;

use clap::Parser;
use std::process::ExitCode;

use crate::output::{Style, Tone};

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // reqwest and anything else using rustls share this one provider.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(Style::stderr() != Style::PLAIN)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGILOPS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(commands::run(cli)));
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!(
                "{} {}",
                Style::stderr().paint("error:", Tone::Bad),
                error_message(&error)
            );
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause its parent already quotes.
fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
