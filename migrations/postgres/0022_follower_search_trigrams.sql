-- A substring index for the admin's follower search, version 22
-- (PostgreSQL). Keep in step with migrations/sqlite/0022_follower_search_trigrams.sql.

-- The search looks for the typed text anywhere in a follower's name or
-- handle (the folded `search_key` of migration 18). `LIKE '%…%'` can use no
-- B-tree index, so a search matching few followers read every follow of
-- the local actor. A trigram index (pg_trgm, a trusted extension shipped
-- with PostgreSQL: a database owner may create it) answers `LIKE '%…%'`
-- on the actors' keys; the planner picks it when few actors match, and
-- the walk of the follows by date when many do. Texts shorter than three
-- characters have no trigram and keep the walk.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX remote_actors_search_key_trgm ON remote_actors USING GIN (search_key gin_trgm_ops);
