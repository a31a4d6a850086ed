//! Service checks (`agent-protocol.md` §7): HTTP(S) GETs and TCP connects, each service on its
//! own interval and timeout, with the results spooled for `POST /api/v1/agent/services`.
//!
//! - **http:** a GET without following redirects; `up` iff 2xx or 4xx (3xx is down), or exactly the
//!   extension `expected_status` when it is set; with the extension `keyword`, the body must
//!   contain it too. For `https` the days left on the server certificate are sent in the
//!   extension field `tls_cert_days_left`.
//! - **tcp:** `up` iff a connection to `host:port` opens within the timeout.
//! - anything else is `down` with the error `"Unknown type"`.
//!
//! Each service is registered (`services/register`) under the current host id before its results
//! are spooled ([`ServiceRegistry`]); a 403 there re-registers the host first. Results are then
//! delivered from the spool like every other record (`Idempotency-Key`, original `checked_at`).

pub mod cert;
pub mod server_targets;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vigilops_core::client::{AgentClient, ClientError};
use vigilops_core::clock::Clock;
use vigilops_core::protocol::agent::{CheckStatus, ServiceCheckReport, ServiceRegisterRequest};

use tokio::sync::watch;

use crate::config::ServiceCheckConfig;
use crate::reporter::{AgentHandle, wait_stopped};
use crate::spool::ServiceRef;

/// The longest `error` text sent (in characters).
pub const MAX_ERROR_CHARS: usize = 500;
/// The most of a body read when looking for a keyword.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The extension field carrying the certificate's days left.
pub const TLS_DAYS_LEFT_FIELD: &str = "tls_cert_days_left";

/// What building a checker can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The HTTP client could not be built (for example: no TLS provider).
    #[error("cannot build the HTTP client for service `{name}`: {source}")]
    Client {
        name: String,
        #[source]
        source: reqwest::Error,
    },
}

/// The result of one check, before it is tied to a service id.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// `up` or `down`.
    pub status: CheckStatus,
    /// Elapsed time in ms, 1 dp.
    pub response_time_ms: f64,
    /// The HTTP status; `None` for tcp.
    pub status_code: Option<u16>,
    /// Why the service is down, at most [`MAX_ERROR_CHARS`] characters.
    pub error: Option<String>,
    /// Extension: whole days until the https certificate expires.
    pub tls_cert_days_left: Option<i64>,
}

impl CheckOutcome {
    fn down(elapsed: Duration, status_code: Option<u16>, error: &str) -> Self {
        Self {
            status: CheckStatus::Down,
            response_time_ms: round_ms(elapsed),
            status_code,
            error: Some(truncate_error(error)),
            tls_cert_days_left: None,
        }
    }
}

/// Cuts an error text to [`MAX_ERROR_CHARS`] characters.
pub fn truncate_error(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// Milliseconds with one decimal.
pub fn round_ms(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 10_000.0).round() / 10.0
}

/// Whether an HTTP status means the service answers. §7 says "200 ≤ status < 500" and, in the
/// same breath, that 3xx counts as down (redirects are not followed), so: 2xx and 4xx are up.
pub fn http_status_is_up(status: u16, expected_status: Option<u16>) -> bool {
    match expected_status {
        Some(expected) => status == expected,
        None => (200..300).contains(&status) || (400..500).contains(&status),
    }
}

/// Classifies an HTTP answer: its status, and (when a keyword is configured) whether the body
/// contained it. Returns the status and the error text of a `down`.
pub fn classify_http(
    status: u16,
    expected_status: Option<u16>,
    keyword: Option<&str>,
    body_has_keyword: bool,
) -> (CheckStatus, Option<String>) {
    if !http_status_is_up(status, expected_status) {
        let error = match expected_status {
            Some(expected) => format!("HTTP {status}, expected {expected}"),
            None => format!("HTTP {status}"),
        };
        return (CheckStatus::Down, Some(error));
    }
    match keyword {
        Some(keyword) if !body_has_keyword => (
            CheckStatus::Down,
            Some(truncate_error(&format!(
                "keyword `{keyword}` not found in the response body"
            ))),
        ),
        _ => (CheckStatus::Up, None),
    }
}

/// An error with its chain of causes, as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// One configured service with what it needs to be checked.
#[derive(Debug)]
pub struct Checker {
    /// The configured service.
    pub config: ServiceCheckConfig,
    http: Option<reqwest::Client>,
}

impl Checker {
    /// Prepares the checks of one service (an http service gets its own client, without
    /// redirects and with the peer certificate exposed).
    pub fn new(config: ServiceCheckConfig) -> Result<Self, CheckError> {
        let http = if config.check_type == "http" {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(config.timeout)
                .tls_info(true)
                .user_agent(concat!("vigilops-agent/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|source| CheckError::Client {
                    name: config.name.clone(),
                    source,
                })?;
            Some(client)
        } else {
            None
        };
        Ok(Self { config, http })
    }

