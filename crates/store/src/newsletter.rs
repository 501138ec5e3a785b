//! The newsletter's storage: subscribers (double opt-in), one issue per
//! article first published (queued in the publishing transaction), and the
//! outbox of mails the server's newsletter worker sends, retries and
//! deletes once sent. Addresses serve nothing else; unsubscribing deletes
//! the subscriber with its queued mails.

use chrono::{DateTime, Duration, Utc};
use sqlx::{AnyConnection, Row};

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::ids::{new_id, random_hex};
use crate::sql::Sql;
use crate::time::{from_db, from_db_opt, now, to_db};

/// One subscriber.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subscriber {
    pub id: String,
    pub email: String,
    pub language: String,
    pub confirmed: bool,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Subscribers of one language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubscriberCount {
    pub language: String,
    pub confirmed: i64,
    pub pending: i64,
}

/// What a subscription request did; the form answers the same whatever it
/// is, so nobody learns whether an address is subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// A new address: a confirmation mail is queued.
    Queued,
    /// An unconfirmed address asked again: another confirmation is queued.
    Requeued,
    /// Already confirmed, or asked again too soon: nothing queued.
    Unchanged,
}

/// What a queued mail is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewsletterMailKind {
    /// The double opt-in link.
    Confirm,
    /// An article, to a confirmed subscriber.
    Article(String),
}

/// A mail due now, with its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsletterMail {
    pub id: String,
    pub kind: NewsletterMailKind,
    pub subscriber_id: String,
    pub email: String,
    pub language: String,
    pub attempts: i64,
}

impl Store {
    /// The key signing the newsletter's links, made on first use (any
    /// process: the first to write it wins, the others read it).
    pub async fn newsletter_key(&self) -> StoreResult<String> {
        if let Some(row) = sqlx::query("SELECT key FROM newsletter_key WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
        {
            return Ok(row.try_get("key")?);
        }
        sqlx::query("INSERT INTO newsletter_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(random_hex(32))
            .execute(self.writer())
            .await?;
        let row = sqlx::query("SELECT key FROM newsletter_key WHERE id = 1")
            .fetch_one(self.writer())
            .await?;
        Ok(row.try_get("key")?)
    }

    /// Records a subscription request for `email` (already checked and
    /// lowercased) and queues its confirmation mail, unless the address is
    /// confirmed already or was sent one less than `again_after` ago.
    pub async fn subscribe(&self, email: &str, language: &str, again_after: Duration) -> StoreResult<Subscribed> {
        let t = now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT id, status, asked_at FROM newsletter_subscribers WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
        let (id, outcome) = match row {
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO newsletter_subscribers (id, email, language, status, created_at, asked_at)
                     VALUES ($1, $2, $3, 'pending', $4, $4)",
                )
                .bind(&id)
                .bind(email)
                .bind(language)
                .bind(to_db(t))
                .execute(&mut *tx)
                .await?;
                (id, Subscribed::Queued)
            }
            Some(row) => {
                let id: String = row.try_get("id")?;
                let status: String = row.try_get("status")?;
                let asked = from_db(row.try_get("asked_at")?)?;
                if status != "pending" || t - asked < again_after {
                    return Ok(Subscribed::Unchanged);
                }
                sqlx::query("UPDATE newsletter_subscribers SET language = $1, asked_at = $2 WHERE id = $3")
                    .bind(language)
                    .bind(to_db(t))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM newsletter_outbox WHERE subscriber_id = $1 AND kind = 'confirm'")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                (id, Subscribed::Requeued)
            }
        };
        sqlx::query(
            "INSERT INTO newsletter_outbox (id, subscriber_id, kind, next_attempt_at, created_at)
             VALUES ($1, $2, 'confirm', $3, $3)",
        )
        .bind(new_id())
        .bind(&id)
        .bind(to_db(t))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// A subscriber by id.
    pub async fn find_subscriber(&self, id: &str) -> StoreResult<Option<Subscriber>> {
        let row = sqlx::query(
            "SELECT id, email, language, status, created_at, confirmed_at FROM newsletter_subscribers WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subscriber).transpose()
    }

    /// Confirms a subscription; `false` when there is no such subscriber
    /// (it unsubscribed, or was removed). Confirming twice is harmless.
    pub async fn confirm_subscriber(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE newsletter_subscribers SET status = 'confirmed', confirmed_at = COALESCE(confirmed_at, $1)
             WHERE id = $2",
        )
        .bind(to_db(now()))
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets a subscriber and its queued mails; `false` if it was gone.
    pub async fn unsubscribe(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // Explicitly, not only by cascade: SQLite enforces it only with foreign keys on.
        sqlx::query("DELETE FROM newsletter_outbox WHERE subscriber_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM newsletter_subscribers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets the subscriber with this address (the admin's removal).
    pub async fn remove_subscriber_email(&self, email: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT id FROM newsletter_subscribers WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => self.unsubscribe(&row.try_get::<String, _>("id")?).await,
            None => Ok(false),
        }
    }

    /// Subscribers per language, most confirmed first.
    pub async fn subscriber_counts(&self) -> StoreResult<Vec<SubscriberCount>> {
        let rows = sqlx::query(
            "SELECT language,
                    SUM(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed,
                    SUM(CASE WHEN status = 'confirmed' THEN 0 ELSE 1 END) AS pending
             FROM newsletter_subscribers GROUP BY language ORDER BY confirmed DESC, language",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SubscriberCount {
                    language: r.try_get("language")?,
                    confirmed: r.try_get("confirmed")?,
                    pending: r.try_get("pending")?,
                })
            })
            .collect()
    }

    /// Every subscriber, by address (the admin's CSV export).
    pub async fn list_subscribers(&self) -> StoreResult<Vec<Subscriber>> {
        let rows = sqlx::query(
            "SELECT id, email, language, status, created_at, confirmed_at FROM newsletter_subscribers ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscriber).collect()
    }

    /// Turns issues not yet expanded into one queued mail per subscriber
    /// confirmed now; returns how many mails were queued.
    pub async fn expand_newsletter_issues(&self) -> StoreResult<u64> {
        let pending =
            sqlx::query("SELECT article_id FROM newsletter_issues WHERE expanded_at IS NULL ORDER BY created_at")
                .fetch_all(&self.pool)
                .await?;
        let mut queued = 0;
        for row in pending {
            let article: String = row.try_get("article_id")?;
            let t = to_db(now());
            let mut tx = self.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE newsletter_issues SET expanded_at = $1 WHERE article_id = $2 AND expanded_at IS NULL",
            )
            .bind(t)
            .bind(&article)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                // Another server took it.
                continue;
            }
            let done = sqlx::query(
                "INSERT INTO newsletter_outbox (id, subscriber_id, kind, article_id, next_attempt_at, created_at)
                 SELECT $1 || id, id, 'article', $2, $3, $3 FROM newsletter_subscribers WHERE status = 'confirmed'",
            )
            .bind(format!("{article}:"))
            .bind(&article)
            .bind(t)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            queued += done.rows_affected();
        }
        Ok(queued)
    }

