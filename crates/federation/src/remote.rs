//! Remote actors as activitypub_federation sees them: fetched, verified and
//! cached in the store (`remote_actors`), refreshed after a day. The first
//! fetch of an actor is shared by every request that needs it meanwhile
//! ([`FirstFetches`]). Also the instance actor, whose key signs our outgoing
//! fetches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::{Actor, Object};
use chrono::{DateTime, Utc};
use gazette_core::RemoteActor;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::context::FedContext;
use crate::error::FederationError;

/// A remote actor and its parsed id.
#[derive(Debug, Clone)]
pub struct DbRemoteActor {
    pub id: Url,
    pub actor: RemoteActor,
}

impl DbRemoteActor {
    fn new(actor: RemoteActor) -> Result<Self, FederationError> {
        Ok(DbRemoteActor {
            id: Url::parse(&actor.id)?,
            actor,
        })
    }
}

/// The fields of a remote actor document we read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApActor {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub inbox: Url,
    #[serde(default)]
    pub endpoints: Option<Endpoints>,
    #[serde(deserialize_with = "first_public_key")]
    pub public_key: ApPublicKey,
    #[serde(default)]
    pub url: Option<serde_json::Value>,
    #[serde(default)]
    pub icon: Option<serde_json::Value>,
    #[serde(default)]
    pub moved_to: Option<Url>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default)]
    pub shared_inbox: Option<Url>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApPublicKey {
    pub id: String,
    pub owner: Url,
    pub public_key_pem: String,
}

/// `publicKey` is one key, or a list of keys with the current one first (as
/// Gazette serves it while an old key is in its grace period after a
/// rotation): the first is kept.
fn first_public_key<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ApPublicKey, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(ApPublicKey),
        Many(Vec<ApPublicKey>),
    }
    match OneOrMany::deserialize(d)? {
        OneOrMany::One(key) => Ok(key),
        OneOrMany::Many(keys) => keys
            .into_iter()
            .next()
            .ok_or_else(|| serde::de::Error::custom("publicKey is an empty list")),
    }
}

/// `url` and `icon` come as a string, an object with `href`/`url`, or a list
/// of either: the first `http(s)` one (a `javascript:` link would end up in
/// an `href`).
fn first_link(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => gazette_core::links::web_url(s),
        serde_json::Value::Array(items) => items.iter().find_map(first_link),
        serde_json::Value::Object(o) => o.get("href").or_else(|| o.get("url")).and_then(first_link),
        _ => None,
    }
}

pub(crate) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

