//! Recording what became of each attempt: delivered, retried later with
//! backoff, or given up; and each host's circuit breaker and "unavailable"
//! mark, which attempts open and answers close.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{DeliveryOutcome, DeliveryResult, Recorded, RetryPolicy};
use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, from_db_opt, to_db};

impl Store {
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
