use super::*;
use crate::flows::testkit::*;
use crate::ports::Verification;
use crate::signing::confirmation_key::ConfirmationKeySigner;
use crate::signing::reset_token::ResetTokenGenerator;

fn at_now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

/// The reference deployment's main profile: mandatory verification, login
/// by username or e-mail.
fn main_kit() -> Kit {
    let mut kit = Kit::new();
    kit.settings.restauth.email_verification = EmailVerification::Mandatory;
    kit.settings.restauth.login_methods = vec![LoginField::Username, LoginField::Email];
    kit.settings.restauth.confirm_email_url = "https://front.example/confirm/{key}/".into();
    kit
}

fn entry(id: i64, user: i64, email: &str, verified: bool) -> EmailAddress {
    EmailAddress {
        id: AddressId::new(id),
        user: UserId::new(user),
        email: Email::parse(email).unwrap(),
        verified,
        primary: true,
    }
}

fn invalid(result: Result<impl std::fmt::Debug, RestAuthError>) -> ValidationErrors {
    match result {
        Err(RestAuthError::Invalid(errors)) => errors,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn non_field_codes(errors: &ValidationErrors) -> Vec<&'static str> {
    errors.non_field.iter().flatten().map(|e| e.code).collect()
}

#[test]
fn login_tells_an_unconfirmed_account_apart_only_once_its_password_was_right() {
    let login = |verification: Verification| {
        let mut kit = main_kit();
        kit.store.expect_find_by_username().returning(|_, _| {
            let mut pending = user(3, "ann");
            pending.verified = false;
            Ok(Some(pending))
        });
        kit.hasher
            .expect_verify()
            .returning(move |_, _| Ok(verification));
        let form = Form::new()
            .text("username", "ann")
            .text("password", "a password");
        non_field_codes(&invalid(block_on(kit.accounts().restauth_login(&form))))
    };
    assert_eq!(
        login(Verification::Match {
            needs_rehash: false
        }),
        ["unverified"]
    );
    assert_eq!(login(Verification::Mismatch), ["invalid_login"]);
}

#[test]
fn login_by_email_only_ignores_the_username_and_finds_address_book_holders() {
    let mut kit = main_kit();
    kit.settings.restauth.login_methods = vec![LoginField::Email];
    let only_username = Form::new()
        .text("username", "ann")
        .text("password", "a password");
    let errors = invalid(block_on(kit.accounts().restauth_login(&only_username)));
    assert_eq!(non_field_codes(&errors), ["invalid"]);
    assert!(errors.fields.is_empty());

    let mut kit = main_kit();
    kit.settings.restauth.login_methods = vec![LoginField::Email];
    kit.settings.restauth.session_login = false;
    kit.store
        .expect_addresses_matching()
        .withf(|email, matching| {
            email == "Ann@Example.org" && *matching == crate::ports::Matching::CaseInsensitive
        })
        .returning(|_, _| Ok(vec![entry(8, 3, "ann@example.org", true)]));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_get_all()
        .withf(|ids| ids == [uid(3)])
        .returning(|_| Ok(vec![user(3, "ann")]));
    kit.hasher.expect_verify().returning(|_, _| {
        Ok(Verification::Match {
            needs_rehash: false,
        })
    });
    kit.tokens
        .expect_provide()
        .withf(|_, kind| *kind == CredentialKind::Token)
        .times(1)
        .returning(|_, _| Ok(token("drf-key")));
    let by_email = Form::new()
        .text("email", "Ann@Example.org")
        .text("password", "a password");
    let login = block_on(kit.accounts().restauth_login(&by_email)).unwrap();
    assert_eq!(login.credentials.user.id, uid(3));
    assert_eq!(login.credentials.token, Some(token("drf-key")));
    assert!(login.credentials.session.is_none() && login.jwt.is_none());
}

#[test]
fn registration_judges_fields_first_then_the_retype_then_similarity() {
    let registration = |password1: &str, password2: &str| {
        let mut kit = main_kit();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store
            .expect_addresses_matching()
            .returning(|_, _| Ok(Vec::new()));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        let form = Form::new()
            .text("username", "adalovelace")
            .text("email", "ada@example.org")
            .text("password1", password1)
            .text("password2", password2);
        invalid(block_on(kit.accounts().restauth_register(&form)))
    };
    let short = registration("Ab-3", "Ab-3");
    assert_eq!(
        short.fields.keys().copied().collect::<Vec<_>>(),
        ["password1"]
    );
    assert_eq!(short.non_field, None);
    let mismatch = registration("Long-enough-2468", "Other-2468-words");
    assert!(mismatch.fields.is_empty());
    assert_eq!(non_field_codes(&mismatch), ["password_mismatch"]);
    // Like the username: found only once the user is known, so reported
    // after the fields, as non_field_errors.
    let similar = registration("adalovelace1", "adalovelace1");
    assert!(similar.fields.is_empty(), "{similar:?}");
    assert_eq!(non_field_codes(&similar), ["password_too_similar"]);
}

#[test]
fn registration_refuses_only_a_confirmed_address() {
    let register = |entries: Vec<EmailAddress>| {
        let mut kit = main_kit();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(None));
        kit.store
            .expect_addresses_matching()
            .returning(move |_, _| Ok(entries.clone()));
        kit.store.expect_find_by_email().returning(|_, _| Ok(None));
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.store
            .expect_create()
            .returning(|new, _| Ok(user(9, new.username.as_str())));
        let form = Form::new()
            .text("username", "bob")
            .text("email", "shared@example.org")
            .text("password1", "Long-enough-2468")
            .text("password2", "Long-enough-2468");
        block_on(kit.accounts().restauth_register(&form))
    };
    let taken = invalid(register(vec![entry(1, 1, "shared@example.org", true)]));
    assert_eq!(taken.fields["email"][0].code, "unique");
    let held = register(vec![entry(1, 1, "shared@example.org", false)]);
    assert!(
        matches!(held, Ok(Registered::AwaitingConfirmation)),
        "{held:?}"
    );
}

