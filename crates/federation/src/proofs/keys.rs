//! Local actors' Ed25519 keys (FEP-521a): made on first use (microseconds
//! of work, so no queue of waiters as for RSA keys), stored by the store
//! (`actor_ed25519_keys`, PKCS#8) so every process signs with the same
//! key, and published in the actor document as a `Multikey` under
//! `assertionMethod`, with the id `{actor}#ed25519-key`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gazette_store::Ed25519Key;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use super::multikey::ed25519_multikey;
use crate::context::FedContext;
use crate::error::FederationError;

/// The fragment of every local actor's Ed25519 key id.
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

    /// `{actor}#ed25519-key`.
    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }

    /// The key's `publicKeyMultibase`.
    pub fn multibase(&self) -> String {
        ed25519_multikey(self.pair.public_key().as_ref())
    }
}

/// A new key for `local_key`, not stored yet.
fn generate(local_key: &str) -> Result<Ed25519Key, FederationError> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| FederationError::Internal("cannot generate an Ed25519 key".into()))?;
    let pair = parse(pkcs8.as_ref())?;
    Ok(Ed25519Key {
        local_key: local_key.to_owned(),
        private_key_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        public_key_multibase: ed25519_multikey(pair.public_key().as_ref()),
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

/// The signing key of the local actor `actor_id`, or `None` when it is not
/// one of ours.
pub async fn proof_key(ctx: &FedContext, actor_id: &str) -> Result<Option<ProofKey>, FederationError> {
    // The instance actor sends no activities (it signs GETs only).
    let local_key = match crate::local::local_actor_by_id(ctx, actor_id).await? {
        Some(actor) => actor.key_name(),
        None => return Ok(None),
    };
    let stored = ensure_ed25519_key(ctx, &local_key).await?;
    let pkcs8 = STANDARD
        .decode(&stored.private_key_pkcs8)
        .map_err(|e| FederationError::Internal(format!("a stored Ed25519 key is not base64: {e}")))?;
    Ok(Some(ProofKey {
        pair: parse(&pkcs8)?,
        verification_method: format!("{actor_id}#{KEY_FRAGMENT}"),
    }))
}

/// An actor document's `assertionMethod`: its one Ed25519 `Multikey`.
pub fn assertion_method(actor_id: &str, public_key_multibase: &str) -> Value {
    json!([{
        "id": format!("{actor_id}#{KEY_FRAGMENT}"),
        "type": "Multikey",
        "controller": actor_id,
        "publicKeyMultibase": public_key_multibase,
    }])
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
        let method = assertion_method("https://news.example/users/org", &key.public_key_multibase);
        assert_eq!(method[0]["id"], "https://news.example/users/org#ed25519-key");
        assert_eq!(method[0]["controller"], "https://news.example/users/org");
    }
}
