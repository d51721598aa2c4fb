//! Real `auth-server` processes, for the tests that need several instances
//! or must stop a dependency under a running server.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::{EMAIL_URL, RESET_URL, SECRET, VERIFY_URL};

/// The server binary, built once per test run (a no-op when up to date).
pub fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--package", "auth-server"])
            .current_dir(&root)
            .status()
            .expect("cargo build");
        assert!(status.success(), "building auth-server failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"));
        target.join("debug/auth-server")
    })
}

/// A free port on loopback (released just before the server binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub root: String,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts the server with the test defaults plus `env`, and waits until
    /// it answers `/livez`.
    pub async fn start(env: &[(&str, String)], log_dir: &std::path::Path) -> Self {
        let port = free_port();
        let log = log_dir.join(format!("server-{port}.log"));
        let mut command = Command::new(binary());
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AUTH_BIND", format!("127.0.0.1:{port}"))
            .env("AUTH_SECRET_KEY", SECRET)
            .env("AUTH_VERIFICATION_FROM_EMAIL", "no-reply@front.test")
            .env("AUTH_REGISTER_VERIFICATION_URL", VERIFY_URL)
            .env("AUTH_RESET_PASSWORD_VERIFICATION_URL", RESET_URL)
            .env("AUTH_REGISTER_EMAIL_VERIFICATION_URL", EMAIL_URL)
            .env("AUTH_PASSWORD_HASH_MEMORY_KIB", "1024")
            .env("AUTH_PASSWORD_HASH_ITERATIONS", "1")
            .env("AUTH_PASSWORD_HASH_ALLOW_WEAK", "1")
            .env("AUTH_MAIL_POLL_INTERVAL_MS", "20")
            .env("AUTH_ENUMERATION_FLOOR_MS", "0")
            .env("AUTH_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn auth-server");
        let mut server = Self {
            child,
            root: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_until_live().await;
        server
    }

    async fn wait_until_live(&mut self) {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "auth-server exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if client
                .get(format!("{}/livez", self.root))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "auth-server at {} did not start: {}",
            self.root,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Everything the server logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /readyz`: status and body.
    pub async fn readiness(&self) -> (u16, serde_json::Value) {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let response = client
            .get(format!("{}/readyz", self.root))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Redis at `REDIS_URL` (default local), or `None` (skip) outside CI.
pub async fn redis_url_or_skip() -> Option<String> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = match auth_redis::RedisConnection::connect(&url, Duration::from_secs(2)).await {
        Ok(conn) => conn.ping().await.is_ok(),
        Err(_) => false,
    };
    if reachable {
        return Some(url);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but Redis at {url} is unreachable");
    }
    eprintln!("skipped: Redis at {url} is unreachable; `cargo xtask services` starts one");
    None
}

/// What one command did: exit status, standard output, standard error.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Ran {
    /// Its standard output as JSON, once it succeeded.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "{}", self.err);
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("{e}: {}", self.out))
    }
}

/// Runs `auth-server ARGS` with the test key, cheap hashing and `env`,
/// `stdin` as its input: the operator CLI beside running servers.
pub fn run_cli(env: &[(&str, String)], args: &[&str], stdin: &str) -> Ran {
    use std::io::Write;
    let mut child = Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AUTH_SECRET_KEY", SECRET)
        .env("AUTH_PASSWORD_HASH_MEMORY_KIB", "1024")
        .env("AUTH_PASSWORD_HASH_ITERATIONS", "1")
        .env("AUTH_PASSWORD_HASH_ALLOW_WEAK", "1")
        .env("AUTH_LOG", "error")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Ran {
        code: output.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
