//! Follower synchronisation (FEP-8fcf) in the store: the digest of a local
//! actor's followers on each host (sent with deliveries), the followers on
//! one host (the partial collection a server asks for), the local follows
//! of a remote actor (compared with the digest it sends), and the claim that
//! lets one mismatch per remote actor and interval start a comparison.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gazette_core::FollowStatus;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::time::to_db;

/// A local actor's follow of a remote actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFollow {
    /// The local actor's id (its URL).
    pub local_actor: String,
    pub follow_id: String,
    pub status: FollowStatus,
}

/// Adds one id to a running digest: the digest is the XOR of the SHA-256
/// of every id (so the order does not matter and the empty set is zeros).
fn mix(acc: &mut [u8; 32], id: &str) {
    let hash = Sha256::digest(id.as_bytes());
    for (a, b) in acc.iter_mut().zip(hash.iter()) {
        *a ^= b;
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// FEP-8fcf's digest of a set of actor ids, in lower-case hex: the XOR of
/// the SHA-256 of each id. Pass each id once (an id given twice cancels out).
pub fn followers_digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut acc = [0u8; 32];
    for id in ids {
        mix(&mut acc, id);
    }
    hex(&acc)
}

impl Store {
    /// The digest ([`followers_digest`]) of `local_actor`'s accepted
    /// followers on each host (`host[:port]` of their actor id, lowercase,
    /// as [`crate::inbox_host`] writes a delivery's host): one query and one
    /// hash per follower, for a whole fan-out.
    pub async fn follower_digests(&self, local_actor: &str) -> StoreResult<HashMap<String, String>> {
        let rows = sqlx::query(
            "SELECT r.host AS host, r.id AS id FROM followers f JOIN remote_actors r ON r.id = f.follower
             WHERE f.local_actor = $1 AND f.status = 'accepted'",
        )
        .bind(local_actor)
        .fetch_all(&self.pool)
        .await?;
        let mut acc: HashMap<String, [u8; 32]> = HashMap::new();
        for r in &rows {
            let host: &str = r.try_get("host")?;
            let id: &str = r.try_get("id")?;
            match acc.get_mut(host) {
                Some(digest) => mix(digest, id),
                None => {
                    let mut digest = [0u8; 32];
                    mix(&mut digest, id);
                    acc.insert(host.to_owned(), digest);
                }
            }
        }
        Ok(acc.into_iter().map(|(host, d)| (host, hex(&d))).collect())
    }

    /// The accepted followers of `local_actor` whose actor id is on `host`
    /// (`host[:port]`, lowercase), by id.
    pub async fn followers_on_host(&self, local_actor: &str, host: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT r.id AS id FROM followers f JOIN remote_actors r ON r.id = f.follower
             WHERE f.local_actor = $1 AND f.status = 'accepted' AND r.host = $2 ORDER BY r.id",
        )
        .bind(local_actor)
        .bind(host.to_ascii_lowercase())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("id").map_err(StoreError::from))
            .collect()
    }

    /// Every local actor's follow of `target`, accepted or pending.
    pub async fn local_follows_of(&self, target: &str) -> StoreResult<Vec<LocalFollow>> {
        let rows =
            sqlx::query("SELECT local_actor, follow_id, status FROM following WHERE target = $1 ORDER BY local_actor")
                .bind(target)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(LocalFollow {
                    local_actor: r.try_get("local_actor")?,
                    follow_id: r.try_get("follow_id")?,
                    status: FollowStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("follow status {status}")))?,
                })
            })
            .collect()
    }

    /// Takes the turn to compare `remote_actor`'s followers collection with
    /// our follows of it: true when nobody did in the last `every` (then
    /// `now` is recorded), false otherwise. One statement, so two processes
    /// (or two deliveries at once) never both get the turn.
    pub async fn claim_follower_sync(
        &self,
        remote_actor: &str,
        now: DateTime<Utc>,
        every: Duration,
    ) -> StoreResult<bool> {
        let every = chrono::Duration::from_std(every).map_err(|e| StoreError::Config(format!("interval: {e}")))?;
        let done = sqlx::query(
            "INSERT INTO follower_syncs (remote_actor, checked_at) VALUES ($1, $2)
             ON CONFLICT (remote_actor) DO UPDATE SET checked_at = excluded.checked_at
             WHERE follower_syncs.checked_at <= $3",
        )
        .bind(remote_actor)
        .bind(to_db(now))
        .bind(to_db(now - every))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_an_xor_of_sha256() {
        assert_eq!(followers_digest([]), "0".repeat(64));
        // SHA-256("abc"), well known.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(followers_digest(["abc"]), abc);
        // Order does not matter; an id twice cancels out.
        assert_eq!(followers_digest(["abc", "x"]), followers_digest(["x", "abc"]));
        assert_eq!(followers_digest(["abc", "x", "x"]), abc);
        assert_ne!(followers_digest(["abc", "x"]), abc);
    }
}
