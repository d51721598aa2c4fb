use super::*;
use crate::flows::testkit::*;
use crate::ports::{CredentialKind, Verification};

fn site() -> Site {
    Site {
        protocol: "http".into(),
        domain: "127.0.0.1:8000".into(),
    }
}

fn at_now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

fn kit_with_activation() -> Kit {
    let mut kit = Kit::new();
    kit.settings.djoser.send_activation_email = true;
    kit.settings.djoser.email_frontend_protocol = "https".into();
    kit.settings.djoser.email_frontend_domain = "frontend.example".into();
    kit
}

fn generator() -> ResetTokenGenerator {
    let kit = Kit::new();
    ResetTokenGenerator::from(&kit.signer)
}

#[test]
fn create_makes_an_inactive_user_and_queues_its_activation_link() {
    let mut kit = kit_with_activation();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store
        .expect_create()
        .withf(|new, announce| !new.verified && announce.is_some())
        .returning(|new, announce| {
            let mut created = user(12, new.username.as_str());
            created.verified = new.verified;
            created.password_hash = new.password_hash;
            let mail = announce.and_then(|a| a.announce(&created, None)).unwrap();
            let NotificationKind::RegisterVerification { link } = &mail.kind else {
                panic!("{mail:?}");
            };
            let token = link.param("token").unwrap();
            assert_eq!(
                link.url,
                format!("https://frontend.example/activate/MTI/{token}")
            );
            Ok(created)
        });
    let form = Form::new()
        .text("username", "ann")
        .text("password", "a long passphrase")
        .text("email", "ann@example.org");
    let created = block_on(kit.accounts().djoser_create(&form, &site())).unwrap();
    assert_eq!(created.id.get(), 12);
}

#[test]
fn create_reports_the_validators_before_the_retype() {
    let mut kit = Kit::new();
    kit.settings.djoser.user_create_password_retype = true;
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    let weak = Form::new()
        .text("username", "ann")
        .text("password", "123")
        .text("re_password", "456");
    let Err(DjoserError::Invalid(errors)) = block_on(kit.accounts().djoser_create(&weak, &site()))
    else {
        panic!("weak password accepted");
    };
    assert_eq!(
        errors.fields.keys().copied().collect::<Vec<_>>(),
        ["password"]
    );
    assert!(errors.fields["password"].len() >= 2, "{errors:?}");
    assert_eq!(errors.non_field, None);

    let mut kit = Kit::new();
    kit.settings.djoser.user_create_password_retype = true;
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(None));
    let mismatch = Form::new()
        .text("username", "ann")
        .text("password", "a long passphrase")
        .text("re_password", "another passphrase");
    let Err(DjoserError::Invalid(errors)) =
        block_on(kit.accounts().djoser_create(&mismatch, &site()))
    else {
        panic!("mismatch accepted");
    };
    assert!(errors.fields.is_empty());
    assert_eq!(errors.non_field.map(|v| v.len()), Some(1));
}

#[test]
fn activation_checks_the_uid_then_the_token_then_staleness() {
    let mut pending = user(7, "ann");
    pending.verified = false;
    let token = generator().make(&TokenSubject::django(&pending), at_now());

    let mut kit = Kit::new();
    let stored = pending.clone();
    kit.store
        .expect_get()
        .returning(move |id| Ok((id.get() == 7).then(|| stored.clone())));
    kit.store
        .expect_update()
        .withf(|_, change, _| change.verified == Some(true))
        .times(1)
        .returning(|_, _, _| Ok(user(7, "ann")));
    let accounts = kit.accounts();
    let form = |uid: &str, token: &str| Form::new().text("uid", uid).text("token", token);

    let Err(DjoserError::Invalid(e)) = block_on(accounts.djoser_activate(&form("OTk", &token)))
    else {
        panic!("unknown uid accepted");
    };
    assert!(e.fields.contains_key("uid"), "{e:?}");
    let Err(DjoserError::Invalid(e)) = block_on(accounts.djoser_activate(&form("Nw", "0-00")))
    else {
        panic!("bad token accepted");
    };
    assert!(e.fields.contains_key("token"), "{e:?}");
    block_on(accounts.djoser_activate(&form("Nw", &token))).unwrap();
}

