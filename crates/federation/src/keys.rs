//! Local actors' RSA-2048 key pairs: generated once, stored as PEM, shared
//! by every process on the database.

use activitypub_federation::http_signatures::generate_actor_keypair;
use gazette_store::Store;

use crate::error::FederationError;

/// Key names in the store.
pub const INSTANCE_KEY: &str = "instance";
pub const ORGANISATION_KEY: &str = "organisation";

pub fn author_key(author_id: &str) -> String {
    format!("author:{author_id}")
}

/// (public PEM, private PEM) for `local_key`, generating it on first use.
pub async fn ensure_key(store: &Store, local_key: &str) -> Result<(String, String), FederationError> {
    if let Some(k) = store.find_actor_key(local_key).await? {
        return Ok(k);
    }
    // Key generation takes tens of milliseconds of CPU: keep it off the runtime threads.
    let pair = tokio::task::spawn_blocking(generate_actor_keypair)
        .await
        .map_err(|e| FederationError::Internal(format!("key generation panicked: {e}")))??;
    Ok(store
        .ensure_actor_key(local_key, &pair.public_key, &pair.private_key)
        .await?)
}
