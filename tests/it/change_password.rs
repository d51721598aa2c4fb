//! POST change-password/.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

const NEW: &str = "a brand new passphrase 7";

#[tokio::test]
async fn change_password_then_only_the_new_password_logs_in() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let reply = app
        .post_as(
            "/change-password/",
            &user.token,
            json!({"old_password": user.password, "password": NEW, "password_confirm": NEW}),
        )
        .await;
    assert_eq!(reply.detail(200), "Password changed successfully");
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
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK,
        "DRR keeps the token"
    );
}

#[tokio::test]
async fn change_password_field_errors() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let post = |body| app.post_as("/change-password/", &user.token, body);
    post(json!({}))
        .await
        .fields(&["old_password", "password", "password_confirm"], false);
    post(json!({"old_password": "wrong one 1", "password": NEW, "password_confirm": NEW}))
        .await
        .fields(&["old_password"], false);
    post(json!({"old_password": user.password, "password": "12345", "password_confirm": "12345"}))
        .await
        .fields(&["password"], false);
    let similar = format!("{}9", user.username);
    post(json!({"old_password": user.password, "password": similar, "password_confirm": similar}))
        .await
        .fields(&["password"], false);
    post(json!({"old_password": user.password, "password": NEW, "password_confirm": "different 123"}))
        .await
        .fields(&["password_confirm"], false);
}

#[tokio::test]
async fn change_password_unauthenticated_is_401() {
    let app = TestApp::drr().await;
    app.post(
        "/change-password/",
        json!({"old_password": "a", "password": "b", "password_confirm": "b"}),
    )
    .await
    .detail(401);
}

#[tokio::test]
async fn change_password_by_session_needs_csrf_and_ends_sessions_in_drr_profile() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let (browser, csrf) = app.browser_login(&user).await;
    let body = json!({"old_password": user.password, "password": NEW, "password_confirm": NEW});
    app.send(browser.post(app.url("/change-password/")).json(&body))
        .await
        .detail(403);
    app.send(
        browser
            .post(app.url("/change-password/"))
            .header("X-CSRFToken", csrf)
            .json(&body),
    )
    .await
    .detail(200);
    app.send(browser.get(app.url("/profile/")))
        .await
        .detail(401);
}

#[tokio::test]
async fn change_password_ends_other_credentials_but_not_the_callers_by_default() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let other = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"old_password": user.password, "password": NEW, "password_confirm": NEW});
    app.post_as("/change-password/", &user.token, body)
        .await
        .detail(200);
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );
    app.get_as("/profile/", &other).await.detail(401);
}
