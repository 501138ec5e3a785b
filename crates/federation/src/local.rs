//! Local actors: the organisation (`Organization`), each author (`Person`)
//! and, on a network coordinator, the network actor (`Group`), sharing the
//! `/users/{username}` namespace, plus their JSON and keys.

use gazette_core::{Author, Organisation};
use serde_json::Value;

use crate::context::{FedContext, NetworkSettings};
use crate::error::FederationError;
use crate::json::{self, ActorParts};
use crate::keys::{ORGANISATION_KEY, author_key, current_key, served_keys};

/// Key name of the network actor in `actor_keys`.
pub const NETWORK_KEY: &str = "network";

#[derive(Debug, Clone)]
pub enum LocalActor {
    Organisation(Organisation),
    Author(Author),
    /// The network actor of a coordinator (see `crate::network`).
    Network(NetworkSettings),
}

impl LocalActor {
    pub fn username(&self) -> &str {
        match self {
            LocalActor::Organisation(o) => &o.username,
            LocalActor::Author(a) => &a.username,
            LocalActor::Network(n) => &n.username,
        }
    }

    pub fn key_name(&self) -> String {
        match self {
            LocalActor::Organisation(_) => ORGANISATION_KEY.to_owned(),
            LocalActor::Author(a) => author_key(&a.id),
            LocalActor::Network(_) => NETWORK_KEY.to_owned(),
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            LocalActor::Organisation(o) => &o.name,
            LocalActor::Author(a) => &a.name,
            LocalActor::Network(n) => &n.name,
        }
    }
}

/// The local actor with this username: the network actor (on a
/// coordinator), the organisation, then authors.
pub async fn find_local_actor(ctx: &FedContext, username: &str) -> Result<Option<LocalActor>, FederationError> {
    if let Some(network) = &ctx.settings().network
        && network.username == username
    {
        return Ok(Some(LocalActor::Network(network.clone())));
    }
    if let Some(org) = ctx.store().find_organisation().await?
        && org.username == username
    {
        return Ok(Some(LocalActor::Organisation(org)));
    }
    match ctx.store().find_author(username).await? {
        Some(a) if a.username == username => Ok(Some(LocalActor::Author(a))),
        _ => Ok(None),
    }
}

/// The local actor whose id is `actor_id`, if it is one of ours.
pub async fn local_actor_by_id(ctx: &FedContext, actor_id: &str) -> Result<Option<LocalActor>, FederationError> {
    match ctx.urls().local_username(actor_id) {
        Some(username) => find_local_actor(ctx, username).await,
        None => Ok(None),
    }
}

/// The key a delivery is signed with: `signer` is a local actor's id (its
/// current key: key id `#main-key`, or `#key-<n>` after a rotation), or one
/// of its key ids. An old key signs while it is in its grace period and
/// still has its private half (a rotation's `Update` is signed so, with the
/// key followers hold); past that, the current key signs instead. Returns
/// the key id and private PEM.
pub async fn private_key_for(ctx: &FedContext, signer: &str) -> Result<Option<(String, String)>, FederationError> {
    let (actor_id, fragment) = match signer.split_once('#') {
        Some((actor, fragment)) => (actor, Some(fragment)),
        None => (signer, None),
    };
    let local_key = if actor_id == ctx.urls().instance_actor() {
        crate::keys::INSTANCE_KEY.to_owned()
    } else {
        match local_actor_by_id(ctx, actor_id).await? {
            Some(actor) => actor.key_name(),
            None => return Ok(None),
        }
    };
    let key = current_key(ctx, &local_key).await?;
    if let Some(fragment) = fragment.filter(|f| *f != key.key_fragment) {
        let old = ctx
            .store()
            .find_old_actor_private_key(&local_key, fragment, chrono::Utc::now())
            .await?;
        match old {
            Some(pem) => return Ok(Some((ctx.urls().key_id_with(actor_id, fragment), pem))),
            None => tracing::info!(
                signer,
                "that key has retired (or kept no private half); signing with the current key"
            ),
        }
    }
    Ok(Some((
        ctx.urls().key_id_with(actor_id, &key.key_fragment),
        key.private_key_pem,
    )))
}

/// The actor document of a local actor.
pub async fn actor_json(ctx: &FedContext, actor: &LocalActor) -> Result<Value, FederationError> {
    let keys = served_keys(ctx, &actor.key_name(), chrono::Utc::now()).await?;
    let store = ctx.store();
    let manually_approves_followers = ctx.manually_approves_followers().await?;
    let mut document = match actor {
        LocalActor::Organisation(org) => {
            let logo = match &org.logo {
                Some(id) => store.find_media(id).await?,
                None => None,
            };
            let parts = ActorParts {
                keys: &keys,
                icon: logo.as_ref(),
                image: None,
                manually_approves_followers,
            };
            json::organisation_actor(ctx.urls(), org, &parts)
        }
        LocalActor::Author(author) => {
            let avatar = match &author.avatar {
                Some(id) => store.find_media(id).await?,
                None => None,
            };
            let parts = ActorParts {
                keys: &keys,
                icon: avatar.as_ref(),
                image: None,
                manually_approves_followers,
            };
            json::author_actor(ctx.urls(), author, &parts)
        }
        LocalActor::Network(network) => {
            let parts = ActorParts {
                keys: &keys,
                icon: None,
                image: None,
                manually_approves_followers,
            };
            json::network_actor(ctx.urls(), network, &parts)
        }
    };
    // FEP-521a: the Ed25519 key its integrity proofs are made with, and
    // during a rotation's grace period the replaced one, which made the
    // proofs others keep.
    let multikeys = crate::proofs::keys::served_multikeys(ctx, &actor.key_name(), chrono::Utc::now()).await?;
    document["assertionMethod"] =
        crate::proofs::keys::assertion_method(&ctx.urls().actor(actor.username()), &multikeys);
    Ok(document)
}