#[test]
fn registration_books_the_lowercased_address_and_mails_a_key_for_its_entry() {
    let mut kit = main_kit();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    kit.store
        .expect_addresses_matching()
        .returning(|_, _| Ok(Vec::new()));
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    let keys = ConfirmationKeySigner::from(&kit.signer);
    kit.store
        .expect_create()
        .withf(|new, announce| {
            new.email.as_ref().map(Email::as_str) == Some("ada@example.org")
                && new.holding == EmailHolding::Book { verified: false }
                && !new.verified
                && announce.is_some()
        })
        .returning(move |new, announce| {
            let mut created = user(4, new.username.as_str());
            created.email = new.email;
            created.verified = new.verified;
            let booked = entry(31, 4, "ada@example.org", false);
            let mail = announce.unwrap().announce(&created, Some(&booked)).unwrap();
            assert_eq!(mail.to, "ada@example.org");
            let NotificationKind::RegisterVerification { link } = &mail.kind else {
                panic!("{mail:?}");
            };
            let key = link.param("key").unwrap();
            assert_eq!(link.url, format!("https://front.example/confirm/{key}/"));
            assert_eq!(keys.open(key, at_now(), time::Duration::days(3)), Ok(31));
            Ok(created)
        });
    let form = Form::new()
        .text("username", "ada")
        .text("email", "Ada@Example.ORG")
        .text("password1", "Long-enough-2468")
        .text("password2", "Long-enough-2468");
    let registered = block_on(kit.accounts().restauth_register(&form)).unwrap();
    assert!(matches!(registered, Registered::AwaitingConfirmation));
}

