//! What we send, queued in the database and delivered by the delivery worker:
//! `Create`/`Update`/`Delete` of articles by their author, the organisation's
//! `Announce` of them, and `Accept` of follows (each built by
//! [`crate::activities::outgoing`]). Nothing here waits on the network.

use chrono::{DateTime, Utc};
use gazette_core::{Article, ArticleEvent, ArticleStatus, FollowStatus, RemoteActor};
use serde_json::Value;

use crate::activities::outgoing::{self, Activity};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::{self, ArticleMedia, Counts};
use crate::local::LocalActor;
use crate::remote::DbRemoteActor;
use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;

/// The AS2 JSON of a local article as it is now.
pub async fn article_json(ctx: &FedContext, article: &Article) -> Result<Value, FederationError> {
    let store = ctx.store();
    let author = store.get_author(&article.author_id).await?;
    let cover = match &article.cover {
        Some(c) => store.find_media(&c.media_id).await?,
        None => None,
    };
    let counts = store.interaction_counts(&article.id).await?;
    let counts = Counts {
        likes: counts.likes,
        shares: counts.shares,
        replies: counts.replies,
    };
    let replies: Vec<String> = store
        .list_comments(&article.id, "visible")
        .await?
        .into_iter()
        .map(|(c, _)| c.id)
        .collect();
    let interviewee = interviewee_actor(ctx, article).await?;
    let handle = interviewee.as_ref().map(RemoteActor::handle);
    let mention = interviewee
        .as_ref()
        .zip(handle.as_deref())
        .map(|(a, handle)| json::Mention {
            actor_id: &a.id,
            handle,
        });
    let mut v = json::article(
        ctx.urls(),
        article,
        &author,
        &ArticleMedia { cover: cover.as_ref() },
        counts,
        &replies,
        mention,
        &ctx.default_language().await?,
    );
    crate::quotes::add_interaction_policy(ctx, article, &author.username, &mut v).await?;
    // FEP-8b32: the article carries its author's proof, wherever it goes,
    // made as of its last change: the same content rendered again (served,
    // delivered, re-served by a coordinator) carries the same proof.
    crate::proofs::signed_by_at(ctx, &ctx.urls().actor(&author.username), v, article.updated_at).await
}

/// The interviewee's `@name@host`, split, if the article names one.
fn interviewee_handle(article: &Article) -> Option<(String, String)> {
    let handle = article.interviewee.as_ref()?.fediverse_handle.as_deref()?;
    let (user, host) = handle.trim().trim_start_matches('@').split_once('@')?;
    Some((user.to_owned(), host.to_owned()))
}

/// The interviewee's actor, as resolved when the article was federated
/// (from the store only: reading an article never waits on the network).
async fn interviewee_actor(ctx: &FedContext, article: &Article) -> Result<Option<RemoteActor>, FederationError> {
    match interviewee_handle(article) {
        Some((user, host)) => Ok(ctx.store().find_remote_actor_by_handle(&user, &host).await?),
        None => Ok(None),
    }
}

/// Resolves the interviewee's handle by WebFinger (once; the actor is then
/// stored), so the article can mention them and they are notified. A handle
/// that cannot be resolved is logged and the article goes out without the
/// mention.
async fn resolve_interviewee(ctx: &FedContext, article: &Article) -> Option<RemoteActor> {
    let (user, host) = interviewee_handle(article)?;
    if let Ok(Some(actor)) = ctx.store().find_remote_actor_by_handle(&user, &host).await {
        return Some(actor);
    }
    let resolved = async {
        let config = crate::federation_config(ctx.clone()).await?;
        let data = config.to_request_data();
        resolve_actor(&data, &format!("@{user}@{host}")).await
    }
    .await;
    match resolved {
        Ok(actor) => Some(actor),
        Err(e) => {
            tracing::warn!(article = %article.slug, handle = %format!("@{user}@{host}"), error = %e,
                "cannot resolve the interviewee's handle; the article goes out without mentioning them");
            None
        }
    }
}

/// Queues `activity` (signed as `actor_id`, or with the key whose id it is,
/// see [`crate::private_key_for`]) for `inboxes`; wakes the worker.
/// Every delivery is queued here, so this is where inboxes on hosts we do not
/// federate with (blocked, or not on the allowlist) are left out.
pub(crate) async fn enqueue(
    ctx: &FedContext,
    actor_id: &str,
    activity: &Value,
    inboxes: &[String],
) -> Result<u64, FederationError> {
    enqueue_not_before(ctx, actor_id, activity, inboxes, None).await
}

