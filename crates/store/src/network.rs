//! Following remote actors, and the articles they send us (the network feed).

use gazette_core::{FollowStatus, RemoteActor, RemoteArticle};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, now, to_db};

/// A remote actor a local actor follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Following {
    pub target: RemoteActor,
    pub follow_id: String,
    pub status: FollowStatus,
}

impl Store {
    /// Records (or re-sends) a follow of `target`; its status starts pending.
    pub async fn add_following(&self, local_actor: &str, target: &str, follow_id: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO following (local_actor, target, follow_id, status, created_at) VALUES ($1, $2, $3, 'pending', $4)
             ON CONFLICT (local_actor, target) DO UPDATE SET follow_id = excluded.follow_id",
        )
        .bind(local_actor)
        .bind(target)
        .bind(follow_id)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Marks the pending follow with this id accepted by `target`: true when
    /// it was pending (false if unknown, or accepted already: an `Accept`
    /// sent again, or of a `Follow` re-sent to confirm a standing follow).
    pub async fn accept_following(&self, target: &str, follow_id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE following SET status = 'accepted'
             WHERE target = $1 AND (follow_id = $2 OR $2 = '') AND status = 'pending'",
        )
        .bind(target)
        .bind(follow_id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets a follow (unfollowed by us, or rejected by them).
    pub async fn remove_following(&self, local_actor: Option<&str>, target: &str) -> StoreResult<bool> {
        let done = match local_actor {
            Some(l) => {
                sqlx::query("DELETE FROM following WHERE local_actor = $1 AND target = $2")
                    .bind(l)
                    .bind(target)
                    .execute(self.writer())
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM following WHERE target = $1")
                    .bind(target)
                    .execute(self.writer())
                    .await?
            }
        };
        Ok(done.rows_affected() > 0)
    }

    /// Whether any local actor follows (or asked to follow) `target`.
    pub async fn is_followed(&self, target: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS x FROM following WHERE target = $1")
            .bind(target)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The networks (`Group` actors) whose follow by `local_actor` was
    /// accepted: the networks its organisation is a member of, by name.
    /// One query: article pages read it on every request (their cache
    /// validator covers it), so it must stay cheap.
    pub async fn accepted_groups(&self, local_actor: &str) -> StoreResult<Vec<RemoteActor>> {
        let cols = crate::federation::actor_columns_of_r();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM following f JOIN remote_actors r ON r.id = f.target
             WHERE f.local_actor = $1 AND f.status = 'accepted' AND r.kind = 'Group' ORDER BY r.name, r.id"
        )))
        .bind(local_actor)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crate::federation::actor_from_row).collect()
    }

    /// The follow of `target` by `local_actor`, if there is one.
    pub async fn find_following(&self, local_actor: &str, target: &str) -> StoreResult<Option<Following>> {
        Ok(self
            .list_following_where(local_actor, Some(target))
            .await?
            .into_iter()
            .next())
    }

    /// Whom `local_actor` follows, with each follow's state.
    pub async fn list_following(&self, local_actor: &str) -> StoreResult<Vec<Following>> {
        self.list_following_where(local_actor, None).await
    }

    async fn list_following_where(&self, local_actor: &str, target: Option<&str>) -> StoreResult<Vec<Following>> {
        let rows = sqlx::query(
            "SELECT f.follow_id AS follow_id, f.status AS status, r.id AS id FROM following f
             JOIN remote_actors r ON r.id = f.target WHERE f.local_actor = $1 AND ($2 = '' OR f.target = $2)
             ORDER BY f.created_at DESC",
        )
        .bind(local_actor)
        .bind(target.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let id: String = r.try_get("id")?;
            let status: String = r.try_get("status")?;
            let target = self
                .find_remote_actor(&id)
                .await?
                .ok_or_else(|| StoreError::not_found("remote actor", &id))?;
            out.push(Following {
                target,
                follow_id: r.try_get("follow_id")?,
                status: FollowStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("follow status {status}")))?,
            });
        }
        Ok(out)
    }

    /// Stores or replaces a received article (only its own actor may replace it).
    pub async fn upsert_remote_article(&self, a: &RemoteArticle) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO remote_articles (id, actor, kind, url, name, summary_html, content_html, language, image_url,
                                          image_alt, published_at, updated_at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, url = excluded.url, name = excluded.name,
               summary_html = excluded.summary_html, content_html = excluded.content_html, language = excluded.language,
               image_url = excluded.image_url, image_alt = excluded.image_alt, updated_at = excluded.updated_at
             WHERE remote_articles.actor = excluded.actor AND remote_articles.updated_at <= excluded.updated_at",
        )
        .bind(&a.id)
        .bind(&a.actor)
        .bind(&a.kind)
        .bind(&a.url)
        .bind(&a.name)
        .bind(&a.summary_html)
        .bind(&a.content_html)
        .bind(&a.language)
        .bind(&a.image_url)
        .bind(&a.image_alt)
        .bind(to_db(a.published_at))
        .bind(to_db(a.updated_at))
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            tracing::debug!(id = %a.id, "remote article not replaced (other actor or older version)");
        }
        Ok(())
    }

    /// Removes a received article, only on behalf of its actor.
    pub async fn delete_remote_article(&self, id: &str, actor: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM remote_articles WHERE id = $1 AND actor = $2")
            .bind(id)
            .bind(actor)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The network feed, newest first, with each article's actor.
    pub async fn list_remote_articles(
        &self,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<(RemoteArticle, RemoteActor)>, i64)> {
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM remote_articles")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let rows = sqlx::query(
            "SELECT id, actor, kind, url, name, summary_html, content_html, language, image_url, image_alt,
                    published_at, updated_at
             FROM remote_articles ORDER BY published_at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let a = remote_article_from_row(r)?;
            let actor = self
                .find_remote_actor(&a.actor)
                .await?
                .ok_or_else(|| StoreError::not_found("remote actor", &a.actor))?;
            out.push((a, actor));
        }
        Ok((out, total))
    }
}

fn remote_article_from_row(r: &AnyRow) -> StoreResult<RemoteArticle> {
    Ok(RemoteArticle {
        id: r.try_get("id")?,
        actor: r.try_get("actor")?,
        kind: r.try_get("kind")?,
        url: r.try_get("url")?,
        name: r.try_get("name")?,
        summary_html: r.try_get("summary_html")?,
        content_html: r.try_get("content_html")?,
        language: r.try_get("language")?,
        image_url: r.try_get("image_url")?,
        image_alt: r.try_get("image_alt")?,
        published_at: from_db(r.try_get("published_at")?)?,
        updated_at: from_db(r.try_get("updated_at")?)?,
    })
}
