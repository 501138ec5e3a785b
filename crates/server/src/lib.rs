//! The gazette server as a library: configuration, the parsing of
//! Markdown files for `gazette publish`, the CLI commands and the wiring that
//! starts a server; `main.rs` only parses arguments and runs them.

pub mod app;
pub mod backup;
pub mod blocks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod demo_network;
pub mod doctor;
pub mod error;
pub mod frontmatter;
pub mod identity;
pub mod import;
pub mod keys;
pub mod listener;
pub mod network;
pub mod newsletter_worker;
pub mod scheduler;
pub mod users;
pub mod wakeups;
