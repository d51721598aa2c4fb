//! `TestApp`: one server per test, with its own SQLite file and SMTP sink.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use auth_server::{App, Compat, Config};
use auth_smtp::sink::SmtpSink;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;

pub const SECRET: &str = "e2e-secret-key-with-enough-characters-to-pass";
pub const VERIFY_URL: &str = "https://front.test/verify-user/";
pub const RESET_URL: &str = "https://front.test/reset-password/";
pub const EMAIL_URL: &str = "https://front.test/verify-email/";
pub const PASSWORD: &str = "a long enough passphrase 42";
/// The default login attempts per account and 5 minutes (auth-http's `Limits`).
pub const LOGIN_ACCOUNT_BUDGET: usize = 8;

pub struct TestApp {
    pub base: String,
    /// `http://host:port`, where `/metrics`, the probes and `/openapi.json` are.
    root: String,
    /// The SQLite URL of an in-process server, for grey-box checks.
    pub database_url: Option<String>,
    pub sink: Arc<SmtpSink>,
    client: reqwest::Client,
    /// An in-process server's database folder and stop switch.
    _server: Option<(tempfile::TempDir, watch::Sender<bool>)>,
}

/// A response: status, headers and the JSON body (`Value::Null` if none).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The sorted keys of the JSON object body.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// Asserts a DRF `{"detail": "..."}` body with `status`.
    pub fn detail(&self, status: u16) -> &str {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.keys(), ["detail"], "{}", self.body);
        self.body["detail"].as_str().unwrap()
    }

    /// Asserts a 400 with exactly these field keys (plus an empty
    /// `non_field_errors` when `object_level`).
    pub fn fields(&self, fields: &[&str], object_level: bool) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.body);
        let mut expected: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        if object_level {
            expected.push("non_field_errors".into());
            assert_eq!(self.body["non_field_errors"], json!([]), "{}", self.body);
        }
        expected.sort();
        assert_eq!(self.keys(), expected, "{}", self.body);
        for field in fields {
            let messages = self.body[field].as_array().unwrap();
            assert!(
                !messages.is_empty()
                    && messages
                        .iter()
                        .all(|m| m.as_str().is_some_and(|s| !s.is_empty()))
            );
        }
    }
}

