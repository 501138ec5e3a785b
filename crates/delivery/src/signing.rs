//! HTTP signatures for outgoing POSTs: draft-cavage the way Mastodon
//! expects it (`rsa-sha256` over `(request-target) host date digest`), and
//! RFC 9421 (`rsa-v1_5-sha256` over `@method`, `@target-uri`, `@authority`
//! and `content-digest`, made by `gazette-federation`'s signer), with ring
//! doing the RSA (about three times faster than the rsa crate, and signing
//! is what limits fan-out). Keys are parsed once per actor and cached; the
//! cache is checked again when the store reports a change (a key rotated by
//! `gazette keys rotate` in another process), see [`KeyChanges`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use gazette_federation::signatures::sign::{self, Challenge, SigningError};
use gazette_federation::signatures::{rfc9421, sfv};
use reqwest::header::{CONTENT_TYPE, DATE, HOST, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use tokio::sync::Semaphore;

/// Where the worker gets a local actor's private key (PEM, PKCS#8 as
/// activitypub_federation's `generate_actor_keypair()` writes it, or PKCS#1).
/// `Ok(None)` means the actor has no key: its deliveries are given up. An
/// error is taken as passing (the database is busy…): they are retried.
pub trait KeySource: Send + Sync + 'static {
    fn private_key_pem(
        &self,
        actor_id: &str,
    ) -> impl Future<Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>> + Send;

    /// The actor's current private key with its key id. By default the
    /// key of [`KeySource::private_key_pem`] named `<actor>#main-key`; a
    /// source whose keys rotate names each key itself (`#key-2`…).
    fn signing_key_pem(
        &self,
        actor_id: &str,
    ) -> impl Future<Output = Result<Option<KeyPem>, Box<dyn std::error::Error + Send + Sync>>> + Send {
        async move {
            Ok(self.private_key_pem(actor_id).await?.map(|pem| KeyPem {
                key_id: format!("{actor_id}#main-key"),
                pem,
            }))
        }
    }
}

/// A private key (PEM) and the key id signatures made with it name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPem {
    pub key_id: String,
    pub pem: String,
}

/// Tells every [`Signer`] sharing it that keys may have changed (the store
/// reported a write): each cached key is checked against its source again
/// on its next use, so a rotated key signs at once. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct KeyChanges(Arc<AtomicU64>);

impl KeyChanges {
    /// Keys may have changed: check again before signing.
    pub fn changed(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn current(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
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
    #[error("RFC 9421 signature: {0}")]
    Rfc9421(String),
    #[error("the server stopped before the signature was made")]
    Stopped,
}

/// One actor's parsed private key and its key id (`<actor>#main-key`, or
/// `<actor>#key-<n>` after a rotation).
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
        let pair = sign::rsa_key_from_pem(pem).map_err(|e| match e {
            SigningError::Key(e) => SignError::Key(e),
            SigningError::Pem(e) => SignError::Pem(e),
            other => SignError::Pem(other.to_string()),
        })?;
        Ok(SigningKey {
            key_id: format!("{actor_id}#main-key"),
            pair,
        })
    }

