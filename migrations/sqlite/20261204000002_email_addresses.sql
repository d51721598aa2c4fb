-- allauth's address book (the rest-auth dialect): a user's addresses with
-- their verified flags. An address is unique among accounts only once
-- verified (allauth's UNIQUE_EMAIL), so two accounts may hold it until one
-- of them confirms it; such accounts keep users.email_key NULL.
CREATE TABLE email_addresses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    email_key  TEXT    NOT NULL,
    verified   INTEGER NOT NULL DEFAULT 0,
    is_primary INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, email_key)
);
CREATE INDEX email_addresses_key ON email_addresses (email_key);
CREATE UNIQUE INDEX email_addresses_verified ON email_addresses (email_key) WHERE verified;
