//! axum facade: django-rest-registration's HTTP API over auth-core.
//!
//! Not built yet: this crate is a placeholder in the workspace layout
//! (see the project README's status section). Its issue fills it in.
