//! The account workflows, one module per DRR flow.
//!
//! [`Accounts`] holds the ports and settings; each flow is a method defined
//! in its own module and returns its own error enum, never an HTTP status.
//! Flows read their input from a [`Form`](crate::form::Form) so that DRR's
//! field rules live here, not in each front end.

mod admin;
mod authenticate;
mod change_password;
mod credentials;
mod delete_account;
mod delivery;
mod djoser;
mod login;
mod logout;
mod profile;
mod register;
mod register_email;
mod resend_verification;
mod reset_password;
#[cfg(feature = "jwt")]
mod restauth;
#[cfg(feature = "jwt")]
mod simplejwt;
mod verify_registration;

#[cfg(test)]
pub(crate) mod testkit;

use std::sync::Arc;

pub use admin::{AdminError, NewAccount, Revoke};
pub use authenticate::{AuthenticateError, Authenticated};
pub use change_password::{ChangePasswordError, PasswordChanged};
pub use credentials::{CredentialView, RevokeCredentialsError};
pub use delete_account::DeleteAccountError;
pub use delivery::{DeliveryReport, RetryPolicy, deliver_due};
pub use djoser::{BearerError, DjoserError, Site};
pub use login::{Credentials, Issue, LoginError};
pub use logout::LogoutError;
pub use profile::{ProfileError, ProfileUpdate};
pub use register::{RegisterError, RegisteredProfile, Registration};
pub use register_email::{RegisterEmailError, VerifyEmailError};
pub use resend_verification::ResendVerificationError;
pub use reset_password::{ResetPasswordError, SendResetLinkError};
#[cfg(feature = "jwt")]
pub use restauth::{JwtPair, Registered, RestAuthError, RestAuthLogin};
#[cfg(feature = "jwt")]
pub use simplejwt::Refreshed;
pub use verify_registration::{VerifiedRegistration, VerifyRegistrationError};

use crate::domain::{Email, User, UserId};
use crate::form::{FieldError, Form, ValidationErrors, read_integer, required_text};
use crate::notification::{Notification, NotificationKind, VerificationLink};
use crate::policy::{PasswordPolicy, UserAttributes};
use crate::ports::{
    Clock, CredentialKind, HashError, Matching, PasswordHasher, StoreError, TokenError,
    TokenManager, UserStore,
};
use crate::settings::{CredentialsEnded, LoginField, Settings};
#[cfg(feature = "jwt")]
use crate::signing::confirmation_key::ConfirmationKeySigner;
use crate::signing::reset_token::ResetTokenGenerator;
use crate::signing::{LinkData, LinkError, LinkSigner, Salt};

/// The ports a workflow set needs.
#[derive(Clone)]
pub struct Ports {
    /// Users and the outbox.
    pub store: Arc<dyn UserStore>,
    /// Tokens and sessions.
    pub tokens: Arc<dyn TokenManager>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Every account workflow, over one set of ports and settings.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenManager>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    signer: Arc<LinkSigner>,
    /// Django's uid/token links (the djoser and dj-rest-auth dialects),
    /// under the same keys.
    reset_tokens: Arc<ResetTokenGenerator>,
    /// allauth's e-mail confirmation keys (the dj-rest-auth dialect).
    #[cfg(feature = "jwt")]
    confirmation_keys: Arc<ConfirmationKeySigner>,
    /// simplejwt's tokens (the djoser and dj-rest-auth dialects), under the
    /// newest key.
    #[cfg(feature = "jwt")]
    jwt: Arc<crate::signing::jwt::JwtSigner>,
    policy: Arc<PasswordPolicy>,
    settings: Arc<Settings>,
}

