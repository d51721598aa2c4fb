//! Secrets never reach the logs, even at the most verbose level.

use std::sync::Arc;

use auth_smtp::sink::SmtpSink;
use serde_json::json;

use crate::harness::*;
use crate::processes::*;

#[tokio::test]
async fn checklist_41_no_password_token_or_link_signature_appears_in_the_logs() {
    let log = session_logged_as("text").await;
    assert!(!log.trim_start().starts_with('{'), "not text: {log}");
}

#[tokio::test]
async fn checklist_41_json_logs_are_one_object_per_line_with_the_request_span_and_no_secrets() {
    let log = session_logged_as("json").await;
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let answered: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "answered")
        .collect();
    let login = answered
        .iter()
        .find(|l| l["span"]["route"] == "/api/v1/accounts/login/" && l["span"]["status"] == 200)
        .unwrap_or_else(|| panic!("no answered login in {log}"));
    assert_eq!(login["span"]["method"], "POST");
    assert_eq!(login["level"], "INFO");
    assert!(login["span"]["latency_ms"].as_f64().unwrap() > 0.0);
    let id = login["span"]["request_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "not a generated UUID: {id}");
    // Every request got its own id.
    let mut ids: Vec<&str> = answered
        .iter()
        .map(|l| l["span"]["request_id"].as_str().unwrap())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "request ids repeat");
}

/// Runs a session with passwords, tokens and links through a real server
/// logging at TRACE in `format`, checks that none of them was logged, and
/// returns the log.
async fn session_logged_as(format: &str) -> String {
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "AUTH_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("auth.db").display()),
        ),
        ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
        ("AUTH_LOG", "trace".to_owned()),
        ("AUTH_LOG_FORMAT", format.to_owned()),
    ];
    let server = ServerProcess::start(&env, dir.path()).await;
    let app = TestApp::attach(server.root.clone(), sink);

    let user = app.user().await;
    let link = app.link(&user.email, 1).await;
    let new_password = "another secret passphrase 9";
    app.post(
        "/send-reset-password-link/",
        json!({"login": user.username}),
    )
    .await
    .detail(200);
    let mut reset = json!(app.link(&user.email, 2).await);
    reset["password"] = json!(new_password);
    app.post("/reset-password/", reset.clone())
        .await
        .detail(200);
    let login = app
        .post(
            "/login/",
            json!({"login": user.username, "password": new_password}),
        )
        .await;
    let token = login.body["token"].as_str().unwrap().to_owned();
    app.post(
        "/login/",
        json!({"login": user.username, "password": "a wrong password 1"}),
    )
    .await
    .detail(400);
    app.post_as("/logout/", &token, json!({})).await.detail(200);

    let log = server.log_text();
    assert!(
        log.lines().count() > 10,
        "trace logging produced almost nothing: {log}"
    );
    let secrets = [
        ("password", user.password.as_str()),
        ("new password", new_password),
        ("wrong password", "a wrong password 1"),
        ("first token", user.token.as_str()),
        ("token", token.as_str()),
        ("verification signature", link["signature"].as_str()),
        ("reset signature", reset["signature"].as_str().unwrap()),
        ("secret key", SECRET),
    ];
    for (what, secret) in secrets {
        let leaks: Vec<&str> = log.lines().filter(|l| l.contains(secret)).take(3).collect();
        assert!(
            leaks.is_empty(),
            "the {what} appears in the logs: {leaks:#?}"
        );
    }
    log
}

#[tokio::test]
async fn request_ids_are_echoed_and_kept_only_from_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let database = |name: &str| {
        (
            "AUTH_DATABASE_URL",
            format!("sqlite://{}", dir.path().join(name).display()),
        )
    };
    let untrusted = ServerProcess::start(&[database("a.db")], dir.path()).await;
    let proxied = ServerProcess::start(
        &[
            database("b.db"),
            ("AUTH_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ],
        dir.path(),
    )
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let id_of = |root: String, sent: Option<&'static str>| {
        let client = client.clone();
        async move {
            let mut request = client.get(format!("{root}/api/v1/accounts/profile/"));
            if let Some(sent) = sent {
                request = request.header("x-request-id", sent);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401);
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let chosen = "proxy-chosen-id-1";
    let generated = id_of(untrusted.root.clone(), Some(chosen)).await;
    assert_ne!(generated, chosen, "a client chose its own request id");
    assert_eq!(generated.len(), 36, "{generated}");
    assert_eq!(id_of(proxied.root.clone(), Some(chosen)).await, chosen);
    assert_eq!(id_of(proxied.root.clone(), None).await.len(), 36);
}
