//! The few statements that differ between SQLite and PostgreSQL, in one place.

use crate::Backend;

/// Case-insensitive `LIKE` for searching titles.
pub(crate) fn ilike(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "LIKE",
        Backend::Postgres => "ILIKE",
    }
}

/// Row locking for claiming queue rows: on PostgreSQL several processes claim
/// at once, and `SKIP LOCKED` lets each pass over the rows another is taking
/// instead of waiting for them. SQLite has one writer at a time (the claim
/// runs under `BEGIN IMMEDIATE`), so it needs no clause.
pub(crate) fn for_update_skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    }
}
