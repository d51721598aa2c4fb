//! Pure core of the auth service: link signing byte-compatible with
//! django-rest-registration, password hashing and policy, the ports adapters
//! implement, and every account workflow.
//!
//! No I/O, no async runtime, no global state: time comes through the
//! [`ports::Clock`] port, storage, tokens and mail through the other ports.
//! See the crate README for a custom stack built on it.

#![warn(missing_docs)]

pub mod credentials;
pub mod domain;
pub mod flows;
pub mod form;
pub mod hashing;
pub mod import;
pub mod notification;
pub mod policy;
pub mod ports;
pub mod settings;
pub mod signing;

pub use flows::{Accounts, Ports};

// The README example is compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
