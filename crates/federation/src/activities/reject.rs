//! `Reject` of a follow we sent (or an end to one accepted before): the
//! follow is forgotten.

use activitypub_federation::config::Data;
use serde::Deserialize;
use url::Url;

use super::Received;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `{ id }`: whatever follow it names, we follow the sender no more.
#[derive(Debug, Deserialize)]
pub(crate) struct Reject {
    pub id: Url,
}

impl Received for Reject {
    async fn receive(self, data: &Data<FedContext>, sender: &DbRemoteActor) -> Result<(), FederationError> {
        if data.store().remove_following(None, &sender.actor.id).await? {
            tracing::info!(target = %sender.actor.id, reject = %self.id, "follow rejected");
        }
        Ok(())
    }
}
