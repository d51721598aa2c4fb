//! Moving a Django site's accounts in: its users, with their password
//! hashes exactly as Django stored them, and Django REST framework's token
//! keys, so every user logs in with the old password (upgraded to argon2id
//! at that login) and every client stays logged in.
//!
//! Rows come from a reader of the site's database (`auth_sql::django`), in
//! batches; each row is checked, merged with what an earlier run wrote, and
//! written through the [`UserStore`] and [`TokenManager`] ports under its
//! Django id, which the site's mailed links sign (a batch per transaction). Running again updates and never
//! duplicates. A row that cannot be imported is [skipped](Skip) with the
//! reason, never aborting the run; only a store failure does, and a rerun
//! picks up from the rows already written.

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::credentials::{credential_id, digest};
use crate::domain::{
    AddressId, Email, EmailAddress, EmailHolding, PasswordHash, User, UserChange, UserId, Username,
};
use crate::hashing::HashFormat;
use crate::ports::{
    Adopted, Adoption, AuthToken, CredentialKind, Matching, StoreError, TokenError, TokenManager,
    UniqueField, UserStore,
};

/// A user row as the Django site stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUser {
    /// Primary key; kept, since the site's links sign it.
    pub id: i64,
    /// `username` (or the mapped column).
    pub username: String,
    /// `email`; Django stores a missing address as `""`.
    pub email: String,
    /// `first_name`.
    pub first_name: String,
    /// `last_name`.
    pub last_name: String,
    /// `is_active`: see [`InactiveMeans`].
    pub is_active: bool,
    /// `date_joined`.
    pub date_joined: OffsetDateTime,
    /// `last_login`.
    pub last_login: Option<OffsetDateTime>,
    /// `password`, e.g. `pbkdf2_sha256$…`.
    pub password: String,
    /// `is_staff` (false for a model without it).
    pub is_staff: bool,
}

/// A row of allauth's `account_emailaddress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAddress {
    /// Primary key; kept, since the confirmation keys allauth mailed sign it.
    pub id: i64,
    /// Its owner.
    pub user_id: i64,
    /// The address.
    pub email: String,
    /// Confirmed by its owner.
    pub verified: bool,
    /// The owner's main address.
    pub primary: bool,
}

/// A row of DRF's `authtoken_token`.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceToken {
    /// The key clients send (`Authorization: Token <key>`).
    pub key: AuthToken,
    /// Its owner.
    pub user_id: i64,
    /// When DRF created it.
    pub created: OffsetDateTime,
}

impl std::fmt::Debug for SourceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceToken")
            .field("user_id", &self.user_id)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// What Django's single `is_active` flag becomes, given our two
/// ([`User::verified`] and [`User::active`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InactiveMeans {
    /// DRR's meaning (its `USER_VERIFICATION_FLAG_FIELD` is `is_active`):
    /// an inactive user has not followed the registration link yet, so
    /// the link DRR mailed still verifies the account here.
    #[default]
    Unverified,
    /// An administrator disabled the account; every user counts as
    /// verified.
    Disabled,
}

/// How rows are imported.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// The meaning of `is_active = false`.
    pub inactive: InactiveMeans,
    /// How the store compares usernames and addresses (duplicates within
    /// the source are found the same way).
    pub matching: Matching,
    /// Check and compare every row, write nothing.
    pub dry_run: bool,
    /// Addresses are not unique among accounts (Django's stock user under
    /// djoser, allauth until confirmed): they go to the address book,
    /// unclaimed on the user rows, and two rows may share one.
    pub shared_emails: bool,
    /// An account may log in only once it has a verified address (allauth's
    /// mandatory verification): a user whose imported entries are all
    /// unverified is imported unverified.
    pub verified_by_address: bool,
}

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not in the store before (with `dry_run`: would be created).
    Created,
    /// In the store, and changed.
    Updated,
    /// In the store already, exactly so.
    Unchanged,
    /// A token past the configured lifetime: not imported.
    Expired,
    /// Not imported, for this reason.
    Skipped(Skip),
}

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// The username breaks our username rules.
    #[error("username {0:?} is not valid: {1}")]
    Username(String, String),
    /// The address is not one we accept.
    #[error("e-mail {0:?} is not valid: {1}")]
    Email(String, String),
    /// A hasher we cannot verify (Django's legacy `md5`, `sha1`, `crypt`…).
    #[error("password hash of unknown format {0:?} (only its algorithm is shown)")]
    UnknownHash(String),
    /// Another row of this import has the same username.
    #[error("username {0:?} is also user {1}'s")]
    DuplicateUsername(String, i64),
    /// Another row of this import, or another user already in the store,
    /// has the same address.
    #[error("e-mail {0:?} is also user {1}'s")]
    DuplicateEmail(String, i64),
    /// A user already in the store, not from this import, holds the value.
    #[error("{0} is taken by another user already in the store")]
    Taken(&'static str),
    /// The store holds a user of its own under this id (neither username
    /// nor address match): import into an empty store, or one only earlier
    /// imports of this site filled.
    #[error("the store already holds another user, {0:?}, under this id")]
    IdTaken(String),
    /// The token's owner was not imported.
    #[error("its user, {0}, was not imported")]
    NoSuchUser(i64),
}

