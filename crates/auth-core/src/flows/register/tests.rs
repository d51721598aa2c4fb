use super::*;
use crate::flows::testkit::*;

/// Neither the username nor the address is taken.
fn names_free(kit: &mut Kit) {
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
}

fn valid_form() -> Form {
    Form::new()
        .text("username", "ann")
        .text("password", "a good long passphrase")
        .text("password_confirm", "a good long passphrase")
        .text("email", "Ann@EXAMPLE.org")
}

#[test]
fn register_creates_unverified_user_and_queues_the_link_with_it() {
    let mut kit = Kit::new();
    names_free(&mut kit);
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store
        .expect_create()
        .withf(|new, announce| {
            new.email.as_ref().map(Email::as_str) == Some("Ann@example.org")
                && !new.verified
                && announce.is_some()
        })
        .returning(|new, announce| {
            let user = User {
                id: uid(7),
                email: new.email.clone(),
                verified: new.verified,
                ..user(7, "ann")
            };
            let mail = announce
                .expect("announce")
                .announce(&user, None)
                .expect("mail");
            let NotificationKind::RegisterVerification { link } = &mail.kind else {
                panic!("wrong kind {mail:?}")
            };
            assert_eq!(mail.to, "Ann@example.org");
            assert_eq!(link.param("user_id"), Some("7"));
            assert!(
                link.url
                    .starts_with("https://front.test/verify-user/?user_id=7&timestamp=")
            );
            Ok(user)
        });
    let registration = block_on(kit.accounts().register(&valid_form())).unwrap();
    assert_eq!(registration.created().map(|u| u.id), Some(uid(7)));
    assert_eq!(registration.profile().username.as_str(), "ann");
}

#[test]
fn register_reports_every_field_error_together() {
    let mut kit = Kit::new();
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    let form = Form::new()
        .text("username", "bad name!")
        .text("email", "nope");
    let Err(RegisterError::Invalid(errors)) = block_on(kit.accounts().register(&form)) else {
        panic!("expected invalid")
    };
    let keys: Vec<_> = errors.fields.keys().copied().collect();
    assert_eq!(keys, ["email", "password", "password_confirm", "username"]);
    assert_eq!(errors.non_field, None);
}

#[test]
fn register_duplicate_username_is_a_field_error_before_policy() {
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(Some(user(1, "ann"))));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    let form = valid_form()
        .text("password", "1")
        .text("password_confirm", "2");
    let Err(RegisterError::Invalid(errors)) = block_on(kit.accounts().register(&form)) else {
        panic!("expected invalid")
    };
    assert_eq!(
        errors.fields.keys().copied().collect::<Vec<_>>(),
        ["username"]
    );
    assert_eq!(errors.fields["username"][0].code, "unique");
}

#[test]
fn register_weak_and_mismatched_password_reports_both_with_empty_non_field_errors() {
    let mut kit = Kit::new();
    names_free(&mut kit);
    let form = valid_form()
        .text("password", "1234")
        .text("password_confirm", "12345");
    let Err(RegisterError::Invalid(errors)) = block_on(kit.accounts().register(&form)) else {
        panic!("expected invalid")
    };
    assert_eq!(errors.fields["password"].len(), 3);
    assert_eq!(
        errors.fields["password_confirm"][0].code,
        "passwords-do-not-match"
    );
    assert_eq!(errors.non_field, Some(vec![]));
}

#[test]
fn register_without_email_cannot_be_verified() {
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    let form = valid_form().text("email", "  ");
    assert!(matches!(
        block_on(kit.accounts().register(&form)),
        Err(RegisterError::UserWithoutEmail)
    ));
}

#[test]
fn register_when_disabled_touches_nothing() {
    let mut kit = Kit::new();
    kit.settings.register.enabled = false;
    assert!(matches!(
        block_on(kit.accounts().register(&valid_form())),
        Err(RegisterError::Disabled)
    ));
}

