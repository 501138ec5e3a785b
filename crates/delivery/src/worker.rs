//! The worker loop: claim due deliveries, send them with bounded
//! concurrency (overall and per host), hand the results to a recorder that
//! writes them in batches, and sleep until something is due, a claim frees
//! room, or an enqueue wakes it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use gazette_federation::signatures::knock::Knocker;
use gazette_store::{Delivery, DeliveryOutcome, DeliveryResult, Recorded, RetryPolicy, Store, StoreResult};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::DeliveryConfig;
use crate::error::DeliveryError;
use crate::send::{self, Attempt};
use crate::signing::{KeyChanges, KeySource, Signer};

/// Results written per transaction at most.
const RECORD_BATCH: usize = 256;
/// Tries to record a batch of results before leaving them to lease expiry.
const RECORD_TRIES: u32 = 5;
/// A delivery handed back because its key could not be looked up waits this long.
const KEY_LOOKUP_PAUSE: Duration = Duration::from_secs(30);

/// Sends queued deliveries until shut down. Several workers (one per
/// process) may share a PostgreSQL database; SQLite takes one.
pub struct Worker<K> {
    shared: Arc<Shared<K>>,
    wake: Arc<Notify>,
    keys: KeyChanges,
}

struct Shared<K> {
    store: Store,
    config: DeliveryConfig,
    client: reqwest::Client,
    signer: Signer<K>,
    knocker: Knocker,
    hosts: Arc<HostSlots>,
}

/// Queues deliveries and wakes the worker, so publishing only waits for the
/// database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DeliveryHandle {
    store: Store,
    wake: Arc<Notify>,
    keys: KeyChanges,
}

impl DeliveryHandle {
    /// Queues `payload` for `inboxes` (see [`Store::enqueue_delivery`]) and
    /// wakes the worker; returns how many deliveries were queued.
    pub async fn enqueue(
        &self,
        activity_id: &str,
        actor_id: &str,
        payload: &str,
        inboxes: &[String],
    ) -> StoreResult<u64> {
        let queued = self
            .store
            .enqueue_delivery(activity_id, actor_id, payload, inboxes)
            .await?;
        if queued > 0 {
            self.wake();
        }
        Ok(queued)
    }

    /// Makes the worker look at the queue now (after queueing directly
    /// through the store, or after [`Store::host_alive`] revived a host).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Makes the worker check its cached signing keys again before it next
    /// signs (another process may have rotated one: `gazette keys rotate`).
    pub fn keys_may_have_changed(&self) {
        self.keys.changed();
    }
}

impl<K: KeySource> Worker<K> {
    /// A worker with its own client, built from `config` (see
    /// [`DeliveryConfig::http`]); a server passes its shared client to
    /// [`Worker::with_client`] instead.
    pub fn new(store: Store, config: DeliveryConfig, keys: K) -> Result<Self, DeliveryError> {
        let client = gazette_http::build_client(&config.http())?;
        Self::with_client(store, config, keys, client)
    }

    /// A worker sending through `client`, which must come from
    /// `gazette_http::build_client` (User-Agent, no redirects, address guard);
    /// `config.allow_private_addresses` should match the client's.
    pub fn with_client(
        store: Store,
        config: DeliveryConfig,
        keys: K,
        client: reqwest::Client,
    ) -> Result<Self, DeliveryError> {
        if config.concurrency == 0 || config.per_host_concurrency == 0 {
            return Err(DeliveryError::Config("concurrency must be at least 1".into()));
        }
        if config.lease <= config.request_timeout {
            return Err(DeliveryError::Config(format!(
                "the lease ({:?}) must be longer than the request timeout ({:?})",
                config.lease, config.request_timeout
            )));
        }
        let key_changes = KeyChanges::default();
        let signer = Signer::with_changes(keys, config.key_cache_ttl, key_changes.clone());
        let knocker = Knocker::new(store.clone(), config.signature, config.signature_recheck);
        let hosts = Arc::new(HostSlots {
            per_host: config.per_host_concurrency,
            map: Mutex::new(HashMap::new()),
        });
        Ok(Worker {
            shared: Arc::new(Shared {
                store,
                config,
                client,
                signer,
                knocker,
                hosts,
            }),
            wake: Arc::new(Notify::new()),
            keys: key_changes,
        })
    }

    pub fn handle(&self) -> DeliveryHandle {
        DeliveryHandle {
            store: self.shared.store.clone(),
            wake: self.wake.clone(),
            keys: self.keys.clone(),
        }
    }

