//! `cargo xtask bench`: do answers take as long for accounts that exist as
//! for those that do not? The server runs in process on loopback with its
//! production defaults (argon2id m=19456 t=2, the enumeration floor,
//! SQLite) except rate limits, which would end the run. Each pair of
//! classes is measured interleaved, one request at a time; the report gives
//! median and p90 per class and fails when a median differs by more than
//! 10 % or a p90 by more than 15 % (security checklist rows 17–19).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a failed unwrap is a failed run

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use auth_server::{App, Compat, Config};
use auth_smtp::sink::SmtpSink;
use serde_json::{Value, json};
use tokio::sync::watch;

const ROUNDS: usize = 200;
const REGISTER_ROUNDS: usize = 60;
const PASSWORD: &str = "a long enough passphrase 42";

struct Bench {
    client: reqwest::Client,
    base: String,
    sink: SmtpSink,
}

impl Bench {
    async fn post(&self, path: &str, body: &Value) -> (u16, Duration) {
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        response.bytes().await.unwrap();
        (status, started.elapsed())
    }

    /// Registers and verifies `username`; returns its id.
    async fn user(&self, username: &str, verify: bool) -> i64 {
        let email = format!("{username}@example.org");
        let body = json!({"username": username, "email": email, "password": PASSWORD, "password_confirm": PASSWORD});
        assert_eq!(self.post("/register/", &body).await.0, 201);
        let mails = self.sink.wait_for(&email, 1, Duration::from_secs(10)).await;
        let line = mails[0]
            .data
            .lines()
            .find(|l| l.starts_with("https://front.test/"))
            .unwrap();
        let link: Value = form_urlencoded::parse(line.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<serde_json::Map<String, Value>>()
            .into();
        if verify {
            assert_eq!(self.post("/verify-registration/", &link).await.0, 200);
        }
        link["user_id"].as_str().unwrap().parse().unwrap()
    }
}

/// Latencies of one class of request.
struct Class {
    name: &'static str,
    status: u16,
    times: Vec<Duration>,
}

impl Class {
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.times.clone();
        sorted.sort();
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }
}

/// Runs `classes` interleaved, `rounds` times each.
async fn measure(
    bench: &Bench,
    path: &str,
    rounds: usize,
    classes: &[(&'static str, &(dyn Fn(usize) -> Value + Sync))],
) -> Vec<Class> {
    let mut results: Vec<Class> = classes
        .iter()
        .map(|(name, _)| Class {
            name,
            status: 0,
            times: Vec::with_capacity(rounds),
        })
        .collect();
    for round in 0..rounds {
        // Alternate which class goes first, so neither always follows the other.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..classes.len()).collect()
        } else {
            (0..classes.len()).rev().collect()
        };
        for i in order {
            let (status, time) = bench.post(path, &(classes[i].1)(round)).await;
            results[i].status = status;
            results[i].times.push(time);
        }
    }
    results
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Appends the table for one endpoint; false when a class is off the
/// first by more than the allowed spread.
fn report(out: &mut String, title: &str, classes: &[Class]) -> bool {
    let _ = writeln!(out, "\n### {title}\n");
    let _ = writeln!(
        out,
        "| class | status | median ms | p90 ms | median vs first | p90 vs first |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let (base_median, base_p90) = (classes[0].quantile(0.5), classes[0].quantile(0.9));
    let mut within = true;
    for class in classes {
        let (median, p90) = (class.quantile(0.5), class.quantile(0.9));
        let dm = median.as_secs_f64() / base_median.as_secs_f64() - 1.0;
        let dp = p90.as_secs_f64() / base_p90.as_secs_f64() - 1.0;
        within &= dm.abs() <= 0.10 && dp.abs() <= 0.15;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:+.1} % | {:+.1} % |",
            class.name,
            class.status,
            ms(median),
            ms(p90),
            dm * 100.0,
            dp * 100.0
        );
    }
    within
}

#[tokio::main]
async fn main() {
    let sink = SmtpSink::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        bind: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        secret_key: Some("bench-secret-key-with-enough-characters-to-pass".into()),
        mail_url: format!("smtp://127.0.0.1:{}", sink.port()),
        compat: Compat::Safe,
        register_verification_url: Some("https://front.test/verify-user/".into()),
        reset_password_verification_url: Some("https://front.test/reset-password/".into()),
        rate_limits: Some(false),
        mail_poll_interval_ms: 20,
        ..Config::default()
    };
    let app = App::build(&config).await.unwrap();
    let listener = auth_server::bind(&config).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, stopped) = watch::channel(false);
    tokio::spawn(app.serve(listener, stopped));
    let bench = Bench {
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        base: format!("http://{addr}/api/v1/accounts"),
        sink,
    };

    bench.user("known", true).await;
    bench.user("pending", false).await;
    let disabled = bench.user("disabled", true).await;
    let db = sqlx::SqlitePool::connect(&config.database_url)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET active = 0 WHERE id = ?1")
        .bind(disabled)
        .execute(&db)
        .await
        .unwrap();

    let login = |login: &'static str, password: &'static str| move |_: usize| json!({"login": login, "password": password});
    let (unknown, wrong, pending, off) = (
        login("nobody", PASSWORD),
        login("known", "not the password 1"),
        login("pending", PASSWORD),
        login("disabled", PASSWORD),
    );
    let logins = measure(
        &bench,
        "/login/",
        ROUNDS,
        &[
            ("unknown account", &unknown),
            ("known account, wrong password", &wrong),
            ("unverified account", &pending),
            ("disabled account", &off),
        ],
    )
    .await;

    let known_reset = |_: usize| json!({"login": "known@example.org"});
    let unknown_reset = |_: usize| json!({"login": "nobody@example.org"});
    let resets = measure(
        &bench,
        "/send-reset-password-link/",
        ROUNDS,
        &[
            ("unknown account", &unknown_reset),
            ("known account", &known_reset),
        ],
    )
    .await;

    let fresh = |round: usize| {
        json!({"username": format!("fresh{round}"), "email": format!("fresh{round}@example.org"),
               "password": PASSWORD, "password_confirm": PASSWORD})
    };
    let taken = |round: usize| {
        json!({"username": format!("taker{round}"), "email": "known@example.org",
               "password": PASSWORD, "password_confirm": PASSWORD})
    };
    let registrations = measure(
        &bench,
        "/register/",
        REGISTER_ROUNDS,
        &[("new address", &fresh), ("taken address", &taken)],
    )
    .await;

    let mut out = format!(
        "## Enumeration timing (`cargo xtask bench`)\n\nIn-process server on loopback, SQLite, argon2id m={} t={} p={}, enumeration floor {} ms, rate limits off; one request at a time, classes interleaved; {ROUNDS} rounds ({REGISTER_ROUNDS} for register).\n",
        config.password_hash_memory_kib,
        config.password_hash_iterations,
        config.password_hash_parallelism,
        config.enumeration_floor().as_millis(),
    );
    let mut ok = report(&mut out, "POST login/", &logins);
    ok &= report(&mut out, "POST send-reset-password-link/", &resets);
    ok &= report(&mut out, "POST register/", &registrations);
    let _ = writeln!(
        out,
        "\nGoal: medians within 10 %, p90 within 15 % of the first class: {}.",
        if ok { "met" } else { "NOT met" }
    );
    print!("{out}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("enumeration.md"), &out).unwrap();
    eprintln!("report written to target/bench/enumeration.md");
    if !ok {
        std::process::exit(1);
    }
}
