-- Quote posts (FEP-044f), version 37 (SQLite). Keep in step with
-- migrations/postgres/0037_quotes.sql.
--
-- Another server asks, with a `QuoteRequest`, whether one of its posts may
-- quote one of our articles. Each answer is kept: `accepted` (the stamp
-- `/quotes/{id}` is served and the quote shown on the article page),
-- `rejected` (kept so the admin sees who asked), `revoked` (an editor took
-- the permission back: the stamp answers 410 and the quote is hidden). A
-- deleted quoting post drops its row.
CREATE TABLE quotes (
    id          TEXT PRIMARY KEY,
    article_id  TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    quote_post  TEXT NOT NULL,
    quote_url   TEXT,
    actor       TEXT NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    request_id  TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (article_id, quote_post)
);
CREATE INDEX quotes_by_article ON quotes (article_id, state, created_at);
CREATE INDEX quotes_by_post ON quotes (quote_post);
CREATE INDEX quotes_by_actor ON quotes (actor);

-- Who may quote one article, when it differs from the instance's
-- `federation.quote_policy`: `everyone`, `followers` or `nobody`.
CREATE TABLE article_quote_policies (
    article_id TEXT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    policy     TEXT NOT NULL
);

CREATE TRIGGER quotes_content_ai AFTER INSERT ON quotes BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER quotes_content_au AFTER UPDATE ON quotes BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER quotes_content_ad AFTER DELETE ON quotes BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_quote_policies_content_ai AFTER INSERT ON article_quote_policies BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_quote_policies_content_au AFTER UPDATE ON article_quote_policies BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER article_quote_policies_content_ad AFTER DELETE ON article_quote_policies BEGIN UPDATE content_version SET n = n + 1; END;
