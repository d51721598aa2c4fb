//! A bounded in-process cache of resolved credentials and their users, in
//! front of the token store and the user store, so that a token- or
//! session-authenticated read needs no store at all while nothing changed.
//!
//! Staleness is ruled out by [`Epochs`] counters rather than by time: an
//! entry records the counter of its user as read *before* the store was
//! asked, and is used only while that counter has not moved. Every write
//! through [`CachedTokens`] or [`CachedUsers`] that could end a credential
//! or change a user (revocations, updates, deletions, imports) moves the
//! counter after the store has the change. With counters in this process
//! ([`LocalEpochs`]) that covers one instance; with counters in Redis it
//! covers every instance sharing them, since each request reads the
//! counter; with counters in a file beside a SQLite database
//! ([`FileEpochs`]) it covers every process on that file. A write made
//! behind the decorators' back (SQL typed by hand) is seen within
//! `max_age`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use auth_core::credentials::digest;
use auth_core::domain::{AddressId, EmailAddress, EmailHolding, NewUser, User, UserChange, UserId};
use auth_core::notification::Notification;
use auth_core::ports::{
    Adopted, Adoption, Announce, AuthToken, Clock, CredentialInfo, CredentialKind, EPOCH_SLOTS,
    EpochError, Epochs, Holds, LiveCount, Matching, Resolved, StoreError, TokenError, TokenManager,
    UniqueField, UserStore, epoch_slot,
};

/// Change counters kept in this process: one instance's cache.
pub struct LocalEpochs {
    slots: Box<[AtomicU64]>,
}

