//! RFC 9421 HTTP message signatures on requests: reading the
//! `Signature-Input` and `Signature` fields, rebuilding the signature base
//! from the request, and checking a `Content-Digest` (RFC 9530) against the body.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::keys::Algorithm;
use super::sfv::{self, Bare, Item, Member, Params};
use super::{SignedRequest, unauthorized};
use crate::error::FederationError;

/// One labelled signature of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Rfc9421Signature {
    pub label: String,
    /// The covered components, as given (names with their parameters).
    pub components: Vec<Item>,
    /// The signature parameters, as given (`created`, `keyid`, `alg`…).
    pub params: Params,
    pub signature: Vec<u8>,
}

/// The values of a field over all its lines, joined as RFC 9110 says.
fn field(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// Whether the request carries an RFC 9421 signature.
pub fn present(headers: &HeaderMap) -> bool {
    headers.contains_key("signature-input")
}

/// Every signature of the request whose label is in both fields, in the
/// order of `Signature-Input`.
pub fn parse(headers: &HeaderMap) -> Result<Vec<Rfc9421Signature>, FederationError> {
    let input = field(headers, "signature-input").ok_or_else(|| unauthorized("no Signature-Input field"))?;
    let signature = field(headers, "signature").ok_or_else(|| unauthorized("Signature-Input without Signature"))?;
    let inputs = sfv::parse_dictionary(&input).map_err(|e| unauthorized(format!("malformed Signature-Input: {e}")))?;
    let signatures =
        sfv::parse_dictionary(&signature).map_err(|e| unauthorized(format!("malformed Signature: {e}")))?;
    let mut out = Vec::new();
    for (label, member) in inputs {
        let Member::InnerList(components, params) = member else {
            return Err(unauthorized(format!("Signature-Input `{label}` is not an inner list")));
        };
        let Some(bytes) = signatures.iter().find_map(|(l, m)| match m {
            Member::Item(Item {
                bare: Bare::Bytes(b), ..
            }) if *l == label => Some(b.clone()),
            _ => None,
        }) else {
            continue;
        };
        out.push(Rfc9421Signature {
            label,
            components,
            params,
            signature: bytes,
        });
    }
    if out.is_empty() {
        return Err(unauthorized("no signature matches a Signature-Input label"));
    }
    Ok(out)
}

impl Rfc9421Signature {
    fn int_param(&self, name: &str) -> Option<i64> {
        match sfv::param(&self.params, name) {
            Some(Bare::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    fn string_param(&self, name: &str) -> Option<&str> {
        match sfv::param(&self.params, name) {
            Some(Bare::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn key_id(&self) -> Option<&str> {
        self.string_param("keyid")
    }

    pub fn created(&self) -> Option<i64> {
        self.int_param("created")
    }

    pub fn expires(&self) -> Option<i64> {
        self.int_param("expires")
    }

    /// The `alg` parameter: `Ok(None)` when absent (the key decides), an
    /// error for an algorithm we do not verify.
    pub fn algorithm(&self) -> Result<Option<Algorithm>, FederationError> {
        match sfv::param(&self.params, "alg") {
            None => Ok(None),
            Some(Bare::String(name)) => Algorithm::from_rfc9421(name)
                .map(Some)
                .ok_or_else(|| unauthorized(format!("signature algorithm `{name}` is not supported"))),
            Some(_) => Err(unauthorized("the alg parameter is not a string")),
        }
    }

    /// Whether the component `name` (without parameters) is covered.
    pub fn covers(&self, name: &str) -> bool {
        self.components
            .iter()
            .any(|c| matches!(&c.bare, Bare::String(s) if s == name))
    }

    /// The signature base (RFC 9421 §2.5) of this signature over `req`.
    pub fn base(&self, req: &SignedRequest<'_>) -> Result<String, FederationError> {
        self.base_with_fragment(req, None)
    }

    /// [`Self::base`], with `#fragment` added to `@target-uri`: some
    /// signers (Fedify 2.3) sign the URL they fetch with its fragment
    /// (`…/users/a#main-key`, a key id), which the request does not carry.
    pub fn base_with_fragment(
        &self,
        req: &SignedRequest<'_>,
        fragment: Option<&str>,
    ) -> Result<String, FederationError> {
        let (mut base, at) = self.base_and_target_end(req)?;
        if let (Some(fragment), Some(at)) = (fragment, at) {
            base.insert_str(at, &format!("#{fragment}"));
        }
        Ok(base)
    }

    /// [`Self::base`], and where in it the `@target-uri` value ends (if it
    /// is covered): the place of a fragment the signer may have signed.
    pub fn base_and_target_end(&self, req: &SignedRequest<'_>) -> Result<(String, Option<usize>), FederationError> {
        let mut out = String::new();
        let mut target_end = None;
        let mut seen: Vec<&Item> = Vec::with_capacity(self.components.len());
        for component in &self.components {
            let Bare::String(name) = &component.bare else {
                return Err(unauthorized("a covered component is not a string"));
            };
            if seen.contains(&component) {
                return Err(unauthorized(format!("the component `{name}` is covered twice")));
            }
            seen.push(component);
            let value = component_value(name, &component.params, req)?;
            out.push_str(&sfv::serialize_item(component));
            out.push_str(": ");
            out.push_str(&value);
            if name == "@target-uri" {
                target_end = Some(out.len());
            }
            out.push('\n');
        }
        out.push_str("\"@signature-params\": ");
        out.push_str(&sfv::serialize_inner_list(&self.components, &self.params));
        Ok((out, target_end))
    }
}

/// The value of one covered component of the request.
fn component_value(name: &str, params: &Params, req: &SignedRequest<'_>) -> Result<String, FederationError> {
    let uri = req.uri;
    let authority = || {
        field(req.headers, "host")
            .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
            .unwrap_or_else(|| req.local_host.to_owned())
            .to_ascii_lowercase()
    };
    let path = || match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    let query = || uri.query().map_or_else(|| "?".to_owned(), |q| format!("?{q}"));
    let unsupported = || unauthorized(format!("the component `{name}` with parameters is not supported"));
    if name.starts_with('@') && name != "@query-param" && !params.is_empty() {
        return Err(unsupported());
    }
    Ok(match name {
        "@method" => req.method.as_str().to_owned(),
        "@authority" => authority(),
        "@scheme" => req.scheme.to_owned(),
        "@target-uri" => format!("{}://{}{}", req.scheme, authority(), request_target(req)),
        "@request-target" => request_target(req),
        "@path" => path(),
        "@query" => query(),
        "@query-param" => {
            let Some(Bare::String(wanted)) = sfv::param(params, "name") else {
                return Err(unauthorized("@query-param needs a name"));
            };
            let mut values = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .filter(|(k, _)| k == wanted)
                .map(|(_, v)| percent_encode(&v));
            match (values.next(), values.next()) {
                (Some(v), None) => v,
                (None, _) => return Err(unauthorized(format!("no query parameter `{wanted}`"))),
                (Some(_), Some(_)) => {
                    return Err(unauthorized(format!("the query parameter `{wanted}` is repeated")));
                }
            }
        }
        "@status" => return Err(unauthorized("@status is not a request component")),
        other if other.starts_with('@') => {
            return Err(unauthorized(format!("unknown derived component `{other}`")));
        }
        header => {
            if !params.is_empty() {
                return Err(unsupported());
            }
            if header.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(unauthorized(format!("the component `{header}` is not lower case")));
            }
            field(req.headers, header).ok_or_else(|| unauthorized(format!("the signed field `{header}` is missing")))?
        }
    })
}

fn request_target(req: &SignedRequest<'_>) -> String {
    req.uri
        .path_and_query()
        .map_or_else(|| req.uri.path().to_owned(), |p| p.as_str().to_owned())
}

/// Percent-encodes a decoded query value as RFC 9421 §2.2.8 asks.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks `Content-Digest` against `body`: at least one `sha-256` or
/// `sha-512` member, and every such member must match. Other algorithms are
/// ignored. 400 when it is missing or wrong, like a bad `Digest`.
pub fn check_content_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), FederationError> {
    let bad = |msg: &str| FederationError::bad_request(msg.to_owned());
    let value = field(headers, "content-digest").ok_or_else(|| bad("no Content-Digest field"))?;
    let members = sfv::parse_dictionary(&value).map_err(|e| bad(&format!("malformed Content-Digest: {e}")))?;
    let mut checked = 0;
    for (alg, member) in members {
        let algorithm = match alg.as_str() {
            "sha-256" => &ring::digest::SHA256,
            "sha-512" => &ring::digest::SHA512,
            _ => continue,
        };
        let Member::Item(Item {
            bare: Bare::Bytes(expected),
            ..
        }) = member
        else {
            return Err(bad("a Content-Digest member is not a byte sequence"));
        };
        if ring::digest::digest(algorithm, body).as_ref() != expected.as_slice() {
            return Err(bad("Content-Digest does not match the body"));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(bad("Content-Digest has no sha-256 or sha-512 digest"));
    }
    Ok(())
}

/// A `Content-Digest` value for `body` (sha-256).
pub fn content_digest(body: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        BASE64.encode(ring::digest::digest(&ring::digest::SHA256, body))
    )
}
