//! The "double-knock" of requests Gazette signs (deliveries and signed
//! GETs): which profile to sign with first for a host, whether to ask again
//! at once with the other after a refusal, and remembering what the host
//! accepted (in the store, so other processes and later runs start with it).
//!
//! The rule: sign with what the host accepted last, or RFC 9421 when nothing
//! is known; when the host answers 400 or 401, sign again at once, once,
//! with the other profile; when the refusal carries an `Accept-Signature`
//! field Gazette can fulfil, the second try is RFC 9421 covering what it
//! asks for. What a 2xx answered is remembered per host. A host remembered
//! as draft-cavage is tried with RFC 9421 first again once that was learned
//! longer ago than `recheck_after` (7 days by default), and if it still
//! refuses, draft-cavage is remembered anew for as long.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use gazette_store::{KnownScheme, SignatureScheme, Store};

use super::sign::Challenge;

/// How long a host remembered as accepting only draft-cavage is left
/// alone before RFC 9421 is tried first on it again.
pub const RECHECK_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long what the store said about a host is trusted before it is read
/// again (another process may have learned something since).
const CACHE_TTL: Duration = Duration::from_secs(60);

/// Which profiles Gazette signs with (`federation.signature`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignaturePolicy {
    /// RFC 9421 first, draft-cavage after a refusal, remembered per host.
    DoubleKnock,
    /// Always this profile, nothing remembered; only an `Accept-Signature`
    /// challenge to an RFC 9421 request is answered with a second one.
    Only(SignatureScheme),
}

impl SignaturePolicy {
    /// `double-knock`, `rfc9421` or `draft-cavage`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "double-knock" => Some(SignaturePolicy::DoubleKnock),
            other => SignatureScheme::parse(other).map(SignaturePolicy::Only),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignaturePolicy::DoubleKnock => "double-knock",
            SignaturePolicy::Only(scheme) => scheme.as_str(),
        }
    }
}

impl serde::Serialize for SignaturePolicy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How to sign one try: RFC 9421 (answering an `Accept-Signature`
/// challenge, or with Gazette's components) or draft-cavage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Knock {
    Rfc9421(Option<Challenge>),
    DraftCavage,
}

impl Knock {
    /// A try with `scheme` as Gazette signs it unasked.
    pub fn plain(scheme: SignatureScheme) -> Self {
        match scheme {
            SignatureScheme::Rfc9421 => Knock::Rfc9421(None),
            SignatureScheme::DraftCavage => Knock::DraftCavage,
        }
    }

    pub fn scheme(&self) -> SignatureScheme {
        match self {
            Knock::Rfc9421(_) => SignatureScheme::Rfc9421,
            Knock::DraftCavage => SignatureScheme::DraftCavage,
        }
    }
}

/// The profile to sign with first, given what is known of the host.
pub fn first_knock(
    policy: SignaturePolicy,
    known: Option<KnownScheme>,
    recheck_after: Duration,
    now: chrono::DateTime<Utc>,
) -> SignatureScheme {
    match (policy, known) {
        (SignaturePolicy::Only(scheme), _) => scheme,
        (SignaturePolicy::DoubleKnock, None) => SignatureScheme::Rfc9421,
        (SignaturePolicy::DoubleKnock, Some(known)) => {
            let age = (now - known.learned_at).to_std().unwrap_or_default();
            if known.scheme == SignatureScheme::DraftCavage && age >= recheck_after {
                SignatureScheme::Rfc9421
            } else {
                known.scheme
            }
        }
    }
}

