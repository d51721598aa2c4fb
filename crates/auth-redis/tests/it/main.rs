//! The Redis adapters against a real Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), each test under its own key prefix so tests run
//! in parallel. An unreachable Redis skips locally and fails under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test binary: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use auth_core::credentials::{CredentialPolicy, TokenMode, credential_id, digest};
use auth_core::domain::UserId;
use auth_core::ports::{
    Adopted, Adoption, AuthToken, Clock, CredentialKind, Decision, Epochs, FixedClock, LiveCount,
    RateLimiter, RateRule, SystemClock, TokenManager,
};
use auth_redis::{RedisConnection, RedisEpochs, RedisRateLimiter, RedisTokenManager};
use time::OffsetDateTime;
use zeroize::Zeroizing;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A connection and a key prefix nobody else uses; `None` = skipped.
async fn redis() -> Option<(RedisConnection, String)> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let conn = match RedisConnection::connect(&url, Duration::from_secs(2)).await {
        Ok(conn) if conn.ping().await.is_ok() => conn,
        other => {
            let reason = other
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "no PONG".into());
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but Redis at {url} is unreachable: {reason}");
            }
            eprintln!(
                "skipped: Redis at {url} is unreachable ({reason}); `cargo xtask services` starts one"
            );
            return None;
        }
    };
    let prefix = format!(
        "test:{}:{}:",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Some((conn, prefix))
}

macro_rules! redis_or_skip {
    () => {
        match redis().await {
            Some(found) => found,
            None => return,
        }
    };
}

async fn keys(conn: &RedisConnection, prefix: &str) -> Vec<String> {
    conn.run(redis::cmd("KEYS").arg(format!("{prefix}*")))
        .await
        .unwrap()
}

#[tokio::test]
async fn tokens_are_issued_resolved_and_revoked_one_by_one() {
    let (conn, prefix) = redis_or_skip!();
    let tokens = RedisTokenManager::new(
        conn.clone(),
        &prefix,
        TokenMode::PerLogin,
        CredentialPolicy::default(),
        Arc::new(SystemClock),
    );
    let user = UserId::new(7);
    let a = tokens.provide(user, CredentialKind::Token).await.unwrap();
    let b = tokens.provide(user, CredentialKind::Token).await.unwrap();
    assert_ne!(a, b);
    assert_eq!(
        tokens
            .authenticate(&a, CredentialKind::Token)
            .await
            .unwrap(),
        Some(user)
    );
    assert_eq!(
        tokens
            .authenticate(&a, CredentialKind::Session)
            .await
            .unwrap(),
        None,
        "kinds must not mix"
    );
    assert!(
        tokens
            .revoke(&a, CredentialKind::Token)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        tokens.revoke(&a, CredentialKind::Token).await.unwrap(),
        None
    );
    assert_eq!(
        tokens
            .authenticate(&a, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokens
            .authenticate(&b, CredentialKind::Token)
            .await
            .unwrap(),
        Some(user)
    );
}

#[tokio::test]
async fn only_digests_are_stored() {
    let (conn, prefix) = redis_or_skip!();
    let tokens = RedisTokenManager::new(
        conn.clone(),
        &prefix,
        TokenMode::PerLogin,
        CredentialPolicy::default(),
        Arc::new(SystemClock),
    );
    let token = tokens
        .provide(UserId::new(1), CredentialKind::Session)
        .await
        .unwrap();
    let stored = keys(&conn, &prefix).await;
    assert_eq!(
        stored.len(),
        2,
        "expected the token key and the user's index: {stored:?}"
    );
    for key in stored {
        assert!(!key.contains(token.expose()), "{key}");
        let kind: String = conn.run(redis::cmd("TYPE").arg(&key)).await.unwrap();
        let dump: Vec<String> = if kind == "set" {
            conn.run(redis::cmd("SMEMBERS").arg(&key)).await.unwrap()
        } else {
            vec![conn.run(redis::cmd("GET").arg(&key)).await.unwrap()]
        };
        assert!(dump.iter().all(|v| !v.contains(token.expose())), "{dump:?}");
    }
}

#[tokio::test]
async fn revoke_all_walks_the_per_user_index_and_can_keep_one() {
    let (conn, prefix) = redis_or_skip!();
    let tokens = RedisTokenManager::new(
        conn,
        &prefix,
        TokenMode::PerLogin,
        CredentialPolicy::default(),
        Arc::new(SystemClock),
    );
    let (ann, bob) = (UserId::new(1), UserId::new(2));
    let t1 = tokens.provide(ann, CredentialKind::Token).await.unwrap();
    let t2 = tokens.provide(ann, CredentialKind::Token).await.unwrap();
    let s1 = tokens.provide(ann, CredentialKind::Session).await.unwrap();
    let other = tokens.provide(bob, CredentialKind::Token).await.unwrap();
    assert_eq!(
        tokens
            .revoke_all(ann, Some(CredentialKind::Session), None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tokens
            .authenticate(&s1, CredentialKind::Session)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokens
            .revoke_all(ann, None, Some(t2.clone()))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tokens
            .authenticate(&t1, CredentialKind::Token)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokens
            .authenticate(&t2, CredentialKind::Token)
            .await
            .unwrap(),
        Some(ann)
    );
    assert_eq!(
        tokens
            .authenticate(&other, CredentialKind::Token)
            .await
            .unwrap(),
        Some(bob)
    );
}

/// A clock standing at a fixed time, for expiry tests that never sleep.
fn fixed_clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
    ))
}

