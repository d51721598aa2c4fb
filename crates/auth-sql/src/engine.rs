//! What differs between the database engines, and nothing else: how to
//! connect, the migrations, the outbox claim, and how a unique violation
//! names its constraint. Everything else is written once, in `queries.rs`.

use auth_core::ports::UniqueField;
use sqlx::error::DatabaseError;
use sqlx::{Database, Pool};

/// A database engine the stores run on: SQLite or PostgreSQL.
pub trait Engine: Database + sealed::Sealed {
    /// The engine's migrations, embedded at compile time.
    const MIGRATOR: &'static sqlx::migrate::Migrator;

    /// Opens a pool on `url`, creating the database where the engine can.
    fn connect(url: &str) -> impl Future<Output = Result<Pool<Self>, sqlx::Error>> + Send;

    /// Leases up to `$3` due outbox rows until `$2` (`$1` is now),
    /// returning `id, payload, attempts`. Each engine has its own way to
    /// keep concurrent claimers apart.
    const CLAIM_DUE: &'static str;

    /// Statements, each binding `$1`, after which the ids the engine
    /// assigns to new users are above `$1` (and above every id used).
    const RESERVE_IDS: &'static [&'static str];

    /// Statements after which the ids the engine assigns to new address-book
    /// entries are above every id used.
    const RESERVE_ADDRESS_IDS: &'static [&'static str];

    /// The field a unique violation is about, from the constraint it names;
    /// `None` for a constraint no field maps to.
    fn unique_field(error: &dyn DatabaseError) -> Option<UniqueField>;
}

/// A uniqueness rule the schema enforces: its table and column (SQLite
/// names those), PostgreSQL's name for it, and the field it keeps unique.
pub(crate) struct Unique {
    pub table: &'static str,
    pub column: &'static str,
    pub constraint: &'static str,
    field: UniqueField,
}

/// Every uniqueness rule a field maps to.
const UNIQUE: [Unique; 3] = [
    Unique {
        table: "users",
        column: "username_key",
        constraint: "users_username_key_key",
        field: UniqueField::Username,
    },
    Unique {
        table: "users",
        column: "email_key",
        constraint: "users_email_key_key",
        field: UniqueField::Email,
    },
    // A verified address-book entry (allauth's UNIQUE_EMAIL).
    Unique {
        table: "email_addresses",
        column: "email_key",
        constraint: "email_addresses_verified",
        field: UniqueField::Email,
    },
];

/// The field of the rule the engine reported as `reported`, where `name`
/// gives the engine's report of a rule.
pub(crate) fn field_of(reported: &str, name: impl Fn(&Unique) -> String) -> Option<UniqueField> {
    UNIQUE
        .iter()
        .find(|rule| name(rule) == reported)
        .map(|rule| rule.field)
}

mod sealed {
    /// Only the engines this crate has migrations for.
    pub trait Sealed {}
    impl Sealed for sqlx::Sqlite {}
    impl Sealed for sqlx::Postgres {}
}
