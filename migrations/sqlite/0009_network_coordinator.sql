-- The network coordinator, version 9 (SQLite): member organisations and the
-- shared feed aggregated from them. Keep in step with
-- migrations/postgres/0009_network_coordinator.sql.

-- Member organisations: actors on instances that asked to join (or were
-- invited). Only content from the host of an approved member is aggregated.
CREATE TABLE network_members (
    actor              TEXT PRIMARY KEY,
    host               TEXT NOT NULL,
    -- requested, approved, suspended, rejected or removed
    status             TEXT NOT NULL,
    -- `name@host`
    handle             TEXT NOT NULL,
    name               TEXT NOT NULL,
    url                TEXT,
    inbox              TEXT NOT NULL,
    -- From the member's actor (the `sse:` extension): ISO 3166 alpha-2, a
    -- legal form, JSON lists of sectors and BCP 47 languages, a logo URL.
    country            TEXT,
    legal_form         TEXT,
    sectors            TEXT NOT NULL,
    languages          TEXT NOT NULL,
    logo               TEXT,
    requested_at       INTEGER NOT NULL,
    decided_at         INTEGER,
    last_activity_at   INTEGER,
    signature_failures INTEGER NOT NULL DEFAULT 0,
    -- Outbox backfill: the next page to fetch (NULL when finished or not
    -- started), its state (pending, done, failed), how far it got.
    backfill_state     TEXT NOT NULL,
    backfill_next      TEXT,
    backfill_pages     INTEGER NOT NULL DEFAULT 0,
    backfill_items     INTEGER NOT NULL DEFAULT 0,
    backfill_error     TEXT,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX network_members_by_host ON network_members (host, status);

-- Sectors of each member, for the sector filter.
CREATE TABLE network_member_sectors (
    member TEXT NOT NULL REFERENCES network_members (actor) ON DELETE CASCADE,
    sector TEXT NOT NULL,
    PRIMARY KEY (member, sector)
);
CREATE INDEX network_member_sectors_by_sector ON network_member_sectors (sector, member);

-- The shared feed: one row per member article, keyed by its origin id.
-- `updated_at` orders edits (an older one never replaces a newer one);
-- `deleted_at` keeps a deletion so a late Create cannot bring it back;
-- `hidden` is a moderator's removal (kept, not lost).
CREATE TABLE network_items (
    id            TEXT PRIMARY KEY,
    member        TEXT NOT NULL REFERENCES network_members (actor) ON DELETE CASCADE,
    attributed_to TEXT,
    url           TEXT,
    kind          TEXT,
    language      TEXT,
    title         TEXT NOT NULL,
    summary_html  TEXT NOT NULL,
    content_html  TEXT NOT NULL,
    search_text   TEXT NOT NULL,
    image_url     TEXT,
    image_alt     TEXT,
    published_at  INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    hidden        INTEGER NOT NULL DEFAULT 0,
    deleted_at    INTEGER,
    announce_id   TEXT
);
CREATE INDEX network_items_by_date ON network_items (published_at DESC, id DESC);
CREATE INDEX network_items_by_member ON network_items (member, published_at DESC);
CREATE INDEX network_items_by_kind ON network_items (kind, published_at DESC);

CREATE TABLE network_item_tags (
    item TEXT NOT NULL REFERENCES network_items (id) ON DELETE CASCADE,
    tag  TEXT NOT NULL,
    PRIMARY KEY (item, tag)
);
CREATE INDEX network_item_tags_by_tag ON network_item_tags (tag, item);

CREATE TABLE network_item_languages (
    item     TEXT NOT NULL REFERENCES network_items (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    PRIMARY KEY (item, language)
);
CREATE INDEX network_item_languages_by_language ON network_item_languages (language, item);

-- Full-text index of the feed (SQLite only; PostgreSQL uses a tsvector
-- column). Kept by the store in the transaction that writes the item.
CREATE VIRTUAL TABLE network_items_fts USING fts5 (
    item_id UNINDEXED,
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
