//! Quotes of an article (FEP-044f) as the article page shows them: the
//! accepted ones, counted, each a link to the quoting post and its author.

use chrono::{DateTime, Utc};
use gazette_store::{Store, StoreResult};
use serde::Serialize;

use super::web_link;

/// How many quotes the page lists (the count covers them all).
const LISTED: i64 = 50;

#[derive(Debug, Serialize)]
pub(super) struct QuoteView {
    /// The quoting post, on its own server.
    href: String,
    author_name: String,
    author_handle: String,
    author_href: String,
    at: DateTime<Utc>,
}

/// The accepted quotes of `article_id`, newest first, and their number.
pub(super) async fn accepted_quotes(store: &Store, article_id: &str) -> StoreResult<(i64, Vec<QuoteView>)> {
    let (count, quotes) = tokio::try_join!(
        store.count_quotes(article_id),
        store.list_quotes(article_id, true, LISTED)
    )?;
    let views = quotes
        .into_iter()
        .map(|q| QuoteView {
            href: web_link(q.quote_url.as_deref(), &q.quote_post),
            author_name: if q.actor.name.is_empty() {
                q.actor.preferred_username.clone()
            } else {
                q.actor.name.clone()
            },
            author_handle: q.actor.handle(),
            author_href: web_link(q.actor.url.as_deref(), &q.actor.id),
            at: q.created_at,
        })
        .collect();
    Ok((count, views))
}
