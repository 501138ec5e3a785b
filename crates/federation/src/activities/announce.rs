//! `Announce` (a boost): on a coordinator, a member's article relayed (it
//! is fetched again from its origin); otherwise a boost of one of our
//! public articles, counted like a [`super::like`].

use activitypub_federation::config::Data;
use serde::Deserialize;

use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object`: the boosted object, by id or embedded.
#[derive(Debug, Deserialize)]
pub(crate) struct Announce {
    pub object: ObjectRef,
}

impl Received for Announce {
    fn dedupe_here(&self, _data: &FedContext) -> bool {
        false
    }

    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        if let Some(object_id) = self.object.id()
            && crate::network::on_announce(data, object_id.as_str(), sender).await?
        {
            return Ok(());
        }
        super::like::record_interaction(data, &head.id, &head.actor, &self.object, sender, "announce").await
    }
}
