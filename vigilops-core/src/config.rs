//! Server configuration: defaults, then the environment (our `VIGILOPS_*` names and the
//! original's names such as `DATABASE_URL`, `JWT_SECRET_KEY`), then command-line flags (applied
//! by the binary). Secrets are redacted in `Debug`.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The JWT secret the original shipped with; refused in production.
pub const DEFAULT_JWT_SECRET: &str = "change-me-in-production";
/// The original server's port.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8001";

/// A secret string whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

/// A URL whose password is hidden in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionUrl(pub String);

impl ConnectionUrl {
    /// The URL with any `user:password@` password replaced.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://") else {
            return url.clone();
        };
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => format!(
                "{}://{}:***{}",
                &url[..scheme_end],
                &authority[..colon],
                &rest[at..]
            ),
            _ => url.clone(),
        }
    }
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?}", self.redacted())
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://…`; `None` means the embedded SQLite file in `data_dir`.
    pub database_url: Option<ConnectionUrl>,
    /// `redis://…`; `None` means the in-process bus.
    pub redis_url: Option<ConnectionUrl>,
    /// `None` means: generate one and keep it in `data_dir` (refused in production).
    pub jwt_secret: Option<Secret>,
    pub jwt_algorithm: String,
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    /// `ENVIRONMENT=production` turns on the strict checks.
    pub production: bool,
    pub allow_registration: bool,
    /// Exact origins allowed by CORS (`CORS_ORIGINS`, comma separated).
    pub cors_origins: Vec<String>,
    /// Seconds without heartbeat before a host is offline.
    pub heartbeat_timeout_seconds: i64,
    /// Days log lines are kept (`LOG_RETENTION_DAYS`, 7) unless the setting says otherwise.
    pub log_retention_days: i64,
    /// Days database samples are kept (`DB_METRIC_RETENTION_DAYS`, 30) unless the setting
    /// says otherwise.
    pub db_metric_retention_days: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma separated).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Concurrent metric writers (`VIGILOPS_METRIC_WRITERS`); `None` picks per backend.
    pub metric_writers: Option<usize>,
    /// The language model (`AI_API_BASE`, `AI_API_KEY`, `AI_MODEL`, …); without a key, AI
    /// answers "not configured" and root cause uses the deterministic correlator.
    pub llm: crate::ai::LlmConfig,
    /// The optional external memory service (`MEMORY_API_URL`, unless `MEMORY_ENABLED=false`).
    pub memory_api_url: Option<String>,
    /// `AI_AUTO_SCAN=true`: a log analysis every `ai_scan_minutes` (once per cluster).
    pub ai_auto_scan: bool,
    /// `VIGILOPS_AI_SCAN_MINUTES`, default the original's 30.
    pub ai_scan_minutes: i64,
    /// The time zone of report periods and schedules (`VIGILOPS_REPORT_TZ`, a fixed offset
    /// such as `+08:00`; default the original's UTC+8).
    pub report_tz: chrono::FixedOffset,
    /// Auto-remediation (`AGENT_ENABLED`, `AGENT_DRY_RUN`, `AGENT_MAX_AUTO_PER_HOUR`, …).
    pub remediation: crate::remediation::settings::FlowSettings,
}

/// A configuration value is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable has a malformed value.
    #[error("invalid value for `{name}`: {reason}")]
    Invalid { name: String, reason: String },
    /// Production mode with a weak or default JWT secret.
    #[error(
        "refusing to start in production: JWT_SECRET_KEY must be set to a random value of at least 32 bytes (not the default)"
    )]
    WeakSecretInProduction,
    /// The data directory or secret file could not be used.
    #[error("failed to use `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn parse<T: std::str::FromStr>(
    env: &HashMap<String, String>,
    name: &str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    match env
        .get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
    {
        None => Ok(default),
        Some(value) => value.parse().map_err(|error: T::Err| ConfigError::Invalid {
            name: name.to_owned(),
            reason: error.to_string(),
        }),
    }
}

