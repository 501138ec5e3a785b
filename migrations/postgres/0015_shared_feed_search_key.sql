-- Shared-feed search key, version 15 (PostgreSQL). Keep in step with
-- migrations/sqlite/0015_shared_feed_search_key.sql.
--
-- The column SQLite's full-text search joins on (the rowid of the item's
-- full-text row). PostgreSQL searches the item's own tsvector and does not
-- read it; it exists so both backends store items with the same statement.

ALTER TABLE network_items ADD COLUMN fts_rowid BIGINT;
