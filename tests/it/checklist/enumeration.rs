//! C. Enumeration (rows 17–21). Latencies are compared by `cargo xtask
//! bench` (timing goals are benchmarks, not unit tests); these check the
//! answers byte for byte and the mail that goes out.

use std::time::Duration;

use auth_core::signing::Salt;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

/// Status and raw body of a POST, for byte-for-byte comparison.
async fn raw(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> (StatusCode, String) {
    let response = app
        .request(reqwest::Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn checklist_17_login_fails_alike_for_unknown_wrong_unverified_and_disabled_accounts() {
    let app = TestApp::safe().await;
    let known = app.user().await;
    let unverified = app.unverified().await;
    let disabled = app.user().await;
    app.disable(disabled.id).await;
    let answers = [
        raw(
            &app,
            "/login/",
            None,
            json!({"login": "nobody-here", "password": PASSWORD}),
        )
        .await,
        raw(
            &app,
            "/login/",
            None,
            json!({"login": known.username, "password": "wrong password 1"}),
        )
        .await,
        raw(
            &app,
            "/login/",
            None,
            json!({"login": unverified.username, "password": PASSWORD}),
        )
        .await,
        raw(
            &app,
            "/login/",
            None,
            json!({"login": disabled.username, "password": PASSWORD}),
        )
        .await,
    ];
    assert_eq!(answers[0].0, StatusCode::BAD_REQUEST);
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0]);
    }
}

#[tokio::test]
async fn checklist_18_reset_requests_answer_alike_and_only_the_known_address_gets_mail() {
    let app = TestApp::safe().await;
    let known = app.user().await;
    let unknown = format!("{}@example.org", name());
    let a = raw(
        &app,
        "/send-reset-password-link/",
        None,
        json!({"login": known.email}),
    )
    .await;
    let b = raw(
        &app,
        "/send-reset-password-link/",
        None,
        json!({"login": unknown}),
    )
    .await;
    assert_eq!(a.0, StatusCode::OK);
    assert_eq!(a, b);
    let mails = app
        .sink
        .wait_for(&known.email, 2, Duration::from_secs(10))
        .await;
    assert_eq!(mails.len(), 2, "verification + reset link");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.sink.to(&unknown).is_empty());
    assert_eq!(app.sink.to(&known.email).len(), 2, "exactly one reset mail");
}

#[tokio::test]
async fn checklist_19_registering_a_taken_address_answers_like_a_new_one_and_tells_the_owner() {
    let app = TestApp::safe().await;
    let owner = app.user().await;
    let taken = app.register_raw(&name(), &owner.email, PASSWORD).await;
    let fresh_address = format!("{}@example.org", name());
    let fresh = app.register_raw(&name(), &fresh_address, PASSWORD).await;
    assert_eq!(
        (taken.status, fresh.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(taken.keys(), fresh.keys());
    assert!(taken.body.get("id").is_none(), "no id to tell them apart");
    let mails = app
        .sink
        .wait_for(&owner.email, 2, Duration::from_secs(10))
        .await;
    assert!(
        mails[1].data.contains("You already have an account"),
        "{}",
        mails[1].data
    );
    assert!(
        !mails[1].data.contains("https://front.test/"),
        "the notice carries no link"
    );
    // The owner's account is untouched.
    assert_eq!(
        app.login(&owner.username, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn checklist_20_register_email_and_resend_answer_alike_for_free_taken_and_unknown() {
    let app = TestApp::safe().await;
    let me = app.user().await;
    let other = app.user().await;
    let free = format!("{}@example.org", name());
    let ask = |email: String| {
        raw(
            &app,
            "/register-email/",
            Some(&me.token),
            json!({"email": email, "password": PASSWORD}),
        )
    };
    let (a, b) = (ask(free.clone()).await, ask(other.email.clone()).await);
    assert_eq!(a.0, StatusCode::OK);
    assert_eq!(a, b);
    let notice = app
        .sink
        .wait_for(&other.email, 2, Duration::from_secs(10))
        .await;
    assert!(notice[1].data.contains("already"), "{}", notice[1].data);

    let pending = app.unverified().await;
    let answers = [
        raw(
            &app,
            "/resend-verification/",
            None,
            json!({"login": pending.username}),
        )
        .await,
        raw(
            &app,
            "/resend-verification/",
            None,
            json!({"login": me.username}),
        )
        .await,
        raw(
            &app,
            "/resend-verification/",
            None,
            json!({"login": "nobody-here"}),
        )
        .await,
    ];
    assert_eq!(answers[0].0, StatusCode::OK);
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert_eq!(
        app.sink
            .wait_for(&pending.email, 2, Duration::from_secs(10))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn checklist_21_a_bad_reset_signature_gives_one_error_whatever_the_id_and_password() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = |id: &str, password: &str| {
        let mut link = signed(Salt::reset_password(), id, None, now);
        link["signature"] = json!("A".repeat(43));
        link["password"] = json!(password);
        link
    };
    let answers = [
        raw(
            &app,
            "/reset-password/",
            None,
            forged(&user.id.to_string(), "fine long passphrase 1"),
        )
        .await,
        raw(
            &app,
            "/reset-password/",
            None,
            forged("999999", "fine long passphrase 1"),
        )
        .await,
        raw(
            &app,
            "/reset-password/",
            None,
            forged(&user.id.to_string(), &user.username),
        )
        .await,
        raw(
            &app,
            "/reset-password/",
            None,
            forged(&user.id.to_string(), "123"),
        )
        .await,
    ];
    assert_eq!(answers[0].0, StatusCode::BAD_REQUEST);
    assert!(
        answers[0].1.contains("Invalid signature"),
        "{}",
        answers[0].1
    );
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
}
