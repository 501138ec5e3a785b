//! Gazette web.
