//! Key rotation of local actors (migration 35): the current key of each
//! actor with its generation and key id fragment (`actor_keys`), and the
//! keys a rotation replaced (`old_actor_keys`), served beside the current
//! one until they retire. A rotation replaces the actor's Ed25519 key in
//! the same transaction (migration 41, [`crate::ed25519_rotation`]), and
//! a retirement retires both. Making keys and naming key ids is left to
//! `gazette-federation`; this keeps the rows.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::ed25519_rotation::{self, NewEd25519Key};
use crate::error::{StoreError, StoreResult};
use crate::integrity_keys::Ed25519Key;
use crate::time::{from_db, to_db};

/// A local actor's current key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorKey {
    /// `instance`, `organisation`, `author:<id>`, `network`…
    pub local_key: String,
    /// 1 for the first key, one more at each rotation.
    pub generation: i64,
    /// The key id is the actor's id, `#`, and this (`main-key` for
    /// generation 1, `key-<generation>` after).
    pub key_fragment: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
    /// When the key was made (or, for generation 1, first stored).
    pub created_at: DateTime<Utc>,
}

/// A key replaced by a rotation, served until `retires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldActorKey {
    pub local_key: String,
    pub key_fragment: String,
    pub public_key_pem: String,
    pub replaced_at: DateTime<Utc>,
    pub retires_at: DateTime<Utc>,
}

/// What [`Store::rotate_actor_keys`] made current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedKeys {
    pub rsa: ActorKey,
    /// `None` when no Ed25519 key was rotated (the instance actor has none).
    pub ed25519: Option<Ed25519Key>,
}

/// The key id fragment of `generation`: `main-key` for the first key, as
/// every actor's key was named before rotation existed, `key-<n>` after.
pub fn key_fragment(generation: i64) -> String {
    if generation <= 1 {
        "main-key".to_owned()
    } else {
        format!("key-{generation}")
    }
}

/// The columns [`actor_key`] reads.
macro_rules! key_columns {
    () => {
        "local_key, generation, key_fragment, public_key_pem, private_key_pem, created_at"
    };
}

/// The columns [`old_key`] reads.
macro_rules! old_columns {
    () => {
        "local_key, key_fragment, public_key_pem, replaced_at, retires_at"
    };
}

fn actor_key(r: &AnyRow) -> StoreResult<ActorKey> {
    Ok(ActorKey {
        local_key: r.try_get("local_key")?,
        generation: r.try_get("generation")?,
        key_fragment: r.try_get("key_fragment")?,
        public_key_pem: r.try_get("public_key_pem")?,
        private_key_pem: r.try_get("private_key_pem")?,
        created_at: from_db(r.try_get("created_at")?)?,
    })
}

fn old_key(r: &AnyRow) -> StoreResult<OldActorKey> {
    Ok(OldActorKey {
        local_key: r.try_get("local_key")?,
        key_fragment: r.try_get("key_fragment")?,
        public_key_pem: r.try_get("public_key_pem")?,
        replaced_at: from_db(r.try_get("replaced_at")?)?,
        retires_at: from_db(r.try_get("retires_at")?)?,
    })
}