    /// Runs one check.
    pub async fn check(&self, clock: &dyn Clock) -> CheckOutcome {
        match (self.config.check_type.as_str(), &self.http) {
            ("http", Some(client)) => self.check_http(client, clock).await,
            ("tcp", _) => self.check_tcp().await,
            _ => CheckOutcome::down(Duration::ZERO, None, "Unknown type"),
        }
    }

    async fn check_http(&self, client: &reqwest::Client, clock: &dyn Clock) -> CheckOutcome {
        let started = Instant::now();
        if self.config.url.is_empty() {
            return CheckOutcome::down(Duration::ZERO, None, "no url configured");
        }
        let timeout = self.config.timeout;
        let attempt = tokio::time::timeout(timeout, async {
            let mut response = client.get(&self.config.url).send().await?;
            let status = response.status().as_u16();
            let days_left = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(reqwest::tls::TlsInfo::peer_certificate)
                .and_then(cert::not_after)
                .map(|expiry| cert::days_left(expiry, clock.now()));
            let mut found = false;
            if let Some(keyword) = &self.config.keyword
                && http_status_is_up(status, self.config.expected_status)
            {
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await? {
                    body.extend_from_slice(&chunk);
                    if contains(&body, keyword.as_bytes()) {
                        found = true;
                        break;
                    }
                    if body.len() >= MAX_BODY_BYTES {
                        break;
                    }
                }
            }
            Ok::<_, reqwest::Error>((status, days_left, found))
        })
        .await;
        let elapsed = started.elapsed();
        match attempt {
            Err(_) => CheckOutcome::down(
                elapsed,
                None,
                &format!("timed out after {}", humantime(timeout)),
            ),
            Ok(Err(error)) if error.is_timeout() => CheckOutcome::down(
                elapsed,
                None,
                &format!("timed out after {}", humantime(timeout)),
            ),
            Ok(Err(error)) => CheckOutcome::down(elapsed, None, &error_chain(&error)),
            Ok(Ok((status, days_left, found))) => {
                let (check_status, error) = classify_http(
                    status,
                    self.config.expected_status,
                    self.config.keyword.as_deref(),
                    found,
                );
                CheckOutcome {
                    status: check_status,
                    response_time_ms: round_ms(elapsed),
                    status_code: Some(status),
                    error,
                    tls_cert_days_left: days_left,
                }
            }
        }
    }

    async fn check_tcp(&self) -> CheckOutcome {
        let started = Instant::now();
        if self.config.port == 0 {
            return CheckOutcome::down(Duration::ZERO, None, "no port configured");
        }
        let address = (self.config.host.as_str(), self.config.port);
        let attempt =
            tokio::time::timeout(self.config.timeout, tokio::net::TcpStream::connect(address))
                .await;
        let elapsed = started.elapsed();
        match attempt {
            Ok(Ok(_stream)) => CheckOutcome {
                status: CheckStatus::Up,
                response_time_ms: round_ms(elapsed),
                status_code: None,
                error: None,
                tls_cert_days_left: None,
            },
            Ok(Err(error)) => CheckOutcome::down(elapsed, None, &error.to_string()),
            Err(_) => CheckOutcome::down(
                elapsed,
                None,
                &format!("timed out after {}", humantime(self.config.timeout)),
            ),
        }
    }
}

fn humantime(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// A check result as it waits in the spool: the service name and the request body (with
/// `service_id` 0 until delivery).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpooledCheck {
    /// The configured service name.
    pub service: String,
    /// The `POST /api/v1/agent/services` body, extension fields included.
    pub report: serde_json::Value,
}

impl SpooledCheck {
    /// The spooled form of one outcome checked at `checked_at`.
    pub fn new(
        service: &str,
        outcome: &CheckOutcome,
        checked_at: DateTime<Utc>,
    ) -> Result<Self, serde_json::Error> {
        let report = ServiceCheckReport {
            service_id: 0,
            status: outcome.status,
            response_time_ms: Some(outcome.response_time_ms),
            status_code: outcome.status_code.map(i64::from),
            error: outcome.error.clone(),
            checked_at: Some(checked_at),
        };
        let mut body = serde_json::to_value(&report)?;
        if let (Some(days), Some(object)) = (outcome.tls_cert_days_left, body.as_object_mut()) {
            object.insert(TLS_DAYS_LEFT_FIELD.to_owned(), days.into());
        }
        Ok(Self {
            service: service.to_owned(),
            report: body,
        })
    }

    /// The body to post for `service_id`.
    pub fn body_for(&self, service_id: i64) -> serde_json::Value {
        let mut body = self.report.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("service_id".to_owned(), service_id.into());
        }
        body
    }
}

