//! Passwords and stored password hashes.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A plain-text password on its way to being hashed or checked.
///
/// Its `Debug` output never contains the secret and its memory is wiped on
/// drop. No policy is applied here: see [`crate::policy`].
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password as submitted.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// The secret, for hashing and policy checks only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A stored password hash string: our PHC `$argon2id$…`, or a hash imported
/// from Django (`pbkdf2_sha256$…`, `argon2$argon2id$…`, `bcrypt_sha256$…`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash string as read from storage.
    pub fn new(encoded: impl Into<String>) -> Self {
        Self(encoded.into())
    }

    /// The encoded hash, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The algorithm part (`argon2id`, `pbkdf2_sha256`, …), safe to log.
    pub fn algorithm(&self) -> &str {
        let s = self.0.trim_start_matches('$');
        s.split('$').next().unwrap_or_default()
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash({}$***)", self.algorithm())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_contains_no_character_of_the_secret() {
        let pw = Password::new("xyzzyQWV");
        let shown = format!("{pw:?}");
        assert!(!"xyzzyQWV".chars().any(|c| shown.contains(c)), "{shown}");
    }

    #[test]
    fn hash_debug_shows_only_the_algorithm() {
        let hash = PasswordHash::new("pbkdf2_sha256$1000000$salt$SECRETHASH");
        let shown = format!("{hash:?}");
        assert_eq!(shown, "PasswordHash(pbkdf2_sha256$***)");
        assert_eq!(
            PasswordHash::new("$argon2id$v=19$m=1$s$h").algorithm(),
            "argon2id"
        );
    }
}
