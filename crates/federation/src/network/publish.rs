//! Re-publication: the network actor `Announce`s each new member article to
//! its followers (a boost on Mastodon) and `Undo`es it when the article is
//! deleted at its origin or removed by a moderator. An item restored by a
//! moderator is announced again under a new id (followers that saw the
//! `Undo` of the first one would ignore it as a duplicate).

use crate::activities::outgoing::{self, Activity};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::outbound::{enqueue, uniq};
use serde_json::{Value, json};

/// The `Announce` `id` of `object` (its id, or the member's signed
/// article itself) by the network actor `actor_id`.
fn announce<O: serde::Serialize>(ctx: &FedContext, id: &str, actor_id: &str, username: &str, object: O) -> Activity<O> {
    outgoing::group_announce(id.to_owned(), actor_id, object, ctx.urls().followers(username))
}

/// The id of the network actor's `Announce` of `object_id`. The first
/// announce of an item has an id derived from the item alone; `again` (a
/// restored item) adds the time, so the id is new.
pub(crate) fn announce_id(ctx: &FedContext, object_id: &str, again: bool) -> Result<String, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let unique = if again {
        uniq(&format!("{object_id} {}", chrono::Utc::now().timestamp_micros()))
    } else {
        uniq(object_id)
    };
    Ok(ctx.urls().activity(&actor_id, "announce", &unique))
}

/// Queues the network actor's `Announce` of a new member article to its
/// followers and remembers it, so it can be undone (a restored item: see
/// [`announce_id`]'s `again`).
pub(crate) async fn announce_item(ctx: &FedContext, object_id: &str, again: bool) -> Result<u64, FederationError> {
    let id = announce_id(ctx, object_id, again)?;
    // Remembered even with no follower yet: a later removal still undoes nothing twice.
    ctx.store().set_item_announce(object_id, Some(&id)).await?;
    send_announce(ctx, object_id, &id).await
}

/// Queues the `Announce` `id` of `object_id`, already recorded with the
/// item, to the network actor's followers.
pub(crate) async fn send_announce(ctx: &FedContext, object_id: &str, id: &str) -> Result<u64, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let inboxes = ctx.store().follower_inboxes_of(&actor_id).await?;
    if inboxes.is_empty() {
        return Ok(0);
    }
    let activity = announce(
        ctx,
        id,
        &actor_id,
        &network.username,
        announced_object(ctx, object_id).await?,
    )
    .to_value()?;
    let n = enqueue(ctx, &actor_id, &activity, &inboxes).await?;
    tracing::info!(
        object = object_id,
        deliveries = n,
        "network actor announced a member article"
    );
    Ok(n)
}

/// What the network actor's `Announce` of `object_id` carries: the member's
/// article as received, with its proof intact (FEP-8b32), when its proof
/// verified; else its id, for followers to fetch from the member.
pub(crate) async fn announced_object(ctx: &FedContext, object_id: &str) -> Result<Value, FederationError> {
    Ok(match ctx.store().find_network_item_object(object_id).await? {
        Some(signed) => serde_json::from_str(&signed)
            .map_err(|e| FederationError::Internal(format!("the kept copy of {object_id} does not parse: {e}")))?,
        None => json!(object_id),
    })
}

/// Queues the `Undo` of the network actor's `Announce` `announce_id` of `object_id`.
pub(crate) async fn undo_announce(
    ctx: &FedContext,
    object_id: &str,
    announce_id: &str,
) -> Result<u64, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let boost = announce(ctx, announce_id, &actor_id, &network.username, object_id.to_owned());
    let undo = outgoing::undo(format!("{announce_id}/undo"), &actor_id, boost).to_value()?;
    let inboxes = ctx.store().follower_inboxes(std::slice::from_ref(&actor_id)).await?;
    let n = enqueue(ctx, &actor_id, &undo, &inboxes).await?;
    tracing::info!(object = object_id, deliveries = n, "network actor undid its announce");
    Ok(n)
}
