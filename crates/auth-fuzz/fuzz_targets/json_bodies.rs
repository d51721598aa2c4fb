//! Every JSON request body, through the whole server (router, body parsing,
//! form rules, workflows, SQLite): whatever the bytes, the answer is a 2xx/4xx
//! with a JSON body (or none) — never a 5xx, a panic or a hang.
#![no_main]

use std::sync::{Mutex, OnceLock};

use auth_core::signing::{LinkData, LinkSigner, Salt, SecretKey};
use auth_server::{App, Compat, Config};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET: &str = "fuzz-secret-key-long-enough-for-the-start-checks";
const EMAIL: &str = "fuzz@example.org";
const PASSWORD: &str = "a long enough passphrase 42";

/// Endpoints with a JSON body, and whether they need the caller's token.
const ENDPOINTS: &[(Method, &str, bool)] = &[
    (Method::POST, "register/", false),
    (Method::POST, "verify-registration/", false),
    (Method::POST, "resend-verification/", false),
    (Method::POST, "login/", false),
    (Method::POST, "logout/", true),
    (Method::PATCH, "profile/", true),
    (Method::PUT, "profile/", true),
    (Method::POST, "change-password/", true),
    (Method::POST, "send-reset-password-link/", false),
    (Method::POST, "reset-password/", false),
    (Method::POST, "register-email/", true),
    (Method::POST, "verify-email/", false),
    (Method::POST, "credentials/revoke/", true),
];

struct Server {
    runtime: tokio::runtime::Runtime,
    router: Router,
    token: Mutex<String>,
    _dir: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            database_url: format!("sqlite://{}", dir.path().join("fuzz.db").display()),
            secret_key: Some(SECRET.into()),
            mail_url: format!("dir:{}", dir.path().join("mail").display()),
            compat: Compat::Safe,
            rate_limits: Some(false),
            // Padding answers to a floor would only slow the fuzzer down.
            enumeration_floor_ms: Some(0),
            password_hash_memory_kib: 256,
            password_hash_iterations: 1,
            password_hash_allow_weak: true,
            ..Config::default()
        };
        let router = runtime.block_on(async {
            App::build(&config).await.expect("app").into_router()
        });
        let server = Server {
            runtime,
            router,
            token: Mutex::new(String::new()),
            _dir: dir,
        };
        server.runtime.block_on(server.enrol());
        server
    })
}

impl Server {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1/accounts/{path}"))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Token {token}"));
        }
        let request = request.body(Body::from(body)).expect("request");
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, bytes.to_vec())
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, bytes) = self.call(Method::POST, path, None, body.to_string().into_bytes()).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Registers and verifies the caller (signing its link with the known key).
    async fn enrol(&self) {
        let (status, user) = self
            .post("register/", json!({"username": "fuzz", "email": EMAIL, "password": PASSWORD, "password_confirm": PASSWORD}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        // The safe profile's answer carries no id; the database is new.
        let id = "1".to_owned();
        let signer = LinkSigner::new(vec![SecretKey::new(SECRET).expect("key")]).expect("signer");
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let data = LinkData { user_id: id.clone(), email: None, timestamp };
        let signature = signer.sign(&Salt::register_one_time(false), &data);
        let (status, body) = self
            .post("verify-registration/", json!({"user_id": id, "timestamp": timestamp, "signature": signature}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.log_in().await;
    }

    /// A fresh token (the fuzzer may have logged the last one out).
    async fn log_in(&self) {
        let (status, body) = self.post("login/", json!({"login": EMAIL, "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["token"].as_str().expect("token").to_owned();
        *self.token.lock().expect("token lock") = token;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (method, path, authenticated) = &ENDPOINTS[usize::from(selector) % ENDPOINTS.len()];
    let server = server();
    server.runtime.block_on(async {
        let token = authenticated.then(|| server.token.lock().expect("token lock").clone());
        let (status, reply) = server.call(method.clone(), path, token.as_deref(), body.to_vec()).await;
        assert!(
            !status.is_server_error(),
            "{method} {path} answered {status} to {:?}: {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&reply)
        );
        assert!(
            reply.is_empty() || serde_json::from_slice::<Value>(&reply).is_ok(),
            "{method} {path} answered a non-JSON body: {}",
            String::from_utf8_lossy(&reply)
        );
        if status == StatusCode::UNAUTHORIZED && *authenticated {
            server.log_in().await;
        }
    });
});
