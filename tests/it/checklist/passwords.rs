//! A. Passwords (rows 1–11).

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

/// A register reply for a fresh name and address with `password`.
async fn register(app: &TestApp, password: &str) -> Reply {
    let username = name();
    app.register_raw(&username, &format!("{username}@example.org"), password)
        .await
}

#[tokio::test]
async fn checklist_01_passwords_under_8_characters_are_refused_with_a_reason() {
    let app = TestApp::safe().await;
    let reply = register(&app, "zq8#Lm2").await;
    reply.fields(&["password"], true);
    assert!(
        reply.body["password"][0]
            .as_str()
            .unwrap()
            .contains("at least 8"),
        "{}",
        reply.body
    );
    assert_eq!(register(&app, "zq8#Lm2w").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn checklist_02_long_passphrases_work_and_a_huge_one_is_refused_cleanly() {
    let app = TestApp::safe().await;
    for password in [
        "correct horse battery staple ".repeat(3)[..64].to_owned(),
        "🐴🔋📎 staple and horse "
            .repeat(8)
            .chars()
            .take(128)
            .collect(),
        "ein sehr langes Passwort mit Ümläuten und 🦀 "
            .repeat(25)
            .chars()
            .take(1000)
            .collect(),
    ] {
        let user = app.user_with(&password).await;
        assert_eq!(
            app.login(&user.username, &password).await.status,
            StatusCode::OK
        );
    }
    let huge = "x".repeat(1024 * 1024);
    let reply = register(&app, &huge).await;
    assert!(
        [StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE].contains(&reply.status),
        "{}",
        reply.status
    );
}

#[tokio::test]
async fn checklist_03_no_composition_rules() {
    let app = TestApp::safe().await;
    for password in ["quietlyorangeriverbed", "8405716629301745"] {
        let reply = register(&app, password).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{password}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn checklist_04_passwords_are_verified_exactly() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let flipped: String = PASSWORD
        .chars()
        .map(|c| {
            if c.is_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    for attempt in [
        &PASSWORD[..PASSWORD.len() - 1],
        flipped.as_str(),
        &format!("{PASSWORD}!"),
    ] {
        app.login(&user.username, attempt).await.detail(400);
    }
    assert_eq!(
        app.login(&user.username, PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn checklist_05_unicode_is_counted_per_code_point_and_normalised() {
    let app = TestApp::safe().await;
    let composed = "Gr\u{00fc}\u{00df}e aus K\u{00f6}ln am Rhein";
    let decomposed = "Gru\u{0308}\u{00df}e aus Ko\u{0308}ln am Rhein";
    let user = app.user_with(composed).await;
    assert_eq!(
        app.login(&user.username, decomposed).await.status,
        StatusCode::OK
    );
    // Eight emoji are eight characters (they are 32 bytes).
    let emoji = "🦀🐴🔋📎🌍🎲🧭🪁";
    assert_eq!(register(&app, emoji).await.status, StatusCode::CREATED);
    register(&app, &emoji[..emoji.len() - 4])
        .await
        .fields(&["password"], true);
}

#[tokio::test]
async fn checklist_06_common_passwords_are_refused_with_a_reason_on_all_three_endpoints() {
    let app = TestApp::safe().await;
    let reason = |reply: &Reply| {
        reply.body["password"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().contains("too common"))
    };
    for common in ["password1234", "qwertyuiop12"] {
        let reply = register(&app, common).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reason(&reply), "register {common}: {}", reply.body);

        let user = app.user().await;
        let reply = app
            .post_as(
                "/change-password/",
                &user.token,
                json!({"old_password": PASSWORD, "password": common, "password_confirm": common}),
            )
            .await;
        assert!(reason(&reply), "change {common}: {}", reply.body);

        app.post(
            "/send-reset-password-link/",
            json!({"login": user.username}),
        )
        .await
        .detail(200);
        let mut link = app.link(&user.email, 2).await;
        link.insert("password".into(), common.into());
        let reply = app.post("/reset-password/", json!(link)).await;
        assert!(reason(&reply), "reset {common}: {}", reply.body);
    }
}

#[tokio::test]
async fn checklist_08_the_users_names_and_the_service_name_are_refused() {
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        c.password_context_words = vec!["frontdesk".into()];
    })
    .await;
    let reply = app
        .register_raw("alice", "alice@example.org", "alice-frontdesk-2024")
        .await;
    reply.fields(&["password"], true);
    let reply = app
        .register_raw(&name(), "bob@example.org", "my FrontDesk password")
        .await;
    reply.fields(&["password"], true);
}

#[tokio::test]
async fn checklist_09_changing_the_password_needs_the_current_one() {
    let app = TestApp::safe().await;
    let user = app.user().await;
    let new = "another long passphrase 77";
    for body in [
        json!({"password": new, "password_confirm": new}),
        json!({"old_password": "not it at all", "password": new, "password_confirm": new}),
    ] {
        app.post_as("/change-password/", &user.token, body)
            .await
            .fields(&["old_password"], false);
    }
    assert_eq!(
        app.login(&user.username, PASSWORD).await.status,
        StatusCode::OK
    );
    app.login(&user.username, new).await.detail(400);
}

#[tokio::test]
async fn checklist_10_hashes_meet_the_owasp_floor_and_weaker_settings_are_refused() {
    // The defaults, not the suite's cheap test parameters.
    let app = TestApp::spawn(auth_server::Compat::Safe, |c| {
        let defaults = auth_server::Config::default();
        c.password_hash_memory_kib = defaults.password_hash_memory_kib;
        c.password_hash_iterations = defaults.password_hash_iterations;
        c.password_hash_parallelism = defaults.password_hash_parallelism;
        c.password_hash_allow_weak = false;
    })
    .await;
    let user = app.unverified().await;
    let stored = app.stored_hash(user.id).await;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );

    let dir = tempfile::tempdir().unwrap();
    let weak = |allow: bool| {
        std::process::Command::new(crate::processes::binary())
            .arg("check")
            .env_clear()
            .env(
                "AUTH_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("a.db").display()),
            )
            .env("AUTH_SECRET_KEY", SECRET)
            .env("AUTH_PASSWORD_HASH_MEMORY_KIB", "8192")
            .env(
                "AUTH_PASSWORD_HASH_ALLOW_WEAK",
                if allow { "1" } else { "0" },
            )
            .output()
            .unwrap()
    };
    let refused = weak(false);
    assert!(!refused.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(said.contains("m=19456"), "{said}");
    assert!(weak(true).status.success());
}

#[tokio::test]
async fn checklist_11_django_and_outdated_hashes_log_in_and_are_upgraded() {
    let app = TestApp::safe().await;
    // Made by Django 5.2's own hashers (see auth-core's hashing tests).
    let imported = [
        (
            "pbkdf2_sha256$1000$c2FsdHNhbHQ$HgGtz23nfY68BYPHybbu8UlRLZeUGYirGuG5uf5fmDg=",
            "s3cret-Pass",
        ),
        (
            "argon2$argon2id$v=19$m=256,t=1,p=1$YzJGc2RITmhiSFJ6WVd4MA$YjNx4latR2A0kNrnJmW4e/tE8yu0CaFH9FPInXhc6NQ",
            "from django",
        ),
        (
            "bcrypt_sha256$$2b$04$AjMVKiRfBLfPt7oWnQZE1ODiaHzG0Skag/KoA4mh61BlY3nR.Yx7O",
            "bcrypt pass",
        ),
    ];
    let db = app.db().await;
    for (hash, password) in imported {
        let user = app.user().await;
        sqlx::query("UPDATE users SET password_hash = ?1 WHERE id = ?2")
            .bind(hash)
            .bind(user.id)
            .execute(&db)
            .await
            .unwrap();
        app.login(&user.username, PASSWORD).await.detail(400);
        assert_eq!(
            app.login(&user.username, password).await.status,
            StatusCode::OK
        );
        let upgraded = app.stored_hash(user.id).await;
        assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
        assert_eq!(
            app.login(&user.username, password).await.status,
            StatusCode::OK
        );
    }
}
