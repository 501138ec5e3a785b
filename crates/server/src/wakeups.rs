//! Starts work written by another process at once: a `gazette publish`,
//! `gazette follow` or a second server queues deliveries or schedules an
//! article in the database, and this task wakes the delivery worker, the
//! scheduler and the newsletter's sender when the store reports a change (`Store::changes`:
//! PostgreSQL notifications, SQLite's change counter), instead of leaving
//! them to their next poll. It also empties the web layer's cache of
//! public answers on every change of content (and keeps it off while the
//! watch is down), so no process serves a page older than the signal's
//! delay, and has the delivery worker check its cached signing keys
//! again (a key rotated by another process signs at once) and the inbox
//! its answers kept for a moment: block lists, network members, the
//! network actor's follower inboxes (a block by another process refuses,
//! a member it approved or suspended is seen as such, and a follow it
//! accepted gets the next boost, within the signal's delay, as pages
//! change within it).

use std::sync::Arc;
use std::time::Duration;

use gazette_delivery::DeliveryHandle;
use gazette_store::Store;
use gazette_web::ResponseCache;
use tokio::sync::{Notify, watch};

/// Wait before watching again after the watch failed (the database went away).
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Runs until `shutdown` turns true; `others` (the scheduler, the
/// newsletter's sender) are woken with the delivery worker.
pub async fn run(
    store: Store,
    worker: DeliveryHandle,
    others: Vec<Arc<Notify>>,
    cache: ResponseCache,
    mut shutdown: watch::Receiver<bool>,
) {
    let wake_all = || {
        worker.wake();
        for other in &others {
            other.notify_one();
        }
    };
    loop {
        match store.changes().await {
            Ok(mut changes) => {
                // Watching from here on: what was written before is not in the cache.
                cache.watching(true);
                loop {
                    tokio::select! {
                        changed = changes.changed() => match changed {
                            Ok(change) => {
                                // Delivery bookkeeping (a commit per delivery
                                // while an article goes out) keeps the pages.
                                if change.content {
                                    // Before the pages: a page seen fresh means the inbox
                                    // sees another process's blocks, members and follows too.
                                    if let Err(e) = store.recheck_inbox_caches().await {
                                        tracing::warn!(error = %e, "cannot check the inbox's kept answers again");
                                    }
                                    cache.invalidate();
                                    // A key rotated by `gazette keys rotate` signs at once.
                                    worker.keys_may_have_changed();
                                }
                                wake_all();
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "watching the database for changes failed; will retry");
                                break;
                            }
                        },
                        _ = shutdown.changed() => return,
                    }
                }
                cache.watching(false);
            }
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
