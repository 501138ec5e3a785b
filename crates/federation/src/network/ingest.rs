//! Aggregation: member articles arriving in the inbox (or read from a
//! member's outbox) become feed items. The rules:
//!
//! - an article counts only when its id lives on the host of an approved
//!   member; from any other host it is none of the network's business;
//! - it is taken as sent only when the sender is on that same host (the
//!   inbox has verified the sender's signature); anything relayed by someone
//!   else (an `Announce`, a forwarded `Create`/`Update`/`Delete`) is trusted
//!   only after fetching the object again from its origin;
//! - edits apply in order (an older `updated` never replaces a newer one) and
//!   a deletion leaves a tombstone that no late `Create` can undo;
//! - a publication (`Create`, or the organisation's `Announce`) is boosted
//!   by the network actor once, even when a backfill stored the article
//!   first; an edit or a backfill alone never boosts an article we had.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use gazette_core::{Member, MemberStatus};
use gazette_store::{Boost, ItemWrite, KeptCopy};
use serde_json::Value;
use url::Url;

use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::{DbRemoteActor, host_of};

fn object_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// How an article reached us, which decides whether the network actor boosts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Read from the member's outbox: never boosted (old articles).
    Backfill,
    /// An `Update`: boosted only when the article is new to us.
    Edit,
    /// A `Create` or an `Announce`: boosted unless it already was, or a
    /// moderator hid it.
    Publication,
}

/// The member whose host `id` lives on, whatever its status (the
/// approved one when there is one).
async fn member_of(ctx: &FedContext, id: &str) -> Result<Option<(Member, String)>, FederationError> {
    let Ok(url) = Url::parse(id) else {
        return Ok(None);
    };
    let host = host_of(&url);
    Ok(ctx.store().member_on_host(&host).await?.map(|m| (m, host)))
}

/// `Create`/`Update` of an object. Returns true when the object was the
/// network's to handle (stored, or refused by the rules above), false when
/// it has nothing to do with the network and the inbox goes on as usual.
pub async fn on_object(
    data: &Data<FedContext>,
    kind: &str,
    object: &Value,
    sender: &DbRemoteActor,
) -> Result<bool, FederationError> {
    if data.settings().network.is_none()
        || !matches!(object.get("type").and_then(Value::as_str), Some("Article" | "Page"))
    {
        return Ok(false);
    }
    let Some(id) = object_id(object) else {
        return Ok(false);
    };
    let Some((member, host)) = member_of(data, id).await? else {
        return Ok(false);
    };
    if member.status != MemberStatus::Approved {
        tracing::info!(object = id, member = %member.actor, status = member.status.as_str(),
            "article of a member that is not approved; ignored");
        return Ok(true);
    }
    touch(data, &member).await?;
    let source = if kind == "Update" {
        Source::Edit
    } else {
        Source::Publication
    };
    if sender.actor.host == host {
        store_item(data, &member, object, source).await?;
    } else if crate::proofs::verify::proven_by_member(data, object, &host)
        .await
        .is_some()
    {
        // FEP-8b32: the member's own proof vouches for it, with a key we
        // keep, so a member that is down does not hold its article up.
        tracing::info!(object = id, sender = %sender.actor.id, "member article relayed with its member's proof; taken without asking its origin");
        store_item(data, &member, object, source).await?;
    } else {
        tracing::info!(object = id, sender = %sender.actor.id, "member article relayed by another host; fetching it from its origin");
        refetch_and_store(data, &member, id, source).await?;
    }
    Ok(true)
}

/// `Announce` of an object: a member's article is fetched from its origin
/// (an `Announce` carries, or is trusted for, nothing more than the id).
/// Returns true when the network handled it.
pub async fn on_announce(data: &Data<FedContext>, id: &str, sender: &DbRemoteActor) -> Result<bool, FederationError> {
    if data.settings().network.is_none() {
        return Ok(false);
    }
    let Some((member, _)) = member_of(data, id).await? else {
        return Ok(false);
    };
    if member.status != MemberStatus::Approved {
        return Ok(true);
    }
    if sender.actor.host == member.host {
        touch(data, &member).await?;
    }
    refetch_and_store(data, &member, id, Source::Publication).await?;
    Ok(true)
}

/// `Delete` of `target`: a member article leaves the feed (and the network
/// actor undoes its boost). From the origin's host it is applied at once;
/// relayed, only once the origin answers that the object is gone.
pub async fn on_delete(data: &Data<FedContext>, target: &str, sender: &DbRemoteActor) -> Result<(), FederationError> {
    if data.settings().network.is_none() {
        return Ok(());
    }
    let Some((member, host)) = member_of(data, target).await? else {
        return Ok(());
    };
    if sender.actor.host != host {
        let url = Url::parse(target)?;
        match fetch_object_http::<FedContext, Value>(&url, data).await {
            Err(
                activitypub_federation::error::Error::ObjectDeleted(_) | activitypub_federation::error::Error::NotFound,
            ) => {}
            Ok(_) => {
                tracing::warn!(object = target, sender = %sender.actor.id, "relayed Delete of an article its origin still serves; ignored");
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(object = target, error = %e, "cannot check a relayed Delete with the origin; ignored");
                return Ok(());
            }
        }
    } else {
        touch(data, &member).await?;
    }
    remove(data, &member, target).await
}