/// The registration body of a configured service for `host_id`.
pub fn register_request(config: &ServiceCheckConfig, host_id: i64) -> ServiceRegisterRequest {
    let seconds = |duration: Duration| i64::try_from(duration.as_secs().max(1)).unwrap_or(i64::MAX);
    ServiceRegisterRequest {
        name: Some(config.name.clone()),
        target: Some(config.target()),
        check_type: Some(config.check_type.clone()),
        host_id: Some(host_id),
        check_interval: Some(seconds(config.interval)),
        timeout: Some(seconds(config.timeout)),
    }
}

/// The server ids of the configured services, registered on first use per host id.
#[derive(Debug, Default)]
pub struct ServiceRegistry {
    configs: HashMap<String, ServiceCheckConfig>,
    /// Name → (host id it was registered under, service id).
    ids: tokio::sync::Mutex<HashMap<String, (i64, i64)>>,
}

impl ServiceRegistry {
    /// A registry of the configured services.
    pub fn new(services: &[ServiceCheckConfig]) -> Self {
        Self {
            configs: services
                .iter()
                .map(|service| (service.name.clone(), service.clone()))
                .collect(),
            ids: tokio::sync::Mutex::default(),
        }
    }

    /// The configured service names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.configs.keys().map(String::as_str)
    }

    /// The service id of `name` under `host_id`, registering it when it has none under that
    /// host yet; `Ok(None)` when `name` is not (or no longer) configured.
    pub async fn service_id(
        &self,
        client: &AgentClient,
        host_id: i64,
        name: &str,
    ) -> Result<Option<i64>, ClientError> {
        let Some(config) = self.configs.get(name) else {
            return Ok(None);
        };
        let mut ids = self.ids.lock().await;
        if let Some((registered_host, service_id)) = ids.get(name)
            && *registered_host == host_id
        {
            return Ok(Some(*service_id));
        }
        let reply = client
            .register_service(&register_request(config, host_id))
            .await?;
        tracing::info!(
            service = name,
            service_id = reply.service_id,
            host_id,
            created = reply.created,
            "service registered"
        );
        ids.insert(name.to_owned(), (host_id, reply.service_id));
        Ok(Some(reply.service_id))
    }
}

/// Starts one check loop per configured service; returns their tasks.
pub fn spawn_loops(
    handle: &AgentHandle,
    services: &[ServiceCheckConfig],
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let registry = Arc::new(ServiceRegistry::new(services));
    services
        .iter()
        .filter_map(|config| match Checker::new(config.clone()) {
            Ok(checker) => {
                tracing::info!(service = %config.name, check_type = %config.check_type, target = %config.target(), interval = ?config.interval, "service check enabled");
                Some(tokio::spawn(check_loop(
                    handle.clone(),
                    Arc::clone(&registry),
                    checker,
                    stop.clone(),
                )))
            }
            Err(error) => {
                tracing::warn!(%error, service = %config.name, "service check skipped");
                None
            }
        })
        .collect()
}

/// The current host id and the service id under it, registering (and re-registering the host
/// after a 403) as needed; `None` when stopped, or after a failure (logged; retried at the next
/// check).
async fn resolve_id(
    handle: &AgentHandle,
    registry: &ServiceRegistry,
    name: &str,
    stop: &mut watch::Receiver<bool>,
) -> Option<(i64, i64)> {
    let host_id = handle.host_id(stop).await?;
    let attempt = tokio::select! {
        attempt = registry.service_id(handle.client(), host_id, name) => attempt,
        () = wait_stopped(stop) => return None,
    };
    match attempt {
        Ok(id) => id.map(|id| (host_id, id)),
        Err(ClientError::Api { status: 403, .. }) => {
            let new_host = handle.reregister(host_id, stop).await?;
            registry
                .service_id(handle.client(), new_host, name)
                .await
                .inspect_err(
                    |error| tracing::warn!(%error, service = name, "service registration failed"),
                )
                .ok()
                .flatten()
                .map(|id| (new_host, id))
        }
        Err(error) => {
            tracing::warn!(%error, service = name, "service registration failed; will retry");
            None
        }
    }
}

