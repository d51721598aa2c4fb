//! Adapter behaviours, each a function of the engine.

use std::sync::Arc;

use auth_core::domain::{
    AddressId, Email, EmailAddress, EmailHolding, NewUser, PasswordHash, User, UserChange,
    UserGuard, UserId, Username,
};
use auth_core::notification::{Notification, NotificationKind, Recipient};
use auth_core::ports::{
    Adopted, Adoption, Announce, AuthToken, Backlog, Clock, CredentialKind, LiveCount, Matching,
    StoreError, UniqueField,
};
use auth_sql::TokenMode;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::fixture::{Db, Engine, NOW};
use crate::open_or_skip;

fn new_user(name: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        email: email.map(|e| Email::parse(e).unwrap()),
        first_name: "First".into(),
        last_name: String::new(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$s$h"),
        verified: false,
        date_joined: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
        staff: false,
        holding: EmailHolding::Unique,
    }
}

fn notice(to: &str) -> Notification {
    Notification {
        to: to.into(),
        user: Recipient {
            id: UserId::new(1),
            username: "ann".into(),
            first_name: String::new(),
            last_name: String::new(),
        },
        kind: NotificationKind::EmailAlreadyUsed { email: to.into() },
    }
}

struct Welcome;
impl Announce for Welcome {
    fn announce(&self, user: &User, _: Option<&EmailAddress>) -> Option<Notification> {
        Some(notice(user.email.as_ref()?.as_str()))
    }
}

fn at(offset: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW + offset).unwrap()
}

async fn queued(db: &Db) -> Vec<String> {
    let claimed = db
        .outbox
        .claim_due(db.clock.now(), 100, Duration::minutes(5))
        .await
        .unwrap();
    claimed.into_iter().map(|q| q.notification.to).collect()
}

pub async fn create_then_get_and_find_round_trip_every_field(engine: Engine) {
    let db = open_or_skip!(engine);
    let created = db
        .users
        .create(new_user("Ann", Some("Ann@Example.org")), None)
        .await
        .unwrap();
    assert_eq!(created.username.as_str(), "Ann");
    assert!(!created.verified && created.active);
    assert_eq!(
        db.users.get(created.id).await.unwrap(),
        Some(created.clone())
    );
    let by_name = db
        .users
        .find_by_username("ann", Matching::CaseInsensitive)
        .await
        .unwrap();
    assert_eq!(by_name.map(|u| u.id), Some(created.id));
    let by_email = db
        .users
        .find_by_email("ann@example.ORG", Matching::CaseInsensitive)
        .await
        .unwrap();
    assert_eq!(by_email.map(|u| u.id), Some(created.id));
    assert_eq!(
        db.users
            .find_by_username("ann", Matching::Exact)
            .await
            .unwrap(),
        None
    );
    assert_eq!(db.users.get(UserId::new(999)).await.unwrap(), None);
}

pub async fn case_insensitive_keys_make_the_database_refuse_case_variants(engine: Engine) {
    let db = open_or_skip!(engine);
    db.users
        .create(new_user("ann", Some("ann@example.org")), None)
        .await
        .unwrap();
    let err = db
        .users
        .create(new_user("ANN", Some("other@example.org")), None)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(UniqueField::Username));
    let err = db
        .users
        .create(new_user("bob", Some("ANN@example.org")), None)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(UniqueField::Email));
}

/// `new_user`, its address kept in the address book (allauth's way).
fn booked(name: &str, email: &str, verified: bool) -> NewUser {
    NewUser {
        holding: EmailHolding::Book { verified },
        ..new_user(name, Some(email))
    }
}

/// Queues a mail naming the address-book entry created with the user.
struct EntryMail;
impl Announce for EntryMail {
    fn announce(&self, user: &User, address: Option<&EmailAddress>) -> Option<Notification> {
        Some(notice(&format!(
            "{}@{}.entry",
            user.username.as_str(),
            address?.id.get()
        )))
    }
}