/// Why the run stopped: the store failed (rows written so far stay, and a
/// rerun picks up from them).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The user store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The credential store.
    #[error(transparent)]
    Tokens(#[from] TokenError),
}

/// Imports rows one at a time, remembering what it saw so duplicates
/// within the source are found in a dry run too.
pub struct Importer {
    store: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenManager>,
    options: ImportOptions,
    usernames: HashMap<String, i64>,
    emails: HashMap<String, i64>,
    imported: HashSet<i64>,
    highest_id: Option<i64>,
}

impl Importer {
    /// An importer writing into `store` and `tokens`.
    pub fn new(
        store: Arc<dyn UserStore>,
        tokens: Arc<dyn TokenManager>,
        options: ImportOptions,
    ) -> Self {
        Self {
            store,
            tokens,
            options,
            usernames: HashMap::new(),
            emails: HashMap::new(),
            imported: HashSet::new(),
            highest_id: None,
        }
    }

    /// Imports a batch of user rows, written in one transaction; what
    /// became of each, by its id.
    pub async fn users(
        &mut self,
        rows: Vec<SourceUser>,
    ) -> Result<Vec<(i64, Outcome)>, ImportError> {
        let ids: Vec<UserId> = rows.iter().map(|row| UserId::new(row.id)).collect();
        let mut stored: HashMap<UserId, User> = self
            .store
            .get_all(&ids)
            .await?
            .into_iter()
            .map(|user| (user.id, user))
            .collect();
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut writes = Vec::new();
        for row in rows {
            let id = row.id;
            let existing = stored.remove(&UserId::new(id));
            let (outcome, write) = self.prepare(row, existing).await?;
            if let Some(user) = write {
                writes.push((outcomes.len(), user));
            }
            outcomes.push((id, outcome));
        }
        if writes.is_empty() {
            return Ok(outcomes);
        }
        let users: Vec<User> = writes.iter().map(|(_, user)| user.clone()).collect();
        let holding = if self.options.shared_emails {
            EmailHolding::Book { verified: false }
        } else {
            EmailHolding::Unique
        };
        let refused = self.store.put_all(&users, holding).await?;
        for ((at, user), refused) in writes.iter().zip(refused) {
            if let Some(field) = refused {
                self.imported.remove(&user.id.get());
                outcomes[*at].1 = Outcome::Skipped(self.holder(user, field).await?);
            }
        }
        Ok(outcomes)
    }

    /// What becomes of one user row, and the user to write (none when
    /// skipped, unchanged, or in a dry run).
    async fn prepare(
        &mut self,
        row: SourceUser,
        existing: Option<User>,
    ) -> Result<(Outcome, Option<User>), ImportError> {
        self.highest_id = self.highest_id.max(Some(row.id));
        let incoming = match self.check(&row) {
            Ok(user) => user,
            Err(skip) => return Ok((Outcome::Skipped(skip), None)),
        };
        if let Some(stored) = &existing
            && !same_person(stored, &incoming, self.options.matching)
        {
            let skip = Skip::IdTaken(stored.username.as_str().to_owned());
            return Ok((Outcome::Skipped(skip), None));
        }
        let merged = merge(existing.as_ref(), incoming, self.options.inactive, &row);
        let outcome = match &existing {
            None => Outcome::Created,
            Some(stored) if *stored == merged => Outcome::Unchanged,
            Some(_) => Outcome::Updated,
        };
        if self.options.dry_run
            && let Some(skip) = self.taken_in_store(&merged).await?
        {
            return Ok((Outcome::Skipped(skip), None));
        }
        self.imported.insert(row.id);
        let write = (!self.options.dry_run && outcome != Outcome::Unchanged).then_some(merged);
        Ok((outcome, write))
    }

    /// Ends the user rows: new users get ids above every id the site used
    /// (skipped rows included), so no link the site mailed names them.
    pub async fn finish_users(&self) -> Result<(), ImportError> {
        match self.highest_id {
            Some(id) if !self.options.dry_run => {
                Ok(self.store.reserve_ids(UserId::new(id)).await?)
            }
            _ => Ok(()),
        }
    }

