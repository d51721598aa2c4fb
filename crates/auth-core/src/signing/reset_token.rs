//! Django's `PasswordResetTokenGenerator`, byte for byte: the `{token}` of
//! djoser's activation, reset and username-reset links (djoser-api.md §4.2)
//! and of dj-rest-auth's reset links (restauth-api.md §4.1).
//!
//! ```text
//! token = base36(ts) "-" every other character of hex(HMAC)
//! ts    = whole seconds since 2001-01-01T00:00:00 UTC
//! HMAC  = salted_hmac("django.contrib.auth.tokens.PasswordResetTokenGenerator",
//!                     pk ‖ password hash ‖ last login ‖ ts ‖ e-mail [‖ addresses])
//! ```
//!
//! Nothing is stored: the token dies when anything it covers changes — the
//! password hash, the last-login second, the e-mail address (and, in
//! allauth's variant, the set of the user's addresses) — or when it is older
//! than the timeout. Several keys may be configured: the first signs, every
//! one verifies (Django's `SECRET_KEY_FALLBACKS`). As in Django, a timestamp
//! ahead of the clock is not refused; it cannot be made without a key.

use std::collections::BTreeSet;

use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::radix::{self, BASE36};
use super::{KeyError, SecretKey, salted_hmac};
use crate::domain::{PasswordHash, User, UserId};

/// Django's key salt for this generator.
const KEY_SALT: &[u8] = b"django.contrib.auth.tokens.PasswordResetTokenGenerator";

/// 2001-01-01T00:00:00Z, Django's epoch for these tokens.
const EPOCH_UNIX: i64 = 978_307_200;

/// Django's `base36_to_int` refuses longer input.
const MAX_TIMESTAMP_DIGITS: usize = 13;

/// What a token covers: the user's state at the time it is made.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSubject {
    /// The primary key.
    pub user_id: UserId,
    /// The stored password hash string.
    pub password_hash: PasswordHash,
    /// The last login; only its UTC second counts.
    pub last_login: Option<OffsetDateTime>,
    /// The account's address, empty when it has none.
    pub email: String,
    /// allauth's variant (dj-rest-auth): every address of the user, the
    /// account's own included; `None` for Django's plain generator (djoser).
    pub addresses: Option<BTreeSet<String>>,
}

impl TokenSubject {
    /// The subject Django's plain generator sees for `user` (djoser).
    pub fn django(user: &User) -> Self {
        Self {
            user_id: user.id,
            password_hash: user.password_hash.clone(),
            last_login: user.last_login,
            email: user
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            addresses: None,
        }
    }

    /// The subject allauth's e-mail-aware generator sees for `user` with its
    /// `EmailAddress` rows `addresses` (dj-rest-auth): the account's own
    /// address joins the set.
    pub fn allauth(user: &User, addresses: impl IntoIterator<Item = String>) -> Self {
        let mut subject = Self::django(user);
        let mut set: BTreeSet<String> = addresses.into_iter().collect();
        if !subject.email.is_empty() {
            set.insert(subject.email.clone());
        }
        subject.addresses = Some(set);
        subject
    }

    /// Django's `_make_hash_value` (plus allauth's suffix).
    fn hash_value(&self, timestamp: u64) -> String {
        let login = self.last_login.map(django_second).unwrap_or_default();
        let mut value = format!(
            "{}{}{login}{timestamp}{}",
            self.user_id.get(),
            self.password_hash.as_str(),
            self.email
        );
        if let Some(addresses) = &self.addresses {
            let joined: Vec<&str> = addresses.iter().map(String::as_str).collect();
            value.push_str(&joined.join("|"));
        }
        value
    }
}

impl std::fmt::Debug for TokenSubject {
    // The password hash is a secret: show whose subject this is, nothing more.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSubject")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// `str(dt.replace(microsecond=0, tzinfo=None))` of the UTC wall time.
fn django_second(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Django's `_num_seconds`: whole seconds since 2001, never negative (a
/// clock before 2001 signs as of 2001).
fn timestamp_at(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp() - EPOCH_UNIX).unwrap_or(0)
}

/// The generator with the link signer's keys: both rotate together, and a
/// signer always has a key.
impl From<&super::LinkSigner> for ResetTokenGenerator {
    fn from(signer: &super::LinkSigner) -> Self {
        Self {
            keys: signer.keys().to_vec(),
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResetTokenError {
    /// Not `<base 36>-<hash>` at all.
    #[error("malformed token")]
    Malformed,
    /// No configured key makes this token for this user as they are now.
    #[error("invalid token")]
    Invalid,
    /// A good token, older than the timeout.
    #[error("token expired")]
    Expired,
}

/// Makes and checks tokens with a set of keys, newest first.
#[derive(Clone, Debug)]
pub struct ResetTokenGenerator {
    keys: Vec<SecretKey>,
}

impl ResetTokenGenerator {
    /// A generator with `keys`, newest first. At least one key is required.
    pub fn new(keys: Vec<SecretKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(Self { keys })
    }

    /// The token for `subject` at `now`, under the newest key.
    pub fn make(&self, subject: &TokenSubject, now: OffsetDateTime) -> String {
        // `new` guarantees a first key; an empty generator makes nothing valid.
        self.keys
            .first()
            .map(|key| token(key, subject, timestamp_at(now)))
            .unwrap_or_default()
    }

    /// Django's `check_token`: the whole string must be what some key makes
    /// for `subject` at the token's own timestamp, and `now - ts` must not
    /// exceed `timeout` (whole seconds, inclusive).
    pub fn check(
        &self,
        subject: &TokenSubject,
        submitted: &str,
        now: OffsetDateTime,
        timeout: Duration,
    ) -> Result<(), ResetTokenError> {
        let timestamp = parse_timestamp(submitted).ok_or(ResetTokenError::Malformed)?;
        // Every key is tried, so timing does not tell which key matched.
        let matched = self.keys.iter().fold(subtle::Choice::from(0), |acc, key| {
            acc | token(key, subject, timestamp)
                .as_bytes()
                .ct_eq(submitted.as_bytes())
        });
        if !bool::from(matched) {
            return Err(ResetTokenError::Invalid);
        }
        let age = i128::from(timestamp_at(now)) - i128::from(timestamp);
        if age > i128::from(timeout.whole_seconds()) {
            return Err(ResetTokenError::Expired);
        }
        Ok(())
    }
}

/// The timestamp of a `<ts>-<hash>` token: exactly two parts, the first at
/// most 13 base-36 digits. Whether the rest is right is for the MAC to say.
fn parse_timestamp(token: &str) -> Option<u64> {
    let (ts, hash) = token.split_once('-')?;
    if hash.contains('-') || ts.len() > MAX_TIMESTAMP_DIGITS {
        return None;
    }
    radix::decode(ts, BASE36)
}

/// `_make_token_with_timestamp` under one key.
fn token(key: &SecretKey, subject: &TokenSubject, timestamp: u64) -> String {
    let mac = salted_hmac(KEY_SALT, key, subject.hash_value(timestamp).as_bytes());
    let hex = hex::encode(mac);
    let every_other: String = hex.chars().step_by(2).collect();
    format!("{}-{every_other}", radix::encode(timestamp, BASE36))
}

#[cfg(test)]
mod tests;
