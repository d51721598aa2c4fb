//! The SMTP, directory and console mailers against real listeners and files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test binary: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use auth_core::domain::UserId;
use auth_core::notification::{Notification, NotificationKind, Recipient, VerificationLink};
use auth_core::ports::{MailError, Mailer};
use auth_smtp::sink::SmtpSink;
use auth_smtp::{DirMailer, Envelope, SmtpConfig, SmtpMailer, SmtpSecurity, Templates};

fn envelope() -> Envelope {
    Envelope {
        from: "no-reply@front.example".parse().unwrap(),
        reply_to: None,
    }
}

fn reset_mail(to: &str) -> Notification {
    Notification {
        to: to.into(),
        user: Recipient {
            id: UserId::new(3),
            username: "ann".into(),
            first_name: String::new(),
            last_name: String::new(),
        },
        kind: NotificationKind::ResetPassword {
            link: VerificationLink::new(
                "https://front.example/reset/",
                vec![
                    ("user_id".into(), "3".into()),
                    ("timestamp".into(), "1700000000".into()),
                    ("signature".into(), "abc_-1".into()),
                ],
            ),
        },
    }
}

fn smtp_mailer(port: u16) -> SmtpMailer {
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        credentials: None,
        timeout: Duration::from_secs(5),
    };
    SmtpMailer::new(
        &config,
        Arc::new(Templates::load(None).unwrap()),
        envelope(),
    )
    .unwrap()
}

#[tokio::test]
async fn smtp_mailer_delivers_a_rendered_message_to_a_real_listener() {
    let sink = SmtpSink::start().await.unwrap();
    smtp_mailer(sink.port())
        .send(&reset_mail("ann@example.org"))
        .await
        .unwrap();
    let got = sink
        .wait_for("ann@example.org", 1, Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].from, "no-reply@front.example");
    assert!(
        got[0].data.contains("Subject: Reset link sent"),
        "{}",
        got[0].data
    );
    assert!(
        got[0].data.contains("Reply-To: no-reply@front.example"),
        "{}",
        got[0].data
    );
    assert!(
        got[0].data.contains(
            "https://front.example/reset/?user_id=3&timestamp=1700000000&signature=abc_-1"
        ),
        "{}",
        got[0].data
    );
}

#[tokio::test]
async fn smtp_refusal_is_transient_and_an_unreachable_server_too() {
    let sink = SmtpSink::start().await.unwrap();
    sink.set_refusing(true);
    let err = smtp_mailer(sink.port())
        .send(&reset_mail("ann@example.org"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    assert!(sink.received().is_empty());

    let port = sink.port();
    drop(sink);
    let err = smtp_mailer(port)
        .send(&reset_mail("ann@example.org"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn a_malformed_recipient_is_a_permanent_failure() {
    let sink = SmtpSink::start().await.unwrap();
    let err = smtp_mailer(sink.port())
        .send(&reset_mail("not an address"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn dir_mailer_writes_one_eml_file_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = DirMailer::new(
        dir.path().join("mail"),
        Arc::new(Templates::load(None).unwrap()),
        envelope(),
    );
    mailer.send(&reset_mail("ann@example.org")).await.unwrap();
    mailer.send(&reset_mail("bob@example.org")).await.unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "eml"))
    );
    let all: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(
        all.contains("To: ann@example.org") && all.contains("To: bob@example.org"),
        "{all}"
    );
    assert!(all.contains("signature=abc_-1"), "{all}");
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn console_mailer_prints_the_whole_message_with_its_link() {
    let out = Captured::default();
    let mailer = auth_smtp::ConsoleMailer::with_writer(
        Arc::new(Templates::load(None).unwrap()),
        envelope(),
        Box::new(out.clone()),
    );
    mailer.send(&reset_mail("ann@example.org")).await.unwrap();
    let printed = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(
        printed.starts_with("----- mail to ann@example.org -----"),
        "{printed}"
    );
    assert!(printed.contains("Subject: Reset link sent"));
    assert!(
        printed.contains(
            "https://front.example/reset/?user_id=3&timestamp=1700000000&signature=abc_-1"
        )
    );
}
