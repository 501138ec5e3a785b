-- The shared feed announces its writes, version 32 (SQLite). Keep in step
-- with migrations/postgres/0032_feed_change_signal.sql.
--
-- Nothing to create on SQLite: a server notices every commit of another
-- connection, its own writing connection included, through
-- `PRAGMA data_version` (crates/store/src/changes.rs). The statement below
-- only gives the migration a body.
SELECT 1;
