//! Authentication: users with passwords and JWTs, agents with bearer tokens.
//!
//! - [`password`]: argon2id hashes for new passwords; bcrypt hashes of the original still verify.
//! - [`jwt`]: access and refresh tokens (HS256/384/512), validated against the injected clock.
//! - [`agent_token`]: `vop_` tokens, stored only as a SHA-256 hash.
//! - [`token_admin`]: create, list and revoke agent tokens, audited.
//! - [`service`]: register, login, refresh and the login throttle, as the REST API offers them.

pub mod agent_token;
pub mod jwt;
pub mod password;
pub mod service;
pub mod token_admin;
pub mod user_admin;

pub use jwt::{JwtConfig, TokenKind, TokenPair};
pub use service::{AuthError, AuthService};
