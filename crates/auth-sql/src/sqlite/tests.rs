//! The SQLite adapter against a real SQLite database file per test.

use std::sync::Arc;

use auth_core::domain::{
    Email, NewUser, PasswordHash, User, UserChange, UserGuard, UserId, Username,
};
use auth_core::notification::{Notification, NotificationKind};
use auth_core::ports::{
    Announce, Clock, CredentialKind, FixedClock, Matching, Outbox, OutboxId, StoreError,
    TokenManager, UniqueField, UserStore,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::SqliteStore;
use crate::credentials::TokenMode;

const NOW: i64 = 1_700_000_000;

struct Db {
    store: SqliteStore,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

async fn db_with(matching: Matching, tokens: TokenMode) -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let pool = SqliteStore::connect(&url).await.unwrap();
    SqliteStore::migrate(&pool).await.unwrap();
    let clock = Arc::new(FixedClock::new(
        OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
    ));
    let store = SqliteStore::new(pool, matching, tokens, clock.clone());
    Db {
        store,
        clock,
        _dir: dir,
    }
}

async fn db() -> Db {
    db_with(Matching::CaseInsensitive, TokenMode::PerLogin).await
}

fn new_user(name: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        email: email.map(|e| Email::parse(e).unwrap()),
        first_name: "First".into(),
        last_name: String::new(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$s$h"),
        verified: false,
        date_joined: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
    }
}

fn notice(to: &str) -> Notification {
    Notification {
        to: to.into(),
        user: auth_core::notification::Recipient {
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
    fn announce(&self, user: &User) -> Option<Notification> {
        Some(notice(user.email.as_ref()?.as_str()))
    }
}

async fn queued(db: &Db) -> Vec<String> {
    let claimed = db
        .store
        .claim_due(db.clock.now(), 100, Duration::minutes(5))
        .await
        .unwrap();
    claimed.into_iter().map(|q| q.notification.to).collect()
}

#[tokio::test]
async fn create_then_get_and_find_round_trip_every_field() {
    let db = db().await;
    let created = db
        .store
        .create(new_user("Ann", Some("Ann@Example.org")), None)
        .await
        .unwrap();
    assert_eq!(created.username.as_str(), "Ann");
    assert!(!created.verified && created.active);
    assert_eq!(
        db.store.get(created.id).await.unwrap(),
        Some(created.clone())
    );
    let by_name = db
        .store
        .find_by_username("ann", Matching::CaseInsensitive)
        .await
        .unwrap();
    assert_eq!(by_name.map(|u| u.id), Some(created.id));
    let by_email = db
        .store
        .find_by_email("ann@example.ORG", Matching::CaseInsensitive)
        .await
        .unwrap();
    assert_eq!(by_email.map(|u| u.id), Some(created.id));
    assert_eq!(
        db.store
            .find_by_username("ann", Matching::Exact)
            .await
            .unwrap(),
        None
    );
    assert_eq!(db.store.get(UserId::new(999)).await.unwrap(), None);
}

#[tokio::test]
async fn case_insensitive_keys_make_the_database_refuse_case_variants() {
    let db = db().await;
    db.store
        .create(new_user("ann", Some("ann@example.org")), None)
        .await
        .unwrap();
    let err = db
        .store
        .create(new_user("ANN", Some("other@example.org")), None)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(UniqueField::Username));
    let err = db
        .store
        .create(new_user("bob", Some("ANN@example.org")), None)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(UniqueField::Email));
}

#[tokio::test]
async fn exact_keys_allow_case_variants_as_drr_does() {
    let db = db_with(Matching::Exact, TokenMode::PerLogin).await;
    db.store
        .create(new_user("bob", Some("a@x.org")), None)
        .await
        .unwrap();
    db.store
        .create(new_user("Bob", Some("A@x.org")), None)
        .await
        .unwrap();
    let found = db
        .store
        .find_by_email("A@x.org", Matching::Exact)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.username.as_str(), "Bob");
}

#[tokio::test]
async fn create_queues_its_announcement_and_a_failed_create_queues_nothing() {
    let db = db().await;
    db.store
        .create(
            new_user("ann", Some("ann@example.org")),
            Some(Arc::new(Welcome)),
        )
        .await
        .unwrap();
    let failed = db
        .store
        .create(
            new_user("ann", Some("x@example.org")),
            Some(Arc::new(Welcome)),
        )
        .await;
    assert!(failed.is_err());
    assert_eq!(queued(&db).await, ["ann@example.org"]);
}

#[tokio::test]
async fn update_applies_only_given_fields_and_queues_atomically() {
    let db = db().await;
    let user = db
        .store
        .create(new_user("ann", Some("ann@example.org")), None)
        .await
        .unwrap();
    let change = UserChange {
        first_name: Some("Ann".into()),
        verified: Some(true),
        pending_email: Some(Some(Email::parse("new@example.org").unwrap())),
        last_login: Some(OffsetDateTime::from_unix_timestamp(NOW + 5).unwrap()),
        ..UserChange::default()
    };
    let updated = db
        .store
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
    assert_eq!(
        updated.last_login.map(|t| t.unix_timestamp()),
        Some(NOW + 5)
    );
    assert_eq!(queued(&db).await, ["new@example.org"]);

    let cleared = UserChange {
        email: Some(None),
        pending_email: Some(None),
        ..UserChange::default()
    };
    let updated = db.store.update(user.id, cleared, Vec::new()).await.unwrap();
    assert_eq!((updated.email, updated.pending_email), (None, None));
}

