-- The shared feed's writes, version 24 (PostgreSQL). Keep in step with
-- migrations/sqlite/0024_feed_text_index.sql, which changes SQLite's
-- full-text index.
--
-- An item's long texts are compressed with lz4 rather than pglz when
-- PostgreSQL moves them out of line: pglz was about a tenth of the database
-- CPU spent per article received (docs/benchmarks.md). Rows already stored
-- keep their compression until rewritten; both are read alike.
--
-- The tags and languages of an item no longer carry a foreign key to it.
-- The store writes them only in the statement or transaction that writes
-- the item (one statement for a new article, `Store::insert_new_item`),
-- and never deletes an item (a deletion leaves a tombstone), so the
-- reference holds by construction; checking it cost a locked read of the
-- item for every tag, about a fifth of a millisecond of database CPU per
-- article at 100,000 items. SQLite, whose checks cost little, keeps them.
--
-- `fts_rowid` (SQLite's key into its full-text index) has no use here and
-- is no longer written.
ALTER TABLE network_items
    ALTER COLUMN content_html SET COMPRESSION lz4,
    ALTER COLUMN search_text SET COMPRESSION lz4,
    ALTER COLUMN summary_html SET COMPRESSION lz4,
    ALTER COLUMN search SET COMPRESSION lz4;
ALTER TABLE network_item_tags DROP CONSTRAINT IF EXISTS network_item_tags_item_fkey;
ALTER TABLE network_item_languages DROP CONSTRAINT IF EXISTS network_item_languages_item_fkey;
