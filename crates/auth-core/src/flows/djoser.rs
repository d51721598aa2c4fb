//! djoser's flows (djoser-api.md §2): its fields, checks and their order,
//! over the same store, hasher, password policy, credentials and outbox as
//! DRR's flows. Links are Django's `{uid}`/`{token}` pairs
//! ([`crate::signing::reset_token`]), so links a djoser site mailed before
//! the move still work.

use std::sync::Arc;

use super::register::{read_optional_email, unique_error, username_error};
#[cfg(feature = "jwt")]
use super::simplejwt::RefreshRefused;
use super::{Accounts, Authenticated, Credentials, LoginError, policy_errors};
use crate::domain::{
    Email, EmailAddress, NewUser, Password, User, UserChange, UserGuard, Username,
};
use crate::form::{FieldError, Form, TextRule, ValidationErrors, read_text, required_text};
use crate::notification::{Notification, NotificationKind, VerificationLink};
use crate::policy::UserAttributes;
use crate::ports::{Announce, HashError, StoreError, TokenError, UniqueField};
#[cfg(feature = "jwt")]
use crate::signing::jwt::TokenType;
use crate::signing::reset_token::{ResetTokenGenerator, TokenSubject};
use crate::signing::uid;

/// Why a djoser request was refused.
#[derive(Debug, thiserror::Error)]
pub enum DjoserError {
    /// Field or object validation failed (`non_field_errors` included).
    #[error("invalid data")]
    Invalid(ValidationErrors),
    /// The activation link is good but the account is already active.
    #[error("Stale token for given user.")]
    StaleToken,
    /// No account fits the address, and `*_SHOW_EMAIL_NOT_FOUND` says so
    /// (djoser answers a bare list here, raised outside validation).
    #[error("User with given email does not exist.")]
    EmailNotFound,
    /// `jwt/create/` with credentials that log no one in.
    #[error("No active account found with the given credentials")]
    NoActiveAccount,
    /// `jwt/refresh/` or `jwt/verify/` with a token that is not good (of
    /// the wrong type, expired, or not ours).
    #[error("Token is invalid or expired")]
    TokenNotValid,
    /// `jwt/refresh/` for a user who is gone or may not log in.
    #[error("No active account found for the given token.")]
    NoActiveAccountForToken,
    /// `users/resend_activation/` without `SEND_ACTIVATION_EMAIL`.
    #[error("activation mails are off")]
    ActivationOff,
    /// No such user, or (with `HIDE_USERS`) another user's object.
    #[error("Not found.")]
    NotFound,
    /// Another user's object, without `HIDE_USERS` or for deletion.
    #[error("You do not have permission to perform this action.")]
    Forbidden,
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed; nothing was changed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// Credentials could not be issued or revoked.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<super::delete_account::EraseError> for DjoserError {
    fn from(error: super::delete_account::EraseError) -> Self {
        match error {
            super::delete_account::EraseError::Store(e) => Self::Store(e),
            super::delete_account::EraseError::Token(e) => Self::Token(e),
        }
    }
}

impl From<LoginError> for DjoserError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::Invalid(_) | LoginError::LoginInvalid => {
                Self::Invalid(ValidationErrors::object(
                    "invalid_credentials",
                    "Unable to log in with provided credentials.",
                ))
            }
            LoginError::Store(e) => Self::Store(e),
            LoginError::Hash(e) => Self::Hash(e),
            LoginError::Token(e) => Self::Token(e),
        }
    }
}

/// Where a request came to, for the mailed links when the
/// `DJOSER_EMAIL_FRONTEND_*` settings leave them unsaid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `https` or `http`.
    pub protocol: String,
    /// The `Host` the request named.
    pub domain: String,
}

/// Queues a `{uid}`/`{token}` link for a user the store just created.
struct LinkMail {
    tokens: Arc<ResetTokenGenerator>,
    template: String,
    now: time::OffsetDateTime,
}

impl Announce for LinkMail {
    fn announce(&self, user: &User, _: Option<&EmailAddress>) -> Option<Notification> {
        let email = user.email.as_ref()?;
        Some(Notification {
            to: email.as_str().to_owned(),
            user: user.into(),
            kind: NotificationKind::RegisterVerification {
                link: uid_token_link(&self.tokens, &self.template, user, self.now),
            },
        })
    }
}