fn flag(env: &HashMap<String, String>, name: &str) -> bool {
    env.get(name).is_some_and(|value| {
        matches!(
            value.trim().to_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

fn non_empty(env: &HashMap<String, String>, name: &str) -> Option<String> {
    env.get(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

impl ServerConfig {
    /// Reads the configuration from environment variables (pass `std::env::vars().collect()`).
    pub fn from_env(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let listen = non_empty(env, "VIGILOPS_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen =
            listen
                .parse()
                .map_err(|error: std::net::AddrParseError| ConfigError::Invalid {
                    name: "VIGILOPS_LISTEN".to_owned(),
                    reason: error.to_string(),
                })?;
        let data_dir = non_empty(env, "VIGILOPS_DATA_DIR")
            .map_or_else(|| PathBuf::from("data"), PathBuf::from);
        let database_url = non_empty(env, "DATABASE_URL").or_else(|| {
            // The original's discrete variables, used only when POSTGRES_HOST is given.
            non_empty(env, "POSTGRES_HOST").map(|host| {
                format!(
                    "postgres://{}:{}@{}:{}/{}",
                    non_empty(env, "POSTGRES_USER").unwrap_or_else(|| "vigilops".to_owned()),
                    non_empty(env, "POSTGRES_PASSWORD")
                        .unwrap_or_else(|| "vigilops_dev_password".to_owned()),
                    host,
                    non_empty(env, "POSTGRES_PORT").unwrap_or_else(|| "5432".to_owned()),
                    non_empty(env, "POSTGRES_DB").unwrap_or_else(|| "vigilops".to_owned()),
                )
            })
        });
        let redis_url = non_empty(env, "REDIS_URL").or_else(|| {
            non_empty(env, "REDIS_HOST").map(|host| {
                let auth = non_empty(env, "REDIS_PASSWORD")
                    .map(|password| format!(":{password}@"))
                    .unwrap_or_default();
                format!(
                    "redis://{auth}{host}:{}/0",
                    non_empty(env, "REDIS_PORT").unwrap_or_else(|| "6379".to_owned())
                )
            })
        });
        let production = non_empty(env, "ENVIRONMENT")
            .is_some_and(|value| value.eq_ignore_ascii_case("production"));
        let jwt_secret = non_empty(env, "JWT_SECRET_KEY");
        if production
            && jwt_secret
                .as_deref()
                .is_none_or(|secret| secret == DEFAULT_JWT_SECRET || secret.len() < 32)
        {
            return Err(ConfigError::WeakSecretInProduction);
        }
        let jwt_secret = jwt_secret
            .filter(|secret| secret != DEFAULT_JWT_SECRET)
            .map(Secret);
        Ok(Self {
            listen,
            data_dir,
            database_url: database_url.map(ConnectionUrl),
            redis_url: redis_url.map(ConnectionUrl),
            jwt_secret,
            jwt_algorithm: non_empty(env, "JWT_ALGORITHM").unwrap_or_else(|| "HS256".to_owned()),
            access_token_minutes: parse(env, "JWT_ACCESS_TOKEN_EXPIRE_MINUTES", 120)?,
            refresh_token_days: parse(env, "JWT_REFRESH_TOKEN_EXPIRE_DAYS", 7)?,
            production,
            allow_registration: flag(env, "ALLOW_REGISTRATION"),
            cors_origins: non_empty(env, "CORS_ORIGINS")
                .map(|origins| {
                    origins
                        .split(',')
                        .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                        .filter(|origin| !origin.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            heartbeat_timeout_seconds: parse(env, "VIGILOPS_HEARTBEAT_TIMEOUT", 300)?,
            log_retention_days: parse(env, "LOG_RETENTION_DAYS", 7)?,
            db_metric_retention_days: parse(env, "DB_METRIC_RETENTION_DAYS", 30)?,
            llm: crate::ai::LlmConfig::from_env(env).map_err(|error| match error {
                crate::ai::LlmError::InvalidConfig { name, reason } => {
                    ConfigError::Invalid { name, reason }
                }
                other => ConfigError::Invalid {
                    name: "AI_API_BASE".to_owned(),
                    reason: other.to_string(),
                },
            })?,
            memory_api_url: non_empty(env, "MEMORY_API_URL").filter(|_| {
                non_empty(env, "MEMORY_ENABLED").is_none_or(|value| {
                    !matches!(value.to_ascii_lowercase().as_str(), "false" | "0" | "no")
                })
            }),
            ai_auto_scan: flag(env, "AI_AUTO_SCAN"),
            ai_scan_minutes: parse(env, "VIGILOPS_AI_SCAN_MINUTES", 30_i64)?.max(1),
            report_tz: match non_empty(env, "VIGILOPS_REPORT_TZ") {
                None => chrono::FixedOffset::east_opt(crate::report::DEFAULT_TZ_SECONDS)
                    .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc)),
                Some(text) => {
                    crate::report::parse_utc_offset(&text).ok_or_else(|| ConfigError::Invalid {
                        name: "VIGILOPS_REPORT_TZ".to_owned(),
                        reason: format!("`{text}` is not a UTC offset such as +08:00"),
                    })?
                }
            },
            remediation: crate::remediation::settings::FlowSettings {
                // Off unless asked for, and a dry run unless `AGENT_DRY_RUN=false` (the original's
                // defaults): nothing changes a host by accident.
                enabled: flag(env, "AGENT_ENABLED"),
                dry_run: non_empty(env, "AGENT_DRY_RUN").is_none_or(|value| {
                    !matches!(value.to_lowercase().as_str(), "false" | "0" | "no" | "off")
                }),
                max_auto_per_hour: parse(env, "AGENT_MAX_AUTO_PER_HOUR", 10_i64)?.max(0),
                approval_minutes: parse(env, "VIGILOPS_APPROVAL_MINUTES", 60_i64)?.max(1),
                runbook_dir: non_empty(env, "VIGILOPS_RUNBOOK_DIR").map(PathBuf::from),
                ..crate::remediation::settings::FlowSettings::default()
            },
            metric_writers: match non_empty(env, "VIGILOPS_METRIC_WRITERS") {
                None => None,
                Some(_) => Some(parse(env, "VIGILOPS_METRIC_WRITERS", 1_usize)?.clamp(1, 64)),
            },
            trusted_proxies: non_empty(env, "TRUSTED_PROXIES")
                .map(|proxies| {
                    proxies
                        .split(',')
                        .map(str::trim)
                        .filter(|proxy| !proxy.is_empty())
                        .map(|proxy| {
                            proxy.parse().map_err(|error: std::net::AddrParseError| {
                                ConfigError::Invalid {
                                    name: "TRUSTED_PROXIES".to_owned(),
                                    reason: format!("`{proxy}`: {error}"),
                                }
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default(),
        })
    }

    /// The database URL to open: the configured one, or the SQLite file in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.0.clone(),
            None => format!("sqlite://{}", self.data_dir.join("vigilops.db").display()),
        }
    }

    /// The JWT secret: the configured one, or one generated once and kept (mode 0600) in the
    /// data directory, so tokens survive restarts.
    pub fn resolve_jwt_secret(&self) -> Result<Secret, ConfigError> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(secret.clone());
        }
        if self.production {
            return Err(ConfigError::WeakSecretInProduction);
        }
        load_or_create_secret(&self.data_dir.join("jwt_secret"))
    }
}

fn load_or_create_secret(path: &Path) -> Result<Secret, ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(Secret(text.trim().to_owned())),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io(error)),
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut bytes = [0_u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, secret.as_bytes()).map_err(io)?;
    Ok(Secret(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let config = ServerConfig::from_env(&env(&[])).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:8001");
        assert!(config.database_url.is_none());
        assert!(config.effective_database_url().starts_with("sqlite://"));
        assert_eq!(config.heartbeat_timeout_seconds, 300);
    }

    #[test]
    fn production_refuses_weak_secrets() {
        for secret in [None, Some(DEFAULT_JWT_SECRET), Some("short")] {
            let mut pairs = vec![("ENVIRONMENT", "production")];
            if let Some(secret) = secret {
                pairs.push(("JWT_SECRET_KEY", secret));
            }
            assert!(matches!(
                ServerConfig::from_env(&env(&pairs)),
                Err(ConfigError::WeakSecretInProduction)
            ));
        }
        let strong = "0123456789abcdef0123456789abcdef";
        assert!(
            ServerConfig::from_env(&env(&[
                ("ENVIRONMENT", "production"),
                ("JWT_SECRET_KEY", strong)
            ]))
            .is_ok()
        );
    }

    #[test]
    fn original_postgres_variables_build_a_url_and_debug_hides_passwords() {
        let config = ServerConfig::from_env(&env(&[
            ("POSTGRES_HOST", "db"),
            ("POSTGRES_PASSWORD", "hunter2"),
            ("JWT_SECRET_KEY", "supersecretsupersecretsupersecret"),
        ]))
        .unwrap();
        assert_eq!(
            config.effective_database_url(),
            "postgres://vigilops:hunter2@db:5432/vigilops"
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("supersecret"), "{debug}");
    }

    #[test]
    fn generated_secret_is_kept() {
        let dir = std::env::temp_dir().join(format!("vigilops-secret-{}", uuid::Uuid::new_v4()));
        let config =
            ServerConfig::from_env(&env(&[("VIGILOPS_DATA_DIR", dir.to_str().unwrap())])).unwrap();
        let first = config.resolve_jwt_secret().unwrap();
        let second = config.resolve_jwt_secret().unwrap();
        assert_eq!(first, second);
        assert_eq!(first.0.len(), 64);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_report_time_zone_is_a_fixed_offset_defaulting_to_utc_plus_8() {
        let offset = |pairs: &[(&str, &str)]| {
            ServerConfig::from_env(&env(pairs)).map(|config| config.report_tz.local_minus_utc())
        };
        assert_eq!(offset(&[]).unwrap(), 8 * 3600);
        assert_eq!(
            offset(&[("VIGILOPS_REPORT_TZ", "-05:00")]).unwrap(),
            -5 * 3600
        );
        let error = offset(&[("VIGILOPS_REPORT_TZ", "Asia/Shanghai")]).unwrap_err();
        assert!(error.to_string().contains("VIGILOPS_REPORT_TZ"), "{error}");
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        let error = ServerConfig::from_env(&env(&[("JWT_ACCESS_TOKEN_EXPIRE_MINUTES", "soon")]))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("JWT_ACCESS_TOKEN_EXPIRE_MINUTES")
        );
    }
}
