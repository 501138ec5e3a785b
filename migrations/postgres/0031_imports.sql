-- Imports from WordPress and feeds, version 31 (PostgreSQL). Keep in step with
-- migrations/sqlite/0031_imports.sql.

-- One row per imported post: where it came from (`source`: the site's or
-- feed's URL), its id there (`guid`), the article it became here, and the
-- path it had on the old site, answered with a 301 to the article, and a
-- digest of what was imported. Running an import again finds the row and
-- updates the article, or leaves it alone when the digest is the same.
CREATE TABLE import_items (
    source      TEXT NOT NULL,
    guid        TEXT NOT NULL,
    article_id  TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    old_path    TEXT,
    digest      TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (source, guid)
);
CREATE INDEX import_items_old_path ON import_items (old_path);

-- Images already downloaded by an import, by their URL on the old site,
-- so a second run (or a resumed one) does not fetch them again.
CREATE TABLE import_media (
    url      TEXT PRIMARY KEY,
    media_id TEXT NOT NULL REFERENCES media(id) ON DELETE CASCADE
);

-- An imported image that came without alt text: stored with an empty alt
-- and listed in the admin's media library until someone describes it.
ALTER TABLE media ADD COLUMN needs_alt INTEGER NOT NULL DEFAULT 0;
