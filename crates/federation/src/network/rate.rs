//! Rate limiting of members on a coordinator: one token bucket per sending
//! host (governor's keyed limiter, GCRA), refilled at
//! `member_rate_per_second` up to `member_burst`. An article activity
//! (`Create`, `Update`, `Delete`, `Announce`) from an approved member's host
//! with no token left is answered `429` with `Retry-After`: the member's
//! delivery queue tries again later, so nothing is lost, and one member
//! cannot flood the shared feed or the instance.
//!
//! The buckets live in the [`crate::FedContext`] (one process's memory, no
//! global): a restart forgets them, which only gives members a fresh burst.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Hosts remembered before the idle ones (whose bucket is full again) are
/// forgotten.
const MAX_HOSTS: usize = 10_000;

type Limiter<C> = RateLimiter<String, DefaultKeyedStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The limiter in force, with the rate and burst it was built for.
type Current<C> = Option<(u32, u32, Arc<Limiter<C>>)>;

/// Token buckets by host, for the rate and burst of the settings in force
/// (a change of either starts fresh buckets).
pub(crate) struct HostBuckets<C: Clock = DefaultClock> {
    clock: C,
    limiter: Mutex<Current<C>>,
}

impl Default for HostBuckets {
    fn default() -> Self {
        HostBuckets::with_clock(DefaultClock::default())
    }
}

impl<C: Clock> std::fmt::Debug for HostBuckets<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBuckets").finish_non_exhaustive()
    }
}

impl<C: Clock + Clone> HostBuckets<C> {
    pub(crate) fn with_clock(clock: C) -> Self {
        HostBuckets {
            clock,
            limiter: Mutex::new(None),
        }
    }

    /// The limiter for `rate` and `burst` (built again when they changed).
    fn limiter(&self, rate: u32, burst: u32) -> Arc<Limiter<C>> {
        let mut current = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((r, b, limiter)) = current.as_ref()
            && (*r, *b) == (rate, burst)
        {
            return limiter.clone();
        }
        let quota = Quota::per_second(NonZeroU32::new(rate.max(1)).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
        let limiter = Arc::new(RateLimiter::dashmap_with_clock(quota, self.clock.clone()));
        *current = Some((rate, burst, limiter.clone()));
        limiter
    }

    /// Takes one token of `host`'s bucket: `Ok` when there was one, else how
    /// long until there is.
    pub(crate) fn take(&self, host: &str, rate_per_second: u32, burst: u32) -> Result<(), Duration> {
        let limiter = self.limiter(rate_per_second, burst);
        if limiter.len() >= MAX_HOSTS {
            limiter.retain_recent();
        }
        limiter
            .check_key(&host.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// The `Retry-After` seconds for a wait: rounded up, at least one.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn a_burst_then_the_rate() {
        let clock = FakeRelativeClock::default();
        let buckets = HostBuckets::with_clock(clock.clone());
        for _ in 0..3 {
            assert!(buckets.take("a.example", 2, 3).is_ok());
        }
        let wait = buckets.take("a.example", 2, 3).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Another host has its own bucket.
        assert!(buckets.take("b.example", 2, 3).is_ok());
        // Half a second later: one token back, and only one.
        clock.advance(Duration::from_millis(500));
        assert!(buckets.take("a.example", 2, 3).is_ok());
        assert!(buckets.take("a.example", 2, 3).is_err());
        // Idle long enough: the burst again, never more.
        clock.advance(Duration::from_secs(60));
        for _ in 0..3 {
            assert!(buckets.take("a.example", 2, 3).is_ok());
        }
        assert!(buckets.take("a.example", 2, 3).is_err());
    }

    #[test]
    fn new_settings_take_effect_at_once() {
        let buckets = HostBuckets::with_clock(FakeRelativeClock::default());
        assert!(buckets.take("a.example", 1, 1).is_ok());
        assert!(buckets.take("a.example", 1, 1).is_err());
        // A larger burst configured: fresh buckets under it.
        for _ in 0..5 {
            assert!(buckets.take("a.example", 1, 5).is_ok());
        }
        assert!(buckets.take("a.example", 1, 5).is_err());
    }

    #[test]
    fn retry_after_is_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
