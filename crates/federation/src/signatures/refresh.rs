//! Fetching a sender's key again after its signature failed against the
//! stored one, so that a key rotation works: once per actor per
//! [`REFETCH_INTERVAL`] (forged requests cannot make us fetch in a loop),
//! and single flight: requests failing at the same time wait for the one
//! fetch and then read what it stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;

use crate::context::FedContext;
use crate::remote::DbRemoteActor;

/// How often the key of one sender may be fetched again.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Slots at most; past it, the idle ones are dropped.
const MAX_SLOTS: usize = 10_000;

/// Per actor, when its key was last fetched again (the async lock is the single flight).
#[derive(Default)]
pub struct KeyRefresh {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

impl KeyRefresh {
    /// The actor `id` as its server serves it now, if its key differs from
    /// `stale_pem` (the one that did not verify); `None` when it is the same,
    /// cannot be fetched, or was fetched again too recently to say.
    pub async fn changed_key(
        &self,
        data: &Data<FedContext>,
        id: &ObjectId<DbRemoteActor>,
        stale_pem: &str,
    ) -> Option<DbRemoteActor> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() >= MAX_SLOTS {
                slots.retain(|_, s| Arc::strong_count(s) > 1);
            }
            slots.entry(id.inner().to_string()).or_default().clone()
        };
        let mut last = slot.lock().await;
        let fresh = match *last {
            // Fetched a moment ago, maybe while we waited: read what that fetch stored.
            Some(at) if at.elapsed() < REFETCH_INTERVAL => id.dereference(data).await,
            _ => {
                *last = Some(Instant::now());
                id.dereference_forced(data).await
            }
        };
        match fresh {
            Ok(actor) if actor.actor.public_key_pem != stale_pem => {
                tracing::info!(actor = %id.inner(), "sender's key changed; checking the signature again");
                Some(actor)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(actor = %id.inner(), error = %e, "cannot fetch the sender again after a bad signature");
                None
            }
        }
    }
}
