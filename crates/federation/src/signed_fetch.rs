//! Authorized fetch (Mastodon's "secure mode"): with
//! `federation.authorized_fetch` on, our AS2 documents (actors, their
//! collections, articles) answer only GETs carrying a valid draft-cavage
//! signature from a remote actor we federate with. activitypub_federation
//! verifies signed GETs for actix only, so this is a small verifier of our
//! own: the key is the signer's, fetched (and cached) through
//! `ObjectId::dereference`, and the signing string is rebuilt from the
//! headers the signature lists. The instance actor, WebFinger, NodeInfo and
//! every HTML page stay public, so that others can fetch our key and people
//! can read.

use std::convert::Infallible;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};
use url::Url;

use crate::context::FedContext;
use crate::error::FederationError;
use crate::inbox::{MAX_CLOCK_SKEW, check_signature_headers};
use crate::keys::INSTANCE_KEY;
use crate::remote::DbRemoteActor;
use crate::safety;

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

fn unauthorized(msg: impl Into<String>) -> FederationError {
    FederationError::Refused(StatusCode::UNAUTHORIZED, msg.into())
}

/// The parameters of a draft-cavage `Signature` header.
#[derive(Debug, Default, PartialEq)]
struct Signature {
    key_id: String,
    algorithm: Option<String>,
    /// Lower-cased, in order; `date` when the header names none.
    headers: Vec<String>,
    signature: String,
    created: Option<i64>,
    expires: Option<i64>,
}

impl Signature {
    fn parse(value: &str) -> Result<Signature, FederationError> {
        let mut sig = Signature::default();
        let mut headers = None;
        for part in value.split(',') {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim() {
                "keyId" => sig.key_id = v.to_owned(),
                "algorithm" => sig.algorithm = Some(v.to_ascii_lowercase()),
                "headers" => headers = Some(v.to_ascii_lowercase()),
                "signature" => sig.signature = v.to_owned(),
                "created" => sig.created = v.parse().ok(),
                "expires" => sig.expires = v.parse().ok(),
                _ => {}
            }
        }
        sig.headers = headers
            .as_deref()
            .unwrap_or("date")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if sig.key_id.is_empty() || sig.signature.is_empty() {
            return Err(unauthorized("the Signature header needs keyId and signature"));
        }
        if let Some(a) = sig.algorithm.as_deref()
            && !matches!(a, "rsa-sha256" | "hs2019")
        {
            return Err(unauthorized(format!("signature algorithm `{a}` is not supported")));
        }
        Ok(sig)
    }

    /// The string the sender signed, rebuilt from this request.
    fn signing_string(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        local_host: &str,
    ) -> Result<String, FederationError> {
        let mut lines = Vec::with_capacity(self.headers.len());
        for name in &self.headers {
            let value = match name.as_str() {
                "(request-target)" => {
                    let target = uri.path_and_query().map_or_else(|| uri.path(), |p| p.as_str());
                    format!("{} {target}", method.as_str().to_ascii_lowercase())
                }
                "(created)" => self
                    .created
                    .ok_or_else(|| unauthorized("(created) is signed but not given"))?
                    .to_string(),
                "(expires)" => self
                    .expires
                    .ok_or_else(|| unauthorized("(expires) is signed but not given"))?
                    .to_string(),
                // Behind some proxies (and over HTTP/2) there is no Host
                // header: the request was for us, as activitypub_federation assumes too.
                "host" if !headers.contains_key("host") => local_host.to_owned(),
                other => {
                    let values: Vec<&str> = headers
                        .get_all(other)
                        .iter()
                        .map(|v| v.to_str().map(str::trim))
                        .collect::<Result<_, _>>()
                        .map_err(|_| unauthorized(format!("the signed header `{other}` is not text")))?;
                    if values.is_empty() {
                        return Err(unauthorized(format!("the signed header `{other}` is missing")));
                    }
                    values.join(", ")
                }
            };
            lines.push(format!("{name}: {value}"));
        }
        Ok(lines.join("\n"))
    }

    /// `(created)` must not be in the future and `(expires)` not past, give
    /// or take [`MAX_CLOCK_SKEW`] (`Date` is checked by `check_signature_headers`).
    fn check_times(&self, now: DateTime<Utc>) -> Result<(), FederationError> {
        let skew = MAX_CLOCK_SKEW.num_seconds();
        let now = now.timestamp();
        if let Some(c) = self.created
            && (c > now + skew || c < now - skew)
        {
            return Err(unauthorized("the signature's (created) is too far from our clock"));
        }
        if let Some(e) = self.expires
            && e < now - skew
        {
            return Err(unauthorized("the signature has expired"));
        }
        Ok(())
    }
}

/// The actor a `keyId` belongs to: the key id without its fragment
/// (`…/users/a#main-key`, Mastodon and most others) or without a last
/// `/main-key` segment (GoToSocial).
fn actor_url_of_key(key_id: &str) -> Result<Url, FederationError> {
    let mut url = Url::parse(key_id).map_err(|_| unauthorized(format!("keyId `{key_id}` is not a URL")))?;
    if url.fragment().is_some() {
        url.set_fragment(None);
    } else if let Some(actor) = url.as_str().strip_suffix("/main-key") {
        url = Url::parse(actor).map_err(|_| unauthorized(format!("keyId `{key_id}` is not a URL")))?;
    }
    Ok(url)
}

