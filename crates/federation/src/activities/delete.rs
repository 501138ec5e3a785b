//! `Delete` of the sender's own actor (forgotten here), or of one of its
//! objects: a comment, a followed actor's article, and on a coordinator a
//! member's feed item.

use activitypub_federation::config::Data;
use serde::Deserialize;

use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object`: the deleted object, by id or as a `Tombstone`.
#[derive(Debug, Deserialize)]
pub(crate) struct Delete {
    pub object: ObjectRef,
}

impl Received for Delete {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        let target = self
            .object
            .id()
            .ok_or_else(|| FederationError::bad_request(format!("the Delete {} names no object id", head.id)))?
            .as_str();
        if target == sender.actor.id {
            data.store().delete_remote_actor(&sender.actor.id).await?;
            data.actor_cache().forget(&sender.actor.id);
            tracing::info!(actor = %sender.actor.id, "remote actor deleted");
        } else {
            data.store().delete_comment(target, &sender.actor.id).await?;
            crate::quotes::on_deleted(data, target, sender).await?;
            data.store().delete_remote_article(target, &sender.actor.id).await?;
            crate::network::on_delete(data, target, sender).await?;
        }
        Ok(())
    }
}
