//! The inbox: activities other servers send us, after we have checked that
//! the request is at most 1 MiB, signed (draft-cavage or RFC 9421) and
//! recent, that its digest matches the body, that the activity id and actor
//! share a host, and that the signature verifies with the actor's key
//! (see [`crate::signatures`]). Every type is accepted: the ones we
//! understand change state, the rest are logged.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::traits::Activity;
use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use gazette_core::{Comment, FollowStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::context::{CommentPolicy, FedContext};
use crate::error::FederationError;
use crate::local::local_actor_by_id;
use crate::outbound;
use crate::remote::DbRemoteActor;

/// Any activity: typed fields we always need, the rest read per type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncomingActivity {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor: ObjectId<DbRemoteActor>,
    #[serde(default)]
    pub object: Value,
    #[serde(default)]
    pub target: Option<Value>,
    /// The comment of a `Flag`.
    #[serde(default)]
    pub content: Option<String>,
}

/// The largest activity we read (activitypub_federation's own limit); the
/// router sets it as the inbox routes' body limit, so a larger one is a 413.
pub const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;

/// How far a signed `Date` (or a signature's `created` time) may be from our
/// clock, either way: an hour covers clock drift and queues, since senders
/// sign every attempt afresh (Mastodon allows 12 hours; activitypub_federation,
/// which verified before, allowed an hour in the past).
pub(crate) const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::hours(1);

/// `POST /inbox` and `POST /users/{username}/inbox`: 202 once processed.
///
/// The body is read by axum under the route's limit (a larger one is a 413).
pub async fn post_inbox(data: Data<FedContext>, parts: Parts, body: Bytes) -> Result<StatusCode, Response> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    let kind = serde_json::from_slice::<Kind>(&body)
        .map(|k| k.kind)
        .unwrap_or_default();
    let ctx = data.app_data().clone();
    let result = inbox_answer(data, parts, body).await;
    let status = match &result {
        Ok(s) => *s,
        Err(r) => r.status(),
    };
    ctx.inbox_counts().record(&kind, status);
    result
}

/// [`post_inbox`]'s answer, before it is counted.
async fn inbox_answer(data: Data<FedContext>, parts: Parts, body: Bytes) -> Result<StatusCode, Response> {
    check_signature_headers(&parts.headers, Utc::now()).map_err(IntoResponse::into_response)?;
    // Blocked senders (and, in allowlist mode, unlisted ones) are refused before anyone is fetched.
    let checked = crate::safety::refuse_blocked_sender(&data, &parts.headers, &body)
        .await
        .map_err(IntoResponse::into_response)?;
    crate::safety::receiving_from(checked, receive(data, parts, body)).await
}

/// The checks of one received activity (digest, signature, sender) and its
/// handling.
async fn receive(data: Data<FedContext>, parts: Parts, body: Bytes) -> Result<StatusCode, Response> {
    let error = match verify_and_handle(&data, &parts, &body).await {
        Ok(()) => return Ok(StatusCode::ACCEPTED),
        Err(e) => e,
    };
    let response = error.into_response();
    if response.status().is_server_error() {
        // The id was recorded as received before processing failed on our
        // side; forget it, or the sender's retry would be ignored as a duplicate.
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        if let Ok(Id { id }) = serde_json::from_slice(&body)
            && let Err(e) = data.store().forget_activity_received(&id).await
        {
            tracing::warn!(id, error = %e, "cannot forget a failed activity; a retry will be ignored");
        }
    }
    Err(response)
}

