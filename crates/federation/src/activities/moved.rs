//! `Move` of a follower to a new account: its follows move with it, once
//! the new account (fetched again) lists the old one in `alsoKnownAs`, or
//! anyone could steal followers.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use serde::Deserialize;

use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `target`: `target` is the new account, by id or embedded (the
/// `object`, the old account, is the signed sender).
#[derive(Debug, Deserialize)]
pub(crate) struct Move {
    pub target: ObjectRef,
}

impl Received for Move {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        let target = self
            .target
            .id()
            .ok_or_else(|| FederationError::bad_request("Move without target"))?;
        let new: DbRemoteActor = ObjectId::<DbRemoteActor>::from(target.clone())
            .dereference_forced(data)
            .await?;
        let raw = data
            .store()
            .find_remote_actor(&new.actor.id)
            .await?
            .ok_or_else(|| FederationError::bad_request("Move target could not be stored"))?;
        let also_known_as = fetch_also_known_as(data, &new).await;
        if !also_known_as.iter().any(|a| a == &sender.actor.id) {
            return Err(FederationError::bad_request(format!(
                "{} does not list {} in alsoKnownAs",
                raw.id, sender.actor.id
            )));
        }
        let mut old = sender.actor.clone();
        old.moved_to = Some(raw.id.clone());
        data.store().upsert_remote_actor(&old).await?;
        data.actor_cache().forget(&old.id);
        let n = data.store().move_follower(&sender.actor.id, &raw.id).await?;
        tracing::info!(from = %sender.actor.id, to = %raw.id, follows = n, id = %head.id, "follower moved");
        Ok(())
    }
}

/// `alsoKnownAs` of a remote actor, fetched with a signed GET.
async fn fetch_also_known_as(data: &Data<FedContext>, actor: &DbRemoteActor) -> Vec<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Aka {
        #[serde(default)]
        also_known_as: Vec<String>,
    }
    match activitypub_federation::fetch::fetch_object_http::<FedContext, Aka>(&actor.id, data).await {
        Ok(res) => res.object.also_known_as,
        Err(e) => {
            tracing::warn!(actor = %actor.id, error = %e, "cannot fetch alsoKnownAs");
            Vec::new()
        }
    }
}
