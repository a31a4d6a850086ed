//! The tokio runtime owned by the module, and the one way Python-facing calls wait on it: with
//! the GIL released, while still reacting to Ctrl-C.

use pyo3::prelude::*;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Runtime;

use crate::error::VigilOpsError;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// How often a waiting call lets Python run its signal handlers (Ctrl-C → KeyboardInterrupt).
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The module's runtime, started on first use so importing the module starts no threads.
fn runtime() -> PyResult<&'static Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("vigilops-runtime")
        .enable_all()
        .build()
        .map_err(|error| VigilOpsError::new_err(format!("failed to start the runtime: {error}")))?;
    // rustls needs one process-wide crypto provider for HTTPS; another library may have
    // installed one already, which is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Two threads racing here both build a runtime; the loser's is dropped unused.
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// Runs `future` to completion on the module's runtime without holding the GIL. A pending
/// Python signal (such as Ctrl-C in the main thread) cancels it and raises.
pub(crate) fn wait<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    let runtime = runtime()?;
    py.detach(|| {
        runtime.block_on(async {
            let mut ticker = tokio::time::interval(SIGNAL_CHECK_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::pin!(future);
            loop {
                tokio::select! {
                    biased;
                    output = &mut future => return Ok(output),
                    _ = ticker.tick() => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })
}