/// Queues djoser's confirmation mail for a user the store just created.
struct ActivatedMail;

impl Announce for ActivatedMail {
    fn announce(&self, user: &User, _: Option<&EmailAddress>) -> Option<Notification> {
        activated_notice(user)
    }
}

fn activated_notice(user: &User) -> Option<Notification> {
    let email = user.email.as_ref()?;
    Some(Notification {
        to: email.as_str().to_owned(),
        user: user.into(),
        kind: NotificationKind::Activated,
    })
}

/// `template` (a full URL with `{uid}` and `{token}`) filled in for `user`.
fn uid_token_link(
    tokens: &ResetTokenGenerator,
    template: &str,
    user: &User,
    now: time::OffsetDateTime,
) -> VerificationLink {
    let token = tokens.make(&TokenSubject::django(user), now);
    VerificationLink::templated(
        template,
        vec![
            ("uid".to_owned(), uid::to_base64(user.id)),
            ("token".to_owned(), token),
        ],
    )
}

impl Accounts {
    /// `{protocol}://{domain}/{path}`, the `DJOSER_EMAIL_FRONTEND_*`
    /// settings winning over the request's scheme and host.
    fn djoser_url(&self, site: &Site, path: &str) -> String {
        let djoser = &self.settings.djoser;
        let pick = |set: &str, request: &str| {
            if set.is_empty() {
                request.to_owned()
            } else {
                set.to_owned()
            }
        };
        format!(
            "{}://{}/{path}",
            pick(&djoser.email_frontend_protocol, &site.protocol),
            pick(&djoser.email_frontend_domain, &site.domain)
        )
    }

