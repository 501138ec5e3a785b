-- The shared feed's search vector is written by the store from the item's
-- words (the same function splits a reader's query), no longer generated
-- by PostgreSQL's text parser, which cost about a millisecond of database
-- CPU for each article received. Items stored before get theirs from the
-- store at the next start (`Store::fill_feed_search_vectors`), a batch at
-- a time; a deleted item keeps none.
ALTER TABLE network_items DROP COLUMN search;
ALTER TABLE network_items ADD COLUMN search tsvector;
CREATE INDEX network_items_search ON network_items USING GIN (search);
-- What is left to fill, found without reading the feed (empty once done).
CREATE INDEX network_items_unsearched ON network_items (id) WHERE search IS NULL AND deleted_at IS NULL;