impl Store {
    /// The current key of `local_key`, with its generation and fragment.
    pub async fn find_current_actor_key(&self, local_key: &str) -> StoreResult<Option<ActorKey>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM actor_keys WHERE local_key = $1"
        ))
        .bind(local_key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(actor_key).transpose()
    }

    /// The highest generation of any local actor's RSA key and of any
    /// Ed25519 key (1 when none was rotated): the key ids an actor document
    /// may serve go up to `key-N` and `ed25519-key-N`.
    pub async fn max_key_generations(&self) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(generation), 1) FROM actor_keys) AS rsa,
                    (SELECT COALESCE(MAX(generation), 1) FROM actor_ed25519_keys) AS ed",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("rsa")?, row.try_get("ed")?))
    }

    /// Every local actor's current key, by `local_key`.
    pub async fn list_actor_keys(&self) -> StoreResult<Vec<ActorKey>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM actor_keys ORDER BY local_key"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(actor_key).collect()
    }

    /// Replaces the current key of `local_key` with a new pair, one
    /// generation up, in one transaction; the replaced key is kept as an
    /// old key until `retires_at`. Fails with NotFound when the actor has
    /// no key yet, and with Conflict when another rotation of the same
    /// actor committed in between.
    pub async fn rotate_actor_key(
        &self,
        local_key: &str,
        public_pem: &str,
        private_pem: &str,
        now: DateTime<Utc>,
        retires_at: DateTime<Utc>,
    ) -> StoreResult<ActorKey> {
        let rotated = self
            .rotate_actor_keys(local_key, public_pem, private_pem, None, now, retires_at)
            .await?;
        Ok(rotated.rsa)
    }

    /// [`Store::rotate_actor_key`], and with `ed25519` the actor's Ed25519
    /// key too, in the same transaction: the replaced Ed25519 key is kept
    /// until the same `retires_at`. Fails with NotFound when the actor has
    /// no RSA key, or no Ed25519 key to replace, yet; nothing is changed
    /// then.
    pub async fn rotate_actor_keys(
        &self,
        local_key: &str,
        public_pem: &str,
        private_pem: &str,
        ed25519: Option<&NewEd25519Key>,
        now: DateTime<Utc>,
        retires_at: DateTime<Utc>,
    ) -> StoreResult<RotatedKeys> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM actor_keys WHERE local_key = $1"
        ))
        .bind(local_key)
        .fetch_optional(&mut *tx)
        .await?;
        let current = row
            .as_ref()
            .map(actor_key)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("actor key", local_key))?;
        sqlx::query(
            "INSERT INTO old_actor_keys (local_key, key_fragment, public_key_pem, private_key_pem, replaced_at, retires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(local_key)
        .bind(&current.key_fragment)
        .bind(&current.public_key_pem)
        .bind(&current.private_key_pem)
        .bind(to_db(now))
        .bind(to_db(retires_at))
        .execute(&mut *tx)
        .await?;
        let generation = current.generation + 1;
        let fragment = key_fragment(generation);
        let updated = sqlx::query(
            "UPDATE actor_keys SET generation = $1, key_fragment = $2, public_key_pem = $3, private_key_pem = $4,
                                   created_at = $5
             WHERE local_key = $6 AND generation = $7",
        )
        .bind(generation)
        .bind(&fragment)
        .bind(public_pem)
        .bind(private_pem)
        .bind(to_db(now))
        .bind(local_key)
        .bind(current.generation)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict {
                field: "generation",
                message: format!("the key of {local_key} was rotated by someone else meanwhile; try again"),
            });
        }
        let ed25519 = match ed25519 {
            Some(new) => Some(ed25519_rotation::rotate_in(&mut tx, local_key, new, now, retires_at).await?),
            None => None,
        };
        tx.commit().await?;
        Ok(RotatedKeys {
            rsa: ActorKey {
                local_key: local_key.to_owned(),
                generation,
                key_fragment: fragment,
                public_key_pem: public_pem.to_owned(),
                private_key_pem: private_pem.to_owned(),
                created_at: now,
            },
            ed25519,
        })
    }

    /// The old keys of `local_key` still in their grace period at `now`,
    /// newest first. A key past `retires_at` is never returned, whether or
    /// not [`Store::delete_retired_actor_keys`] has deleted it yet.
    pub async fn live_old_actor_keys(&self, local_key: &str, now: DateTime<Utc>) -> StoreResult<Vec<OldActorKey>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            old_columns!(),
            " FROM old_actor_keys WHERE local_key = $1 AND retires_at > $2
             ORDER BY replaced_at DESC, key_fragment DESC"
        ))
        .bind(local_key)
        .bind(to_db(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(old_key).collect()
    }

    /// The private half of the old key `key_fragment` of `local_key`, while
    /// it is in its grace period at `now`: the rotation's `Update` is signed
    /// with it. None once retired, for a fragment that is not an old key,
    /// and for keys replaced before migration 39 kept private halves.
    pub async fn find_old_actor_private_key(
        &self,
        local_key: &str,
        key_fragment: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT private_key_pem FROM old_actor_keys
             WHERE local_key = $1 AND key_fragment = $2 AND retires_at > $3",
        )
        .bind(local_key)
        .bind(key_fragment)
        .bind(to_db(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>, _>("private_key_pem")?,
            None => None,
        })
    }

    /// Ends the grace period of the old keys of `local_key` (of every
    /// actor with `None`) at once, RSA and Ed25519: they are deleted.
    /// Returns how many.
    pub async fn retire_old_actor_keys(&self, local_key: Option<&str>) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        match local_key {
            Some(k) => {
                for sql in [
                    "DELETE FROM old_actor_keys WHERE local_key = $1",
                    "DELETE FROM old_actor_ed25519_keys WHERE local_key = $1",
                ] {
                    n += sqlx::query(sql).bind(k).execute(&mut *tx).await?.rows_affected();
                }
            }
            None => {
                for sql in ["DELETE FROM old_actor_keys", "DELETE FROM old_actor_ed25519_keys"] {
                    n += sqlx::query(sql).execute(&mut *tx).await?.rows_affected();
                }
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Deletes the old keys, RSA and Ed25519, whose grace period is over at
    /// `now` (they are already no longer served); returns how many.
    pub async fn delete_retired_actor_keys(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let mut n = 0;
        for sql in [
            "DELETE FROM old_actor_keys WHERE retires_at <= $1",
            "DELETE FROM old_actor_ed25519_keys WHERE retires_at <= $1",
        ] {
            n += sqlx::query(sql)
                .bind(to_db(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }
}
