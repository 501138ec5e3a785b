//! Backfill: when a member is approved, the coordinator reads the member's
//! outbox, page after page, so the articles it published before joining
//! appear in the feed (they are not announced again: followers would get a
//! burst of old boosts). Bounded by `network.backfill_max_pages` and
//! `backfill_max_items`; a page seen twice (a loop), a page on another host
//! or a page that does not parse ends it. Progress is saved after every
//! page, so a restart resumes where it stopped. A run that fails is tried
//! again by itself with a growing wait (saved too, so a restart keeps to it).
//!
//! A member's articles reach the coordinator from the moment its instance
//! accepts the network's follow; the backfill covers what came before. So
//! while that follow is pending, the first run waits for the `Accept`
//! (state `waiting`): read then, the outbox misses nothing and is read
//! once. A member whose actor says `manuallyApprovesFollowers` (its editors
//! may take days) is read at once instead, so its earlier articles show
//! meanwhile, and read again from the first page when its `Accept` comes:
//! what it published in between was neither read nor delivered. A member
//! approved again (suspended, removed or departed) is read again from the
//! first page: what it published meanwhile was ignored. A run asked for
//! while one is in progress starts once that one ends.

use std::collections::HashSet;
use std::time::Duration;

use activitypub_federation::config::FederationConfig;
use activitypub_federation::fetch::fetch_object_http;
use gazette_core::{Backfill, FollowStatus, Member};
use serde_json::Value;
use tokio::sync::watch;
use url::Url;

use super::ingest::{Source, refetch_and_store, store_item};
use super::membership::fetch_actor_document;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::host_of;

/// How often the task looks for members to backfill (approvals made by the
/// CLI in another process are picked up here).
const POLL: Duration = Duration::from_secs(2);

