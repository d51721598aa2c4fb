//! E. Sessions and tokens (rows 30–38) and F. notifications (row 40).

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{COOKIE, ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

/// The `name=value` of the `Set-Cookie` named `name` in `reply`, and the
/// whole header.
fn set_cookie(reply: &Reply, name: &str) -> Option<(String, String)> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| (c.split(';').next().unwrap().to_owned(), c.to_owned()))
}

/// A request carrying only `cookie` (and `csrf` when given), as a browser would.
fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut request = app.request(method, path, None).header(COOKIE, cookie);
    if let Some(csrf) = csrf {
        request = request.header("X-CSRFToken", csrf);
    }
    request
}

fn token(reply: &Reply) -> String {
    reply.body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn checklist_30_tokens_are_unique_256_bit_and_uniform() {
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| c.rate_limits = Some(false)).await;
    let user = app.user().await;
    let app = std::sync::Arc::new(app);
    let mut tokens = HashSet::new();
    for _ in 0..40 {
        let mut batch = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (app, username) = (app.clone(), user.username.clone());
            batch.spawn(async move { token(&app.login(&username, PASSWORD).await) });
        }
        while let Some(token) = batch.join_next().await {
            tokens.insert(token.unwrap());
        }
    }
    assert_eq!(tokens.len(), 2000, "every login got its own token");
    let mut counts = [0u64; 256];
    for token in &tokens {
        assert_eq!(token.len(), 43, "{token}");
        let bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
        assert_eq!(bytes.len(), 32);
        for b in bytes {
            counts[usize::from(b)] += 1;
        }
    }
    // Chi-square of the byte histogram against uniform, 255 degrees of
    // freedom: 400 is beyond p = 1e-6, so a CSPRNG fails this about never.
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / 256.0;
    let chi: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi < 400.0, "byte histogram is not flat: chi-square {chi}");
}

#[tokio::test]
async fn checklist_31_issued_tokens_are_stored_only_as_digests() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let mut issued = vec![user.token.clone()];
    for _ in 0..5 {
        issued.push(token(&app.login(&user.username, PASSWORD).await));
    }
    let (browser, _) = app.browser_login(&user).await;
    drop(browser);
    let url = app.database_url.clone().unwrap();
    let path = url.trim_start_matches("sqlite://");
    let mut stored = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        stored.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
    }
    assert!(stored.len() > 4096, "the database was read");
    for token in &issued {
        assert!(
            !stored.windows(token.len()).any(|w| w == token.as_bytes()),
            "a token is stored in clear"
        );
    }
}

#[tokio::test]
async fn checklist_32_login_starts_a_new_session_id() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let planted = "sessionid=attacker-chosen-session-id-000000000000";
    let reply = app
        .send(
            with_cookie(&app, Method::POST, "/login/", planted, None)
                .json(&json!({"login": user.username, "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let (fresh, _) = set_cookie(&reply, "sessionid").expect("a session cookie");
    assert_ne!(fresh, planted);
    app.send(with_cookie(&app, Method::GET, "/profile/", planted, None))
        .await
        .detail(401);
    let profile = app
        .send(with_cookie(&app, Method::GET, "/profile/", &fresh, None))
        .await;
    assert_eq!(profile.status, StatusCode::OK);
}

#[tokio::test]
async fn checklist_33_logout_ends_the_token_and_the_session_server_side() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    app.post_as("/logout/", &user.token, json!({}))
        .await
        .detail(200);
    app.get_as("/profile/", &user.token).await.detail(401);

    let login = app.login(&user.username, PASSWORD).await;
    let (session, _) = set_cookie(&login, "sessionid").unwrap();
    let (csrf, _) = set_cookie(&login, "csrftoken").unwrap();
    let cookies = format!("{session}; {csrf}");
    let secret = csrf.trim_start_matches("csrftoken=");
    app.send(with_cookie(&app, Method::POST, "/logout/", &cookies, Some(secret)).json(&json!({})))
        .await
        .detail(200);
    // Replaying the old cookie: the session is gone on the server.
    app.send(with_cookie(&app, Method::GET, "/profile/", &session, None))
        .await
        .detail(401);
}

#[tokio::test]
async fn checklist_34_password_change_and_reset_end_the_others_and_disabling_ends_all() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let a = user.token.clone();
    let b = app.login(&user.username, PASSWORD).await;
    let (b_session, _) = set_cookie(&b, "sessionid").unwrap();
    let new = "changed passphrase on device A";
    app.post_as(
        "/change-password/",
        &a,
        json!({"old_password": PASSWORD, "password": new, "password_confirm": new}),
    )
    .await
    .detail(200);
    app.get_as("/profile/", &token(&b)).await.detail(401);
    app.send(with_cookie(
        &app,
        Method::GET,
        "/profile/",
        &b_session,
        None,
    ))
    .await
    .detail(401);
    assert_eq!(app.get_as("/profile/", &a).await.status, StatusCode::OK);

    // A reset ends every credential, the one in use included.
    app.post(
        "/send-reset-password-link/",
        json!({"login": user.username}),
    )
    .await
    .detail(200);
    let mut link = json!(app.link(&user.email, 3).await);
    link["password"] = json!(PASSWORD);
    app.post("/reset-password/", link).await.detail(200);
    app.get_as("/profile/", &a).await.detail(401);

    // Disabling the account ends everything at once.
    let c = token(&app.login(&user.username, PASSWORD).await);
    app.disable(user.id).await;
    app.get_as("/profile/", &c).await.detail(401);
}

#[tokio::test]
async fn checklist_35_idle_and_absolute_timeouts_are_enforced_by_the_server() {
    // Short periods stand in for the defaults (30 days, 7 days idle).
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.token_ttl = Some(6);
        c.credential_idle_timeout = Some(2);
    })
    .await;
    let user = app.user().await;
    let idle = user.token.clone();
    let busy = token(&app.login(&user.username, PASSWORD).await);
    // Timestamps are whole seconds: 3.5 s unused is past a 2 s timeout,
    // 3.5 s after issue is well within the 6 s lifetime (slack for a slow
    // machine).
    for _ in 0..7 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(app.get_as("/profile/", &busy).await.status, StatusCode::OK);
    }
    app.get_as("/profile/", &idle).await.detail(401);
    // Steady use does not carry a token past its lifetime.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = app.get_as("/profile/", &busy).await;
    }
    app.get_as("/profile/", &busy).await.detail(401);
}

