//! The agent's YAML config file: the original agent's format, read unchanged, plus our extension
//! keys (`server.gzip`, `spool.*`, `discovery.rediscover_interval`, `remediation.enabled`).
//!
//! The file is walked as a YAML value rather than deserialized into strict structs, because the
//! original agent (Python, PyYAML) is lenient: unknown keys are ignored, `null` sections mean
//! "defaults", `discovery` is a bool or a mapping, durations are `15`, `"15s"` or `"1m"`, and YAML 1.1
//! booleans such as `yes`/`no` appear in real files.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};

/// Where the agent looks for its config file when `-c` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/vigilops/agent.yaml";

/// The server URL the original agent uses when the file names none.
pub const DEFAULT_SERVER_URL: &str = "http://localhost:8001";

/// The spool directory when `spool.dir` is not set.
pub const DEFAULT_SPOOL_DIR: &str = "/var/lib/vigilops-agent/spool";

/// The spool size limit when `spool.max_bytes` is not set (256 MiB, `deployment.md` §4).
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The default multiline start pattern of a log source: a line starting with a date or `[`.
pub const DEFAULT_MULTILINE_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}|^\[";

/// A commented example of every key the agent reads; `vigilops-agent config` writes this shape.
pub const EXAMPLE_CONFIG: &str = include_str!("../agent.example.yaml");

/// What loading or writing a config file can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error("config file `{}` not found", path.display())]
    NotFound { path: PathBuf },
    /// The file exists but could not be read.
    #[error("failed to read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error("failed to parse `{origin}`: {source}")]
    Parse {
        origin: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// A key holds a value of the wrong type or out of range.
    #[error("invalid `{key}`: {reason}")]
    Invalid { key: String, reason: String },
    /// Writing a config file failed.
    #[error("failed to write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The output file exists and overwriting was not asked for.
    #[error("`{}` already exists (use --force to overwrite it)", path.display())]
    Exists { path: PathBuf },
}

/// The whole agent configuration, with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Where to report and with which token.
    pub server: ServerConfig,
    /// How this host presents itself.
    pub host: HostConfig,
    /// System metrics collection.
    pub metrics: MetricsConfig,
    /// Manually configured service checks.
    pub services: Vec<ServiceCheckConfig>,
    /// Automatic service discovery.
    pub discovery: DiscoveryConfig,
    /// Log files to tail; entries without a `path` are skipped.
    pub log_sources: Vec<LogSourceConfig>,
    /// Databases to collect metrics from.
    pub databases: Vec<DatabaseConfig>,
    /// Extension: the on-disk spool that keeps reports while the server is unreachable.
    pub spool: SpoolConfig,
    /// Extension: whether remediation steps from the server are accepted at all.
    pub remediation: RemediationConfig,
}

/// `server:`.
#[derive(Clone, PartialEq)]
pub struct ServerConfig {
    /// Base URL without a trailing `/`.
    pub url: String,
    /// The agent token; `VIGILOPS_TOKEN`, then `NIGHTMEND_TOKEN`, override it.
    pub token: String,
    /// Extension (`server.gzip`, default true): send request bodies gzip-compressed
    /// (`Content-Encoding: gzip`, protocol §1). Turn it off for a server that does not accept
    /// compressed bodies, such as the original Python server.
    pub gzip: bool,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ServerConfig")
            .field("url", &self.url)
            .field("token", &redact(&self.token))
            .field("gzip", &self.gzip)
            .finish()
    }
}

/// `host:`. Empty strings mean "detect".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostConfig {
    /// Host identity; empty means the system hostname.
    pub name: String,
    /// Sent as `{"<tag>": true, …}`.
    pub tags: Vec<String>,
    /// 0.2.x: a friendlier name shown in the UI.
    pub display_name: String,
    /// 0.2.x: the address to report instead of the detected one.
    pub ip: String,
    /// 0.2.x: the private address to report.
    pub private_ip: String,
    /// 0.2.x: the public address to report; never looked up on external sites.
    pub public_ip: String,
}

/// `metrics:`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// Time between two samples (default 15 s).
    pub interval: Duration,
}

/// One entry of `services:`, with the `target` shorthand already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCheckConfig {
    /// Service name, unique per host.
    pub name: String,
    /// `http` or `tcp`; anything else is checked as `down` with "Unknown type".
    pub check_type: String,
    /// URL of an http check; empty for tcp.
    pub url: String,
    /// Host of a tcp check.
    pub host: String,
    /// Port of a tcp check; 0 when none was given.
    pub port: u16,
    /// Time between two checks (default 30 s).
    pub interval: Duration,
    /// Time limit of one check (default 10 s).
    pub timeout: Duration,
    /// Extension `expected_status`: an http check is up only with exactly this status.
    pub expected_status: Option<u16>,
    /// Extension `keyword`: an http check is up only if the body contains this text.
    pub keyword: Option<String>,
}

