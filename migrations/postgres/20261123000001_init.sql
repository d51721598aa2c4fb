-- Users, credentials and the mail outbox (PostgreSQL).
-- *_key columns hold the identifier as the configured matching compares it
-- (exact text, or lower-cased), so the database itself enforces uniqueness
-- even for concurrent registrations on several server instances.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,
    email         TEXT,
    email_key     TEXT    UNIQUE,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL,
    verified      BOOLEAN NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    pending_email TEXT,
    date_joined   BIGINT  NOT NULL,
    last_login    BIGINT
);

-- Credentials are stored as SHA-256 digests only.
CREATE TABLE auth_tokens (
    digest     BYTEA   PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('token', 'session')),
    created_at BIGINT  NOT NULL
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, kind);

CREATE TABLE token_generations (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL
);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    payload         TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    leased_until    BIGINT,
    sent_at         BIGINT,
    failed_at       BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