impl Default for LocalEpochs {
    fn default() -> Self {
        Self {
            slots: (0..EPOCH_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl LocalEpochs {
    fn slot(&self, user: UserId) -> &AtomicU64 {
        // epoch_slot is below EPOCH_SLOTS, the slice's length.
        &self.slots[epoch_slot(user) as usize]
    }
}

#[async_trait]
impl Epochs for LocalEpochs {
    async fn current(&self, user: UserId) -> Result<u64, EpochError> {
        Ok(self.slot(user).load(Ordering::Acquire))
    }

    async fn bump(&self, user: UserId) -> Result<(), EpochError> {
        self.slot(user).fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// Change counters in a file every process opening the same database
/// opens too (`auth.sqlite3-epochs` beside `auth.sqlite3`): the server and
/// the operator CLI on one SQLite file see each other's changes at once.
/// A read is one `pread` of eight bytes; a bump takes the file's lock.
pub struct FileEpochs {
    file: std::fs::File,
    // flock is per open file: threads of this process take turns here.
    bumping: std::sync::Mutex<()>,
}

impl FileEpochs {
    /// Opens (or makes) the counters' file at `path`.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let size = EPOCH_SLOTS * 8;
        if file.metadata()?.len() < size {
            file.set_len(size)?;
        }
        Ok(Self {
            file,
            bumping: std::sync::Mutex::new(()),
        })
    }

    fn read(&self, slot: u64) -> std::io::Result<u64> {
        use std::os::unix::fs::FileExt;
        let mut bytes = [0_u8; 8];
        self.file.read_exact_at(&mut bytes, slot * 8)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn bump_slots(&self, slots: impl Iterator<Item = u64>) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let _turn = self
            .bumping
            .lock()
            .map_err(|_| std::io::Error::other("epoch lock poisoned"))?;
        self.file.lock()?;
        let bumped = slots.into_iter().try_for_each(|slot| {
            let next = self.read(slot)?.wrapping_add(1);
            self.file.write_all_at(&next.to_le_bytes(), slot * 8)
        });
        self.file.unlock()?;
        bumped
    }
}

fn io_error(error: std::io::Error) -> EpochError {
    EpochError(auth_core::ports::Cause::new(error))
}

#[async_trait]
impl Epochs for FileEpochs {
    async fn current(&self, user: UserId) -> Result<u64, EpochError> {
        self.read(epoch_slot(user)).map_err(io_error)
    }

    async fn bump(&self, user: UserId) -> Result<(), EpochError> {
        self.bump_slots(std::iter::once(epoch_slot(user)))
            .map_err(io_error)
    }

    async fn bump_all(&self, users: &[UserId]) -> Result<(), EpochError> {
        let slots: std::collections::BTreeSet<u64> = users.iter().map(|u| epoch_slot(*u)).collect();
        self.bump_slots(slots.into_iter()).map_err(io_error)
    }
}

#[derive(Clone)]
struct TokenEntry {
    user: UserId,
    kind: CredentialKind,
    holds: Holds,
    epoch: u64,
    cached: std::time::Instant,
}

#[derive(Clone)]
struct UserEntry {
    user: User,
    epoch: u64,
}

struct Shared {
    // No time-to-live: an entry past `max_age` is not used, but still
    // names the credential's owner (which never changes), so refreshing
    // it takes one store lookup instead of two.
    tokens: moka::sync::Cache<Vec<u8>, TokenEntry>,
    max_age: Duration,
    users: moka::sync::Cache<UserId, UserEntry>,
    epochs: Arc<dyn Epochs>,
    clock: Arc<dyn Clock>,
}

/// The cache both decorators share: up to `entries` credentials and as
/// many users, none used past `max_age`.
#[derive(Clone)]
pub struct CredentialCache {
    shared: Arc<Shared>,
}

impl CredentialCache {
    /// A cache of up to `entries` credentials and `entries` users.
    pub fn new(
        entries: u64,
        max_age: Duration,
        epochs: Arc<dyn Epochs>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                tokens: moka::sync::Cache::builder().max_capacity(entries).build(),
                max_age,
                users: moka::sync::Cache::builder()
                    .max_capacity(entries)
                    .time_to_live(max_age)
                    .build(),
                epochs,
                clock,
            }),
        }
    }

    /// `inner`, with credentials resolved from the cache while they hold.
    pub fn tokens(&self, inner: Arc<dyn TokenManager>) -> CachedTokens {
        CachedTokens {
            inner,
            cache: self.shared.clone(),
        }
    }

    /// `inner`, with users read from the cache while unchanged.
    pub fn users(&self, inner: Arc<dyn UserStore>) -> CachedUsers {
        CachedUsers {
            inner,
            cache: self.shared.clone(),
        }
    }
}

fn token_error(error: EpochError) -> TokenError {
    TokenError(error.0)
}

fn store_error(error: EpochError) -> StoreError {
    StoreError::Unavailable(error.0)
}

/// A [`TokenManager`] answering `resolve` from the cache.
pub struct CachedTokens {
    inner: Arc<dyn TokenManager>,
    cache: Arc<Shared>,
}

/// What the cache knows of a credential.
#[allow(clippy::large_enum_variant)] // returned once per request; boxing would allocate each time
enum Lookup {
    /// A live answer, checked against the owner's counter.
    Hit(Resolved),
    /// Nothing usable, but the credential's owner is known.
    Owner(UserId),
    /// Nothing.
    Miss,
}

impl CachedTokens {
    async fn lookup(&self, key: &[u8], kind: CredentialKind) -> Result<Lookup, TokenError> {
        let Some(entry) = self.cache.tokens.get(key) else {
            return Ok(Lookup::Miss);
        };
        if entry.kind != kind {
            return Ok(Lookup::Miss);
        }
        let holds = entry.cached.elapsed() < self.cache.max_age
            && match entry.holds {
                Holds::Always => true,
                Holds::Until(until) => self.cache.clock.now() < until,
                Holds::ThisRequest => false,
            };
        if !holds {
            return Ok(Lookup::Owner(entry.user));
        }
        // The counter is read (a Redis round trip on shared stores) only
        // for an entry that would otherwise do.
        let epoch = self
            .cache
            .epochs
            .current(entry.user)
            .await
            .map_err(token_error)?;
        if epoch != entry.epoch {
            return Ok(Lookup::Owner(entry.user));
        }
        // The owner's account, if cached under the counter just read, is
        // as current as the credential: nothing changed either since.
        // Handing it over spares `get` a second read of the same counter.
        let account = self
            .cache
            .users
            .get(&entry.user)
            .filter(|cached| cached.epoch == epoch)
            .map(|cached| cached.user);
        Ok(Lookup::Hit(Resolved {
            user: entry.user,
            holds: entry.holds,
            account,
        }))
    }

    /// Asks the store, the owner's counter read first, and caches the
    /// answer under that counter when it may be kept.
    async fn refresh(
        &self,
        key: Vec<u8>,
        token: &AuthToken,
        kind: CredentialKind,
        owner: UserId,
    ) -> Result<Option<Resolved>, TokenError> {
        let epoch = self
            .cache
            .epochs
            .current(owner)
            .await
            .map_err(token_error)?;
        let found = self.inner.resolve(token, kind).await?;
        match &found {
            Some(found) if found.user == owner && found.holds != Holds::ThisRequest => {
                let entry = TokenEntry {
                    user: owner,
                    kind,
                    holds: found.holds,
                    epoch,
                    cached: std::time::Instant::now(),
                };
                self.cache.tokens.insert(key, entry);
            }
            _ => self.cache.tokens.invalidate(&key),
        }
        Ok(found)
    }
}

#[async_trait]
impl TokenManager for CachedTokens {
    async fn provide(&self, user: UserId, kind: CredentialKind) -> Result<AuthToken, TokenError> {
        self.inner.provide(user, kind).await
    }

    async fn resolve(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<Resolved>, TokenError> {
        let key = digest(token);
        match self.lookup(&key, kind).await? {
            Lookup::Hit(found) => Ok(Some(found)),
            Lookup::Owner(owner) => self.refresh(key, token, kind, owner).await,
            Lookup::Miss => {
                // The owner is known only once the store answered; its
                // counter is read next, then the store asked again, so an
                // entry is never tagged with a counter read after a
                // revocation it missed.
                let Some(first) = self.inner.resolve(token, kind).await? else {
                    return Ok(None);
                };
                if first.holds == Holds::ThisRequest {
                    return Ok(Some(first));
                }
                self.refresh(key, token, kind, first.user).await
            }
        }
    }

    async fn adopt_all(&self, credentials: &[Adoption]) -> Result<Vec<Adopted>, TokenError> {
        self.inner.adopt_all(credentials).await
    }

    async fn revoke(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError> {
        let owner = self.inner.revoke(token, kind).await?;
        self.cache.tokens.invalidate(&digest(token));
        if let Some(user) = owner {
            self.cache.epochs.bump(user).await.map_err(token_error)?;
        }
        Ok(owner)
    }

    async fn revoke_all(
        &self,
        user: UserId,
        kind: Option<CredentialKind>,
        keep: Option<AuthToken>,
    ) -> Result<u64, TokenError> {
        let revoked = self.inner.revoke_all(user, kind, keep).await?;
        self.cache.epochs.bump(user).await.map_err(token_error)?;
        Ok(revoked)
    }

    async fn list(&self, user: UserId) -> Result<Vec<CredentialInfo>, TokenError> {
        self.inner.list(user).await
    }

    async fn revoke_id(&self, user: UserId, id: &str) -> Result<bool, TokenError> {
        let revoked = self.inner.revoke_id(user, id).await?;
        self.cache.epochs.bump(user).await.map_err(token_error)?;
        Ok(revoked)
    }

    async fn count_live(&self) -> Result<LiveCount, TokenError> {
        self.inner.count_live().await
    }
}

/// A [`UserStore`] answering `get` from the cache.
pub struct CachedUsers {
    inner: Arc<dyn UserStore>,
    cache: Arc<Shared>,
}

impl CachedUsers {
    async fn changed(&self, user: UserId) -> Result<(), StoreError> {
        self.cache.users.invalidate(&user);
        self.cache.epochs.bump(user).await.map_err(store_error)
    }
}

#[async_trait]
impl UserStore for CachedUsers {
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let epoch = self.cache.epochs.current(id).await.map_err(store_error)?;
        if let Some(entry) = self.cache.users.get(&id) {
            if entry.epoch == epoch {
                return Ok(Some(entry.user));
            }
            self.cache.users.invalidate(&id);
        }
        let user = self.inner.get(id).await?;
        if let Some(user) = &user {
            let entry = UserEntry {
                user: user.clone(),
                epoch,
            };
            self.cache.users.insert(id, entry);
        }
        Ok(user)
    }

    async fn find_by_username(
        &self,
        username: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        self.inner.find_by_username(username, matching).await
    }

    async fn find_by_email(
        &self,
        email: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        self.inner.find_by_email(email, matching).await
    }

    async fn create(
        &self,
        user: NewUser,
        announce: Option<Arc<dyn Announce>>,
    ) -> Result<User, StoreError> {
        self.inner.create(user, announce).await
    }

    async fn update(
        &self,
        id: UserId,
        change: UserChange,
        notify: Vec<Notification>,
    ) -> Result<User, StoreError> {
        let updated = self.inner.update(id, change, notify).await;
        // Whatever the answer, the row may have changed.
        self.changed(id).await?;
        updated
    }

    async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
        let deleted = self.inner.delete(id).await;
        self.changed(id).await?;
        deleted
    }

    async fn page(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, StoreError> {
        self.inner.page(after, limit).await
    }

    async fn enqueue(&self, notify: Vec<Notification>) -> Result<(), StoreError> {
        self.inner.enqueue(notify).await
    }

    async fn get_all(&self, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        self.inner.get_all(ids).await
    }

    async fn put_all(
        &self,
        users: &[User],
        holding: EmailHolding,
    ) -> Result<Vec<Option<UniqueField>>, StoreError> {
        let written = self.inner.put_all(users, holding).await;
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        for id in &ids {
            self.cache.users.invalidate(id);
        }
        self.cache
            .epochs
            .bump_all(&ids)
            .await
            .map_err(store_error)?;
        written
    }

    async fn reserve_ids(&self, through: UserId) -> Result<(), StoreError> {
        self.inner.reserve_ids(through).await
    }

    async fn addresses(&self, user: UserId) -> Result<Vec<EmailAddress>, StoreError> {
        self.inner.addresses(user).await
    }

    async fn addresses_matching(
        &self,
        email: &str,
        matching: Matching,
    ) -> Result<Vec<EmailAddress>, StoreError> {
        self.inner.addresses_matching(email, matching).await
    }

    async fn address(&self, id: AddressId) -> Result<Option<EmailAddress>, StoreError> {
        self.inner.address(id).await
    }

    async fn put_addresses(
        &self,
        entries: &[EmailAddress],
    ) -> Result<Vec<Option<UniqueField>>, StoreError> {
        // Entries are not cached; the users they change are read anew.
        self.inner.put_addresses(entries).await
    }

    async fn book_unlisted(&self) -> Result<u64, StoreError> {
        self.inner.book_unlisted().await
    }

    async fn confirm_address(
        &self,
        id: AddressId,
        notify: Vec<Notification>,
    ) -> Result<User, StoreError> {
        let confirmed = self.inner.confirm_address(id, notify).await;
        if let Ok(user) = &confirmed {
            self.changed(user.id).await?;
        }
        confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_counters_are_shared_by_every_handle_on_the_file() {
        let dir = std::env::temp_dir().join(format!("epochs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("auth.sqlite3-epochs");
        let server = FileEpochs::open(&path).unwrap();
        let cli = FileEpochs::open(&path).unwrap();
        let ann = UserId::new(7);
        let neighbour = UserId::new(7 + EPOCH_SLOTS as i64);
        let before = server.current(ann).await.unwrap();
        cli.bump(ann).await.unwrap();
        assert_eq!(server.current(ann).await.unwrap(), before + 1);
        // Users sharing a slot share its counter; others keep theirs.
        assert_eq!(server.current(neighbour).await.unwrap(), before + 1);
        let bob = UserId::new(8);
        let bob_before = server.current(bob).await.unwrap();
        cli.bump_all(&[ann, neighbour, bob]).await.unwrap();
        assert_eq!(server.current(ann).await.unwrap(), before + 2);
        assert_eq!(server.current(bob).await.unwrap(), bob_before + 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
