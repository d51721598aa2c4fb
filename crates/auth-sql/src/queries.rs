//! Every SQL statement of the stores, written once for both engines: the
//! text uses `$N` placeholders (which SQLite reads too), and what truly
//! differs comes from [`Engine`]. The bounds below say what the statements
//! need of a driver, in one place; every [`Engine`] meets them.

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};

use crate::engine::Engine;
use crate::row::{
    ADDRESS_COLUMNS, AddressRow, Assignment, COLUMNS, CredentialRow, Guard, QueuedRow, UserRow,
};

/// A connection of engine `DB`.
pub(crate) type Conn<DB> = <DB as Database>::Connection;

/// The statements the stores run. Implemented for every [`Engine`].
#[async_trait]
pub(crate) trait Queries: Engine {
    /// The user with `id`.
    async fn user_by_id(conn: &mut Conn<Self>, id: i64) -> Result<Option<UserRow>, sqlx::Error>;
    /// The user for whom `condition` (a fixed `column = $1` text) holds.
    async fn user_where(
        conn: &mut Conn<Self>,
        condition: &'static str,
        value: String,
    ) -> Result<Option<UserRow>, sqlx::Error>;
    /// Inserts a user (active), returning the stored row.
    async fn insert_user(
        conn: &mut Conn<Self>,
        values: Vec<Assignment>,
    ) -> Result<UserRow, sqlx::Error>;
    /// Applies `values` to user `id` if `guard` holds; `None` when no row
    /// matched (no such user, or the guard failed).
    async fn update_user(
        conn: &mut Conn<Self>,
        id: i64,
        values: Vec<Assignment>,
        guard: Option<Guard>,
    ) -> Result<Option<UserRow>, sqlx::Error>;
    /// Whether user `id` exists.
    async fn user_exists(conn: &mut Conn<Self>, id: i64) -> Result<bool, sqlx::Error>;
    /// Inserts users with their ids, or replaces the rows with those ids,
    /// in one statement (every row with the same columns).
    async fn put_users(
        conn: &mut Conn<Self>,
        users: Vec<Vec<Assignment>>,
    ) -> Result<(), sqlx::Error>;
    /// The users with these ids that exist.
    async fn users_by_ids(
        conn: &mut Conn<Self>,
        ids: Vec<i64>,
    ) -> Result<Vec<UserRow>, sqlx::Error>;
    /// Stores credential digests `(digest, user, kind, issued)` in one
    /// statement; the digests that were not stored already.
    async fn insert_credentials(
        conn: &mut Conn<Self>,
        rows: Vec<(Vec<u8>, i64, &'static str, i64)>,
    ) -> Result<Vec<Vec<u8>>, sqlx::Error>;
    /// Deletes a user (credentials and generation go with it); whether
    /// there was one.
    async fn delete_user(conn: &mut Conn<Self>, id: i64) -> Result<bool, sqlx::Error>;
    /// Adds an address-book entry `(user, email, key, verified, primary)`.
    async fn insert_address(
        conn: &mut Conn<Self>,
        entry: (i64, String, String, bool, bool),
    ) -> Result<AddressRow, sqlx::Error>;
    /// The entries for which `condition` (a fixed `column = $1` text on a
    /// text column) holds, by id.
    async fn addresses_where(
        conn: &mut Conn<Self>,
        condition: &'static str,
        value: String,
    ) -> Result<Vec<AddressRow>, sqlx::Error>;
    /// User `user`'s entries, by id.
    async fn addresses_of(conn: &mut Conn<Self>, user: i64)
    -> Result<Vec<AddressRow>, sqlx::Error>;
    /// The entry with `id`.
    async fn address_by_id(
        conn: &mut Conn<Self>,
        id: i64,
    ) -> Result<Option<AddressRow>, sqlx::Error>;
    /// Inserts an entry under its own id `(id, user, email, key, verified,
    /// primary)`.
    async fn put_address(
        conn: &mut Conn<Self>,
        entry: (i64, i64, String, String, bool, bool),
    ) -> Result<(), sqlx::Error>;
    /// Deletes user `user`'s entries.
    async fn clear_addresses(conn: &mut Conn<Self>, user: i64) -> Result<(), sqlx::Error>;
    /// `(id, email)` of the users whose address is unclaimed on the row and
    /// who have no entry.
    async fn unlisted(conn: &mut Conn<Self>) -> Result<Vec<(i64, String)>, sqlx::Error>;
    /// Adds user `user`'s primary, unverified entry `(email, key)` unless it
    /// has one by now; whether it was added.
    async fn book_if_unlisted(
        conn: &mut Conn<Self>,
        user: i64,
        email: String,
        key: String,
    ) -> Result<bool, sqlx::Error>;
    /// If user `user` has entries, replaces them by one primary, unverified
    /// entry `(email, key)` (none when `None`); whether it had any. Writes
    /// before it reads, so that on SQLite the transaction takes the write
    /// lock first and cannot be refused as busy halfway.
    async fn rebook_address(
        conn: &mut Conn<Self>,
        user: i64,
        address: Option<(String, String)>,
    ) -> Result<bool, sqlx::Error>;
    /// Marks entry `id` verified and its user's only primary one, if it was
    /// not verified; `None` when no unverified entry has that id.
    async fn verify_address(
        conn: &mut Conn<Self>,
        id: i64,
    ) -> Result<Option<AddressRow>, sqlx::Error>;
    /// Up to `limit` users with ids above `after`, by id.
    async fn users_after(
        conn: &mut Conn<Self>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<UserRow>, sqlx::Error>;
    /// Every user's id, username and address.
    async fn identifiers(
        conn: &mut Conn<Self>,
    ) -> Result<Vec<(i64, String, Option<String>)>, sqlx::Error>;
    /// Sets every key column to a placeholder no real key can equal, so
    /// keys can then be rewritten in any order.
    async fn clear_keys(conn: &mut Conn<Self>) -> Result<(), sqlx::Error>;
    /// Sets one user's key columns.
    async fn set_keys(
        conn: &mut Conn<Self>,
        id: i64,
        username_key: String,
        email_key: Option<String>,
    ) -> Result<(), sqlx::Error>;
    /// Keeps the ids assigned to new users above `through`.
    async fn reserve_ids(conn: &mut Conn<Self>, through: i64) -> Result<(), sqlx::Error>;
    /// Keeps the entry ids the engine assigns above every id used.
    async fn reserve_address_ids(conn: &mut Conn<Self>) -> Result<(), sqlx::Error>;
    /// Queues one notification payload, due at once.
    async fn queue(conn: &mut Conn<Self>, payload: String, now: i64) -> Result<(), sqlx::Error>;

    /// The user's token generation (one-token mode).
    async fn generation(conn: &mut Conn<Self>, user: i64) -> Result<Option<i64>, sqlx::Error>;
    /// Moves the user's token generation on.
    async fn bump_generation(conn: &mut Conn<Self>, user: i64) -> Result<(), sqlx::Error>;
    /// Stores a credential digest; false if it was already stored.
    async fn insert_credential(
        conn: &mut Conn<Self>,
        digest: Vec<u8>,
        user: i64,
        kind: &'static str,
        now: i64,
    ) -> Result<bool, sqlx::Error>;
    /// The stored credential of `kind` with `digest`.
    async fn credential(
        conn: &mut Conn<Self>,
        digest: Vec<u8>,
        kind: &'static str,
    ) -> Result<Option<CredentialRow>, sqlx::Error>;
    /// Records a use of a credential at `now`.
    async fn touch(conn: &mut Conn<Self>, digest: Vec<u8>, now: i64) -> Result<(), sqlx::Error>;
    /// Deletes the credential of `kind` with `digest`, returning its owner.
    async fn delete_credential(
        conn: &mut Conn<Self>,
        digest: Vec<u8>,
        kind: &'static str,
    ) -> Result<Option<i64>, sqlx::Error>;
    /// A user's stored credentials, oldest first.
    async fn credentials_of(
        conn: &mut Conn<Self>,
        user: i64,
    ) -> Result<Vec<CredentialRow>, sqlx::Error>;
    /// Deletes a user's credentials (of `kind` only, except `keep`),
    /// returning the kinds deleted.
    async fn delete_credentials(
        conn: &mut Conn<Self>,
        user: i64,
        kind: Option<&'static str>,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<String>, sqlx::Error>;

    /// Leases up to `limit` due outbox rows until `until`.
    async fn claim(
        conn: &mut Conn<Self>,
        now: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<QueuedRow>, sqlx::Error>;
    /// Marks an outbox row sent.
    async fn sent(conn: &mut Conn<Self>, id: i64, at: i64) -> Result<(), sqlx::Error>;
    /// Records a failed attempt: due again at `retry_at`, or given up at
    /// `now` when `None`.
    async fn failed(
        conn: &mut Conn<Self>,
        id: i64,
        error: String,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), sqlx::Error>;
    /// How many outbox rows are neither sent nor given up, and when the
    /// oldest of them was queued.
    async fn backlog(conn: &mut Conn<Self>) -> Result<(i64, Option<i64>), sqlx::Error>;
    /// How many credentials of `kind` were issued at or after `issued_since`
    /// and last seen (used, or issued) at or after `seen_since`.
    async fn count_credentials(
        conn: &mut Conn<Self>,
        kind: &'static str,
        issued_since: i64,
        seen_since: i64,
    ) -> Result<i64, sqlx::Error>;
    /// Whether the database answers.
    async fn ping(conn: &mut Conn<Self>) -> Result<(), sqlx::Error>;
}

/// Pushes a value of an assignment or guard as a bound parameter.
fn push_value<DB>(query: &mut QueryBuilder<DB>, value: crate::row::Value)
where
    DB: Database,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
{
    use crate::row::Value;
    match value {
        Value::Text(text) => query.push_bind(text),
        Value::Bool(flag) => query.push_bind(flag),
        Value::Int(number) => query.push_bind(number),
    };
}

#[async_trait]
impl<DB> Queries for DB
where
    DB: Engine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Vec<u8>>: Encode<'q, DB> + Type<DB>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> CredentialRow: FromRow<'r, DB::Row>,
    for<'r> QueuedRow: FromRow<'r, DB::Row>,
    for<'r> AddressRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (Vec<u8>,): FromRow<'r, DB::Row>,
    for<'r> (i64, String, Option<String>): FromRow<'r, DB::Row>,
    for<'r> (i64, Option<i64>): FromRow<'r, DB::Row>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
{
    async fn user_by_id(conn: &mut Conn<DB>, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
    }

    async fn user_where(
        conn: &mut Conn<DB>,
        condition: &'static str,
        value: String,
    ) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE {condition}");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&mut *conn)
            .await
    }

    async fn insert_user(
        conn: &mut Conn<DB>,
        values: Vec<Assignment>,
    ) -> Result<UserRow, sqlx::Error> {
        let mut query = QueryBuilder::new("INSERT INTO users (active");
        for (column, _) in &values {
            query.push(", ").push(*column);
        }
        query.push(") VALUES (TRUE");
        for (_, value) in values {
            query.push(", ");
            push_value(&mut query, value);
        }
        query.push(") RETURNING ").push(COLUMNS);
        query.build_query_as().fetch_one(&mut *conn).await
    }

    async fn update_user(
        conn: &mut Conn<DB>,
        id: i64,
        values: Vec<Assignment>,
        guard: Option<Guard>,
    ) -> Result<Option<UserRow>, sqlx::Error> {
        // A change of nothing still checks the guard and returns the row.
        let mut query = QueryBuilder::new("UPDATE users SET id = id");
        for (column, value) in values {
            query.push(", ").push(column).push(" = ");
            push_value(&mut query, value);
        }
        query.push(" WHERE id = ").push_bind(id);
        if let Some((column, value)) = guard {
            query.push(" AND ").push(column).push(" = ");
            push_value(&mut query, value);
        }
        query.push(" RETURNING ").push(COLUMNS);
        query.build_query_as().fetch_optional(&mut *conn).await
    }

    async fn put_users(
        conn: &mut Conn<DB>,
        users: Vec<Vec<Assignment>>,
    ) -> Result<(), sqlx::Error> {
        let Some(first) = users.first() else {
            return Ok(());
        };
        let columns: Vec<&'static str> = first.iter().map(|(column, _)| *column).collect();
        let mut query = QueryBuilder::new("INSERT INTO users (");
        query.push(columns.join(", ")).push(") VALUES ");
        for (row, values) in users.into_iter().enumerate() {
            query.push(if row == 0 { "(" } else { ", (" });
            for (n, (_, value)) in values.into_iter().enumerate() {
                if n > 0 {
                    query.push(", ");
                }
                push_value(&mut query, value);
            }
            query.push(")");
        }
        query.push(" ON CONFLICT (id) DO UPDATE SET ");
        let updates: Vec<String> = columns
            .iter()
            .filter(|column| **column != "id")
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        query.push(updates.join(", "));
        query.build().execute(&mut *conn).await.map(drop)
    }

    async fn users_by_ids(conn: &mut Conn<DB>, ids: Vec<i64>) -> Result<Vec<UserRow>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(format!("SELECT {COLUMNS} FROM users WHERE id IN ("));
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(id);
        }
        query.push(")");
        query.build_query_as().fetch_all(&mut *conn).await
    }

    async fn insert_credentials(
        conn: &mut Conn<DB>,
        rows: Vec<(Vec<u8>, i64, &'static str, i64)>,
    ) -> Result<Vec<Vec<u8>>, sqlx::Error> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            QueryBuilder::new("INSERT INTO auth_tokens (digest, user_id, kind, created_at) ");
        query.push_values(rows, |mut row, (digest, user, kind, created)| {
            row.push_bind(digest)
                .push_bind(user)
                .push_bind(kind.to_owned())
                .push_bind(created);
        });
        query.push(" ON CONFLICT (digest) DO NOTHING RETURNING digest");
        let stored: Vec<(Vec<u8>,)> = query.build_query_as().fetch_all(&mut *conn).await?;
        Ok(stored.into_iter().map(|(digest,)| digest).collect())
    }

    async fn delete_user(conn: &mut Conn<DB>, id: i64) -> Result<bool, sqlx::Error> {
        let deleted: Option<(i64,)> =
            sqlx::query_as("DELETE FROM users WHERE id = $1 RETURNING id")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        Ok(deleted.is_some())
    }

    async fn insert_address(
        conn: &mut Conn<DB>,
        (user, email, key, verified, primary): (i64, String, String, bool, bool),
    ) -> Result<AddressRow, sqlx::Error> {
        let sql = format!(
            "INSERT INTO email_addresses (user_id, email, email_key, verified, is_primary) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {ADDRESS_COLUMNS}"
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(email)
            .bind(key)
            .bind(verified)
            .bind(primary)
            .fetch_one(&mut *conn)
            .await
    }

    async fn addresses_where(
        conn: &mut Conn<DB>,
        condition: &'static str,
        value: String,
    ) -> Result<Vec<AddressRow>, sqlx::Error> {
        let sql =
            format!("SELECT {ADDRESS_COLUMNS} FROM email_addresses WHERE {condition} ORDER BY id");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_all(&mut *conn)
            .await
    }

    async fn addresses_of(conn: &mut Conn<DB>, user: i64) -> Result<Vec<AddressRow>, sqlx::Error> {
        let sql =
            format!("SELECT {ADDRESS_COLUMNS} FROM email_addresses WHERE user_id = $1 ORDER BY id");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .fetch_all(&mut *conn)
            .await
    }

    async fn address_by_id(
        conn: &mut Conn<DB>,
        id: i64,
    ) -> Result<Option<AddressRow>, sqlx::Error> {
        let sql = format!("SELECT {ADDRESS_COLUMNS} FROM email_addresses WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
    }

    async fn put_address(
        conn: &mut Conn<DB>,
        (id, user, email, key, verified, primary): (i64, i64, String, String, bool, bool),
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO email_addresses (id, user_id, email, email_key, verified, is_primary) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(user)
        .bind(email)
        .bind(key)
        .bind(verified)
        .bind(primary)
        .execute(&mut *conn)
        .await
        .map(drop)
    }

    async fn clear_addresses(conn: &mut Conn<DB>, user: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM email_addresses WHERE user_id = $1")
            .bind(user)
            .execute(&mut *conn)
            .await
            .map(drop)
    }

    async fn unlisted(conn: &mut Conn<DB>) -> Result<Vec<(i64, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, email FROM users WHERE email IS NOT NULL AND email_key IS NULL \
             AND NOT EXISTS (SELECT 1 FROM email_addresses a WHERE a.user_id = users.id) \
             ORDER BY id",
        )
        .fetch_all(&mut *conn)
        .await
    }

    async fn book_if_unlisted(
        conn: &mut Conn<DB>,
        user: i64,
        email: String,
        key: String,
    ) -> Result<bool, sqlx::Error> {
        let added: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO email_addresses (user_id, email, email_key, verified, is_primary) \
             SELECT $1, $2, $3, FALSE, TRUE \
             WHERE NOT EXISTS (SELECT 1 FROM email_addresses WHERE user_id = $1) RETURNING id",
        )
        .bind(user)
        .bind(email)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(added.is_some())
    }

    async fn rebook_address(
        conn: &mut Conn<DB>,
        user: i64,
        address: Option<(String, String)>,
    ) -> Result<bool, sqlx::Error> {
        let others: Vec<(i64,)> = sqlx::query_as(
            "DELETE FROM email_addresses WHERE user_id = $1 AND NOT is_primary RETURNING id",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        let Some((email, key)) = address else {
            let primary: Vec<(i64,)> =
                sqlx::query_as("DELETE FROM email_addresses WHERE user_id = $1 RETURNING id")
                    .bind(user)
                    .fetch_all(&mut *conn)
                    .await?;
            return Ok(!(others.is_empty() && primary.is_empty()));
        };
        let moved: Vec<(i64,)> = sqlx::query_as(
            "UPDATE email_addresses SET email = $2, email_key = $3, verified = FALSE \
             WHERE user_id = $1 AND is_primary RETURNING id",
        )
        .bind(user)
        .bind(&email)
        .bind(&key)
        .fetch_all(&mut *conn)
        .await?;
        if !moved.is_empty() {
            return Ok(true);
        }
        if others.is_empty() {
            return Ok(false);
        }
        Self::insert_address(conn, (user, email, key, false, true)).await?;
        Ok(true)
    }

    async fn verify_address(
        conn: &mut Conn<DB>,
        id: i64,
    ) -> Result<Option<AddressRow>, sqlx::Error> {
        let sql = format!(
            "UPDATE email_addresses SET verified = TRUE, is_primary = TRUE \
             WHERE id = $1 AND NOT verified RETURNING {ADDRESS_COLUMNS}"
        );
        let verified: Option<AddressRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = &verified {
            sqlx::query(
                "UPDATE email_addresses SET is_primary = FALSE WHERE user_id = $1 AND id <> $2",
            )
            .bind(row.user_id())
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        Ok(verified)
    }

    async fn identifiers(
        conn: &mut Conn<DB>,
    ) -> Result<Vec<(i64, String, Option<String>)>, sqlx::Error> {
        // An address kept in the address book is not claimed on the user row.
        sqlx::query_as(
            "SELECT id, username, CASE WHEN EXISTS \
             (SELECT 1 FROM email_addresses a WHERE a.user_id = users.id) \
             THEN NULL ELSE email END FROM users ORDER BY id",
        )
        .fetch_all(&mut *conn)
        .await
    }

    async fn users_after(
        conn: &mut Conn<DB>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
    }

    async fn clear_keys(conn: &mut Conn<DB>) -> Result<(), sqlx::Error> {
        // A key never contains a line break, so these cannot collide with one.
        sqlx::query(
            "UPDATE users SET username_key = CONCAT('\n', CAST(id AS TEXT)), email_key = NULL",
        )
        .execute(&mut *conn)
        .await
        .map(drop)
    }

    async fn set_keys(
        conn: &mut Conn<DB>,
        id: i64,
        username_key: String,
        email_key: Option<String>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET username_key = $2, email_key = $3 WHERE id = $1")
            .bind(id)
            .bind(username_key)
            .bind(email_key)
            .execute(&mut *conn)
            .await
            .map(drop)
    }

    async fn reserve_ids(conn: &mut Conn<DB>, through: i64) -> Result<(), sqlx::Error> {
        for &statement in DB::RESERVE_IDS {
            sqlx::query(statement)
                .bind(through)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn reserve_address_ids(conn: &mut Conn<DB>) -> Result<(), sqlx::Error> {
        for &statement in DB::RESERVE_ADDRESS_IDS {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn user_exists(conn: &mut Conn<DB>, id: i64) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(found.is_some())
    }

    async fn queue(conn: &mut Conn<DB>, payload: String, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO outbox (payload, created_at, next_attempt_at) VALUES ($1, $2, $2)")
            .bind(payload)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(drop)
    }

    async fn generation(conn: &mut Conn<DB>, user: i64) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT generation FROM token_generations WHERE user_id = $1")
            .bind(user)
            .fetch_optional(&mut *conn)
            .await
    }

    async fn bump_generation(conn: &mut Conn<DB>, user: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO token_generations (user_id, generation) VALUES ($1, 1) \
             ON CONFLICT (user_id) DO UPDATE SET generation = token_generations.generation + 1",
        )
        .bind(user)
        .execute(&mut *conn)
        .await
        .map(drop)
    }

    async fn insert_credential(
        conn: &mut Conn<DB>,
        digest: Vec<u8>,
        user: i64,
        kind: &'static str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let stored: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO auth_tokens (digest, user_id, kind, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (digest) DO NOTHING RETURNING user_id",
        )
        .bind(digest)
        .bind(user)
        .bind(kind.to_owned())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(stored.is_some())
    }

    async fn credential(
        conn: &mut Conn<DB>,
        digest: Vec<u8>,
        kind: &'static str,
    ) -> Result<Option<CredentialRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT digest, user_id, kind, created_at, last_used_at FROM auth_tokens \
             WHERE digest = $1 AND kind = $2",
        )
        .bind(digest)
        .bind(kind.to_owned())
        .fetch_optional(&mut *conn)
        .await
    }

    async fn touch(conn: &mut Conn<DB>, digest: Vec<u8>, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE auth_tokens SET last_used_at = $2 WHERE digest = $1")
            .bind(digest)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(drop)
    }

    async fn delete_credential(
        conn: &mut Conn<DB>,
        digest: Vec<u8>,
        kind: &'static str,
    ) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "DELETE FROM auth_tokens WHERE digest = $1 AND kind = $2 RETURNING user_id",
        )
        .bind(digest)
        .bind(kind.to_owned())
        .fetch_optional(&mut *conn)
        .await
    }

    async fn credentials_of(
        conn: &mut Conn<DB>,
        user: i64,
    ) -> Result<Vec<CredentialRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT digest, user_id, kind, created_at, last_used_at FROM auth_tokens \
             WHERE user_id = $1 ORDER BY created_at, digest",
        )
        .bind(user)
        .fetch_all(&mut *conn)
        .await
    }

    async fn delete_credentials(
        conn: &mut Conn<DB>,
        user: i64,
        kind: Option<&'static str>,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut query = QueryBuilder::new("DELETE FROM auth_tokens WHERE user_id = ");
        query.push_bind(user);
        if let Some(kind) = kind {
            query.push(" AND kind = ").push_bind(kind.to_owned());
        }
        if let Some(keep) = keep {
            query.push(" AND digest <> ").push_bind(keep);
        }
        query.push(" RETURNING kind");
        let kinds: Vec<(String,)> = query.build_query_as().fetch_all(&mut *conn).await?;
        Ok(kinds.into_iter().map(|(kind,)| kind).collect())
    }

    async fn claim(
        conn: &mut Conn<DB>,
        now: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<QueuedRow>, sqlx::Error> {
        sqlx::query_as(DB::CLAIM_DUE)
            .bind(now)
            .bind(until)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
    }

    async fn sent(conn: &mut Conn<DB>, id: i64, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE outbox SET sent_at = $1, leased_until = NULL WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map(drop)
    }

    async fn failed(
        conn: &mut Conn<DB>,
        id: i64,
        error: String,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut query = QueryBuilder::new(
            "UPDATE outbox SET attempts = attempts + 1, leased_until = NULL, last_error = ",
        );
        query.push_bind(error);
        match retry_at {
            Some(at) => query.push(", next_attempt_at = ").push_bind(at),
            None => query.push(", failed_at = ").push_bind(now),
        };
        query.push(" WHERE id = ").push_bind(id);
        query.build().execute(&mut *conn).await.map(drop)
    }

    async fn backlog(conn: &mut Conn<DB>) -> Result<(i64, Option<i64>), sqlx::Error> {
        sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&mut *conn)
        .await
    }

    async fn count_credentials(
        conn: &mut Conn<DB>,
        kind: &'static str,
        issued_since: i64,
        seen_since: i64,
    ) -> Result<i64, sqlx::Error> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM auth_tokens WHERE kind = $1 AND created_at >= $2 \
             AND COALESCE(last_used_at, created_at) >= $3",
        )
        .bind(kind.to_owned())
        .bind(issued_since)
        .bind(seen_since)
        .fetch_one(&mut *conn)
        .await?;
        Ok(count)
    }

    async fn ping(conn: &mut Conn<DB>) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&mut *conn).await.map(drop)
    }
}
