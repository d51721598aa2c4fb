//! POST verify-registration/.

use auth_core::signing::Salt;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn verify_registration_activates_the_user_and_returns_detail_only() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let reply = app.post("/verify-registration/", json!(link)).await;
    reply.detail(200);
    let login = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
}

#[tokio::test]
async fn verify_registration_signature_is_drr_hmac_of_link_data() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let expected = signed(
        Salt::register(),
        &link["user_id"],
        None,
        link["timestamp"].parse().unwrap(),
    );
    assert_eq!(json!(link["signature"]), expected["signature"]);
}

#[tokio::test]
async fn verify_registration_rejects_tampered_timestamp_and_signature() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let ts: i64 = link["timestamp"].parse().unwrap();
    let mut bad = json!(link);
    bad["timestamp"] = json!((ts - 1).to_string());
    assert_eq!(
        app.post("/verify-registration/", bad).await.detail(400),
        "Invalid signature"
    );
    let mut bad = json!(link);
    bad["signature"] = json!(tamper(&link["signature"]));
    app.post("/verify-registration/", bad).await.detail(400);
    app.post(
        "/login/",
        json!({"login": user.username, "password": user.password}),
    )
    .await
    .detail(400);
}

#[tokio::test]
async fn verify_registration_rejects_expired_links() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let old = now() - 7 * 86_400 - 5;
    let reply = app
        .post(
            "/verify-registration/",
            signed(Salt::register(), &user.id.to_string(), None, old),
        )
        .await;
    assert_eq!(reply.detail(400), "Signature expired");
}

#[tokio::test]
async fn verify_registration_accepts_a_link_signed_outside_the_server_and_json_numbers() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let mut body = signed(Salt::register(), &user.id.to_string(), None, now() - 60);
    body["user_id"] = json!(user.id);
    app.post("/verify-registration/", body).await.detail(200);
}

#[tokio::test]
async fn verify_registration_missing_blank_and_non_integer_fields() {
    let app = TestApp::drr().await;
    app.post("/verify-registration/", json!({}))
        .await
        .fields(&["signature", "timestamp", "user_id"], false);
    app.post(
        "/verify-registration/",
        json!({"user_id": "1", "timestamp": "soon", "signature": ""}),
    )
    .await
    .fields(&["signature", "timestamp"], false);
}

#[tokio::test]
async fn verify_registration_form_encoded_link() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let pairs: Vec<(String, String)> = link.into_iter().collect();
    let reply = app
        .send(
            app.request(reqwest::Method::POST, "/verify-registration/", None)
                .form(&pairs),
        )
        .await;
    reply.detail(200);
}

#[tokio::test]
async fn verify_registration_one_time_link_dies_once_used_and_unknown_user_is_user_not_found() {
    let app = TestApp::safe().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    app.post("/verify-registration/", json!(link))
        .await
        .detail(200);
    assert_eq!(
        app.post("/verify-registration/", json!(link))
            .await
            .detail(400),
        "Invalid signature"
    );
    let unknown = signed(Salt::register_one_time(false), "987654", None, now());
    assert_eq!(
        app.post("/verify-registration/", unknown).await.detail(400),
        "User not found"
    );
}

#[tokio::test]
async fn verify_registration_auto_login_returns_a_token_and_opens_a_session() {
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.register_verification_auto_login = Some(true);
        c.register_verification_one_time_use = Some(true);
    })
    .await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let browser = app.browser();
    let reply = app
        .send(
            browser
                .post(app.url("/verify-registration/"))
                .json(&json!(link)),
        )
        .await;
    assert_eq!(reply.keys(), ["detail", "token"]);
    let token = reply.body["token"].as_str().unwrap();
    assert_eq!(app.get_as("/profile/", token).await.status, StatusCode::OK);
    assert_eq!(
        app.send(browser.get(app.url("/profile/"))).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn verify_registration_when_verification_is_off_is_404() {
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.register_verification_enabled = Some(false)
    })
    .await;
    app.post("/verify-registration/", json!({}))
        .await
        .detail(404);
    // …and registration makes an active user at once.
    let u = name();
    assert_eq!(
        app.register_raw(&u, &format!("{u}@example.org"), PASSWORD)
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post("/login/", json!({"login": u, "password": PASSWORD}))
            .await
            .status,
        StatusCode::OK
    );
}
