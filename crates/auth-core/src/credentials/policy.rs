//! The one rule for how long a credential works: every token store (SQL,
//! Redis, yours) asks it, so lifetimes and the idle timeout mean the same
//! thing wherever credentials live.

use time::{Duration, OffsetDateTime};

use crate::ports::CredentialKind;

/// How long credentials live, and when a use is worth recording.
///
/// The default has no limit at all (DRR's tokens never expire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CredentialPolicy {
    /// API tokens, from issue (`None`: no expiry, as DRR's).
    pub token_lifetime: Option<Duration>,
    /// Sessions, from issue (`None`: no expiry).
    pub session_lifetime: Option<Duration>,
    /// Refused once unused for this long (`None`: no idle timeout). Use
    /// never extends the lifetime.
    pub idle_timeout: Option<Duration>,
    /// Each use restarts the lifetime, so there is no absolute cap. Kept
    /// for deployments that relied on it; the idle timeout is the better
    /// rule.
    pub sliding: bool,
}

/// When a stored credential was issued and last used, as far as its store
/// knows (a store that never recorded a time gives `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamps {
    /// When it was issued.
    pub issued: Option<OffsetDateTime>,
    /// When a use was last recorded (`None`: not since issue).
    pub last_used: Option<OffsetDateTime>,
}

/// The least issue time and last-seen time (last use, or issue when none
/// was recorded) of a live credential; `None` bounds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveBounds {
    /// Issued at or after this.
    pub issued_since: Option<OffsetDateTime>,
    /// Last seen at or after this.
    pub seen_since: Option<OffsetDateTime>,
}

impl Stamps {
    /// Stamps from unix seconds, as stores keep them; out-of-range values
    /// count as unknown.
    pub fn from_unix(issued: Option<i64>, last_used: Option<i64>) -> Self {
        let at = |secs: i64| OffsetDateTime::from_unix_timestamp(secs).ok();
        Self {
            issued: issued.and_then(at),
            last_used: last_used.and_then(at),
        }
    }

    /// The last recorded use, or the issue when there was none.
    fn last_seen(&self) -> Option<OffsetDateTime> {
        self.last_used.or(self.issued)
    }
}

impl CredentialPolicy {
    /// How long a credential of `kind` lives (`None`: forever). A store
    /// may expire its records after this long, as tidying: the decision is
    /// [`is_live`](Self::is_live)'s.
    pub fn lifetime(&self, kind: CredentialKind) -> Option<Duration> {
        match kind {
            CredentialKind::Token => self.token_lifetime,
            CredentialKind::Session => self.session_lifetime,
        }
    }

    /// Whether a credential of `kind` with these stamps still works at `now`.
    pub fn is_live(&self, kind: CredentialKind, stamps: Stamps, now: OffsetDateTime) -> bool {
        let lifetime_start = if self.sliding {
            stamps.last_seen()
        } else {
            stamps.issued
        };
        let within = |start: Option<OffsetDateTime>, limit: Option<Duration>| match (start, limit) {
            (Some(start), Some(limit)) => start + limit >= now,
            // No limit, or no record to hold against it.
            _ => true,
        };
        within(lifetime_start, self.lifetime(kind)) && within(stamps.last_seen(), self.idle_timeout)
    }

    /// What a stored credential of `kind` must meet to be live at `now`, for
    /// stores that count credentials in one query rather than row by row:
    /// the same rule as [`is_live`](Self::is_live).
    pub fn live_bounds(&self, kind: CredentialKind, now: OffsetDateTime) -> LiveBounds {
        let since = |limit: Option<Duration>| limit.map(|limit| now - limit);
        let lifetime = self.lifetime(kind);
        if self.sliding {
            let shortest = [lifetime, self.idle_timeout].into_iter().flatten().min();
            LiveBounds {
                issued_since: None,
                seen_since: since(shortest),
            }
        } else {
            LiveBounds {
                issued_since: since(lifetime),
                seen_since: since(self.idle_timeout),
            }
        }
    }

