//! POST send-reset-password-link/ and reset-password/.

use auth_core::signing::Salt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

const NEW: &str = "a fresh reset passphrase 3";

async fn reset_link(app: &TestApp, user: &User, n: usize) -> Value {
    let reply = app
        .post(
            "/send-reset-password-link/",
            json!({"login": user.username}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    json!(app.link(&user.email, n).await)
}

#[tokio::test]
async fn send_reset_password_link_mails_a_signed_link_by_username_or_email() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let reply = app
        .post(
            "/send-reset-password-link/",
            json!({"login": user.username}),
        )
        .await;
    assert_eq!(reply.detail(200), "Reset link sent");
    let link = app.link(&user.email, 2).await;
    assert_eq!(link["user_id"], user.id.to_string());
    assert_eq!(app.link_base(&user.email, 2).await, format!("{RESET_URL}?"));
    app.post("/send-reset-password-link/", json!({"login": user.email}))
        .await
        .detail(200);
    assert_eq!(
        app.link(&user.email, 3).await["user_id"],
        user.id.to_string()
    );
}

#[tokio::test]
async fn send_reset_password_link_unknown_user_is_400_in_drr_profile_and_silent_by_default() {
    let drr = TestApp::drr().await;
    assert_eq!(
        drr.post("/send-reset-password-link/", json!({"login": "nobody"}))
            .await
            .detail(400),
        "User not found"
    );
    let safe = TestApp::safe().await;
    let reply = safe
        .post("/send-reset-password-link/", json!({"login": "nobody"}))
        .await;
    assert_eq!(
        reply.detail(200),
        "Reset link sent if the user exists in database"
    );
}

#[tokio::test]
async fn send_reset_password_link_missing_or_blank_login_and_email_field_mode() {
    let app = TestApp::drr().await;
    app.post("/send-reset-password-link/", json!({}))
        .await
        .fields(&["login"], false);
    app.post("/send-reset-password-link/", json!({"login": ""}))
        .await
        .fields(&["login"], false);
    let by_email = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.send_reset_password_link_serializer_use_email = Some(true)
    })
    .await;
    by_email
        .post("/send-reset-password-link/", json!({"login": "x"}))
        .await
        .fields(&["email"], false);
    let user = by_email.user().await;
    by_email
        .post("/send-reset-password-link/", json!({"email": user.email}))
        .await
        .detail(200);
    assert_eq!(
        by_email.link(&user.email, 2).await["user_id"],
        user.id.to_string()
    );
}

#[tokio::test]
async fn reset_password_sets_the_new_password() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let mut body = reset_link(&app, &user, 2).await;
    body["password"] = json!(NEW);
    assert_eq!(
        app.post("/reset-password/", body).await.detail(200),
        "Reset password successful"
    );
    assert_eq!(
        app.post("/login/", json!({"login": user.username, "password": NEW}))
            .await
            .status,
        StatusCode::OK
    );
    app.post(
        "/login/",
        json!({"login": user.username, "password": user.password}),
    )
    .await
    .detail(400);
}

#[tokio::test]
async fn reset_password_field_and_object_errors() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    app.post("/reset-password/", json!({}))
        .await
        .fields(&["password", "signature", "timestamp", "user_id"], false);
    let mut weak = reset_link(&app, &user, 2).await;
    weak["password"] = json!("1234");
    app.post("/reset-password/", weak.clone())
        .await
        .fields(&["password"], true);
    weak["password"] = json!("");
    app.post("/reset-password/", weak.clone())
        .await
        .fields(&["password"], false);
    weak["password"] = json!(NEW);
    weak["timestamp"] = json!("x1");
    app.post("/reset-password/", weak)
        .await
        .fields(&["timestamp"], false);
}

#[tokio::test]
async fn reset_password_rejects_tampered_signature_and_unknown_user() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let mut body = reset_link(&app, &user, 2).await;
    body["password"] = json!(NEW);
    let mut bad = body.clone();
    bad["signature"] = json!(tamper(body["signature"].as_str().unwrap()));
    assert_eq!(
        app.post("/reset-password/", bad).await.detail(400),
        "Invalid signature"
    );
    let mut unknown = body.clone();
    unknown["user_id"] = json!("987654321");
    assert_eq!(
        app.post("/reset-password/", unknown).await.detail(400),
        "User not found"
    );
}

#[tokio::test]
async fn reset_password_link_is_one_time_and_checked_before_the_password_by_default() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let mut body = reset_link(&app, &user, 2).await;
    body["password"] = json!(NEW);
    app.post("/reset-password/", body.clone()).await.detail(200);
    assert_eq!(
        app.post("/reset-password/", body.clone()).await.detail(400),
        "Invalid signature"
    );
    // A weak password with a bogus link learns nothing about the password rules or the user.
    let bogus = json!({"user_id": user.id.to_string(), "timestamp": now(), "signature": "x".repeat(43), "password": "1"});
    app.post("/reset-password/", bogus).await.detail(400);
    // An unknown user is just an invalid link: ids cannot be probed.
    let mut unknown = signed(Salt::reset_password(), "987654", None, now());
    unknown["password"] = json!(NEW);
    assert_eq!(
        app.post("/reset-password/", unknown).await.detail(400),
        "Invalid signature"
    );
}

#[tokio::test]
async fn reset_password_confirm_required_when_configured() {
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.reset_password_serializer_password_confirm = Some(true)
    })
    .await;
    let user = app.user().await;
    let mut body = reset_link(&app, &user, 2).await;
    body["password"] = json!(NEW);
    app.post("/reset-password/", body.clone())
        .await
        .fields(&["password_confirm"], false);
    body["password_confirm"] = json!("something else 12");
    app.post("/reset-password/", body.clone())
        .await
        .fields(&["password_confirm"], true);
    body["password_confirm"] = json!(NEW);
    app.post("/reset-password/", body).await.detail(200);
}

#[tokio::test]
async fn reset_password_expired_link_is_rejected() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let mut body = signed(
        Salt::reset_password(),
        &user.id.to_string(),
        None,
        now() - 86_400 - 5,
    );
    body["password"] = json!(NEW);
    assert_eq!(
        app.post("/reset-password/", body).await.detail(400),
        "Signature expired"
    );
}
