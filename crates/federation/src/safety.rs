//! Whom we federate with: blocked domains and actors, and in allowlist mode
//! only the domains on the allowlist. Enforced in four places, each through
//! this module:
//!
//! - the inbox refuses (403) a request whose `actor` or signing key lives on
//!   a refused domain, or whose actor is blocked, before anything is fetched
//!   ([`refuse_blocked_sender`]);
//! - deliveries are never queued to a refused host ([`deliverable_inboxes`],
//!   called by `outbound::enqueue`, the one place deliveries are queued);
//! - activitypub_federation refuses to fetch from a refused domain
//!   ([`SafetyVerifier`], its `UrlVerifier`), so neither dereferencing nor
//!   WebFinger reaches it;
//! - blocking a domain purges what was stored from it ([`block_domain`]),
//!   blocking an actor forgets the actor ([`block_actor`]).
//!
//! Signed fetches of our AS2 documents (authorized fetch) check the signer
//! the same way (see `signed_fetch`).

use activitypub_federation::config::{Data, UrlVerifier};
use axum::http::{HeaderMap, StatusCode};
use gazette_store::{ActorBlock, DomainBlock, PurgeReport, Store, StoreError, inbox_host};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::context::{FedContext, FederationMode};
use crate::error::FederationError;
use crate::remote::host_of;

const BLOCKED: &str = "the domain is blocked on this instance";
const NOT_ALLOWED: &str = "this instance federates only with the domains on its allowlist";

/// Why `host` (`name[:port]`) is refused, if it is: a blocked domain, or (in
/// allowlist mode) one that is not on the allowlist. Our own host never is.
pub async fn host_refusal(
    store: &Store,
    mode: FederationMode,
    local_host: &str,
    host: &str,
) -> Result<Option<&'static str>, StoreError> {
    if host.eq_ignore_ascii_case(local_host) {
        return Ok(None);
    }
    if store.is_domain_blocked(host).await? {
        return Ok(Some(BLOCKED));
    }
    if mode == FederationMode::Allowlist && !store.is_domain_allowed(host).await? {
        return Ok(Some(NOT_ALLOWED));
    }
    Ok(None)
}

/// Refuses (403) a remote actor we do not federate with: its domain, or the actor itself.
pub async fn check_actor(ctx: &FedContext, actor_id: &str) -> Result<(), FederationError> {
    let url = Url::parse(actor_id)?;
    check_host(ctx, &host_of(&url)).await?;
    if ctx.store().is_actor_blocked(actor_id).await? {
        return Err(forbidden(format!("{actor_id} is blocked on this instance")));
    }
    Ok(())
}

/// Refuses (403) a host we do not federate with.
pub async fn check_host(ctx: &FedContext, host: &str) -> Result<(), FederationError> {
    match host_refusal(ctx.store(), ctx.settings().mode, ctx.urls().host(), host).await? {
        Some(why) => Err(forbidden(format!("{host}: {why}"))),
        None => Ok(()),
    }
}

fn forbidden(msg: String) -> FederationError {
    FederationError::Refused(StatusCode::FORBIDDEN, msg)
}

