//! The store's error type: not found, conflicts and bad references are told
//! apart from database failures so the web layer can map them to 404/409/422/500.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} `{key}` not found")]
    NotFound { what: &'static str, key: String },
    /// A unique value is already taken (e.g. a slug).
    #[error("{field}: {message}")]
    Conflict { field: &'static str, message: String },
    /// The row changed since the caller read it.
    #[error("the {what} was changed by someone else (now at version {current}); reload and try again")]
    StaleVersion { what: &'static str, current: i64 },
    /// The input refers to something that does not exist (author, media…).
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("migration: {0}")]
    Migration(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A write queued for a shared transaction got no answer.
    #[error("interrupted: {0}")]
    Interrupted(&'static str),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub(crate) fn not_found(what: &'static str, key: &str) -> Self {
        StoreError::NotFound {
            what,
            key: key.to_owned(),
        }
    }

    /// True when the database refused a write because of a unique constraint.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(db) => {
                let msg = db.message();
                db.code().is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
                    || msg.contains("UNIQUE constraint failed")
                    || msg.contains("duplicate key")
            }
            _ => false,
        }
    }
}