/// Whether, and how, to sign again at once after the host answered
/// `status` to a request signed with `tried` that covered `covered` (RFC
/// 9421 components; empty for draft-cavage). `challenge` is what its
/// `Accept-Signature` field asked for, when Gazette can fulfil it.
pub fn second_knock(
    policy: SignaturePolicy,
    tried: SignatureScheme,
    covered: &[String],
    status: u16,
    challenge: Option<Challenge>,
) -> Option<Knock> {
    if !matches!(status, 400 | 401) {
        return None;
    }
    // A challenge an RFC 9421 request already met (same components, no
    // nonce to sign) says nothing new.
    let challenge = challenge.filter(|c| {
        tried == SignatureScheme::DraftCavage || c.nonce.is_some() || c.components.iter().any(|n| !covered.contains(n))
    });
    match (policy, challenge) {
        (SignaturePolicy::Only(SignatureScheme::Rfc9421), Some(c)) => Some(Knock::Rfc9421(Some(c))),
        (SignaturePolicy::Only(_), _) => None,
        (SignaturePolicy::DoubleKnock, Some(c)) => Some(Knock::Rfc9421(Some(c))),
        (SignaturePolicy::DoubleKnock, None) => Some(match tried {
            SignatureScheme::Rfc9421 => Knock::DraftCavage,
            SignatureScheme::DraftCavage => Knock::Rfc9421(None),
        }),
    }
}

/// The double-knock's memory: per host, what the store says, cached for a
/// minute; written when a host accepts a profile other than the one known
/// (or the same one after a recheck).
pub struct Knocker {
    store: Store,
    policy: SignaturePolicy,
    recheck_after: Duration,
    cache: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    known: Option<KnownScheme>,
    read: Instant,
}

