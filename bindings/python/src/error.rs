//! The one mapping from core errors to Python exceptions:
//!
//! - `VigilOpsError` (base of all; also an unexpected reply),
//! - `ApiError` (the server answered an error status; `.status` and `.detail`),
//! - `TransportError` (the server could not be reached or the connection broke),
//!
//! plus `ValueError` for arguments that do not fit the wire types.

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use vigilops_core::client::ClientError;

pyo3::create_exception!(
    vigilops,
    VigilOpsError,
    PyException,
    "Base class of the errors raised by the vigilops client."
);
pyo3::create_exception!(
    vigilops,
    ApiError,
    VigilOpsError,
    "The server answered with an error status: `status` is the HTTP status, `detail` the server's message."
);
pyo3::create_exception!(
    vigilops,
    TransportError,
    VigilOpsError,
    "The server could not be reached, timed out, or broke the connection."
);

/// The Python exception for a failed client call.
pub(crate) fn client_error(py: Python<'_>, error: &ClientError) -> PyErr {
    let message = error.to_string();
    match error {
        ClientError::Api { status, detail } => {
            let exception = ApiError::new_err(message);
            let value = exception.value(py);
            // Attributes on the instance, so `except ApiError as e: e.status` works; setting
            // them cannot fail on a fresh exception object, and if it did, the message still
            // carries both.
            let _ = value.setattr("status", *status);
            let _ = value.setattr("detail", detail.as_str());
            exception
        }
        ClientError::Transport { .. } => TransportError::new_err(message),
        ClientError::Decode { .. } | ClientError::Usage(_) => VigilOpsError::new_err(message),
    }
}

/// The Python exception for an argument that does not fit `what` (for example "metrics report").
pub(crate) fn invalid_argument(what: &str, reason: &dyn std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("invalid {what}: {reason}"))
}
