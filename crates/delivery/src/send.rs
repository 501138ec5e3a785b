//! One attempt: sign, POST (a second time at once when the host refuses the
//! signature profile: the double-knock of `gazette_federation::signatures::knock`),
//! and sort the answer into delivered, retry later, or give up — the same
//! split Mastodon makes.

use std::sync::Arc;
use std::time::SystemTime;

use gazette_store::{Delivery, DeliveryOutcome};
use reqwest::header::{CONNECTION, CONTENT_TYPE, DATE, HOST};
use reqwest::{StatusCode, Url};

use gazette_http::{error_chain, find_forbidden};

use gazette_federation::follower_sync;
use gazette_federation::signatures::knock::{Knock, Knocker};
use gazette_federation::signatures::sign;

use crate::config::DeliveryConfig;
use crate::signing::{KeyError, KeySource, Rfc9421Post, SignError, SignedHeaders, Signer, SigningKey};

/// The media type deliveries are sent as.
const ACTIVITY_JSON: &str = "application/activity+json";

/// Response bytes read (and thrown away) so the connection can be reused.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// What an attempt came to. `Release` hands the row back untried (the key
/// store was unreachable): the failure is ours, not the remote host's.
#[derive(Debug)]
pub(crate) enum Attempt {
    Done(DeliveryOutcome),
    Release(String),
}

/// `last` says no other delivery to this host is in hand: the connection is
/// then closed after the answer rather than kept in the pool. A fan-out
/// reaches each of a thousand servers once, and an idle connection to each
/// holds its buffers (some 20 KiB) until the pool drops it.
pub(crate) async fn attempt<K: KeySource>(
    client: &reqwest::Client,
    signer: &Signer<K>,
    knocker: &Knocker,
    config: &DeliveryConfig,
    d: &Delivery,
    last: bool,
) -> Attempt {
    let abandon = |why: String| Attempt::Done(DeliveryOutcome::Abandoned(why));
    let url = match Url::parse(&d.inbox) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        _ => return abandon(format!("not an http(s) inbox URL: {}", d.inbox)),
    };
    if !config.allow_private_addresses
        && let Err(forbidden) = gazette_http::check_url(&url)
    {
        return abandon(forbidden.to_string());
    }
    let key = match signer.key(&d.actor_id).await {
        Ok(key) => key,
        Err(e @ (KeyError::Missing(_) | KeyError::Invalid { .. })) => return abandon(e.to_string()),
        Err(e @ KeyError::Lookup { .. }) => return Attempt::Release(e.to_string()),
    };
    let host = match sign::host_of(&url) {
        Ok(host) => host,
        Err(e) => return abandon(e.to_string()),
    };
    // The double-knock: what the host accepted last (RFC 9421 when nothing
    // is known); after a 400 or 401, once more at once with the other
    // profile, or what its Accept-Signature asks for.
    let first = Knock::plain(knocker.first(&host).await);
    let (answer, covered) = match post(client, signer, &key, &url, d, &first, last).await {
        Ok(sent) => sent,
        Err(failed) => return failed.into_attempt(),
    };
    let challenge = answer
        .accept_signature
        .as_deref()
        .and_then(|v| sign::read_accept_signature(v, key.key_id()));
    let second = knocker.second(first.scheme(), &covered, answer.status.as_u16(), challenge);
    let (answer, knock) = match second {
        None => (answer, first),
        Some(second) => {
            // Never start a request that could outlast the lease (see the worker).
            let left = (d.locked_until - chrono::Utc::now()).to_std().unwrap_or_default();
            if left < config.request_timeout {
                return Attempt::Done(outcome(&answer));
            }
            tracing::debug!(
                inbox = %d.inbox,
                status = answer.status.as_u16(),
                refused = first.scheme().as_str(),
                next = second.scheme().as_str(),
                "signature refused; knocking again"
            );
            match post(client, signer, &key, &url, d, &second, last).await {
                Ok((answer, _)) => (answer, second),
                Err(failed) => return failed.into_attempt(),
            }
        }
    };
    if answer.status.is_success() {
        knocker.accepted(&host, knock.scheme()).await;
    }
    Attempt::Done(outcome(&answer))
}

/// What the inbox answered, as far as the worker cares.
struct Answer {
    status: StatusCode,
    retry_after: Option<std::time::Duration>,
    accept_signature: Option<String>,
}

/// Why a POST was not answered.
enum Failed {
    /// It could not be signed: the delivery is given up.
    Sign(String),
    /// The server stopped first: the delivery is handed back untried.
    Stopped,
    Http(reqwest::Error),
}

impl Failed {
    fn into_attempt(self) -> Attempt {
        Attempt::Done(match self {
            Failed::Stopped => return Attempt::Release(SignError::Stopped.to_string()),
            Failed::Sign(why) => DeliveryOutcome::Abandoned(why),
            Failed::Http(e) => match find_forbidden(&e) {
                Some(forbidden) => DeliveryOutcome::Abandoned(forbidden.to_string()),
                None => DeliveryOutcome::Retry(error_chain(&e)),
            },
        })
    }
}

/// A delivery's signature headers, in one profile or the other.
enum Signed {
    DraftCavage(SignedHeaders),
    Rfc9421(Rfc9421Post),
}

