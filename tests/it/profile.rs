//! GET / HEAD / PUT / PATCH / POST profile/.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn profile_get_with_token_returns_the_profile() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let reply = app.get_as("/profile/", &user.token).await;
    assert_eq!(
        reply.keys(),
        ["email", "first_name", "id", "last_name", "username"]
    );
    assert_eq!(
        (reply.body["id"].as_i64(), reply.body["email"].as_str()),
        (Some(user.id), Some(user.email.as_str()))
    );
}

#[tokio::test]
async fn profile_head_answers_200_without_body() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let reply = app
        .send(app.request(Method::HEAD, "/profile/", Some(&user.token)))
        .await;
    assert_eq!((reply.status, reply.body.is_null()), (StatusCode::OK, true));
}

#[tokio::test]
async fn profile_patch_updates_names_and_ignores_read_only_fields() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let body = json!({"first_name": "Grace", "last_name": "Hopper", "email": "x@example.org", "id": 1, "password": "Changed-1", "is_staff": true});
    let reply = app
        .send(
            app.request(Method::PATCH, "/profile/", Some(&user.token))
                .json(&body),
        )
        .await;
    assert_eq!(
        (
            reply.body["first_name"].as_str(),
            reply.body["email"].as_str()
        ),
        (Some("Grace"), Some(user.email.as_str()))
    );
    assert_eq!(reply.body["id"], json!(user.id));
    let login = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "password must not change through the profile"
    );
}

#[tokio::test]
async fn profile_put_and_post_are_full_updates_requiring_username() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    for method in [Method::PUT, Method::POST] {
        let reply = app
            .send(
                app.request(method.clone(), "/profile/", Some(&user.token))
                    .json(&json!({"first_name": "Only"})),
            )
            .await;
        reply.fields(&["username"], false);
        let body = json!({"username": user.username, "last_name": "Full"});
        let reply = app
            .send(
                app.request(method, "/profile/", Some(&user.token))
                    .json(&body),
            )
            .await;
        assert_eq!(reply.body["last_name"], json!("Full"));
    }
}

#[tokio::test]
async fn profile_patch_rejects_taken_invalid_and_too_long_values() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let other = app.unverified().await;
    for (body, field) in [
        (json!({"username": other.username}), "username"),
        (json!({"username": "no spaces"}), "username"),
        (json!({"first_name": "x".repeat(151)}), "first_name"),
    ] {
        app.send(
            app.request(Method::PATCH, "/profile/", Some(&user.token))
                .json(&body),
        )
        .await
        .fields(&[field], false);
    }
}

#[tokio::test]
async fn profile_delete_is_405_and_unauthenticated_is_401_with_www_authenticate() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    app.send(app.request(Method::DELETE, "/profile/", Some(&user.token)))
        .await
        .detail(405);
    let reply = app.send(app.request(Method::GET, "/profile/", None)).await;
    assert_eq!(
        reply.detail(401),
        "Authentication credentials were not provided."
    );
    assert_eq!(reply.headers["www-authenticate"], "Token");
}

#[tokio::test]
async fn profile_bad_token_headers_are_401() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    for header in [
        "Token".to_owned(),
        format!("Token {} extra", user.token),
        format!("Token {}", "0".repeat(40)),
    ] {
        app.send(
            app.request(Method::GET, "/profile/", None)
                .header("Authorization", header),
        )
        .await
        .detail(401);
    }
    let reply = app
        .send(
            app.request(Method::GET, "/profile/", None)
                .header("Authorization", format!("Bearer {}", user.token)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "Bearer is accepted too");
}

#[tokio::test]
async fn profile_session_patch_needs_the_csrf_token() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let (browser, csrf) = app.browser_login(&user).await;
    let body = json!({"first_name": "Csrf"});
    let reply = app
        .send(browser.patch(app.url("/profile/")).json(&body))
        .await;
    assert_eq!(reply.detail(403), "CSRF Failed: CSRF token missing.");
    let reply = app
        .send(
            browser
                .patch(app.url("/profile/"))
                .header("X-CSRFToken", "x".repeat(32))
                .json(&body),
        )
        .await;
    reply.detail(403);
    let reply = app
        .send(
            browser
                .patch(app.url("/profile/"))
                .header("X-CSRFToken", csrf)
                .json(&body),
        )
        .await;
    assert_eq!(reply.body["first_name"], json!("Csrf"));
}

#[tokio::test]
async fn profile_session_request_from_a_foreign_origin_is_403() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let (browser, csrf) = app.browser_login(&user).await;
    let reply = app
        .send(
            browser
                .patch(app.url("/profile/"))
                .header("X-CSRFToken", csrf)
                .header("Origin", "https://evil.example")
                .json(&json!({})),
        )
        .await;
    reply.detail(403);
}
