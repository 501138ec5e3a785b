-- Shared-feed search at scale, version 15 (SQLite). Keep in step with
-- migrations/postgres/0015_shared_feed_search_key.sql.
--
-- Each item carries the rowid of its row in network_items_fts (the store
-- computes it from the item id), and the feed's order indexes carry it too.
-- A search then reads the matching rowids from the full-text index alone
-- and checks them while walking the date (or kind, or member) order: no
-- full-text row is read per item, which for a word found in most articles
-- took seconds (docs/benchmarks.md).

ALTER TABLE network_items ADD COLUMN fts_rowid INTEGER;

CREATE TEMP TABLE fts_keys AS SELECT rowid AS fts_rowid, item_id FROM network_items_fts;
CREATE INDEX fts_keys_by_item ON fts_keys (item_id);
UPDATE network_items SET fts_rowid = (SELECT k.fts_rowid FROM fts_keys k WHERE k.item_id = network_items.id);
DROP TABLE fts_keys;

DROP INDEX network_items_feed_by_date;
DROP INDEX network_items_feed_by_kind;
DROP INDEX network_items_feed_by_member;
CREATE INDEX network_items_feed_by_date ON network_items (published_at DESC, id DESC, member, kind, hidden, deleted_at, fts_rowid);
CREATE INDEX network_items_feed_by_kind ON network_items (kind, published_at DESC, id DESC, member, hidden, deleted_at, fts_rowid);
CREATE INDEX network_items_feed_by_member ON network_items (member, published_at DESC, id DESC, kind, hidden, deleted_at, fts_rowid);
