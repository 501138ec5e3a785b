//! Local actors' Ed25519 keys (FEP-521a): made on first use (microseconds
//! of work, so no queue of waiters as for RSA keys), stored by the store
//! (`actor_ed25519_keys`, PKCS#8) so every process signs with the same
//! key, and published in the actor document as a `Multikey` under
//! `assertionMethod`, with the id `{actor}#ed25519-key`.
//!
//! `gazette keys rotate` replaces it with the RSA key (see
//! `crate::keys::rotate`): the new key gets a new id (`#ed25519-key-2`,
//! and so on), so proofs made before still name the key that made them;
//! the replaced key stays listed under `assertionMethod`
//! ([`served_multikeys`]) until it retires with the replaced RSA key, and
//! signs the rotation's `Update` ([`proof_key_with`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use gazette_store::{Ed25519Key, NewEd25519Key, ed25519_key_fragment};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use super::multikey::ed25519_multikey;
use crate::context::FedContext;
use crate::error::FederationError;

/// The fragment of every local actor's first Ed25519 key id (later
/// generations are `ed25519-key-<n>`).
pub const KEY_FRAGMENT: &str = "ed25519-key";

/// A local actor's Ed25519 key, ready to sign proofs.
pub struct ProofKey {
    pair: Ed25519KeyPair,
    verification_method: String,
}

impl ProofKey {
    pub fn pair(&self) -> &Ed25519KeyPair {
        &self.pair
    }

    /// `{actor}#ed25519-key` (`#ed25519-key-<n>` after rotations).
    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }

    /// The key's `publicKeyMultibase`.
    pub fn multibase(&self) -> String {
        ed25519_multikey(self.pair.public_key().as_ref())
    }
}

/// A new key pair, not stored yet.
pub fn new_pair() -> Result<NewEd25519Key, FederationError> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| FederationError::Internal("cannot generate an Ed25519 key".into()))?;
    let pair = parse(pkcs8.as_ref())?;
    Ok(NewEd25519Key {
        private_key_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        public_key_multibase: ed25519_multikey(pair.public_key().as_ref()),
    })
}

/// A first key for `local_key`, not stored yet.
fn generate(local_key: &str) -> Result<Ed25519Key, FederationError> {
    let pair = new_pair()?;
    Ok(Ed25519Key {
        local_key: local_key.to_owned(),
        generation: 1,
        key_fragment: ed25519_key_fragment(1),
        private_key_pkcs8: pair.private_key_pkcs8,
        public_key_multibase: pair.public_key_multibase,
    })
}

fn parse(pkcs8: &[u8]) -> Result<Ed25519KeyPair, FederationError> {
    Ed25519KeyPair::from_pkcs8(pkcs8)
        .map_err(|e| FederationError::Internal(format!("a stored Ed25519 key does not parse: {e}")))
}

/// The Ed25519 key of `local_key` (`organisation`, `author:<id>`,
/// `network`), made and stored on first use; when two
/// processes make one at once, both use the first stored.
pub async fn ensure_ed25519_key(ctx: &FedContext, local_key: &str) -> Result<Ed25519Key, FederationError> {
    if let Some(key) = ctx.store().find_ed25519_key(local_key).await? {
        return Ok(key);
    }
    Ok(ctx.store().ensure_ed25519_key(&generate(local_key)?).await?)
}

/// The `local_key` of the local actor `actor_id`, or `None` when it is
/// not one of ours. The instance actor has no Ed25519 key: it sends no
/// activities (it signs GETs only).
async fn local_key_of(ctx: &FedContext, actor_id: &str) -> Result<Option<String>, FederationError> {
    Ok(crate::local::local_actor_by_id(ctx, actor_id)
        .await?
        .map(|actor| actor.key_name()))
}

fn proof_key_from(actor_id: &str, fragment: &str, private_key_pkcs8: &str) -> Result<ProofKey, FederationError> {
    let pkcs8 = STANDARD
        .decode(private_key_pkcs8)
        .map_err(|e| FederationError::Internal(format!("a stored Ed25519 key is not base64: {e}")))?;
    Ok(ProofKey {
        pair: parse(&pkcs8)?,
        verification_method: format!("{actor_id}#{fragment}"),
    })
}

/// The signing key of the local actor `actor_id` (its current Ed25519
/// key), or `None` when it is not one of ours.
pub async fn proof_key(ctx: &FedContext, actor_id: &str) -> Result<Option<ProofKey>, FederationError> {
    let Some(local_key) = local_key_of(ctx, actor_id).await? else {
        return Ok(None);
    };
    let stored = ensure_ed25519_key(ctx, &local_key).await?;
    Ok(Some(proof_key_from(
        actor_id,
        &stored.key_fragment,
        &stored.private_key_pkcs8,
    )?))
}

