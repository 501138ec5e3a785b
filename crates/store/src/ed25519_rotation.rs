//! Rotation of local actors' Ed25519 keys (migration 41), which happens
//! with the rotation of their RSA keys ([`Store::rotate_actor_keys`]): the
//! current key's generation and key id fragment (`actor_ed25519_keys`),
//! and the keys a rotation replaced (`old_actor_ed25519_keys`), listed
//! beside the current one until they retire with the RSA key replaced at
//! the same time. Making keys and naming key ids is left to
//! `gazette-federation`; this keeps the rows.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::integrity_keys::Ed25519Key;
use crate::time::{from_db, to_db};

/// An Ed25519 key replaced by a rotation, listed until `retires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldEd25519Key {
    pub local_key: String,
    pub key_fragment: String,
    pub public_key_multibase: String,
    /// PKCS#8, base64: the rotation's `Update` carries a proof by it.
    pub private_key_pkcs8: String,
    pub replaced_at: DateTime<Utc>,
    pub retires_at: DateTime<Utc>,
}

/// A new Ed25519 key pair for [`Store::rotate_actor_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEd25519Key {
    /// PKCS#8, base64.
    pub private_key_pkcs8: String,
    pub public_key_multibase: String,
}

/// The key id fragment of the Ed25519 key of `generation`: `ed25519-key`
/// for the first key, as every actor's was named before rotation,
/// `ed25519-key-<n>` after.
pub fn ed25519_key_fragment(generation: i64) -> String {
    if generation <= 1 {
        "ed25519-key".to_owned()
    } else {
        format!("ed25519-key-{generation}")
    }
}

fn old_key(r: &AnyRow) -> StoreResult<OldEd25519Key> {
    Ok(OldEd25519Key {
        local_key: r.try_get("local_key")?,
        key_fragment: r.try_get("key_fragment")?,
        public_key_multibase: r.try_get("public_key_multibase")?,
        private_key_pkcs8: r.try_get("private_key_pkcs8")?,
        replaced_at: from_db(r.try_get("replaced_at")?)?,
        retires_at: from_db(r.try_get("retires_at")?)?,
    })
}

/// Replaces the Ed25519 key of `local_key` with `new` in `tx`, one
/// generation up; the replaced key is kept until `retires_at`. Fails with
/// NotFound when the actor has no Ed25519 key yet, and with Conflict when
/// another rotation committed in between.
pub(crate) async fn rotate_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    local_key: &str,
    new: &NewEd25519Key,
    now: DateTime<Utc>,
    retires_at: DateTime<Utc>,
) -> StoreResult<Ed25519Key> {
    let row = sqlx::query(
        "SELECT local_key, generation, key_fragment, private_key_pkcs8, public_key_multibase
         FROM actor_ed25519_keys WHERE local_key = $1",
    )
    .bind(local_key)
    .fetch_optional(&mut **tx)
    .await?;
    let current = row
        .as_ref()
        .map(crate::integrity_keys::ed25519_key)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("Ed25519 key", local_key))?;
    sqlx::query(
        "INSERT INTO old_actor_ed25519_keys
           (local_key, key_fragment, public_key_multibase, private_key_pkcs8, replaced_at, retires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(local_key)
    .bind(&current.key_fragment)
    .bind(&current.public_key_multibase)
    .bind(&current.private_key_pkcs8)
    .bind(to_db(now))
    .bind(to_db(retires_at))
    .execute(&mut **tx)
    .await?;
    let generation = current.generation + 1;
    let fragment = ed25519_key_fragment(generation);
    let updated = sqlx::query(
        "UPDATE actor_ed25519_keys SET generation = $1, key_fragment = $2, private_key_pkcs8 = $3,
                                       public_key_multibase = $4, created_at = $5
         WHERE local_key = $6 AND generation = $7",
    )
    .bind(generation)
    .bind(&fragment)
    .bind(&new.private_key_pkcs8)
    .bind(&new.public_key_multibase)
    .bind(to_db(now))
    .bind(local_key)
    .bind(current.generation)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::Conflict {
            field: "generation",
            message: format!("the Ed25519 key of {local_key} was rotated by someone else meanwhile; try again"),
        });
    }
    Ok(Ed25519Key {
        local_key: local_key.to_owned(),
        generation,
        key_fragment: fragment,
        private_key_pkcs8: new.private_key_pkcs8.clone(),
        public_key_multibase: new.public_key_multibase.clone(),
    })
}

impl Store {
    /// The replaced Ed25519 keys of `local_key` still in their grace period
    /// at `now`, newest first. A key past `retires_at` is never returned,
    /// whether or not it has been deleted yet.
    pub async fn live_old_ed25519_keys(&self, local_key: &str, now: DateTime<Utc>) -> StoreResult<Vec<OldEd25519Key>> {
        let rows = sqlx::query(
            "SELECT local_key, key_fragment, public_key_multibase, private_key_pkcs8, replaced_at, retires_at
             FROM old_actor_ed25519_keys WHERE local_key = $1 AND retires_at > $2
             ORDER BY replaced_at DESC, key_fragment DESC",
        )
        .bind(local_key)
        .bind(to_db(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(old_key).collect()
    }

    /// The replaced Ed25519 key `key_fragment` of `local_key`, while it is
    /// in its grace period at `now`; None once retired or for a fragment
    /// that is no replaced key.
    pub async fn find_old_ed25519_key(
        &self,
        local_key: &str,
        key_fragment: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OldEd25519Key>> {
        let row = sqlx::query(
            "SELECT local_key, key_fragment, public_key_multibase, private_key_pkcs8, replaced_at, retires_at
             FROM old_actor_ed25519_keys WHERE local_key = $1 AND key_fragment = $2 AND retires_at > $3",
        )
        .bind(local_key)
        .bind(key_fragment)
        .bind(to_db(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(old_key).transpose()
    }
}