async fn live(tokens: &RedisTokenManager, token: &AuthToken) -> bool {
    tokens
        .authenticate(token, CredentialKind::Token)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime_by_the_clock_and_sliding_use_extends_it() {
    let (conn, prefix) = redis_or_skip!();
    let policy = CredentialPolicy {
        token_lifetime: Some(time::Duration::seconds(400)),
        ..CredentialPolicy::default()
    };
    let clock = fixed_clock();
    let fixed = RedisTokenManager::new(
        conn.clone(),
        format!("{prefix}f:"),
        TokenMode::PerLogin,
        policy,
        clock.clone(),
    );
    let token = fixed
        .provide(UserId::new(1), CredentialKind::Token)
        .await
        .unwrap();
    // Redis tidies the key after the lifetime too.
    let ttl: i64 = conn
        .run(redis::cmd("PTTL").arg(format!("{prefix}f:t:{}", hex::encode(digest(&token)))))
        .await
        .unwrap();
    assert!((1..=400_000).contains(&ttl), "PTTL {ttl}");
    clock.advance(time::Duration::seconds(250));
    assert!(live(&fixed, &token).await);
    clock.advance(time::Duration::seconds(151));
    assert!(!live(&fixed, &token).await, "the lifetime did not end it");

    let clock = fixed_clock();
    let sliding = RedisTokenManager::new(
        conn,
        format!("{prefix}s:"),
        TokenMode::PerLogin,
        CredentialPolicy {
            sliding: true,
            ..policy
        },
        clock.clone(),
    );
    let token = sliding
        .provide(UserId::new(1), CredentialKind::Token)
        .await
        .unwrap();
    for _ in 0..3 {
        clock.advance(time::Duration::seconds(250));
        assert!(
            live(&sliding, &token).await,
            "use did not slide the lifetime"
        );
    }
    clock.advance(time::Duration::seconds(401));
    assert!(
        !live(&sliding, &token).await,
        "an unused token did not expire"
    );
}

#[tokio::test]
async fn one_token_per_user_mode_returns_the_same_token_until_revoked() {
    let (conn, prefix) = redis_or_skip!();
    let mode = TokenMode::OnePerUser {
        key: Zeroizing::new(b"secret".to_vec()),
    };
    let tokens = RedisTokenManager::new(
        conn,
        &prefix,
        mode,
        CredentialPolicy::default(),
        Arc::new(SystemClock),
    );
    let user = UserId::new(3);
    let first = tokens.provide(user, CredentialKind::Token).await.unwrap();
    assert_eq!(
        first,
        tokens.provide(user, CredentialKind::Token).await.unwrap()
    );
    assert_eq!(
        tokens
            .revoke_all(user, Some(CredentialKind::Token), None)
            .await
            .unwrap(),
        1
    );
    let next = tokens.provide(user, CredentialKind::Token).await.unwrap();
    assert_ne!(next, first);
    assert!(
        tokens
            .revoke(&next, CredentialKind::Token)
            .await
            .unwrap()
            .is_some()
    );
    assert_ne!(
        tokens.provide(user, CredentialKind::Token).await.unwrap(),
        next,
        "a revoked token came back"
    );
}

#[tokio::test]
async fn rate_limiter_counts_per_key_across_handles_and_resets() {
    let (conn, prefix) = redis_or_skip!();
    // Two handles stand for two server instances sharing the counters.
    let a = RedisRateLimiter::new(conn.clone(), &prefix);
    let b = RedisRateLimiter::new(conn, &prefix);
    let rule = RateRule {
        limit: 3,
        window: time::Duration::seconds(60),
    };
    assert_eq!(
        a.hit("login:ann", &rule).await.unwrap(),
        Decision::Allowed { remaining: 2 }
    );
    assert_eq!(
        b.hit("login:ann", &rule).await.unwrap(),
        Decision::Allowed { remaining: 1 }
    );
    assert_eq!(
        a.hit("login:ann", &rule).await.unwrap(),
        Decision::Allowed { remaining: 0 }
    );
    let Decision::Limited { retry_after } = b.hit("login:ann", &rule).await.unwrap() else {
        panic!("the fourth hit must be limited")
    };
    assert!(
        retry_after > time::Duration::seconds(50) && retry_after <= time::Duration::seconds(60)
    );
    assert_eq!(
        a.hit("login:bob", &rule).await.unwrap(),
        Decision::Allowed { remaining: 2 },
        "keys must not share"
    );
    b.reset("login:ann").await.unwrap();
    assert_eq!(
        a.hit("login:ann", &rule).await.unwrap(),
        Decision::Allowed { remaining: 2 }
    );
}

#[tokio::test]
async fn rate_limit_window_ends() {
    let (conn, prefix) = redis_or_skip!();
    let limiter = RedisRateLimiter::new(conn, &prefix);
    let rule = RateRule {
        limit: 1,
        window: time::Duration::milliseconds(300),
    };
    assert!(matches!(
        limiter.hit("k", &rule).await.unwrap(),
        Decision::Allowed { .. }
    ));
    assert!(matches!(
        limiter.hit("k", &rule).await.unwrap(),
        Decision::Limited { .. }
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(
        limiter.hit("k", &rule).await.unwrap(),
        Decision::Allowed { .. }
    ));
}

#[tokio::test]
async fn owners_list_their_live_credentials_and_revoke_one_by_its_public_id() {
    let (conn, prefix) = redis_or_skip!();
    let tokens = RedisTokenManager::new(
        conn,
        &prefix,
        TokenMode::PerLogin,
        CredentialPolicy::default(),
        Arc::new(SystemClock),
    );
    let (ann, bob) = (UserId::new(1), UserId::new(2));
    let token = tokens.provide(ann, CredentialKind::Token).await.unwrap();
    let session = tokens.provide(ann, CredentialKind::Session).await.unwrap();
    let bobs = tokens.provide(bob, CredentialKind::Token).await.unwrap();
    let id = |t: &AuthToken| credential_id(&digest(t));

    let mut listed: Vec<_> = tokens
        .list(ann)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.kind))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (id(&token), CredentialKind::Token),
        (id(&session), CredentialKind::Session),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(listed, expected);

    assert!(
        !tokens.revoke_id(ann, &id(&bobs)).await.unwrap(),
        "not ann's"
    );
    assert!(tokens.revoke_id(ann, &id(&session)).await.unwrap());
    assert!(!tokens.revoke_id(ann, &id(&session)).await.unwrap());
    assert_eq!(
        tokens
            .authenticate(&session, CredentialKind::Session)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokens
            .authenticate(&token, CredentialKind::Token)
            .await
            .unwrap(),
        Some(ann)
    );
    assert_eq!(
        tokens
            .authenticate(&bobs, CredentialKind::Token)
            .await
            .unwrap(),
        Some(bob)
    );
    assert_eq!(tokens.list(ann).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unused_tokens_die_after_the_idle_timeout_and_use_does_not_pass_the_lifetime() {
    let (conn, prefix) = redis_or_skip!();
    let clock = fixed_clock();
    let tokens = RedisTokenManager::new(
        conn,
        &prefix,
        TokenMode::PerLogin,
        CredentialPolicy {
            token_lifetime: Some(time::Duration::hours(6)),
            idle_timeout: Some(time::Duration::hours(2)),
            ..CredentialPolicy::default()
        },
        clock.clone(),
    );
    let user = UserId::new(1);
    let idle = tokens.provide(user, CredentialKind::Token).await.unwrap();
    let busy = tokens.provide(user, CredentialKind::Token).await.unwrap();
    for _ in 0..5 {
        clock.advance(time::Duration::minutes(30));
        assert!(live(&tokens, &busy).await, "a token in use timed out");
    }
    assert!(!live(&tokens, &idle).await, "an idle token was accepted");
    assert_eq!(tokens.list(user).await.unwrap().len(), 1);
    // Used all along, it still ends with its 6 h lifetime (6.5 h on).
    for _ in 0..8 {
        clock.advance(time::Duration::minutes(30));
        let _ = live(&tokens, &busy).await;
    }
    assert!(!live(&tokens, &busy).await, "use extended the lifetime");
}

#[tokio::test]
async fn an_adopted_token_keeps_its_issue_time_and_is_adopted_once() {
    let (conn, prefix) = redis_or_skip!();
    let clock = fixed_clock();
    let tokens = RedisTokenManager::new(
        conn.clone(),
        prefix.clone(),
        TokenMode::OnePerUser {
            key: Zeroizing::new(b"key".to_vec()),
        },
        CredentialPolicy {
            token_lifetime: Some(time::Duration::seconds(400)),
            ..CredentialPolicy::default()
        },
        clock.clone(),
    );
    let user = UserId::new(7);
    let key = AuthToken::new("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b");
    let issued = clock.now() - time::Duration::seconds(300);
    let adopt = |token: AuthToken, issued| {
        let tokens = tokens.clone();
        async move {
            let batch = [Adoption {
                user,
                token,
                kind: CredentialKind::Token,
                issued,
            }];
            tokens.adopt_all(&batch).await.unwrap().remove(0)
        }
    };
    assert_eq!(adopt(key.clone(), issued).await, Adopted::Stored);
    assert_eq!(adopt(key.clone(), issued).await, Adopted::AlreadyStored);
    assert!(live(&tokens, &key).await);
    // Redis keeps it only for what is left of the lifetime.
    let ttl: i64 = conn
        .run(redis::cmd("PTTL").arg(format!("{prefix}t:{}", hex::encode(digest(&key)))))
        .await
        .unwrap();
    assert!((1..=100_000).contains(&ttl), "PTTL {ttl}");
    assert_eq!(tokens.list(user).await.unwrap().len(), 1);
    clock.advance(time::Duration::seconds(101));
    assert!(
        !live(&tokens, &key).await,
        "the old site's issue time was not kept"
    );

    let stale = AuthToken::new("0000b09199c62bcf9418ad846dd0e4bbdfc6ee4b");
    assert_eq!(
        adopt(stale.clone(), clock.now() - time::Duration::seconds(401)).await,
        Adopted::Expired
    );
    assert!(!live(&tokens, &stale).await);
}

#[tokio::test]
async fn live_credentials_are_counted_by_kind_under_the_prefix_only() {
    let (conn, prefix) = redis_or_skip!();
    let policy = CredentialPolicy {
        session_lifetime: Some(time::Duration::days(1)),
        ..CredentialPolicy::default()
    };
    let clock = fixed_clock();
    let tokens = RedisTokenManager::new(
        conn.clone(),
        prefix.clone(),
        TokenMode::PerLogin,
        policy,
        clock.clone(),
    );
    // Another prefix's credentials are another deployment's.
    let other = RedisTokenManager::new(
        conn,
        format!("{prefix}other:"),
        TokenMode::PerLogin,
        policy,
        clock.clone(),
    );
    other
        .provide(UserId::new(9), CredentialKind::Token)
        .await
        .unwrap();
    let count = |tokens, sessions| LiveCount { tokens, sessions };
    assert_eq!(tokens.count_live().await.unwrap(), count(0, 0));
    let first = tokens
        .provide(UserId::new(1), CredentialKind::Token)
        .await
        .unwrap();
    tokens
        .provide(UserId::new(2), CredentialKind::Token)
        .await
        .unwrap();
    tokens
        .provide(UserId::new(1), CredentialKind::Session)
        .await
        .unwrap();
    assert_eq!(tokens.count_live().await.unwrap(), count(2, 1));
    clock.advance(time::Duration::days(2));
    assert_eq!(tokens.count_live().await.unwrap(), count(2, 0));
    tokens.revoke(&first, CredentialKind::Token).await.unwrap();
    assert_eq!(tokens.count_live().await.unwrap(), count(1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gathered_counter_reads_see_every_bump_made_before_they_began() {
    let (conn, prefix) = redis_or_skip!();
    // Two handles, as two instances would hold: one bumps, one reads.
    let reader = Arc::new(RedisEpochs::new(conn.clone(), prefix.clone()));
    let writer = RedisEpochs::new(conn.clone(), prefix.clone());
    let users: Vec<UserId> = (1..=64).map(UserId::new).collect();
    for round in 1..=20_u64 {
        if round % 2 == 0 {
            writer.bump_all(&users).await.unwrap();
        } else {
            reader.bump_all(&users).await.unwrap();
        }
        // Every read at once, so the reader task gathers them into MGETs.
        let reads: Vec<_> = users
            .iter()
            .map(|&user| {
                let reader = reader.clone();
                tokio::spawn(async move { reader.current(user).await.unwrap() })
            })
            .collect();
        for read in reads {
            // bump_all moves each slot once, however many users share it.
            assert_eq!(read.await.unwrap(), round);
        }
    }
}
