-- Gazette schema, version 1 (SQLite). Keep in step with migrations/postgres/0001_init.sql.
-- Times are microseconds since the Unix epoch; booleans are integers; ids are text.

CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    alt          TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX media_by_sha256 ON media (sha256);

CREATE TABLE organisation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    username    TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    logo        TEXT REFERENCES media (id),
    website     TEXT,
    country     TEXT NOT NULL,
    legal_form  TEXT NOT NULL,
    sectors     TEXT NOT NULL,
    languages   TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE authors (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    bio              TEXT NOT NULL,
    avatar           TEXT REFERENCES media (id),
    fediverse_handle TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE articles (
    id               TEXT PRIMARY KEY,
    slug             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    default_language TEXT NOT NULL,
    author_id        TEXT NOT NULL REFERENCES authors (id),
    cover_media      TEXT REFERENCES media (id),
    cover_alt        TEXT,
    interviewee      TEXT,
    published_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX articles_by_status_date ON articles (status, published_at DESC, id DESC);
CREATE INDEX articles_by_author ON articles (author_id, status, published_at DESC);

CREATE TABLE article_translations (
    article_id    TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    language      TEXT NOT NULL,
    position      INTEGER NOT NULL,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html     TEXT NOT NULL,
    PRIMARY KEY (article_id, language)
);
CREATE INDEX article_translations_by_language ON article_translations (language, article_id);

CREATE TABLE article_tags (
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag)
);
CREATE INDEX article_tags_by_tag ON article_tags (tag, article_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
