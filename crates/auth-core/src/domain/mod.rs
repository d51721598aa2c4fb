//! Domain types whose constructors enforce their invariants.

mod email;
mod password;
mod user;
mod username;

pub use email::{Email, EmailError};
pub use password::{Password, PasswordHash};
pub use user::{
    AddressId, EmailAddress, EmailHolding, NewUser, User, UserChange, UserGuard, UserId,
};
pub use username::{Username, UsernameError};
