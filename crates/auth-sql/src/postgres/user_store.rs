//! `UserStore` on PostgreSQL, with the outbox written in the same transactions.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::domain::{Email, NewUser, User, UserChange, UserId};
use auth_core::notification::Notification;
use auth_core::ports::{Announce, Matching, StoreError, UserStore};
use sqlx::{Postgres, Transaction};

use super::PgStore;
use crate::error::store_error;
use crate::row::{COLUMNS, ChangeParams, UserRow, bind_change, identifier_key, payload};

impl PgStore {
    async fn find_by(
        &self,
        column: &'static str,
        value: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        let sql = if matching == self.matching {
            format!("SELECT {COLUMNS} FROM users WHERE {column}_key = $1")
        } else if matching == Matching::Exact {
            format!("SELECT {COLUMNS} FROM users WHERE {column} = $1")
        } else {
            format!("SELECT {COLUMNS} FROM users WHERE lower({column}) = $1")
        };
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(identifier_key(matching, value))
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(User::try_from).transpose()
    }
}

/// Queues notifications inside an open transaction.
pub(super) async fn queue(
    tx: &mut Transaction<'_, Postgres>,
    notify: &[Notification],
    now: i64,
) -> Result<(), StoreError> {
    for notification in notify {
        sqlx::query(
            "INSERT INTO outbox (payload, created_at, next_attempt_at) VALUES ($1, $2, $2)",
        )
        .bind(payload(notification)?)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(store_error)?;
    }
    Ok(())
}

#[async_trait]
impl UserStore for PgStore {
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(User::try_from).transpose()
    }

    async fn find_by_username(
        &self,
        username: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        self.find_by("username", username, matching).await
    }

    async fn find_by_email(
        &self,
        email: &str,
        matching: Matching,
    ) -> Result<Option<User>, StoreError> {
        self.find_by("email", email, matching).await
    }

    async fn create(
        &self,
        user: NewUser,
        announce: Option<Arc<dyn Announce>>,
    ) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (username, username_key, email, email_key, first_name, last_name, \
             password_hash, verified, active, date_joined) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9) \
             RETURNING {COLUMNS}"
        )))
        .bind(user.username.as_str())
        .bind(self.key(user.username.as_str()))
        .bind(user.email.as_ref().map(Email::as_str))
        .bind(user.email.as_ref().map(|e| self.key(e.as_str())))
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(user.password_hash.as_str())
        .bind(user.verified)
        .bind(user.date_joined.unix_timestamp())
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        let created = User::try_from(row)?;
        let notify: Vec<Notification> = announce
            .and_then(|a| a.announce(&created))
            .into_iter()
            .collect();
        queue(&mut tx, &notify, self.now()).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(created)
    }

    async fn update(
        &self,
        id: UserId,
        change: UserChange,
        notify: Vec<Notification>,
    ) -> Result<User, StoreError> {
        let params = ChangeParams::new(id, &change, self.matching);
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE users SET
                username      = CASE WHEN $1  THEN $2  ELSE username END,
                username_key  = CASE WHEN $1  THEN $3  ELSE username_key END,
                first_name    = CASE WHEN $4  THEN $5  ELSE first_name END,
                last_name     = CASE WHEN $6  THEN $7  ELSE last_name END,
                email         = CASE WHEN $8  THEN $9  ELSE email END,
                email_key     = CASE WHEN $8  THEN $10 ELSE email_key END,
                password_hash = CASE WHEN $11 THEN $12 ELSE password_hash END,
                verified      = CASE WHEN $13 THEN $14 ELSE verified END,
                pending_email = CASE WHEN $15 THEN $16 ELSE pending_email END,
                last_login    = CASE WHEN $17 THEN $18 ELSE last_login END
             WHERE id = $19 AND CASE $20::INTEGER
                WHEN 0 THEN TRUE
                WHEN 1 THEN password_hash = $21
                WHEN 2 THEN pending_email IS NOT DISTINCT FROM $21
                ELSE verified = $22 END
             RETURNING {COLUMNS}"
        )));
        let row: Option<UserRow> = bind_change!(query, params)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        let Some(row) = row else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(id.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
            return Err(if exists.is_some() {
                StoreError::GuardFailed
            } else {
                StoreError::NotFound
            });
        };
        queue(&mut tx, &notify, self.now()).await?;
        tx.commit().await.map_err(store_error)?;
        User::try_from(row)
    }

    async fn enqueue(&self, notify: Vec<Notification>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        queue(&mut tx, &notify, self.now()).await?;
        tx.commit().await.map_err(store_error)
    }
}
