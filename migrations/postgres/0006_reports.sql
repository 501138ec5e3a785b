-- Reports (`Flag` activities) from other servers, version 6 (PostgreSQL).
-- Keep in step with migrations/sqlite/0006_reports.sql.

CREATE TABLE reports (
    id         TEXT PRIMARY KEY,
    reporter   TEXT NOT NULL,
    targets    TEXT NOT NULL,
    content    TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX reports_by_status ON reports (status, created_at DESC);
