//! POST register/.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

const PROFILE_KEYS: [&str; 5] = ["email", "first_name", "id", "last_name", "username"];

#[tokio::test]
async fn register_returns_201_with_profile_fields() {
    let app = TestApp::drr().await;
    let username = name();
    let reply = app
        .post(
            "/register/",
            json!({"username": username, "email": format!("{username}@example.org"), "password": PASSWORD,
                   "password_confirm": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.keys(), PROFILE_KEYS);
    assert_eq!(
        (
            reply.body["first_name"].as_str(),
            reply.body["username"].as_str()
        ),
        (Some("Ada"), Some(username.as_str()))
    );
}

#[tokio::test]
async fn register_mails_link_with_user_id_timestamp_signature() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    let link = app.link(&user.email, 1).await;
    let mut names: Vec<_> = link.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["signature", "timestamp", "user_id"]);
    assert_eq!(link["user_id"], user.id.to_string());
    assert_eq!(
        app.link_base(&user.email, 1).await,
        format!("{VERIFY_URL}?")
    );
}

#[tokio::test]
async fn register_empty_body_lists_required_fields() {
    let app = TestApp::drr().await;
    app.post("/register/", json!({}))
        .await
        .fields(&["password", "password_confirm", "username"], false);
}

#[tokio::test]
async fn register_password_mismatch_is_password_confirm_error_with_empty_non_field_errors() {
    let app = TestApp::drr().await;
    let u = name();
    let reply = app
        .post("/register/", json!({"username": u, "email": format!("{u}@example.org"), "password": PASSWORD, "password_confirm": "other pass 123"}))
        .await;
    reply.fields(&["password_confirm"], true);
}

#[tokio::test]
async fn register_short_common_numeric_password_reports_three_messages() {
    let app = TestApp::drr().await;
    let u = name();
    let reply = app
        .register_raw(&u, &format!("{u}@example.org"), "123")
        .await;
    reply.fields(&["password"], true);
    assert_eq!(reply.body["password"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn register_password_similar_to_username_is_rejected() {
    let app = TestApp::drr().await;
    let u = format!("margaret{}", name());
    app.register_raw(&u, &format!("{u}@example.org"), &format!("{u}9"))
        .await
        .fields(&["password"], true);
}

#[tokio::test]
async fn register_duplicate_username_and_email_are_field_errors() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    app.register_raw(&user.username, &format!("other-{}", user.email), PASSWORD)
        .await
        .fields(&["username"], false);
    app.register_raw(&name(), &user.email, PASSWORD)
        .await
        .fields(&["email"], false);
}

#[tokio::test]
async fn register_duplicate_username_with_weak_password_reports_only_username() {
    let app = TestApp::drr().await;
    let user = app.unverified().await;
    app.register_raw(&user.username, &format!("x{}", user.email), "1")
        .await
        .fields(&["username"], false);
}

#[tokio::test]
async fn register_invalid_email_and_username_with_space_are_field_errors() {
    let app = TestApp::drr().await;
    app.register_raw(&name(), "not-an-email", PASSWORD)
        .await
        .fields(&["email"], false);
    app.register_raw("bad name!", "bad@example.org", PASSWORD)
        .await
        .fields(&["username"], false);
    app.register_raw(
        &format!("cf{}", "a".repeat(149)),
        "long@example.org",
        PASSWORD,
    )
    .await
    .fields(&["username"], false);
}

#[tokio::test]
async fn register_without_email_cannot_be_verified() {
    let app = TestApp::drr().await;
    let reply = app.register_raw(&name(), "", PASSWORD).await;
    assert_eq!(reply.detail(400), "User without email cannot be verified");
}

#[tokio::test]
async fn register_lowercases_only_the_email_domain() {
    let app = TestApp::drr().await;
    let u = name();
    let reply = app
        .register_raw(&u, &format!("Ann.{u}@EXAMPLE.ORG"), PASSWORD)
        .await;
    assert_eq!(reply.body["email"], json!(format!("Ann.{u}@example.org")));
}

#[tokio::test]
async fn register_ignores_id_and_hidden_fields_and_leaves_the_user_unverified() {
    let app = TestApp::drr().await;
    let u = name();
    let reply = app
        .post(
            "/register/",
            json!({"username": u, "email": format!("{u}@example.org"), "password": PASSWORD,
              "password_confirm": PASSWORD, "id": 987654, "is_active": true, "is_staff": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_ne!(reply.body["id"], json!(987654));
    app.post("/login/", json!({"login": u, "password": PASSWORD}))
        .await
        .detail(400);
}

#[tokio::test]
async fn register_form_encoded_body_is_accepted() {
    let app = TestApp::drr().await;
    let u = name();
    let email = format!("{u}@example.org");
    let form = [
        ("username", u.as_str()),
        ("email", &email),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    let reply = app
        .send(
            app.request(reqwest::Method::POST, "/register/", None)
                .form(&form),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[tokio::test]
async fn register_when_disabled_is_404() {
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.register_flow_enabled = Some(false)
    })
    .await;
    app.register_raw(&name(), "x@example.org", PASSWORD)
        .await
        .detail(404);
}

#[tokio::test]
async fn register_without_password_confirm_setting_ignores_it() {
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.register_serializer_password_confirm = Some(false)
    })
    .await;
    let u = name();
    let reply = app
        .post(
            "/register/",
            json!({"username": u, "email": format!("{u}@example.org"), "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

#[tokio::test]
async fn register_case_variant_of_an_email_is_taken_by_default_but_allowed_in_drr_profile() {
    let safe = TestApp::safe().await;
    let u = name();
    assert_eq!(
        safe.register_raw(&u, &format!("{u}@example.org"), PASSWORD)
            .await
            .status,
        StatusCode::CREATED
    );
    // Taken, but the safe profile answers as for a new account and tells
    // the owner instead (checklist row 19 in security.rs).
    let upper = format!("{}@example.org", u.to_uppercase());
    let reply = safe.register_raw(&name(), &upper, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let notice = safe.sink.wait_for(&upper, 1, Duration::from_secs(10)).await;
    assert!(notice[0].data.contains("You already have an account"));

    let drr = TestApp::drr().await;
    let u = name();
    assert_eq!(
        drr.register_raw(&u, &format!("{u}@example.org"), PASSWORD)
            .await
            .status,
        StatusCode::CREATED
    );
    let reply = drr
        .register_raw(
            &name(),
            &format!("{}@example.org", u.to_uppercase()),
            PASSWORD,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}
