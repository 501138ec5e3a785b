//! `/admin/comments`: replies to every article by status — waiting for
//! approval (under the `moderated` and `followers_only` comment policies),
//! shown, or hidden — newest first, with Approve (show), Hide and Hold
//! again. The public article page shows only the visible ones, and its
//! cache follows each change.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use gazette_core::{Comment, RemoteActor};
use gazette_store::{COMMENT_STATUSES, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::CsrfForm;
use super::{AdminResult, Editor, Failure, OrPage, back_to, done_notice, page_count, page_number, render};
use crate::AppState;

const PER_PAGE: i64 = 25;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    status: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

/// A reply as the moderation templates show it.
#[derive(Serialize)]
pub(crate) struct ReplyView {
    id: String,
    url: String,
    /// Sanitised when it was received.
    content_html: String,
    status: String,
    published_at: String,
    author_handle: String,
    author_name: String,
    author_url: String,
    host: String,
    article: Option<ArticleRef>,
}

#[derive(Serialize)]
pub(crate) struct ArticleRef {
    id: String,
    slug: String,
    title: String,
}

pub(crate) fn reply_view(c: Comment, a: &RemoteActor, article: Option<ArticleRef>) -> ReplyView {
    ReplyView {
        url: c.url.unwrap_or_else(|| c.id.clone()),
        id: c.id,
        content_html: c.content_html,
        status: c.status,
        published_at: c.published_at.to_rfc3339(),
        author_handle: a.handle(),
        author_name: a.name.clone(),
        author_url: a.url.clone().unwrap_or_else(|| a.id.clone()),
        host: a.host.clone(),
        article,
    }
}

/// `GET /admin/comments?status=pending|visible|hidden&page=`
pub(crate) async fn get_comments(
    State(state): State<AppState>,
    Editor(signed): Editor,
    Query(p): Query<Params>,
) -> AdminResult {
    let status = p
        .status
        .as_deref()
        .filter(|s| COMMENT_STATUSES.contains(s))
        .unwrap_or("pending");
    let page = page_number(p.page.as_deref());
    let store = state.store();
    let counts = async {
        let mut out = serde_json::Map::new();
        for s in COMMENT_STATUSES {
            out.insert(s.to_owned(), json!(store.count_comments_by_status(s).await?));
        }
        Ok::<_, StoreError>(out)
    };
    let list = store.list_comments_by_status(status, PER_PAGE, (page - 1).saturating_mul(PER_PAGE));
    let (counts, list) = tokio::try_join!(counts, list).or_page(&signed)?;
    let total = counts.get(status).and_then(|v| v.as_i64()).unwrap_or(0);
    let pages = page_count(total, PER_PAGE);
    let link = |n: i64| format!("/admin/comments?status={status}&page={n}");
    let rows: Vec<ReplyView> = list
        .into_iter()
        .map(|m| {
            let article = ArticleRef {
                id: m.comment.article_id.clone(),
                slug: m.article_slug,
                title: m.article_title,
            };
            reply_view(m.comment, &m.actor, Some(article))
        })
        .collect();
    let page_json = json!({
        "status": status,
        "counts": counts,
        "rows": rows,
        "page": page,
        "pages": pages,
        "prev": (page > 1).then(|| link(page - 1)),
        "next": (page < pages).then(|| link(page + 1)),
        // Read with the session (see `Signed::find`): current.
        "policy": state.last_settings().comment_policy.clone(),
        "flash": done_notice(&state, &signed.lang, p.done.as_deref(), &COMMENT_STATUSES),
    });
    Ok(render(&state, &signed, "comments", "admin/comments.html", page_json))
}

/// `POST /admin/comments/status` — gives the reply `id` the status
/// `status` (`visible` to approve, `hidden` to hide, `pending` to hold).
pub(crate) async fn post_status(State(state): State<AppState>, form: CsrfForm<Editor>) -> AdminResult {
    let signed = &form.signed;
    let status = form.fields.get("status");
    match state.store().set_comment_status(form.fields.get("id"), status).await {
        Ok(()) => Ok(back_to(form.fields.get("back"), "/admin/comments", status)),
        Err(StoreError::Invalid { message, .. }) => Err(signed.fail(Failure::Message {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "error_bad_request",
            text: message,
        })),
        Err(StoreError::NotFound { .. }) => Err(signed.fail(Failure::Page {
            status: StatusCode::NOT_FOUND,
            title: "error_not_found",
            text: "reply_not_found",
        })),
        Err(e) => Err(signed.fail(e)),
    }
}
