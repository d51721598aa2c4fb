//! Reading a Django site's database, for `auth_core::import`: the user
//! table (`auth_user`, or a custom one with its own column names),
//! Django REST framework's `authtoken_token` and allauth's
//! `account_emailaddress`. Opened read-only on SQLite;
//! nothing here ever writes to the site's database.

use std::str::FromStr;

use auth_core::import::{SourceAddress, SourceToken, SourceUser};
use auth_core::ports::AuthToken;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Database, Executor, FromRow, IntoArguments, Pool, Postgres, Sqlite};
use time::OffsetDateTime;

/// Why the site's database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DjangoError {
    /// The URL is neither `sqlite://…` nor `postgres://…`.
    #[error("unsupported database URL scheme: use sqlite://PATH or postgres://…")]
    Scheme,
    /// A table or column name that is not a plain SQL identifier.
    #[error("{0:?} is not a table or column name (letters, digits and _ only, dot for a schema)")]
    Identifier(String),
    /// The database could not be opened.
    #[error("cannot open the Django database: {0}")]
    Open(#[source] sqlx::Error),
    /// A query failed (a missing table or column, most often).
    #[error("cannot read {what}: {source}")]
    Read {
        /// What was being read.
        what: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

/// Where the user rows are: the table and the columns holding what Django's
/// `AbstractUser` calls `username`, `email`, `first_name` and `last_name`.
/// `id`, `password`, `is_active`, `date_joined` and `last_login` keep
/// their Django names (a custom user model inherits them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTable {
    /// Table name, e.g. `auth_user` or `accounts_user`.
    pub table: String,
    /// Column with the login name (`email` for e-mail-only models).
    pub username: String,
    /// Column with the address; `None` when the model has none.
    pub email: Option<String>,
    /// Column with the given name; `None` when the model has none.
    pub first_name: Option<String>,
    /// Column with the family name; `None` when the model has none.
    pub last_name: Option<String>,
    /// Column with the staff flag; `None` when the model has none.
    pub is_staff: Option<String>,
}

impl Default for UserTable {
    fn default() -> Self {
        Self {
            table: "auth_user".into(),
            username: "username".into(),
            email: Some("email".into()),
            first_name: Some("first_name".into()),
            last_name: Some("last_name".into()),
            is_staff: Some("is_staff".into()),
        }
    }
}

/// A Django site's database.
pub enum DjangoSource {
    /// A SQLite file, opened read-only.
    Sqlite(Pool<Sqlite>),
    /// A PostgreSQL database.
    Postgres(Pool<Postgres>),
}

/// The engine-specific part of a query: seconds since the epoch of a
/// datetime column, fractions dropped (Django stores UTC with
/// `USE_TZ = True`).
trait Dialect {
    fn unix_seconds(column: &str) -> String;
}

impl Dialect for Sqlite {
    fn unix_seconds(column: &str) -> String {
        format!("CAST(strftime('%s', {column}) AS INTEGER)")
    }
}

impl Dialect for Postgres {
    fn unix_seconds(column: &str) -> String {
        format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)")
    }
}

#[derive(FromRow)]
struct UserRow {
    id: i64,
    username: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    is_active: bool,
    is_staff: bool,
    date_joined: Option<i64>,
    last_login: Option<i64>,
    password: String,
}

#[derive(FromRow)]
struct AddressRow {
    id: i64,
    user_id: i64,
    email: String,
    verified: bool,
    is_primary: bool,
}

#[derive(FromRow)]
struct TokenRow {
    key: String,
    user_id: i64,
    created: Option<i64>,
}

