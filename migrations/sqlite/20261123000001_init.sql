-- Users, credentials and the mail outbox (SQLite).
-- *_key columns hold the identifier as the configured matching compares it
-- (exact text, or lower-cased), so the database itself enforces uniqueness.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,
    email         TEXT,
    email_key     TEXT    UNIQUE,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL,
    verified      INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    pending_email TEXT,
    date_joined   INTEGER NOT NULL,
    last_login    INTEGER
);

-- Credentials are stored as SHA-256 digests only.
CREATE TABLE auth_tokens (
    digest     BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('token', 'session')),
    created_at INTEGER NOT NULL
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, kind);

-- One-token-per-user mode derives each user's token from the secret key and
-- this generation; revoking bumps it, so the next login gets a new token.
CREATE TABLE token_generations (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    payload         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    leased_until    INTEGER,
    sent_at         INTEGER,
    failed_at       INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