impl ServiceCheckConfig {
    /// The target registered with the server: the URL, else `host:port`.
    pub fn target(&self) -> String {
        if !self.url.is_empty() {
            self.url.clone()
        } else if self.port != 0 {
            format!("{}:{}", self.host, self.port)
        } else {
            self.host.clone()
        }
    }
}

/// `discovery:`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryConfig {
    /// Discover published ports of Docker containers.
    pub docker: bool,
    /// Discover listening sockets of host processes.
    pub host_services: bool,
    /// Check interval given to discovered services (default 30 s).
    pub interval: Duration,
    /// Extension: how often discovery re-runs (default 60 s).
    pub rediscover_interval: Duration,
}

/// One entry of `log_sources:`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSourceConfig {
    /// File path (the original supports one file per entry).
    pub path: String,
    /// Service name attached to each entry.
    pub service: String,
    /// Join continuation lines into one entry.
    pub multiline: bool,
    /// A line matching this starts a new entry.
    pub multiline_pattern: String,
    /// The file is in Docker's json-file format.
    pub docker: bool,
}

/// One entry of `databases:`.
#[derive(Clone, PartialEq)]
pub struct DatabaseConfig {
    /// Sent as `db_name`: the configured `name`, else `database`.
    pub name: String,
    /// `postgres` (default), `mysql`, `oracle` or `redis`.
    pub db_type: String,
    /// Server host (default `localhost`).
    pub host: String,
    /// Server port (default by type: mysql 3306, oracle 1521, redis 6379, else 5432).
    pub port: u16,
    /// Database to connect to.
    pub database: String,
    /// Login user.
    pub username: String,
    /// Login password; redacted in `Debug`.
    pub password: String,
    /// Time between two samples (default 60 s).
    pub interval: Duration,
    /// 0.2.x: connection time limit (default 10 s).
    pub connect_timeout: Duration,
    /// 0.2.x and oracle keys that only some engines read, kept verbatim.
    pub options: Mapping,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DatabaseConfig")
            .field("name", &self.name)
            .field("db_type", &self.db_type)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("interval", &self.interval)
            .field("connect_timeout", &self.connect_timeout)
            .field("options", &self.options)
            .finish()
    }
}

/// `spool:` (extension).
#[derive(Debug, Clone, PartialEq)]
pub struct SpoolConfig {
    /// Directory of the spool segments.
    pub dir: PathBuf,
    /// Size limit; the oldest records are dropped (and counted) beyond it.
    pub max_bytes: u64,
    /// Records older than this are dropped (and counted) instead of sent.
    pub max_age: Duration,
}

/// `remediation:` (extension).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemediationConfig {
    /// Whether the agent accepts remediation steps from the server (default false).
    pub enabled: bool,
    /// The `PATH` every command runs with (`remediation.path`); `None` means the system
    /// directories only. For hosts whose tools live elsewhere (NixOS, /opt), and for sandboxes.
    pub path: Option<String>,
}

fn redact(secret: &str) -> &'static str {
    if secret.is_empty() { "" } else { "<redacted>" }
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            server: ServerConfig {
                url: DEFAULT_SERVER_URL.to_owned(),
                token: String::new(),
                gzip: true,
            },
            host: HostConfig::default(),
            metrics: MetricsConfig {
                interval: Duration::from_secs(15),
            },
            services: Vec::new(),
            discovery: DiscoveryConfig {
                docker: true,
                host_services: true,
                interval: Duration::from_secs(30),
                rediscover_interval: Duration::from_secs(60),
            },
            log_sources: Vec::new(),
            databases: Vec::new(),
            spool: SpoolConfig {
                dir: PathBuf::from(DEFAULT_SPOOL_DIR),
                max_bytes: DEFAULT_SPOOL_MAX_BYTES,
                max_age: Duration::from_secs(24 * 3600),
            },
            remediation: RemediationConfig::default(),
        }
    }
}

