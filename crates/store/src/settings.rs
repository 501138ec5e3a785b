//! Instance settings changed at run time (migration 12's
//! `instance_settings`): one row per overridden setting; no row means the
//! config file's value applies. Names and value rules live in
//! `gazette_core::settings`; this only keeps rows.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::Store;
use crate::error::StoreResult;
use crate::time::{from_db, now, to_db};

/// One stored override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSetting {
    pub name: String,
    pub value: String,
    pub updated_at: DateTime<Utc>,
    /// The user who set it (`None` once that user is deleted, or from the CLI).
    pub updated_by: Option<String>,
}

impl Store {
    /// Every stored override, by name.
    pub async fn list_instance_settings(&self) -> StoreResult<Vec<StoredSetting>> {
        let rows = sqlx::query("SELECT name, value, updated_at, updated_by FROM instance_settings ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredSetting {
                    name: r.try_get("name")?,
                    value: r.try_get("value")?,
                    updated_at: from_db(r.try_get("updated_at")?)?,
                    updated_by: r.try_get("updated_by")?,
                })
            })
            .collect()
    }

    /// The stored override of `name`, if any.
    pub async fn instance_setting(&self, name: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM instance_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("value")?),
            None => None,
        })
    }

    /// In one transaction: stores `set` (name, checked value) as overrides
    /// and removes the overrides named in `reset` (back to the config file).
    pub async fn update_instance_settings(
        &self,
        set: &[(String, String)],
        reset: &[String],
        by: Option<&str>,
    ) -> StoreResult<()> {
        let t = to_db(now());
        let mut tx = self.begin_write().await?;
        for name in reset {
            sqlx::query("DELETE FROM instance_settings WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        for (name, value) in set {
            sqlx::query(
                "INSERT INTO instance_settings (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                 updated_by = excluded.updated_by",
            )
            .bind(name)
            .bind(value)
            .bind(t)
            .bind(by)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