/// The inbox's check, before the body is parsed for real or anyone is
/// fetched: the `actor` named in the body and the host of the signature's
/// `keyId` must both be federated with, and the actor must not be blocked.
/// A body without a readable `actor` passes, for the library to refuse.
pub(crate) async fn refuse_blocked_sender(
    ctx: &FedContext,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<String>, FederationError> {
    let actor = sender_actor(body);
    let local = ctx.urls().host();
    let mut hosts: Vec<String> = Vec::with_capacity(2);
    let mut push = |url: &str| {
        if let Ok(u) = Url::parse(url) {
            let host = host_of(&u);
            if !host.eq_ignore_ascii_case(local) && !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    };
    if let Some(key_id) = signature_key_id(headers) {
        push(&key_id);
    }
    let actor = actor.filter(|a| Url::parse(a).is_ok());
    if let Some(a) = &actor {
        push(a);
    }
    // One query for the key's host, the actor's host and the actor itself.
    let check = ctx.store().sender_check(&hosts, actor.as_deref()).await?;
    if let Some(host) = check.blocked_hosts.first() {
        return Err(forbidden(format!("{host}: {BLOCKED}")));
    }
    if ctx.settings().mode == FederationMode::Allowlist
        && let Some(host) = check.unlisted_hosts.first()
    {
        return Err(forbidden(format!("{host}: {NOT_ALLOWED}")));
    }
    if check.actor_blocked
        && let Some(a) = &actor
    {
        return Err(forbidden(format!("{a} is blocked on this instance")));
    }
    Ok(hosts)
}

tokio::task_local! {
    /// The hosts the inbox has just checked for the activity being received
    /// (see [`receiving_from`]).
    static CHECKED_HOSTS: Vec<String>;
}

/// Runs `receive` (the library's checks and handling of one received
/// activity) knowing that `hosts` passed [`refuse_blocked_sender`] a moment
/// ago: the URL verifier does not read the lists again for them (the
/// activity's id is on the sender's host).
pub(crate) async fn receiving_from<F: std::future::Future>(hosts: Vec<String>, receive: F) -> F::Output {
    CHECKED_HOSTS.scope(hosts, receive).await
}

fn checked_just_now(host: &str) -> bool {
    CHECKED_HOSTS
        .try_with(|hosts| hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
        .unwrap_or(false)
}

/// The `actor` named in an activity's body (an id, or an object with one),
/// read without parsing the rest.
pub(crate) fn sender_actor(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Sender {
        #[serde(default)]
        actor: Value,
    }
    serde_json::from_slice::<Sender>(body).ok().and_then(|s| match s.actor {
        Value::String(id) => Some(id),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    })
}

/// The key id of the request's signature (draft-cavage `Signature` or
/// `Authorization: Signature`, or RFC 9421 `Signature-Input`).
pub(crate) fn signature_key_id(headers: &HeaderMap) -> Option<String> {
    crate::signatures::key_id(headers)
}

/// `inboxes` without those on hosts we do not federate with (each refusal
/// logged). Reads both domain lists once, so a large fan-out costs two queries.
pub(crate) async fn deliverable_inboxes(ctx: &FedContext, inboxes: &[String]) -> Result<Vec<String>, FederationError> {
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    let lists = ctx.store().domain_lists().await?;
    let allowlist = ctx.settings().mode == FederationMode::Allowlist;
    let local = ctx.urls().host();
    let mut out = Vec::with_capacity(inboxes.len());
    for inbox in inboxes {
        let Ok(host) = inbox_host(inbox) else {
            // The queue refuses it with a clear error.
            out.push(inbox.clone());
            continue;
        };
        let refused = host != local && (lists.is_blocked(&host) || (allowlist && !lists.is_allowed(&host)));
        if refused {
            tracing::info!(inbox, "delivery skipped: we do not federate with this host");
        } else {
            out.push(inbox.clone());
        }
    }
    Ok(out)
}

/// activitypub_federation's URL check, run before every fetch (actors,
/// objects, WebFinger) and on every received activity id: refuses blocked
/// domains and, in allowlist mode, domains not on the allowlist. It holds a
/// clone of the store (a pool handle) rather than the context, which owns
/// the federation config that owns this verifier.
#[derive(Clone)]
pub struct SafetyVerifier {
    store: Store,
    mode: FederationMode,
    local_host: String,
}

impl SafetyVerifier {
    pub fn new(ctx: &FedContext) -> Self {
        SafetyVerifier {
            store: ctx.store().clone(),
            mode: ctx.settings().mode,
            local_host: ctx.urls().host().to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl UrlVerifier for SafetyVerifier {
    async fn verify(&self, url: &Url) -> Result<(), activitypub_federation::error::Error> {
        use activitypub_federation::error::Error;
        let host = host_of(url);
        if checked_just_now(&host) {
            return Ok(());
        }
        match host_refusal(&self.store, self.mode, &self.local_host, &host).await {
            Ok(None) => Ok(()),
            Ok(Some(why)) => {
                tracing::info!(%url, why, "remote URL refused");
                Err(Error::UrlVerificationError(why))
            }
            Err(e) => Err(Error::Other(format!("cannot read the domain block list: {e}"))),
        }
    }
}

/// Blocks `domain` and purges what is stored from it (see [`Store::purge_domain`]).
pub async fn block_domain(
    store: &Store,
    domain: &str,
    reason: &str,
) -> Result<(DomainBlock, PurgeReport), FederationError> {
    let block = store.add_domain_block(domain, reason).await?;
    let purged = store.purge_domain(&block.domain).await?;
    tracing::info!(domain = %block.domain, actors = purged.actors, deliveries = purged.deliveries, "domain blocked and purged");
    Ok((block, purged))
}

/// Blocks an actor (`https://…` id, or `@name@host`) and forgets it: its
/// follows, likes, boosts, replies and articles go with it. A handle is
/// looked up among stored actors first, then through WebFinger.
pub async fn block_actor(data: &Data<FedContext>, target: &str, reason: &str) -> Result<ActorBlock, FederationError> {
    let id = actor_id_of(data, target).await?;
    let block = data.store().add_actor_block(&id, reason).await?;
    data.store().delete_remote_actor(&id).await?;
    data.actor_cache().forget(&id);
    tracing::info!(actor = %id, "actor blocked");
    Ok(block)
}

/// Lifts the block of an actor (id or handle); returns its id, or `None`
/// when it was not blocked.
pub async fn unblock_actor(data: &Data<FedContext>, target: &str) -> Result<Option<String>, FederationError> {
    let target = target.trim();
    // A blocked actor is forgotten, so ids are tried first, without any lookup.
    if data.store().remove_actor_block(target).await? {
        return Ok(Some(target.to_owned()));
    }
    let id = actor_id_of(data, target).await?;
    Ok(data.store().remove_actor_block(&id).await?.then_some(id))
}

/// The actor id `target` names: itself when it is a URL; for a handle, the
/// stored actor with that handle, else what WebFinger says.
async fn actor_id_of(data: &Data<FedContext>, target: &str) -> Result<String, FederationError> {
    let target = target.trim();
    if target.starts_with("https://") || target.starts_with("http://") {
        return Ok(Url::parse(target)?.to_string());
    }
    let handle = target.trim_start_matches('@');
    let Some((user, host)) = handle.split_once('@') else {
        return Err(FederationError::bad_request(format!(
            "`{target}` is not a handle such as @name@example.org or an actor URL"
        )));
    };
    if let Some(actor) = data.store().find_remote_actor_by_handle(user, host).await? {
        return Ok(actor.id);
    }
    Ok(crate::outbound::resolve_actor(data, target).await?.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids() {
        let mut h = HeaderMap::new();
        h.insert(
            "signature",
            r#"keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="date",signature="x""#
                .parse()
                .unwrap(),
        );
        assert_eq!(signature_key_id(&h).as_deref(), Some("https://a.example/u#main-key"));
        let mut h = HeaderMap::new();
        h.insert("authorization", r#"Signature keyId="k",signature="x""#.parse().unwrap());
        assert_eq!(signature_key_id(&h).as_deref(), Some("k"));
        assert_eq!(signature_key_id(&HeaderMap::new()), None);
    }
}
