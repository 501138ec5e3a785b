-- How many articles have each status, kept by triggers whatever code writes
-- articles: the dashboard and the unfiltered article list read a count
-- here instead of counting every article on each request.
CREATE TABLE article_status_counts (
    status   TEXT PRIMARY KEY,
    articles INTEGER NOT NULL
);

CREATE TRIGGER articles_counts_ai AFTER INSERT ON articles BEGIN
    INSERT INTO article_status_counts (status, articles) VALUES (new.status, 1)
        ON CONFLICT (status) DO UPDATE SET articles = articles + 1;
END;
CREATE TRIGGER articles_counts_ad AFTER DELETE ON articles BEGIN
    UPDATE article_status_counts SET articles = articles - 1 WHERE status = old.status;
END;
CREATE TRIGGER articles_counts_au AFTER UPDATE OF status ON articles WHEN old.status <> new.status BEGIN
    UPDATE article_status_counts SET articles = articles - 1 WHERE status = old.status;
    INSERT INTO article_status_counts (status, articles) VALUES (new.status, 1)
        ON CONFLICT (status) DO UPDATE SET articles = articles + 1;
END;

INSERT INTO article_status_counts (status, articles)
SELECT status, COUNT(*) FROM articles GROUP BY status;

-- The article list walks this index in date order and skips whole pages
-- (OFFSET): with the status and both dates in the index it never reads an
-- article row it skips.
DROP INDEX articles_by_date;
CREATE INDEX articles_by_date ON articles (COALESCE(published_at, created_at) DESC, id DESC, status, published_at, created_at);
