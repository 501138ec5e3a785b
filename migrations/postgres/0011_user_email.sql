-- Users' email addresses, version 11 (postgres). Keep in step with
-- migrations/sqlite/0011_user_email.sql. Optional: only used to mail
-- one-time password links when [mail] is configured.
ALTER TABLE users ADD COLUMN email TEXT;
