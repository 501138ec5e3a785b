-- Sign-in attempts counted before the password is checked: one row per
-- account (`account:NAME`) or address (`address:IP`), incremented and read
-- back in one statement, so concurrent attempts cannot all see a low count.
-- The count starts again once its window (`window_start`) has passed.
CREATE TABLE login_counters (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     BIGINT NOT NULL
);

-- API tokens belong to the user who made them (NULL: made before this
-- migration, or by the CLI without `--user`) and are refused once that user
-- is disabled; they may expire.
ALTER TABLE api_tokens ADD COLUMN user_id TEXT REFERENCES users (id);
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;

-- One row rewritten by `/healthz` now and then, to learn whether the
-- database still takes writes.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY,
    written_at BIGINT NOT NULL
);
