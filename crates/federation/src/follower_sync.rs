//! Follower synchronisation (FEP-8fcf): keeping followers lists consistent
//! across servers after data loss on either side.
//!
//! **Sending.** An activity addressed to a local actor's followers (its
//! followers collection in `to` or `cc`) is queued with the digest of that
//! actor's followers on each receiving host ([`digests_for`], one query per
//! fan-out); the delivery worker sends it as the `Collection-Synchronization`
//! header ([`header`]), naming the partial collection of the followers on
//! that host, which [`get_followers_synchronization`] answers only to a
//! signed GET from that host.
//!
//! **Receiving.** A delivery carrying the header about its sender's
//! followers ([`on_delivery`], one call from the inbox) is compared, off the
//! request path, with the local actors we record as following the sender.
//! On a mismatch (at most once per [`SYNC_EVERY`] and sender), the sender's
//! partial collection is fetched and our side repaired as Mastodon does:
//! a follow of ours it does not list is removed here and undone there
//! (`Undo` of our `Follow`); a pending follow it lists is taken as
//! accepted (its `Accept` was lost); a local actor it lists that does not
//! follow it sends an `Undo` of that unknown `Follow`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use gazette_core::FollowStatus;
use serde_json::{Value, json};
use url::Url;

use crate::activities::outgoing;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::AS2;
use crate::local::find_local_actor;
use crate::outbound::{enqueue, uniq};
use crate::remote::host_of;
use crate::routes::activity_response;
use crate::signed_fetch::RequestHead;

/// The HTTP header of FEP-8fcf.
pub const HEADER: &str = "collection-synchronization";

/// A remote actor's followers are compared with our follows of it at most
/// this often after a mismatching digest, however many deliveries carry one.
pub const SYNC_EVERY: Duration = Duration::from_secs(600);

/// Pages of a partial followers collection read at most.
const MAX_PAGES: usize = 20;
/// Items of a partial followers collection read at most.
const MAX_ITEMS: usize = 10_000;

/// The followers collection of a local actor, from its id (`/users/{name}`).
fn followers_of(actor_id: &str) -> String {
    format!("{actor_id}/followers")
}

/// The partial followers collection of `actor_id` for the servers of
/// `host`. The host is in the path, not the query: Fedify (and others)
/// leave the query out of a draft-cavage `(request-target)`.
fn partial_collection(actor_id: &str, host: &str) -> String {
    format!("{actor_id}/followers_synchronization/{host}")
}

/// Whether `path` is a partial followers collection, whose answer depends
/// on the signer of the request: a cache of public answers must not keep it.
pub fn is_signer_specific(path: &str) -> bool {
    path.starts_with("/users/") && path.contains("/followers_synchronization")
}

/// The `Collection-Synchronization` value of a delivery by `actor_id` to
/// `host`, whose followers there have `digest`.
pub fn header(actor_id: &str, host: &str, digest: &str) -> String {
    format!(
        "collectionId=\"{}\", url=\"{}\", digest=\"{digest}\"",
        followers_of(actor_id),
        partial_collection(actor_id, host)
    )
}

/// The digests to queue with `activity`, signed by the local actor
/// `actor_id`: its followers' digest per host when the activity is
/// addressed to its followers collection, nothing otherwise.
pub(crate) async fn digests_for(
    ctx: &FedContext,
    actor_id: &str,
    activity: &Value,
) -> Result<HashMap<String, String>, FederationError> {
    let Some(username) = ctx.urls().local_username(actor_id) else {
        return Ok(HashMap::new());
    };
    let followers = ctx.urls().followers(username);
    let addressed = ["to", "cc"].iter().any(|field| match &activity[*field] {
        Value::String(s) => *s == followers,
        Value::Array(items) => items.iter().any(|v| v.as_str() == Some(followers.as_str())),
        _ => false,
    });
    if !addressed {
        return Ok(HashMap::new());
    }
    Ok(ctx.store().follower_digests(actor_id).await?)
}

