//! dj-rest-auth's flows with allauth's registration (restauth-api.md §2):
//! their fields, checks and their order, over the same store, hasher,
//! password policy, credentials and outbox as the other dialects. Addresses
//! live in allauth's address book ([`EmailAddress`]); confirmation keys are
//! allauth's HMAC keys ([`crate::signing::confirmation_key`]) and reset links
//! allauth's base36 uid with Django's token over every address of the user
//! ([`TokenSubject::allauth`]), so links a dj-rest-auth site mailed before
//! the move still work.

use std::sync::Arc;

use time::OffsetDateTime;

use super::Refreshed;
use super::login::NoLogin;
use super::register::{read_optional_email, unique_error, username_error};
use super::{Accounts, Authenticated, Credentials, Issue, LoginError, policy_errors};
use crate::domain::{
    AddressId, Email, EmailAddress, EmailHolding, NewUser, Password, User, UserChange, UserGuard,
    UserId, Username,
};
use crate::form::{FieldError, Form, TextRule, ValidationErrors, read_text, required_text};
use crate::notification::{Notification, NotificationKind, VerificationLink};
use crate::policy::UserAttributes;
use crate::ports::{Announce, CredentialKind, HashError, StoreError, TokenError, UniqueField};
use crate::settings::{EmailVerification, LoginField};
use crate::signing::jwt::{JwtSigner, TokenType};
use crate::signing::reset_token::TokenSubject;
use crate::signing::uid;

/// allauth compares addresses ignoring case, whatever the store's keys.
const CASE_INSENSITIVE: crate::ports::Matching = crate::ports::Matching::CaseInsensitive;

/// Why a dj-rest-auth request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RestAuthError {
    /// Field or object validation failed (`non_field_errors` included).
    #[error("invalid data")]
    Invalid(ValidationErrors),
    /// `registration/verify-email/` with a key that confirms nothing (bad
    /// signature, expired, unknown or already confirmed address).
    #[error("Not found.")]
    KeyNotFound,
    /// `logout/` by a caller who is not logged in, where dj-rest-auth says so
    /// (`SESSION_LOGIN` and `USE_JWT` off, no token).
    #[error("You should be logged in to logout. Check whether the token is passed.")]
    NotLoggedIn,
    /// `token/verify/` or `token/refresh/` with a token that is not good.
    #[error("Token is invalid or expired")]
    TokenNotValid,
    /// `token/refresh/` without a refresh token.
    #[error("No valid refresh token found.")]
    NoRefreshToken,
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

impl From<LoginError> for RestAuthError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::Invalid(errors) => Self::Invalid(errors),
            LoginError::LoginInvalid => Self::Invalid(ValidationErrors::object(
                "invalid_login",
                "Unable to log in with provided credentials.",
            )),
            LoginError::Store(e) => Self::Store(e),
            LoginError::Hash(e) => Self::Hash(e),
            LoginError::Token(e) => Self::Token(e),
        }
    }
}

/// dj-rest-auth's answer to a bad `uid` or `token` on reset confirm.
fn invalid_value(field: &'static str) -> RestAuthError {
    RestAuthError::Invalid(ValidationErrors::single(
        field,
        FieldError::new("invalid", "Invalid value"),
    ))
}

/// simplejwt's access and refresh tokens, with when each expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtPair {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// When the access token expires.
    pub access_expires: OffsetDateTime,
    /// When the refresh token expires.
    pub refresh_expires: OffsetDateTime,
}

/// A started dj-rest-auth login: the DRF token (token mode) or the JWTs
/// (`USE_JWT`), and the session when one was started.
#[derive(Debug, Clone)]
pub struct RestAuthLogin {
    /// The user, the DRF token (token mode) and the session.
    pub credentials: Credentials,
    /// The JWTs, under `USE_JWT`.
    pub jwt: Option<JwtPair>,
}

/// What `registration/` did.
#[derive(Debug, Clone)]
pub enum Registered {
    /// Verification is mandatory: the confirmation mail is queued and no
    /// one is logged in.
    AwaitingConfirmation,
    /// The account may log in at once and was logged in.
    LoggedIn(Box<RestAuthLogin>),
}