#[test]
fn activating_an_active_user_is_stale() {
    let active = user(7, "ann");
    let token = generator().make(&TokenSubject::django(&active), at_now());
    let mut kit = Kit::new();
    kit.store
        .expect_get()
        .returning(move |_| Ok(Some(active.clone())));
    let form = Form::new().text("uid", "Nw").text("token", token);
    assert!(matches!(
        block_on(kit.accounts().djoser_activate(&form)),
        Err(DjoserError::StaleToken)
    ));
}

#[test]
fn token_login_failures_all_look_alike() {
    for form in [
        Form::new(),
        Form::new().text("username", "ann"),
        Form::new()
            .text("username", "ann")
            .text("password", "wrong"),
    ] {
        let mut kit = Kit::new();
        kit.store
            .expect_find_by_username()
            .returning(|_, _| Ok(Some(user(1, "ann"))));
        kit.hasher
            .expect_verify()
            .returning(|_, _| Ok(Verification::Mismatch));
        let Err(DjoserError::Invalid(errors)) = block_on(kit.accounts().djoser_token_login(&form))
        else {
            panic!("{form:?} logged in");
        };
        assert!(errors.fields.is_empty(), "{errors:?}");
        assert_eq!(errors.non_field.map(|v| v.len()), Some(1));
    }
}

#[test]
fn token_login_records_the_login_and_returns_the_users_token() {
    let mut kit = Kit::new();
    kit.store
        .expect_find_by_username()
        .returning(|_, _| Ok(Some(user(1, "ann"))));
    kit.hasher.expect_verify().returning(|_, _| {
        Ok(Verification::Match {
            needs_rehash: false,
        })
    });
    kit.store
        .expect_update()
        .withf(|_, change, _| change.last_login.is_some())
        .returning(|_, _, _| Ok(user(1, "ann")));
    kit.tokens
        .expect_provide()
        .withf(|_, kind| *kind == CredentialKind::Token)
        .times(1)
        .returning(|_, _| Ok(token("k")));
    let form = Form::new()
        .text("username", "ann")
        .text("password", "right");
    let credentials = block_on(kit.accounts().djoser_token_login(&form)).unwrap();
    assert!(credentials.token.is_some() && credentials.session.is_none());
}

fn caller(user: User) -> Authenticated {
    Authenticated {
        user,
        kind: CredentialKind::Token,
        credential: token("t"),
    }
}

#[test]
fn reset_confirm_judges_the_password_before_the_link() {
    // No store call is expected: a weak password is refused before the uid is read.
    let kit = Kit::new();
    let form = Form::new()
        .text("uid", "garbage")
        .text("token", "0-00")
        .text("new_password", "123");
    let Err(DjoserError::Invalid(errors)) =
        block_on(kit.accounts().djoser_reset_password_confirm(&form))
    else {
        panic!("weak password accepted");
    };
    assert_eq!(
        errors.fields.keys().copied().collect::<Vec<_>>(),
        ["new_password"]
    );
}

#[test]
fn set_password_reports_a_wrong_current_password_with_the_missing_fields() {
    let mut kit = Kit::new();
    kit.hasher
        .expect_verify()
        .returning(|_, _| Ok(Verification::Mismatch));
    let form = Form::new().text("current_password", "wrong");
    let Err(DjoserError::Invalid(errors)) = block_on(
        kit.accounts()
            .djoser_set_password(&caller(user(1, "ann")), &form),
    ) else {
        panic!("accepted");
    };
    assert_eq!(
        errors.fields.keys().copied().collect::<Vec<_>>(),
        ["current_password", "new_password"]
    );
}

