//! Quote posts (FEP-044f): the answers given to other servers' requests to
//! quote our articles, the stamps they hold, and per-article quote policies.

use chrono::{DateTime, Utc};
use gazette_core::RemoteActor;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::federation::{actor_columns_of_r, actor_from_row};
use crate::ids::new_id;
use crate::time::{from_db, now, to_db};

/// What became of a request to quote an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteState {
    /// Permitted: the stamp is served and the quote shown.
    Accepted,
    /// Refused by the article's policy.
    Rejected,
    /// Permitted, then taken back by an editor.
    Revoked,
}

impl QuoteState {
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteState::Accepted => "accepted",
            QuoteState::Rejected => "rejected",
            QuoteState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accepted" => Some(QuoteState::Accepted),
            "rejected" => Some(QuoteState::Rejected),
            "revoked" => Some(QuoteState::Revoked),
            _ => None,
        }
    }
}

/// One post of another server that asked to quote one of our articles.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Ours: the stamp (`QuoteAuthorization`) is served under it.
    pub id: String,
    pub article_id: String,
    /// The quoting post's ActivityPub id.
    pub quote_post: String,
    /// Its web page, when it gave an `http(s)` one.
    pub quote_url: Option<String>,
    /// Who quotes.
    pub actor: RemoteActor,
    /// The `QuoteRequest` answered last.
    pub request_id: String,
    pub state: QuoteState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A request to record, as the inbox answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteAnswer<'a> {
    pub article_id: &'a str,
    pub quote_post: &'a str,
    pub quote_url: Option<&'a str>,
    pub actor: &'a str,
    pub request_id: &'a str,
    pub state: QuoteState,
}

const QUOTE_COLUMNS: &str = "q.id AS q_id, q.article_id AS q_article_id, q.quote_post AS q_quote_post,
    q.quote_url AS q_quote_url, q.request_id AS q_request_id, q.state AS q_state,
    q.created_at AS q_created_at, q.updated_at AS q_updated_at";

impl Store {
    /// Records the answer to a quote request. A post asking again keeps its
    /// row and its stamp id, with the new answer; a revoked quote stays
    /// revoked (an editor's decision is not undone by asking again), and is
    /// returned as it is.
    pub async fn record_quote(&self, answer: &QuoteAnswer<'_>) -> StoreResult<Quote> {
        let at = to_db(now());
        sqlx::query(
            "INSERT INTO quotes (id, article_id, quote_post, quote_url, actor, request_id, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (article_id, quote_post) DO UPDATE
             SET quote_url = excluded.quote_url, request_id = excluded.request_id,
                 state = excluded.state, updated_at = excluded.updated_at
             WHERE quotes.state <> 'revoked' AND quotes.actor = excluded.actor",
        )
        .bind(new_id())
        .bind(answer.article_id)
        .bind(answer.quote_post)
        .bind(answer.quote_url)
        .bind(answer.actor)
        .bind(answer.request_id)
        .bind(answer.state.as_str())
        .bind(at)
        .execute(self.writer())
        .await?;
        self.find_quote_of(answer.article_id, answer.quote_post)
            .await?
            .ok_or_else(|| StoreError::not_found("quote", answer.quote_post))
    }