/// [`enqueue`], sent no earlier than `not_before` (at once when `None`).
pub(crate) async fn enqueue_not_before(
    ctx: &FedContext,
    actor_id: &str,
    activity: &Value,
    inboxes: &[String],
    not_before: Option<DateTime<Utc>>,
) -> Result<u64, FederationError> {
    enqueue_with_proof_key(ctx, actor_id, None, activity, inboxes, not_before).await
}

/// [`enqueue_not_before`], with the activity's proof made by the actor's
/// Ed25519 key whose id fragment is `proof_fragment` (see
/// [`crate::proofs::keys::proof_key_with`]; the current key when `None`).
async fn enqueue_with_proof_key(
    ctx: &FedContext,
    actor_id: &str,
    proof_fragment: Option<&str>,
    activity: &Value,
    inboxes: &[String],
    not_before: Option<DateTime<Utc>>,
) -> Result<u64, FederationError> {
    let inboxes = &crate::safety::deliverable_inboxes(ctx, inboxes).await?;
    if inboxes.is_empty() {
        return Ok(0);
    }
    let id = activity["id"].as_str().unwrap_or_default().to_owned();
    // The signer may name one of the actor's keys (`<actor>#<key>`, see
    // `crate::private_key_for`); the proof and the followers are the actor's.
    let actor = actor_id.split_once('#').map_or(actor_id, |(actor, _)| actor);
    // FEP-8b32: every activity we send carries its actor's proof.
    let activity = &match proof_fragment {
        Some(fragment) => crate::proofs::signed_by_key(ctx, actor, fragment, activity.clone()).await?,
        None => crate::proofs::signed_by(ctx, actor, activity.clone()).await?,
    };
    let digests = crate::follower_sync::digests_for(ctx, actor, activity).await?;
    let n = ctx
        .store()
        .enqueue_delivery_with_digests(&id, actor_id, &activity.to_string(), inboxes, not_before, &digests)
        .await?;
    if n > 0 {
        ctx.wake_delivery();
    }
    Ok(n)
}

/// `Accept` of a follow, sent to the follower.
pub async fn accept_follow(
    ctx: &FedContext,
    local: &LocalActor,
    follow_id: &str,
    follower: &RemoteActor,
) -> Result<(), FederationError> {
    let actor_id = ctx.urls().actor(local.username());
    let id = ctx.urls().activity(&actor_id, "accepts", &uniq(follow_id));
    let accept = outgoing::accept_follow(id, &actor_id, follow_id, &follower.id).to_value()?;
    enqueue(ctx, &actor_id, &accept, std::slice::from_ref(&follower.inbox)).await?;
    Ok(())
}

/// `Reject` of a follow, sent to the follower.
pub async fn reject_follow(
    ctx: &FedContext,
    local: &LocalActor,
    follow_id: &str,
    follower: &RemoteActor,
) -> Result<(), FederationError> {
    let actor_id = ctx.urls().actor(local.username());
    let id = ctx.urls().activity(&actor_id, "rejects", &uniq(follow_id));
    let reject = outgoing::reject_follow(id, &actor_id, follow_id, &follower.id).to_value()?;
    enqueue(ctx, &actor_id, &reject, std::slice::from_ref(&follower.inbox)).await?;
    Ok(())
}