    /// `POST users/` (djoser-api.md §2.1): `username`, `password`,
    /// [`email`], and `re_password` with `USER_CREATE_PASSWORD_RETYPE`.
    /// With `SEND_ACTIVATION_EMAIL` the user starts inactive and the
    /// activation mail is queued with the new row.
    pub async fn djoser_create(&self, form: &Form, site: &Site) -> Result<User, DjoserError> {
        let djoser = &self.settings.djoser;
        let mut errors = ValidationErrors::default();
        let username = errors.take(
            "username",
            required_text(form, "username")
                .and_then(|t| Username::parse(&t).map_err(username_error)),
        );
        let email = errors.take("email", read_optional_email(form)).flatten();
        let password = errors.take("password", required_text(form, "password"));
        let retyped = if djoser.user_create_password_retype {
            errors.take("re_password", required_text(form, "re_password"))
        } else {
            None
        };
        if let Some(name) = &username
            && self.username_taken(name).await?
        {
            errors
                .fields
                .extend(unique_error(UniqueField::Username).fields);
        }
        let (Some(username), Some(password)) = (username, password) else {
            return Err(DjoserError::Invalid(errors));
        };
        errors.into_result().map_err(DjoserError::Invalid)?;

        // Object level: the validators, then the retype.
        let password = Password::new(password);
        let mut errors = ValidationErrors::default();
        let attributes = UserAttributes {
            username: username.as_str(),
            first_name: "",
            last_name: "",
            email: email.as_ref().map(|e| e.as_str()).unwrap_or_default(),
        };
        policy_errors(
            &self.policy,
            &password,
            &attributes,
            "password",
            &mut errors,
        );
        if errors.is_empty()
            && djoser.user_create_password_retype
            && retyped.as_deref() != Some(password.expose())
        {
            errors = password_mismatch();
        }
        errors.into_result().map_err(DjoserError::Invalid)?;

        let new_user = NewUser {
            username,
            email,
            first_name: String::new(),
            last_name: String::new(),
            password_hash: self.hasher.hash(&password).await?,
            verified: !djoser.send_activation_email,
            date_joined: self.clock.now(),
            staff: false,
            // Django's stock user: several accounts may share an address.
            holding: crate::domain::EmailHolding::Book { verified: false },
        };
        let announce: Option<Arc<dyn Announce>> = if djoser.send_activation_email {
            Some(Arc::new(LinkMail {
                tokens: self.reset_tokens.clone(),
                template: self.djoser_url(site, &djoser.activation_url),
                now: self.clock.now(),
            }))
        } else if djoser.send_confirmation_email {
            Some(Arc::new(ActivatedMail))
        } else {
            None
        };
        match self.store.create(new_user, announce).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict(field)) => Err(DjoserError::Invalid(unique_error(field))),
            Err(other) => Err(other.into()),
        }
    }

    /// The user a `uid`/`token` pair names, once both are good: the uid's
    /// error first, then the token's (djoser-api.md §2.4).
    async fn djoser_link_user(&self, uid_text: &str, token: &str) -> Result<User, DjoserError> {
        let invalid_uid = || {
            DjoserError::Invalid(ValidationErrors::single(
                "uid",
                FieldError::new("invalid_uid", "Invalid user id or user doesn't exist."),
            ))
        };
        let Some(id) = uid::from_base64(uid_text) else {
            return Err(invalid_uid());
        };
        let Some(user) = self.store.get(id).await? else {
            return Err(invalid_uid());
        };
        self.reset_tokens
            .check(
                &TokenSubject::django(&user),
                token,
                self.clock.now(),
                self.settings.password_reset_timeout,
            )
            .map_err(|_| {
                DjoserError::Invalid(ValidationErrors::single(
                    "token",
                    FieldError::new("invalid_token", "Invalid token for given user."),
                ))
            })?;
        Ok(user)
    }

    /// `POST users/activation/` (djoser-api.md §2.4): `uid` and `token`.
    /// The token is not consumed — activation changes nothing it covers —
    /// so a second use is [`DjoserError::StaleToken`]. An account an
    /// operator disabled stays disabled (it counts as active here).
    pub async fn djoser_activate(&self, form: &Form) -> Result<(), DjoserError> {
        let mut errors = ValidationErrors::default();
        let uid_text = errors.take("uid", required_text(form, "uid"));
        let token = errors.take("token", required_text(form, "token"));
        let (Some(uid_text), Some(token)) = (uid_text, token) else {
            return Err(DjoserError::Invalid(errors));
        };
        let user = self.djoser_link_user(&uid_text, &token).await?;
        if user.verified {
            return Err(DjoserError::StaleToken);
        }
        let change = UserChange {
            verified: Some(true),
            guard: Some(UserGuard::PasswordHash(user.password_hash.clone())),
            ..UserChange::default()
        };
        let notify = if self.settings.djoser.send_confirmation_email {
            activated_notice(&user).into_iter().collect()
        } else {
            Vec::new()
        };
        self.store.update(user.id, change, notify).await?;
        Ok(())
    }

    /// `POST token/login/` (djoser-api.md §2.12): `username` and `password`,
    /// both optional; any failure is the same `non_field_errors`. The
    /// login is recorded (which ends outstanding links) and the user's one
    /// token returned, with a session too under `CREATE_SESSION_ON_LOGIN`.
    pub async fn djoser_token_login(&self, form: &Form) -> Result<Credentials, DjoserError> {
        let mut errors = ValidationErrors::default();
        let username = errors
            .take(
                "username",
                read_text(form, "username", TextRule::OPTIONAL_BLANK),
            )
            .flatten();
        let password = errors
            .take(
                "password",
                read_text(form, "password", TextRule::OPTIONAL_BLANK),
            )
            .flatten();
        errors.into_result().map_err(DjoserError::Invalid)?;
        let (Some(username), Some(password)) = (username, password) else {
            return Err(LoginError::LoginInvalid.into());
        };
        let candidates = self
            .store
            .find_by_username(&username, self.settings.matching)
            .await?;
        let user = self
            .password_login(
                candidates.into_iter().collect(),
                &Password::new(password),
                true,
            )
            .await?;
        let issue = super::Issue::Exactly {
            token: true,
            session: self.settings.djoser.create_session_on_login,
        };
        Ok(self.issue_credentials(user, issue).await?)
    }

    /// `POST token/logout/` (djoser-api.md §2.13): the caller's token goes
    /// (DRF keeps one per user), and the session that made the request.
    pub async fn djoser_token_logout(&self, me: &Authenticated) -> Result<(), DjoserError> {
        Ok(self.end_drf_login(me).await?)
    }
}

