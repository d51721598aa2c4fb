//! Driver errors mapped onto the ports' errors, once, at the boundary.

use auth_core::ports::{StoreError, TokenError, UniqueField};

/// Maps a sqlx error to a store error; unique violations name their field.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        // SQLite names the column in the message ("UNIQUE constraint failed: users.email_key").
        let field = if db.message().contains("email")
            || db.constraint().is_some_and(|c| c.contains("email"))
        {
            UniqueField::Email
        } else {
            UniqueField::Username
        };
        return StoreError::Conflict(field);
    }
    StoreError::Unavailable(error.to_string())
}

pub(crate) fn token_error(error: sqlx::Error) -> TokenError {
    TokenError(error.to_string())
}
