//! Likes, boosts and replies the organisation sends to remote objects, and
//! their undoing: `Like`, `Announce`, `Create(Note)` and `Undo`/`Delete`.
//! The object is fetched from its origin (signed by the instance actor) to
//! learn whose it is; the activity is queued for that actor's inbox and,
//! for public boosts and replies, for our followers too.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::fetch::object_id::ObjectId;
use chrono::Utc;
use gazette_core::{InteractionKind, Language, OutboundInteraction, RemoteActor};
use serde_json::{Value, json};
use url::Url;

use crate::activities::outgoing::{self, Activity};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::{self, PUBLIC};
use crate::outbound::{enqueue, follower_actor, uniq};
use crate::remote::DbRemoteActor;

/// Longest reply accepted, in bytes of Markdown.
const MAX_REPLY: usize = 20_000;

/// A remote object we are about to interact with, and whose it is.
struct Target {
    id: String,
    actor: RemoteActor,
    /// Its thread (`context`, FEP-7888), when it names one by an http(s) URL.
    context: Option<String>,
}

/// Fetches `object` from its origin and resolves the actor it is attributed to.
async fn resolve_target(data: &Data<FedContext>, object: &str) -> Result<Target, FederationError> {
    let url = Url::parse(object.trim())
        .map_err(|e| FederationError::bad_request(format!("`{object}` is not an object URL: {e}")))?;
    if crate::remote::host_of(&url).eq_ignore_ascii_case(data.urls().host()) {
        return Err(FederationError::bad_request(format!(
            "{url} is on this instance: likes, boosts and replies go to other servers' objects"
        )));
    }
    crate::safety::check_host(data, url.host_str().unwrap_or_default()).await?;
    let fetched = fetch_object_http::<FedContext, Value>(&url, data).await?;
    let o = fetched.object;
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::bad_request(format!("{url} answered an object without id")))?;
    let id_url = Url::parse(id)?;
    if id_url.host_str() != fetched.url.host_str() || id_url.port() != fetched.url.port() {
        return Err(FederationError::bad_request(format!(
            "{url} answered an object with the id of another server ({id})"
        )));
    }
    let attributed = attributed_actor(o.get("attributedTo")).ok_or_else(|| {
        FederationError::bad_request(format!("{id} has no attributedTo: there is nobody to send it to"))
    })?;
    crate::safety::check_actor(data, &attributed).await?;
    let actor = ObjectId::<DbRemoteActor>::parse(&attributed)?
        .dereference(data)
        .await?
        .actor;
    let context = match o.get("context") {
        Some(Value::String(s)) => gazette_core::links::web_url(s),
        Some(Value::Object(c)) => c
            .get("id")
            .and_then(Value::as_str)
            .and_then(gazette_core::links::web_url),
        _ => None,
    };
    Ok(Target {
        id: id.to_owned(),
        actor,
        context,
    })
}

/// The first actor id in an `attributedTo` (a string, an object, or a list of them).
fn attributed_actor(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        Value::Array(items) => items.iter().find_map(|i| attributed_actor(Some(i))),
        _ => None,
    }
}