/// A required, valid `email` field.
fn read_email(form: &Form) -> Result<Email, DjoserError> {
    crate::form::read_email(form, "email")
        .map_err(|e| DjoserError::Invalid(ValidationErrors::single("email", e)))
}

/// Django's `has_usable_password`: an imported `!…` hash never matches.
fn has_usable_password(user: &User) -> bool {
    !user.password_hash.as_str().starts_with('!')
}

/// djoser's retype rule: `re_new_username`, when asked for, must match.
fn username_retyped(username: &Username, retyped: Option<&str>) -> Result<(), DjoserError> {
    if retyped.is_some_and(|r| r != username.as_str()) {
        return Err(DjoserError::Invalid(ValidationErrors::object(
            "username_mismatch",
            "The two username fields didn't match.",
        )));
    }
    Ok(())
}

fn password_mismatch() -> ValidationErrors {
    ValidationErrors::object("password_mismatch", "The two password fields didn't match.")
}

impl Accounts {
    /// The one user djoser's address lookups find: exact address, a usable
    /// password, and `active` as asked (djoser-api.md §2.5, §2.7). Stock
    /// Django lets accounts share an address; where djoser then fails with
    /// a 500, this is a field error on `email`.
    async fn djoser_user_by_email(
        &self,
        email: &Email,
        active: bool,
    ) -> Result<Option<User>, DjoserError> {
        let mut found: Vec<User> = self
            .holders_of(email.as_str(), self.settings.matching)
            .await?
            .into_iter()
            .filter(|u| has_usable_password(u) && u.can_log_in() == active)
            .collect();
        if found.len() > 1 {
            return Err(DjoserError::Invalid(ValidationErrors::single(
                "email",
                FieldError::new(
                    "shared",
                    "Several accounts have this e-mail address; ask the site's staff for help.",
                ),
            )));
        }
        Ok(found.pop())
    }

    /// `POST users/resend_activation/` (djoser-api.md §2.5): `email`. An
    /// inactive account with that address is mailed a new activation link.
    pub async fn djoser_resend_activation(
        &self,
        form: &Form,
        site: &Site,
    ) -> Result<(), DjoserError> {
        let djoser = &self.settings.djoser;
        let email = read_email(form)?;
        let user = self.djoser_user_by_email(&email, false).await?;
        if user.is_none() && djoser.show_email_not_found() {
            return Err(DjoserError::EmailNotFound);
        }
        if !djoser.send_activation_email {
            return Err(DjoserError::ActivationOff);
        }
        if let Some(user) = user {
            let mail = LinkMail {
                tokens: self.reset_tokens.clone(),
                template: self.djoser_url(site, &djoser.activation_url),
                now: self.clock.now(),
            };
            self.store
                .enqueue(mail.announce(&user, None).into_iter().collect())
                .await?;
        }
        Ok(())
    }

    /// `POST users/reset_password/` (djoser-api.md §2.7): `email`. An
    /// active account with that address is mailed a reset link.
    pub async fn djoser_reset_password(&self, form: &Form, site: &Site) -> Result<(), DjoserError> {
        let template = &self.settings.djoser.password_reset_confirm_url;
        self.mail_reset_link(form, site, template, |link| {
            NotificationKind::ResetPassword { link }
        })
        .await
    }

