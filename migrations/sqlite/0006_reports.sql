-- Reports (`Flag` activities) from other servers, version 6 (SQLite).
-- Keep in step with migrations/postgres/0006_reports.sql.

CREATE TABLE reports (
    id         TEXT PRIMARY KEY,
    reporter   TEXT NOT NULL,
    targets    TEXT NOT NULL,
    content    TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX reports_by_status ON reports (status, created_at DESC);