/// The key of the local actor `actor_id` whose id fragment is `fragment`:
/// a replaced key while it is in its grace period (the rotation's `Update`
/// carries a proof by the key followers already hold), else the current
/// key. `None` when `actor_id` is not one of ours.
pub async fn proof_key_with(
    ctx: &FedContext,
    actor_id: &str,
    fragment: &str,
) -> Result<Option<ProofKey>, FederationError> {
    let Some(local_key) = local_key_of(ctx, actor_id).await? else {
        return Ok(None);
    };
    let current = ensure_ed25519_key(ctx, &local_key).await?;
    if fragment != current.key_fragment {
        match ctx
            .store()
            .find_old_ed25519_key(&local_key, fragment, Utc::now())
            .await?
        {
            Some(old) => return Ok(Some(proof_key_from(actor_id, fragment, &old.private_key_pkcs8)?)),
            None => tracing::info!(
                actor_id,
                fragment,
                "that Ed25519 key has retired; the proof is made with the current key"
            ),
        }
    }
    Ok(Some(proof_key_from(
        actor_id,
        &current.key_fragment,
        &current.private_key_pkcs8,
    )?))
}

/// An Ed25519 public key an actor document lists under `assertionMethod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedMultikey {
    pub fragment: String,
    pub public_key_multibase: String,
}

/// The Ed25519 keys listed for `local_key` at `now` (the current one made
/// on first use): the current key first, then the replaced keys still in
/// their grace period, newest first.
pub async fn served_multikeys(
    ctx: &FedContext,
    local_key: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ServedMultikey>, FederationError> {
    let current = ensure_ed25519_key(ctx, local_key).await?;
    let mut keys = vec![ServedMultikey {
        fragment: current.key_fragment,
        public_key_multibase: current.public_key_multibase,
    }];
    for old in ctx.store().live_old_ed25519_keys(local_key, now).await? {
        keys.push(ServedMultikey {
            fragment: old.key_fragment,
            public_key_multibase: old.public_key_multibase,
        });
    }
    Ok(keys)
}

/// An actor document's `assertionMethod`: its Ed25519 `Multikey`s, as
/// [`served_multikeys`] lists them.
pub fn assertion_method(actor_id: &str, keys: &[ServedMultikey]) -> Value {
    Value::Array(
        keys.iter()
            .map(|k| {
                json!({
                    "id": format!("{actor_id}#{}", k.fragment),
                    "type": "Multikey",
                    "controller": actor_id,
                    "publicKeyMultibase": k.public_key_multibase,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_reads_back_and_names_its_public_key() {
        let key = generate("organisation").unwrap();
        let pair = parse(&STANDARD.decode(&key.private_key_pkcs8).unwrap()).unwrap();
        assert_eq!(ed25519_multikey(pair.public_key().as_ref()), key.public_key_multibase);
        assert!(key.public_key_multibase.starts_with("z6Mk"));
        assert_eq!((key.generation, key.key_fragment.as_str()), (1, KEY_FRAGMENT));
        let served = ServedMultikey {
            fragment: key.key_fragment.clone(),
            public_key_multibase: key.public_key_multibase.clone(),
        };
        let method = assertion_method("https://news.example/users/org", std::slice::from_ref(&served));
        assert_eq!(method[0]["id"], "https://news.example/users/org#ed25519-key");
        assert_eq!(method[0]["controller"], "https://news.example/users/org");
        assert_eq!(method.as_array().unwrap().len(), 1);
    }

    /// During a grace period both keys are listed, each under its own id,
    /// the current one first; a new pair is another key.
    #[test]
    fn a_rotated_key_is_listed_beside_the_old_one() {
        let old = generate("organisation").unwrap();
        let new = new_pair().unwrap();
        assert_ne!(new.public_key_multibase, old.public_key_multibase);
        let keys = [
            ServedMultikey {
                fragment: ed25519_key_fragment(2),
                public_key_multibase: new.public_key_multibase.clone(),
            },
            ServedMultikey {
                fragment: old.key_fragment.clone(),
                public_key_multibase: old.public_key_multibase.clone(),
            },
        ];
        let method = assertion_method("https://news.example/users/org", &keys);
        assert_eq!(method[0]["id"], "https://news.example/users/org#ed25519-key-2");
        assert_eq!(method[0]["publicKeyMultibase"], new.public_key_multibase.as_str());
        assert_eq!(method[1]["id"], "https://news.example/users/org#ed25519-key");
        assert_eq!(method[1]["publicKeyMultibase"], old.public_key_multibase.as_str());
        for m in method.as_array().unwrap() {
            assert_eq!(m["type"], "Multikey");
            assert_eq!(m["controller"], "https://news.example/users/org");
        }
    }
}