    /// `POST users/reset_password_confirm/` (djoser-api.md §2.8): `uid`,
    /// `token`, `new_password` (and `re_new_password` with
    /// `PASSWORD_RESET_CONFIRM_RETYPE`). The password is judged before the
    /// link, as djoser does; success sets it and the last login, which ends
    /// the link.
    pub async fn djoser_reset_password_confirm(&self, form: &Form) -> Result<(), DjoserError> {
        let djoser = &self.settings.djoser;
        let mut errors = ValidationErrors::default();
        let uid_text = errors.take("uid", required_text(form, "uid"));
        let token = errors.take("token", required_text(form, "token"));
        let password = errors.take("new_password", required_text(form, "new_password"));
        let retyped = if djoser.password_reset_confirm_retype {
            errors.take("re_new_password", required_text(form, "re_new_password"))
        } else {
            None
        };
        let (Some(uid_text), Some(token), Some(password)) = (uid_text, token, password) else {
            return Err(DjoserError::Invalid(errors));
        };
        errors.into_result().map_err(DjoserError::Invalid)?;
        let password = Password::new(password);
        self.judge_new_password(&password, &UserAttributes::default(), retyped.as_deref())?;
        let user = self.djoser_link_user(&uid_text, &token).await?;
        let change = UserChange {
            password_hash: Some(self.hasher.hash(&password).await?),
            last_login: Some(self.clock.now()),
            guard: Some(UserGuard::PasswordHash(user.password_hash.clone())),
            ..UserChange::default()
        };
        let notify = self.password_changed_notice(&user);
        self.store.update(user.id, change, notify).await?;
        Ok(())
    }

    /// `POST users/set_password/` (djoser-api.md §2.6): `new_password`,
    /// `current_password` (and `re_new_password` with `SET_PASSWORD_RETYPE`).
    /// With `LOGOUT_ON_PASSWORD_CHANGE` the user's tokens and sessions end.
    pub async fn djoser_set_password(
        &self,
        me: &Authenticated,
        form: &Form,
    ) -> Result<(), DjoserError> {
        let djoser = &self.settings.djoser;
        let mut errors = ValidationErrors::default();
        let password = errors.take("new_password", required_text(form, "new_password"));
        let current = errors.take("current_password", required_text(form, "current_password"));
        let retyped = if djoser.set_password_retype {
            errors.take("re_new_password", required_text(form, "re_new_password"))
        } else {
            None
        };
        if let Some(current) = &current {
            self.check_current_password(&me.user, current, &mut errors)
                .await?;
        }
        let (Some(password), Some(_)) = (password, current) else {
            return Err(DjoserError::Invalid(errors));
        };
        errors.into_result().map_err(DjoserError::Invalid)?;
        let password = Password::new(password);
        self.judge_new_password(&password, &super::attributes(&me.user), retyped.as_deref())?;
        let change = UserChange {
            password_hash: Some(self.hasher.hash(&password).await?),
            guard: Some(UserGuard::PasswordHash(me.user.password_hash.clone())),
            ..UserChange::default()
        };
        let notify = self.password_changed_notice(&me.user);
        self.store.update(me.user.id, change, notify).await?;
        if djoser.logout_on_password_change {
            self.tokens.revoke_all(me.user.id, None, None).await?;
        }
        Ok(())
    }

    /// `PUT`/`PATCH users/me/` (djoser-api.md §2.3) on `target`: only
    /// `email` is written (`username`, `id` ignored; nothing is required).
    /// A new address under `SEND_ACTIVATION_EMAIL` deactivates the account
    /// and mails the activation link to it.
    pub async fn djoser_update(
        &self,
        target: &User,
        form: &Form,
        site: &Site,
    ) -> Result<User, DjoserError> {
        let email = read_optional_email(form)
            .map_err(|e| DjoserError::Invalid(ValidationErrors::single("email", e)))?;
        if form.get("email").is_none() || email == target.email {
            return Ok(target.clone());
        }
        let djoser = &self.settings.djoser;
        let reactivate = djoser.send_activation_email && email.is_some();
        let change = UserChange {
            email: Some(email),
            verified: reactivate.then_some(false),
            ..UserChange::default()
        };
        let updated = match self.store.update(target.id, change, Vec::new()).await {
            Ok(user) => user,
            Err(StoreError::Conflict(field)) => {
                return Err(DjoserError::Invalid(unique_error(field)));
            }
            Err(other) => return Err(other.into()),
        };
        if reactivate {
            // The link covers the new address, so it is made for the updated user.
            let mail = LinkMail {
                tokens: self.reset_tokens.clone(),
                template: self.djoser_url(site, &djoser.activation_url),
                now: self.clock.now(),
            };
            self.store
                .enqueue(mail.announce(&updated, None).into_iter().collect())
                .await?;
        }
        Ok(updated)
    }