pub async fn booked_addresses_are_shared_until_one_account_confirms_its_entry(engine: Engine) {
    let db = open_or_skip!(engine);
    let ann = db
        .users
        .create(
            booked("ann", "Shared@example.org", false),
            Some(Arc::new(EntryMail)),
        )
        .await
        .unwrap();
    let bob = db
        .users
        .create(booked("bob", "shared@example.org", false), None)
        .await
        .unwrap();
    // Both hold it; the user rows show it but do not claim it.
    assert_eq!(ann.email.as_ref().unwrap().as_str(), "Shared@example.org");
    assert!(
        db.users
            .find_by_email("shared@example.org", Matching::CaseInsensitive)
            .await
            .unwrap()
            .is_none()
    );
    let entries = db
        .users
        .addresses_matching("SHARED@example.org", Matching::CaseInsensitive)
        .await
        .unwrap();
    assert_eq!(
        entries.iter().map(|e| e.user).collect::<Vec<_>>(),
        [ann.id, bob.id]
    );
    assert!(entries.iter().all(|e| e.primary && !e.verified));
    let ann_entry = db.users.addresses(ann.id).await.unwrap();
    assert_eq!(ann_entry, [entries[0].clone()]);
    assert_eq!(
        db.users.address(entries[1].id).await.unwrap().as_ref(),
        Some(&entries[1])
    );
    // The announcement saw the entry's id.
    assert_eq!(
        queued(&db).await,
        [format!("ann@{}.entry", entries[0].id.get())]
    );

    // Ann confirms: verified, primary, and the address is hers alone now.
    let confirmed = db
        .users
        .confirm_address(entries[0].id, vec![notice("ann@example.org")])
        .await
        .unwrap();
    assert!(confirmed.verified);
    assert_eq!(confirmed.id, ann.id);
    assert!(
        db.users
            .address(entries[0].id)
            .await
            .unwrap()
            .unwrap()
            .verified
    );
    assert_eq!(
        db.users
            .confirm_address(entries[0].id, Vec::new())
            .await
            .unwrap_err(),
        StoreError::GuardFailed
    );
    assert_eq!(
        db.users
            .confirm_address(entries[1].id, vec![notice("bob@example.org")])
            .await
            .unwrap_err(),
        StoreError::Conflict(UniqueField::Email)
    );
    assert_eq!(
        db.users
            .confirm_address(AddressId::new(9_999), Vec::new())
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    // Bob's refused confirmation changed and queued nothing.
    assert!(
        !db.users
            .address(entries[1].id)
            .await
            .unwrap()
            .unwrap()
            .verified
    );
    assert!(!queued(&db).await.contains(&"bob@example.org".to_owned()));
    // Deleting a user takes its entries along.
    db.users.delete(bob.id).await.unwrap();
    assert!(db.users.address(entries[1].id).await.unwrap().is_none());

    // A booked user's new address replaces its entries, unconfirmed and
    // still unclaimed on the row; a refused update changes neither.
    let change = |email: &str| UserChange {
        email: Some(Some(Email::parse(email).unwrap())),
        ..UserChange::default()
    };
    let moved = db
        .users
        .update(ann.id, change("new@example.org"), Vec::new())
        .await
        .unwrap();
    assert_eq!(moved.email.unwrap().as_str(), "new@example.org");
    let book = db.users.addresses(ann.id).await.unwrap();
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].email.as_str(), "new@example.org");
    assert!(book[0].primary && !book[0].verified);
    assert!(
        db.users
            .find_by_email("new@example.org", Matching::CaseInsensitive)
            .await
            .unwrap()
            .is_none()
    );
    let guarded = UserChange {
        guard: Some(UserGuard::PasswordHash(PasswordHash::new("not the hash"))),
        ..change("other@example.org")
    };
    assert_eq!(
        db.users
            .update(ann.id, guarded, Vec::new())
            .await
            .unwrap_err(),
        StoreError::GuardFailed
    );
    assert_eq!(db.users.addresses(ann.id).await.unwrap(), book);
}

pub async fn exact_keys_allow_case_variants_as_drr_does(engine: Engine) {
    let db = open_or_skip!(engine, Matching::Exact, TokenMode::PerLogin);
    db.users
        .create(new_user("bob", Some("a@x.org")), None)
        .await
        .unwrap();
    db.users
        .create(new_user("Bob", Some("A@x.org")), None)
        .await
        .unwrap();
    let found = db
        .users
        .find_by_email("A@x.org", Matching::Exact)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.username.as_str(), "Bob");
}

pub async fn create_queues_its_announcement_and_a_failed_create_queues_nothing(engine: Engine) {
    let db = open_or_skip!(engine);
    db.users
        .create(
            new_user("ann", Some("ann@example.org")),
            Some(Arc::new(Welcome)),
        )
        .await
        .unwrap();
    let failed = db
        .users
        .create(
            new_user("ann", Some("x@example.org")),
            Some(Arc::new(Welcome)),
        )
        .await;
    assert!(failed.is_err());
    assert_eq!(queued(&db).await, ["ann@example.org"]);
}

