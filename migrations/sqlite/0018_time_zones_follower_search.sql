-- Editors' time zones and the follower search, version 18 (SQLite). Keep in
-- step with migrations/postgres/0018_time_zones_follower_search.sql.

-- A user's own time zone in the admin (an IANA name such as Europe/Paris),
-- beside their interface language; none: the instance's `instance.time_zone`.
ALTER TABLE users ADD COLUMN time_zone TEXT;

-- What the admin's follower search looks in: the remote actor's name and
-- handle, in lower case with accents folded. The store writes it with the
-- actor (SQL cannot fold accents); NULL for actors stored before this
-- migration, which the store fills in when it starts.
ALTER TABLE remote_actors ADD COLUMN search_key TEXT;

-- The same key on each follow, so a search of one local actor's followers
-- walks its date index alone (no row of remote_actors read per follower)
-- and stops at the first page of matches. Kept by the triggers below,
-- whatever code writes follows or actors.
ALTER TABLE followers ADD COLUMN search_key TEXT NOT NULL DEFAULT '';

CREATE TRIGGER followers_search_key_ai AFTER INSERT ON followers BEGIN
    UPDATE followers SET search_key = COALESCE((SELECT r.search_key FROM remote_actors r WHERE r.id = new.follower), '')
    WHERE local_actor = new.local_actor AND follower = new.follower;
END;
CREATE TRIGGER remote_actors_search_key_au AFTER UPDATE OF search_key ON remote_actors
    WHEN old.search_key IS NOT new.search_key
BEGIN
    UPDATE followers SET search_key = COALESCE(new.search_key, '') WHERE follower = new.id;
END;

-- The followers page's index, now carrying the key (see above).
DROP INDEX followers_by_actor_status_date;
CREATE INDEX followers_by_actor_status_date ON followers (local_actor, status, created_at DESC, follower, search_key);