    /// `DELETE users/me/` and `users/{id}/` (djoser-api.md §2.2–2.3):
    /// `current_password` is the caller's, whoever `target` is.
    pub async fn djoser_delete(
        &self,
        caller: &Authenticated,
        target: &User,
        form: &Form,
    ) -> Result<(), DjoserError> {
        let current = required_text(form, "current_password")
            .map_err(|e| DjoserError::Invalid(ValidationErrors::single("current_password", e)))?;
        let mut errors = ValidationErrors::default();
        self.check_current_password(&caller.user, &current, &mut errors)
            .await?;
        errors.into_result().map_err(DjoserError::Invalid)?;
        Ok(self.erase(target.id).await?)
    }

    /// Records djoser's `current_password` error when `current` is not
    /// `user`'s password.
    async fn check_current_password(
        &self,
        user: &User,
        current: &str,
        errors: &mut ValidationErrors,
    ) -> Result<(), DjoserError> {
        if !self.password_matches(user, current).await? {
            errors.add(
                "current_password",
                FieldError::new("invalid_password", "Invalid password."),
            );
        }
        Ok(())
    }

    /// `new_username` (and `re_new_username` when `retype`) as the model
    /// field checks them: unique among every user, the caller included.
    async fn read_new_username(
        &self,
        form: &Form,
        retype: bool,
        errors: &mut ValidationErrors,
    ) -> Result<(Option<Username>, Option<String>), DjoserError> {
        let username = errors.take(
            "new_username",
            required_text(form, "new_username")
                .and_then(|t| Username::parse(&t).map_err(username_error)),
        );
        let retyped = if retype {
            errors.take("re_new_username", required_text(form, "re_new_username"))
        } else {
            None
        };
        if let Some(name) = &username
            && self.username_taken(name).await?
        {
            let taken = unique_error(UniqueField::Username);
            errors.fields.insert(
                "new_username",
                taken.fields.into_values().flatten().collect(),
            );
        }
        Ok((username, retyped))
    }

