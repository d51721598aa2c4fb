//! What operators read: `/metrics` after a scripted session, the probes,
//! `METRICS_BIND`, and `/readyz` when mail is stuck.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;
use crate::processes::free_port;

/// The value of one series (`name{labels}` exactly as exposed), if present.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(root: &str) -> String {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{root}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

async fn get(url: String) -> (u16, String) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_requests_logins_hashes_limits_mail_and_live_credentials() {
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.rate_limit_rules = [("login".to_owned(), "50/300,3/300".to_owned())].into();
    })
    .await;
    // Register (a hash, a mail), verify, log in (a check, a token)…
    let user = app.user().await;
    // …two wrong passwords (two checks), then the account's budget of
    // three attempts is spent: throttled before any check.
    for _ in 0..2 {
        app.login(&user.username, "a wrong password 1")
            .await
            .detail(400);
    }
    app.login(&user.username, &user.password).await.detail(429);
    // The verification mail is marked sent before the scrape.
    let db = app.db().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
            .fetch_one(&db)
            .await
            .unwrap();
        if unsent == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the mail was never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut text = scrape(app.root()).await;
    while series(&text, "auth_mail_sent_total") != Some(1.0) {
        assert!(Instant::now() < deadline, "mail not counted: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        text = scrape(app.root()).await;
    }
    let login = "route=\"/api/v1/accounts/login/\",method=\"POST\"";
    let expected = [
        (format!("http_requests_total{{{login},status=\"200\"}}"), 1.0),
        (format!("http_requests_total{{{login},status=\"400\"}}"), 2.0),
        (format!("http_requests_total{{{login},status=\"429\"}}"), 1.0),
        (
            "http_requests_total{route=\"/api/v1/accounts/register/\",method=\"POST\",status=\"201\"}"
                .to_owned(),
            1.0,
        ),
        (
            "http_request_duration_seconds_count{route=\"/api/v1/accounts/login/\"}".to_owned(),
            4.0,
        ),
        ("auth_logins_total{outcome=\"succeeded\"}".to_owned(), 1.0),
        ("auth_logins_total{outcome=\"refused\"}".to_owned(), 2.0),
        ("auth_logins_total{outcome=\"throttled\"}".to_owned(), 1.0),
        ("auth_rate_limited_total{action=\"login\"}".to_owned(), 1.0),
        ("auth_password_hashes_total{operation=\"hash\"}".to_owned(), 1.0),
        ("auth_password_hashes_total{operation=\"verify\"}".to_owned(), 3.0),
        ("auth_password_hash_wait_seconds_count".to_owned(), 4.0),
        ("auth_mail_sent_total".to_owned(), 1.0),
        ("auth_mail_failed_total".to_owned(), 0.0),
        ("auth_mail_queued".to_owned(), 0.0),
        ("auth_mail_oldest_age_seconds".to_owned(), 0.0),
        ("auth_credentials_live{kind=\"token\"}".to_owned(), 1.0),
        // The safe profile's login also starts a session.
        ("auth_credentials_live{kind=\"session\"}".to_owned(), 1.0),
    ];
    for (name, value) in expected {
        assert_eq!(series(&text, &name), Some(value), "{name} in:\n{text}");
    }
    // No dummy check ran: every login named a real account.
    assert_eq!(
        series(&text, "auth_password_hashes_total{operation=\"dummy\"}"),
        None
    );
    // A path no route matched is one series, whatever was asked for.
    get(app.url("/no-such-thing/")).await;
    get(app.url("/nor-this/")).await;
    let text = scrape(app.root()).await;
    assert_eq!(
        series(
            &text,
            "http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"
        ),
        Some(2.0)
    );
    assert!(!text.contains("no-such-thing"));
}

#[tokio::test]
async fn metrics_bind_moves_metrics_and_probes_off_the_public_address() {
    let port = free_port();
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.metrics_bind = Some(format!("127.0.0.1:{port}"));
    })
    .await;
    let ops = format!("http://127.0.0.1:{port}");
    for path in ["/metrics", "/livez", "/healthz", "/readyz"] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            match reqwest::get(format!("{ops}{path}")).await {
                Ok(response) => break response.status().as_u16(),
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{ops}{path}: {e}"),
            }
        };
        assert_eq!(status, 200, "{path} on METRICS_BIND");
        let (public, _) = get(format!("{}{path}", app.root())).await;
        assert_eq!(public, 404, "{path} still public");
    }
    // The API stays where it was.
    app.post("/login/", json!({"login": "x", "password": "y"}))
        .await
        .detail(400);
}

#[tokio::test]
async fn probes_answer_and_readyz_fails_when_mail_is_stuck() {
    // Nothing listens there: every delivery fails and is retried.
    let dead = free_port();
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.mail_url = format!("smtp://127.0.0.1:{dead}");
        c.ready_max_mail_age = 1;
    })
    .await;
    for probe in ["/livez", "/healthz"] {
        let (status, body) = get(format!("{}{probe}", app.root())).await;
        assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    }
    let (status, body) = get(format!("{}/readyz", app.root())).await;
    assert_eq!(status, 200, "{body}");

    app.register_raw(&name(), &format!("{}@example.org", name()), PASSWORD)
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (status, body) = get(format!("{}/readyz", app.root())).await;
        if status == 503 {
            break body;
        }
        assert!(Instant::now() < deadline, "/readyz stayed ready: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");
    assert!(
        body["checks"]["mail"]
            .as_str()
            .unwrap()
            .starts_with("stuck:"),
        "{body}"
    );
    let text = scrape(app.root()).await;
    assert!(series(&text, "auth_mail_failed_total").unwrap() >= 1.0);
    assert_eq!(series(&text, "auth_mail_queued"), Some(1.0));
    assert!(series(&text, "auth_mail_oldest_age_seconds").unwrap() >= 1.0);
}

#[tokio::test]
async fn past_the_hashing_queue_logins_are_shed_with_503_and_retry_after() {
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        // One slow hash at a time and no queue: concurrent logins must shed.
        c.password_hash_workers = Some(1);
        c.password_hash_queue = Some(0);
        c.password_hash_memory_kib = 65_536;
        c.password_hash_iterations = 4;
    })
    .await;
    let names: Vec<String> = (0..6).map(|i| format!("nobody{i}")).collect();
    let attempts = names
        .iter()
        .map(|name| app.login(name, "a wrong password 1"));
    let replies = futures::future::join_all(attempts).await;
    let shed: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    assert!(!shed.is_empty(), "nothing was shed");
    assert!(
        replies.iter().any(|r| r.status == 400),
        "nothing was served"
    );
    for reply in &shed {
        assert_eq!(reply.headers["retry-after"], "1");
        assert!(reply.detail(503).contains("waiting for a password check"));
    }
    let text = scrape(app.root()).await;
    assert_eq!(
        series(&text, "auth_password_hashes_shed_total"),
        Some(shed.len() as f64)
    );
    assert_eq!(
        series(&text, "auth_logins_total{outcome=\"error\"}"),
        Some(shed.len() as f64)
    );
}
