//! Driver errors mapped onto the ports' errors, once, at the boundary; the
//! driver's error stays attached as the cause.

use auth_core::ports::{Cause, StoreError, TokenError};

use crate::engine::Engine;

/// Maps a sqlx error to a store error; a unique violation names its field
/// by the constraint the engine reports.
pub(crate) fn store_error<DB: Engine>(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
        && let Some(field) = DB::unique_field(db.as_ref())
    {
        return StoreError::Conflict(field);
    }
    StoreError::Unavailable(Cause::new(error))
}

pub(crate) fn token_error(error: sqlx::Error) -> TokenError {
    TokenError(Cause::new(error))
}
