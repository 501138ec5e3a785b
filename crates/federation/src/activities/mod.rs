//! The activities Gazette receives, one module each: the typed struct read
//! from the body and its handler ([`Received`]), and the dispatcher the
//! inbox calls once the request is verified ([`dispatch`]): it reads `type`
//! once, parses the body into that type's struct (a failure is a 400 naming
//! the field), applies the rate and duplicate rules every activity shares,
//! and calls the handler. What Gazette sends is built in [`outgoing`].
//!
//! The coordinator's membership activities are a `Follow` of the network
//! actor (a request to join), its `Undo` (leaving) and the member's
//! `Accept` of the network's own follow: the handlers of those types call
//! into [`crate::network`], which does nothing on other instances.
//!
//! Adding a type: a module with its struct and `impl Received`, and one
//! line in [`dispatch`].

mod accept;
mod announce;
mod create;
mod delete;
mod flag;
mod follow;
mod like;
mod moved;
mod network_article;
pub mod object;
pub mod outgoing;
mod quote_request;
mod reject;
pub(crate) mod reply;
mod undo;
mod update;

use std::future::Future;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

pub use object::{Embedded, ObjectRef};

/// What every activity has, read before the signature is verified: the
/// id and actor it is checked against, and the type it is dispatched on.
/// The structs of each type read the rest (parsing these again would
/// cost the hot path two more URL parses) and get the head with them.
#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: ObjectId<DbRemoteActor>,
}

impl Head {
    /// Reads the head of an activity body (a 400 naming the field otherwise).
    pub fn parse(body: &[u8]) -> Result<Head, FederationError> {
        object::parse("received", body)
    }
}

/// A received activity type: its struct, and what Gazette does with it.
pub(crate) trait Received: DeserializeOwned + Send {
    /// Whether the dispatcher records the id and ignores a repeat (the
    /// default), or the handler's own write is its duplicate check.
    fn dedupe_here(&self, _data: &FedContext) -> bool {
        true
    }

    /// Handles the activity, whose id, type and actor are in `head`, sent
    /// by `sender` (its signature verified).
    fn receive(
        self,
        data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> impl Future<Output = Result<(), FederationError>> + Send;
}

/// Hands a verified activity to the handler of its type.
pub(crate) async fn dispatch(data: &Data<FedContext>, head: &Head, body: &[u8]) -> Result<(), FederationError> {
    match head.kind.as_str() {
        "Follow" => handle::<follow::Follow>(data, head, body).await,
        "Accept" => handle::<accept::Accept>(data, head, body).await,
        "Reject" => handle::<reject::Reject>(data, head, body).await,
        "Undo" => handle::<undo::Undo>(data, head, body).await,
        "Create" => handle::<create::Create>(data, head, body).await,
        "Update" => handle::<update::Update>(data, head, body).await,
        "Delete" => handle::<delete::Delete>(data, head, body).await,
        "Like" => handle::<like::Like>(data, head, body).await,
        "Announce" => handle::<announce::Announce>(data, head, body).await,
        "Flag" => handle::<flag::Flag>(data, head, body).await,
        "Move" => handle::<moved::Move>(data, head, body).await,
        "QuoteRequest" => handle::<quote_request::QuoteRequest>(data, head, body).await,
        _ => handle::<Unhandled>(data, head, body).await,
    }
}

/// In this order: the coordinator's member rate, the parse as `A` (a 400
/// naming the field), the duplicate check (before processing, so a retry of an
/// activity that failed on our side is forgotten by the inbox), the
/// sender's actor (cached), its host marked alive, and `A`'s handler.
async fn handle<A: Received>(data: &Data<FedContext>, head: &Head, body: &[u8]) -> Result<(), FederationError> {
    crate::network::check_member_rate(data, &head.kind, head.actor.inner()).await?;
    let activity: A = object::parse(&head.kind, body)?;
    let dedupe_here = activity.dedupe_here(data);
    if dedupe_here && !data.store().mark_activity_received(head.id.as_str()).await? {
        tracing::debug!(id = %head.id, "duplicate activity ignored");
        return Ok(());
    }
    if dedupe_here {
        // Not the hot path: read the sender from the database rather than
        // the in-memory cache, so a row deleted by another process
        // meanwhile is fetched and stored again before anything refers to it.
        data.actor_cache().forget(head.actor.inner().as_str());
    }
    let sender = head.actor.dereference(data).await?;
    // A valid signed activity: the sender's server is up, whatever we thought.
    data.host_spoke(&sender.actor.host).await?;
    activity.receive(data, head, &sender).await
}

/// A type Gazette does not handle: accepted, recorded as received, logged.
#[derive(Debug, Deserialize)]
struct Unhandled {}

impl Received for Unhandled {
    async fn receive(
        self,
        _data: &Data<FedContext>,
        head: &Head,
        sender: &DbRemoteActor,
    ) -> Result<(), FederationError> {
        tracing::info!(kind = head.kind, id = %head.id, actor = %sender.actor.id, "activity type not handled; accepted and ignored");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `body` as the struct `dispatch` would for its type.
    fn parse_typed(body: &[u8]) -> Result<String, FederationError> {
        let head = Head::parse(body)?;
        let kind = head.kind.as_str();
        match kind {
            "Follow" => object::parse::<follow::Follow>(kind, body).map(|_| ()),
            "Accept" => object::parse::<accept::Accept>(kind, body).map(|_| ()),
            "Reject" => object::parse::<reject::Reject>(kind, body).map(|_| ()),
            "Undo" => object::parse::<undo::Undo>(kind, body).map(|_| ()),
            "Create" => object::parse::<create::Create>(kind, body).map(|_| ()),
            "Update" => object::parse::<update::Update>(kind, body).map(|_| ()),
            "Delete" => object::parse::<delete::Delete>(kind, body).map(|_| ()),
            "Like" => object::parse::<like::Like>(kind, body).map(|_| ()),
            "Announce" => object::parse::<announce::Announce>(kind, body).map(|_| ()),
            "Flag" => object::parse::<flag::Flag>(kind, body).map(|_| ()),
            "Move" => object::parse::<moved::Move>(kind, body).map(|_| ()),
            _ => object::parse::<Unhandled>(kind, body).map(|_| ()),
        }?;
        Ok(head.kind)
    }

    fn refusal(e: FederationError) -> String {
        match e {
            FederationError::Refused(axum::http::StatusCode::BAD_REQUEST, m) => m,
            other => panic!("not a 400: {other}"),
        }
    }

    /// Every real-world payload of the inbox tests parses as its type.
    #[test]
    fn real_world_payloads_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/inbox");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let body = std::fs::read_to_string(&path)
                .unwrap()
                .replace("{{REMOTE}}", "https://remote.example")
                .replace("{{AUTHOR}}", "https://news.example/users/ada")
                .replace("{{ARTICLE}}", "https://news.example/articles/a-title")
                .replace("{{N}}", "7");
            let kind = parse_typed(body.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!kind.is_empty());
            seen += 1;
        }
        assert!(seen >= 10, "fixtures read from {}", dir.display());
    }

