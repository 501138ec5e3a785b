-- Follower synchronisation (FEP-8fcf), version 38 (SQLite). Keep in step with
-- migrations/postgres/0038_follower_sync.sql.

-- The digest of the signing actor's followers on the delivery's host, for
-- the `Collection-Synchronization` header; NULL when the activity is not
-- addressed to the actor's followers (or the host has none of them).
ALTER TABLE deliveries ADD COLUMN followers_digest TEXT;

-- When each remote actor's followers collection was last compared with our
-- follows of it after a mismatching digest: a mismatch is acted on at most
-- once per interval per actor, however many deliveries carry it.
CREATE TABLE follower_syncs (
    remote_actor TEXT PRIMARY KEY,
    checked_at   INTEGER NOT NULL
);
