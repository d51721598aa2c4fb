//! Delivery over SMTP with lettre: plain (local relay), STARTTLS or
//! implicit TLS (rustls), with optional authentication.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::notification::Notification;
use auth_core::ports::{Cause, MailError, Mailer};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::message::Envelope;
use crate::render::Templates;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS: only for a relay on the same host or network (`smtp://`).
    None,
    /// Upgrade with STARTTLS, required (`smtp+starttls://`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// User name and password, if the server wants them.
    pub credentials: Option<(String, String)>,
    /// Per-command timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish()
    }
}

/// Sends through an SMTP server; success means the server accepted the message.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    templates: Arc<Templates>,
    envelope: Envelope,
}

impl SmtpMailer {
    /// A mailer for `config`. Fails only on an unusable host name for TLS.
    pub fn new(
        config: &SmtpConfig,
        templates: Arc<Templates>,
        envelope: Envelope,
    ) -> Result<Self, MailError> {
        let builder = match config.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| MailError::Permanent(Cause::new(e)))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| MailError::Permanent(Cause::new(e)))?,
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            templates,
            envelope,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, notification: &Notification) -> Result<(), MailError> {
        let message = self.envelope.build(&self.templates, notification)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                MailError::Permanent(Cause::new(e))
            } else {
                MailError::Transient(Cause::new(e))
            }
        })
    }
}
