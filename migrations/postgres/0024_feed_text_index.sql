-- The shared feed's texts, version 24 (PostgreSQL). Keep in step with
-- migrations/sqlite/0024_feed_text_index.sql, which changes SQLite's
-- full-text index.
--
-- An item's long texts are compressed with lz4 rather than pglz when
-- PostgreSQL moves them out of line: pglz was about a tenth of the database
-- CPU spent per article received (docs/benchmarks.md). Rows already stored
-- keep their compression until rewritten; both are read alike. `fts_rowid`
-- (SQLite's key into its full-text index) has no use here and is no longer
-- written.
ALTER TABLE network_items
    ALTER COLUMN content_html SET COMPRESSION lz4,
    ALTER COLUMN search_text SET COMPRESSION lz4,
    ALTER COLUMN summary_html SET COMPRESSION lz4,
    ALTER COLUMN search SET COMPRESSION lz4;
