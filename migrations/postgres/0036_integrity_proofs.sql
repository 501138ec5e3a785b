-- Integrity proofs, version 36 (PostgreSQL). Keep in step with
-- migrations/sqlite/0036_integrity_proofs.sql.
--
-- Each local actor's Ed25519 key (FEP-521a `Multikey` under
-- `assertionMethod`), which signs the FEP-8b32 proofs of its activities
-- and articles: made on first use, like the RSA keys of `actor_keys`.
-- The private key is PKCS#8, base64.
CREATE TABLE actor_ed25519_keys (
    local_key            TEXT PRIMARY KEY,
    private_key_pkcs8    TEXT NOT NULL,
    public_key_multibase TEXT NOT NULL,
    created_at           BIGINT NOT NULL
);

-- Other servers' Ed25519 keys that verified a proof, by key id, kept so
-- that a proof by a key we know checks without asking its server (a
-- coordinator takes a member's relayed article while the member is down).
CREATE TABLE remote_multikeys (
    id                   TEXT PRIMARY KEY,
    controller           TEXT NOT NULL,
    public_key_multibase TEXT NOT NULL,
    fetched_at           BIGINT NOT NULL
);

-- A coordinator's member article as received, when its proof verified:
-- the network actor serves it with the proof intact.
CREATE TABLE network_item_objects (
    item        TEXT PRIMARY KEY REFERENCES network_items (id) ON DELETE CASCADE,
    object_json TEXT NOT NULL
);

-- Both appear in public answers (actor documents; the network actor's
-- boosts and outbox): their writes notify every server at commit, as
-- network_items' do (migration 32), so no cached answer outlives them.
CREATE TRIGGER actor_ed25519_keys_insert_notify AFTER INSERT ON actor_ed25519_keys REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_item_objects_insert_notify AFTER INSERT ON network_item_objects REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_item_objects_update_notify AFTER UPDATE ON network_item_objects REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER network_item_objects_delete_notify AFTER DELETE ON network_item_objects REFERENCING OLD TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
