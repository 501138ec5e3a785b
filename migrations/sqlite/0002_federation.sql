-- Federation state, version 2 (SQLite). Keep in step with migrations/postgres/0002_federation.sql.

-- RSA key pairs of local actors ('instance', 'organisation', 'author:<id>'), PEM.
CREATE TABLE actor_keys (
    local_key       TEXT PRIMARY KEY,
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

-- Remote actors we have fetched (followers, repliers, people who liked…).
CREATE TABLE remote_actors (
    id                 TEXT PRIMARY KEY,
    kind               TEXT NOT NULL,
    preferred_username TEXT NOT NULL,
    name               TEXT NOT NULL,
    host               TEXT NOT NULL,
    inbox              TEXT NOT NULL,
    shared_inbox       TEXT,
    url                TEXT,
    icon               TEXT,
    public_key_id      TEXT NOT NULL,
    public_key_pem     TEXT NOT NULL,
    moved_to           TEXT,
    refreshed_at       INTEGER NOT NULL
);
CREATE INDEX remote_actors_by_host ON remote_actors (host);

-- Who follows which local actor; 'pending' until approved when the actor
-- approves followers manually.
CREATE TABLE followers (
    local_actor   TEXT NOT NULL,
    follower      TEXT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    follow_id     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (local_actor, follower)
);
CREATE INDEX followers_by_follower ON followers (follower);

-- Activity ids already processed, so a redelivered activity is ignored.
CREATE TABLE received_activities (
    id          TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);

-- Likes and boosts of local articles.
CREATE TABLE interactions (
    activity_id TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    article_id  TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    actor       TEXT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX interactions_once ON interactions (kind, article_id, actor);

-- Replies to local articles.
CREATE TABLE comments (
    id           TEXT PRIMARY KEY,
    article_id   TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    actor        TEXT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    url          TEXT,
    content_html TEXT NOT NULL,
    language     TEXT,
    status       TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX comments_by_article ON comments (article_id, status, published_at);
