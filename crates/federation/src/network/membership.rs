//! Membership of the network. An organisation asks to join by following
//! the network actor (`gazette network join` on its own instance); a
//! coordinator may also invite one by handle. Approving a member makes the
//! network actor follow the member's organisation (so its articles arrive)
//! and queues the backfill of its outbox; removing it undoes that follow.
//!
//! Anyone may follow the network actor to receive its boosts: only a
//! follower that is an `Organization` is taken as asking to join, and its
//! follow stays pending until the coordinator decides: approving sends the
//! `Accept` of that `Follow`, rejecting or removing sends its `Reject`, so
//! the organisation's own pages say "Member of" only once it is a member.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use chrono::Utc;
use gazette_core::{FollowStatus, Member, MemberProfile, MemberStatus, RemoteActor};
use gazette_store::{MemberHealth, ModeratedItem};
use serde_json::Value;
use url::Url;

use crate::activities::outgoing;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::local::LocalActor;
use crate::outbound::{enqueue, resolve_actor, uniq};
use crate::remote::DbRemoteActor;

/// The actor document of `actor_id` as the member publishes it (signed
/// fetch), for its `sse:` profile and outbox.
pub(crate) async fn fetch_actor_document(data: &Data<FedContext>, actor_id: &str) -> Result<Value, FederationError> {
    let url = Url::parse(actor_id)?;
    Ok(fetch_object_http::<FedContext, Value>(&url, data).await?.object)
}

async fn profile_of(data: &Data<FedContext>, actor: &RemoteActor) -> MemberProfile {
    match fetch_actor_document(data, &actor.id).await {
        Ok(doc) => super::profile_from_actor(&doc),
        Err(e) => {
            tracing::warn!(actor = %actor.id, error = %e, "cannot read the member's profile; using its name only");
            MemberProfile {
                name: actor.name.clone(),
                url: actor.url.clone(),
                logo: actor.icon.clone(),
                ..MemberProfile::default()
            }
        }
    }
}

fn handle(actor: &RemoteActor) -> String {
    format!("{}@{}", actor.preferred_username, actor.host)
}

/// Whether a follow of `local` by `follower` is a request to join the
/// network (the network actor followed by an organisation).
pub(crate) fn asks_to_join(local: &LocalActor, follower: &RemoteActor) -> bool {
    matches!(local, LocalActor::Network(_)) && follower.kind == "Organization"
}

/// Inbox hook, before a follow of a local actor is stored: how the network
/// decides it. A request to join waits for the coordinator (pending) unless
/// the organisation is a member already, approved or suspended (accepted:
/// an invited member joining, or a member following again). `None` for
/// every other follow, which the instance's usual rule answers.
pub async fn follow_status(
    ctx: &FedContext,
    local: &LocalActor,
    follower: &RemoteActor,
) -> Result<Option<FollowStatus>, FederationError> {
    if !asks_to_join(local, follower) {
        return Ok(None);
    }
    let member = ctx.store().find_member(&follower.id).await?;
    Ok(Some(match member.map(|m| m.status) {
        Some(MemberStatus::Approved | MemberStatus::Suspended) => FollowStatus::Accepted,
        _ => FollowStatus::Pending,
    }))
}

/// Inbox hook, after a follow of a local actor was stored: an organisation
/// following the network actor asks to join.
pub async fn on_follow(
    data: &Data<FedContext>,
    local: &LocalActor,
    follower: &DbRemoteActor,
) -> Result<(), FederationError> {
    if !asks_to_join(local, &follower.actor) {
        return Ok(());
    }
    let actor = &follower.actor;
    let profile = profile_of(data, actor).await;
    let member = data
        .store()
        .request_membership(
            &actor.id,
            &actor.host,
            &handle(actor),
            actor.delivery_inbox(),
            &profile,
            MemberStatus::Requested,
        )
        .await?;
    tracing::info!(actor = %actor.id, status = member.status.as_str(), "membership request");
    Ok(())
}