    /// Parses a PEM private key whose key id is `key_id`.
    pub fn from_pem_with_key_id(key_id: &str, pem: &str) -> Result<SigningKey, SignError> {
        let mut key = SigningKey::from_pem("", pem)?;
        key.key_id = key_id.to_owned();
        Ok(key)
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

    /// Signs a POST of `body` (`content_type`) to `url` at `now` with RFC
    /// 9421 (see `gazette_federation::signatures::sign`), answering
    /// `challenge` (an `Accept-Signature` request) when given.
    pub fn sign_post_rfc9421(
        &self,
        url: &Url,
        body: &[u8],
        content_type: &str,
        now: SystemTime,
        challenge: Option<&Challenge>,
    ) -> Result<Rfc9421Post, SignError> {
        let host = sign::host_of(url).map_err(|_| SignError::NoHost(url.to_string()))?;
        let date = httpdate::fmt_http_date(now);
        let content_digest = rfc9421::content_digest(body);
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (HOST, &host),
            (DATE, &date),
            (CONTENT_TYPE, &content_type.to_owned()),
            (HeaderName::from_static("content-digest"), &content_digest),
        ] {
            let value = HeaderValue::from_str(value).map_err(|e| SignError::Rfc9421(e.to_string()))?;
            headers.insert(name, value);
        }
        let created = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| SignError::Rfc9421("the clock is before 1970".into()))?
            .as_secs() as i64;
        let fields = sign::sign_rfc9421(
            &self.pair,
            &self.key_id,
            &Method::POST,
            url,
            &headers,
            created,
            challenge,
        )
        .map_err(|e| SignError::Rfc9421(e.to_string()))?;
        Ok(Rfc9421Post {
            host,
            date,
            content_type: content_type.to_owned(),
            content_digest,
            signature_input: fields.signature_input,
            signature: fields.signature,
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

/// The headers that make a POST signed with RFC 9421; the body must be sent as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421Post {
    pub host: String,
    pub date: String,
    pub content_type: String,
    pub content_digest: String,
    pub signature_input: String,
    pub signature: String,
}

impl Rfc9421Post {
    /// The components the signature covers, as `Signature-Input` lists them.
    pub fn covered(&self) -> Vec<String> {
        covered_components(&self.signature_input)
    }
}

/// The component names of the one signature of a `Signature-Input` field.
fn covered_components(signature_input: &str) -> Vec<String> {
    match sfv::parse_dictionary(signature_input)
        .ok()
        .and_then(|d| d.into_iter().next())
    {
        Some((_, sfv::Member::InnerList(items, _))) => items
            .into_iter()
            .filter_map(|i| match i.bare {
                sfv::Bare::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The headers that make a signed GET (no body, so no digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedGet {
    pub host: String,
    pub date: String,
    pub signature: String,
}

/// Parsed keys per actor. An entry is trusted for `ttl` and until
/// [`KeyChanges::changed`], then the key source is asked again (a rotated
/// key is picked up; an unchanged PEM is not parsed again).
pub struct Signer<K> {
    source: K,
    ttl: Duration,
    changes: KeyChanges,
    cache: Mutex<HashMap<String, Cached>>,
    /// Signatures made at once off the runtime, at most one per core.
    signing: Arc<Semaphore>,
}

struct Cached {
    pem: KeyPem,
    key: Arc<SigningKey>,
    checked: Instant,
    /// [`KeyChanges`]' count when checked.
    seen: u64,
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
        Self::with_changes(source, ttl, KeyChanges::default())
    }

    /// A signer that checks its keys again whenever `changes` says so.
    pub fn with_changes(source: K, ttl: Duration, changes: KeyChanges) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Signer {
            source,
            ttl,
            changes,
            cache: Mutex::new(HashMap::new()),
            signing: Arc::new(Semaphore::new(cores)),
        }
    }

    /// Runs `sign` (an RSA-2048 signature: about half a millisecond of CPU) on a
    /// blocking thread, no more at once than there are cores, so the
    /// runtime's workers go on answering requests while a fan-out signs
    /// thousands of deliveries: a request waits for a core as the kernel
    /// shares them out, not behind every signature queued before it.
    pub async fn off_runtime<T: Send + 'static>(
        &self,
        sign: impl FnOnce() -> Result<T, SignError> + Send + 'static,
    ) -> Result<T, SignError> {
        // The semaphore is never closed.
        let permit = self.signing.clone().acquire_owned().await.ok();
        let done = tokio::task::spawn_blocking(move || {
            let signed = sign();
            drop(permit);
            signed
        })
        .await;
        match done {
            Ok(signed) => signed,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down: the delivery is tried again later.
            Err(_) => Err(SignError::Stopped),
        }
    }

    /// The signing key of `actor_id`, from the cache when fresh.
    pub async fn key(&self, actor_id: &str) -> Result<Arc<SigningKey>, KeyError> {
        if let Some(key) = self.cached(actor_id, None) {
            return Ok(key);
        }
        // Read before asking the source: a change reported meanwhile makes
        // the entry stale again.
        let seen = self.changes.current();
        let pem = self
            .source
            .signing_key_pem(actor_id)
            .await
            .map_err(|error| KeyError::Lookup {
                actor: actor_id.to_owned(),
                error,
            })?
            .ok_or_else(|| KeyError::Missing(actor_id.to_owned()))?;
        if let Some(key) = self.cached(actor_id, Some((&pem, seen))) {
            return Ok(key);
        }
        let key = Arc::new(
            SigningKey::from_pem_with_key_id(&pem.key_id, &pem.pem).map_err(|error| KeyError::Invalid {
                actor: actor_id.to_owned(),
                error,
            })?,
        );
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(
            actor_id.to_owned(),
            Cached {
                pem,
                key: key.clone(),
                checked: Instant::now(),
                seen,
            },
        );
        Ok(key)
    }

    /// A fresh cached key; or, given the key just fetched (and the change
    /// count read before fetching it), the cached key parsed from that same
    /// PEM with the same key id (marked fresh again).
    fn cached(&self, actor_id: &str, fetched: Option<(&KeyPem, u64)>) -> Option<Arc<SigningKey>> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = cache.get_mut(actor_id)?;
        match fetched {
            None if entry.checked.elapsed() < self.ttl && entry.seen == self.changes.current() => {
                Some(entry.key.clone())
            }
            Some((pem, seen)) if *pem == entry.pem => {
                entry.checked = Instant::now();
                entry.seen = seen;
                Some(entry.key.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rsa::RsaPrivateKey;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    use super::*;

    const ACTOR: &str = "https://news.example/users/org";

    /// The one actor's current key, as a store would answer after rotations.
    struct Rotating(Mutex<KeyPem>);

    impl KeySource for Arc<Rotating> {
        async fn private_key_pem(&self, _: &str) -> Result<Option<String>, Box<dyn std::error::Error + Send + Sync>> {
            Ok(Some(self.0.lock().unwrap().pem.clone()))
        }

        async fn signing_key_pem(&self, _: &str) -> Result<Option<KeyPem>, Box<dyn std::error::Error + Send + Sync>> {
            Ok(Some(self.0.lock().unwrap().clone()))
        }
    }

    fn pem() -> String {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    }

    /// Signatures run off the runtime no more at once than there are
    /// cores, each on a blocking thread, and give back what they made.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signatures_off_the_runtime_are_limited_to_the_cores() {
        use std::sync::atomic::AtomicUsize;
        let key = KeyPem {
            key_id: format!("{ACTOR}#main-key"),
            pem: pem(),
        };
        let signer = Arc::new(Signer::new(
            Arc::new(Rotating(Mutex::new(key))),
            Duration::from_secs(60),
        ));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut jobs = tokio::task::JoinSet::new();
        for i in 0..16 {
            let (signer, running, most) = (signer.clone(), running.clone(), most.clone());
            jobs.spawn(async move {
                signer
                    .off_runtime(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(i)
                    })
                    .await
            });
        }
        let mut done: Vec<usize> = jobs.join_all().await.into_iter().map(Result::unwrap).collect();
        done.sort_unstable();
        assert_eq!(done, (0..16).collect::<Vec<_>>());
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=cores).contains(&most),
            "{most} signatures at once on {cores} cores"
        );
        // And a real one, through the same path.
        let key = signer.key(ACTOR).await.unwrap();
        let url = Url::parse("https://remote.example/inbox").unwrap();
        let signed = signer
            .off_runtime(move || key.sign_post(&url, b"{}", SystemTime::now()))
            .await
            .unwrap();
        assert!(
            signed
                .signature
                .contains("keyId=\"https://news.example/users/org#main-key\"")
        );
    }

    /// A key rotated in the source signs as soon as a change is reported,
    /// however long the cache would otherwise trust the old one.
    #[tokio::test]
    async fn a_reported_change_picks_up_a_rotated_key() {
        let first = KeyPem {
            key_id: format!("{ACTOR}#main-key"),
            pem: pem(),
        };
        let changes = KeyChanges::default();
        let source = Arc::new(Rotating(Mutex::new(first)));
        let signer = Signer::with_changes(source.clone(), Duration::from_secs(3600), changes.clone());
        assert_eq!(signer.key(ACTOR).await.unwrap().key_id(), format!("{ACTOR}#main-key"));

        *source.0.lock().unwrap() = KeyPem {
            key_id: format!("{ACTOR}#key-2"),
            pem: pem(),
        };
        assert_eq!(
            signer.key(ACTOR).await.unwrap().key_id(),
            format!("{ACTOR}#main-key"),
            "trusted for the TTL while nothing is reported"
        );
        changes.changed();
        assert_eq!(signer.key(ACTOR).await.unwrap().key_id(), format!("{ACTOR}#key-2"));
        let url = Url::parse("https://remote.example/inbox").unwrap();
        let signed = signer
            .key(ACTOR)
            .await
            .unwrap()
            .sign_post(&url, b"{}", SystemTime::now())
            .unwrap();
        assert!(
            signed.signature.contains(&format!("keyId=\"{ACTOR}#key-2\"")),
            "{signed:?}"
        );
    }
}
