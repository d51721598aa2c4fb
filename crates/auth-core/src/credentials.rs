//! Rules every token adapter shares: how credentials are generated, the
//! digest that is the only stored form, the DRR profile's
//! one-token-per-user derivation, and how long they work
//! ([`CredentialPolicy`]).

mod policy;

pub use policy::{CredentialPolicy, LiveBounds, Stamps};

use crate::domain::UserId;
use crate::ports::{AuthToken, CredentialKind};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// How API tokens are issued. Sessions are always fresh random keys.
#[derive(Clone)]
pub enum TokenMode {
    /// A new random 256-bit token per login (several devices, revocable one by one).
    PerLogin,
    /// DRR's one token per user, returned unchanged by every login until
    /// revoked. Derived from this key and a per-user generation, so it is
    /// never stored in clear either.
    OnePerUser {
        /// Derivation key (the server's secret key).
        key: Zeroizing<Vec<u8>>,
    },
}

impl std::fmt::Debug for TokenMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PerLogin => f.write_str("PerLogin"),
            Self::OnePerUser { .. } => f.write_str("OnePerUser { key: *** }"),
        }
    }
}

/// SHA-256 of a credential: the only form that is stored.
pub fn digest(token: &AuthToken) -> Vec<u8> {
    Sha256::digest(token.expose().as_bytes()).to_vec()
}

/// The public id of a stored credential: the first 16 bytes of its digest,
/// in hex. Shown to the owner to pick a credential to revoke; it grants
/// nothing (a digest cannot be turned back into the token).
pub fn credential_id(digest: &[u8]) -> String {
    hex::encode(&digest[..digest.len().min(16)])
}

/// A fresh 256-bit random credential, URL-safe base64 (43 characters).
pub fn random_token() -> AuthToken {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::fill(&mut bytes[..]);
    AuthToken::new(URL_SAFE_NO_PAD.encode(&bytes[..]))
}

/// The DRR-profile token of `user` at `generation`: 40 lowercase hex
/// characters, like Django REST framework's tokens.
pub fn derived_token(key: &[u8], user: UserId, generation: i64) -> AuthToken {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is unreachable.
        Err(_) => return random_token(),
    };
    mac.update(format!("drr-token:{}:{generation}", user.get()).as_bytes());
    let tag = mac.finalize().into_bytes();
    AuthToken::new(hex::encode(&tag[..20]))
}

/// The stable name of a credential kind in storage: `token` or `session`.
pub fn kind_name(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::Token => "token",
        CredentialKind::Session => "session",
    }
}

/// The kind [`kind_name`] names, if any.
pub fn kind_from_name(name: &str) -> Option<CredentialKind> {
    [CredentialKind::Token, CredentialKind::Session]
        .into_iter()
        .find(|kind| kind_name(*kind) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn derived_tokens_look_like_drf_tokens_and_change_with_generation() {
        let t0 = derived_token(b"key", UserId::new(1), 0);
        assert_eq!(t0.expose().len(), 40);
        assert!(
            t0.expose()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(t0, derived_token(b"key", UserId::new(1), 0));
        assert_ne!(t0, derived_token(b"key", UserId::new(1), 1));
        assert_ne!(t0, derived_token(b"key", UserId::new(2), 0));
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in [CredentialKind::Token, CredentialKind::Session] {
            assert_eq!(kind_from_name(kind_name(kind)), Some(kind));
        }
        assert_eq!(kind_from_name("cookie"), None);
    }
}