/// Inbox hook, after an `Update` of the sending actor: a member's profile
/// (name, country, sectors…) follows its actor document.
pub async fn on_actor_update(data: &Data<FedContext>, actor: &DbRemoteActor) -> Result<(), FederationError> {
    if data.settings().network.is_none() || data.store().find_member(&actor.actor.id).await?.is_none() {
        return Ok(());
    }
    let profile = profile_of(data, &actor.actor).await;
    data.store().update_member_profile(&actor.actor.id, &profile).await?;
    tracing::info!(actor = %actor.actor.id, "member profile refreshed");
    Ok(())
}

/// The member `target` names (actor id or `@name@host`), or a 404 that says how to list them.
pub(super) async fn member(ctx: &FedContext, target: &str) -> Result<Member, FederationError> {
    ctx.store().find_member_by_name(target).await?.ok_or_else(|| {
        FederationError::Refused(
            axum::http::StatusCode::NOT_FOUND,
            format!("`{target}` is not a member or candidate of the network (see `gazette network members`)"),
        )
    })
}

/// A 409 when `m` cannot go from its status to `to`, naming both.
fn check_transition(m: &Member, to: MemberStatus) -> Result<(), FederationError> {
    if m.status.can_become(to) {
        return Ok(());
    }
    let from = MemberStatus::sources_of(to).join(", ");
    Err(FederationError::Refused(
        axum::http::StatusCode::CONFLICT,
        format!(
            "@{} is {}: only a member that is {from} can be {}",
            m.handle,
            m.status.as_str(),
            to.as_str()
        ),
    ))
}

/// Every member and candidate with its health (optionally of one status), by name.
pub async fn health(ctx: &FedContext, status: Option<MemberStatus>) -> Result<Vec<MemberHealth>, FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let mut out = Vec::new();
    for mut h in ctx.store().member_health(&actor_id).await? {
        if status.is_none_or(|s| h.member.status == s) {
            super::retry::diagnose(ctx, &actor_id, &mut h).await?;
            out.push(h);
        }
    }
    Ok(out)
}

/// Approves a member (a pending request, or a suspended, rejected, removed
/// or departed member): its pending follow of the network actor is
/// accepted, the network actor follows its organisation and the backfill
/// of its outbox is queued (from the first page).
pub async fn approve(ctx: &FedContext, target: &str) -> Result<Member, FederationError> {
    super::settings(ctx)?;
    let m = member(ctx, target).await?;
    check_transition(&m, MemberStatus::Approved)?;
    crate::safety::check_actor(ctx, &m.actor).await?;
    let m = ctx.store().set_member_status(&m.actor, MemberStatus::Approved).await?;
    accept_member_follow(ctx, &m).await?;
    follow_member(ctx, &m).await?;
    Ok(m)
}

/// Invites `target` (`@name@host` or an actor URL): it becomes an approved
/// member at once and the network actor follows it; its instance accepts
/// the follow (or, with manual approval, its editors do). If it had asked
/// to join, its pending follow is accepted now; if it joins later
/// (`gazette network join`), its follow is accepted as it arrives. An
/// approved member whose follow was never accepted (given up, unanswered)
/// is retried instead (see [`super::retry::retry`]); one approved and
/// followed, or suspended (approve it instead), is refused with 409.
pub async fn invite(data: &Data<FedContext>, target: &str) -> Result<Member, FederationError> {
    super::settings(data)?;
    let actor = resolve_actor(data, target).await?;
    if let Some(m) = data.store().find_member(&actor.id).await?
        && matches!(m.status, MemberStatus::Approved | MemberStatus::Suspended)
    {
        if m.status == MemberStatus::Approved && !super::retry::followed(data, &m).await? {
            return Ok(super::retry::retry(data, &m.actor).await?.member);
        }
        return Err(FederationError::Refused(
            axum::http::StatusCode::CONFLICT,
            format!(
                "@{} is already a member ({}); approve a suspended member instead of inviting it",
                m.handle,
                m.status.as_str()
            ),
        ));
    }
    crate::safety::check_actor(data, &actor.id).await?;
    let profile = profile_of(data, &actor).await;
    let m = data
        .store()
        .request_membership(
            &actor.id,
            &actor.host,
            &handle(&actor),
            actor.delivery_inbox(),
            &profile,
            MemberStatus::Approved,
        )
        .await?;
    let m = data.store().set_member_status(&m.actor, MemberStatus::Approved).await?;
    accept_member_follow(data, &m).await?;
    follow_member(data, &m).await?;
    Ok(m)
}

