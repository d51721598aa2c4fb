//! `cargo xtask schemathesis`: the release server fuzzed through its own
//! `/openapi.json` by schemathesis (from PyPI, in a venv cached under
//! `target/`), on SQLite and on PostgreSQL + Redis. Any 5xx, any answer the
//! document does not allow, or a crash fails the run.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The schemathesis release the runs are pinned to.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// The seeded account's password (the run's own, thrown away with it).
const PASSWORD: &str = "a passphrase for the fuzzing 31";
const SECRET: &str = "schemathesis-run-secret-key-of-enough-length";

/// Where a run keeps its data.
enum Backend {
    Sqlite,
    /// A database made for the run, and the Redis URL.
    Postgres {
        admin: String,
        redis: String,
    },
}

/// Runs every backend that is available (all of them under `CI=true`).
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let seconds: u64 = match args.first() {
        Some(s) => s
            .parse()
            .with_context(|| format!("SECONDS must be a whole number, not {s:?}"))?,
        None => 60,
    };
    crate::cargo(&["build", "--release", "--package", "auth-server"])?;
    let st = venv(root)?;
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let mut backends = vec![Backend::Sqlite];
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    if answers(&admin, 5432) && answers(&redis, 6379) {
        backends.push(Backend::Postgres { admin, redis });
    } else if ci {
        bail!("CI=true but PostgreSQL ({admin}) or Redis ({redis}) does not answer");
    } else {
        eprintln!("xtask: PostgreSQL or Redis does not answer: SQLite only");
    }
    for backend in &backends {
        against(root, &st, backend, seconds)?;
    }
    Ok(())
}

/// Whether the host:port of `url` (or `default_port`) accepts a connection.
fn answers(url: &str, default_port: u16) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = host.split(['/', '?', ',']).next().unwrap_or(host);
    let address = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{default_port}")
    };
    use std::net::ToSocketAddrs;
    address.to_socket_addrs().is_ok_and(|mut addrs| {
        addrs.any(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
    })
}

/// The `st` binary of the cached venv, made (or remade for another
/// version) first.
fn venv(root: &Path) -> Result<PathBuf> {
    let home = root.join("target/schemathesis-venv");
    let st = home.join("bin/st");
    let stamp = home.join("installed");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == SCHEMATHESIS) && st.is_file() {
        return Ok(st);
    }
    eprintln!("xtask: installing {SCHEMATHESIS} into {}", home.display());
    let _ = std::fs::remove_dir_all(&home);
    status(Command::new("python3").arg("-m").arg("venv").arg(&home))?;
    status(Command::new(home.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        SCHEMATHESIS,
    ]))?;
    std::fs::write(&stamp, SCHEMATHESIS)?;
    Ok(st)
}

