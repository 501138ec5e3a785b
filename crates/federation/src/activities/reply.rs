//! A `Note` replying to one of our public articles, stored as a comment:
//! visible, or pending moderation as the comment policy says.

use activitypub_federation::config::Data;
use chrono::Utc;
use gazette_core::{Comment, FollowStatus};
use serde_json::Value;

use super::Embedded;
use super::create::{check_origin, value_href};
use crate::context::{CommentPolicy, FedContext};
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// Stores a reply to one of our articles (ignored when the article is not
/// ours or not public); the article's id when it was stored. The inbox's
/// path, and that of replies read from a thread's collections
/// ([`crate::threads`]).
pub(crate) async fn store_reply(
    data: &Data<FedContext>,
    note: &Embedded,
    actor: &DbRemoteActor,
) -> Result<Option<String>, FederationError> {
    let note_id = check_origin(note, actor, "Note")?;
    let in_reply_to = note.id_in("inReplyTo").unwrap_or_default();
    let Some(article) = local_article(data, &in_reply_to).await? else {
        tracing::debug!(note = note_id, "note not replying to one of our articles; ignored");
        return Ok(None);
    };
    if !article.is_public() {
        return Ok(None);
    }
    let note_json = &note.raw;
    let content = note_json.get("content").and_then(Value::as_str).unwrap_or_default();
    let content_html = gazette_core::markdown::sanitise(content);
    let language = note_json
        .get("contentMap")
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next().cloned());
    let published = note_json
        .get("published")
        .and_then(Value::as_str)
        .and_then(gazette_core::validate::parse_time)
        .unwrap_or_else(Utc::now);
    let status = match data.comment_policy().await? {
        CommentPolicy::Open => "visible",
        CommentPolicy::Moderated => "pending",
        CommentPolicy::FollowersOnly => {
            if follows_us(data, &article, actor).await? {
                "visible"
            } else {
                "pending"
            }
        }
    };
    let comment = Comment {
        id: note_id.clone(),
        article_id: article.id.clone(),
        actor: actor.actor.id.clone(),
        url: note_json.get("url").and_then(value_href),
        content_html,
        language,
        status: status.to_owned(),
        published_at: published,
        updated_at: Utc::now(),
    };
    data.store().upsert_comment(&comment).await?;
    tracing::info!(article = %article.slug, note = note_id, status, "reply stored");
    Ok(Some(article.id))
}

/// Whether `actor` follows the article's author or the organisation.
async fn follows_us(
    data: &Data<FedContext>,
    article: &gazette_core::Article,
    actor: &DbRemoteActor,
) -> Result<bool, FederationError> {
    let author = data.store().get_author(&article.author_id).await?;
    let mut local = vec![data.urls().actor(&author.username)];
    if let Some(org) = data.store().find_organisation().await? {
        local.push(data.urls().actor(&org.username));
    }
    let mut follows = false;
    for l in &local {
        let list = data
            .store()
            .list_followers(l, FollowStatus::Accepted, 10_000, 0)
            .await?;
        follows |= list.iter().any(|f| f.actor.id == actor.actor.id);
    }
    Ok(follows)
}

/// The local article an object id or URL points at, if any.
pub(super) async fn local_article(
    data: &Data<FedContext>,
    id: &str,
) -> Result<Option<gazette_core::Article>, FederationError> {
    let urls = data.urls();
    if let Some(article_id) = urls.local_article_id(id) {
        return Ok(data.store().find_article(article_id).await?);
    }
    if let Some(slug) = urls.local_article_slug(id) {
        return Ok(data.store().find_article_by_slug(slug).await?);
    }
    Ok(None)
}
