//! Secrets never reach the logs, even at the most verbose level.

use std::sync::Arc;

use auth_smtp::sink::SmtpSink;
use serde_json::json;

use crate::harness::*;
use crate::processes::*;

#[tokio::test]
async fn checklist_41_no_password_token_or_link_signature_appears_in_the_logs() {
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "AUTH_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("auth.db").display()),
        ),
        ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
        ("AUTH_LOG", "trace".to_owned()),
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
}
