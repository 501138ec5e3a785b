//! `Undo` of a `Follow` (the follower leaves; on a coordinator, a member
//! leaves the network), or of a `Like` or `Announce` (the interaction is
//! forgotten; only its own actor can undo it).

use activitypub_federation::config::Data;
use serde::Deserialize;
use url::Url;

use super::{Embedded, Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::local::local_actor_by_id;
use crate::remote::DbRemoteActor;

/// `object`: the undone activity, by id or embedded.
#[derive(Debug, Deserialize)]
pub(crate) struct Undo {
    pub object: ObjectRef<Embedded>,
}

impl Received for Undo {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        let undone = self.object.embedded();
        if let Some(follow) = undone.filter(|o| o.kind() == Some("Follow")) {
            let target = follow.id_in("object").unwrap_or_default();
            if let Some(local) = local_actor_by_id(data, &target).await? {
                let local_id = data.urls().actor(local.username());
                data.store().remove_follower(&local_id, &sender.actor.id).await?;
                tracing::info!(follower = %sender.actor.id, local = %local_id, undo = %head.id, "follower left");
                crate::network::on_unfollow(data, &local, sender).await?;
            }
            return Ok(());
        }
        // Like, Announce, or a bare id: only the actor who did it can undo it.
        let inner_id = self.object.id().map(Url::as_str).unwrap_or_default();
        data.store().remove_interaction(inner_id, &sender.actor.id).await?;
        // Or a `QuoteRequest`: the quote is forgotten.
        crate::quotes::on_deleted(data, inner_id, sender).await?;
        Ok(())
    }
}
