//! Writing articles inside a transaction: create and update with their
//! translations, tags and media references, slug checks, and the event that
//! tells followers (and the newsletter) what changed.

use chrono::{DateTime, Utc};
use gazette_core::{ArticleEvent, ArticleStatus, Interviewee, NewArticle};
use sqlx::{AnyConnection, Row};

use crate::error::{StoreError, StoreResult};
use crate::ids::new_id;
use crate::media::{NewMedia, insert_media_in, require_media_in};
use crate::time::{from_db_opt, now, to_db};

/// [`Store::create_article_with_media`] inside a transaction; returns the
/// new article's id. `tell` says who hears of it: an import of old posts
/// tells followers only when asked (`--federate`) and never mails them.
pub(crate) async fn create_article_in(
    tx: &mut AnyConnection,
    new: &NewArticle,
    media: &[NewMedia],
    tell: Tell,
) -> StoreResult<String> {
    let new = &attach_media(&mut *tx, new, media).await?;
    let author_id = resolve_author(&mut *tx, &new.author).await?;
    check_media_refs(&mut *tx, new).await?;
    if let Some(other) = slug_owner(&mut *tx, &new.slug).await? {
        return Err(slug_taken(&new.slug, &other.1));
    }
    let t = now();
    let id = new_id();
    let published_at = published_at_for(new, None, t);
    sqlx::query(
        "INSERT INTO articles (id, slug, kind, status, default_language, author_id, cover_media, cover_alt,
                                   interviewee, published_at, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
    )
    .bind(&id)
    .bind(&new.slug)
    .bind(new.kind.as_str())
    .bind(new.status.as_str())
    .bind(new.default_language.as_str())
    .bind(&author_id)
    .bind(new.cover.as_ref().map(|c| c.media_id.clone()))
    .bind(new.cover.as_ref().map(|c| c.alt.clone()))
    .bind(interviewee_json(&new.interviewee)?)
    .bind(published_at.map(to_db))
    .bind(to_db(t))
    .bind(to_db(t))
    .execute(&mut *tx)
    .await
    .map_err(|e| map_slug_violation(e, &new.slug))?;
    insert_children(&mut *tx, &id, new).await?;
    if tell != Tell::Nobody {
        let newsletter = tell == Tell::Everyone;
        record_event(
            &mut *tx,
            &id,
            false,
            new.status == ArticleStatus::Published,
            1,
            t,
            newsletter,
        )
        .await?;
    }
    Ok(id)
}

/// [`Store::update_article_with_media`] inside a transaction. Without
/// `record_events`, followers hear nothing of the change.
pub(crate) async fn update_article_in(
    tx: &mut AnyConnection,
    id: &str,
    new: &NewArticle,
    expected_version: Option<i64>,
    media: &[NewMedia],
    tell: Tell,
) -> StoreResult<()> {
    let row = sqlx::query("SELECT version, status, published_at FROM articles WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::not_found("article", id))?;
    let version: i64 = row.try_get("version")?;
    let old_status: String = row.try_get("status")?;
    let old_published: Option<i64> = row.try_get("published_at")?;
    if let Some(expected) = expected_version
        && expected != version
    {
        return Err(StoreError::StaleVersion {
            what: "article",
            current: version,
        });
    }
    let new = &attach_media(&mut *tx, new, media).await?;
    let author_id = resolve_author(&mut *tx, &new.author).await?;
    check_media_refs(&mut *tx, new).await?;
    if let Some(other) = slug_owner(&mut *tx, &new.slug).await?
        && other.0 != id
    {
        return Err(slug_taken(&new.slug, &other.1));
    }
    let t = now();
    let published_at = published_at_for(new, from_db_opt(old_published)?, t);
    let done = sqlx::query(
        "UPDATE articles SET slug = $1, kind = $2, status = $3, default_language = $4, author_id = $5,
                 cover_media = $6, cover_alt = $7, interviewee = $8, published_at = $9, updated_at = $10,
                 version = version + 1
             WHERE id = $11 AND version = $12",
    )
    .bind(&new.slug)
    .bind(new.kind.as_str())
    .bind(new.status.as_str())
    .bind(new.default_language.as_str())
    .bind(&author_id)
    .bind(new.cover.as_ref().map(|c| c.media_id.clone()))
    .bind(new.cover.as_ref().map(|c| c.alt.clone()))
    .bind(interviewee_json(&new.interviewee)?)
    .bind(published_at.map(to_db))
    .bind(to_db(t))
    .bind(id)
    .bind(version)
    .execute(&mut *tx)
    .await
    .map_err(|e| map_slug_violation(e, &new.slug))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::StaleVersion {
            what: "article",
            current: version + 1,
        });
    }
    sqlx::query("DELETE FROM article_translations WHERE article_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM article_tags WHERE article_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    insert_children(&mut *tx, id, new).await?;
    let was_public = old_status == ArticleStatus::Published.as_str();
    let is_public = new.status == ArticleStatus::Published;
    if tell != Tell::Nobody {
        let newsletter = tell == Tell::Everyone;
        record_event(&mut *tx, id, was_public, is_public, version + 1, t, newsletter).await?;
    }
    Ok(())
}