/// Verifies the request's signature and returns the signer's id.
async fn verify_signed_request(
    data: &Data<FedContext>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<String, FederationError> {
    check_signature_headers(headers, now)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let value = header("signature")
        .or_else(|| header("authorization").and_then(|a| a.strip_prefix("Signature ")))
        .ok_or_else(|| unauthorized("the request is not signed"))?;
    let sig = Signature::parse(value)?;
    sig.check_times(now)?;
    let actor_url = actor_url_of_key(&sig.key_id)?;
    // Whom we do not federate with is refused before anything is fetched.
    safety::check_actor(data, actor_url.as_str()).await?;
    let signed = sig.signing_string(method, uri, headers, data.urls().host())?;
    let signature = BASE64
        .decode(&sig.signature)
        .map_err(|_| unauthorized("the signature is not base64"))?;
    // Our own instance actor (`gazette doctor` fetching through the reverse
    // proxy) is no remote actor: its stored key verifies it.
    if actor_url.as_str() == data.urls().instance_actor() {
        let public = data
            .store()
            .find_actor_key(INSTANCE_KEY)
            .await?
            .map(|(public, _)| public);
        let key_id = data.urls().key_id(&data.urls().instance_actor());
        if sig.key_id == key_id && public.is_some_and(|pem| verifies_with(&pem, &signed, &signature)) {
            return Ok(actor_url.to_string());
        }
        return Err(unauthorized(format!(
            "the signature does not verify with the key {}",
            sig.key_id
        )));
    }
    let id = ObjectId::<DbRemoteActor>::from(actor_url);
    let actor = id.dereference(data).await.map_err(cannot_verify(&sig.key_id))?;
    if verifies(&actor, &sig.key_id, &signed, &signature) {
        return Ok(actor.actor.id);
    }
    // The key may have changed since we stored the actor: fetch it once more.
    let recently = Utc::now() - chrono::TimeDelta::minutes(1);
    if actor.actor.refreshed_at < recently {
        let actor = id.dereference_forced(data).await.map_err(cannot_verify(&sig.key_id))?;
        if verifies(&actor, &sig.key_id, &signed, &signature) {
            return Ok(actor.actor.id);
        }
    }
    Err(unauthorized(format!(
        "the signature does not verify with the key {}",
        sig.key_id
    )))
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

fn verifies(actor: &DbRemoteActor, key_id: &str, signed: &str, signature: &[u8]) -> bool {
    if actor.actor.public_key_id != key_id {
        return false;
    }
    verifies_with(&actor.actor.public_key_pem, signed, signature)
}

/// Whether `signature` over `signed` verifies with the public key `pem`.
fn verifies_with(pem: &str, signed: &str, signature: &[u8]) -> bool {
    let Ok(key) = RsaPublicKey::from_public_key_pem(pem) else {
        return false;
    };
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(signed.as_bytes()),
        signature,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signature_headers() {
        let sig = Signature::parse(
            r#"keyId="https://a.example/users/u#main-key",algorithm="rsa-sha256",headers="(request-target) Host date",signature="c2ln""#,
        )
        .unwrap();
        assert_eq!(sig.key_id, "https://a.example/users/u#main-key");
        assert_eq!(sig.headers, ["(request-target)", "host", "date"]);
        assert_eq!(sig.signature, "c2ln");
        let bare = Signature::parse(r#"keyId="k",signature="s""#).unwrap();
        assert_eq!(bare.headers, ["date"]);
        assert!(Signature::parse(r#"keyId="k""#).is_err());
        assert!(Signature::parse(r#"keyId="k",algorithm="hmac-sha256",signature="s""#).is_err());
    }

    #[test]
    fn rebuilds_the_signing_string() {
        let sig = Signature::parse(
            r#"keyId="k",headers="(request-target) host date accept (created)",signature="s",created="1700000000""#,
        )
        .unwrap();
        let mut h = HeaderMap::new();
        h.insert("host", "news.example".parse().unwrap());
        h.insert("date", "Tue, 18 Nov 2025 09:00:00 GMT".parse().unwrap());
        h.insert("accept", "application/activity+json".parse().unwrap());
        let uri: Uri = "/users/camille?page=1".parse().unwrap();
        assert_eq!(
            sig.signing_string(&Method::GET, &uri, &h, "other.example").unwrap(),
            "(request-target): get /users/camille?page=1\nhost: news.example\ndate: Tue, 18 Nov 2025 09:00:00 GMT\n\
             accept: application/activity+json\n(created): 1700000000"
        );
        h.remove("host");
        assert!(
            sig.signing_string(&Method::GET, &uri, &h, "news.example")
                .unwrap()
                .contains("host: news.example")
        );
        h.remove("accept");
        assert!(sig.signing_string(&Method::GET, &uri, &h, "news.example").is_err());
    }

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

    #[test]
    fn times_must_be_near() {
        let now = Utc::now();
        let at = |created: Option<i64>, expires: Option<i64>| {
            Signature {
                created,
                expires,
                ..Default::default()
            }
            .check_times(now)
        };
        let t = now.timestamp();
        assert!(at(Some(t), Some(t + 60)).is_ok());
        assert!(at(Some(t + 3 * 3600), None).is_err());
        assert!(at(None, Some(t - 3 * 3600)).is_err());
    }
}
