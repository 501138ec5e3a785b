-- Ed25519 key rotation, version 41 (PostgreSQL). Keep in step with
-- migrations/sqlite/0041_ed25519_key_rotation.sql.
--
-- `gazette keys rotate` replaces an actor's Ed25519 key (the FEP-521a
-- `Multikey` of its integrity proofs) with its RSA key. Each key gets a
-- generation (1 for the key every actor had before, `#ed25519-key`; the
-- next is `#ed25519-key-2`, and so on: a new key id, so proofs made with
-- the old key still name the key they were made with) and the fragment of
-- its id.
ALTER TABLE actor_ed25519_keys ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
ALTER TABLE actor_ed25519_keys ADD COLUMN key_fragment TEXT NOT NULL DEFAULT 'ed25519-key';

-- Ed25519 keys replaced by a rotation: listed under `assertionMethod`
-- beside the current key until `retires_at` (the RSA key replaced at the
-- same time retires then too), then no longer listed and deleted. The
-- private half is kept for the grace period: the rotation's `Update`
-- carries a proof by the key followers already hold.
CREATE TABLE old_actor_ed25519_keys (
    local_key            TEXT NOT NULL,
    key_fragment         TEXT NOT NULL,
    public_key_multibase TEXT NOT NULL,
    private_key_pkcs8    TEXT NOT NULL,
    replaced_at          BIGINT NOT NULL,
    retires_at           BIGINT NOT NULL,
    PRIMARY KEY (local_key, key_fragment)
);

-- A rotation (an update of actor_ed25519_keys) and a retirement (a delete
-- of old_actor_ed25519_keys) notify every server at commit, as migration
-- 35's triggers do for the RSA keys: actor documents and articles (whose
-- proofs the current key makes) are served anew at once.
CREATE TRIGGER actor_ed25519_keys_update_notify AFTER UPDATE ON actor_ed25519_keys REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
CREATE TRIGGER old_actor_ed25519_keys_delete_notify AFTER DELETE ON old_actor_ed25519_keys REFERENCING OLD TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gazette_notify_inserted();
