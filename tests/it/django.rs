//! `auth-server import-django` against databases real Django made
//! (`tests/django/make_site.py`, in a cached virtual environment with
//! Django, DRF and django-rest-registration from the package registry),
//! on SQLite and on PostgreSQL: afterwards every user logs in with the old
//! password (and is upgraded to argon2id), every DRF token reads the
//! profile, and the links DRR signed before the move still work.

use std::path::{Path, PathBuf};
use std::process::Command;

use auth_server::Compat;
use auth_sql::testing::PgDatabase;
use serde_json::{Value, json};

use crate::harness::*;
use crate::processes::binary;
use crate::venv;

/// A site database made by Django; `None` (skip) outside CI when Python's
/// packages cannot be installed.
fn make_site(target: &[&str]) -> Option<Value> {
    run_site_script("make_site.py", target)
}

/// What `script` (in `tests/django/`, run by the venv's Python) printed.
fn run_site_script(script: &str, target: &[&str]) -> Option<Value> {
    let dir = venv::root().join("tests/django");
    let python = venv::python("django", &dir.join("requirements.txt"))?;
    let output = Command::new(python)
        .arg(dir.join(script))
        .args(["--secret-key", SECRET])
        .args(target)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "make_site.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

/// Runs `auth-server import-django` into `store` (DRR profile, the test
/// key); exit code, stdout and stderr.
fn import(store: &str, from: &str, extra: &[&str]) -> (i32, String, String) {
    import_with(&[("AUTH_COMPAT", "drr")], store, from, extra)
}

/// [`import`] with the server configured by `env` instead of `COMPAT=drr`.
fn import_with(
    env: &[(&str, &str)],
    store: &str,
    from: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let output = Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .env("AUTH_SECRET_KEY", SECRET)
        .env("AUTH_DATABASE_URL", store)
        .env("AUTH_LOG", "error")
        .args(["import-django", "--from", from])
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The stored row's fields that came from Django, for `username`.
async fn stored_fields(store: &str, username: &str) -> Value {
    let sql = "SELECT id, email, first_name, last_name, date_joined, last_login, verified, active, \
               staff FROM users WHERE username = $1";
    type Row = (
        i64,
        Option<String>,
        String,
        String,
        i64,
        Option<i64>,
        bool,
        bool,
        bool,
    );
    let row: Row = if store.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(store).await.unwrap();
        sqlx::query_as(sql)
            .bind(username)
            .fetch_one(&pool)
            .await
            .unwrap()
    } else {
        let pool = sqlx::PgPool::connect(store).await.unwrap();
        sqlx::query_as(sql)
            .bind(username)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    json!({"id": row.0, "email": row.1, "first_name": row.2, "last_name": row.3,
           "date_joined": row.4, "last_login": row.5, "verified": row.6, "active": row.7,
           "staff": row.8})
}

async fn stored_hash(store: &str, username: &str) -> String {
    let sql = "SELECT password_hash FROM users WHERE username = $1";
    if store.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(store).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(username)
            .fetch_one(&pool)
            .await
            .unwrap()
    } else {
        let pool = sqlx::PgPool::connect(store).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(username)
            .fetch_one(&pool)
            .await
            .unwrap()
    }
}

/// The whole move, from `from` (made by Django as `site`) into `store`.
async fn moves(site: Value, from: &str, store: &str) {
    let users = site["users"].as_array().unwrap();
    let skipped: Vec<i64> = serde_json::from_value(site["skipped"].clone()).unwrap();

    let (dry_code, dry_out, _) = import(store, from, &["--dry-run"]);
    assert_eq!(dry_code, 3, "{dry_out}");
    assert!(
        dry_out.contains("dry run: nothing was written"),
        "{dry_out}"
    );

    let (code, out, err) = import(store, from, &[]);
    assert_eq!(
        code, 3,
        "rows were skipped, so the exit status says so: {out}{err}"
    );
    let total = site["total"].as_u64().unwrap();
    let imported = total - skipped.len() as u64;
    assert!(
        out.contains(&format!(
            "users:  {total} read, {imported} created, 0 updated, 0 unchanged, 2 skipped"
        )),
        "{out}"
    );
    for id in &skipped {
        assert!(err.contains(&format!("skipped user {id}: ")), "{err}");
    }
    assert!(err.contains("unknown format \"md5\""), "{err}");
    assert!(err.contains("is also user"), "{err}");
    let tokens = site["tokens"].as_u64().unwrap();
    assert!(
        out.contains(&format!("tokens: {tokens} read, {} created", tokens - 1)),
        "the twin's token has no user to go to: {out}"
    );

    // Again: nothing new, nothing duplicated.
    let (code, again, _) = import(store, from, &[]);
    assert_eq!(code, 3);
    assert!(
        again.contains(&format!(
            "users:  {total} read, 0 created, 0 updated, {imported} unchanged, 2 skipped"
        )),
        "{again}"
    );
    assert!(
        again.contains(&format!(
            "tokens: {tokens} read, 0 created, 0 updated, {} unchanged",
            tokens - 1
        )),
        "{again}"
    );

    let store_url = store.to_owned();
    let app = TestApp::spawn(Compat::Drr, move |config| {
        config.database_url = store_url;
    })
    .await;
    for user in users {
        let username = user["username"].as_str().unwrap();
        let hasher = user["hasher"].as_str().unwrap();
        let stored = stored_fields(store, username).await;
        for field in [
            "id",
            "email",
            "first_name",
            "last_name",
            "date_joined",
            "last_login",
        ] {
            assert_eq!(stored[field], user[field], "{username}: {field}");
        }
        assert_eq!(
            (stored["verified"].as_bool(), stored["active"].as_bool()),
            (Some(true), Some(true))
        );
        let old_token = user["token"].as_str().unwrap();
        let profile = app.get_as("/profile/", old_token).await;
        assert_eq!(
            profile.status, 200,
            "{hasher}: the DRF token no longer works: {:?}",
            profile.body
        );
        assert_eq!(profile.body["username"], username);
        assert_eq!(profile.body["id"], user["id"]);

        assert!(
            stored_hash(store, username)
                .await
                .starts_with(&format!("{hasher}$"))
        );
        let login = app
            .login(username, user["password"].as_str().unwrap())
            .await;
        assert_eq!(login.status, 200, "{hasher}: {:?}", login.body);
        assert!(
            stored_hash(store, username).await.starts_with("$argon2id$"),
            "{hasher} was not upgraded at the first login"
        );
        let again = app
            .login(username, user["password"].as_str().unwrap())
            .await;
        assert_eq!(again.status, 200, "{hasher} after the upgrade");
        assert_eq!(app.login(username, "not the password").await.status, 400);
    }
    let unusable = site["unusable"]["username"].as_str().unwrap();
    assert_eq!(app.login(unusable, "").await.status, 400);
    assert_eq!(app.login(unusable, "anything").await.status, 400);

    // DRR's registration link, signed by Django before the move.
    let verify = &site["verify"];
    let pending = verify["username"].as_str().unwrap();
    let password = verify["password"].as_str().unwrap();
    let stored = stored_fields(store, pending).await;
    assert_eq!(
        (stored["verified"].as_bool(), stored["active"].as_bool()),
        (Some(false), Some(true)),
        "is_active=false means not verified yet, by default"
    );
    assert_eq!(
        app.login(pending, password).await.status,
        400,
        "not verified yet"
    );
    let verified = app
        .post("/verify-registration/", verify["link"].clone())
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(app.login(pending, password).await.status, 200);

    // DRR's reset link, signed by Django before the move.
    let reset = &site["reset"];
    let mut body = reset["link"].clone();
    body["password"] = json!("brand new pässword 7");
    let done = app.post("/reset-password/", body).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let who = reset["username"].as_str().unwrap();
    assert_eq!(app.login(who, "brand new pässword 7").await.status, 200);

    // Ids the server assigns itself come after every id the site used, the
    // skipped rows' too: a link mailed to them must never name a newcomer.
    let newcomer = app.user().await;
    assert!(
        newcomer.id > total as i64,
        "new id {} was an id of the site's",
        newcomer.id
    );
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn sqlite_url(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let url = format!("sqlite://{}", path.display());
    (path, url)
}

#[tokio::test]
async fn import_django_moves_a_sqlite_site_into_sqlite() {
    let dir = temp();
    let (site_path, from) = sqlite_url(dir.path(), "site.db");
    let Some(site) = make_site(&["--sqlite", site_path.to_str().unwrap()]) else {
        return;
    };
    let (_, store) = sqlite_url(dir.path(), "auth.db");
    moves(site, &from, &store).await;
}

#[tokio::test]
async fn import_django_moves_a_postgres_site_into_postgres() {
    let (Some(site_db), Some(store_db)) = (PgDatabase::create().await, PgDatabase::create().await)
    else {
        return;
    };
    let Some(site) = make_site(&["--postgres", &site_db.url]) else {
        return;
    };
    moves(site, &site_db.url, &store_db.url).await;
}

#[tokio::test]
async fn import_django_reports_a_missing_table_and_a_bad_column_name_and_can_leave_tokens_behind() {
    let dir = temp();
    let (site_path, from) = sqlite_url(dir.path(), "site.db");
    let Some(_) = make_site(&["--sqlite", site_path.to_str().unwrap()]) else {
        return;
    };
    let (_, store) = sqlite_url(dir.path(), "auth.db");
    let (code, _, err) = import(&store, &from, &["--table", "accounts_user"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read users from accounts_user"),
        "{err}"
    );
    let (code, _, err) = import(
        &store,
        &from,
        &["--username-column", "name; DROP TABLE auth_user"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("is not a table or column name"), "{err}");
    let (code, out, _) = import(&store, &from, &["--skip-tokens"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("tokens: 0 read, 0 created"), "{out}");
    let (code, _, err) = import(&store, "mysql://site", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("unsupported database URL scheme"), "{err}");
}

/// The rest-auth dialect as a dj-rest-auth site with mandatory verification
/// runs it, over `store`.
async fn restauth_app(store: &str) -> TestApp {
    let store = store.to_owned();
    TestApp::spawn(Compat::Safe, move |c| {
        c.database_url = store;
        c.api = auth_server::config::Api::RestAuth;
        c.api_prefix = "/auth".into();
        c.user_login_fields = None;
        c.allauth_email_verification = Some("mandatory".into());
        c.allauth_login_methods = Some(vec!["username".into(), "email".into()]);
    })
    .await
}

#[tokio::test]
async fn import_django_moves_an_allauth_site_with_its_address_book_and_mailed_links() {
    let dir = temp();
    let (site_path, from) = sqlite_url(dir.path(), "site.db");
    let Some(site) = run_site_script(
        "make_allauth_site.py",
        &["--sqlite", site_path.to_str().unwrap()],
    ) else {
        return;
    };
    let (_, store) = sqlite_url(dir.path(), "auth.db");
    let env = [
        ("AUTH_API", "rest-auth"),
        ("AUTH_ALLAUTH_EMAIL_VERIFICATION", "mandatory"),
    ];
    let args = ["--email-addresses", "account_emailaddress"];
    let (code, out, err) = import_with(&env, &store, &from, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("users:  3 read, 3 created"), "{out}");
    assert!(out.contains("addresses: 4 read, 4 created"), "{out}");

    let app = restauth_app(&store).await;
    let users = site["users"].as_array().unwrap();
    let login = |user: &Value| json!({"username": user["username"], "password": user["password"]});
    let (ada, bob, carol) = (&users[0], &users[1], &users[2]);
    // The reset link allauth mailed Ada (its token covers both her
    // addresses and her last login, so it goes first) sets her password here.
    let reset = &site["reset"];
    let body = json!({"uid": reset["uid"], "token": reset["token"],
        "new_password1": "brand new pässword 7", "new_password2": "brand new pässword 7"});
    let done = app.post("/password/reset/confirm/", body).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let with_new = app
        .post(
            "/login/",
            json!({"email": "ADA@example.org", "password": "brand new pässword 7"}),
        )
        .await;
    assert_eq!(with_new.status, 200, "{:?}", with_new.body);
    // Ada's address is confirmed: she logs in, her DRF token still reads her
    // details, and she is staff.
    let me = app.get_as("/user/", ada["token"].as_str().unwrap()).await;
    assert_eq!(me.body["pk"], ada["id"], "{:?}", me.body);
    assert_eq!(stored_fields(&store, "ada").await["staff"], json!(true));
    // Bob and Carol share an unconfirmed address: neither may log in yet.
    for user in [bob, carol] {
        let refused = app.post("/login/", login(user)).await;
        assert_eq!(refused.status, 400, "{:?}", refused.body);
    }
    // The key allauth mailed Bob before the move confirms it here.
    let key = &site["confirm"]["key"];
    let confirmed = app
        .post("/registration/verify-email/", json!({"key": key}))
        .await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(app.post("/login/", login(bob)).await.status, 200);
    assert_eq!(app.post("/login/", login(carol)).await.status, 400);

    // A rerun changes nothing, and keeps the confirmation made here.
    let (code, again, err) = import_with(&env, &store, &from, &args);
    assert_eq!(code, 0, "{again}{err}");
    assert!(again.contains("users:  3 read, 0 created"), "{again}");
    assert_eq!(app.post("/login/", login(bob)).await.status, 200);
}
