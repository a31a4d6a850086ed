//! The one error type of every handler, rendered as `{"detail": …}` with the status the
//! original server used. Internal errors are logged with their cause and answered generically.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vigilops_core::alerting::service::AlertingError;
use vigilops_core::auth::AuthError;
use vigilops_core::command::CommandError;
use vigilops_core::ingest::IngestError;
use vigilops_core::notify::ConfigError;
use vigilops_core::notify::service::NotifyServiceError;
use vigilops_core::notify::template::TemplateError;
use vigilops_core::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: Value,
    bearer_challenge: bool,
}

impl ApiError {
    /// An error with a plain-text detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: Value::String(detail.into()),
            bearer_challenge: false,
        }
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self {
            bearer_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, detail)
        }
    }

    /// 404 `"<Thing> not found"`.
    pub fn not_found(thing: &str) -> Self {
        let mut chars = thing.chars();
        let capitalised: String = chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        Self::new(StatusCode::NOT_FOUND, format!("{capitalised} not found"))
    }

    /// 422 in FastAPI's shape: `{"detail":[{"loc":[…],"msg":…,"type":…}]}`.
    pub fn validation(loc: &[&str], message: impl Into<String>, kind: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{ "loc": loc, "msg": message.into(), "type": kind }]),
            bearer_challenge: false,
        }
    }

    /// 422 in FastAPI's shape with one entry per body field at fault.
    pub fn body_fields<'a>(fields: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: Value::Array(
                fields
                    .into_iter()
                    .map(|(field, message)| {
                        json!({ "loc": ["body", field], "msg": message, "type": "value_error" })
                    })
                    .collect(),
            ),
            bearer_challenge: false,
        }
    }

    /// 500 with a generic message; the cause goes to the log only.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({ "detail": self.detail }))).into_response();
        if self.bearer_challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(thing) => Self::not_found(thing),
            StoreError::Conflict(_) => {
                Self::new(StatusCode::CONFLICT, "Conflict with existing data")
            }
            StoreError::ClaimLost => Self::new(
                StatusCode::CONFLICT,
                "Request with this Idempotency-Key is in progress",
            ),
            other => Self::internal(&other),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        match error {
            AuthError::InvalidCredentials
            | AuthError::InvalidToken
            | AuthError::InvalidRefreshToken
            | AuthError::UserNotFound
            | AuthError::UserInactive => Self::unauthorized(message),
            AuthError::AccountDisabled | AuthError::RegistrationDisabled => {
                Self::new(StatusCode::FORBIDDEN, message)
            }
            AuthError::EmailTaken => Self::new(StatusCode::CONFLICT, message),
            AuthError::TooManyAttempts => Self::new(StatusCode::TOO_MANY_REQUESTS, message),
            AuthError::Invalid { field, message } => {
                Self::validation(&["body", field], message, "value_error")
            }
            AuthError::Hash(error) => Self::internal(&error),
            AuthError::Store(error) => error.into(),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        let message = error.to_string();
        match error {
            IngestError::NotAuthenticated
            | IngestError::HostNotOwned(_)
            | IngestError::ServiceNotOwned(_) => Self::new(StatusCode::FORBIDDEN, message),
            IngestError::InvalidToken => Self::unauthorized(message),
            IngestError::BadRequest(_) | IngestError::InvalidIdempotencyKey => {
                Self::new(StatusCode::BAD_REQUEST, message)
            }
            IngestError::Invalid { field, message } => {
                Self::validation(&["body", field], message, "value_error")
            }
            IngestError::TooLarge | IngestError::TooManySamples => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, message)
            }
            IngestError::IdempotencyInProgress => Self::new(StatusCode::CONFLICT, message),
            IngestError::Store(error) => error.into(),
            IngestError::Batch(error) => Self::internal(&error),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::HostNotFound(_) => Self::not_found("host"),
            CommandError::NotFound(_) => Self::not_found("command"),
            // One validation entry per reason, so a client can show each of them.
            CommandError::Refused(refusal) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                detail: Value::Array(
                    refusal
                        .reasons
                        .iter()
                        .map(|reason| {
                            json!({
                                "loc": ["body", "command"],
                                "msg": format!("Command refused: {reason}"),
                                "type": "unsafe_command",
                            })
                        })
                        .collect(),
                ),
                bearer_challenge: false,
            },
            CommandError::InvalidTimeout => {
                Self::validation(&["body", "timeout"], error.to_string(), "value_error")
            }
            CommandError::Store(error) => error.into(),
        }
    }
}

impl From<AlertingError> for ApiError {
    fn from(error: AlertingError) -> Self {
        match error {
            AlertingError::RuleNotFound => Self::not_found("alert rule"),
            AlertingError::AlertNotFound => Self::not_found("alert"),
            AlertingError::SilenceNotFound => Self::not_found("silence"),
            AlertingError::Invalid(errors) => Self::body_fields(
                errors
                    .into_iter()
                    .map(|error| (error.field, format!("{}: {}", error.field, error.message))),
            ),
            AlertingError::BuiltinRule => {
                Self::new(StatusCode::BAD_REQUEST, "Cannot delete built-in rule")
            }
            AlertingError::AlreadyResolved => {
                Self::new(StatusCode::BAD_REQUEST, "Alert already resolved")
            }
            AlertingError::Store(error) => error.into(),
        }
    }
}

impl From<NotifyServiceError> for ApiError {
    fn from(error: NotifyServiceError) -> Self {
        let message = error.to_string();
        match error {
            NotifyServiceError::ChannelNotFound => Self::not_found("channel"),
            // The original's wording, which its web client shows.
            NotifyServiceError::TemplateNotFound => Self::new(StatusCode::NOT_FOUND, "模板不存在"),
            NotifyServiceError::Config(ConfigError::UnknownKind(_))
            | NotifyServiceError::Config(ConfigError::Unsupported(_)) => {
                Self::validation(&["body", "type"], message, "value_error")
            }
            NotifyServiceError::Config(ConfigError::Field { field, .. }) => {
                Self::validation(&["body", "config", field], message, "value_error")
            }
            NotifyServiceError::Config(ConfigError::Invalid { .. }) => {
                Self::validation(&["body", "config"], message, "value_error")
            }
            NotifyServiceError::Template(
                TemplateError::UnbalancedBrace { field, .. }
                | TemplateError::UnknownVariable { field, .. }
                | TemplateError::UnsupportedPlaceholder { field, .. }
                | TemplateError::Engine { field, .. },
            ) => Self::validation(&["body", field], message, "value_error"),
            NotifyServiceError::Invalid { field, .. } => {
                Self::validation(&["body", field], message, "value_error")
            }
            NotifyServiceError::Store(error) => error.into(),
        }
    }
}