impl AgentConfig {
    /// Reads `path` and applies the token environment variables of this process.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound {
                    path: path.to_owned(),
                }
            } else {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let config = Self::from_yaml(&text, &path.display().to_string())?;
        Ok(config.with_env_overrides(|name| std::env::var(name).ok()))
    }

    /// Parses the text of a config file; `origin` names it in errors. No environment is read.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let document: Value =
            serde_yaml_ng::from_str(text).map_err(|source| ConfigError::Parse {
                origin: origin.to_owned(),
                source,
            })?;
        let root = match &document {
            Value::Null => Section::empty(""),
            Value::Mapping(map) => Section::new("", Some(map)),
            _ => {
                return Err(invalid("(document)", "expected a mapping at the top level"));
            }
        };
        let mut config = Self::default();

        let server = root.section("server")?;
        config.server.url = server
            .string("url")?
            .unwrap_or(config.server.url)
            .trim_end_matches('/')
            .to_owned();
        config.server.token = server.string("token")?.unwrap_or_default();
        config.server.gzip = server.bool("gzip")?.unwrap_or(true);

        let host = root.section("host")?;
        config.host = HostConfig {
            name: host.string("name")?.unwrap_or_default(),
            tags: host.string_list("tags")?,
            display_name: host.string("display_name")?.unwrap_or_default(),
            ip: host.string("ip")?.unwrap_or_default(),
            private_ip: host.string("private_ip")?.unwrap_or_default(),
            public_ip: host.string("public_ip")?.unwrap_or_default(),
        };

        let metrics = root.section("metrics")?;
        if let Some(interval) = metrics.duration("interval")? {
            config.metrics.interval = interval;
        }
        if config.metrics.interval.is_zero() {
            return Err(invalid("metrics.interval", "must be greater than zero"));
        }

        config.services = root
            .sections("services")?
            .iter()
            .map(parse_service)
            .collect::<Result<_, _>>()?;

        config.discovery = parse_discovery(&root, config.discovery)?;

        config.log_sources = root
            .sections("log_sources")?
            .iter()
            .map(parse_log_source)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();

        config.databases = root
            .sections("databases")?
            .iter()
            .map(parse_database)
            .collect::<Result<_, _>>()?;

        let spool = root.section("spool")?;
        if let Some(dir) = spool.string("dir")? {
            config.spool.dir = PathBuf::from(dir);
        }
        if let Some(max_bytes) = spool.size("max_bytes")? {
            config.spool.max_bytes = max_bytes;
        }
        if let Some(max_age) = spool.duration("max_age")? {
            config.spool.max_age = max_age;
        }

        let remediation = root.section("remediation")?;
        config.remediation.enabled = remediation.bool("enabled")?.unwrap_or(false);
        if let Some(path) = remediation.string("path")? {
            // Only absolute directories: a relative entry would make lookups depend on the
            // working directory.
            if path
                .split(':')
                .any(|dir| dir.is_empty() || !dir.starts_with('/'))
            {
                return Err(invalid(
                    "remediation.path",
                    "must be absolute directories separated by ':'",
                ));
            }
            config.remediation.path = Some(path);
        }
        Ok(config)
    }

    /// Applies the token overrides: a non-empty `VIGILOPS_TOKEN` wins, then `NIGHTMEND_TOKEN` (0.2.x).
    pub fn with_env_overrides(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        for name in ["VIGILOPS_TOKEN", "NIGHTMEND_TOKEN"] {
            if let Some(token) = lookup(name).filter(|token| !token.trim().is_empty()) {
                self.server.token = token.trim().to_owned();
                break;
            }
        }
        self
    }
}

fn parse_service(section: &Section<'_>) -> Result<ServiceCheckConfig, ConfigError> {
    let mut url = section.string("url")?.unwrap_or_default();
    let mut host = section.string("host")?.unwrap_or_default();
    let mut port = section.port("port")?.unwrap_or(0);
    let target = section.string("target")?.unwrap_or_default();
    // `target` is a shorthand used only when neither `url` nor `host` is given.
    if !target.is_empty() && url.is_empty() && host.is_empty() {
        let resolved = resolve_target(&target);
        url = resolved.url;
        host = resolved.host;
        if resolved.port != 0 {
            port = resolved.port;
        }
    }
    Ok(ServiceCheckConfig {
        name: section.string("name")?.unwrap_or_default(),
        check_type: section
            .string("type")?
            .unwrap_or_else(|| "http".to_owned())
            .to_ascii_lowercase(),
        url,
        host,
        port,
        interval: section
            .duration("interval")?
            .unwrap_or(Duration::from_secs(30)),
        timeout: section
            .duration("timeout")?
            .unwrap_or(Duration::from_secs(10)),
        expected_status: match section.port("expected_status")? {
            Some(status @ 100..=599) => Some(status),
            Some(_) => {
                return Err(invalid(
                    &section.key_path("expected_status"),
                    "expected an HTTP status (100-599)",
                ));
            }
            None => None,
        },
        keyword: section
            .string("keyword")?
            .filter(|keyword| !keyword.is_empty()),
    })
}

