-- Users' email addresses, version 11 (sqlite). Keep in step with
-- migrations/postgres/0011_user_email.sql. Optional: only used to mail
-- one-time password links when [mail] is configured.
ALTER TABLE users ADD COLUMN email TEXT;
