-- Accounts for the editors' web interface at /admin, version 8 (SQLite).
-- Keep in step with migrations/postgres/0008_accounts.sql.

-- People who sign in. `role` is admin, editor or author; an author edits
-- only the articles of the author profile `author_id` links them to.
-- `password_hash` is an argon2id PHC string, empty until a password is set
-- (through a one-time reset link). `locale` is the interface language
-- they chose (NULL: from the browser's Accept-Language).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    author_id     TEXT REFERENCES authors (id) ON DELETE SET NULL,
    locale        TEXT,
    disabled_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Signed-in browsers: only a SHA-256 of the cookie's secret is kept. Each
-- session has its own CSRF token, which every form posts back.
CREATE TABLE user_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

-- One-time password reset links (`gazette user reset-password`).
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);

-- Sign-in attempts, for rate limiting per account and per address.
CREATE TABLE login_attempts (
    id        TEXT PRIMARY KEY,
    username  TEXT NOT NULL,
    ip        TEXT NOT NULL,
    succeeded INTEGER NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_username ON login_attempts (username, at);
CREATE INDEX login_attempts_by_ip ON login_attempts (ip, at);
CREATE INDEX login_attempts_by_time ON login_attempts (at);