/// A service `target` split the way the original agent splits it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// Set when the target is an `http://` or `https://` URL.
    pub url: String,
    /// The host part otherwise.
    pub host: String,
    /// The numeric part after the last `:`, or 0.
    pub port: u16,
}

/// Splits a `target`: an `http(s)://` URL becomes `url`; otherwise the part after the last `:`
/// becomes the port when it is numeric, and the rest (or the whole target) the host.
pub fn resolve_target(target: &str) -> ResolvedTarget {
    let target = target.trim();
    if target.starts_with("http://") || target.starts_with("https://") {
        return ResolvedTarget {
            url: target.to_owned(),
            ..ResolvedTarget::default()
        };
    }
    if let Some((host, port)) = target.rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
    {
        return ResolvedTarget {
            url: String::new(),
            host: host.to_owned(),
            port,
        };
    }
    ResolvedTarget {
        url: String::new(),
        host: target.to_owned(),
        port: 0,
    }
}

fn parse_discovery(
    root: &Section<'_>,
    defaults: DiscoveryConfig,
) -> Result<DiscoveryConfig, ConfigError> {
    let mut discovery = defaults;
    match root.get("discovery") {
        None | Some(Value::Null) => {}
        // The original's `false` disabled only Docker discovery; ours disables both kinds.
        Some(value @ (Value::Bool(_) | Value::String(_))) => {
            let enabled = as_bool(value).ok_or_else(|| invalid("discovery", "expected a bool"))?;
            discovery.docker = enabled;
            discovery.host_services = enabled;
        }
        Some(Value::Mapping(map)) => {
            let section = Section::new("discovery", Some(map));
            discovery.docker = section.bool("docker")?.unwrap_or(true);
            discovery.host_services = section.bool("host_services")?.unwrap_or(true);
            if let Some(interval) = section.duration("interval")? {
                discovery.interval = interval;
            }
            if let Some(interval) = section.duration("rediscover_interval")? {
                discovery.rediscover_interval = interval;
            }
        }
        Some(_) => return Err(invalid("discovery", "expected a bool or a mapping")),
    }
    Ok(discovery)
}

fn parse_log_source(section: &Section<'_>) -> Result<Option<LogSourceConfig>, ConfigError> {
    let path = section.string("path")?.unwrap_or_default();
    if path.is_empty() {
        tracing::warn!(key = %section.path, "log source without a path skipped");
        return Ok(None);
    }
    Ok(Some(LogSourceConfig {
        path,
        service: section.string("service")?.unwrap_or_default(),
        multiline: section.bool("multiline")?.unwrap_or(false),
        multiline_pattern: section
            .string("multiline_pattern")?
            .unwrap_or_else(|| DEFAULT_MULTILINE_PATTERN.to_owned()),
        docker: section.bool("docker")?.unwrap_or(false),
    }))
}

/// Keys of a database entry that are parsed into fields; the rest are kept in `options`.
const DATABASE_KEYS: [&str; 10] = [
    "name",
    "type",
    "host",
    "port",
    "database",
    "username",
    "password",
    "interval",
    "connect_timeout",
    "db_type",
];

