-- The newsletter, version 30 (SQLite). Keep in step with
-- migrations/postgres/0030_newsletter.sql.

-- Readers who asked for new articles by mail. `status`: 'pending' until
-- the link of the confirmation mail is followed, then 'confirmed'. An
-- address is used for nothing else; unsubscribing deletes the row.
CREATE TABLE newsletter_subscribers (
    id           TEXT PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    language     TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    -- When the last confirmation mail was queued (a repeated subscription
    -- queues another at most this often, see crates/store/src/newsletter.rs).
    asked_at     BIGINT NOT NULL
);
CREATE INDEX newsletter_subscribers_status ON newsletter_subscribers (status, language);

-- One row per article to mail, written in the transaction that first
-- publishes it (`article_id` unique: an article is mailed once, even if it
-- is unpublished and published again). The newsletter worker turns it
-- into one outbox row per confirmed subscriber, then sets `expanded_at`.
CREATE TABLE newsletter_issues (
    article_id  TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    expanded_at BIGINT
);

-- Mails waiting to be sent: 'confirm' (the double opt-in link) or
-- 'article' (one issue to one subscriber). Sent mails are deleted; a
-- failed one waits until `next_attempt_at`.
CREATE TABLE newsletter_outbox (
    id              TEXT PRIMARY KEY,
    subscriber_id   TEXT NOT NULL REFERENCES newsletter_subscribers (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    article_id      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX newsletter_outbox_due ON newsletter_outbox (next_attempt_at);
CREATE INDEX newsletter_outbox_subscriber ON newsletter_outbox (subscriber_id);

-- The key signing confirm and unsubscribe links, made on first use.
CREATE TABLE newsletter_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT NOT NULL
);
