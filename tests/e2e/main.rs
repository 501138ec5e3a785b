//! Gazette's end-to-end tests, one test binary: each module drives the real
//! `gazette` binary (and, for some, a Node, Python, nginx or GoToSocial-like
//! peer) for one area. Run one area with
//! `cargo test -p gazette --test e2e interop::`.

#[macro_use]
mod common;

mod admin_browser;
mod admin_forms;
mod admin_time;
mod cli;
mod delivery;
mod follower_sync;
mod gotosocial;
mod hostile;
mod import;
mod inbox;
mod interop;
mod mail;
mod network;
mod network_coordinator;
mod nginx;
mod observe;
mod ops;
mod quotes;
mod safety;
mod serve;
mod upgrade;
