//! B. Login throttling (rows 12, 15) and F. HTTP hardening (rows 42, 43).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

/// A client whose connections come from `127.0.0.<n>`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn checklist_12_one_account_budget_whatever_the_source_address_and_endpoint() {
    let app = TestApp::safe().await;
    let user = app.user().await; // its login spent one attempt
    let mut spent = 1;
    // Wrong old passwords on change-password count against the same budget…
    for _ in 0..3 {
        app.post_as(
            "/change-password/",
            &user.token,
            json!({"old_password": "a guess at it", "password": "x y z w v u", "password_confirm": "x y z w v u"}),
        )
        .await
        .fields(&["old_password"], false);
        spent += 1;
    }
    // …as wrong logins from ever new source addresses do.
    let mut source = 2;
    while spent < LOGIN_ACCOUNT_BUDGET {
        let reply = app
            .send(
                client_from(source)
                    .post(app.url("/login/"))
                    .json(&json!({"login": user.username, "password": "a guess at it"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        spent += 1;
        source += 1;
    }
    // The right password from yet another address is now refused too.
    let reply = app
        .send(
            client_from(source)
                .post(app.url("/login/"))
                .json(&json!({"login": user.username, "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert!(reply.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn checklist_15_a_lockout_ends_by_itself_and_reset_stays_usable() {
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.rate_limit_rules
            .insert("login".into(), "50/300,3/3".into());
    })
    .await;
    let user = app.user().await; // one attempt of three
    for _ in 0..2 {
        app.login(&user.username, "a guess at it").await.detail(400);
    }
    let locked = app.login(&user.username, PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    // Recovery still works while login is locked.
    app.post(
        "/send-reset-password-link/",
        json!({"login": user.username}),
    )
    .await
    .detail(200);
    assert_eq!(
        app.link(&user.email, 2).await["user_id"],
        user.id.to_string()
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        app.login(&user.username, PASSWORD).await.status,
        StatusCode::OK
    );
}

/// Every route with the methods it answers, and whether it needs a token.
const ROUTES: [(&str, Method, bool); 14] = [
    ("/register/", Method::POST, false),
    ("/verify-registration/", Method::POST, false),
    ("/resend-verification/", Method::POST, false),
    ("/send-reset-password-link/", Method::POST, false),
    ("/reset-password/", Method::POST, false),
    ("/login/", Method::POST, false),
    ("/logout/", Method::POST, true),
    ("/profile/", Method::GET, true),
    ("/profile/", Method::PATCH, true),
    ("/change-password/", Method::POST, true),
    ("/register-email/", Method::POST, true),
    ("/verify-email/", Method::POST, false),
    ("/credentials/", Method::GET, true),
    ("/credentials/revoke/", Method::POST, true),
];

#[tokio::test]
async fn checklist_42_every_answer_is_no_store_nosniff_and_no_referrer() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    for (path, method, auth) in ROUTES {
        for token in [auth.then_some(user.token.as_str()), None] {
            let reply = app
                .send(app.request(method.clone(), path, token).json(&json!({})))
                .await;
            for (header, value) in [
                ("cache-control", "no-store"),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "no-referrer"),
            ] {
                assert_eq!(
                    reply.headers[header], value,
                    "{method} {path} ({})",
                    reply.status
                );
            }
        }
    }
    let missing = app.send(app.request(Method::GET, "/nowhere/", None)).await;
    assert_eq!(missing.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn checklist_43_malformed_oversized_and_deep_json_get_a_json_4xx() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    // Bodies no endpoint can accept: always a 4xx.
    let malformed: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"{\"login\": ".to_vec(),
        b"[]".to_vec(),
        b"\"text\"".to_vec(),
        b"null".to_vec(),
        vec![0xff, 0xfe, b'{', b'}'],
        deep.into_bytes(),
        deep_object.into_bytes(),
        format!("{{\"login\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)).into_bytes(),
    ];
    // Objects with wrong types: a 4xx, or a 2xx where the endpoint ignores
    // the fields (logout); never a 5xx.
    let mistyped: Vec<Vec<u8>> = vec![
        b"{\"password\": {\"nested\": [1, 2]}, \"login\": 7, \"email\": [\"a\"]}".to_vec(),
        b"{\"email\": \"\\u0000@example.org\", \"user_id\": 1e400, \"timestamp\": -99999999999999999999}".to_vec(),
    ];
    for (path, method, auth) in ROUTES {
        if method == Method::GET {
            continue;
        }
        for (body, must_refuse) in malformed
            .iter()
            .map(|b| (b, true))
            .chain(mistyped.iter().map(|b| (b, false)))
        {
            let token = auth.then_some(user.token.as_str());
            let reply = app
                .send(
                    app.request(method.clone(), path, token)
                        .header("Content-Type", "application/json")
                        .body(body.clone()),
                )
                .await;
            let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
            assert!(
                !reply.status.is_server_error() && (!must_refuse || reply.status.is_client_error()),
                "{method} {path} {shown:?}: {}",
                reply.status
            );
            assert!(
                reply.body.is_object() || reply.body.is_array(),
                "{method} {path} {shown:?}"
            );
        }
    }
}
