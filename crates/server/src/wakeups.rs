//! Starts work written by another process at once: a `gazette publish`,
//! `gazette follow` or a second server queues deliveries or schedules an
//! article in the database, and this task wakes the delivery worker, the
//! scheduler and the newsletter's sender when the store reports a change (`Store::changes`:
//! PostgreSQL notifications, SQLite's change counter), instead of leaving
//! them to their next poll.

use std::sync::Arc;
use std::time::Duration;

use gazette_delivery::DeliveryHandle;
use gazette_store::Store;
use tokio::sync::{Notify, watch};

/// Wait before watching again after the watch failed (the database went away).
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Runs until `shutdown` turns true; `others` (the scheduler, the
/// newsletter's sender) are woken with the delivery worker.
pub async fn run(store: Store, worker: DeliveryHandle, others: Vec<Arc<Notify>>, mut shutdown: watch::Receiver<bool>) {
    let wake_all = || {
        worker.wake();
        for other in &others {
            other.notify_one();
        }
    };
    loop {
        match store.changes().await {
            Ok(mut changes) => loop {
                tokio::select! {
                    changed = changes.changed() => match changed {
                        Ok(()) => wake_all(),
                        Err(e) => {
                            tracing::warn!(error = %e, "watching the database for changes failed; will retry");
                            break;
                        }
                    },
                    _ = shutdown.changed() => return,
                }
            },
            Err(e) => tracing::warn!(error = %e, "cannot watch the database for changes; will retry"),
        }
        // What was written meanwhile is still found by the workers' and the scheduler's polls.
        wake_all();
        tokio::select! {
            _ = tokio::time::sleep(RETRY_AFTER) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