/// A `Collection-Synchronization` value, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncHeader {
    pub collection_id: String,
    pub url: String,
    /// Lower-case hex.
    pub digest: String,
}

/// Reads `collectionId="…", url="…", digest="…"` (parameters in any order,
/// unknown ones ignored); `None` when one of the three is missing or the
/// digest is not 64 hex digits.
pub fn parse_header(value: &str) -> Option<SyncHeader> {
    let mut params: HashMap<String, String> = HashMap::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        params.insert(name, value.to_owned());
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    let digest = params.remove("digest")?.to_ascii_lowercase();
    if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(SyncHeader {
        collection_id: params.remove("collectionid")?,
        url: params.remove("url")?,
        digest,
    })
}

/// `GET /users/{username}/followers_synchronization/{host}`: the actor's
/// followers on `host` (`host[:port]`), as an `OrderedCollection`, for a
/// signer on that host only. Always requires a valid signature (whatever
/// `authorized_fetch` says): 401 unsigned or unverified, 403 when the signer
/// is on another host, or is one we do not federate with.
pub async fn get_followers_synchronization(
    data: Data<FedContext>,
    Path((username, host)): Path<(String, String)>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    let signer =
        crate::signed_fetch::verify_signed_request(&data, &head.method, &head.uri, &head.headers, Utc::now()).await?;
    let signer_host = host_of(&Url::parse(&signer)?);
    if !host.eq_ignore_ascii_case(&signer_host) {
        return Err(FederationError::Refused(
            StatusCode::FORBIDDEN,
            format!("{signer} may read the followers on {signer_host} only, not on {host}"),
        ));
    }
    let actor = find_local_actor(&data, &username)
        .await?
        .ok_or(FederationError::NotFound)?;
    let actor_id = data.urls().actor(actor.username());
    let items = data.store().followers_on_host(&actor_id, &signer_host).await?;
    Ok(activity_response(&json!({
        "@context": AS2,
        "id": partial_collection(&actor_id, &signer_host),
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    })))
}

/// Called by the inbox once the signature of an activity from `sender` (its
/// signer) verified, whatever becomes of the activity: when the request carries a `Collection-Synchronization` header,
/// the comparison runs in a task of its own, so the sender's request does
/// not wait for it.
pub fn on_delivery(data: &Data<FedContext>, headers: &HeaderMap, sender: &Url) {
    let Some(value) = headers.get(HEADER).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some(sync) = parse_header(value) else {
        tracing::debug!(sender = %sender, header = value, "unreadable Collection-Synchronization header ignored");
        return;
    };
    let ctx = data.app_data().clone();
    let sender = sender.clone();
    tokio::spawn(async move {
        match compare(&ctx, &sender, &sync).await {
            Ok(Outcome::Consistent | Outcome::Skipped) => {}
            Ok(Outcome::Repaired(r)) => {
                tracing::info!(sender = %sender, removed = r.removed, accepted = r.accepted, undone = r.undone,
                    "followers synchronised (FEP-8fcf)")
            }
            Err(e) => tracing::warn!(sender = %sender, error = %e, "follower synchronisation failed"),
        }
    });
}

/// What a comparison came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Consistent,
    /// A mismatch, but the header was not about the sender's followers, or
    /// another comparison of this sender is recent.
    Skipped,
    Repaired(Repairs),
}

/// What a repair changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Our follows the sender does not list: removed, and undone.
    pub removed: usize,
    /// Our pending follows it lists: accepted.
    pub accepted: usize,
    /// Local actors it lists that do not follow it: `Undo` sent.
    pub undone: usize,
}