#[async_trait::async_trait]
impl Object for DbRemoteActor {
    type DataType = FedContext;
    type Kind = ApActor;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.actor.refreshed_at)
    }

    /// The stored actor; an actor we have never seen is fetched here, once
    /// however many requests ask for it at the same time (the library would
    /// fetch it for each of them: a burst of activities from a new actor
    /// meant a burst of fetches).
    async fn read_from_id(object_id: Url, data: &Data<FedContext>) -> Result<Option<Self>, FederationError> {
        if let Some(a) = data.actor_cache().get(object_id.as_str()) {
            return Ok(Some(DbRemoteActor::new(a)?));
        }
        if let Some(a) = data.store().find_remote_actor(object_id.as_str()).await? {
            data.actor_cache().put(&a);
            return Ok(Some(DbRemoteActor::new(a)?));
        }
        if host_of(&object_id) == data.domain() {
            return Ok(None);
        }
        let turn = data.first_fetches().turn(object_id.as_str()).await;
        if let Some(a) = data.store().find_remote_actor(object_id.as_str()).await? {
            // Fetched by the request we waited for.
            return Ok(Some(DbRemoteActor::new(a)?));
        }
        if turn.earlier_failed() {
            // Leave it to the library, as before: the failure may have been passing.
            return Ok(None);
        }
        let fetched = async {
            let res = fetch_object_http::<FedContext, ApActor>(&object_id, data).await?;
            DbRemoteActor::verify(&res.object, &res.url, data).await?;
            DbRemoteActor::from_json(res.object, data).await
        }
        .await;
        if fetched.is_err() {
            turn.failed();
        }
        fetched.map(Some)
    }

    async fn into_json(self, _data: &Data<FedContext>) -> Result<ApActor, FederationError> {
        let a = self.actor;
        Ok(ApActor {
            id: self.id.clone(),
            kind: a.kind,
            preferred_username: Some(a.preferred_username),
            name: Some(a.name),
            inbox: Url::parse(&a.inbox)?,
            endpoints: Some(Endpoints {
                shared_inbox: a.shared_inbox.as_deref().map(Url::parse).transpose()?,
            }),
            public_key: ApPublicKey {
                id: a.public_key_id,
                owner: self.id,
                public_key_pem: a.public_key_pem,
            },
            url: a.url.map(serde_json::Value::String),
            icon: a.icon.map(serde_json::Value::String),
            moved_to: a.moved_to.as_deref().map(Url::parse).transpose()?,
        })
    }

    async fn verify(json: &ApActor, expected_domain: &Url, _data: &Data<FedContext>) -> Result<(), FederationError> {
        verify_domains_match(&json.id, expected_domain)?;
        if json.public_key.owner != json.id {
            return Err(FederationError::bad_request(format!(
                "key of {} is owned by {}",
                json.id, json.public_key.owner
            )));
        }
        Ok(())
    }

    async fn from_json(json: ApActor, data: &Data<FedContext>) -> Result<Self, FederationError> {
        let host = host_of(&json.id);
        let username = json.preferred_username.clone().unwrap_or_else(|| {
            json.id
                .path_segments()
                .and_then(|mut s| s.next_back().map(str::to_owned))
                .unwrap_or_default()
        });
        let actor = RemoteActor {
            id: json.id.to_string(),
            kind: json.kind,
            name: json
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| username.clone()),
            preferred_username: username,
            host,
            inbox: json.inbox.to_string(),
            shared_inbox: json.endpoints.and_then(|e| e.shared_inbox).map(|u| u.to_string()),
            url: json.url.as_ref().and_then(first_link),
            icon: json.icon.as_ref().and_then(first_link),
            public_key_id: json.public_key.id,
            public_key_pem: json.public_key.public_key_pem,
            moved_to: json.moved_to.map(|u| u.to_string()),
            refreshed_at: Utc::now(),
        };
        data.store().upsert_remote_actor(&actor).await?;
        data.actor_cache().put(&actor);
        DbRemoteActor::new(actor)
    }
}

impl Actor for DbRemoteActor {
    fn public_key_pem(&self) -> &str {
        &self.actor.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        None
    }

    fn inbox(&self) -> Url {
        Url::parse(&self.actor.inbox).unwrap_or_else(|_| self.id.clone())
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.actor.shared_inbox.as_deref().and_then(|s| Url::parse(s).ok())
    }
}

/// Remote actors read recently, so a burst of activities from the same
/// senders does not read each one from the database again. Entries live
/// [`ActorCache::TTL`] (another process sharing the database may have
/// refreshed the actor meanwhile; a key that stopped verifying is re-fetched
/// by the inbox anyway); past [`ActorCache::MAX`] entries the least used
/// are evicted, which bounds its memory.
pub(crate) struct ActorCache(moka::sync::Cache<String, RemoteActor>);

impl Default for ActorCache {
    fn default() -> Self {
        ActorCache(
            moka::sync::Cache::builder()
                .max_capacity(Self::MAX)
                .time_to_live(Self::TTL)
                .build(),
        )
    }
}

impl ActorCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(30);
    const MAX: u64 = 10_000;

    pub(crate) fn get(&self, id: &str) -> Option<RemoteActor> {
        self.0.get(id)
    }

    pub(crate) fn put(&self, actor: &RemoteActor) {
        self.0.insert(actor.id.clone(), actor.clone());
    }

    pub(crate) fn forget(&self, id: &str) {
        self.0.invalidate(id);
    }
}

/// Remote actors being fetched for the first time. The first request that
/// needs an unknown actor fetches it; the others wait for their turn, find
/// it stored and fetch nothing. If that fetch failed, each waiter goes on as
/// the library would (fetching for itself), so one bad answer is not
/// handed to every request.
#[derive(Default)]
pub(crate) struct FirstFetches(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<bool>>>>>);

/// One request's turn at fetching an actor; the next waiter goes on when it
/// is dropped, and the last one removes the entry.
pub(crate) struct Turn {
    guard: Option<tokio::sync::OwnedMutexGuard<bool>>,
    map: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<bool>>>>>,
    key: String,
}

