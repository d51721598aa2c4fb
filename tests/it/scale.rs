//! Two `auth-server` processes sharing one PostgreSQL and one Redis.

use std::sync::Arc;
use std::time::Duration;

use auth_smtp::sink::SmtpSink;
use auth_sql::testing::PgDatabase;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;
use crate::processes::*;

struct Pair {
    a: TestApp,
    b: TestApp,
    /// What both were started with, for the CLI beside them.
    env: Vec<(&'static str, String)>,
    _servers: (ServerProcess, ServerProcess),
    _database: PgDatabase,
    _logs: tempfile::TempDir,
}

/// Two instances on one database and one Redis; `None` when a service is
/// unreachable outside CI.
async fn pair() -> Option<Pair> {
    let database = PgDatabase::create().await?;
    let redis = redis_url_or_skip().await?;
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let logs = tempfile::tempdir().unwrap();
    let prefix = format!("e2e:{}:{}:", std::process::id(), free_port());
    let env = [
        ("AUTH_DATABASE_URL", database.url.clone()),
        ("AUTH_REDIS_URL", redis),
        ("AUTH_REDIS_PREFIX", prefix),
        ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
    ];
    // The first start migrates; the second finds the schema in place.
    let first = ServerProcess::start(&env, logs.path()).await;
    let second = ServerProcess::start(&env, logs.path()).await;
    Some(Pair {
        a: TestApp::attach(first.root.clone(), sink.clone()),
        b: TestApp::attach(second.root.clone(), sink),
        env: env.to_vec(),
        _servers: (first, second),
        _database: database,
        _logs: logs,
    })
}

macro_rules! pair_or_skip {
    () => {
        match pair().await {
            Some(pair) => pair,
            None => return,
        }
    };
}

#[tokio::test]
async fn a_token_issued_by_one_instance_authenticates_on_the_other_and_logout_ends_it_on_both() {
    let p = pair_or_skip!();
    let user = p.a.user().await;
    assert_eq!(
        p.b.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );
    p.b.post_as("/logout/", &user.token, json!({}))
        .await
        .detail(200);
    p.a.get_as("/profile/", &user.token).await.detail(401);
}

#[tokio::test]
async fn cached_credentials_and_accounts_end_on_both_instances_at_the_next_request() {
    let p = pair_or_skip!();
    let user = p.a.user().await;
    let other = p.a.login(&user.username, &user.password).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (browser, csrf) = p.a.browser_login(&user).await;
    let profile = |app: &TestApp| app.url("/profile/");
    // Each instance reads each credential twice: both now answer from cache.
    for app in [&p.a, &p.b] {
        for _ in 0..2 {
            for token in [&user.token, &other] {
                assert_eq!(app.get_as("/profile/", token).await.status, StatusCode::OK);
            }
            let read = browser.get(profile(app)).send().await.unwrap();
            assert_eq!(read.status(), StatusCode::OK);
        }
    }

    // One token revoked by id on A: B refuses it at once, keeps the other.
    // Listed by `other` itself: the one marked current is it.
    let listed = p.a.get_as("/credentials/", &other).await;
    let other_id = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["current"] == true)
        .unwrap()["id"]
        .clone();
    p.a.post_as(
        "/credentials/revoke/",
        &user.token,
        json!({"password": user.password, "id": other_id}),
    )
    .await
    .detail(200);
    p.b.get_as("/profile/", &other).await.detail(401);
    assert_eq!(
        p.b.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );

    // A session logged out on A is refused by B at once.
    p.a.send(
        browser
            .post(p.a.url("/logout/"))
            .header("X-CSRFToken", csrf)
            .json(&json!({})),
    )
    .await
    .detail(200);
    let read = browser.get(profile(&p.b)).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::UNAUTHORIZED);

    // The account deactivated by the CLI (a third process): both refuse.
    let done = run_cli(
        &p.env,
        &["users", "deactivate", &user.username, "--json"],
        "",
    )
    .json();
    assert_eq!(done[0]["active"], false);
    p.a.get_as("/profile/", &user.token).await.detail(401);
    p.b.get_as("/profile/", &user.token).await.detail(401);
}

#[tokio::test]
async fn the_same_email_registered_concurrently_on_both_instances_creates_one_account() {
    let p = pair_or_skip!();
    for round in 0..5 {
        let email = format!("race{round}-{}@example.org", name());
        let (name_a, name_b) = (name(), name());
        let (ra, rb) = tokio::join!(
            p.a.register_raw(&name_a, &email, PASSWORD),
            p.b.register_raw(&name_b, &email, PASSWORD),
        );
        // Both get a new account's answer (a taken address is not revealed)…
        assert_eq!(
            [ra.status, rb.status],
            [StatusCode::CREATED; 2],
            "round {round}"
        );
        assert_eq!(ra.keys(), rb.keys());
        // …but the database let one through: one verification link, and
        // one "account exists" notice for the other.
        let mails = p.a.sink.wait_for(&email, 2, Duration::from_secs(10)).await;
        let links = mails
            .iter()
            .filter(|m| m.data.contains("https://front.test/"))
            .count();
        let notices = mails
            .iter()
            .filter(|m| m.data.contains("You already have an account"))
            .count();
        assert_eq!((links, notices), (1, 1), "round {round}");
    }
}

