//! What integrity proofs need kept (migration 36): local actors' Ed25519
//! keys, other servers' Ed25519 keys that verified a proof (by key id),
//! and a coordinator's member articles as received with their proof
//! (and the key of that proof, migration 42).
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

/// A `remote_multikeys` row.
fn remote_multikey(r: &AnyRow) -> StoreResult<RemoteMultikey> {
    Ok(RemoteMultikey {
        id: r.try_get("id")?,
        controller: r.try_get("controller")?,
        public_key_multibase: r.try_get("public_key_multibase")?,
        fetched_at: from_db(r.try_get("fetched_at")?)?,
    })
}

/// A member article as received, kept because its proof verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptCopy<'a> {
    /// The article's JSON, byte for byte as it came.
    pub json: &'a str,
    /// The key id (`verificationMethod`) of its proof; its first proof's
    /// when it has several.
    pub proof_key: &'a str,
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
        row.as_ref().map(remote_multikey).transpose()
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

    /// Keeps `copy`, the signed JSON of feed item `item` (replacing what
    /// was kept); `None` forgets it (an edit that came without a proof).
    pub async fn set_network_item_object(&self, item: &str, copy: Option<KeptCopy<'_>>) -> StoreResult<()> {
        match copy {
            Some(copy) => {
                sqlx::query(
                    "INSERT INTO network_item_objects (item, object_json, proof_key) VALUES ($1, $2, $3)
                     ON CONFLICT (item) DO UPDATE SET object_json = excluded.object_json, proof_key = excluded.proof_key",
                )
                .bind(item)
                .bind(copy.json)
                .bind(copy.proof_key)
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

    /// The feed items whose kept copy is proven by the key `key_id`, by id.
    pub async fn network_items_proven_by(&self, key_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT item FROM network_item_objects WHERE proof_key = $1 ORDER BY item")
            .bind(key_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("item")?)).collect()
    }

    /// Forgets the remote key `key_id` (its controller no longer lists it)
    /// and every kept copy its proof vouched for, in one transaction;
    /// returns the items whose copies went, by id. Their boosts then carry
    /// the article's id, for followers to read from its origin.
    pub async fn retire_remote_multikey(&self, key_id: &str) -> StoreResult<Vec<String>> {
        let mut tx = self.writer().begin().await?;
        let rows = sqlx::query("DELETE FROM network_item_objects WHERE proof_key = $1 RETURNING item")
            .bind(key_id)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM remote_multikeys WHERE id = $1")
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut items = rows
            .iter()
            .map(|r| Ok(r.try_get("item")?))
            .collect::<StoreResult<Vec<String>>>()?;
        items.sort();
        Ok(items)
    }

    /// Up to `limit` stored remote keys last read from their controllers
    /// before `before`, the oldest reading first.
    pub async fn remote_multikeys_read_before(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<RemoteMultikey>> {
        let rows = sqlx::query(
            "SELECT id, controller, public_key_multibase, fetched_at FROM remote_multikeys
             WHERE fetched_at < $1 ORDER BY fetched_at, id LIMIT $2",
        )
        .bind(to_db(before))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(remote_multikey).collect()
    }

    /// Every stored key of `controller`, by id.
    pub async fn remote_multikeys_of(&self, controller: &str) -> StoreResult<Vec<RemoteMultikey>> {
        let rows = sqlx::query(
            "SELECT id, controller, public_key_multibase, fetched_at FROM remote_multikeys
             WHERE controller = $1 ORDER BY id",
        )
        .bind(controller)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(remote_multikey).collect()
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
