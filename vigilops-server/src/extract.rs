//! Extractors whose rejections share the API's error shape: JSON bodies, query strings and
//! paths (422 in FastAPI's shape), the current user with a minimum role, agent tokens, and the
//! client address.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::net::SocketAddr;
use vigilops_core::ingest::AgentIdentity;
use vigilops_core::model::{Role, User};

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Syntax errors, wrong types and missing fields are 422 with the field's path;
/// an oversized body is 413.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiJson<T>(pub T);

fn path_of(path: &serde_path_to_error::Path) -> Vec<String> {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

/// The field a serde "missing field `name`" error names.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// Parses `bytes` as JSON into `T`, with a FastAPI-shaped 422 on failure.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // The happy path parses once without tracking where it is (serde_path_to_error allocates
    // a string per object key); only a failed body is parsed again to name the bad field.
    if let Ok(value) = serde_json::from_slice::<T>(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut deserializer);
    // Trailing data after the JSON value is a syntax error too.
    let parsed = match (parsed, deserializer.end()) {
        (Ok(_), Err(_)) => {
            return Err(ApiError::validation(
                &["body"],
                "JSON decode error",
                "json_invalid",
            ));
        }
        (parsed, _) => parsed,
    };
    match parsed {
        Ok(value) => Ok(value),
        Err(error) => {
            let inner = error.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::validation(
                    &["body"],
                    "JSON decode error",
                    "json_invalid",
                ));
            }
            let message = inner.to_string();
            let mut loc = vec!["body".to_owned()];
            loc.extend(path_of(error.path()));
            // serde reports a missing field on the object that lacks it, so its name is only
            // in the message: it is the last element of the location, as FastAPI has it.
            let missing = missing_field(&message);
            let kind = if let Some(field) = missing {
                loc.push(field.to_owned());
                "missing"
            } else {
                "type_error"
            };
            let loc_refs: Vec<&str> = loc.iter().map(String::as_str).collect();
            Err(ApiError::validation(&loc_refs, message, kind))
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                    } else {
                        ApiError::new(StatusCode::BAD_REQUEST, "Could not read the request body")
                    }
                })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A query string; malformed or out-of-type parameters are 422.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        // Parsed once plainly; only a refused query is parsed again to name its bad field.
        if let Ok(value) = serde_urlencoded::from_str(query) {
            return Ok(ApiQuery(value));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(value) => Ok(ApiQuery(value)),
            Err(error) => {
                let message = error.inner().to_string();
                let field = error
                    .path()
                    .iter()
                    .find_map(|segment| match segment {
                        serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                        _ => None,
                    })
                    .or_else(|| missing_field(&message).map(str::to_owned));
                let mut loc = vec!["query"];
                if let Some(field) = field.as_deref() {
                    loc.push(field);
                }
                Err(ApiError::validation(&loc, message, "type_error"))
            }
        }
    }
}

/// Path parameters; a non-numeric id is 422.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| {
                ApiError::validation(&["path"], rejection.body_text(), "type_error")
            })
    }
}

/// The minimum role a route requires.
pub(crate) trait RoleBound: Send + Sync + 'static {
    /// The lowest role let through.
    const MIN: Role;
}

/// Any logged-in user.
#[derive(Debug)]
pub(crate) struct ViewerRole;
/// Operators and admins.
#[derive(Debug)]
pub(crate) struct OperatorRole;
/// Admins only.
#[derive(Debug)]
pub(crate) struct AdminRole;

impl RoleBound for ViewerRole {
    const MIN: Role = Role::Viewer;
}
impl RoleBound for OperatorRole {
    const MIN: Role = Role::Operator;
}
impl RoleBound for AdminRole {
    const MIN: Role = Role::Admin;
}

/// The logged-in user, with at least role `R`. The one place user auth is enforced:
/// no header → 403, bad/expired token → 401, inactive user → 401, role too low → 403.
#[derive(Debug)]
pub(crate) struct CurrentUser<R: RoleBound> {
    pub(crate) user: User,
    role: PhantomData<R>,
}