#[test]
fn register_race_lost_at_the_store_becomes_a_field_error() {
    let mut kit = Kit::new();
    kit.settings.register.fail_when_email_taken = true;
    names_free(&mut kit);
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store
        .expect_create()
        .returning(|_, _| Err(StoreError::Conflict(UniqueField::Email)));
    let Err(RegisterError::Invalid(errors)) = block_on(kit.accounts().register(&valid_form()))
    else {
        panic!("expected invalid")
    };
    assert_eq!(errors.fields["email"][0].code, "unique");
}

#[test]
fn register_store_or_hasher_failure_creates_nothing() {
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Err(down()));
    assert!(matches!(
        block_on(kit.accounts().register(&valid_form())),
        Err(RegisterError::Store(_))
    ));

    let mut kit = Kit::new();
    names_free(&mut kit);
    kit.hasher
        .expect_hash()
        .returning(|_| Err(HashError::Failed("pool gone".into())));
    kit.store.expect_create().never();
    assert!(matches!(
        block_on(kit.accounts().register(&valid_form())),
        Err(RegisterError::Hash(_))
    ));
}

#[test]
fn register_without_verification_creates_a_verified_user_and_no_mail() {
    let mut kit = Kit::new();
    kit.settings.register.verification_enabled = false;
    names_free(&mut kit);
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store
        .expect_create()
        .withf(|new, announce| new.verified && announce.is_none())
        .returning(|_, _| Ok(user(3, "ann")));
    assert!(block_on(kit.accounts().register(&valid_form())).is_ok());
}

#[test]
fn register_store_failure_on_create_is_reported() {
    let mut kit = Kit::new();
    names_free(&mut kit);
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store.expect_create().returning(|_, _| Err(down()));
    assert!(matches!(
        block_on(kit.accounts().register(&valid_form())),
        Err(RegisterError::Store(_))
    ));
}

#[test]
fn register_with_a_taken_address_answers_alike_and_mails_the_owner() {
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    kit.store.expect_find_by_email().returning(|_, _| {
        Ok(Some(User {
            email: Some(Email::parse("ann@example.org").unwrap()),
            ..user(4, "owner")
        }))
    });
    // The password is hashed all the same, so the answer takes as long.
    kit.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(hash("new")));
    kit.store.expect_create().never();
    kit.store
        .expect_enqueue()
        .withf(|mails| {
            matches!(mails.as_slice(), [m] if m.to == "Ann@example.org"
                && m.user.username == "owner"
                && matches!(m.kind, NotificationKind::AccountExists { .. }))
        })
        .times(1)
        .returning(|_| Ok(()));
    let registration = block_on(kit.accounts().register(&valid_form())).unwrap();
    assert!(registration.created().is_none());
    let profile = registration.profile();
    assert_eq!(profile.username.as_str(), "ann");
    assert_eq!(profile.email.unwrap().as_str(), "Ann@example.org");
}

#[test]
fn register_with_a_taken_address_is_a_field_error_in_drr_mode_or_without_verification() {
    for tweak in [
        (|k: &mut Kit| k.settings.register.fail_when_email_taken = true) as fn(&mut Kit),
        |k: &mut Kit| k.settings.register.verification_enabled = false,
    ] {
        let mut kit = Kit::new();
        tweak(&mut kit);
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store
            .expect_find_by_email()
            .returning(|_, _| Ok(Some(user(4, "owner"))));
        kit.store.expect_enqueue().never();
        let Err(RegisterError::Invalid(errors)) = block_on(kit.accounts().register(&valid_form()))
        else {
            panic!("expected a field error")
        };
        assert_eq!(errors.fields["email"][0].code, "unique");
    }
}

#[test]
fn register_race_lost_for_the_address_still_answers_alike() {
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    let mut seq = mockall::Sequence::new();
    kit.store
        .expect_find_by_email()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(None));
    kit.store
        .expect_find_by_email()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(Some(user(4, "owner"))));
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store
        .expect_create()
        .returning(|_, _| Err(StoreError::Conflict(UniqueField::Email)));
    kit.store.expect_enqueue().times(1).returning(|_| Ok(()));
    let registration = block_on(kit.accounts().register(&valid_form())).unwrap();
    assert!(registration.created().is_none());
}
