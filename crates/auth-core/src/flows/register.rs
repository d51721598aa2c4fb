//! `register/`: create an inactive account and mail its verification link.

use std::sync::Arc;

use super::{Accounts, passwords_do_not_match, policy_errors, sign_link};
use crate::domain::{Email, EmailAddress, NewUser, Password, User, Username, UsernameError};
use crate::form::{
    FieldError, Form, RawValue, TextRule, ValidationErrors, email_error, max_length, read_text,
    required_text, required_text_max,
};
use crate::notification::{Notification, NotificationKind};
use crate::policy::UserAttributes;
use crate::ports::{Announce, HashError, StoreError, UniqueField};
use crate::settings::{LoginField, UserField};
use crate::signing::{LinkSigner, Salt};

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// `REGISTER_FLOW_ENABLED` is off.
    #[error("registration is turned off")]
    Disabled,
    /// Field or object validation failed.
    #[error("invalid registration data")]
    Invalid(ValidationErrors),
    /// Verification is on but no address was given.
    #[error("User without email cannot be verified")]
    UserWithoutEmail,
    /// The store failed; nothing was created.
    #[error(transparent)]
    Store(StoreError),
    /// Hashing failed; nothing was created.
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<StoreError> for RegisterError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(field) => Self::Invalid(unique_error(field)),
            other => Self::Store(other),
        }
    }
}

pub(super) fn unique_error(field: UniqueField) -> ValidationErrors {
    match field {
        UniqueField::Username => ValidationErrors::single(
            "username",
            FieldError::new("unique", "A user with that username already exists."),
        ),
        UniqueField::Email => ValidationErrors::single(
            "email",
            FieldError::new("unique", "user with this email address already exists."),
        ),
    }
}

pub(crate) fn username_error(error: UsernameError) -> FieldError {
    match error {
        UsernameError::Invalid => FieldError::new("invalid", error.to_string()),
        UsernameError::TooLong { max } => max_length(max),
    }
}

/// Queues the verification mail with the new user, in the same transaction.
struct VerificationMail {
    signer: Arc<LinkSigner>,
    base_url: String,
    one_time: bool,
    timestamp: i64,
}

impl Announce for VerificationMail {
    fn announce(&self, user: &User, _: Option<&EmailAddress>) -> Option<Notification> {
        let email = user.email.as_ref()?;
        let salt = if self.one_time {
            Salt::register_one_time(user.verified)
        } else {
            Salt::register()
        };
        let link = sign_link(
            &self.signer,
            &self.base_url,
            &salt,
            user.id,
            None,
            self.timestamp,
        );
        Some(Notification {
            to: email.as_str().to_owned(),
            user: user.into(),
            kind: NotificationKind::RegisterVerification { link },
        })
    }
}

