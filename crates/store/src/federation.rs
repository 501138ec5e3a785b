//! Federation state: local actors' keys, remote actors, followers, seen
//! activity ids, likes and boosts, and replies.

use chrono::{DateTime, Utc};
use gazette_core::{Comment, FollowStatus, RemoteActor};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::sql::Sql;
use crate::time::{from_db, now, to_db};

/// One follower of a local actor.
#[derive(Debug, Clone, PartialEq)]
pub struct Follower {
    pub actor: RemoteActor,
    pub status: FollowStatus,
    pub follow_id: String,
    pub since: DateTime<Utc>,
}

/// Likes, boosts and visible replies of one article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct InteractionCounts {
    pub likes: i64,
    pub shares: i64,
    pub replies: i64,
}

/// A reply with its author and the article it answers, for moderators.
#[derive(Debug, Clone, PartialEq)]
pub struct ModerationComment {
    pub comment: Comment,
    pub actor: RemoteActor,
    pub article_slug: String,
    /// The article's title in its default language.
    pub article_title: String,
}

/// The statuses a reply can have: shown, held for moderation, or hidden by a moderator.
pub const COMMENT_STATUSES: [&str; 3] = ["visible", "pending", "hidden"];

const ACTOR_COLUMNS: &str = "id, kind, preferred_username, name, host, inbox, shared_inbox, url, icon, \
                             public_key_id, public_key_pem, moved_to, refreshed_at";

