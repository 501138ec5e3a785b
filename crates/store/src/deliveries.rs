//! The outbound delivery queue: one row per (activity, inbox) until it is
//! delivered or given up. Workers claim due rows under a lease (a crashed
//! worker's rows become claimable again when it ends), failures are retried
//! with Mastodon's backoff, and each remote host has a circuit breaker and an
//! "unavailable" mark. The HTTP side lives in `gazette-delivery`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{StoreError, StoreResult};
use crate::ids::new_id;
use crate::sql::Sql;
use crate::time::{from_db, from_db_opt, to_db};
use crate::{Store, dialect};

/// Rows per multi-row `INSERT` when queueing: 3 parameters each stays far
/// below SQLite's limit on bound parameters.
const INSERT_CHUNK: usize = 200;

/// How failed deliveries are retried. The defaults follow Mastodon; tests
/// shrink the durations so a whole schedule runs in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (Mastodon's Sidekiq makes 16: with the
    /// backoff below the last one comes about 2.1 days after the first failure).
    pub max_retries: i64,
    /// The unit of the backoff formula: one second in production.
    pub backoff_unit: Duration,
    /// A delivery still failing this long after it was queued is given up at
    /// its next failure, even with retries left (time spent behind an open
    /// circuit does not use retries).
    pub max_age: Duration,
    /// Consecutive failures on one host that open its circuit.
    pub circuit_threshold: i64,
    /// How long the circuit first stays open; it doubles with every further
    /// failure, up to `circuit_max`.
    pub circuit_base: Duration,
    pub circuit_max: Duration,
    /// A host failing without a single success for this long is marked
    /// unavailable: its pending deliveries are given up and new ones skipped
    /// until it speaks to us again ([`Store::host_alive`]).
    pub unavailable_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 16,
            backoff_unit: Duration::from_secs(1),
            max_age: Duration::from_secs(3 * 24 * 3600),
            circuit_threshold: 5,
            circuit_base: Duration::from_secs(60),
            circuit_max: Duration::from_secs(3600),
            unavailable_after: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failure number `failures` (1 for the first), Sidekiq's
    /// formula as Mastodon uses it: with n = failures − 1, n⁴ + 15 +
    /// jitter·(n + 1) units, where `jitter` is drawn from 0..10.
    pub fn backoff_with_jitter(&self, failures: i64, jitter: u32) -> Duration {
        let n = failures.clamp(1, 1000) as u64 - 1;
        let units = n.pow(4) + 15 + u64::from(jitter.min(9)) * (n + 1);
        self.backoff_unit
            .saturating_mul(u32::try_from(units).unwrap_or(u32::MAX))
    }

    /// [`RetryPolicy::backoff_with_jitter`] with random jitter, so retries of
    /// one fan-out spread out instead of arriving together.
    pub fn backoff(&self, failures: i64) -> Duration {
        self.backoff_with_jitter(failures, rand::rng().random_range(0..10))
    }

    /// How long a host's circuit opens after `consecutive_failures`, if at all.
    pub fn circuit_open_for(&self, consecutive_failures: i64) -> Option<Duration> {
        if consecutive_failures < self.circuit_threshold {
            return None;
        }
        let doublings = (consecutive_failures - self.circuit_threshold).min(20) as u32;
        Some(self.circuit_base.saturating_mul(1 << doublings).min(self.circuit_max))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    GivenUp,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::GivenUp => "given_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "given_up" => Some(DeliveryStatus::GivenUp),
            _ => None,
        }
    }
}

/// A claimed delivery: everything a worker needs to sign and send it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub activity_id: String,
    /// The local actor whose key signs the request.
    pub actor_id: String,
    pub inbox: String,
    /// `host[:port]` of the inbox, lowercase: the unit of the circuit breaker.
    pub host: String,
    /// The activity's JSON, sent byte for byte as stored.
    pub payload: String,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The end of this claim: past it another worker may take the row, so the
    /// holder must not start sending after it.
    pub locked_until: DateTime<Utc>,
}