#[tokio::test]
async fn guarded_update_applies_once_and_reports_the_loser() {
    let db = db().await;
    let user = db.store.create(new_user("ann", None), None).await.unwrap();
    let verify = || UserChange {
        verified: Some(true),
        guard: Some(UserGuard::Verified(false)),
        ..UserChange::default()
    };
    assert!(db.store.update(user.id, verify(), Vec::new()).await.is_ok());
    assert_eq!(
        db.store
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
        db.store
            .update(user.id, reset.clone(), Vec::new())
            .await
            .is_ok()
    );
    assert_eq!(
        db.store.update(user.id, reset, Vec::new()).await,
        Err(StoreError::GuardFailed)
    );
    assert_eq!(
        db.store
            .update(UserId::new(99), UserChange::default(), Vec::new())
            .await,
        Err(StoreError::NotFound)
    );
}

#[tokio::test]
async fn renaming_onto_a_taken_name_is_a_conflict() {
    let db = db().await;
    db.store.create(new_user("ann", None), None).await.unwrap();
    let bob = db.store.create(new_user("bob", None), None).await.unwrap();
    let change = UserChange {
        username: Some(Username::parse("Ann").unwrap()),
        ..UserChange::default()
    };
    assert_eq!(
        db.store.update(bob.id, change, Vec::new()).await,
        Err(StoreError::Conflict(UniqueField::Username))
    );
}

#[tokio::test]
async fn outbox_leases_retries_and_gives_up() {
    let db = db().await;
    db.store
        .enqueue(vec![notice("a@example.org"), notice("b@example.org")])
        .await
        .unwrap();
    let now = OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    let first = db
        .store
        .claim_due(now, 10, Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        db.store
            .claim_due(now, 10, Duration::minutes(5))
            .await
            .unwrap()
            .is_empty(),
        "leased rows were claimed twice"
    );

    db.store.mark_sent(first[0].id, now).await.unwrap();
    db.store
        .mark_failed(first[1].id, "421 busy", Some(now + Duration::seconds(30)))
        .await
        .unwrap();
    assert!(
        db.store
            .claim_due(now + Duration::seconds(10), 10, Duration::minutes(5))
            .await
            .unwrap()
            .is_empty()
    );
    let retry = db
        .store
        .claim_due(now + Duration::seconds(30), 10, Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!((retry.len(), retry[0].attempts), (1, 1));

    db.store
        .mark_failed(retry[0].id, "550 unknown", None)
        .await
        .unwrap();
    assert!(
        db.store
            .claim_due(now + Duration::days(1), 10, Duration::minutes(5))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again() {
    let db = db().await;
    db.store
        .enqueue(vec![notice("a@example.org")])
        .await
        .unwrap();
    let now = OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    let claimed = db
        .store
        .claim_due(now, 10, Duration::minutes(5))
        .await
        .unwrap();
    let again = db
        .store
        .claim_due(now + Duration::minutes(5), 10, Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|q| q.id).collect::<Vec<OutboxId>>(),
        [claimed[0].id]
    );
}

#[tokio::test]
async fn tokens_are_issued_resolved_revoked_and_stored_only_as_digests() {
    let db = db().await;
    let user = db.store.create(new_user("ann", None), None).await.unwrap();
    let a = db
        .store
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    let b = db
        .store
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    let s = db
        .store
        .provide(user.id, CredentialKind::Session)
        .await
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(
        db.store
            .authenticate(&a, CredentialKind::Token)
            .await
            .unwrap(),
        Some(user.id)
    );
    assert_eq!(
        db.store
            .authenticate(&a, CredentialKind::Session)
            .await
            .unwrap(),
        None,
        "kinds must not mix"
    );

    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM auth_tokens")
        .fetch_all(&db.store.pool)
        .await
        .unwrap();
    for token in [&a, &b, &s] {
        assert!(
            !stored.iter().any(|d| d == token.expose().as_bytes()),
            "a token was stored in clear"
        );
    }

    assert!(db.store.revoke(&a, CredentialKind::Token).await.unwrap());
    assert!(!db.store.revoke(&a, CredentialKind::Token).await.unwrap());
    assert_eq!(
        db.store
            .authenticate(&a, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );

    let revoked = db
        .store
        .revoke_all(user.id, None, Some(s.clone()))
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert_eq!(
        db.store
            .authenticate(&s, CredentialKind::Session)
            .await
            .unwrap(),
        Some(user.id)
    );
    assert_eq!(
        db.store
            .authenticate(&b, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn one_token_per_user_mode_returns_the_same_token_until_revoked() {
    let mode = TokenMode::OnePerUser {
        key: Zeroizing::new(b"secret".to_vec()),
    };
    let db = db_with(Matching::Exact, mode).await;
    let user = db.store.create(new_user("ann", None), None).await.unwrap();
    let first = db
        .store
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    let again = db
        .store
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.expose().len(), 40);
    assert_eq!(
        db.store
            .revoke_all(user.id, Some(CredentialKind::Token), None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.store
            .authenticate(&first, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
    let next = db
        .store
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    assert_ne!(next, first);
    assert!(db.store.revoke(&next, CredentialKind::Token).await.unwrap());
    let after = db
        .store
        .provide(user.id, CredentialKind::Token)
        .await
        .unwrap();
    assert_ne!(after, next, "a revoked token came back");
}
