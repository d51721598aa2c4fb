//! `credentials/` (beyond DRR): the caller lists their live tokens and
//! sessions and revokes one, or all but the one in use, after proving the
//! password again.

use super::{Accounts, Authenticated};
use crate::credentials::{credential_id, digest};
use crate::domain::Password;
use crate::form::{
    FieldError, Form, TextRule, ValidationErrors, read_bool, read_text, required_text,
};
use crate::ports::{CredentialInfo, HashError, TokenError, Verification};

/// Why a revocation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RevokeCredentialsError {
    /// Missing or wrong password, or neither/both of `id` and `all`.
    #[error("invalid revocation")]
    Invalid(ValidationErrors),
    /// The caller has no live credential with this id.
    #[error("no such credential")]
    NotFound,
    /// Hashing failed; nothing was revoked.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The credential store failed; nothing or only part was revoked.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// One of the caller's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialView {
    /// What the store knows of it.
    pub info: CredentialInfo,
    /// Whether it is the credential that made this request.
    pub current: bool,
}

impl Accounts {
    /// The caller's live tokens and sessions.
    pub async fn credentials(
        &self,
        caller: &Authenticated,
    ) -> Result<Vec<CredentialView>, TokenError> {
        let mine = credential_id(&digest(&caller.credential));
        Ok(self
            .tokens
            .list(caller.user.id)
            .await?
            .into_iter()
            .map(|info| CredentialView {
                current: info.id == mine && info.kind == caller.kind,
                info,
            })
            .collect())
    }

    /// Revokes the credential `id` names, or with `all` every credential but
    /// the caller's; `password` must be the caller's. Returns how many were
    /// revoked.
    pub async fn revoke_credentials(
        &self,
        caller: &Authenticated,
        form: &Form,
    ) -> Result<u64, RevokeCredentialsError> {
        let mut errors = ValidationErrors::default();
        let password = errors.take("password", required_text(form, "password"));
        let id = errors
            .take("id", read_text(form, "id", TextRule::OPTIONAL_BLANK))
            .flatten()
            .filter(|id| !id.is_empty());
        let all = errors.take("all", read_bool(form, "all")).unwrap_or(false);
        if errors.is_empty() && id.is_some() == all {
            errors.non_field = Some(vec![FieldError::new(
                "invalid",
                "Give either the id of one credential or \"all\": true.",
            )]);
        }
        errors
            .into_result()
            .map_err(RevokeCredentialsError::Invalid)?;
        let Some(password) = password else {
            return Err(RevokeCredentialsError::Invalid(ValidationErrors::default()));
        };
        self.reauthenticate(caller, password).await?.map_err(|e| {
            RevokeCredentialsError::Invalid(ValidationErrors::single("password", e))
        })?;

        match id {
            Some(id) => {
                if self.tokens.revoke_id(caller.user.id, &id).await? {
                    Ok(1)
                } else {
                    Err(RevokeCredentialsError::NotFound)
                }
            }
            None => Ok(self
                .tokens
                .revoke_all(caller.user.id, None, Some(caller.credential.clone()))
                .await?),
        }
    }

    /// Checks `password` against the caller's: the outer error is a failure
    /// to check, the inner one a wrong password.
    pub(super) async fn reauthenticate(
        &self,
        caller: &Authenticated,
        password: String,
    ) -> Result<Result<(), FieldError>, HashError> {
        let verification = self
            .hasher
            .verify(&Password::new(password), &caller.user.password_hash)
            .await?;
        Ok(match verification {
            Verification::Match { .. } => Ok(()),
            Verification::Mismatch => {
                Err(FieldError::new("invalid", "The password is not correct."))
            }
        })
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
            credential: token("mine"),
        }
    }

    fn info(secret: &str, kind: CredentialKind) -> CredentialInfo {
        CredentialInfo {
            id: credential_id(&digest(&token(secret))),
            kind,
            created_at: None,
        }
    }

    fn password_is(kit: &mut Kit, right: bool) {
        kit.hasher.expect_verify().returning(move |_, _| {
            Ok(if right {
                Verification::Match {
                    needs_rehash: false,
                }
            } else {
                Verification::Mismatch
            })
        });
    }

    #[test]
    fn credentials_marks_the_one_in_use() {
        let mut kit = Kit::new();
        kit.tokens.expect_list().returning(|_| {
            Ok(vec![
                info("mine", CredentialKind::Token),
                info("other", CredentialKind::Session),
            ])
        });
        let listed = block_on(kit.accounts().credentials(&caller())).unwrap();
        assert_eq!(
            listed.iter().map(|c| c.current).collect::<Vec<_>>(),
            [true, false]
        );
    }

    #[test]
    fn revoke_one_by_id_after_the_password() {
        let mut kit = Kit::new();
        password_is(&mut kit, true);
        kit.tokens
            .expect_revoke_id()
            .withf(|user, id| *user == uid(1) && id == "abc")
            .times(1)
            .returning(|_, _| Ok(true));
        let form = Form::new().text("password", "pw").text("id", "abc");
        assert_eq!(
            block_on(kit.accounts().revoke_credentials(&caller(), &form)).unwrap(),
            1
        );
    }

    #[test]
    fn revoke_all_keeps_the_callers_credential() {
        let mut kit = Kit::new();
        password_is(&mut kit, true);
        kit.tokens
            .expect_revoke_all()
            .withf(|user, kind, keep| {
                *user == uid(1) && kind.is_none() && keep.as_ref() == Some(&token("mine"))
            })
            .returning(|_, _, _| Ok(3));
        let form = Form::new()
            .text("password", "pw")
            .with("all", crate::form::RawValue::Bool(true));
        assert_eq!(
            block_on(kit.accounts().revoke_credentials(&caller(), &form)).unwrap(),
            3
        );
    }

    #[test]
    fn revoke_refuses_a_wrong_password_an_unknown_id_and_an_ambiguous_request() {
        let mut kit = Kit::new();
        password_is(&mut kit, false);
        kit.tokens.expect_revoke_id().never();
        let form = Form::new().text("password", "bad").text("id", "abc");
        let Err(RevokeCredentialsError::Invalid(errors)) =
            block_on(kit.accounts().revoke_credentials(&caller(), &form))
        else {
            panic!("expected a password error")
        };
        assert!(errors.fields.contains_key("password"));

        let mut kit = Kit::new();
        password_is(&mut kit, true);
        kit.tokens.expect_revoke_id().returning(|_, _| Ok(false));
        let form = Form::new().text("password", "pw").text("id", "gone");
        assert!(matches!(
            block_on(kit.accounts().revoke_credentials(&caller(), &form)),
            Err(RevokeCredentialsError::NotFound)
        ));

        let kit = Kit::new();
        let form = Form::new().text("password", "pw");
        let Err(RevokeCredentialsError::Invalid(errors)) =
            block_on(kit.accounts().revoke_credentials(&caller(), &form))
        else {
            panic!("expected invalid")
        };
        assert!(errors.non_field.is_some_and(|e| !e.is_empty()));
    }
}
