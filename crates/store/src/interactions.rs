//! Likes, boosts and replies that local actors send to remote objects.

use gazette_core::{InteractionKind, OutboundInteraction};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, from_db_opt, now, to_db};

const COLUMNS: &str = "id, actor_id, kind, object_id, object_actor, source, content, created_at, deleted_at, context";

impl Store {
    /// Records a like, boost or reply. A second like or boost of the same
    /// object by the same actor is a conflict.
    pub async fn add_outbound_interaction(&self, i: &OutboundInteraction) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO outbound_interactions (id, actor_id, kind, object_id, object_actor, source, content, created_at, context)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&i.id)
        .bind(&i.actor_id)
        .bind(i.kind.as_str())
        .bind(&i.object_id)
        .bind(&i.object_actor)
        .bind(&i.source)
        .bind(&i.content_html)
        .bind(to_db(i.created_at))
        .bind(&i.context)
        .execute(self.writer())
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict {
                    field: "object",
                    message: format!("{} was already sent for {}", i.kind.as_str(), i.object_id),
                }
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    pub async fn find_outbound_interaction(&self, id: &str) -> StoreResult<Option<OutboundInteraction>> {
        let sql = format!("SELECT {COLUMNS} FROM outbound_interactions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(interaction_from_row).transpose()
    }

    /// The live like or boost of `object` by `actor`, if any.
    pub async fn find_outbound_by_object(
        &self,
        actor: &str,
        kind: InteractionKind,
        object: &str,
    ) -> StoreResult<Option<OutboundInteraction>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbound_interactions
             WHERE actor_id = $1 AND kind = $2 AND object_id = $3 AND deleted_at IS NULL
             ORDER BY created_at DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(actor)
            .bind(kind.as_str())
            .bind(object)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(interaction_from_row).transpose()
    }

    /// Undoes an interaction: a like or boost is forgotten, a reply kept as a
    /// tombstone. False if it was unknown or already undone.
    pub async fn undo_outbound_interaction(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE outbound_interactions SET deleted_at = $1 WHERE id = $2 AND kind = 'reply' AND deleted_at IS NULL",
        )
        .bind(to_db(now()))
        .bind(id)
        .execute(self.writer())
        .await?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        let done = sqlx::query("DELETE FROM outbound_interactions WHERE id = $1 AND kind <> 'reply'")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Interactions sent by local actors, newest first, without deleted replies.
    pub async fn list_outbound_interactions(&self, limit: i64, offset: i64) -> StoreResult<Vec<OutboundInteraction>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbound_interactions WHERE deleted_at IS NULL
             ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(interaction_from_row).collect()
    }
}

fn interaction_from_row(r: &AnyRow) -> StoreResult<OutboundInteraction> {
    let kind: String = r.try_get("kind")?;
    Ok(OutboundInteraction {
        id: r.try_get("id")?,
        actor_id: r.try_get("actor_id")?,
        kind: InteractionKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("interaction kind `{kind}`")))?,
        object_id: r.try_get("object_id")?,
        object_actor: r.try_get("object_actor")?,
        source: r.try_get("source")?,
        content_html: r.try_get("content")?,
        created_at: from_db(r.try_get("created_at")?)?,
        deleted_at: from_db_opt(r.try_get("deleted_at")?)?,
        context: r.try_get("context")?,
    })
}
