//! Agent tokens: `vop_` + 48 lowercase hex characters (24 random bytes). Only the SHA-256 of the
//! whole string is stored, plus an 8-character prefix for display.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly generated token; `plaintext` is shown to the admin once and never stored.
#[derive(Debug, Clone)]
pub struct GeneratedToken {
    pub plaintext: String,
    pub hash: String,
    pub prefix: String,
}

/// Makes a new token from the operating system's CSPRNG.
pub fn generate() -> GeneratedToken {
    let mut bytes = [0_u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!("vop_{}", hex::encode(bytes));
    GeneratedToken {
        hash: hash(&plaintext),
        prefix: plaintext.chars().take(8).collect(),
        plaintext,
    }
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape of an agent token (checked before any lookup).
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 52
        && token.starts_with("vop_")
        && token[4..]
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let token = generate();
        assert!(is_well_formed(&token.plaintext), "{}", token.plaintext);
        assert_eq!(token.prefix.len(), 8);
        assert!(token.plaintext.starts_with(&token.prefix));
        assert_eq!(token.hash, hash(&token.plaintext));
        assert_eq!(token.hash.len(), 64);
        assert_ne!(generate().plaintext, token.plaintext);
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        assert!(!is_well_formed("vop_short"));
        assert!(!is_well_formed(&format!("vop_{}", "G".repeat(48))));
        assert!(!is_well_formed(&format!("xyz_{}", "a".repeat(48))));
        assert!(!is_well_formed(&format!("vop_{}", "A".repeat(48))));
    }
}
