//! D. E-mailed links (rows 22–29).

use auth_core::domain::PasswordHash;
use auth_core::signing::Salt;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

const NEW: &str = "a different passphrase 55";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Asks for a reset link and returns it (the `n`-th mail to `user`).
async fn reset_link(app: &TestApp, user: &User, n: usize) -> serde_json::Value {
    app.post(
        "/send-reset-password-link/",
        json!({"login": user.username}),
    )
    .await
    .detail(200);
    json!(app.link(&user.email, n).await)
}

#[tokio::test]
async fn checklist_22_reset_links_work_once_and_die_after_any_password_change() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let mut link = reset_link(&app, &user, 2).await;
    link["password"] = json!(NEW);
    app.post("/reset-password/", link.clone()).await.detail(200);
    assert_eq!(
        app.post("/reset-password/", link).await.detail(400),
        "Invalid signature"
    );

    // A link issued before a change-password is dead after it (mail 3 was
    // the change notice).
    let token = app.login(&user.username, NEW).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut older = reset_link(&app, &user, 4).await;
    app.post_as(
        "/change-password/",
        &token,
        json!({"old_password": NEW, "password": PASSWORD, "password_confirm": PASSWORD}),
    )
    .await
    .detail(200);
    older["password"] = json!("yet another passphrase 9");
    app.post("/reset-password/", older).await.detail(400);
    assert_eq!(
        app.login(&user.username, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn checklist_23_reset_links_expire_after_24_hours() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let salt = Salt::reset_password_one_time(&PasswordHash::new(app.stored_hash(user.id).await));
    let id = user.id.to_string();
    let mut expired = signed(salt.clone(), &id, None, now() - 24 * 3600 - 1);
    expired["password"] = json!(NEW);
    assert_eq!(
        app.post("/reset-password/", expired).await.detail(400),
        "Signature expired"
    );
    let mut fresh = signed(salt, &id, None, now() - 24 * 3600 + 60);
    fresh["password"] = json!(NEW);
    app.post("/reset-password/", fresh).await.detail(200);
}

#[tokio::test]
async fn checklist_24_verification_links_work_once_and_never_re_enable_a_disabled_account() {
    let app = TestApp::safe().await;
    let user = app.unverified().await;
    let link = json!(app.link(&user.email, 1).await);
    app.post("/verify-registration/", link.clone())
        .await
        .detail(200);
    app.post("/verify-registration/", link.clone())
        .await
        .detail(400);
    app.disable(user.id).await;
    app.post("/verify-registration/", link).await.detail(400);
    app.login(&user.username, PASSWORD).await.detail(400);
}

#[tokio::test]
async fn checklist_25_only_the_newest_email_change_link_works() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let (b, c) = (
        format!("{}@example.org", name()),
        format!("{}@example.org", name()),
    );
    for address in [&b, &c] {
        app.post_as(
            "/register-email/",
            &user.token,
            json!({"email": address, "password": PASSWORD}),
        )
        .await
        .detail(200);
    }
    app.post("/verify-email/", json!(app.link(&b, 1).await))
        .await
        .detail(400);
    app.post("/verify-email/", json!(app.link(&c, 1).await))
        .await
        .detail(200);
    assert_eq!(
        app.get_as("/profile/", &user.token).await.body["email"],
        json!(c)
    );
}

#[tokio::test]
async fn checklist_26_links_are_purpose_bound_tamper_evident_and_keys_rotate() {
    let app = TestApp::safe().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let mut on_reset = json!(link);
    on_reset["password"] = json!(NEW);
    app.post("/reset-password/", on_reset).await.detail(400);
    for (field, value) in [
        ("user_id", json!((user.id + 1).to_string())),
        (
            "timestamp",
            json!(link["timestamp"].parse::<i64>().unwrap() - 1),
        ),
        ("signature", json!(tamper(&link["signature"]))),
    ] {
        let mut tampered = json!(link);
        tampered[field] = value;
        app.post("/verify-registration/", tampered)
            .await
            .detail(400);
    }

    // Rotation: a link signed with the previous key verifies while that key
    // is a fallback, and not once it is dropped.
    const NEWER: &str = "the-next-secret-key-with-plenty-of-characters";
    let rotated = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.secret_key = Some(NEWER.into());
        c.secret_key_fallbacks = vec![SECRET.into()];
    })
    .await;
    let dropped = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.secret_key = Some(NEWER.into());
    })
    .await;
    for (app, status) in [(&rotated, 200), (&dropped, 400)] {
        let user = app.unverified().await;
        let old_key_link = signed_with(
            SECRET,
            Salt::register_one_time(false),
            &user.id.to_string(),
            None,
            now(),
        );
        app.post("/verify-registration/", old_key_link)
            .await
            .detail(status);
    }
}

#[tokio::test]
async fn checklist_27_mailed_links_use_the_configured_base_url_not_the_host_header() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    app.send(
        app.request(Method::POST, "/send-reset-password-link/", None)
            .header("Host", "evil.test")
            .header("X-Forwarded-Host", "evil.test")
            .json(&json!({"login": user.username})),
    )
    .await
    .detail(200);
    assert_eq!(app.link_base(&user.email, 2).await, format!("{RESET_URL}?"));
}

#[tokio::test]
async fn checklist_28_no_change_on_get_no_referrer_and_no_tokens_in_urls() {
    let app = TestApp::safe().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(link.iter())
        .finish();
    let reply = app
        .send(app.request(Method::GET, &format!("/verify-registration/?{query}"), None))
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["referrer-policy"], "no-referrer");
    app.login(&user.username, PASSWORD).await.detail(400);

    let user = app.user().await;
    for name in ["token", "auth_token", "access_token"] {
        app.send(app.request(
            Method::GET,
            &format!("/profile/?{name}={}", user.token),
            None,
        ))
        .await
        .detail(401);
    }
}

#[tokio::test]
async fn checklist_29_a_reset_does_not_log_the_user_in() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let mut link = reset_link(&app, &user, 2).await;
    link["password"] = json!(NEW);
    let reply = app.post("/reset-password/", link).await;
    assert_eq!(reply.keys(), ["detail"]);
    assert!(reply.headers.get("set-cookie").is_none());
}
