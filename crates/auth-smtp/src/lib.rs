//! Mail adapters for auth-core: lettre SMTP, minijinja templates, console and directory mailers.
//!
//! Not built yet: this crate is a placeholder in the workspace layout
//! (see the project README's status section). Its issue fills it in.
