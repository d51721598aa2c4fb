//! User storage, with the notification outbox in the same transactions.

use std::sync::Arc;

use async_trait::async_trait;

use super::Cause;
use crate::domain::{AddressId, EmailAddress, EmailHolding, NewUser, User, UserChange, UserId};
use crate::notification::Notification;

/// How a login name or address is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// Exact, case-sensitive (DRR: `Bob` ≠ `bob`).
    Exact,
    /// Ignoring letter case (our default: one account per mailbox).
    CaseInsensitive,
}

impl Matching {
    /// The text two identifiers share exactly when they match: the
    /// identifier itself, or its lower case.
    pub fn key(self, value: &str) -> String {
        match self {
            Self::Exact => value.to_owned(),
            Self::CaseInsensitive => value.to_lowercase(),
        }
    }
}

/// A field the store keeps unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    /// The login name.
    Username,
    /// The address.
    Email,
}

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The write would break a uniqueness rule (enforced by the store itself,
    /// so concurrent requests cannot both pass a read-then-write check).
    #[error("{0:?} already taken")]
    Conflict(UniqueField),
    /// A guarded update found the row changed ([`UserChange::guard`]).
    #[error("the user changed concurrently")]
    GuardFailed,
    /// The user to update does not exist.
    #[error("user not found")]
    NotFound,
    /// The store could not be reached or failed.
    #[error("user store unavailable")]
    Unavailable(#[source] Cause),
}

/// The error of an optional capability a store does not have.
fn unsupported(what: &str) -> StoreError {
    StoreError::Unavailable(Cause::msg(format!(
        "this user store does not support {what}"
    )))
}

/// Builds the notification announcing a user the store just created, once
/// the store has assigned its ids (a registration link signs the user's, an
/// allauth confirmation key its address-book entry's).
pub trait Announce: Send + Sync {
    /// The notification to queue with the new user, if any; `address` is
    /// the entry created with it ([`EmailHolding::Book`]).
    fn announce(&self, user: &User, address: Option<&EmailAddress>) -> Option<Notification>;
}

/// Users and the notifications announcing changes to them.
///
/// Every method that writes takes the notifications the write announces and
/// must commit both atomically (an outbox): a mail is queued exactly when
/// its change is committed.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user with `id`.
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user whose username matches.
    async fn find_by_username(
        &self,
        username: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError>;

    /// The user whose address matches.
    async fn find_by_email(
        &self,
        email: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError>;

    /// Creates a user and queues what `announce` builds for it.
    async fn create(
        &self,
        user: NewUser,
        announce: Option<Arc<dyn Announce>>,
    ) -> Result<User, StoreError>;

    /// Applies `change` (if its guard holds) and queues `notify`.
    async fn update(
        &self,
        id: UserId,
        change: UserChange,
        notify: Vec<Notification>,
    ) -> Result<User, StoreError>;

    /// Deletes the user (and what the store keeps for it); false if there
    /// was none. Needed by `delete-account/` only.
    async fn delete(&self, _id: UserId) -> Result<bool, StoreError> {
        Err(unsupported("deleting users"))
    }

    /// Up to `limit` users with ids above `after` (from the first when
    /// `None`), by id: an operator's listing, page by page. The default
    /// refuses.
    async fn page(&self, _after: Option<UserId>, _limit: u32) -> Result<Vec<User>, StoreError> {
        Err(unsupported("listing users"))
    }

    /// Queues notifications that go with no change.
    async fn enqueue(&self, notify: Vec<Notification>) -> Result<(), StoreError>;

    /// The users with these ids that exist, in no particular order (one
    /// read for a batch of an import). The default reads them one by one.
    async fn get_all(&self, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.get(*id).await?);
        }
        Ok(found)
    }

    /// Writes each of `users` under its own id, every field as given:
    /// inserts it, or replaces the row that has that id. For accounts moved
    /// from another system, whose ids links and clients already hold; new
    /// users come from [`create`](Self::create). One transaction for all;
    /// per user, `None` when written, or the field whose uniqueness refused
    /// it (the others are written all the same). Later ids the store
    /// assigns itself stay above every id written here.
    /// Needed by `auth_core::import` only; the default refuses.
    /// With [`EmailHolding::Book`], addresses are written unclaimed on the
    /// rows (not unique among accounts), to be listed by
    /// [`put_addresses`](Self::put_addresses) or
    /// [`book_unlisted`](Self::book_unlisted).
    async fn put_all(
        &self,
        _users: &[User],
        _holding: EmailHolding,
    ) -> Result<Vec<Option<UniqueField>>, StoreError> {
        Err(unsupported("importing users"))
    }

    /// Writes address-book entries under their own ids: each user's entries
    /// replace the ones the store held for that user. One transaction for
    /// all; per entry, `None` when written, or the field whose uniqueness
    /// refused it (a verified address another account has verified). Later
    /// ids the store assigns itself stay above every id written here.
    /// Needed by `auth_core::import` only; the default refuses.
    async fn put_addresses(
        &self,
        _entries: &[EmailAddress],
    ) -> Result<Vec<Option<UniqueField>>, StoreError> {
        Err(unsupported("importing address books"))
    }

    /// Gives every user whose address is unclaimed on its row and who has
    /// no address-book entry a primary, unverified entry for it (after an
    /// import of a site without an address table); how many.
    /// Needed by `auth_core::import` only; the default refuses.
    async fn book_unlisted(&self) -> Result<u64, StoreError> {
        Err(unsupported("importing address books"))
    }

    /// `user`'s address-book entries, by id.
    /// Needed by the rest-auth dialect only; the default refuses.
    async fn addresses(&self, _user: UserId) -> Result<Vec<EmailAddress>, StoreError> {
        Err(unsupported("address books"))
    }

    /// Every account's address-book entries whose address matches, by id.
    /// Needed by the rest-auth dialect only; the default refuses.
    async fn addresses_matching(
        &self,
        _email: &str,
        _matching: Matching,
    ) -> Result<Vec<EmailAddress>, StoreError> {
        Err(unsupported("address books"))
    }

    /// The address-book entry with `id`.
    /// Needed by the rest-auth dialect only; the default refuses.
    async fn address(&self, _id: AddressId) -> Result<Option<EmailAddress>, StoreError> {
        Err(unsupported("address books"))
    }

    /// Confirms entry `id` if it is not verified yet: it becomes verified
    /// and the user's primary address, and the user row takes the address
    /// and counts as verified; `notify` is queued with it. The user after
    /// the change; [`StoreError::GuardFailed`] when the entry was verified
    /// already, [`StoreError::NotFound`] when there is none, and
    /// [`StoreError::Conflict`] when another account verified the address
    /// first. Needed by the rest-auth dialect only; the default refuses.
    async fn confirm_address(
        &self,
        _id: AddressId,
        _notify: Vec<Notification>,
    ) -> Result<User, StoreError> {
        Err(unsupported("address books"))
    }

    /// Keeps the ids the store assigns to new users above `through`: after
    /// an import, above every id the old site used, skipped rows included,
    /// so a link the old site mailed to an account that did not move never
    /// names a newcomer.
    /// Needed by `auth_core::import` only; the default refuses.
    async fn reserve_ids(&self, _through: UserId) -> Result<(), StoreError> {
        Err(unsupported("importing users"))
    }
}
