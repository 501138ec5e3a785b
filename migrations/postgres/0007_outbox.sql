-- Outbound federation work recorded with the change that causes it, version 7
-- (PostgreSQL). Keep in step with migrations/sqlite/0007_outbox.sql.

-- An article change that followers must hear about, written in the same
-- transaction as the change itself, so a crash between saving an article and
-- queueing its deliveries loses nothing: the dispatcher turns each row into
-- queued deliveries (idempotent by activity id) and then deletes it.
-- kind: 'published' | 'updated' | 'deleted'; version: the article's version
-- after the change, which names the activity.
CREATE TABLE article_events (
    id         TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX article_events_order ON article_events (created_at);

-- Likes, boosts and replies that local actors send to remote objects.
-- kind: 'like' | 'announce' | 'reply'. A like or boost is one per actor and
-- object (undoing it deletes the row); a reply is kept after deletion as a
-- tombstone (deleted_at) so its id answers 410.
CREATE TABLE outbound_interactions (
    id           TEXT PRIMARY KEY,
    actor_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    object_actor TEXT NOT NULL,
    source       TEXT,
    content      TEXT,
    created_at   BIGINT NOT NULL,
    deleted_at   BIGINT
);
CREATE UNIQUE INDEX outbound_interactions_once ON outbound_interactions (actor_id, kind, object_id)
    WHERE kind <> 'reply';
CREATE INDEX outbound_interactions_by_object ON outbound_interactions (object_id);
