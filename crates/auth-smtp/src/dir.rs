//! Writes each message as an `.eml` file: for development and for tests
//! that read mail from disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use auth_core::notification::Notification;
use auth_core::ports::{MailError, Mailer};

use crate::message::Envelope;
use crate::render::Templates;

/// One `.eml` file per message in a directory (created if missing).
#[derive(Debug)]
pub struct DirMailer {
    dir: PathBuf,
    templates: Arc<Templates>,
    envelope: Envelope,
    counter: AtomicU64,
}

impl DirMailer {
    /// A mailer writing into `dir`.
    pub fn new(dir: impl Into<PathBuf>, templates: Arc<Templates>, envelope: Envelope) -> Self {
        Self {
            dir: dir.into(),
            templates,
            envelope,
            counter: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Mailer for DirMailer {
    async fn send(&self, notification: &Notification) -> Result<(), MailError> {
        let message = self.envelope.build(&self.templates, notification)?;
        let io =
            |e: std::io::Error| MailError::Transient(format!("{}: {e}", self.dir.display()).into());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{nanos}-{}-{n}.eml", std::process::id());
        // Write then rename, so a reader never sees half a message.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, message.formatted())
            .await
            .map_err(io)?;
        tokio::fs::rename(&tmp, self.dir.join(name))
            .await
            .map_err(io)
    }
}
