-- Safety, version 5 (SQLite). Keep in step with migrations/postgres/0005_safety.sql.

-- Domains we do not federate with: no delivery, inbox refused, content purged.
-- `domain` is lower case, without a trailing dot; a block covers its
-- subdomains. With a port (`host:port`) it covers that port only.
CREATE TABLE domain_blocks (
    domain     TEXT PRIMARY KEY,
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- Single remote actors we refuse (by actor id).
CREATE TABLE actor_blocks (
    actor_id   TEXT PRIMARY KEY,
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- In allowlist mode (`federation.mode = "allowlist"`), the only domains we
-- federate with (and their subdomains); ignored in open mode.
CREATE TABLE domain_allows (
    domain     TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