/// Who hears of an article write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tell {
    /// Followers (article events) and newsletter subscribers: what an
    /// editor publishes.
    Everyone,
    /// Followers only: an import of old posts with `--federate`.
    FollowersOnly,
    /// Nobody: an import of old posts.
    Nobody,
}

/// The date an article shows: the explicit one, else the one it already had,
/// else now if it is being published.
/// Records what followers must hear about a change, inside its transaction.
pub(super) async fn record_event(
    conn: &mut AnyConnection,
    article_id: &str,
    was_public: bool,
    is_public: bool,
    version: i64,
    at: DateTime<Utc>,
    newsletter: bool,
) -> StoreResult<()> {
    let Some(event) = ArticleEvent::of_change(was_public, is_public) else {
        return Ok(());
    };
    sqlx::query("INSERT INTO article_events (id, article_id, kind, version, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id())
        .bind(article_id)
        .bind(event.as_str())
        .bind(version)
        .bind(to_db(at))
        .execute(&mut *conn)
        .await?;
    if newsletter && event == ArticleEvent::Published {
        crate::newsletter::queue_issue(conn, article_id, at).await?;
    }
    Ok(())
}

fn published_at_for(new: &NewArticle, existing: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match new.status {
        ArticleStatus::Published => Some(new.published_at.or(existing).unwrap_or(now)),
        _ => new.published_at.or(existing),
    }
}

async fn check_media_refs(conn: &mut AnyConnection, new: &NewArticle) -> StoreResult<()> {
    if let Some(c) = &new.cover {
        require_media_in(conn, "cover", &c.media_id).await?;
    }
    if let Some(photo) = new.interviewee.as_ref().and_then(|i| i.photo.as_deref()) {
        require_media_in(conn, "interviewee.photo", photo).await?;
    }
    Ok(())
}

/// Inserts `media` and returns `new` with their placeholders replaced by ids.
async fn attach_media(conn: &mut AnyConnection, new: &NewArticle, media: &[NewMedia]) -> StoreResult<NewArticle> {
    let mut new = new.clone();
    for m in media {
        let id = insert_media_in(conn, m).await?;
        if let Some(c) = new.cover.as_mut().filter(|c| c.media_id == m.key) {
            c.media_id = id.clone();
        }
        if let Some(p) = new
            .interviewee
            .as_mut()
            .and_then(|i| i.photo.as_mut())
            .filter(|p| **p == m.key)
        {
            *p = id;
        }
    }
    Ok(new)
}

async fn resolve_author(conn: &mut AnyConnection, author: &str) -> StoreResult<String> {
    let row = sqlx::query("SELECT id FROM authors WHERE id = $1 OR username = $1")
        .bind(author)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(r.try_get("id")?),
        None => Err(StoreError::Invalid {
            field: "author",
            message: format!("no author has id or username `{author}`"),
        }),
    }
}

