//! The in-memory store of whole responses behind [`super::layer`]: entries
//! by request key, bounded in bytes, and one generation counter that every
//! write (this process's, or another's reported by the database's change
//! signal) moves on, so a hit is a map lookup and a clone of `Bytes`, with
//! no query to validate it.
//!
//! A miss is filled once: while one request renders a key, the others
//! asking for it wait for that answer ([`ResponseCache::fill`]), so a page
//! a thousand servers fetch in the same instant after a publication is
//! rendered once, not a thousand times.
//!
//! Invalidation is deliberately coarse: any write makes every entry stale.
//! Writes are rare next to reads, and a coarse rule cannot forget a
//! dependency (an author's name on a tag page, a reply under an article).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::entry::Entry;

/// An entry is dropped this long after it was filled even if no write was
/// reported: a safety net under the change signal, never the rule.
const MAX_AGE: Duration = Duration::from_secs(60);

/// Whole responses kept in memory; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct ResponseCache(Arc<Inner>);

struct Inner {
    max_bytes: usize,
    /// Moves on at every write; entries of an older generation are stale.
    generation: AtomicU64,
    /// Whole seconds since the epoch of the last move, for Last-Modified.
    last_write_secs: AtomicU64,
    /// True while the database's change signal is being watched: without
    /// it another process's write could go unnoticed, so nothing is served
    /// from memory or stored.
    watching: AtomicBool,
    map: RwLock<Map>,
    /// Keys being rendered now; a receiver wakes when that render ends.
    fills: Mutex<HashMap<String, watch::Receiver<()>>>,
}

/// Who renders a missed key: see [`ResponseCache::fill`].
pub(crate) enum Fill {
    /// This request renders it; the waiting ones wake when this is dropped.
    First(FillGuard),
    /// Another request is rendering it: wait for it, then look again.
    Wait(watch::Receiver<()>),
}

/// Held while a missed key is rendered (see [`Fill::First`]).
pub(crate) struct FillGuard {
    cache: ResponseCache,
    key: String,
    /// Dropped after the key leaves `fills`: that wakes every waiter.
    _done: watch::Sender<()>,
}

impl Drop for FillGuard {
    fn drop(&mut self) {
        if let Ok(mut fills) = self.cache.0.fills.lock() {
            fills.remove(&self.key);
        }
    }
}

#[derive(Default)]
struct Map {
    entries: HashMap<String, Arc<Entry>>,
    bytes: usize,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("max_bytes", &self.0.max_bytes)
            .field("generation", &self.0.generation.load(Ordering::Acquire))
            .field("watching", &self.0.watching.load(Ordering::Acquire))
            .finish()
    }
}

impl ResponseCache {
    /// An empty cache holding at most `max_bytes` of responses (bodies in
    /// every encoding, headers and keys); 0 turns it off. It serves nothing
    /// until [`ResponseCache::watching`] says the change signal is watched.
    pub fn new(max_bytes: usize) -> Self {
        ResponseCache(Arc::new(Inner {
            max_bytes,
            generation: AtomicU64::new(0),
            last_write_secs: AtomicU64::new(now_secs()),
            watching: AtomicBool::new(false),
            map: RwLock::new(Map::default()),
            fills: Mutex::new(HashMap::new()),
        }))
    }

