//! The outbound delivery queue: one row per (activity, inbox) until it is
//! delivered or given up. Workers claim due rows under a lease (a crashed
//! worker's rows become claimable again when it ends), failures are retried
//! with Mastodon's backoff, and each remote host has a circuit breaker and an
//! "unavailable" mark. The HTTP side lives in `gazette-delivery`.
//!
//! This file holds the types, the retry policy and queueing and claiming;
//! `results` records what became of attempts, `inspect` reads the queue.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::Row;

use crate::error::{StoreError, StoreResult};
use crate::ids::new_id;
use crate::sql::Sql;
use crate::time::{from_db, to_db};
use crate::{Store, dialect};

/// Rows per multi-row `INSERT` when queueing: 3 parameters each stays far
/// below SQLite's limit on bound parameters.
const INSERT_CHUNK: usize = 200;

mod inspect;
mod results;

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
    /// The digest of the signing actor's followers on this host, when the
    /// activity is addressed to them (FEP-8fcf's `Collection-Synchronization`).
    pub followers_digest: Option<String>,
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
    /// Queues `payload` (activity `activity_id`, signed by `actor_id`: an
    /// actor id, or one of its key ids to sign with that key) for
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
        self.enqueue_delivery_not_before(activity_id, actor_id, payload, inboxes, None)
            .await
    }

    /// [`Store::enqueue_delivery`], the deliveries due at `not_before`
    /// (now when `None`; key rotation's `Update` waits until every server
    /// on the database has heard of the new key).
    pub async fn enqueue_delivery_not_before(
        &self,
        activity_id: &str,
        actor_id: &str,
        payload: &str,
        inboxes: &[String],
        not_before: Option<DateTime<Utc>>,
    ) -> StoreResult<u64> {
        self.enqueue_delivery_with_digests(activity_id, actor_id, payload, inboxes, not_before, &HashMap::new())
            .await
    }

    /// [`Store::enqueue_delivery_not_before`], each delivery carrying the
    /// followers digest of its host from `digests` (host → digest, see
    /// [`Store::follower_digests`]; none for a host not in it), which the
    /// worker sends in the `Collection-Synchronization` header (FEP-8fcf).
    pub async fn enqueue_delivery_with_digests(
        &self,
        activity_id: &str,
        actor_id: &str,
        payload: &str,
        inboxes: &[String],
        not_before: Option<DateTime<Utc>>,
        digests: &HashMap<String, String>,
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
        let due = not_before.map_or(now, |t| to_db(t).max(now));
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
                "INSERT INTO deliveries (id, activity_id, inbox, host, status, attempts, next_attempt_at, created_at, updated_at,
                                         followers_digest)
                 VALUES ",
            );
            let activity = q.param(activity_id);
            let at = q.param(now);
            let due = q.param(due);
            for (i, (inbox, host)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" })
                    .bind(new_id())
                    .push(&format!(", {activity}, "))
                    .bind(*inbox)
                    .push(", ")
                    .bind(host.as_str())
                    .push(&format!(", 'pending', 0, {due}, {at}, {at}, "))
                    .bind(digests.get(host).map(String::as_str))
                    .push(")");
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
             RETURNING id, activity_id, inbox, host, attempts, next_attempt_at, followers_digest",
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
                    followers_digest: r.try_get("followers_digest")?,
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
