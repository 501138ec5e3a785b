-- Key rotation, version 35 (PostgreSQL). Keep in step with
-- migrations/sqlite/0035_key_rotation.sql.
--
-- An actor's current key gets a generation (1 for the key every actor had
-- before, served as `#main-key`; `gazette keys rotate` makes generation 2,
-- `#key-2`, and so on) and the fragment of its key id.
ALTER TABLE actor_keys ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
ALTER TABLE actor_keys ADD COLUMN key_fragment TEXT NOT NULL DEFAULT 'main-key';

-- Keys replaced by a rotation: still served beside the current key (and
-- accepted by remote servers that cached them) until `retires_at`, then
-- no longer served and deleted.
CREATE TABLE old_actor_keys (
    local_key      TEXT NOT NULL,
    key_fragment   TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    replaced_at    BIGINT NOT NULL,
    retires_at     BIGINT NOT NULL,
    PRIMARY KEY (local_key, key_fragment)
);

-- A rotation (an update of actor_keys) and a retirement (a delete of
-- old_actor_keys, by `gazette keys retire` or a server's hourly task)
-- notify every server at commit, before the rotation's `Update` is queued:
-- their delivery workers sign with the new key and their caches of public
-- answers serve the new actor document at once.
CREATE TRIGGER actor_keys_update_notify AFTER UPDATE ON actor_keys REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER old_actor_keys_delete_notify AFTER DELETE ON old_actor_keys REFERENCING OLD TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