/// Reads the signature and checks the digest (no key needed), parses the
/// activity, checks its id against its actor, verifies the signature with
/// the actor's key (fetched when unknown, fetched again once when it fails)
/// and hands the activity to its handler.
async fn verify_and_handle(data: &Data<FedContext>, parts: &Parts, body: &[u8]) -> Result<(), FederationError> {
    let uri = match parts.extensions.get::<axum::extract::OriginalUri>() {
        Some(original) => &original.0,
        None => &parts.uri,
    };
    let urls = data.urls();
    let request = crate::signatures::SignedRequest {
        method: &parts.method,
        uri,
        headers: &parts.headers,
        local_host: urls.host(),
        scheme: urls.base().split("://").next().unwrap_or("https"),
    };
    let signature = crate::signatures::verify::read(&request, Some(body), Utc::now())?;
    let activity: IncomingActivity = serde_json::from_slice(body)
        .map_err(|e| FederationError::bad_request(format!("the activity does not parse: {e}")))?;
    check_activity_id(data, &activity).await?;
    // The activity's actor signs it, whatever key id it names (as activitypub_federation did).
    crate::signatures::verify::verify_signer(data, &signature, activity.actor.inner(), false, |e| e).await?;
    crate::proofs::verify::check_incoming(data, body, activity.actor.inner()).await?;
    activity.verify(data).await?;
    activity.receive(data).await
}

/// The activity's id must be on its actor's host, not on ours, and on a
/// host we federate with (the lists were read for the sender's host a
/// moment ago, so the usual case costs no query).
async fn check_activity_id(data: &Data<FedContext>, activity: &IncomingActivity) -> Result<(), FederationError> {
    let (id, actor) = (&activity.id, activity.actor.inner());
    if id.host_str() != actor.host_str() {
        return Err(FederationError::bad_request(format!(
            "the activity {id} is not on its actor's host ({actor})"
        )));
    }
    if !matches!(id.scheme(), "https" | "http") {
        return Err(FederationError::bad_request(format!(
            "the activity id {id} is not an HTTP URL"
        )));
    }
    if crate::remote::host_of(id) == data.domain() {
        return Err(FederationError::bad_request(
            "the activity claims to come from this instance",
        ));
    }
    use activitypub_federation::config::UrlVerifier;
    crate::safety::SafetyVerifier::new(data).verify(id).await?;
    Ok(())
}

/// The draft-cavage checks that need no key, refused with 401 before
/// anything is fetched: a request must be signed (draft-cavage `Signature`,
/// or `Authorization: Signature …`), the signature must cover `date` (or
/// `(created)`, checked here too) so it cannot be replayed under a
/// new date, and that `Date` must be a valid HTTP date within
/// [`MAX_CLOCK_SKEW`] of `now`; so must the signature's `created` time,
/// in the past or the future, when it has one.
pub(crate) fn check_signature_headers(headers: &HeaderMap, now: DateTime<Utc>) -> Result<(), FederationError> {
    let refuse = |msg: String| FederationError::Refused(StatusCode::UNAUTHORIZED, msg);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header("signature")
        .or_else(|| header("authorization").and_then(|a| a.strip_prefix("Signature ")))
        .ok_or_else(|| refuse("the request is not signed (no Signature header)".into()))?;
    // Without a `headers` parameter, draft-cavage signs `date` alone.
    let signed = signature_param(signature, "headers")
        .unwrap_or("date")
        .to_ascii_lowercase();
    let signed: Vec<&str> = signed.split_whitespace().collect();
    // The library refuses a `created` more than an hour old but not one in
    // the future, which a stolen signature could use to outlive its hour.
    if let Some(created) = signature_param(signature, "created") {
        let created = created
            .parse::<i64>()
            .ok()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or_else(|| refuse(format!("the signature's created `{created}` is not a time")))?;
        if (now - created).abs() > MAX_CLOCK_SKEW {
            return Err(refuse(format!(
                "the signature's created time {} is more than {} minutes from our clock",
                created.to_rfc3339(),
                MAX_CLOCK_SKEW.num_minutes()
            )));
        }
    } else if signed.contains(&"(created)") {
        return Err(refuse(
            "(created) is signed but the signature has no created time".into(),
        ));
    }
    if !signed.contains(&"date") {
        return if signed.contains(&"(created)") {
            Ok(())
        } else {
            Err(refuse("the signature must cover the Date header".into()))
        };
    }
    let date = header("date").ok_or_else(|| refuse("the request has no Date header".into()))?;
    let date = DateTime::parse_from_rfc2822(date)
        .map_err(|_| refuse(format!("the Date header `{date}` is not an HTTP date")))?
        .with_timezone(&Utc);
    if (now - date).abs() > MAX_CLOCK_SKEW {
        return Err(refuse(format!(
            "the Date header `{}` is more than {} minutes from our clock",
            date.to_rfc2822(),
            MAX_CLOCK_SKEW.num_minutes()
        )));
    }
    Ok(())
}

