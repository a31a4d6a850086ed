//! `vigilops-server`: parses flags, initialises logging, and serves.

use anyhow::Context;
use clap::Parser;
use std::collections::HashMap;
use std::path::PathBuf;

/// The VigilOps server. With no configuration it keeps everything in an SQLite file under
/// `--data-dir`; `DATABASE_URL=postgres://…` and `REDIS_URL=redis://…` switch backends.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "VIGILOPS_LISTEN", default_value = vigilops_core::config::DEFAULT_LISTEN)]
    listen: String,
    /// Directory for the SQLite database and the generated JWT secret.
    #[arg(long, env = "VIGILOPS_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Logs go to stderr; stdout carries only what a person or a script reads (the URL).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    let args = Args::parse();
    let mut env: HashMap<String, String> = std::env::vars().collect();
    env.insert("VIGILOPS_LISTEN".to_owned(), args.listen);
    env.insert(
        "VIGILOPS_DATA_DIR".to_owned(),
        args.data_dir.display().to_string(),
    );
    let config = vigilops_core::config::ServerConfig::from_env(&env)?;
    if config.jwt_secret.is_none() {
        tracing::warn!(
            data_dir = %config.data_dir.display(),
            "JWT_SECRET_KEY is not set: using a random secret kept in the data directory"
        );
    }
    let listen = config.listen;
    let app = vigilops_server::App::start(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("failed to listen on {listen}"))?;
    let local = listener.local_addr()?;
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local.ip().to_string()
    };
    println!("VigilOps is running at http://{host}:{}/", local.port());
    println!("Open it in a browser and register: the first account becomes the admin.");
    println!("API docs: http://{host}:{}/api/docs", local.port());
    vigilops_server::serve(app, listener, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
