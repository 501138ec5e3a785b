-- Admin article search and runtime instance settings, version 12
-- (PostgreSQL). Keep in step with migrations/sqlite/0012_admin_search_settings.sql.

-- One row per article: its slug and every translation's title, the text the
-- admin's article search looks in, as a tsvector with the 'simple'
-- configuration (no stemming, so no language is favoured; lower case over
-- all of Unicode), with the article's status and date so a search counts
-- and orders its matches here without reading the articles. Kept by the
-- triggers below, whatever code writes articles.
CREATE TABLE article_search (
    article_id TEXT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    slug       TEXT NOT NULL,
    titles     TEXT NOT NULL,
    status     TEXT NOT NULL,
    author_id  TEXT NOT NULL,
    -- COALESCE(published_at, created_at): the admin list's order.
    sort_at    BIGINT NOT NULL,
    search     tsvector GENERATED ALWAYS AS (to_tsvector('simple', slug || ' ' || titles)) STORED
);
CREATE INDEX article_search_search ON article_search USING GIN (search);

CREATE FUNCTION gazette_article_search_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO article_search (article_id, slug, titles, status, author_id, sort_at)
            VALUES (NEW.id, NEW.slug, '', NEW.status, NEW.author_id, COALESCE(NEW.published_at, NEW.created_at));
    ELSE
        UPDATE article_search SET slug = NEW.slug, status = NEW.status, author_id = NEW.author_id,
            sort_at = COALESCE(NEW.published_at, NEW.created_at)
        WHERE article_id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER articles_search AFTER INSERT OR UPDATE OF slug, status, author_id, published_at, created_at ON articles
    FOR EACH ROW EXECUTE FUNCTION gazette_article_search_row();

CREATE FUNCTION gazette_article_search_titles() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    article TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        article := OLD.article_id;
    ELSE
        article := NEW.article_id;
    END IF;
    UPDATE article_search SET titles = COALESCE(
        (SELECT string_agg(title, ' ' ORDER BY position) FROM article_translations WHERE article_id = article), '')
    WHERE article_id = article;
    RETURN NULL;
END;
$$;
CREATE TRIGGER article_translations_search AFTER INSERT OR DELETE OR UPDATE OF title ON article_translations
    FOR EACH ROW EXECUTE FUNCTION gazette_article_search_titles();

INSERT INTO article_search (article_id, slug, titles, status, author_id, sort_at)
SELECT a.id, a.slug, COALESCE(
    (SELECT string_agg(t.title, ' ' ORDER BY t.position) FROM article_translations t WHERE t.article_id = a.id), ''),
    a.status, a.author_id, COALESCE(a.published_at, a.created_at)
FROM articles a;

-- Instance settings an administrator changes at run time (admin settings
-- page, API). A row overrides the config file's value of the same name;
-- no row: the config file's value applies.
CREATE TABLE instance_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT REFERENCES users (id) ON DELETE SET NULL
);

-- Followers per server, for the admin's followers page (counts per server
-- without grouping every follower on each request): how many followers of
-- each local actor, by status, come from each host. Kept by the triggers
-- below, whatever code writes followers.
CREATE TABLE follower_hosts (
    local_actor TEXT NOT NULL,
    status      TEXT NOT NULL,
    host        TEXT NOT NULL,
    followers   BIGINT NOT NULL,
    PRIMARY KEY (local_actor, status, host)
);

CREATE FUNCTION gazette_follower_hosts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE follower_hosts SET followers = followers - 1
            WHERE local_actor = OLD.local_actor AND status = OLD.status
              AND host = (SELECT r.host FROM remote_actors r WHERE r.id = OLD.follower);
        DELETE FROM follower_hosts WHERE local_actor = OLD.local_actor AND status = OLD.status AND followers <= 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO follower_hosts (local_actor, status, host, followers)
            SELECT NEW.local_actor, NEW.status, r.host, 1 FROM remote_actors r WHERE r.id = NEW.follower
            ON CONFLICT (local_actor, status, host) DO UPDATE SET followers = follower_hosts.followers + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER followers_hosts AFTER INSERT OR DELETE ON followers
    FOR EACH ROW EXECUTE FUNCTION gazette_follower_hosts();
CREATE TRIGGER followers_hosts_update AFTER UPDATE OF status, follower, local_actor ON followers
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.follower IS DISTINCT FROM NEW.follower
                       OR OLD.local_actor IS DISTINCT FROM NEW.local_actor)
    EXECUTE FUNCTION gazette_follower_hosts();

-- A deleted remote actor's follows go first, while its host is still known
-- (the cascade would remove them after the actor row).
CREATE FUNCTION gazette_remote_actor_followers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM followers WHERE follower = OLD.id;
    RETURN OLD;
END;
$$;
CREATE TRIGGER remote_actors_followers BEFORE DELETE ON remote_actors
    FOR EACH ROW EXECUTE FUNCTION gazette_remote_actor_followers();

INSERT INTO follower_hosts (local_actor, status, host, followers)
SELECT f.local_actor, f.status, r.host, COUNT(*) FROM followers f JOIN remote_actors r ON r.id = f.follower
GROUP BY f.local_actor, f.status, r.host;