/// The value of `name="…"` in a draft-cavage `Signature` header.
fn signature_param<'a>(signature: &'a str, name: &str) -> Option<&'a str> {
    signature.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// The `id` of an embedded object or the object itself when it is a bare id.
fn object_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// A link given as a string, or as an object with `href`: only an `http(s)`
/// URL, since it becomes an `href` or a `src` on our pages.
fn object_id_or_href(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => gazette_core::links::web_url(s),
        Value::Object(o) => o
            .get("href")
            .and_then(Value::as_str)
            .and_then(gazette_core::links::web_url),
        _ => None,
    }
}

fn object_type(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

#[async_trait::async_trait]
impl Activity for IncomingActivity {
    type DataType = FedContext;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _data: &Data<FedContext>) -> Result<(), FederationError> {
        Ok(())
    }

    async fn receive(self, data: &Data<FedContext>) -> Result<(), FederationError> {
        // Likes and boosts are recorded under their activity id, which is
        // their duplicate check. A coordinator's member articles need none:
        // writing an item is idempotent (a replayed `Create` finds it stored
        // and already boosted; the order and tombstone rules stop anything
        // older), and this is the path a flood of articles takes, so it
        // saves a commit per article. Every other activity is checked here.
        let member_article = data.settings().network.is_some()
            && matches!(self.kind.as_str(), "Create" | "Update")
            && matches!(object_type(&self.object), Some("Article" | "Page"));
        let dedupe_here = !matches!(self.kind.as_str(), "Like" | "Announce") && !member_article;
        crate::network::check_member_rate(data, &self.kind, self.actor.inner()).await?;
        if dedupe_here && !data.store().mark_activity_received(self.id.as_str()).await? {
            tracing::debug!(id = %self.id, "duplicate activity ignored");
            return Ok(());
        }
        if dedupe_here {
            // Not the hot path: read the sender from the database rather than
            // the in-memory cache, so a row deleted by another process
            // meanwhile is fetched and stored again before anything refers to it.
            data.actor_cache().forget(self.actor.inner().as_str());
        }
        let actor = self.actor.dereference(data).await?;
        // A valid signed activity: the sender's server is up, whatever we thought.
        data.host_spoke(&actor.actor.host).await?;
        match self.kind.as_str() {
            "Follow" => self.follow(data, &actor).await,
            "Undo" => self.undo(data, &actor).await,
            "Like" => self.interact(data, &actor, "like").await,
            "Announce" if crate::network::on_announce(data, &self.object, &actor).await? => Ok(()),
            "Announce" => self.interact(data, &actor, "announce").await,
            "Update" if object_id(&self.object) == Some(actor.actor.id.as_str()) => {
                // A profile edit: fetch the actor again rather than trusting the embedded copy.
                let actor = self.actor.dereference_forced(data).await?;
                crate::network::on_actor_update(data, &actor).await
            }
            "Create" | "Update" => self.create_or_update(data, &actor).await,
            "Accept" => {
                let follow_id = object_id(&self.object).unwrap_or_default();
                if data.store().accept_following(&actor.actor.id, follow_id).await? {
                    tracing::info!(target = %actor.actor.id, "follow accepted");
                    crate::network::on_follow_accepted(data, &actor).await?;
                }
                Ok(())
            }
            "Reject" => {
                if data.store().remove_following(None, &actor.actor.id).await? {
                    tracing::info!(target = %actor.actor.id, "follow rejected");
                }
                Ok(())
            }
            "Delete" => self.delete(data, &actor).await,
            "Move" => self.moved(data, &actor).await,
            "Flag" => self.report(data, &actor).await,
            other => {
                tracing::info!(kind = other, id = %self.id, actor = %actor.actor.id, "activity type not handled; accepted and ignored");
                Ok(())
            }
        }
    }
}

