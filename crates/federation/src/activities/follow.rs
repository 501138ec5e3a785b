//! `Follow` of one of our actors: the sender becomes a follower, accepted
//! at once unless followers are approved by hand; on a coordinator, a
//! follow of the network actor is a request to join, which waits for the
//! coordinator's decision.

use activitypub_federation::config::Data;
use axum::http::StatusCode;
use gazette_core::FollowStatus;
use serde::Deserialize;

use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::local::local_actor_by_id;
use crate::remote::DbRemoteActor;

/// `object`: `object` is the followed actor, by id or embedded.
#[derive(Debug, Deserialize)]
pub(crate) struct Follow {
    pub object: ObjectRef,
}

impl Received for Follow {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        let target = self
            .object
            .id()
            .ok_or_else(|| FederationError::bad_request("the Follow's object has no id"))?;
        let Some(local) = local_actor_by_id(data, target.as_str()).await? else {
            return Err(FederationError::Refused(
                StatusCode::NOT_FOUND,
                format!("no local actor {target}"),
            ));
        };
        let local_id = data.urls().actor(local.username());
        // A request to join the network waits for the coordinator's decision;
        // any other follow is accepted at once unless followers are approved by hand.
        let status = match crate::network::membership::follow_status(data, &local, &sender.actor).await? {
            Some(status) => status,
            None if data.manually_approves_followers().await? => FollowStatus::Pending,
            None => FollowStatus::Accepted,
        };
        data.store()
            .add_follower(&local_id, &sender.actor.id, head.id.as_str(), status)
            .await?;
        tracing::info!(follower = %sender.actor.id, local = %local_id, ?status, "new follower");
        if status == FollowStatus::Accepted {
            crate::outbound::accept_follow(data, &local, head.id.as_str(), &sender.actor).await?;
        }
        crate::network::on_follow(data, &local, sender).await
    }
}
