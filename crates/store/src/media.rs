//! Uploaded images, kept in the database so a backup is one file or one dump.

use std::collections::HashMap;

use gazette_core::Media;
use gazette_core::media::ImageInfo;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::ids::{new_id, sha256_hex};
use crate::sql::Sql;
use crate::time::{from_db, now, to_db};

impl Store {
    /// Stores a sniffed image with its alt text.
    pub async fn create_media(&self, info: &ImageInfo, alt: &str, bytes: &[u8]) -> StoreResult<Media> {
        let alt = alt.trim();
        if alt.is_empty() {
            return Err(StoreError::Invalid {
                field: "alt",
                message: "an image needs alt text describing it".into(),
            });
        }
        let media = Media {
            id: new_id(),
            content_type: info.content_type.to_owned(),
            width: info.width,
            height: info.height,
            size: bytes.len() as u64,
            alt: alt.to_owned(),
            sha256: sha256_hex(bytes),
            created_at: now(),
        };
        sqlx::query(
            "INSERT INTO media (id, content_type, width, height, size, alt, sha256, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&media.id)
        .bind(&media.content_type)
        .bind(i64::from(media.width))
        .bind(i64::from(media.height))
        .bind(media.size as i64)
        .bind(&media.alt)
        .bind(&media.sha256)
        .bind(bytes.to_vec())
        .bind(to_db(media.created_at))
        .execute(self.writer())
        .await?;
        Ok(media)
    }

    pub async fn find_media(&self, id: &str) -> StoreResult<Option<Media>> {
        let row = sqlx::query(
            "SELECT id, content_type, width, height, size, alt, sha256, created_at FROM media WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| media_from_row(&r)).transpose()
    }

    /// An already stored image with exactly these bytes, so re-publishing a
    /// file does not store its images twice.
    pub async fn find_media_by_sha256(&self, sha256: &str) -> StoreResult<Option<Media>> {
        let row = sqlx::query(
            "SELECT id, content_type, width, height, size, alt, sha256, created_at FROM media
             WHERE sha256 = $1 ORDER BY created_at LIMIT 1",
        )
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| media_from_row(&r)).transpose()
    }

    pub async fn get_media(&self, id: &str) -> StoreResult<Media> {
        self.find_media(id)
            .await?
            .ok_or_else(|| StoreError::not_found("media", id))
    }

    /// Metadata and bytes of one image.
    pub async fn get_media_data(&self, id: &str) -> StoreResult<(Media, Vec<u8>)> {
        let row = sqlx::query(
            "SELECT id, content_type, width, height, size, alt, sha256, created_at, data FROM media WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("media", id))?;
        Ok((media_from_row(&row)?, row.try_get("data")?))
    }

    /// Newest first.
    pub async fn list_media(&self, limit: i64, offset: i64) -> StoreResult<Vec<Media>> {
        let rows = sqlx::query(
            "SELECT id, content_type, width, height, size, alt, sha256, created_at FROM media
             ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(media_from_row).collect()
    }

    /// How many images are stored (for the library's page count).
    pub async fn count_media(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM media")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Changes the alt text of a stored image (the bytes never change).
    pub async fn update_media_alt(&self, id: &str, alt: &str) -> StoreResult<Media> {
        let alt = alt.trim();
        if alt.is_empty() {
            return Err(StoreError::Invalid {
                field: "alt",
                message: "an image needs alt text describing it".into(),
            });
        }
        let done = sqlx::query("UPDATE media SET alt = $1, needs_alt = 0 WHERE id = $2")
            .bind(alt)
            .bind(id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("media", id));
        }
        self.get_media(id).await
    }

    /// Where an image is used: articles' covers, interviewee photos and
    /// bodies (`/media/{id}` in the Markdown of any translation), the
    /// organisation's logo and authors' avatars.
    pub async fn media_uses(&self, id: &str) -> StoreResult<Vec<MediaUse>> {
        let mut conn = self.pool.acquire().await?;
        Ok(media_uses_in(&mut conn, &[id]).await?.remove(id).unwrap_or_default())
    }

    /// [`Store::media_uses`] of several images at once (a page of the
    /// library): unused ones are absent from the map.
    pub async fn media_uses_of(&self, ids: &[&str]) -> StoreResult<HashMap<String, Vec<MediaUse>>> {
        let mut conn = self.pool.acquire().await?;
        media_uses_in(&mut conn, ids).await
    }

    /// Deletes an unused image. One that is still used is refused with a
    /// `Conflict` naming every place it is used, and stays stored.
    pub async fn delete_media(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let uses = media_uses_in(&mut tx, &[id]).await?.remove(id).unwrap_or_default();
        if !uses.is_empty() {
            let places: Vec<String> = uses.iter().map(MediaUse::to_string).collect();
            return Err(StoreError::Conflict {
                field: "media",
                message: format!("the image is still used by {}", places.join(", ")),
            });
        }
        let done = sqlx::query("DELETE FROM media WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("media", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Fails with `Invalid { field }` when `id` names no stored image.
    pub(crate) async fn require_media(&self, field: &'static str, id: &str) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        require_media_in(&mut conn, field, id).await
    }
}

/// One place an image is used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaUse {
    /// `cover`, `inline`, `interviewee`, `logo` or `avatar`.
    pub kind: &'static str,
    /// The article's id, the author's username, or empty for the logo.
    pub key: String,
    /// The article's title (first translation), the author's name, or the
    /// organisation's name.
    pub label: String,
}

impl std::fmt::Display for MediaUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            "cover" => write!(f, "the cover of article “{}”", self.label),
            "inline" => write!(f, "the text of article “{}”", self.label),
            "interviewee" => write!(f, "the interviewee photo of article “{}”", self.label),
            "logo" => write!(f, "the logo of {}", self.label),
            _ => write!(f, "the avatar of author {}", self.label),
        }
    }
}

/// The uses of each of `ids`, in one query (the library page asks for a
/// whole page of images at once): articles' uses from
/// `article_media_refs` (migration 21, by its key), the logo and avatars
/// from their columns. Each image's uses come covers first, then the logo,
/// avatars, interviewee photos and texts; articles in the order of their
/// ids (their creation).
async fn media_uses_in(conn: &mut AnyConnection, ids: &[&str]) -> StoreResult<HashMap<String, Vec<MediaUse>>> {
    let mut out: HashMap<String, Vec<MediaUse>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut q = Sql::default();
    let list = q.param_list(ids.iter().copied());
    q.push(&format!(
        "SELECT r.media_id AS media, r.kind AS kind, a.id AS k,
                (SELECT t.title FROM article_translations t WHERE t.article_id = a.id ORDER BY t.position LIMIT 1)
                  AS label
           FROM article_media_refs r JOIN articles a ON a.id = r.article_id WHERE r.media_id IN ({list})
         UNION ALL
         SELECT o.logo, 'logo', '', o.name FROM organisation o WHERE o.logo IN ({list})
         UNION ALL
         SELECT au.avatar, 'avatar', au.username, au.name FROM authors au WHERE au.avatar IN ({list})
         ORDER BY k"
    ));
    for r in q.query().fetch_all(&mut *conn).await? {
        let kind: String = r.try_get("kind")?;
        let kind = USE_KINDS
            .iter()
            .copied()
            .find(|k| *k == kind)
            .ok_or_else(|| StoreError::Corrupt(format!("media use kind `{kind}`")))?;
        out.entry(r.try_get("media")?).or_default().push(MediaUse {
            kind,
            key: r.try_get("k")?,
            label: r.try_get::<Option<String>, _>("label")?.unwrap_or_default(),
        });
    }
    for uses in out.values_mut() {
        uses.sort_by_key(|u| USE_KINDS.iter().position(|k| *k == u.kind));
    }
    Ok(out)
}

/// The kinds of [`MediaUse`], in the order an image's uses are listed.
const USE_KINDS: [&str; 5] = ["cover", "logo", "avatar", "interviewee", "inline"];

/// An image to store together with the article that uses it, in one
/// transaction. `key` is the placeholder the article uses for it (e.g. the
/// file path in `cover.media_id`); the store replaces it with the media id.
#[derive(Debug, Clone)]
pub struct NewMedia {
    pub key: String,
    pub info: ImageInfo,
    pub alt: String,
    pub bytes: Vec<u8>,
}

/// [`Store::require_media`] inside a transaction, which sees its own inserts.
pub(crate) async fn require_media_in(conn: &mut AnyConnection, field: &'static str, id: &str) -> StoreResult<()> {
    let row = sqlx::query("SELECT id FROM media WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(StoreError::Invalid {
            field,
            message: format!("no uploaded image has id `{id}`"),
        }),
    }
}

