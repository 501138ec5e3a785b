//! draft-cavage HTTP signatures for outgoing POSTs, the way Mastodon expects
//! them: `rsa-sha256` over `(request-target) host date digest`, with ring
//! doing the RSA (about three times faster than the rsa crate, and signing is
//! what limits fan-out). Keys are parsed once per actor and cached.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Url;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

/// Where the worker gets a local actor's private key (PEM, PKCS#8 as
/// activitypub_federation's `generate_actor_keypair()` writes it, or PKCS#1).
/// `Ok(None)` means the actor has no key: its deliveries are given up. An
/// error is taken as passing (the database is busy…): they are retried.
pub trait KeySource: Send + Sync + 'static {
    fn private_key_pem(
        &self,
        actor_id: &str,
    ) -> impl Future<Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("private key: {0}")]
    Pem(String),
    #[error("private key rejected: {0}")]
    Key(String),
    #[error("signing failed")]
    Sign,
    #[error("inbox URL `{0}` has no host")]
    NoHost(String),
}

/// One actor's parsed private key and its key id (`<actor>#main-key`).
#[derive(Debug)]
pub struct SigningKey {
    key_id: String,
    pair: RsaKeyPair,
}

/// The headers that make a signed POST; the body must be sent as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub host: String,
    pub date: String,
    pub digest: String,
    pub signature: String,
}

impl SigningKey {
    /// Parses a PEM private key (`PRIVATE KEY` = PKCS#8, `RSA PRIVATE KEY` =
    /// PKCS#1) of `actor_id`.
    pub fn from_pem(actor_id: &str, pem: &str) -> Result<SigningKey, SignError> {
        let (label, der) = pem_to_der(pem)?;
        let pair = match label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            other => return Err(SignError::Pem(format!("expected an RSA private key, found `{other}`"))),
        }
        .map_err(|e| SignError::Key(e.to_string()))?;
        Ok(SigningKey {
            key_id: format!("{actor_id}#main-key"),
            pair,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs a POST of `body` to `url` at `now`.
    pub fn sign_post(&self, url: &Url, body: &[u8], now: SystemTime) -> Result<SignedHeaders, SignError> {
        let digest = format!(
            "SHA-256={}",
            BASE64.encode(ring::digest::digest(&ring::digest::SHA256, body))
        );
        let signed = self.sign("post", url, Some(&digest), now)?;
        Ok(SignedHeaders {
            host: signed.host,
            date: signed.date,
            digest,
            signature: signed.signature,
        })
    }

    /// Signs a GET of `url` at `now`, over `(request-target) host date`, as
    /// servers with authorized fetch expect (`gazette doctor`'s self-fetch).
    pub fn sign_get(&self, url: &Url, now: SystemTime) -> Result<SignedGet, SignError> {
        self.sign("get", url, None, now)
    }

    /// The draft-cavage signature of a `method` request to `url` at `now`,
    /// over `(request-target) host date`, and `digest` when there is a body.
    fn sign(&self, method: &str, url: &Url, digest: Option<&str>, now: SystemTime) -> Result<SignedGet, SignError> {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(SignError::NoHost(url.to_string())),
        };
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let date = httpdate::fmt_http_date(now);
        let mut signing_string = format!("(request-target): {method} {target}\nhost: {host}\ndate: {date}");
        let mut headers = "(request-target) host date".to_owned();
        if let Some(digest) = digest {
            signing_string.push_str(&format!("\ndigest: {digest}"));
            headers.push_str(" digest");
        }
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_string.as_bytes(),
                &mut signature,
            )
            .map_err(|_| SignError::Sign)?;
        let signature = format!(
            r#"keyId="{}",algorithm="rsa-sha256",headers="{headers}",signature="{}""#,
            self.key_id,
            BASE64.encode(&signature)
        );
        Ok(SignedGet { host, date, signature })
    }
}