/// Runs pending backfills until `shutdown` turns true.
pub async fn run(config: FederationConfig<FedContext>, mut shutdown: watch::Receiver<bool>) {
    loop {
        match config.to_request_data().store().members_to_backfill().await {
            Ok(members) => {
                for m in members {
                    if *shutdown.borrow() {
                        return;
                    }
                    match backfill_member(&config, &m).await {
                        Ok(b) => {
                            tracing::info!(member = %m.actor, pages = b.pages, items = b.items, state = %b.state, "backfill")
                        }
                        Err(e) => tracing::warn!(member = %m.actor, error = %e, "backfill could not save its progress"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list members to backfill"),
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

fn link(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

async fn fetch(config: &FederationConfig<FedContext>, url: &str) -> Result<Value, FederationError> {
    let url = Url::parse(url)?;
    // A fresh request context per fetch: each allows only 20 fetches.
    Ok(fetch_object_http::<FedContext, Value>(&url, &config.to_request_data())
        .await?
        .object)
}

/// Backfills one member from where it stopped; returns the saved progress.
/// A failure is recorded (state `failed`, with the error, the failures in
/// a row and when it is tried again: 30 s, then twice as long each time up
/// to 6 h); `gazette network retry` (or approving the member again) tries
/// at once.
pub async fn backfill_member(
    config: &FederationConfig<FedContext>,
    member: &Member,
) -> Result<Backfill, FederationError> {
    let data = config.to_request_data();
    let network = super::settings(&data)?.clone();
    let mut b = member.backfill.clone();
    // Taken before the follow is looked at: an `Accept` arriving in between
    // asks again, so a run is never lost (at worst one runs twice).
    if data.store().take_backfill_rerun(&member.actor).await? {
        // Read again from the first page: what was published since the
        // last run (items already in the feed are written again, harmlessly).
        b = Backfill::default();
    }
    let mut actor = None;
    if b.next.is_none() && b.pages == 0 {
        let follow = data
            .store()
            .find_following(&super::actor_id(&data, &network), &member.actor)
            .await?
            .map(|f| f.status);
        if follow == Some(FollowStatus::Pending) {
            match fetch_actor_document(&data, &member.actor).await {
                Ok(doc) if waits_for_accept(&doc) => {
                    b.state = WAITING.into();
                    b.error = None;
                    data.store().save_backfill(&member.actor, &b).await?;
                    return Ok(b);
                }
                Ok(doc) => actor = Some(doc),
                // Read below again, and recorded as the run's failure.
                Err(_) => {}
            }
        }
    }
    b.state = "pending".into();
    b.error = None;
    let result = walk(
        config,
        member,
        actor,
        &mut b,
        network.backfill_max_pages,
        network.backfill_max_items,
    )
    .await;
    match result {
        Ok(()) => {
            b.state = "done".into();
            b.next = None;
            b.attempts = 0;
            b.retry_at = None;
        }
        Err(e) => {
            // Tried again by itself after a wait that doubles with every
            // failure in a row; saved, so a restarted server keeps to it.
            b.state = "failed".into();
            b.error = Some(e.to_string());
            b.attempts += 1;
            b.retry_at = Some(chrono::Utc::now() + Backfill::retry_delay(b.attempts));
        }
    }
    data.store().save_backfill(&member.actor, &b).await?;
    Ok(b)
}

/// The backfill state of a member whose first run waits for its `Accept`.
pub const WAITING: &str = "waiting";

/// Whether the first run waits for the member to accept the network's
/// (pending) follow: unless its actor says its followers are approved by
/// hand, the `Accept` comes at once, and a run before it could miss what
/// is published in between.
fn waits_for_accept(actor: &Value) -> bool {
    actor.get("manuallyApprovesFollowers").and_then(Value::as_bool) != Some(true)
}

async fn walk(
    config: &FederationConfig<FedContext>,
    member: &Member,
    actor: Option<Value>,
    b: &mut Backfill,
    max_pages: u32,
    max_items: u32,
) -> Result<(), FederationError> {
    let data = config.to_request_data();
    let mut next = b.next.clone();
    if next.is_none() && b.pages == 0 {
        let actor = match actor {
            Some(doc) => doc,
            None => fetch_actor_document(&data, &member.actor).await?,
        };
        let outbox_url = link(actor.get("outbox"))
            .ok_or_else(|| FederationError::bad_request(format!("{} has no outbox", member.actor)))?;
        check_host(member, &outbox_url)?;
        let outbox = fetch(config, &outbox_url).await?;
        read_items(config, member, &outbox, b, max_items).await;
        next = match outbox.get("first") {
            Some(Value::Object(first)) => {
                let first = Value::Object(first.clone());
                read_items(config, member, &first, b, max_items).await;
                link(first.get("next"))
            }
            other => link(other),
        };
    }
    let mut seen = HashSet::new();
    while let Some(url) = next.take() {
        if b.pages >= i64::from(max_pages) || b.items >= i64::from(max_items) {
            tracing::info!(member = %member.actor, pages = b.pages, items = b.items, "backfill bound reached");
            return Ok(());
        }
        if !seen.insert(url.clone()) {
            tracing::warn!(member = %member.actor, page = %url, "outbox pages loop; backfill ends here");
            return Ok(());
        }
        check_host(member, &url)?;
        let page = fetch(config, &url).await?;
        read_items(config, member, &page, b, max_items).await;
        b.pages += 1;
        next = link(page.get("next"));
        b.next = next.clone();
        data.store().save_backfill(&member.actor, b).await?;
    }
    Ok(())
}

fn check_host(member: &Member, url: &str) -> Result<(), FederationError> {
    let host = Url::parse(url).map(|u| host_of(&u))?;
    if host != member.host {
        return Err(FederationError::bad_request(format!(
            "outbox page {url} is not on the member's host {}",
            member.host
        )));
    }
    Ok(())
}

/// Stores the articles of one outbox page (a `Create`/`Update` with the
/// article embedded, or an `Announce`/bare id, fetched from the member's
/// host), up to the item budget. A bad item is logged and skipped.
async fn read_items(
    config: &FederationConfig<FedContext>,
    member: &Member,
    page: &Value,
    b: &mut Backfill,
    max_items: u32,
) {
    let items = page
        .get("orderedItems")
        .or_else(|| page.get("items"))
        .and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        if b.items >= i64::from(max_items) {
            return;
        }
        b.items += 1;
        let data = config.to_request_data();
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        let object = match kind {
            "Create" | "Update" | "Announce" => item.get("object").cloned().unwrap_or(Value::Null),
            _ => item.clone(),
        };
        let result = match &object {
            Value::Object(o) if kind != "Announce" && o.contains_key("content") => {
                let id = link(Some(&object)).unwrap_or_default();
                match check_host(member, &id) {
                    Ok(()) => store_item(&data, member, &object, Source::Backfill).await.map(|_| ()),
                    Err(e) => Err(e),
                }
            }
            other => match link(Some(other)) {
                Some(id) if check_host(member, &id).is_ok() => refetch_and_store(&data, member, &id, Source::Backfill)
                    .await
                    .map(|_| ()),
                Some(id) => {
                    tracing::debug!(member = %member.actor, object = %id, "outbox item from another host; skipped");
                    Ok(())
                }
                None => Ok(()),
            },
        };
        if let Err(e) = result {
            tracing::info!(member = %member.actor, error = %e, "outbox item skipped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_member_approving_followers_by_hand_is_read_before_its_accept() {
        assert!(waits_for_accept(&json!({ "manuallyApprovesFollowers": false })));
        assert!(waits_for_accept(&json!({ "type": "Organization" })));
        assert!(waits_for_accept(&json!({ "manuallyApprovesFollowers": "yes" })));
        assert!(!waits_for_accept(&json!({ "manuallyApprovesFollowers": true })));
    }
}
