//! Rate limiting of members on a coordinator: one token bucket per sending
//! host, refilled at `member_rate_per_second` up to `member_burst`. An
//! article activity (`Create`, `Update`, `Delete`, `Announce`) from an
//! approved member's host with no token left is answered `429` with
//! `Retry-After`: the member's delivery queue tries again later, so nothing
//! is lost, and one member cannot flood the shared feed or the instance.
//!
//! The buckets live in the [`crate::FedContext`] (one process's memory, no
//! global): a restart forgets them, which only gives members a fresh burst.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most hosts remembered; past this, full buckets (idle hosts) are dropped.
const MAX_HOSTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by host.
#[derive(Debug, Default)]
pub(crate) struct HostBuckets {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl HostBuckets {
    /// Takes one token of `host`'s bucket at `now`: `Ok` when there was one,
    /// else how long until there is.
    pub(crate) fn take(&self, host: &str, rate_per_second: u32, burst: u32, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(rate_per_second.max(1));
        let burst = f64::from(burst.max(1));
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_HOSTS && !map.contains_key(host) {
            map.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = map.entry(host.to_owned()).or_insert(Bucket { tokens: burst, at: now });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

/// The `Retry-After` seconds for a wait: rounded up, at least one.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let buckets = HostBuckets::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(buckets.take("a.example", 2, 3, t0).is_ok());
        }
        let wait = buckets.take("a.example", 2, 3, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Another host has its own bucket.
        assert!(buckets.take("b.example", 2, 3, t0).is_ok());
        // Half a second later: one token back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(buckets.take("a.example", 2, 3, t1).is_ok());
        assert!(buckets.take("a.example", 2, 3, t1).is_err());
        // Idle long enough: the burst again, never more.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(buckets.take("a.example", 2, 3, t2).is_ok());
        }
        assert!(buckets.take("a.example", 2, 3, t2).is_err());
    }

    #[test]
    fn retry_after_is_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
