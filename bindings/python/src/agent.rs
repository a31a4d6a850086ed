//! `vigilops.AgentClient`: the agent protocol, for scripts that report like an agent.

use pyo3::prelude::*;
use vigilops_core::client::AgentClient as CoreAgentClient;
use vigilops_core::protocol::agent::{LogBatch, LogEntryReport, MetricsReport, RegisterRequest};

use crate::convert::{from_python, to_python};
use crate::error::client_error;
use crate::runtime::wait;

/// A client of the agent protocol, authenticated by an agent token. Bodies are dicts shaped
/// as in the agent protocol; replies are dicts.
#[pyclass(module = "vigilops", frozen)]
pub(crate) struct AgentClient {
    server_url: String,
    inner: CoreAgentClient,
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "pyo3 arguments are owned; abi3-py39 has no borrowed &str"
)]
#[pymethods]
impl AgentClient {
    /// `AgentClient(server_url, token)`.
    #[new]
    fn new(server_url: String, token: String) -> Self {
        Self {
            inner: CoreAgentClient::new(&server_url, &token),
            server_url: server_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The server's base URL.
    #[getter]
    fn server_url(&self) -> &str {
        &self.server_url
    }

    fn __repr__(&self) -> String {
        format!("AgentClient({:?})", self.server_url)
    }

    /// Registers (or re-registers) a host: `{"hostname": ..., ...}` → `{"host_id", ...}`.
    fn register<'py>(
        &self,
        py: Python<'py>,
        host: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request: RegisterRequest = from_python(host, "host registration")?;
        let reply =
            wait(py, self.inner.register(&request))?.map_err(|error| client_error(py, &error))?;
        to_python(py, &reply)
    }

    /// Reports that the host is alive.
    fn heartbeat<'py>(&self, py: Python<'py>, host_id: i64) -> PyResult<Bound<'py, PyAny>> {
        let reply =
            wait(py, self.inner.heartbeat(host_id))?.map_err(|error| client_error(py, &error))?;
        to_python(py, &reply)
    }

    /// Sends one metrics sample; with an `idempotency_key`, a retry is stored only once.
    #[pyo3(signature = (report, idempotency_key = None))]
    fn metrics<'py>(
        &self,
        py: Python<'py>,
        report: &Bound<'py, PyAny>,
        idempotency_key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let report: MetricsReport = from_python(report, "metrics report")?;
        let reply = wait(py, self.inner.metrics(&report, idempotency_key.as_deref()))?
            .map_err(|error| client_error(py, &error))?;
        to_python(py, &reply)
    }

    /// Sends a batch of log entries, stored all or nothing.
    #[pyo3(signature = (entries, idempotency_key = None))]
    fn logs<'py>(
        &self,
        py: Python<'py>,
        entries: &Bound<'py, PyAny>,
        idempotency_key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let logs: Vec<LogEntryReport> = from_python(entries, "log entries")?;
        let batch = LogBatch { logs };
        let reply = wait(py, self.inner.logs(&batch, idempotency_key.as_deref()))?
            .map_err(|error| client_error(py, &error))?;
        to_python(py, &reply)
    }
}