impl Knocker {
    pub fn new(store: Store, policy: SignaturePolicy, recheck_after: Duration) -> Self {
        Knocker {
            store,
            policy,
            recheck_after,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> SignaturePolicy {
        self.policy
    }

    /// What is known of `host`: cached, else read from the store. A store
    /// that cannot be read counts as knowing nothing (logged).
    async fn known(&self, host: &str) -> Option<KnownScheme> {
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = cache.get(host)
                && c.read.elapsed() < CACHE_TTL
            {
                return c.known;
            }
        }
        let known = match self.store.find_signature_scheme(host).await {
            Ok(known) => known,
            Err(e) => {
                tracing::warn!(%host, error = %e, "reading the signature profile a host accepted failed");
                return None;
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        // Forget what is stale rather than let the map grow with every host ever seen.
        if cache.len() > 10_000 {
            cache.retain(|_, c| c.read.elapsed() < CACHE_TTL);
        }
        cache.insert(
            host.to_owned(),
            Cached {
                known,
                read: Instant::now(),
            },
        );
        known
    }

    /// The profile to sign a request to `host` with first.
    pub async fn first(&self, host: &str) -> SignatureScheme {
        if let SignaturePolicy::Only(scheme) = self.policy {
            return scheme;
        }
        first_knock(self.policy, self.known(host).await, self.recheck_after, Utc::now())
    }

    /// See [`second_knock`].
    pub fn second(
        &self,
        tried: SignatureScheme,
        covered: &[String],
        status: u16,
        challenge: Option<Challenge>,
    ) -> Option<Knock> {
        second_knock(self.policy, tried, covered, status, challenge)
    }

    /// `host` accepted a request signed with `scheme`: remembered when it
    /// is news, or when what was known is due for a recheck.
    pub async fn accepted(&self, host: &str, scheme: SignatureScheme) {
        if self.policy != SignaturePolicy::DoubleKnock {
            return;
        }
        let now = Utc::now();
        let known = self.known(host).await;
        let fresh = known.is_some_and(|k| {
            k.scheme == scheme && (now - k.learned_at).to_std().unwrap_or_default() < self.recheck_after
        });
        // RFC 9421 is never rechecked, so its age does not matter.
        if fresh || known.is_some_and(|k| k.scheme == scheme && scheme == SignatureScheme::Rfc9421) {
            return;
        }
        if let Err(e) = self.store.remember_signature_scheme(host, scheme, now).await {
            tracing::warn!(%host, error = %e, "remembering the signature profile a host accepted failed");
            return;
        }
        tracing::info!(%host, scheme = scheme.as_str(), "the host accepts this signature profile");
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(
            host.to_owned(),
            Cached {
                known: Some(KnownScheme {
                    scheme,
                    learned_at: now,
                }),
                read: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignatureScheme::{DraftCavage, Rfc9421};

    const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

    fn known(scheme: SignatureScheme, days_ago: i64) -> Option<KnownScheme> {
        Some(KnownScheme {
            scheme,
            learned_at: Utc::now() - chrono::Duration::days(days_ago),
        })
    }

    #[test]
    fn the_first_knock_is_rfc9421_unless_the_host_wanted_draft_cavage_lately() {
        let dk = SignaturePolicy::DoubleKnock;
        let now = Utc::now();
        assert_eq!(first_knock(dk, None, WEEK, now), Rfc9421);
        assert_eq!(first_knock(dk, known(DraftCavage, 1), WEEK, now), DraftCavage);
        assert_eq!(first_knock(dk, known(DraftCavage, 8), WEEK, now), Rfc9421);
        assert_eq!(first_knock(dk, known(Rfc9421, 30), WEEK, now), Rfc9421);
        assert_eq!(
            first_knock(SignaturePolicy::Only(DraftCavage), known(Rfc9421, 1), WEEK, now),
            DraftCavage
        );
    }

    #[test]
    fn a_refusal_is_answered_with_the_other_profile_or_what_accept_signature_asks() {
        let dk = SignaturePolicy::DoubleKnock;
        let ours: Vec<String> = vec!["@method".into(), "@target-uri".into()];
        assert_eq!(second_knock(dk, Rfc9421, &ours, 401, None), Some(Knock::DraftCavage));
        assert_eq!(second_knock(dk, Rfc9421, &ours, 400, None), Some(Knock::DraftCavage));
        assert_eq!(
            second_knock(dk, DraftCavage, &[], 401, None),
            Some(Knock::Rfc9421(None))
        );
        for status in [200, 202, 403, 404, 410, 429, 500] {
            assert_eq!(second_knock(dk, Rfc9421, &ours, status, None), None, "{status}");
        }
        let challenge = |components: &[&str], nonce: Option<&str>| Challenge {
            label: "sig1".into(),
            components: components.iter().map(|c| c.to_string()).collect(),
            nonce: nonce.map(String::from),
            tag: None,
        };
        let asks_more = challenge(&["@method", "@target-uri", "date"], None);
        assert_eq!(
            second_knock(dk, Rfc9421, &ours, 401, Some(asks_more.clone())),
            Some(Knock::Rfc9421(Some(asks_more.clone())))
        );
        assert_eq!(
            second_knock(dk, DraftCavage, &[], 401, Some(asks_more.clone())),
            Some(Knock::Rfc9421(Some(asks_more.clone())))
        );
        // Already met: the other profile.
        let met = challenge(&["@method"], None);
        assert_eq!(
            second_knock(dk, Rfc9421, &ours, 401, Some(met)),
            Some(Knock::DraftCavage)
        );
        let nonce = challenge(&["@method"], Some("n"));
        assert_eq!(
            second_knock(dk, Rfc9421, &ours, 401, Some(nonce.clone())),
            Some(Knock::Rfc9421(Some(nonce)))
        );
        // A pinned profile knocks once, but for a challenge to RFC 9421.
        let pinned = SignaturePolicy::Only(Rfc9421);
        assert_eq!(second_knock(pinned, Rfc9421, &ours, 401, None), None);
        assert_eq!(
            second_knock(pinned, Rfc9421, &ours, 401, Some(asks_more.clone())),
            Some(Knock::Rfc9421(Some(asks_more.clone())))
        );
        let cavage = SignaturePolicy::Only(DraftCavage);
        assert_eq!(second_knock(cavage, DraftCavage, &[], 401, Some(asks_more)), None);
    }

    #[test]
    fn policies_by_name() {
        for name in ["double-knock", "rfc9421", "draft-cavage"] {
            assert_eq!(SignaturePolicy::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(SignaturePolicy::parse("hs2019"), None);
    }
}
