//! The double-knock of signed GETs (authorized fetch of remote actors and
//! objects). activitypub_federation signs every fetch draft-cavage with the
//! instance actor's key and sends it through Gazette's client; this
//! middleware in that client re-signs it with RFC 9421 when [`Knocker`]
//! says so (the draft-cavage `Signature` and `Digest` dropped), asks again
//! at once with the other profile (or what `Accept-Signature` asks for)
//! after a 400 or 401, and remembers per host what a 2xx answered: the same
//! rule and memory as deliveries.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{Extensions, HeaderValue, Method};
use reqwest::header::HOST;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use ring::signature::RsaKeyPair;

use super::knock::{Knock, Knocker};
use super::sign::{self, Challenge};

/// Signs the library's signed GETs as the double-knock decides.
pub(crate) struct SignedGets {
    knocker: Knocker,
    key_id: String,
    key: Arc<RsaKeyPair>,
}

impl SignedGets {
    /// `key` is the instance actor's, whose key id is `key_id`.
    pub(crate) fn new(knocker: Knocker, key_id: String, key: RsaKeyPair) -> Self {
        SignedGets {
            knocker,
            key_id,
            key: Arc::new(key),
        }
    }

    /// The request as `knock` signs it (`signed` is the library's draft-cavage
    /// one), and the RFC 9421 components covered.
    fn prepare(&self, signed: &Request, knock: &Knock) -> Result<(Request, Vec<String>), String> {
        let mut request = signed
            .try_clone()
            .ok_or("a signed GET with a streamed body cannot be sent twice")?;
        let Knock::Rfc9421(challenge) = knock else {
            return Ok((request, Vec::new()));
        };
        let url = request.url().clone();
        let headers = request.headers_mut();
        headers.remove("signature");
        headers.remove("digest");
        if !headers.contains_key(HOST) {
            let host = sign::host_of(&url).map_err(|e| e.to_string())?;
            headers.insert(HOST, HeaderValue::from_str(&host).map_err(|e| e.to_string())?);
        }
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs() as i64;
        let fields = sign::sign_rfc9421(
            &self.key,
            &self.key_id,
            &Method::GET,
            &url,
            headers,
            created,
            challenge.as_ref(),
        )
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
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<(Response, Vec<String>)> {
        let (request, covered) = self
            .prepare(signed, knock)
            .map_err(|e| reqwest_middleware::Error::middleware(SignedGetError(e)))?;
        Ok((next.run(request, extensions).await?, covered))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("signing a GET with RFC 9421: {0}")]
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
        let first = Knock::plain(self.knocker.first(&host).await);
        let (response, covered) = self.send(&req, &first, extensions, next.clone()).await?;
        let challenge: Option<Challenge> = response
            .headers()
            .get("accept-signature")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| sign::read_accept_signature(v, &self.key_id));
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
                    (self.send(&req, &second, extensions, next).await?.0, second)
                }
            };
        if response.status().is_success() {
            self.knocker.accepted(&host, knock.scheme()).await;
        }
        Ok(response)
    }
}