/// Queues what followers must receive after `event` on `article`: the author
/// sends `Create`/`Update`/`Delete` to its followers, the organisation
/// `Announce`s new articles (and `Undo`es the boost on deletion) to its own.
/// `version` is the article's version right after the change: it names the
/// activities, so queueing the same change twice sends nothing twice.
pub async fn article_changed(
    ctx: &FedContext,
    article: &Article,
    event: ArticleEvent,
    version: i64,
) -> Result<u64, FederationError> {
    let store = ctx.store();
    let urls = ctx.urls();
    let author = store.get_author(&article.author_id).await?;
    let author_id = urls.actor(&author.username);
    let object_id = urls.article(article);
    let author_followers = store.follower_inboxes(std::slice::from_ref(&author_id)).await?;
    let org = store.find_organisation().await?;
    // The organisation's followers get the edits and deletions of what it
    // announced (a network coordinator follows only the organisation).
    let org_followers = match &org {
        Some(org) => store.follower_inboxes(&[urls.actor(&org.username)]).await?,
        None => Vec::new(),
    };
    let mut sent = 0;
    match event {
        ArticleEvent::Published | ArticleEvent::Updated => {
            if article.status != ArticleStatus::Published {
                return Ok(0);
            }
            let mut recipients = author_followers.clone();
            if let Some(interviewee) = resolve_interviewee(ctx, article).await {
                recipients.push(interviewee.inbox);
            }
            if event == ArticleEvent::Updated {
                recipients.extend(org_followers.iter().cloned());
            }
            let object = article_json(ctx, article).await?;
            let updated = event == ArticleEvent::Updated;
            let id = format!("{object_id}#{}-{version}", if updated { "update" } else { "create" });
            let inner = crate::proofs::embeddable(object);
            let cc = outgoing::cc_of(&inner);
            let activity = outgoing::article(id, &author_id, inner, updated, cc).to_value()?;
            sent += enqueue(ctx, &author_id, &activity, &recipients).await?;
            if event == ArticleEvent::Published
                && let Some(org) = &org
            {
                let org_id = urls.actor(&org.username);
                let org_followers = store.follower_inboxes(std::slice::from_ref(&org_id)).await?;
                let announce = org_announce(ctx, &org_id, &org.username, &object_id).to_value()?;
                sent += enqueue(ctx, &org_id, &announce, &org_followers).await?;
            }
        }
        ArticleEvent::Deleted => {
            let mut recipients = author_followers.clone();
            recipients.extend(org_followers.iter().cloned());
            if let Some(interviewee) = interviewee_actor(ctx, article).await? {
                recipients.push(interviewee.inbox);
            }
            let id = format!("{object_id}#delete-{version}");
            let activity =
                outgoing::delete_article(id, &author_id, &object_id, urls.followers(&author.username)).to_value()?;
            sent += enqueue(ctx, &author_id, &activity, &recipients).await?;
            if let Some(org) = &org {
                let org_id = urls.actor(&org.username);
                let org_followers = store.follower_inboxes(std::slice::from_ref(&org_id)).await?;
                let boost = org_announce(ctx, &org_id, &org.username, &object_id);
                let undo = outgoing::undo(format!("{object_id}#undo-announce-{version}"), &org_id, boost).to_value()?;
                sent += enqueue(ctx, &org_id, &undo, &org_followers).await?;
            }
        }
    }
    Ok(sent)
}

/// The organisation's `Announce` of one of its articles.
fn org_announce(ctx: &FedContext, org_id: &str, org_username: &str, object_id: &str) -> Activity<String> {
    let followers = ctx.urls().followers(org_username);
    outgoing::announce(
        format!("{object_id}#announce"),
        org_id,
        object_id.to_owned(),
        vec![followers],
    )
}

