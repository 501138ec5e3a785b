-- Kept copies and their keys, version 42 (PostgreSQL). Keep in step with
-- migrations/sqlite/0042_kept_copy_keys.sql.
--
-- A coordinator serves a member's article with the member's proof intact
-- (migration 36). When the member rotates its Ed25519 key and the old one
-- retires, a copy proven by the old key can no longer be checked by
-- anyone, so it must be replaced by the article as the member serves it
-- now. `proof_key` is the key id (`verificationMethod`) of the copy's
-- proof (its first, when it has several), so the copies a key vouches
-- for are found without reading them all.
ALTER TABLE network_item_objects ADD COLUMN proof_key TEXT;
UPDATE network_item_objects SET proof_key = COALESCE(
    object_json::jsonb -> 'proof' ->> 'verificationMethod',
    object_json::jsonb -> 'proof' -> 0 ->> 'verificationMethod');
CREATE INDEX network_item_objects_by_key ON network_item_objects (proof_key);

-- Stored remote keys are read again from their controllers, oldest
-- reading first, and by controller.
CREATE INDEX remote_multikeys_by_reading ON remote_multikeys (fetched_at);
CREATE INDEX remote_multikeys_by_controller ON remote_multikeys (controller);