/// Notes the member's activity, at most once a minute (a busy member's
/// articles do not each pay for a write of the same fact).
async fn touch(ctx: &FedContext, member: &Member) -> Result<(), FederationError> {
    let recent = member
        .last_activity_at
        .is_some_and(|at| chrono::Utc::now() - at < chrono::Duration::minutes(1));
    if !recent {
        ctx.store().touch_member(&member.actor).await?;
    }
    Ok(())
}

async fn remove(ctx: &FedContext, member: &Member, id: &str) -> Result<(), FederationError> {
    match ctx.store().delete_network_item(id, &member.actor).await? {
        Some(announced) => {
            tracing::info!(object = id, member = %member.actor, "member article deleted from the feed");
            if let Some(announce_id) = announced {
                super::publish::undo_announce(ctx, id, &announce_id).await?;
            }
        }
        None => tracing::debug!(object = id, "delete of an unknown or already deleted item"),
    }
    Ok(())
}

/// Fetches `id` from its origin (signed by our instance actor) and stores
/// it (announced as `source` says); a gone object is deleted from the
/// feed, an unreachable one refused.
pub(crate) async fn refetch_and_store(
    data: &Data<FedContext>,
    member: &Member,
    id: &str,
    source: Source,
) -> Result<ItemWrite, FederationError> {
    let url = Url::parse(id)?;
    let fetched = match fetch_object_http::<FedContext, Value>(&url, data).await {
        Ok(res) => res,
        Err(
            activitypub_federation::error::Error::ObjectDeleted(_) | activitypub_federation::error::Error::NotFound,
        ) => {
            remove(data, member, id).await?;
            return Ok(ItemWrite::Deleted);
        }
        Err(e) => {
            return Err(FederationError::bad_request(format!(
                "{id} is not confirmed by its origin: {e}"
            )));
        }
    };
    if host_of(&fetched.url) != member.host || object_id(&fetched.object) != Some(id) {
        return Err(FederationError::bad_request(format!(
            "{id}: the origin answered with another object ({})",
            fetched.url
        )));
    }
    store_item(data, member, &fetched.object, source).await
}

/// Keeps a stored member article's JSON as received when it carries a
/// proof by its author on `host` that verifies (the network actor then
/// serves it with the proof intact); an edit without one forgets the
/// older copy.
async fn keep_signed(
    data: &Data<FedContext>,
    object: &Value,
    host: &str,
    source: Source,
) -> Result<(), FederationError> {
    let Some(id) = object_id(object) else {
        return Ok(());
    };
    let proof_key = crate::proofs::verify::proven_by_member(data, object, host).await;
    // Only an edit can leave an older signed copy behind: a new article
    // without a proof costs no write here.
    if proof_key.is_some() || source == Source::Edit {
        let json = proof_key.as_ref().map(|_| object.to_string());
        let copy = json
            .as_deref()
            .zip(proof_key.as_deref())
            .map(|(json, proof_key)| KeptCopy { json, proof_key });
        data.store().set_network_item_object(id, copy).await?;
    }
    Ok(())
}

/// Reads the member articles `items` again from their origins, so their
/// kept copies carry proofs by their members' current keys (the key of
/// the copy kept before retired, or is being replaced). Not announced
/// again. Returns how many were read; one that fails is logged and left:
/// its boost carries the article's id meanwhile, or the copy kept before
/// while its key is still listed.
pub(crate) async fn renew_kept_copies(data: &Data<FedContext>, items: &[String]) -> usize {
    let mut renewed = 0;
    for id in items {
        let member = match member_of(data, id).await {
            Ok(Some((member, _))) if member.status == MemberStatus::Approved => member,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(object = %id, error = %e, "cannot renew a kept copy");
                continue;
            }
        };
        match refetch_and_store(data, &member, id, Source::Backfill).await {
            Ok(write) => {
                tracing::info!(object = %id, ?write, "member article read again for its member's current key");
                renewed += 1;
            }
            Err(e) => {
                tracing::info!(object = %id, error = %e, "cannot read a member article again for its current key")
            }
        }
    }
    renewed
}

/// Stores a member's article (already trusted) and has the network actor
/// boost it as `source` says.
pub(crate) async fn store_item(
    ctx: &Data<FedContext>,
    member: &Member,
    object: &Value,
    source: Source,
) -> Result<ItemWrite, FederationError> {
    let item = super::item_from_object(object, &member.actor).map_err(FederationError::bad_request)?;
    if let Some(author) = &item.attributed_to
        && Url::parse(author).map(|u| host_of(&u)).ok().as_deref() != Some(member.host.as_str())
    {
        return Err(FederationError::bad_request(format!(
            "{}: attributed to {author}, not someone on {}",
            item.id, member.host
        )));
    }
    let announce = super::publish::announce_id(ctx, &item.id, false)?;
    let boost = match source {
        Source::Backfill => Boost::Never,
        Source::Edit => Boost::IfNew(&announce),
        // A publication whose article a backfill stored first (it read the
        // outbox before the activity arrived) is boosted now, once.
        Source::Publication => Boost::IfNotYet(&announce),
    };
    let (write, boosted) = ctx.store().upsert_network_item_boosting(&item, boost).await?;
    // Before the boost, which carries the signed copy when there is one.
    if matches!(write, ItemWrite::Inserted | ItemWrite::Updated) {
        keep_signed(ctx, object, &member.host, source).await?;
    }
    tracing::info!(object = %item.id, member = %member.actor, ?write, boosted, "member article");
    if boosted {
        super::publish::send_announce(ctx, &item.id, &announce).await?;
    }
    Ok(write)
}