fn parse_database(section: &Section<'_>) -> Result<DatabaseConfig, ConfigError> {
    let db_type = section
        .string("type")?
        .unwrap_or_else(|| "postgres".to_owned())
        .to_ascii_lowercase();
    let default_port = match db_type.as_str() {
        "mysql" => 3306,
        "oracle" => 1521,
        "redis" => 6379,
        _ => 5432,
    };
    let database = section.string("database")?.unwrap_or_default();
    let name = section
        .string("name")?
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| database.clone());
    let options = section
        .map
        .map(|map| {
            map.iter()
                .filter(|(key, _)| key.as_str().is_none_or(|key| !DATABASE_KEYS.contains(&key)))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(DatabaseConfig {
        name,
        db_type,
        host: section
            .string("host")?
            .unwrap_or_else(|| "localhost".to_owned()),
        port: section.port("port")?.unwrap_or(default_port),
        database,
        username: section.string("username")?.unwrap_or_default(),
        password: section.string("password")?.unwrap_or_default(),
        interval: section
            .duration("interval")?
            .unwrap_or(Duration::from_secs(60)),
        connect_timeout: section
            .duration("connect_timeout")?
            .unwrap_or(Duration::from_secs(10)),
        options,
    })
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// A mapping in the document together with its dotted path, for error messages.
struct Section<'a> {
    path: String,
    map: Option<&'a Mapping>,
}

impl<'a> Section<'a> {
    fn new(path: &str, map: Option<&'a Mapping>) -> Self {
        Self {
            path: path.to_owned(),
            map,
        }
    }

    fn empty(path: &str) -> Self {
        Self::new(path, None)
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value under `key`; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map
            .and_then(|map| map.get(key))
            .filter(|value| !value.is_null())
    }

    fn section(&self, key: &str) -> Result<Section<'a>, ConfigError> {
        match self.get(key) {
            None => Ok(Section::empty(&self.key_path(key))),
            Some(Value::Mapping(map)) => Ok(Section::new(&self.key_path(key), Some(map))),
            Some(_) => Err(invalid(&self.key_path(key), "expected a mapping")),
        }
    }

    /// A list of mappings; a `null` list is empty.
    fn sections(&self, key: &str) -> Result<Vec<Section<'a>>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let path = format!("{}[{index}]", self.key_path(key));
                    match item {
                        Value::Mapping(map) => Ok(Section::new(&path, Some(map))),
                        _ => Err(invalid(&path, "expected a mapping")),
                    }
                })
                .collect(),
            Some(_) => Err(invalid(&self.key_path(key), "expected a list")),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.get(key)
            .map(|value| {
                scalar_text(value).ok_or_else(|| invalid(&self.key_path(key), "expected a string"))
            })
            .transpose()
    }

    fn string_list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .filter(|item| !item.is_null())
                .map(|item| {
                    scalar_text(item)
                        .ok_or_else(|| invalid(&self.key_path(key), "expected a list of strings"))
                })
                .collect(),
            // A single tag written without brackets.
            Some(value) => scalar_text(value)
                .map(|text| vec![text])
                .ok_or_else(|| invalid(&self.key_path(key), "expected a list of strings")),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.get(key)
            .map(|value| {
                as_bool(value).ok_or_else(|| invalid(&self.key_path(key), "expected a bool"))
            })
            .transpose()
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        self.get(key)
            .map(|value| {
                let parsed = match value {
                    Value::Number(number) => number.as_f64().and_then(seconds),
                    Value::String(text) => parse_duration(text),
                    _ => None,
                };
                parsed.ok_or_else(|| {
                    invalid(
                        &self.key_path(key),
                        "expected seconds or a duration such as \"15s\", \"1m\" or \"24h\"",
                    )
                })
            })
            .transpose()
    }

    fn size(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        self.get(key)
            .map(|value| {
                let parsed = match value {
                    Value::Number(number) => number.as_u64(),
                    Value::String(text) => parse_size(text),
                    _ => None,
                };
                parsed.ok_or_else(|| {
                    invalid(
                        &self.key_path(key),
                        "expected bytes or a size such as \"100MB\" or \"256MiB\"",
                    )
                })
            })
            .transpose()
    }

    fn port(&self, key: &str) -> Result<Option<u16>, ConfigError> {
        self.get(key)
            .map(|value| {
                let parsed = match value {
                    Value::Number(number) => number.as_u64().and_then(|n| u16::try_from(n).ok()),
                    Value::String(text) => text.trim().parse::<u16>().ok(),
                    _ => None,
                };
                parsed.ok_or_else(|| invalid(&self.key_path(key), "expected a port number"))
            })
            .transpose()
    }
}

/// The text of a scalar, as Python's `str()` would give it for the values found in real files.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A YAML bool, also in the YAML 1.1 spellings PyYAML accepts (`yes`, `no`, `on`, `off`).
fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" => Some(true),
            "false" | "no" | "n" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn seconds(value: f64) -> Option<Duration> {
    if value.is_finite() && value >= 0.0 {
        Duration::try_from_secs_f64(value).ok()
    } else {
        None
    }
}

/// Parses `15`, `15s`, `1m`, `24h`, `7d` or `500ms` (whitespace and case ignored).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim().to_ascii_lowercase();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => return None,
    };
    seconds(number * factor)
}

/// Parses a byte size: `1048576`, `100MB` (powers of 1000), `256MiB` or `256M` (powers of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = (number * factor).round();
    if bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Range checked above.
        Some(bytes as u64)
    } else {
        None
    }
}

/// The summary `vigilops-agent check` prints, in the original agent's shape.
pub fn summary(config: &AgentConfig, path: &Path) -> String {
    let host = if config.host.name.is_empty() {
        "(auto-detect)"
    } else {
        config.host.name.as_str()
    };
    // Only the prefix (`vop_` + 4 hex, as the server displays it) ever leaves the config.
    let token = if config.server.token.is_empty() {
        "(missing)".to_owned()
    } else {
        let prefix: String = config.server.token.chars().take(8).collect();
        format!("{prefix}…")
    };
    format!(
        "✅ Config OK: {path}\n   Server: {server}\n   Token: {token}\n   Host: {host}\n   \
         Metrics interval: {interval}s\n   Services: {services}\n   Log sources: {logs}\n   \
         Databases: {databases}",
        path = path.display(),
        server = config.server.url,
        interval = config.metrics.interval.as_secs_f64(),
        services = config.services.len(),
        logs = config.log_sources.len(),
        databases = config.databases.len(),
    )
}

