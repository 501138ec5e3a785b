//! Re-publication: the network actor `Announce`s each new member article to
//! its followers (a boost on Mastodon) and `Undo`es it when the article is
//! deleted at its origin or removed by a moderator.

use serde_json::{Value, json};

use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::{self, PUBLIC};
use crate::outbound::{enqueue, uniq};

/// The `Announce` of `object_id` by the network actor `actor_id`.
fn announce(ctx: &FedContext, actor_id: &str, username: &str, object_id: &str) -> Value {
    let mut activity = json::activity(
        &ctx.urls().activity(actor_id, "announce", &uniq(object_id)),
        "Announce",
        actor_id,
        json!(object_id),
        json!([PUBLIC]),
        json!([ctx.urls().followers(username)]),
    );
    // FEP-1b12: the group the boost is made for.
    activity["audience"] = json!(actor_id);
    activity
}

/// The id of the network actor's `Announce` of `object_id` (the same
/// every time), for the store to remember with the item.
pub(crate) fn announce_id(ctx: &FedContext, object_id: &str) -> Result<String, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    Ok(ctx.urls().activity(&actor_id, "announce", &uniq(object_id)))
}

/// Queues the network actor's `Announce` of a new member article to its
/// followers. The item already remembers its id ([`announce_id`], stored
/// with it even with no follower yet), so it can be undone.
pub(crate) async fn announce_item(ctx: &FedContext, object_id: &str) -> Result<u64, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let activity = announce(ctx, &actor_id, &network.username, object_id);
    let inboxes = ctx.store().follower_inboxes(std::slice::from_ref(&actor_id)).await?;
    let n = enqueue(ctx, &actor_id, &activity, &inboxes).await?;
    tracing::info!(
        object = object_id,
        deliveries = n,
        "network actor announced a member article"
    );
    Ok(n)
}

/// Queues the `Undo` of the network actor's `Announce` of `object_id`.
pub(crate) async fn undo_announce(ctx: &FedContext, object_id: &str) -> Result<u64, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let mut boost = announce(ctx, &actor_id, &network.username, object_id);
    if let Some(o) = boost.as_object_mut() {
        o.remove("@context");
    }
    let undo_id = format!("{}/undo", boost["id"].as_str().unwrap_or_default());
    let undo = json::activity(
        &undo_id,
        "Undo",
        &actor_id,
        boost,
        json!([PUBLIC]),
        json!([ctx.urls().followers(&network.username)]),
    );
    let inboxes = ctx.store().follower_inboxes(std::slice::from_ref(&actor_id)).await?;
    let n = enqueue(ctx, &actor_id, &undo, &inboxes).await?;
    tracing::info!(object = object_id, deliveries = n, "network actor undid its announce");
    Ok(n)
}
