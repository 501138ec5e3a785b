-- Network coordinator, version 13 (postgres). Keep in step with
-- migrations/sqlite/0013_network_rate_limits.sql.

-- Activities from a member refused with 429 because it sent more than its
-- rate allows (its delivery queue retries them), for the member health view.
ALTER TABLE network_members ADD COLUMN rate_limited BIGINT NOT NULL DEFAULT 0;

-- 1 when the member's outbox is to be read again from its first page once
-- the backfill in progress (if any) ends: the member accepted the network's
-- follow, or was approved again (articles published in between).
ALTER TABLE network_members ADD COLUMN backfill_rerun BIGINT NOT NULL DEFAULT 0;
