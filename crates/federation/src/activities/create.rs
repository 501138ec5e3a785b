//! `Create` of an object: on a coordinator, a member's article for the
//! shared feed; a `Note` replying to one of our articles (a comment); an
//! article from an actor we follow (the network page). Anything else is
//! accepted and ignored. `Update` of an object takes the same path.

use activitypub_federation::config::Data;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{Embedded, Head, ObjectRef, Received};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// `object`: the created object, embedded (a bare id is ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct Create {
    pub object: ObjectRef<Embedded>,
}

impl Received for Create {
    fn dedupe_here(&self, data: &FedContext) -> bool {
        !is_member_article(data, &self.object)
    }

    async fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        receive_object(data, "Create", &head.id, &self.object, sender).await
    }
}

/// A coordinator's member articles need no duplicate check: writing an
/// item is idempotent (a replayed `Create` finds it stored and already
/// boosted; the order and tombstone rules stop anything older), and this
/// is the path a flood of articles takes, so it saves a commit per article.
pub(super) fn is_member_article(data: &FedContext, object: &ObjectRef) -> bool {
    data.settings().network.is_some() && matches!(object.embedded().and_then(Embedded::kind), Some("Article" | "Page"))
}

/// What a `Create` or `Update` (`kind`) of `object` does here.
pub(super) async fn receive_object(
    data: &Data<FedContext>,
    kind: &str,
    id: &Url,
    object: &ObjectRef,
    sender: &DbRemoteActor,
) -> Result<(), FederationError> {
    let Some(embedded) = object.embedded() else {
        tracing::debug!(%id, "object given by id only; ignored");
        return Ok(());
    };
    if crate::network::on_object(data, kind, &embedded.raw, sender).await? {
        return Ok(());
    }
    let replies_to_us = embedded
        .id_in("inReplyTo")
        .is_some_and(|r| data.urls().local_article_id(&r).is_some() || data.urls().local_article_slug(&r).is_some());
    if replies_to_us && embedded.kind() == Some("Note") {
        if let Some(article_id) = super::reply::store_reply(data, embedded, sender).await? {
            // FEP-7888: the replies its server has and we may not.
            crate::threads::on_reply_stored(data, embedded, article_id);
        }
        return Ok(());
    }
    if matches!(embedded.kind(), Some("Article" | "Note" | "Page"))
        && data.store().is_followed(&sender.actor.id).await?
    {
        return super::network_article::store_article(data, embedded, sender).await;
    }
    tracing::debug!(%id, "object neither replies to us nor comes from someone we follow; ignored");
    Ok(())
}

/// The `id` of an embedded object, or the value itself when it is a bare id.
pub(super) fn value_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// A link given as a string, or as an object with `href`: only an `http(s)`
/// URL, since it becomes an `href` or a `src` on our pages.
pub(super) fn value_href(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => gazette_core::links::web_url(s),
        Value::Object(o) => o
            .get("href")
            .and_then(Value::as_str)
            .and_then(gazette_core::links::web_url),
        _ => None,
    }
}

/// The object must come from the sender's own server (host and port) and
/// not be attributed to someone else.
pub(super) fn check_origin(o: &Embedded, sender: &DbRemoteActor, what: &str) -> Result<String, FederationError> {
    let id =
        o.id.as_ref()
            .ok_or_else(|| FederationError::bad_request(format!("{what} without id")))?;
    if id.host_str() != sender.id.host_str() || id.port() != sender.id.port() {
        return Err(FederationError::bad_request(format!(
            "{} {id} is not on the server of {}",
            what.to_lowercase(),
            sender.actor.id
        )));
    }
    if o.raw
        .get("attributedTo")
        .and_then(value_id)
        .is_some_and(|a| a != sender.actor.id)
    {
        return Err(FederationError::bad_request(format!(
            "{} attributed to someone else",
            what.to_lowercase()
        )));
    }
    // The id as sent (parsing only checked it), since it is the key it is stored under.
    Ok(o.raw
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| id.to_string(), str::to_owned))
}
