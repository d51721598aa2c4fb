//! Building the MIME message, and the console mailer.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_core::notification::Notification;
use auth_core::ports::{Cause, MailError, Mailer};
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use crate::render::Templates;

/// Sender addresses shared by every mailer.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `VERIFICATION_FROM_EMAIL`.
    pub from: Mailbox,
    /// `VERIFICATION_REPLY_TO_EMAIL` (defaults to `from`).
    pub reply_to: Option<Mailbox>,
}

impl Envelope {
    /// Renders `notification` and builds the message.
    pub(crate) fn build(
        &self,
        templates: &Templates,
        notification: &Notification,
    ) -> Result<Message, MailError> {
        let rendered = templates
            .render(notification)
            .map_err(|e| MailError::Permanent(Cause::new(e)))?;
        let to: Mailbox = notification.to.parse().map_err(|e| {
            MailError::Permanent(format!("recipient {:?}: {e}", notification.to).into())
        })?;
        let builder = Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone().unwrap_or_else(|| self.from.clone()))
            .to(to)
            .subject(rendered.subject);
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(readable(rendered.text));
        let message = match rendered.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(readable(html)),
                ),
            ),
            None => builder.singlepart(text),
        };
        message.map_err(|e| MailError::Permanent(Cause::new(e)))
    }
}

/// The body unencoded (7bit, or 8bit for non-ASCII text), as DRR sends
/// it, so a link stays whole on its line for every reader and tool. lettre
/// would quote-print any line of 76+ characters; SMTP's own limit is 998
/// bytes per line (RFC 5322 §2.1.1), which is what decides here.
fn readable(text: String) -> Body {
    // SMTP lines end in CRLF.
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let fits = text.split("\r\n").all(|line| line.len() <= 998) && !text.contains('\0');
    if !fits {
        return Body::new(text);
    }
    let encoding = if text.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    Body::dangerous_pre_encoded(text.into_bytes(), encoding)
}

/// Where the console mailer writes.
type Output = Arc<Mutex<Box<dyn Write + Send>>>;

/// Prints each message to standard output (or another writer): the
/// embedded default, for development — the link is right there in the
/// terminal.
#[derive(Clone)]
pub struct ConsoleMailer {
    templates: Arc<Templates>,
    envelope: Envelope,
    out: Output,
}

impl std::fmt::Debug for ConsoleMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleMailer")
            .field("envelope", &self.envelope)
            .finish()
    }
}

impl ConsoleMailer {
    /// A mailer printing to standard output.
    pub fn new(templates: Arc<Templates>, envelope: Envelope) -> Self {
        Self::with_writer(templates, envelope, Box::new(std::io::stdout()))
    }

    /// A mailer printing to `out`.
    pub fn with_writer(
        templates: Arc<Templates>,
        envelope: Envelope,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Self {
            templates,
            envelope,
            out: Arc::new(Mutex::new(out)),
        }
    }
}

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, notification: &Notification) -> Result<(), MailError> {
        let message = self.envelope.build(&self.templates, notification)?;
        let text = String::from_utf8_lossy(&message.formatted()).replace("\r\n", "\n");
        let mut out = self
            .out
            .lock()
            .map_err(|_| MailError::Transient("console output poisoned".into()))?;
        writeln!(
            out,
            "----- mail to {} -----\n{text}\n----- end of mail -----",
            notification.to
        )
        .and_then(|()| out.flush())
        .map_err(|e| MailError::Transient(format!("console: {e}").into()))
    }
}