    /// Something was written: every entry stored so far is stale.
    pub fn invalidate(&self) {
        self.0.last_write_secs.store(now_secs(), Ordering::Release);
        self.0.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut map) = self.0.map.write() {
            map.entries.clear();
            map.bytes = 0;
        }
    }

    /// Whether other processes' writes are being watched (the caller of
    /// the change signal says so when it starts and when it fails). Either
    /// way, what is stored is dropped.
    pub fn watching(&self, on: bool) {
        self.0.watching.store(on, Ordering::Release);
        self.invalidate();
    }

    /// The generation a response about to be rendered belongs to, or
    /// `None` when nothing may be cached now.
    pub(crate) fn generation(&self) -> Option<u64> {
        if self.0.max_bytes == 0 || !self.0.watching.load(Ordering::Acquire) {
            return None;
        }
        Some(self.0.generation.load(Ordering::Acquire))
    }

    /// Last-Modified for a response rendered in generation `generation`:
    /// never earlier than one second after the last write, so a copy
    /// rendered before that write, in the same second, cannot pass an
    /// `If-Modified-Since` check.
    pub(crate) fn last_modified_secs(&self) -> u64 {
        now_secs().max(self.0.last_write_secs.load(Ordering::Acquire) + 1)
    }

    /// The entry for `key`, if it belongs to the current generation.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Entry>> {
        let generation = self.generation()?;
        let map = self.0.map.read().ok()?;
        let entry = map.entries.get(key)?;
        (entry.generation == generation && entry.filled.elapsed() < MAX_AGE).then(|| entry.clone())
    }

    /// Stores `entry` unless a write happened since its generation began
    /// (it may show what that write changed) or it is too big; when full,
    /// other entries make room.
    pub(crate) fn insert(&self, key: String, entry: Arc<Entry>) {
        let weight = entry.weight() + key.len();
        if weight > self.0.max_bytes / 8 {
            return;
        }
        let Ok(mut map) = self.0.map.write() else {
            return;
        };
        // Checked under the lock `invalidate` clears under.
        if self.generation() != Some(entry.generation) {
            return;
        }
        if let Some(old) = map.entries.remove(&key) {
            map.bytes -= old.weight() + key.len();
        }
        if map.bytes + weight > self.0.max_bytes {
            map.entries.retain(|_, e| e.filled.elapsed() < MAX_AGE);
            map.bytes = map.entries.iter().map(|(k, e)| e.weight() + k.len()).sum();
        }
        while map.bytes + weight > self.0.max_bytes {
            // Any entry: the map's order is random, which is as good as any
            // guess at what is read least.
            let Some(victim) = map.entries.keys().next().cloned() else {
                break;
            };
            if let Some(old) = map.entries.remove(&victim) {
                map.bytes -= old.weight() + victim.len();
            }
        }
        map.bytes += weight;
        map.entries.insert(key, entry);
    }

    /// Claims the render of missed `key`, or says who has it.
    pub(crate) fn fill(&self, key: &str) -> Fill {
        let Ok(mut fills) = self.0.fills.lock() else {
            // A poisoned lock: render without coalescing.
            let (done, _) = watch::channel(());
            return Fill::First(FillGuard {
                cache: self.clone(),
                key: String::new(),
                _done: done,
            });
        };
        if let Some(waiting) = fills.get(key) {
            return Fill::Wait(waiting.clone());
        }
        let (done, waiting) = watch::channel(());
        fills.insert(key.to_owned(), waiting);
        Fill::First(FillGuard {
            cache: self.clone(),
            key: key.to_owned(),
            _done: done,
        })
    }

    /// Bytes stored now (for tests and `/metrics`).
    pub fn bytes(&self) -> usize {
        self.0.map.read().map(|m| m.bytes).unwrap_or(0)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missed_key_is_rendered_by_one_request_while_the_others_wait() {
        let cache = ResponseCache::new(1 << 20);
        let Fill::First(render) = cache.fill("page|/articles/a?|") else {
            panic!("the first request does not render");
        };
        let Fill::Wait(mut waiting) = cache.fill("page|/articles/a?|") else {
            panic!("a second request renders the same key at the same time");
        };
        // Another key is rendered independently.
        assert!(matches!(cache.fill("page|/articles/b?|"), Fill::First(_)));
        let woken = tokio::spawn(async move { waiting.changed().await.is_err() });
        drop(render);
        let ended = tokio::time::timeout(Duration::from_secs(10), woken)
            .await
            .expect("the waiting request is woken when the render ends")
            .unwrap();
        assert!(ended, "woken for another reason than the render's end");
        // The render is over: the next miss renders again.
        assert!(matches!(cache.fill("page|/articles/a?|"), Fill::First(_)));
    }
}
