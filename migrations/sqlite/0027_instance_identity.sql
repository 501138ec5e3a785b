-- One public URL per instance, version 27 (SQLite). Keep in step with
-- migrations/postgres/0027_instance_identity.sql.

-- The origin every link and ActivityPub id of this instance starts with,
-- recorded by the first process that knows it, so every later process
-- (the server, each CLI command, a second server) names actors alike.
-- source: 'configured' (from the config, a flag, `gazette init` or
-- `gazette instance set-public-url`) or 'bound' (no URL was configured:
-- the address `gazette serve` listened on, which follows a later start).
-- At most one row (id = 1).
CREATE TABLE instance_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    public_url  TEXT NOT NULL,
    source      TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

-- SQLite needs no more: a server notices writes from other processes
-- through `PRAGMA data_version` (see crates/store/src/changes.rs).
