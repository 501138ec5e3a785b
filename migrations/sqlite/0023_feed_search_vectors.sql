-- Nothing changes on SQLite: its full-text index of the shared feed is the
-- FTS5 table `network_items_fts`, written by the store (migration 9).
SELECT 1;
