-- Following remote actors and the articles they send us, version 4 (PostgreSQL).
-- Keep in step with migrations/sqlite/0004_network.sql.

-- Remote actors a local actor follows; 'pending' until they send Accept.
CREATE TABLE following (
    local_actor TEXT NOT NULL,
    target      TEXT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    follow_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (local_actor, target)
);
CREATE INDEX following_by_target ON following (target);

-- Articles (and notes) received from followed actors: the network feed.
CREATE TABLE remote_articles (
    id           TEXT PRIMARY KEY,
    actor        TEXT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    url          TEXT,
    name         TEXT NOT NULL,
    summary_html TEXT NOT NULL,
    content_html TEXT NOT NULL,
    language     TEXT,
    image_url    TEXT,
    image_alt    TEXT,
    published_at BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX remote_articles_by_date ON remote_articles (published_at DESC, id DESC);
CREATE INDEX remote_articles_by_actor ON remote_articles (actor);
