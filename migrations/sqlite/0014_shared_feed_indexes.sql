-- Shared-feed indexes at scale (100,000 articles), version 14 (SQLite).
-- Keep in step with migrations/postgres/0014_shared_feed_indexes.sql. Only
-- indexes. Each feed order (newest first overall, of one kind, of one
-- member) carries the columns the feed filters on, so the page's ids are
-- found from the index alone, without reading the rows (and their long
-- texts) of items that do not match; see docs/benchmarks.md.

DROP INDEX network_items_by_date;
DROP INDEX network_items_by_kind;
DROP INDEX network_items_by_member;
CREATE INDEX network_items_feed_by_date ON network_items (published_at DESC, id DESC, member, kind, hidden, deleted_at);
CREATE INDEX network_items_feed_by_kind ON network_items (kind, published_at DESC, id DESC, member, hidden, deleted_at);
CREATE INDEX network_items_feed_by_member ON network_items (member, published_at DESC, id DESC, kind, hidden, deleted_at);
