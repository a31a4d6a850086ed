//! HTTP clients of a VigilOps server: [`ApiClient`] for the REST API (CLI, Python, tests) and
//! [`AgentClient`] for the agent protocol.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

use crate::protocol::agent::{
    DbMetricsReport, DbMetricsResponse, HeartbeatRequest, HeartbeatResponse,
    IDEMPOTENCY_KEY_HEADER, LogBatch, LogBatchResponse, MetricsReport, MetricsResponse,
    RegisterRequest, RegisterResponse, ServiceCheckReport, ServiceCheckResponse,
    ServiceRegisterRequest, ServiceRegisterResponse, ServiceTargetsResponse,
};
use crate::protocol::rest::{
    AgentTokenCreate, AgentTokenView, HealthResponse, HostView, LoginRequest, MetricPointView,
    PageOf, TokenResponse, UserRegisterRequest, UserView,
};

/// What a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached or the connection broke.
    #[error("request to {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("server answered {status}: {detail}")]
    Api { status: u16, detail: String },
    /// The reply was not the expected JSON.
    #[error("unexpected reply from {url}: {reason}")]
    Decode { url: String, reason: String },
    /// A client-side precondition failed (for example: not logged in).
    #[error("{0}")]
    Usage(&'static str),
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("vigilops/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

async fn send<T: DeserializeOwned>(request: RequestBuilder, url: &str) -> Result<T, ClientError> {
    let response = request
        .send()
        .await
        .map_err(|source| ClientError::Transport {
            url: url.to_owned(),
            source,
        })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|source| ClientError::Transport {
            url: url.to_owned(),
            source,
        })?;
    if !status.is_success() {
        let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|body| body.get("detail").cloned())
            .map(|detail| match detail {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect());
        return Err(ClientError::Api {
            status: status.as_u16(),
            detail,
        });
    }
    let bytes = if status == StatusCode::NO_CONTENT && bytes.is_empty() {
        bytes::Bytes::from_static(b"null")
    } else {
        bytes
    };
    serde_json::from_slice(&bytes).map_err(|error| ClientError::Decode {
        url: url.to_owned(),
        reason: error.to_string(),
    })
}

/// A client of the REST API, logged in or not.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base_url: String,
    http: reqwest::Client,
    access_token: Option<String>,
}

/// Filters of [`ApiClient::list_hosts`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

impl ApiClient {
    /// A client of the server at `base_url` (for example `http://127.0.0.1:8001`).
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: http_client(Duration::from_secs(15)),
            access_token: None,
        }
    }

    /// Uses an access token obtained earlier.
    pub fn with_access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// The current access token, if logged in.
    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_deref()
    }

    fn request(&self, method: Method, path: &str) -> (RequestBuilder, String) {
        let url = format!("{}{}", self.base_url, path);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        (request, url)
    }

    /// `GET /api/v1/health` (no auth).
    pub async fn health(&self) -> Result<HealthResponse, ClientError> {
        let (request, url) = self.request(Method::GET, "/api/v1/health");
        send(request, &url).await
    }

    /// Logs in and keeps the access token for later calls.
    pub async fn login(
        &mut self,
        email: &str,
        password: &str,
    ) -> Result<TokenResponse, ClientError> {
        let (request, url) = self.request(Method::POST, "/api/v1/auth/login");
        let tokens: TokenResponse = send(
            request.json(&LoginRequest {
                email: email.to_owned(),
                password: password.to_owned(),
            }),
            &url,
        )
        .await?;
        self.access_token = Some(tokens.access_token.clone());
        Ok(tokens)
    }

    /// Registers a user and keeps the access token for later calls.
    pub async fn register(
        &mut self,
        email: &str,
        name: &str,
        password: &str,
    ) -> Result<TokenResponse, ClientError> {
        let (request, url) = self.request(Method::POST, "/api/v1/auth/register");
        let tokens: TokenResponse = send(
            request.json(&UserRegisterRequest {
                email: email.to_owned(),
                name: name.to_owned(),
                password: password.to_owned(),
            }),
            &url,
        )
        .await?;
        self.access_token = Some(tokens.access_token.clone());
        Ok(tokens)
    }

    /// `GET /api/v1/auth/me`.
    pub async fn me(&self) -> Result<UserView, ClientError> {
        let (request, url) = self.request(Method::GET, "/api/v1/auth/me");
        send(request, &url).await
    }

    /// `GET /api/v1/hosts`.
    pub async fn list_hosts(&self, query: &HostQuery) -> Result<PageOf<HostView>, ClientError> {
        let (request, url) = self.request(Method::GET, "/api/v1/hosts");
        send(request.query(query), &url).await
    }

    /// `GET /api/v1/hosts/{id}`.
    pub async fn host(&self, id: i64) -> Result<HostView, ClientError> {
        let (request, url) = self.request(Method::GET, &format!("/api/v1/hosts/{id}"));
        send(request, &url).await
    }

    /// `GET /api/v1/hosts/{id}/metrics?hours=&interval=`.
    pub async fn host_metrics(
        &self,
        id: i64,
        hours: u32,
        interval: &str,
    ) -> Result<Vec<MetricPointView>, ClientError> {
        let (request, url) = self.request(Method::GET, &format!("/api/v1/hosts/{id}/metrics"));
        send(
            request.query(&[
                ("hours", hours.to_string()),
                ("interval", interval.to_owned()),
            ]),
            &url,
        )
        .await
    }

    /// `POST /api/v1/agent-tokens`: the reply carries the plaintext token, this once.
    pub async fn create_agent_token(&self, name: &str) -> Result<AgentTokenView, ClientError> {
        let (request, url) = self.request(Method::POST, "/api/v1/agent-tokens");
        send(
            request.json(&AgentTokenCreate {
                name: name.to_owned(),
            }),
            &url,
        )
        .await
    }

    /// `GET /api/v1/agent-tokens`.
    pub async fn list_agent_tokens(&self) -> Result<Vec<AgentTokenView>, ClientError> {
        let (request, url) = self.request(Method::GET, "/api/v1/agent-tokens");
        send(request, &url).await
    }

    /// `DELETE /api/v1/agent-tokens/{id}`.
    pub async fn revoke_agent_token(&self, id: i64) -> Result<(), ClientError> {
        let (request, url) = self.request(Method::DELETE, &format!("/api/v1/agent-tokens/{id}"));
        send::<serde_json::Value>(request, &url).await.map(|_| ())
    }
}