/// Checks one service every interval (the first at once) and spools each result once the service
/// has an id; results taken while it cannot be registered wait in memory (the latest
/// [`MAX_UNREGISTERED_RESULTS`]) and are spooled with their own `checked_at` when it can.
async fn check_loop(
    handle: AgentHandle,
    registry: Arc<ServiceRegistry>,
    checker: Checker,
    mut stop: watch::Receiver<bool>,
) {
    let name = checker.config.name.clone();
    let mut ticker = tokio::time::interval(checker.config.interval.max(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut waiting: Vec<SpooledCheck> = Vec::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = wait_stopped(&mut stop) => return,
        }
        let checked_at = handle.clock().now();
        let outcome = tokio::select! {
            outcome = checker.check(handle.clock()) => outcome,
            () = wait_stopped(&mut stop) => return,
        };
        tracing::debug!(service = %name, status = outcome.status.as_str(), response_time_ms = outcome.response_time_ms, error = ?outcome.error, "service checked");
        match SpooledCheck::new(&name, &outcome, checked_at) {
            Ok(spooled) => waiting.push(spooled),
            Err(error) => {
                tracing::error!(%error, service = %name, "failed to encode a check result; lost")
            }
        }
        // Bounded: a service that can never be registered keeps only its latest results.
        if waiting.len() > MAX_UNREGISTERED_RESULTS {
            waiting.drain(..waiting.len() - MAX_UNREGISTERED_RESULTS);
        }
        let Some((host_id, service_id)) = resolve_id(&handle, &registry, &name, &mut stop).await
        else {
            continue;
        };
        for spooled in waiting.drain(..) {
            let timestamp = spooled
                .report
                .get("checked_at")
                .and_then(|value| serde_json::from_value(value.clone()).ok())
                .unwrap_or(checked_at);
            handle.spool_service_check(
                timestamp,
                spooled.body_for(service_id),
                ServiceRef {
                    name: name.clone(),
                    host_id,
                    register: register_request(&checker.config, host_id),
                },
            );
        }
    }
}

/// Results kept per service while it cannot be registered.
const MAX_UNREGISTERED_RESULTS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_are_classified_as_section_7_says() {
        for status in [200, 204, 299, 400, 401, 404, 499] {
            assert!(http_status_is_up(status, None), "{status}");
        }
        for status in [100, 199, 300, 301, 302, 304, 500, 503] {
            assert!(!http_status_is_up(status, None), "{status}");
        }
        assert!(http_status_is_up(302, Some(302)));
        assert!(!http_status_is_up(200, Some(204)));
    }

    #[test]
    fn keyword_and_expected_status() {
        assert_eq!(
            classify_http(200, None, None, false),
            (CheckStatus::Up, None)
        );
        assert_eq!(
            classify_http(200, None, Some("ok"), true),
            (CheckStatus::Up, None)
        );
        let (status, error) = classify_http(200, None, Some("ok"), false);
        assert_eq!(status, CheckStatus::Down);
        assert!(error.unwrap_or_default().contains("`ok`"));
        assert_eq!(
            classify_http(500, None, Some("ok"), true),
            (CheckStatus::Down, Some("HTTP 500".into()))
        );
        assert_eq!(
            classify_http(200, Some(201), None, false),
            (CheckStatus::Down, Some("HTTP 200, expected 201".into()))
        );
    }

    #[test]
    fn errors_are_truncated_and_times_rounded() {
        assert_eq!(truncate_error(&"é".repeat(800)).chars().count(), 500);
        assert_eq!(truncate_error("short"), "short");
        assert!((round_ms(Duration::from_micros(12_345)) - 12.3).abs() < f64::EPSILON);
        assert!((round_ms(Duration::from_micros(12_350)) - 12.4).abs() < 1e-9);
    }

    #[test]
    fn spooled_check_carries_extension_and_gets_its_id_at_delivery() {
        let outcome = CheckOutcome {
            status: CheckStatus::Up,
            response_time_ms: 3.4,
            status_code: Some(200),
            error: None,
            tls_cert_days_left: Some(42),
        };
        let at = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap_or_default();
        let spooled = SpooledCheck::new("web", &outcome, at).ok();
        let body = spooled
            .map(|spooled| spooled.body_for(7))
            .unwrap_or_default();
        assert_eq!(body["service_id"], 7);
        assert_eq!(body["status"], "up");
        assert_eq!(body[TLS_DAYS_LEFT_FIELD], 42);
        assert_eq!(body["status_code"], 200);
        let report: Result<ServiceCheckReport, _> = serde_json::from_value(body);
        assert!(report.is_ok_and(|report| report.checked_at == Some(at)));
    }

    #[test]
    fn registration_body() {
        let config = ServiceCheckConfig {
            name: "db".into(),
            check_type: "tcp".into(),
            url: String::new(),
            host: "localhost".into(),
            port: 5432,
            interval: Duration::from_secs(30),
            timeout: Duration::from_millis(500),
            expected_status: None,
            keyword: None,
        };
        let request = register_request(&config, 9);
        assert_eq!(request.target.as_deref(), Some("localhost:5432"));
        assert_eq!(request.check_type.as_deref(), Some("tcp"));
        assert_eq!(
            (request.host_id, request.check_interval, request.timeout),
            (Some(9), Some(30), Some(1))
        );
    }
}
