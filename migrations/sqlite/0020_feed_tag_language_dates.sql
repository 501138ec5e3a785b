-- A filter by tag or language walks that tag's (or language's) items
-- newest first and checks the other filters on each, instead of walking
-- the whole feed by date and looking the tag up for every item: a rare
-- combination (one language, one kind, one tag) read thousands of items
-- before it found a page. The item's date is copied into its tag and
-- language rows (it never changes after the first write) for that order.
ALTER TABLE network_item_tags ADD COLUMN published_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE network_item_languages ADD COLUMN published_at INTEGER NOT NULL DEFAULT 0;
UPDATE network_item_tags SET published_at = (SELECT i.published_at FROM network_items i WHERE i.id = network_item_tags.item);
UPDATE network_item_languages SET published_at = (SELECT i.published_at FROM network_items i WHERE i.id = network_item_languages.item);
DROP INDEX network_item_tags_by_tag;
DROP INDEX network_item_languages_by_language;
CREATE INDEX network_item_tags_by_tag ON network_item_tags (tag, published_at DESC, item DESC);
CREATE INDEX network_item_languages_by_language ON network_item_languages (language, published_at DESC, item DESC);
