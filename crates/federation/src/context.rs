//! What federation handlers need: the store, the URL scheme and settings.
//! Passed as activitypub_federation's app data; no globals.

use std::sync::Arc;

use gazette_store::Store;

use crate::remote::FirstFetches;
use crate::urls::Urls;

/// Federation settings from the instance configuration.
#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// Origin of the instance, e.g. `https://news.example.org`.
    pub public_url: String,
    /// Lets remote actors live on loopback/private addresses: tests only.
    pub allow_private_addresses: bool,
    /// Software version, for NodeInfo and the User-Agent.
    pub version: String,
    /// Whether replies show at once (`open`), only from followers
    /// (`followers_only`) or wait for a moderator (`moderated`).
    pub comment_policy: CommentPolicy,
    /// New followers of local actors wait for approval.
    pub manually_approves_followers: bool,
    /// `Open` federates with everyone but blocked domains; `Allowlist` only
    /// with the domains on the allowlist (a closed network).
    pub mode: FederationMode,
    /// AS2 representations (actors, collections, objects) answer only signed
    /// GETs (Mastodon's "secure mode"); the instance actor, WebFinger and
    /// NodeInfo stay public.
    pub authorized_fetch: bool,
    /// The network coordinator role (`[network] enabled`): the network
    /// actor, members and the shared feed. `None` on an ordinary instance.
    pub network: Option<NetworkSettings>,
}

/// The coordinator role's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSettings {
    /// Username of the network actor (a `Group`): `@{username}@{host}`.
    pub username: String,
    /// Its display name, e.g. "European SSE Network".
    pub name: String,
    /// A short description (plain text).
    pub summary: String,
    /// Bounds of a member's outbox backfill: pages fetched, articles read.
    pub backfill_max_pages: u32,
    pub backfill_max_items: u32,
}

impl FederationSettings {
    /// Production defaults for an instance at `public_url`: private addresses
    /// refused, replies shown at once.
    pub fn new(public_url: &str) -> Self {
        FederationSettings {
            public_url: public_url.to_owned(),
            allow_private_addresses: false,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            comment_policy: CommentPolicy::Open,
            manually_approves_followers: false,
            mode: FederationMode::Open,
            authorized_fetch: false,
            network: None,
        }
    }
}

/// Whom the instance federates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FederationMode {
    /// Everyone but blocked domains and actors.
    #[default]
    Open,
    /// Only domains on the allowlist (and never blocked ones).
    Allowlist,
}

impl FederationMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(FederationMode::Open),
            "allowlist" => Some(FederationMode::Allowlist),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentPolicy {
    Open,
    FollowersOnly,
    Moderated,
}

impl CommentPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(CommentPolicy::Open),
            "followers_only" => Some(CommentPolicy::FollowersOnly),
            "moderated" => Some(CommentPolicy::Moderated),
            _ => None,
        }
    }
}

/// The app data handed to every federation handler.
#[derive(Clone)]
pub struct FedContext(Arc<Inner>);

struct Inner {
    store: Store,
    urls: Urls,
    settings: FederationSettings,
    /// Called after deliveries were queued, to wake the delivery worker.
    on_enqueued: Arc<dyn Fn() + Send + Sync>,
    /// Remote actors being fetched for the first time (see [`FirstFetches`]).
    first_fetches: FirstFetches,
}

impl FedContext {
    pub fn new(store: Store, settings: FederationSettings, on_enqueued: Arc<dyn Fn() + Send + Sync>) -> Self {
        let urls = Urls::new(&settings.public_url);
        FedContext(Arc::new(Inner {
            store,
            urls,
            settings,
            on_enqueued,
            first_fetches: FirstFetches::default(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn urls(&self) -> &Urls {
        &self.0.urls
    }

    pub fn settings(&self) -> &FederationSettings {
        &self.0.settings
    }

    pub(crate) fn wake_delivery(&self) {
        (self.0.on_enqueued)();
    }

    pub(crate) fn first_fetches(&self) -> &FirstFetches {
        &self.0.first_fetches
    }
}