/// Stores `m` (or finds identical bytes already stored) and returns its id.
pub(crate) async fn insert_media_in(conn: &mut AnyConnection, m: &NewMedia) -> StoreResult<String> {
    let alt = m.alt.trim();
    if alt.is_empty() {
        return Err(StoreError::Invalid {
            field: "alt",
            message: format!("image `{}` needs alt text describing it", m.key),
        });
    }
    let sha = sha256_hex(&m.bytes);
    if let Some(row) = sqlx::query("SELECT id FROM media WHERE sha256 = $1 ORDER BY created_at LIMIT 1")
        .bind(&sha)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(row.try_get("id")?);
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO media (id, content_type, width, height, size, alt, sha256, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(m.info.content_type)
    .bind(i64::from(m.info.width))
    .bind(i64::from(m.info.height))
    .bind(m.bytes.len() as i64)
    .bind(alt)
    .bind(&sha)
    .bind(m.bytes.clone())
    .bind(to_db(now()))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub(crate) fn media_from_row(r: &AnyRow) -> StoreResult<Media> {
    let width: i64 = r.try_get("width")?;
    let height: i64 = r.try_get("height")?;
    let size: i64 = r.try_get("size")?;
    Ok(Media {
        id: r.try_get("id")?,
        content_type: r.try_get("content_type")?,
        width: width as u32,
        height: height as u32,
        size: size as u64,
        alt: r.try_get("alt")?,
        sha256: r.try_get("sha256")?,
        created_at: from_db(r.try_get("created_at")?)?,
    })
}
