//! POST login/ and logout/.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn login_by_username_and_by_email_return_detail_and_token() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    for login in [&user.username, &user.email] {
        let reply = app
            .post(
                "/login/",
                json!({"login": login, "password": user.password}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.keys(), ["detail", "token"]);
    }
}

#[tokio::test]
async fn login_drr_profile_returns_one_token_per_user_like_drf() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let again = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    assert_eq!(again.body["token"], json!(user.token));
    assert_eq!(user.token.len(), 40);
}

#[tokio::test]
async fn login_safe_default_issues_a_new_token_per_login() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let again = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    assert_ne!(again.body["token"], json!(user.token));
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn login_wrong_password_unknown_user_and_unverified_user_fail_alike() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let unverified = app.unverified().await;
    let wrong = app
        .post(
            "/login/",
            json!({"login": user.username, "password": "nope nope nope"}),
        )
        .await;
    let unknown = app
        .post(
            "/login/",
            json!({"login": "nosuchuser", "password": "whatever 123"}),
        )
        .await;
    let pending = app
        .post(
            "/login/",
            json!({"login": unverified.username, "password": unverified.password}),
        )
        .await;
    for reply in [&wrong, &unknown, &pending] {
        assert_eq!(reply.detail(400), "Login or password invalid.");
    }
}

#[tokio::test]
async fn login_missing_blank_null_and_list_fields_are_field_errors() {
    let app = TestApp::drr().await;
    app.post("/login/", json!({}))
        .await
        .fields(&["login", "password"], false);
    app.post("/login/", json!({"login": "", "password": ""}))
        .await
        .fields(&["login", "password"], false);
    app.post("/login/", json!({"login": null, "password": "x"}))
        .await
        .fields(&["login"], false);
    app.post("/login/", json!({"login": ["a"], "password": "x"}))
        .await
        .fields(&["login"], false);
    app.post("/login/", json!({"username": "a", "password": "x"}))
        .await
        .fields(&["login"], false);
    let no_body = app
        .send(app.request(reqwest::Method::POST, "/login/", None))
        .await;
    no_body.fields(&["login", "password"], false);
}

#[tokio::test]
async fn login_form_encoded_body_works_like_json() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let form = [
        ("login", user.username.as_str()),
        ("password", user.password.as_str()),
    ];
    let reply = app
        .send(
            app.request(reqwest::Method::POST, "/login/", None)
                .form(&form),
        )
        .await;
    assert_eq!(reply.keys(), ["detail", "token"]);
}

#[tokio::test]
async fn login_sets_httponly_session_and_csrf_cookies() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let reply = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    let cookies: Vec<&str> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("sessionid="))
        .expect("sessionid");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("csrftoken="))
        .expect("csrftoken");
    assert!(!csrf.contains("HttpOnly"), "{csrf}");
}

#[tokio::test]
async fn login_errors_under_non_field_errors_when_configured() {
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.use_non_field_errors_key_from_drf_settings = Some(true)
    })
    .await;
    let reply = app
        .post(
            "/login/",
            json!({"login": "nobody", "password": "whatever 1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.keys(), ["non_field_errors"]);
}

#[tokio::test]
async fn logout_with_token_keeps_the_token_in_drr_profile() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    assert_eq!(
        app.post_as("/logout/", &user.token, json!({}))
            .await
            .detail(200),
        "Logout successful"
    );
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_with_token_revokes_it_by_default() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    app.post_as("/logout/", &user.token, json!({}))
        .await
        .detail(200);
    app.get_as("/profile/", &user.token).await.detail(401);
}

#[tokio::test]
async fn logout_revoke_token_invalidates_it_and_login_issues_a_new_one() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    app.post_as("/logout/", &user.token, json!({"revoke_token": true}))
        .await
        .detail(200);
    assert_eq!(
        app.get_as("/profile/", &user.token).await.detail(401),
        "Invalid token."
    );
    let again = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    assert_ne!(again.body["token"], json!(user.token));
}

#[tokio::test]
async fn logout_revoke_token_must_be_boolean() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    app.post_as("/logout/", &user.token, json!({"revoke_token": "maybe"}))
        .await
        .fields(&["revoke_token"], false);
}

#[tokio::test]
async fn logout_revoke_token_by_session_without_token_is_token_not_found() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    app.post_as("/logout/", &user.token, json!({"revoke_token": true}))
        .await
        .detail(200);
    let (browser, csrf) = app.browser_login(&user).await;
    // That login issued a new token; revoke it first so none is left.
    let token = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_as("/logout/", &token, json!({"revoke_token": true}))
        .await
        .detail(200);
    let reply = app
        .send(
            browser
                .post(app.url("/logout/"))
                .header("X-CSRFToken", csrf)
                .json(&json!({"revoke_token": true})),
        )
        .await;
    assert_eq!(reply.detail(400), "Authentication token not found");
}

#[tokio::test]
async fn logout_unauthenticated_is_401_and_get_when_authenticated_is_405() {
    let app = TestApp::drr().await;
    app.post("/logout/", json!({})).await.detail(401);
    let user = app.user().await;
    let reply = app.get_as("/logout/", &user.token).await;
    reply.detail(405);
    assert_eq!(reply.headers["allow"], "POST, OPTIONS");
}

#[tokio::test]
async fn logout_by_session_ends_the_session() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let (browser, csrf) = app.browser_login(&user).await;
    assert_eq!(
        app.send(browser.get(app.url("/profile/"))).await.status,
        StatusCode::OK
    );
    app.send(
        browser
            .post(app.url("/logout/"))
            .header("X-CSRFToken", csrf)
            .json(&json!({})),
    )
    .await
    .detail(200);
    app.send(browser.get(app.url("/profile/")))
        .await
        .detail(401);
}