impl IncomingActivity {
    async fn follow(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        let target = object_id(&self.object).ok_or_else(|| FederationError::bad_request("Follow without object"))?;
        let Some(local) = local_actor_by_id(data, target).await? else {
            return Err(FederationError::Refused(
                StatusCode::NOT_FOUND,
                format!("no local actor {target}"),
            ));
        };
        let local_id = data.urls().actor(local.username());
        // A request to join the network waits for the coordinator's decision;
        // any other follow is accepted at once unless followers are approved by hand.
        let status = match crate::network::membership::follow_status(data, &local, &actor.actor).await? {
            Some(status) => status,
            None if data.manually_approves_followers().await? => FollowStatus::Pending,
            None => FollowStatus::Accepted,
        };
        data.store()
            .add_follower(&local_id, &actor.actor.id, self.id.as_str(), status)
            .await?;
        tracing::info!(follower = %actor.actor.id, local = %local_id, ?status, "new follower");
        if status == FollowStatus::Accepted {
            let follow =
                serde_json::json!({ "id": self.id, "type": "Follow", "actor": actor.actor.id, "object": local_id });
            outbound::accept_follow(data, &local, &follow, &actor.actor).await?;
        }
        crate::network::on_follow(data, &local, actor).await
    }

    async fn undo(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        let inner_id = object_id(&self.object).unwrap_or_default();
        match object_type(&self.object) {
            Some("Follow") => {
                let target = self.object.get("object").and_then(object_id).unwrap_or_default();
                if let Some(local) = local_actor_by_id(data, target).await? {
                    let local_id = data.urls().actor(local.username());
                    data.store().remove_follower(&local_id, &actor.actor.id).await?;
                    tracing::info!(follower = %actor.actor.id, local = %local_id, "follower left");
                    crate::network::on_unfollow(data, &local, actor).await?;
                }
            }
            _ => {
                // Like, Announce, or a bare id: only the actor who did it can undo it.
                data.store().remove_interaction(inner_id, &actor.actor.id).await?;
            }
        }
        Ok(())
    }

    /// The local article an object id or URL points at, if any.
    async fn local_article(
        &self,
        data: &Data<FedContext>,
        id: &str,
    ) -> Result<Option<gazette_core::Article>, FederationError> {
        let urls = data.urls();
        if let Some(article_id) = urls.local_article_id(id) {
            return Ok(data.store().find_article(article_id).await?);
        }
        if let Some(slug) = urls.local_article_slug(id) {
            return Ok(data.store().find_article_by_slug(slug).await?);
        }
        Ok(None)
    }

