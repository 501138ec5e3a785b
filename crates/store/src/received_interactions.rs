//! Likes and boosts other servers send of our articles, written on SQLite
//! in shared statements: a popular article's likes arrive by the hundred a
//! second, and each write alone costs a hop to SQLite's connection thread
//! and, when it adds a row, a flush to disk. Those that arrive while a
//! batch is being written wait and go together in the next statement (see
//! [`crate::group_commit`]), answered once the statement is on disk (see
//! [`crate::wal_flush`]). PostgreSQL takes them one statement each.

use std::sync::Arc;

use sqlx::Row;
use tokio::sync::oneshot;

use crate::Store;
use crate::error::StoreResult;
use crate::group_commit::{GroupQueue, Grouped};
use crate::time::{now, to_db};

/// Placeholders per interaction in the shared statement.
const PARAMS: usize = 6;

/// One received like or boost waiting for its statement.
#[derive(Debug)]
pub(crate) struct Interaction {
    activity_id: String,
    kind: String,
    article_id: String,
    slug: String,
    actor: String,
    answer: oneshot::Sender<StoreResult<bool>>,
}

/// The queue of received likes and boosts.
pub(crate) type InteractionQueue = GroupQueue<Interaction>;

impl Grouped for Interaction {
    fn queue(store: &Store) -> &Arc<GroupQueue<Interaction>> {
        &store.interactions
    }

    async fn commit(store: &Store, jobs: Vec<Interaction>) {
        let answers = match store.insert_interactions(&jobs).await {
            Ok(added) => added.into_iter().map(Ok).collect(),
            // One of them failed (its actor was deleted meanwhile, say):
            // each alone, so the others are written and it gets its error.
            Err(e) => {
                if jobs.len() > 1 {
                    tracing::debug!(error = %e, writes = jobs.len(), "batch of interactions failed; writing them one by one");
                }
                let mut answers = Vec::with_capacity(jobs.len());
                for job in &jobs {
                    let done = store.insert_interactions(std::slice::from_ref(job)).await;
                    answers.push(done.map(|added| added.first().copied().unwrap_or(false)));
                }
                answers
            }
        };
        store.answer_when_flushed(jobs.into_iter().zip(answers).map(|(job, done)| (job.answer, done)));
    }
}

impl Store {
    /// Records a like or boost (`kind`) of the article with id `article_id`
    /// or slug `slug` by a remote actor, if the article is published. The
    /// activity id is the row's key, so a repeated activity is not counted
    /// twice; neither is a second like of the same article by the same
    /// actor. Returns whether it was added.
    pub async fn add_interaction_if_public(
        &self,
        activity_id: &str,
        kind: &str,
        article_id: Option<&str>,
        slug: Option<&str>,
        actor: &str,
    ) -> StoreResult<bool> {
        let (answer, answered) = oneshot::channel();
        let job = Interaction {
            activity_id: activity_id.to_owned(),
            kind: kind.to_owned(),
            article_id: article_id.unwrap_or_default().to_owned(),
            slug: slug.unwrap_or_default().to_owned(),
            actor: actor.to_owned(),
            answer,
        };
        match self.backend {
            crate::Backend::Sqlite => self.write_grouped(job, answered).await,
            crate::Backend::Postgres => {
                let added = self.insert_interactions(std::slice::from_ref(&job)).await?;
                Ok(added.first().copied().unwrap_or(false))
            }
        }
    }

    /// Writes `jobs` in one statement; for each, whether it added a row.
    async fn insert_interactions(&self, jobs: &[Interaction]) -> StoreResult<Vec<bool>> {
        // Plain `?` placeholders on SQLite (see `Store::insert_new_items`);
        // PostgreSQL takes one interaction at a time.
        let rows: Vec<String> = (0..jobs.len())
            .map(|r| {
                let at = r * PARAMS;
                let row: Vec<String> = (at + 1..=at + PARAMS)
                    .map(|n| match self.backend {
                        crate::Backend::Sqlite => "?".to_owned(),
                        crate::Backend::Postgres => format!("${n}"),
                    })
                    .collect();
                format!("({})", row.join(", "))
            })
            .collect();
        // SQLite wants a WHERE in an INSERT … SELECT that has an ON CONFLICT.
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH v (activity_id, kind, article_id, slug, actor, created_at) AS (VALUES {})
             INSERT INTO interactions (activity_id, kind, article_id, actor, created_at)
             SELECT v.activity_id, v.kind, a.id, v.actor, v.created_at FROM v, articles a
             WHERE (a.id = v.article_id OR a.slug = v.slug) AND a.status = 'published'
             ON CONFLICT DO NOTHING
             RETURNING activity_id",
            rows.join(", ")
        )))
        .persistent(false);
        let at = to_db(now());
        for job in jobs {
            insert = insert
                .bind(job.activity_id.as_str())
                .bind(job.kind.as_str())
                .bind(job.article_id.as_str())
                .bind(job.slug.as_str())
                .bind(job.actor.as_str())
                .bind(at);
        }
        let mut added = std::collections::HashSet::new();
        // On SQLite a commit that does not wait for the disk: the caller
        // flushes before it answers (see `crate::wal_flush`).
        let rows = match self.backend {
            crate::Backend::Sqlite => insert.fetch_all(&mut *self.batch_writer().await?).await?,
            crate::Backend::Postgres => insert.fetch_all(self.writer()).await?,
        };
        for row in rows {
            added.insert(row.try_get::<String, _>("activity_id")?);
        }
        // Each id answers once, should a batch hold the same activity twice.
        Ok(jobs.iter().map(|job| added.remove(&job.activity_id)).collect())
    }
}
