//! `cargo xtask bench import`: how long `import-django` takes for 100 000
//! users and their 100 000 DRF tokens from a SQLite site into the embedded
//! SQLite store. The site's tables are Django's own (`auth_user` and
//! `authtoken_token` exactly as `manage.py migrate` creates them on
//! SQLite), filled directly so the bench measures the import, not Django.
//! The import is the command's own code (`auth_server::import::run`), run
//! twice: into an empty store, then again (every row unchanged). Reports in
//! `target/bench/import.md`; fails when the first run takes 30 s or more
//! (the goal is well under a minute).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a failed unwrap is a failed run

use std::time::{Duration, Instant};

use auth_core::import::InactiveMeans;
use auth_server::import::{ImportRequest, Summary};
use auth_server::{Compat, Config};
use auth_sql::django::UserTable;

#[path = "common/django_site.rs"]
mod django_site;
use django_site::Site;

const USERS: usize = 100_000;
const GOAL: Duration = Duration::from_secs(30);

/// A pbkdf2_sha256 hash as Django stores it (never verified here).
const HASH: &str = "pbkdf2_sha256$1000000$c2FsdHNhbHQ$HgGtz23nfY68BYPHybbu8UlRLZeUGYirGuG5uf5fmDg=";

async fn import(config: &Config, from: &str) -> (Summary, Duration) {
    let plan = auth_server::check::run(config).plan.unwrap();
    let request = ImportRequest {
        from: from.to_owned(),
        users: UserTable::default(),
        tokens: Some("authtoken_token".into()),
        addresses: None,
        inactive: InactiveMeans::Unverified,
        dry_run: false,
    };
    let started = Instant::now();
    let summary = auth_server::import::run(&plan, &request).await.unwrap();
    (summary, started.elapsed())
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.db");
    Site {
        users: USERS,
        password_hash: HASH,
        active: |n| n % 10 != 0,
        created: "2024-05-01 10:00:00.123456",
    }
    .write(&site)
    .await;
    let config = Config {
        compat: Compat::Drr,
        database_url: format!("sqlite://{}", dir.path().join("auth.db").display()),
        secret_key: Some("bench secret key, long enough to pass the check 0123".into()),
        ..Config::default()
    };
    let from = format!("sqlite://{}", site.display());
    let (first, first_took) = import(&config, &from).await;
    assert_eq!(first.users.created, USERS as u64, "{first}");
    assert_eq!(first.tokens.created, USERS as u64, "{first}");
    let (again, again_took) = import(&config, &from).await;
    assert_eq!(again.users.unchanged, USERS as u64, "{again}");
    assert_eq!(again.tokens.unchanged, USERS as u64, "{again}");

    let rate = |took: Duration| (2 * USERS) as f64 / took.as_secs_f64();
    let report = format!(
        "# import-django: {USERS} users and {USERS} tokens, SQLite into SQLite\n\n\
         | run | time | rows/s |\n|---|---|---|\n\
         | into an empty store | {:.1} s | {:.0} |\n\
         | again (every row unchanged) | {:.1} s | {:.0} |\n\n\
         Goal: the first run under {} s.\n",
        first_took.as_secs_f64(),
        rate(first_took),
        again_took.as_secs_f64(),
        rate(again_took),
        GOAL.as_secs(),
    );
    print!("{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("import.md"), &report).unwrap();
    if first_took >= GOAL {
        eprintln!("FAILED: the import took {first_took:?}, the goal is under {GOAL:?}");
        std::process::exit(1);
    }
}