/// Likes, boosts or replies to `object` as the organisation; `text` is the
/// reply's Markdown. Returns what was recorded; the activity is queued.
pub async fn interact(
    data: &Data<FedContext>,
    kind: InteractionKind,
    object: &str,
    text: Option<&str>,
) -> Result<OutboundInteraction, FederationError> {
    let (source, content_html) = match (kind, text.map(str::trim)) {
        (InteractionKind::Reply, Some(t)) if !t.is_empty() => {
            if t.len() > MAX_REPLY {
                return Err(FederationError::bad_request(format!(
                    "the reply is {} bytes; at most {MAX_REPLY} are accepted",
                    t.len()
                )));
            }
            let html = gazette_core::markdown::render(t, "content", 1).map_err(|errors| {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                FederationError::bad_request(list.join("; "))
            })?;
            (Some(t.to_owned()), Some(html))
        }
        (InteractionKind::Reply, _) => return Err(FederationError::bad_request("a reply needs some text")),
        (_, Some(t)) if !t.is_empty() => {
            return Err(FederationError::bad_request(format!(
                "a {} carries no text; only replies do",
                kind.as_str()
            )));
        }
        _ => (None, None),
    };
    let org = follower_actor(data).await?;
    let actor_id = data.urls().actor(org.username());
    let target = resolve_target(data, object).await?;
    if kind != InteractionKind::Reply
        && let Some(done) = data
            .store()
            .find_outbound_by_object(&actor_id, kind, &target.id)
            .await?
    {
        return Err(FederationError::Refused(
            axum::http::StatusCode::CONFLICT,
            format!(
                "{} was already sent for {} (interaction {})",
                kind.as_str(),
                target.id,
                done.id
            ),
        ));
    }
    let now = Utc::now();
    let interaction = OutboundInteraction {
        id: uniq(&format!(
            "{actor_id} {} {} {}",
            kind.as_str(),
            target.id,
            now.timestamp_micros()
        )),
        actor_id: actor_id.clone(),
        kind,
        object_id: target.id.clone(),
        object_actor: target.actor.id.clone(),
        source,
        content_html,
        created_at: now,
        deleted_at: None,
        context: (kind == InteractionKind::Reply).then_some(target.context).flatten(),
    };
    data.store().add_outbound_interaction(&interaction).await?;
    let language = data.default_language().await?;
    let activity = activity_json(data, &interaction, org.username(), &target.actor, &language)?;
    enqueue(
        data,
        &actor_id,
        &activity,
        &recipients(data, &interaction, &target.actor).await?,
    )
    .await?;
    Ok(interaction)
}

/// Undoes an interaction, named by its id or (for likes and boosts) by the
/// object: `Undo` of the like or boost, `Delete` of the reply.
pub async fn undo(
    data: &Data<FedContext>,
    kind: InteractionKind,
    id_or_object: &str,
) -> Result<OutboundInteraction, FederationError> {
    let org = follower_actor(data).await?;
    let actor_id = data.urls().actor(org.username());
    let wanted = id_or_object.trim();
    let note_prefix = data.urls().note("");
    let found = match data
        .store()
        .find_outbound_interaction(wanted.strip_prefix(&note_prefix).unwrap_or(wanted))
        .await?
    {
        Some(i) => Some(i),
        None => match data.store().find_outbound_by_object(&actor_id, kind, wanted).await? {
            Some(i) => Some(i),
            // A page URL rather than the object's id: ask its server for the id.
            None if wanted.starts_with("http") => {
                let target = resolve_target(data, wanted).await?;
                data.store()
                    .find_outbound_by_object(&actor_id, kind, &target.id)
                    .await?
            }
            None => None,
        },
    };
    let i = found
        .filter(|i| i.kind == kind && i.deleted_at.is_none())
        .ok_or_else(|| {
            FederationError::Refused(
                axum::http::StatusCode::NOT_FOUND,
                format!("no {} of `{wanted}` to undo", kind.as_str()),
            )
        })?;
    let object_actor = ObjectId::<DbRemoteActor>::parse(&i.object_actor)?
        .dereference(data)
        .await?
        .actor;
    let inboxes = recipients(data, &i, &object_actor).await?;
    let urls = data.urls();
    let undo = match kind {
        InteractionKind::Reply => {
            let note = urls.note(&i.id);
            let cc = vec![i.object_actor.clone(), urls.followers(org.username())];
            outgoing::delete_note(format!("{note}#delete"), &actor_id, &note, cc).to_value()?
        }
        InteractionKind::Like | InteractionKind::Announce => {
            let original = like_or_announce(data, &i, org.username());
            outgoing::undo(format!("{}/undo", original.id), &actor_id, original).to_value()?
        }
    };
    data.store().undo_outbound_interaction(&i.id).await?;
    enqueue(data, &actor_id, &undo, &inboxes).await?;
    Ok(i)
}

/// Where an interaction goes: the object's actor, and for public boosts and
/// replies our followers as well.
async fn recipients(
    data: &FedContext,
    i: &OutboundInteraction,
    object_actor: &RemoteActor,
) -> Result<Vec<String>, FederationError> {
    let mut inboxes = vec![object_actor.inbox.clone()];
    if i.kind != InteractionKind::Like {
        inboxes.extend(data.store().follower_inboxes(std::slice::from_ref(&i.actor_id)).await?);
    }
    inboxes.sort();
    inboxes.dedup();
    Ok(inboxes)
}