/// A client of the agent protocol, authenticated by an agent token.
#[derive(Clone)]
pub struct AgentClient {
    base_url: String,
    http: reqwest::Client,
    token: String,
    gzip: bool,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AgentClient")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("gzip", &self.gzip)
            .finish()
    }
}

impl AgentClient {
    /// A client of the server at `base_url` using `token`.
    pub fn new(base_url: &str, token: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: http_client(Duration::from_secs(30)),
            token: token.to_owned(),
            gzip: false,
        }
    }

    /// Sends `user_agent` (our agent: `vigilops-agent/<version>`) with every request.
    pub fn with_user_agent(mut self, user_agent: &str) -> Self {
        self.http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(user_agent.to_owned())
            .build()
            .unwrap_or(self.http);
        self
    }

    /// Compresses request bodies with gzip (`Content-Encoding: gzip`).
    pub fn with_gzip(mut self, enabled: bool) -> Self {
        self.gzip = enabled;
        self
    }

    fn post_request<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<(RequestBuilder, String), ClientError> {
        let url = format!("{}/api/v1/agent/{path}", self.base_url);
        let json = serde_json::to_vec(body).map_err(|error| ClientError::Decode {
            url: url.clone(),
            reason: error.to_string(),
        })?;
        let mut request = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        request = if self.gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut encoder, &json)
                .and_then(|()| encoder.finish())
                .map(|compressed| {
                    request
                        .header(reqwest::header::CONTENT_ENCODING, "gzip")
                        .body(compressed)
                })
                .map_err(|error| ClientError::Decode {
                    url: url.clone(),
                    reason: error.to_string(),
                })?
        } else {
            request.body(json)
        };
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        Ok((request, url))
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let (request, url) = self.post_request(path, body, idempotency_key)?;
        send(request, &url).await
    }

    /// Posts any JSON body to `/api/v1/agent/{path}` and returns the status of a 2xx reply
    /// without reading it (a spool replays records of every kind this way); errors carry the
    /// status and detail as usual.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<u16, ClientError> {
        let (request, url) = self.post_request(path, body, idempotency_key)?;
        send::<serde_json::Value>(request, &url)
            .await
            .map(|_| 200)
            .or_else(|error| match error {
                ClientError::Decode { .. } => Ok(200),
                other => Err(other),
            })
    }

    /// `register`.
    pub async fn register(
        &self,
        request: &RegisterRequest,
    ) -> Result<RegisterResponse, ClientError> {
        self.post("register", request, None).await
    }

    /// `heartbeat`.
    pub async fn heartbeat(&self, host_id: i64) -> Result<HeartbeatResponse, ClientError> {
        self.post("heartbeat", &HeartbeatRequest { host_id }, None)
            .await
    }

    /// `metrics`, optionally idempotent.
    pub async fn metrics(
        &self,
        report: &MetricsReport,
        key: Option<&str>,
    ) -> Result<MetricsResponse, ClientError> {
        self.post("metrics", report, key).await
    }

    /// `services/register`.
    pub async fn register_service(
        &self,
        request: &ServiceRegisterRequest,
    ) -> Result<ServiceRegisterResponse, ClientError> {
        self.post("services/register", request, None).await
    }

    /// `services`, optionally idempotent.
    pub async fn service_check(
        &self,
        report: &ServiceCheckReport,
        key: Option<&str>,
    ) -> Result<ServiceCheckResponse, ClientError> {
        self.post("services", report, key).await
    }

    /// `db-metrics`, optionally idempotent.
    pub async fn db_metrics(
        &self,
        report: &DbMetricsReport,
        key: Option<&str>,
    ) -> Result<DbMetricsResponse, ClientError> {
        self.post("db-metrics", report, key).await
    }

    /// **Extension** `service-targets`: the services registered on the server for `host_id`
    /// (an original server answers 404).
    pub async fn service_targets(
        &self,
        host_id: i64,
    ) -> Result<ServiceTargetsResponse, ClientError> {
        let url = format!(
            "{}/api/v1/agent/service-targets?host_id={host_id}",
            self.base_url
        );
        let request = self.http.get(&url).bearer_auth(&self.token);
        send(request, &url).await
    }

    /// `logs`, optionally idempotent.
    pub async fn logs(
        &self,
        batch: &LogBatch,
        key: Option<&str>,
    ) -> Result<LogBatchResponse, ClientError> {
        self.post("logs", batch, key).await
    }
}
