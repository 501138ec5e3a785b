//! The double-knock of signed GETs (authorized fetch of remote actors and
//! objects). activitypub_federation signs every fetch draft-cavage with the
//! instance actor's key and sends it through Gazette's client; this
//! middleware in that client re-signs it with RFC 9421 when [`Knocker`]
//! says so (the draft-cavage `Signature` and `Digest` dropped), asks again
//! at once with the other profile (or what `Accept-Signature` asks for)
//! after a 400 or 401, and remembers per host what a 2xx answered: the same
//! rule and memory as deliveries.
//!
//! The library signs with the key it was given at start; this re-signs
//! every signed GET (draft-cavage too) with the instance actor's current
//! key as stored, so a key rotated by `gazette keys rotate` in another
//! process signs the next fetch. The key is read per request (one indexed
//! read) and parsed again only when it changed.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{Extensions, HeaderValue, Method};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use gazette_store::Store;
use reqwest::header::HOST;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use super::knock::{Knock, Knocker};
use super::sign::{self, Challenge};

/// Signs the library's signed GETs as the double-knock decides.
pub(crate) struct SignedGets {
    knocker: Knocker,
    store: Store,
    /// The instance actor's id (its key ids are this, `#`, the fragment).
    actor_id: String,
    /// The key last read: its private PEM, key id and parsed pair.
    key: Mutex<Option<(String, String, Arc<RsaKeyPair>)>>,
}

impl SignedGets {
    /// Signs as the instance actor `actor_id`, whose key is read from `store`.
    pub(crate) fn new(knocker: Knocker, store: Store, actor_id: String) -> Self {
        SignedGets {
            knocker,
            store,
            actor_id,
            key: Mutex::new(None),
        }
    }

    /// The instance actor's current key id and key pair.
    async fn current_key(&self) -> Result<(String, Arc<RsaKeyPair>), String> {
        let stored = self
            .store
            .find_current_actor_key(crate::keys::INSTANCE_KEY)
            .await
            .map_err(|e| format!("reading the instance actor's key: {e}"))?
            .ok_or("the instance actor has no key")?;
        let key_id = format!("{}#{}", self.actor_id, stored.key_fragment);
        let mut cached = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((pem, id, pair)) = cached.as_ref()
            && *pem == stored.private_key_pem
            && *id == key_id
        {
            return Ok((key_id, pair.clone()));
        }
        let pair = Arc::new(
            sign::rsa_key_from_pem(&stored.private_key_pem).map_err(|e| format!("the instance actor's key: {e}"))?,
        );
        *cached = Some((stored.private_key_pem, key_id.clone(), pair.clone()));
        Ok((key_id, pair))
    }

    /// The request as `knock` signs it with `key` (named `key_id`; `signed`
    /// is the library's draft-cavage one), and the RFC 9421 components covered.
    fn prepare(
        &self,
        signed: &Request,
        knock: &Knock,
        (key_id, key): (&str, &RsaKeyPair),
    ) -> Result<(Request, Vec<String>), String> {
        let mut request = signed
            .try_clone()
            .ok_or("a signed GET with a streamed body cannot be sent twice")?;
        let url = request.url().clone();
        let headers = request.headers_mut();
        headers.remove("signature");
        headers.remove("digest");
        if !headers.contains_key(HOST) {
            let host = sign::host_of(&url).map_err(|e| e.to_string())?;
            headers.insert(HOST, HeaderValue::from_str(&host).map_err(|e| e.to_string())?);
        }
        let Knock::Rfc9421(challenge) = knock else {
            sign_cavage_get(key, key_id, &url, headers)?;
            return Ok((request, Vec::new()));
        };
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs() as i64;
        let fields = sign::sign_rfc9421(key, key_id, &Method::GET, &url, headers, created, challenge.as_ref())
            .map_err(|e| e.to_string())?;
        let covered = challenge
            .as_ref()
            .map(|c| c.components.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(sign::default_components(headers))
            .collect();
        for (name, value) in [
            ("signature-input", fields.signature_input),
            ("signature", fields.signature),
        ] {
            headers.insert(name, HeaderValue::from_str(&value).map_err(|e| e.to_string())?);
        }
        Ok((request, covered))
    }

    async fn send(
        &self,
        signed: &Request,
        knock: &Knock,
        key: (&str, &RsaKeyPair),
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<(Response, Vec<String>)> {
        let (request, covered) = self
            .prepare(signed, knock, key)
            .map_err(|e| reqwest_middleware::Error::middleware(SignedGetError(e)))?;
        Ok((next.run(request, extensions).await?, covered))
    }
}

/// Signs a GET draft-cavage over `(request-target) host date` (a `Date`
/// is added when missing), as Mastodon's authorized fetch expects.
fn sign_cavage_get(
    key: &RsaKeyPair,
    key_id: &str,
    url: &reqwest::Url,
    headers: &mut reqwest::header::HeaderMap,
) -> Result<(), String> {
    let host = sign::host_of(url).map_err(|e| e.to_string())?;
    let date = match headers.get(reqwest::header::DATE).and_then(|v| v.to_str().ok()) {
        Some(date) => date.to_owned(),
        None => {
            let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            headers.insert(
                reqwest::header::DATE,
                HeaderValue::from_str(&date).map_err(|e| e.to_string())?,
            );
            date
        }
    };
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let signing_string = format!("(request-target): get {target}\nhost: {host}\ndate: {date}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_string.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "RSA signing failed".to_owned())?;
    let value = format!(
        r#"keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date",signature="{}""#,
        BASE64.encode(&signature)
    );
    headers.insert("signature", HeaderValue::from_str(&value).map_err(|e| e.to_string())?);
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("signing a GET: {0}")]
struct SignedGetError(String);

#[async_trait::async_trait]
impl Middleware for SignedGets {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let host = sign::host_of(req.url()).ok();
        let (true, Some(host)) = (
            req.method() == Method::GET && req.headers().contains_key("signature"),
            host,
        ) else {
            return next.run(req, extensions).await;
        };
        let (key_id, key) = self
            .current_key()
            .await
            .map_err(|e| reqwest_middleware::Error::middleware(SignedGetError(e)))?;
        let first = Knock::plain(self.knocker.first(&host).await);
        let (response, covered) = self
            .send(&req, &first, (&key_id, &key), extensions, next.clone())
            .await?;
        let challenge: Option<Challenge> = response
            .headers()
            .get("accept-signature")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| sign::read_accept_signature(v, &key_id));
        let (response, knock) =
            match self
                .knocker
                .second(first.scheme(), &covered, response.status().as_u16(), challenge)
            {
                None => (response, first),
                Some(second) => {
                    tracing::debug!(
                        url = %req.url(),
                        status = response.status().as_u16(),
                        refused = first.scheme().as_str(),
                        next = second.scheme().as_str(),
                        "signature refused; knocking again"
                    );
                    drop(response);
                    (
                        self.send(&req, &second, (&key_id, &key), extensions, next).await?.0,
                        second,
                    )
                }
            };
        if response.status().is_success() {
            self.knocker.accepted(&host, knock.scheme()).await;
        }
        Ok(response)
    }
}