fn status(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A database made for one run, dropped after it.
struct Database {
    admin: String,
    name: String,
}

impl Database {
    fn create(admin: &str) -> Result<(Self, String)> {
        let name = format!("schemathesis_{}", std::process::id());
        let database = Self {
            admin: admin.to_owned(),
            name,
        };
        database.psql(&format!("DROP DATABASE IF EXISTS {}", database.name))?;
        database.psql(&format!("CREATE DATABASE {}", database.name))?;
        let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
        let url = format!("{base}/{}", database.name);
        Ok((database, url))
    }

    fn psql(&self, sql: &str) -> Result<()> {
        status(
            Command::new("psql")
                .arg(&self.admin)
                .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
                .stdout(Stdio::null()),
        )
        .context("psql (Debian's postgresql-client) is needed to make the run's database")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = self.psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One backend: start the server, seed an account, fuzz, check the log.
fn against(root: &Path, st: &Path, backend: &Backend, seconds: u64) -> Result<()> {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres { .. } => "postgres-redis",
    };
    let dir = root.join("target/schemathesis").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("mail"))?;
    let port = free_port()?;
    let origin = format!("http://127.0.0.1:{port}");
    // Far above what the run sends: a limit would answer 429 where the
    // fuzzer looks for other answers. For this run only.
    let rule = "100000/60,100000/60";
    let rules = [
        "login",
        "register",
        "send_reset_link",
        "reset_password",
        "verify",
        "register_email",
        "resend",
        "reauthenticate",
    ]
    .map(|action| format!("{action}=\"{rule}\""))
    .join(",");
    let mut env: Vec<(&str, String)> = vec![
        ("AUTH_BIND", format!("127.0.0.1:{port}")),
        ("AUTH_SECRET_KEY", SECRET.into()),
        (
            "AUTH_MAIL_URL",
            format!("dir:{}", dir.join("mail").display()),
        ),
        ("AUTH_RATE_LIMIT_RULES", format!("{{{rules}}}")),
        ("AUTH_LOG", "warn".into()),
    ];
    let _database = match backend {
        Backend::Sqlite => {
            env.push((
                "AUTH_DATABASE_URL",
                format!("sqlite://{}", dir.join("auth.db").display()),
            ));
            None
        }
        Backend::Postgres { admin, redis } => {
            let (database, url) = Database::create(admin)?;
            env.push(("AUTH_DATABASE_URL", url));
            env.push(("AUTH_REDIS_URL", redis.clone()));
            env.push((
                "AUTH_REDIS_PREFIX",
                format!("schemathesis:{}:", std::process::id()),
            ));
            Some(database)
        }
    };
    println!(
        "== schemathesis on {name}: rate limits raised to {rule} per action for this run only"
    );
    let binary = root.join("target/release/auth-server");
    let server_log = dir.join("server.log");
    let server = Server(
        Command::new(&binary)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&server_log)?)
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?,
    );
    wait_until_live(&origin)?;
    seed(&binary, &env)?;
    // Two passes, each with its own token: logout/ may revoke the one it
    // is given, which would leave the other operations only 401s.
    let passes = [
        ("logout/$", "--exclude-path-regex", seconds),
        ("logout/$", "--include-path-regex", (seconds / 6).max(10)),
    ];
    // Both tokens first: the fuzzer may rename the account (profile/).
    let tokens = [login(&origin)?, login(&origin)?];
    let mut failed = Vec::new();
    for (index, ((pattern, filter, budget), token)) in passes.into_iter().zip(tokens).enumerate() {
        let report = dir.join(format!("pass-{index}"));
        let status = Command::new(st)
            .arg("--config-file")
            .arg(root.join("xtask/schemathesis.toml"))
            .arg("run")
            .arg(format!("{origin}/openapi.json"))
            .args(["--checks", "all"])
            .args(["--max-time", &budget.to_string()])
            .args(["-H", &format!("Authorization: Token {token}")])
            .args([filter, pattern])
            .args(["--report", "junit", "--report-dir"])
            .arg(&report)
            // Its cache (.schemathesis/) stays with the run, not in the tree.
            .current_dir(&dir)
            .status()
            .context("could not run schemathesis")?;
        if !status.success() {
            failed.push(format!("pass {index} ({filter} {pattern}): {status}"));
        }
    }
    drop(server);
    let log = std::fs::read_to_string(&server_log).unwrap_or_default();
    if log.contains("panicked") {
        failed.push(format!("the server panicked: see {}", server_log.display()));
    }
    if !failed.is_empty() {
        bail!("schemathesis on {name} failed: {}", failed.join("; "));
    }
    println!("== schemathesis on {name}: clean");
    Ok(())
}

fn wait_until_live(origin: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ureq::get(format!("{origin}/livez")).call().is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server at {origin} did not start");
}

/// Creates the run's account with the operator CLI (verified, so it can
/// log in), on the server's configuration.
fn seed(binary: &Path, env: &[(&str, String)]) -> Result<()> {
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "users",
            "create",
            "schemathesis",
            "--email",
            "schemathesis@example.org",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("could not run auth-server users create")?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(format!("{PASSWORD}\n").as_bytes())?;
    let status = child.wait()?;
    if !status.success() {
        bail!("auth-server users create failed ({status})");
    }
    Ok(())
}

/// A fresh API token of the seeded account.
fn login(origin: &str) -> Result<String> {
    let body: serde_json::Value = ureq::post(format!("{origin}/api/v1/accounts/login/"))
        .send_json(serde_json::json!({"login": "schemathesis", "password": PASSWORD}))
        .context("login of the seeded account")?
        .body_mut()
        .read_json()?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("login answered no token")
}
