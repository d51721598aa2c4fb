//! A dependency stopped under a running server: requests fail fast with a
//! JSON 503, `/readyz` names the dependency, and service resumes by itself
//! when it returns, with nothing acknowledged before the fault lost. Each
//! test runs its own throwaway PostgreSQL / Redis (`xtask/services.sh`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_smtp::sink::SmtpSink;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;
use crate::processes::*;

/// Throwaway services in a folder of their own; stopped when dropped.
struct Throwaway {
    dir: tempfile::TempDir,
    pg_port: u16,
    redis_port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../xtask/services.sh")
}

impl Throwaway {
    /// Starts both; `None` (skip) when PostgreSQL's binaries are missing outside CI.
    fn start() -> Option<Self> {
        if Command::new("pg_config").arg("--bindir").output().is_err() {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but PostgreSQL binaries are missing"
            );
            eprintln!("skipped: no PostgreSQL binaries for a throwaway instance");
            return None;
        }
        let services = Self {
            dir: tempfile::tempdir().unwrap(),
            pg_port: free_port(),
            redis_port: free_port(),
        };
        services.run(&[
            "start",
            &services.pg_port.to_string(),
            &services.redis_port.to_string(),
        ]);
        Some(services)
    }

    fn run(&self, args: &[&str]) {
        let (action, rest) = args.split_first().unwrap();
        let status = Command::new("bash")
            .arg(script())
            .arg(action)
            .arg(self.dir.path())
            .args(rest)
            // Durable like a production setup: what was acknowledged survives the stop.
            .env("REDIS_APPENDONLY", "yes")
            .env("PG_SYNCHRONOUS_COMMIT", "on")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "services.sh {args:?} failed");
    }

    fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.pg_port)
    }

    fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.redis_port)
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.run(&["stop"]);
    }
}

/// Polls `/readyz` until it answers 200.
async fn wait_ready(server: &ServerProcess, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = server.readiness().await;
        if status == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again after {within:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn checklist_45_a_postgres_outage_fails_closed_with_503_and_recovers_without_restart() {
    let Some(services) = Throwaway::start() else {
        return;
    };
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let logs = tempfile::tempdir().unwrap();
    // At WARN the request spans are not made: the failure must say which
    // request it was by itself.
    let env = [
        ("AUTH_DATABASE_URL", services.database_url()),
        ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
        ("AUTH_LOG", "warn".to_owned()),
    ];
    let server = ServerProcess::start(&env, logs.path()).await;
    let app = TestApp::attach(server.root.clone(), sink);
    let user = app.user().await;
    assert_eq!(server.readiness().await.0, 200);

    services.run(&["stop-postgres"]);
    let started = Instant::now();
    let reply = app.get_as("/profile/", &user.token).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert_eq!(reply.keys(), ["detail"]);
    assert!(reply.headers.contains_key("retry-after"));
    // Logged once, naming the request, with the driver's error as cause.
    let request_id = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    let log = server.log_text();
    let failures: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(&request_id) && line.contains("request failed"))
        .collect();
    assert_eq!(failures.len(), 1, "{log}");
    assert!(
        failures[0].contains("status=503")
            && failures[0].contains("route=\"/api/v1/accounts/profile/\"")
            && failures[0].contains("token store unavailable: "),
        "{}",
        failures[0]
    );
    let login = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    assert_eq!(
        login.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        login.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failing took {:?}",
        started.elapsed()
    );
    let (status, body) = server.readiness().await;
    assert_eq!(status, 503);
    assert!(
        body["checks"]["database"]
            .as_str()
            .unwrap()
            .starts_with("unavailable"),
        "{body}"
    );

    services.run(&["start-postgres"]);
    wait_ready(&server, Duration::from_secs(30)).await;
    // Acknowledged before the fault: the user and the token are still there.
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK
    );
    let login = app
        .post(
            "/login/",
            json!({"login": user.username, "password": user.password}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
}

#[tokio::test]
async fn checklist_45_a_redis_outage_fails_closed_with_503_and_recovers_without_restart() {
    let Some(services) = Throwaway::start() else {
        return;
    };
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "AUTH_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("auth.db").display()),
        ),
        ("AUTH_REDIS_URL", services.redis_url()),
        ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
    ];
    let server = ServerProcess::start(&env, dir.path()).await;
    let app = TestApp::attach(server.root.clone(), sink);
    let user = app.user().await;

    services.run(&["stop-redis"]);
    let started = Instant::now();
    let reply = app.get_as("/profile/", &user.token).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failing took {:?}",
        started.elapsed()
    );
    let (status, body) = server.readiness().await;
    assert_eq!(status, 503);
    assert!(
        body["checks"]["redis"]
            .as_str()
            .unwrap()
            .starts_with("unavailable"),
        "{body}"
    );
    assert_eq!(body["checks"]["database"], json!("ok"));

    services.run(&["start-redis"]);
    wait_ready(&server, Duration::from_secs(30)).await;
    assert_eq!(
        app.get_as("/profile/", &user.token).await.status,
        StatusCode::OK,
        "a token issued before the fault was lost"
    );
}

#[tokio::test]
async fn checklist_44_an_smtp_outage_fails_no_request_and_loses_no_mail_even_across_a_restart() {
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "AUTH_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("auth.db").display()),
        ),
        ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
        ("AUTH_MAIL_RETRY_DELAY", "3".to_owned()),
    ];
    sink.set_refusing(true);
    let first = ServerProcess::start(&env, dir.path()).await;
    let app = TestApp::attach(first.root.clone(), sink.clone());
    let username = name();
    let email = format!("{username}@example.org");
    let registered = app.register_raw(&username, &email, PASSWORD).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let reset = app
        .post("/send-reset-password-link/", json!({"login": username}))
        .await;
    assert_eq!(
        reset.status,
        StatusCode::OK,
        "requests succeed while SMTP refuses"
    );
    // Killed while both mails wait for a retry: a kill in the middle of a
    // delivery would leave that mail leased (by design it then waits for
    // the lease to expire, minutes, rather than risk a second copy).
    wait_until_both_wait_for_a_retry(&dir.path().join("auth.db")).await;
    drop(first);

    sink.set_refusing(false);
    let second = ServerProcess::start(&env, dir.path()).await;
    let mails = sink.wait_for(&email, 2, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 2, "queued mail was lost across the restart");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.to(&email).len(), 2, "a mail was sent twice");
    drop(second);
}

/// Returns once the two queued mails have each failed at least once, neither
/// is being delivered and neither is due within the next two seconds.
async fn wait_until_both_wait_for_a_retry(db: &std::path::Path) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
             AND attempts >= 1 AND leased_until IS NULL AND next_attempt_at >= $1",
        )
        .bind(now + 2)
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting == 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the two mails were never both waiting for a retry"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
