use std::sync::Arc;

use mockall::predicate::eq;
use time::OffsetDateTime;

use super::*;
use crate::flows::testkit::{NOW, block_on, hash, token, uid, user};
use crate::ports::{MockTokenManager, MockUserStore};

const DJANGO_HASH: &str =
    "pbkdf2_sha256$1000$c2FsdHNhbHQ$HgGtz23nfY68BYPHybbu8UlRLZeUGYirGuG5uf5fmDg=";

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

fn row(id: i64, name: &str) -> SourceUser {
    SourceUser {
        id,
        username: name.into(),
        email: format!("{name}@example.org"),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        is_active: true,
        date_joined: at(NOW - 86_400),
        last_login: Some(at(NOW - 3_600)),
        password: DJANGO_HASH.into(),
        is_staff: false,
    }
}

fn options() -> ImportOptions {
    ImportOptions {
        inactive: InactiveMeans::Unverified,
        matching: Matching::Exact,
        dry_run: false,
        shared_emails: false,
        verified_by_address: false,
    }
}

fn importer(store: MockUserStore, tokens: MockTokenManager, options: ImportOptions) -> Importer {
    Importer::new(Arc::new(store), Arc::new(tokens), options)
}

/// What became of one user row imported alone.
fn user_row(import: &mut Importer, row: SourceUser) -> Outcome {
    let mut outcomes = block_on(import.users(vec![row])).unwrap();
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0).1
}

/// What became of one token row imported alone.
fn token_row(import: &mut Importer, row: SourceToken) -> Outcome {
    let mut outcomes = block_on(import.tokens(vec![row])).unwrap();
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0).1
}

/// A store that has none of the rows and accepts every write, keeping
/// what it was given.
fn empty_store(written: Arc<std::sync::Mutex<Vec<User>>>) -> MockUserStore {
    let mut store = MockUserStore::new();
    store.expect_get_all().returning(|_| Ok(Vec::new()));
    store.expect_put_all().returning(move |users, _| {
        written.lock().unwrap().extend(users.iter().cloned());
        Ok(vec![None; users.len()])
    });
    store
}

#[test]
fn a_new_row_is_written_under_its_django_id_with_its_hash_as_stored() {
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut import = importer(
        empty_store(written.clone()),
        MockTokenManager::new(),
        options(),
    );
    assert_eq!(user_row(&mut import, row(42, "ada")), Outcome::Created);
    let users = written.lock().unwrap();
    let user = &users[0];
    assert_eq!(user.id, uid(42));
    assert_eq!(user.username.as_str(), "ada");
    assert_eq!(user.password_hash.as_str(), DJANGO_HASH);
    assert_eq!(
        (user.first_name.as_str(), user.last_name.as_str()),
        ("Ada", "Lovelace")
    );
    assert_eq!(user.last_login, Some(at(NOW - 3_600)));
    assert!(user.verified && user.active);
}

#[test]
fn inactive_means_unverified_by_default_and_disabled_when_asked() {
    for (inactive, verified, active) in [
        (InactiveMeans::Unverified, false, true),
        (InactiveMeans::Disabled, true, false),
    ] {
        let written = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut import = importer(
            empty_store(written.clone()),
            MockTokenManager::new(),
            ImportOptions {
                inactive,
                ..options()
            },
        );
        let mut inactive_row = row(1, "ada");
        inactive_row.is_active = false;
        user_row(&mut import, inactive_row);
        let user = &written.lock().unwrap()[0];
        assert_eq!(
            (user.verified, user.active),
            (verified, active),
            "{inactive:?}"
        );
    }
}

#[test]
fn an_empty_address_is_no_address_and_unusable_passwords_are_kept() {
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut import = importer(
        empty_store(written.clone()),
        MockTokenManager::new(),
        options(),
    );
    let mut no_mail = row(1, "ada");
    no_mail.email = String::new();
    no_mail.password = "!X5dAkDh2Ud0CJ9HKmAPNwNwGbhaT7Yx9Q8UEo9Rf".into();
    assert_eq!(user_row(&mut import, no_mail), Outcome::Created);
    let user = &written.lock().unwrap()[0];
    assert_eq!(user.email, None);
    assert!(user.password_hash.as_str().starts_with('!'));
}

