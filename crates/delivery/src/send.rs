//! One attempt: sign, POST, and sort the answer into delivered, retry
//! later, or give up — the same split Mastodon makes.

use std::time::SystemTime;

use gazette_store::{Delivery, DeliveryOutcome};
use reqwest::header::{CONTENT_TYPE, DATE, HOST};
use reqwest::{StatusCode, Url};

use gazette_http::{error_chain, find_forbidden};

use crate::config::DeliveryConfig;
use crate::signing::{KeyError, KeySource, Signer};

/// Response bytes read (and thrown away) so the connection can be reused.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// What an attempt came to. `Release` hands the row back untried (the key
/// store was unreachable): the failure is ours, not the remote host's.
#[derive(Debug)]
pub(crate) enum Attempt {
    Done(DeliveryOutcome),
    Release(String),
}

pub(crate) async fn attempt<K: KeySource>(
    client: &reqwest::Client,
    signer: &Signer<K>,
    config: &DeliveryConfig,
    d: &Delivery,
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
    let signed = match key.sign_post(&url, d.payload.as_bytes(), SystemTime::now()) {
        Ok(s) => s,
        Err(e) => return abandon(e.to_string()),
    };
    let response = client
        .post(url)
        .header(HOST, signed.host)
        .header(DATE, signed.date)
        .header("digest", signed.digest)
        .header("signature", signed.signature)
        .header(CONTENT_TYPE, "application/activity+json")
        .body(d.payload.clone())
        .send()
        .await;
    match response {
        Ok(mut response) => {
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, std::time::SystemTime::now()));
            // Read a little of the body so the connection goes back to the pool.
            let mut read = 0;
            while read < MAX_RESPONSE_BODY {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
            Attempt::Done(match (classify(status), retry_after) {
                (DeliveryOutcome::Retry(what), Some(wait)) if matches!(status.as_u16(), 429 | 503) => {
                    DeliveryOutcome::RetryAfter(what, wait)
                }
                (outcome, _) => outcome,
            })
        }
        Err(e) => match find_forbidden(&e) {
            Some(forbidden) => abandon(forbidden.to_string()),
            None => Attempt::Done(DeliveryOutcome::Retry(error_chain(&e))),
        },
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
