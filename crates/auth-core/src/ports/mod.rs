//! Ports: what the workflows need from the outside world, as small
//! object-safe traits held as `Arc<dyn …>`. Adapter crates implement them.

mod cause;
mod clock;
mod epochs;
mod hasher;
mod mailer;
mod outbox;
mod rate_limiter;
mod token_manager;
mod user_store;

pub use cause::{Cause, report};
pub use clock::{Clock, FixedClock, SystemClock};
pub use epochs::{EPOCH_SLOTS, EpochError, Epochs, epoch_slot};
pub use hasher::{HashError, PasswordHasher, Verification};
pub use mailer::{MailError, Mailer};
pub use outbox::{Backlog, Outbox, OutboxId, QueuedNotification};
pub use rate_limiter::{Decision, RateLimitError, RateLimiter, RateRule};
pub use token_manager::{
    Adopted, Adoption, AuthToken, CredentialInfo, CredentialKind, Holds, LiveCount, Resolved,
    TokenError, TokenManager,
};
pub use user_store::{Announce, Matching, StoreError, UniqueField, UserStore};

#[cfg(test)]
pub(crate) use hasher::MockPasswordHasher;
#[cfg(test)]
pub(crate) use mailer::MockMailer;
#[cfg(test)]
pub(crate) use outbox::MockOutbox;
#[cfg(test)]
pub(crate) use token_manager::MockTokenManager;
#[cfg(test)]
pub(crate) use user_store::MockUserStore;
