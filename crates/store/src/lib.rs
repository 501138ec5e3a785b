//! Gazette storage.
