//! allauth's HMAC e-mail confirmation key (`EmailConfirmationHMAC`), byte for
//! byte: `django.core.signing.dumps(address_pk, salt="account")`, the `{key}`
//! of dj-rest-auth's confirmation links (restauth-api.md §4.2).
//!
//! ```text
//! key     = payload ":" ts ":" sig
//! payload = base64url(JSON of the address's primary key), no padding
//! ts      = Unix seconds at signing, base 62 (0-9A-Za-z)
//! sig     = base64url(salted_hmac("account" "signer", payload ":" ts)), no padding
//! ```
//!
//! Nothing is stored. Several keys may be configured: the first signs, every
//! one verifies (Django's `SECRET_KEY_FALLBACKS`). As in Django, a key is
//! refused when `now - ts` exceeds the maximum age, measured to the
//! nanosecond against whole-second timestamps.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::radix::{self, BASE62};
use super::{KeyError, Salt, SecretKey, mac};

/// Why a confirmation key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmationKeyError {
    /// No configured key signed this text (Django's `BadSignature`).
    #[error("invalid confirmation key")]
    Invalid,
    /// Signed by us, but older than the maximum age (`SignatureExpired`).
    #[error("confirmation key expired")]
    Expired,
}

/// Makes and opens confirmation keys with a set of keys, newest first.
#[derive(Clone, Debug)]
pub struct ConfirmationKeySigner {
    keys: Vec<SecretKey>,
    salt: Salt,
}

impl ConfirmationKeySigner {
    /// A signer with `keys`, newest first. At least one key is required.
    pub fn new(keys: Vec<SecretKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(Self {
            keys,
            salt: Salt::allauth_account(),
        })
    }

    /// The key confirming the e-mail address whose primary key is
    /// `address_id`, signed at `now` under the newest key.
    pub fn make(&self, address_id: i64, now: OffsetDateTime) -> String {
        let payload = URL_SAFE_NO_PAD.encode(address_id.to_string());
        // Unix time before 1970 cannot be spelled; Django's clock never is.
        let ts = radix::encode(u64::try_from(now.unix_timestamp()).unwrap_or(0), BASE62);
        let value = format!("{payload}:{ts}");
        // `new` guarantees a first key; an empty signer signs nothing valid.
        let sig = self
            .keys
            .first()
            .map(|key| URL_SAFE_NO_PAD.encode(mac(key, &self.salt, value.as_bytes())))
            .unwrap_or_default();
        format!("{value}:{sig}")
    }

    /// Django's `signing.loads(key, salt="account", max_age=…)`: the address
    /// id the key confirms, once its signature matches some configured key
    /// (constant time) and `now - ts <= max_age`.
    pub fn open(
        &self,
        key: &str,
        now: OffsetDateTime,
        max_age: Duration,
    ) -> Result<i64, ConfirmationKeyError> {
        let (value, submitted) = key.rsplit_once(':').ok_or(ConfirmationKeyError::Invalid)?;
        // Every key is tried, so timing does not tell which key matched.
        let matched = self
            .keys
            .iter()
            .fold(subtle::Choice::from(0), |acc, secret| {
                let expected = URL_SAFE_NO_PAD.encode(mac(secret, &self.salt, value.as_bytes()));
                acc | expected.as_bytes().ct_eq(submitted.as_bytes())
            });
        if !bool::from(matched) {
            return Err(ConfirmationKeyError::Invalid);
        }
        // Signed text we did not make in this shape (another Django object
        // under the same key and salt) is as good as a bad signature.
        let (payload, ts) = value
            .rsplit_once(':')
            .ok_or(ConfirmationKeyError::Invalid)?;
        let ts = radix::decode(ts, BASE62)
            .and_then(|ts| i64::try_from(ts).ok())
            .and_then(|ts| OffsetDateTime::from_unix_timestamp(ts).ok())
            .ok_or(ConfirmationKeyError::Invalid)?;
        if now - ts > max_age {
            return Err(ConfirmationKeyError::Expired);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ConfirmationKeyError::Invalid)?;
        serde_json::from_slice(&json).map_err(|_| ConfirmationKeyError::Invalid)
    }
}

/// The signer with the link signer's keys: both rotate together, and a
/// link signer always has a key.
impl From<&super::LinkSigner> for ConfirmationKeySigner {
    fn from(signer: &super::LinkSigner) -> Self {
        Self {
            keys: signer.keys().to_vec(),
            salt: Salt::allauth_account(),
        }
    }
}

#[cfg(test)]
mod tests;
