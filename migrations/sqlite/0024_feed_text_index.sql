-- The shared feed's full-text index, version 24 (SQLite). Keep in step with
-- migrations/postgres/0024_feed_text_index.sql.
--
-- Until now the FTS5 table kept its own copy of every item's title and text
-- (about 4.5 KiB an item, beside the copy in network_items), under a rowid
-- hashed from the item id, so each new item landed on a random page of the
-- copy and of the index's own tables. Measured on a 100,000-item feed, that
-- was about 32 KiB written to the WAL per item for the index alone.
--
-- Now the index reads its texts from network_items (an external-content
-- FTS5 table over the view below), and `fts_rowid` is a sequence: the store
-- gives each new item the next number (one more than the largest), so new
-- items are appended. Triggers keep the index in step with every write of
-- a row, including deletions by cascade; a deleted item (a tombstone) is in
-- neither the view nor the index.

DROP TABLE network_items_fts;

UPDATE network_items SET fts_rowid = CASE WHEN deleted_at IS NULL THEN rowid END;
CREATE UNIQUE INDEX network_items_by_fts_rowid ON network_items (fts_rowid);

CREATE VIEW network_item_texts AS
    SELECT fts_rowid, id AS item_id, title, search_text AS body
    FROM network_items WHERE deleted_at IS NULL;

CREATE VIRTUAL TABLE network_items_fts USING fts5 (
    item_id UNINDEXED,
    title,
    body,
    content = 'network_item_texts',
    content_rowid = 'fts_rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO network_items_fts (network_items_fts) VALUES ('rebuild');
-- Merge the index's segments 16 at a time rather than 4: each item's
-- entries are rewritten about half as often (measured on a copy of a
-- 100,000-item feed: 84 KiB written per item received instead of 115),
-- and a search reads a few more segments (a search stays within 40 ms).
INSERT INTO network_items_fts (network_items_fts, rank) VALUES ('automerge', 16);

-- FTS5 must be told the old text of a row to remove it from the index.
CREATE TRIGGER network_items_fts_ai AFTER INSERT ON network_items
WHEN NEW.deleted_at IS NULL AND NEW.fts_rowid IS NOT NULL BEGIN
    INSERT INTO network_items_fts (rowid, item_id, title, body)
    VALUES (NEW.fts_rowid, NEW.id, NEW.title, NEW.search_text);
END;

CREATE TRIGGER network_items_fts_ad AFTER DELETE ON network_items
WHEN OLD.deleted_at IS NULL AND OLD.fts_rowid IS NOT NULL BEGIN
    INSERT INTO network_items_fts (network_items_fts, rowid, item_id, title, body)
    VALUES ('delete', OLD.fts_rowid, OLD.id, OLD.title, OLD.search_text);
END;

CREATE TRIGGER network_items_fts_au AFTER UPDATE OF title, search_text, deleted_at, fts_rowid ON network_items BEGIN
    INSERT INTO network_items_fts (network_items_fts, rowid, item_id, title, body)
    SELECT 'delete', OLD.fts_rowid, OLD.id, OLD.title, OLD.search_text
    WHERE OLD.deleted_at IS NULL AND OLD.fts_rowid IS NOT NULL;
    INSERT INTO network_items_fts (rowid, item_id, title, body)
    SELECT NEW.fts_rowid, NEW.id, NEW.title, NEW.search_text
    WHERE NEW.deleted_at IS NULL AND NEW.fts_rowid IS NOT NULL;
END;