    /// Runs until `shutdown` completes; then hands back deliveries not yet
    /// started, lets requests in flight finish (within the request timeout)
    /// and records their results. If this future is dropped instead (or the
    /// process dies), claimed deliveries go out again when their lease ends.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let shared = self.shared;
        let config = &shared.config;
        let (results, results_rx) = mpsc::channel(config.concurrency * 2);
        let recorder = tokio::spawn(record_results(shared.store.clone(), config.retry.clone(), results_rx));
        let (stop, stopped) = watch::channel(false);
        let global = Arc::new(Semaphore::new(config.concurrency));
        // Claiming a handful of rows costs as much as claiming many: wait for
        // a quarter of the room before claiming again while work is queued.
        let refill = (config.concurrency / 4).max(1);
        let mut tasks = JoinSet::new();
        let mut error_pause = Duration::from_millis(250);
        tokio::pin!(shutdown);

        'run: loop {
            let free = global.available_permits();
            let mut full_batch = false;
            if free > 0 {
                let skip = shared.hosts.saturated();
                let claimed = shared
                    .store
                    .claim_deliveries(
                        Utc::now(),
                        config.lease,
                        free as i64,
                        config.per_host_concurrency as i64,
                        &skip,
                    )
                    .await;
                match claimed {
                    Ok(batch) => {
                        error_pause = Duration::from_millis(250);
                        full_batch = batch.len() >= free;
                        for d in batch {
                            // Only this loop takes permits, and it claimed no more than were free.
                            let Ok(permit) = global.clone().try_acquire_owned() else {
                                release(&shared.store, &d, Utc::now()).await;
                                continue;
                            };
                            let slot = shared.hosts.assign(&d.host);
                            let task = deliver(shared.clone(), d, permit, slot, results.clone(), stopped.clone());
                            tasks.spawn(task);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming deliveries failed");
                        tokio::select! {
                            _ = &mut shutdown => break 'run,
                            _ = tokio::time::sleep(error_pause) => {}
                        }
                        error_pause = (error_pause * 2).min(config.poll_interval);
                        continue;
                    }
                }
            }
            // With no room left, or a full batch (more may be due), only
            // finishing tasks matter; otherwise sleep until something is due.
            let pause = if free == 0 || full_batch {
                config.poll_interval
            } else {
                next_wakeup(&shared.store, config.poll_interval).await
            };
            let deadline = Instant::now() + pause;
            loop {
                tokio::select! {
                    biased;
                    _ = &mut shutdown => break 'run,
                    _ = self.wake.notified() => break,
                    _ = tokio::time::sleep_until(deadline) => break,
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                        if global.available_permits() >= refill || tasks.is_empty() {
                            break;
                        }
                    }
                }
            }
        }

        let _ = stop.send(true);
        while tasks.join_next().await.is_some() {}
        drop(results);
        if let Err(e) = recorder.await {
            tracing::error!(error = %e, "the delivery recorder failed");
        }
    }
}

/// How long to sleep: until the next retry or circuit closing, at most `poll`.
async fn next_wakeup(store: &Store, poll: Duration) -> Duration {
    let now = Utc::now();
    match store.next_delivery_wakeup(now).await {
        Ok(Some(at)) => (at - now).to_std().unwrap_or_default().min(poll),
        Ok(None) => poll,
        Err(e) => {
            tracing::warn!(error = %e, "reading the delivery queue failed");
            poll
        }
    }
}

async fn deliver<K: KeySource>(
    shared: Arc<Shared<K>>,
    d: Delivery,
    _permit: OwnedSemaphorePermit,
    slot: HostGuard,
    results: mpsc::Sender<DeliveryResult>,
    mut stopped: watch::Receiver<bool>,
) {
    let host_permit = tokio::select! {
        permit = slot.permits.clone().acquire_owned() => permit.ok(),
        _ = stopped.wait_for(|stop| *stop) => None,
    };
    let Some(_host_permit) = host_permit else {
        release(&shared.store, &d, Utc::now()).await;
        return;
    };
    // Never start a request that could outlast the lease: past it another
    // worker may claim the row and send it too.
    let left = (d.locked_until - Utc::now()).to_std().unwrap_or_default();
    if left < shared.config.request_timeout {
        release(&shared.store, &d, Utc::now()).await;
        return;
    }
    let last = slot.alone();
    match send::attempt(
        &shared.client,
        &shared.signer,
        &shared.knocker,
        &shared.config,
        &d,
        last,
    )
    .await
    {
        Attempt::Done(outcome) => {
            if let DeliveryOutcome::Retry(error) | DeliveryOutcome::RetryAfter(error, _) = &outcome {
                tracing::debug!(inbox = %d.inbox, attempts = d.attempts + 1, %error, "delivery failed");
            }
            let result = DeliveryResult {
                id: d.id,
                host: d.host,
                outcome,
            };
            // The recorder only stops after every task has ended.
            let _ = results.send(result).await;
        }
        Attempt::Release(why) => {
            tracing::warn!(inbox = %d.inbox, error = %why, "delivery postponed");
            let due = Utc::now() + chrono::Duration::from_std(KEY_LOOKUP_PAUSE).unwrap_or_default();
            release(&shared.store, &d, due).await;
        }
    }
}