#[test]
fn a_confirmation_key_confirms_its_entry_once_and_every_failure_is_not_found() {
    let signer = ConfirmationKeySigner::from(&main_kit().signer);
    let key = signer.make(31, at_now());
    let old = signer.make(31, at_now() - time::Duration::days(4));
    let verify = |key: &str, answer: Result<User, StoreError>| {
        let mut kit = main_kit();
        let answer = std::sync::Mutex::new(Some(answer));
        kit.store
            .expect_confirm_address()
            .withf(|id, _| *id == AddressId::new(31))
            .returning(move |_, _| answer.lock().unwrap().take().unwrap());
        block_on(
            kit.accounts()
                .restauth_verify_email(&Form::new().text("key", key)),
        )
    };
    assert!(verify(&key, Ok(user(4, "ada"))).is_ok());
    for (key, answer) in [
        (key.as_str(), Err(StoreError::GuardFailed)),
        (key.as_str(), Err(StoreError::NotFound)),
        (key.as_str(), Err(StoreError::Conflict(UniqueField::Email))),
        (old.as_str(), Ok(user(4, "ada"))),
        ("MQ:1xYd4S:not-our-signature", Ok(user(4, "ada"))),
    ] {
        assert!(
            matches!(verify(key, answer), Err(RestAuthError::KeyNotFound)),
            "{key}"
        );
    }
}

#[test]
fn reset_confirm_checks_the_uid_then_the_token_over_every_address_then_the_password() {
    let ann = user(36, "ann");
    let generator = ResetTokenGenerator::from(&main_kit().signer);
    let with_entries = |entries: Vec<EmailAddress>| {
        let mut kit = main_kit();
        let stored = ann.clone();
        kit.store
            .expect_get()
            .returning(move |id| Ok((id == uid(36)).then(|| stored.clone())));
        kit.store
            .expect_addresses()
            .returning(move |_| Ok(entries.clone()));
        kit
    };
    let good = generator.make(
        &TokenSubject::allauth(&ann, ["ann@example.org".to_owned()]),
        at_now(),
    );
    let form = |uid: &str, token: &str, password: &str| {
        Form::new()
            .text("uid", uid)
            .text("token", token)
            .text("new_password1", password)
            .text("new_password2", password)
    };
    // 36 is `10` in base36; `zzzzzzzz` names no one.
    let errors = invalid(block_on(
        with_entries(Vec::new())
            .accounts()
            .restauth_reset_password_confirm(&form("zzzzzzzz", &good, "1")),
    ));
    assert_eq!(errors.fields.keys().copied().collect::<Vec<_>>(), ["uid"]);
    // A token made before the user gained an address covers no longer.
    let another = vec![entry(2, 36, "second@example.org", false)];
    let errors = invalid(block_on(
        with_entries(another)
            .accounts()
            .restauth_reset_password_confirm(&form("10", &good, "1")),
    ));
    assert_eq!(errors.fields.keys().copied().collect::<Vec<_>>(), ["token"]);
    let errors = invalid(block_on(
        with_entries(Vec::new())
            .accounts()
            .restauth_reset_password_confirm(&form("10", &good, "12345678")),
    ));
    assert_eq!(
        errors.fields.keys().copied().collect::<Vec<_>>(),
        ["new_password2"]
    );

    let mut kit = with_entries(Vec::new());
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store
        .expect_update()
        .withf(|_, change, _| {
            change.password_hash == Some(hash("new"))
                && change.guard == Some(UserGuard::PasswordHash(hash("current")))
        })
        .times(1)
        .returning(|_, _, _| Ok(user(36, "ann")));
    kit.tokens
        .expect_revoke_all()
        .withf(|_, kind, keep| *kind == Some(CredentialKind::Session) && keep.is_none())
        .times(1)
        .returning(|_, _, _| Ok(1));
    block_on(kit.accounts().restauth_reset_password_confirm(&form(
        "10",
        &good,
        "Long-enough-2468",
    )))
    .unwrap();
}

