//! The inbox's block-list answers kept for a moment: every activity asks
//! whether its sender's hosts and actor are blocked (or, in allowlist mode,
//! listed), and a busy inbox asks it about the same few senders thousands
//! of times a second. A block or allow written through this store empties
//! the cache at once; one written by another process (the CLI, or another
//! server on the same PostgreSQL database) empties it when the server's
//! change watch reports the write ([`crate::Store::recheck_inbox_caches`]),
//! and in any case within [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::safety::SenderCheck;

/// How long an answer is reused: the delay before a block made by another
/// process refuses a sender this process has just heard from.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);

/// Most answers kept; past it the cache is emptied and fills again (the
/// senders of one second, whoever they are, cost one query each).
const MAX_ENTRIES: usize = 4096;

/// What was read for one actor (`""` for none): per set of hosts checked,
/// the answer and when it was read.
type Answers = Vec<(Vec<String>, SenderCheck, Instant)>;

/// Recent [`SenderCheck`]s, by what was asked (shared by a store's clones).
#[derive(Debug)]
pub(crate) struct SenderCache {
    entries: Mutex<HashMap<String, Answers>>,
    /// When it was last emptied: an answer read before then may predate
    /// the change that emptied it, and is not kept.
    cleared_at: Mutex<Instant>,
    /// The lists' sizes and latest entries when last checked.
    pub(crate) fingerprint: Mutex<Option<[i64; 6]>>,
}

impl Default for SenderCache {
    fn default() -> Self {
        SenderCache {
            entries: Mutex::default(),
            cleared_at: Mutex::new(Instant::now()),
            fingerprint: Mutex::default(),
        }
    }
}

impl SenderCache {
    /// The answer for `hosts` and `actor` when it was read less than
    /// [`FRESH_FOR`] ago.
    pub(crate) fn get(&self, hosts: &[String], actor: Option<&str>) -> Option<SenderCheck> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(actor.unwrap_or_default())?
            .iter()
            .find(|(h, _, at)| h.as_slice() == hosts && at.elapsed() < FRESH_FOR)
            .map(|(_, check, _)| check.clone())
    }

    /// Keeps `check`, read at `read_at` (before the query, so a block
    /// committed while it ran is not hidden for longer than [`FRESH_FOR`]).
    pub(crate) fn put(&self, hosts: &[String], actor: Option<&str>, check: &SenderCheck, read_at: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if read_at < *self.cleared_at.lock().unwrap_or_else(|e| e.into_inner()) {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let answers = entries.entry(actor.unwrap_or_default().to_owned()).or_default();
        answers.retain(|(h, _, at)| h.as_slice() != hosts && at.elapsed() < FRESH_FOR);
        answers.push((hosts.to_vec(), check.clone(), read_at));
    }

    /// Forgets every answer: a list changed.
    pub(crate) fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        *self.cleared_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_per_question_and_expire() {
        let cache = SenderCache::default();
        let hosts = vec!["a.example".to_owned()];
        let blocked = SenderCheck {
            blocked_hosts: hosts.clone(),
            ..SenderCheck::default()
        };
        assert_eq!(cache.get(&hosts, Some("https://a.example/u")), None);
        cache.put(&hosts, Some("https://a.example/u"), &blocked, Instant::now());
        assert_eq!(cache.get(&hosts, Some("https://a.example/u")), Some(blocked.clone()));
        assert_eq!(cache.get(&hosts, Some("https://a.example/v")), None, "another actor");
        assert_eq!(cache.get(&[], Some("https://a.example/u")), None, "other hosts");
        cache.clear();
        assert_eq!(cache.get(&hosts, Some("https://a.example/u")), None);
        let before_the_clear = Instant::now().checked_sub(FRESH_FOR / 2).unwrap();
        cache.put(&hosts, None, &blocked, before_the_clear);
        assert_eq!(cache.get(&hosts, None), None, "read before the lists changed");
        std::thread::sleep(std::time::Duration::from_millis(5));
        let read_at = Instant::now();
        cache.put(&hosts, None, &blocked, read_at);
        assert_eq!(cache.get(&hosts, None), Some(blocked.clone()));
        let expired = SenderCache::default();
        *expired.cleared_at.lock().unwrap() = Instant::now().checked_sub(FRESH_FOR * 3).unwrap();
        expired.put(
            &hosts,
            None,
            &blocked,
            Instant::now().checked_sub(FRESH_FOR * 2).unwrap(),
        );
        assert_eq!(expired.get(&hosts, None), None, "expired");
    }
}
