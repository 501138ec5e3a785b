//! RFC 9421 signatures on requests Gazette sends (deliveries and signed
//! GETs): `rsa-v1_5-sha256` with the actor's RSA key, over `@method`,
//! `@target-uri` and `@authority`, and `content-digest` when there is a
//! body. The signature base is built by the same code that verifies
//! incoming signatures ([`Rfc9421Signature::base`]), so what Gazette signs
//! is what it would accept. Also the PEM private keys both profiles sign with.

use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use url::Url;

use super::SignedRequest;
use super::keys::Algorithm;
use super::rfc9421::Rfc9421Signature;
use super::sfv::{self, Bare, Item, Member, Params};

/// The label of the signatures Gazette makes.
pub const LABEL: &str = "sig1";

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("private key: {0}")]
    Pem(String),
    #[error("private key rejected: {0}")]
    Key(String),
    #[error("URL `{0}` has no host")]
    NoHost(String),
    #[error("cannot sign the component `{0}`")]
    Component(String),
    #[error("signing failed")]
    Sign,
}

/// Parses a PEM RSA private key: `PRIVATE KEY` (PKCS#8, as
/// activitypub_federation's `generate_actor_keypair()` writes it) or
/// `RSA PRIVATE KEY` (PKCS#1).
pub fn rsa_key_from_pem(pem: &str) -> Result<RsaKeyPair, SigningError> {
    let (label, der) = pem_to_der(pem)?;
    match label.as_str() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        other => {
            return Err(SigningError::Pem(format!(
                "expected an RSA private key, found `{other}`"
            )));
        }
    }
    .map_err(|e| SigningError::Key(e.to_string()))
}

/// `-----BEGIN LABEL-----` + base64 + `-----END LABEL-----` → (label, DER).
pub(crate) fn pem_to_der(pem: &str) -> Result<(String, Vec<u8>), SigningError> {
    let mut lines = pem.lines().map(str::trim).skip_while(|l| !l.starts_with("-----BEGIN "));
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or_else(|| SigningError::Pem("no PEM `-----BEGIN` line".into()))?
        .to_owned();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        // Encrypted PEM has headers such as `Proc-Type:`; we cannot use those.
        if line.contains(':') {
            return Err(SigningError::Pem("encrypted PEM keys are not supported".into()));
        }
        body.push_str(line);
    }
    if !ended {
        return Err(SigningError::Pem(format!("no `{end}` line")));
    }
    let der = BASE64.decode(body).map_err(|e| SigningError::Pem(e.to_string()))?;
    Ok((label, der))
}

/// `host` or `host:port` of `url`, as the `Host` header names it.
pub fn host_of(url: &Url) -> Result<String, SigningError> {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => Ok(format!("{h}:{p}")),
        (Some(h), None) => Ok(h.to_owned()),
        (None, _) => Err(SigningError::NoHost(url.to_string())),
    }
}

/// What a server asked for in an `Accept-Signature` field (RFC 9421 §5.1):
/// the components to cover, under which label, with which nonce and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub label: String,
    pub components: Vec<String>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
}

/// The first request of an `Accept-Signature` field that Gazette can
/// fulfil with `key_id` and `rsa-v1_5-sha256`: one that names no other key
/// or algorithm, and no component with parameters (`;sf`, `;req`…).
/// `None` when there is none, or the field does not parse.
pub fn read_accept_signature(value: &str, key_id: &str) -> Option<Challenge> {
    let members = sfv::parse_dictionary(value).ok()?;
    members.into_iter().find_map(|(label, member)| {
        let Member::InnerList(items, params) = member else {
            return None;
        };
        let string = |name: &str| match sfv::param(&params, name) {
            Some(Bare::String(s)) => Some(s.clone()),
            _ => None,
        };
        if string("keyid").is_some_and(|k| k != key_id)
            || string("alg").is_some_and(|a| a != Algorithm::RsaV15Sha256.rfc9421_name())
        {
            return None;
        }
        let mut components = Vec::with_capacity(items.len());
        for item in items {
            match item.bare {
                Bare::String(name) if item.params.is_empty() && name != "@status" => components.push(name),
                _ => return None,
            }
        }
        Some(Challenge {
            label,
            components,
            nonce: string("nonce"),
            tag: string("tag"),
        })
    })
}

/// The fields of an RFC 9421 signature, to add to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421Fields {
    pub signature_input: String,
    pub signature: String,
}

/// The components Gazette covers: `@method`, `@target-uri` (Mastodon and
/// Fedify verify it), `@authority`, and `content-digest` when the request
/// carries one (a body).
pub fn default_components(headers: &HeaderMap) -> Vec<String> {
    let mut components: Vec<String> = ["@method", "@target-uri", "@authority"].map(String::from).into();
    if headers.contains_key("content-digest") {
        components.push("content-digest".into());
    }
    components
}

