-- Editors' time zones and the follower search, version 18 (PostgreSQL).
-- Keep in step with migrations/sqlite/0018_time_zones_follower_search.sql.

-- A user's own time zone in the admin (an IANA name such as Europe/Paris),
-- beside their interface language; none: the instance's `instance.time_zone`.
ALTER TABLE users ADD COLUMN time_zone TEXT;

-- What the admin's follower search looks in: the remote actor's name and
-- handle, in lower case with accents folded. The store writes it with the
-- actor (the same folding on both databases); NULL for actors stored before
-- this migration, which the store fills in when it starts.
ALTER TABLE remote_actors ADD COLUMN search_key TEXT;

-- The same key on each follow, so a search of one local actor's followers
-- walks its date index alone and stops at the first page of matches. Kept
-- by the triggers below, whatever code writes follows or actors.
ALTER TABLE followers ADD COLUMN search_key TEXT NOT NULL DEFAULT '';

CREATE FUNCTION gazette_follower_search_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_key := COALESCE((SELECT r.search_key FROM remote_actors r WHERE r.id = NEW.follower), '');
    RETURN NEW;
END;
$$;
CREATE TRIGGER followers_search_key BEFORE INSERT ON followers
    FOR EACH ROW EXECUTE FUNCTION gazette_follower_search_key();

CREATE FUNCTION gazette_actor_search_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE followers SET search_key = COALESCE(NEW.search_key, '') WHERE follower = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER remote_actors_search_key AFTER UPDATE OF search_key ON remote_actors
    FOR EACH ROW WHEN (OLD.search_key IS DISTINCT FROM NEW.search_key)
    EXECUTE FUNCTION gazette_actor_search_key();

-- The followers page's index, now carrying the key (see above).
DROP INDEX followers_by_actor_status_date;
CREATE INDEX followers_by_actor_status_date ON followers (local_actor, status, created_at DESC, follower, search_key);
