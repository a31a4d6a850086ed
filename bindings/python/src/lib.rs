//! Python bindings of the VigilOps API clients: the `vigilops._vigilops` extension module.
//!
//! Layout: [`client`] (`Client`, the REST API), [`agent`] (`AgentClient`, the agent protocol),
//! [`convert`] (Python objects ⇄ the core's serde types), [`error`] (the one place core errors
//! become Python exceptions) and [`runtime`] (the module's tokio runtime; calls release the GIL).

mod agent;
mod client;
mod convert;
mod error;
mod runtime;

use pyo3::prelude::*;

/// The extension module; `vigilops/__init__.py` re-exports everything in it.
#[pymodule]
fn _vigilops(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<client::Client>()?;
    module.add_class::<agent::AgentClient>()?;
    module.add("VigilOpsError", py.get_type::<error::VigilOpsError>())?;
    module.add("ApiError", py.get_type::<error::ApiError>())?;
    module.add("TransportError", py.get_type::<error::TransportError>())?;
    Ok(())
}
