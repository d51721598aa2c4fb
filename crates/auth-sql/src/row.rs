//! Rows as stored, and how domain values become columns: the one place
//! that knows the `users` table's layout.

use auth_core::domain::{
    AddressId, Email, EmailAddress, EmailHolding, NewUser, PasswordHash, User, UserChange,
    UserGuard, UserId, Username,
};
use auth_core::notification::Notification;
use auth_core::ports::{Cause, Matching, OutboxId, QueuedNotification, StoreError};
use time::OffsetDateTime;

pub(crate) const COLUMNS: &str = "id, username, email, first_name, last_name, password_hash, verified, active, \
                                  pending_email, date_joined, last_login, staff";

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
    staff: bool,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| {
            StoreError::Unavailable(Cause::msg(format!(
                "user {}: stored {what} is invalid",
                row.id
            )))
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
            staff: row.staff,
        })
    }
}

pub(crate) const ADDRESS_COLUMNS: &str = "id, user_id, email, verified, is_primary";

/// A stored address-book entry.
#[derive(sqlx::FromRow)]
pub(crate) struct AddressRow {
    id: i64,
    user_id: i64,
    email: String,
    verified: bool,
    is_primary: bool,
}

impl AddressRow {
    /// Whose entry it is.
    pub(crate) fn user_id(&self) -> i64 {
        self.user_id
    }
}

impl TryFrom<AddressRow> for EmailAddress {
    type Error = StoreError;

    fn try_from(row: AddressRow) -> Result<Self, StoreError> {
        let email = Email::parse(&row.email).map_err(|_| {
            StoreError::Unavailable(Cause::msg(format!(
                "address {}: stored email is invalid",
                row.id
            )))
        })?;
        Ok(EmailAddress {
            id: AddressId::new(row.id),
            user: UserId::new(row.user_id),
            email,
            verified: row.verified,
            primary: row.is_primary,
        })
    }
}

