//! The few statements that differ between SQLite and PostgreSQL, in one place.

use crate::Backend;

/// Case-insensitive `LIKE` for searching titles.
pub(crate) fn ilike(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "LIKE",
        Backend::Postgres => "ILIKE",
    }
}
