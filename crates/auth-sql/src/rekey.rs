//! Rebuilding the uniqueness keys (`username_key`, `email_key`) when the
//! matching changes on a populated database, e.g. when
//! `IDENTIFIERS_CASE_INSENSITIVE` is turned on: `Bob` and `bob` may both
//! exist under exact matching and cannot under case-insensitive matching,
//! so every clash is reported and nothing is changed until none is left.

use std::collections::BTreeMap;

use auth_core::ports::{Matching, StoreError};

use crate::error::store_error;
use crate::queries::Queries;
use crate::store::SqlStore;

/// Accounts that would share a key under the new matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// `username` or `email`.
    pub field: &'static str,
    /// The shared key.
    pub key: String,
    /// The accounts sharing it, by id.
    pub ids: Vec<i64>,
}

/// What a rekey did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rekeyed {
    /// Every key now follows the store's matching.
    Done {
        /// Users whose keys were rewritten.
        users: usize,
    },
    /// Nothing changed: these clashes must be resolved first (rename or
    /// merge the accounts), then run again.
    Clashes(Vec<Clash>),
}

// `Queries` is crate plumbing that every `Engine` implements.
#[allow(private_bounds)]
impl<DB: Queries> SqlStore<DB> {
    /// Rewrites every user's keys under this store's matching, in one
    /// transaction, unless two accounts would then clash.
    pub async fn rekey(&self) -> Result<Rekeyed, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        let users = DB::identifiers(&mut tx).await.map_err(store_error::<DB>)?;
        let clashes = clashes(&users, self.matching);
        if !clashes.is_empty() {
            return Ok(Rekeyed::Clashes(clashes));
        }
        DB::clear_keys(&mut tx).await.map_err(store_error::<DB>)?;
        for (id, username, email) in &users {
            let email_key = email.as_deref().map(|e| self.matching.key(e));
            DB::set_keys(&mut tx, *id, self.matching.key(username), email_key)
                .await
                .map_err(store_error::<DB>)?;
        }
        tx.commit().await.map_err(store_error::<DB>)?;
        Ok(Rekeyed::Done { users: users.len() })
    }
}

fn clashes(users: &[(i64, String, Option<String>)], matching: Matching) -> Vec<Clash> {
    let mut found = Vec::new();
    for field in ["username", "email"] {
        let mut by_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (id, username, email) in users {
            let value = if field == "username" {
                Some(username)
            } else {
                email.as_ref()
            };
            if let Some(value) = value {
                by_key.entry(matching.key(value)).or_default().push(*id);
            }
        }
        found.extend(
            by_key
                .into_iter()
                .filter(|(_, ids)| ids.len() > 1)
                .map(|(key, ids)| Clash { field, key, ids }),
        );
    }
    found
}
