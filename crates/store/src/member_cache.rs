//! The network members the coordinator's inbox looks up, by host, kept for
//! a moment: every member article that arrives asks which member its host
//! belongs to, and a busy network sends hundreds a second from the same
//! few hosts. A member written through this store is forgotten at once
//! (its last activity, written once a minute per member, is updated in
//! place); one written by another process (the CLI, another server on the
//! same PostgreSQL database) is forgotten when the server's change watch
//! reports the write ([`crate::Store::recheck_inbox_caches`]), and in any
//! case within [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gazette_core::Member;

/// How long an answer is reused: the delay before a member approved or
/// suspended by another process is seen as such when no change watch
/// reports it sooner.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);

/// Most hosts kept; past it the cache is emptied and fills again.
const MAX_ENTRIES: usize = 4096;

/// The member found on each host asked about (`None`: none), and when it
/// was read (shared by a store's clones).
#[derive(Debug)]
pub(crate) struct MemberCache {
    entries: Mutex<HashMap<String, (Option<Member>, Instant)>>,
    /// When it was last emptied: an answer read before then may predate
    /// the write that emptied it, and is not kept.
    cleared_at: Mutex<Instant>,
    /// The members' number and latest change when last checked.
    pub(crate) fingerprint: Mutex<Option<[i64; 2]>>,
}

impl Default for MemberCache {
    fn default() -> Self {
        MemberCache {
            entries: Mutex::default(),
            cleared_at: Mutex::new(Instant::now()),
            fingerprint: Mutex::default(),
        }
    }
}

impl MemberCache {
    /// The answer for `host` when it was read less than [`FRESH_FOR`] ago.
    pub(crate) fn get(&self, host: &str) -> Option<Option<Member>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(host)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(member, _)| member.clone())
    }

    /// Keeps `member` as the answer for `host`, read at `read_at` (before
    /// the query, so a write committed while it ran is not hidden longer
    /// than [`FRESH_FOR`]).
    pub(crate) fn put(&self, host: &str, member: &Option<Member>, read_at: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if read_at < *self.cleared_at.lock().unwrap_or_else(|e| e.into_inner()) {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(host.to_owned(), (member.clone(), read_at));
    }

    /// The member `actor` was just active (at `at`): its kept copy says so.
    pub(crate) fn note_activity(&self, actor: &str, at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for (member, _) in entries.values_mut() {
            if let Some(m) = member
                && m.actor == actor
            {
                m.last_activity_at = Some(at);
            }
        }
    }

    /// Forgets every answer: a member changed.
    pub(crate) fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        *self.cleared_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        entries.clear();
    }
}