    /// Sets `user`'s username (and, from a link, the last login), with
    /// djoser's username-changed mail when configured.
    async fn rename(
        &self,
        user: &User,
        username: Username,
        retyped: Option<&str>,
        from_link: bool,
    ) -> Result<(), DjoserError> {
        username_retyped(&username, retyped)?;
        let change = UserChange {
            username: Some(username),
            last_login: from_link.then(|| self.clock.now()),
            guard: Some(UserGuard::PasswordHash(user.password_hash.clone())),
            ..UserChange::default()
        };
        let notify = match &user.email {
            Some(email) if self.settings.djoser.username_changed_email_confirmation => {
                vec![Notification {
                    to: email.as_str().to_owned(),
                    user: user.into(),
                    kind: NotificationKind::UsernameChanged,
                }]
            }
            _ => Vec::new(),
        };
        match self.store.update(user.id, change, notify).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(field)) => Err(DjoserError::Invalid(unique_error(field))),
            Err(other) => Err(other.into()),
        }
    }

    /// `POST users/set_username/` (djoser-api.md §2.9): `new_username`,
    /// `current_password` (and `re_new_username` with `SET_USERNAME_RETYPE`).
    pub async fn djoser_set_username(
        &self,
        me: &Authenticated,
        form: &Form,
    ) -> Result<(), DjoserError> {
        let mut errors = ValidationErrors::default();
        let (username, retyped) = self
            .read_new_username(form, self.settings.djoser.set_username_retype, &mut errors)
            .await?;
        let current = errors.take("current_password", required_text(form, "current_password"));
        if let Some(current) = &current {
            self.check_current_password(&me.user, current, &mut errors)
                .await?;
        }
        let Some(username) = username else {
            return Err(DjoserError::Invalid(errors));
        };
        errors.into_result().map_err(DjoserError::Invalid)?;
        self.rename(&me.user, username, retyped.as_deref(), false)
            .await
    }

    /// `POST users/reset_username/` (djoser-api.md §2.10): as
    /// [`djoser_reset_password`](Self::djoser_reset_password), with the
    /// username reset link.
    pub async fn djoser_reset_username(&self, form: &Form, site: &Site) -> Result<(), DjoserError> {
        let template = &self.settings.djoser.username_reset_confirm_url;
        self.mail_reset_link(form, site, template, |link| {
            NotificationKind::UsernameReset { link }
        })
        .await
    }

    /// The reset endpoints' lookup (djoser-api.md §2.7, §2.10): an active
    /// account with the form's `email` is mailed `kind` with a uid/token
    /// link made from `template`; an unknown address is silent unless
    /// `*_SHOW_EMAIL_NOT_FOUND`.
    async fn mail_reset_link(
        &self,
        form: &Form,
        site: &Site,
        template: &str,
        kind: impl FnOnce(VerificationLink) -> NotificationKind,
    ) -> Result<(), DjoserError> {
        let email = read_email(form)?;
        let Some(user) = self.djoser_user_by_email(&email, true).await? else {
            return if self.settings.djoser.show_email_not_found() {
                Err(DjoserError::EmailNotFound)
            } else {
                Ok(())
            };
        };
        let template = self.djoser_url(site, template);
        let link = uid_token_link(&self.reset_tokens, &template, &user, self.clock.now());
        let notice = Notification {
            to: email.as_str().to_owned(),
            user: (&user).into(),
            kind: kind(link),
        };
        self.store.enqueue(vec![notice]).await?;
        Ok(())
    }

    /// `POST users/reset_username_confirm/` (djoser-api.md §2.11):
    /// `new_username` (and `re_new_username`) are fields; `uid` and `token`
    /// are read only once they pass, so a missing `uid` is an invalid one.
    pub async fn djoser_reset_username_confirm(&self, form: &Form) -> Result<(), DjoserError> {
        let mut errors = ValidationErrors::default();
        let (username, retyped) = self
            .read_new_username(
                form,
                self.settings.djoser.username_reset_confirm_retype,
                &mut errors,
            )
            .await?;
        let Some(username) = username else {
            return Err(DjoserError::Invalid(errors));
        };
        errors.into_result().map_err(DjoserError::Invalid)?;
        // The retype is judged before the link is read, as djoser does.
        username_retyped(&username, retyped.as_deref())?;
        let raw = |name| {
            read_text(form, name, TextRule::OPTIONAL_BLANK)
                .ok()
                .flatten()
        };
        let user = self
            .djoser_link_user(
                &raw("uid").unwrap_or_default(),
                &raw("token").unwrap_or_default(),
            )
            .await?;
        self.rename(&user, username, retyped.as_deref(), true).await
    }

    /// The user `users/{id}/` names, as `caller` may act on it
    /// (djoser-api.md §2.2): an unknown or non-integer id is
    /// [`DjoserError::NotFound`]; another user's object is `NotFound` under
    /// `HIDE_USERS` and `Forbidden` otherwise, and always `Forbidden` to
    /// delete — unless the caller is staff.
    pub async fn djoser_user(
        &self,
        caller: &Authenticated,
        id: &str,
        deleting: bool,
    ) -> Result<User, DjoserError> {
        let id = id.parse::<i64>().map_err(|_| DjoserError::NotFound)?;
        let user = self
            .store
            .get(crate::domain::UserId::new(id))
            .await?
            .ok_or(DjoserError::NotFound)?;
        if user.id == caller.user.id || caller.user.staff {
            return Ok(user);
        }
        if self.settings.djoser.hide_users && !deleting {
            return Err(DjoserError::NotFound);
        }
        Err(DjoserError::Forbidden)
    }

    /// The validators on a new password (`new_password`), then the retype.
    fn judge_new_password(
        &self,
        password: &Password,
        user: &UserAttributes<'_>,
        retyped: Option<&str>,
    ) -> Result<(), DjoserError> {
        let mut errors = ValidationErrors::default();
        policy_errors(&self.policy, password, user, "new_password", &mut errors);
        errors.into_result().map_err(DjoserError::Invalid)?;
        let retype_on = retyped.is_some();
        if retype_on && retyped != Some(password.expose()) {
            return Err(DjoserError::Invalid(password_mismatch()));
        }
        Ok(())
    }

    /// djoser's password-changed mail, when `PASSWORD_CHANGED_EMAIL_CONFIRMATION`.
    fn password_changed_notice(&self, user: &User) -> Vec<Notification> {
        match &user.email {
            Some(email) if self.settings.djoser.password_changed_email_confirmation => {
                vec![Notification {
                    to: email.as_str().to_owned(),
                    user: user.into(),
                    kind: NotificationKind::PasswordChanged,
                }]
            }
            _ => Vec::new(),
        }
    }
}

