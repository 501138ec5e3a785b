//! The newsletter's signed, expiring links: `{subscriber}.{expiry}.{mac}`,
//! the MAC an HMAC-SHA256 (key from the store, made once per instance) over
//! the link's purpose, the subscriber and the expiry, so a confirm link
//! cannot serve as an unsubscribe link, nor an old one be extended.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use ring::hmac;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsubscribe",
        }
    }
}

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// Well signed, but too old.
    Expired,
    /// Not a link this instance made (or made for something else).
    Invalid,
}

fn mac(key: &str, purpose: Purpose, subscriber: &str, expires: i64) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    hmac::sign(&key, format!("{}|{subscriber}|{expires}", purpose.as_str()).as_bytes())
}

/// The token of a link for `subscriber`, valid until `expires`.
pub fn sign(key: &str, purpose: Purpose, subscriber: &str, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp();
    let tag = mac(key, purpose, subscriber, expires);
    format!("{subscriber}.{expires}.{}", B64.encode(tag.as_ref()))
}

/// The subscriber a token names, if it was signed with `key` for `purpose`
/// and has not expired at `now`.
pub fn verify(key: &str, purpose: Purpose, token: &str, now: DateTime<Utc>) -> Result<String, LinkRefused> {
    let mut parts = token.splitn(3, '.');
    let (Some(subscriber), Some(expires), Some(given)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(LinkRefused::Invalid);
    };
    let expires: i64 = expires.parse().map_err(|_| LinkRefused::Invalid)?;
    let given = B64.decode(given).map_err(|_| LinkRefused::Invalid)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    let message = format!("{}|{subscriber}|{expires}", purpose.as_str());
    hmac::verify(&key, message.as_bytes(), &given).map_err(|_| LinkRefused::Invalid)?;
    if now.timestamp() > expires {
        return Err(LinkRefused::Expired);
    }
    Ok(subscriber.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_bound_to_key_purpose_and_time() {
        let now = Utc::now();
        let later = now + chrono::Duration::days(7);
        let token = sign("k1", Purpose::Confirm, "abc", later);
        assert_eq!(verify("k1", Purpose::Confirm, &token, now), Ok("abc".to_owned()));
        assert_eq!(verify("k2", Purpose::Confirm, &token, now), Err(LinkRefused::Invalid));
        assert_eq!(
            verify("k1", Purpose::Unsubscribe, &token, now),
            Err(LinkRefused::Invalid)
        );
        assert_eq!(
            verify("k1", Purpose::Confirm, &token, later + chrono::Duration::seconds(1)),
            Err(LinkRefused::Expired)
        );
        // A later expiry with the old signature is refused.
        let (head, sig) = token.rsplit_once('.').unwrap_or_default();
        let (id, _) = head.split_once('.').unwrap_or_default();
        let stretched = format!("{id}.{}.{sig}", later.timestamp() + 86_400);
        assert_eq!(
            verify("k1", Purpose::Confirm, &stretched, now),
            Err(LinkRefused::Invalid)
        );
        assert_eq!(
            verify("k1", Purpose::Confirm, "nonsense", now),
            Err(LinkRefused::Invalid)
        );
        // A different subscriber with the same signature is refused.
        let other = token.replacen("abc", "abd", 1);
        assert_eq!(verify("k1", Purpose::Confirm, &other, now), Err(LinkRefused::Invalid));
    }
}