    /// Imports a batch of token rows, after their owners' user rows; what
    /// became of each, by its owner's id.
    pub async fn tokens(
        &mut self,
        rows: Vec<SourceToken>,
    ) -> Result<Vec<(i64, Outcome)>, ImportError> {
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut adoptions = Vec::new();
        for row in rows {
            let owner = row.user_id;
            if !self.imported.contains(&owner) {
                outcomes.push((owner, Outcome::Skipped(Skip::NoSuchUser(owner))));
                continue;
            }
            let user = UserId::new(owner);
            if self.options.dry_run {
                // Listing reads without recording a use, as a dry run must.
                let id = credential_id(&digest(&row.key));
                let stored = self.tokens.list(user).await?.iter().any(|c| c.id == id);
                let outcome = if stored {
                    Outcome::Unchanged
                } else {
                    Outcome::Created
                };
                outcomes.push((owner, outcome));
                continue;
            }
            adoptions.push((
                outcomes.len(),
                Adoption {
                    user,
                    token: row.key,
                    kind: CredentialKind::Token,
                    issued: row.created,
                },
            ));
            outcomes.push((owner, Outcome::Created));
        }
        if adoptions.is_empty() {
            return Ok(outcomes);
        }
        let batch: Vec<Adoption> = adoptions.iter().map(|(_, a)| a.clone()).collect();
        let adopted = self.tokens.adopt_all(&batch).await?;
        for ((at, _), adopted) in adoptions.iter().zip(adopted) {
            outcomes[*at].1 = match adopted {
                Adopted::Stored => Outcome::Created,
                Adopted::AlreadyStored => Outcome::Unchanged,
                Adopted::Expired => Outcome::Expired,
            };
        }
        Ok(outcomes)
    }

    /// Imports a batch of allauth address rows, after their owners' user
    /// rows, each under its own id (the confirmation keys allauth mailed
    /// sign it); what became of each, by its owner's id. An entry confirmed
    /// here since an earlier run stays confirmed.
    pub async fn addresses(
        &mut self,
        rows: Vec<SourceAddress>,
    ) -> Result<Vec<(i64, Outcome)>, ImportError> {
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut entries: Vec<(usize, EmailAddress)> = Vec::new();
        for row in rows {
            let owner = row.user_id;
            if !self.imported.contains(&owner) {
                outcomes.push((owner, Outcome::Skipped(Skip::NoSuchUser(owner))));
                continue;
            }
            let email = match Email::parse(row.email.trim()) {
                Ok(email) => email,
                Err(e) => {
                    let skip = Skip::Email(row.email.clone(), e.to_string());
                    outcomes.push((owner, Outcome::Skipped(skip)));
                    continue;
                }
            };
            let entry = EmailAddress {
                id: AddressId::new(row.id),
                user: UserId::new(owner),
                email,
                verified: row.verified,
                primary: row.primary,
            };
            entries.push((outcomes.len(), entry));
            outcomes.push((owner, Outcome::Created));
        }
        let mut owners: Vec<UserId> = entries.iter().map(|(_, e)| e.user).collect();
        owners.sort();
        owners.dedup();
        let mut stored = HashMap::new();
        for owner in &owners {
            for entry in self.store.addresses(*owner).await? {
                stored.insert(entry.id, entry);
            }
        }
        for (at, entry) in &mut entries {
            let Some(before) = stored.get(&entry.id) else {
                continue;
            };
            entry.verified |= before.verified && before.email == entry.email;
            outcomes[*at].1 = if before == entry {
                Outcome::Unchanged
            } else {
                Outcome::Updated
            };
        }
        if self.options.dry_run || entries.is_empty() {
            return Ok(outcomes);
        }
        let batch: Vec<EmailAddress> = entries.iter().map(|(_, e)| e.clone()).collect();
        let refused = self.store.put_addresses(&batch).await?;
        for ((at, _), refused) in entries.iter().zip(&refused) {
            if refused.is_some() {
                // Another account verified the address first.
                outcomes[*at].1 = Outcome::Skipped(Skip::Taken("the verified e-mail"));
            }
        }
        if self.options.verified_by_address {
            self.verify_by_address(&owners, &batch, &refused).await?;
        }
        Ok(outcomes)
    }

    /// Under mandatory verification, each of `owners` counts as verified
    /// exactly when one of its written entries is.
    async fn verify_by_address(
        &self,
        owners: &[UserId],
        entries: &[EmailAddress],
        refused: &[Option<UniqueField>],
    ) -> Result<(), ImportError> {
        for owner in owners {
            let verified = entries
                .iter()
                .zip(refused)
                .any(|(e, refused)| e.user == *owner && e.verified && refused.is_none());
            let change = UserChange {
                verified: Some(verified),
                ..UserChange::default()
            };
            self.store.update(*owner, change, Vec::new()).await?;
        }
        Ok(())
    }

    /// Ends the address rows: with shared addresses, every imported user
    /// whose address no entry lists gets one, so lookups by address find it.
    pub async fn finish_addresses(&self) -> Result<u64, ImportError> {
        if !self.options.shared_emails || self.options.dry_run {
            return Ok(0);
        }
        Ok(self.store.book_unlisted().await?)
    }

