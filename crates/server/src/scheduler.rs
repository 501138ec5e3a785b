//! Publishes scheduled articles when their time comes and queues the
//! deliveries of recorded article changes. Safe with several processes on
//! one database: the store flips each article exactly once, and queueing a
//! change twice sends nothing twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gazette_federation::FedContext;
use gazette_store::Store;
use tokio::sync::{Notify, watch};

/// Longest sleep between checks, should a wake-up be missed.
const MAX_SLEEP: Duration = Duration::from_secs(5);

/// Runs until `shutdown` changes to true; `wake` makes it look again at
/// once (another process wrote, see `crate::wakeups`).
pub async fn run(store: Store, fed: FedContext, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    loop {
        // A read first: woken by every commit on SQLite, the scheduler takes
        // the write lock only when an article is due.
        let due = match store.next_scheduled().await {
            Ok(next) => next.is_some_and(|at| at <= Utc::now()),
            Err(_) => true,
        };
        if due {
            match store.publish_due(Utc::now()).await {
                Ok(ids) => {
                    for id in ids {
                        tracing::info!(article = %id, "published scheduled article");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "publishing scheduled articles failed; will retry"),
            }
        }
        // The `Create`s of what was just published, and any change whose
        // deliveries were not queued yet (a crash right after a write, or a
        // write by `gazette publish` while this server runs).
        gazette_federation::federate_changes(&fed).await;
        let sleep = match store.next_scheduled().await {
            Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(MAX_SLEEP),
            _ => MAX_SLEEP,
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
            _ = wake.notified() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
