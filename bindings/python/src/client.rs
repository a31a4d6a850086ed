//! `vigilops.Client`: the REST API as a user sees it (login, hosts, agent tokens).

use pyo3::prelude::*;
use std::sync::{PoisonError, RwLock};
use vigilops_core::client::{ApiClient, HostQuery};

use crate::convert::to_python;
use crate::error::client_error;
use crate::runtime::wait;

/// A client of a VigilOps server's REST API. Safe to share between threads; every call
/// blocks (without holding the GIL) until the server answers.
#[pyclass(module = "vigilops", frozen)]
pub(crate) struct Client {
    server_url: String,
    /// The core client; replaced as a whole when a login brings a new access token.
    inner: RwLock<ApiClient>,
}

impl Client {
    /// A snapshot of the core client, so no lock is held while a request is in flight.
    fn api(&self) -> ApiClient {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "pyo3 arguments are owned; abi3-py39 has no borrowed &str"
)]
#[pymethods]
impl Client {
    /// `Client(server_url, access_token=None)`.
    #[new]
    #[pyo3(signature = (server_url, access_token = None))]
    fn new(server_url: String, access_token: Option<String>) -> Self {
        let mut inner = ApiClient::new(&server_url);
        if let Some(token) = access_token {
            inner = inner.with_access_token(token);
        }
        Self {
            server_url: server_url.trim_end_matches('/').to_owned(),
            inner: RwLock::new(inner),
        }
    }

    /// The server's base URL.
    #[getter]
    fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The access token in use, or `None` before `login`.
    #[getter]
    fn access_token(&self) -> Option<String> {
        self.api().access_token().map(str::to_owned)
    }

    fn __repr__(&self) -> String {
        format!(
            "Client({:?}, logged_in={})",
            self.server_url,
            if self.api().access_token().is_some() {
                "True"
            } else {
                "False"
            }
        )
    }

    /// Logs in; later calls use the new access token. Returns the token pair.
    fn login<'py>(
        &self,
        py: Python<'py>,
        email: String,
        password: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut api = self.api();
        let tokens =
            wait(py, api.login(&email, &password))?.map_err(|error| client_error(py, &error))?;
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = api;
        to_python(py, &tokens)
    }

    /// The logged-in user.
    fn me<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api();
        let user = wait(py, api.me())?.map_err(|error| client_error(py, &error))?;
        to_python(py, &user)
    }

    /// The server's health report (no login needed).
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api();
        let health = wait(py, api.health())?.map_err(|error| client_error(py, &error))?;
        to_python(py, &health)
    }

    /// One page of hosts: `{"items": [...], "total", "page", "page_size"}`.
    #[pyo3(signature = (status = None, search = None, page = 1, page_size = 20))]
    fn hosts<'py>(
        &self,
        py: Python<'py>,
        status: Option<String>,
        search: Option<String>,
        page: u32,
        page_size: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api();
        let query = HostQuery {
            status,
            search,
            group_name: None,
            page: Some(page),
            page_size: Some(page_size),
        };
        let hosts = wait(py, api.list_hosts(&query))?.map_err(|error| client_error(py, &error))?;
        to_python(py, &hosts)
    }

    /// One host with its latest metrics.
    fn host<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api();
        let host = wait(py, api.host(id))?.map_err(|error| client_error(py, &error))?;
        to_python(py, &host)
    }

    /// A host's metric points, oldest first; `interval` is `raw`, `5min`, `1h` or `1d`.
    #[pyo3(
        signature = (id, hours = 1, interval = "raw".to_owned()),
        text_signature = "(self, /, id, hours=1, interval='raw')"
    )]
    fn host_metrics<'py>(
        &self,
        py: Python<'py>,
        id: i64,
        hours: u32,
        interval: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api();
        let points = wait(py, api.host_metrics(id, hours, &interval))?
            .map_err(|error| client_error(py, &error))?;
        to_python(py, &points)
    }

    /// Creates an agent token; the reply's `token` is the plaintext, returned only this once.
    fn create_agent_token<'py>(
        &self,
        py: Python<'py>,
        name: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api();
        let token =
            wait(py, api.create_agent_token(&name))?.map_err(|error| client_error(py, &error))?;
        to_python(py, &token)
    }

    /// The agent tokens, newest first, without their plaintext.
    fn agent_tokens<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api();
        let tokens =
            wait(py, api.list_agent_tokens())?.map_err(|error| client_error(py, &error))?;
        to_python(py, &tokens)
    }

    /// Revokes an agent token.
    fn revoke_agent_token(&self, py: Python<'_>, id: i64) -> PyResult<()> {
        let api = self.api();
        wait(py, api.revoke_agent_token(id))?.map_err(|error| client_error(py, &error))
    }
}
