//! Users as the workflows see them.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Email, PasswordHash, Username};

/// A user's primary key, as DRR exposes it (`id` in the profile, `user_id` in
/// links).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(i64);

impl UserId {
    /// Wraps a key assigned by the store.
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The raw key.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Reads a `user_id` submitted in a link the way Django's integer lookup
    /// does: surrounding whitespace, a `+` sign and leading zeros are allowed.
    /// Anything else names no user.
    pub fn parse_link(text: &str) -> Option<Self> {
        let text = text.trim();
        let digits = text.strip_prefix('+').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Self)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A stored user.
///
/// Two flags, where DRR has one (`is_active`): `verified` is set by the
/// registration link, `active` is the administrator's switch. A user may log
/// in only when both hold, so a verification link can never re-enable an
/// account an administrator disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: UserId,
    /// Login name.
    pub username: Username,
    /// Address for mail and login; optional as in Django's stock user.
    pub email: Option<Email>,
    /// Given name, may be empty.
    pub first_name: String,
    /// Family name, may be empty.
    pub last_name: String,
    /// Stored password hash.
    pub password_hash: PasswordHash,
    /// The registration link was followed (or verification is off).
    pub verified: bool,
    /// Not disabled by an administrator.
    pub active: bool,
    /// The address of the newest e-mail change awaiting confirmation.
    pub pending_email: Option<Email>,
    /// When the account was created.
    pub date_joined: OffsetDateTime,
    /// Last successful login.
    pub last_login: Option<OffsetDateTime>,
    /// Staff (Django's `is_staff`): in the djoser dialect, sees and changes
    /// other users.
    pub staff: bool,
}

impl User {
    /// Whether the user may authenticate at all.
    pub fn can_log_in(&self) -> bool {
        self.verified && self.active
    }
}

/// A user to create; the store assigns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// Optional address.
    pub email: Option<Email>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Hash of the chosen password.
    pub password_hash: PasswordHash,
    /// False while registration verification is pending.
    pub verified: bool,
    /// Creation time.
    pub date_joined: OffsetDateTime,
    /// Staff (Django's `is_staff`).
    pub staff: bool,
    /// Where the address is kept.
    pub holding: EmailHolding,
}

/// How a new user's address is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmailHolding {
    /// On the user row, unique among accounts (DRR, djoser).
    #[default]
    Unique,
    /// In allauth's address book ([`EmailAddress`], primary), unique only
    /// once verified: two accounts may hold an address until one of them
    /// confirms it.
    Book {
        /// Whether it starts verified.
        verified: bool,
    },
}

/// An address-book entry's primary key (allauth's `EmailAddress.pk`, which
/// its confirmation keys sign).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AddressId(i64);

impl AddressId {
    /// Wraps a key assigned by the store.
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The raw key.
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// One of a user's addresses in the address book (allauth's
/// `EmailAddress`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    /// Primary key.
    pub id: AddressId,
    /// Whose it is.
    pub user: UserId,
    /// The address.
    pub email: Email,
    /// Confirmed by its owner.
    pub verified: bool,
    /// The user's main address (the one on the user row).
    pub primary: bool,
}

/// A partial update of a user: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// New login name.
    pub username: Option<Username>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New address (`Some(None)` clears it).
    pub email: Option<Option<Email>>,
    /// New password hash.
    pub password_hash: Option<PasswordHash>,
    /// New verification flag.
    pub verified: Option<bool>,
    /// Enabled (`true`) or disabled by an administrator (`false`).
    pub active: Option<bool>,
    /// New pending e-mail change (`Some(None)` clears it).
    pub pending_email: Option<Option<Email>>,
    /// New last-login time.
    pub last_login: Option<OffsetDateTime>,
    /// New staff flag.
    pub staff: Option<bool>,
    /// A condition the stored row must still meet for the update to apply;
    /// it makes one-time links single-use under concurrent requests.
    pub guard: Option<UserGuard>,
}

/// What a guarded update requires of the stored user (compare-and-set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserGuard {
    /// The password hash is still this one.
    PasswordHash(PasswordHash),
    /// The pending e-mail change is still this address (exact text).
    PendingEmail(Email),
    /// The verification flag still has this value.
    Verified(bool),
}
