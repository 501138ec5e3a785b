//! draft-cavage HTTP signatures (the `Signature` header Mastodon,
//! GoToSocial and activitypub_federation send): parsing the header and
//! rebuilding the signing string from the request.

use axum::http::HeaderMap;

use super::keys::Algorithm;
use super::{SignedRequest, unauthorized};
use crate::error::FederationError;

/// The parameters of a draft-cavage `Signature` header.
#[derive(Debug, Default, PartialEq)]
pub struct CavageSignature {
    pub key_id: String,
    pub algorithm: Option<String>,
    /// Lower-cased, in order; `date` when the header names none.
    pub headers: Vec<String>,
    pub signature: String,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

/// The `Signature` header, or `Authorization: Signature …`.
pub fn header(headers: &HeaderMap) -> Option<&str> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    get("signature").or_else(|| get("authorization").and_then(|a| a.strip_prefix("Signature ")))
}

impl CavageSignature {
    pub fn parse(value: &str) -> Result<CavageSignature, FederationError> {
        let mut sig = CavageSignature::default();
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

    /// The algorithm the header names; `None` (hs2019, or none named): the key's type decides.
    pub fn algorithm(&self) -> Option<Algorithm> {
        (self.algorithm.as_deref() == Some("rsa-sha256")).then_some(Algorithm::RsaV15Sha256)
    }

    /// Whether `name` (lower case) is among the signed headers.
    pub fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }

    /// The string the sender signed, rebuilt from this request.
    pub fn signing_string(&self, req: &SignedRequest<'_>) -> Result<String, FederationError> {
        let mut lines = Vec::with_capacity(self.headers.len());
        for name in &self.headers {
            let value = match name.as_str() {
                "(request-target)" => {
                    let uri = req.uri;
                    let target = uri.path_and_query().map_or_else(|| uri.path(), |p| p.as_str());
                    format!("{} {target}", req.method.as_str().to_ascii_lowercase())
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
                "host" if !req.headers.contains_key("host") => req.local_host.to_owned(),
                other => {
                    let values: Vec<&str> = req
                        .headers
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
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, Uri};

    use super::*;

    #[test]
    fn parses_signature_headers() {
        let sig = CavageSignature::parse(
            r#"keyId="https://a.example/users/u#main-key",algorithm="rsa-sha256",headers="(request-target) Host date",signature="c2ln""#,
        )
        .unwrap();
        assert_eq!(sig.key_id, "https://a.example/users/u#main-key");
        assert_eq!(sig.headers, ["(request-target)", "host", "date"]);
        assert_eq!(sig.signature, "c2ln");
        assert_eq!(sig.algorithm(), Some(Algorithm::RsaV15Sha256));
        let bare = CavageSignature::parse(r#"keyId="k",signature="s""#).unwrap();
        assert_eq!(bare.headers, ["date"]);
        assert_eq!(bare.algorithm(), None);
        assert!(CavageSignature::parse(r#"keyId="k""#).is_err());
        assert!(CavageSignature::parse(r#"keyId="k",algorithm="hmac-sha256",signature="s""#).is_err());
    }

    #[test]
    fn rebuilds_the_signing_string() {
        let sig = CavageSignature::parse(
            r#"keyId="k",headers="(request-target) host date accept (created)",signature="s",created="1700000000""#,
        )
        .unwrap();
        let mut h = HeaderMap::new();
        h.insert("host", "news.example".parse().unwrap());
        h.insert("date", "Tue, 18 Nov 2025 09:00:00 GMT".parse().unwrap());
        h.insert("accept", "application/activity+json".parse().unwrap());
        let uri: Uri = "/users/camille?page=1".parse().unwrap();
        fn req<'a>(uri: &'a Uri, headers: &'a HeaderMap) -> SignedRequest<'a> {
            SignedRequest {
                method: &Method::GET,
                uri,
                headers,
                local_host: "other.example",
                scheme: "https",
            }
        }
        assert_eq!(
            sig.signing_string(&req(&uri, &h)).unwrap(),
            "(request-target): get /users/camille?page=1\nhost: news.example\ndate: Tue, 18 Nov 2025 09:00:00 GMT\n\
             accept: application/activity+json\n(created): 1700000000"
        );
        h.remove("host");
        assert!(
            sig.signing_string(&req(&uri, &h))
                .unwrap()
                .contains("host: other.example")
        );
        h.remove("accept");
        assert!(sig.signing_string(&req(&uri, &h)).is_err());
    }
}
