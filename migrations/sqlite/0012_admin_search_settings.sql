-- Admin article search, followers per server and runtime instance
-- settings, version 12 (SQLite).
-- Keep in step with migrations/postgres/0012_admin_search_settings.sql.

-- One row per article: its slug and every translation's title, the text the
-- admin's article search looks in, with the article's status and date so a
-- search counts and orders its matches here without reading the articles.
-- `id` is an INTEGER PRIMARY KEY so the full-text index below can point at
-- it and the number survives VACUUM. Kept by the triggers below, whatever
-- code writes articles.
CREATE TABLE article_search (
    id         INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE,
    slug       TEXT NOT NULL,
    titles     TEXT NOT NULL,
    status     TEXT NOT NULL,
    author_id  TEXT NOT NULL,
    -- COALESCE(published_at, created_at): the admin list's order.
    sort_at    INTEGER NOT NULL
);

-- The full-text index over article_search (external content): words folded
-- to lower case over all of Unicode, diacritics kept apart from their letter
-- only as the unicode61 tokenizer does (remove_diacritics 2, as the network
-- feed's index).
CREATE VIRTUAL TABLE article_search_fts USING fts5 (
    slug,
    titles,
    content = 'article_search',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER article_search_ai AFTER INSERT ON article_search BEGIN
    INSERT INTO article_search_fts (rowid, slug, titles) VALUES (new.id, new.slug, new.titles);
END;
CREATE TRIGGER article_search_ad AFTER DELETE ON article_search BEGIN
    INSERT INTO article_search_fts (article_search_fts, rowid, slug, titles)
        VALUES ('delete', old.id, old.slug, old.titles);
END;
CREATE TRIGGER article_search_au AFTER UPDATE OF slug, titles ON article_search BEGIN
    INSERT INTO article_search_fts (article_search_fts, rowid, slug, titles)
        VALUES ('delete', old.id, old.slug, old.titles);
    INSERT INTO article_search_fts (rowid, slug, titles) VALUES (new.id, new.slug, new.titles);
END;

-- Articles and their translations keep article_search up to date.
CREATE TRIGGER articles_search_ai AFTER INSERT ON articles BEGIN
    INSERT INTO article_search (article_id, slug, titles, status, author_id, sort_at)
        VALUES (new.id, new.slug, '', new.status, new.author_id, COALESCE(new.published_at, new.created_at));
END;
CREATE TRIGGER articles_search_au AFTER UPDATE OF slug, status, author_id, published_at, created_at ON articles BEGIN
    UPDATE article_search SET slug = new.slug, status = new.status, author_id = new.author_id,
        sort_at = COALESCE(new.published_at, new.created_at)
    WHERE article_id = new.id;
END;
CREATE TRIGGER article_translations_search_ai AFTER INSERT ON article_translations BEGIN
    UPDATE article_search SET titles = COALESCE(
        (SELECT group_concat(title, ' ') FROM article_translations WHERE article_id = new.article_id), '')
    WHERE article_id = new.article_id;
END;
CREATE TRIGGER article_translations_search_au AFTER UPDATE OF title ON article_translations BEGIN
    UPDATE article_search SET titles = COALESCE(
        (SELECT group_concat(title, ' ') FROM article_translations WHERE article_id = new.article_id), '')
    WHERE article_id = new.article_id;
END;
CREATE TRIGGER article_translations_search_ad AFTER DELETE ON article_translations BEGIN
    UPDATE article_search SET titles = COALESCE(
        (SELECT group_concat(title, ' ') FROM article_translations WHERE article_id = old.article_id), '')
    WHERE article_id = old.article_id;
END;

INSERT INTO article_search (article_id, slug, titles, status, author_id, sort_at)
SELECT a.id, a.slug, COALESCE(
    (SELECT group_concat(t.title, ' ') FROM article_translations t WHERE t.article_id = a.id), ''),
    a.status, a.author_id, COALESCE(a.published_at, a.created_at)
FROM articles a;

-- Instance settings an administrator changes at run time (admin settings
-- page, API). A row overrides the config file's value of the same name;
-- no row: the config file's value applies.
CREATE TABLE instance_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
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
    followers   INTEGER NOT NULL,
    PRIMARY KEY (local_actor, status, host)
);

CREATE TRIGGER followers_hosts_ai AFTER INSERT ON followers BEGIN
    INSERT INTO follower_hosts (local_actor, status, host, followers)
        SELECT new.local_actor, new.status, r.host, 1 FROM remote_actors r WHERE r.id = new.follower
        ON CONFLICT (local_actor, status, host) DO UPDATE SET followers = followers + 1;
END;
CREATE TRIGGER followers_hosts_ad AFTER DELETE ON followers BEGIN
    UPDATE follower_hosts SET followers = followers - 1
        WHERE local_actor = old.local_actor AND status = old.status
          AND host = (SELECT r.host FROM remote_actors r WHERE r.id = old.follower);
    DELETE FROM follower_hosts WHERE local_actor = old.local_actor AND status = old.status AND followers <= 0;
END;
CREATE TRIGGER followers_hosts_au AFTER UPDATE OF status, follower, local_actor ON followers
WHEN old.status <> new.status OR old.follower <> new.follower OR old.local_actor <> new.local_actor BEGIN
    UPDATE follower_hosts SET followers = followers - 1
        WHERE local_actor = old.local_actor AND status = old.status
          AND host = (SELECT r.host FROM remote_actors r WHERE r.id = old.follower);
    DELETE FROM follower_hosts WHERE local_actor = old.local_actor AND status = old.status AND followers <= 0;
    INSERT INTO follower_hosts (local_actor, status, host, followers)
        SELECT new.local_actor, new.status, r.host, 1 FROM remote_actors r WHERE r.id = new.follower
        ON CONFLICT (local_actor, status, host) DO UPDATE SET followers = followers + 1;
END;
-- A deleted remote actor's follows go first, while its host is still known
-- (the cascade would remove them after the actor row).
CREATE TRIGGER remote_actors_followers_bd BEFORE DELETE ON remote_actors BEGIN
    DELETE FROM followers WHERE follower = old.id;
END;

INSERT INTO follower_hosts (local_actor, status, host, followers)
SELECT f.local_actor, f.status, r.host, COUNT(*) FROM followers f JOIN remote_actors r ON r.id = f.follower
GROUP BY f.local_actor, f.status, r.host;