impl DjangoSource {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`).
    pub async fn open(url: &str) -> Result<Self, DjangoError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(DjangoError::Open)?
                .read_only(true);
            let pool = Pool::connect_with(options)
                .await
                .map_err(DjangoError::Open)?;
            Ok(Self::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = Pool::connect(url).await.map_err(DjangoError::Open)?;
            Ok(Self::Postgres(pool))
        } else {
            Err(DjangoError::Scheme)
        }
    }

    /// Every user row, by id.
    pub async fn users(&self, table: &UserTable) -> Result<Vec<SourceUser>, DjangoError> {
        let rows = match self {
            Self::Sqlite(pool) => users_in(pool, table).await?,
            Self::Postgres(pool) => users_in(pool, table).await?,
        };
        Ok(rows.into_iter().map(SourceUser::from).collect())
    }

    /// Every row of allauth's address table (`account_emailaddress`), by id.
    pub async fn addresses(&self, table: &str) -> Result<Vec<SourceAddress>, DjangoError> {
        let rows = match self {
            Self::Sqlite(pool) => addresses_in(pool, table).await?,
            Self::Postgres(pool) => addresses_in(pool, table).await?,
        };
        Ok(rows
            .into_iter()
            .map(|row| SourceAddress {
                id: row.id,
                user_id: row.user_id,
                email: row.email,
                verified: row.verified,
                primary: row.is_primary,
            })
            .collect())
    }

    /// Every row of DRF's token table (`authtoken_token` by default).
    pub async fn tokens(&self, table: &str) -> Result<Vec<SourceToken>, DjangoError> {
        let rows = match self {
            Self::Sqlite(pool) => tokens_in(pool, table).await?,
            Self::Postgres(pool) => tokens_in(pool, table).await?,
        };
        Ok(rows
            .into_iter()
            .map(|row| SourceToken {
                key: AuthToken::new(row.key),
                user_id: row.user_id,
                created: at(row.created),
            })
            .collect())
    }
}

impl From<UserRow> for SourceUser {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email.unwrap_or_default(),
            first_name: row.first_name.unwrap_or_default(),
            last_name: row.last_name.unwrap_or_default(),
            is_active: row.is_active,
            date_joined: at(row.date_joined),
            last_login: row.last_login.map(|t| at(Some(t))),
            password: row.password,
            is_staff: row.is_staff,
        }
    }
}

fn at(secs: Option<i64>) -> OffsetDateTime {
    secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `name` quoted as an identifier, once checked to be a plain one
/// (`schema.table` allowed), so no text from the command line reaches SQL
/// unchecked.
fn quoted(name: &str) -> Result<String, DjangoError> {
    let plain = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if name.split('.').all(plain) {
        Ok(name
            .split('.')
            .map(|part| format!("\"{part}\""))
            .collect::<Vec<_>>()
            .join("."))
    } else {
        Err(DjangoError::Identifier(name.to_owned()))
    }
}

/// A column or, for an absent one, an empty text.
fn column_or_empty(column: Option<&String>) -> Result<String, DjangoError> {
    column.map_or(Ok("''".into()), |c| quoted(c))
}

fn users_sql<DB: Dialect>(table: &UserTable) -> Result<String, DjangoError> {
    Ok(format!(
        "SELECT CAST(id AS BIGINT) AS id, {username} AS username, {email} AS email, \
         {first} AS first_name, {last} AS last_name, is_active, {staff} AS is_staff, \
         {joined} AS date_joined, {login} AS last_login, password FROM {table} ORDER BY id",
        username = quoted(&table.username)?,
        email = column_or_empty(table.email.as_ref())?,
        first = column_or_empty(table.first_name.as_ref())?,
        last = column_or_empty(table.last_name.as_ref())?,
        staff = table
            .is_staff
            .as_ref()
            .map_or(Ok("FALSE".into()), |c| quoted(c))?,
        joined = DB::unix_seconds("date_joined"),
        login = DB::unix_seconds("last_login"),
        table = quoted(&table.table)?,
    ))
}

async fn users_in<DB>(pool: &Pool<DB>, table: &UserTable) -> Result<Vec<UserRow>, DjangoError>
where
    DB: Database + Dialect,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
{
    let sql = users_sql::<DB>(table)?;
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(|source| DjangoError::Read {
            what: format!("users from {}", table.table),
            source,
        })
}

async fn addresses_in<DB>(pool: &Pool<DB>, table: &str) -> Result<Vec<AddressRow>, DjangoError>
where
    DB: Database + Dialect,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> AddressRow: FromRow<'r, DB::Row>,
{
    let sql = format!(
        "SELECT CAST(id AS BIGINT) AS id, CAST(user_id AS BIGINT) AS user_id, email, verified, \
         \"primary\" AS is_primary FROM {table} ORDER BY id",
        table = quoted(table)?,
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(|source| DjangoError::Read {
            what: format!("addresses from {table}"),
            source,
        })
}

async fn tokens_in<DB>(pool: &Pool<DB>, table: &str) -> Result<Vec<TokenRow>, DjangoError>
where
    DB: Database + Dialect,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> TokenRow: FromRow<'r, DB::Row>,
{
    let sql = format!(
        "SELECT \"key\" AS key, CAST(user_id AS BIGINT) AS user_id, {created} AS created \
         FROM {table} ORDER BY user_id",
        created = DB::unix_seconds("created"),
        table = quoted(table)?,
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(|source| DjangoError::Read {
            what: format!("tokens from {table}"),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_they_reach_sql() {
        assert_eq!(quoted("auth_user").unwrap(), "\"auth_user\"");
        assert_eq!(
            quoted("public.auth_user").unwrap(),
            "\"public\".\"auth_user\""
        );
        for bad in ["", "auth user", "x;DROP TABLE y", "\"q\"", "1st", "a..b"] {
            assert!(
                matches!(quoted(bad), Err(DjangoError::Identifier(_))),
                "{bad}"
            );
        }
    }
}
