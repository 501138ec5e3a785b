//! One run of an action shared by the calls that ask for it at the same
//! time: a notification to other processes, a flush of the write-ahead log
//! to disk. Each call returns after a run that began after the call was
//! made, so it is covered; the calls made while a run is under way share
//! the next one rather than queueing one each.

use std::sync::atomic::{AtomicU64, Ordering};

/// The calls of one action and the runs made for them (shared by a store's clones).
#[derive(Debug)]
pub(crate) struct Coalesced {
    /// Calls so far.
    requested: AtomicU64,
    /// The number of calls covered by the last run that succeeded.
    covered: tokio::sync::watch::Sender<u64>,
    /// Held by the call running the action.
    running: tokio::sync::Mutex<()>,
}

impl Default for Coalesced {
    fn default() -> Self {
        Coalesced {
            requested: AtomicU64::new(0),
            covered: tokio::sync::watch::Sender::new(0),
            running: tokio::sync::Mutex::new(()),
        }
    }
}

/// The call running the action. However it ends (done, failed, or dropped
/// half-way with the request that made it), the calls waiting wake once it
/// has let go of the lock: to return if they are covered, or to run the
/// action themselves.
struct Running<'a> {
    lock: Option<tokio::sync::MutexGuard<'a, ()>>,
    covered: &'a tokio::sync::watch::Sender<u64>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.lock.take();
        self.covered.send_modify(|_| {});
    }
}

impl Coalesced {
    /// Returns once `act` has succeeded in a run that began after this
    /// call: run by this call, or by another one that covers it. A call
    /// whose own run fails gets the error; the calls it would have covered
    /// try again themselves.
    pub(crate) async fn run<F, Fut, E>(&self, act: F) -> Result<(), E>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        let mine = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        let mut covered = self.covered.subscribe();
        loop {
            if *covered.borrow_and_update() >= mine {
                return Ok(());
            }
            if let Ok(lock) = self.running.try_lock() {
                let running = Running {
                    lock: Some(lock),
                    covered: &self.covered,
                };
                // Every call counted so far is covered by this run.
                let covers = self.requested.load(Ordering::Acquire);
                act().await?;
                // Told to the calls waiting when `running` ends.
                running.covered.send_if_modified(|c| {
                    *c = (*c).max(covers);
                    false
                });
            } else if covered.changed().await.is_err() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    /// Calls made while a run is under way share the next one, and none
    /// returns before a run that began after it.
    #[tokio::test]
    async fn concurrent_calls_share_runs() {
        let shared = Arc::new(Coalesced::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut calls = Vec::new();
        for _ in 0..40 {
            let (shared, runs) = (shared.clone(), runs.clone());
            calls.push(tokio::spawn(async move {
                let asked = runs.load(Ordering::SeqCst);
                shared
                    .run(|| async {
                        tokio::task::yield_now().await;
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok::<(), ()>(())
                    })
                    .await
                    .unwrap();
                // At least one run ended after this call began.
                assert!(runs.load(Ordering::SeqCst) > asked);
            }));
        }
        for call in calls {
            call.await.unwrap();
        }
        let n = runs.load(Ordering::SeqCst);
        assert!((1..40).contains(&n), "{n} runs for 40 concurrent calls");
    }

    /// A failed run is its caller's error; the others run again.
    #[tokio::test]
    async fn a_failed_run_leaves_the_others_to_try_again() {
        let shared = Coalesced::default();
        let failed = shared.run(|| async { Err::<(), _>("disk full") }).await;
        assert_eq!(failed, Err("disk full"));
        let runs = AtomicUsize::new(0);
        shared
            .run(|| async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<(), &str>(())
            })
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
