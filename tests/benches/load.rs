//! `cargo xtask bench load`: throughput, latency, CPU and memory of the
//! release server under wrk, beside two ceilings measured in the same run —
//! a minimal axum route (this binary, re-run as a server, measured again
//! just before each backend's scenarios, as the machine drifts over a run)
//! and argon2id at the configured cost (cores ÷ one hash's time).
//!
//! The server is the release binary (`AUTH_SERVER_BIN`, which `cargo xtask
//! bench load` builds), on SQLite and, when they answer, on PostgreSQL +
//! Redis (required under `CI=true`), with its production defaults except
//! rate limits, which would end the run (raised for it only, and it says
//! so). Users are seeded through the store — a Django site's tables
//! imported with `import-django`, DRF tokens included — not through the
//! API. Every scenario runs after a warm-up; CPU is the server process's
//! user + system time, peak RSS its high-water mark reset before each
//! scenario (`/proc/PID/clear_refs`).
//!
//! `LOAD_MODE=quick` (CI): a few seconds per scenario, no million-user
//! run, a timed goal missed by less than [`QUICK_NOISE`] reported as short
//! rather than failed, and a backend that misses a goal by more measured
//! again (five attempts at most; see [`Mode::attempts`]). It catches
//! regressions; whether the goals hold is the full run's to say. `full`
//! (default): ten seconds per scenario, and login / profile latency with
//! 1 000 000 users and tokens against the 1 000-user store measured just
//! before and just after them (seeding takes minutes, over which the
//! machine drifts). Reports in
//! `target/bench/load.md` and `target/bench/load.svg`; exits non-zero when
//! a goal (printed with the table) is missed.
//!
//! `UPDATE_DOCS=1` (full mode only) also rewrites the measured part of
//! docs/operations.md's "Sizing (measured)" from the run (see [`sizing`]).
//!
//! For finding where the time goes: `LOAD_ONLY=reads` runs the profile
//! reads alone, `LOAD_ONLY=flood` the reads beside a login flood alone,
//! and `LOAD_PERF=<dir>` records each measured scenario with a system-wide
//! `perf record` (see `record_profile`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a failed unwrap is a failed run

#[path = "common/django_site.rs"]
mod django_site;

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_core::domain::Password;
use auth_core::hashing::{Argon2Hasher, Argon2Params};
use auth_core::import::InactiveMeans;
use auth_server::Config;
use auth_server::import::ImportRequest;
use auth_sql::django::UserTable;
use django_site::{Site, token_key};
use serde_json::Value;

const PASSWORD: &str = "a long enough passphrase 42";
const SECRET: &str = "load bench secret key, long enough to pass the check 0123";
const PREFIX: &str = "/api/v1/accounts";
/// Users of the ordinary runs; the scale run has [`SCALE_USERS`].
const USERS: usize = 1_000;
const SCALE_USERS: usize = 1_000_000;
/// Distinct tokens and sessions the read scenarios cycle through.
const CREDENTIALS: usize = 1_000;
const SESSIONS: usize = 64;
/// Far above what a run sends; for this run only.
const RAISED_RULE: &str = "1000000/60,1000000/60";

/// The goals of issue 12, checked at the end.
const READ_SHARE_SQLITE: f64 = 0.50;
const READ_SHARE_SHARED: f64 = 0.35;
const LOGIN_SHARE: f64 = 0.90;
const FLOOD_P99_FACTOR: f64 = 3.0;
const SCALE_SLOWDOWN: f64 = 0.10;
const BASE_RSS_MIB: f64 = 64.0;
/// The share of a timed goal a 3 s sample may reach and still not fail quick
/// mode: on the shared 2-core VMs one build's 3 s samples read logins at
/// 79–94 % of the ceiling and a flooded p99 at 1.2–7.8× the idle one.
const QUICK_NOISE: f64 = 0.8;

/// How a measured figure stands against its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Met,
    /// Short of the goal by less than a quick sample's noise: reported, and
    /// a failure only in the full run.
    Short,
    Missed,
}

impl Verdict {
    /// `achieved` is the figure as a share of its goal (1.0 = exactly met);
    /// `timed` goals (throughput, latency) get quick mode's noise margin,
    /// memory does not.
    fn of(mode: Mode, achieved: f64, timed: bool) -> Self {
        if achieved >= 1.0 {
            Self::Met
        } else if mode == Mode::Quick && timed && achieved >= QUICK_NOISE {
            Self::Short
        } else {
            Self::Missed
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Met => "met:",
            Self::Short => "short (within a quick sample's noise):",
            Self::Missed => "MISSED:",
        }
    }
}

/// The scenario of reads measured while a login flood runs.
const FLOODED: &str = "token-auth GET profile/ during a login flood";
/// The minimal route's reads beside the same flood (no goal: the machine's
/// share of the flooded p99).
const ROUTE_FLOODED: &str = "minimal axum route beside a login flood";
/// The scenarios measured again with a million users and tokens.
const SCALE_READ: &str = "token-auth GET profile/";
const SCALE_LOGIN: &str = "POST login/";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Quick,
    Full,
}

impl Mode {
    fn from_env() -> Self {
        match std::env::var("LOAD_MODE").as_deref() {
            Ok("quick") => Self::Quick,
            Ok("full") | Err(_) => Self::Full,
            Ok(other) => panic!("LOAD_MODE={other}: use quick or full"),
        }
    }

    fn seconds(self) -> u64 {
        match self {
            Self::Quick => 3,
            Self::Full => 10,
        }
    }

    /// How many times a backend's scenarios are measured when one of its
    /// goals is missed (in quick mode: by more than [`QUICK_NOISE`]). A 3 s
    /// sample on a shared 2-core VM is at the mercy of its neighbours (one
    /// run's PostgreSQL + Redis flood p99 read 1.9×, 2.6× and 18.8× its idle
    /// p99 in three runs of one build; a CI run of 2026-12-04 missed a
    /// different goal in each of three attempts — read share 28 %, flood
    /// 3.8×, flood 16.6× — where the other two attempts met it), so quick
    /// mode measures a backend that missed a goal again, up to five times in
    /// all, and reports what every attempt missed. The full run, which the
    /// docs quote, is measured once.
    fn attempts(self) -> usize {
        match self {
            Self::Quick => 5,
            Self::Full => 1,
        }
    }

    fn warmup(self) -> u64 {
        match self {
            Self::Quick => 1,
            Self::Full => 2,
        }
    }
}