pub async fn update_applies_only_given_fields_and_queues_atomically(engine: Engine) {
    let db = open_or_skip!(engine);
    let user = db
        .users
        .create(new_user("ann", Some("ann@example.org")), None)
        .await
        .unwrap();
    let change = UserChange {
        first_name: Some("Ann".into()),
        verified: Some(true),
        pending_email: Some(Some(Email::parse("new@example.org").unwrap())),
        last_login: Some(at(5)),
        staff: Some(true),
        ..UserChange::default()
    };
    let updated = db
        .users
        .update(user.id, change, vec![notice("new@example.org")])
        .await
        .unwrap();
    assert_eq!(updated.first_name, "Ann");
    assert_eq!(updated.last_name, user.last_name);
    assert!(updated.verified);
    assert_eq!(updated.email, user.email);
    assert_eq!(
        updated.pending_email.as_ref().map(Email::as_str),
        Some("new@example.org")
    );
    assert_eq!(updated.last_login, Some(at(5)));
    assert!(updated.staff && !user.staff);
    assert_eq!(queued(&db).await, ["new@example.org"]);

    let cleared = UserChange {
        email: Some(None),
        pending_email: Some(None),
        ..UserChange::default()
    };
    let updated = db.users.update(user.id, cleared, Vec::new()).await.unwrap();
    assert_eq!((updated.email, updated.pending_email), (None, None));
}

pub async fn guarded_update_applies_once_and_reports_the_loser(engine: Engine) {
    let db = open_or_skip!(engine);
    let user = db
        .users
        .create(new_user("ann", Some("ann@example.org")), None)
        .await
        .unwrap();
    let verify = || UserChange {
        verified: Some(true),
        guard: Some(UserGuard::Verified(false)),
        ..UserChange::default()
    };
    assert!(db.users.update(user.id, verify(), Vec::new()).await.is_ok());
    assert_eq!(
        db.users
            .update(user.id, verify(), vec![notice("x@example.org")])
            .await,
        Err(StoreError::GuardFailed)
    );
    assert!(
        queued(&db).await.is_empty(),
        "a refused update queued its mail"
    );

    let reset = UserChange {
        password_hash: Some(PasswordHash::new("new")),
        guard: Some(UserGuard::PasswordHash(user.password_hash.clone())),
        ..UserChange::default()
    };
    assert!(
        db.users
            .update(user.id, reset.clone(), Vec::new())
            .await
            .is_ok()
    );
    assert_eq!(
        db.users.update(user.id, reset, Vec::new()).await,
        Err(StoreError::GuardFailed)
    );

    let pending = Email::parse("p@example.org").unwrap();
    let set = UserChange {
        pending_email: Some(Some(pending.clone())),
        ..UserChange::default()
    };
    db.users.update(user.id, set, Vec::new()).await.unwrap();
    let confirm = UserChange {
        pending_email: Some(None),
        guard: Some(UserGuard::PendingEmail(pending)),
        ..UserChange::default()
    };
    assert!(
        db.users
            .update(user.id, confirm.clone(), Vec::new())
            .await
            .is_ok()
    );
    assert_eq!(
        db.users.update(user.id, confirm, Vec::new()).await,
        Err(StoreError::GuardFailed)
    );

    assert_eq!(
        db.users
            .update(UserId::new(99), UserChange::default(), Vec::new())
            .await,
        Err(StoreError::NotFound)
    );
}

pub async fn concurrent_guarded_updates_let_exactly_one_win(engine: Engine) {
    let db = open_or_skip!(engine);
    let user = db.users.create(new_user("ann", None), None).await.unwrap();
    let attempts = (0..10).map(|i| {
        let users = db.users.clone();
        let old = user.password_hash.clone();
        tokio::spawn(async move {
            let change = UserChange {
                password_hash: Some(PasswordHash::new(format!("new-{i}"))),
                guard: Some(UserGuard::PasswordHash(old)),
                ..UserChange::default()
            };
            users.update(user.id, change, Vec::new()).await
        })
    });
    let mut wins = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::GuardFailed) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
}

