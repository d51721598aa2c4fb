//! A Django site's account tables on SQLite, filled directly (not through
//! Django) so a bench can seed a store through `import-django`, the store's
//! own bulk path, with as many users as it needs.

use std::path::Path;

/// Django 5.2's DDL for `auth_user` and `authtoken_token` on SQLite.
const DJANGO_TABLES: [&str; 2] = [
    r#"CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL)"#,
    r#"CREATE TABLE "authtoken_token" ("key" varchar(40) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, "user_id" integer NOT NULL UNIQUE REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED)"#,
];

/// What the site holds: users `user1`…`userN` (`userN@example.org`), each
/// with a DRF token [`token_key`]`(n)` created at `created`.
pub struct Site<'a> {
    /// How many users.
    pub users: usize,
    /// Every user's stored password hash.
    pub password_hash: &'a str,
    /// Whether user `n` is active.
    pub active: fn(usize) -> bool,
    /// When the users joined and their tokens were made, as Django stores
    /// datetimes on SQLite (`2024-05-01 10:00:00.123456`).
    pub created: &'a str,
}

/// The DRF token key of user `n`: 40 hex characters.
pub fn token_key(n: usize) -> String {
    format!("{n:040x}")
}

impl Site<'_> {
    /// Writes the site to a new SQLite file at `path`.
    pub async fn write(&self, path: &Path) {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for ddl in DJANGO_TABLES {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        let mut tx = pool.begin().await.unwrap();
        for n in 1..=self.users {
            sqlx::query(
                "INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name, \
                 email, is_staff, is_active, date_joined, first_name) \
                 VALUES ($1, $2, NULL, 0, $3, 'Lovelace', $4, 0, $5, $6, 'Ada')",
            )
            .bind(n as i64)
            .bind(self.password_hash)
            .bind(format!("user{n}"))
            .bind(format!("user{n}@example.org"))
            .bind((self.active)(n))
            .bind(self.created)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query("INSERT INTO authtoken_token (key, created, user_id) VALUES ($1, $2, $3)")
                .bind(token_key(n))
                .bind(self.created)
                .bind(n as i64)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        pool.close().await;
    }
}
