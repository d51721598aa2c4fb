//! PostgreSQL: shared state for several server instances. Connections fail
//! fast (a 503 rather than a hang while the database is down), and the
//! outbox is claimed with `FOR UPDATE SKIP LOCKED`, so instances draining it
//! concurrently never send a message twice.

use std::time::Duration;

use auth_core::ports::UniqueField;
use sqlx::error::DatabaseError;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

use crate::engine::{Engine, field_of};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Engine for Postgres {
    const MIGRATOR: &'static sqlx::migrate::Migrator = &MIGRATOR;

    async fn connect(url: &str) -> Result<Pool<Self>, sqlx::Error> {
        PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await
    }

    const CLAIM_DUE: &'static str = "UPDATE outbox SET leased_until = $2 WHERE id IN (\
        SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
        AND (leased_until IS NULL OR leased_until <= $1) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
        RETURNING id, payload, CAST(attempts AS BIGINT) AS attempts";

    /// Never lowers the sequence (its `last_value` counts too).
    const RESERVE_IDS: &'static [&'static str] =
        &["SELECT setval(pg_get_serial_sequence('users', 'id'), \
         GREATEST($1, (SELECT last_value FROM users_id_seq)))"];

    /// Entries written under their own ids do not move the sequence.
    const RESERVE_ADDRESS_IDS: &'static [&'static str] = &[
        "SELECT setval(pg_get_serial_sequence('email_addresses', 'id'), \
         GREATEST((SELECT COALESCE(MAX(id), 1) FROM email_addresses), \
         (SELECT last_value FROM email_addresses_id_seq)))",
    ];

    /// PostgreSQL names the constraint or index that refused the row.
    fn unique_field(error: &dyn DatabaseError) -> Option<UniqueField> {
        field_of(error.constraint()?, |rule| rule.constraint.to_owned())
    }
}
