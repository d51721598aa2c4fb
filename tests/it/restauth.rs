//! The dj-rest-auth dialect (`API=rest-auth`, restauth-api.md): its paths,
//! allauth's address book, confirmation keys and base36 reset links, over
//! the same core.

use auth_server::config::Api;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

const FRONT: &str = "https://frontend.example/";

/// A dj-rest-auth server as its conformance suite's main profile runs it
/// (mandatory verification, login by username or e-mail, DRF tokens).
async fn restauth(tweak: impl FnOnce(&mut auth_server::Config)) -> TestApp {
    TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.api = Api::RestAuth;
        c.api_prefix = "/auth".into();
        c.user_login_fields = None;
        c.allauth_email_verification = Some("mandatory".into());
        c.allauth_login_methods = Some(vec!["username".into(), "email".into()]);
        c.frontend_reset_url = Some(format!("{FRONT}reset/{{uid}}/{{token}}/"));
        c.frontend_confirm_email_url = Some(format!("{FRONT}confirm-email/{{key}}/"));
        tweak(c);
    })
    .await
}

/// The last path segments of a mailed `…/a/b/` link.
fn segments(link: &str, n: usize) -> Vec<String> {
    let mut parts: Vec<String> = link
        .trim_end_matches('/')
        .rsplit('/')
        .take(n)
        .map(str::to_owned)
        .collect();
    parts.reverse();
    parts
}

