//! A server over a fresh store with a manual clock, and helpers to call it.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;
use vigilops_core::clock::ManualClock;
use vigilops_core::config::ServerConfig;
use vigilops_core::store::Store;
use vigilops_core::store::testing::{TempPostgres, TempSqlite, fresh_postgres, fresh_sqlite};
use vigilops_server::{App, AppState, router};

/// The time the recorded example bodies were taken (their timestamps are 01:31 that day).
pub(crate) fn example_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 32, 0).unwrap()
}

pub(crate) enum Backing {
    Sqlite(#[allow(dead_code)] TempSqlite),
    Postgres(TempPostgres),
}

pub(crate) struct TestApp {
    pub(crate) router: Router,
    pub(crate) state: AppState,
    pub(crate) clock: Arc<ManualClock>,
    backing: Option<Backing>,
    _data_dir: tempdir::TempDir,
}

pub(crate) mod tempdir {
    /// A directory removed on drop.
    pub(crate) struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub(crate) fn new() -> Self {
            let path = std::env::temp_dir().join(format!("vigilops-it-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub(crate) fn test_config(data_dir: &std::path::Path, extra: &[(&str, &str)]) -> ServerConfig {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert(
        "JWT_SECRET_KEY".into(),
        "integration-test-secret-0123456789abcdef".into(),
    );
    env.insert("VIGILOPS_DATA_DIR".into(), data_dir.display().to_string());
    for (key, value) in extra {
        env.insert((*key).into(), (*value).into());
    }
    ServerConfig::from_env(&env).unwrap()
}

impl TestApp {
    fn build(store: Arc<dyn Store>, backing: Backing, extra: &[(&str, &str)]) -> Self {
        let data_dir = tempdir::TempDir::new();
        let clock = Arc::new(ManualClock::new(example_time()));
        let app =
            App::with_store(test_config(&data_dir.0, extra), store, clock.clone(), None).unwrap();
        Self {
            router: router(app.state.clone()),
            state: app.state,
            clock,
            backing: Some(backing),
            _data_dir: data_dir,
        }
    }

    pub(crate) async fn sqlite(extra: &[(&str, &str)]) -> Self {
        let temp = fresh_sqlite().await;
        let store: Arc<dyn Store> = Arc::new(temp.store.clone());
        Self::build(store, Backing::Sqlite(temp), extra)
    }

    /// `None` (test skipped loudly) only outside CI when PostgreSQL is unreachable.
    pub(crate) async fn postgres(extra: &[(&str, &str)]) -> Option<Self> {
        let temp = fresh_postgres().await?;
        let store: Arc<dyn Store> = Arc::new(temp.store.clone());
        Some(Self::build(store, Backing::Postgres(temp), extra))
    }

    pub(crate) async fn finish(mut self) {
        if let Some(Backing::Postgres(temp)) = self.backing.take() {
            temp.drop_database().await;
        }
    }

    /// Closes the database connections, as if the database went away.
    pub(crate) async fn close_database(&self) {
        if let Some(Backing::Postgres(temp)) = &self.backing {
            temp.store.pool().close().await;
        }
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub(crate) fn clock_now(&self) -> DateTime<Utc> {
        vigilops_core::clock::Clock::now(self.clock.as_ref())
    }

    /// Sends a request; returns status, headers and the JSON body (`Null` when empty).
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    /// Registers a user and returns its access token.
    pub(crate) async fn register(&self, email: &str) -> String {
        let reply = self
            .call(
                "POST",
                "/api/v1/auth/register",
                None,
                Some(json!({"email": email, "name": "Test", "password": "correct-horse"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    /// A fresh access token for the admin of [`Self::admin_and_agent_token`] (access tokens
    /// expire after two hours of the test clock).
    pub(crate) async fn relogin_admin(&self) -> String {
        let reply = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "admin@example.com", "password": "correct-horse"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a user with `role` (`viewer`, `operator` or `admin`) as `admin` and returns its
    /// access token.
    pub(crate) async fn user_with_role(&self, admin: &str, role: &str) -> String {
        let email = format!("{role}@example.com");
        let created = self
            .call(
                "POST",
                "/api/v1/users",
                Some(admin),
                Some(json!({"email": email, "name": role, "password": "correct-horse", "role": role})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let login = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": "correct-horse"})),
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
        login.body["access_token"].as_str().unwrap().to_owned()
    }

    /// The first user (admin) and one agent token's plaintext.
    pub(crate) async fn admin_and_agent_token(&self) -> (String, String) {
        let admin = self.register("admin@example.com").await;
        let token = self.agent_token(&admin, "lab").await;
        (admin, token)
    }

    pub(crate) async fn agent_token(&self, admin: &str, name: &str) -> String {
        let reply = self
            .call(
                "POST",
                "/api/v1/agent-tokens",
                Some(admin),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    /// Serves the app's router on a real socket; returns its address.
    pub(crate) async fn listen(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = self.router.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        address
    }

    /// Two replicas over one fresh SQLite store, one clock and one Redis bus, as `REDIS_URL`
    /// makes them. `None` (loudly) outside CI when Redis is unreachable; a failure under CI.
    pub(crate) async fn sqlite_replicas_on_redis() -> Option<(Self, Self)> {
        use vigilops_core::bus::RedisBus;
        let url = std::env::var("VIGILOPS_TEST_REDIS")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
        let client = redis::Client::open(url).unwrap();
        let manager = match redis::aio::ConnectionManager::new(client.clone()).await {
            Ok(manager) => manager,
            Err(error) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "Redis unreachable under CI=true: {error}"
                );
                eprintln!("SKIPPING: Redis unreachable: {error}");
                return None;
            }
        };
        let temp = fresh_sqlite().await;
        let store: Arc<dyn Store> = Arc::new(temp.store.clone());
        let clock = Arc::new(ManualClock::new(example_time()));
        let replica = |backing: Option<Backing>| {
            let data_dir = tempdir::TempDir::new();
            let app = App::with_store_and_bus(
                test_config(&data_dir.0, &[]),
                Arc::clone(&store),
                clock.clone(),
                Some(manager.clone()),
                Arc::new(RedisBus::new(client.clone(), manager.clone())),
            )
            .unwrap();
            Self {
                router: router(app.state.clone()),
                state: app.state,
                clock: clock.clone(),
                backing,
                _data_dir: data_dir,
            }
        };
        Some((replica(Some(Backing::Sqlite(temp))), replica(None)))
    }

    /// Registers a host with `hostname` under `agent` and returns its id.
    /// The alerts of alert rule `rule_id` (up to 100), once the engine has taken everything
    /// observed so far.
    pub(crate) async fn alerts_of_rule(&self, rule_id: i64) -> Vec<vigilops_core::model::Alert> {
        self.state.engine.flush().await;
        let filter = vigilops_core::model::AlertFilter {
            rule_id: Some(rule_id),
            page: vigilops_core::model::Page {
                page: 1,
                page_size: 100,
            },
            ..vigilops_core::model::AlertFilter::default()
        };
        self.state.store.list_alerts(&filter).await.unwrap().0
    }

    pub(crate) async fn register_host(&self, agent: &str, hostname: &str) -> i64 {
        let reply = self
            .call(
                "POST",
                "/api/v1/agent/register",
                Some(agent),
                Some(json!({"hostname": hostname})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body["host_id"].as_i64().unwrap()
    }
}

/// A client WebSocket.
pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame as JSON (pings and pongs skipped); panics after 3 s without one.
pub(crate) async fn next_json(socket: &mut Socket) -> Value {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(3), socket.next())
            .await
            .expect("a frame within 3 s")
            .expect("socket open")
            .unwrap();
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Value,
}

/// Reads one of the recorded example bodies of the original agent 0.2.5 (byte-for-byte copies
/// of `shared/protocol/examples/`).
pub(crate) fn example(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/original-agent/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {path}: {error}"));
    serde_json::from_str(&text).unwrap()
}

/// Generates one test per backend for an `async fn(TestApp)` scenario.
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:ident) => {
        $crate::on_both_backends!($scenario, &[]);
    };
    ($scenario:ident, $env:expr) => {
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                let app = $crate::support::TestApp::sqlite($env).await;
                super::$scenario(&app).await;
                app.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(app) = $crate::support::TestApp::postgres($env).await else {
                    return;
                };
                super::$scenario(&app).await;
                app.finish().await;
            }
        }
    };
}
