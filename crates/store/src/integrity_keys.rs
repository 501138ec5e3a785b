//! What integrity proofs need kept (migration 36): local actors' Ed25519
//! keys, other servers' Ed25519 keys that verified a proof (by key id),
//! and a coordinator's member articles as received with their proof.
//! Making keys and checking proofs is `gazette-federation`'s; this keeps
//! the rows.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::{from_db, now, to_db};

/// A local actor's Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed25519Key {
    /// `instance`, `organisation`, `author:<id>`, `network`, as in `actor_keys`.
    pub local_key: String,
    /// 1 for the first key, one more at each rotation (migration 41).
    pub generation: i64,
    /// The key id is the actor's id, `#`, and this (`ed25519-key` for
    /// generation 1, `ed25519-key-<generation>` after).
    pub key_fragment: String,
    /// PKCS#8, base64.
    pub private_key_pkcs8: String,
    /// `z6Mk…`: the FEP-521a `publicKeyMultibase`.
    pub public_key_multibase: String,
}

/// Another server's Ed25519 key, as its controller's document listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMultikey {
    /// The key id (`verificationMethod` of its proofs).
    pub id: String,
    /// The actor whose `assertionMethod` lists it.
    pub controller: String,
    pub public_key_multibase: String,
    pub fetched_at: DateTime<Utc>,
}

/// An `actor_ed25519_keys` row (its `local_key`, `generation`,
/// `key_fragment`, `private_key_pkcs8` and `public_key_multibase`).
pub(crate) fn ed25519_key(r: &AnyRow) -> StoreResult<Ed25519Key> {
    Ok(Ed25519Key {
        local_key: r.try_get("local_key")?,
        generation: r.try_get("generation")?,
        key_fragment: r.try_get("key_fragment")?,
        private_key_pkcs8: r.try_get("private_key_pkcs8")?,
        public_key_multibase: r.try_get("public_key_multibase")?,
    })
}

impl Store {
    /// The Ed25519 key of `local_key`, if it has one.
    pub async fn find_ed25519_key(&self, local_key: &str) -> StoreResult<Option<Ed25519Key>> {
        let row = sqlx::query(
            "SELECT local_key, generation, key_fragment, private_key_pkcs8, public_key_multibase
             FROM actor_ed25519_keys WHERE local_key = $1",
        )
        .bind(local_key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ed25519_key).transpose()
    }

    /// Stores `key` unless `local_key` has one, and returns the one stored:
    /// processes making a key at once all end up with the first. A key
    /// stored so is of `key`'s generation and fragment (the first: 1 and
    /// `ed25519-key`; rotations go through [`Store::rotate_actor_keys`]).
    pub async fn ensure_ed25519_key(&self, key: &Ed25519Key) -> StoreResult<Ed25519Key> {
        sqlx::query(
            "INSERT INTO actor_ed25519_keys (local_key, generation, key_fragment, private_key_pkcs8, public_key_multibase, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (local_key) DO NOTHING",
        )
        .bind(&key.local_key)
        .bind(key.generation)
        .bind(&key.key_fragment)
        .bind(&key.private_key_pkcs8)
        .bind(&key.public_key_multibase)
        .bind(to_db(now()))
        .execute(self.writer())
        .await?;
        self.find_ed25519_key(&key.local_key)
            .await?
            .ok_or_else(|| StoreError::not_found("Ed25519 key", &key.local_key))
    }

    /// A remote key that verified a proof before.
    pub async fn find_remote_multikey(&self, id: &str) -> StoreResult<Option<RemoteMultikey>> {
        let row =
            sqlx::query("SELECT id, controller, public_key_multibase, fetched_at FROM remote_multikeys WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(RemoteMultikey {
                id: r.try_get("id")?,
                controller: r.try_get("controller")?,
                public_key_multibase: r.try_get("public_key_multibase")?,
                fetched_at: from_db(r.try_get("fetched_at")?)?,
            })
        })
        .transpose()
    }

    /// Remembers (or refreshes) a remote key read from its controller's document.
    pub async fn save_remote_multikey(&self, key: &RemoteMultikey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO remote_multikeys (id, controller, public_key_multibase, fetched_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET controller = excluded.controller,
               public_key_multibase = excluded.public_key_multibase, fetched_at = excluded.fetched_at",
        )
        .bind(&key.id)
        .bind(&key.controller)
        .bind(&key.public_key_multibase)
        .bind(to_db(key.fetched_at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Keeps the signed JSON of feed item `item` (replacing what was kept);
    /// `None` forgets it (an edit that came without a proof).
    pub async fn set_network_item_object(&self, item: &str, object_json: Option<&str>) -> StoreResult<()> {
        match object_json {
            Some(json) => {
                sqlx::query(
                    "INSERT INTO network_item_objects (item, object_json) VALUES ($1, $2)
                     ON CONFLICT (item) DO UPDATE SET object_json = excluded.object_json",
                )
                .bind(item)
                .bind(json)
                .execute(self.writer())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM network_item_objects WHERE item = $1")
                    .bind(item)
                    .execute(self.writer())
                    .await?;
            }
        }
        Ok(())
    }

    /// The signed JSON kept for feed item `item`, if any.
    pub async fn find_network_item_object(&self, item: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT object_json FROM network_item_objects WHERE item = $1")
            .bind(item)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("object_json")).transpose()?)
    }
}