#[test]
fn set_password_under_logout_on_password_change_ends_every_credential() {
    let mut kit = Kit::new();
    kit.settings.djoser.logout_on_password_change = true;
    kit.hasher.expect_verify().returning(|_, _| {
        Ok(Verification::Match {
            needs_rehash: false,
        })
    });
    kit.hasher.expect_hash().returning(|_| Ok(hash("new")));
    kit.store
        .expect_update()
        .withf(|_, change, _| change.password_hash.is_some() && change.guard.is_some())
        .returning(|_, _, _| Ok(user(1, "ann")));
    kit.tokens
        .expect_revoke_all()
        .withf(|_, kind, keep| kind.is_none() && keep.is_none())
        .times(1)
        .returning(|_, _, _| Ok(2));
    let form = Form::new()
        .text("current_password", "right")
        .text("new_password", "a long new passphrase");
    block_on(
        kit.accounts()
            .djoser_set_password(&caller(user(1, "ann")), &form),
    )
    .unwrap();
}

#[test]
fn other_users_are_hidden_forbidden_or_open_to_staff() {
    for (hide, deleting, staff, expected) in [
        (true, false, false, "not found"),
        (false, false, false, "forbidden"),
        (true, true, false, "forbidden"),
        (true, false, true, "ok"),
    ] {
        let mut kit = Kit::new();
        kit.settings.djoser.hide_users = hide;
        kit.store
            .expect_get()
            .returning(|id| Ok(Some(user(id.get(), "bob"))));
        let mut me = user(1, "ann");
        me.staff = staff;
        let got = block_on(kit.accounts().djoser_user(&caller(me), "2", deleting));
        let shown = match got {
            Ok(_) => "ok",
            Err(DjoserError::NotFound) => "not found",
            Err(DjoserError::Forbidden) => "forbidden",
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(
            shown, expected,
            "hide={hide} deleting={deleting} staff={staff}"
        );
    }
    let kit = Kit::new();
    assert!(matches!(
        block_on(
            kit.accounts()
                .djoser_user(&caller(user(1, "ann")), "x", false)
        ),
        Err(DjoserError::NotFound)
    ));
}

#[cfg(feature = "jwt")]
#[test]
fn a_refresh_token_of_an_inactive_user_gets_no_access_token() {
    let kit = Kit::new();
    let refresh = crate::signing::jwt::JwtSigner::from(&kit.signer).issue(
        TokenType::Refresh,
        crate::domain::UserId::new(3),
        at_now(),
    );
    let mut kit = Kit::new();
    kit.store.expect_get().returning(|id| {
        let mut gone = user(id.get(), "cy");
        gone.active = false;
        Ok(Some(gone))
    });
    let form = Form::new().text("refresh", refresh);
    assert!(matches!(
        block_on(kit.accounts().djoser_jwt_refresh(&form)),
        Err(DjoserError::NoActiveAccountForToken)
    ));
}

#[test]
fn an_address_two_active_accounts_share_is_a_field_error_not_a_mail() {
    let mut kit = Kit::new();
    kit.store.expect_addresses_matching().returning(|email, _| {
        Ok(vec![
            crate::domain::EmailAddress {
                id: crate::domain::AddressId::new(1),
                user: uid(1),
                email: Email::parse(email).unwrap(),
                verified: false,
                primary: true,
            },
            crate::domain::EmailAddress {
                id: crate::domain::AddressId::new(2),
                user: uid(2),
                email: Email::parse(email).unwrap(),
                verified: false,
                primary: true,
            },
        ])
    });
    kit.store.expect_find_by_email().returning(|_, _| Ok(None));
    kit.store
        .expect_get_all()
        .returning(|ids| Ok(ids.iter().map(|id| user(id.get(), "ann")).collect()));
    kit.store.expect_enqueue().never();
    let form = Form::new().text("email", "shared@example.org");
    let Err(DjoserError::Invalid(errors)) =
        block_on(kit.accounts().djoser_reset_password(&form, &site()))
    else {
        panic!("a shared address was mailed");
    };
    assert_eq!(errors.fields["email"][0].code, "shared");
}