    /// The row as our user, or why it cannot be one; duplicates within the
    /// source are found here, so the first row keeps the value.
    fn check(&mut self, row: &SourceUser) -> Result<User, Skip> {
        let username = Username::parse(&row.username)
            .map_err(|e| Skip::Username(row.username.clone(), e.to_string()))?;
        let email = match row.email.trim() {
            "" => None,
            text => {
                Some(Email::parse(text).map_err(|e| Skip::Email(text.to_owned(), e.to_string()))?)
            }
        };
        if HashFormat::of(&row.password).is_none() {
            let algorithm = row.password.split('$').next().unwrap_or_default();
            return Err(Skip::UnknownHash(algorithm.to_owned()));
        }
        let matching = self.options.matching;
        let username_key = matching.key(username.as_str());
        if let Some(&other) = self.usernames.get(&username_key)
            && other != row.id
        {
            return Err(Skip::DuplicateUsername(row.username.clone(), other));
        }
        let email_key = email
            .as_ref()
            .filter(|_| !self.options.shared_emails)
            .map(|e| matching.key(e.as_str()));
        if let Some(key) = &email_key
            && let Some(&other) = self.emails.get(key)
            && other != row.id
        {
            return Err(Skip::DuplicateEmail(row.email.clone(), other));
        }
        self.usernames.insert(username_key, row.id);
        if let Some(key) = email_key {
            self.emails.insert(key, row.id);
        }
        Ok(User {
            id: UserId::new(row.id),
            username,
            email,
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            password_hash: PasswordHash::new(row.password.clone()),
            verified: true,
            active: true,
            pending_email: None,
            date_joined: row.date_joined,
            last_login: row.last_login,
            staff: row.is_staff,
        })
    }

    /// In a dry run, what the store's uniqueness rules would refuse.
    async fn taken_in_store(&self, user: &User) -> Result<Option<Skip>, StoreError> {
        let matching = self.options.matching;
        if let Some(other) = self
            .store
            .find_by_username(user.username.as_str(), matching)
            .await?
            && other.id != user.id
        {
            return Ok(Some(Skip::Taken("username")));
        }
        if let Some(email) = &user.email
            && !self.options.shared_emails
            && let Some(other) = self.store.find_by_email(email.as_str(), matching).await?
            && other.id != user.id
        {
            return Ok(Some(Skip::DuplicateEmail(
                email.as_str().to_owned(),
                other.id.get(),
            )));
        }
        Ok(None)
    }

    /// The skip for a write the store refused as a conflict on `field`,
    /// naming the holder where it can be found.
    async fn holder(&self, user: &User, field: UniqueField) -> Result<Skip, StoreError> {
        let matching = self.options.matching;
        Ok(match (field, &user.email) {
            (UniqueField::Email, Some(email)) => {
                match self.store.find_by_email(email.as_str(), matching).await? {
                    Some(other) => Skip::DuplicateEmail(email.as_str().to_owned(), other.id.get()),
                    None => Skip::Taken("e-mail"),
                }
            }
            (UniqueField::Email, None) => Skip::Taken("e-mail"),
            (UniqueField::Username, _) => Skip::Taken("username"),
        })
    }
}

/// Whether a stored user is the same account as an incoming row with its
/// id: one of username or address still matches (the site may have changed
/// either between two runs, rarely both).
fn same_person(stored: &User, incoming: &User, matching: Matching) -> bool {
    let key = |text: &str| matching.key(text);
    key(stored.username.as_str()) == key(incoming.username.as_str())
        || match (&stored.email, &incoming.email) {
            (Some(a), Some(b)) => key(a.as_str()) == key(b.as_str()),
            _ => false,
        }
}

/// The user to store: the source row, except what happened here since an
/// earlier run — a password set or upgraded here (our own hash format), a
/// later login, a verification, an e-mail change awaiting confirmation.
fn merge(
    existing: Option<&User>,
    mut incoming: User,
    inactive: InactiveMeans,
    row: &SourceUser,
) -> User {
    let verified_here = existing.is_some_and(|u| u.verified);
    match inactive {
        InactiveMeans::Unverified => {
            incoming.verified = row.is_active || verified_here;
            incoming.active = existing.is_none_or(|u| u.active);
        }
        InactiveMeans::Disabled => {
            incoming.verified = true;
            incoming.active = row.is_active;
        }
    }
    if let Some(stored) = existing {
        if HashFormat::of(stored.password_hash.as_str()).is_some_and(HashFormat::is_native) {
            incoming.password_hash = stored.password_hash.clone();
        }
        incoming.last_login = incoming.last_login.max(stored.last_login);
        incoming.pending_email = stored.pending_email.clone();
    }
    incoming
}
