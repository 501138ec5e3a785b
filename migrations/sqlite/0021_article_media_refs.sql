-- Which article uses which stored image, version 21 (SQLite). Keep in step
-- with migrations/postgres/0021_article_media_refs.sql.

-- One row per article, image and kind of use: its cover (`cover`), its
-- interviewee's photo (`interviewee`) or an image its text shows in any
-- translation (`inline`: `/media/{id}` in the Markdown). The media library
-- asks "where is this image used" of this table by its key, instead of
-- searching every article's text. The store writes an article's rows in
-- the transaction that writes the article (crates/store/src/articles.rs);
-- `media_id` has no foreign key, since a text may name an image that is
-- not (or no longer) stored.
CREATE TABLE article_media_refs (
    media_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (media_id, kind, article_id)
);
CREATE INDEX article_media_refs_by_article ON article_media_refs (article_id);

-- The articles stored before this migration.
INSERT INTO article_media_refs (media_id, kind, article_id)
SELECT cover_media, 'cover', id FROM articles WHERE cover_media IS NOT NULL;

INSERT INTO article_media_refs (media_id, kind, article_id)
SELECT json_extract(interviewee, '$.photo'), 'interviewee', id FROM articles
WHERE interviewee IS NOT NULL AND json_extract(interviewee, '$.photo') IS NOT NULL;

-- The rule of gazette_core::media::referenced_media_ids: every run of ASCII
-- letters and digits right after `/media/`, the search going on from the
-- path's closing slash. `rest` is the text still to search; each step
-- finds the next `/media/` in it and takes the run after it (`ltrim`
-- removes the run: what it removed is the id).
WITH RECURSIVE found (article_id, rest, media_id) AS (
    SELECT article_id, body_markdown, '' FROM article_translations
    UNION ALL
    SELECT article_id,
           substr(rest, instr(rest, '/media/') + 6),
           substr(rest, instr(rest, '/media/') + 7,
                  length(substr(rest, instr(rest, '/media/') + 7))
                  - length(ltrim(substr(rest, instr(rest, '/media/') + 7),
                                 '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')))
    FROM found WHERE instr(rest, '/media/') > 0
)
INSERT INTO article_media_refs (media_id, kind, article_id)
SELECT DISTINCT media_id, 'inline', article_id FROM found WHERE media_id <> '';
