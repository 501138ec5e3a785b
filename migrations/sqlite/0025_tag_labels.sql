-- Tags keep the case they were written in, for display (`InteropTest` in a
-- timeline rather than `interoptest`). `tag` stays the lower-case key that
-- lookups, URLs and counts use; `label` is the tag as written, NULL for
-- tags stored before this version (shown as their key).
ALTER TABLE article_tags ADD COLUMN label TEXT;