/// Rejects a request, suspends a member (its articles hidden, kept, and
/// nothing new aggregated; its follow of the network stays accepted) or
/// removes it (likewise, and the network actor stops following it).
/// Rejecting and removing also refuse the organisation's follow of the
/// network actor (a `Reject`), so its pages stop saying "Member of". A
/// decision its status does not allow is a 409.
pub async fn decide(ctx: &FedContext, target: &str, status: MemberStatus) -> Result<Member, FederationError> {
    super::settings(ctx)?;
    if status == MemberStatus::Approved {
        return approve(ctx, target).await;
    }
    let m = member(ctx, target).await?;
    check_transition(&m, status)?;
    let m = ctx.store().set_member_status(&m.actor, status).await?;
    if matches!(status, MemberStatus::Removed | MemberStatus::Rejected) {
        reject_member_follow(ctx, &m).await?;
        unfollow_member(ctx, &m).await?;
    }
    Ok(m)
}

/// The network actor, and its id.
fn network_actor(ctx: &FedContext) -> Result<(LocalActor, String), FederationError> {
    let network = super::settings(ctx)?;
    Ok((LocalActor::Network(network.clone()), super::actor_id(ctx, network)))
}

/// Accepts the member's pending follow of the network actor: `Accept` of
/// the `Follow` it sent (its own id). Nothing when it has no follow (it was
/// invited and has not joined; it left) or the follow is accepted already
/// (a suspended member approved again: it never stopped being followed, and
/// an `Accept` of the same `Follow` again would tell its instance nothing).
pub(super) async fn accept_member_follow(ctx: &FedContext, m: &Member) -> Result<(), FederationError> {
    let (network, actor_id) = network_actor(ctx)?;
    let Some(f) = ctx.store().find_follower(&actor_id, &m.actor).await? else {
        return Ok(());
    };
    if f.status == FollowStatus::Accepted {
        return Ok(());
    }
    crate::outbound::accept_follow(ctx, &network, &f.follow_id, &f.actor).await?;
    ctx.store()
        .set_follower_status(&actor_id, &m.actor, FollowStatus::Accepted)
        .await?;
    tracing::info!(member = %m.actor, "member's follow of the network accepted");
    Ok(())
}

/// Refuses the member's follow of the network actor, pending or accepted:
/// `Reject` of its `Follow` (Mastodon drops a follow, or a follow request,
/// on it), and the follower forgotten.
async fn reject_member_follow(ctx: &FedContext, m: &Member) -> Result<(), FederationError> {
    let (network, actor_id) = network_actor(ctx)?;
    let Some(f) = ctx.store().find_follower(&actor_id, &m.actor).await? else {
        return Ok(());
    };
    crate::outbound::reject_follow(ctx, &network, &f.follow_id, &f.actor).await?;
    ctx.store().remove_follower(&actor_id, &m.actor).await?;
    tracing::info!(member = %m.actor, "member's follow of the network refused");
    Ok(())
}

/// Inbox hook, after a pending follow of ours was accepted: when it is the
/// network actor's follow of an approved member, the backfill waiting for
/// it starts, or, when the outbox was read before (a member approving
/// followers by hand), it is read again from its first page (articles
/// published between that read and the `Accept` did not reach us). An
/// `Accept` of a follow accepted already changes nothing (see
/// [`super::backfill`]).
pub async fn on_follow_accepted(ctx: &FedContext, actor: &DbRemoteActor) -> Result<(), FederationError> {
    if ctx.settings().network.is_none() {
        return Ok(());
    }
    if ctx.store().rerun_backfill(&actor.actor.id).await? {
        tracing::info!(member = %actor.actor.id, "member accepted the network's follow; its outbox is read (again)");
    }
    Ok(())
}

