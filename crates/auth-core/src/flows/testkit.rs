//! Shared fixtures for the workflow unit tests: mockall fakes of every port.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{Accounts, Ports};
use crate::domain::{Email, PasswordHash, User, UserId, Username};
use crate::policy::PasswordPolicy;
use crate::ports::{
    AuthToken, FixedClock, Holds, MockPasswordHasher, MockTokenManager, MockUserStore, Resolved,
    StoreError,
};
use crate::settings::Settings;
use crate::signing::{LinkData, LinkSigner, Salt, SecretKey};

pub use futures::executor::block_on;

/// The fixed "now" of every workflow test (2023-11-14T22:13:20Z).
pub const NOW: i64 = 1_700_000_000;

pub struct Kit {
    pub store: MockUserStore,
    pub tokens: MockTokenManager,
    pub hasher: MockPasswordHasher,
    pub settings: Settings,
    pub signer: LinkSigner,
}

impl Kit {
    /// Our safe defaults.
    pub fn new() -> Self {
        Self::with(Settings::default())
    }

    /// DRR's defaults.
    pub fn drr() -> Self {
        Self::with(Settings::drr())
    }

    fn with(mut settings: Settings) -> Self {
        settings.register.verification_url = "https://front.test/verify-user/".into();
        settings.reset_password.verification_url = "https://front.test/reset-password/".into();
        settings.register_email.verification_url = "https://front.test/verify-email/".into();
        Self {
            store: MockUserStore::new(),
            tokens: MockTokenManager::new(),
            hasher: MockPasswordHasher::new(),
            settings,
            signer: LinkSigner::new(vec![SecretKey::new("test-key").unwrap()]).unwrap(),
        }
    }

    pub fn accounts(self) -> Accounts {
        let clock = FixedClock::new(OffsetDateTime::from_unix_timestamp(NOW).unwrap());
        Accounts::new(
            Ports {
                store: Arc::new(self.store),
                tokens: Arc::new(self.tokens),
                hasher: Arc::new(self.hasher),
                clock: Arc::new(clock),
            },
            self.signer,
            PasswordPolicy::django_default(),
            self.settings,
        )
    }

    pub fn sign(&self, salt: &Salt, user_id: &str, email: Option<&str>, timestamp: i64) -> String {
        let data = LinkData {
            user_id: user_id.into(),
            email: email.map(Into::into),
            timestamp,
        };
        self.signer.sign(salt, &data)
    }
}

pub fn uid(id: i64) -> UserId {
    UserId::new(id)
}

/// What a token manager answers for a live credential of user `id`.
pub fn owner(id: i64) -> Resolved {
    Resolved::owner(uid(id), Holds::Always)
}

pub fn hash(tag: &str) -> PasswordHash {
    PasswordHash::new(format!("$argon2id$v=19$m=19456,t=2,p=1$salt${tag}"))
}

pub fn token(value: &str) -> AuthToken {
    AuthToken::new(value)
}

pub fn down() -> StoreError {
    StoreError::Unavailable("connection refused".into())
}

/// A verified, active user `name` with address `name@example.org`.
pub fn user(id: i64, name: &str) -> User {
    User {
        id: uid(id),
        username: Username::parse(name).unwrap(),
        email: Some(Email::parse(&format!("{name}@example.org")).unwrap()),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: hash("current"),
        verified: true,
        active: true,
        pending_email: None,
        date_joined: OffsetDateTime::from_unix_timestamp(NOW - 86_400).unwrap(),
        last_login: None,
        staff: false,
    }
}
