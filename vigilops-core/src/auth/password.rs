//! Password hashing: argon2id for every new hash; bcrypt (`$2a$`/`$2b$`/`$2y$`) hashes carried
//! over from the original still verify.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Hashing failed (the random source or the parameters broke).
#[derive(Debug, thiserror::Error)]
#[error("failed to hash password: {0}")]
pub struct HashError(String);

/// Hashes `password` with argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| HashError(error.to_string()))
}

/// Whether `password` matches `stored` (an argon2 PHC string or a bcrypt hash). A malformed
/// stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    if stored.starts_with("$2") {
        return bcrypt::verify(password, stored).unwrap_or(false);
    }
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horse!", &hash));
    }

    #[test]
    fn bcrypt_hashes_of_the_original_verify() {
        let hash = bcrypt::hash("legacy-pass", 4).unwrap();
        assert!(verify_password("legacy-pass", &hash));
        assert!(!verify_password("other", &hash));
    }

    #[test]
    fn malformed_hashes_never_match() {
        assert!(!verify_password("", ""));
        assert!(!verify_password("x", "$argon2id$garbage"));
        assert!(!verify_password("x", "$2b$garbage"));
    }
}
