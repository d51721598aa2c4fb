use super::*;
use crate::flows::testkit::*;
use crate::settings::LoginField;
use crate::signing::Salt;

#[test]
fn send_reset_link_queues_a_one_time_link_for_an_unverified_user_too() {
    let mut kit = Kit::new();
    let stored = User {
        verified: false,
        ..user(4, "ann")
    };
    kit.store
        .expect_find_by_username()
        .returning(move |_, _| Ok(Some(stored.clone())));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    let expected_sig = kit.sign(
        &Salt::reset_password_one_time(&hash("current")),
        "4",
        None,
        NOW,
    );
    kit.store
        .expect_enqueue()
        .withf(move |mails| {
            let [mail] = mails.as_slice() else {
                return false;
            };
            let NotificationKind::ResetPassword { link } = &mail.kind else {
                return false;
            };
            mail.to == "ann@example.org"
                && link.param("signature") == Some(expected_sig.as_str())
                && link
                    .url
                    .starts_with("https://front.test/reset-password/?user_id=4&")
        })
        .times(1)
        .returning(|_| Ok(()));
    assert!(
        block_on(
            kit.accounts()
                .send_reset_password_link(&Form::new().text("login", "ann"))
        )
        .is_ok()
    );
}

#[test]
fn send_reset_link_unknown_user_is_silent_by_default_and_an_error_in_drr_mode() {
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store.expect_enqueue().never();
    assert!(
        block_on(
            kit.accounts()
                .send_reset_password_link(&Form::new().text("login", "nobody"))
        )
        .is_ok()
    );

    let mut kit = Kit::drr();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    assert!(matches!(
        block_on(
            kit.accounts()
                .send_reset_password_link(&Form::new().text("login", "nobody"))
        ),
        Err(SendResetLinkError::UserNotFound)
    ));
}

#[test]
fn send_reset_link_by_email_field_finds_the_user_even_without_email_login() {
    let mut kit = Kit::new();
    kit.settings.reset_password.use_email = true;
    kit.settings.login_fields = vec![LoginField::Username];
    kit.store
        .expect_find_by_email()
        .withf(|e, _| e == "ann@example.org")
        .returning(|_, _| Ok(Some(user(4, "ann"))));
    kit.store.expect_enqueue().times(1).returning(|_| Ok(()));
    let accounts = kit.accounts();
    let form = Form::new()
        .text("email", "ann@example.org")
        .text("login", "ignored");
    assert!(block_on(accounts.send_reset_password_link(&form)).is_ok());
}

#[test]
fn send_reset_link_missing_field_disabled_and_store_failure() {
    let kit = Kit::new();
    assert!(matches!(
        block_on(kit.accounts().send_reset_password_link(&Form::new())),
        Err(SendResetLinkError::Invalid(_))
    ));
    let mut kit = Kit::new();
    kit.settings.reset_password.enabled = false;
    assert!(matches!(
        block_on(kit.accounts().send_reset_password_link(&Form::new())),
        Err(SendResetLinkError::Disabled)
    ));
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(Some(user(4, "ann"))));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store.expect_enqueue().returning(|_| Err(down()));
    assert!(matches!(
        block_on(
            kit.accounts()
                .send_reset_password_link(&Form::new().text("login", "ann"))
        ),
        Err(SendResetLinkError::Store(_))
    ));
}

fn reset_form(kit: &Kit, salt: &Salt, user_id: &str, password: &str) -> Form {
    Form::new()
        .text("user_id", user_id)
        .text("timestamp", NOW.to_string())
        .text("signature", kit.sign(salt, user_id, None, NOW))
        .text("password", password)
}

#[test]
fn reset_password_sets_the_hash_with_a_guard_and_ends_credentials() {
    let mut kit = Kit::new();
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.tokens
        .expect_revoke_all()
        .withf(|id, kind, keep| *id == uid(4) && kind.is_none() && keep.is_none())
        .times(1)
        .returning(|_, _, _| Ok(2));
    kit.store
        .expect_update()
        .withf(|_, change, mails| {
            matches!(mails.as_slice(), [m] if m.kind == NotificationKind::PasswordChanged)
                && change.password_hash == Some(hash("new"))
                && change.guard == Some(UserGuard::PasswordHash(hash("current")))
                && change.verified.is_none()
        })
        .returning(|_, _, _| Ok(user(4, "ann")));
    let form = reset_form(
        &kit,
        &Salt::reset_password_one_time(&hash("current")),
        "4",
        "a fresh passphrase",
    );
    assert!(block_on(kit.accounts().reset_password(&form)).is_ok());
}

