//! Row types and encodings shared by every engine.

use auth_core::domain::{Email, PasswordHash, User, UserId, Username};
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
