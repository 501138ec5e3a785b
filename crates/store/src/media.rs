//! Uploaded images, kept in the database so a backup is one file or one dump.

use gazette_core::Media;
use gazette_core::media::ImageInfo;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::ids::{new_id, sha256_hex};
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
        .execute(&self.pool)
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

    /// Fails with `Invalid { field }` when `id` names no stored image.
    pub(crate) async fn require_media(&self, field: &'static str, id: &str) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        require_media_in(&mut conn, field, id).await
    }
}

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

fn media_from_row(r: &AnyRow) -> StoreResult<Media> {
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