/// Queues allauth's confirmation mail for an address-book entry created
/// with its user.
struct ConfirmationMail {
    accounts: Accounts,
}

impl Announce for ConfirmationMail {
    fn announce(&self, user: &User, address: Option<&EmailAddress>) -> Option<Notification> {
        Some(self.accounts.confirmation_notice(user, address?))
    }
}

impl Accounts {
    /// The confirmation mail for `address`, with a key signed now.
    fn confirmation_notice(&self, user: &User, address: &EmailAddress) -> Notification {
        let key = self
            .confirmation_keys
            .make(address.id.get(), self.clock.now());
        Notification {
            to: address.email.as_str().to_owned(),
            user: user.into(),
            kind: NotificationKind::RegisterVerification {
                link: VerificationLink::templated(
                    &self.settings.restauth.confirm_email_url,
                    vec![("key".to_owned(), key)],
                ),
            },
        }
    }

    /// What allauth's reset token covers for `user`: every address it holds.
    async fn allauth_subject(&self, user: &User) -> Result<TokenSubject, StoreError> {
        let addresses = self.store.addresses(user.id).await?;
        Ok(TokenSubject::allauth(
            user,
            addresses
                .into_iter()
                .map(|entry| entry.email.as_str().to_owned()),
        ))
    }

    /// simplejwt's pair for `user`, issued now.
    fn jwt_pair(&self, user: UserId) -> JwtPair {
        let now = self.clock.now();
        JwtPair {
            access: self.jwt.issue(TokenType::Access, user, now),
            refresh: self.jwt.issue(TokenType::Refresh, user, now),
            access_expires: now + JwtSigner::ACCESS_LIFETIME,
            refresh_expires: now + JwtSigner::REFRESH_LIFETIME,
        }
    }

    /// Logs `user` in as dj-rest-auth does: the DRF token or the JWTs, and a
    /// session when `session`.
    async fn restauth_issue(
        &self,
        user: User,
        session: bool,
    ) -> Result<RestAuthLogin, RestAuthError> {
        let use_jwt = self.settings.restauth.use_jwt;
        let jwt = use_jwt.then(|| self.jwt_pair(user.id));
        let issue = Issue::Exactly {
            token: !use_jwt,
            session,
        };
        let credentials = self.issue_credentials(user, issue).await?;
        Ok(RestAuthLogin { credentials, jwt })
    }

    /// `POST login/` (restauth-api.md §2): `username`, `email`, `password`,
    /// the login field picked by `ACCOUNT_LOGIN_METHODS`. With mandatory
    /// verification an unconfirmed account is told so once its password
    /// was right.
    pub async fn restauth_login(&self, form: &Form) -> Result<RestAuthLogin, RestAuthError> {
        let restauth = &self.settings.restauth;
        let mut errors = ValidationErrors::default();
        let username = errors
            .take(
                "username",
                read_text(form, "username", TextRule::OPTIONAL_BLANK),
            )
            .flatten()
            .filter(|t| !t.is_empty());
        let email = errors.take("email", read_optional_email(form)).flatten();
        let password = errors.take("password", required_text(form, "password"));
        let Some(password) = password.filter(|_| errors.is_empty()) else {
            return Err(RestAuthError::Invalid(errors));
        };
        let by_email = restauth.logs_in_by(LoginField::Email);
        let by_username = restauth.logs_in_by(LoginField::Username);
        let candidates = match (email, username) {
            (Some(email), _) if by_email => {
                self.holders_of(email.as_str(), CASE_INSENSITIVE).await?
            }
            (_, Some(name)) if by_username => self
                .store
                .find_by_username(&name, self.settings.matching)
                .await?
                .into_iter()
                .collect(),
            _ => {
                let message = match (by_username, by_email) {
                    (true, true) => {
                        "Must include either \"username\" or \"email\" and \"password\"."
                    }
                    (false, true) => "Must include \"email\" and \"password\".",
                    _ => "Must include \"username\" and \"password\".",
                };
                return Err(RestAuthError::Invalid(ValidationErrors::object(
                    "invalid", message,
                )));
            }
        };
        let session = restauth.session_login;
        let user = match self
            .password_match(candidates, &Password::new(password), session)
            .await?
        {
            Ok(user) => user,
            Err(NoLogin::Unverified) => {
                return Err(RestAuthError::Invalid(ValidationErrors::object(
                    "unverified",
                    "E-mail is not verified.",
                )));
            }
            Err(NoLogin::Invalid) => return Err(LoginError::LoginInvalid.into()),
        };
        self.restauth_issue(user, session).await
    }

