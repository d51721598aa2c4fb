//! POST register-email/ and verify-email/.

use auth_core::signing::Salt;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

fn address() -> String {
    format!("{}@example.org", name())
}

#[tokio::test]
async fn register_email_mails_a_link_to_the_new_address_and_changes_nothing_yet() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let new = address();
    let reply = app
        .post_as("/register-email/", &user.token, json!({"email": new}))
        .await;
    assert_eq!(reply.detail(200), "Register email link email sent");
    let link = app.link(&new, 1).await;
    assert_eq!(
        (link["user_id"].as_str(), link["email"].as_str()),
        (user.id.to_string().as_str(), new.as_str())
    );
    assert_eq!(app.link_base(&new, 1).await, format!("{EMAIL_URL}?"));
    assert_eq!(
        app.get_as("/profile/", &user.token).await.body["email"],
        json!(user.email)
    );
}

#[tokio::test]
async fn verify_email_changes_the_address_without_authentication() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let new = address();
    app.post_as("/register-email/", &user.token, json!({"email": new}))
        .await
        .detail(200);
    let link = app.link(&new, 1).await;
    assert_eq!(
        app.post("/verify-email/", json!(link)).await.detail(200),
        "Email verified successfully"
    );
    assert_eq!(
        app.get_as("/profile/", &user.token).await.body["email"],
        json!(new)
    );
    assert_eq!(
        app.post("/login/", json!({"login": new, "password": user.password}))
            .await
            .status,
        StatusCode::OK
    );
    app.post(
        "/login/",
        json!({"login": user.email, "password": user.password}),
    )
    .await
    .detail(400);
    // A second use finds the address taken (by this very user).
    assert_eq!(
        app.post("/verify-email/", json!(link)).await.detail(400),
        "This email is already registered."
    );
}

#[tokio::test]
async fn register_email_taken_address_gets_a_notice_without_link_and_the_same_answer() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let other = app.user().await;
    app.post_as(
        "/register-email/",
        &user.token,
        json!({"email": other.email}),
    )
    .await
    .detail(200);
    let mails = app
        .sink
        .wait_for(&other.email, 2, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].data.contains("already in use"),
        "{}",
        mails[1].data
    );
    assert!(!mails[1].data.contains("https://front.test/"));
}

#[tokio::test]
async fn register_email_field_errors_and_401() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    app.post_as("/register-email/", &user.token, json!({"email": "nope"}))
        .await
        .fields(&["email"], false);
    app.post_as("/register-email/", &user.token, json!({}))
        .await
        .fields(&["email"], false);
    app.post("/register-email/", json!({"email": address()}))
        .await
        .detail(401);
}

#[tokio::test]
async fn verify_email_rejects_missing_fields_other_address_and_invalid_address() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    app.post("/verify-email/", json!({}))
        .await
        .fields(&["email", "signature", "timestamp", "user_id"], false);
    let new = address();
    app.post_as("/register-email/", &user.token, json!({"email": new}))
        .await
        .detail(200);
    let link = app.link(&new, 1).await;
    let mut other = json!(link);
    other["email"] = json!(address());
    assert_eq!(
        app.post("/verify-email/", other).await.detail(400),
        "Invalid signature"
    );
    let mut invalid = json!(link);
    invalid["email"] = json!("nope");
    app.post("/verify-email/", invalid)
        .await
        .fields(&["email"], false);
    assert_eq!(
        app.get_as("/profile/", &user.token).await.body["email"],
        json!(user.email)
    );
}

#[tokio::test]
async fn verify_email_only_the_newest_request_can_be_confirmed_by_default() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let (b, c) = (address(), address());
    for address in [&b, &c] {
        app.post_as(
            "/register-email/",
            &user.token,
            json!({"email": address, "password": user.password}),
        )
        .await
        .detail(200);
    }
    let old = app.link(&b, 1).await;
    assert_eq!(
        app.post("/verify-email/", json!(old)).await.detail(400),
        "Invalid signature"
    );
    app.post("/verify-email/", json!(app.link(&c, 1).await))
        .await
        .detail(200);
}

#[tokio::test]
async fn verify_email_expired_link_is_rejected() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let new = address();
    let body = signed(
        Salt::register_email(),
        &user.id.to_string(),
        Some(&new),
        now() - 7 * 86_400 - 5,
    );
    assert_eq!(
        app.post("/verify-email/", body).await.detail(400),
        "Signature expired"
    );
}