#[tokio::test]
async fn checklist_36_owners_list_their_credentials_and_revoke_one_or_all() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let a = user.token.clone();
    let b = token(&app.login(&user.username, PASSWORD).await);
    let listed = app.get_as("/credentials/", &a).await;
    assert_eq!(listed.status, StatusCode::OK);
    let entries = listed.body.as_array().unwrap();
    // Each login made a token and a session.
    assert_eq!(entries.len(), 4, "{}", listed.body);
    let current: Vec<_> = entries
        .iter()
        .filter(|e| e["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1);
    assert!(entries.iter().all(|e| {
        e["id"].as_str().is_some_and(|id| id.len() == 32) && e["created"].is_string()
    }));
    assert!(!listed.body.to_string().contains(&a) && !listed.body.to_string().contains(&b));

    // B is the other token.
    let b_id = app
        .get_as("/credentials/", &b)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["current"] == json!(true))
        .unwrap()["id"]
        .clone();
    app.post_as("/credentials/revoke/", &a, json!({"id": b_id}))
        .await
        .fields(&["password"], false);
    app.post_as(
        "/credentials/revoke/",
        &a,
        json!({"id": b_id, "password": "wrong one"}),
    )
    .await
    .fields(&["password"], false);
    app.post_as(
        "/credentials/revoke/",
        &a,
        json!({"id": b_id, "password": PASSWORD}),
    )
    .await
    .detail(200);
    app.get_as("/profile/", &b).await.detail(401);
    assert_eq!(app.get_as("/profile/", &a).await.status, StatusCode::OK);
    app.post_as(
        "/credentials/revoke/",
        &a,
        json!({"id": b_id, "password": PASSWORD}),
    )
    .await
    .detail(404);

    let c = token(&app.login(&user.username, PASSWORD).await);
    app.post_as(
        "/credentials/revoke/",
        &a,
        json!({"all": true, "password": PASSWORD}),
    )
    .await
    .detail(200);
    app.get_as("/profile/", &c).await.detail(401);
    let left = app.get_as("/credentials/", &a).await;
    assert_eq!(left.body.as_array().unwrap().len(), 1, "{}", left.body);
}

#[tokio::test]
async fn checklist_37_changing_the_email_needs_the_current_password() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let address = format!("{}@example.org", name());
    app.post_as("/register-email/", &user.token, json!({"email": address}))
        .await
        .fields(&["password"], false);
    app.post_as(
        "/register-email/",
        &user.token,
        json!({"email": address, "password": "not my password"}),
    )
    .await
    .fields(&["password"], false);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(app.sink.to(&address).is_empty());
}

#[tokio::test]
async fn checklist_38_session_cookies_are_locked_down_and_csrf_is_enforced() {
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| c.secure_cookies = Some(true)).await;
    let user = app.user().await;
    let login = app.login(&user.username, PASSWORD).await;
    let (session, header) = set_cookie(&login, "__Host-sessionid").expect("__Host- session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(header.contains(flag), "{header}");
    }
    assert!(!header.contains("Domain"), "{header}");
    let (csrf, csrf_header) = set_cookie(&login, "csrftoken").unwrap();
    assert!(csrf_header.contains("Secure"), "{csrf_header}");
    let cookies = format!("{session}; {csrf}");
    let secret = csrf.trim_start_matches("csrftoken=");
    let logout = || with_cookie(&app, Method::POST, "/logout/", &cookies, None).json(&json!({}));
    app.send(logout()).await.detail(403);
    app.send(
        with_cookie(&app, Method::POST, "/logout/", &cookies, Some(secret))
            .header(ORIGIN, "https://evil.test")
            .json(&json!({})),
    )
    .await
    .detail(403);
    // Token clients need no CSRF token.
    app.post_as("/logout/", &user.token, json!({}))
        .await
        .detail(200);
    app.send(with_cookie(&app, Method::POST, "/logout/", &cookies, Some(secret)).json(&json!({})))
        .await
        .detail(200);
}

#[tokio::test]
async fn checklist_40_password_and_email_changes_are_mailed_to_the_account() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let new = "changed passphrase 4 notices";
    app.post_as(
        "/change-password/",
        &user.token,
        json!({"old_password": PASSWORD, "password": new, "password_confirm": new}),
    )
    .await
    .detail(200);
    let mails = app
        .sink
        .wait_for(&user.email, 2, Duration::from_secs(10))
        .await;
    assert!(
        mails[1].data.contains("Your password was changed"),
        "{}",
        mails[1].data
    );

    let address = format!("{}@example.org", name());
    app.post_as(
        "/register-email/",
        &user.token,
        json!({"email": address, "password": new}),
    )
    .await
    .detail(200);
    app.post("/verify-email/", json!(app.link(&address, 1).await))
        .await
        .detail(200);
    let mails = app
        .sink
        .wait_for(&user.email, 3, Duration::from_secs(10))
        .await;
    assert!(
        mails[2].data.contains("was changed to"),
        "{}",
        mails[2].data
    );
    assert!(mails[2].data.contains(&address));
}