/// Why an `Authorization: Bearer` token was refused (simplejwt's
/// `JWTAuthentication`).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// Not a good access token.
    #[error("Given token not valid for any token type")]
    Invalid,
    /// A good token of a user who no longer exists.
    #[error("User not found")]
    UserNotFound,
    /// A good token of a user who may not log in.
    #[error("User is inactive")]
    UserInactive,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(feature = "jwt")]
impl Accounts {
    /// `POST jwt/create/` (djoser-api.md §2.14): `username` and `password`
    /// (both required) for a refresh and an access token. The login is not
    /// recorded, so outstanding links survive.
    pub async fn djoser_jwt_create(&self, form: &Form) -> Result<(String, String), DjoserError> {
        let mut errors = ValidationErrors::default();
        let username = errors.take("username", required_text(form, "username"));
        let password = errors.take("password", required_text(form, "password"));
        let (Some(username), Some(password)) = (username, password) else {
            return Err(DjoserError::Invalid(errors));
        };
        let candidates = self
            .store
            .find_by_username(&username, self.settings.matching)
            .await?;
        let user = match self
            .password_login(
                candidates.into_iter().collect(),
                &Password::new(password),
                false,
            )
            .await
        {
            Ok(user) => user,
            Err(LoginError::LoginInvalid) => return Err(DjoserError::NoActiveAccount),
            Err(other) => return Err(other.into()),
        };
        let now = self.clock.now();
        Ok((
            self.jwt.issue(TokenType::Refresh, user.id, now),
            self.jwt.issue(TokenType::Access, user.id, now),
        ))
    }

    /// `POST jwt/refresh/` (djoser-api.md §2.15): a new access token for a
    /// good `refresh` token of an active user (no rotation).
    pub async fn djoser_jwt_refresh(&self, form: &Form) -> Result<String, DjoserError> {
        let refresh = required_text(form, "refresh")
            .map_err(|e| DjoserError::Invalid(ValidationErrors::single("refresh", e)))?;
        match self.refresh_access(&refresh).await? {
            Ok(refreshed) => Ok(refreshed.access),
            Err(RefreshRefused::NotValid) => Err(DjoserError::TokenNotValid),
            Err(RefreshRefused::NoActiveAccount) => Err(DjoserError::NoActiveAccountForToken),
        }
    }

    /// `POST jwt/verify/` (djoser-api.md §2.16): whether `token` is a good
    /// access or refresh token.
    pub fn djoser_jwt_verify(&self, form: &Form) -> Result<(), DjoserError> {
        let token = required_text(form, "token")
            .map_err(|e| DjoserError::Invalid(ValidationErrors::single("token", e)))?;
        if self.jwt_is_good(&token) {
            Ok(())
        } else {
            Err(DjoserError::TokenNotValid)
        }
    }

    /// The caller an `Authorization: Bearer` access token names. Stateless:
    /// the token is good until it expires, whatever happens to credentials.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Authenticated, BearerError> {
        let claims = self
            .jwt
            .check(token, self.clock.now())
            .ok()
            .filter(|c| c.is(TokenType::Access))
            .ok_or(BearerError::Invalid)?;
        let id = claims.user().ok_or(BearerError::Invalid)?;
        let user = self.store.get(id).await?.ok_or(BearerError::UserNotFound)?;
        if !user.can_log_in() {
            return Err(BearerError::UserInactive);
        }
        Ok(Authenticated {
            user,
            kind: crate::ports::CredentialKind::Token,
            credential: crate::ports::AuthToken::new(token.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests;
