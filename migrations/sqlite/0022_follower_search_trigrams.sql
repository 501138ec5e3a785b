-- A substring index for the admin's follower search, version 22 (SQLite).
-- Keep in step with migrations/postgres/0022_follower_search_trigrams.sql.

-- The search looks for the typed text anywhere in a follower's name or
-- handle (the folded `search_key` of migration 18). `LIKE '%…%'` can use no
-- ordinary index, so a search matching few followers read every follow of
-- the local actor. An FTS5 index with the trigram tokenizer finds the
-- actors whose key holds every three-character piece of the text, in
-- order; the store then checks `LIKE` on those alone (texts shorter than
-- three characters have no trigram and keep the scan).

-- One row per remote actor with a key. `id` is an INTEGER PRIMARY KEY so
-- the full-text index can point at it and the number survives VACUUM
-- (remote_actors' own rowid may change). Kept by the triggers below,
-- whatever code writes remote actors.
CREATE TABLE actor_search (
    id         INTEGER PRIMARY KEY,
    actor_id   TEXT NOT NULL UNIQUE,
    search_key TEXT NOT NULL
);

CREATE VIRTUAL TABLE actor_search_fts USING fts5 (
    search_key,
    content = 'actor_search',
    content_rowid = 'id',
    tokenize = 'trigram'
);

CREATE TRIGGER actor_search_ai AFTER INSERT ON actor_search BEGIN
    INSERT INTO actor_search_fts (rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER actor_search_ad AFTER DELETE ON actor_search BEGIN
    INSERT INTO actor_search_fts (actor_search_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER actor_search_au AFTER UPDATE OF search_key ON actor_search BEGIN
    INSERT INTO actor_search_fts (actor_search_fts, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    INSERT INTO actor_search_fts (rowid, search_key) VALUES (new.id, new.search_key);
END;

CREATE TRIGGER remote_actors_search_ai AFTER INSERT ON remote_actors WHEN new.search_key IS NOT NULL BEGIN
    INSERT INTO actor_search (actor_id, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER remote_actors_search_au AFTER UPDATE OF search_key ON remote_actors
    WHEN old.search_key IS NOT new.search_key
BEGIN
    DELETE FROM actor_search WHERE actor_id = new.id AND new.search_key IS NULL;
    INSERT INTO actor_search (actor_id, search_key) SELECT new.id, new.search_key WHERE new.search_key IS NOT NULL
        ON CONFLICT (actor_id) DO UPDATE SET search_key = excluded.search_key;
END;
CREATE TRIGGER remote_actors_search_ad AFTER DELETE ON remote_actors BEGIN
    DELETE FROM actor_search WHERE actor_id = old.id;
END;

INSERT INTO actor_search (actor_id, search_key)
SELECT id, search_key FROM remote_actors WHERE search_key IS NOT NULL;