#[test]
fn reset_password_link_dies_after_password_change() {
    let mut kit = Kit::new();
    kit.store.expect_get().returning(|_| {
        Ok(Some(User {
            password_hash: hash("changed"),
            ..user(4, "ann")
        }))
    });
    let form = reset_form(
        &kit,
        &Salt::reset_password_one_time(&hash("current")),
        "4",
        "a fresh passphrase",
    );
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::InvalidSignature)
    ));
}

#[test]
fn reset_password_checks_the_link_before_the_password_by_default() {
    let mut kit = Kit::new();
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    let form = reset_form(&kit, &Salt::reset_password(), "4", "123");
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::InvalidSignature)
    ));

    let mut kit = Kit::new();
    kit.store.expect_get().returning(|_| Ok(None));
    let form = reset_form(&kit, &Salt::reset_password(), "99", "a fresh passphrase");
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::InvalidSignature)
    ));
}

#[test]
fn reset_password_drr_order_reports_user_then_password_then_link() {
    let mut kit = Kit::drr();
    kit.store.expect_get().returning(|_| Ok(None));
    let form = reset_form(&kit, &Salt::reset_password(), "99", "a fresh passphrase");
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::UserNotFound)
    ));

    let mut kit = Kit::drr();
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    let form = reset_form(&kit, &Salt::reset_password(), "4", "123").text("signature", "bogus");
    let Err(ResetPasswordError::Invalid(errors)) = block_on(kit.accounts().reset_password(&form))
    else {
        panic!("expected invalid")
    };
    assert_eq!(errors.fields["password"].len(), 3);
    assert_eq!(errors.non_field, Some(vec![]));
}

#[test]
fn reset_password_confirm_mismatch_and_expiry() {
    let mut kit = Kit::new();
    kit.settings.reset_password.password_confirm = true;
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    let form = reset_form(
        &kit,
        &Salt::reset_password_one_time(&hash("current")),
        "4",
        "a fresh passphrase",
    )
    .text("password_confirm", "another passphrase");
    let Err(ResetPasswordError::Invalid(errors)) = block_on(kit.accounts().reset_password(&form))
    else {
        panic!("expected invalid")
    };
    assert!(errors.fields.contains_key("password_confirm"));

    let mut kit = Kit::new();
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    let old = NOW - 86_401;
    let salt = Salt::reset_password_one_time(&hash("current"));
    let form = Form::new()
        .text("user_id", "4")
        .text("timestamp", old.to_string())
        .text("signature", kit.sign(&salt, "4", None, old))
        .text("password", "a fresh passphrase");
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::SignatureExpired)
    ));
}

#[test]
fn reset_password_concurrent_use_and_port_failures_change_nothing() {
    let mut kit = Kit::new();
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.tokens.expect_revoke_all().returning(|_, _, _| Ok(0));
    kit.store
        .expect_update()
        .returning(|_, _, _| Err(StoreError::GuardFailed));
    let form = reset_form(
        &kit,
        &Salt::reset_password_one_time(&hash("current")),
        "4",
        "a fresh passphrase",
    );
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::InvalidSignature)
    ));

    let mut kit = Kit::new();
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.tokens
        .expect_revoke_all()
        .returning(|_, _, _| Err(TokenError("down".into())));
    kit.store.expect_update().never();
    let form = reset_form(
        &kit,
        &Salt::reset_password_one_time(&hash("current")),
        "4",
        "a fresh passphrase",
    );
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::Token(_))
    ));

    let mut kit = Kit::new();
    kit.store.expect_get().returning(|_| Err(down()));
    let form = reset_form(&kit, &Salt::reset_password(), "4", "a fresh passphrase");
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::Store(_))
    ));
}

#[test]
fn reset_password_hasher_failure_changes_and_ends_nothing() {
    let mut kit = Kit::new();
    kit.store
        .expect_get()
        .returning(|_| Ok(Some(user(4, "ann"))));
    kit.hasher
        .expect_hash()
        .returning(|_| Err(HashError::Failed("pool".into())));
    kit.tokens.expect_revoke_all().never();
    kit.store.expect_update().never();
    let form = reset_form(
        &kit,
        &Salt::reset_password_one_time(&hash("current")),
        "4",
        "a fresh passphrase",
    );
    assert!(matches!(
        block_on(kit.accounts().reset_password(&form)),
        Err(ResetPasswordError::Hash(_))
    ));
}