/// What wrk measured, and what the server spent meanwhile.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms: f64,
    rss_mib: f64,
    requests: u64,
    /// Answers with a status of 400 or more.
    refused: u64,
    socket_errors: u64,
}

impl Sample {
    /// The mean of two samples of one scenario, taken around another
    /// measurement; counts add up.
    fn between(&self, other: &Sample) -> Sample {
        let mean = |a: f64, b: f64| (a + b) / 2.0;
        Sample {
            rps: mean(self.rps, other.rps),
            p50_ms: mean(self.p50_ms, other.p50_ms),
            p99_ms: mean(self.p99_ms, other.p99_ms),
            cpu_ms: mean(self.cpu_ms, other.cpu_ms),
            rss_mib: self.rss_mib.max(other.rss_mib),
            requests: self.requests + other.requests,
            refused: self.refused + other.refused,
            socket_errors: self.socket_errors + other.socket_errors,
        }
    }
}

/// One row of the report.
struct Row {
    backend: &'static str,
    scenario: String,
    conns: usize,
    sample: Sample,
    /// Share of the relevant ceiling, when there is one.
    share: Option<f64>,
}

/// A child process, killed when dropped.
struct Process {
    child: Child,
    origin: String,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_up(origin: &str, path: &str, child: &mut Child) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited before it answered: {status}");
        }
        let answer = client.get(format!("{origin}{path}")).send().await;
        if answer.is_ok_and(|r| !r.status().is_server_error()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{origin}{path} did not answer in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------- ceiling

/// The ceiling: one axum route answering a profile-sized JSON body, on a
/// runtime shaped like the server's (one worker per core), and nothing else.
fn serve_ceiling(bind: &str) {
    use axum::Json;
    use axum::routing::get;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let body = serde_json::json!({
            "id": 1, "username": "user1", "first_name": "Ada",
            "last_name": "Lovelace", "email": "user1@example.org",
        });
        let app = axum::Router::new().route(
            &format!("{PREFIX}/profile/"),
            get(move || {
                let body = body.clone();
                async move { Json(body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

async fn start_ceiling() -> Process {
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("LOAD_CEILING", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_up(&origin, &format!("{PREFIX}/profile/"), &mut child).await;
    Process { child, origin }
}

/// The login ceiling: one argon2id hash at the default cost as the server
/// computes it — on a hashing thread of its pool, in the memory block that
/// thread reuses — and the logins per second it allows, cores ÷ that time.
/// (Timed with a fresh block per hash, the page faults of 19 MiB made a
/// hash look a third slower than the server's.)
#[derive(Debug, Clone, Copy)]
struct HashCeiling {
    /// The median of a few hashes timed one at a time on one thread.
    alone: Duration,
    /// The time a hash takes with every core hashing for the mode's
    /// seconds on end — as under a login flood. On the project's VMs the
    /// one-at-a-time median read 16 ms in the hour a sustained hash took
    /// 19–22 ms (and a login 19–20 ms of server CPU): a few short hashes
    /// are a lucky sample, so the goal is judged against this one.
    busy: Duration,
}

impl HashCeiling {
    async fn measure(mode: Mode) -> Self {
        use auth_core::ports::PasswordHasher as _;
        let hasher = || Argon2Hasher::new(Argon2Params::default()).unwrap();
        let password = Password::new(PASSWORD);

        let one = auth_runtime::BlockingHasher::new(hasher(), 1);
        one.hash(&password).await.unwrap();
        let mut times = Vec::new();
        for _ in 0..9 {
            let started = Instant::now();
            one.hash(&password).await.unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        drop(one);

        // Two hashes waiting per thread, so no thread waits for the next.
        let pool = auth_runtime::BlockingHasher::new(hasher(), cores());
        let hashed = std::sync::Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let until = started + Duration::from_secs(mode.seconds());
        let hashers: Vec<_> = (0..2 * cores())
            .map(|_| {
                let (pool, password, hashed) = (pool.clone(), password.clone(), hashed.clone());
                tokio::spawn(async move {
                    while Instant::now() < until {
                        pool.hash(&password).await.unwrap();
                        hashed.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for hasher in hashers {
            hasher.await.unwrap();
        }
        let per_thread = started.elapsed() * cores() as u32;
        Self {
            alone: times[times.len() / 2],
            busy: per_thread / hashed.load(Ordering::Relaxed).max(1) as u32,
        }
    }

    /// The mean of two measurements, one taken before the scenarios it
    /// judges and one after.
    fn around(before: Self, after: Self) -> Self {
        Self {
            alone: (before.alone + after.alone) / 2,
            busy: (before.busy + after.busy) / 2,
        }
    }

    /// Logins per second the cores allow.
    fn logins(&self) -> f64 {
        cores() as f64 / self.busy.as_secs_f64()
    }

    fn describe(&self) -> String {
        format!(
            "{:.1} ms a hash with every core hashing → {:.1} logins/s ({:.1} ms one at a time → {:.1}/s)",
            self.busy.as_secs_f64() * 1000.0,
            self.logins(),
            self.alone.as_secs_f64() * 1000.0,
            cores() as f64 / self.alone.as_secs_f64(),
        )
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

// ---------------------------------------------------------------- server

enum Backend {
    Sqlite,
    Shared { postgres: String, redis: String },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Shared { .. } => "PostgreSQL + Redis",
        }
    }
}

/// A database (and Redis prefix) made for one server, removed after it.
struct Store {
    config: Config,
    cleanup: Option<(String, String, String)>,
}

impl Store {
    async fn make(backend: &Backend, dir: &Path, label: &str) -> Self {
        let mut config = Config {
            secret_key: Some(SECRET.into()),
            ..Config::default()
        };
        let cleanup = match backend {
            Backend::Sqlite => {
                config.database_url =
                    format!("sqlite://{}", dir.join(format!("{label}.db")).display());
                None
            }
            Backend::Shared { postgres, redis } => {
                let name = format!("load_{}_{}", std::process::id(), label.replace('-', "_"));
                let admin = sqlx::PgPool::connect(postgres).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&admin)
                .await
                .unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let base = postgres
                    .rsplit_once('/')
                    .map_or(postgres.as_str(), |(b, _)| b);
                config.database_url = format!("{base}/{name}");
                let prefix = format!("load:{}:{label}:", std::process::id());
                config.redis_url = Some(redis.clone());
                config.redis_prefix = prefix.clone();
                Some((postgres.clone(), name, prefix))
            }
        };
        Self { config, cleanup }
    }

    /// Seeds `users` users with tokens through `import-django`.
    async fn seed(&self, dir: &Path, users: usize, hash: &str) {
        let site = dir.join(format!("site-{users}.db"));
        if !site.exists() {
            let created = time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second].000000"
                ))
                .unwrap();
            Site {
                users,
                password_hash: hash,
                active: |_| true,
                created: &created,
            }
            .write(&site)
            .await;
        }
        let plan = auth_server::check::run(&self.config).plan.unwrap();
        let request = ImportRequest {
            from: format!("sqlite://{}", site.display()),
            users: UserTable::default(),
            tokens: Some("authtoken_token".into()),
            addresses: None,
            inactive: InactiveMeans::Unverified,
            dry_run: false,
        };
        let summary = auth_server::import::run(&plan, &request).await.unwrap();
        assert_eq!(summary.users.created, users as u64, "{summary}");
        assert_eq!(summary.tokens.created, users as u64, "{summary}");
    }

    fn server_env(&self, port: u16, mail: &Path) -> Vec<(String, String)> {
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
        .map(|action| format!("{action}=\"{RAISED_RULE}\""))
        .join(",");
        let mut env = vec![
            ("AUTH_BIND".into(), format!("127.0.0.1:{port}")),
            ("AUTH_SECRET_KEY".into(), SECRET.into()),
            ("AUTH_DATABASE_URL".into(), self.config.database_url.clone()),
            ("AUTH_MAIL_URL".into(), format!("dir:{}", mail.display())),
            ("AUTH_RATE_LIMIT_RULES".into(), format!("{{{rules}}}")),
            ("AUTH_LOG".into(), "warn".into()),
        ];
        if let Some(redis) = &self.config.redis_url {
            env.push(("AUTH_REDIS_URL".into(), redis.clone()));
            env.push(("AUTH_REDIS_PREFIX".into(), self.config.redis_prefix.clone()));
        }
        env
    }

    async fn drop_all(self) {
        let Some((postgres, name, prefix)) = self.cleanup else {
            return;
        };
        if let Some(redis) = &self.config.redis_url {
            let conn = auth_redis::RedisConnection::connect(redis, Duration::from_secs(10))
                .await
                .unwrap();
            // SCAN, not KEYS: after the million-user run KEYS outlasts the
            // client's timeout (and blocks Redis meanwhile).
            let keys = conn.keys_with_prefix(&prefix).await.unwrap();
            for chunk in keys.chunks(10_000) {
                conn.run::<()>(redis::cmd("UNLINK").arg(chunk))
                    .await
                    .unwrap();
            }
        }
        let admin = sqlx::PgPool::connect(&postgres).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
    }
}

async fn start_server(store: &Store, dir: &Path, label: &str) -> Process {
    let binary = std::env::var("AUTH_SERVER_BIN")
        .expect("AUTH_SERVER_BIN: run this bench through `cargo xtask bench load`");
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let mail = dir.join(format!("mail-{label}"));
    std::fs::create_dir_all(&mail).unwrap();
    let log = std::fs::File::create(dir.join(format!("server-{label}.log"))).unwrap();
    let mut child = Command::new(&binary)
        .envs(store.server_env(port, &mail))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {binary}: {e}"));
    wait_until_up(&origin, "/livez", &mut child).await;
    Process { child, origin }
}

/// Session cookies (`name=value`) of the first `count` users, by logging in.
async fn sessions(origin: &str, count: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut cookies = Vec::with_capacity(count);
    for n in 1..=count {
        let response = client
            .post(format!("{origin}{PREFIX}/login/"))
            .json(&serde_json::json!({"login": format!("user{n}"), "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login of user{n}");
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| {
                v.split('=')
                    .next()
                    .is_some_and(|name| name.ends_with("sessionid"))
            })
            .expect("a session cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        cookies.push(cookie);
    }
    cookies
}

// ---------------------------------------------------------------- wrk

/// The Lua every script ends with: the figures as one JSON line.
const DONE: &str = r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"refused":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#;

/// A script sending `method path` with one of `values` as `header`, in
/// turn (each wrk thread starting elsewhere in the list).
fn rotating_header(method: &str, path: &str, header: &str, values: &[String]) -> String {
    let list = values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        r#"local values = {{ {list} }}
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) n = (tid or 1) * 7919 end
function request()
  n = n + 1
  return wrk.format("{method}", "{path}", {{ ["{header}"] = values[(n % #values) + 1] }})
end
{DONE}"#
    )
}

/// A script posting a JSON body made by `body`, a Lua expression of `n`
/// (this thread's request count) and `tid` (its number).
fn posting(path: &str, body: &str) -> String {
    format!(
        r#"local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) n = 0 end
function request()
  n = n + 1
  return wrk.format("POST", "{path}", {{ ["Content-Type"] = "application/json" }}, {body})
end
{DONE}"#
    )
}

fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime (fields 14 and 15 of proc(5)), in USER_HZ = 100 ticks.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks * 10.0
}

/// Waits until the server has finished what the last run left it (the
/// requests still in flight when wrk stopped), so that no scenario pays
/// for the one before.
fn settle(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = cpu_ms(pid);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let now = cpu_ms(pid);
        if now - last < 20.0 {
            return;
        }
        last = now;
    }
}

fn reset_peak_rss(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024.0
}

/// Starts wrk on `url` with `script` (written to `dir`).
fn spawn_wrk(dir: &Path, name: &str, script: &str, url: &str, conns: usize, seconds: u64) -> Child {
    // Each run of a script gets its own number, so the names a register
    // script makes never repeat those of an earlier run.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let path: PathBuf = dir.join(format!("{name}.lua"));
    std::fs::write(&path, script.replace("__RUN__", &run.to_string())).unwrap();
    let threads = cores().min(conns);
    Command::new(std::env::var("WRK").unwrap_or_else(|_| "wrk".into()))
        .arg(format!("-t{threads}"))
        .arg(format!("-c{conns}"))
        .arg(format!("-d{seconds}s"))
        .args(["--timeout", "10s", "-s"])
        .arg(&path)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wrk is needed: apt-get install wrk")
}

fn wrk_result(child: Child) -> (u64, Duration, u64, u64, f64, f64) {
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "wrk failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no result from wrk: {stdout}"));
    let v: Value = serde_json::from_str(line).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap();
    (
        n("requests"),
        Duration::from_micros(n("duration_us")),
        n("refused"),
        n("socket_errors"),
        n("p50_us") as f64 / 1000.0,
        n("p99_us") as f64 / 1000.0,
    )
}

/// Warms `url` up with `script`, then measures it for the mode's time.
fn measure(
    mode: Mode,
    dir: &Path,
    pid: u32,
    name: &str,
    script: &str,
    url: &str,
    conns: usize,
) -> Sample {
    measure_after(mode, dir, pid, name, script, url, conns, true)
}

/// [`measure`], waiting after the warm-up for the server to go idle only
/// when `settle` (never while another load runs beside it: it would wait
/// the flood out).
#[allow(clippy::too_many_arguments)] // one call shape, two callers
fn measure_after(
    mode: Mode,
    dir: &Path,
    pid: u32,
    name: &str,
    script: &str,
    url: &str,
    conns: usize,
    settle_first: bool,
) -> Sample {
    let _ = wrk_result(spawn_wrk(dir, name, script, url, conns, mode.warmup()));
    if settle_first {
        settle(pid);
    }
    reset_peak_rss(pid);
    let before = cpu_ms(pid);
    let wrk = spawn_wrk(dir, name, script, url, conns, mode.seconds());
    let perf = record_profile(pid, name, conns, mode.seconds());
    let (requests, took, refused, socket_errors, p50_ms, p99_ms) = wrk_result(wrk);
    if let Some(perf) = perf {
        let _ = perf.wait_with_output();
    }
    let cpu = cpu_ms(pid) - before;
    Sample {
        rps: requests as f64 / took.as_secs_f64(),
        p50_ms,
        p99_ms,
        cpu_ms: cpu / requests.max(1) as f64,
        rss_mib: peak_rss_mib(pid),
        requests,
        refused,
        socket_errors,
    }
}

/// With `LOAD_PERF=<dir>`, a system-wide `perf record` of the measured
/// run (server, load generator and the stores alike; flat, as the release
/// build keeps no frame pointers), written as
/// `<dir>/<scenario>-c<conns>-<server pid>.data`: where the time goes.
fn record_profile(pid: u32, name: &str, conns: usize, seconds: u64) -> Option<Child> {
    let dir = PathBuf::from(std::env::var_os("LOAD_PERF")?);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}-c{conns}-{pid}.data"));
    let child = Command::new("perf")
        .args(["record", "-a", "-q", "-o"])
        .arg(&out)
        .args(["--", "sleep"])
        .arg(seconds.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("LOAD_PERF needs perf: apt-get install linux-perf");
    Some(child)
}

// ---------------------------------------------------------------- scenarios

struct Scripts {
    token_read: String,
    session_read: String,
    login: String,
    failed_login: String,
    register: String,
}

impl Scripts {
    fn new(users: usize, sessions: &[String], run: &str) -> Self {
        let profile = format!("{PREFIX}/profile/");
        // Tokens spread over the whole user range, so a large store is
        // read all over, not only at its start.
        let step = (users / CREDENTIALS).max(1);
        let tokens: Vec<String> = (0..CREDENTIALS.min(users))
            .map(|i| format!("Token {}", token_key(1 + i * step)))
            .collect();
        let login = format!("{PREFIX}/login/");
        let pick = format!("((tid * 7919 + n) % {users}) + 1");
        Self {
            token_read: rotating_header("GET", &profile, "Authorization", &tokens),
            session_read: rotating_header("GET", &profile, "Cookie", sessions),
            login: posting(
                &login,
                &format!(r#"'{{"login":"user' .. {pick} .. '","password":"{PASSWORD}"}}'"#),
            ),
            failed_login: posting(
                &login,
                &format!(r#"'{{"login":"user' .. {pick} .. '","password":"not the password"}}'"#),
            ),
            register: posting(
                &format!("{PREFIX}/register/"),
                &format!(
                    r#"'{{"username":"{run}r__RUN__t' .. tid .. 'n' .. n .. '","email":"{run}r__RUN__t' .. tid .. 'n' .. n .. '@example.org","password":"{PASSWORD}","password_confirm":"{PASSWORD}"}}'"#
                ),
            ),
        }
    }
}

/// Both ceilings, measured again for each backend (the machine drifts
/// over a run): the route before its reads, argon2id around its logins.
struct Ceilings {
    /// The minimal route: backend, connections, sample.
    route: Vec<(&'static str, usize, Sample)>,
    /// argon2id: backend, ceiling.
    hash: Vec<(&'static str, HashCeiling)>,
}

impl Ceilings {
    fn route(&self, backend: &str, conns: usize) -> f64 {
        self.route
            .iter()
            .find(|(b, c, _)| *b == backend && *c == conns)
            .unwrap()
            .2
            .rps
    }

    fn logins(&self, backend: &str) -> f64 {
        self.hash
            .iter()
            .find(|(b, _)| *b == backend)
            .unwrap()
            .1
            .logins()
    }
}

/// Which scenarios run (`LOAD_ONLY`), for profiling one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    /// `reads`: the profile reads.
    Reads,
    /// `flood`: the profile reads beside a login flood.
    Flood,
}

impl Only {
    fn from_env() -> Self {
        match std::env::var("LOAD_ONLY").as_deref() {
            Err(_) => Self::All,
            Ok("reads") => Self::Reads,
            Ok("flood") => Self::Flood,
            Ok(other) => panic!("LOAD_ONLY={other}: use reads or flood"),
        }
    }
}

/// The minimal route as the scenarios read it.
struct Route {
    url: String,
    pid: u32,
    script: String,
}

/// Every scenario on one backend; rows appended to `rows`.
#[allow(clippy::too_many_arguments)] // one caller
async fn scenarios(
    mode: Mode,
    backend: &Backend,
    route: &Route,
    dir: &Path,
    hash: &str,
    ceilings: &mut Ceilings,
    rows: &mut Vec<Row>,
    attempt: usize,
) {
    let label = match backend {
        Backend::Sqlite => format!("sqlite-{attempt}"),
        Backend::Shared { .. } => format!("shared-{attempt}"),
    };
    let label = label.as_str();
    let store = Store::make(backend, dir, label).await;
    store.seed(dir, USERS, hash).await;
    let server = start_server(&store, dir, label).await;
    let cookies = sessions(&server.origin, SESSIONS).await;
    let scripts = Scripts::new(USERS, &cookies, &format!("r{}", std::process::id()));
    let pid = server.pid();
    let profile = format!("{}{PREFIX}/profile/", server.origin);
    let login = format!("{}{PREFIX}/login/", server.origin);
    let mut add = |scenario: &str, conns, sample: Sample, share| {
        println!(
            "{:<20} {:<34} c={conns:<3} {:>9.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  {:>6.3} CPU ms/req  {:>6.1} MiB",
            backend.name(),
            scenario,
            sample.rps,
            sample.p50_ms,
            sample.p99_ms,
            sample.cpu_ms,
            sample.rss_mib
        );
        rows.push(Row {
            backend: backend.name(),
            scenario: scenario.to_owned(),
            conns,
            sample,
            share,
        });
    };
    let only = Only::from_env();
    for conns in [16, 64] {
        if only == Only::Flood {
            break;
        }
        let s = measure(
            mode,
            dir,
            pid,
            "token",
            &scripts.token_read,
            &profile,
            conns,
        );
        assert_eq!(s.refused + s.socket_errors, 0, "token reads refused: {s:?}");
        add(
            "token-auth GET profile/",
            conns,
            s,
            Some(s.rps / ceilings.route(backend.name(), conns)),
        );
        let s = measure(
            mode,
            dir,
            pid,
            "session",
            &scripts.session_read,
            &profile,
            conns,
        );
        assert_eq!(
            s.refused + s.socket_errors,
            0,
            "session reads refused: {s:?}"
        );
        add(
            "session-auth GET profile/",
            conns,
            s,
            Some(s.rps / ceilings.route(backend.name(), conns)),
        );
    }
    if only == Only::Reads {
        drop(server);
        store.drop_all().await;
        return;
    }
    if only == Only::All {
        let (hash_ceiling, hashing) =
            hashing_scenarios(mode, backend, dir, pid, &scripts, &server.origin).await;
        ceilings.hash.push((backend.name(), hash_ceiling));
        for (scenario, conns, s) in hashing {
            add(scenario, conns, s, Some(s.rps / hash_ceiling.logins()));
        }
    }

    // Reads while a login flood runs: the flood starts first and outlasts them.
    let idle = measure(mode, dir, pid, "idle", &scripts.token_read, &profile, 16);
    let seconds = mode.seconds();
    let flood = spawn_wrk(
        dir,
        "flood",
        &scripts.login,
        &login,
        64,
        seconds + 2 * mode.warmup() + 2,
    );
    std::thread::sleep(Duration::from_secs(1));
    let during = measure_after(
        mode,
        dir,
        pid,
        "during",
        &scripts.token_read,
        &profile,
        16,
        false,
    );
    // The same reads of the minimal route, in its own process, beside the
    // same flood: what the machine alone does to a p99 while the server
    // hashes (the ceiling's is unchanged when hashing yields the cores).
    let route_during = measure_after(
        mode,
        dir,
        route.pid,
        "route-during",
        &route.script,
        &route.url,
        16,
        false,
    );
    let (flood_requests, flood_took, _, _, _, _) = wrk_result(flood);
    add("token-auth GET profile/ idle", 16, idle, None);
    println!(
        "login flood beside the reads: {:.0} logins/s",
        flood_requests as f64 / flood_took.as_secs_f64()
    );
    add(FLOODED, 16, during, Some(during.p99_ms / idle.p99_ms));
    add(ROUTE_FLOODED, 16, route_during, None);
    drop(server);

    if mode == Mode::Full && only == Only::All {
        // The same reads and logins with a million users and tokens.
        let big = Store::make(backend, dir, &format!("{label}-1m")).await;
        let started = Instant::now();
        big.seed(dir, SCALE_USERS, hash).await;
        println!(
            "seeded {SCALE_USERS} users and tokens in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        let server = start_server(&big, dir, &format!("{label}-1m")).await;
        let big_scripts = Scripts::new(SCALE_USERS, &cookies, "big");
        // The machine drifts over the minutes of seeding (a shared host):
        // the million-user figures are judged against the 1 000-user store
        // measured just before and just after them, like the hash ceiling.
        let small = start_server(&store, dir, &format!("{label}-beside")).await;
        for (scenario, name, script, big_script, path) in [
            (
                SCALE_READ,
                "token",
                &scripts.token_read,
                &big_scripts.token_read,
                "profile/",
            ),
            (
                SCALE_LOGIN,
                "login",
                &scripts.login,
                &big_scripts.login,
                "login/",
            ),
        ] {
            let run = |server: &Process, tag: &str, script: &str| {
                let s = measure(
                    mode,
                    dir,
                    server.pid(),
                    &format!("{name}-{tag}"),
                    script,
                    &format!("{}{PREFIX}/{path}", server.origin),
                    16,
                );
                assert_eq!(s.refused + s.socket_errors, 0, "{scenario} refused: {s:?}");
                s
            };
            let before = run(&small, "1k-before", script);
            let s = run(&server, "1m", big_script);
            let after = run(&small, "1k-after", script);
            add(
                &format!("{scenario}, 1 000 users"),
                16,
                before.between(&after),
                None,
            );
            add(&format!("{scenario}, 1M users"), 16, s, None);
        }
        drop(small);
        drop(server);
        big.drop_all().await;
    }
    store.drop_all().await;
}

/// Logins, failed logins and registrations, with the argon2id ceiling
/// measured around them.
async fn hashing_scenarios(
    mode: Mode,
    backend: &Backend,
    dir: &Path,
    pid: u32,
    scripts: &Scripts,
    origin: &str,
) -> (HashCeiling, Vec<(&'static str, usize, Sample)>) {
    let login = format!("{origin}{PREFIX}/login/");
    let register = format!("{origin}{PREFIX}/register/");
    // The machine drifts over minutes (a sustained hash took 16.4 ms and
    // 18.7 ms in one run): the hashing scenarios are judged against the
    // ceiling taken around them, before and after.
    let before = HashCeiling::measure(mode).await;
    let mut hashing = Vec::new();
    for conns in [16, 64] {
        let s = measure(mode, dir, pid, "login", &scripts.login, &login, conns);
        assert_eq!(s.refused + s.socket_errors, 0, "logins refused: {s:?}");
        hashing.push(("POST login/", conns, s));
    }
    let s = measure(mode, dir, pid, "failed", &scripts.failed_login, &login, 64);
    assert_eq!(
        s.refused, s.requests,
        "failed logins must all be 400: {s:?}"
    );
    hashing.push(("POST login/ (wrong password)", 64, s));
    let s = measure(mode, dir, pid, "register", &scripts.register, &register, 64);
    assert_eq!(
        s.refused + s.socket_errors,
        0,
        "registrations refused: {s:?}"
    );
    hashing.push(("POST register/", 64, s));
    let hash_ceiling = HashCeiling::around(before, HashCeiling::measure(mode).await);
    println!(
        "argon2id ceiling (around {}'s hashing scenarios): {}",
        backend.name(),
        hash_ceiling.describe()
    );
    (hash_ceiling, hashing)
}

// ---------------------------------------------------------------- report

fn find<'a>(rows: &'a [Row], backend: &str, scenario: &str, conns: usize) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.backend == backend && r.scenario == scenario && r.conns == conns)
}

/// Each goal, met or not, as a line of the report.
fn goals(mode: Mode, rows: &[Row], ceilings: &Ceilings, pool_mib: f64) -> Vec<(Verdict, String)> {
    let mut out = Vec::new();
    for (backend, goal) in [
        ("SQLite", READ_SHARE_SQLITE),
        ("PostgreSQL + Redis", READ_SHARE_SHARED),
    ] {
        for conns in [16, 64] {
            if let Some(row) = find(rows, backend, "token-auth GET profile/", conns) {
                let share = row.share.unwrap_or_default();
                out.push((
                    Verdict::of(mode, share / goal, true),
                    format!(
                        "{backend}: token-auth profile read at c={conns} is {:.0} % of the minimal route (goal ≥ {:.0} %)",
                        share * 100.0,
                        goal * 100.0
                    ),
                ));
            }
        }
        for conns in [16, 64] {
            if let Some(row) = find(rows, backend, "POST login/", conns) {
                let share = row.share.unwrap_or_default();
                out.push((
                    Verdict::of(mode, share / LOGIN_SHARE, true),
                    format!(
                        "{backend}: logins at c={conns} are {:.0} % of the argon2id ceiling of {:.1}/s (goal ≥ {:.0} %)",
                        share * 100.0,
                        ceilings.logins(backend),
                        LOGIN_SHARE * 100.0
                    ),
                ));
            }
        }
        if let Some(row) = find(rows, backend, FLOODED, 16) {
            let factor = row.share.unwrap_or(f64::INFINITY);
            out.push((
                Verdict::of(mode, FLOOD_P99_FACTOR / factor, true),
                format!(
                    "{backend}: profile-read p99 during a login flood is {factor:.1}× its idle p99 (goal ≤ {FLOOD_P99_FACTOR}×)"
                ),
            ));
        }
        for small in [SCALE_READ, SCALE_LOGIN] {
            if let (Some(big), Some(base)) = (
                find(rows, backend, &format!("{small}, 1M users"), 16),
                find(rows, backend, &format!("{small}, 1 000 users"), 16),
            ) {
                let slower = big.sample.p50_ms / base.sample.p50_ms - 1.0;
                out.push((
                    Verdict::of(mode, (1.0 + SCALE_SLOWDOWN) / (1.0 + slower), true),
                    format!(
                        "{backend}: {small} p50 with 1M users is {:+.0} % of the 1 000-user figure (goal ≤ +{:.0} %)",
                        slower * 100.0,
                        SCALE_SLOWDOWN * 100.0
                    ),
                ));
            }
        }
        let peak = rows
            .iter()
            .filter(|r| r.backend == backend && r.conns == 64)
            .map(|r| r.sample.rss_mib)
            .fold(0.0, f64::max);
        if peak > 0.0 {
            let bound = BASE_RSS_MIB + pool_mib;
            out.push((
                Verdict::of(mode, bound / peak, false),
                format!(
                    "{backend}: peak RSS at c=64 is {peak:.1} MiB (goal ≤ {BASE_RSS_MIB} + {pool_mib:.0} MiB of hashing pool = {bound:.0} MiB)"
                ),
            ));
        }
    }
    out
}

fn markdown(
    mode: Mode,
    rows: &[Row],
    ceilings: &Ceilings,
    goals: &[(Verdict, String)],
    retried: &[(usize, String)],
) -> String {
    let mut out = String::new();
    let machine = cpu_model();
    let date = time::OffsetDateTime::now_utc().date();
    writeln!(
        out,
        "# Load benchmark ({} mode)\n\n{date}, {} cores ({machine}); `cargo xtask bench load{}`; wrk, {} s per scenario after {} s of warm-up. Rate limits raised to {RAISED_RULE} per action for the run only.\n",
        if mode == Mode::Quick { "quick" } else { "full" },
        cores(),
        if mode == Mode::Quick { " --quick" } else { "" },
        mode.seconds(),
        mode.warmup(),
    )
    .unwrap();
    writeln!(
        out,
        "Ceilings, measured again for each backend: the minimal axum route before its reads, {}; argon2id (m=19456, t=2, p=1) on {} cores as the mean of a measurement before its hashing scenarios and one after, {}. Logins are judged against the first argon2id figure of each.\n",
        ceilings
            .route
            .iter()
            .map(|(b, c, s)| format!("{:.0} req/s at c={c} (before {b})", s.rps))
            .collect::<Vec<_>>()
            .join(", "),
        cores(),
        ceilings
            .hash
            .iter()
            .map(|(b, h)| format!("around {b}'s hashing, {}", h.describe()))
            .collect::<Vec<_>>()
            .join("; "),
    )
    .unwrap();
    out.push_str("| backend | scenario | conns | req/s | p50 ms | p99 ms | CPU ms/req | peak RSS MiB | ratio |\n|---|---|---|---|---|---|---|---|---|\n");
    for (b, c, s) in &ceilings.route {
        writeln!(
            out,
            "| {b} | minimal axum route | {c} | {:.0} | {:.2} | {:.2} | {:.3} | {:.1} | 100 % |",
            s.rps, s.p50_ms, s.p99_ms, s.cpu_ms, s.rss_mib
        )
        .unwrap();
    }
    for row in rows {
        let s = &row.sample;
        let ratio = match row.share {
            Some(share) if row.scenario.contains("flood") => format!("p99 {share:.1}× idle"),
            Some(share) => format!("{:.0} %", share * 100.0),
            None => String::new(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.3} | {:.1} | {ratio} |",
            row.backend, row.scenario, row.conns, s.rps, s.p50_ms, s.p99_ms, s.cpu_ms, s.rss_mib
        )
        .unwrap();
    }
    out.push_str("\nRatios: reads to the minimal route at the same connections; logins and registrations to the argon2id ceiling.\n\n## Goals\n\n");
    for (verdict, line) in goals {
        writeln!(out, "- {} {line}", verdict.label()).unwrap();
    }
    if !retried.is_empty() {
        out.push_str("\nMissed by earlier attempts, which were measured again (the table and goals above are the last attempt's):\n\n");
        for (attempt, line) in retried {
            writeln!(out, "- attempt {attempt}: {line}").unwrap();
        }
    }
    out
}

/// The CPU's model name, from /proc/cpuinfo.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The machine's memory in GiB and its kernel release, from /proc.
fn memory_and_kernel() -> (f64, String) {
    let kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
            line.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned());
    (kib / 1024.0 / 1024.0, kernel)
}

/// A rate as the docs print it: three significant figures, thousands
/// grouped (`93 500`, `107`).
fn rate(value: f64) -> String {
    let digits = value.abs().log10().floor() as i32;
    let step = 10f64.powi((digits - 2).max(0));
    let rounded = ((value / step).round() * step) as u64;
    let text = rounded.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Where the generated sizing section of docs/operations.md begins and
/// ends.
const SIZING_BEGIN: &str = "<!-- sizing: written by `UPDATE_DOCS=1 cargo xtask bench load`; edit the bench, not this text -->";
const SIZING_END: &str = "<!-- sizing: end -->";

/// docs/operations.md's "Sizing (measured)" figures, from a full run.
fn sizing(rows: &[Row], ceilings: &Ceilings, goals: &[(Verdict, String)]) -> String {
    const BACKENDS: [&str; 2] = ["SQLite", "PostgreSQL + Redis"];
    let mut out = String::new();
    let (memory, kernel) = memory_and_kernel();
    let params = Argon2Params::default();
    writeln!(
        out,
        "From the full load benchmark (`UPDATE_DOCS=1 cargo xtask bench load`, which wrote this section), {date}, on a {cores}-core {cpu} ({memory:.0} GiB, Linux {kernel}), release build, wrk on the same machine (load generator and server share the cores), {seconds} s per scenario after {warmup} s of warm-up, argon2id at the default m={m} KiB, t={t}, p={p}, {USERS} users with DRF tokens (and {SCALE_USERS} for the rows so marked). Read ratios are to the minimal axum route measured just before each backend, login ratios to the argon2id ceiling measured around them; CPU is the server's own time per request.\n",
        date = time::OffsetDateTime::now_utc().date(),
        cores = cores(),
        cpu = cpu_model(),
        seconds = Mode::Full.seconds(),
        warmup = Mode::Full.warmup(),
        m = params.m_cost,
        t = params.t_cost,
        p = params.p_cost,
    )
    .unwrap();
    out.push_str("| scenario | conns | SQLite | PostgreSQL + Redis (local) |\n|---|---|---|---|\n");
    let cell = |s: &Sample, share: Option<&str>| {
        let share = share.map(|s| format!(" ({s})")).unwrap_or_default();
        format!(
            "{} req/s{share}, p50 {:.2} ms, p99 {:.2} ms, CPU {:.3} ms",
            rate(s.rps),
            s.p50_ms,
            s.p99_ms,
            s.cpu_ms
        )
    };
    for conns in [16, 64] {
        let cells = BACKENDS.map(|backend| {
            ceilings
                .route
                .iter()
                .find(|(b, c, _)| *b == backend && *c == conns)
                .map_or_else(String::new, |(_, _, s)| cell(s, None))
        });
        writeln!(
            out,
            "| minimal axum route (the ceiling) | {conns} | {} | {} |",
            cells[0], cells[1]
        )
        .unwrap();
    }
    let hash = BACKENDS.map(|backend| {
        ceilings
            .hash
            .iter()
            .find(|(b, _)| *b == backend)
            .map_or_else(String::new, |(_, h)| {
                format!(
                    "{} logins/s ({:.1} ms a hash, every core hashing)",
                    rate(h.logins()),
                    h.busy.as_secs_f64() * 1000.0
                )
            })
    });
    writeln!(
        out,
        "| argon2id (the login ceiling) | | {} | {} |",
        hash[0], hash[1]
    )
    .unwrap();
    // The scenarios in the order they ran, each once.
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for row in rows {
        if !seen.contains(&(row.scenario.as_str(), row.conns)) {
            seen.push((row.scenario.as_str(), row.conns));
        }
    }
    for (scenario, conns) in seen {
        let cells = BACKENDS.map(|backend| {
            find(rows, backend, scenario, conns).map_or_else(String::new, |row| {
                let share = row.share.map(|share| {
                    if scenario.contains("flood") {
                        format!("p99 {share:.1}× idle")
                    } else {
                        format!("{:.0} %", share * 100.0)
                    }
                });
                cell(&row.sample, share.as_deref())
            })
        });
        writeln!(
            out,
            "| {} | {conns} | {} | {} |",
            scenario
                .replace("GET profile/", "`GET profile/`")
                .replace("POST login/", "`POST login/`")
                .replace("POST register/", "`POST register/`"),
            cells[0],
            cells[1]
        )
        .unwrap();
    }
    let peaks = BACKENDS.map(|backend| {
        let peak = rows
            .iter()
            .filter(|r| r.backend == backend && r.conns == 64)
            .map(|r| r.sample.rss_mib)
            .fold(0.0, f64::max);
        format!("{peak:.1} MiB")
    });
    writeln!(
        out,
        "| peak RSS, any scenario at 64 connections | | {} | {} |\n",
        peaks[0], peaks[1]
    )
    .unwrap();
    out.push_str("The goals of issue 12, as this run judged them:\n\n");
    for (verdict, line) in goals {
        writeln!(out, "- {} {line}", verdict.label()).unwrap();
    }
    if let Some((_, h)) = ceilings.hash.first() {
        writeln!(
            out,
            "\nAt the default cost one core hashes about {} passwords a second, each hash holding {} MiB while it runs.",
            rate(h.logins() / cores() as f64),
            params.m_cost / 1024
        )
        .unwrap();
    }
    out
}

/// Replaces the generated part of docs/operations.md with `section`.
fn update_docs(section: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = text
        .split_once(SIZING_BEGIN)
        .unwrap_or_else(|| panic!("{} has no line {SIZING_BEGIN}", path.display()));
    let (_, tail) = rest
        .split_once(SIZING_END)
        .unwrap_or_else(|| panic!("{} has no line {SIZING_END}", path.display()));
    std::fs::write(
        &path,
        format!("{head}{SIZING_BEGIN}\n\n{section}\n{SIZING_END}{tail}"),
    )
    .unwrap();
    println!("wrote the sizing section of {}", path.display());
}

/// A bar chart of the ratios to the ceilings, with each goal marked.
fn chart(rows: &[Row], path: &Path) {
    use plotters::prelude::*;
    let bars: Vec<(String, f64, f64)> = rows
        .iter()
        .filter(|r| r.share.is_some() && !r.scenario.contains("flood"))
        .map(|r| {
            let goal = if r.scenario.contains("GET") {
                if r.backend == "SQLite" {
                    READ_SHARE_SQLITE
                } else {
                    READ_SHARE_SHARED
                }
            } else if r.scenario == "POST login/" {
                LOGIN_SHARE
            } else {
                0.0
            };
            (
                format!("{}: {} c={}", r.backend, r.scenario, r.conns),
                r.share.unwrap_or_default(),
                goal,
            )
        })
        .collect();
    let height = 60 + 28 * bars.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let style = TextStyle::from(("sans-serif", 13).into_font()).color(&BLACK);
    root.draw(&Text::new(
        "Share of the ceiling (reads: minimal axum route; logins: argon2id); | marks the goal",
        (10, 10),
        style.clone(),
    ))
    .unwrap();
    let (left, width) = (430, 420.0);
    for (i, (label, share, goal)) in bars.iter().enumerate() {
        let y = 40 + 28 * i as i32;
        root.draw(&Text::new(label.clone(), (10, y + 4), style.clone()))
            .unwrap();
        let end = left + (width * share.min(1.2)) as i32;
        let color = if *share >= *goal { GREEN } else { RED };
        root.draw(&Rectangle::new([(left, y), (end, y + 18)], color.filled()))
            .unwrap();
        root.draw(&Text::new(
            format!("{:.0} %", share * 100.0),
            (end + 6, y + 4),
            style.clone(),
        ))
        .unwrap();
        if *goal > 0.0 {
            let x = left + (width * goal) as i32;
            root.draw(&PathElement::new(
                vec![(x, y - 3), (x, y + 21)],
                BLACK.stroke_width(2),
            ))
            .unwrap();
        }
    }
    root.present().unwrap();
}

fn main() {
    if let Ok(bind) = std::env::var("LOAD_CEILING") {
        return serve_ceiling(&bind);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let mode = Mode::from_env();
    // The docs quote a whole run: every scenario, on both backends.
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    assert!(
        !update || (mode == Mode::Full && Only::from_env() == Only::All),
        "UPDATE_DOCS=1 writes docs/operations.md from the full run only: no --quick, no LOAD_ONLY"
    );
    let dir = tempfile::tempdir().unwrap();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");

    let hasher = Argon2Hasher::new(Argon2Params::default()).unwrap();
    let hash = hasher.hash_sync(&Password::new(PASSWORD)).unwrap();
    println!(
        "== load bench ({} s per scenario); rate limits raised to {RAISED_RULE} per action for this run only",
        mode.seconds()
    );

    let ceiling = start_ceiling().await;
    let tokens: Vec<String> = (1..=CREDENTIALS)
        .map(|n| format!("Token {}", token_key(n)))
        .collect();
    let script = rotating_header(
        "GET",
        &format!("{PREFIX}/profile/"),
        "Authorization",
        &tokens,
    );
    let url = format!("{}{PREFIX}/profile/", ceiling.origin);
    let route = Route {
        url: url.clone(),
        pid: ceiling.pid(),
        script: script.clone(),
    };
    let mut ceilings = Ceilings {
        route: Vec::new(),
        hash: Vec::new(),
    };

    let mut backends = vec![Backend::Sqlite];
    let postgres = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = sqlx::PgPool::connect(&postgres).await.is_ok()
        && redis::Client::open(redis.as_str())
            .ok()
            .is_some_and(|c| c.get_connection().is_ok());
    if reachable {
        backends.push(Backend::Shared { postgres, redis });
    } else {
        assert!(!in_ci, "CI=true but PostgreSQL or Redis does not answer");
        assert!(
            !update,
            "UPDATE_DOCS=1 but PostgreSQL or Redis does not answer: the docs quote both backends"
        );
        println!("PostgreSQL or Redis does not answer: SQLite only");
    }

    let pool_mib = cores() as f64 * f64::from(Argon2Params::default().m_cost) / 1024.0;
    let mut rows = Vec::new();
    // Goals missed by attempts measured again, for the report.
    let mut retried = Vec::new();
    for backend in &backends {
        for attempt in 1..=mode.attempts() {
            let mut tried = Ceilings {
                route: Vec::new(),
                hash: Vec::new(),
            };
            let mut tried_rows = Vec::new();
            for conns in [16, 64] {
                let s = measure(
                    mode,
                    dir.path(),
                    ceiling.pid(),
                    "ceiling",
                    &script,
                    &url,
                    conns,
                );
                println!(
                    "minimal axum route c={conns} (before {}): {:.0} req/s, p99 {:.2} ms",
                    backend.name(),
                    s.rps,
                    s.p99_ms
                );
                tried.route.push((backend.name(), conns, s));
            }
            scenarios(
                mode,
                backend,
                &route,
                dir.path(),
                hash.as_str(),
                &mut tried,
                &mut tried_rows,
                attempt,
            )
            .await;
            let missed: Vec<String> = goals(mode, &tried_rows, &tried, pool_mib)
                .into_iter()
                .filter(|(verdict, _)| *verdict == Verdict::Missed)
                .map(|(_, line)| line)
                .collect();
            if missed.is_empty() || attempt == mode.attempts() {
                rows.extend(tried_rows);
                ceilings.route.extend(tried.route);
                ceilings.hash.extend(tried.hash);
                break;
            }
            println!(
                "{}: attempt {attempt} missed {} goal(s); measuring again",
                backend.name(),
                missed.len()
            );
            retried.extend(missed.into_iter().map(|line| (attempt, line)));
        }
    }

    drop(ceiling);
    let goals = goals(mode, &rows, &ceilings, pool_mib);
    let report = markdown(mode, &rows, &ceilings, &goals, &retried);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("load.md"), &report).unwrap();
    chart(&rows, &out.join("load.svg"));
    println!("\n{report}\nreport: target/bench/load.md, chart: target/bench/load.svg");
    if update {
        update_docs(&sizing(&rows, &ceilings, &goals));
    }
    let missed = goals
        .iter()
        .filter(|(verdict, _)| *verdict == Verdict::Missed)
        .count();
    if missed > 0 {
        eprintln!("FAILED: {missed} goal(s) missed");
        std::process::exit(1);
    }
}
