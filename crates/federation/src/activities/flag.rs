//! `Flag`: a report about our actors or articles, kept for moderators.

use activitypub_federation::config::Data;
use serde::Deserialize;

use super::object::one_or_many;
use super::{Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object` and `content`: the reported objects (one or a list, by id or
/// embedded) and the reporter's comment.
#[derive(Debug, Deserialize)]
pub(crate) struct Flag {
    #[serde(default, deserialize_with = "one_or_many")]
    pub object: Vec<ObjectRef>,
    #[serde(default)]
    pub content: Option<String>,
}

impl Received for Flag {
    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        // Moderators open the reported objects from the reports page: only
        // `http(s)` ids are kept (they are ours or the reported server's).
        let targets: Vec<String> = self
            .object
            .iter()
            .filter_map(ObjectRef::id)
            .filter_map(|id| gazette_core::links::web_url(id.as_str()))
            .collect();
        if targets.is_empty() {
            return Err(FederationError::bad_request("Flag without an http(s) object"));
        }
        let content = self.content.as_deref().unwrap_or_default();
        data.store()
            .add_report(head.id.as_str(), &sender.actor.id, &targets, content)
            .await?;
        tracing::warn!(reporter = %sender.actor.id, ?targets, "report received");
        Ok(())
    }
}