    /// Up to `limit` mails due at `at`, confirmations first, then oldest first.
    pub async fn due_newsletter_mails(&self, at: DateTime<Utc>, limit: i64) -> StoreResult<Vec<NewsletterMail>> {
        let rows = sqlx::query(
            "SELECT o.id, o.kind, o.article_id, o.attempts, s.id AS subscriber_id, s.email, s.language, s.status
             FROM newsletter_outbox o JOIN newsletter_subscribers s ON s.id = o.subscriber_id
             WHERE o.next_attempt_at <= $1
             ORDER BY CASE WHEN o.kind = 'confirm' THEN 0 ELSE 1 END, o.next_attempt_at, o.id LIMIT $2",
        )
        .bind(to_db(at))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            let kind = match kind.as_str() {
                "confirm" => NewsletterMailKind::Confirm,
                "article" => NewsletterMailKind::Article(
                    r.try_get::<Option<String>, _>("article_id")?
                        .ok_or_else(|| StoreError::Corrupt("a newsletter article mail without its article".into()))?,
                ),
                other => return Err(StoreError::Corrupt(format!("newsletter mail kind `{other}`"))),
            };
            // Only confirmations go to unconfirmed addresses.
            let status: String = r.try_get("status")?;
            if kind != NewsletterMailKind::Confirm && status != "confirmed" {
                continue;
            }
            out.push(NewsletterMail {
                id: r.try_get("id")?,
                kind,
                subscriber_id: r.try_get("subscriber_id")?,
                email: r.try_get("email")?,
                language: r.try_get("language")?,
                attempts: r.try_get("attempts")?,
            });
        }
        Ok(out)
    }

    /// Removes sent (or abandoned) mails from the queue.
    pub async fn finish_newsletter_mails(&self, ids: &[String]) -> StoreResult<()> {
        for chunk in ids.chunks(500) {
            let mut q = Sql::new("DELETE FROM newsletter_outbox WHERE id IN (");
            q.bind_list(chunk).push(")");
            q.query().execute(self.writer()).await?;
        }
        Ok(())
    }

    /// Puts a failed mail back for a later try.
    pub async fn retry_newsletter_mail(&self, id: &str, at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE newsletter_outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3",
        )
        .bind(to_db(at))
        .bind(error)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// When the next queued mail is due, if any.
    pub async fn next_newsletter_mail_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MIN(next_attempt_at) AS t FROM newsletter_outbox")
            .fetch_one(&self.pool)
            .await?;
        from_db_opt(row.try_get("t")?)
    }

    /// Mails waiting, for the admin page.
    pub async fn count_newsletter_queue(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM newsletter_outbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Deletes subscriptions never confirmed since `before`.
    pub async fn forget_unconfirmed(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM newsletter_outbox WHERE subscriber_id IN
               (SELECT id FROM newsletter_subscribers WHERE status = 'pending' AND asked_at < $1)",
        )
        .bind(to_db(before))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM newsletter_subscribers WHERE status = 'pending' AND asked_at < $1")
            .bind(to_db(before))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

/// Queues the newsletter issue of an article published for the first
/// time, inside the publishing transaction; nothing when nobody is
/// subscribed, and never twice for one article.
pub(crate) async fn queue_issue(conn: &mut AnyConnection, article_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO newsletter_issues (article_id, created_at)
         SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM newsletter_subscribers WHERE status = 'confirmed')
         ON CONFLICT (article_id) DO NOTHING",
    )
    .bind(article_id)
    .bind(to_db(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn subscriber(r: &sqlx::any::AnyRow) -> StoreResult<Subscriber> {
    let status: String = r.try_get("status")?;
    Ok(Subscriber {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        language: r.try_get("language")?,
        confirmed: status == "confirmed",
        created_at: from_db(r.try_get("created_at")?)?,
        confirmed_at: from_db_opt(r.try_get("confirmed_at")?)?,
    })
}
