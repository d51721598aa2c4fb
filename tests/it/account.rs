//! Beyond DRR's endpoints: e-mail-only sign-up (`USER_LOGIN_FIELDS=email`,
//! username optional) and `delete-account/`.

use auth_server::Compat;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

async fn email_only() -> TestApp {
    TestApp::spawn(Compat::Safe, |config| {
        config.user_login_fields = Some(vec!["email".into()]);
    })
    .await
}

#[tokio::test]
async fn register_with_email_only_gets_a_generated_username_and_logs_in_by_address() {
    let app = email_only().await;
    let email = format!("{}@example.org", name());
    let reply = app
        .post(
            "/register/",
            json!({"email": email, "password": PASSWORD, "password_confirm": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let username = reply.body["username"].as_str().unwrap().to_owned();
    assert!(
        username.starts_with("user_") && username.len() == 17,
        "{username}"
    );

    let link = app.link(&email, 1).await;
    assert_eq!(
        app.post("/verify-registration/", json!(link)).await.status,
        StatusCode::OK
    );
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    // The generated name is no way in: only the address is a login field.
    assert_eq!(
        app.login(&username, PASSWORD).await.status,
        StatusCode::BAD_REQUEST
    );

    // Two address-only accounts never clash on the generated name.
    let other = format!("{}@example.org", name());
    let second = app
        .post(
            "/register/",
            json!({"email": other, "password": PASSWORD, "password_confirm": PASSWORD}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_ne!(second.body["username"], reply.body["username"]);
}

#[tokio::test]
async fn register_with_email_only_needs_the_address_and_still_takes_a_chosen_username() {
    let app = email_only().await;
    let missing = app
        .post(
            "/register/",
            json!({"password": PASSWORD, "password_confirm": PASSWORD}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    missing.fields(&["email"], false);

    let chosen = name();
    let reply = app
        .register_raw(&chosen, &format!("{chosen}@example.org"), PASSWORD)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["username"], chosen.as_str());
}

#[tokio::test]
async fn register_without_username_is_still_refused_when_username_is_a_login_field() {
    let app = TestApp::safe().await;
    let reply = app
        .post(
            "/register/",
            json!({"email": "x@example.org", "password": PASSWORD, "password_confirm": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    reply.fields(&["username"], false);
}

#[tokio::test]
async fn delete_account_needs_the_password_then_ends_every_way_in() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let second = app.login(&user.username, &user.password).await;
    let other_token = second.body["token"].as_str().unwrap().to_owned();

    let wrong = app
        .post_as(
            "/delete-account/",
            &user.token,
            json!({"password": "not it"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    wrong.fields(&["password"], false);
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );

    let done = app
        .post_as(
            "/delete-account/",
            &user.token,
            json!({"password": user.password}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    for token in [&user.token, &other_token] {
        assert_eq!(
            app.get_as("/profile/", token).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login(&user.username, &user.password).await.status,
        StatusCode::BAD_REQUEST
    );
    // The name is free again.
    let again = app
        .register_raw(&user.username, &user.email, PASSWORD)
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
}

#[tokio::test]
async fn delete_account_is_not_there_in_the_drr_profile() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let reply = app
        .post_as(
            "/delete-account/",
            &user.token,
            json!({"password": user.password}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );
}