/// Compares the header's digest with our accepted follows of `sender`, and
/// repairs them from its partial collection when they differ.
pub async fn compare(ctx: &FedContext, sender: &Url, sync: &SyncHeader) -> Result<Outcome, FederationError> {
    let follows = ctx.store().local_follows_of(sender.as_str()).await?;
    let ours = gazette_store::followers_digest(
        follows
            .iter()
            .filter(|f| f.status == FollowStatus::Accepted)
            .map(|f| f.local_actor.as_str()),
    );
    if ours == sync.digest {
        return Ok(Outcome::Consistent);
    }
    let on_sender = |u: &str| Url::parse(u).is_ok_and(|u| host_of(&u) == host_of(sender));
    if !on_sender(&sync.collection_id) || !on_sender(&sync.url) {
        return Ok(Outcome::Skipped);
    }
    if !ctx
        .store()
        .claim_follower_sync(sender.as_str(), Utc::now(), SYNC_EVERY)
        .await?
    {
        return Ok(Outcome::Skipped);
    }
    let config = crate::federation_config(ctx.clone()).await?;
    // The header must name the sender's own followers collection.
    let actor = fetch(&config, sender.as_str()).await?;
    if actor["followers"].as_str() != Some(sync.collection_id.as_str()) {
        tracing::debug!(sender = %sender, collection = %sync.collection_id,
            "Collection-Synchronization about another collection than the sender's followers ignored");
        return Ok(Outcome::Skipped);
    }
    let listed = read_collection(&config, sender, &sync.url).await?;
    repair(ctx, sender, &follows, &listed).await.map(Outcome::Repaired)
}

/// One signed GET (by the instance actor), with a fresh request context:
/// each allows only 20 fetches.
async fn fetch(
    config: &activitypub_federation::config::FederationConfig<FedContext>,
    url: &str,
) -> Result<Value, FederationError> {
    let url = Url::parse(url)?;
    Ok(fetch_object_http::<FedContext, Value>(&url, &config.to_request_data())
        .await?
        .object)
}

/// The ids a collection lists (`orderedItems` or `items`, embedded or
/// through `first` and `next`), every page on the sender's host, within
/// [`MAX_PAGES`] and [`MAX_ITEMS`].
async fn read_collection(
    config: &activitypub_federation::config::FederationConfig<FedContext>,
    sender: &Url,
    url: &str,
) -> Result<HashSet<String>, FederationError> {
    fn collect(page: &Value, ids: &mut HashSet<String>) {
        for field in ["orderedItems", "items"] {
            for item in page[field].as_array().into_iter().flatten() {
                if let Some(id) = item.as_str().or_else(|| item["id"].as_str())
                    && ids.len() < MAX_ITEMS
                {
                    ids.insert(id.to_owned());
                }
            }
        }
    }
    fn link(v: &Value) -> Option<String> {
        v.as_str().or_else(|| v["id"].as_str()).map(str::to_owned)
    }
    let mut ids = HashSet::new();
    let collection = fetch(config, url).await?;
    collect(&collection, &mut ids);
    let mut next = match &collection["first"] {
        Value::Object(first) => {
            let first = Value::Object(first.clone());
            collect(&first, &mut ids);
            link(&first["next"])
        }
        first => link(first),
    };
    let mut seen = HashSet::from([url.to_owned()]);
    let mut pages = 1;
    while let Some(url) = next.take() {
        let on_sender = Url::parse(&url).is_ok_and(|u| host_of(&u) == host_of(sender));
        if !on_sender || pages >= MAX_PAGES || ids.len() >= MAX_ITEMS || !seen.insert(url.clone()) {
            break;
        }
        let page = fetch(config, &url).await?;
        pages += 1;
        collect(&page, &mut ids);
        next = link(&page["next"]);
    }
    Ok(ids)
}