/// A delivery as stored, for inspection (admin views, tests).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub activity_id: String,
    pub inbox: String,
    pub host: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What came of one attempt; the worker decides which it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The inbox accepted it (2xx).
    Delivered,
    /// Worth another try later (network error, timeout, 5xx, 401, 408, 429):
    /// counts against the host's circuit breaker.
    Retry(String),
    /// Like `Retry`, but the host said when to come back (`Retry-After` on a
    /// 429 or 503): the next attempt waits at least that long.
    RetryAfter(String, std::time::Duration),
    /// The host answered but refused for good (another 4xx, 501, a redirect):
    /// given up now. The host is alive, so its failure streak ends.
    Rejected(String),
    /// Given up without judging the host: the request was never sent (a
    /// private address, no key for the actor, an unusable inbox URL).
    Abandoned(String),
}

/// One attempt's result, as handed back by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    pub id: String,
    pub host: String,
    pub outcome: DeliveryOutcome,
}

/// What the queue did with a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    RetryAt(DateTime<Utc>),
    GivenUp,
    /// The row was no longer pending (given up meanwhile, or recorded twice).
    Ignored,
}

/// Per remote host: what is queued, what failed, and the breaker's state.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostDeliveryStats {
    /// `host[:port]` of the inboxes, lower case.
    #[cfg_attr(feature = "openapi", schema(examples("mastodon.social", "localhost:8001")))]
    pub host: String,
    /// Waiting for their first attempt.
    pub pending: i64,
    /// Failed at least once, with a retry scheduled.
    pub retrying: i64,
    /// Delivered and not yet purged (purged 7 days later).
    pub delivered: i64,
    /// Refused by the host, out of retries, or skipped; purged 7 days later.
    pub given_up: i64,
    /// Failing for 7 days without a success: its deliveries are given up
    /// until it speaks to us again.
    pub unavailable: bool,
    /// The failure streak; any answer from the host ends it.
    pub consecutive_failures: i64,
    /// While set, this host's deliveries wait (after 5 failures in a row).
    pub circuit_open_until: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", schema(examples("HTTP 503", "connection refused")))]
    pub last_error: Option<String>,
}

/// The queue across all hosts (see [`Store::delivery_summary`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeliverySummary {
    /// Waiting for their first attempt.
    pub pending: i64,
    /// Failed at least once, with a retry scheduled.
    pub retrying: i64,
    /// Delivered and not yet purged.
    pub delivered: i64,
    pub given_up: i64,
    /// When the oldest delivery still pending was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// Hosts whose circuit breaker is open now.
    pub open_circuits: i64,
}

