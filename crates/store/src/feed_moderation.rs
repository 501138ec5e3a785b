//! What moderators of the shared feed see and change: recent items with
//! whether they are hidden, and one item's moderation state. Kept apart from
//! the readers' queries in `shared_feed`.

use gazette_core::MemberStatus;
use sqlx::Row;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::from_db;

/// A feed item as the moderation list shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModeratedItem {
    pub id: String,
    pub url: Option<String>,
    pub title: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
    pub hidden: bool,
    /// The network actor's standing `Announce` of it, if any.
    pub announce_id: Option<String>,
    pub member: String,
    pub member_name: String,
    /// `name@host`.
    pub member_handle: String,
    pub member_status: MemberStatus,
}

const COLUMNS: &str = "i.id, i.url, i.title, i.published_at, i.hidden, i.announce_id, i.member, \
     m.name AS member_name, m.handle AS member_handle, m.status AS member_status";

impl Store {
    /// Items not deleted at their origin, newest first (only the hidden
    /// ones with `hidden_only`), and how many there are.
    pub async fn moderation_items(
        &self,
        hidden_only: bool,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<ModeratedItem>, i64)> {
        let only = i64::from(hidden_only);
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM network_items i WHERE i.deleted_at IS NULL AND ($1 = 0 OR i.hidden = 1)",
        )
        .bind(only)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM network_items i JOIN network_members m ON m.actor = i.member
             WHERE i.deleted_at IS NULL AND ($1 = 0 OR i.hidden = 1)
             ORDER BY i.published_at DESC, i.id DESC LIMIT $2 OFFSET $3"
        )))
        .bind(only)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(item_from_row).collect::<StoreResult<_>>()?;
        Ok((items, total))
    }

    /// One item's moderation state (not deleted ones).
    pub async fn find_moderated_item(&self, id: &str) -> StoreResult<Option<ModeratedItem>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM network_items i JOIN network_members m ON m.actor = i.member
             WHERE i.id = $1 AND i.deleted_at IS NULL"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(item_from_row).transpose()
    }
}

fn item_from_row(r: &sqlx::any::AnyRow) -> StoreResult<ModeratedItem> {
    let status: String = r.try_get("member_status")?;
    Ok(ModeratedItem {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        title: r.try_get("title")?,
        published_at: from_db(r.try_get("published_at")?)?,
        hidden: r.try_get::<i64, _>("hidden")? != 0,
        announce_id: r.try_get("announce_id")?,
        member: r.try_get("member")?,
        member_name: r.try_get("member_name")?,
        member_handle: r.try_get("member_handle")?,
        member_status: MemberStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("member status {status}")))?,
    })
}