/// A registered user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A fresh username, unique within the test binary.
pub fn name() -> String {
    format!(
        "user{}",
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

impl TestApp {
    /// The DRR profile, as the conformance suite runs it.
    pub async fn drr() -> Self {
        Self::spawn(Compat::Drr, |_| {}).await
    }

    /// Settings common to every test server; the DRR profile gets the
    /// login fields the conformance suite uses.
    fn base_login_fields(compat: Compat) -> Option<Vec<String>> {
        (compat == Compat::Drr).then(|| vec!["username".into(), "email".into()])
    }

    /// Our safe defaults.
    pub async fn safe() -> Self {
        Self::spawn(Compat::Safe, |_| {}).await
    }

    pub async fn spawn(compat: Compat, tweak: impl FnOnce(&mut Config)) -> Self {
        let sink = SmtpSink::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            bind: "127.0.0.1:0".into(),
            database_url: format!("sqlite://{}", dir.path().join("auth.db").display()),
            secret_key: Some(SECRET.into()),
            mail_url: format!("smtp://127.0.0.1:{}", sink.port()),
            verification_from_email: "no-reply@front.test".into(),
            compat,
            register_verification_url: Some(VERIFY_URL.into()),
            reset_password_verification_url: Some(RESET_URL.into()),
            register_email_verification_url: Some(EMAIL_URL.into()),
            // Cheap hashing keeps the suite fast; production parameters are tested in auth-core.
            password_hash_memory_kib: 1024,
            password_hash_iterations: 1,
            password_hash_allow_weak: true,
            // Timing is `cargo xtask bench`'s business; tests need no padding.
            enumeration_floor_ms: Some(0),
            mail_poll_interval_ms: 20,
            user_login_fields: Self::base_login_fields(compat),
            ..Config::default()
        };
        tweak(&mut config);
        let app = App::build(&config).await.unwrap();
        let listener = auth_server::bind(&config).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(app.serve(listener, stopped));
        let root = format!("http://{addr}");
        Self {
            _server: Some((dir, stop)),
            database_url: Some(config.database_url.clone()),
            base: format!("{root}{}", config.api_prefix.trim_end_matches('/')),
            ..Self::attach(root, Arc::new(sink))
        }
    }

    /// A client for a server already running at `root` (`http://host:port`)
    /// whose mail goes to `sink`.
    pub fn attach(root: String, sink: Arc<SmtpSink>) -> Self {
        Self {
            base: format!("{root}/api/v1/accounts"),
            root,
            sink,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            database_url: None,
            _server: None,
        }
    }

    /// A cookie-keeping client, like a browser front end.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .build()
            .unwrap()
    }

    /// The server's database, for grey-box checks ("an administrator
    /// disables the account", "what is stored").
    pub async fn db(&self) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(self.database_url.as_deref().expect("an in-process server"))
            .await
            .unwrap()
    }

    /// Disables `id` the way an administrator would, in the database.
    pub async fn disable(&self, id: i64) {
        sqlx::query("UPDATE users SET active = 0 WHERE id = ?1")
            .bind(id)
            .execute(&self.db().await)
            .await
            .unwrap();
    }

    /// The stored password hash of `id`.
    pub async fn stored_hash(&self, id: i64) -> String {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?1")
            .bind(id)
            .fetch_one(&self.db().await)
            .await
            .unwrap()
    }

    /// Logs in; the reply.
    pub async fn login(&self, login: &str, password: &str) -> Reply {
        self.post("/login/", json!({"login": login, "password": password}))
            .await
    }

    /// `http://host:port`, where `/metrics`, the probes and `/openapi.json` are.
    pub fn root(&self) -> &str {
        &self.root
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.header("Authorization", format!("Token {token}")),
            None => request,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::POST, path, None).json(&body))
            .await
    }

    pub async fn post_as(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(self.request(Method::POST, path, Some(token)).json(&body))
            .await
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.send(self.request(Method::GET, path, Some(token)))
            .await
    }

    /// The query parameters of the `n`-th link mailed to `email` (1-based).
    pub async fn link(&self, email: &str, n: usize) -> HashMap<String, String> {
        let mails = self.sink.wait_for(email, n, Duration::from_secs(10)).await;
        assert!(
            mails.len() >= n,
            "expected {n} mail(s) to {email}, got {}",
            mails.len()
        );
        let data = &mails[n - 1].data;
        let line = data
            .lines()
            .find(|l| l.starts_with("https://front.test/"))
            .unwrap_or_else(|| panic!("no link in mail: {data}"));
        let query = line.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The whole link starting with `prefix` in the `n`-th mail to `email`.
    pub async fn mailed_link(&self, email: &str, n: usize, prefix: &str) -> String {
        let mails = self.sink.wait_for(email, n, Duration::from_secs(10)).await;
        assert!(
            mails.len() >= n,
            "expected {n} mail(s) to {email}, got {}",
            mails.len()
        );
        let data = &mails[n - 1].data;
        data.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no link starting {prefix} in mail: {data}"))
            .trim()
            .to_owned()
    }

    /// The link base of the `n`-th mail to `email`.
    pub async fn link_base(&self, email: &str, n: usize) -> String {
        let mails = self.sink.wait_for(email, n, Duration::from_secs(10)).await;
        let data = &mails[n - 1].data;
        let line = data
            .lines()
            .find(|l| l.starts_with("https://front.test/"))
            .unwrap();
        format!("{}?", line.split_once('?').unwrap().0)
    }

    /// Registers (with `password_confirm`) and returns the 201 reply.
    pub async fn register_raw(&self, username: &str, email: &str, password: &str) -> Reply {
        self.post(
            "/register/",
            json!({"username": username, "email": email, "password": password, "password_confirm": password}),
        )
        .await
    }

    /// Registers, verifies and logs a fresh user in.
    pub async fn user(&self) -> User {
        self.user_with(PASSWORD).await
    }

    /// [`TestApp::user`] with its own password.
    pub async fn user_with(&self, password: &str) -> User {
        let user = self.unverified_with(password).await;
        let link = self.link(&user.email, 1).await;
        assert_eq!(
            self.post("/verify-registration/", json!(link)).await.status,
            StatusCode::OK
        );
        let login = self
            .post(
                "/login/",
                json!({"login": user.username, "password": user.password}),
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        User {
            token: login.body["token"].as_str().unwrap().to_owned(),
            ..user
        }
    }

    /// Registers a fresh user without verifying it.
    pub async fn unverified(&self) -> User {
        self.unverified_with(PASSWORD).await
    }

    /// [`TestApp::unverified`] with its own password.
    pub async fn unverified_with(&self, password: &str) -> User {
        let username = name();
        let email = format!("{username}@example.org");
        let reply = self.register_raw(&username, &email, password).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        // The safe profile answers without an id (a taken address must get
        // the same answer); the verification link carries it.
        let id = match reply.body["id"].as_i64() {
            Some(id) => id,
            None => self.link(&email, 1).await["user_id"].parse().unwrap(),
        };
        User {
            id,
            username,
            email,
            password: password.into(),
            token: String::new(),
        }
    }

    /// Logs `user` in with a cookie-keeping client; returns it and the CSRF token.
    pub async fn browser_login(&self, user: &User) -> (reqwest::Client, String) {
        let browser = self.browser();
        let reply = self
            .send(
                browser
                    .post(self.url("/login/"))
                    .json(&json!({"login": user.username, "password": user.password})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        let csrf = reply
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("csrftoken="))
            .map(|c| c.split(';').next().unwrap().to_owned())
            .expect("csrftoken cookie");
        (browser, csrf)
    }
}

/// A link signed outside the server with `key`.
pub fn signed_with(
    key: &str,
    salt: auth_core::signing::Salt,
    user_id: &str,
    email: Option<&str>,
    timestamp: i64,
) -> Value {
    use auth_core::signing::{LinkData, SecretKey, signature};
    let data = LinkData {
        user_id: user_id.into(),
        email: email.map(Into::into),
        timestamp,
    };
    let sig = signature(&SecretKey::new(key).unwrap(), &salt, &data);
    let mut link = json!({"user_id": user_id, "timestamp": timestamp, "signature": sig});
    if let Some(email) = email {
        link["email"] = json!(email);
    }
    link
}

/// A link signed outside the server with the shared key.
pub fn signed(
    salt: auth_core::signing::Salt,
    user_id: &str,
    email: Option<&str>,
    timestamp: i64,
) -> Value {
    signed_with(SECRET, salt, user_id, email, timestamp)
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `signature` with its first character changed.
pub fn tamper(signature: &str) -> String {
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{first}{}", &signature[1..])
}
