//! Articles with their translations and tags; every write is one transaction.
//!
//! This file holds the types and the writes `Store` offers; `read` the
//! reads, `write` the transaction steps the writes (and imports) share.

use chrono::{DateTime, Utc};
use gazette_core::{Article, ArticleEvent, ArticleKind, ArticleStatus, Author, Language, NewArticle, Organisation};
use sqlx::Row;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::media::NewMedia;
use crate::time::{from_db_opt, now, to_db};

mod quote_policy;
mod read;
mod write;

pub use quote_policy::QuotePolicyChange;

use write::record_event;
pub(crate) use write::{Tell, create_article_in, update_article_in};

const ARTICLE_COLUMNS: &str = "id, slug, kind, status, default_language, author_id, cover_media, cover_alt, \
                               interviewee, published_at, created_at, updated_at, version";

/// Filters for listing articles. An empty `statuses` means every status but deleted.
#[derive(Debug, Clone, Default)]
pub struct ArticleQuery {
    pub statuses: Vec<ArticleStatus>,
    pub kind: Option<ArticleKind>,
    pub tag: Option<String>,
    pub author_id: Option<String>,
    /// Only articles with a translation in this language.
    pub language: Option<Language>,
    /// Words that begin words of a title or of the slug (case-folded).
    pub search: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

impl ArticleQuery {
    /// Published articles, newest first.
    pub fn published(limit: i64, offset: i64) -> Self {
        ArticleQuery {
            statuses: vec![ArticleStatus::Published],
            limit,
            offset,
            ..Default::default()
        }
    }
}

/// An article with its author and the instance's organisation: everything an
/// article page needs, read in two queries.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub article: Article,
    pub author: Author,
    pub organisation: Option<Organisation>,
}

/// One page of a listing and how many match in all.
#[derive(Debug, Clone)]
pub struct ArticlePage {
    pub articles: Vec<Article>,
    pub total: i64,
}

/// An article change waiting to be turned into deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingArticleEvent {
    pub id: String,
    pub article_id: String,
    pub event: ArticleEvent,
    /// The article's version right after the change; it names the activity.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

impl Store {
    /// Stores a validated article with all its translations, atomically.
    pub async fn create_article(&self, new: &NewArticle) -> StoreResult<Article> {
        self.create_article_with_media(new, &[]).await
    }

    /// Stores `media` and the article that uses them in one transaction: if
    /// anything is refused, no image is left behind either.
    pub async fn create_article_with_media(&self, new: &NewArticle, media: &[NewMedia]) -> StoreResult<Article> {
        let mut tx = self.begin_write().await?;
        let id = create_article_in(&mut tx, new, media, Tell::Everyone).await?;
        tx.commit().await?;
        self.get_article(&id).await
    }

    /// Replaces an article's content, keeping its id and creation date. With
    /// `expected_version`, refuses to overwrite a newer save (lost update).
    pub async fn update_article(
        &self,
        id: &str,
        new: &NewArticle,
        expected_version: Option<i64>,
    ) -> StoreResult<Article> {
        self.update_article_with_media(id, new, expected_version, &[]).await
    }

    /// [`Store::update_article`] storing `media` in the same transaction.
    pub async fn update_article_with_media(
        &self,
        id: &str,
        new: &NewArticle,
        expected_version: Option<i64>,
        media: &[NewMedia],
    ) -> StoreResult<Article> {
        let mut tx = self.begin_write().await?;
        update_article_in(&mut tx, id, new, expected_version, media, Tell::Everyone).await?;
        tx.commit().await?;
        self.get_article(id).await
    }

    /// Moves an article to `status`: publishing sets `published_at` if unset;
    /// deleting keeps the row as a tombstone (its URL then answers 410).
    /// What followers must hear about the change is recorded in the same
    /// transaction (see [`Store::pending_article_events`]).
    pub async fn set_article_status(&self, id: &str, status: ArticleStatus) -> StoreResult<Article> {
        let now = now();
        let t = to_db(now);
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT status, version, published_at FROM articles WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("article", id))?;
        let old_status: String = row.try_get("status")?;
        let version: i64 = row.try_get("version")?;
        let published_at = from_db_opt(row.try_get("published_at")?)?;
        if status == ArticleStatus::Scheduled && published_at.is_none_or(|p| p <= now) {
            return Err(StoreError::Invalid {
                field: "publish_at",
                message: "schedule needs a publish_at in the future".into(),
            });
        }
        let sql = if status == ArticleStatus::Published {
            "UPDATE articles SET status = $1, published_at = COALESCE(published_at, $2), updated_at = $2,
                 version = version + 1 WHERE id = $3"
        } else {
            "UPDATE articles SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3"
        };
        sqlx::query(sql)
            .bind(status.as_str())
            .bind(t)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let was_public = old_status == ArticleStatus::Published.as_str();
        record_event(
            &mut tx,
            id,
            was_public,
            status == ArticleStatus::Published,
            version + 1,
            now,
            true,
        )
        .await?;
        tx.commit().await?;
        self.get_article(id).await
    }

    /// Publishes every scheduled article whose time has come; returns their
    /// ids. Each row is flipped by exactly one caller, even with several
    /// processes, and its `published` event recorded with it.
    pub async fn publish_due(&self, at: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "UPDATE articles SET status = 'published', updated_at = $1, version = version + 1
             WHERE status = 'scheduled' AND published_at <= $1 RETURNING id, version",
        )
        .bind(to_db(at))
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            record_event(&mut tx, &id, false, true, r.try_get("version")?, now(), true).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Article changes not yet turned into deliveries, oldest first.
    pub async fn pending_article_events(&self, limit: i64) -> StoreResult<Vec<PendingArticleEvent>> {
        let rows =
            sqlx::query("SELECT id, article_id, kind, version FROM article_events ORDER BY created_at, id LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(PendingArticleEvent {
                    id: r.try_get("id")?,
                    article_id: r.try_get("article_id")?,
                    event: ArticleEvent::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("article event kind `{kind}`")))?,
                    version: r.try_get("version")?,
                })
            })
            .collect()
    }

    /// Forgets an article event once its deliveries are queued.
    pub async fn finish_article_event(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM article_events WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The earliest time a scheduled article is due, for the scheduler's sleep.
    pub async fn next_scheduled(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MIN(published_at) AS t FROM articles WHERE status = 'scheduled'")
            .fetch_one(&self.pool)
            .await?;
        from_db_opt(row.try_get("t")?)
    }
}