#[test]
fn bad_rows_are_skipped_with_their_reason_and_no_write() {
    let mut store = MockUserStore::new();
    store.expect_get_all().returning(|_| Ok(Vec::new()));
    store.expect_put_all().never();
    let mut import = importer(store, MockTokenManager::new(), options());
    let mut legacy = row(1, "ada");
    legacy.password = "md5$salt$0123456789abcdef".into();
    assert_eq!(
        user_row(&mut import, legacy),
        Outcome::Skipped(Skip::UnknownHash("md5".into()))
    );
    let mut bad_name = row(2, "ada");
    bad_name.username = "has space".into();
    assert!(matches!(
        user_row(&mut import, bad_name),
        Outcome::Skipped(Skip::Username(name, _)) if name == "has space"
    ));
    let mut bad_mail = row(3, "bob");
    bad_mail.email = "not-an-address".into();
    assert!(matches!(
        user_row(&mut import, bad_mail),
        Outcome::Skipped(Skip::Email(..))
    ));
}

#[test]
fn a_duplicate_within_the_source_is_skipped_naming_the_first_row() {
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut import = importer(
        empty_store(written.clone()),
        MockTokenManager::new(),
        ImportOptions {
            matching: Matching::CaseInsensitive,
            ..options()
        },
    );
    assert_eq!(user_row(&mut import, row(1, "ada")), Outcome::Created);
    let mut same_mail = row(2, "bob");
    same_mail.email = "ADA@example.org".into();
    assert_eq!(
        user_row(&mut import, same_mail),
        Outcome::Skipped(Skip::DuplicateEmail("ADA@example.org".into(), 1))
    );
    assert_eq!(
        user_row(&mut import, row(3, "ADA")),
        Outcome::Skipped(Skip::DuplicateUsername("ADA".into(), 1))
    );
    assert_eq!(written.lock().unwrap().len(), 1);
}

#[test]
fn a_second_run_writes_nothing_when_nothing_changed() {
    let first = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut import = importer(
        empty_store(first.clone()),
        MockTokenManager::new(),
        options(),
    );
    user_row(&mut import, row(7, "ada"));
    let stored = first.lock().unwrap()[0].clone();

    let mut store = MockUserStore::new();
    store
        .expect_get_all()
        .withf(|ids| ids == [uid(7)])
        .returning(move |_| Ok(vec![stored.clone()]));
    store.expect_put_all().never();
    let mut again = importer(store, MockTokenManager::new(), options());
    assert_eq!(user_row(&mut again, row(7, "ada")), Outcome::Unchanged);
}

#[test]
fn a_rerun_keeps_what_happened_here_and_takes_the_rest_from_the_site() {
    let mut here = user(7, "ada");
    here.password_hash = hash("upgraded at first login");
    here.last_login = Some(at(NOW));
    here.pending_email = Some(crate::domain::Email::parse("new@example.org").unwrap());
    let mut store = MockUserStore::new();
    store
        .expect_get_all()
        .returning(move |_| Ok(vec![here.clone()]));
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = written.clone();
    store.expect_put_all().returning(move |users, _| {
        sink.lock().unwrap().extend(users.iter().cloned());
        Ok(vec![None; users.len()])
    });
    let mut import = importer(store, MockTokenManager::new(), options());
    let mut renamed = row(7, "ada");
    renamed.first_name = "Augusta".into();
    assert_eq!(user_row(&mut import, renamed), Outcome::Updated);
    let user = &written.lock().unwrap()[0];
    assert_eq!(user.first_name, "Augusta");
    assert_eq!(user.password_hash, hash("upgraded at first login"));
    assert_eq!(user.last_login, Some(at(NOW)));
    assert_eq!(
        user.pending_email.as_ref().map(|e| e.as_str()),
        Some("new@example.org")
    );
}

#[test]
fn an_id_held_by_another_account_is_never_overwritten() {
    let mut store = MockUserStore::new();
    store
        .expect_get_all()
        .returning(|_| Ok(vec![user(7, "someone")]));
    store.expect_put_all().never();
    let mut import = importer(store, MockTokenManager::new(), options());
    assert_eq!(
        user_row(&mut import, row(7, "ada")),
        Outcome::Skipped(Skip::IdTaken("someone".into()))
    );
}

