//! The djoser dialect (`API=djoser`, djoser-api.md): its own paths, fields,
//! 204s and Django uid/token links, over the same core.

use auth_server::config::Api;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

const LINKS: &str = "https://frontend.example/";

/// A djoser server as the djoser conformance suite's main profile runs it.
async fn djoser(tweak: impl FnOnce(&mut auth_server::Config)) -> TestApp {
    TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.api = Api::Djoser;
        c.api_prefix = "/auth".into();
        c.user_login_fields = None;
        c.djoser_send_activation_email = Some(true);
        c.djoser_email_frontend_protocol = Some("https".into());
        c.djoser_email_frontend_domain = Some("frontend.example".into());
        tweak(c);
    })
    .await
}

/// `(uid, token)` of a `…/{uid}/{token}` link.
fn uid_token(link: &str) -> (String, String) {
    let mut parts = link.trim_end_matches('/').rsplit('/');
    let token = parts.next().unwrap().to_owned();
    let uid = parts.next().unwrap().to_owned();
    (uid, token)
}

/// Creates and activates a user; returns its name, address and uid.
async fn active_user(app: &TestApp) -> (String, String, String) {
    let username = name();
    let email = format!("{username}@example.org");
    let created = app
        .post(
            "/users/",
            json!({"username": username, "password": PASSWORD, "email": email}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let link = app.mailed_link(&email, 1, LINKS).await;
    let (uid, token) = uid_token(&link);
    let activated = app
        .post("/users/activation/", json!({"uid": uid, "token": token}))
        .await;
    assert_eq!(
        activated.status,
        StatusCode::NO_CONTENT,
        "{}",
        activated.body
    );
    (username, email, uid)
}

async fn token_login(app: &TestApp, username: &str, password: &str) -> String {
    let reply = app
        .post(
            "/token/login/",
            json!({"username": username, "password": password}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.keys(), ["auth_token"]);
    reply.body["auth_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn djoser_create_activate_login_read_logout() {
    let app = djoser(|_| {}).await;
    let username = name();
    let email = format!("{username}@example.org");
    let created = app
        .post(
            "/users/",
            json!({"username": username, "password": PASSWORD, "email": email, "is_staff": true}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.keys(), ["email", "id", "username"]);
    let id = created.body["id"].as_i64().unwrap();

    // Inactive until the mailed link is used; the login failure says nothing more.
    let refused = app
        .post(
            "/token/login/",
            json!({"username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.keys(), ["non_field_errors"]);

    let link = app.mailed_link(&email, 1, LINKS).await;
    assert!(
        link.starts_with("https://frontend.example/activate/"),
        "{link}"
    );
    let (uid, token) = uid_token(&link);
    let body = json!({"uid": uid, "token": token});
    let first = app.post("/users/activation/", body.clone()).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    assert!(first.body.is_null() && first.headers.get("content-type").is_none());
    // Activation does not consume the token: a second use is stale, not invalid.
    app.post("/users/activation/", body).await.detail(403);

    let key = token_login(&app, &username, PASSWORD).await;
    assert!(
        key.len() == 40 && key.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    assert_eq!(
        token_login(&app, &username, PASSWORD).await,
        key,
        "one DRF token per user"
    );
    let me = app.get_as("/users/me/", &key).await;
    assert_eq!(
        me.body,
        json!({"email": email, "id": id, "username": username})
    );

    let out = app.post_as("/token/logout/", &key, json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    app.get_as("/users/me/", &key).await.detail(401);
}

#[tokio::test]
async fn djoser_reset_link_checks_the_password_first_and_dies_once_used() {
    let app = djoser(|_| {}).await;
    let (username, email, _) = active_user(&app).await;
    let sent = app
        .post("/users/reset_password/", json!({"email": email}))
        .await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    let link = app.mailed_link(&email, 2, LINKS).await;
    assert!(
        link.starts_with("https://frontend.example/password/reset/confirm/"),
        "{link}"
    );
    let (uid, token) = uid_token(&link);

    // A weak password with a garbage uid reports the password, as djoser does.
    let weak = app
        .post(
            "/users/reset_password_confirm/",
            json!({"uid": "garbage", "token": token, "new_password": "123"}),
        )
        .await;
    assert_eq!(weak.keys(), ["new_password"], "{}", weak.body);

    let new_password = "another long passphrase 7";
    let body = json!({"uid": uid, "token": token, "new_password": new_password});
    let done = app
        .post("/users/reset_password_confirm/", body.clone())
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    let again = app.post("/users/reset_password_confirm/", body).await;
    assert_eq!(again.keys(), ["token"], "the link died with the password");
    token_login(&app, &username, new_password).await;
}

#[tokio::test]
async fn djoser_unknown_address_is_a_bare_list_only_when_configured() {
    let quiet = djoser(|_| {}).await;
    let reply = quiet
        .post(
            "/users/reset_password/",
            json!({"email": "nobody@example.org"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let telling = djoser(|c| c.djoser_password_reset_show_email_not_found = Some(true)).await;
    let reply = telling
        .post(
            "/users/reset_password/",
            json!({"email": "nobody@example.org"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn djoser_actions_check_permission_before_the_method() {
    let app = djoser(|_| {}).await;
    let (username, _, _) = active_user(&app).await;
    let anonymous = app
        .send(app.request(Method::GET, "/users/activation/", None))
        .await;
    anonymous.detail(401);
    let key = token_login(&app, &username, PASSWORD).await;
    let known = app
        .send(app.request(Method::GET, "/users/activation/", Some(&key)))
        .await;
    known.detail(405);
    // token/login/ is open and needs no trailing slash.
    let bare = app
        .send(
            app.request(Method::POST, "/token/login", None)
                .json(&json!({})),
        )
        .await;
    assert_eq!(bare.keys(), ["non_field_errors"]);
}

#[tokio::test]
async fn djoser_others_are_hidden_or_forbidden_as_hide_users_says() {
    for (hide, status) in [(true, 404), (false, 403)] {
        let app = djoser(|c| c.djoser_hide_users = Some(hide)).await;
        let (alice, _, _) = active_user(&app).await;
        let (_, _, bob_uid) = active_user(&app).await;
        let bob = auth_core::signing::uid::from_base64(&bob_uid)
            .unwrap()
            .get();
        let key = token_login(&app, &alice, PASSWORD).await;
        app.get_as(&format!("/users/{bob}/"), &key)
            .await
            .detail(status);
        let listed = app.get_as("/users/", &key).await;
        let expected = if hide { 1 } else { 2 };
        assert_eq!(
            listed.body.as_array().map(Vec::len),
            Some(expected),
            "{}",
            listed.body
        );
    }
}

#[tokio::test]
async fn djoser_jwt_pair_refresh_verify_and_bearer() {
    let app = djoser(|_| {}).await;
    let (username, _, _) = active_user(&app).await;
    let wrong = app
        .post(
            "/jwt/create/",
            json!({"username": username, "password": "wrong"}),
        )
        .await;
    wrong.detail(401);
    let pair = app
        .post(
            "/jwt/create/",
            json!({"username": username, "password": PASSWORD}),
        )
        .await;
    assert_eq!(pair.keys(), ["access", "refresh"], "{}", pair.body);
    let access = pair.body["access"].as_str().unwrap().to_owned();
    let refresh = pair.body["refresh"].as_str().unwrap().to_owned();

    let me = app
        .send(
            app.request(Method::GET, "/users/me/", None)
                .header("Authorization", format!("Bearer {access}")),
        )
        .await;
    assert_eq!(me.body["username"], json!(username));

    // A refresh token is no access token, and garbage is no token at all.
    for bad in [refresh.as_str(), "garbage"] {
        let refused = app
            .send(
                app.request(Method::GET, "/users/me/", None)
                    .header("Authorization", format!("Bearer {bad}")),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused.body["code"],
            json!("token_not_valid"),
            "{}",
            refused.body
        );
    }

    let renewed = app.post("/jwt/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(renewed.keys(), ["access"], "{}", renewed.body);
    let wrong_type = app.post("/jwt/refresh/", json!({"refresh": access})).await;
    assert_eq!(wrong_type.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_type.keys(), ["code", "detail"]);

    for token in [&access, &refresh] {
        let verified = app.post("/jwt/verify/", json!({"token": token})).await;
        assert_eq!(
            (verified.status, verified.body.clone()),
            (StatusCode::OK, json!({}))
        );
    }
    let forged = format!("{}x", &access[..access.len() - 1]);
    let refused = app.post("/jwt/verify/", json!({"token": forged})).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn djoser_staff_see_and_change_other_users() {
    let admin = "cfadmin";
    let app = djoser(|c| {
        c.admin_username = Some(admin.into());
        c.admin_password = Some(PASSWORD.into());
        c.admin_email = Some("admin@example.org".into());
    })
    .await;
    let (_, _, uid) = active_user(&app).await;
    let other = auth_core::signing::uid::from_base64(&uid).unwrap().get();
    let key = token_login(&app, admin, PASSWORD).await;
    let listed = app.get_as("/users/", &key).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(2),
        "{}",
        listed.body
    );
    let changed = app
        .send(
            app.request(Method::PATCH, &format!("/users/{other}/"), Some(&key))
                .json(&json!({"email": "moved@example.org"})),
        )
        .await;
    assert_eq!(
        changed.body["email"],
        json!("moved@example.org"),
        "{}",
        changed.body
    );
    let deleted = app
        .send(
            app.request(Method::DELETE, &format!("/users/{other}/"), Some(&key))
                .json(&json!({"current_password": PASSWORD})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    app.get_as(&format!("/users/{other}/"), &key)
        .await
        .detail(404);
}
