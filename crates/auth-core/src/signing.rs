//! Verification-link signing, byte-compatible with django-rest-registration.
//!
//! A link carries its own proof: `user_id`, optionally `email`, a
//! `timestamp` and a `signature`. Nothing is stored when a link is issued.
//! The rules, as DRR 0.9 applies them (see `drr-api.md` §4):
//!
//! 1. The data fields become `(name, text)` pairs, sorted by name then value,
//!    and are serialised with Python's pickle protocol 4 ([`payload`]).
//! 2. The HMAC key is `SHA-256(salt ‖ "signer" ‖ secret_key)`; the signature
//!    is `HMAC-SHA256(key, payload)` in URL-safe base64 without padding
//!    ([`signature`]).
//! 3. A submitted signature is compared in constant time against the one
//!    computed with each configured key ([`LinkSigner::verify`]); only then is
//!    the age checked: expired iff `now - timestamp > period`.
//!
//! Beyond DRR: several keys may be configured (the first signs, all verify),
//! and a timestamp further in the future than a small clock skew is refused.
//!
//! Beside it live the two other link formats of the Django apps this service
//! replaces, built on the same `salted_hmac` primitive: Django's password-reset
//! token generator ([`reset_token`], djoser and dj-rest-auth) and allauth's
//! HMAC e-mail confirmation key ([`confirmation_key`], dj-rest-auth).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::domain::PasswordHash;

/// A secret key for link signing (Django's `SECRET_KEY`). Never printed.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    /// Wraps a secret key. An empty key is refused: it would make every link
    /// forgeable.
    pub fn new(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self(Zeroizing::new(key)))
    }

    /// The key's length in characters, for configuration checks.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// Always false: an empty key cannot be constructed.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Why a key set could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A key was the empty string.
    #[error("a secret key must not be empty")]
    Empty,
    /// No key at all was configured.
    #[error("at least one secret key is required")]
    NoKeys,
}

/// The salt that binds a signature to one flow (and, for one-time links, to
/// the state the link is meant to change).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Salt(String);

impl Salt {
    /// Registration links, reusable for their whole period (DRR default).
    pub fn register() -> Self {
        Self("register".into())
    }

    /// One-time registration links: the salt binds the verification flag in
    /// Python's spelling (`register:False`), so the link dies once the user
    /// is verified.
    pub fn register_one_time(verified: bool) -> Self {
        Self(format!("register:{}", python_bool(verified)))
    }

    /// Reset-password links, reusable for their whole period (DRR default).
    pub fn reset_password() -> Self {
        Self("reset-password".into())
    }

    /// One-time reset links: the salt binds the stored password hash, so any
    /// password change voids every link issued before it.
    pub fn reset_password_one_time(hash: &PasswordHash) -> Self {
        Self(format!("reset-password:{}", hash.as_str()))
    }

    /// E-mail change links (DRR has no one-time variant of these).
    pub fn register_email() -> Self {
        Self("register-email".into())
    }

    /// allauth's `ACCOUNT_SALT`, under which its HMAC e-mail confirmation
    /// keys are signed ([`confirmation_key`]).
    pub fn allauth_account() -> Self {
        Self("account".into())
    }

    /// The salt text as Django sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Salt {
    // A one-time reset salt holds a password hash: show only the flow part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flow = self.0.split(':').next().unwrap_or_default();
        write!(f, "Salt({flow}…)")
    }
}

fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// The fields a link signs, as text exactly as DRR signs them.
///
/// On issue, `user_id` is the id in decimal; on verification it is the
/// submitted text after whitespace stripping (so `"042"` and `"42"` differ),
/// while `timestamp` is always the parsed integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkData {
    /// The user's id as text.
    pub user_id: String,
    /// The new address, on e-mail change links only.
    pub email: Option<String>,
    /// Unix seconds at signing.
    pub timestamp: i64,
}

/// The pickle protocol-4 bytes DRR signs for `data` (drr-api.md §4.2).
pub fn payload(data: &LinkData) -> Vec<u8> {
    let timestamp = data.timestamp.to_string();
    let mut pairs: Vec<(&str, &str)> = vec![("timestamp", &timestamp), ("user_id", &data.user_id)];
    if let Some(email) = &data.email {
        pairs.push(("email", email));
    }
    pairs.sort_unstable();

    let mut body = vec![0x5d, 0x94, 0x28]; // EMPTY_LIST, MEMOIZE, MARK
    for (name, value) in pairs {
        pickle_str(&mut body, name);
        pickle_str(&mut body, value);
        body.extend_from_slice(&[0x86, 0x94]); // TUPLE2, MEMOIZE
    }
    body.extend_from_slice(&[0x65, 0x2e]); // APPENDS, STOP

    let mut out = Vec::with_capacity(body.len() + 11);
    out.extend_from_slice(&[0x80, 0x04, 0x95]); // PROTO 4, FRAME
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn pickle_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    match u8::try_from(bytes.len()) {
        Ok(len) => out.extend_from_slice(&[0x8c, len]), // SHORT_BINUNICODE
        Err(_) => {
            // Text longer than 4 GiB cannot reach us: request bodies are capped far below.
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.push(0x58); // BINUNICODE
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    out.extend_from_slice(bytes);
    out.push(0x94); // MEMOIZE
}

/// The 43-character signature Django's `Signer(salt=…)` gives `data` under
/// `key` (drr-api.md §4.3).
pub fn signature(key: &SecretKey, salt: &Salt, data: &LinkData) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, salt, &payload(data)))
}

