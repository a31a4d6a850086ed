//! JSON Web Tokens for users: `sub` = user id as a string, `type` = `access` | `refresh`, `exp`.
//! Expiry is checked against the injected clock, not the wall clock, so tests control it.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which of the pair a token is; one is refused where the other is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(rename = "type")]
    kind: TokenKind,
    exp: i64,
    iat: i64,
}

/// How tokens are signed and how long they live.
#[derive(Clone)]
pub struct JwtConfig {
    secret: Vec<u8>,
    algorithm: Algorithm,
    /// Lifetime of access tokens (default 120 min).
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens (default 7 days).
    pub refresh_ttl: Duration,
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("JwtConfig")
            .field("secret", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish()
    }
}

/// A JWT algorithm name other than HS256, HS384 or HS512.
#[derive(Debug, thiserror::Error)]
#[error("unsupported JWT algorithm `{0}` (use HS256, HS384 or HS512)")]
pub struct UnsupportedAlgorithm(pub String);

impl JwtConfig {
    /// A configuration signing with `secret` using `algorithm` (`HS256`, `HS384`, `HS512`).
    pub fn new(
        secret: impl Into<Vec<u8>>,
        algorithm: &str,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Result<Self, UnsupportedAlgorithm> {
        let algorithm = match algorithm {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            other => return Err(UnsupportedAlgorithm(other.to_owned())),
        };
        Ok(Self {
            secret: secret.into(),
            algorithm,
            access_ttl,
            refresh_ttl,
        })
    }

    /// Signs a token of `kind` for `user_id`, issued at `now`.
    pub fn issue(&self, user_id: i64, kind: TokenKind, now: DateTime<Utc>) -> String {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let claims = Claims {
            sub: user_id.to_string(),
            kind,
            exp: (now + ttl).timestamp(),
            iat: now.timestamp(),
        };
        // HMAC signing of a serialisable struct cannot fail: the key accepts any bytes.
        jsonwebtoken::encode(
            &Header::new(self.algorithm),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .unwrap_or_default()
    }

    /// Signs an access and a refresh token for `user_id`.
    pub fn issue_pair(&self, user_id: i64, now: DateTime<Utc>) -> TokenPair {
        TokenPair {
            access_token: self.issue(user_id, TokenKind::Access, now),
            refresh_token: self.issue(user_id, TokenKind::Refresh, now),
        }
    }

    /// The user id of a valid, unexpired token of `kind`; `None` for anything else.
    pub fn verify(&self, token: &str, kind: TokenKind, now: DateTime<Utc>) -> Option<i64> {
        let mut validation = Validation::new(self.algorithm);
        // Expiry is checked below against the injected clock.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .ok()?;
        if data.claims.kind != kind || data.claims.exp <= now.timestamp() {
            return None;
        }
        data.claims.sub.parse().ok()
    }
}

/// An access token and a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config() -> JwtConfig {
        JwtConfig::new(
            "a-test-secret-that-is-long-enough-for-hs256",
            "HS256",
            Duration::minutes(120),
            Duration::days(7),
        )
        .unwrap()
    }

    #[test]
    fn tokens_verify_until_they_expire() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        let pair = config().issue_pair(42, now);
        assert_eq!(
            config().verify(&pair.access_token, TokenKind::Access, now),
            Some(42)
        );
        let later = now + Duration::minutes(119);
        assert_eq!(
            config().verify(&pair.access_token, TokenKind::Access, later),
            Some(42)
        );
        let expired = now + Duration::minutes(120);
        assert_eq!(
            config().verify(&pair.access_token, TokenKind::Access, expired),
            None
        );
        assert_eq!(
            config().verify(&pair.refresh_token, TokenKind::Refresh, expired),
            Some(42)
        );
    }

    #[test]
    fn kinds_are_not_interchangeable() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        let pair = config().issue_pair(1, now);
        assert_eq!(
            config().verify(&pair.access_token, TokenKind::Refresh, now),
            None
        );
        assert_eq!(
            config().verify(&pair.refresh_token, TokenKind::Access, now),
            None
        );
    }

    #[test]
    fn other_secrets_and_garbage_are_refused() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        let other = JwtConfig::new(
            "another-secret",
            "HS256",
            Duration::hours(1),
            Duration::days(1),
        )
        .unwrap();
        let token = other.issue(1, TokenKind::Access, now);
        assert_eq!(config().verify(&token, TokenKind::Access, now), None);
        assert_eq!(config().verify("not.a.jwt", TokenKind::Access, now), None);
        assert!(JwtConfig::new("s", "RS256", Duration::hours(1), Duration::days(1)).is_err());
    }
}
