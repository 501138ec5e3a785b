//! `Update` of the sender's own actor (a profile edit: the actor is fetched
//! again rather than trusting the embedded copy; a coordinator refreshes a
//! member's profile), or of an object (as [`super::create`]).

use activitypub_federation::config::Data;
use serde::Deserialize;
use url::Url;

use super::{Embedded, Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object`: the updated object, embedded, or the actor.
#[derive(Debug, Deserialize)]
pub(crate) struct Update {
    pub object: ObjectRef<Embedded>,
}

impl Received for Update {
    fn dedupe_here(&self, data: &FedContext) -> bool {
        !super::create::is_member_article(data, &self.object)
    }

    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        if self.object.id().map(Url::as_str) == Some(sender.actor.id.as_str()) {
            let actor = head.actor.dereference_forced(data).await?;
            return crate::network::on_actor_update(data, &actor).await;
        }
        super::create::receive_object(data, "Update", &head.id, &self.object, sender).await
    }
}