/// Django's `Signer` MAC: `salted_hmac(salt + "signer", message, key)`.
fn mac(key: &SecretKey, salt: &Salt, message: &[u8]) -> [u8; 32] {
    let key_salt = [salt.as_str().as_bytes(), b"signer"].concat();
    salted_hmac(&key_salt, key, message)
}

/// Django's `salted_hmac` with SHA-256: `HMAC-SHA256(SHA-256(key_salt ‖
/// secret), message)`, the primitive under every Django signature.
fn salted_hmac(key_salt: &[u8], key: &SecretKey, message: &[u8]) -> [u8; 32] {
    let mut derive = Sha256::new();
    derive.update(key_salt);
    derive.update(key.bytes());
    let derived = derive.finalize();
    // HMAC accepts keys of any length, so this cannot fail; fall back to an
    // all-zero tag (which no base64 input decodes to by chance) rather than panic.
    match Hmac::<Sha256>::new_from_slice(&derived) {
        Ok(mut hmac) => {
            hmac.update(message);
            hmac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No configured key produces this signature for this data and salt.
    #[error("invalid signature")]
    InvalidSignature,
    /// The signature is good but older than the flow's period.
    #[error("signature expired")]
    Expired,
    /// The signature is good but dated further ahead than the allowed clock
    /// skew: only a leaked key or a broken clock produces that.
    #[error("signature timestamp is in the future")]
    FromTheFuture,
}

/// Signs and verifies links with a set of keys: the first signs, every one
/// verifies (key rotation).
#[derive(Clone, Debug)]
pub struct LinkSigner {
    keys: Vec<SecretKey>,
    max_future_skew: Duration,
}

impl LinkSigner {
    /// Default tolerance for a timestamp ahead of our clock, to absorb clock
    /// differences between several server instances.
    pub const DEFAULT_MAX_FUTURE_SKEW: Duration = Duration::minutes(5);

    /// A signer with `keys`, newest first. At least one key is required.
    pub fn new(keys: Vec<SecretKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(Self {
            keys,
            max_future_skew: Self::DEFAULT_MAX_FUTURE_SKEW,
        })
    }

    /// The keys, newest first: the other Django signers of this service
    /// (reset tokens, confirmation keys) rotate with the same ones.
    pub fn keys(&self) -> &[SecretKey] {
        &self.keys
    }

    /// Changes how far ahead of `now` a timestamp may be.
    pub fn with_max_future_skew(mut self, skew: Duration) -> Self {
        self.max_future_skew = skew;
        self
    }

    /// The signature of `data` under the newest key.
    pub fn sign(&self, salt: &Salt, data: &LinkData) -> String {
        // `new` guarantees a first key; an empty signer signs nothing valid.
        self.keys
            .first()
            .map(|key| signature(key, salt, data))
            .unwrap_or_default()
    }

    /// Checks `signature` for `data` under any configured key, then its age:
    /// expired iff `now - timestamp > period` (whole seconds, inclusive period).
    pub fn verify(
        &self,
        salt: &Salt,
        data: &LinkData,
        signature: &str,
        now: OffsetDateTime,
        period: Duration,
    ) -> Result<(), LinkError> {
        let submitted = signature.trim().as_bytes();
        let message = payload(data);
        // Every key is tried, so timing does not tell which key matched.
        let matched = self.keys.iter().fold(subtle::Choice::from(0), |acc, key| {
            let expected = URL_SAFE_NO_PAD.encode(mac(key, salt, &message));
            acc | expected.as_bytes().ct_eq(submitted)
        });
        if !bool::from(matched) {
            return Err(LinkError::InvalidSignature);
        }
        let age = i128::from(now.unix_timestamp()) - i128::from(data.timestamp);
        if age > i128::from(period.whole_seconds()) {
            return Err(LinkError::Expired);
        }
        if -age > i128::from(self.max_future_skew.whole_seconds()) {
            return Err(LinkError::FromTheFuture);
        }
        Ok(())
    }
}

pub mod confirmation_key;
#[cfg(feature = "jwt")]
pub mod jwt;
mod radix;
pub mod reset_token;
pub mod uid;

#[cfg(test)]
mod tests;