    /// `POST logout/`: the user's DRF token goes, whatever authenticated
    /// the request, and the session that made it. JWTs stay valid until
    /// they expire (no blacklist).
    pub async fn restauth_logout(&self, me: Option<&Authenticated>) -> Result<(), RestAuthError> {
        let restauth = &self.settings.restauth;
        let Some(me) = me else {
            if !restauth.session_login && !restauth.use_jwt {
                return Err(RestAuthError::NotLoggedIn);
            }
            return Ok(());
        };
        Ok(self.end_drf_login(me).await?)
    }

    /// `PUT`/`PATCH user/`: `username` (required by PUT), `first_name`,
    /// `last_name`; `pk` and `email` are ignored. allauth refuses any
    /// username an account holds, ignoring case — the caller's own included.
    pub async fn restauth_update(
        &self,
        me: &User,
        form: &Form,
        partial: bool,
    ) -> Result<User, RestAuthError> {
        let mut errors = ValidationErrors::default();
        let rule = if partial {
            TextRule {
                required: false,
                ..TextRule::REQUIRED
            }
        } else {
            TextRule::REQUIRED
        };
        let username = errors
            .take(
                "username",
                read_text(form, "username", rule).and_then(|text| {
                    text.map(|t| Username::parse(&t).map_err(username_error))
                        .transpose()
                }),
            )
            .flatten();
        let names = TextRule::OPTIONAL_BLANK.max(150);
        let first_name = errors
            .take("first_name", read_text(form, "first_name", names))
            .flatten();
        let last_name = errors
            .take("last_name", read_text(form, "last_name", names))
            .flatten();
        if let Some(name) = &username
            && self.username_taken(name).await?
        {
            errors
                .fields
                .extend(unique_error(UniqueField::Username).fields);
        }
        errors.into_result().map_err(RestAuthError::Invalid)?;
        let change = UserChange {
            username,
            first_name,
            last_name,
            ..UserChange::default()
        };
        match self.store.update(me.id, change, Vec::new()).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict(field)) => Err(RestAuthError::Invalid(unique_error(field))),
            Err(other) => Err(other.into()),
        }
    }

    /// `new_password1` and `new_password2` as Django's `SetPasswordForm`
    /// judges them for `user`: every complaint on `new_password2`.
    fn judge_set_password(
        &self,
        password: &Password,
        retyped: &str,
        user: &UserAttributes<'_>,
    ) -> Result<(), RestAuthError> {
        let mut errors = ValidationErrors::default();
        if password.expose() != retyped {
            errors.add(
                "new_password2",
                FieldError::new("password_mismatch", "The two password fields didn't match."),
            );
        } else {
            policy_errors(&self.policy, password, user, "new_password2", &mut errors);
        }
        errors.into_result().map_err(RestAuthError::Invalid)
    }

    /// `POST password/change/`: `new_password1`, `new_password2`, and
    /// `old_password` under `OLD_PASSWORD_FIELD_ENABLED`. Tokens survive;
    /// the caller's session too unless `LOGOUT_ON_PASSWORD_CHANGE`, and
    /// every other session ends (Django's session hash changes).
    pub async fn restauth_change_password(
        &self,
        me: &Authenticated,
        form: &Form,
    ) -> Result<(), RestAuthError> {
        let restauth = &self.settings.restauth;
        let mut errors = ValidationErrors::default();
        if restauth.old_password_field_enabled
            && let Some(old) = errors.take("old_password", required_text(form, "old_password"))
            && !self.password_matches(&me.user, &old).await?
        {
            errors.add(
                "old_password",
                FieldError::new(
                    "invalid",
                    "Your old password was entered incorrectly. Please enter it again.",
                ),
            );
        }
        let password = errors.take("new_password1", required_text(form, "new_password1"));
        let retyped = errors.take("new_password2", required_text(form, "new_password2"));
        let (Some(password), Some(retyped), true) = (password, retyped, errors.is_empty()) else {
            return Err(RestAuthError::Invalid(errors));
        };
        let password = Password::new(password);
        self.judge_set_password(&password, &retyped, &super::attributes(&me.user))?;
        let change = UserChange {
            password_hash: Some(self.hasher.hash(&password).await?),
            guard: Some(UserGuard::PasswordHash(me.user.password_hash.clone())),
            ..UserChange::default()
        };
        self.store.update(me.user.id, change, Vec::new()).await?;
        let keep = (me.kind == CredentialKind::Session && !restauth.logout_on_password_change)
            .then(|| me.credential.clone());
        self.tokens
            .revoke_all(me.user.id, Some(CredentialKind::Session), keep)
            .await?;
        Ok(())
    }

    /// `POST password/reset/`: `email`. Every enabled account holding the
    /// address (on its user row or in its address book, confirmed or not)
    /// is mailed its own link; the answer never tells whether one was.
    pub async fn restauth_reset_password(&self, form: &Form) -> Result<(), RestAuthError> {
        let email = read_email(form)?;
        let mut notices = Vec::new();
        for user in self.holders_of(email.as_str(), CASE_INSENSITIVE).await? {
            if !user.active {
                continue;
            }
            let subject = self.allauth_subject(&user).await?;
            let token = self.reset_tokens.make(&subject, self.clock.now());
            let link = VerificationLink::templated(
                &self.settings.restauth.reset_url,
                vec![
                    ("uid".to_owned(), uid::to_base36(user.id)),
                    ("token".to_owned(), token),
                ],
            );
            let to = user.email.as_ref().unwrap_or(&email).as_str().to_owned();
            notices.push(Notification {
                to,
                user: (&user).into(),
                kind: NotificationKind::ResetPassword { link },
            });
        }
        if !notices.is_empty() {
            self.store.enqueue(notices).await?;
        }
        Ok(())
    }

    /// `POST password/reset/confirm/`: `new_password1`, `new_password2`,
    /// `uid`, `token`; the uid first, then the token, then the password.
    /// Success sets the password, which ends the link; sessions end, the
    /// DRF token stays.
    pub async fn restauth_reset_password_confirm(&self, form: &Form) -> Result<(), RestAuthError> {
        let mut errors = ValidationErrors::default();
        let password = errors.take("new_password1", required_text(form, "new_password1"));
        let retyped = errors.take("new_password2", required_text(form, "new_password2"));
        let uid_text = errors.take("uid", required_text(form, "uid"));
        let token = errors.take("token", required_text(form, "token"));
        let (Some(password), Some(retyped), Some(uid_text), Some(token)) =
            (password, retyped, uid_text, token)
        else {
            return Err(RestAuthError::Invalid(errors));
        };
        let user = match uid::from_base36(&uid_text) {
            Some(id) => self.store.get(id).await?,
            None => None,
        };
        let Some(user) = user else {
            return Err(invalid_value("uid"));
        };
        let subject = self.allauth_subject(&user).await?;
        self.reset_tokens
            .check(
                &subject,
                &token,
                self.clock.now(),
                self.settings.password_reset_timeout,
            )
            .map_err(|_| invalid_value("token"))?;
        let password = Password::new(password);
        self.judge_set_password(&password, &retyped, &super::attributes(&user))?;
        let change = UserChange {
            password_hash: Some(self.hasher.hash(&password).await?),
            guard: Some(UserGuard::PasswordHash(user.password_hash.clone())),
            ..UserChange::default()
        };
        match self.store.update(user.id, change, Vec::new()).await {
            Ok(_) => {}
            // Another request used the link first.
            Err(StoreError::GuardFailed) => return Err(invalid_value("token")),
            Err(other) => return Err(other.into()),
        }
        self.tokens
            .revoke_all(user.id, Some(CredentialKind::Session), None)
            .await?;
        Ok(())
    }

    /// Whether another account has confirmed `email` (allauth's
    /// `UNIQUE_EMAIL` check: unconfirmed holders do not count).
    async fn email_confirmed_elsewhere(&self, email: &Email) -> Result<bool, StoreError> {
        let matching = crate::ports::Matching::CaseInsensitive;
        let entries = self
            .store
            .addresses_matching(email.as_str(), matching)
            .await?;
        if entries.iter().any(|entry| entry.verified) {
            return Ok(true);
        }
        // An account made outside the address book holds it on its row.
        Ok(self
            .store
            .find_by_email(email.as_str(), CASE_INSENSITIVE)
            .await?
            .is_some())
    }

    /// `POST registration/`: `username`, `email`, `password1`, `password2`
    /// (as `ACCOUNT_SIGNUP_FIELDS` asks). The validators that need no user
    /// judge `password1`; the retype and the similarity check come after
    /// every field passed, as `non_field_errors`.
    pub async fn restauth_register(&self, form: &Form) -> Result<Registered, RestAuthError> {
        let restauth = &self.settings.restauth;
        let fields = restauth.signup_fields;
        let mut errors = ValidationErrors::default();
        let username = errors.take(
            "username",
            required_text(form, "username")
                .and_then(|t| Username::parse(&t).map_err(username_error)),
        );
        if let Some(name) = &username
            && self.username_taken(name).await?
        {
            errors
                .fields
                .extend(unique_error(UniqueField::Username).fields);
        }
        let email = if fields.email_required {
            errors.take("email", crate::form::read_email(form, "email"))
        } else {
            errors.take("email", read_optional_email(form)).flatten()
        };
        // allauth stores addresses lower-cased.
        let email = email.and_then(|e| Email::parse(&e.as_str().to_lowercase()).ok());
        if let Some(address) = &email
            && restauth.unique_email
            && self.email_confirmed_elsewhere(address).await?
        {
            errors.add(
                "email",
                FieldError::new(
                    "unique",
                    "A user is already registered with this e-mail address.",
                ),
            );
        }
        let password = errors.take("password1", required_text(form, "password1"));
        if let Some(password) = &password {
            let password = Password::new(password.clone());
            policy_errors(
                &self.policy,
                &password,
                &UserAttributes::default(),
                "password1",
                &mut errors,
            );
        }
        let retyped = if fields.password2 {
            errors.take("password2", required_text(form, "password2"))
        } else {
            None
        };
        let (Some(username), Some(password), true) = (username, password, errors.is_empty()) else {
            return Err(RestAuthError::Invalid(errors));
        };
        if fields.password2 && retyped.as_deref() != Some(password.as_str()) {
            return Err(RestAuthError::Invalid(ValidationErrors::object(
                "password_mismatch",
                "The two password fields didn't match.",
            )));
        }
        let password = Password::new(password);
        let mut similar = ValidationErrors::default();
        let attributes = UserAttributes {
            username: username.as_str(),
            first_name: "",
            last_name: "",
            email: email.as_ref().map(Email::as_str).unwrap_or_default(),
        };
        for violation in self.policy.check(&password, &attributes) {
            similar
                .non_field
                .get_or_insert_with(Vec::new)
                .push(FieldError::new(violation.code, violation.message));
        }
        similar.into_result().map_err(RestAuthError::Invalid)?;

        let mandatory = restauth.email_verification == EmailVerification::Mandatory;
        let holding = if email.is_some() {
            EmailHolding::Book { verified: false }
        } else {
            EmailHolding::Unique
        };
        let new_user = NewUser {
            username,
            email,
            first_name: String::new(),
            last_name: String::new(),
            password_hash: self.hasher.hash(&password).await?,
            verified: !mandatory,
            date_joined: self.clock.now(),
            staff: false,
            holding,
        };
        let announce: Option<Arc<dyn Announce>> =
            (restauth.email_verification != EmailVerification::None).then(|| {
                Arc::new(ConfirmationMail {
                    accounts: self.clone(),
                }) as Arc<dyn Announce>
            });
        let user = match self.store.create(new_user, announce).await {
            Ok(user) => user,
            Err(StoreError::Conflict(field)) => {
                return Err(RestAuthError::Invalid(unique_error(field)));
            }
            Err(other) => return Err(other.into()),
        };
        if mandatory {
            return Ok(Registered::AwaitingConfirmation);
        }
        // allauth's signup logs the new account in (a session), and
        // dj-rest-auth answers its token or JWTs.
        Ok(Registered::LoggedIn(Box::new(
            self.restauth_issue(user, true).await?,
        )))
    }

    /// `POST registration/verify-email/`: `key`. A good key of an address
    /// not confirmed yet confirms it (and makes it primary); anything else
    /// is [`RestAuthError::KeyNotFound`], so a key works once and every key
    /// of an address dies when one is used.
    pub async fn restauth_verify_email(&self, form: &Form) -> Result<(), RestAuthError> {
        let key = required_text(form, "key")
            .map_err(|e| RestAuthError::Invalid(ValidationErrors::single("key", e)))?;
        let days = self.settings.restauth.email_confirmation_expire_days;
        let id = self
            .confirmation_keys
            .open(&key, self.clock.now(), time::Duration::days(days))
            .map_err(|_| RestAuthError::KeyNotFound)?;
        match self
            .store
            .confirm_address(AddressId::new(id), Vec::new())
            .await
        {
            Ok(_) => Ok(()),
            // Confirmed already, gone, or confirmed by another account first.
            Err(StoreError::GuardFailed | StoreError::NotFound | StoreError::Conflict(_)) => {
                Err(RestAuthError::KeyNotFound)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// `POST registration/resend-email/`: `email`. The first unconfirmed
    /// entry with the address is mailed a new key (earlier keys stay good);
    /// the answer is the same either way.
    pub async fn restauth_resend_email(&self, form: &Form) -> Result<(), RestAuthError> {
        let email = read_email(form)?;
        let entries = self
            .store
            .addresses_matching(email.as_str(), CASE_INSENSITIVE)
            .await?;
        let Some(entry) = entries.into_iter().find(|entry| !entry.verified) else {
            return Ok(());
        };
        if let Some(user) = self.store.get(entry.user).await? {
            let notice = self.confirmation_notice(&user, &entry);
            self.store.enqueue(vec![notice]).await?;
        }
        Ok(())
    }

    /// `POST token/verify/`: `token`, a good access or refresh JWT.
    pub fn restauth_token_verify(&self, form: &Form) -> Result<(), RestAuthError> {
        let token = required_text(form, "token")
            .map_err(|e| RestAuthError::Invalid(ValidationErrors::single("token", e)))?;
        if self.jwt_is_good(&token) {
            Ok(())
        } else {
            Err(RestAuthError::TokenNotValid)
        }
    }

    /// `POST token/refresh/`: a new access token for the refresh JWT
    /// `refresh` (from the body, or the refresh cookie the caller read).
    pub async fn restauth_token_refresh(
        &self,
        refresh: Option<&str>,
    ) -> Result<Refreshed, RestAuthError> {
        let refresh = refresh
            .filter(|r| !r.is_empty())
            .ok_or(RestAuthError::NoRefreshToken)?;
        // dj-rest-auth answers a gone or disabled user like a bad token.
        self.refresh_access(refresh)
            .await?
            .map_err(|_| RestAuthError::TokenNotValid)
    }
}

/// A required, valid `email` field, as the request's only field.
fn read_email(form: &Form) -> Result<Email, RestAuthError> {
    crate::form::read_email(form, "email")
        .map_err(|e| RestAuthError::Invalid(ValidationErrors::single("email", e)))
}

#[cfg(test)]
mod tests;
