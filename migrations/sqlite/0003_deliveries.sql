-- Outbound delivery queue, version 3 (SQLite). Keep in step with migrations/postgres/0003_deliveries.sql.

-- An activity to deliver, stored once however many inboxes it goes to.
CREATE TABLE delivery_activities (
    id         TEXT PRIMARY KEY,
    actor_id   TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- One signed POST of one activity to one inbox, kept until it succeeds or is
-- given up ('pending' | 'delivered' | 'given_up'), then purged later.
-- `attempts` counts failed attempts; `locked_until` is the lease of the
-- worker that claimed the row: past it, a crashed worker's row is claimable again.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    activity_id     TEXT NOT NULL REFERENCES delivery_activities (id) ON DELETE CASCADE,
    inbox           TEXT NOT NULL,
    host            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE UNIQUE INDEX deliveries_once ON deliveries (activity_id, inbox);
-- Claiming reads only pending rows, in due order.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_host ON deliveries (host, status);

-- What we know of each remote host we deliver to: the circuit breaker and
-- whether it is marked unavailable (failing for days; revived when it speaks to us).
CREATE TABLE delivery_hosts (
    host                 TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since        INTEGER,
    circuit_open_until   INTEGER,
    unavailable          INTEGER NOT NULL DEFAULT 0,
    last_success_at      INTEGER,
    last_failure_at      INTEGER,
    last_error           TEXT
);