/// Makes our follows of `sender` what its collection (`listed`) says, as
/// Mastodon does (see the module documentation).
async fn repair(
    ctx: &FedContext,
    sender: &Url,
    follows: &[gazette_store::LocalFollow],
    listed: &HashSet<String>,
) -> Result<Repairs, FederationError> {
    let store = ctx.store();
    let urls = ctx.urls();
    let remote = store
        .find_remote_actor(sender.as_str())
        .await?
        .ok_or_else(|| FederationError::Internal(format!("{sender} is not stored")))?;
    let mut repairs = Repairs::default();
    for f in follows {
        let is_listed = listed.contains(&f.local_actor);
        match (f.status, is_listed) {
            (FollowStatus::Accepted, false) => {
                store.remove_following(Some(&f.local_actor), sender.as_str()).await?;
                let undo = outgoing::undo_follow(&f.follow_id, &f.local_actor, sender.as_str()).to_value()?;
                enqueue(ctx, &f.local_actor, &undo, std::slice::from_ref(&remote.inbox)).await?;
                repairs.removed += 1;
            }
            (FollowStatus::Pending, true) => {
                store.accept_following(sender.as_str(), &f.follow_id).await?;
                repairs.accepted += 1;
            }
            _ => {}
        }
    }
    let known: HashSet<&str> = follows.iter().map(|f| f.local_actor.as_str()).collect();
    for id in listed {
        let Some(username) = urls.local_username(id) else {
            continue;
        };
        if known.contains(id.as_str()) || find_local_actor(ctx, username).await?.is_none() {
            continue;
        }
        // We never knew this follow's id: the `Follow` is named by its actor and object.
        let undo_id = urls.activity(
            id,
            "undos",
            &uniq(&format!("{sender} {}", Utc::now().timestamp_micros())),
        );
        let undo = outgoing::undo_unnamed_follow(undo_id, id, sender.as_str()).to_value()?;
        enqueue(ctx, id, &undo, std::slice::from_ref(&remote.inbox)).await?;
        repairs.undone += 1;
    }
    Ok(repairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let digest = "ab".repeat(32);
        let value = header("https://news.example/users/lea", "m.example:8443", &digest);
        assert_eq!(
            value,
            format!(
                "collectionId=\"https://news.example/users/lea/followers\", \
                 url=\"https://news.example/users/lea/followers_synchronization/m.example:8443\", digest=\"{digest}\""
            )
        );
        let read = parse_header(&value).unwrap();
        assert_eq!(read.collection_id, "https://news.example/users/lea/followers");
        assert_eq!(
            read.url,
            "https://news.example/users/lea/followers_synchronization/m.example:8443"
        );
        assert_eq!(read.digest, digest);
    }

    #[test]
    fn headers_as_others_write_them() {
        // Mastodon's order, Fedify's, a token value, unknown parameters, upper-case hex.
        let d = "0123456789ABCDEF".repeat(4);
        for value in [
            format!(
                r#"collectionId="https://m.example/users/a/followers", url="https://m.example/users/a/followers_synchronization", digest="{d}""#
            ),
            format!(
                r#"digest="{d}",url="https://m.example/users/a/followers_synchronization",collectionId="https://m.example/users/a/followers""#
            ),
            format!(
                r#"collectionId="https://m.example/users/a/followers", extra=1, url="https://m.example/users/a/followers_synchronization", digest={d}"#
            ),
        ] {
            let read = parse_header(&value).unwrap_or_else(|| panic!("{value}"));
            assert_eq!(read.collection_id, "https://m.example/users/a/followers");
            assert_eq!(read.digest, d.to_ascii_lowercase());
        }
        for bad in [
            r#"collectionId="https://m.example/f", url="https://m.example/s""#.to_owned(),
            format!(r#"url="https://m.example/s", digest="{d}""#),
            r#"collectionId="https://m.example/f", url="https://m.example/s", digest="abc""#.to_owned(),
            format!(r#"collectionId="https://m.example/f, url="https://m.example/s", digest="{d}"#),
            "garbage".to_owned(),
        ] {
            assert_eq!(parse_header(&bad), None, "{bad}");
        }
    }
}
