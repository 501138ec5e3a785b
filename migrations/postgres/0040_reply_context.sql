-- The thread of what a local reply answers, version 40 (PostgreSQL). Keep
-- in step with migrations/sqlite/0040_reply_context.sql.
--
-- A reply sent with `gazette reply` carries the `context` (FEP-7888) of the
-- object it answers, as that object gave it when it was fetched. Rows that
-- predate this migration have none.
ALTER TABLE outbound_interactions ADD COLUMN context TEXT;
