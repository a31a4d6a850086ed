//! REST shapes of `/api/v1` read by the web client, the CLI and the Python bindings.