/// The text of a new config file for `server_url` and `token`, in the original format with our
/// extension keys commented out at their defaults.
pub fn render_config(server_url: &str, token: &str) -> String {
    // JSON strings are valid YAML double-quoted scalars, so this quotes any character safely.
    let quote = |text: &str| serde_json::Value::String(text.to_owned()).to_string();
    EXAMPLE_CONFIG
        .replacen(
            "url: http://localhost:8001",
            &format!("url: {}", quote(server_url.trim_end_matches('/'))),
            1,
        )
        .replacen("token: \"\"", &format!("token: {}", quote(token)), 1)
}

/// Writes a config file readable only by its owner (it holds the token), creating its directory.
/// An existing file is replaced only when `overwrite` is set.
pub fn write_config_file(path: &Path, text: &str, overwrite: bool) -> Result<(), ConfigError> {
    let write_error = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    if path.exists() && !overwrite {
        return Err(ConfigError::Exists {
            path: path.to_owned(),
        });
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(write_error)?;
    file.write_all(text.as_bytes()).map_err(write_error)?;
    file.sync_all().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full example of `deployment.md` §4, verbatim.
    const ORIGINAL_EXAMPLE: &str = r#"
server:
  url: http://localhost:8001      # trailing "/" stripped
  token: ""                       # env VIGILOPS_TOKEN overrides (0.2.x: NIGHTMEND_TOKEN)
host:
  name: ""                        # empty → system hostname
  tags: []                        # list of strings, sent as {"tag": true}
  # 0.2.x: display_name, ip, private_ip, public_ip (all "", meaning auto-detect)
metrics:
  interval: 15
services:                         # manual checks
  - name: backend-health
    type: http                    # http | tcp
    url: http://127.0.0.1:8001/health   # or host: + port:, or target: (URL or host:port)
    interval: 30
    timeout: 10
discovery:                        # a bool, or a mapping
  docker: true
  host_services: true
  interval: 30                    # check interval given to discovered services
log_sources:
  - path: /var/log/app.log        # required; entries without a path are skipped
    service: app
    multiline: false
    multiline_pattern: '^\d{4}-\d{2}-\d{2}|^\['
    docker: false                 # Docker json-file format
databases:
  - name: pg-main                 # sent as db_name (falls back to database)
    type: postgres                # postgres | mysql | oracle (0.2.x adds redis)
    host: localhost
    port: 5432                    # default 3306 for mysql, else 5432 (0.2.x: oracle 1521, redis 6379)
    database: app
    username: monitor
    password: secret
    interval: 60
    # oracle: container_name, oracle_sid, oracle_home
    # 0.2.x: connect_timeout (10), connection_mode (direct|docker|auto), service_name,
    #        redis_mode (single|sentinel|cluster), sentinel_master, connection_threshold (0.8)
"#;

    fn parse(text: &str) -> AgentConfig {
        AgentConfig::from_yaml(text, "test.yaml").unwrap()
    }

    fn parse_error(text: &str) -> String {
        AgentConfig::from_yaml(text, "test.yaml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_original_full_example_parses() {
        let config = parse(ORIGINAL_EXAMPLE);
        assert_eq!(config.server.url, "http://localhost:8001");
        assert_eq!(config.server.token, "");
        assert_eq!(config.host, HostConfig::default());
        assert_eq!(config.metrics.interval, Duration::from_secs(15));
        assert_eq!(
            config.services,
            vec![ServiceCheckConfig {
                name: "backend-health".into(),
                check_type: "http".into(),
                url: "http://127.0.0.1:8001/health".into(),
                host: String::new(),
                port: 0,
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(10),
                expected_status: None,
                keyword: None,
            }]
        );
        assert_eq!(config.services[0].target(), "http://127.0.0.1:8001/health");
        assert!(config.discovery.docker && config.discovery.host_services);
        assert_eq!(config.discovery.interval, Duration::from_secs(30));
        assert_eq!(
            config.log_sources,
            vec![LogSourceConfig {
                path: "/var/log/app.log".into(),
                service: "app".into(),
                multiline: false,
                multiline_pattern: DEFAULT_MULTILINE_PATTERN.into(),
                docker: false,
            }]
        );
        let database = &config.databases[0];
        assert_eq!(database.name, "pg-main");
        assert_eq!(database.db_type, "postgres");
        assert_eq!((database.host.as_str(), database.port), ("localhost", 5432));
        assert_eq!(database.database, "app");
        assert_eq!(database.username, "monitor");
        assert_eq!(database.password, "secret");
        assert_eq!(database.interval, Duration::from_secs(60));
        // Extension keys keep their defaults in an original file.
        assert_eq!(config.spool.dir, PathBuf::from(DEFAULT_SPOOL_DIR));
        assert_eq!(config.spool.max_bytes, DEFAULT_SPOOL_MAX_BYTES);
        assert_eq!(config.spool.max_age, Duration::from_secs(86_400));
        assert!(!config.remediation.enabled);
        assert_eq!(config.remediation.path, None);
    }

    #[test]
    fn the_command_path_must_be_absolute_directories() {
        let config = parse("remediation: {enabled: true, path: '/opt/tools/bin:/usr/bin'}");
        assert!(config.remediation.enabled);
        assert_eq!(
            config.remediation.path.as_deref(),
            Some("/opt/tools/bin:/usr/bin")
        );
        for bad in ["bin:/usr/bin", "/usr/bin::/bin", ""] {
            let yaml = format!("remediation: {{path: '{bad}'}}");
            let error = AgentConfig::from_yaml(&yaml, "agent.yaml")
                .err()
                .unwrap_or_else(|| panic!("{bad:?} must be refused"));
            assert!(error.to_string().contains("remediation.path"), "{error}");
        }
    }

    #[test]
    fn the_embedded_example_parses_and_secrets_are_redacted() {
        let config = parse(EXAMPLE_CONFIG);
        assert_eq!(config.server.url, DEFAULT_SERVER_URL);
        let rendered = render_config("https://ops.example.com/", "vop_secret\"quoted");
        let config = parse(&rendered);
        assert_eq!(config.server.url, "https://ops.example.com");
        assert_eq!(config.server.token, "vop_secret\"quoted");
        let debug = format!("{config:?}");
        assert!(!debug.contains("vop_secret"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn empty_and_null_sections_mean_defaults() {
        assert_eq!(parse(""), AgentConfig::default());
        let config = parse("server:\nhost:\nservices:\nlog_sources:\ndatabases:\ndiscovery:\n");
        assert_eq!(config, AgentConfig::default());
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let config = parse(
            "server: {url: 'http://s:1/', token: t, proxy: x}\nfuture: [1]\ndiscovery: {process: true}\n",
        );
        assert_eq!(config.server.url, "http://s:1");
        assert!(config.server.gzip, "gzip is on unless turned off");
        assert!(!parse("server: {gzip: false}").server.gzip);
        assert!(!parse("server: {gzip: no}").server.gzip);
        assert!(config.discovery.docker);
    }

    #[test]
    fn durations_accept_seconds_and_suffixes() {
        for (text, expected) in [
            ("15", 15.0),
            ("15s", 15.0),
            ("1m", 60.0),
            (" 2M ", 120.0),
            ("24h", 86_400.0),
            ("7d", 604_800.0),
            ("500ms", 0.5),
            ("1.5m", 90.0),
        ] {
            assert_eq!(
                parse_duration(text),
                Some(Duration::from_secs_f64(expected)),
                "{text}"
            );
        }
        for text in ["", "s", "-1", "15 parsecs", "1m30"] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
        assert_eq!(
            parse("metrics: {interval: \"1m\"}").metrics.interval,
            Duration::from_secs(60)
        );
        assert_eq!(
            parse("metrics: {interval: 5}").metrics.interval,
            Duration::from_secs(5)
        );
        assert_eq!(
            parse("spool: {max_age: 2h, max_bytes: 100MB, dir: /tmp/s}").spool,
            SpoolConfig {
                dir: PathBuf::from("/tmp/s"),
                max_bytes: 100_000_000,
                max_age: Duration::from_secs(7200),
            }
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        assert!(parse_error("metrics: {interval: soon}").contains("`metrics.interval`"));
        assert!(parse_error("metrics: {interval: 0}").contains("greater than zero"));
        assert!(parse_error("services: [{name: a, port: 70000}]").contains("`services[0].port`"));
        assert!(parse_error("discovery: 3").contains("`discovery`"));
        assert!(parse_error("server: [1]").contains("`server`"));
        assert!(parse_error("server: {url: [").contains("failed to parse `test.yaml`"));
    }

    #[test]
    fn target_rules() {
        let check = |target: &str, url: &str, host: &str, port: u16| {
            assert_eq!(
                resolve_target(target),
                ResolvedTarget {
                    url: url.into(),
                    host: host.into(),
                    port
                },
                "{target}"
            );
        };
        check("http://a:8080/health", "http://a:8080/health", "", 0);
        check("https://a/x", "https://a/x", "", 0);
        check("db.local:5432", "", "db.local", 5432);
        check("[::1]:6379", "", "[::1]", 6379);
        check("a:b:9000", "", "a:b", 9000);
        check("db.local:pg", "", "db.local:pg", 0);
        check("db.local", "", "db.local", 0);

        // `target` is used only when neither `url` nor `host` is given.
        let config = parse(
            "services:\n\
             - {name: t1, type: tcp, target: 'redis:6379'}\n\
             - {name: t2, target: 'http://x/h'}\n\
             - {name: t3, type: tcp, host: h, port: 1, target: 'other:2'}\n\
             - {name: t4, url: 'http://u', target: 'other:2'}\n\
             - {name: t5, type: TCP, host: h, port: '22'}\n",
        );
        let targets: Vec<String> = config.services.iter().map(|s| s.target()).collect();
        assert_eq!(
            targets,
            ["redis:6379", "http://x/h", "h:1", "http://u", "h:22"]
        );
        assert_eq!(config.services[0].check_type, "tcp");
        assert_eq!(config.services[1].check_type, "http");
        assert_eq!(config.services[4].check_type, "tcp");
    }

    #[test]
    fn discovery_bool_disables_both_kinds() {
        let config = parse("discovery: false");
        assert!(!config.discovery.docker && !config.discovery.host_services);
        let config = parse("discovery: yes");
        assert!(config.discovery.docker && config.discovery.host_services);
        let config = parse("discovery: {docker: no, rediscover_interval: 2m}");
        assert!(!config.discovery.docker && config.discovery.host_services);
        assert_eq!(
            config.discovery.rediscover_interval,
            Duration::from_secs(120)
        );
    }

    #[test]
    fn log_sources_without_path_are_skipped_and_databases_get_defaults() {
        let config = parse(
            "log_sources: [{service: x}, {path: /a.log}]\n\
             databases:\n\
             - {type: mysql, database: shop}\n\
             - {type: redis, name: cache, redis_mode: sentinel}\n\
             - {type: oracle, oracle_sid: ORCL}\n",
        );
        assert_eq!(config.log_sources.len(), 1);
        assert_eq!(config.log_sources[0].path, "/a.log");
        let ports: Vec<u16> = config.databases.iter().map(|db| db.port).collect();
        assert_eq!(ports, [3306, 6379, 1521]);
        assert_eq!(config.databases[0].name, "shop");
        assert_eq!(
            config.databases[1].options.get("redis_mode"),
            Some(&Value::String("sentinel".into()))
        );
    }

    #[test]
    fn tags_become_strings() {
        let config = parse("host: {name: web-01, tags: [prod, 2, true]}");
        assert_eq!(config.host.name, "web-01");
        assert_eq!(config.host.tags, ["prod", "2", "true"]);
    }

    #[test]
    fn token_env_overrides_in_order() {
        let file = parse("server: {token: from-file}");
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        let token = |pairs| file.clone().with_env_overrides(env(pairs)).server.token;
        assert_eq!(token(&[]), "from-file");
        assert_eq!(token(&[("NIGHTMEND_TOKEN", "night")]), "night");
        assert_eq!(
            token(&[("NIGHTMEND_TOKEN", "night"), ("VIGILOPS_TOKEN", "vigil")]),
            "vigil"
        );
        // An empty variable does not wipe the configured token.
        assert_eq!(token(&[("VIGILOPS_TOKEN", "")]), "from-file");
    }

    #[test]
    fn check_summary() {
        let config = parse(ORIGINAL_EXAMPLE).with_env_overrides(|name| {
            (name == "VIGILOPS_TOKEN").then(|| "vop_3f9c0123456789abcdef".to_owned())
        });
        assert_eq!(
            summary(&config, Path::new("/etc/vigilops/agent.yaml")),
            "✅ Config OK: /etc/vigilops/agent.yaml\n   Server: http://localhost:8001\n   \
             Token: vop_3f9c…\n   Host: (auto-detect)\n   Metrics interval: 15s\n   \
             Services: 1\n   Log sources: 1\n   Databases: 1"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("256MiB"), Some(256 << 20));
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("100 MB"), Some(100_000_000));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn config_files_are_written_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("etc/vigilops/agent.yaml");
        write_config_file(&path, &render_config("http://s", "t"), false).unwrap();
        assert!(matches!(
            write_config_file(&path, "x", false),
            Err(ConfigError::Exists { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = AgentConfig::from_yaml(&std::fs::read_to_string(&path).unwrap(), "f").unwrap();
        assert_eq!(loaded.server.token, "t");
        assert!(matches!(
            AgentConfig::load(&dir.path().join("missing.yaml")),
            Err(ConfigError::NotFound { .. })
        ));
    }
}