fn timestamp(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A notification as stored in the outbox.
pub(crate) fn payload(notification: &Notification) -> Result<String, StoreError> {
    serde_json::to_string(notification).map_err(|e| StoreError::Unavailable(Cause::new(e)))
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
    matching.key(value)
}

/// A stored credential.
#[derive(sqlx::FromRow)]
pub struct CredentialRow {
    pub digest: Vec<u8>,
    pub user_id: i64,
    pub kind: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A column value to bind.
pub enum Value {
    /// Text, or NULL.
    Text(Option<String>),
    /// A flag.
    Bool(bool),
    /// Unix seconds, or NULL.
    Int(Option<i64>),
}

/// A column and the value it is set to.
pub type Assignment = (&'static str, Value);

/// A column and the value it must still hold for an update to apply.
pub type Guard = (&'static str, Value);

fn text(value: &str) -> Value {
    Value::Text(Some(value.to_owned()))
}

fn email(value: Option<&Email>) -> Value {
    Value::Text(value.map(|e| e.as_str().to_owned()))
}

fn email_key(value: Option<&Email>, matching: Matching) -> Value {
    Value::Text(value.map(|e| identifier_key(matching, e.as_str())))
}

/// The columns of a new user (`active` aside, which starts true).
pub(crate) fn new_user_values(user: &NewUser, matching: Matching) -> Vec<Assignment> {
    vec![
        ("username", text(user.username.as_str())),
        (
            "username_key",
            text(&identifier_key(matching, user.username.as_str())),
        ),
        ("email", email(user.email.as_ref())),
        (
            "email_key",
            match user.holding {
                // The address book keeps it unique once verified.
                EmailHolding::Book { .. } => Value::Text(None),
                EmailHolding::Unique => email_key(user.email.as_ref(), matching),
            },
        ),
        ("first_name", text(&user.first_name)),
        ("last_name", text(&user.last_name)),
        ("password_hash", text(user.password_hash.as_str())),
        ("verified", Value::Bool(user.verified)),
        (
            "date_joined",
            Value::Int(Some(user.date_joined.unix_timestamp())),
        ),
        ("staff", Value::Bool(user.staff)),
    ]
}

/// Every column of `user`, its id included (a user written under its own
/// id); with [`EmailHolding::Book`] the address is left unclaimed.
pub(crate) fn user_values(
    user: &User,
    matching: Matching,
    holding: EmailHolding,
) -> Vec<Assignment> {
    let claimed = match holding {
        EmailHolding::Unique => user.email.as_ref(),
        EmailHolding::Book { .. } => None,
    };
    vec![
        ("id", Value::Int(Some(user.id.get()))),
        ("username", text(user.username.as_str())),
        (
            "username_key",
            text(&identifier_key(matching, user.username.as_str())),
        ),
        ("email", email(user.email.as_ref())),
        ("email_key", email_key(claimed, matching)),
        ("first_name", text(&user.first_name)),
        ("last_name", text(&user.last_name)),
        ("password_hash", text(user.password_hash.as_str())),
        ("verified", Value::Bool(user.verified)),
        ("active", Value::Bool(user.active)),
        ("pending_email", email(user.pending_email.as_ref())),
        (
            "date_joined",
            Value::Int(Some(user.date_joined.unix_timestamp())),
        ),
        (
            "last_login",
            Value::Int(user.last_login.map(OffsetDateTime::unix_timestamp)),
        ),
        ("staff", Value::Bool(user.staff)),
    ]
}

/// The columns `change` sets, and only those.
pub(crate) fn change_values(change: &UserChange, matching: Matching) -> Vec<Assignment> {
    let mut values = Vec::new();
    if let Some(username) = &change.username {
        values.push(("username", text(username.as_str())));
        let key = identifier_key(matching, username.as_str());
        values.push(("username_key", text(&key)));
    }
    if let Some(first_name) = &change.first_name {
        values.push(("first_name", text(first_name)));
    }
    if let Some(last_name) = &change.last_name {
        values.push(("last_name", text(last_name)));
    }
    if let Some(address) = &change.email {
        values.push(("email", email(address.as_ref())));
        values.push(("email_key", email_key(address.as_ref(), matching)));
    }
    if let Some(hash) = &change.password_hash {
        values.push(("password_hash", text(hash.as_str())));
    }
    if let Some(verified) = change.verified {
        values.push(("verified", Value::Bool(verified)));
    }
    if let Some(active) = change.active {
        values.push(("active", Value::Bool(active)));
    }
    if let Some(pending) = &change.pending_email {
        values.push(("pending_email", email(pending.as_ref())));
    }
    if let Some(at) = change.last_login {
        values.push(("last_login", Value::Int(Some(at.unix_timestamp()))));
    }
    if let Some(staff) = change.staff {
        values.push(("staff", Value::Bool(staff)));
    }
    values
}

/// The compare-and-set condition of a guarded update.
pub(crate) fn guard(guard: &UserGuard) -> Guard {
    match guard {
        UserGuard::PasswordHash(hash) => ("password_hash", text(hash.as_str())),
        UserGuard::PendingEmail(address) => ("pending_email", text(address.as_str())),
        UserGuard::Verified(flag) => ("verified", Value::Bool(*flag)),
    }
}

/// A login identifier looked up by a store: its column and, under the
/// store's own matching, its key column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Identifier {
    Username,
    Email,
}

/// The condition finding `identifier` compared by `matching`, for a store
/// whose key columns hold `stored` keys: the key column when they agree
/// (indexed), else the column itself.
pub(crate) fn lookup(identifier: Identifier, matching: Matching, stored: Matching) -> &'static str {
    match (identifier, matching == stored, matching) {
        (Identifier::Username, true, _) => "username_key = $1",
        (Identifier::Email, true, _) => "email_key = $1",
        (Identifier::Username, false, Matching::Exact) => "username = $1",
        (Identifier::Email, false, Matching::Exact) => "email = $1",
        (Identifier::Username, false, Matching::CaseInsensitive) => "lower(username) = $1",
        (Identifier::Email, false, Matching::CaseInsensitive) => "lower(email) = $1",
    }
}
