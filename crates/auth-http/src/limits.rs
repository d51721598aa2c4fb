//! Rate limits per action, keyed by client IP and by target account, on
//! any [`RateLimiter`] (in-process by default, Redis when instances must
//! share counters).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use auth_core::flows::Authenticated;
use auth_core::form::Form;
use auth_core::ports::{Cause, Decision, RateLimiter, RateRule};
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use time::Duration;

use crate::error::ApiError;

/// The throttled actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `login/`.
    Login,
    /// `register/`.
    Register,
    /// `send-reset-password-link/`.
    SendResetLink,
    /// `reset-password/`.
    ResetPassword,
    /// `verify-registration/` and `verify-email/`.
    Verify,
    /// `register-email/`.
    RegisterEmail,
    /// `resend-verification/`.
    Resend,
    /// A password check by a logged-in caller (`change-password/`,
    /// `credentials/revoke/`): counted against the caller's login budget
    /// too, so a stolen session is no password oracle.
    Reauthenticate,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 8] = [
        Self::Login,
        Self::Register,
        Self::SendResetLink,
        Self::ResetPassword,
        Self::Verify,
        Self::RegisterEmail,
        Self::Resend,
        Self::Reauthenticate,
    ];

    /// The action's name in keys and configuration (`login`, `send_reset_link`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::SendResetLink => "send_reset_link",
            Self::ResetPassword => "reset_password",
            Self::Verify => "verify",
            Self::RegisterEmail => "register_email",
            Self::Resend => "resend",
            Self::Reauthenticate => "reauthenticate",
        }
    }

    /// The fields naming the target account, whose budget is shared by
    /// every client (a spread-out attack still hits the account's limit).
    fn account_fields(self) -> &'static [&'static str] {
        match self {
            // DRR's `login`; djoser's and dj-rest-auth's `username` / `email`.
            Self::Login => &["login", "username", "email"],
            Self::Resend => &["login", "email"],
            Self::SendResetLink => &["login", "email"],
            Self::Register | Self::RegisterEmail => &["email"],
            Self::ResetPassword | Self::Verify | Self::Reauthenticate => &[],
        }
    }
}

/// Per-IP and per-account rules for each action.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    rules: HashMap<Action, (RateRule, RateRule)>,
}

fn rule(limit: u32, window: Duration) -> RateRule {
    RateRule { limit, window }
}

impl Default for Limits {
    /// Generous for people, tight for scripts: failures per account stay far
    /// below NIST's 100, mail to one address at a few per hour.
    fn default() -> Self {
        let five_min = Duration::minutes(5);
        let hour = Duration::hours(1);
        let rules = HashMap::from([
            // 8 per 5 minutes keeps an account under 100 failures an hour
            // (ASVS 4.0.3 2.2.1).
            (Action::Login, (rule(50, five_min), rule(8, five_min))),
            (
                Action::Reauthenticate,
                (rule(50, five_min), rule(8, five_min)),
            ),
            (Action::Register, (rule(20, hour), rule(3, hour))),
            (Action::SendResetLink, (rule(20, hour), rule(3, hour))),
            (Action::Resend, (rule(20, hour), rule(3, hour))),
            (Action::RegisterEmail, (rule(20, hour), rule(3, hour))),
            (
                Action::ResetPassword,
                (rule(50, five_min), rule(50, five_min)),
            ),
            (Action::Verify, (rule(50, five_min), rule(50, five_min))),
        ]);
        Self { rules }
    }
}

impl Limits {
    /// The per-IP and per-account rules of `action`.
    pub fn rules(&self, action: Action) -> Option<(RateRule, RateRule)> {
        self.rules.get(&action).copied()
    }

    /// Replaces the rules of `action`.
    pub fn set(&mut self, action: Action, per_ip: RateRule, per_account: RateRule) {
        self.rules.insert(action, (per_ip, per_account));
    }

    /// Counts the request against its IP's and its target account's budget;
    /// 429 when either is spent, 503 when the limiter cannot answer (fail
    /// closed).
    pub(crate) async fn check(
        &self,
        limiter: &dyn RateLimiter,
        action: Action,
        parts: &Parts,
        trusted_proxies: &[IpAddr],
        form: &Form,
        caller: Option<&Authenticated>,
    ) -> Result<(), ApiError> {
        let Some((per_ip, per_account)) = self.rules.get(&action) else {
            return Ok(());
        };
        let ip = client_ip(parts, trusted_proxies);
        let mut keys = vec![(format!("{}:ip:{ip}", action.name()), per_ip)];
        match (action, caller) {
            (Action::RegisterEmail, Some(me)) => {
                keys.push((
                    format!("{}:user:{}", action.name(), me.user.id.get()),
                    per_account,
                ));
                // It may check the password too (REGISTER_EMAIL_REQUIRES_PASSWORD).
                keys.extend(self.login_budget(me));
            }
            (Action::Reauthenticate, Some(me)) => keys.extend(self.login_budget(me)),
            _ => {}
        }
        for field in action.account_fields() {
            if let Some(auth_core::form::RawValue::Text(value)) = form.get(field) {
                // Normalised, so "Ann@X.org " and "ann@x.org" share a budget.
                keys.push((
                    format!("{}:account:{}", action.name(), value.trim().to_lowercase()),
                    per_account,
                ));
            }
        }
        for (key, rule) in keys {
            match limiter.hit(&key, rule).await {
                Ok(Decision::Allowed { .. }) => {}
                Ok(Decision::Limited { retry_after }) => {
                    return Err(ApiError::Throttled(retry_after));
                }
                Err(error) => return Err(ApiError::Unavailable(Cause::new(error))),
            }
        }
        Ok(())
    }
}

impl Limits {
    /// The budget a login by `me`'s username counts against, with the
    /// `reauthenticate` account rule: password checks by a logged-in caller
    /// share it.
    fn login_budget(&self, me: &Authenticated) -> Option<(String, &RateRule)> {
        let (_, per_account) = self.rules.get(&Action::Reauthenticate)?;
        let key = format!(
            "{}:account:{}",
            Action::Login.name(),
            me.user.username.as_str().to_lowercase()
        );
        Some((key, per_account))
    }
}

/// The client's address: the socket peer, unless that peer is a trusted
/// proxy, in which case the nearest untrusted `X-Forwarded-For` entry.
pub(crate) fn client_ip(parts: &Parts, trusted: &[IpAddr]) -> String {
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return "unknown".into();
    };
    let peer = peer.ip();
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut request = axum::http::Request::builder();
        if let Some(f) = forwarded {
            request = request.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn client_ip_believes_forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            client_ip(&parts("203.0.113.9:5000", Some("1.2.3.4")), &[proxy]),
            "203.0.113.9"
        );
        assert_eq!(
            client_ip(
                &parts("10.0.0.1:5000", Some("1.2.3.4, 198.51.100.7")),
                &[proxy]
            ),
            "198.51.100.7"
        );
        assert_eq!(
            client_ip(&parts("10.0.0.1:5000", None), &[proxy]),
            "10.0.0.1"
        );
    }
}