    /// The quote with stamp id `id`, whatever its state.
    pub async fn find_quote(&self, id: &str) -> StoreResult<Option<Quote>> {
        let sql = format!(
            "SELECT {QUOTE_COLUMNS}, {} FROM quotes q JOIN remote_actors r ON r.id = q.actor WHERE q.id = $1",
            actor_columns_of_r()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(quote_from_row).transpose()
    }

    /// The quote with stamp id `id`; `NotFound` when there is none.
    pub async fn get_quote(&self, id: &str) -> StoreResult<Quote> {
        self.find_quote(id)
            .await?
            .ok_or_else(|| StoreError::not_found("quote", id))
    }

    /// The quote of `article_id` by the post `quote_post`, if it asked.
    pub async fn find_quote_of(&self, article_id: &str, quote_post: &str) -> StoreResult<Option<Quote>> {
        let sql = format!(
            "SELECT {QUOTE_COLUMNS}, {} FROM quotes q JOIN remote_actors r ON r.id = q.actor
             WHERE q.article_id = $1 AND q.quote_post = $2",
            actor_columns_of_r()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(article_id)
            .bind(quote_post)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(quote_from_row).transpose()
    }

    /// Quotes of an article, newest first: all of them (the admin), or only
    /// the accepted ones (the article page), at most `limit`.
    pub async fn list_quotes(&self, article_id: &str, accepted_only: bool, limit: i64) -> StoreResult<Vec<Quote>> {
        let filter = if accepted_only { "AND q.state = 'accepted'" } else { "" };
        let sql = format!(
            "SELECT {QUOTE_COLUMNS}, {} FROM quotes q JOIN remote_actors r ON r.id = q.actor
             WHERE q.article_id = $1 {filter}
             ORDER BY q.created_at DESC, q.id DESC LIMIT $2",
            actor_columns_of_r()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(article_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(quote_from_row).collect()
    }

    /// How many accepted quotes an article has.
    pub async fn count_quotes(&self, article_id: &str) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM quotes WHERE article_id = $1 AND state = 'accepted'",
        )
        .bind(article_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// What the article page shows of the article's quotes, in a few
    /// characters: part of the page cache's validator, so a new, revoked or
    /// deleted quote shows on the next request, whichever process wrote it.
    pub async fn quotes_stamp(&self, article_id: &str) -> StoreResult<String> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n, MAX(updated_at) AS at FROM quotes
             WHERE article_id = $1 AND state = 'accepted'",
        )
        .bind(article_id)
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = row.try_get("n")?;
        let at: Option<i64> = row.try_get("at")?;
        Ok(format!("{n}.{}", at.unwrap_or(0)))
    }

    /// Takes an accepted quote's permission back. The quote as it was
    /// before, or `None` when it was not accepted (unknown, refused, or
    /// revoked already).
    pub async fn revoke_quote(&self, id: &str) -> StoreResult<Option<Quote>> {
        let Some(quote) = self.find_quote(id).await? else {
            return Ok(None);
        };
        let done =
            sqlx::query("UPDATE quotes SET state = 'revoked', updated_at = $1 WHERE id = $2 AND state = 'accepted'")
                .bind(to_db(now()))
                .bind(id)
                .execute(self.writer())
                .await?;
        Ok((done.rows_affected() == 1).then_some(quote))
    }

    /// Forgets the quotes made by the post `id` of `actor` (deleted at its
    /// origin), or asked for by its request `id` (undone); only its author
    /// can. How many were forgotten.
    pub async fn delete_quotes_by_post(&self, id: &str, actor: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM quotes WHERE (quote_post = $1 OR request_id = $1) AND actor = $2")
            .bind(id)
            .bind(actor)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }

    /// The article's own quote policy (`everyone`, `followers`, `nobody`),
    /// if an editor set one.
    pub async fn article_quote_policy(&self, article_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT policy FROM article_quote_policies WHERE article_id = $1")
            .bind(article_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("policy")).transpose()?)
    }
}

fn quote_from_row(r: &AnyRow) -> StoreResult<Quote> {
    let state: String = r.try_get("q_state")?;
    Ok(Quote {
        id: r.try_get("q_id")?,
        article_id: r.try_get("q_article_id")?,
        quote_post: r.try_get("q_quote_post")?,
        quote_url: r.try_get("q_quote_url")?,
        actor: actor_from_row(r)?,
        request_id: r.try_get("q_request_id")?,
        state: QuoteState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("quote state {state}")))?,
        created_at: from_db(r.try_get("q_created_at")?)?,
        updated_at: from_db(r.try_get("q_updated_at")?)?,
    })
}
