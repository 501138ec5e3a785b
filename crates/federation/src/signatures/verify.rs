//! Verifying a signed request, whichever profile it uses: [`read`] checks
//! everything that needs no key (freshness, the body's digest, what the
//! signature must cover) and rebuilds what was signed; [`verify_signer`]
//! checks it with the signer's key, fetching the key again once if it fails.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use url::Url;

use super::cavage::{self, CavageSignature};
use super::keys::{Algorithm, PublicKey};
use super::rfc9421::{self, Rfc9421Signature};
use super::{SignedRequest, unauthorized};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::inbox::{MAX_CLOCK_SKEW, check_signature_headers};
use crate::remote::DbRemoteActor;

/// The fragments of our actors' first key ids (`<actor>#main-key`, and
/// `<actor>#ed25519-key` for the key of integrity proofs); a rotation adds
/// `key-N` and `ed25519-key-N` (see [`ReadSignature::add_key_generations`]).
const KEY_FRAGMENTS: [&str; 2] = ["main-key", crate::proofs::keys::KEY_FRAGMENT];

/// Which profile a request was signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Cavage,
    Rfc9421,
}

/// A signature read from a request and checked as far as it can be without the key.
#[derive(Debug, Clone)]
pub struct ReadSignature {
    pub profile: Profile,
    pub key_id: String,
    /// As the signer named it; `None`: the key's type decides.
    pub algorithm: Option<Algorithm>,
    /// The signing string (draft-cavage) or signature base (RFC 9421).
    pub base: Vec<u8>,
    /// For an RFC 9421 GET covering `@target-uri`: the base split where
    /// the target ends, to be tried with one of our key ids' fragments
    /// there (see [`Rfc9421Signature::base_with_fragment`]), and those
    /// fragments.
    pub target_split: Option<(Vec<u8>, Vec<u8>)>,
    pub key_fragments: Vec<String>,
    /// For a draft-cavage request with a query string: the signing string
    /// with `(request-target)` left without it, as Mastodon (before 4.3)
    /// and Fedify sign; Mastodon accepts both forms too.
    pub base_without_query: Option<Vec<u8>>,
    pub signature: Vec<u8>,
}

impl ReadSignature {
    /// Whether the signature verifies with the public key `pem`.
    pub fn verifies_with(&self, pem: &str) -> bool {
        let Ok(key) = PublicKey::from_pem(pem) else {
            return false;
        };
        let verifies = |base: &[u8]| match self.algorithm {
            Some(alg) => key.verify(alg, base, &self.signature),
            None => key
                .default_algorithms()
                .iter()
                .any(|alg| key.verify(*alg, base, &self.signature)),
        };
        verifies(&self.base)
            || self.target_split.as_ref().is_some_and(|(head, tail)| {
                self.key_fragments.iter().any(|fragment| {
                    let mut base = Vec::with_capacity(head.len() + fragment.len() + 1 + tail.len());
                    base.extend_from_slice(head);
                    base.push(b'#');
                    base.extend_from_slice(fragment.as_bytes());
                    base.extend_from_slice(tail);
                    verifies(&base)
                })
            })
            || self.base_without_query.as_deref().is_some_and(verifies)
    }

    /// Adds the fragments of rotated key ids up to generation `rsa` (RSA,
    /// `key-N`) and `ed25519` (`ed25519-key-N`) to those tried at the end
    /// of the target (a signer fetching `…/users/a#key-3`).
    pub fn add_key_generations(&mut self, rsa: i64, ed25519: i64) {
        if self.target_split.is_none() {
            return;
        }
        for n in 2..=rsa.min(MAX_GENERATIONS_TRIED) {
            self.key_fragments.push(gazette_store::key_fragment(n));
        }
        for n in 2..=ed25519.min(MAX_GENERATIONS_TRIED) {
            self.key_fragments.push(gazette_store::ed25519_key_fragment(n));
        }
    }
}

/// Most rotated key generations tried as a target's fragment (a key
/// rotated more often is still found without a fragment in the target).
const MAX_GENERATIONS_TRIED: i64 = 64;