    /// Whether a use at `now` should be written down. A write per request
    /// would be costly, and the clocks that read it (idle timeout, sliding
    /// lifetime) need no better than a quarter of their length, and never
    /// better than a minute.
    pub fn should_record_use(
        &self,
        kind: CredentialKind,
        stamps: Stamps,
        now: OffsetDateTime,
    ) -> bool {
        let sliding = self.lifetime(kind).filter(|_| self.sliding);
        let Some(shortest) = [self.idle_timeout, sliding].into_iter().flatten().min() else {
            return false;
        };
        let every: Duration = (shortest / 4_i32).clamp(Duration::ZERO, Duration::MINUTE);
        stamps.last_used.is_none_or(|used| now - used >= every)
    }

    /// Until when a credential found live at `now`, its use recorded as
    /// [`should_record_use`](Self::should_record_use) asked (`stamps` as
    /// they are after that), stays live with no use to record: the first of
    /// its lifetime's end, its idle deadline and its next recording of use.
    /// Within it, a cache may answer for the store; `None` bounds nothing.
    pub fn holds_until(
        &self,
        kind: CredentialKind,
        stamps: Stamps,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let lifetime_start = if self.sliding {
            stamps.last_seen()
        } else {
            stamps.issued
        };
        let end = |start: Option<OffsetDateTime>, limit: Option<Duration>| Some(start? + limit?);
        let sliding = self.lifetime(kind).filter(|_| self.sliding);
        let next_record = [self.idle_timeout, sliding]
            .into_iter()
            .flatten()
            .min()
            .map(|shortest| {
                let every: Duration = (shortest / 4_i32).clamp(Duration::ZERO, Duration::MINUTE);
                // Never recorded: the next use is recorded, so nothing holds.
                stamps.last_used.map_or(now, |used| used + every)
            });
        [
            end(lifetime_start, self.lifetime(kind)),
            end(stamps.last_seen(), self.idle_timeout),
            next_record,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn at(offset: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(T0 + offset).unwrap()
    }

    fn stamps(issued: i64, last_used: Option<i64>) -> Stamps {
        Stamps::from_unix(Some(T0 + issued), last_used.map(|u| T0 + u))
    }

    proptest::proptest! {
        #[test]
        fn live_bounds_say_what_is_live_says(
            lifetime in proptest::option::of(1_i64..1000),
            idle in proptest::option::of(1_i64..1000),
            sliding: bool,
            issued in -2000_i64..0,
            used in proptest::option::of(0_i64..2000),
        ) {
            let policy = CredentialPolicy {
                token_lifetime: lifetime.map(Duration::seconds),
                session_lifetime: None,
                idle_timeout: idle.map(Duration::seconds),
                sliding,
            };
            let stamps = stamps(issued, used.map(|u| issued + u));
            let now = at(0);
            let bounds = policy.live_bounds(CredentialKind::Token, now);
            let seen = stamps.last_seen();
            let within = bounds.issued_since.is_none_or(|b| stamps.issued.is_some_and(|i| i >= b))
                && bounds.seen_since.is_none_or(|b| seen.is_some_and(|s| s >= b));
            proptest::prop_assert_eq!(within, policy.is_live(CredentialKind::Token, stamps, now));
        }
    }

    proptest::proptest! {
        #[test]
        fn within_holds_until_the_credential_stays_live_with_nothing_to_record(
            lifetime in proptest::option::of(1_i64..1000),
            idle in proptest::option::of(1_i64..1000),
            sliding: bool,
            issued in -2000_i64..0,
            used in proptest::option::of(0_i64..2000),
            later in 0_i64..3000,
        ) {
            let policy = CredentialPolicy {
                token_lifetime: lifetime.map(Duration::seconds),
                session_lifetime: None,
                idle_timeout: idle.map(Duration::seconds),
                sliding,
            };
            let kind = CredentialKind::Token;
            let now = at(0);
            let mut stamps = stamps(issued, used.map(|u| (issued + u).min(0)));
            proptest::prop_assume!(policy.is_live(kind, stamps, now));
            if policy.should_record_use(kind, stamps, now) {
                stamps.last_used = Some(now);
            }
            let until = policy.holds_until(kind, stamps, now);
            let then = at(later);
            if until.is_none_or(|until| then < until) {
                proptest::prop_assert!(policy.is_live(kind, stamps, then));
                proptest::prop_assert!(!policy.should_record_use(kind, stamps, then));
            }
        }
    }

    #[test]
    fn no_limits_means_forever_and_no_writes() {
        let policy = CredentialPolicy::default();
        assert!(policy.is_live(CredentialKind::Token, stamps(0, None), at(10_i64.pow(9))));
        assert!(!policy.should_record_use(CredentialKind::Token, stamps(0, None), at(100)));
    }

    #[test]
    fn the_lifetime_counts_from_issue_and_use_does_not_extend_it() {
        let policy = CredentialPolicy {
            token_lifetime: Some(Duration::hours(1)),
            idle_timeout: Some(Duration::minutes(30)),
            ..CredentialPolicy::default()
        };
        let token = CredentialKind::Token;
        assert!(policy.is_live(token, stamps(0, Some(3500)), at(3600)));
        assert!(!policy.is_live(token, stamps(0, Some(3599)), at(3601)));
        // Sessions have no lifetime here: only the idle timeout holds them.
        assert!(policy.is_live(
            CredentialKind::Session,
            stamps(0, Some(9000)),
            at(9000 + 1800)
        ));
    }

    #[test]
    fn the_idle_timeout_counts_from_the_last_use_or_the_issue() {
        let policy = CredentialPolicy {
            idle_timeout: Some(Duration::minutes(30)),
            ..CredentialPolicy::default()
        };
        let kind = CredentialKind::Session;
        assert!(policy.is_live(kind, stamps(0, None), at(1800)));
        assert!(!policy.is_live(kind, stamps(0, None), at(1801)));
        assert!(policy.is_live(kind, stamps(0, Some(5000)), at(6800)));
        assert!(!policy.is_live(kind, stamps(0, Some(5000)), at(6801)));
    }

    #[test]
    fn sliding_lifetimes_restart_at_each_recorded_use() {
        let policy = CredentialPolicy {
            token_lifetime: Some(Duration::seconds(100)),
            sliding: true,
            ..CredentialPolicy::default()
        };
        let kind = CredentialKind::Token;
        assert!(policy.is_live(kind, stamps(0, Some(500)), at(600)));
        assert!(!policy.is_live(kind, stamps(0, Some(500)), at(601)));
        // A quarter of 100 s: a use 25 s after the last recorded one is written.
        assert!(!policy.should_record_use(kind, stamps(0, Some(500)), at(524)));
        assert!(policy.should_record_use(kind, stamps(0, Some(500)), at(525)));
    }

    #[test]
    fn uses_are_recorded_at_most_every_minute_or_quarter_of_the_timeout() {
        let long = CredentialPolicy {
            idle_timeout: Some(Duration::days(7)),
            ..CredentialPolicy::default()
        };
        let kind = CredentialKind::Token;
        assert!(long.should_record_use(kind, stamps(0, None), at(1)));
        assert!(!long.should_record_use(kind, stamps(0, Some(10)), at(69)));
        assert!(long.should_record_use(kind, stamps(0, Some(10)), at(70)));
        let short = CredentialPolicy {
            idle_timeout: Some(Duration::seconds(8)),
            ..CredentialPolicy::default()
        };
        assert!(!short.should_record_use(kind, stamps(0, Some(10)), at(11)));
        assert!(short.should_record_use(kind, stamps(0, Some(10)), at(12)));
    }

    #[test]
    fn unknown_stamps_are_held_to_no_limit() {
        let policy = CredentialPolicy {
            token_lifetime: Some(Duration::seconds(1)),
            idle_timeout: Some(Duration::seconds(1)),
            ..CredentialPolicy::default()
        };
        assert!(policy.is_live(CredentialKind::Token, Stamps::default(), at(100)));
    }
}
