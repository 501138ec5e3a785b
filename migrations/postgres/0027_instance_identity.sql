-- One public URL per instance, and wake-ups for work written by another
-- process, version 27 (PostgreSQL). Keep in step with
-- migrations/sqlite/0027_instance_identity.sql.

-- The origin every link and ActivityPub id of this instance starts with,
-- recorded by the first process that knows it, so every later process
-- (the server, each CLI command, a second server) names actors alike.
-- source: 'configured' (from the config, a flag, `gazette init` or
-- `gazette instance set-public-url`) or 'bound' (no URL was configured:
-- the address `gazette serve` listened on, which follows a later start).
-- At most one row (id = 1).
CREATE TABLE instance_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    public_url  TEXT NOT NULL,
    source      TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

-- A notification on channel `gazette_changes` when a transaction queues
-- deliveries, records an article change or writes an article's status or
-- time (a scheduled article), so every `gazette serve` listening
-- (crates/store/src/changes.rs) starts the work at once, whichever process
-- wrote it. A statement that changes no row must not notify: a statement
-- trigger fires anyway (an INSERT … ON CONFLICT DO NOTHING, the
-- scheduler's UPDATE that finds nothing due), and a server would wake
-- itself in a loop. Inserts are checked through their transition table,
-- once per statement; articles, written rarely, notify per row.
-- PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION gazette_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gazette_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
CREATE FUNCTION gazette_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('gazette_changes', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER article_events_notify AFTER INSERT ON article_events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER articles_notify AFTER INSERT OR UPDATE OF status, published_at ON articles
    FOR EACH ROW EXECUTE FUNCTION gazette_notify_change();