/// Reads the request's signature (RFC 9421 when it has `Signature-Input`,
/// else draft-cavage) and checks what needs no key: 401 for an unsigned,
/// stale or malformed request or one whose signature leaves out what it
/// must cover, 400 for a body whose digest is missing or wrong. `body` is
/// `None` for a GET.
pub fn read(
    req: &SignedRequest<'_>,
    body: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<ReadSignature, FederationError> {
    if rfc9421::present(req.headers) {
        read_rfc9421(req, body, now)
    } else {
        read_cavage(req, body, now)
    }
}

fn read_cavage(
    req: &SignedRequest<'_>,
    body: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<ReadSignature, FederationError> {
    check_signature_headers(req.headers, now)?;
    if let Some(body) = body {
        check_digest(req, body)?;
    }
    let header = cavage::header(req.headers).ok_or_else(|| unauthorized("the request is not signed"))?;
    let sig = CavageSignature::parse(header)?;
    check_times(sig.created, sig.expires, now, false)?;
    if body.is_some() && !sig.covers("digest") {
        return Err(unauthorized("the signature must cover the Digest header"));
    }
    let base = sig.signing_string(req)?.into_bytes();
    let base_without_query = match req.uri.query() {
        Some(_) if sig.covers("(request-target)") => {
            let path_only: axum::http::Uri = req
                .uri
                .path()
                .parse()
                .map_err(|_| unauthorized("the request's path is not a valid URI"))?;
            let without = SignedRequest {
                uri: &path_only,
                ..*req
            };
            Some(sig.signing_string(&without)?.into_bytes())
        }
        _ => None,
    };
    let signature = BASE64
        .decode(&sig.signature)
        .map_err(|_| unauthorized("the signature is not base64"))?;
    Ok(ReadSignature {
        profile: Profile::Cavage,
        algorithm: sig.algorithm(),
        key_id: sig.key_id,
        base,
        target_split: None,
        key_fragments: Vec::new(),
        base_without_query,
        signature,
    })
}

/// `Digest: SHA-256=…` (or SHA-512) must be there and match the body.
fn check_digest(req: &SignedRequest<'_>, body: &[u8]) -> Result<(), FederationError> {
    let bad = |msg: &str| FederationError::bad_request(msg.to_owned());
    let value = req
        .headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("no Digest header"))?;
    let mut checked = 0;
    for part in value.split(',') {
        let Some((alg, digest)) = part.trim().split_once('=') else {
            return Err(bad("malformed Digest header"));
        };
        let algorithm = match alg.to_ascii_lowercase().as_str() {
            "sha-256" => &ring::digest::SHA256,
            "sha-512" => &ring::digest::SHA512,
            _ => continue,
        };
        if BASE64.encode(ring::digest::digest(algorithm, body)) != digest.trim() {
            return Err(bad("the Digest header does not match the body"));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(bad("the Digest header has no SHA-256 digest"));
    }
    Ok(())
}

fn read_rfc9421(
    req: &SignedRequest<'_>,
    body: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<ReadSignature, FederationError> {
    let signatures = rfc9421::parse(req.headers)?;
    // The first signature we can attribute; others (a proxy's, say) are not ours to check.
    let sig = signatures
        .into_iter()
        .find(|s| s.key_id().is_some())
        .ok_or_else(|| unauthorized("no signature names its keyid"))?;
    let created = sig
        .created()
        .ok_or_else(|| unauthorized("the signature has no created time"))?;
    check_times(Some(created), sig.expires(), now, true)?;
    check_coverage(&sig, body.is_some())?;
    if let Some(body) = body {
        rfc9421::check_content_digest(req.headers, body)?;
    }
    let algorithm = sig.algorithm()?;
    let (base, target_end) = sig.base_and_target_end(req)?;
    let mut base = base.into_bytes();
    let mut target_split = None;
    let mut key_fragments = Vec::new();
    if let (None, Some(at)) = (body, target_end) {
        let tail = base.split_off(at);
        target_split = Some((base.clone(), tail.clone()));
        base.extend_from_slice(&tail);
        key_fragments = KEY_FRAGMENTS.iter().map(|f| (*f).to_owned()).collect();
    }
    Ok(ReadSignature {
        profile: Profile::Rfc9421,
        key_id: sig.key_id().unwrap_or_default().to_owned(),
        algorithm,
        base,
        target_split,
        key_fragments,
        base_without_query: None,
        signature: sig.signature,
    })
}

/// An RFC 9421 signature must cover the method and the target (its host
/// and path), and the body's digest when there is one; else it could be
/// replayed against another request.
fn check_coverage(sig: &Rfc9421Signature, has_body: bool) -> Result<(), FederationError> {
    let any = |names: &[&str]| names.iter().any(|n| sig.covers(n));
    if !sig.covers("@method") {
        return Err(unauthorized("the signature must cover @method"));
    }
    let target = sig.covers("@target-uri") || (any(&["@authority", "host"]) && any(&["@path", "@request-target"]));
    if !target {
        return Err(unauthorized(
            "the signature must cover @target-uri (or @authority and @path)",
        ));
    }
    if has_body && !sig.covers("content-digest") {
        return Err(unauthorized("the signature must cover content-digest"));
    }
    Ok(())
}

/// `created` must be within [`MAX_CLOCK_SKEW`] of `now` (either way) and
/// `expires` not past by more than that.
fn check_times(
    created: Option<i64>,
    expires: Option<i64>,
    now: DateTime<Utc>,
    rfc9421: bool,
) -> Result<(), FederationError> {
    let skew = MAX_CLOCK_SKEW.num_seconds();
    let now = now.timestamp();
    let name = if rfc9421 { "created" } else { "(created)" };
    if let Some(c) = created
        && (c > now + skew || c < now - skew)
    {
        return Err(unauthorized(format!(
            "the signature's {name} time is more than {} minutes from our clock",
            MAX_CLOCK_SKEW.num_minutes()
        )));
    }
    if let Some(e) = expires
        && e < now - skew
    {
        return Err(unauthorized("the signature has expired"));
    }
    Ok(())
}

/// The actor a key id belongs to: the key id without its fragment
/// (`…/users/a#main-key`, Mastodon and most others) or without a last
/// `/main-key` segment (GoToSocial).
pub fn actor_url_of_key(key_id: &str) -> Result<Url, FederationError> {
    let mut url = Url::parse(key_id).map_err(|_| unauthorized(format!("keyId `{key_id}` is not a URL")))?;
    if url.fragment().is_some() {
        url.set_fragment(None);
    } else if let Some(actor) = url.as_str().strip_suffix("/main-key") {
        url = Url::parse(actor).map_err(|_| unauthorized(format!("keyId `{key_id}` is not a URL")))?;
    }
    Ok(url)
}

/// Verifies `sig` with the key of the actor `owner` (read through the
/// actor cache, fetched when unknown); when it fails, fetches the actor
/// again once (see [`super::refresh`]) and checks with the new key. With
/// `same_key_id`, the key must also be the one the signature names.
/// Errors fetching the actor go through `fetch_error`.
pub async fn verify_signer(
    data: &Data<FedContext>,
    sig: &ReadSignature,
    owner: &Url,
    same_key_id: bool,
    fetch_error: impl Fn(FederationError) -> FederationError,
) -> Result<DbRemoteActor, FederationError> {
    let id = ObjectId::<DbRemoteActor>::from(owner.clone());
    let actor = id.dereference(data).await.map_err(&fetch_error)?;
    let verifies = |a: &DbRemoteActor| {
        (!same_key_id || a.actor.public_key_id == sig.key_id) && sig.verifies_with(&a.actor.public_key_pem)
    };
    if verifies(&actor) {
        return Ok(actor);
    }
    if let Some(fresh) = data
        .key_refresh()
        .changed_key(data, &id, &actor.actor.public_key_pem)
        .await
        && verifies(&fresh)
    {
        return Ok(fresh);
    }
    Err(unauthorized(format!(
        "the signature does not verify with the key {}",
        sig.key_id
    )))
}
