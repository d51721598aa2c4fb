//! Row types and encodings shared by every engine.

use auth_core::domain::{Email, PasswordHash, User, UserChange, UserGuard, UserId, Username};
use auth_core::notification::Notification;
use auth_core::ports::{Matching, OutboxId, QueuedNotification, StoreError};
use time::OffsetDateTime;

pub(crate) const COLUMNS: &str = "id, username, email, first_name, last_name, password_hash, verified, active, \
                                  pending_email, date_joined, last_login";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    email: Option<String>,
    first_name: String,
    last_name: String,
    password_hash: String,
    verified: bool,
    active: bool,
    pending_email: Option<String>,
    date_joined: i64,
    last_login: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| {
            StoreError::Unavailable(format!("user {}: stored {what} is invalid", row.id))
        };
        let email = |text: Option<String>| text.map(|t| Email::parse(&t)).transpose();
        Ok(User {
            id: UserId::new(row.id),
            username: Username::parse(&row.username).map_err(|_| corrupt("username"))?,
            email: email(row.email.clone()).map_err(|_| corrupt("email"))?,
            first_name: row.first_name,
            last_name: row.last_name,
            password_hash: PasswordHash::new(row.password_hash),
            verified: row.verified,
            active: row.active,
            pending_email: email(row.pending_email.clone())
                .map_err(|_| corrupt("pending email"))?,
            date_joined: timestamp(row.date_joined),
            last_login: row.last_login.map(timestamp),
        })
    }
}

fn timestamp(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A notification as stored in the outbox.
pub(crate) fn payload(notification: &Notification) -> Result<String, StoreError> {
    serde_json::to_string(notification).map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// A stored outbox row, before its payload is read.
#[derive(sqlx::FromRow)]
pub(crate) struct QueuedRow {
    pub id: i64,
    pub payload: String,
    pub attempts: i64,
}

impl QueuedRow {
    /// The queued notification, or the reason its payload cannot be read
    /// (such a row is set aside rather than retried forever).
    pub(crate) fn decode(self) -> Result<QueuedNotification, (OutboxId, String)> {
        match serde_json::from_str::<Notification>(&self.payload) {
            Ok(notification) => Ok(QueuedNotification {
                id: OutboxId(self.id),
                notification,
                attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            }),
            Err(error) => Err((OutboxId(self.id), format!("unreadable payload: {error}"))),
        }
    }
}

/// The text a uniqueness key holds for `value` under `matching`.
pub(crate) fn identifier_key(matching: Matching, value: &str) -> String {
    match matching {
        Matching::Exact => value.to_owned(),
        Matching::CaseInsensitive => value.to_lowercase(),
    }
}

/// The 22 parameters of the engines' `UPDATE users` statement, in order:
/// a "set" flag and a value per field (keys computed for the matching), the
/// id, then the guard's kind and values.
pub(crate) struct ChangeParams {
    pub username: (bool, Option<String>, Option<String>),
    pub first_name: (bool, Option<String>),
    pub last_name: (bool, Option<String>),
    pub email: (bool, Option<String>, Option<String>),
    pub password_hash: (bool, Option<String>),
    pub verified: (bool, Option<bool>),
    pub pending_email: (bool, Option<String>),
    pub last_login: (bool, Option<i64>),
    pub id: i64,
    pub guard: (i32, Option<String>, Option<bool>),
}

impl ChangeParams {
    pub(crate) fn new(id: UserId, change: &UserChange, matching: Matching) -> Self {
        let key = |v: &str| identifier_key(matching, v);
        let email = change.email.as_ref().map(|e| e.as_ref().map(Email::as_str));
        let pending = change
            .pending_email
            .as_ref()
            .map(|e| e.as_ref().map(Email::as_str));
        Self {
            username: (
                change.username.is_some(),
                change.username.as_ref().map(|u| u.as_str().to_owned()),
                change.username.as_ref().map(|u| key(u.as_str())),
            ),
            first_name: (change.first_name.is_some(), change.first_name.clone()),
            last_name: (change.last_name.is_some(), change.last_name.clone()),
            email: (
                email.is_some(),
                email.flatten().map(str::to_owned),
                email.flatten().map(key),
            ),
            password_hash: (
                change.password_hash.is_some(),
                change.password_hash.as_ref().map(|h| h.as_str().to_owned()),
            ),
            verified: (change.verified.is_some(), change.verified),
            pending_email: (pending.is_some(), pending.flatten().map(str::to_owned)),
            last_login: (
                change.last_login.is_some(),
                change.last_login.map(OffsetDateTime::unix_timestamp),
            ),
            id: id.get(),
            guard: match &change.guard {
                None => (0, None, None),
                Some(UserGuard::PasswordHash(hash)) => (1, Some(hash.as_str().to_owned()), None),
                Some(UserGuard::PendingEmail(email)) => (2, Some(email.as_str().to_owned()), None),
                Some(UserGuard::Verified(flag)) => (3, None, Some(*flag)),
            },
        }
    }
}

/// Binds [`ChangeParams`] to an engine's `UPDATE users` query, in order.
macro_rules! bind_change {
    ($query:expr, $p:expr) => {{
        let p = $p;
        $query
            .bind(p.username.0)
            .bind(p.username.1)
            .bind(p.username.2)
            .bind(p.first_name.0)
            .bind(p.first_name.1)
            .bind(p.last_name.0)
            .bind(p.last_name.1)
            .bind(p.email.0)
            .bind(p.email.1)
            .bind(p.email.2)
            .bind(p.password_hash.0)
            .bind(p.password_hash.1)
            .bind(p.verified.0)
            .bind(p.verified.1)
            .bind(p.pending_email.0)
            .bind(p.pending_email.1)
            .bind(p.last_login.0)
            .bind(p.last_login.1)
            .bind(p.id)
            .bind(p.guard.0)
            .bind(p.guard.1)
            .bind(p.guard.2)
    }};
}
pub(crate) use bind_change;
