//! Register, login and refresh, with the login throttle, as `/api/v1/auth` offers them.

use chrono::Duration;
use std::sync::Arc;

use super::jwt::{JwtConfig, TokenKind, TokenPair};
use super::password;
use crate::clock::Clock;
use crate::model::{NewAuditEntry, NewUser, Role, User};
use crate::store::{Store, StoreError};

/// Why an auth call was refused. Each variant maps to one status and message in the server.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong email or password.
    #[error("Invalid credentials")]
    InvalidCredentials,
    /// The account exists but is disabled.
    #[error("Account disabled")]
    AccountDisabled,
    /// The email is already registered.
    #[error("Email already registered")]
    EmailTaken,
    /// Self-registration is closed once an admin exists.
    #[error("Registration is disabled")]
    RegistrationDisabled,
    /// Too many attempts from this address or for this account.
    #[error("Too many attempts. Please try again in 5 minutes.")]
    TooManyAttempts,
    /// A bad, expired or wrong-kind access token.
    #[error("Invalid token")]
    InvalidToken,
    /// A bad, expired or wrong-kind refresh token.
    #[error("Invalid refresh token")]
    InvalidRefreshToken,
    /// The token's user no longer exists (refresh).
    #[error("User not found")]
    UserNotFound,
    /// The token's user was deleted or deactivated.
    #[error("User not found or inactive")]
    UserInactive,
    /// A field is malformed.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    /// Password hashing failed.
    #[error(transparent)]
    Hash(#[from] password::HashError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many attempts are allowed per window before 429.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub register_per_ip: i64,
    pub login_per_ip: i64,
    pub login_per_email: i64,
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            register_per_ip: 3,
            login_per_ip: 5,
            login_per_email: 5,
            window: Duration::seconds(300),
        }
    }
}

/// The user-facing authentication service.
#[derive(Debug, Clone)]
pub struct AuthService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    jwt: JwtConfig,
    allow_registration: bool,
    throttle: ThrottlePolicy,
}

/// Lower-cases and trims an email, and checks its shape.
pub fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let invalid = AuthError::Invalid {
        field: "email",
        message: "value is not a valid email address",
    };
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid);
    };
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty()
        || local.len() > 64
        || email.len() > 254
        || !labels_ok
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
        || domain.contains('@')
    {
        return Err(invalid);
    }
    Ok(email)
}

/// Checks a new password's length (8 to 128 characters).
pub fn check_new_password(password: &str) -> Result<(), AuthError> {
    let length = password.chars().count();
    if length < 8 {
        return Err(AuthError::Invalid {
            field: "password",
            message: "password must have at least 8 characters",
        });
    }
    if length > 128 {
        return Err(AuthError::Invalid {
            field: "password",
            message: "password must have at most 128 characters",
        });
    }
    Ok(())
}

impl AuthService {
    /// A service over `store`; `allow_registration` keeps self-registration open after the
    /// first admin exists.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        jwt: JwtConfig,
        allow_registration: bool,
    ) -> Self {
        Self {
            store,
            clock,
            jwt,
            allow_registration,
            throttle: ThrottlePolicy::default(),
        }
    }

    /// Replaces the throttle policy.
    pub fn with_throttle(mut self, throttle: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self
    }

    /// The JWT configuration (lifetimes are needed for the session cookie).
    pub fn jwt(&self) -> &JwtConfig {
        &self.jwt
    }

    async fn throttle(&self, key: &str, limit: i64) -> Result<(), AuthError> {
        let hits = self
            .store
            .record_hit(key, self.clock.now(), self.throttle.window)
            .await?;
        if hits > limit {
            return Err(AuthError::TooManyAttempts);
        }
        Ok(())
    }

    /// Self-registration. The first user becomes admin; later ones viewers, and only while
    /// registration is allowed.
    pub async fn register(
        &self,
        email: &str,
        name: &str,
        password: &str,
        client_ip: Option<&str>,
    ) -> Result<(User, TokenPair), AuthError> {
        let email = normalize_email(email)?;
        check_new_password(password)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AuthError::Invalid {
                field: "name",
                message: "name must have 1 to 100 characters",
            });
        }
        self.throttle(
            &format!("register:ip:{}", client_ip.unwrap_or("-")),
            self.throttle.register_per_ip,
        )
        .await?;
        if !self.allow_registration && self.store.count_users().await? > 0 {
            return Err(AuthError::RegistrationDisabled);
        }
        let password_hash = password::hash_password(password)?;
        let user = self
            .store
            .create_user(
                NewUser {
                    email,
                    name: name.to_owned(),
                    password_hash,
                    role: Role::Viewer,
                },
                self.clock.now(),
            )
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => AuthError::EmailTaken,
                other => AuthError::Store(other),
            })?;
        self.audit(&user, "register", client_ip).await?;
        let tokens = self.jwt.issue_pair(user.id, self.clock.now());
        Ok((user, tokens))
    }

    /// Login by email and password. Throttled per client address and per email.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client_ip: Option<&str>,
    ) -> Result<(User, TokenPair), AuthError> {
        let email = email.trim().to_lowercase();
        let ip_key = format!("login:ip:{}", client_ip.unwrap_or("-"));
        let email_key = format!("login:email:{email}");
        self.throttle(&ip_key, self.throttle.login_per_ip).await?;
        self.throttle(&email_key, self.throttle.login_per_email)
            .await?;
        let user = self.store.user_by_email(&email).await?;
        let Some(user) =
            user.filter(|user| password::verify_password(password, &user.password_hash))
        else {
            return Err(AuthError::InvalidCredentials);
        };
        if !user.is_active {
            return Err(AuthError::AccountDisabled);
        }
        self.store.clear_hits(&email_key).await?;
        self.audit(&user, "login", client_ip).await?;
        let tokens = self.jwt.issue_pair(user.id, self.clock.now());
        Ok((user, tokens))
    }

    /// A new pair for a valid refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(User, TokenPair), AuthError> {
        let user_id = self
            .jwt
            .verify(refresh_token, TokenKind::Refresh, self.clock.now())
            .ok_or(AuthError::InvalidRefreshToken)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .filter(|user| user.is_active)
            .ok_or(AuthError::UserNotFound)?;
        let tokens = self.jwt.issue_pair(user.id, self.clock.now());
        Ok((user, tokens))
    }

    /// The active user an access token belongs to.
    pub async fn authenticate(&self, access_token: &str) -> Result<User, AuthError> {
        let user_id = self
            .jwt
            .verify(access_token, TokenKind::Access, self.clock.now())
            .ok_or(AuthError::InvalidToken)?;
        self.store
            .user_by_id(user_id)
            .await?
            .filter(|user| user.is_active)
            .ok_or(AuthError::UserInactive)
    }

    async fn audit(
        &self,
        user: &User,
        action: &str,
        client_ip: Option<&str>,
    ) -> Result<(), AuthError> {
        self.store
            .insert_audit(
                NewAuditEntry {
                    user_id: Some(user.id),
                    action: action.to_owned(),
                    resource_type: "user".to_owned(),
                    resource_id: Some(user.id.to_string()),
                    detail: None,
                    ip_address: client_ip.map(str::to_owned),
                },
                self.clock.now(),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email(" Ops@Example.COM ").unwrap(),
            "ops@example.com"
        );
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@@b.com",
            "a@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_length_is_enforced() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
    }
}
