-- Members never stuck, version 29 (SQLite). Keep in step with
-- migrations/postgres/0029_member_retries.sql.

-- A failed backfill is retried by itself with a growing wait: how many
-- runs failed in a row, and when the next one is due (NULL: not
-- scheduled). Kept in the database so a restarted server carries on.
ALTER TABLE network_members ADD COLUMN backfill_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE network_members ADD COLUMN backfill_retry_at INTEGER;
