-- Key rotation, version 35 (SQLite). Keep in step with
-- migrations/postgres/0035_key_rotation.sql.
--
-- An actor's current key gets a generation (1 for the key every actor had
-- before, served as `#main-key`; `gazette keys rotate` makes generation 2,
-- `#key-2`, and so on) and the fragment of its key id.
ALTER TABLE actor_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE actor_keys ADD COLUMN key_fragment TEXT NOT NULL DEFAULT 'main-key';

-- Keys replaced by a rotation: still served beside the current key (and
-- accepted by remote servers that cached them) until `retires_at`, then
-- no longer served and deleted.
CREATE TABLE old_actor_keys (
    local_key      TEXT NOT NULL,
    key_fragment   TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    replaced_at    INTEGER NOT NULL,
    retires_at     INTEGER NOT NULL,
    PRIMARY KEY (local_key, key_fragment)
);

CREATE TRIGGER old_actor_keys_content_ai AFTER INSERT ON old_actor_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER old_actor_keys_content_au AFTER UPDATE ON old_actor_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER old_actor_keys_content_ad AFTER DELETE ON old_actor_keys BEGIN UPDATE content_version SET n = n + 1; END;
