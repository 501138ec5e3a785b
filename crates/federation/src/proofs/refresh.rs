//! Reading the remote Ed25519 keys we keep again from their controllers,
//! so that a key its owner has retired stops vouching for anything here.
//!
//! A key that verified a proof is kept (`remote_multikeys`) and used
//! without asking its server: that is what lets a coordinator take a
//! member's relayed article while the member is down. Without a second
//! look, a key the member retired (after `gazette keys rotate`, or because
//! it leaked) would go on verifying proofs here for ever, and the network
//! actor would go on serving the member's articles with proofs by a key
//! the member no longer lists, which no one else can check.
//!
//! So every stored key older than `max_age` is read again from its
//! controller's document (a signed GET, like any fetch):
//!
//! - still listed under `assertionMethod`, with the same public key: kept,
//!   with the time of this reading;
//! - no longer listed, listed with another public key, or its controller
//!   gone (404, 410): forgotten, with every kept copy its proof vouched
//!   for; those articles are read again from their members, which serve
//!   them with proofs by their current keys;
//! - the controller lists a key we do not hold beside it (a rotation in
//!   its grace period): the copies proven by the older key are read again
//!   at once, so they carry the new key's proof before the old one retires;
//! - the controller does not answer: nothing changes, and the key is read
//!   again at the next round; a key no reading has confirmed for
//!   [`UNCONFIRMED_ROUNDS`] times `max_age` is forgotten like a retired one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use activitypub_federation::config::{Data, FederationConfig};
use activitypub_federation::error::Error as FetchError;
use activitypub_federation::fetch::fetch_object_http;
use chrono::{DateTime, Utc};
use gazette_store::RemoteMultikey;
use serde_json::Value;
use tokio::sync::watch;
use url::Url;

use crate::context::FedContext;
use crate::error::FederationError;

/// Keys read in one round at most (the oldest readings first).
const ROUND_LIMIT: i64 = 500;

/// A key whose controller has not answered for this many times `max_age`
/// is forgotten.
pub const UNCONFIRMED_ROUNDS: i32 = 30;

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyReading {
    /// Controllers whose documents were read.
    pub controllers: usize,
    /// Keys still listed as stored.
    pub confirmed: usize,
    /// Keys forgotten (retired, replaced, controller gone, or unconfirmed too long).
    pub retired: usize,
    /// Controllers that did not answer.
    pub unreachable: usize,
    /// Kept copies read again from their members (the key of their proof
    /// retired or is being replaced).
    pub copies_renewed: usize,
}

/// Every `every`, reads again the keys last read more than `max_age`
/// ago, until `shutdown` turns true.
pub async fn run(
    config: FederationConfig<FedContext>,
    every: Duration,
    max_age: chrono::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let data = config.to_request_data();
        match read_keys_again(&data, Utc::now() - max_age, max_age).await {
            Ok(r) if r == KeyReading::default() => {}
            Ok(r) => tracing::info!(
                controllers = r.controllers,
                confirmed = r.confirmed,
                retired = r.retired,
                unreachable = r.unreachable,
                copies_renewed = r.copies_renewed,
                "remote Ed25519 keys read again"
            ),
            Err(e) => tracing::warn!(error = %e, "reading remote keys again failed; will retry"),
        }
    }
}

/// One round: the keys last read before `before` (at most [`ROUND_LIMIT`]),
/// grouped by controller, each controller's document read once.
pub async fn read_keys_again(
    data: &Data<FedContext>,
    before: DateTime<Utc>,
    max_age: chrono::Duration,
) -> Result<KeyReading, FederationError> {
    let stale = data.store().remote_multikeys_read_before(before, ROUND_LIMIT).await?;
    let controllers: BTreeSet<String> = stale.into_iter().map(|k| k.controller).collect();
    let mut reading = KeyReading::default();
    for controller in controllers {
        read_controller(data, &controller, max_age, &mut reading).await?;
    }
    Ok(reading)
}

