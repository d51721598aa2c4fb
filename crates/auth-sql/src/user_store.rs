//! `UserStore`, with the outbox written in the same transactions.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::domain::{AddressId, EmailAddress, EmailHolding, NewUser, User, UserChange, UserId};
use auth_core::notification::Notification;
use auth_core::ports::{Announce, Matching, StoreError, UniqueField, UserStore};
use sqlx::Connection as _;

use crate::error::store_error;
use crate::queries::{Conn, Queries};
use crate::row::{self, Identifier, UserRow, payload};
use crate::store::SqlStore;

// `Queries` is crate plumbing that every `Engine` implements; callers only
// ever see `SqliteStore` and `PgStore`.
#[allow(private_bounds)]
impl<DB: Queries> SqlStore<DB> {
    async fn find(
        &self,
        identifier: Identifier,
        value: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        let condition = row::lookup(identifier, matching, self.matching);
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::user_where(&mut conn, condition, row::identifier_key(matching, value))
            .await
            .map_err(store_error::<DB>)?
            .map(User::try_from)
            .transpose()
    }

    /// Queues notifications on a connection inside an open transaction.
    async fn queue(&self, conn: &mut Conn<DB>, notify: &[Notification]) -> Result<(), StoreError> {
        for notification in notify {
            DB::queue(conn, payload(notification)?, self.now())
                .await
                .map_err(store_error::<DB>)?;
        }
        Ok(())
    }
}