pub async fn concurrent_registrations_of_one_email_let_exactly_one_win(engine: Engine) {
    let db = open_or_skip!(engine);
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let users = db.users.clone();
            tokio::spawn(async move {
                users
                    .create(
                        new_user(&format!("racer{i}"), Some("Same@Example.org")),
                        None,
                    )
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for attempt in attempts {
        results.push(attempt.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| *e == StoreError::Conflict(UniqueField::Email))
    );
}

pub async fn renaming_onto_a_taken_name_is_a_conflict(engine: Engine) {
    let db = open_or_skip!(engine);
    db.users.create(new_user("ann", None), None).await.unwrap();
    let bob = db.users.create(new_user("bob", None), None).await.unwrap();
    let change = UserChange {
        username: Some(Username::parse("Ann").unwrap()),
        ..UserChange::default()
    };
    assert_eq!(
        db.users.update(bob.id, change, Vec::new()).await,
        Err(StoreError::Conflict(UniqueField::Username))
    );
}

pub async fn outbox_leases_retries_and_gives_up(engine: Engine) {
    let db = open_or_skip!(engine);
    db.users
        .enqueue(vec![notice("a@example.org"), notice("b@example.org")])
        .await
        .unwrap();
    let first = db
        .outbox
        .claim_due(at(0), 10, Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        db.outbox
            .claim_due(at(0), 10, Duration::minutes(5))
            .await
            .unwrap()
            .is_empty(),
        "leased rows were claimed twice"
    );

    db.outbox.mark_sent(first[0].id, at(0)).await.unwrap();
    db.outbox
        .mark_failed(first[1].id, "421 busy", Some(at(30)))
        .await
        .unwrap();
    assert!(
        db.outbox
            .claim_due(at(10), 10, Duration::minutes(5))
            .await
            .unwrap()
            .is_empty()
    );
    let retry = db
        .outbox
        .claim_due(at(30), 10, Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!((retry.len(), retry[0].attempts), (1, 1));

    db.outbox
        .mark_failed(retry[0].id, "550 unknown", None)
        .await
        .unwrap();
    assert!(
        db.outbox
            .claim_due(at(86_400), 10, Duration::minutes(5))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn the_backlog_counts_waiting_mail_and_dates_the_oldest(engine: Engine) {
    let db = open_or_skip!(engine);
    assert_eq!(db.outbox.backlog().await.unwrap(), Backlog::default());
    db.users
        .enqueue(vec![notice("a@example.org"), notice("b@example.org")])
        .await
        .unwrap();
    let waiting = |n, oldest| Backlog {
        waiting: n,
        oldest_queued: oldest,
    };
    assert_eq!(db.outbox.backlog().await.unwrap(), waiting(2, Some(at(0))));
    let claimed = db
        .outbox
        .claim_due(at(60), 10, Duration::minutes(5))
        .await
        .unwrap();
    db.outbox.mark_sent(claimed[0].id, at(60)).await.unwrap();
    db.outbox
        .mark_failed(claimed[1].id, "421 busy", Some(at(600)))
        .await
        .unwrap();
    // Failing and retried later, it keeps its age.
    assert_eq!(db.outbox.backlog().await.unwrap(), waiting(1, Some(at(0))));
    db.outbox
        .mark_failed(claimed[1].id, "550 unknown", None)
        .await
        .unwrap();
    assert_eq!(db.outbox.backlog().await.unwrap(), Backlog::default());
}

pub async fn live_credentials_are_counted_by_kind_and_expired_ones_are_not(engine: Engine) {
    let Some(db) = Db::open_with_lifetimes(
        engine,
        Matching::CaseInsensitive,
        TokenMode::PerLogin,
        Some(Duration::days(30)),
        Some(Duration::days(1)),
        None,
    )
    .await
    else {
        return;
    };
    let count = |tokens, sessions| LiveCount { tokens, sessions };
    assert_eq!(db.tokens.count_live().await.unwrap(), count(0, 0));
    let ann = db.users.create(new_user("ann", None), None).await.unwrap();
    let bob = db.users.create(new_user("bob", None), None).await.unwrap();
    let token = db
        .tokens
        .provide(ann.id, CredentialKind::Token)
        .await
        .unwrap();
    db.tokens
        .provide(bob.id, CredentialKind::Token)
        .await
        .unwrap();
    db.tokens
        .provide(ann.id, CredentialKind::Session)
        .await
        .unwrap();
    assert_eq!(db.tokens.count_live().await.unwrap(), count(2, 1));
    db.clock.advance(Duration::days(2));
    assert_eq!(db.tokens.count_live().await.unwrap(), count(2, 0));
    db.tokens
        .revoke(&token, CredentialKind::Token)
        .await
        .unwrap();
    assert_eq!(db.tokens.count_live().await.unwrap(), count(1, 0));
}

pub async fn users_are_listed_page_by_page_and_can_be_disabled(engine: Engine) {
    let db = open_or_skip!(engine);
    let mut ids = Vec::new();
    for name in ["ann", "bob", "cid"] {
        ids.push(
            db.users
                .create(new_user(name, None), None)
                .await
                .unwrap()
                .id,
        );
    }
    let names = |users: Vec<User>| {
        users
            .into_iter()
            .map(|u| u.username.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(db.users.page(None, 2).await.unwrap()), ["ann", "bob"]);
    assert_eq!(
        names(db.users.page(Some(ids[1]), 2).await.unwrap()),
        ["cid"]
    );
    assert!(db.users.page(Some(ids[2]), 2).await.unwrap().is_empty());
    let change = UserChange {
        active: Some(false),
        ..UserChange::default()
    };
    let bob = db.users.update(ids[1], change, Vec::new()).await.unwrap();
    assert!(!bob.active);
    assert!(!db.users.get(ids[1]).await.unwrap().unwrap().active);
}

pub async fn an_expired_lease_is_claimed_again(engine: Engine) {
    let db = open_or_skip!(engine);
    db.users
        .enqueue(vec![notice("a@example.org")])
        .await
        .unwrap();
    let claimed = db
        .outbox
        .claim_due(at(0), 10, Duration::minutes(5))
        .await
        .unwrap();
    let again = db
        .outbox
        .claim_due(at(300), 10, Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|q| q.id).collect::<Vec<_>>(),
        [claimed[0].id]
    );
}

pub async fn concurrent_claims_never_share_a_row(engine: Engine) {
    let db = open_or_skip!(engine);
    let mail: Vec<_> = (0..60)
        .map(|i| notice(&format!("u{i}@example.org")))
        .collect();
    db.users.enqueue(mail).await.unwrap();
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let outbox = db.outbox.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = outbox
                        .claim_due(at(0), 7, Duration::minutes(5))
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|q| q.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let total = all.len();
    all.sort_by_key(|id| id.0);
    all.dedup();
    assert_eq!(
        (total, all.len()),
        (60, 60),
        "a row was claimed by two workers or lost"
    );
}

pub async fn tokens_are_issued_resolved_revoked_and_stored_only_as_digests(engine: Engine) {
    let db = open_or_skip!(engine);
    let user = db.users.create(new_user("ann", None), None).await.unwrap();
    let a = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    let b = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    let s = db
        .tokens
        .provide(user.id, CredentialKind::Session)
        .await
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(
        db.tokens
            .authenticate(&a, CredentialKind::Token)
            .await
            .unwrap(),
        Some(user.id)
    );
    assert_eq!(
        db.tokens
            .authenticate(&a, CredentialKind::Session)
            .await
            .unwrap(),
        None,
        "kinds must not mix"
    );

    let stored = db.stored_digests().await;
    assert_eq!(stored.len(), 3);
    for token in [&a, &b, &s] {
        assert!(
            !stored.iter().any(|d| d == token.expose().as_bytes()),
            "a token was stored in clear"
        );
    }

    assert!(
        db.tokens
            .revoke(&a, CredentialKind::Token)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        db.tokens.revoke(&a, CredentialKind::Token).await.unwrap(),
        None
    );
    assert_eq!(
        db.tokens
            .authenticate(&a, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        db.tokens
            .revoke_all(user.id, None, Some(s.clone()))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.tokens
            .authenticate(&s, CredentialKind::Session)
            .await
            .unwrap(),
        Some(user.id)
    );
    assert_eq!(
        db.tokens
            .authenticate(&b, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
}

pub async fn one_token_per_user_mode_returns_the_same_token_until_revoked(engine: Engine) {
    let mode = TokenMode::OnePerUser {
        key: Zeroizing::new(b"secret".to_vec()),
    };
    let db = open_or_skip!(engine, Matching::Exact, mode);
    let user = db.users.create(new_user("ann", None), None).await.unwrap();
    let first = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    assert_eq!(
        first,
        db.tokens
            .provide(user.id, CredentialKind::Token)
            .await
            .unwrap()
    );
    assert_eq!(first.expose().len(), 40);
    assert_eq!(
        db.tokens
            .revoke_all(user.id, Some(CredentialKind::Token), None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.tokens
            .authenticate(&first, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
    let next = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    assert_ne!(next, first);
    assert!(
        db.tokens
            .revoke(&next, CredentialKind::Token)
            .await
            .unwrap()
            .is_some()
    );
    let after = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    assert_ne!(after, next, "a revoked token came back");
}

pub async fn credentials_are_refused_after_their_lifetime(engine: Engine) {
    let Some(db) = Db::open_with_lifetimes(
        engine,
        Matching::CaseInsensitive,
        TokenMode::PerLogin,
        None,
        Some(Duration::days(14)),
        None,
    )
    .await
    else {
        return;
    };
    let user = db.users.create(new_user("ann", None), None).await.unwrap();
    let session = db
        .tokens
        .provide(user.id, CredentialKind::Session)
        .await
        .unwrap();
    let token = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    db.clock.advance(Duration::days(14));
    assert_eq!(
        db.tokens
            .authenticate(&session, CredentialKind::Session)
            .await
            .unwrap(),
        Some(user.id)
    );
    db.clock.advance(Duration::seconds(1));
    assert_eq!(
        db.tokens
            .authenticate(&session, CredentialKind::Session)
            .await
            .unwrap(),
        None,
        "an expired session was accepted"
    );
    assert_eq!(
        db.tokens
            .authenticate(&token, CredentialKind::Token)
            .await
            .unwrap(),
        Some(user.id),
        "tokens have no lifetime here"
    );
}

pub async fn owners_list_their_live_credentials_and_revoke_one_by_its_public_id(engine: Engine) {
    let db = open_or_skip!(engine);
    let ann = db.users.create(new_user("ann", None), None).await.unwrap();
    let bob = db.users.create(new_user("bob", None), None).await.unwrap();
    let token = db
        .tokens
        .provide(ann.id, CredentialKind::Token)
        .await
        .unwrap();
    let session = db
        .tokens
        .provide(ann.id, CredentialKind::Session)
        .await
        .unwrap();
    let bobs = db
        .tokens
        .provide(bob.id, CredentialKind::Token)
        .await
        .unwrap();

    let listed = db.tokens.list(ann.id).await.unwrap();
    let ids: Vec<String> = [&token, &session]
        .iter()
        .map(|t| auth_core::credentials::credential_id(&auth_core::credentials::digest(t)))
        .collect();
    let mut kinds: Vec<_> = listed.iter().map(|c| (c.id.clone(), c.kind)).collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (ids[0].clone(), CredentialKind::Token),
        (ids[1].clone(), CredentialKind::Session),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(kinds, expected);
    assert!(
        listed
            .iter()
            .all(|c| c.created_at == Some(at(0)) && c.id.len() == 32)
    );
    assert!(
        listed.iter().all(|c| !token.expose().contains(&c.id)),
        "the id is not the secret"
    );

    // Another user's id cannot be revoked through ann.
    let bobs_id = auth_core::credentials::credential_id(&auth_core::credentials::digest(&bobs));
    assert!(!db.tokens.revoke_id(ann.id, &bobs_id).await.unwrap());
    assert_eq!(
        db.tokens
            .authenticate(&bobs, CredentialKind::Token)
            .await
            .unwrap(),
        Some(bob.id)
    );

    assert!(db.tokens.revoke_id(ann.id, &ids[1]).await.unwrap());
    assert!(!db.tokens.revoke_id(ann.id, &ids[1]).await.unwrap());
    assert_eq!(
        db.tokens
            .authenticate(&session, CredentialKind::Session)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.tokens
            .authenticate(&token, CredentialKind::Token)
            .await
            .unwrap(),
        Some(ann.id)
    );
    assert_eq!(db.tokens.list(ann.id).await.unwrap().len(), 1);
}

pub async fn credentials_unused_for_the_idle_timeout_are_refused_and_use_cannot_pass_the_lifetime(
    engine: Engine,
) {
    let Some(db) = Db::open_with_lifetimes(
        engine,
        Matching::CaseInsensitive,
        TokenMode::PerLogin,
        Some(Duration::days(30)),
        None,
        Some(Duration::hours(1)),
    )
    .await
    else {
        return;
    };
    let user = db.users.create(new_user("ann", None), None).await.unwrap();
    let idle = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    let busy = db
        .tokens
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    let live = |token: AuthToken| {
        let tokens = db.tokens.clone();
        async move {
            tokens
                .authenticate(&token, CredentialKind::Token)
                .await
                .unwrap()
                .is_some()
        }
    };
    // Used every 50 minutes, `busy` stays; `idle`, untouched, dies after an hour.
    db.clock.advance(Duration::minutes(50));
    assert!(live(busy.clone()).await);
    db.clock.advance(Duration::minutes(11));
    assert!(!live(idle.clone()).await, "an idle token was accepted");
    assert!(live(busy.clone()).await);
    assert_eq!(db.tokens.list(user.id).await.unwrap().len(), 1);
    // Steady use does not extend the 30-day lifetime.
    let mut elapsed = Duration::minutes(61);
    while elapsed < Duration::days(30) {
        db.clock.advance(Duration::minutes(50));
        elapsed += Duration::minutes(50);
        let alive = live(busy.clone()).await;
        assert_eq!(alive, elapsed <= Duration::days(30), "after {elapsed}");
    }
    assert!(!live(busy).await, "use extended the lifetime");
}

fn moved_user(id: i64, name: &str, email: &str) -> User {
    User {
        id: UserId::new(id),
        username: Username::parse(name).unwrap(),
        email: Some(Email::parse(email).unwrap()),
        first_name: "Moved".into(),
        last_name: "In".into(),
        password_hash: PasswordHash::new("pbkdf2_sha256$1000$salt$hash"),
        verified: false,
        active: true,
        pending_email: None,
        date_joined: at(-86_400),
        last_login: Some(at(-60)),
        staff: true,
    }
}

pub async fn imported_address_books_keep_their_ids_and_later_entries_come_after_them(
    engine: Engine,
) {
    let db = open_or_skip!(engine);
    let ada = moved_user(500, "ada", "shared@example.org");
    let bob = moved_user(501, "bob", "shared@example.org");
    let eve = moved_user(502, "eve", "eve@example.org");
    let book = EmailHolding::Book { verified: false };
    // Shared addresses are written unclaimed, so both rows go in.
    assert_eq!(
        db.users
            .put_all(&[ada.clone(), bob.clone(), eve.clone()], book)
            .await
            .unwrap(),
        vec![None, None, None]
    );
    let entry = |id, user: &User, email: &str, verified| EmailAddress {
        id: AddressId::new(id),
        user: user.id,
        email: Email::parse(email).unwrap(),
        verified,
        primary: true,
    };
    let entries = [
        entry(40, &ada, "shared@example.org", true),
        entry(41, &bob, "shared@example.org", true),
        entry(42, &bob, "bob@example.org", false),
    ];
    // Bob's verified copy of ada's verified address is refused; the rest is written.
    assert_eq!(
        db.users.put_addresses(&entries).await.unwrap(),
        vec![None, Some(UniqueField::Email), None]
    );
    assert_eq!(
        db.users.addresses(ada.id).await.unwrap(),
        [entries[0].clone()]
    );
    assert_eq!(
        db.users.addresses(bob.id).await.unwrap(),
        [entries[2].clone()]
    );
    // A rerun replaces a user's entries by the source's.
    let again = [entry(43, &bob, "bob@example.org", false)];
    db.users.put_addresses(&again).await.unwrap();
    assert_eq!(db.users.addresses(bob.id).await.unwrap(), again);
    // Eve had no entry: she gets one, and its id comes after every imported id.
    assert_eq!(db.users.book_unlisted().await.unwrap(), 1);
    let listed = db.users.addresses(eve.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].id.get() > 43 && !listed[0].verified, "{listed:?}");
    assert_eq!(db.users.book_unlisted().await.unwrap(), 0);
    // New registrations' entries too.
    let new = db
        .users
        .create(booked("newcomer", "new@example.org", false), None)
        .await
        .unwrap();
    assert!(db.users.addresses(new.id).await.unwrap()[0].id > listed[0].id);
}

pub async fn put_writes_a_user_under_its_own_id_and_replaces_it_on_a_rerun(engine: Engine) {
    let db = open_or_skip!(engine);
    let moved = moved_user(500, "ada", "ada@example.org");
    assert_eq!(
        db.users
            .put_all(std::slice::from_ref(&moved), EmailHolding::Unique)
            .await
            .unwrap(),
        vec![None]
    );
    assert_eq!(db.users.get(moved.id).await.unwrap(), Some(moved.clone()));

    let mut changed = moved.clone();
    changed.first_name = "Augusta".into();
    changed.verified = true;
    changed.active = false;
    changed.last_login = None;
    assert_eq!(
        db.users
            .put_all(&[changed.clone()], EmailHolding::Unique)
            .await
            .unwrap(),
        vec![None]
    );
    assert_eq!(db.users.get(moved.id).await.unwrap(), Some(changed));

    // Ids the store assigns itself stay above the written ones.
    let native = db
        .users
        .create(new_user("native", Some("native@example.org")), None)
        .await
        .unwrap();
    assert!(native.id.get() > 500, "{:?}", native.id);

    // Uniqueness holds against every other row; a refused row leaves the
    // rest of its batch written.
    let clash = moved_user(900, "other", "ADA@example.org");
    let fine = moved_user(901, "fine", "fine@example.org");
    assert_eq!(
        db.users
            .put_all(&[clash, fine.clone()], EmailHolding::Unique)
            .await
            .unwrap(),
        vec![Some(UniqueField::Email), None]
    );
    assert_eq!(db.users.get(UserId::new(900)).await.unwrap(), None);
    assert_eq!(db.users.get(fine.id).await.unwrap(), Some(fine.clone()));
    let mut found = db
        .users
        .get_all(&[UserId::new(900), fine.id, UserId::new(500)])
        .await
        .unwrap();
    found.sort_by_key(|u| u.id);
    assert_eq!(
        found.iter().map(|u| u.id.get()).collect::<Vec<_>>(),
        vec![500, 901]
    );

    // Reserving keeps new ids above an id the store never held.
    db.users.reserve_ids(UserId::new(5_000)).await.unwrap();
    let later = db
        .users
        .create(new_user("later", Some("later@example.org")), None)
        .await
        .unwrap();
    assert!(later.id.get() > 5_000, "{:?}", later.id);
}

pub async fn an_adopted_token_authenticates_its_user_and_is_adopted_once(engine: Engine) {
    let Some(db) = Db::open_with_lifetimes(
        engine,
        Matching::CaseInsensitive,
        TokenMode::OnePerUser {
            key: Zeroizing::new(b"key".to_vec()),
        },
        Some(Duration::days(30)),
        None,
        None,
    )
    .await
    else {
        return;
    };
    let moved = moved_user(7, "ada", "ada@example.org");
    db.users
        .put_all(std::slice::from_ref(&moved), EmailHolding::Unique)
        .await
        .unwrap();
    let key = AuthToken::new("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b");
    let adoption = |token: &AuthToken, issued| {
        vec![Adoption {
            user: moved.id,
            token: token.clone(),
            kind: CredentialKind::Token,
            issued,
        }]
    };
    assert_eq!(
        db.tokens
            .adopt_all(&adoption(&key, at(-86_400)))
            .await
            .unwrap(),
        vec![Adopted::Stored]
    );
    assert_eq!(
        db.tokens
            .authenticate(&key, CredentialKind::Token)
            .await
            .unwrap(),
        Some(moved.id)
    );
    assert_eq!(
        db.tokens
            .adopt_all(&adoption(&key, at(-86_400)))
            .await
            .unwrap(),
        vec![Adopted::AlreadyStored]
    );
    let listed = db.tokens.list(moved.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].created_at, Some(at(-86_400)));

    // Its lifetime counts from when the old site issued it.
    let stale = AuthToken::new("0000b09199c62bcf9418ad846dd0e4bbdfc6ee4b");
    assert_eq!(
        db.tokens
            .adopt_all(&adoption(&stale, at(-31 * 86_400)))
            .await
            .unwrap(),
        vec![Adopted::Expired]
    );
    assert_eq!(
        db.tokens
            .authenticate(&stale, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
    // Revoking it works like revoking a token issued here.
    assert!(
        db.tokens
            .revoke(&key, CredentialKind::Token)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        db.tokens
            .authenticate(&key, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
}

pub async fn rekeying_for_case_insensitive_matching_reports_clashes_and_changes_nothing_until_none(
    engine: Engine,
) {
    let Some(db) = Db::open(engine, Matching::Exact, TokenMode::PerLogin).await else {
        return;
    };
    let ann = db
        .users
        .create(new_user("Ann", Some("Ann@Example.org")), None)
        .await
        .unwrap();
    let bob = db
        .users
        .create(new_user("Bob", Some("bob@example.org")), None)
        .await
        .unwrap();
    let twin = db
        .users
        .create(new_user("bob", Some("BOB@example.org")), None)
        .await
        .unwrap();
    match db.rekey(Matching::CaseInsensitive).await {
        auth_sql::Rekeyed::Clashes(clashes) => {
            let shown: Vec<_> = clashes
                .iter()
                .map(|c| (c.field, c.key.as_str(), c.ids.clone()))
                .collect();
            assert_eq!(
                shown,
                [
                    ("username", "bob", vec![bob.id.get(), twin.id.get()]),
                    (
                        "email",
                        "bob@example.org",
                        vec![bob.id.get(), twin.id.get()]
                    ),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    // Nothing changed: exact lookups still tell them apart.
    assert_eq!(
        db.users
            .find_by_username("bob", Matching::Exact)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(twin.id)
    );

    db.users
        .update(
            twin.id,
            UserChange {
                username: Some(Username::parse("robert").unwrap()),
                email: Some(Some(Email::parse("robert@example.org").unwrap())),
                ..UserChange::default()
            },
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        db.rekey(Matching::CaseInsensitive).await,
        auth_sql::Rekeyed::Done { users: 3 }
    );
    // The keys now refuse case variants, as a case-insensitive store does.
    let keys: Vec<(String, Option<String>)> = {
        let sql = "SELECT username_key, email_key FROM users ORDER BY id";
        db.raw_rows(sql).await
    };
    assert_eq!(
        keys,
        [
            ("ann".to_owned(), Some("ann@example.org".to_owned())),
            ("bob".to_owned(), Some("bob@example.org".to_owned())),
            ("robert".to_owned(), Some("robert@example.org".to_owned())),
        ]
    );
    let _ = ann;
}