impl Store {
    /// Queues `payload` (activity `activity_id`, signed by `actor_id`) for
    /// every inbox, in one transaction, and returns how many deliveries were
    /// queued. Repeated inboxes count once, an inbox that already has this
    /// activity is skipped, and so are hosts marked unavailable. Callers pass
    /// shared inboxes where servers have them (one POST per server).
    pub async fn enqueue_delivery(
        &self,
        activity_id: &str,
        actor_id: &str,
        payload: &str,
        inboxes: &[String],
    ) -> StoreResult<u64> {
        let mut seen = HashSet::new();
        let mut rows = Vec::new();
        for inbox in inboxes {
            if seen.insert(inbox.as_str()) {
                rows.push((inbox.as_str(), inbox_host(inbox)?));
            }
        }
        if rows.is_empty() {
            return Ok(0);
        }
        let now = to_db(crate::time::now());
        let mut tx = self.begin_write().await?;
        let unavailable: HashSet<String> = sqlx::query("SELECT host FROM delivery_hosts WHERE unavailable = 1")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("host"))
            .collect::<Result<_, _>>()?;
        rows.retain(|(_, host)| !unavailable.contains(host));
        if rows.is_empty() {
            return Ok(0);
        }
        sqlx::query(
            "INSERT INTO delivery_activities (id, actor_id, payload, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(activity_id)
        .bind(actor_id)
        .bind(payload)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut queued = 0;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut q = Sql::new(
                "INSERT INTO deliveries (id, activity_id, inbox, host, status, attempts, next_attempt_at, created_at, updated_at)
                 VALUES ",
            );
            let activity = q.param(activity_id);
            let at = q.param(now);
            for (i, (inbox, host)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" })
                    .bind(new_id())
                    .push(&format!(", {activity}, "))
                    .bind(*inbox)
                    .push(", ")
                    .bind(host.as_str())
                    .push(&format!(", 'pending', 0, {at}, {at}, {at})"));
            }
            q.push(" ON CONFLICT (activity_id, inbox) DO NOTHING");
            queued += q.query().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// Claims up to `limit` due deliveries for `lease`, at most `per_host` per
    /// host and none for `skip_hosts` (hosts the worker is already busy
    /// with), oldest due first. Rows of hosts whose circuit is open wait.
    /// On PostgreSQL several processes claim at once without ever getting
    /// the same row (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
        per_host: i64,
        skip_hosts: &[String],
    ) -> StoreResult<Vec<Delivery>> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let lease_end =
            now + chrono::Duration::from_std(lease).map_err(|e| StoreError::Config(format!("lease: {e}")))?;
        let mut q = Sql::default();
        let now = q.param(to_db(now));
        let lease = q.param(to_db(lease_end));
        let candidates = q.param(limit.saturating_mul(4));
        let per_host = q.param(per_host.max(1));
        let limit = q.param(limit);
        let skip = if skip_hosts.is_empty() {
            String::new()
        } else {
            format!("AND d.host NOT IN ({})", q.param_list(skip_hosts))
        };
        // Candidates are read in due order through the partial index, then
        // capped per host, so one host's backlog cannot fill a whole batch.
        // The outer filter repeats the row conditions: on PostgreSQL a row
        // another claimer updated meanwhile is re-checked against them.
        q.push(&format!(
            "UPDATE deliveries SET locked_until = {lease}
             WHERE id IN (
               SELECT id FROM deliveries
               WHERE id IN (
                 SELECT id FROM (
                   SELECT id, next_attempt_at,
                          ROW_NUMBER() OVER (PARTITION BY host ORDER BY next_attempt_at, id) AS host_rank
                   FROM (
                     SELECT d.id, d.host, d.next_attempt_at
                     FROM deliveries d LEFT JOIN delivery_hosts h ON h.host = d.host
                     WHERE d.status = 'pending' AND d.next_attempt_at <= {now}
                       AND (d.locked_until IS NULL OR d.locked_until <= {now})
                       AND (h.circuit_open_until IS NULL OR h.circuit_open_until <= {now})
                       {skip}
                     ORDER BY d.next_attempt_at, d.id LIMIT {candidates}
                   ) candidates
                 ) ranked
                 WHERE host_rank <= {per_host} ORDER BY next_attempt_at, id LIMIT {limit}
               )
               AND status = 'pending' AND (locked_until IS NULL OR locked_until <= {now})
               {lock}
             )
             RETURNING id, activity_id, inbox, host, attempts, next_attempt_at",
            lock = dialect::for_update_skip_locked(self.backend),
        ));
        let mut tx = self.begin_write().await?;
        let claimed = q.query().fetch_all(&mut *tx).await?;
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let activity_ids: Vec<String> = claimed
            .iter()
            .map(|r| r.try_get("activity_id"))
            .collect::<Result<HashSet<String>, _>>()?
            .into_iter()
            .collect();
        let mut q = Sql::new("SELECT id, actor_id, payload FROM delivery_activities WHERE id IN (");
        q.bind_list(&activity_ids).push(")");
        let mut activities = HashMap::new();
        for r in q.query().fetch_all(&mut *tx).await? {
            let id: String = r.try_get("id")?;
            activities.insert(
                id,
                (r.try_get::<String, _>("actor_id")?, r.try_get::<String, _>("payload")?),
            );
        }
        tx.commit().await?;
        let mut out = Vec::with_capacity(claimed.len());
        for r in &claimed {
            let activity_id: String = r.try_get("activity_id")?;
            let (actor_id, payload) = activities
                .get(&activity_id)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery of missing activity {activity_id}")))?;
            let due: i64 = r.try_get("next_attempt_at")?;
            out.push((
                due,
                Delivery {
                    id: r.try_get("id")?,
                    actor_id: actor_id.clone(),
                    payload: payload.clone(),
                    activity_id,
                    inbox: r.try_get("inbox")?,
                    host: r.try_get("host")?,
                    attempts: r.try_get("attempts")?,
                    locked_until: from_db(to_db(lease_end))?,
                },
            ));
        }
        // Oldest due first, as claimed (RETURNING promises no order).
        out.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        Ok(out.into_iter().map(|(_, d)| d).collect())
    }

    /// Gives claimed rows back without an attempt (a worker shutting down, or
    /// one that could not start in time), due again at `due`.
    pub async fn release_deliveries(&self, ids: &[String], due: DateTime<Utc>) -> StoreResult<()> {
        for chunk in ids.chunks(INSERT_CHUNK) {
            let mut q = Sql::new("UPDATE deliveries SET locked_until = NULL, next_attempt_at = ");
            q.bind(to_db(due))
                .push(" WHERE status = 'pending' AND id IN (")
                .bind_list(chunk)
                .push(")");
            q.query().execute(self.writer()).await?;
        }
        Ok(())
    }

    /// Records the results of attempts, in one transaction (a worker sends
    /// many at once: one commit for a batch keeps SQLite's fsyncs in check).
    pub async fn record_delivery_results(
        &self,
        now: DateTime<Utc>,
        results: &[DeliveryResult],
        policy: &RetryPolicy,
    ) -> StoreResult<Vec<Recorded>> {
        // Host rows are locked in one order (by name) whatever the batch's
        // order, so two processes recording at once on PostgreSQL cannot
        // deadlock on each other's hosts.
        let mut order: Vec<usize> = (0..results.len()).collect();
        order.sort_by(|&a, &b| {
            results[a]
                .host
                .cmp(&results[b].host)
                .then(results[a].id.cmp(&results[b].id))
        });
        let mut tx = self.begin_write().await?;
        let mut out: Vec<Option<Recorded>> = vec![None; results.len()];
        for i in order {
            out[i] = Some(record_one(&mut tx, now, &results[i], policy).await?);
        }
        tx.commit().await?;
        out.into_iter()
            .map(|r| r.ok_or_else(|| StoreError::Corrupt("a delivery result was not recorded".into())))
            .collect()
    }

    /// Records a successful delivery (see [`Store::record_delivery_results`]).
    pub async fn delivery_succeeded(&self, id: &str, host: &str, now: DateTime<Utc>) -> StoreResult<Recorded> {
        let result = DeliveryResult {
            id: id.into(),
            host: host.into(),
            outcome: DeliveryOutcome::Delivered,
        };
        self.record_one(now, result, &RetryPolicy::default()).await
    }

    /// Records a failed attempt: retried later with backoff when `retryable`
    /// (and counted against the host), given up at once otherwise.
    pub async fn delivery_failed(
        &self,
        id: &str,
        host: &str,
        now: DateTime<Utc>,
        error: &str,
        retryable: bool,
        policy: &RetryPolicy,
    ) -> StoreResult<Recorded> {
        let outcome = if retryable {
            DeliveryOutcome::Retry(error.into())
        } else {
            DeliveryOutcome::Rejected(error.into())
        };
        self.record_one(
            now,
            DeliveryResult {
                id: id.into(),
                host: host.into(),
                outcome,
            },
            policy,
        )
        .await
    }

    async fn record_one(
        &self,
        now: DateTime<Utc>,
        result: DeliveryResult,
        policy: &RetryPolicy,
    ) -> StoreResult<Recorded> {
        let recorded = self.record_delivery_results(now, &[result], policy).await?;
        recorded
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Corrupt("no result recorded".into()))
    }

    /// A host spoke to us (a valid signed activity arrived from it): clear
    /// its failure streak, close its circuit and lift the unavailable mark.
    /// Returns true when it was marked unavailable. Cheap when the host is
    /// healthy (nothing is written), so it can run on every inbox request.
    pub async fn host_alive(&self, host: &str) -> StoreResult<bool> {
        let host = host.to_ascii_lowercase();
        // Usually the host is healthy: one read, no write.
        let Some(row) = sqlx::query(
            "SELECT unavailable FROM delivery_hosts
             WHERE host = $1 AND (unavailable = 1 OR consecutive_failures > 0 OR circuit_open_until IS NOT NULL)",
        )
        .bind(&host)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(false);
        };
        let was = row.try_get::<i64, _>("unavailable")? == 1;
        sqlx::query(
            "UPDATE delivery_hosts SET unavailable = 0, consecutive_failures = 0, failing_since = NULL,
               circuit_open_until = NULL
             WHERE host = $1 AND (unavailable = 1 OR consecutive_failures > 0 OR circuit_open_until IS NOT NULL)",
        )
        .bind(&host)
        .execute(self.writer())
        .await?;
        Ok(was)
    }

    /// When a worker should look again: the next scheduled retry or circuit
    /// closing after `now`, if any. (Expired leases of crashed workers are
    /// not included: workers also poll at a fixed interval.)
    pub async fn next_delivery_wakeup(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at > $1) AS retry,
                    (SELECT MIN(circuit_open_until) FROM delivery_hosts WHERE circuit_open_until > $1) AS circuit",
        )
        .bind(to_db(now))
        .fetch_one(&self.pool)
        .await?;
        let retry: Option<i64> = row.try_get("retry")?;
        let circuit: Option<i64> = row.try_get("circuit")?;
        from_db_opt(match (retry, circuit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// When the oldest delivery still waiting (first attempt or retry) was
    /// queued; `None` when nothing waits. `gazette doctor` reports its age.
    pub async fn find_oldest_waiting_delivery(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MIN(created_at) AS oldest FROM deliveries WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await?;
        from_db_opt(row.try_get("oldest")?)
    }

    /// Counts per remote host, with each host's breaker state; sorted by host.
    pub async fn delivery_stats(&self) -> StoreResult<Vec<HostDeliveryStats>> {
        let counts = sqlx::query(
            "SELECT host,
                    COUNT(CASE WHEN status = 'pending' AND attempts = 0 THEN 1 END) AS pending,
                    COUNT(CASE WHEN status = 'pending' AND attempts > 0 THEN 1 END) AS retrying,
                    COUNT(CASE WHEN status = 'delivered' THEN 1 END) AS delivered,
                    COUNT(CASE WHEN status = 'given_up' THEN 1 END) AS given_up
             FROM deliveries GROUP BY host",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut stats: BTreeMap<String, HostDeliveryStats> = BTreeMap::new();
        for r in &counts {
            let host: String = r.try_get("host")?;
            stats.insert(
                host.clone(),
                HostDeliveryStats {
                    host,
                    pending: r.try_get("pending")?,
                    retrying: r.try_get("retrying")?,
                    delivered: r.try_get("delivered")?,
                    given_up: r.try_get("given_up")?,
                    ..Default::default()
                },
            );
        }
        let hosts = sqlx::query(
            "SELECT host, consecutive_failures, failing_since, circuit_open_until, unavailable, last_success_at,
                    last_failure_at, last_error
             FROM delivery_hosts",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in &hosts {
            let host: String = r.try_get("host")?;
            let s = stats.entry(host.clone()).or_insert_with(|| HostDeliveryStats {
                host,
                ..Default::default()
            });
            s.unavailable = r.try_get::<i64, _>("unavailable")? != 0;
            s.consecutive_failures = r.try_get("consecutive_failures")?;
            s.failing_since = from_db_opt(r.try_get("failing_since")?)?;
            s.circuit_open_until = from_db_opt(r.try_get("circuit_open_until")?)?;
            s.last_success_at = from_db_opt(r.try_get("last_success_at")?)?;
            s.last_failure_at = from_db_opt(r.try_get("last_failure_at")?)?;
            s.last_error = r.try_get("last_error")?;
        }
        Ok(stats.into_values().collect())
    }

    /// The whole queue in a few numbers, for `/metrics`: no per-host rows.
    pub async fn delivery_summary(&self, now: DateTime<Utc>) -> StoreResult<DeliverySummary> {
        let r = sqlx::query(
            "SELECT COUNT(CASE WHEN status = 'pending' AND attempts = 0 THEN 1 END) AS pending,
                    COUNT(CASE WHEN status = 'pending' AND attempts > 0 THEN 1 END) AS retrying,
                    COUNT(CASE WHEN status = 'delivered' THEN 1 END) AS delivered,
                    COUNT(CASE WHEN status = 'given_up' THEN 1 END) AS given_up,
                    MIN(CASE WHEN status = 'pending' THEN created_at END) AS oldest_pending
             FROM deliveries",
        )
        .fetch_one(&self.pool)
        .await?;
        let open = sqlx::query("SELECT COUNT(*) AS n FROM delivery_hosts WHERE circuit_open_until > $1")
            .bind(to_db(now))
            .fetch_one(&self.pool)
            .await?;
        Ok(DeliverySummary {
            pending: r.try_get("pending")?,
            retrying: r.try_get("retrying")?,
            delivered: r.try_get("delivered")?,
            given_up: r.try_get("given_up")?,
            oldest_pending: from_db_opt(r.try_get("oldest_pending")?)?,
            open_circuits: open.try_get("n")?,
        })
    }

    /// The deliveries of one activity, by inbox.
    pub async fn list_deliveries(&self, activity_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT id, activity_id, inbox, host, status, attempts, next_attempt_at, locked_until, last_error,
                    created_at, delivered_at
             FROM deliveries WHERE activity_id = $1 ORDER BY inbox",
        )
        .bind(activity_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Deletes delivered and given-up deliveries last changed before
    /// `before`, and activities left with none; returns the deliveries deleted.
    pub async fn purge_delivered(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM deliveries WHERE status <> 'pending' AND updated_at < $1")
            .bind(to_db(before))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM delivery_activities
             WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.activity_id = delivery_activities.id)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

async fn record_one(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    now: DateTime<Utc>,
    r: &DeliveryResult,
    policy: &RetryPolicy,
) -> StoreResult<Recorded> {
    let t = to_db(now);
    let Some(row) = sqlx::query("SELECT attempts, created_at FROM deliveries WHERE id = $1 AND status = 'pending'")
        .bind(&r.id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(Recorded::Ignored);
    };
    let attempts: i64 = row.try_get("attempts")?;
    let created_at = from_db(row.try_get("created_at")?)?;
    let recorded = match &r.outcome {
        DeliveryOutcome::Delivered => {
            sqlx::query(
                "UPDATE deliveries SET status = 'delivered', delivered_at = $2, updated_at = $2, locked_until = NULL,
                   last_error = NULL
                 WHERE id = $1",
            )
            .bind(&r.id)
            .bind(t)
            .execute(&mut **tx)
            .await?;
            host_answered(tx, &r.host, Some(t)).await?;
            Recorded::Delivered
        }
        DeliveryOutcome::Rejected(error) => {
            give_up(tx, &r.id, attempts + 1, error, t).await?;
            host_answered(tx, &r.host, None).await?;
            Recorded::GivenUp
        }
        DeliveryOutcome::Abandoned(error) => {
            give_up(tx, &r.id, attempts, error, t).await?;
            Recorded::GivenUp
        }
        DeliveryOutcome::Retry(error) | DeliveryOutcome::RetryAfter(error, _) => {
            let asked = match &r.outcome {
                DeliveryOutcome::RetryAfter(_, wait) => *wait,
                _ => Duration::ZERO,
            };
            let failures = attempts + 1;
            let too_old = now
                .signed_duration_since(created_at)
                .to_std()
                .is_ok_and(|age| age >= policy.max_age);
            let recorded = if failures > policy.max_retries || too_old {
                give_up(tx, &r.id, failures, error, t).await?;
                Recorded::GivenUp
            } else {
                let wait = policy.backoff(failures).max(asked);
                let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                sqlx::query(
                    "UPDATE deliveries SET attempts = $2, next_attempt_at = $3, last_error = $4, locked_until = NULL,
                       updated_at = $5
                     WHERE id = $1",
                )
                .bind(&r.id)
                .bind(failures)
                .bind(to_db(at))
                .bind(error)
                .bind(t)
                .execute(&mut **tx)
                .await?;
                Recorded::RetryAt(from_db(to_db(at))?)
            };
            if matches!(&r.outcome, DeliveryOutcome::RetryAfter(..)) && error.starts_with("HTTP 429") {
                // Throttled (e.g. a network coordinator's per-member rate):
                // the host is up and said when to come back, which the wait
                // above honours; opening its circuit would hold every other
                // delivery to it longer than it asked.
                host_answered(tx, &r.host, None).await?;
            } else if host_failed(tx, &r.host, now, error, policy).await? {
                // The host was just marked unavailable and all its rows given up.
                return Ok(Recorded::GivenUp);
            }
            recorded
        }
    };
    Ok(recorded)
}

async fn give_up(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: &str,
    attempts: i64,
    error: &str,
    t: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE deliveries SET status = 'given_up', attempts = $2, last_error = $3, locked_until = NULL, updated_at = $4
         WHERE id = $1",
    )
    .bind(id)
    .bind(attempts)
    .bind(error)
    .bind(t)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The host answered (`success_at` when it accepted): its failure streak ends.
async fn host_answered(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    host: &str,
    success_at: Option<i64>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO delivery_hosts (host, consecutive_failures, unavailable, last_success_at) VALUES ($1, 0, 0, $2)
         ON CONFLICT (host) DO UPDATE SET consecutive_failures = 0, failing_since = NULL, circuit_open_until = NULL,
           unavailable = 0, last_success_at = COALESCE(excluded.last_success_at, delivery_hosts.last_success_at)",
    )
    .bind(host)
    .bind(success_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Counts a failure against the host; opens its circuit after a streak, and
/// marks it unavailable (giving up its pending rows) after failing for days.
/// Returns true when it was marked unavailable now.
async fn host_failed(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    host: &str,
    now: DateTime<Utc>,
    error: &str,
    policy: &RetryPolicy,
) -> StoreResult<bool> {
    let t = to_db(now);
    let row = sqlx::query(
        "INSERT INTO delivery_hosts (host, consecutive_failures, failing_since, unavailable, last_failure_at, last_error)
         VALUES ($1, 1, $2, 0, $2, $3)
         ON CONFLICT (host) DO UPDATE SET consecutive_failures = delivery_hosts.consecutive_failures + 1,
           failing_since = COALESCE(delivery_hosts.failing_since, excluded.failing_since),
           last_failure_at = excluded.last_failure_at, last_error = excluded.last_error
         RETURNING consecutive_failures, failing_since, unavailable",
    )
    .bind(host)
    .bind(t)
    .bind(error)
    .fetch_one(&mut **tx)
    .await?;
    let failures: i64 = row.try_get("consecutive_failures")?;
    let failing_since = from_db_opt(row.try_get("failing_since")?)?.unwrap_or(now);
    let unavailable = row.try_get::<i64, _>("unavailable")? != 0;
    if let Some(open_for) = policy.circuit_open_for(failures) {
        let until = now + chrono::Duration::from_std(open_for).unwrap_or(chrono::Duration::MAX);
        sqlx::query("UPDATE delivery_hosts SET circuit_open_until = $2 WHERE host = $1")
            .bind(host)
            .bind(to_db(until))
            .execute(&mut **tx)
            .await?;
    }
    let failing_for = now.signed_duration_since(failing_since).to_std().unwrap_or_default();
    if unavailable || failing_for < policy.unavailable_after {
        return Ok(false);
    }
    sqlx::query("UPDATE delivery_hosts SET unavailable = 1 WHERE host = $1")
        .bind(host)
        .execute(&mut **tx)
        .await?;
    let why = format!("host unavailable: failing since {}", failing_since.to_rfc3339());
    sqlx::query(
        "UPDATE deliveries SET status = 'given_up', last_error = $2, locked_until = NULL, updated_at = $3
         WHERE host = $1 AND status = 'pending'",
    )
    .bind(host)
    .bind(&why)
    .bind(t)
    .execute(&mut **tx)
    .await?;
    tracing::warn!(
        host,
        "marked unavailable after failing for {} days",
        failing_for.as_secs() / 86_400
    );
    Ok(true)
}

fn record_from_row(r: &AnyRow) -> StoreResult<DeliveryRecord> {
    let status: String = r.try_get("status")?;
    Ok(DeliveryRecord {
        id: r.try_get("id")?,
        activity_id: r.try_get("activity_id")?,
        inbox: r.try_get("inbox")?,
        host: r.try_get("host")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: from_db(r.try_get("next_attempt_at")?)?,
        locked_until: from_db_opt(r.try_get("locked_until")?)?,
        last_error: r.try_get("last_error")?,
        created_at: from_db(r.try_get("created_at")?)?,
        delivered_at: from_db_opt(r.try_get("delivered_at")?)?,
    })
}

/// The `host[:port]` an inbox URL points at, lowercase, without a default
/// port, so `https://A.example:443/inbox` and `https://a.example/x` share one
/// circuit breaker, while `localhost:8001` and `localhost:8002` are two hosts.
pub fn inbox_host(inbox: &str) -> StoreResult<String> {
    let invalid = || StoreError::Invalid {
        field: "inbox",
        message: format!("`{inbox}` is not an http(s) URL"),
    };
    let scheme_end = inbox.find("://").ok_or_else(invalid)?;
    let default_port = match inbox[..scheme_end].to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return Err(invalid()),
    };
    let rest = &inbox[scheme_end + 3..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    if host.is_empty() || host.starts_with(':') || host.contains(char::is_whitespace) {
        return Err(invalid());
    }
    Ok(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_inboxes() {
        assert_eq!(inbox_host("https://M.example/inbox").unwrap(), "m.example");
        assert_eq!(inbox_host("https://m.example:443/users/a/inbox").unwrap(), "m.example");
        assert_eq!(inbox_host("http://localhost:8001/inbox").unwrap(), "localhost:8001");
        assert_eq!(inbox_host("https://u:p@m.example:8443?x").unwrap(), "m.example:8443");
        assert_eq!(inbox_host("http://[::1]:80/inbox").unwrap(), "[::1]");
        for bad in [
            "m.example/inbox",
            "ftp://m.example/",
            "https:///inbox",
            "https://:443/x",
        ] {
            assert!(inbox_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_follows_sidekiq() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_with_jitter(1, 0), Duration::from_secs(15));
        assert_eq!(p.backoff_with_jitter(1, 9), Duration::from_secs(24));
        assert_eq!(p.backoff_with_jitter(3, 0), Duration::from_secs(16 + 15));
        assert_eq!(p.backoff_with_jitter(16, 9), Duration::from_secs(50_625 + 15 + 9 * 16));
        // The whole schedule: 16 retries take about 2.1 days on average.
        let total: u64 = (1..=p.max_retries)
            .map(|f| p.backoff_with_jitter(f, 0).as_secs() + 4 * f as u64)
            .sum();
        assert!((1.9..2.2).contains(&(total as f64 / 86_400.0)), "{total}");
    }

    #[test]
    fn circuit_grows_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.circuit_open_for(4), None);
        assert_eq!(p.circuit_open_for(5), Some(Duration::from_secs(60)));
        assert_eq!(p.circuit_open_for(6), Some(Duration::from_secs(120)));
        assert_eq!(p.circuit_open_for(50), Some(Duration::from_secs(3600)));
    }
}
