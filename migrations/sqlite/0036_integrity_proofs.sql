-- Integrity proofs, version 36 (SQLite). Keep in step with
-- migrations/postgres/0036_integrity_proofs.sql.
--
-- Each local actor's Ed25519 key (FEP-521a `Multikey` under
-- `assertionMethod`), which signs the FEP-8b32 proofs of its activities
-- and articles: made on first use, like the RSA keys of `actor_keys`.
-- The private key is PKCS#8, base64.
CREATE TABLE actor_ed25519_keys (
    local_key            TEXT PRIMARY KEY,
    private_key_pkcs8    TEXT NOT NULL,
    public_key_multibase TEXT NOT NULL,
    created_at           INTEGER NOT NULL
);

CREATE TRIGGER actor_ed25519_keys_content_ai AFTER INSERT ON actor_ed25519_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER actor_ed25519_keys_content_au AFTER UPDATE ON actor_ed25519_keys BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER actor_ed25519_keys_content_ad AFTER DELETE ON actor_ed25519_keys BEGIN UPDATE content_version SET n = n + 1; END;

-- Other servers' Ed25519 keys that verified a proof, by key id, kept so
-- that a proof by a key we know checks without asking its server (a
-- coordinator takes a member's relayed article while the member is down).
CREATE TABLE remote_multikeys (
    id                   TEXT PRIMARY KEY,
    controller           TEXT NOT NULL,
    public_key_multibase TEXT NOT NULL,
    fetched_at           INTEGER NOT NULL
);

-- A coordinator's member article as received, when its proof verified:
-- the network actor serves it with the proof intact.
CREATE TABLE network_item_objects (
    item        TEXT PRIMARY KEY REFERENCES network_items (id) ON DELETE CASCADE,
    object_json TEXT NOT NULL
);

CREATE TRIGGER network_item_objects_content_ai AFTER INSERT ON network_item_objects BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_objects_content_au AFTER UPDATE ON network_item_objects BEGIN UPDATE content_version SET n = n + 1; END;
CREATE TRIGGER network_item_objects_content_ad AFTER DELETE ON network_item_objects BEGIN UPDATE content_version SET n = n + 1; END;
