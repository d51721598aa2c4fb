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

#[tokio::test]
async fn profile_fields_follow_drrs_hidden_and_editable_settings() {
    let app = TestApp::spawn(Compat::Drr, |config| {
        // DRR's default list minus the two times, plus the given name.
        config.user_hidden_fields =
            vec!["first_name".into(), "is_active".into(), "is_staff".into()];
        config.user_editable_fields = Some(vec!["last_name".into()]);
    })
    .await;
    let user = app.user().await;
    let profile = app.get_as("/profile/", &user.token).await;
    let mut keys = profile.keys();
    keys.sort();
    assert_eq!(
        keys,
        [
            "date_joined",
            "email",
            "id",
            "last_login",
            "last_name",
            "username"
        ],
        "{:?}",
        profile.body
    );
    assert!(
        profile.body["last_login"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let patched = app
        .send(
            app.request(reqwest::Method::PATCH, "/profile/", Some(&user.token))
                .json(&json!({"username": "renamed", "first_name": "Ann", "last_name": "Lee"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["last_name"], "Lee");
    assert_eq!(
        patched.body["username"],
        user.username.as_str(),
        "not editable, so ignored"
    );
}

#[tokio::test]
async fn a_drr_mail_template_dict_names_the_registration_mails_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mail")).unwrap();
    std::fs::write(
        dir.path().join("mail/subject.txt"),
        "Welcome to Example, {{ user.username }}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mail/body.txt"),
        "Finish here: {{ verification_url }}\n",
    )
    .unwrap();
    let templates = dir.path().to_owned();
    let app = TestApp::spawn(Compat::Drr, move |config| {
        config.templates_dir = Some(templates);
        config.register_verification_email_templates = Some(auth_server::config::MailTemplates {
            subject: "mail/subject.txt".into(),
            body: None,
            is_html: false,
            text_body: Some("mail/body.txt".into()),
            html_body: None,
        });
    })
    .await;
    let username = name();
    let email = format!("{username}@example.org");
    assert_eq!(
        app.register_raw(&username, &email, PASSWORD).await.status,
        StatusCode::CREATED
    );
    let mails = app
        .sink
        .wait_for(&email, 1, std::time::Duration::from_secs(10))
        .await;
    let data = &mails[0].data;
    assert!(
        data.contains(&format!("Subject: Welcome to Example, {username}")),
        "{data}"
    );
    assert!(data.contains("Finish here: https://front.test/"), "{data}");
}
