//! An article's own quote policy (FEP-044f) as part of the article: a
//! change of the policy that applies to a published article moves its
//! version and `updated_at` and records an `updated` event in the same
//! transaction, as an edit does, so followers are sent an `Update` carrying
//! the new `interactionPolicy`; a policy written with the article's own
//! create or edit rides on that write's event.

use gazette_core::{Article, ArticleStatus, NewArticle};
use sqlx::{AnyConnection, Row};

use super::write::{Tell, create_article_in, record_event, update_article_in};
use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::media::NewMedia;
use crate::time::{now, to_db};

/// What [`Store::set_article_quote_policy`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotePolicyChange {
    /// The policy that applies is the one that applied before (the same
    /// value again, or an own policy equal to the instance's): the article
    /// keeps its version and followers are sent nothing.
    Unchanged,
    /// The policy that applies changed on an article followers do not see
    /// (a draft, a scheduled or a deleted one): stored, nothing is sent;
    /// its `Create` carries it once published.
    Stored,
    /// The policy that applies changed on a published article: it is now
    /// at `version`, whose `Update` followers are sent.
    Announced { version: i64 },
}

impl Store {
    /// Sets the article's own quote policy (`everyone`, `followers`,
    /// `nobody`), or with `None` goes back to the instance's,
    /// `instance_policy`. When the policy that applies changes and the
    /// article is published, its version and `updated_at` move and the
    /// `Update` its followers must receive is recorded in the same
    /// transaction (see [`Store::pending_article_events`]).
    pub async fn set_article_quote_policy(
        &self,
        article_id: &str,
        policy: Option<&str>,
        instance_policy: &str,
    ) -> StoreResult<QuotePolicyChange> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM articles WHERE id = $1")
            .bind(article_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::not_found("article", article_id));
        }
        let before = write_own_policy_in(&mut tx, article_id, policy).await?;
        if before.as_deref().unwrap_or(instance_policy) == policy.unwrap_or(instance_policy) {
            tx.commit().await?;
            return Ok(QuotePolicyChange::Unchanged);
        }
        let t = now();
        let moved = sqlx::query(
            "UPDATE articles SET updated_at = $1, version = version + 1
             WHERE id = $2 AND status = $3 RETURNING version",
        )
        .bind(to_db(t))
        .bind(article_id)
        .bind(ArticleStatus::Published.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let change = match moved {
            Some(row) => {
                let version: i64 = row.try_get("version")?;
                record_event(&mut tx, article_id, true, true, version, t, false).await?;
                QuotePolicyChange::Announced { version }
            }
            None => QuotePolicyChange::Stored,
        };
        tx.commit().await?;
        Ok(change)
    }

    /// [`Store::create_article_with_media`] with the article's own quote
    /// policy (`None`: the instance's) in the same transaction, so its
    /// `Create` carries the policy and nothing more is sent.
    pub async fn create_article_with_quote_policy(
        &self,
        new: &NewArticle,
        media: &[NewMedia],
        policy: Option<&str>,
    ) -> StoreResult<Article> {
        let mut tx = self.begin_write().await?;
        let id = create_article_in(&mut tx, new, media, Tell::Everyone).await?;
        write_own_policy_in(&mut tx, &id, policy).await?;
        tx.commit().await?;
        self.get_article(&id).await
    }

    /// [`Store::update_article_with_media`] with the article's own quote
    /// policy (`None`: the instance's) in the same transaction: one new
    /// version, one `Update` carrying both.
    pub async fn update_article_with_quote_policy(
        &self,
        id: &str,
        new: &NewArticle,
        expected_version: Option<i64>,
        media: &[NewMedia],
        policy: Option<&str>,
    ) -> StoreResult<Article> {
        let mut tx = self.begin_write().await?;
        update_article_in(&mut tx, id, new, expected_version, media, Tell::Everyone).await?;
        write_own_policy_in(&mut tx, id, policy).await?;
        tx.commit().await?;
        self.get_article(id).await
    }
}

/// Writes the own policy of article `article_id` (which exists) and returns
/// the one it had.
async fn write_own_policy_in(
    conn: &mut AnyConnection,
    article_id: &str,
    policy: Option<&str>,
) -> StoreResult<Option<String>> {
    let before = sqlx::query("SELECT policy FROM article_quote_policies WHERE article_id = $1")
        .bind(article_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("policy"))
        .transpose()?;
    if before.as_deref() == policy {
        return Ok(before);
    }
    match policy {
        Some(p) => {
            sqlx::query(
                "INSERT INTO article_quote_policies (article_id, policy) VALUES ($1, $2)
                 ON CONFLICT (article_id) DO UPDATE SET policy = excluded.policy",
            )
            .bind(article_id)
            .bind(p)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM article_quote_policies WHERE article_id = $1")
                .bind(article_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(before)
}
