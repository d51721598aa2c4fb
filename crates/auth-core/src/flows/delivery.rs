//! Draining the notification outbox: one pass of a delivery worker.
//!
//! The loop, its schedule and its runtime belong to the server; the rules —
//! what is retried, when, and when to give up — live here.

use time::Duration;

use crate::ports::{Clock, MailError, Mailer, Outbox, StoreError};

/// When failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubled after each further one.
    pub first_delay: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// Attempts before a transiently failing message is given up.
    pub max_attempts: u32,
    /// How long a claimed message stays leased to one worker.
    pub lease: Duration,
    /// Messages claimed per pass.
    pub batch: u32,
}

impl Default for RetryPolicy {
    /// Retries for about a day: 30 s, 1 min, 2 min, … capped at 1 h, 30 attempts.
    fn default() -> Self {
        Self {
            first_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            max_attempts: 30,
            lease: Duration::minutes(5),
            batch: 50,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, after `attempts` failures.
    pub fn delay_after(&self, attempts: u32) -> Duration {
        let factor = 2i32.saturating_pow(attempts.saturating_sub(1).min(30));
        (self.first_delay * factor).min(self.max_delay)
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Accepted by the mail server.
    pub sent: u32,
    /// Failed, to be retried.
    pub retrying: u32,
    /// Failed for good (permanent error or too many attempts).
    pub given_up: u32,
}

/// Claims the due notifications and sends each; a message is marked sent
/// only after the mailer returned success.
pub async fn deliver_due(
    outbox: &dyn Outbox,
    mailer: &dyn Mailer,
    clock: &dyn Clock,
    policy: &RetryPolicy,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    let claimed = outbox
        .claim_due(clock.now(), policy.batch, policy.lease)
        .await?;
    for queued in claimed {
        match mailer.send(&queued.notification).await {
            Ok(()) => {
                outbox.mark_sent(queued.id, clock.now()).await?;
                report.sent += 1;
            }
            Err(error) => {
                let attempts = queued.attempts + 1;
                let retry_at = match &error {
                    MailError::Transient(_) if attempts < policy.max_attempts => {
                        Some(clock.now() + policy.delay_after(attempts))
                    }
                    _ => None,
                };
                if retry_at.is_some() {
                    report.retrying += 1;
                } else {
                    report.given_up += 1;
                }
                outbox
                    .mark_failed(queued.id, &crate::ports::report(&error), retry_at)
                    .await?;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::flows::testkit::*;
    use crate::notification::{Notification, NotificationKind, Recipient};
    use crate::ports::{FixedClock, MockMailer, MockOutbox, OutboxId, QueuedNotification};

    fn queued(id: i64, attempts: u32) -> QueuedNotification {
        QueuedNotification {
            id: OutboxId(id),
            attempts,
            notification: Notification {
                to: format!("u{id}@example.org"),
                user: Recipient {
                    id: uid(id),
                    username: "u".into(),
                    first_name: String::new(),
                    last_name: String::new(),
                },
                kind: NotificationKind::EmailAlreadyUsed {
                    email: format!("u{id}@example.org"),
                },
            },
        }
    }

    fn clock() -> FixedClock {
        FixedClock::new(OffsetDateTime::from_unix_timestamp(NOW).unwrap())
    }

    #[test]
    fn delivery_marks_sent_only_after_the_mailer_succeeds() {
        let mut outbox = MockOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![queued(1, 0), queued(2, 0)]));
        outbox
            .expect_mark_sent()
            .withf(|id, _| *id == OutboxId(1))
            .times(1)
            .returning(|_, _| Ok(()));
        outbox
            .expect_mark_failed()
            .withf(|id, _, retry| {
                *id == OutboxId(2)
                    && *retry == Some(OffsetDateTime::from_unix_timestamp(NOW + 30).unwrap())
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().returning(|n| {
            if n.to == "u1@example.org" {
                Ok(())
            } else {
                Err(MailError::Transient("421 busy".into()))
            }
        });
        let report = block_on(deliver_due(
            &outbox,
            &mailer,
            &clock(),
            &RetryPolicy::default(),
        ))
        .unwrap();
        assert_eq!(
            report,
            DeliveryReport {
                sent: 1,
                retrying: 1,
                given_up: 0
            }
        );
    }

    #[test]
    fn delivery_gives_up_on_permanent_errors_and_after_max_attempts() {
        let mut outbox = MockOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![queued(1, 0), queued(2, 29)]));
        outbox
            .expect_mark_failed()
            .withf(|_, _, retry| retry.is_none())
            .times(2)
            .returning(|_, _, _| Ok(()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().returning(|n| {
            if n.to == "u1@example.org" {
                Err(MailError::Permanent("550 no such user".into()))
            } else {
                Err(MailError::Transient("timeout".into()))
            }
        });
        let report = block_on(deliver_due(
            &outbox,
            &mailer,
            &clock(),
            &RetryPolicy::default(),
        ))
        .unwrap();
        assert_eq!(
            report,
            DeliveryReport {
                sent: 0,
                retrying: 0,
                given_up: 2
            }
        );
    }

    #[test]
    fn delivery_stops_when_the_outbox_fails_and_sends_nothing() {
        let mut outbox = MockOutbox::new();
        outbox.expect_claim_due().returning(|_, _, _| Err(down()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().never();
        assert!(
            block_on(deliver_due(
                &outbox,
                &mailer,
                &clock(),
                &RetryPolicy::default()
            ))
            .is_err()
        );
    }

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_after(1), Duration::seconds(30));
        assert_eq!(policy.delay_after(2), Duration::seconds(60));
        assert_eq!(policy.delay_after(5), Duration::seconds(480));
        assert_eq!(policy.delay_after(30), Duration::hours(1));
    }

    #[test]
    fn delivery_stops_if_a_sent_mail_cannot_be_recorded() {
        // The mail went out but is not marked sent: its lease expires and it
        // may be sent again (at-least-once), which beats losing it.
        let mut outbox = MockOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![queued(1, 0), queued(2, 0)]));
        outbox.expect_mark_sent().returning(|_, _| Err(down()));
        let mut mailer = MockMailer::new();
        mailer.expect_send().times(1).returning(|_| Ok(()));
        assert!(
            block_on(deliver_due(
                &outbox,
                &mailer,
                &clock(),
                &RetryPolicy::default()
            ))
            .is_err()
        );
    }
}
