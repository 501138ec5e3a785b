//! Authorized fetch (Mastodon's "secure mode"): with
//! `federation.authorized_fetch` on, our AS2 documents (actors, their
//! collections, articles) answer only GETs carrying a valid draft-cavage
//! signature from a remote actor we federate with. draft-cavage or
//! RFC 9421 signature (see [`crate::signatures`]) from a remote actor we
//! federate with; the key is the signer's, fetched (and cached) through
//! `ObjectId::dereference`. The instance actor, WebFinger, NodeInfo and
//! every HTML page stay public, so that others can fetch our key and people
//! can read.

use std::convert::Infallible;

use activitypub_federation::config::Data;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::{DateTime, Utc};

use crate::context::FedContext;
use crate::error::FederationError;
use crate::keys::INSTANCE_KEY;
use crate::safety;
use crate::signatures::verify::{self, actor_url_of_key};
use crate::signatures::{SignedRequest, unauthorized};

/// What a signature covers of a request: its method, its target as the
/// client sent it (before any router nesting) and its headers.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestHead {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let uri = match parts.extensions.get::<OriginalUri>() {
            Some(OriginalUri(uri)) => uri.clone(),
            None => parts.uri.clone(),
        };
        Ok(RequestHead {
            method: parts.method.clone(),
            uri,
            headers: parts.headers.clone(),
        })
    }
}

/// Checks the signature of a GET for an AS2 document when authorized fetch
/// is on (and does nothing when it is off). Unsigned, badly signed, stale or
/// unverifiable requests are refused with 401; a signer we do not federate
/// with (blocked domain or actor, or not on the allowlist) with 403.
pub async fn authorize_fetch(data: &Data<FedContext>, head: &RequestHead) -> Result<(), FederationError> {
    if !data.settings().authorized_fetch {
        return Ok(());
    }
    let signer = verify_signed_request(data, &head.method, &head.uri, &head.headers, Utc::now()).await?;
    tracing::debug!(signer = %signer, path = %head.uri.path(), "signed fetch");
    Ok(())
}

/// Verifies the request's signature and returns the signer's id.
pub(crate) async fn verify_signed_request(
    data: &Data<FedContext>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<String, FederationError> {
    let urls = data.urls();
    let scheme = urls.base().split("://").next().unwrap_or("https");
    let req = SignedRequest {
        method,
        uri,
        headers,
        local_host: urls.host(),
        scheme,
    };
    let mut sig = verify::read(&req, None, now)?;
    if sig.target_split.is_some() {
        // A signer fetching a rotated key id may sign it, fragment and all.
        let (rsa, ed25519) = data.store().max_key_generations().await?;
        sig.add_key_generations(rsa, ed25519);
    }
    let actor_url = actor_url_of_key(&sig.key_id)?;
    // Whom we do not federate with is refused before anything is fetched.
    safety::check_actor(data, actor_url.as_str()).await?;
    // Our own instance actor (`gazette doctor` fetching through the reverse
    // proxy) is no remote actor: its stored key verifies it.
    if actor_url.as_str() == urls.instance_actor() {
        // The current key, or an old one in its grace period after a rotation.
        let keys = crate::keys::served_keys(data, INSTANCE_KEY, chrono::Utc::now()).await?;
        let instance = urls.instance_actor();
        if keys
            .iter()
            .any(|k| sig.key_id == urls.key_id_with(&instance, &k.fragment) && sig.verifies_with(&k.public_key_pem))
        {
            return Ok(actor_url.to_string());
        }
        return Err(unauthorized(format!(
            "the signature does not verify with the key {}",
            sig.key_id
        )));
    }
    let actor = verify::verify_signer(data, &sig, &actor_url, true, cannot_verify(&sig.key_id)).await?;
    Ok(actor.actor.id)
}

/// A failure to fetch the signer: the request cannot be verified (401),
/// unless it was our own failure or a refusal of whom we do not federate with.
fn cannot_verify(key_id: &str) -> impl Fn(FederationError) -> FederationError + '_ {
    move |e| match e {
        FederationError::Store(_) | FederationError::Internal(_) => e,
        FederationError::Refused(StatusCode::FORBIDDEN, _) => e,
        other => unauthorized(format!("cannot fetch the key {key_id}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_name_actors() {
        assert_eq!(
            actor_url_of_key("https://m.example/users/a#main-key").unwrap().as_str(),
            "https://m.example/users/a"
        );
        assert_eq!(
            actor_url_of_key("https://g.example/users/a/main-key").unwrap().as_str(),
            "https://g.example/users/a"
        );
        assert!(actor_url_of_key("not a url").is_err());
    }
}
