//! Rate limits: per action, per client IP and per target account; 429 with
//! `Retry-After` and a JSON body; shared across instances through Redis.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn checklist_13_one_ip_is_throttled_across_usernames_and_forged_forwarded_for_does_not_help()
{
    let app = TestApp::safe().await;
    let mut throttled_at = None;
    for i in 0..60 {
        let request = app
            .request(Method::POST, "/login/", None)
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({"login": format!("nobody{i}"), "password": "guess 12345"}));
        let reply = app.send(request).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            throttled_at = Some(i);
            break;
        }
        reply.detail(400);
    }
    assert_eq!(
        throttled_at,
        Some(50),
        "the 51st login from one IP must be refused"
    );
}

#[tokio::test]
async fn checklist_14_an_identifier_in_another_case_or_with_spaces_shares_one_budget() {
    let app = TestApp::safe().await;
    let spellings = [
        "Alice@Example.COM",
        "alice@example.com ",
        " ALICE@example.com",
    ];
    for attempt in 0..LOGIN_ACCOUNT_BUDGET {
        let login = spellings[attempt % spellings.len()];
        app.post(
            "/login/",
            json!({"login": login, "password": "guess 12345"}),
        )
        .await
        .detail(400);
    }
    let reply = app
        .post(
            "/login/",
            json!({"login": "alice@EXAMPLE.com", "password": "guess 12345"}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn checklist_16_mail_sending_endpoints_are_throttled_with_retry_after_and_json() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    for _ in 0..3 {
        app.post(
            "/send-reset-password-link/",
            json!({"login": user.username}),
        )
        .await
        .detail(200);
    }
    let reply = app
        .post(
            "/send-reset-password-link/",
            json!({"login": user.username}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.keys(), ["detail"]);
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&retry), "Retry-After {retry}");
    // One registration mail and three reset mails, no more.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.sink
            .wait_for(&user.email, 4, std::time::Duration::from_secs(5))
            .await
            .len(),
        4
    );
    assert_eq!(app.sink.to(&user.email).len(), 4);
}

#[tokio::test]
async fn the_drr_profile_has_no_rate_limits_unless_asked() {
    let app = TestApp::drr().await;
    for i in 0..60 {
        app.post(
            "/login/",
            json!({"login": format!("nobody{i}"), "password": "guess 12345"}),
        )
        .await
        .detail(400);
    }
    let limited = TestApp::spawn(auth_server::Compat::Drr, |c| c.rate_limits = Some(true)).await;
    for _ in 0..LOGIN_ACCOUNT_BUDGET {
        limited
            .post(
                "/login/",
                json!({"login": "ann", "password": "guess 12345"}),
            )
            .await
            .detail(400);
    }
    let reply = limited
        .post(
            "/login/",
            json!({"login": "ann", "password": "guess 12345"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}
