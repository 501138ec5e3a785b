-- The rotation's Update signed with the old key, version 39 (PostgreSQL). Keep
-- in step with migrations/sqlite/0039_rotation_update_key.sql.
--
-- A replaced key keeps its private half during its grace period, so the
-- `Update` that announces the new key can be signed with the key followers
-- already hold (GoToSocial checks a signature only against the key it
-- stored for the actor, and refuses one made with a key id it has not seen
-- on that actor). Rows that predate this migration have none; a retirement
-- deletes the row, private half included.
ALTER TABLE old_actor_keys ADD COLUMN private_key_pem TEXT;
