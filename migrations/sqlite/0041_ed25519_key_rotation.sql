-- Ed25519 key rotation, version 41 (SQLite). Keep in step with
-- migrations/postgres/0041_ed25519_key_rotation.sql.
--
-- `gazette keys rotate` replaces an actor's Ed25519 key (the FEP-521a
-- `Multikey` of its integrity proofs) with its RSA key. Each key gets a
-- generation (1 for the key every actor had before, `#ed25519-key`; the
-- next is `#ed25519-key-2`, and so on: a new key id, so proofs made with
-- the old key still name the key they were made with) and the fragment of
-- its id.
ALTER TABLE actor_ed25519_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
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
    replaced_at          INTEGER NOT NULL,
    retires_at           INTEGER NOT NULL,
    PRIMARY KEY (local_key, key_fragment)
);

CREATE TRIGGER old_actor_ed25519_keys_content_ai AFTER INSERT ON old_actor_ed25519_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER old_actor_ed25519_keys_content_au AFTER UPDATE ON old_actor_ed25519_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER old_actor_ed25519_keys_content_ad AFTER DELETE ON old_actor_ed25519_keys BEGIN UPDATE content_version SET n = n + 1; END;
