//! Re-publication: the network actor `Announce`s each new member article to
//! its followers (a boost on Mastodon) and `Undo`es it when the article is
//! deleted at its origin or removed by a moderator. An item restored by a
//! moderator is announced again under a new id (followers that saw the
//! `Undo` of the first one would ignore it as a duplicate).

use crate::activities::outgoing::{self, Activity};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::outbound::{enqueue, uniq};

/// The `Announce` `id` of `object_id` by the network actor `actor_id`.
fn announce(ctx: &FedContext, id: &str, actor_id: &str, username: &str, object_id: &str) -> Activity<String> {
    outgoing::group_announce(id.to_owned(), actor_id, object_id, ctx.urls().followers(username))
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
    let inboxes = ctx.store().follower_inboxes(std::slice::from_ref(&actor_id)).await?;
    if inboxes.is_empty() {
        return Ok(0);
    }
    let activity = announce(ctx, id, &actor_id, &network.username, object_id).to_value()?;
    let n = enqueue(ctx, &actor_id, &activity, &inboxes).await?;
    tracing::info!(
        object = object_id,
        deliveries = n,
        "network actor announced a member article"
    );
    Ok(n)
}

/// Queues the `Undo` of the network actor's `Announce` `announce_id` of `object_id`.
pub(crate) async fn undo_announce(
    ctx: &FedContext,
    object_id: &str,
    announce_id: &str,
) -> Result<u64, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let boost = announce(ctx, announce_id, &actor_id, &network.username, object_id);
    let undo = outgoing::undo(format!("{announce_id}/undo"), &actor_id, boost).to_value()?;
    let inboxes = ctx.store().follower_inboxes(std::slice::from_ref(&actor_id)).await?;
    let n = enqueue(ctx, &actor_id, &undo, &inboxes).await?;
    tracing::info!(object = object_id, deliveries = n, "network actor undid its announce");
    Ok(n)
}
