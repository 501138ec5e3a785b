//! Reports (`Flag` activities) other servers send about content or accounts
//! here, listed for moderators.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, now, to_db};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// The `Flag` activity's id.
    pub id: String,
    /// Who reported (often a server's instance actor).
    pub reporter: String,
    /// The reported actors and objects.
    pub targets: Vec<String>,
    /// The reporter's comment.
    pub content: String,
    /// `open` or `resolved`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Stores a report; a repeated one (same id) is ignored.
    pub async fn add_report(&self, id: &str, reporter: &str, targets: &[String], content: &str) -> StoreResult<bool> {
        let targets = serde_json::to_string(targets).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "INSERT INTO reports (id, reporter, targets, content, status, created_at) VALUES ($1, $2, $3, $4, 'open', $5)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(reporter)
        .bind(targets)
        .bind(content)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Reports, newest first; only open ones unless `all`.
    pub async fn list_reports(&self, all: bool) -> StoreResult<Vec<Report>> {
        let rows = sqlx::query(
            "SELECT id, reporter, targets, content, status, created_at FROM reports
             WHERE ($1 = 1 OR status = 'open') ORDER BY created_at DESC, id",
        )
        .bind(i64::from(all))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(report_from_row).collect()
    }

    /// Marks a report handled.
    pub async fn resolve_report(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE reports SET status = 'resolved' WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("report", id));
        }
        Ok(())
    }
}

fn report_from_row(r: &AnyRow) -> StoreResult<Report> {
    let targets: String = r.try_get("targets")?;
    Ok(Report {
        id: r.try_get("id")?,
        reporter: r.try_get("reporter")?,
        targets: serde_json::from_str(&targets).map_err(|e| StoreError::Corrupt(format!("report targets: {e}")))?,
        content: r.try_get("content")?,
        status: r.try_get("status")?,
        created_at: from_db(r.try_get("created_at")?)?,
    })
}