impl<R: RoleBound> CurrentUser<R> {
    /// This user acting from `ip`, for the audit trail.
    pub(crate) fn actor(&self, ip: Option<String>) -> vigilops_core::audit::Actor {
        vigilops_core::audit::Actor {
            user_id: Some(self.user.id),
            ip_address: ip,
        }
    }
}

/// A logged-in user of any role.
pub(crate) type Viewer = CurrentUser<ViewerRole>;
/// An operator or an admin.
pub(crate) type Operator = CurrentUser<OperatorRole>;
/// An admin.
pub(crate) type Admin = CurrentUser<AdminRole>;

/// The bearer token of an `Authorization` header, or `None` without one.
fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("Invalid token"))?;
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Ok(None),
    }
}

impl<S, R> FromRequestParts<S> for CurrentUser<R>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    R: RoleBound,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts)?
            .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "Not authenticated"))?;
        let user = state.auth.authenticate(token).await?;
        if user.role < R::MIN {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Insufficient permissions",
            ));
        }
        Ok(Self {
            user,
            role: PhantomData,
        })
    }
}

/// An agent authenticated by its token (`Authorization: Bearer vop_…`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Agent(pub AgentIdentity);

impl<S> FromRequestParts<S> for Agent
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or(""));
        Ok(Self(state.ingest.authenticate(header).await?))
    }
}

/// The client's address: the peer, or the `X-Forwarded-For` entry a trusted proxy added.
#[derive(Debug, Clone)]
pub(crate) struct ClientIp(pub Option<String>);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        let Some(peer) = peer else {
            return Ok(Self(None));
        };
        let trusted = &state.config.trusted_proxies;
        if trusted.contains(&peer)
            && let Some(forwarded) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|value| value.to_str().ok())
        {
            // The rightmost address not added by one of our proxies is the client.
            let client = forwarded
                .split(',')
                .map(str::trim)
                .filter_map(|entry| entry.parse::<std::net::IpAddr>().ok())
                .rev()
                .find(|address| !trusted.contains(address));
            if let Some(client) = client {
                return Ok(Self(Some(client.to_string())));
            }
        }
        Ok(Self(Some(peer.to_string())))
    }
}

/// A user opening a WebSocket (`rest-api.md` §21), of any role. The credential is, in this
/// order: an `Authorization: Bearer` header, a `?token=` query parameter, or the
/// `vigilops_session` cookie (honoured here only, never for REST calls, so it opens no CSRF
/// hole). The `Origin`, when sent, must be this server's own or one of `CORS_ORIGINS`.
/// A missing or invalid credential is 401, a foreign origin 403, both before the upgrade.
#[derive(Debug)]
pub(crate) struct WsUser(pub(crate) User);

/// The `vigilops_session` cookie's value.
fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == "vigilops_session" && !value.is_empty()).then(|| value.to_owned())
        })
}

/// The `token` query parameter.
fn query_token(parts: &Parts) -> Option<String> {
    let query: axum::extract::Query<std::collections::HashMap<String, String>> =
        axum::extract::Query::try_from_uri(&parts.uri).ok()?;
    query
        .0
        .get("token")
        .filter(|token| !token.is_empty())
        .cloned()
}

/// Whether the upgrade's `Origin` (when sent) is this server's own (same host as `Host`) or
/// listed in `CORS_ORIGINS`.
fn origin_allowed(parts: &Parts, allowed: &[String]) -> bool {
    let Some(origin) = parts.headers.get(axum::http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|allowed| allowed == origin) {
        return true;
    }
    let own_host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|host| host.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, authority)| authority.trim_end_matches('/'));
    matches!((own_host, origin_host), (Some(own), Some(origin)) if own.eq_ignore_ascii_case(origin))
}

impl<S> FromRequestParts<S> for WsUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if !origin_allowed(parts, &state.config.cors_origins) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "Origin not allowed"));
        }
        let token = match bearer(parts)? {
            Some(token) => Some(token.to_owned()),
            None => query_token(parts).or_else(|| session_cookie(parts)),
        };
        let token = token.ok_or_else(|| ApiError::unauthorized("Not authenticated"))?;
        Ok(Self(state.auth.authenticate(&token).await?))
    }
}
