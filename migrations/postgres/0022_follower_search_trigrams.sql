-- A substring index for the admin's follower search, version 22
-- (PostgreSQL). Keep in step with migrations/sqlite/0022_follower_search_trigrams.sql.

-- The search looks for the typed text anywhere in a follower's name or
-- handle: `LIKE '%…%'` on the folded key each follow carries (migration
-- 18), which no B-tree index can answer, so a search matching few
-- followers read every follow of the local actor. A trigram index
-- (pg_trgm, a trusted extension shipped with PostgreSQL: a database owner
-- may create it) answers that `LIKE` on the same column, so the query is
-- unchanged and the planner, from its statistics of that one column,
-- starts from the index when few follows match and walks the follows by
-- date when many do. (An index on remote_actors.search_key would need a
-- second test of the same text, whose selectivity the planner multiplies
-- with the first: for a text matching 2% of 50,000 followers it expected
-- 16 rows and read every follow.) Texts shorter than three characters have
-- no trigram and keep the walk.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX followers_search_key_trgm ON followers USING GIN (search_key gin_trgm_ops);
