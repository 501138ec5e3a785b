//! `GET /admin/articles/{id}/interactions`: who liked and boosted one
//! article and its replies by status (waiting, shown, hidden), with the
//! moderation buttons for editors. Authors may look at their own articles'.

use axum::extract::{Path, Query, State};
use gazette_core::Article;
use gazette_store::{COMMENT_STATUSES, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::comments::{ReplyView, reply_view};
use super::{AdminResult, OrPage, Signed, done_notice, render};
use crate::AppState;

/// Likes and boosts shown per article (the counts are always complete).
const SHOWN: i64 = 200;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    done: Option<String>,
}

#[derive(Serialize)]
struct Who {
    id: String,
    handle: String,
    name: String,
    url: Option<String>,
    host: String,
    at: String,
}

/// `GET /admin/articles/{id}/interactions`
pub(crate) async fn get_interactions(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> AdminResult {
    let article = state.store().get_article(&id).await.or_page(&signed)?;
    let user = &signed.session.user;
    // Authors may look at their own articles' (a rule on the article, not a role).
    if !user.role.is_editor() && user.author_id.as_deref() != Some(article.author_id.as_str()) {
        return Err(signed.forbidden());
    }
    let mut page = load(&state, &article).await.or_page(&signed)?;
    page["flash"] = json!(done_notice(
        &state,
        &signed.lang,
        p.done.as_deref(),
        &["visible", "hidden", "pending"]
    ));
    page["can_moderate"] = json!(user.role.is_editor());
    Ok(render(&state, &signed, "articles", "admin/interactions.html", page))
}

async fn load(state: &AppState, article: &Article) -> Result<serde_json::Value, StoreError> {
    let store = state.store();
    let (counts, likes, boosts) = tokio::try_join!(
        store.interaction_counts(&article.id),
        store.list_interactions(&article.id, "like", SHOWN),
        store.list_interactions(&article.id, "announce", SHOWN),
    )?;
    let who = |list: Vec<(gazette_core::RemoteActor, chrono::DateTime<chrono::Utc>)>| -> Vec<Who> {
        list.into_iter()
            .map(|(a, at)| Who {
                handle: a.handle(),
                id: a.id,
                name: a.name,
                url: a.url,
                host: a.host,
                at: at.to_rfc3339(),
            })
            .collect()
    };
    let mut replies: Vec<(&str, Vec<ReplyView>)> = Vec::new();
    for status in COMMENT_STATUSES {
        let list = store.list_comments(&article.id, status).await?;
        replies.push((status, list.into_iter().map(|(c, a)| reply_view(c, &a, None)).collect()));
    }
    let (likes_n, boosts_n) = (likes.len() as i64, boosts.len() as i64);
    Ok(json!({
        "article": {
            "id": article.id,
            "title": article.translation(None).title,
            "slug": article.slug,
            "status": article.status.as_str(),
        },
        "counts": counts,
        "likes": who(likes),
        "boosts": who(boosts),
        "likes_more": (counts.likes - likes_n).max(0),
        "boosts_more": (counts.shares - boosts_n).max(0),
        "replies": replies.into_iter().map(|(s, list)| json!({"status": s, "items": list})).collect::<Vec<_>>(),
        "public_url": (article.status == gazette_core::ArticleStatus::Published)
            .then(|| state.url(&format!("/articles/{}", article.slug))),
    }))
}