    /// A like or boost of one of our public articles: one write, which is
    /// also its duplicate check (the activity id is the row's key).
    async fn interact(
        &self,
        data: &Data<FedContext>,
        actor: &DbRemoteActor,
        kind: &str,
    ) -> Result<(), FederationError> {
        let target = object_id(&self.object).unwrap_or_default();
        let urls = data.urls();
        let (id, slug) = (urls.local_article_id(target), urls.local_article_slug(target));
        if id.is_none() && slug.is_none() {
            tracing::debug!(kind, object = target, "interaction with something not ours; ignored");
            return Ok(());
        }
        let store = data.store();
        let added = match store
            .add_interaction_if_public(self.id.as_str(), kind, id, slug, &actor.actor.id)
            .await
        {
            Ok(added) => added,
            // The actor came from the in-memory cache, but another process
            // may have deleted its row meanwhile (a domain block, lifted
            // since): read or fetch it again, which stores it, and retry once.
            Err(e) => {
                tracing::debug!(error = %e, actor = %actor.actor.id, "recording the interaction failed; re-reading the actor");
                data.actor_cache().forget(&actor.actor.id);
                let actor = self.actor.dereference(data).await?;
                if store.find_remote_actor(&actor.actor.id).await?.is_none() {
                    store.upsert_remote_actor(&actor.actor).await?;
                }
                store
                    .add_interaction_if_public(self.id.as_str(), kind, id, slug, &actor.actor.id)
                    .await?
            }
        };
        if added {
            tracing::info!(kind, object = target, actor = %actor.actor.id, "interaction");
        } else {
            tracing::debug!(
                kind,
                object = target,
                "not a public article of ours, or already counted; ignored"
            );
        }
        Ok(())
    }

    /// A reply to one of our articles, or an article from an actor we follow.
    async fn create_or_update(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        if crate::network::on_object(data, &self.kind, &self.object, actor).await? {
            return Ok(());
        }
        let replies_to_us =
            self.object.get("inReplyTo").and_then(object_id).is_some_and(|r| {
                data.urls().local_article_id(r).is_some() || data.urls().local_article_slug(r).is_some()
            });
        if replies_to_us && object_type(&self.object) == Some("Note") {
            return self.reply(data, actor).await;
        }
        if matches!(object_type(&self.object), Some("Article" | "Note" | "Page"))
            && data.store().is_followed(&actor.actor.id).await?
        {
            return self.network_article(data, actor).await;
        }
        tracing::debug!(id = %self.id, "object neither replies to us nor comes from someone we follow; ignored");
        Ok(())
    }