#[test]
fn the_callers_own_username_is_refused_as_taken_and_the_address_is_never_written() {
    let mut kit = main_kit();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(Some(user(3, "ann"))));
    let me = user(3, "ann");
    let own = Form::new().text("username", "ANN").text("first_name", "Q");
    let errors = invalid(block_on(kit.accounts().restauth_update(&me, &own, true)));
    assert_eq!(errors.fields["username"][0].code, "unique");

    let mut kit = main_kit();
    kit.store
        .expect_update()
        .withf(|_, change, _| {
            change.email.is_none()
                && change.username.is_none()
                && change.first_name.as_deref() == Some("Ada")
        })
        .times(1)
        .returning(|_, _, _| Ok(user(3, "ann")));
    let names = Form::new()
        .text("first_name", "Ada")
        .text("email", "other@example.org")
        .text("pk", "99");
    block_on(kit.accounts().restauth_update(&me, &names, true)).unwrap();
    let put_without_username = Form::new().text("first_name", "Ada");
    let errors = invalid(block_on(Kit::new().accounts().restauth_update(
        &me,
        &put_without_username,
        false,
    )));
    assert_eq!(errors.fields["username"][0].code, "required");
}

#[test]
fn a_password_change_keeps_the_callers_session_unless_told_to_end_it() {
    let change = |logout_on_change: bool| {
        let mut kit = main_kit();
        kit.settings.restauth.logout_on_password_change = logout_on_change;
        kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
        kit.store
            .expect_update()
            .returning(|_, _, _| Ok(user(3, "ann")));
        let kept = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen = kept.clone();
        kit.tokens
            .expect_revoke_all()
            .withf(|_, kind, _| *kind == Some(CredentialKind::Session))
            .times(1)
            .returning(move |_, _, keep| {
                *seen.lock().unwrap() = Some(keep);
                Ok(0)
            });
        let me = Authenticated {
            user: user(3, "ann"),
            kind: CredentialKind::Session,
            credential: token("my-session"),
        };
        let form = Form::new()
            .text("new_password1", "Long-enough-2468")
            .text("new_password2", "Long-enough-2468");
        block_on(kit.accounts().restauth_change_password(&me, &form)).unwrap();
        kept.lock().unwrap().take().unwrap()
    };
    assert_eq!(change(false), Some(token("my-session")));
    assert_eq!(change(true), None);

    let mut kit = main_kit();
    kit.settings.restauth.old_password_field_enabled = true;
    kit.hasher
        .expect_verify()
        .returning(|_, _| Ok(Verification::Mismatch));
    let me = Authenticated {
        user: user(3, "ann"),
        kind: CredentialKind::Token,
        credential: token("key"),
    };
    let form = Form::new()
        .text("old_password", "wrong")
        .text("new_password1", "Long-enough-2468")
        .text("new_password2", "Long-enough-2468");
    let errors = invalid(block_on(
        kit.accounts().restauth_change_password(&me, &form),
    ));
    assert_eq!(
        errors.fields.keys().copied().collect::<Vec<_>>(),
        ["old_password"]
    );
}

#[test]
fn refresh_wants_a_refresh_token_of_a_user_who_may_log_in() {
    let mut kit = main_kit();
    kit.settings.restauth.use_jwt = true;
    let jwt = crate::signing::jwt::JwtSigner::from(&kit.signer);
    let refresh = jwt.issue(TokenType::Refresh, uid(3), at_now());
    let access = jwt.issue(TokenType::Access, uid(3), at_now());
    kit.store.expect_get().returning(|id| {
        let mut user = user(id.get(), "ann");
        user.active = id != uid(4);
        Ok(Some(user))
    });
    let accounts = kit.accounts();
    assert!(matches!(
        block_on(accounts.restauth_token_refresh(None)),
        Err(RestAuthError::NoRefreshToken)
    ));
    assert!(matches!(
        block_on(accounts.restauth_token_refresh(Some(&access))),
        Err(RestAuthError::TokenNotValid)
    ));
    let refreshed = block_on(accounts.restauth_token_refresh(Some(&refresh))).unwrap();
    assert_eq!(
        refreshed.access_expires,
        at_now() + JwtSigner::ACCESS_LIFETIME
    );
    let claims = jwt.check(&refreshed.access, at_now()).unwrap();
    assert!(claims.is(TokenType::Access) && claims.user() == Some(uid(3)));
    let disabled = jwt.issue(TokenType::Refresh, uid(4), at_now());
    assert!(matches!(
        block_on(accounts.restauth_token_refresh(Some(&disabled))),
        Err(RestAuthError::TokenNotValid)
    ));
}
