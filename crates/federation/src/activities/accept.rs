//! `Accept` of a follow we sent: the follow is marked accepted; on a
//! coordinator, a member accepting the network's follow starts (or
//! restarts) the reading of its outbox.

use activitypub_federation::config::Data;
use serde::Deserialize;
use url::Url;

use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object`: `object` is our `Follow`, by id or embedded; without
/// it (or without its id) the sender's pending follow is accepted, as
/// some servers answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Accept {
    #[serde(default)]
    pub object: Option<ObjectRef>,
}

impl Received for Accept {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        let follow_id = self.object.as_ref().and_then(ObjectRef::id).map(Url::as_str);
        if data
            .store()
            .accept_following(&sender.actor.id, follow_id.unwrap_or_default())
            .await?
        {
            tracing::info!(target = %sender.actor.id, accept = %head.id, "follow accepted");
            crate::network::on_follow_accepted(data, sender).await?;
        }
        Ok(())
    }
}
