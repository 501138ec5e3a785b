//! Members never stuck. An approved member is fully in the network once
//! the network actor's follow of it is accepted (its new articles arrive)
//! and the backfill of its outbox is done (its earlier ones too). When one
//! of those stalls — the `Follow` was given up (the coordinator ran with a
//! wrong setting, the member's server was down for days), never answered,
//! never sent, or the backfill failed — [`diagnose`] says which, with the
//! last error, and [`retry`] (`gazette network retry`, the admin's "Retry"
//! button, or inviting the member again) starts it again: a fresh `Follow`,
//! and the backfill queued at once. Failed backfills are also retried by
//! themselves with a growing wait (see `Backfill::retry_delay`).

use gazette_core::{FollowStatus, Member, MemberStatus};
use gazette_store::{DeliveryStatus, MemberHealth};

use crate::context::FedContext;
use crate::error::FederationError;

/// What [`retry`] did.
#[derive(Debug, Clone)]
pub struct Retried {
    pub member: Member,
    /// A fresh `Follow` of the member's organisation was queued.
    pub follow_sent: bool,
    /// The backfill was queued to run at once.
    pub backfill_queued: bool,
}

/// Why a member may be stuck (the codes of `MemberHealth::stuck`).
pub const STUCK: [&str; 5] = [
    "follow_given_up",
    "follow_failing",
    "follow_unanswered",
    "not_followed",
    "backfill_failed",
];

/// What to do about a member stuck for `reason` (one of [`STUCK`]), in
/// English for the command line (the admin has it in its own strings).
pub fn advice(reason: &str) -> &'static str {
    match reason {
        "follow_given_up" => {
            "the network's Follow was given up: fix what the error names (this server's settings, or the member's \
             server), then run `gazette network retry` for it"
        }
        "follow_failing" => {
            "the network's Follow is being retried by the delivery queue; once the member's server answers it \
             goes through (`gazette network retry` sends a fresh one now)"
        }
        "follow_unanswered" => {
            "the member's server did not accept the network's Follow: its editors may have to approve it \
             (manual approval of followers); `gazette network retry` sends it again"
        }
        "not_followed" => "the network does not follow this member: `gazette network retry` follows it",
        "backfill_failed" => {
            "reading its earlier articles failed; tried again by itself later, or now with `gazette network retry`"
        }
        _ => "",
    }
}

/// Whether the network actor's follow of `m` is accepted.
pub(super) async fn followed(ctx: &FedContext, m: &Member) -> Result<bool, FederationError> {
    let network = super::settings(ctx)?;
    Ok(ctx
        .store()
        .find_following(&super::actor_id(ctx, network), &m.actor)
        .await?
        .is_some_and(|f| f.status == FollowStatus::Accepted))
}

/// Fills `h.stuck` and `h.last_error` for an approved member that is stuck.
/// A `Follow` still on its first try is not stuck: it is on its way.
pub(super) async fn diagnose(
    ctx: &FedContext,
    network_actor: &str,
    h: &mut MemberHealth,
) -> Result<(), FederationError> {
    if h.member.status != MemberStatus::Approved {
        return Ok(());
    }
    let (stuck, error) = match ctx.store().find_following(network_actor, &h.member.actor).await? {
        None => ("not_followed", None),
        Some(f) if f.status == FollowStatus::Pending => {
            let deliveries = ctx.store().list_deliveries(&f.follow_id).await?;
            match deliveries.iter().max_by_key(|d| d.created_at) {
                Some(d) if d.status == DeliveryStatus::GivenUp => ("follow_given_up", d.last_error.clone()),
                Some(d) if d.status == DeliveryStatus::Pending && d.attempts > 0 => {
                    ("follow_failing", d.last_error.clone())
                }
                Some(d) if d.status == DeliveryStatus::Pending => return Ok(()),
                _ => ("follow_unanswered", None),
            }
        }
        Some(_) if h.member.backfill.state == "failed" => ("backfill_failed", h.member.backfill.error.clone()),
        Some(_) => return Ok(()),
    };
    h.stuck = Some(stuck.to_owned());
    h.last_error = error;
    Ok(())
}

/// Gets an approved member going again: unless the network's follow of it
/// is accepted, its own follow of the network is accepted (if pending)
/// and a fresh `Follow` is sent (its `Accept` reads the outbox again from
/// the first page); unless its backfill is done, the backfill runs at once
/// (resuming where it stopped). A member that is not approved (approve it
/// instead), or not stuck, is a 409.
pub async fn retry(ctx: &FedContext, target: &str) -> Result<Retried, FederationError> {
    super::settings(ctx)?;
    let m = super::membership::member(ctx, target).await?;
    if m.status != MemberStatus::Approved {
        return Err(FederationError::Refused(
            axum::http::StatusCode::CONFLICT,
            format!(
                "@{} is {}: only an approved member can be retried (approve it instead)",
                m.handle,
                m.status.as_str()
            ),
        ));
    }
    crate::safety::check_actor(ctx, &m.actor).await?;
    let follow_sent = !followed(ctx, &m).await?;
    if follow_sent {
        super::membership::accept_member_follow(ctx, &m).await?;
        super::membership::follow_member(ctx, &m).await?;
    }
    let backfill_queued = ctx.store().retry_backfill(&m.actor).await?;
    if !follow_sent && !backfill_queued {
        return Err(FederationError::Refused(
            axum::http::StatusCode::CONFLICT,
            format!(
                "@{} is not stuck: the network's follow of it is accepted and its backfill is done",
                m.handle
            ),
        ));
    }
    tracing::info!(member = %m.actor, follow_sent, backfill_queued, "member retried");
    Ok(Retried {
        member: ctx.store().get_member(&m.actor).await?,
        follow_sent,
        backfill_queued,
    })
}
