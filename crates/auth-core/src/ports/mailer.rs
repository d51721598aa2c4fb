//! Mail delivery.

use async_trait::async_trait;

use super::Cause;
use crate::notification::Notification;

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (server unreachable, 4xx reply, timeout).
    #[error("temporary mail failure")]
    Transient(#[source] Cause),
    /// Retrying cannot help (address refused with 5xx, template broken).
    #[error("permanent mail failure")]
    Permanent(#[source] Cause),
}

/// Renders and sends one notification. Returns only once the receiving
/// server accepted the message.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `notification`.
    async fn send(&self, notification: &Notification) -> Result<(), MailError>;
}