async fn release(store: &Store, d: &Delivery, due: chrono::DateTime<Utc>) {
    if let Err(e) = store.release_deliveries(std::slice::from_ref(&d.id), due).await {
        // Not fatal: the row comes back when its lease ends.
        tracing::warn!(error = %e, id = %d.id, "handing a delivery back failed");
    }
}

/// Writes results in batches: one transaction for many deliveries keeps
/// SQLite's commits (each an fsync) from limiting throughput.
async fn record_results(store: Store, policy: RetryPolicy, mut rx: mpsc::Receiver<DeliveryResult>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while rx.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let mut pause = Duration::from_millis(100);
        for attempt in 1..=RECORD_TRIES {
            match store.record_delivery_results(Utc::now(), &batch, &policy).await {
                Ok(recorded) => {
                    for (result, recorded) in batch.iter().zip(recorded) {
                        log_recorded(result, recorded);
                    }
                    break;
                }
                Err(e) if attempt < RECORD_TRIES => {
                    tracing::warn!(error = %e, "recording delivery results failed; trying again");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => tracing::error!(
                    error = %e,
                    count = batch.len(),
                    "recording delivery results failed; these deliveries will be sent again when their lease ends"
                ),
            }
        }
        batch.clear();
    }
}

fn log_recorded(result: &DeliveryResult, recorded: Recorded) {
    let error = match &result.outcome {
        DeliveryOutcome::Delivered => None,
        DeliveryOutcome::Retry(e)
        | DeliveryOutcome::RetryAfter(e, _)
        | DeliveryOutcome::Rejected(e)
        | DeliveryOutcome::Abandoned(e) => Some(e.as_str()),
    };
    match recorded {
        Recorded::GivenUp => {
            tracing::warn!(id = %result.id, host = %result.host, error = error.unwrap_or_default(), "delivery given up")
        }
        Recorded::RetryAt(at) => tracing::debug!(id = %result.id, host = %result.host, %at, "delivery will be retried"),
        Recorded::Delivered => tracing::trace!(id = %result.id, host = %result.host, "delivered"),
        Recorded::Ignored => {}
    }
}

/// Deliveries handed to tasks per host (sending or waiting), with the
/// semaphore that lets `per_host` of them send at once.
struct HostSlots {
    per_host: usize,
    map: Mutex<HashMap<String, HostSlot>>,
}

struct HostSlot {
    permits: Arc<Semaphore>,
    assigned: usize,
}

/// A task's place with its host; gives it up when dropped.
struct HostGuard {
    slots: Arc<HostSlots>,
    host: String,
    permits: Arc<Semaphore>,
}

impl HostSlots {
    fn assign(self: &Arc<Self>, host: &str) -> HostGuard {
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let slot = map.entry(host.to_owned()).or_insert_with(|| HostSlot {
            permits: Arc::new(Semaphore::new(self.per_host)),
            assigned: 0,
        });
        slot.assigned += 1;
        HostGuard {
            slots: self.clone(),
            host: host.to_owned(),
            permits: slot.permits.clone(),
        }
    }

    /// Hosts with as many deliveries in hand as they may have in flight:
    /// claiming more for them would only make those wait.
    fn saturated(&self) -> Vec<String> {
        let map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.iter()
            .filter(|(_, slot)| slot.assigned >= self.per_host)
            .map(|(host, _)| host.clone())
            .collect()
    }
}

impl HostGuard {
    /// No other delivery to this host is in hand (sending or waiting).
    fn alone(&self) -> bool {
        let map = self.slots.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(&self.host).is_none_or(|slot| slot.assigned <= 1)
    }
}

impl Drop for HostGuard {
    fn drop(&mut self) {
        let mut map = self.slots.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(slot) = map.get_mut(&self.host) {
            slot.assigned = slot.assigned.saturating_sub(1);
            // Forget idle hosts so the map does not grow with every host ever seen.
            if slot.assigned == 0 {
                map.remove(&self.host);
            }
        }
    }
}
