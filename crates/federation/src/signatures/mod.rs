//! HTTP signatures on requests we receive, verified by Gazette itself with
//! ring: draft-cavage ([`cavage`]) and RFC 9421 ([`rfc9421`]), for inbox
//! POSTs and signed GETs alike ([`verify`]), with the sender's key fetched
//! again once when it fails, in case it rotated ([`refresh`]). Requests
//! Gazette sends are signed with RFC 9421 by [`sign`] (draft-cavage by
//! `gazette-delivery` and activitypub_federation), double-knocking per host
//! as [`knock`] decides (signed GETs re-signed in the library's client by
//! `signed_gets`).

pub mod cavage;
pub mod keys;
pub mod knock;
pub mod refresh;
pub mod rfc9421;
pub mod sfv;
pub mod sign;
pub(crate) mod signed_gets;
pub mod verify;

#[cfg(test)]
mod vectors;

use axum::http::{HeaderMap, Method, StatusCode, Uri};

use crate::error::FederationError;

/// What a signature covers of a request: its method, its target as the
/// client sent it, its headers, and what the request was for when a header
/// does not say (our host behind a proxy; our scheme, which TLS termination hides).
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub local_host: &'a str,
    pub scheme: &'a str,
}

pub(crate) fn unauthorized(msg: impl Into<String>) -> FederationError {
    FederationError::Refused(StatusCode::UNAUTHORIZED, msg.into())
}

/// The key id of the request's signature, whichever profile: for checking
/// the key's host against the block lists before anything is fetched.
pub fn key_id(headers: &HeaderMap) -> Option<String> {
    if rfc9421::present(headers) {
        return rfc9421::parse(headers)
            .ok()?
            .into_iter()
            .find_map(|s| s.key_id().map(str::to_owned));
    }
    cavage::CavageSignature::parse(cavage::header(headers)?)
        .ok()
        .map(|s| s.key_id)
}
