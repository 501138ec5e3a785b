-- The shared feed announces its writes, version 32 (PostgreSQL). Keep in
-- step with migrations/sqlite/0032_feed_change_signal.sql.
--
-- Every `gazette serve` keeps public answers in memory and empties them on
-- each change the store reports (crates/server/src/wakeups.rs). Member
-- articles are written by the inbox, the outbox backfill and moderation,
-- several of them outside any request, and the shared feed and a
-- coordinator's home page show them: their table notifies too, once per
-- statement that changed a row, and so does the members' table (names and
-- logos head their articles). A transition table may serve one event only,
-- hence one trigger per event.
CREATE TRIGGER network_items_insert_notify AFTER INSERT ON network_items REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_items_update_notify AFTER UPDATE ON network_items REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_items_delete_notify AFTER DELETE ON network_items REFERENCING OLD TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_members_insert_notify AFTER INSERT ON network_members REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_members_update_notify AFTER UPDATE ON network_members REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_members_delete_notify AFTER DELETE ON network_members REFERENCING OLD TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