/// (id, status) of the article holding `slug`, if any.
async fn slug_owner(conn: &mut AnyConnection, slug: &str) -> StoreResult<Option<(String, String)>> {
    let row = sqlx::query("SELECT id, status FROM articles WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("status")?))).transpose()
}

fn slug_taken(slug: &str, status: &str) -> StoreError {
    let message = if status == "deleted" {
        format!("slug `{slug}` belongs to a deleted article; choose another slug or update that article to restore it")
    } else {
        format!("slug `{slug}` is already used by another article")
    };
    StoreError::Conflict { field: "slug", message }
}

fn map_slug_violation(e: sqlx::Error, slug: &str) -> StoreError {
    if StoreError::is_unique_violation(&e) {
        slug_taken(slug, "")
    } else {
        e.into()
    }
}

fn interviewee_json(i: &Option<Interviewee>) -> StoreResult<Option<String>> {
    i.as_ref()
        .map(|i| serde_json::to_string(i).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

async fn insert_children(conn: &mut AnyConnection, id: &str, new: &NewArticle) -> StoreResult<()> {
    for (pos, t) in new.translations.iter().enumerate() {
        sqlx::query(
            "INSERT INTO article_translations (article_id, language, position, title, summary, body_markdown, body_html)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(t.language.as_str())
        .bind(pos as i64)
        .bind(&t.title)
        .bind(&t.summary)
        .bind(&t.body_markdown)
        .bind(&t.body_html)
        .execute(&mut *conn)
        .await?;
    }
    // `tag` is the lower-case key every lookup uses; `label` keeps the case
    // the tag was written in, for display.
    for (pos, tag) in new.tags.iter().enumerate() {
        sqlx::query("INSERT INTO article_tags (article_id, tag, position, label) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(tag.to_lowercase())
            .bind(pos as i64)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    write_media_refs(conn, id, new).await
}

/// Replaces the images article `id` uses (migration 21's
/// `article_media_refs`, read by the media library) with those of `new`.
async fn write_media_refs(conn: &mut AnyConnection, id: &str, new: &NewArticle) -> StoreResult<()> {
    sqlx::query("DELETE FROM article_media_refs WHERE article_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (media_id, kind) in media_refs(new) {
        sqlx::query("INSERT INTO article_media_refs (media_id, kind, article_id) VALUES ($1, $2, $3)")
            .bind(media_id)
            .bind(kind)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// (media id, kind of use) of every image `new` uses, each once: its
/// cover, its interviewee's photo and the images any translation's text
/// shows (see [`gazette_core::media::referenced_media_ids`]).
fn media_refs(new: &NewArticle) -> Vec<(String, &'static str)> {
    let mut refs: Vec<(String, &'static str)> = Vec::new();
    if let Some(c) = &new.cover {
        refs.push((c.media_id.clone(), "cover"));
    }
    if let Some(photo) = new.interviewee.as_ref().and_then(|i| i.photo.clone()) {
        refs.push((photo, "interviewee"));
    }
    let mut inline: Vec<String> = new
        .translations
        .iter()
        .flat_map(|t| gazette_core::media::referenced_media_ids(&t.body_markdown))
        .collect();
    inline.sort();
    inline.dedup();
    refs.extend(inline.into_iter().map(|m| (m, "inline")));
    refs
}

#[cfg(test)]
mod tests {
    use gazette_core::{ArticleKind, Cover, Language, Translation};

    use super::*;

    #[test]
    fn an_article_uses_each_image_once_per_kind() {
        let fr = Language::parse("fr").unwrap();
        let text = |body: &str| Translation {
            language: fr.clone(),
            title: "T".into(),
            summary: "S".into(),
            body_markdown: body.into(),
            body_html: String::new(),
        };
        let new = NewArticle {
            slug: "s".into(),
            kind: ArticleKind::Interview,
            status: ArticleStatus::Draft,
            default_language: fr.clone(),
            translations: vec![
                text("![a](/media/b2) ![c](/media/a1)"),
                text("![a](/media/a1) /media/c0ver"),
            ],
            tags: Vec::new(),
            author: "lea".into(),
            cover: Some(Cover {
                media_id: "c0ver".into(),
                alt: "A".into(),
            }),
            interviewee: Some(Interviewee {
                name: "Ana".into(),
                photo: Some("a1".into()),
                ..Default::default()
            }),
            published_at: None,
        };
        let refs = media_refs(&new);
        let refs: Vec<(&str, &str)> = refs.iter().map(|(m, k)| (m.as_str(), *k)).collect();
        assert_eq!(
            refs,
            [
                ("c0ver", "cover"),
                ("a1", "interviewee"),
                ("a1", "inline"),
                ("b2", "inline"),
                ("c0ver", "inline")
            ]
        );
        let plain = NewArticle {
            cover: None,
            interviewee: None,
            translations: vec![text("No image.")],
            ..new
        };
        assert!(media_refs(&plain).is_empty());
    }
}