/// The `Multikey`s a controller's document lists under `assertionMethod`:
/// key id → public key (`None` for an entry given by its id alone).
fn listed_keys(document: &Value) -> BTreeMap<String, Option<String>> {
    fn walk(v: &Value, out: &mut BTreeMap<String, Option<String>>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::String(id) => {
                out.entry(id.clone()).or_insert(None);
            }
            Value::Object(o) => {
                if let Some(id) = o.get("id").and_then(Value::as_str) {
                    let multibase = o.get("publicKeyMultibase").and_then(Value::as_str).map(str::to_owned);
                    out.insert(id.to_owned(), multibase);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    if let Some(methods) = document.get("assertionMethod") {
        walk(methods, &mut out);
    }
    out
}

/// Whether the stored `key` is still what `listed` says.
fn still_listed(key: &RemoteMultikey, listed: &BTreeMap<String, Option<String>>) -> bool {
    match listed.get(&key.id) {
        Some(Some(multibase)) => *multibase == key.public_key_multibase,
        // Listed by id only: the document does not say otherwise.
        Some(None) => true,
        None => false,
    }
}

async fn read_controller(
    data: &Data<FedContext>,
    controller: &str,
    max_age: chrono::Duration,
    reading: &mut KeyReading,
) -> Result<(), FederationError> {
    let stored = data.store().remote_multikeys_of(controller).await?;
    let now = Utc::now();
    reading.controllers += 1;
    let document = match Url::parse(controller) {
        Err(_) => None,
        Ok(url) => match fetch_object_http::<FedContext, Value>(&url, data).await {
            Ok(fetched) if fetched.object.get("id").and_then(Value::as_str) == Some(controller) => Some(fetched.object),
            Ok(fetched) => {
                tracing::info!(controller, answered = %fetched.url, "a key's controller answered with another document; its keys are forgotten");
                None
            }
            Err(FetchError::ObjectDeleted(_) | FetchError::NotFound) => None,
            Err(e) => {
                reading.unreachable += 1;
                tracing::info!(controller, error = %e, "cannot read a key's controller again; its keys are kept for now");
                let unconfirmed_since = now - max_age * UNCONFIRMED_ROUNDS;
                for key in stored.iter().filter(|k| k.fetched_at < unconfirmed_since) {
                    retire(data, key, reading).await?;
                }
                return Ok(());
            }
        },
    };
    let listed = document.as_ref().map(listed_keys).unwrap_or_default();
    let (kept, gone): (Vec<_>, Vec<_>) = stored.iter().partition(|k| still_listed(k, &listed));
    for key in gone {
        retire(data, key, reading).await?;
    }
    let rotated = listed
        .iter()
        .any(|(id, multibase)| multibase.is_some() && !stored.iter().any(|k| &k.id == id));
    for key in kept {
        data.store()
            .save_remote_multikey(&RemoteMultikey {
                fetched_at: now,
                ..key.clone()
            })
            .await?;
        reading.confirmed += 1;
        if rotated {
            // A key we do not hold is listed too: the controller is in a
            // rotation's grace period, and signs with the new key now.
            let items = data.store().network_items_proven_by(&key.id).await?;
            reading.copies_renewed += crate::network::renew_kept_copies(data, &items).await;
        }
    }
    Ok(())
}

/// Forgets `key` and the copies it vouched for, and reads those again.
async fn retire(
    data: &Data<FedContext>,
    key: &RemoteMultikey,
    reading: &mut KeyReading,
) -> Result<(), FederationError> {
    let items = data.store().retire_remote_multikey(&key.id).await?;
    tracing::info!(key = %key.id, controller = %key.controller, copies = items.len(), "a remote key is no longer listed by its controller; forgotten");
    reading.retired += 1;
    reading.copies_renewed += crate::network::renew_kept_copies(data, &items).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(id: &str, multibase: &str) -> RemoteMultikey {
        RemoteMultikey {
            id: id.into(),
            controller: "https://m.example/users/a".into(),
            public_key_multibase: multibase.into(),
            fetched_at: Utc::now(),
        }
    }

    #[test]
    fn listed_keys_are_read_from_objects_ids_and_lists() {
        let doc = json!({"assertionMethod": [
            {"id": "https://m.example/users/a#k2", "type": "Multikey", "publicKeyMultibase": "z6Mk2"},
            "https://m.example/users/a#k1",
        ]});
        let listed = listed_keys(&doc);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed["https://m.example/users/a#k2"].as_deref(), Some("z6Mk2"));
        assert_eq!(listed["https://m.example/users/a#k1"], None);
        let one = json!({"assertionMethod": {"id": "https://m.example/users/a#k", "publicKeyMultibase": "z6Mk"}});
        assert_eq!(listed_keys(&one).len(), 1);
        assert!(listed_keys(&json!({"id": "https://m.example/users/a"})).is_empty());
    }

    #[test]
    fn a_key_stays_while_listed_with_the_same_public_key() {
        let doc = json!({"assertionMethod": [
            {"id": "https://m.example/users/a#k2", "publicKeyMultibase": "z6Mk2"},
            "https://m.example/users/a#k1",
        ]});
        let listed = listed_keys(&doc);
        assert!(still_listed(&key("https://m.example/users/a#k2", "z6Mk2"), &listed));
        // The same id with another public key is not the key we checked.
        assert!(!still_listed(
            &key("https://m.example/users/a#k2", "z6MkOther"),
            &listed
        ));
        assert!(still_listed(&key("https://m.example/users/a#k1", "z6Mk1"), &listed));
        assert!(!still_listed(&key("https://m.example/users/a#k0", "z6Mk0"), &listed));
    }
}
