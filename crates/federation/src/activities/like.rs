//! `Like` of one of our public articles, counted; the hot path of the
//! inbox, kept to one write, which is also its duplicate check (the
//! activity id is the row's key). `Announce` records boosts the same way.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use serde::Deserialize;
use url::Url;

use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object`: the liked object, by id or embedded.
#[derive(Debug, Deserialize)]
pub(crate) struct Like {
    pub object: ObjectRef,
}

impl Received for Like {
    fn dedupe_here(&self, _data: &FedContext) -> bool {
        false
    }

    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        record_interaction(data, &head.id, &head.actor, &self.object, sender, "like").await
    }
}

/// A like or boost (`kind`) of `object` by `sender`, recorded when the
/// object is one of our public articles.
pub(super) async fn record_interaction(
    data: &Data<FedContext>,
    activity_id: &Url,
    actor: &ObjectId<DbRemoteActor>,
    object: &ObjectRef,
    sender: &DbRemoteActor,
    kind: &str,
) -> Result<(), FederationError> {
    let target = object.id().map(Url::as_str).unwrap_or_default();
    let urls = data.urls();
    let (id, slug) = (urls.local_article_id(target), urls.local_article_slug(target));
    if id.is_none() && slug.is_none() {
        tracing::debug!(kind, object = target, "interaction with something not ours; ignored");
        return Ok(());
    }
    let store = data.store();
    let added = match store
        .add_interaction_if_public(activity_id.as_str(), kind, id, slug, &sender.actor.id)
        .await
    {
        Ok(added) => added,
        // The actor came from the in-memory cache, but another process
        // may have deleted its row meanwhile (a domain block, lifted
        // since): read or fetch it again, which stores it, and retry once.
        Err(e) => {
            tracing::debug!(error = %e, actor = %sender.actor.id, "recording the interaction failed; re-reading the actor");
            data.actor_cache().forget(&sender.actor.id);
            let actor = actor.dereference(data).await?;
            if store.find_remote_actor(&actor.actor.id).await?.is_none() {
                store.upsert_remote_actor(&actor.actor).await?;
            }
            store
                .add_interaction_if_public(activity_id.as_str(), kind, id, slug, &actor.actor.id)
                .await?
        }
    };
    if added {
        tracing::info!(kind, object = target, actor = %sender.actor.id, "interaction");
    } else {
        tracing::debug!(
            kind,
            object = target,
            "not a public article of ours, or already counted; ignored"
        );
    }
    Ok(())
}
