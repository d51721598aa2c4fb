use super::*;
use crate::domain::{Email, User};
use crate::flows::testkit::*;
use crate::ports::CredentialKind;

/// The safe profile without the password check, which has its own test.
fn no_password_check() -> Kit {
    let mut kit = Kit::new();
    kit.settings.register_email.requires_password = false;
    kit
}

fn caller() -> Authenticated {
    Authenticated {
        user: user(1, "ann"),
        kind: CredentialKind::Token,
        credential: token("t"),
    }
}

#[test]
fn register_email_records_the_pending_change_with_its_link_atomically() {
    let mut kit = no_password_check();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_update()
        .withf(|id, change, mails| {
            let [mail] = mails.as_slice() else {
                return false;
            };
            *id == uid(1)
                && change.pending_email == Some(Some(Email::parse("New@Example.org").unwrap()))
                && change.email.is_none()
                && mail.to == "New@Example.org"
                && matches!(&mail.kind, NotificationKind::RegisterEmailVerification { link, .. }
                    if link.param("email") == Some("New@Example.org"))
        })
        .times(1)
        .returning(|_, _, _| Ok(user(1, "ann")));
    assert!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "New@Example.org"))
        )
        .is_ok()
    );
}

#[test]
fn register_email_taken_address_gets_a_notice_without_link() {
    let mut kit = no_password_check();
    kit.store
        .expect_find_by_email()
        .returning(|_, _| Ok(Some(user(2, "bob"))));
    kit.store
        .expect_enqueue()
        .withf(|mails| matches!(mails.as_slice(), [m] if matches!(m.kind, NotificationKind::EmailAlreadyUsed { .. })))
        .times(1)
        .returning(|_| Ok(()));
    kit.store.expect_update().never();
    assert!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "bob@example.org"))
        )
        .is_ok()
    );
}

#[test]
fn register_email_without_verification_changes_at_once_or_refuses_taken() {
    let mut kit = no_password_check();
    kit.settings.register_email.verification_enabled = false;
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_update()
        .withf(|_, change, mails| {
            // The old address is told of the change.
            change.email.is_some()
                && matches!(mails.as_slice(), [m] if m.to == "ann@example.org"
                    && matches!(m.kind, NotificationKind::EmailChanged { .. }))
        })
        .returning(|_, _, _| Ok(user(1, "ann")));
    assert!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "n@example.org"))
        )
        .is_ok()
    );

    let mut kit = no_password_check();
    kit.settings.register_email.verification_enabled = false;
    kit.store
        .expect_find_by_email()
        .returning(|_, _| Ok(Some(user(2, "bob"))));
    assert!(matches!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "bob@example.org"))
        ),
        Err(RegisterEmailError::EmailAlreadyRegistered)
    ));
}

#[test]
fn register_email_invalid_address_and_store_failure() {
    let kit = no_password_check();
    assert!(matches!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "nope"))
        ),
        Err(RegisterEmailError::Invalid(_))
    ));
    let mut kit = no_password_check();
    kit.store
        .expect_find_by_email()
        .returning(|_, _| Err(down()));
    assert!(matches!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "n@example.org"))
        ),
        Err(RegisterEmailError::Store(_))
    ));
}

fn verify_form(kit: &Kit, email: &str) -> Form {
    Form::new()
        .text("user_id", "1")
        .text("email", email)
        .text("timestamp", NOW.to_string())
        .text(
            "signature",
            kit.sign(&Salt::register_email(), "1", Some(email), NOW),
        )
}

fn pending(email: &str) -> User {
    User {
        pending_email: Some(Email::parse(email).unwrap()),
        ..user(1, "ann")
    }
}

#[test]
fn verify_email_sets_the_address_and_clears_the_pending_change() {
    let mut kit = no_password_check();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(pending("c@example.org"))));
    kit.store
        .expect_update()
        .withf(|_, change, _| {
            change.email == Some(Some(Email::parse("c@example.org").unwrap()))
                && change.pending_email == Some(None)
                && matches!(change.guard, Some(UserGuard::PendingEmail(_)))
        })
        .returning(|_, _, _| Ok(user(1, "ann")));
    assert!(
        {
            let form = verify_form(&kit, "c@example.org");
            block_on(kit.accounts().verify_email(&form))
        }
        .is_ok()
    );
}

#[test]
fn verify_email_older_link_is_superseded_by_a_newer_request() {
    let mut kit = no_password_check();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(pending("c@example.org"))));
    kit.store.expect_update().never();
    assert!(matches!(
        {
            let form = verify_form(&kit, "b@example.org");
            block_on(kit.accounts().verify_email(&form))
        },
        Err(VerifyEmailError::InvalidSignature)
    ));
}

#[test]
fn verify_email_drr_mode_accepts_any_link_of_the_period() {
    let mut kit = Kit::drr();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(1, "ann"))));
    kit.store
        .expect_update()
        .withf(|_, change, _| change.guard.is_none() && change.pending_email.is_none())
        .returning(|_, _, _| Ok(user(1, "ann")));
    assert!(
        {
            let form = verify_form(&kit, "b@example.org");
            block_on(kit.accounts().verify_email(&form))
        }
        .is_ok()
    );
}