/// Signs a `method` request to `url` whose header fields are `headers`
/// (`Host`, and for a body `Content-Digest`, must be among them when
/// covered) with `key` as `key_id`, created at `created` (Unix seconds).
/// Covers [`default_components`], and first what `challenge` asks for.
pub fn sign_rfc9421(
    key: &RsaKeyPair,
    key_id: &str,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    created: i64,
    challenge: Option<&Challenge>,
) -> Result<Rfc9421Fields, SigningError> {
    let mut names: Vec<String> = challenge.map(|c| c.components.clone()).unwrap_or_default();
    for name in default_components(headers) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let components: Vec<Item> = names
        .into_iter()
        .map(|name| Item {
            bare: Bare::String(name),
            params: Vec::new(),
        })
        .collect();
    let mut params: Params = vec![
        ("created".into(), Bare::Integer(created)),
        ("keyid".into(), Bare::String(key_id.to_owned())),
        (
            "alg".into(),
            Bare::String(Algorithm::RsaV15Sha256.rfc9421_name().to_owned()),
        ),
    ];
    if let Some(nonce) = challenge.and_then(|c| c.nonce.clone()) {
        params.push(("nonce".into(), Bare::String(nonce)));
    }
    if let Some(tag) = challenge.and_then(|c| c.tag.clone()) {
        params.push(("tag".into(), Bare::String(tag)));
    }
    let label = challenge.map_or(LABEL, |c| c.label.as_str()).to_owned();
    let host = host_of(url)?;
    let uri: Uri = url
        .as_str()
        .parse()
        .map_err(|_| SigningError::NoHost(url.to_string()))?;
    let request = SignedRequest {
        method,
        uri: &uri,
        headers,
        local_host: &host,
        scheme: url.scheme(),
    };
    let unsigned = Rfc9421Signature {
        label,
        components,
        params,
        signature: Vec::new(),
    };
    let base = unsigned
        .base(&request)
        .map_err(|e| SigningError::Component(e.to_string()))?;
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), base.as_bytes(), &mut signature)
        .map_err(|_| SigningError::Sign)?;
    let signature_input = format!(
        "{}={}",
        unsigned.label,
        sfv::serialize_inner_list(&unsigned.components, &unsigned.params)
    );
    let signature = format!(
        "{}={}",
        unsigned.label,
        sfv::serialize_item(&Item {
            bare: Bare::Bytes(signature),
            params: Vec::new(),
        })
    );
    Ok(Rfc9421Fields {
        signature_input,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_parsing_refuses_garbage() {
        assert!(matches!(pem_to_der("hello"), Err(SigningError::Pem(_))));
        assert!(matches!(
            pem_to_der("-----BEGIN PRIVATE KEY-----\nAAAA\n"),
            Err(SigningError::Pem(_))
        ));
        let (label, der) =
            pem_to_der("x\n-----BEGIN PRIVATE KEY-----\r\nAAEC\r\nAw==\r\n-----END PRIVATE KEY-----\n").unwrap();
        assert_eq!((label.as_str(), der), ("PRIVATE KEY", vec![0, 1, 2, 3]));
        assert!(matches!(
            rsa_key_from_pem("-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----"),
            Err(SigningError::Pem(_))
        ));
        assert!(matches!(
            rsa_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----"),
            Err(SigningError::Key(_))
        ));
    }

    #[test]
    fn accept_signature_is_read_when_it_can_be_fulfilled() {
        let ours = "https://news.example/actor#main-key";
        assert_eq!(
            read_accept_signature(
                r#"sig1=("@method" "@target-uri" "content-digest");created;nonce="n-1";tag="ap""#,
                ours
            ),
            Some(Challenge {
                label: "sig1".into(),
                components: vec!["@method".into(), "@target-uri".into(), "content-digest".into()],
                nonce: Some("n-1".into()),
                tag: Some("ap".into()),
            })
        );
        // Another key, another algorithm or a component with parameters: the next member, if any.
        let value = r#"a=("@method");keyid="https://other.example/k", b=("@method");alg="ed25519", c=("@query-param";name="x"), d=("@method" "@authority")"#;
        let challenge = read_accept_signature(value, ours).unwrap();
        assert_eq!(challenge.label, "d");
        assert_eq!(challenge.components, vec!["@method", "@authority"]);
        assert_eq!(read_accept_signature("sig1=(\"@status\")", ours), None);
        assert_eq!(read_accept_signature("not a dictionary (", ours), None);
    }
}