/// [`ACTOR_COLUMNS`] of the `remote_actors` table aliased `r`.
pub(crate) fn actor_columns_of_r() -> String {
    ACTOR_COLUMNS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const COMMENT_COLUMNS: &str = "c.id AS c_id, c.article_id AS c_article_id, c.actor AS c_actor, c.url AS c_url,
                    c.content_html AS c_content_html, c.language AS c_language, c.status AS c_status,
                    c.published_at AS c_published_at, c.updated_at AS c_updated_at";

impl Store {
    /// The key pair stored for a local actor, as (public PEM, private PEM).
    pub async fn find_actor_key(&self, local_key: &str) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query("SELECT public_key_pem, private_key_pem FROM actor_keys WHERE local_key = $1")
            .bind(local_key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("public_key_pem")?, r.try_get("private_key_pem")?)))
            .transpose()
    }

    /// Stores a key pair unless one exists, and returns the one that is
    /// stored: when two processes generate at once, both end up with the same.
    pub async fn ensure_actor_key(
        &self,
        local_key: &str,
        public_pem: &str,
        private_pem: &str,
    ) -> StoreResult<(String, String)> {
        sqlx::query(
            "INSERT INTO actor_keys (local_key, public_key_pem, private_key_pem, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (local_key) DO NOTHING",
        )
        .bind(local_key)
        .bind(public_pem)
        .bind(private_pem)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        self.find_actor_key(local_key)
            .await?
            .ok_or_else(|| StoreError::not_found("actor key", local_key))
    }

    /// Creates or refreshes a remote actor.
    pub async fn upsert_remote_actor(&self, a: &RemoteActor) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO remote_actors (id, kind, preferred_username, name, host, inbox, shared_inbox, url, icon,
                                        public_key_id, public_key_pem, moved_to, refreshed_at, search_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, preferred_username = excluded.preferred_username,
               name = excluded.name, host = excluded.host, inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
               url = excluded.url, icon = excluded.icon, public_key_id = excluded.public_key_id,
               public_key_pem = excluded.public_key_pem, moved_to = excluded.moved_to, refreshed_at = excluded.refreshed_at,
               search_key = excluded.search_key",
        )
        .bind(&a.id)
        .bind(&a.kind)
        .bind(&a.preferred_username)
        .bind(&a.name)
        .bind(&a.host)
        .bind(&a.inbox)
        .bind(&a.shared_inbox)
        .bind(&a.url)
        .bind(&a.icon)
        .bind(&a.public_key_id)
        .bind(&a.public_key_pem)
        .bind(&a.moved_to)
        .bind(to_db(a.refreshed_at))
        .bind(crate::follower_pages::actor_search_key(&a.name, &a.preferred_username, &a.host))
        .execute(self.writer())
        .await?;
        self.follower_inboxes.clear();
        Ok(())
    }

    pub async fn find_remote_actor(&self, id: &str) -> StoreResult<Option<RemoteActor>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTOR_COLUMNS} FROM remote_actors WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| actor_from_row(&r)).transpose()
    }

    /// A stored remote actor by `preferred_username` and `host[:port]`
    /// (its handle), ignoring case.
    pub async fn find_remote_actor_by_handle(&self, username: &str, host: &str) -> StoreResult<Option<RemoteActor>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTOR_COLUMNS} FROM remote_actors WHERE LOWER(preferred_username) = $1 AND LOWER(host) = $2
             ORDER BY refreshed_at DESC LIMIT 1"
        )))
        .bind(username.to_lowercase())
        .bind(host.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| actor_from_row(&r)).transpose()
    }

    /// Forgets a remote actor and everything it did here (follows, likes, replies).
    pub async fn delete_remote_actor(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM remote_actors WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        self.follower_inboxes.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Records a follow (or changes its status); returns true when it is new.
    pub async fn add_follower(
        &self,
        local_actor: &str,
        follower: &str,
        follow_id: &str,
        status: FollowStatus,
    ) -> StoreResult<bool> {
        let existed = sqlx::query("SELECT 1 AS x FROM followers WHERE local_actor = $1 AND follower = $2")
            .bind(local_actor)
            .bind(follower)
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        sqlx::query(
            "INSERT INTO followers (local_actor, follower, status, follow_id, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (local_actor, follower) DO UPDATE SET follow_id = excluded.follow_id,
               status = CASE WHEN followers.status = 'accepted' THEN 'accepted' ELSE excluded.status END",
        )
        .bind(local_actor)
        .bind(follower)
        .bind(status.as_str())
        .bind(follow_id)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        self.follower_inboxes.clear();
        Ok(!existed)
    }

    /// The follow of `local_actor` by `follower`, with the id of its `Follow`
    /// activity (kept so the `Accept` or `Reject` sent later names it).
    pub async fn find_follower(&self, local_actor: &str, follower: &str) -> StoreResult<Option<Follower>> {
        let cols = actor_columns_of_r();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols}, f.status AS f_status, f.follow_id AS f_follow_id, f.created_at AS f_created_at
             FROM followers f JOIN remote_actors r ON r.id = f.follower
             WHERE f.local_actor = $1 AND f.follower = $2"
        )))
        .bind(local_actor)
        .bind(follower)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(follower_from_row).transpose()
    }

    pub async fn set_follower_status(
        &self,
        local_actor: &str,
        follower: &str,
        status: FollowStatus,
    ) -> StoreResult<()> {
        let done = sqlx::query("UPDATE followers SET status = $1 WHERE local_actor = $2 AND follower = $3")
            .bind(status.as_str())
            .bind(local_actor)
            .bind(follower)
            .execute(self.writer())
            .await?;
        self.follower_inboxes.clear();
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("follower", follower));
        }
        Ok(())
    }

    /// Removes a follower; returns whether there was one.
    pub async fn remove_follower(&self, local_actor: &str, follower: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM followers WHERE local_actor = $1 AND follower = $2")
            .bind(local_actor)
            .bind(follower)
            .execute(self.writer())
            .await?;
        self.follower_inboxes.clear();
        Ok(done.rows_affected() > 0)
    }

    /// Moves every follow of `old` to `new` (a follower's `Move`).
    pub async fn move_follower(&self, old: &str, new: &str) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE followers SET follower = $2 WHERE follower = $1
               AND NOT EXISTS (SELECT 1 FROM followers f2 WHERE f2.local_actor = followers.local_actor AND f2.follower = $2)",
        )
        .bind(old)
        .bind(new)
        .execute(self.writer())
        .await?;
        sqlx::query("DELETE FROM followers WHERE follower = $1")
            .bind(old)
            .execute(self.writer())
            .await?;
        self.follower_inboxes.clear();
        Ok(done.rows_affected())
    }

    /// Followers of `local_actor`, newest first.
    pub async fn list_followers(
        &self,
        local_actor: &str,
        status: FollowStatus,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Follower>> {
        let cols = actor_columns_of_r();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            // The page is picked from the index alone (migration 10), so a
            // deep page skips index entries instead of joined rows.
            "SELECT {cols}, f.status AS f_status, f.follow_id AS f_follow_id, f.created_at AS f_created_at
             FROM (SELECT follower FROM followers WHERE local_actor = $1 AND status = $2
                   ORDER BY created_at DESC, follower LIMIT $3 OFFSET $4) p
             JOIN followers f ON f.local_actor = $1 AND f.follower = p.follower
             JOIN remote_actors r ON r.id = f.follower
             ORDER BY f.created_at DESC, r.id"
        )))
        .bind(local_actor)
        .bind(status.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(follower_from_row).collect()
    }

    pub async fn count_followers(&self, local_actor: &str) -> StoreResult<i64> {
        self.count_followers_with_status(local_actor, FollowStatus::Accepted)
            .await
    }

    /// Followers of `local_actor` with `status` (accepted, or waiting for
    /// approval): summed from the per-server counts the `followers` triggers
    /// keep (migration 12), so an actor with tens of thousands of followers
    /// costs one row per server instead of one per follower.
    pub async fn count_followers_with_status(&self, local_actor: &str, status: FollowStatus) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(followers), 0) AS BIGINT) AS n FROM follower_hosts
             WHERE local_actor = $1 AND status = $2",
        )
        .bind(local_actor)
        .bind(status.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// One inbox per server for the accepted followers of any of `local_actors`:
    /// the shared inbox when the server has one, else each actor's own inbox.
    pub async fn follower_inboxes(&self, local_actors: &[String]) -> StoreResult<Vec<String>> {
        if local_actors.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(
            "SELECT DISTINCT COALESCE(r.shared_inbox, r.inbox) AS inbox FROM followers f
             JOIN remote_actors r ON r.id = f.follower
             WHERE f.status = 'accepted' AND f.local_actor IN (",
        );
        q.bind_list(local_actors).push(") ORDER BY inbox");
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("inbox").map_err(StoreError::from))
            .collect()
    }

    /// [`Store::follower_inboxes`] of one local actor, reused for a moment
    /// (see [`crate::moment_cache`]): where the network actor's boost of
    /// each member article goes, asked with every article. The follow
    /// writes above forget it.
    pub async fn follower_inboxes_of(&self, local_actor: &str) -> StoreResult<Vec<String>> {
        let actors = [local_actor.to_owned()];
        self.follower_inboxes
            .get_or_read(local_actor, self.follower_inboxes(&actors))
            .await
    }

    /// Records an incoming activity id; false when it was seen before.
    pub async fn mark_activity_received(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO received_activities (id, received_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets an incoming activity id, so that a redelivery is processed:
    /// for when processing it failed on our side.
    pub async fn forget_activity_received(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM received_activities WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Records a like or boost; false if this actor already did the same.
    pub async fn add_interaction(
        &self,
        activity_id: &str,
        kind: &str,
        article_id: &str,
        actor: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO interactions (activity_id, kind, article_id, actor, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(activity_id)
        .bind(kind)
        .bind(article_id)
        .bind(actor)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Undoes a like or boost by its activity id (only the actor who made it may).
    pub async fn remove_interaction(&self, activity_id: &str, actor: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM interactions WHERE activity_id = $1 AND actor = $2")
            .bind(activity_id)
            .bind(actor)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Who liked (`like`) or boosted (`announce`) an article, newest first, and when.
    pub async fn list_interactions(
        &self,
        article_id: &str,
        kind: &str,
        limit: i64,
    ) -> StoreResult<Vec<(RemoteActor, DateTime<Utc>)>> {
        let cols = actor_columns_of_r();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols}, i.created_at AS i_created_at FROM interactions i JOIN remote_actors r ON r.id = i.actor
             WHERE i.article_id = $1 AND i.kind = $2 ORDER BY i.created_at DESC, r.id LIMIT $3"
        )))
        .bind(article_id)
        .bind(kind)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((actor_from_row(r)?, from_db(r.try_get("i_created_at")?)?)))
            .collect()
    }

    pub async fn interaction_counts(&self, article_id: &str) -> StoreResult<InteractionCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM interactions WHERE article_id = $1 AND kind = 'like') AS likes,
                    (SELECT COUNT(*) FROM interactions WHERE article_id = $1 AND kind = 'announce') AS shares,
                    (SELECT COUNT(*) FROM comments WHERE article_id = $1 AND status = 'visible') AS replies",
        )
        .bind(article_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(InteractionCounts {
            likes: row.try_get("likes")?,
            shares: row.try_get("shares")?,
            replies: row.try_get("replies")?,
        })
    }

    /// A short string that changes whenever the likes, boosts or visible
    /// replies of an article change, for validating cached pages that show them.
    pub async fn reactions_stamp(&self, article_id: &str) -> StoreResult<String> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM interactions WHERE article_id = $1) AS n,
                    (SELECT MAX(created_at) FROM interactions WHERE article_id = $1) AS n_at,
                    (SELECT COUNT(*) FROM comments WHERE article_id = $1 AND status = 'visible') AS c,
                    (SELECT MAX(updated_at) FROM comments WHERE article_id = $1 AND status = 'visible') AS c_at",
        )
        .bind(article_id)
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = row.try_get("n")?;
        let n_at: Option<i64> = row.try_get("n_at")?;
        let c: i64 = row.try_get("c")?;
        let c_at: Option<i64> = row.try_get("c_at")?;
        Ok(format!("{n}.{}.{c}.{}", n_at.unwrap_or(0), c_at.unwrap_or(0)))
    }

    /// Stores or replaces a reply (only its author may replace it).
    ///
    /// A replacement keeps the reply's status, with one exception: when
    /// the policy now holds this reply for moderation (`c.status` is
    /// `pending`) and its text or link changed, a reply a moderator had
    /// approved goes back to `pending`; otherwise its author could have it
    /// approved and then edit spam into it. A hidden reply stays hidden.
    pub async fn upsert_comment(&self, c: &Comment) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO comments (id, article_id, actor, url, content_html, language, status, published_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET content_html = excluded.content_html, language = excluded.language,
               url = excluded.url, updated_at = excluded.updated_at,
               status = CASE WHEN comments.status = 'visible' AND excluded.status = 'pending'
                              AND (comments.content_html <> excluded.content_html
                                   OR COALESCE(comments.url, '') <> COALESCE(excluded.url, ''))
                         THEN 'pending' ELSE comments.status END
             WHERE comments.actor = excluded.actor",
        )
        .bind(&c.id)
        .bind(&c.article_id)
        .bind(&c.actor)
        .bind(&c.url)
        .bind(&c.content_html)
        .bind(&c.language)
        .bind(&c.status)
        .bind(to_db(c.published_at))
        .bind(to_db(c.updated_at))
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                field: "actor",
                message: format!("reply {} belongs to another actor", c.id),
            });
        }
        Ok(())
    }

    /// Deletes a reply by its author; returns whether there was one.
    pub async fn delete_comment(&self, id: &str, actor: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM comments WHERE id = $1 AND actor = $2")
            .bind(id)
            .bind(actor)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Shows, holds or hides a reply (`status` is one of [`COMMENT_STATUSES`]).
    pub async fn set_comment_status(&self, id: &str, status: &str) -> StoreResult<()> {
        if !COMMENT_STATUSES.contains(&status) {
            return Err(StoreError::Invalid {
                field: "status",
                message: format!("unknown reply status `{status}`: expected visible, pending or hidden"),
            });
        }
        let done = sqlx::query("UPDATE comments SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status)
            .bind(to_db(now()))
            .bind(id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("comment", id));
        }
        Ok(())
    }

    /// Replies to an article with the given status, oldest first, with their authors.
    pub async fn list_comments(&self, article_id: &str, status: &str) -> StoreResult<Vec<(Comment, RemoteActor)>> {
        let cols = actor_columns_of_r();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols}, {COMMENT_COLUMNS}
             FROM comments c JOIN remote_actors r ON r.id = c.actor
             WHERE c.article_id = $1 AND c.status = $2 ORDER BY c.published_at, c.id"
        )))
        .bind(article_id)
        .bind(status)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((comment_from_row(r)?, actor_from_row(r)?)))
            .collect()
    }

    /// Replies to any article with the given status, newest first, with
    /// their authors and articles: the moderation queue.
    pub async fn list_comments_by_status(
        &self,
        status: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<ModerationComment>> {
        let cols = actor_columns_of_r();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols}, {COMMENT_COLUMNS}, a.slug AS a_slug, COALESCE(t.title, a.slug) AS a_title
             FROM comments c JOIN remote_actors r ON r.id = c.actor
             JOIN articles a ON a.id = c.article_id
             LEFT JOIN article_translations t ON t.article_id = a.id AND t.language = a.default_language
             WHERE c.status = $1 ORDER BY c.published_at DESC, c.id LIMIT $2 OFFSET $3"
        )))
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ModerationComment {
                    comment: comment_from_row(r)?,
                    actor: actor_from_row(r)?,
                    article_slug: r.try_get("a_slug")?,
                    article_title: r.try_get("a_title")?,
                })
            })
            .collect()
    }

    /// Whether a reply with this id is stored, whatever its status.
    pub async fn comment_exists(&self, id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM comments WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// How many replies an article has stored, whatever their status.
    pub async fn count_comments_of_article(&self, article_id: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM comments WHERE article_id = $1")
            .bind(article_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// How many replies have `status`, over every article.
    pub async fn count_comments_by_status(&self, status: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM comments WHERE status = $1")
            .bind(status)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

fn comment_from_row(r: &AnyRow) -> StoreResult<Comment> {
    Ok(Comment {
        id: r.try_get("c_id")?,
        article_id: r.try_get("c_article_id")?,
        actor: r.try_get("c_actor")?,
        url: r.try_get("c_url")?,
        content_html: r.try_get("c_content_html")?,
        language: r.try_get("c_language")?,
        status: r.try_get("c_status")?,
        published_at: from_db(r.try_get("c_published_at")?)?,
        updated_at: from_db(r.try_get("c_updated_at")?)?,
    })
}

pub(crate) fn actor_from_row(r: &AnyRow) -> StoreResult<RemoteActor> {
    Ok(RemoteActor {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        preferred_username: r.try_get("preferred_username")?,
        name: r.try_get("name")?,
        host: r.try_get("host")?,
        inbox: r.try_get("inbox")?,
        shared_inbox: r.try_get("shared_inbox")?,
        url: r.try_get("url")?,
        icon: r.try_get("icon")?,
        public_key_id: r.try_get("public_key_id")?,
        public_key_pem: r.try_get("public_key_pem")?,
        moved_to: r.try_get("moved_to")?,
        refreshed_at: from_db(r.try_get("refreshed_at")?)?,
    })
}

/// A follower from a row of `remote_actors` (as `r`) joined with `followers`
/// (`f_status`, `f_follow_id`, `f_created_at`).
fn follower_from_row(r: &AnyRow) -> StoreResult<Follower> {
    let status: String = r.try_get("f_status")?;
    Ok(Follower {
        actor: actor_from_row(r)?,
        status: FollowStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("follow status {status}")))?,
        follow_id: r.try_get("f_follow_id")?,
        since: from_db(r.try_get("f_created_at")?)?,
    })
}
