//! The mail worker: drains the outbox until shutdown.

use std::sync::Arc;
use std::time::Duration;

use auth_core::flows::{RetryPolicy, deliver_due};
use auth_core::ports::{Clock, Mailer, Outbox};
use tokio::sync::watch;

use crate::ops::MailMetrics;

/// Delivers due mail every `poll`, and at once again after a full batch.
pub(crate) async fn run(
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    poll: Duration,
    metrics: MailMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let busy =
            match deliver_due(outbox.as_ref(), mailer.as_ref(), clock.as_ref(), &policy).await {
                Ok(report) => {
                    metrics.sent.inc_by(u64::from(report.sent));
                    metrics.failed.inc_by(u64::from(report.retrying));
                    metrics.given_up.inc_by(u64::from(report.given_up));
                    if report.retrying > 0 || report.given_up > 0 {
                        tracing::warn!(
                            sent = report.sent,
                            retrying = report.retrying,
                            given_up = report.given_up,
                            "mail delivery failures"
                        );
                    } else if report.sent > 0 {
                        tracing::info!(sent = report.sent, "mail delivered");
                    }
                    report.sent + report.retrying + report.given_up >= policy.batch
                }
                Err(error) => {
                    let error = auth_core::ports::report(&error);
                    tracing::error!(%error, "mail outbox unavailable");
                    false
                }
            };
        if busy {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
