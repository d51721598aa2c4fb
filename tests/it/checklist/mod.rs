//! The rows of ../shared/docs/security-checklist.md, one test per row named
//! `checklist_NN_<what holds>`, grouped by the checklist's sections. Rows 13,
//! 14, 16 live in `limits.rs`, 41 in `logs.rs`, 44 in `mail.rs`, 45 in
//! `faults.rs` and 46 in `scale.rs`, beside the machinery they need.
//! docs/security.md maps every row to its test.

mod enumeration;
mod hardening;
mod links;
mod passwords;
mod sessions;