impl FirstFetches {
    pub(crate) async fn turn(&self, actor_id: &str) -> Turn {
        let gate = {
            let mut map = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(actor_id.to_owned()).or_default().clone()
        };
        Turn {
            guard: Some(gate.lock_owned().await),
            map: self.0.clone(),
            key: actor_id.to_owned(),
        }
    }
}

impl Turn {
    /// Whether a request before this one failed to fetch the actor.
    fn earlier_failed(&self) -> bool {
        self.guard.as_deref().copied().unwrap_or(false)
    }

    fn failed(mut self) {
        if let Some(guard) = self.guard.as_mut() {
            **guard = true;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only the map holds it: nobody waits, nobody else has a turn.
        if map.get(&self.key).is_some_and(|gate| Arc::strong_count(gate) == 1) {
            map.remove(&self.key);
        }
    }
}

/// The instance actor: an `Application` whose key signs our GET requests so
/// servers in authorized-fetch mode answer them.
#[derive(Debug, Clone)]
pub struct InstanceActor {
    pub id: Url,
    pub inbox: Url,
    pub public_key_pem: String,
    pub private_key_pem: String,
}

#[async_trait::async_trait]
impl Object for InstanceActor {
    type DataType = FedContext;
    type Kind = serde_json::Value;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(_object_id: Url, _data: &Data<FedContext>) -> Result<Option<Self>, FederationError> {
        // The instance actor is local and never looked up through the library.
        Ok(None)
    }

    async fn into_json(self, data: &Data<FedContext>) -> Result<serde_json::Value, FederationError> {
        // The keys as stored now: a key rotated since start is served.
        let keys = crate::keys::served_keys(data, crate::keys::INSTANCE_KEY, chrono::Utc::now()).await?;
        Ok(crate::json::instance_actor(data.urls(), data.urls().host(), &keys))
    }

    async fn verify(
        _json: &serde_json::Value,
        _expected: &Url,
        _data: &Data<FedContext>,
    ) -> Result<(), FederationError> {
        Err(FederationError::bad_request(
            "the instance actor is local and is not received from others",
        ))
    }

    async fn from_json(_json: serde_json::Value, _data: &Data<FedContext>) -> Result<Self, FederationError> {
        Err(FederationError::bad_request(
            "the instance actor is local and is not received from others",
        ))
    }
}

impl Actor for InstanceActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key_pem.clone())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_at_a_time_per_actor_and_failures_are_passed_on() {
        let fetches = Arc::new(FirstFetches::default());
        let first = fetches.turn("https://a.example/u/1").await;
        // Another actor is not held up.
        let other = fetches.turn("https://b.example/u/2").await;
        drop(other);
        // Polled once by hand: it must be waiting now, not after some time.
        let mut waiter = std::pin::pin!(fetches.turn("https://a.example/u/1"));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            waiter.as_mut().poll(&mut cx).is_pending(),
            "the second request waits for the first fetch"
        );
        first.failed();
        assert!(waiter.await.earlier_failed(), "the waiter learns that the fetch failed");
        assert!(
            fetches.0.lock().unwrap().is_empty(),
            "finished turns leave nothing behind"
        );
        assert!(!fetches.turn("https://a.example/u/1").await.earlier_failed());
    }

    /// A rotated actor's `publicKey` list is read as its first (current) key.
    #[test]
    fn public_key_lists_keep_the_first_key() {
        let actor = |keys: serde_json::Value| {
            serde_json::from_value::<ApActor>(serde_json::json!({
                "id": "https://g.example/users/a", "type": "Person",
                "inbox": "https://g.example/users/a/inbox", "publicKey": keys,
            }))
        };
        let key = |f: &str| {
            serde_json::json!({"id": format!("https://g.example/users/a#{f}"),
                               "owner": "https://g.example/users/a", "publicKeyPem": f})
        };
        assert_eq!(actor(key("main-key")).unwrap().public_key.public_key_pem, "main-key");
        let rotated = actor(serde_json::json!([key("key-2"), key("main-key")])).unwrap();
        assert_eq!(rotated.public_key.id, "https://g.example/users/a#key-2");
        assert!(actor(serde_json::json!([])).is_err());
    }
}
