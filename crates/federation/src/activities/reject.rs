//! `Reject` of a follow we sent (or an end to one accepted before): the
//! follow is forgotten.

use activitypub_federation::config::Data;
use serde::Deserialize;

use super::{Head, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// Nothing but the head: whatever follow it names, we follow the sender no more.
#[derive(Debug, Deserialize)]
pub(crate) struct Reject {}

impl Received for Reject {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        if data.store().remove_following(None, &sender.actor.id).await? {
            tracing::info!(target = %sender.actor.id, reject = %head.id, "follow rejected");
        }
        Ok(())
    }
}
