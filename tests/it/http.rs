//! The HTTP contract shared by every endpoint: methods, bodies, errors.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

const OPEN_POST: [&str; 6] = [
    "/register/",
    "/verify-registration/",
    "/send-reset-password-link/",
    "/reset-password/",
    "/login/",
    "/verify-email/",
];
const AUTH_POST: [&str; 3] = ["/logout/", "/change-password/", "/register-email/"];

#[tokio::test]
async fn get_on_open_post_endpoints_is_405_with_allow() {
    let app = TestApp::drr().await;
    for path in OPEN_POST {
        let reply = app.send(app.request(Method::GET, path, None)).await;
        assert_eq!(reply.detail(405), "Method \"GET\" not allowed.", "{path}");
        assert_eq!(reply.headers["allow"], "POST, OPTIONS");
    }
    app.send(app.request(Method::PUT, "/login/", None).json(&json!({})))
        .await
        .detail(405);
    let head = app.send(app.request(Method::HEAD, "/login/", None)).await;
    assert_eq!(
        head.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "HEAD follows GET, which POST-only routes lack"
    );
}

#[tokio::test]
async fn protected_endpoints_are_401_before_405() {
    let app = TestApp::drr().await;
    for path in AUTH_POST {
        app.post(path, json!({})).await.detail(401);
        app.send(app.request(Method::GET, path, None))
            .await
            .detail(401);
    }
}

#[tokio::test]
async fn malformed_json_is_detail_400_on_every_open_endpoint() {
    let app = TestApp::drr().await;
    for path in OPEN_POST {
        let request = app
            .request(Method::POST, path, None)
            .header("Content-Type", "application/json")
            .body("{not json");
        assert!(
            app.send(request)
                .await
                .detail(400)
                .starts_with("JSON parse error - "),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_non_field_errors() {
    let app = TestApp::drr().await;
    for body in [json!([1]), json!("text"), json!(null)] {
        let reply = app.post("/login/", body).await;
        assert_eq!(
            (reply.status, reply.keys()),
            (StatusCode::BAD_REQUEST, vec!["non_field_errors".to_owned()])
        );
    }
}

#[tokio::test]
async fn unsupported_media_type_is_415_and_oversized_body_is_413() {
    let app = TestApp::drr().await;
    let request = app
        .request(Method::POST, "/login/", None)
        .header("Content-Type", "text/plain")
        .body("login=x");
    assert_eq!(
        app.send(request).await.detail(415),
        "Unsupported media type \"text/plain\" in request."
    );
    let huge = json!({"login": "x".repeat(200_000), "password": "y"});
    app.send(app.request(Method::POST, "/login/", None).json(&huge))
        .await
        .detail(413);
}

#[tokio::test]
async fn unknown_paths_and_paths_without_slash_are_json_404() {
    let app = TestApp::drr().await;
    app.send(app.request(Method::GET, "/nope/", None))
        .await
        .detail(404);
    app.send(app.request(Method::POST, "/login", None))
        .await
        .detail(404);
}

#[tokio::test]
async fn options_answers_drf_metadata() {
    let app = TestApp::drr().await;
    let reply = app
        .send(app.request(Method::OPTIONS, "/login/", None))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.keys(), ["description", "name", "parses", "renders"]);
    let user = app.user().await;
    assert_eq!(
        app.send(app.request(Method::OPTIONS, "/profile/", Some(&user.token)))
            .await
            .status,
        StatusCode::OK
    );
    app.send(app.request(Method::OPTIONS, "/profile/", None))
        .await
        .detail(401);
}

#[tokio::test]
async fn a_bad_token_header_is_401_even_on_open_endpoints() {
    let app = TestApp::drr().await;
    let reply = app
        .send(
            app.request(Method::POST, "/login/", Some("not-a-token"))
                .json(&json!({})),
        )
        .await;
    assert_eq!(reply.detail(401), "Invalid token.");
}

#[tokio::test]
async fn multipart_form_bodies_are_read_like_json() {
    let app = TestApp::drr().await;
    let user = app.user().await;
    let boundary = "XyZ-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{}\r\n--{boundary}--\r\n",
        user.username, user.password
    );
    let request = app
        .request(Method::POST, "/login/", None)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    let reply = app.send(request).await;
    assert_eq!(reply.keys(), ["detail", "token"], "{}", reply.body);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_clients_own_is_replaced() {
    let app = TestApp::safe().await;
    let first = app.post("/login/", json!({})).await;
    let second = app.post("/login/", json!({})).await;
    let id = |reply: &Reply| reply.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id(&first).len(), 36, "a UUID: {}", id(&first));
    assert_ne!(id(&first), id(&second));
    let forwarded = app
        .send(
            app.request(Method::POST, "/login/", None)
                .header("x-request-id", "chosen-by-the-client-1")
                .json(&json!({})),
        )
        .await;
    // Only a trusted proxy's id is kept (logs.rs checks that one).
    assert_ne!(id(&forwarded), "chosen-by-the-client-1");
    assert_eq!(id(&forwarded).len(), 36);
}

#[tokio::test]
async fn a_null_character_in_a_text_field_is_a_field_error_on_postgres_too() {
    let Some(database) = auth_sql::testing::PgDatabase::create().await else {
        return;
    };
    let url = database.url.clone();
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| c.database_url = url).await;
    // PostgreSQL refuses NUL in text; DRF refuses it first, as this must.
    let reply = app
        .post("/login/", json!({"login": "ann\u{0}", "password": "x"}))
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["login"][0], "Null characters are not allowed.");
    let reply = app
        .post("/send-reset-password-link/", json!({"login": "\u{0}bob"}))
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}
