//! Mail adapters for auth-core: notifications rendered with minijinja
//! templates and delivered over SMTP (lettre), printed to the console, or
//! written to a directory as `.eml` files.

mod dir;
mod message;
mod render;
#[cfg(feature = "sink")]
pub mod sink;
mod smtp;

pub use dir::DirMailer;
pub use lettre::message::Mailbox;
pub use message::{ConsoleMailer, Envelope};
pub use render::{MailFiles, RenderError, Rendered, Templates};
pub use smtp::{SmtpConfig, SmtpMailer, SmtpSecurity};
