//! `/openapi.json` names exactly the routes a configuration mounts: every
//! documented operation is served (it answers neither 404 nor 405), every
//! endpoint it leaves out answers 404, and methods it does not list
//! answer 405.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// Every endpoint any configuration can mount, as DRR's API and ours name
/// them, and a few that none does.
const CANDIDATES: [&str; 17] = [
    "register",
    "verify-registration",
    "send-reset-password-link",
    "reset-password",
    "login",
    "logout",
    "profile",
    "change-password",
    "register-email",
    "verify-email",
    "resend-verification",
    "credentials",
    "credentials/revoke",
    "delete-account",
    "users",
    "token/login",
    "password/reset",
];

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

async fn document(app: &TestApp) -> Value {
    let response = reqwest::get(format!("{}/openapi.json", app.root()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The documented methods of each documented path under `prefix`.
fn operations(doc: &Value, prefix: &str) -> Vec<(String, BTreeSet<String>)> {
    assert_eq!(doc["openapi"], "3.1.0");
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(path, item)| {
            let name = path.strip_prefix(prefix)?.strip_suffix('/')?;
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_uppercase())
                .collect();
            Some((name.to_owned(), methods))
        })
        .collect()
}

async fn status(app: &TestApp, root_path: &str, method: Method, token: &str) -> u16 {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client
        .request(method.clone(), format!("{}{root_path}", app.root()))
        .header("Authorization", format!("Token {token}"));
    if method != Method::GET {
        request = request.json(&json!({}));
    }
    request.send().await.unwrap().status().as_u16()
}

/// Checks the document of `app`, whose API is under `prefix`, against
/// what the server answers.
async fn documents_what_is_mounted(app: &TestApp, prefix: &str, expect_absent: &[&str]) {
    let doc = document(app).await;
    let documented = operations(&doc, prefix);
    let names: BTreeSet<&str> = documented.iter().map(|(n, _)| n.as_str()).collect();
    for absent in expect_absent {
        assert!(!names.contains(absent), "{absent} is documented but off");
    }
    let user = app.user().await;
    // Left out: nothing is served, even to a logged-in caller. A switched-off
    // flow answers 404 to the methods it had, 405 to the others (DRF checks
    // the method first, as DRR does).
    for name in CANDIDATES.iter().filter(|n| !names.contains(**n)) {
        let mut found = Vec::new();
        for method in METHODS {
            let got = status(
                app,
                &format!("{prefix}{name}/"),
                method.clone(),
                &user.token,
            )
            .await;
            assert!(
                got == 404 || got == 405,
                "{method} {name}/ is not documented but answers {got}"
            );
            found.push(got);
        }
        assert!(found.contains(&404), "{name}/ answers only {found:?}");
    }
    // Documented: served; and only the documented methods are allowed.
    // logout/ last: it may revoke the token.
    let mut documented = documented;
    documented.sort_by_key(|(name, _)| name == "logout");
    for (name, methods) in &documented {
        // The refused methods first, as a documented logout/ may end the token.
        let mut order = METHODS.to_vec();
        order.sort_by_key(|m| methods.contains(m.as_str()));
        for method in order {
            let got = status(
                app,
                &format!("{prefix}{name}/"),
                method.clone(),
                &user.token,
            )
            .await;
            if methods.contains(method.as_str()) {
                assert!(
                    got != 404 && got != 405,
                    "{method} {name}/ is documented but answers {got}"
                );
            } else {
                assert_eq!(
                    got, 405,
                    "{method} {name}/ is not documented but answers {got}"
                );
            }
        }
    }
    // The probes are documented beside the API they share an address with.
    for probe in ["/livez", "/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][probe]["get"].is_object(), "{probe} missing");
    }
}

#[tokio::test]
async fn openapi_documents_exactly_the_mounted_routes_of_the_safe_profile() {
    let app = TestApp::safe().await;
    documents_what_is_mounted(&app, "/api/v1/accounts/", &[]).await;
    let doc = document(&app).await;
    let login = &doc["paths"]["/api/v1/accounts/login/"]["post"];
    assert!(login["responses"]["429"]["headers"]["Retry-After"].is_object());
    assert_eq!(
        login["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ValidationError"
    );
    let body = &login["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!(["login", "password"]));
}

#[tokio::test]
async fn openapi_follows_the_profile_the_prefix_and_the_switches() {
    let app = TestApp::spawn(auth_server::Compat::Drr, |c| {
        c.api_prefix = "/auth".into();
        c.reset_password_verification_enabled = Some(false);
        c.register_email_verification_enabled = Some(false);
    })
    .await;
    // The DRR profile has no delete-account/; reset and e-mail links are off.
    let absent = [
        "delete-account",
        "reset-password",
        "send-reset-password-link",
        "verify-email",
    ];
    documents_what_is_mounted(&app, "/auth/", &absent).await;
    let doc = document(&app).await;
    assert!(doc["paths"]["/api/v1/accounts/login/"].is_null());
    let register = &doc["paths"]["/auth/register/"]["post"];
    assert_eq!(
        register["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Profile",
        "DRR answers a registration with the stored profile, id included"
    );
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => refs(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_of_the_djoser_and_rest_auth_dialects_names_their_routes_and_defined_schemas() {
    use auth_server::config::Api;
    let spawn = |api: Api, jwt: bool| {
        TestApp::spawn(auth_server::Compat::Safe, move |c| {
            c.api = api;
            c.api_prefix = "/auth".into();
            c.user_login_fields = None;
            c.restauth_use_jwt = Some(jwt);
        })
    };
    for (api, jwt, present, absent) in [
        (Api::Djoser, false, "users/me", "registration"),
        (
            Api::RestAuth,
            false,
            "registration/verify-email",
            "token/verify",
        ),
        (Api::RestAuth, true, "token/verify", "users"),
    ] {
        let app = spawn(api, jwt).await;
        let doc = document(&app).await;
        let names: BTreeSet<String> = operations(&doc, "/auth/")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert!(names.contains(present), "{api:?}: {names:?}");
        assert!(!names.contains(absent), "{api:?}: {names:?}");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let name = target.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{api:?}: {target} is not defined"
            );
        }
    }
}