    /// Stores an article from a followed actor for the network page.
    async fn network_article(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        let o = &self.object;
        let id = object_id(o).ok_or_else(|| FederationError::bad_request("object without id"))?;
        let object_url = Url::parse(id)?;
        if object_url.host_str() != actor.id.host_str() || object_url.port() != actor.id.port() {
            return Err(FederationError::bad_request(format!(
                "object {id} is not on the server of {}",
                actor.actor.id
            )));
        }
        if o.get("attributedTo")
            .and_then(object_id)
            .is_some_and(|a| a != actor.actor.id)
        {
            return Err(FederationError::bad_request("object attributed to someone else"));
        }
        let time = |key: &str| {
            o.get(key)
                .and_then(Value::as_str)
                .and_then(gazette_core::validate::parse_time)
        };
        let image = o
            .get("image")
            .and_then(|i| if i.is_array() { i.get(0) } else { Some(i) });
        let published = time("published").unwrap_or_else(Utc::now);
        // A Gazette article opens its content with its title and standfirst
        // (for servers that show nothing else); shown here on their own.
        let name = crate::json::text_or_map(o, "name");
        let summary = crate::json::text_or_map(o, "summary");
        let content = crate::json::text_or_map(o, "content");
        let mut content = crate::json::strip_article_lead(&content, &name, &summary).to_owned();
        let image_url = image.and_then(|i| i.get("url")).and_then(object_id_or_href);
        content.push_str(&crate::json::attached_images(o, image_url.as_deref()));
        let article = gazette_core::RemoteArticle {
            id: id.to_owned(),
            actor: actor.actor.id.clone(),
            kind: object_type(o).unwrap_or("Article").to_owned(),
            url: o.get("url").and_then(|u| match u {
                Value::Array(items) => items.iter().find_map(object_id_or_href),
                other => object_id_or_href(other),
            }),
            name,
            summary_html: gazette_core::markdown::sanitise(&crate::json::summary_as_html(&summary)),
            content_html: gazette_core::markdown::sanitise(&content),
            language: o
                .get("contentMap")
                .and_then(Value::as_object)
                .and_then(|m| m.keys().next().cloned()),
            image_url,
            image_alt: image
                .and_then(|i| i.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            published_at: published,
            updated_at: time("updated").unwrap_or(published),
        };
        data.store().upsert_remote_article(&article).await?;
        tracing::info!(id, actor = %actor.actor.id, "network article stored");
        Ok(())
    }

    async fn reply(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        let note = &self.object;
        let note_id = object_id(note).ok_or_else(|| FederationError::bad_request("Note without id"))?;
        // The note must come from the sender's own server.
        let note_url = Url::parse(note_id)?;
        if note_url.host_str() != actor.id.host_str() || note_url.port() != actor.id.port() {
            return Err(FederationError::bad_request(format!(
                "note {note_id} is not on the server of {}",
                actor.actor.id
            )));
        }
        if note
            .get("attributedTo")
            .and_then(object_id)
            .is_some_and(|a| a != actor.actor.id)
        {
            return Err(FederationError::bad_request("note attributed to someone else"));
        }
        let in_reply_to = note.get("inReplyTo").and_then(object_id).unwrap_or_default();
        let Some(article) = self.local_article(data, in_reply_to).await? else {
            tracing::debug!(note = note_id, "note not replying to one of our articles; ignored");
            return Ok(());
        };
        if !article.is_public() {
            return Ok(());
        }
        let content = note.get("content").and_then(Value::as_str).unwrap_or_default();
        let content_html = gazette_core::markdown::sanitise(content);
        let language = note
            .get("contentMap")
            .and_then(Value::as_object)
            .and_then(|m| m.keys().next().cloned());
        let published = note
            .get("published")
            .and_then(Value::as_str)
            .and_then(gazette_core::validate::parse_time)
            .unwrap_or_else(Utc::now);
        let status = match data.comment_policy().await? {
            CommentPolicy::Open => "visible",
            CommentPolicy::Moderated => "pending",
            CommentPolicy::FollowersOnly => {
                let author = data.store().get_author(&article.author_id).await?;
                let mut local = vec![data.urls().actor(&author.username)];
                if let Some(org) = data.store().find_organisation().await? {
                    local.push(data.urls().actor(&org.username));
                }
                let mut follows = false;
                for l in &local {
                    let list = data
                        .store()
                        .list_followers(l, FollowStatus::Accepted, 10_000, 0)
                        .await?;
                    follows |= list.iter().any(|f| f.actor.id == actor.actor.id);
                }
                if follows { "visible" } else { "pending" }
            }
        };
        let comment = Comment {
            id: note_id.to_owned(),
            article_id: article.id.clone(),
            actor: actor.actor.id.clone(),
            url: note.get("url").and_then(object_id_or_href),
            content_html,
            language,
            status: status.to_owned(),
            published_at: published,
            updated_at: Utc::now(),
        };
        data.store().upsert_comment(&comment).await?;
        tracing::info!(article = %article.slug, note = note_id, status, "reply stored");
        Ok(())
    }

    async fn delete(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        let target = object_id(&self.object).unwrap_or_default();
        if target == actor.actor.id {
            data.store().delete_remote_actor(&actor.actor.id).await?;
            data.actor_cache().forget(&actor.actor.id);
            tracing::info!(actor = %actor.actor.id, "remote actor deleted");
        } else {
            data.store().delete_comment(target, &actor.actor.id).await?;
            data.store().delete_remote_article(target, &actor.actor.id).await?;
            crate::network::on_delete(data, target, actor).await?;
        }
        Ok(())
    }

    /// A report about our actors or articles, kept for moderators.
    async fn report(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        // Moderators open the reported objects from the reports page: only
        // `http(s)` ids are kept (they are ours or the reported server's).
        let targets: Vec<String> = match &self.object {
            Value::Array(items) => items
                .iter()
                .filter_map(object_id)
                .filter_map(gazette_core::links::web_url)
                .collect(),
            other => object_id(other)
                .and_then(gazette_core::links::web_url)
                .into_iter()
                .collect(),
        };
        if targets.is_empty() {
            return Err(FederationError::bad_request("Flag without an http(s) object"));
        }
        let content = self.content.as_deref().unwrap_or_default();
        data.store()
            .add_report(self.id.as_str(), &actor.actor.id, &targets, content)
            .await?;
        tracing::warn!(reporter = %actor.actor.id, ?targets, "report received");
        Ok(())
    }

    async fn moved(&self, data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
        let target = self
            .target
            .as_ref()
            .and_then(object_id)
            .ok_or_else(|| FederationError::bad_request("Move without target"))?;
        // The new account must exist and claim the old one, or anyone could steal followers.
        let new: DbRemoteActor = ObjectId::<DbRemoteActor>::parse(target)?
            .dereference_forced(data)
            .await?;
        let raw = data
            .store()
            .find_remote_actor(&new.actor.id)
            .await?
            .ok_or_else(|| FederationError::bad_request("Move target could not be stored"))?;
        let also_known_as = fetch_also_known_as(data, &new).await;
        if !also_known_as.iter().any(|a| a == &actor.actor.id) {
            return Err(FederationError::bad_request(format!(
                "{} does not list {} in alsoKnownAs",
                raw.id, actor.actor.id
            )));
        }
        let mut old = actor.actor.clone();
        old.moved_to = Some(raw.id.clone());
        data.store().upsert_remote_actor(&old).await?;
        data.actor_cache().forget(&old.id);
        let n = data.store().move_follower(&actor.actor.id, &raw.id).await?;
        tracing::info!(from = %actor.actor.id, to = %raw.id, follows = n, "follower moved");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const SIGNED: &str = r#"keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA==""#;

    #[test]
    fn signature_headers_must_be_present_and_recent() {
        let now = DateTime::parse_from_rfc2822("Tue, 18 Nov 2025 09:00:00 GMT")
            .unwrap()
            .with_timezone(&Utc);
        let status = |h: &HeaderMap| match check_signature_headers(h, now) {
            Ok(()) => StatusCode::OK,
            Err(FederationError::Refused(s, _)) => s,
            Err(e) => panic!("{e}"),
        };
        let ok = |date: &str| status(&headers(&[("signature", SIGNED), ("date", date)]));
        assert_eq!(ok("Tue, 18 Nov 2025 09:00:00 GMT"), StatusCode::OK);
        assert_eq!(ok("Tue, 18 Nov 2025 08:01:00 GMT"), StatusCode::OK);
        assert_eq!(ok("Tue, 18 Nov 2025 09:59:00 GMT"), StatusCode::OK);
        assert_eq!(ok("Tue, 18 Nov 2025 07:00:00 GMT"), StatusCode::UNAUTHORIZED);
        assert_eq!(ok("Tue, 18 Nov 2025 11:00:00 GMT"), StatusCode::UNAUTHORIZED);
        assert_eq!(ok("yesterday"), StatusCode::UNAUTHORIZED);
        let date = ("date", "Tue, 18 Nov 2025 09:00:00 GMT");
        assert_eq!(status(&headers(&[date])), StatusCode::UNAUTHORIZED);
        assert_eq!(status(&headers(&[("signature", SIGNED)])), StatusCode::UNAUTHORIZED);
        let undated = SIGNED.replace(" date", "");
        assert_eq!(
            status(&headers(&[("signature", &undated), date])),
            StatusCode::UNAUTHORIZED
        );
        let created = |at: i64| {
            SIGNED.replace(" date", " (created)").replace(
                ",signature=",
                &format!(",created=\"{}\",signature=", now.timestamp() + at),
            )
        };
        assert_eq!(status(&headers(&[("signature", &created(0))])), StatusCode::OK);
        assert_eq!(status(&headers(&[("signature", &created(-600))])), StatusCode::OK);
        assert_eq!(
            status(&headers(&[("signature", &created(10 * 86_400))])),
            StatusCode::UNAUTHORIZED,
            "ten days in the future"
        );
        assert_eq!(
            status(&headers(&[("signature", &created(-10 * 86_400))])),
            StatusCode::UNAUTHORIZED,
            "ten days in the past"
        );
        // Signed as well as a good date: the created time is still checked.
        let both = created(10 * 86_400).replace("(created)", "(created) date");
        assert_eq!(
            status(&headers(&[("signature", &both), date])),
            StatusCode::UNAUTHORIZED
        );
        let missing = SIGNED.replace(" date", " (created)");
        assert_eq!(status(&headers(&[("signature", &missing)])), StatusCode::UNAUTHORIZED);
        let garbled = created(0).replace(&format!("created=\"{}\"", now.timestamp()), "created=\"soon\"");
        assert_eq!(status(&headers(&[("signature", &garbled)])), StatusCode::UNAUTHORIZED);
        let authorization = format!("Signature {SIGNED}");
        assert_eq!(
            status(&headers(&[("authorization", &authorization), date])),
            StatusCode::OK
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn param() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(r#"keyId="https://a.example/u#main-key""#.to_owned()),
                Just(r#"algorithm="rsa-sha256""#.to_owned()),
                Just(r#"signature="AAAA==""#.to_owned()),
                prop::sample::select(vec![
                    "date",
                    "(created)",
                    "(request-target) host date digest",
                    "(created) date",
                    "host",
                    ""
                ])
                .prop_map(|h| format!(r#"headers="{h}""#)),
                (-30 * 86_400i64..30 * 86_400).prop_map(|offset| format!(r#"created="{}""#, 1_763_456_400 + offset)),
                "[ -~]{0,12}".prop_map(|junk| format!("created={junk}")),
                "[ -~]{0,20}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            /// Whatever the Signature header and Date say, the check never
            /// panics, and what it lets through is signed within the hour
            /// of our clock: by a covered Date, or by a created time.
            #[test]
            fn accepted_signatures_are_recent(
                params in prop::collection::vec(param(), 0..7),
                date_offset in prop::option::of(-3 * 86_400i64..3 * 86_400),
                as_authorization in any::<bool>(),
            ) {
                let now = DateTime::from_timestamp(1_763_456_400, 0).unwrap();
                let signature = params.join(",");
                let mut h = HeaderMap::new();
                let Ok(value) = (if as_authorization { format!("Signature {signature}") } else { signature.clone() }).parse() else {
                    return Ok(());
                };
                h.insert(if as_authorization { "authorization" } else { "signature" }, value);
                if let Some(offset) = date_offset {
                    let date = (now + TimeDelta::seconds(offset)).to_rfc2822().replace("+0000", "GMT");
                    h.insert("date", date.parse().unwrap());
                }
                if check_signature_headers(&h, now).is_ok() {
                    let created = signature_param(&signature, "created").map(|c| c.parse::<i64>().unwrap());
                    let signed = signature_param(&signature, "headers").unwrap_or("date").to_ascii_lowercase();
                    let recent = |t: i64| (t - now.timestamp()).abs() <= MAX_CLOCK_SKEW.num_seconds();
                    if let Some(c) = created {
                        prop_assert!(recent(c), "created {c} accepted: {signature}");
                    }
                    if signed.split_whitespace().any(|x| x == "date") {
                        prop_assert!(date_offset.is_some_and(|o| o.abs() <= MAX_CLOCK_SKEW.num_seconds()), "{signature} {date_offset:?}");
                    } else {
                        prop_assert!(created.is_some(), "neither a Date nor a created time: {signature}");
                    }
                }
            }
        }
    }
}