#[test]
fn a_store_conflict_skips_the_row_naming_the_holder() {
    let mut store = MockUserStore::new();
    store.expect_get_all().returning(|_| Ok(Vec::new()));
    store
        .expect_put_all()
        .returning(|users, _| Ok(vec![Some(UniqueField::Email); users.len()]));
    store
        .expect_find_by_email()
        .returning(|_, _| Ok(Some(user(99, "native"))));
    let mut import = importer(store, MockTokenManager::new(), options());
    assert_eq!(
        user_row(&mut import, row(1, "ada")),
        Outcome::Skipped(Skip::DuplicateEmail("ada@example.org".into(), 99))
    );
}

#[test]
fn a_dry_run_compares_and_checks_but_writes_nothing() {
    let mut store = MockUserStore::new();
    store.expect_get_all().returning(|_| Ok(Vec::new()));
    store.expect_put_all().never();
    store.expect_find_by_username().returning(|_, _| Ok(None));
    store
        .expect_find_by_email()
        .returning(|email, _| Ok((email == "bob@example.org").then(|| user(99, "bob"))));
    let mut tokens = MockTokenManager::new();
    tokens.expect_adopt_all().never();
    tokens.expect_list().returning(|_| Ok(Vec::new()));
    let mut import = importer(
        store,
        tokens,
        ImportOptions {
            dry_run: true,
            ..options()
        },
    );
    assert_eq!(user_row(&mut import, row(1, "ada")), Outcome::Created);
    assert_eq!(
        user_row(&mut import, row(2, "bob")),
        Outcome::Skipped(Skip::DuplicateEmail("bob@example.org".into(), 99))
    );
    let key = SourceToken {
        key: token("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
        user_id: 1,
        created: at(NOW),
    };
    assert_eq!(token_row(&mut import, key), Outcome::Created);
}

#[test]
fn tokens_are_adopted_for_imported_users_only() {
    let written = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tokens = MockTokenManager::new();
    let key = token("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b");
    let wanted = vec![Adoption {
        user: uid(1),
        token: key.clone(),
        kind: CredentialKind::Token,
        issued: at(NOW - 60),
    }];
    tokens
        .expect_adopt_all()
        .withf(move |batch| batch == wanted.as_slice())
        .times(1)
        .returning(|_| Ok(vec![Adopted::Stored]));
    let mut import = importer(empty_store(written), tokens, options());
    user_row(&mut import, row(1, "ada"));
    let adopted = SourceToken {
        key: key.clone(),
        user_id: 1,
        created: at(NOW - 60),
    };
    assert_eq!(token_row(&mut import, adopted), Outcome::Created);
    let orphan = SourceToken {
        key,
        user_id: 2,
        created: at(NOW),
    };
    assert_eq!(
        token_row(&mut import, orphan),
        Outcome::Skipped(Skip::NoSuchUser(2))
    );
}

#[test]
fn a_batch_is_written_at_once_and_a_refused_row_is_skipped_alone() {
    let mut store = MockUserStore::new();
    store.expect_get_all().returning(|_| Ok(Vec::new()));
    store.expect_put_all().times(1).returning(|users, _| {
        assert_eq!(users.len(), 3);
        Ok(vec![None, Some(UniqueField::Username), None])
    });
    store.expect_find_by_email().never();
    let mut import = importer(store, MockTokenManager::new(), options());
    let outcomes =
        block_on(import.users(vec![row(1, "ada"), row(2, "bob"), row(3, "cy")])).unwrap();
    assert_eq!(
        outcomes,
        vec![
            (1, Outcome::Created),
            (2, Outcome::Skipped(Skip::Taken("username"))),
            (3, Outcome::Created)
        ]
    );
    // The refused user's token has no owner here.
    let orphan = SourceToken {
        key: token("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
        user_id: 2,
        created: at(NOW),
    };
    assert_eq!(
        token_row(&mut import, orphan),
        Outcome::Skipped(Skip::NoSuchUser(2))
    );
}

#[test]
fn a_store_failure_stops_the_run() {
    let mut store = MockUserStore::new();
    store
        .expect_get_all()
        .returning(|_| Err(crate::flows::testkit::down()));
    let mut import = importer(store, MockTokenManager::new(), options());
    assert!(matches!(
        block_on(import.users(vec![row(1, "ada")])),
        Err(ImportError::Store(StoreError::Unavailable(_)))
    ));
}

#[test]
fn new_ids_are_reserved_above_every_row_seen_skipped_ones_too() {
    let mut store = empty_store(Arc::new(std::sync::Mutex::new(Vec::new())));
    store
        .expect_reserve_ids()
        .with(eq(uid(9)))
        .times(1)
        .returning(|_| Ok(()));
    let mut import = importer(store, MockTokenManager::new(), options());
    user_row(&mut import, row(3, "ada"));
    let mut legacy = row(9, "old");
    legacy.password = "md5$salt$0123".into();
    user_row(&mut import, legacy);
    user_row(&mut import, row(5, "bob"));
    block_on(import.finish_users()).unwrap();
}

#[test]
fn shared_addresses_are_booked_unclaimed_and_staff_comes_along() {
    let mut store = MockUserStore::new();
    store.expect_get_all().returning(|_| Ok(Vec::new()));
    store
        .expect_put_all()
        .withf(|users, holding| {
            users.len() == 2 && *holding == EmailHolding::Book { verified: false }
        })
        .times(1)
        .returning(|users, _| {
            assert!(users[0].staff && !users[1].staff);
            Ok(vec![None; users.len()])
        });
    let shared = ImportOptions {
        shared_emails: true,
        ..options()
    };
    let mut import = importer(store, MockTokenManager::new(), shared);
    let staff = SourceUser {
        is_staff: true,
        ..row(1, "ada")
    };
    let same_address = SourceUser {
        email: "ada@example.org".into(),
        ..row(2, "bob")
    };
    let outcomes = block_on(import.users(vec![staff, same_address])).unwrap();
    assert_eq!(
        outcomes,
        [(1, Outcome::Created), (2, Outcome::Created)],
        "a shared address is no duplicate"
    );
}

#[test]
fn addresses_keep_their_ids_and_a_confirmation_made_here_and_decide_verification() {
    let mut store = empty_store(Arc::new(std::sync::Mutex::new(Vec::new())));
    let confirmed_here = EmailAddress {
        id: AddressId::new(7),
        user: uid(1),
        email: Email::parse("ada@example.org").unwrap(),
        verified: true,
        primary: true,
    };
    store.expect_addresses().returning(move |owner| {
        Ok(if owner == uid(1) {
            vec![confirmed_here.clone()]
        } else {
            Vec::new()
        })
    });
    store.expect_put_addresses().times(1).returning(|entries| {
        let ids: Vec<(i64, bool)> = entries.iter().map(|e| (e.id.get(), e.verified)).collect();
        assert_eq!(ids, [(7, true), (9, false)]);
        Ok(vec![None; entries.len()])
    });
    store
        .expect_update()
        .withf(|id, change, _| change.verified == Some(*id == uid(1)))
        .times(2)
        .returning(|id, _, _| Ok(user(id.get(), "x")));
    let options = ImportOptions {
        shared_emails: true,
        verified_by_address: true,
        ..options()
    };
    let mut import = importer(store, MockTokenManager::new(), options);
    block_on(import.users(vec![row(1, "ada"), row(2, "bob")])).unwrap();
    let address = |id, user_id, email: &str, verified| SourceAddress {
        id,
        user_id,
        email: email.into(),
        verified,
        primary: true,
    };
    let outcomes = block_on(import.addresses(vec![
        // Unconfirmed at the site, confirmed here since the last run.
        address(7, 1, "ada@example.org", false),
        address(9, 2, "bob@example.org", false),
        address(11, 3, "carol@example.org", true),
        address(12, 2, "not an address", true),
    ]))
    .unwrap();
    assert_eq!(
        outcomes[0],
        (1, Outcome::Unchanged),
        "the confirmation stays"
    );
    assert_eq!(outcomes[1], (2, Outcome::Created));
    assert_eq!(outcomes[2], (3, Outcome::Skipped(Skip::NoSuchUser(3))));
    assert!(matches!(
        outcomes[3],
        (2, Outcome::Skipped(Skip::Email(..)))
    ));
}