#[test]
fn verify_email_rejects_tampered_email_taken_address_and_inactive_user() {
    let kit = no_password_check();
    let form = verify_form(&kit, "c@example.org").text("email", "d@example.org");
    assert!(matches!(
        block_on(kit.accounts().verify_email(&form)),
        Err(VerifyEmailError::InvalidSignature)
    ));

    let mut kit = no_password_check();
    kit.store
        .expect_find_by_email()
        .returning(|_, _| Ok(Some(user(1, "ann"))));
    assert!(matches!(
        {
            let form = verify_form(&kit, "c@example.org");
            block_on(kit.accounts().verify_email(&form))
        },
        Err(VerifyEmailError::EmailAlreadyRegistered)
    ));

    let mut kit = no_password_check();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store.expect_get().returning(|_| {
        Ok(Some(User {
            verified: false,
            ..pending("c@example.org")
        }))
    });
    assert!(matches!(
        {
            let form = verify_form(&kit, "c@example.org");
            block_on(kit.accounts().verify_email(&form))
        },
        Err(VerifyEmailError::UserNotFound)
    ));
}

#[test]
fn verify_email_race_on_the_unique_address_is_reported_as_taken() {
    let mut kit = no_password_check();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(pending("c@example.org"))));
    kit.store
        .expect_update()
        .returning(|_, _, _| Err(StoreError::Conflict(UniqueField::Email)));
    assert!(matches!(
        {
            let form = verify_form(&kit, "c@example.org");
            block_on(kit.accounts().verify_email(&form))
        },
        Err(VerifyEmailError::EmailAlreadyRegistered)
    ));
}

#[test]
fn verify_email_missing_fields_and_disabled() {
    let kit = no_password_check();
    let Err(VerifyEmailError::Invalid(errors)) =
        block_on(kit.accounts().verify_email(&Form::new()))
    else {
        panic!("expected invalid")
    };
    assert_eq!(errors.fields.len(), 4);
    let mut kit = no_password_check();
    kit.settings.register_email.verification_enabled = false;
    assert!(matches!(
        block_on(kit.accounts().verify_email(&Form::new())),
        Err(VerifyEmailError::Disabled)
    ));
}

#[test]
fn register_email_write_failures_queue_nothing() {
    let mut kit = no_password_check();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store.expect_update().returning(|_, _, _| Err(down()));
    assert!(matches!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "n@example.org"))
        ),
        Err(RegisterEmailError::Store(_))
    ));

    let mut kit = no_password_check();
    kit.store
        .expect_find_by_email()
        .returning(|_, _| Ok(Some(user(2, "bob"))));
    kit.store.expect_enqueue().returning(|_| Err(down()));
    assert!(matches!(
        block_on(
            kit.accounts()
                .register_email(&caller(), &Form::new().text("email", "bob@example.org"))
        ),
        Err(RegisterEmailError::Store(_))
    ));
}

#[test]
fn verify_email_store_failures_are_reported() {
    let mut kit = no_password_check();
    kit.store
        .expect_find_by_email()
        .returning(|_, _| Err(down()));
    let form = verify_form(&kit, "c@example.org");
    assert!(matches!(
        block_on(kit.accounts().verify_email(&form)),
        Err(VerifyEmailError::Store(_))
    ));

    let mut kit = no_password_check();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(pending("c@example.org"))));
    kit.store.expect_update().returning(|_, _, _| Err(down()));
    let form = verify_form(&kit, "c@example.org");
    assert!(matches!(
        block_on(kit.accounts().verify_email(&form)),
        Err(VerifyEmailError::Store(_))
    ));
}

#[test]
fn register_email_needs_the_current_password_in_the_safe_profile() {
    let mut kit = Kit::new();
    kit.store.expect_update().never();
    kit.store.expect_enqueue().never();
    let Err(RegisterEmailError::Invalid(errors)) = block_on(
        kit.accounts()
            .register_email(&caller(), &Form::new().text("email", "n@example.org")),
    ) else {
        panic!("expected invalid")
    };
    assert_eq!(errors.fields["password"][0].code, "required");

    let mut kit = Kit::new();
    kit.store.expect_update().never();
    kit.store.expect_enqueue().never();
    kit.hasher
        .expect_verify()
        .returning(|_, _| Ok(crate::ports::Verification::Mismatch));
    let form = Form::new()
        .text("email", "n@example.org")
        .text("password", "wrong");
    let Err(RegisterEmailError::Invalid(errors)) =
        block_on(kit.accounts().register_email(&caller(), &form))
    else {
        panic!("expected invalid")
    };
    assert_eq!(
        errors.fields.keys().copied().collect::<Vec<_>>(),
        ["password"]
    );

    let mut kit = Kit::new();
    kit.hasher.expect_verify().returning(|_, _| {
        Ok(crate::ports::Verification::Match {
            needs_rehash: false,
        })
    });
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_update()
        .times(1)
        .returning(|_, _, _| Ok(user(1, "ann")));
    let form = Form::new()
        .text("email", "n@example.org")
        .text("password", "right");
    assert!(block_on(kit.accounts().register_email(&caller(), &form)).is_ok());
}
