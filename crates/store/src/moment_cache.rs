//! Answers the inbox asks for with every activity, kept for a moment:
//! whether its sender's hosts and actor are blocked (or, in allowlist
//! mode, listed), which member a member article's host belongs to, and
//! where the network actor's followers receive its boosts. A busy inbox
//! hears from the same few senders hundreds or thousands of times a
//! second, and each activity would otherwise cost these queries again.
//! A write through this store forgets
//! the answers it may change at once (a member's last activity, written
//! once a minute per member, is updated in place); one written by another
//! process (the CLI, another server on the same PostgreSQL database) is
//! forgotten when the server's change watch reports the write
//! ([`crate::Store::recheck_inbox_caches`]), and in any case within
//! [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an answer is reused: the delay before another process's
/// write is seen when no change watch reports it sooner.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);

/// Most keys kept; past it the cache is emptied and fills again.
const MAX_ENTRIES: usize = 4096;

/// Answers by key, with when each was read (shared by a store's clones).
/// `N`: the numbers [`crate::Store::recheck_inbox_caches`] reads of the
/// tables the answers come from.
#[derive(Debug)]
pub(crate) struct MomentCache<V, const N: usize = 2> {
    entries: Mutex<HashMap<String, (V, Instant)>>,
    /// When it was last emptied: an answer read before then may predate
    /// the write that emptied it, and is not kept.
    cleared_at: Mutex<Instant>,
    /// What [`crate::Store::recheck_inbox_caches`] read of the tables the
    /// answers come from (their sizes, their latest changes) when last
    /// checked.
    pub(crate) fingerprint: Mutex<Option<[i64; N]>>,
}

impl<V, const N: usize> Default for MomentCache<V, N> {
    fn default() -> Self {
        MomentCache {
            entries: Mutex::default(),
            cleared_at: Mutex::new(Instant::now()),
            fingerprint: Mutex::default(),
        }
    }
}

impl<V: Clone, const N: usize> MomentCache<V, N> {
    /// The answer for `key`: the one kept, or else what `read` reads (then
    /// kept, unless a write forgot the answers while it read).
    pub(crate) async fn get_or_read<E>(
        &self,
        key: &str,
        read: impl std::future::Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        if let Some(answer) = self.get(key) {
            return Ok(answer);
        }
        // Before the query, so a write committed while it ran is not
        // hidden longer than FRESH_FOR.
        let read_at = Instant::now();
        let answer = read.await?;
        self.put(key, &answer, read_at);
        Ok(answer)
    }

    /// The answer for `key` when it was read less than [`FRESH_FOR`] ago.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(answer, _)| answer.clone())
    }

    /// Keeps `answer` for `key`, read at `read_at` (before the query, so a
    /// write committed while it ran is not hidden longer than [`FRESH_FOR`]).
    pub(crate) fn put(&self, key: &str, answer: &V, read_at: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if read_at < *self.cleared_at.lock().unwrap_or_else(|e| e.into_inner()) {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_owned(), (answer.clone(), read_at));
    }

    /// Changes every answer kept in place (a write this store knows the
    /// effect of).
    pub(crate) fn update(&self, mut change: impl FnMut(&mut V)) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for (answer, _) in entries.values_mut() {
            change(answer);
        }
    }

    /// Forgets every answer: what they were read from changed.
    pub(crate) fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        *self.cleared_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        entries.clear();
    }

    /// Forgets every answer if `now` differs from the fingerprint last
    /// seen (a write by another process), and keeps `now`.
    pub(crate) fn recheck(&self, now: [i64; N]) {
        let mut seen = self.fingerprint.lock().unwrap_or_else(|e| e.into_inner());
        if *seen != Some(now) {
            self.clear();
        }
        *seen = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_until_cleared_or_stale() {
        let cache = MomentCache::<Option<u32>>::default();
        assert_eq!(cache.get("a"), None);
        cache.put("a", &Some(1), Instant::now());
        cache.put("b", &None, Instant::now());
        assert_eq!(cache.get("a"), Some(Some(1)));
        assert_eq!(cache.get("b"), Some(None), "a known absence is an answer too");
        cache.update(|v| *v = v.map(|n| n + 1));
        assert_eq!(cache.get("a"), Some(Some(2)));
        cache.recheck([1, 1]);
        assert_eq!(cache.get("a"), None, "the first fingerprint clears");
        cache.put("a", &Some(3), Instant::now());
        cache.recheck([1, 1]);
        assert_eq!(cache.get("a"), Some(Some(3)), "the same fingerprint keeps");
        cache.recheck([1, 2]);
        assert_eq!(cache.get("a"), None, "another fingerprint clears");
        let before_the_clear = Instant::now().checked_sub(FRESH_FOR / 2).unwrap();
        cache.put("a", &Some(4), before_the_clear);
        assert_eq!(cache.get("a"), None, "read before the clear");
        let stale = MomentCache::<u32>::default();
        *stale.cleared_at.lock().unwrap() = Instant::now().checked_sub(FRESH_FOR * 3).unwrap();
        stale.put("a", &1, Instant::now().checked_sub(FRESH_FOR * 2).unwrap());
        assert_eq!(stale.get("a"), None, "older than FRESH_FOR");
    }
}