impl Accounts {
    /// Assembles the workflows.
    pub fn new(
        ports: Ports,
        signer: LinkSigner,
        policy: PasswordPolicy,
        settings: Settings,
    ) -> Self {
        let reset_tokens = Arc::new(ResetTokenGenerator::from(&signer));
        #[cfg(feature = "jwt")]
        let confirmation_keys = Arc::new(ConfirmationKeySigner::from(&signer));
        #[cfg(feature = "jwt")]
        let jwt = Arc::new(crate::signing::jwt::JwtSigner::from(&signer));
        Self {
            store: ports.store,
            tokens: ports.tokens,
            hasher: ports.hasher,
            clock: ports.clock,
            signer: Arc::new(signer),
            reset_tokens,
            #[cfg(feature = "jwt")]
            confirmation_keys,
            #[cfg(feature = "jwt")]
            jwt,
            policy: Arc::new(policy),
            settings: Arc::new(settings),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn now_timestamp(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Users `login` names, trying each configured login field in order
    /// (distinct users only).
    async fn users_by_login(&self, login: &str) -> Result<Vec<User>, StoreError> {
        let mut found: Vec<User> = Vec::new();
        for field in &self.settings.login_fields {
            let user = match field {
                LoginField::Username => {
                    self.store
                        .find_by_username(login, self.settings.matching)
                        .await?
                }
                LoginField::Email => {
                    self.store
                        .find_by_email(login, self.settings.matching)
                        .await?
                }
            };
            if let Some(user) = user
                && !found.iter().any(|u| u.id == user.id)
            {
                found.push(user);
            }
        }
        Ok(found)
    }

    /// A notice of a change to `user`'s account, mailed to `to` when
    /// `notify_changes` is on (none otherwise, or without an address).
    fn change_notice(
        &self,
        user: &User,
        to: Option<&Email>,
        kind: NotificationKind,
    ) -> Vec<Notification> {
        match to {
            Some(to) if self.settings.notify_changes => vec![Notification {
                to: to.as_str().to_owned(),
                user: user.into(),
                kind,
            }],
            _ => Vec::new(),
        }
    }

    /// Whether some user holds `username` (the caller included).
    async fn username_taken(&self, username: &crate::domain::Username) -> Result<bool, StoreError> {
        let holder = self
            .store
            .find_by_username(username.as_str(), self.settings.matching)
            .await?;
        Ok(holder.is_some())
    }

    /// Ends a DRF-token login: the user's token (DRF keeps one per user,
    /// whatever authenticated the request) and the session that made the
    /// request (djoser's `token/logout/`, dj-rest-auth's `logout/`).
    async fn end_drf_login(&self, me: &Authenticated) -> Result<(), TokenError> {
        self.tokens
            .revoke_all(me.user.id, Some(CredentialKind::Token), None)
            .await?;
        if me.kind == CredentialKind::Session {
            self.tokens
                .revoke(&me.credential, CredentialKind::Session)
                .await?;
        }
        Ok(())
    }

    /// Whether `password` is `user`'s.
    async fn password_matches(&self, user: &User, password: &str) -> Result<bool, HashError> {
        let verification = self
            .hasher
            .verify(
                &crate::domain::Password::new(password.to_owned()),
                &user.password_hash,
            )
            .await?;
        Ok(matches!(
            verification,
            crate::ports::Verification::Match { .. }
        ))
    }

    /// Every account holding `email` (compared by `matching`), on its user
    /// row or in its address book; by id, each once.
    async fn holders_of(&self, email: &str, matching: Matching) -> Result<Vec<User>, StoreError> {
        let mut ids: Vec<UserId> = self
            .store
            .addresses_matching(email, matching)
            .await?
            .into_iter()
            .map(|entry| entry.user)
            .collect();
        ids.extend(
            self.store
                .find_by_email(email, matching)
                .await?
                .map(|u| u.id),
        );
        ids.sort();
        ids.dedup();
        let mut users = self.store.get_all(&ids).await?;
        users.sort_by_key(|u| u.id);
        Ok(users)
    }

    /// Whether some user other than `except` holds `email`.
    async fn email_taken(&self, email: &Email, except: Option<UserId>) -> Result<bool, StoreError> {
        let holder = self
            .store
            .find_by_email(email.as_str(), self.settings.matching)
            .await?;
        Ok(holder.is_some_and(|u| Some(u.id) != except))
    }

    /// Starts a login for `user`: a token and/or a session, as configured.
    async fn issue_credentials(&self, user: User, issue: Issue) -> Result<Credentials, TokenError> {
        let login = &self.settings.login;
        let (token, session) = match issue {
            Issue::Configured => (login.retrieve_token, login.authenticate_session),
            Issue::Session => (false, true),
            Issue::Exactly { token, session } => (token, session),
        };
        let token = if token {
            Some(self.tokens.provide(user.id, CredentialKind::Token).await?)
        } else {
            None
        };
        let session = if session {
            Some(
                self.tokens
                    .provide(user.id, CredentialKind::Session)
                    .await?,
            )
        } else {
            None
        };
        Ok(Credentials {
            user,
            token,
            session,
        })
    }

    /// Ends the credentials a password change or reset ends.
    async fn end_credentials(
        &self,
        user: UserId,
        ends: CredentialsEnded,
        caller: Option<&Authenticated>,
    ) -> Result<(), TokenError> {
        match ends {
            CredentialsEnded::Sessions => {
                self.tokens
                    .revoke_all(user, Some(CredentialKind::Session), None)
                    .await?;
            }
            CredentialsEnded::AllButCaller => {
                let keep = caller.map(|c| c.credential.clone());
                self.tokens.revoke_all(user, None, keep).await?;
            }
            CredentialsEnded::All => {
                self.tokens.revoke_all(user, None, None).await?;
            }
        }
        Ok(())
    }

    fn register_salt(&self, user: &User) -> Salt {
        if self.settings.register.one_time_use {
            Salt::register_one_time(user.verified)
        } else {
            Salt::register()
        }
    }

    fn reset_salt(&self, user: &User) -> Salt {
        if self.settings.reset_password.one_time_use {
            Salt::reset_password_one_time(&user.password_hash)
        } else {
            Salt::reset_password()
        }
    }

    /// Signs a link for `user` (and `email`, on e-mail change links).
    fn link(
        &self,
        base_url: &str,
        salt: &Salt,
        user: UserId,
        email: Option<&Email>,
    ) -> VerificationLink {
        sign_link(
            &self.signer,
            base_url,
            salt,
            user,
            email,
            self.now_timestamp(),
        )
    }

    fn verify_link(
        &self,
        salt: &Salt,
        link: &LinkFields,
        email: Option<&str>,
        period: time::Duration,
    ) -> Result<(), LinkError> {
        let data = LinkData {
            user_id: link.user_id.clone(),
            email: email.map(str::to_owned),
            timestamp: link.timestamp,
        };
        self.signer
            .verify(salt, &data, &link.signature, self.clock.now(), period)
    }
}

/// Builds a signed link with DRR's parameters in DRR's order.
fn sign_link(
    signer: &LinkSigner,
    base_url: &str,
    salt: &Salt,
    user: UserId,
    email: Option<&Email>,
    timestamp: i64,
) -> VerificationLink {
    let data = LinkData {
        user_id: user.to_string(),
        email: email.map(|e| e.as_str().to_owned()),
        timestamp,
    };
    let signature = signer.sign(salt, &data);
    let mut params = vec![("user_id".to_owned(), data.user_id)];
    if let Some(email) = data.email {
        params.push(("email".to_owned(), email));
    }
    params.push(("timestamp".to_owned(), timestamp.to_string()));
    params.push(("signature".to_owned(), signature));
    VerificationLink::new(base_url, params)
}

/// The three fields every link carries back.
#[derive(Debug, Clone)]
struct LinkFields {
    user_id: String,
    timestamp: i64,
    signature: String,
}

impl LinkFields {
    /// Reads `user_id`, `timestamp` and `signature`, recording field errors.
    fn read(form: &Form, errors: &mut ValidationErrors) -> Option<Self> {
        let user_id = errors.take("user_id", required_text(form, "user_id"));
        let timestamp = errors.take("timestamp", read_integer(form, "timestamp"));
        let signature = errors.take("signature", required_text(form, "signature"));
        Some(Self {
            user_id: user_id?,
            timestamp: timestamp?,
            signature: signature?,
        })
    }

    fn user_id(&self) -> Option<UserId> {
        UserId::parse_link(&self.user_id)
    }
}

fn attributes(user: &User) -> UserAttributes<'_> {
    UserAttributes {
        username: user.username.as_str(),
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: user.email.as_ref().map(Email::as_str).unwrap_or_default(),
    }
}

/// Policy violations as field errors of `field`.
fn policy_errors(
    policy: &PasswordPolicy,
    password: &crate::domain::Password,
    user: &UserAttributes<'_>,
    field: &'static str,
    errors: &mut ValidationErrors,
) {
    for violation in policy.check(password, user) {
        errors.add(field, FieldError::new(violation.code, violation.message));
    }
}

fn passwords_do_not_match() -> FieldError {
    FieldError::new("passwords-do-not-match", "Passwords don't match")
}