/// Inbox hook, after a follower of a local actor left: a member (or
/// candidate) that stops following the network actor has left. Its
/// articles are hidden (kept) and the network stops following it.
pub async fn on_unfollow(
    ctx: &FedContext,
    local: &LocalActor,
    follower: &DbRemoteActor,
) -> Result<(), FederationError> {
    if ctx.settings().network.is_none() || !matches!(local, LocalActor::Network(_)) {
        return Ok(());
    }
    if let Some(m) = ctx.store().mark_member_left(&follower.actor.id).await? {
        tracing::info!(member = %m.actor, "member left the network");
        unfollow_member(ctx, &m).await?;
    }
    Ok(())
}

/// The network actor follows the member's organisation (a fresh `Follow`).
pub(super) async fn follow_member(ctx: &FedContext, m: &Member) -> Result<(), FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let id = ctx.urls().activity(
        &actor_id,
        "follows",
        &uniq(&format!("{} {}", m.actor, Utc::now().timestamp_micros())),
    );
    ctx.store().add_following(&actor_id, &m.actor, &id).await?;
    let follow = outgoing::follow(&id, &actor_id, &m.actor).to_value()?;
    enqueue(ctx, &actor_id, &follow, std::slice::from_ref(&m.inbox)).await?;
    tracing::info!(member = %m.actor, "network actor follows the member");
    Ok(())
}

/// The network actor stops following the member, if it did.
async fn unfollow_member(ctx: &FedContext, m: &Member) -> Result<(), FederationError> {
    let network = super::settings(ctx)?;
    let actor_id = super::actor_id(ctx, network);
    let Some(follow) = ctx
        .store()
        .list_following(&actor_id)
        .await?
        .into_iter()
        .find(|f| f.target.id == m.actor)
    else {
        return Ok(());
    };
    let undo = outgoing::undo_follow(&follow.follow_id, &actor_id, &m.actor).to_value()?;
    enqueue(ctx, &actor_id, &undo, std::slice::from_ref(&m.inbox)).await?;
    ctx.store().remove_following(Some(&actor_id), &m.actor).await?;
    Ok(())
}

/// Member side: asks to join the network at `target` (`@network@host`):
/// the organisation follows the network actor.
pub async fn join(data: &Data<FedContext>, target: &str) -> Result<RemoteActor, FederationError> {
    let group = resolve_actor(data, target).await?;
    if group.kind != "Group" {
        return Err(FederationError::bad_request(format!(
            "{} is a {}, not a network (a Group actor)",
            group.handle(),
            group.kind
        )));
    }
    crate::outbound::follow(data, &group.id).await
}

/// Moderation: removes an item from the feed (hidden, kept) and undoes the
/// network actor's boost of it; `restore` (hidden false) shows it again and
/// announces it anew, under a new id, if it had been announced. An unknown
/// item is a 404; hiding a hidden item (or restoring a visible one) a 409.
pub async fn hide_item(ctx: &FedContext, id: &str, hidden: bool) -> Result<ModeratedItem, FederationError> {
    super::settings(ctx)?;
    let Some(item) = ctx.store().find_moderated_item(id).await? else {
        return Err(FederationError::Refused(
            axum::http::StatusCode::NOT_FOUND,
            format!("`{id}` is not an item of the shared feed (deleted at its origin, or never received)"),
        ));
    };
    if item.hidden == hidden {
        let state = if hidden { "already hidden" } else { "not hidden" };
        return Err(FederationError::Refused(
            axum::http::StatusCode::CONFLICT,
            format!("`{id}` is {state}"),
        ));
    }
    let announced = ctx.store().hide_network_item(id, hidden).await?;
    match (hidden, announced) {
        (true, Some(announce_id)) => {
            super::publish::undo_announce(ctx, id, &announce_id).await?;
        }
        (false, Some(_)) if item.member_status == MemberStatus::Approved => {
            super::publish::announce_item(ctx, id, true).await?;
        }
        _ => {}
    }
    ctx.store()
        .find_moderated_item(id)
        .await?
        .ok_or(FederationError::NotFound)
}
