//! `profile/`: read and update the caller's own profile.

use super::register::username_error;
use super::{Accounts, Authenticated};
use crate::domain::{User, UserChange, Username};
use crate::form::{FieldError, Form, TextRule, ValidationErrors, read_text, required_text};
use crate::ports::{StoreError, UniqueField};
use crate::settings::UserField;

/// Full (PUT/POST) or partial (PATCH) update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileUpdate {
    /// `username` required; absent names stay as they are.
    Full,
    /// Any subset of the editable fields.
    Partial,
}

/// Why a profile update failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Field validation failed.
    #[error("invalid profile data")]
    Invalid(ValidationErrors),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ProfileError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(UniqueField::Username) => Self::Invalid(taken()),
            other => Self::Store(other),
        }
    }
}

fn taken() -> ValidationErrors {
    ValidationErrors::single(
        "username",
        FieldError::new("unique", "A user with that username already exists."),
    )
}

impl Accounts {
    /// Updates `username`, `first_name`, `last_name` (drr-api.md §2.5).
    /// Read-only and unknown fields (`id`, `email`, `password`, …) are ignored.
    pub async fn update_profile(
        &self,
        caller: &Authenticated,
        form: &Form,
        mode: ProfileUpdate,
    ) -> Result<User, ProfileError> {
        let mut errors = ValidationErrors::default();
        let fields = &self.settings.user_fields;
        let username = match (mode, form.get("username")) {
            // Read-only fields are ignored, as DRR ignores them.
            _ if !fields.edits(UserField::Username) => None,
            (ProfileUpdate::Partial, None) => None,
            _ => errors.take(
                "username",
                required_text(form, "username")
                    .and_then(|t| Username::parse(&t).map_err(username_error)),
            ),
        };
        let name_rule = TextRule::OPTIONAL_BLANK.max(150);
        let mut name = |field: UserField| {
            if !fields.edits(field) {
                return None;
            }
            errors
                .take(field.name(), read_text(form, field.name(), name_rule))
                .flatten()
        };
        let first_name = name(UserField::FirstName);
        let last_name = name(UserField::LastName);

        let me = &caller.user;
        let renamed = username.filter(|name| name != &me.username);
        if let Some(name) = &renamed
            && let Some(holder) = self
                .store
                .find_by_username(name.as_str(), self.settings.matching)
                .await?
            && holder.id != me.id
        {
            errors.fields.extend(taken().fields);
        }
        errors.into_result().map_err(ProfileError::Invalid)?;

        if renamed.is_none() && first_name.is_none() && last_name.is_none() {
            return Ok(me.clone());
        }
        let change = UserChange {
            username: renamed,
            first_name,
            last_name,
            ..UserChange::default()
        };
        Ok(self.store.update(me.id, change, Vec::new()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testkit::*;
    use crate::ports::CredentialKind;

    fn caller() -> Authenticated {
        Authenticated {
            user: user(1, "ann"),
            kind: CredentialKind::Token,
            credential: token("t"),
        }
    }

    #[test]
    fn profile_full_update_requires_username() {
        let kit = Kit::new();
        let Err(ProfileError::Invalid(errors)) = block_on(kit.accounts().update_profile(
            &caller(),
            &Form::new(),
            ProfileUpdate::Full,
        )) else {
            panic!("expected invalid")
        };
        assert_eq!(errors.fields["username"][0].code, "required");
    }

    #[test]
    fn profile_partial_empty_update_is_a_no_op() {
        let mut kit = Kit::new();
        kit.store.expect_update().never();
        let me = block_on(kit.accounts().update_profile(
            &caller(),
            &Form::new(),
            ProfileUpdate::Partial,
        ))
        .unwrap();
        assert_eq!(me.id, uid(1));
    }

    #[test]
    fn profile_update_ignores_read_only_fields_and_renames() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store
            .expect_update()
            .withf(|_, change, _| {
                change.username.as_ref().map(Username::as_str) == Some("anna")
                    && change.first_name.as_deref() == Some("Ann")
                    && change.email.is_none()
                    && change.password_hash.is_none()
            })
            .returning(|_, _, _| Ok(user(1, "anna")));
        let form = Form::new()
            .text("username", "anna")
            .text("first_name", "Ann")
            .text("email", "evil@example.org")
            .text("id", "99")
            .text("password", "x");
        let me = block_on(
            kit.accounts()
                .update_profile(&caller(), &form, ProfileUpdate::Partial),
        )
        .unwrap();
        assert_eq!(me.username.as_str(), "anna");
    }

    #[test]
    fn profile_username_taken_by_another_user_and_by_a_racing_write() {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(Some(user(2, "bob"))));
        let form = Form::new().text("username", "bob");
        let Err(ProfileError::Invalid(errors)) = block_on(kit.accounts().update_profile(
            &caller(),
            &form,
            ProfileUpdate::Partial,
        )) else {
            panic!("expected invalid")
        };
        assert_eq!(errors.fields["username"][0].code, "unique");

        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store
            .expect_update()
            .returning(|_, _, _| Err(StoreError::Conflict(UniqueField::Username)));
        assert!(matches!(
            block_on(
                kit.accounts()
                    .update_profile(&caller(), &form, ProfileUpdate::Partial)
            ),
            Err(ProfileError::Invalid(_))
        ));
    }

    #[test]
    fn profile_keeping_own_name_passes_and_bad_values_fail() {
        let mut kit = Kit::new();
        kit.store.expect_find_by_username().never();
        kit.store
            .expect_update()
            .returning(|_, _, _| Ok(user(1, "ann")));
        let form = Form::new().text("username", "ann").text("last_name", "Lee");
        assert!(
            block_on(
                kit.accounts()
                    .update_profile(&caller(), &form, ProfileUpdate::Full)
            )
            .is_ok()
        );

        let kit = Kit::new();
        let form = Form::new()
            .text("username", "bad name")
            .with("first_name", crate::form::RawValue::Null);
        let Err(ProfileError::Invalid(errors)) = block_on(kit.accounts().update_profile(
            &caller(),
            &form,
            ProfileUpdate::Partial,
        )) else {
            panic!("expected invalid")
        };
        assert_eq!(
            errors.fields.keys().copied().collect::<Vec<_>>(),
            ["first_name", "username"]
        );
    }

    #[test]
    fn profile_store_failure_is_reported() {
        let mut kit = Kit::new();
        kit.store.expect_update().returning(|_, _, _| Err(down()));
        let form = Form::new().text("first_name", "Ann");
        assert!(matches!(
            block_on(
                kit.accounts()
                    .update_profile(&caller(), &form, ProfileUpdate::Partial)
            ),
            Err(ProfileError::Store(_))
        ));
    }
}