/// A short token derived from another id, stable across processes and
/// versions, so answering the same follow twice gives the same activity id.
pub(crate) fn uniq(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Turns recorded article changes into queued deliveries, oldest first, and
/// forgets each once queued. The store records a change in the same
/// transaction as the article write, so a crash before this runs loses
/// nothing: the next run (the server runs one every few seconds and after
/// each write) picks it up; activity ids make a repeated run harmless.
/// Returns how many changes were handled. A change that fails is logged
/// and left for the next run, without holding up the others.
pub async fn dispatch_article_events(ctx: &FedContext) -> Result<usize, FederationError> {
    let mut handled = 0;
    loop {
        let events = ctx.store().pending_article_events(100).await?;
        if events.is_empty() {
            return Ok(handled);
        }
        let mut failed = 0;
        for e in events {
            let done = async {
                if let Some(article) = ctx.store().find_article(&e.article_id).await? {
                    let n = article_changed(ctx, &article, e.event, e.version).await?;
                    tracing::info!(article = %article.slug, event = ?e.event, deliveries = n, "federated");
                }
                ctx.store().finish_article_event(&e.id).await?;
                Ok::<_, FederationError>(())
            }
            .await;
            match done {
                Ok(()) => handled += 1,
                Err(err) => {
                    failed += 1;
                    tracing::warn!(article = %e.article_id, event = ?e.event, error = %err,
                        "could not queue this article change yet; will retry");
                }
            }
        }
        if failed > 0 {
            // Those come first again: leave them to the next run.
            return Ok(handled);
        }
    }
}

/// [`dispatch_article_events`] after a write, logging instead of failing:
/// the article itself is saved and the change will be retried.
pub async fn federate_changes(ctx: &FedContext) {
    if let Err(e) = dispatch_article_events(ctx).await {
        tracing::warn!(error = %e, "could not queue article deliveries yet; will retry");
    }
}

/// The local actor that follows remote actors on the instance's behalf: the organisation.
pub(crate) async fn follower_actor(ctx: &FedContext) -> Result<LocalActor, FederationError> {
    match ctx.store().find_organisation().await? {
        Some(org) => Ok(LocalActor::Organisation(org)),
        None => Err(FederationError::bad_request(
            "the instance has no organisation profile yet: it follows others as its organisation",
        )),
    }
}

/// Resolves `target` (`@user@host`, `user@host` or an actor URL) to a remote actor.
pub async fn resolve_actor(data: &Data<FedContext>, target: &str) -> Result<RemoteActor, FederationError> {
    let target = target.trim();
    let actor: DbRemoteActor = if target.starts_with("http://") || target.starts_with("https://") {
        ObjectId::<DbRemoteActor>::parse(target)?.dereference(data).await?
    } else {
        let handle = target.trim_start_matches('@');
        if !handle.contains('@') {
            return Err(FederationError::bad_request(format!(
                "`{target}` is not a handle such as @name@example.org or an actor URL"
            )));
        }
        match handle.split_once('@') {
            Some((user, host)) if !user.is_empty() && !host.is_empty() && !host.contains('@') => {
                crate::webfinger::resolve(data, user, host).await?
            }
            _ => {
                return Err(FederationError::bad_request(format!(
                    "`{target}` is not a handle such as @name@example.org or an actor URL"
                )));
            }
        }
    };
    Ok(actor.actor)
}

/// Follows a remote actor as the organisation: stores the follow as pending
/// and queues a `Follow`; the remote `Accept` marks it accepted.
pub async fn follow(data: &Data<FedContext>, target: &str) -> Result<RemoteActor, FederationError> {
    let local = follower_actor(data).await?;
    let remote = resolve_actor(data, target).await?;
    crate::safety::check_actor(data, &remote.id).await?;
    let actor_id = data.urls().actor(local.username());
    // A fresh id each time: the remote server ignores an activity id it has seen.
    let id = data.urls().activity(
        &actor_id,
        "follows",
        &uniq(&format!("{} {}", remote.id, Utc::now().timestamp_micros())),
    );
    data.store().add_following(&actor_id, &remote.id, &id).await?;
    let follow = outgoing::follow(&id, &actor_id, &remote.id).to_value()?;
    enqueue(data, &actor_id, &follow, std::slice::from_ref(&remote.inbox)).await?;
    Ok(remote)
}

/// Stops following a remote actor: queues `Undo` of the `Follow` and forgets it.
pub async fn unfollow(data: &Data<FedContext>, target: &str) -> Result<RemoteActor, FederationError> {
    let local = follower_actor(data).await?;
    let remote = resolve_actor(data, target).await?;
    let actor_id = data.urls().actor(local.username());
    let follow_id = data
        .store()
        .list_following(&actor_id)
        .await?
        .into_iter()
        .find(|f| f.target.id == remote.id)
        .map(|f| f.follow_id)
        .ok_or_else(|| FederationError::bad_request(format!("{} is not followed", remote.handle())))?;
    let undo = outgoing::undo_follow(&follow_id, &actor_id, &remote.id).to_value()?;
    enqueue(data, &actor_id, &undo, std::slice::from_ref(&remote.inbox)).await?;
    data.store().remove_following(Some(&actor_id), &remote.id).await?;
    Ok(remote)
}

/// Queues an `Update` of a local actor's profile to its followers. Failures
/// are logged: the profile itself is already saved.
pub async fn actor_changed(ctx: &FedContext, actor: &LocalActor) {
    match queue_actor_update(ctx, actor, None, None).await {
        Ok(n) => tracing::info!(actor = actor.username(), deliveries = n, "profile update federated"),
        Err(e) => tracing::error!(actor = actor.username(), error = %e, "could not queue the profile update"),
    }
}

/// Queues an `Update` of a local actor (its document as served now: new
/// keys after `gazette keys rotate`) to its followers, sent no earlier
/// than `not_before` (at once when `None`); returns how many deliveries
/// were queued. `signed_with` names the keys that sign it instead of the
/// current ones: after a rotation, the replaced keys, which followers
/// already hold. The HTTP signature by the replaced RSA key (GoToSocial
/// checks a signature only against the key it stored for the actor, so an
/// Update signed with the new key would be refused there, and the key
/// never updated); the integrity proof by the replaced Ed25519 key, for
/// the same reason: a follower holding the actor document as it was
/// before checks it with a key it has, and one that fetches the document
/// again finds that key listed there too, during the grace period.
pub async fn queue_actor_update(
    ctx: &FedContext,
    actor: &LocalActor,
    not_before: Option<DateTime<Utc>>,
    signed_with: Option<&crate::keys::ReplacedKeys>,
) -> Result<u64, FederationError> {
    let urls = ctx.urls();
    let actor_id = urls.actor(actor.username());
    let inboxes = ctx.store().follower_inboxes(std::slice::from_ref(&actor_id)).await?;
    if inboxes.is_empty() {
        return Ok(0);
    }
    let mut object = crate::local::actor_json(ctx, actor).await?;
    if let Some(o) = object.as_object_mut() {
        o.remove("@context");
    }
    let id = urls.activity(&actor_id, "updates", &Utc::now().timestamp_micros().to_string());
    let update = outgoing::update_actor(id, &actor_id, object, urls.followers(actor.username())).to_value()?;
    let signer = match signed_with {
        Some(keys) => format!("{actor_id}#{}", keys.rsa_fragment),
        None => actor_id.clone(),
    };
    let proof_fragment = signed_with.and_then(|keys| keys.ed25519_fragment.as_deref());
    enqueue_with_proof_key(ctx, &signer, proof_fragment, &update, &inboxes, not_before).await
}

/// Every local actor: the network actor (on a coordinator), the
/// organisation (if set up) and the authors.
pub async fn local_actors(ctx: &FedContext) -> Result<Vec<LocalActor>, FederationError> {
    let mut out = Vec::new();
    if let Some(network) = &ctx.settings().network {
        out.push(LocalActor::Network(network.clone()));
    }
    if let Some(org) = ctx.store().find_organisation().await? {
        out.push(LocalActor::Organisation(org));
    }
    out.extend(ctx.store().list_authors().await?.into_iter().map(LocalActor::Author));
    Ok(out)
}

/// Answers pending follows from `follower` (an actor id or `@name@host`) to
/// `local` (a username; every local actor when `None`): approving marks them
/// accepted and queues `Accept`, rejecting forgets them and queues `Reject`.
/// On a coordinator, a pending follow of the network actor by a candidate
/// member is answered by approving or rejecting the member.
/// Returns the local usernames whose follow was answered.
pub async fn answer_follow(
    ctx: &FedContext,
    local: Option<&str>,
    follower: &str,
    approve: bool,
) -> Result<Vec<String>, FederationError> {
    let wanted = follower.trim();
    let wanted_handle = format!("@{}", wanted.trim_start_matches('@'));
    let mut answered = Vec::new();
    for actor in local_actors(ctx).await? {
        if local.is_some_and(|l| l != actor.username()) {
            continue;
        }
        let actor_id = ctx.urls().actor(actor.username());
        let pending = ctx
            .store()
            .list_followers(&actor_id, FollowStatus::Pending, 100_000, 0)
            .await?;
        let Some(f) = pending
            .into_iter()
            .find(|f| f.actor.id == wanted || f.actor.handle() == wanted_handle)
        else {
            continue;
        };
        if crate::network::membership::asks_to_join(&actor, &f.actor) {
            // A request to join: answered as a membership decision, or the
            // organisation would say "Member of" without being one.
            let decision = if approve {
                gazette_core::MemberStatus::Approved
            } else {
                gazette_core::MemberStatus::Rejected
            };
            crate::network::membership::decide(ctx, &f.actor.id, decision).await?;
        } else if approve {
            ctx.store()
                .set_follower_status(&actor_id, &f.actor.id, FollowStatus::Accepted)
                .await?;
            accept_follow(ctx, &actor, &f.follow_id, &f.actor).await?;
        } else {
            ctx.store().remove_follower(&actor_id, &f.actor.id).await?;
            reject_follow(ctx, &actor, &f.follow_id, &f.actor).await?;
        }
        answered.push(actor.username().to_owned());
    }
    if answered.is_empty() {
        return Err(FederationError::Refused(
            axum::http::StatusCode::NOT_FOUND,
            format!("no pending follow from `{follower}`"),
        ));
    }
    Ok(answered)
}
