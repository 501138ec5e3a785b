//! What the queue holds, for the worker's timer, the admin and metrics:
//! the next wake-up, per-host statistics, a summary, one activity's
//! deliveries, and purging delivered rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{DeliveryRecord, DeliveryStatus, DeliverySummary, HostDeliveryStats};
use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, from_db_opt, to_db};

impl Store {
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