/// Signs the delivery as `knock` says and POSTs it (asking for the
/// connection to close after the answer when `close`); the answer, and the
/// RFC 9421 components the signature covered (none for draft-cavage).
async fn post<K: KeySource>(
    client: &reqwest::Client,
    signer: &Signer<K>,
    key: &Arc<SigningKey>,
    url: &Url,
    d: &Delivery,
    knock: &Knock,
    close: bool,
) -> Result<(Answer, Vec<String>), Failed> {
    let now = SystemTime::now();
    // The RSA signature (about half a millisecond) is made off the runtime's
    // workers: a fan-out signs thousands, and requests wait behind none.
    let signed = {
        let (key, url, knock, body) = (key.clone(), url.clone(), knock.clone(), d.payload.clone());
        signer
            .off_runtime(move || match knock {
                Knock::DraftCavage => key.sign_post(&url, body.as_bytes(), now).map(Signed::DraftCavage),
                Knock::Rfc9421(challenge) => key
                    .sign_post_rfc9421(&url, body.as_bytes(), ACTIVITY_JSON, now, challenge.as_ref())
                    .map(Signed::Rfc9421),
            })
            .await
            .map_err(|e| match e {
                SignError::Stopped => Failed::Stopped,
                e => Failed::Sign(e.to_string()),
            })?
    };
    let (request, covered) = match signed {
        Signed::DraftCavage(signed) => {
            let request = client
                .post(url.clone())
                .header(HOST, signed.host)
                .header(DATE, signed.date)
                .header("digest", signed.digest)
                .header("signature", signed.signature)
                .header(CONTENT_TYPE, ACTIVITY_JSON);
            (request, Vec::new())
        }
        Signed::Rfc9421(signed) => {
            let covered = signed.covered();
            let request = client
                .post(url.clone())
                .header(HOST, signed.host)
                .header(DATE, signed.date)
                .header("content-digest", signed.content_digest)
                .header("signature-input", signed.signature_input)
                .header("signature", signed.signature)
                .header(CONTENT_TYPE, signed.content_type);
            (request, covered)
        }
    };
    // FEP-8fcf: the digest of the actor's followers on this host, when the
    // activity is addressed to them.
    let request = match &d.followers_digest {
        Some(digest) => request.header(
            follower_sync::HEADER,
            follower_sync::header(&d.actor_id, &d.host, digest),
        ),
        None => request,
    };
    // Hop-by-hop, so outside what either signature covers.
    let request = if close {
        request.header(CONNECTION, "close")
    } else {
        request
    };
    let mut response = request.body(d.payload.clone()).send().await.map_err(Failed::Http)?;
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let answer = Answer {
        status: response.status(),
        retry_after: header(reqwest::header::RETRY_AFTER).and_then(|v| retry_after(&v, SystemTime::now())),
        accept_signature: header(reqwest::header::HeaderName::from_static("accept-signature")),
    };
    // Read a little of the body so the connection goes back to the pool.
    let mut read = 0;
    while read < MAX_RESPONSE_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    Ok((answer, covered))
}

/// The outcome of an answer, honouring `Retry-After` on 429 and 503.
fn outcome(answer: &Answer) -> DeliveryOutcome {
    match (classify(answer.status), answer.retry_after) {
        (DeliveryOutcome::Retry(what), Some(wait)) if matches!(answer.status.as_u16(), 429 | 503) => {
            DeliveryOutcome::RetryAfter(what, wait)
        }
        (outcome, _) => outcome,
    }
}

/// Mastodon's rule (`DeliveryWorker`): 2xx is delivered; 401, 408, 429 and
/// 5xx other than 501 are worth retrying (401 often means the remote server
/// has not fetched our key yet); any other 4xx and 501 are final. Redirects
/// are final too: the signature names the original host and path.
pub(crate) fn classify(status: StatusCode) -> DeliveryOutcome {
    let what = match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    };
    match status.as_u16() {
        200..=299 => DeliveryOutcome::Delivered,
        401 | 408 | 429 => DeliveryOutcome::Retry(what),
        501 => DeliveryOutcome::Rejected(what),
        300..=499 => DeliveryOutcome::Rejected(what),
        _ => DeliveryOutcome::Retry(what),
    }
}

/// The longest `Retry-After` we honour: a host asking for more is retried
/// on the usual schedule after a day.
const MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A `Retry-After` value (seconds, or an HTTP date) as a wait from `now`,
/// at most [`MAX_RETRY_AFTER`].
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<std::time::Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => std::time::Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(now)
            .unwrap_or_default(),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after("120", now), Some(std::time::Duration::from_secs(120)));
        let later = httpdate::fmt_http_date(now + std::time::Duration::from_secs(600));
        assert_eq!(retry_after(&later, now), Some(std::time::Duration::from_secs(600)));
        let past = httpdate::fmt_http_date(now - std::time::Duration::from_secs(600));
        assert_eq!(retry_after(&past, now), Some(std::time::Duration::ZERO));
        assert_eq!(retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn statuses_are_sorted_like_mastodon() {
        let kind = |code: u16| match classify(StatusCode::from_u16(code).unwrap()) {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retry(_) | DeliveryOutcome::RetryAfter(..) => "retry",
            DeliveryOutcome::Rejected(_) => "final",
            DeliveryOutcome::Abandoned(_) => "abandoned",
        };
        for (code, expected) in [
            (200, "delivered"),
            (202, "delivered"),
            (204, "delivered"),
            (301, "final"),
            (400, "final"),
            (401, "retry"),
            (403, "final"),
            (404, "final"),
            (408, "retry"),
            (410, "final"),
            (422, "final"),
            (429, "retry"),
            (500, "retry"),
            (501, "final"),
            (502, "retry"),
            (503, "retry"),
        ] {
            assert_eq!(kind(code), expected, "HTTP {code}");
        }
        assert_eq!(
            classify(StatusCode::GONE),
            DeliveryOutcome::Rejected("HTTP 410 Gone".into())
        );
    }
}
