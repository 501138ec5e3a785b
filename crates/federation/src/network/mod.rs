//! The network coordinator role (`[network] enabled`): a `Group` actor that
//! member organisations follow to ask to join, the membership decisions,
//! the aggregation of members' articles into the shared feed (only from
//! approved members' hosts, in order, re-fetched from their origin when
//! someone else relays them), the backfill of a new member's outbox, and the
//! re-publication of each new article as the network actor's `Announce`.
//!
//! The inbox calls in here at a few points ([`on_follow`], [`on_object`],
//! [`on_announce`], [`on_delete`], [`on_actor_update`]); each does nothing on
//! an instance that is not a coordinator.

pub mod backfill;
mod ingest;
pub mod membership;
pub mod outbox;
mod profile;
mod publish;
pub(crate) mod rate;
pub mod retry;

pub(crate) use ingest::renew_kept_copies;
pub use ingest::{on_announce, on_delete, on_object};
pub use membership::{on_actor_update, on_follow, on_follow_accepted, on_unfollow};
pub use profile::{item_from_object, profile_from_actor};

use crate::context::{FedContext, NetworkSettings};
use crate::error::FederationError;

/// Where the shared feed is served (HTML; `.atom` and `.json` beside it).
pub const FEED_PATH: &str = "/network/feed";

/// The coordinator settings, or a refusal naming the setting to turn on.
pub fn settings(ctx: &FedContext) -> Result<&NetworkSettings, FederationError> {
    ctx.settings().network.as_ref().ok_or_else(|| {
        FederationError::bad_request(
            "this instance is not a network coordinator (set `[network] enabled = true`, or GAZETTE_NETWORK__ENABLED=true)",
        )
    })
}

/// Inbox hook, before an activity is processed (and before it is recorded
/// as received, so a retry is not taken for a duplicate): an article
/// activity from an approved member's host over the member's rate is
/// refused with `429` and `Retry-After`, and counted in its health.
pub async fn check_member_rate(ctx: &FedContext, kind: &str, actor: &url::Url) -> Result<(), FederationError> {
    let Some(network) = &ctx.settings().network else {
        return Ok(());
    };
    if !matches!(kind, "Create" | "Update" | "Delete" | "Announce") {
        return Ok(());
    }
    let host = crate::remote::host_of(actor);
    let Err(wait) = ctx
        .member_buckets()
        .take(&host, network.member_rate_per_second, network.member_burst)
    else {
        return Ok(());
    };
    // Only members are limited here; anyone else's articles are not aggregated anyway.
    if !ctx.store().count_member_rate_limited(&host).await? {
        return Ok(());
    }
    let secs = rate::retry_after_secs(wait);
    Err(FederationError::RateLimited(
        secs,
        format!(
            "{host} sent more than {} article activities per second (bursts of {}); retry after {secs} s",
            network.member_rate_per_second, network.member_burst
        ),
    ))
}

/// The network actor's id.
pub fn actor_id(ctx: &FedContext, network: &NetworkSettings) -> String {
    ctx.urls().actor(&network.username)
}

/// Inbox middleware of a coordinator: a request refused with `401` (its
/// signature did not verify) whose key lives on a member's host counts as a
/// signature failure of that member, shown in its health. Only the response
/// status and the `keyId` host are read; the request goes on untouched.
pub async fn count_signature_failures(
    axum::extract::State(ctx): axum::extract::State<FedContext>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let key_host = match ctx.settings().network {
        Some(_) => crate::safety::signature_key_id(request.headers())
            .and_then(|k| url::Url::parse(&k).ok())
            .map(|u| crate::remote::host_of(&u)),
        None => None,
    };
    let response = next.run(request).await;
    if response.status() == axum::http::StatusCode::UNAUTHORIZED
        && let Some(host) = key_host
        && let Err(e) = ctx.store().count_member_signature_failure(&host).await
    {
        tracing::warn!(host, error = %e, "cannot count a member's signature failure");
    }
    response
}