#[async_trait]
impl<DB: Queries> UserStore for SqlStore<DB> {
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::user_by_id(&mut conn, id.get())
            .await
            .map_err(store_error::<DB>)?
            .map(User::try_from)
            .transpose()
    }

    async fn find_by_username(
        &self,
        username: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        self.find(Identifier::Username, username, matching).await
    }

    async fn find_by_email(
        &self,
        email: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        self.find(Identifier::Email, email, matching).await
    }

    async fn create(
        &self,
        user: NewUser,
        announce: Option<Arc<dyn Announce>>,
    ) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        let row: UserRow = DB::insert_user(&mut tx, row::new_user_values(&user, self.matching))
            .await
            .map_err(store_error::<DB>)?;
        let created = User::try_from(row)?;
        let address = match (user.holding, &created.email) {
            (EmailHolding::Book { verified }, Some(email)) => {
                let entry = (
                    created.id.get(),
                    email.as_str().to_owned(),
                    row::identifier_key(self.matching, email.as_str()),
                    verified,
                    true,
                );
                let row = DB::insert_address(&mut tx, entry)
                    .await
                    .map_err(store_error::<DB>)?;
                Some(EmailAddress::try_from(row)?)
            }
            _ => None,
        };
        let notify: Vec<Notification> = announce
            .and_then(|a| a.announce(&created, address.as_ref()))
            .into_iter()
            .collect();
        self.queue(&mut tx, &notify).await?;
        tx.commit().await.map_err(store_error::<DB>)?;
        Ok(created)
    }

    async fn update(
        &self,
        id: UserId,
        change: UserChange,
        notify: Vec<Notification>,
    ) -> Result<User, StoreError> {
        let mut values = row::change_values(&change, self.matching);
        let guard = change.guard.as_ref().map(row::guard);
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        // An address kept in the address book moves there, still unclaimed
        // on the row (and unconfirmed: its owner has not confirmed it).
        if let Some(address) = &change.email {
            let entry = address.as_ref().map(|email| {
                let key = row::identifier_key(self.matching, email.as_str());
                (email.as_str().to_owned(), key)
            });
            if DB::rebook_address(&mut tx, id.get(), entry)
                .await
                .map_err(store_error::<DB>)?
            {
                values.retain(|(column, _)| *column != "email_key");
            }
        }
        let updated = DB::update_user(&mut tx, id.get(), values, guard)
            .await
            .map_err(store_error::<DB>)?;
        let Some(row) = updated else {
            let exists = DB::user_exists(&mut tx, id.get())
                .await
                .map_err(store_error::<DB>)?;
            return Err(if exists {
                StoreError::GuardFailed
            } else {
                StoreError::NotFound
            });
        };
        self.queue(&mut tx, &notify).await?;
        tx.commit().await.map_err(store_error::<DB>)?;
        User::try_from(row)
    }

    async fn addresses(&self, user: UserId) -> Result<Vec<EmailAddress>, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        let rows = DB::addresses_of(&mut conn, user.get())
            .await
            .map_err(store_error::<DB>)?;
        rows.into_iter().map(EmailAddress::try_from).collect()
    }

    async fn addresses_matching(
        &self,
        email: &str,
        matching: Matching,
    ) -> Result<Vec<EmailAddress>, StoreError> {
        // The address book has the users table's column names.
        let condition = row::lookup(Identifier::Email, matching, self.matching);
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        let rows = DB::addresses_where(&mut conn, condition, row::identifier_key(matching, email))
            .await
            .map_err(store_error::<DB>)?;
        rows.into_iter().map(EmailAddress::try_from).collect()
    }

    async fn address(&self, id: AddressId) -> Result<Option<EmailAddress>, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::address_by_id(&mut conn, id.get())
            .await
            .map_err(store_error::<DB>)?
            .map(EmailAddress::try_from)
            .transpose()
    }

    async fn confirm_address(
        &self,
        id: AddressId,
        notify: Vec<Notification>,
    ) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        let Some(row) = DB::verify_address(&mut tx, id.get())
            .await
            .map_err(store_error::<DB>)?
        else {
            let exists = DB::address_by_id(&mut tx, id.get())
                .await
                .map_err(store_error::<DB>)?
                .is_some();
            return Err(if exists {
                StoreError::GuardFailed
            } else {
                StoreError::NotFound
            });
        };
        let address = EmailAddress::try_from(row)?;
        let change = UserChange {
            verified: Some(true),
            ..UserChange::default()
        };
        let mut values = row::change_values(&change, self.matching);
        // The primary address goes on the user row, still not claimed there.
        values.push((
            "email",
            row::Value::Text(Some(address.email.as_str().to_owned())),
        ));
        let user = DB::update_user(&mut tx, address.user.get(), values, None)
            .await
            .map_err(store_error::<DB>)?
            .ok_or(StoreError::NotFound)?;
        self.queue(&mut tx, &notify).await?;
        tx.commit().await.map_err(store_error::<DB>)?;
        User::try_from(user)
    }

    async fn get_all(&self, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::users_by_ids(&mut conn, ids.iter().map(|id| id.get()).collect())
            .await
            .map_err(store_error::<DB>)?
            .into_iter()
            .map(User::try_from)
            .collect()
    }

    async fn page(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::users_after(&mut conn, after.map_or(0, UserId::get), i64::from(limit))
            .await
            .map_err(store_error::<DB>)?
            .into_iter()
            .map(User::try_from)
            .collect()
    }

    async fn put_all(
        &self,
        users: &[User],
        holding: EmailHolding,
    ) -> Result<Vec<Option<UniqueField>>, StoreError> {
        let Some(highest) = users.iter().map(|u| u.id.get()).max() else {
            return Ok(Vec::new());
        };
        let values = |user: &User| row::user_values(user, self.matching, holding);
        // The whole batch in one statement; only when a row is refused is
        // it written again row by row, to find which.
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        match DB::put_users(&mut tx, users.iter().map(values).collect()).await {
            Ok(()) => {
                DB::reserve_ids(&mut tx, highest)
                    .await
                    .map_err(store_error::<DB>)?;
                tx.commit().await.map_err(store_error::<DB>)?;
                return Ok(vec![None; users.len()]);
            }
            Err(error) => match store_error::<DB>(error) {
                StoreError::Conflict(_) => tx.rollback().await.map_err(store_error::<DB>)?,
                other => return Err(other),
            },
        }
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        let mut refused = Vec::with_capacity(users.len());
        for user in users {
            // A savepoint per user: a refused row must not undo the rest
            // (on PostgreSQL a failed statement spoils the transaction).
            let mut one = tx.begin().await.map_err(store_error::<DB>)?;
            match DB::put_users(&mut one, vec![values(user)]).await {
                Ok(()) => {
                    one.commit().await.map_err(store_error::<DB>)?;
                    refused.push(None);
                }
                Err(error) => match store_error::<DB>(error) {
                    StoreError::Conflict(field) => {
                        one.rollback().await.map_err(store_error::<DB>)?;
                        refused.push(Some(field));
                    }
                    other => return Err(other),
                },
            }
        }
        DB::reserve_ids(&mut tx, highest)
            .await
            .map_err(store_error::<DB>)?;
        tx.commit().await.map_err(store_error::<DB>)?;
        Ok(refused)
    }

    async fn put_addresses(
        &self,
        entries: &[EmailAddress],
    ) -> Result<Vec<Option<UniqueField>>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        let mut owners: Vec<i64> = entries.iter().map(|e| e.user.get()).collect();
        owners.sort_unstable();
        owners.dedup();
        for owner in owners {
            DB::clear_addresses(&mut tx, owner)
                .await
                .map_err(store_error::<DB>)?;
        }
        let mut refused = Vec::with_capacity(entries.len());
        for entry in entries {
            let row = (
                entry.id.get(),
                entry.user.get(),
                entry.email.as_str().to_owned(),
                row::identifier_key(self.matching, entry.email.as_str()),
                entry.verified,
                entry.primary,
            );
            // A savepoint per entry, as in `put_all`.
            let mut one = tx.begin().await.map_err(store_error::<DB>)?;
            match DB::put_address(&mut one, row).await {
                Ok(()) => {
                    one.commit().await.map_err(store_error::<DB>)?;
                    refused.push(None);
                }
                Err(error) => match store_error::<DB>(error) {
                    StoreError::Conflict(field) => {
                        one.rollback().await.map_err(store_error::<DB>)?;
                        refused.push(Some(field));
                    }
                    other => return Err(other),
                },
            }
        }
        DB::reserve_address_ids(&mut tx)
            .await
            .map_err(store_error::<DB>)?;
        tx.commit().await.map_err(store_error::<DB>)?;
        Ok(refused)
    }

    async fn book_unlisted(&self) -> Result<u64, StoreError> {
        // Read first, outside the writing transaction: on SQLite a
        // transaction that reads before it writes may be refused as busy.
        // Each insert checks again, so a user listed meanwhile is skipped.
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        let unlisted = DB::unlisted(&mut conn).await.map_err(store_error::<DB>)?;
        drop(conn);
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        let mut added = 0;
        for (user, email) in unlisted {
            let key = row::identifier_key(self.matching, &email);
            if DB::book_if_unlisted(&mut tx, user, email, key)
                .await
                .map_err(store_error::<DB>)?
            {
                added += 1;
            }
        }
        tx.commit().await.map_err(store_error::<DB>)?;
        Ok(added)
    }

    async fn reserve_ids(&self, through: UserId) -> Result<(), StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::reserve_ids(&mut conn, through.get())
            .await
            .map_err(store_error::<DB>)
    }

    async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
        let mut conn = self.conn().await.map_err(store_error::<DB>)?;
        DB::delete_user(&mut conn, id.get())
            .await
            .map_err(store_error::<DB>)
    }

    async fn enqueue(&self, notify: Vec<Notification>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error::<DB>)?;
        self.queue(&mut tx, &notify).await?;
        tx.commit().await.map_err(store_error::<DB>)
    }
}
