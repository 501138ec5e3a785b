//! What end-to-end tests need to play a remote fediverse server: reading
//! ActivityStreams documents, RSA keys, the `Digest` header, draft-cavage
//! HTTP signatures made and checked header by header, and signed POSTs.
//! Written once here for the fake servers of inbox, safety, gotosocial,
//! nginx and network_coordinator.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::Value;

/// The ActivityStreams media type, as `Accept` and `Content-Type`.
pub const AS2: &str = "application/activity+json";

/// `GET url` as ActivityStreams; fails the test unless it answers 2xx with JSON.
pub async fn as2(url: &str) -> Value {
    let resp = super::test_client()
        .get(url)
        .header("Accept", AS2)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    resp.json().await.unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// A fresh RSA-2048 key, as fediverse servers use.
pub fn new_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key")
}

/// The PEM of `key`'s public half, as actor documents publish it.
pub fn public_pem(key: &RsaPrivateKey) -> String {
    RsaPublicKey::from(key)
        .to_public_key_pem(LineEnding::LF)
        .expect("a public key PEM")
}

/// Reads a PEM public key from an actor document's `publicKey.publicKeyPem`.
pub fn actor_key(actor: &Value) -> RsaPublicKey {
    let pem = actor["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap_or_else(|| panic!("no publicKeyPem in {actor}"));
    RsaPublicKey::from_public_key_pem(pem).unwrap_or_else(|e| panic!("bad publicKeyPem in {actor}: {e}"))
}

/// The `Digest` header of `body`.
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

/// `host:port` of an URL with an explicit port, as signatures cover it.
pub fn host_port(url: &reqwest::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().expect("an URL with a host"),
        url.port().expect("an URL with a port")
    )
}

/// The base64 RSA-SHA256 signature of the signing string made of `lines`.
pub fn sign(key: &RsaPrivateKey, lines: &[String]) -> String {
    let signature = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(lines.join("\n").as_bytes()),
        )
        .expect("an RSA signature");
    BASE64.encode(signature)
}

/// The value of field `name` (`keyId`, `headers`, `signature`…) of a `Signature` header.
pub fn signature_field(header: &str, name: &str) -> Option<String> {
    header
        .split(',')
        .find_map(|p| p.split_once('=').filter(|(k, _)| k.trim() == name))
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// Checks the base64 `signature` of the signing string made of `lines` with `key`.
pub fn verify(key: &RsaPublicKey, lines: &[String], signature: &str) -> Result<(), String> {
    let bytes = BASE64
        .decode(signature)
        .map_err(|e| format!("signature is not base64: {e}"))?;
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(lines.join("\n").as_bytes()),
        &bytes,
    )
    .map_err(|e| format!("signature does not verify: {e}"))
}

/// A POST signed as remote servers sign theirs: draft-cavage over
/// `(request-target) host date digest`, `rsa-sha256` unless told otherwise.
pub struct SignedPost<'a> {
    key: &'a RsaPrivateKey,
    key_id: String,
    algorithm: &'static str,
    signed_host: Option<String>,
}

impl<'a> SignedPost<'a> {
    pub fn new(key: &'a RsaPrivateKey, key_id: impl Into<String>) -> Self {
        SignedPost {
            key,
            key_id: key_id.into(),
            algorithm: "rsa-sha256",
            signed_host: None,
        }
    }

    /// Names another algorithm in the header (GoToSocial and Lemmy say `hs2019`).
    pub fn algorithm(mut self, algorithm: &'static str) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Signs `host` as the Host instead of the URL's (a proxy in between).
    pub fn signed_host(mut self, host: &str) -> Self {
        self.signed_host = Some(host.to_owned());
        self
    }

    /// POSTs `body` to `url` as ActivityStreams; the status and the answer's text.
    pub async fn send(&self, url: &str, body: &[u8]) -> (u16, String) {
        let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let host = self.signed_host.clone().unwrap_or_else(|| host_port(&parsed));
        let date = httpdate::fmt_http_date(SystemTime::now());
        let digest = digest(body);
        let lines = [
            format!("(request-target): post {}", parsed.path()),
            format!("host: {host}"),
            format!("date: {date}"),
            format!("digest: {digest}"),
        ];
        let signature = format!(
            r#"keyId="{}",algorithm="{}",headers="(request-target) host date digest",signature="{}""#,
            self.key_id,
            self.algorithm,
            sign(self.key, &lines)
        );
        let resp = super::test_client()
            .post(url)
            .header("content-type", AS2)
            .header("date", date)
            .header("digest", digest)
            .header("signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }
}