/// The headers that make a signed GET (no body, so no digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedGet {
    pub host: String,
    pub date: String,
    pub signature: String,
}

/// `-----BEGIN LABEL-----` + base64 + `-----END LABEL-----` → (label, DER).
fn pem_to_der(pem: &str) -> Result<(String, Vec<u8>), SignError> {
    let mut lines = pem.lines().map(str::trim).skip_while(|l| !l.starts_with("-----BEGIN "));
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or_else(|| SignError::Pem("no PEM `-----BEGIN` line".into()))?
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
            return Err(SignError::Pem("encrypted PEM keys are not supported".into()));
        }
        body.push_str(line);
    }
    if !ended {
        return Err(SignError::Pem(format!("no `{end}` line")));
    }
    let der = BASE64.decode(body).map_err(|e| SignError::Pem(e.to_string()))?;
    Ok((label, der))
}

/// Parsed keys per actor. An entry is trusted for `ttl`, then the key source
/// is asked again (a rotated key is picked up; an unchanged PEM is not
/// parsed again).
pub struct Signer<K> {
    source: K,
    ttl: Duration,
    cache: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    pem: String,
    key: Arc<SigningKey>,
    checked: Instant,
}

/// Why no key could be had for an actor.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no private key for {0}")]
    Missing(String),
    #[error("key of {actor}: {error}")]
    Invalid { actor: String, error: SignError },
    #[error("looking up the key of {actor}: {error}")]
    Lookup {
        actor: String,
        error: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl<K: KeySource> Signer<K> {
    pub fn new(source: K, ttl: Duration) -> Self {
        Signer {
            source,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The signing key of `actor_id`, from the cache when fresh.
    pub async fn key(&self, actor_id: &str) -> Result<Arc<SigningKey>, KeyError> {
        if let Some(key) = self.cached(actor_id, None) {
            return Ok(key);
        }
        let pem = self
            .source
            .private_key_pem(actor_id)
            .await
            .map_err(|error| KeyError::Lookup {
                actor: actor_id.to_owned(),
                error,
            })?
            .ok_or_else(|| KeyError::Missing(actor_id.to_owned()))?;
        if let Some(key) = self.cached(actor_id, Some(&pem)) {
            return Ok(key);
        }
        let key = Arc::new(SigningKey::from_pem(actor_id, &pem).map_err(|error| KeyError::Invalid {
            actor: actor_id.to_owned(),
            error,
        })?);
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(
            actor_id.to_owned(),
            Cached {
                pem,
                key: key.clone(),
                checked: Instant::now(),
            },
        );
        Ok(key)
    }

    /// A fresh cached key; or, given the PEM just fetched, the cached key
    /// parsed from that same PEM (marked fresh again).
    fn cached(&self, actor_id: &str, fetched_pem: Option<&str>) -> Option<Arc<SigningKey>> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = cache.get_mut(actor_id)?;
        match fetched_pem {
            None if entry.checked.elapsed() < self.ttl => Some(entry.key.clone()),
            Some(pem) if pem == entry.pem => {
                entry.checked = Instant::now();
                Some(entry.key.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_parsing_refuses_garbage() {
        assert!(matches!(pem_to_der("hello"), Err(SignError::Pem(_))));
        assert!(matches!(
            pem_to_der("-----BEGIN PRIVATE KEY-----\nAAAA\n"),
            Err(SignError::Pem(_))
        ));
        let (label, der) =
            pem_to_der("x\n-----BEGIN PRIVATE KEY-----\r\nAAEC\r\nAw==\r\n-----END PRIVATE KEY-----\n").unwrap();
        assert_eq!((label.as_str(), der), ("PRIVATE KEY", vec![0, 1, 2, 3]));
        assert!(matches!(
            SigningKey::from_pem("a", "-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----"),
            Err(SignError::Pem(_))
        ));
        assert!(matches!(
            SigningKey::from_pem("a", "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----"),
            Err(SignError::Key(_))
        ));
    }
}
