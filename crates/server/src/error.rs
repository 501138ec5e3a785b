//! The command line's error type: every failure a user can meet, with a
//! message that names the file, field or key at fault.

use gazette_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    FrontMatter(#[from] crate::frontmatter::FrontMatterError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Validation(#[from] gazette_core::ValidationError),
    #[error("federation: {0}")]
    Federation(String),
    #[error("theme: {0}")]
    Theme(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}