/// The `Like` or `Announce` an interaction is sent as (a reply is neither).
fn like_or_announce(data: &FedContext, i: &OutboundInteraction, username: &str) -> Activity<String> {
    let urls = data.urls();
    if i.kind == InteractionKind::Like {
        let id = urls.activity(&i.actor_id, "likes", &i.id);
        outgoing::like(id, &i.actor_id, &i.object_id, &i.object_actor)
    } else {
        let id = urls.activity(&i.actor_id, "announces", &i.id);
        let cc = vec![i.object_actor.clone(), urls.followers(username)];
        outgoing::announce(id, &i.actor_id, i.object_id.clone(), cc)
    }
}

/// The activity an interaction is sent as; a reply is in `language`.
fn activity_json(
    data: &FedContext,
    i: &OutboundInteraction,
    username: &str,
    object_actor: &RemoteActor,
    language: &Language,
) -> Result<Value, FederationError> {
    match i.kind {
        InteractionKind::Like | InteractionKind::Announce => like_or_announce(data, i, username).to_value(),
        InteractionKind::Reply => {
            let urls = data.urls();
            let mut note = note_json(data, i, username, Some(object_actor), language);
            if let Some(o) = note.as_object_mut() {
                o.remove("@context");
            }
            let cc = vec![i.object_actor.clone(), urls.followers(username)];
            outgoing::create_note(format!("{}#create", urls.note(&i.id)), &i.actor_id, note, cc).to_value()
        }
    }
}

/// The `Note` of a reply written here, in `language` (the instance's):
/// `contentMap` says so, the hashtags written in it are `Hashtag` tags and
/// links, and `url` is its own page. `object_actor` adds the `Mention` of
/// the author replied to when known.
pub fn note_json(
    data: &FedContext,
    i: &OutboundInteraction,
    username: &str,
    object_actor: Option<&RemoteActor>,
    language: &Language,
) -> Value {
    let urls = data.urls();
    let source = i.source.clone().unwrap_or_default();
    let hashtags = json::hashtags_in(&source);
    let content = json::link_hashtags(urls, i.content_html.as_deref().unwrap_or_default(), &hashtags);
    let id = urls.note(&i.id);
    let mut tags: Vec<Value> = Vec::new();
    if let Some(a) = object_actor {
        tags.push(json!({ "type": "Mention", "href": a.id, "name": a.handle() }));
    }
    tags.extend(hashtags.iter().map(|t| json::hashtag(urls, t)));
    let mut note = json!({
        "@context": json::context(),
        "id": id,
        "type": "Note",
        "url": id,
        "attributedTo": i.actor_id,
        "inReplyTo": i.object_id,
        "content": content,
        "contentMap": { language.to_string(): content },
        "mediaType": "text/html",
        "source": { "content": source, "mediaType": "text/markdown" },
        "published": json::time(i.created_at),
        "to": [PUBLIC],
        "cc": [i.object_actor, urls.followers(username)],
    });
    if !tags.is_empty() {
        note["tag"] = json!(tags);
    }
    // FEP-7888: a reply is in the thread of what it answers: one of our
    // articles' (should a reply to one be made here), or the one the
    // object replied to named.
    if let Some(article_id) = urls.local_article_id(&i.object_id) {
        note["context"] = json!(urls.replies_of(article_id));
    } else if let Some(context) = &i.context {
        note["context"] = json!(context);
    }
    note
}

#[cfg(test)]
mod tests {
    use super::attributed_actor;
    use serde_json::json;

    #[test]
    fn attributed_to_in_every_shape() {
        assert_eq!(
            attributed_actor(Some(&json!("https://a.example/u/1"))).as_deref(),
            Some("https://a.example/u/1")
        );
        assert_eq!(
            attributed_actor(Some(
                &json!([{ "type": "Person", "id": "https://a.example/u/2" }, "https://a.example/g"])
            ))
            .as_deref(),
            Some("https://a.example/u/2")
        );
        assert_eq!(attributed_actor(Some(&json!(42))), None);
        assert_eq!(attributed_actor(None), None);
    }
}