async fn register(app: &TestApp, username: &str, email: &str) -> Reply {
    app.post(
        "/registration/",
        json!({"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}),
    )
    .await
}

/// The key of the `n`-th confirmation mail to `email`.
async fn confirmation_key(app: &TestApp, email: &str, n: usize) -> String {
    let link = app
        .mailed_link(email, n, &format!("{FRONT}confirm-email/"))
        .await;
    segments(&link, 1).remove(0)
}

#[tokio::test]
async fn restauth_register_confirm_login_and_reset_the_password() {
    let app = restauth(|_| {}).await;
    let username = name();
    let email = format!("{username}@example.org");
    let created = register(&app, &username, &email).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.keys(), ["detail"]);

    // Mandatory verification: refused, and told why, once the password is right.
    let login = json!({"username": username, "password": PASSWORD});
    let refused = app.post("/login/", login.clone()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.keys(), ["non_field_errors"], "{}", refused.body);
    let key = confirmation_key(&app, &email, 1).await;
    assert_eq!(key.matches(':').count(), 2, "{key}");
    let confirmed = app
        .post("/registration/verify-email/", json!({"key": key}))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body, json!({"detail": "ok"}));
    let again = app
        .post("/registration/verify-email/", json!({"key": key}))
        .await;
    assert_eq!(again.detail(404), "Not found.");

    let logged_in = app.post("/login/", login.clone()).await;
    assert_eq!(logged_in.status, StatusCode::OK, "{}", logged_in.body);
    let token = logged_in.body["key"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 40);
    let me = app.get_as("/user/", &token).await;
    assert_eq!(
        me.keys(),
        ["email", "first_name", "last_name", "pk", "username"]
    );
    assert_eq!(me.body["email"], json!(email));
    let pk = me.body["pk"].as_i64().unwrap();
    // By address too, ignoring case, and the same DRF token every time.
    let by_email = app
        .post(
            "/login/",
            json!({"email": email.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    assert_eq!(by_email.body["key"], json!(token));

    let asked = app.post("/password/reset/", json!({"email": email})).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let link = app.mailed_link(&email, 2, &format!("{FRONT}reset/")).await;
    let [uid, reset_token]: [String; 2] = segments(&link, 2).try_into().unwrap();
    assert_eq!(
        i64::from_str_radix(&uid, 36).unwrap(),
        pk,
        "the uid is base36"
    );
    let new_password = "another long passphrase 43";
    let confirm = json!({"uid": uid, "token": reset_token,
        "new_password1": new_password, "new_password2": new_password});
    let reset = app.post("/password/reset/confirm/", confirm.clone()).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    // The token covered the old hash: it is spent.
    app.post("/password/reset/confirm/", confirm)
        .await
        .fields(&["token"], false);
    assert_eq!(
        app.post("/login/", login).await.status,
        StatusCode::BAD_REQUEST
    );
    let with_new = app
        .post(
            "/login/",
            json!({"username": username, "password": new_password}),
        )
        .await;
    assert_eq!(with_new.body["key"], json!(token), "the DRF token survives");

    let logout = app.post_as("/logout/", &token, json!({})).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(
        app.get_as("/user/", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn restauth_an_unconfirmed_address_is_shared_until_one_account_confirms_it() {
    let app = restauth(|c| c.allauth_email_verification = Some("optional".into())).await;
    let email = format!("{}@example.org", name());
    let (first, second) = (name(), name());
    for username in [&first, &second] {
        let created = register(&app, username, &email).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.keys(), ["key"], "optional verification logs in");
    }
    // A reset mails every holder its own link.
    let asked = app.post("/password/reset/", json!({"email": email})).await;
    assert_eq!(asked.status, StatusCode::OK);
    let one = app.mailed_link(&email, 3, &format!("{FRONT}reset/")).await;
    let other = app.mailed_link(&email, 4, &format!("{FRONT}reset/")).await;
    assert_ne!(segments(&one, 2)[0], segments(&other, 2)[0]);

    let first_key = confirmation_key(&app, &email, 1).await;
    let second_key = confirmation_key(&app, &email, 2).await;
    let confirmed = app
        .post("/registration/verify-email/", json!({"key": first_key}))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    // Now it is taken: the other holder cannot confirm it, nobody can register it.
    let late = app
        .post("/registration/verify-email/", json!({"key": second_key}))
        .await;
    assert_eq!(late.status, StatusCode::NOT_FOUND, "{}", late.body);
    register(&app, &name(), &email.to_uppercase())
        .await
        .fields(&["email"], false);
    // No mail for a confirmed address on resend.
    let resent = app
        .post("/registration/resend-email/", json!({"email": email}))
        .await;
    assert_eq!(resent.body, json!({"detail": "ok"}));
}

#[tokio::test]
async fn restauth_jwt_mode_answers_simplejwt_tokens_and_challenges_with_bearer() {
    let app = restauth(|c| {
        c.allauth_email_verification = Some("none".into());
        c.allauth_login_methods = Some(vec!["email".into()]);
        c.restauth_use_jwt = Some(true);
        c.restauth_jwt_auth_httponly = Some(false);
        c.restauth_jwt_auth_return_expiration = Some(true);
    })
    .await;
    let username = name();
    let email = format!("{username}@example.org");
    let created = register(&app, &username, &email).await;
    assert_eq!(
        created.keys(),
        ["access", "refresh", "user"],
        "{}",
        created.body
    );
    let login = app
        .post("/login/", json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(
        login.keys(),
        [
            "access",
            "access_expiration",
            "refresh",
            "refresh_expiration",
            "user"
        ],
        "{}",
        login.body
    );
    let expiry = login.body["access_expiration"].as_str().unwrap();
    assert!(expiry.ends_with('Z') && expiry.len() == 27, "{expiry}");
    let access = login.body["access"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh"].as_str().unwrap().to_owned();

    let bearer = |token: &str| {
        app.request(Method::GET, "/user/", None)
            .header("Authorization", format!("Bearer {token}"))
    };
    let me = app.send(bearer(&access)).await;
    assert_eq!(me.body["username"], json!(username));
    let as_refresh = app.send(bearer(&refresh)).await;
    assert_eq!(as_refresh.status, StatusCode::UNAUTHORIZED);
    assert_eq!(as_refresh.body["code"], json!("token_not_valid"));
    let anonymous = app.send(app.request(Method::GET, "/user/", None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers.get("www-authenticate").unwrap(),
        "Bearer realm=\"api\""
    );

    let verified = app.post("/token/verify/", json!({"token": refresh})).await;
    assert_eq!(verified.body, json!({}));
    let refreshed = app
        .post("/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(refreshed.keys(), ["access", "access_expiration"]);
    let missing = app.post("/token/refresh/", json!({})).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["code"], json!("token_not_valid"));

    // The token endpoints exist in the JWT mode only.
    let tokens = restauth(|_| {}).await;
    let absent = tokens.post("/token/verify/", json!({"token": "x"})).await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn restauth_failed_logins_spend_the_accounts_budget_by_username_or_address() {
    let app = restauth(|c| {
        c.allauth_rate_limits = Some(true);
        c.rate_limit_rules = [("login".to_owned(), "50/300,2/300".to_owned())].into();
    })
    .await;
    let attempt = |field: &str, value: &str| {
        let mut body = json!({"password": "not the password"});
        body[field] = json!(value);
        app.post("/login/", body)
    };
    for _ in 0..2 {
        assert_eq!(
            attempt("username", "ann").await.status,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        attempt("username", "ANN").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another account's budget is its own.
    assert_eq!(
        attempt("email", "bob@example.org").await.status,
        StatusCode::BAD_REQUEST
    );
}

/// The `Set-Cookie` lines of `reply` for cookie `name`.
fn set_cookie<'a>(reply: &'a Reply, name: &str) -> Vec<&'a str> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with(&format!("{name}=")))
        .collect()
}

#[tokio::test]
async fn restauth_jwt_cookies_carry_the_tokens_with_csrf_and_logout_deletes_them() {
    let app = restauth(|c| {
        c.allauth_email_verification = Some("none".into());
        c.allauth_login_methods = Some(vec!["email".into()]);
        c.restauth_use_jwt = Some(true);
        c.restauth_session_login = Some(false);
        c.restauth_jwt_auth_cookie = Some("jwt-access".into());
        c.restauth_jwt_auth_refresh_cookie = Some("jwt-refresh".into());
        c.restauth_jwt_auth_refresh_cookie_path = Some("/auth/token/refresh/".into());
        c.restauth_jwt_auth_cookie_use_csrf = Some(true);
    })
    .await;
    let username = name();
    let email = format!("{username}@example.org");
    assert_eq!(
        register(&app, &username, &email).await.status,
        StatusCode::CREATED
    );
    let browser = app.browser();
    let login = app
        .send(
            browser
                .post(app.url("/login/"))
                .json(&json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert_eq!(
        login.body["refresh"],
        json!(""),
        "JWT_AUTH_HTTPONLY keeps it out of the body"
    );
    let access = set_cookie(&login, "jwt-access");
    assert!(
        access.len() == 1 && access[0].contains("HttpOnly"),
        "{access:?}"
    );
    let refresh = set_cookie(&login, "jwt-refresh");
    assert!(
        refresh[0].contains("Path=/auth/token/refresh/"),
        "{refresh:?}"
    );
    let csrf = set_cookie(&login, "csrftoken")[0]
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("csrftoken=")
        .to_owned();

    // The cookie alone authenticates; an unsafe request needs the CSRF echo.
    let me = app.send(browser.get(app.url("/user/"))).await;
    assert_eq!(me.body["username"], json!(username), "{}", me.body);
    let patch = || {
        browser
            .patch(app.url("/user/"))
            .json(&json!({"first_name": "Ada"}))
    };
    assert_eq!(app.send(patch()).await.status, StatusCode::FORBIDDEN);
    let patched = app.send(patch().header("X-CSRFToken", &csrf)).await;
    assert_eq!(patched.body["first_name"], json!("Ada"), "{}", patched.body);

    // The refresh cookie stands in for the body, and the access cookie is renewed.
    let refreshed = app
        .send(browser.post(app.url("/token/refresh/")).json(&json!({})))
        .await;
    assert_eq!(
        refreshed.keys(),
        ["access", "access_expiration"],
        "{}",
        refreshed.body
    );
    assert_eq!(set_cookie(&refreshed, "jwt-access").len(), 1);

    let out = app
        .send(
            browser
                .post(app.url("/logout/"))
                .header("X-CSRFToken", &csrf),
        )
        .await;
    assert_eq!(
        out.body["detail"],
        json!("Successfully logged out."),
        "{}",
        out.body
    );
    assert!(set_cookie(&out, "jwt-access")[0].contains("Max-Age=0"));
    assert!(set_cookie(&out, "jwt-refresh")[0].contains("Max-Age=0"));
    let after = app.send(browser.get(app.url("/user/"))).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}
