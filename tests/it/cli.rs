//! The operator commands (`auth-server users …`, `auth-server credentials
//! …`) through the real binary, against a running server sharing the
//! database, on SQLite and on PostgreSQL.

use std::sync::Arc;

use auth_smtp::sink::SmtpSink;

use crate::harness::*;
use crate::processes::*;

/// Runs `auth-server ARGS` on `database` with `stdin` as its input.
fn cli(database: &str, args: &[&str], stdin: &str) -> Ran {
    run_cli(&[("AUTH_DATABASE_URL", database.to_owned())], args, stdin)
}

async fn every_command_works_on(database: &str) {
    let logs = tempfile::tempdir().unwrap();
    let sink = Arc::new(SmtpSink::start().await.unwrap());
    let server = ServerProcess::start(
        &[
            ("AUTH_DATABASE_URL", database.to_owned()),
            ("AUTH_MAIL_URL", format!("smtp://127.0.0.1:{}", sink.port())),
        ],
        logs.path(),
    )
    .await;
    let app = TestApp::attach(server.root.clone(), sink);
    let login = |password: &'static str| app.login("ann", password);

    // create: the password from standard input, never argv.
    let created = cli(
        database,
        &[
            "users",
            "create",
            "ann",
            "--email",
            "ann@example.org",
            "--json",
        ],
        &format!("{PASSWORD}\n"),
    )
    .json();
    assert_eq!(created[0]["username"], "ann");
    assert_eq!(created[0]["verified"], true);
    let id = created[0]["id"].as_i64().unwrap().to_string();
    let token = login(PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Refusals exit 5 and say why; a missing user exits 4.
    let taken = cli(
        database,
        &["users", "create", "ann"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(taken.code, 5, "{}", taken.err);
    assert!(taken.err.contains("already exists"), "{}", taken.err);
    let weak = cli(database, &["users", "create", "bob"], "bob\n");
    assert_eq!(weak.code, 5);
    assert!(weak.err.contains("too short"), "{}", weak.err);
    let none = cli(database, &["users", "show", "nobody"], "");
    assert_eq!(none.code, 4);
    assert!(none.err.contains("no user \"nobody\""), "{}", none.err);
    assert_eq!(cli(database, &["users", "frobnicate"], "").code, 2);
    let empty = cli(database, &["users", "create", "cid"], "");
    assert_eq!(empty.code, 2, "{}", empty.err);

    // show by id, username or address; list as a table and as JSON.
    for key in [id.as_str(), "ann", "ann@example.org"] {
        assert_eq!(
            cli(database, &["users", "show", key, "--json"], "").json()[0]["id"],
            created[0]["id"]
        );
    }
    let table = cli(database, &["users", "list"], "");
    assert_eq!(table.code, 0);
    let mut lines = table.out.lines();
    assert!(
        lines.next().unwrap().starts_with("ID  USERNAME  EMAIL"),
        "{}",
        table.out
    );
    assert!(
        lines.next().unwrap().contains("ann@example.org"),
        "{}",
        table.out
    );
    assert_eq!(
        cli(database, &["users", "list", "--json"], "")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // credentials: the login's token and session, revoked by id.
    let listed = cli(database, &["credentials", "list", "ann", "--json"], "").json();
    let token_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "token")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get_as("/profile/", &token).await.status, 200);
    let revoked = cli(
        database,
        &["credentials", "revoke", "ann", "--id", &token_id, "--json"],
        "",
    )
    .json();
    assert_eq!(revoked["revoked"], 1);
    assert_eq!(app.get_as("/profile/", &token).await.status, 401);
    assert_eq!(
        cli(
            database,
            &["credentials", "revoke", "ann", "--id", &token_id],
            ""
        )
        .code,
        4
    );

    // deactivate ends what is left and refuses logins; activate restores.
    let token = login(PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Read once, so the server has the token and the account cached.
    assert_eq!(app.get_as("/profile/", &token).await.status, 200);
    assert_eq!(
        cli(database, &["users", "deactivate", "ann", "--json"], "").json()[0]["active"],
        false
    );
    assert_eq!(app.get_as("/profile/", &token).await.status, 401);
    assert_eq!(login(PASSWORD).await.status, 400);
    assert_eq!(
        cli(database, &["users", "activate", "ann", "--json"], "").json()[0]["active"],
        true
    );
    let token = login(PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(app.get_as("/profile/", &token).await.status, 200);
    // set-password: the new one works, the old one and every token end.
    let new_password = "another long passphrase 77";
    let set = cli(
        database,
        &["users", "set-password", "ann", "--json"],
        &format!("{new_password}\n"),
    )
    .json();
    assert!(set["credentials_ended"].as_u64().unwrap() >= 1, "{set}");
    assert_eq!(app.get_as("/profile/", &token).await.status, 401);
    assert_eq!(login(PASSWORD).await.status, 400);
    assert_eq!(login(new_password).await.status, 200);

    // verify: an unverified account logs in once verified.
    let dee = cli(
        database,
        &["users", "create", "dee", "--unverified"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(dee.code, 0, "{}", dee.err);
    assert_eq!(app.login("dee", PASSWORD).await.status, 400);
    assert_eq!(
        cli(database, &["users", "verify", "dee", "--json"], "").json()[0]["verified"],
        true
    );
    assert_eq!(app.login("dee", PASSWORD).await.status, 200);

    // delete: refused without a confirmation, done with --yes.
    assert_eq!(cli(database, &["users", "delete", "dee"], "").code, 2);
    let deleted = cli(database, &["users", "delete", "dee", "--yes", "--json"], "").json();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(cli(database, &["users", "show", "dee"], "").code, 4);
    assert_eq!(app.login("dee", PASSWORD).await.status, 400);
}

#[tokio::test]
async fn users_and_credentials_commands_work_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("auth.db").display());
    every_command_works_on(&database).await;
}

#[tokio::test]
async fn users_and_credentials_commands_work_on_postgres() {
    let Some(database) = auth_sql::testing::PgDatabase::create().await else {
        return;
    };
    every_command_works_on(&database.url).await;
}
