//! What `gazette import` stores: one imported post per transaction (its
//! images, its article, the note of where it came from), the images already
//! downloaded, the old site's paths answered with a redirect, and the images
//! that came without alt text.

use gazette_core::media::ImageInfo;
use gazette_core::{Article, Media, NewArticle};
use sqlx::{AnyConnection, Row};

use crate::Store;
use crate::articles::{Tell, create_article_in, update_article_in};
use crate::error::{StoreError, StoreResult};
use crate::ids::{new_id, sha256_hex};
use crate::time::{now, to_db};

/// A downloaded image of an imported post. `key` is the placeholder the
/// post's cover and body use for it (`/media/{key}`); the store replaces it
/// with the stored image's id. An empty `alt` stores the image as one that
/// needs alt text.
#[derive(Debug, Clone)]
pub struct ImportImage {
    pub key: String,
    /// Where it was downloaded from, so a later run does not fetch it again.
    pub url: String,
    pub info: ImageInfo,
    pub alt: String,
    pub bytes: Vec<u8>,
}

/// One post to import.
#[derive(Debug, Clone)]
pub struct ImportedPost {
    /// The site or feed the post comes from.
    pub source: String,
    /// The post's id there (WordPress `guid`, a feed item's id).
    pub guid: String,
    /// Its path on the old site (`/2025/05/solar-roofs/`), if it had one.
    pub old_path: Option<String>,
    pub article: NewArticle,
    pub images: Vec<ImportImage>,
    /// Tell followers about it (`--federate`); otherwise it is stored quietly.
    pub federate: bool,
    /// A digest of the source post and the import's options: a later run
    /// with the same digest leaves the article alone.
    pub digest: String,
}

/// Whether an import created the article or updated the one an earlier run made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
}

impl Store {
    /// The article an earlier import made of `guid` from `source`, with the
    /// digest of what it imported.
    pub async fn find_imported_article(&self, source: &str, guid: &str) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query("SELECT article_id, digest FROM import_items WHERE source = $1 AND guid = $2")
            .bind(source)
            .bind(guid)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("article_id")?, r.try_get("digest")?)))
            .transpose()
    }

    /// The image an earlier import downloaded from `url`.
    pub async fn find_imported_media(&self, url: &str) -> StoreResult<Option<Media>> {
        let row = sqlx::query("SELECT media_id FROM import_media WHERE url = $1")
            .bind(url)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => self.find_media(&r.try_get::<String, _>("media_id")?).await,
            None => Ok(None),
        }
    }

    /// Stores one imported post in one transaction: its images, its article
    /// (created, or updated when an earlier run imported it), and where it
    /// came from. If anything is refused, nothing of the post is kept.
    pub async fn save_imported_post(&self, post: &ImportedPost) -> StoreResult<(ImportOutcome, Article)> {
        let mut tx = self.begin_write().await?;
        let mut article = post.article.clone();
        for image in &post.images {
            let id = insert_image(&mut tx, image).await?;
            if let Some(c) = article.cover.as_mut().filter(|c| c.media_id == image.key) {
                c.media_id = id.clone();
            }
            let placeholder = format!("/media/{}", image.key);
            let real = format!("/media/{id}");
            for t in &mut article.translations {
                t.body_markdown = t.body_markdown.replace(&placeholder, &real);
                t.body_html = t.body_html.replace(&placeholder, &real);
            }
        }
        let existing = sqlx::query("SELECT article_id FROM import_items WHERE source = $1 AND guid = $2")
            .bind(&post.source)
            .bind(&post.guid)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("article_id"))
            .transpose()?;
        // Old posts are never mailed to subscribers; followers hear of
        // them only with `--federate`.
        let tell = if post.federate {
            Tell::FollowersOnly
        } else {
            Tell::Nobody
        };
        let (outcome, id) = match existing {
            Some(id) => {
                update_article_in(&mut tx, &id, &article, None, &[], tell).await?;
                (ImportOutcome::Updated, id)
            }
            None => (
                ImportOutcome::Created,
                create_article_in(&mut tx, &article, &[], tell).await?,
            ),
        };
        sqlx::query(
            "INSERT INTO import_items (source, guid, article_id, old_path, digest, imported_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (source, guid) DO UPDATE SET old_path = excluded.old_path, digest = excluded.digest,
                 imported_at = excluded.imported_at",
        )
        .bind(&post.source)
        .bind(&post.guid)
        .bind(&id)
        .bind(post.old_path.as_deref())
        .bind(&post.digest)
        .bind(to_db(now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((outcome, self.get_article(&id).await?))
    }

    /// The slug of the public article an import made of the post that had
    /// `path` on the old site (with or without its trailing slash).
    pub async fn find_redirect_for_old_path(&self, path: &str) -> StoreResult<Option<String>> {
        let trimmed = path.trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT a.slug AS slug FROM import_items i JOIN articles a ON a.id = i.article_id
             WHERE (i.old_path = $1 OR i.old_path = $2) AND a.status = 'published'
             ORDER BY i.imported_at DESC LIMIT 1",
        )
        .bind(trimmed)
        .bind(format!("{trimmed}/"))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("slug")).transpose()?)
    }

    /// Images stored without alt text (by an import), newest first.
    pub async fn list_media_needing_alt(&self, limit: i64, offset: i64) -> StoreResult<Vec<Media>> {
        let rows = sqlx::query(
            "SELECT id, content_type, width, height, size, alt, sha256, created_at FROM media
             WHERE needs_alt = 1 ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crate::media::media_from_row).collect()
    }

    /// How many images wait for alt text.
    pub async fn count_media_needing_alt(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM media WHERE needs_alt = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// Stores `image` (or finds the same bytes already stored, giving them alt
/// text if they had none and this one has) and notes its URL; returns its id.
async fn insert_image(conn: &mut AnyConnection, image: &ImportImage) -> StoreResult<String> {
    let alt = image.alt.trim();
    if image.bytes.is_empty() {
        return Err(StoreError::Invalid {
            field: "image",
            message: format!("image `{}` is empty", image.url),
        });
    }
    let sha = sha256_hex(&image.bytes);
    let found = sqlx::query("SELECT id, needs_alt FROM media WHERE sha256 = $1 ORDER BY created_at LIMIT 1")
        .bind(&sha)
        .fetch_optional(&mut *conn)
        .await?;
    let id = match found {
        Some(row) => {
            let id: String = row.try_get("id")?;
            let needs_alt: i64 = row.try_get("needs_alt")?;
            if needs_alt != 0 && !alt.is_empty() {
                sqlx::query("UPDATE media SET alt = $1, needs_alt = 0 WHERE id = $2")
                    .bind(alt)
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
            }
            id
        }
        None => {
            let id = new_id();
            sqlx::query(
                "INSERT INTO media (id, content_type, width, height, size, alt, sha256, data, created_at, needs_alt)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&id)
            .bind(image.info.content_type)
            .bind(i64::from(image.info.width))
            .bind(i64::from(image.info.height))
            .bind(image.bytes.len() as i64)
            .bind(alt)
            .bind(&sha)
            .bind(image.bytes.clone())
            .bind(to_db(now()))
            .bind(i64::from(alt.is_empty()))
            .execute(&mut *conn)
            .await?;
            id
        }
    };
    sqlx::query("INSERT INTO import_media (url, media_id) VALUES ($1, $2) ON CONFLICT (url) DO UPDATE SET media_id = excluded.media_id")
        .bind(&image.url)
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}