#[tokio::test]
async fn a_link_mailed_by_one_instance_is_accepted_by_the_other() {
    let p = pair_or_skip!();
    let user = p.a.unverified().await;
    let verify = p.a.link(&user.email, 1).await;
    p.b.post("/verify-registration/", json!(verify))
        .await
        .detail(200);
    p.a.post(
        "/send-reset-password-link/",
        json!({"login": user.username}),
    )
    .await
    .detail(200);
    let mut reset = json!(p.a.link(&user.email, 2).await);
    reset["password"] = json!("a different passphrase 5");
    p.b.post("/reset-password/", reset).await.detail(200);
    let login =
        p.a.post(
            "/login/",
            json!({"login": user.username, "password": "a different passphrase 5"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
}

#[tokio::test]
async fn checklist_46_one_time_links_and_logout_hold_across_instances_and_races() {
    let p = pair_or_skip!();
    let user = p.a.user().await;
    p.a.post(
        "/send-reset-password-link/",
        json!({"login": user.username}),
    )
    .await
    .detail(200);
    let mut link = json!(p.a.link(&user.email, 2).await);
    link["password"] = json!("a raced passphrase 20");
    // 20 concurrent uses of one link, spread over both instances.
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let app = if i % 2 == 0 { &p.a } else { &p.b };
            app.post("/reset-password/", link.clone())
        })
        .collect();
    let mut statuses: Vec<u16> = Vec::new();
    for reply in futures::future::join_all(attempts).await {
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    // Replays on either instance stay refused.
    p.b.post("/reset-password/", link.clone()).await.detail(400);
    p.a.post("/reset-password/", link).await.detail(400);

    // A logout on A ends the token on B at once.
    let token =
        p.a.login(&user.username, "a raced passphrase 20")
            .await
            .body["token"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(p.b.get_as("/profile/", &token).await.status, StatusCode::OK);
    p.a.post_as("/logout/", &token, json!({})).await.detail(200);
    p.b.get_as("/profile/", &token).await.detail(401);
}

#[tokio::test]
async fn each_mail_is_sent_once_while_both_instances_drain_the_outbox() {
    let p = pair_or_skip!();
    let mut users = Vec::new();
    for i in 0..10 {
        let app = if i % 2 == 0 { &p.a } else { &p.b };
        users.push(app.unverified().await);
    }
    // Give both workers time to (wrongly) send anything twice.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for user in &users {
        let mails =
            p.a.sink
                .wait_for(&user.email, 1, std::time::Duration::from_secs(10))
                .await;
        assert_eq!(mails.len(), 1, "{} got {} mails", user.email, mails.len());
    }
}

#[tokio::test]
async fn an_account_budget_is_shared_by_both_instances() {
    let p = pair_or_skip!();
    for attempt in 0..LOGIN_ACCOUNT_BUDGET {
        let app = if attempt % 2 == 0 { &p.a } else { &p.b };
        app.post(
            "/login/",
            json!({"login": "victim", "password": "guess 12345"}),
        )
        .await
        .detail(400);
    }
    let reply =
        p.b.post(
            "/login/",
            json!({"login": "victim", "password": "guess 12345"}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
}

/// What the change counters cannot see — a row deleted by hand in SQL — is
/// seen once the cache entry is older than `CREDENTIAL_CACHE_SECONDS`; a
/// live credential's aged entry keeps answering (refreshed from the store).
#[tokio::test]
async fn a_credential_deleted_by_hand_is_refused_once_its_cache_entry_ages() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth.db");
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let env = [
        ("AUTH_DATABASE_URL", format!("sqlite://{}", file.display())),
        ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
        ("AUTH_CREDENTIAL_CACHE_SECONDS", "1".to_owned()),
    ];
    let server = ServerProcess::start(&env, dir.path()).await;
    let app = TestApp::attach(server.root.clone(), sink);
    let user = app.user().await;
    let other = app.login(&user.username, &user.password).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(other, user.token);
    for _ in 0..2 {
        for token in [&user.token, &other] {
            assert_eq!(app.get_as("/profile/", token).await.status, StatusCode::OK);
        }
    }

    let sql = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let digest =
        auth_core::credentials::digest(&auth_core::ports::AuthToken::new(user.token.clone()));
    let deleted = sqlx::query("DELETE FROM auth_tokens WHERE digest = $1")
        .bind(digest)
        .execute(&sql)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 1);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.get_as("/profile/", &user.token).await.detail(401);
    for _ in 0..2 {
        assert_eq!(app.get_as("/profile/", &other).await.status, StatusCode::OK);
    }
}
