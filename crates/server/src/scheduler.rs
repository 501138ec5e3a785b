//! Publishes scheduled articles when their time comes. Safe with several
//! processes on one database: the store flips each article exactly once.

use std::time::Duration;

use chrono::Utc;
use gazette_federation::FedContext;
use gazette_store::Store;
use tokio::sync::watch;

/// Longest sleep between checks, so articles scheduled by another process or
/// through the API are noticed promptly.
const MAX_SLEEP: Duration = Duration::from_secs(5);

/// Runs until `shutdown` changes to true.
pub async fn run(store: Store, fed: FedContext, mut shutdown: watch::Receiver<bool>) {
    loop {
        match store.publish_due(Utc::now()).await {
            Ok(ids) => {
                for id in ids {
                    tracing::info!(article = %id, "published scheduled article");
                    // Only this process flipped it, so only this one sends the `Create`.
                    match store.find_article(&id).await {
                        Ok(Some(article)) => gazette_federation::federate_change(&fed, None, &article).await,
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(article = %id, error = %e, "cannot load published article to federate it")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "publishing scheduled articles failed; will retry"),
        }
        let sleep = match store.next_scheduled().await {
            Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(MAX_SLEEP),
            _ => MAX_SLEEP,
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