    #[test]
    fn the_shapes_each_type_reads() {
        let undo: undo::Undo = object::parse(
            "Undo",
            br#"{"id": "https://r.example/u/1", "object": {"id": "https://r.example/f/1", "type": "Follow", "object": {"id": "https://news.example/users/ada", "type": "Person"}}}"#,
        )
        .unwrap();
        let follow = undo.object.embedded().unwrap();
        assert_eq!(follow.kind(), Some("Follow"));
        assert_eq!(
            follow.id_in("object").as_deref(),
            Some("https://news.example/users/ada")
        );
        let undo: undo::Undo = object::parse(
            "Undo",
            br#"{"id": "https://r.example/u/2", "object": "https://r.example/likes/1"}"#,
        )
        .unwrap();
        assert_eq!(undo.object.id().map(Url::as_str), Some("https://r.example/likes/1"));

        let accept: accept::Accept = object::parse("Accept", br#"{"id": "https://r.example/a/1"}"#).unwrap();
        assert!(accept.object.is_none(), "an Accept may name no follow");

        let flag: flag::Flag = object::parse(
            "Flag",
            br#"{"id": "https://r.example/f/1", "object": ["https://news.example/users/ada", {"id": "https://news.example/a/1", "type": "Article"}]}"#,
        )
        .unwrap();
        assert_eq!(flag.object.len(), 2);
        assert_eq!(flag.object[1].id().map(Url::as_str), Some("https://news.example/a/1"));

        let update: update::Update = object::parse(
            "Update",
            br#"{"id": "https://r.example/up/1", "actor": "https://r.example/users/x", "object": {"id": "https://r.example/users/x", "type": "Person"}}"#,
        )
        .unwrap();
        assert_eq!(update.object.id().map(Url::as_str), Some("https://r.example/users/x"));
    }

    #[test]
    fn a_missing_or_malformed_field_is_named() {
        let m = refusal(
            parse_typed(br#"{"id": "https://r.example/m/1", "type": "Move", "actor": "https://r.example/users/x"}"#)
                .unwrap_err(),
        );
        assert!(m.contains("Move") && m.contains("missing field `target`"), "{m}");
        let m = refusal(parse_typed(br#"{"id": "https://r.example/l/1", "type": "Like", "actor": "https://r.example/users/x", "object": 7}"#).unwrap_err());
        assert!(m.contains("at `object`"), "{m}");
        let m = refusal(parse_typed(br#"{"id": "https://r.example/c/1", "type": "Create", "actor": "https://r.example/users/x", "object": {"id": "not a url", "type": "Note"}}"#).unwrap_err());
        assert!(m.contains("at `object`") && m.contains("not a URL"), "{m}");
        let m = refusal(
            parse_typed(br#"{"id": "https://r.example/c/1", "actor": "https://r.example/users/x"}"#).unwrap_err(),
        );
        assert!(m.contains("missing field `type`"), "{m}");
        let m = refusal(
            parse_typed(br#"{"id": "relative", "type": "Like", "actor": "https://r.example/users/x"}"#).unwrap_err(),
        );
        assert!(m.contains("at `id`"), "{m}");
        // An unknown type needs no more than its head.
        assert_eq!(
            parse_typed(
                br#"{"id": "https://r.example/e/1", "type": "EmojiReact", "actor": "https://r.example/users/x"}"#
            )
            .unwrap(),
            "EmojiReact"
        );
    }
}
