-- How many articles have each status, kept by triggers whatever code writes
-- articles: the dashboard and the unfiltered article list read a count
-- here instead of counting every article on each request.
CREATE TABLE article_status_counts (
    status   TEXT PRIMARY KEY,
    articles BIGINT NOT NULL
);

CREATE FUNCTION gazette_article_status_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE article_status_counts SET articles = articles - 1 WHERE status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO article_status_counts (status, articles) VALUES (NEW.status, 1)
            ON CONFLICT (status) DO UPDATE SET articles = article_status_counts.articles + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER articles_counts AFTER INSERT OR DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION gazette_article_status_counts();
CREATE TRIGGER articles_counts_update AFTER UPDATE OF status ON articles
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION gazette_article_status_counts();

INSERT INTO article_status_counts (status, articles)
SELECT status, COUNT(*) FROM articles GROUP BY status;

-- The article list walks this index in date order and skips whole pages
-- (OFFSET): with the status and both dates in the index (an index-only
-- scan) it never reads an article row it skips.
DROP INDEX articles_by_date;
CREATE INDEX articles_by_date ON articles ((COALESCE(published_at, created_at)) DESC, id DESC)
    INCLUDE (status, published_at, created_at);