impl Accounts {
    /// Registers a user from `username`, `password`, [`password_confirm`],
    /// [`email`], [`first_name`], [`last_name`] (drr-api.md §2.1).
    ///
    /// With verification on, the user starts unverified and the verification
    /// mail is queued atomically with the new row.
    ///
    /// With `fail_when_email_taken` off (and verification on), an address
    /// that already has an account is not an error: the password is still
    /// hashed (same cost), nothing is created, the owner is mailed an
    /// "account exists" notice, and the answer is [`Registration::Pretended`].
    pub async fn register(&self, form: &Form) -> Result<Registration, RegisterError> {
        let settings = &self.settings.register;
        if !settings.enabled {
            return Err(RegisterError::Disabled);
        }

        // Field-level validation: every field, all errors together.
        let mut errors = ValidationErrors::default();
        // E-mail-only sign-up: when the username is no login field, it is
        // optional, and an account registered without one gets a random one.
        let email_only = !self.settings.login_fields.contains(&LoginField::Username);
        let username = match text_or_blank(form, "username") {
            None if email_only => {
                errors.take("username", generated_username().map_err(username_error))
            }
            _ => errors.take(
                "username",
                required_text(form, "username")
                    .and_then(|t| Username::parse(&t).map_err(username_error)),
            ),
        };
        let password = errors.take(
            "password",
            required_text_max(form, "password", settings.password_max_length),
        );
        let confirm = if settings.password_confirm {
            errors.take("password_confirm", required_text(form, "password_confirm"))
        } else {
            None
        };
        let email = errors
            .take("email", read_optional_email(form))
            .flatten()
            .map(|e| e.with_lowercase_domain());
        if email_only && email.is_none() && !errors.fields.contains_key("email") {
            errors.add(
                "email",
                FieldError::new("required", "This field is required."),
            );
        }
        // A hidden name is not taken at registration either.
        let shown = &self.settings.user_fields;
        let mut name = |field: UserField| {
            if shown.shows(field) {
                errors.take(
                    field.name(),
                    read_text(form, field.name(), TextRule::OPTIONAL_BLANK.max(150)),
                )
            } else {
                Some(None)
            }
        };
        let first_name = name(UserField::FirstName);
        let last_name = name(UserField::LastName);

        if let Some(name) = &username
            && self.username_taken(name).await?
        {
            errors
                .fields
                .extend(unique_error(UniqueField::Username).fields);
        }
        let hide_taken = !settings.fail_when_email_taken && settings.verification_enabled;
        let mut owner = None;
        if let Some(email) = &email {
            owner = self
                .store
                .find_by_email(email.as_str(), self.settings.matching)
                .await?;
            if owner.is_some() && !hide_taken {
                errors
                    .fields
                    .extend(unique_error(UniqueField::Email).fields);
            }
        }
        let (Some(username), Some(password), Some(first_name), Some(last_name)) =
            (username, password, first_name, last_name)
        else {
            return Err(RegisterError::Invalid(errors));
        };
        errors.into_result().map_err(RegisterError::Invalid)?;

        // Object-level validation: policy against the provisional user, then confirmation.
        let first_name = first_name.unwrap_or_default();
        let last_name = last_name.unwrap_or_default();
        let password = Password::new(password);
        let mut errors = ValidationErrors::default();
        let provisional = UserAttributes {
            username: username.as_str(),
            first_name: &first_name,
            last_name: &last_name,
            email: email.as_ref().map(Email::as_str).unwrap_or_default(),
        };
        policy_errors(
            &self.policy,
            &password,
            &provisional,
            "password",
            &mut errors,
        );
        if settings.password_confirm && confirm.as_deref() != Some(password.expose()) {
            errors.add("password_confirm", passwords_do_not_match());
        }
        if !errors.is_empty() {
            errors.non_field = Some(Vec::new());
            return Err(RegisterError::Invalid(errors));
        }

        if settings.verification_enabled && email.is_none() {
            return Err(RegisterError::UserWithoutEmail);
        }

        let password_hash = self.hasher.hash(&password).await?;
        let profile = RegisteredProfile {
            username: username.clone(),
            email: email.clone(),
            first_name: first_name.clone(),
            last_name: last_name.clone(),
        };
        if let (Some(owner), Some(address)) = (&owner, &email) {
            self.tell_owner(owner, address).await?;
            return Ok(Registration::Pretended(profile));
        }
        let new_user = NewUser {
            username,
            email: email.clone(),
            first_name,
            last_name,
            password_hash,
            verified: !settings.verification_enabled,
            date_joined: self.clock.now(),
            staff: false,
            holding: crate::domain::EmailHolding::Unique,
        };
        let announce: Option<Arc<dyn Announce>> = settings.verification_enabled.then(|| {
            Arc::new(VerificationMail {
                signer: self.signer.clone(),
                base_url: settings.verification_url.clone(),
                one_time: settings.one_time_use,
                timestamp: self.now_timestamp(),
            }) as Arc<dyn Announce>
        });
        match self.store.create(new_user, announce).await {
            Ok(user) => Ok(Registration::Created(user)),
            // Lost a race for the address: the same answer as above.
            Err(StoreError::Conflict(UniqueField::Email)) if hide_taken => {
                if let Some(address) = &email
                    && let Some(owner) = self
                        .store
                        .find_by_email(address.as_str(), self.settings.matching)
                        .await?
                {
                    self.tell_owner(&owner, address).await?;
                }
                Ok(Registration::Pretended(profile))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Mails the owner of `address` that someone registered with it.
    async fn tell_owner(&self, owner: &User, address: &Email) -> Result<(), StoreError> {
        let notice = Notification {
            to: address.as_str().to_owned(),
            user: owner.into(),
            kind: NotificationKind::AccountExists {
                email: address.as_str().to_owned(),
            },
        };
        self.store.enqueue(vec![notice]).await
    }
}

/// The outcome of a registration that was not refused.
#[derive(Debug, Clone)]
pub enum Registration {
    /// A new account.
    Created(User),
    /// The address already has an account: nothing was created and its
    /// owner was mailed; the caller must get the same answer as for
    /// [`Registration::Created`].
    Pretended(RegisteredProfile),
}

/// What a registration answer may show about the account without revealing
/// whether it is new: the submitted, normalised fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredProfile {
    /// Login name.
    pub username: Username,
    /// Address.
    pub email: Option<Email>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
}

impl Registration {
    /// The public fields, alike in both outcomes.
    pub fn profile(&self) -> RegisteredProfile {
        match self {
            Self::Created(user) => RegisteredProfile {
                username: user.username.clone(),
                email: user.email.clone(),
                first_name: user.first_name.clone(),
                last_name: user.last_name.clone(),
            },
            Self::Pretended(profile) => profile.clone(),
        }
    }

    /// The new account, if one was created.
    pub fn created(&self) -> Option<&User> {
        match self {
            Self::Created(user) => Some(user),
            Self::Pretended(_) => None,
        }
    }
}

/// An optional, blankable e-mail field: `None` when absent or blank.
pub(super) fn read_optional_email(form: &Form) -> Result<Option<Email>, FieldError> {
    match read_text(form, "email", TextRule::OPTIONAL_BLANK)? {
        Some(text) if !text.is_empty() => Email::parse(&text).map(Some).map_err(email_error),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests;

/// A submitted text that is not blank, or `None`.
fn text_or_blank(form: &Form, name: &str) -> Option<String> {
    match form.get(name) {
        Some(RawValue::Text(text)) if !crate::form::strip(text).is_empty() => Some(text.clone()),
        Some(RawValue::Text(_)) | None => None,
        // Anything else (a number, a list) is validated as the field.
        Some(_) => Some(String::new()),
    }
}

/// A username for an account registered with its address only: `user_`
/// and 12 random lower-case letters and digits, never shown as a login.
fn generated_username() -> Result<Username, UsernameError> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 12];
    rand::fill(&mut bytes[..]);
    let tail: String = bytes
        .iter()
        .map(|b| char::from(CHARS[usize::from(*b) % CHARS.len()]))
        .collect();
    Username::parse(&format!("user_{tail}"))
}
