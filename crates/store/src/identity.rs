//! The instance's recorded public URL (migration 27's `instance_identity`):
//! the one origin every process of an instance names actors and articles
//! with. Which URL wins and when a process must refuse to start is decided
//! by the binary; this only keeps the row.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, now, to_db};

/// How the recorded public URL was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicUrlSource {
    /// Given by a person: the config, a flag, `gazette init` or `gazette
    /// instance set-public-url`. Only `set-public-url` changes it.
    Configured,
    /// Nothing was configured: the address `gazette serve` listened on.
    /// A later server started without a URL records its own address.
    Bound,
}

impl PublicUrlSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PublicUrlSource::Configured => "configured",
            PublicUrlSource::Bound => "bound",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "configured" => Ok(PublicUrlSource::Configured),
            "bound" => Ok(PublicUrlSource::Bound),
            other => Err(StoreError::Corrupt(format!(
                "instance_identity.source `{other}`: expected configured or bound"
            ))),
        }
    }
}

/// The recorded public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPublicUrl {
    pub url: String,
    pub source: PublicUrlSource,
    pub recorded_at: DateTime<Utc>,
}

impl Store {
    /// The recorded public URL, if a process recorded one yet.
    pub async fn find_public_url(&self) -> StoreResult<Option<RecordedPublicUrl>> {
        let row = sqlx::query("SELECT public_url, source, recorded_at FROM instance_identity WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(RecordedPublicUrl {
                url: r.try_get("public_url")?,
                source: PublicUrlSource::parse(&r.try_get::<String, _>("source")?)?,
                recorded_at: from_db(r.try_get("recorded_at")?)?,
            })
        })
        .transpose()
    }

    /// Records `url` unless a URL is recorded already, and returns the
    /// recorded one: `url`, or the one another process recorded first.
    pub async fn record_public_url(&self, url: &str, source: PublicUrlSource) -> StoreResult<RecordedPublicUrl> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO instance_identity (id, public_url, source, recorded_at) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(url)
        .bind(source.as_str())
        .bind(to_db(now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.find_public_url()
            .await?
            .ok_or_else(|| StoreError::not_found("recorded public URL", url))
    }

    /// Records `url` in place of any recorded URL; returns the one it replaced.
    pub async fn replace_public_url(
        &self,
        url: &str,
        source: PublicUrlSource,
    ) -> StoreResult<Option<RecordedPublicUrl>> {
        let before = self.find_public_url().await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO instance_identity (id, public_url, source, recorded_at) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET public_url = excluded.public_url, source = excluded.source,
             recorded_at = excluded.recorded_at",
        )
        .bind(url)
        .bind(source.as_str())
        .bind(to_db(now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(before)
    }
}
