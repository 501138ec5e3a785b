//! What federation handlers need: the store, the URL scheme and settings.
//! Passed as activitypub_federation's app data; no globals.

use std::sync::Arc;

use gazette_store::Store;

use crate::remote::{ActorCache, FirstFetches};
use crate::signatures::knock::SignaturePolicy;
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
    /// Who may quote an article when it sets no policy of its own
    /// (`federation.quote_policy`, FEP-044f).
    pub quote_policy: crate::quotes::QuotePolicy,
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
    /// The instance's language (`instance.default_language`): first in an
    /// article's language maps, and the language of replies written here.
    pub default_language: gazette_core::Language,
    /// Which HTTP signature profiles requests Gazette sends (signed GETs
    /// here, deliveries in `gazette-delivery`) are signed with
    /// (`federation.signature`; see [`crate::signatures::knock`]).
    pub signature: SignaturePolicy,
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
    /// Whether the coordinator's home page is the shared feed.
    pub home: bool,
    /// The network's logo (an `http(s)` URL or a local path), if any.
    pub logo: Option<String>,
    /// Bounds of a member's outbox backfill: pages fetched, articles read.
    pub backfill_max_pages: u32,
    pub backfill_max_items: u32,
    /// Article activities accepted per second from one member's host, and
    /// how many may come at once; past that the inbox answers `429`.
    pub member_rate_per_second: u32,
    pub member_burst: u32,
}

impl FederationSettings {
    /// The outgoing client's settings for this instance: its User-Agent, and
    /// the address guard unless private addresses are allowed.
    pub fn http_config(&self) -> gazette_http::HttpConfig {
        gazette_http::HttpConfig {
            allow_private_addresses: self.allow_private_addresses,
            ..gazette_http::HttpConfig::new(self.public_url.clone())
        }
    }

    /// Production defaults for an instance at `public_url`: private addresses
    /// refused, replies shown at once.
    pub fn new(public_url: &str) -> Self {
        FederationSettings {
            public_url: public_url.to_owned(),
            allow_private_addresses: false,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            comment_policy: CommentPolicy::Open,
            quote_policy: crate::quotes::QuotePolicy::Everyone,
            manually_approves_followers: false,
            mode: FederationMode::Open,
            authorized_fetch: false,
            network: None,
            default_language: gazette_core::Language::parse("en").expect("`en` is a known language tag"),
            signature: SignaturePolicy::DoubleKnock,
        }
    }
}

/// Whom the instance federates with (written as in the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
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

    pub fn as_str(self) -> &'static str {
        match self {
            FederationMode::Open => "open",
            FederationMode::Allowlist => "allowlist",
        }
    }
}

/// Who sees replies at once (written as in the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
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

    pub fn as_str(self) -> &'static str {
        match self {
            CommentPolicy::Open => "open",
            CommentPolicy::FollowersOnly => "followers_only",
            CommentPolicy::Moderated => "moderated",
        }
    }
}

/// The app data handed to every federation handler.
#[derive(Clone)]
pub struct FedContext(Arc<Inner>);

/// How often the inbox looks whether a sender's host is marked failing.
const HOST_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

struct Inner {
    store: Store,
    urls: Urls,
    settings: FederationSettings,
    /// The instance's one outgoing client (`gazette-http`).
    http: reqwest::Client,
    /// Local keys being generated (see [`crate::keys::KeyGeneration`]).
    key_generation: crate::keys::KeyGeneration,
    /// Called after deliveries were queued, to wake the delivery worker.
    on_enqueued: Arc<dyn Fn() + Send + Sync>,
    /// Remote actors being fetched for the first time (see [`FirstFetches`]).
    first_fetches: FirstFetches,
    /// Remote actors read recently (see [`ActorCache`]).
    actor_cache: ActorCache,
    /// When each remote host was last found healthy in the delivery table,
    /// so the inbox does not ask for every activity (see `host_spoke`).
    hosts_checked: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// Senders' keys fetched again after a bad signature (see [`crate::signatures::refresh`]).
    key_refresh: crate::signatures::refresh::KeyRefresh,
    /// Coordinator: article activities per member host (see `network::rate`).
    member_buckets: crate::network::rate::HostBuckets,
    /// Activities received, by type and outcome (for `/metrics`).
    inbox_counts: crate::inbox_counts::InboxCounts,
    /// Thread collections read recently (see [`crate::threads`]).
    thread_reads: crate::threads::ThreadReads,
}

impl FedContext {
    /// `http` is the instance's outgoing client, built by
    /// `gazette_http::build_client(&settings.http_config())` once per
    /// process and shared with the delivery worker.
    pub fn new(
        store: Store,
        settings: FederationSettings,
        http: reqwest::Client,
        on_enqueued: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let urls = Urls::new(&settings.public_url);
        FedContext(Arc::new(Inner {
            store,
            urls,
            settings,
            http,
            key_generation: Default::default(),
            on_enqueued,
            first_fetches: FirstFetches::default(),
            actor_cache: ActorCache::default(),
            hosts_checked: std::sync::Mutex::default(),
            key_refresh: Default::default(),
            member_buckets: Default::default(),
            inbox_counts: Default::default(),
            thread_reads: Default::default(),
        }))
    }

    /// Activities the inbox received, by type and outcome.
    pub fn inbox_counts(&self) -> &crate::inbox_counts::InboxCounts {
        &self.0.inbox_counts
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

    /// The instance's one outgoing client: every request to another server
    /// goes through it (activitypub_federation's too, see
    /// [`crate::federation_config`]).
    pub fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    pub(crate) fn key_generation(&self) -> &crate::keys::KeyGeneration {
        &self.0.key_generation
    }

    /// Whether new followers wait for an editor's approval now: the value an
    /// administrator stored (admin settings page, API), else the config's.
    pub async fn manually_approves_followers(&self) -> Result<bool, gazette_store::StoreError> {
        Ok(
            match self
                .store()
                .instance_setting(gazette_core::settings::MANUAL_FOLLOWERS)
                .await?
            {
                Some(v) => v == "true",
                None => self.0.settings.manually_approves_followers,
            },
        )
    }

    /// The instance's default language now: the value an administrator
    /// stored (admin settings page, API), else the config's.
    pub async fn default_language(&self) -> Result<gazette_core::Language, gazette_store::StoreError> {
        Ok(self
            .store()
            .instance_setting(gazette_core::settings::DEFAULT_LANGUAGE)
            .await?
            .and_then(|v| gazette_core::Language::parse(&v).ok())
            .unwrap_or_else(|| self.0.settings.default_language.clone()))
    }

    /// The comment policy now: the value an administrator stored (admin
    /// settings page, API), else the config's.
    pub async fn comment_policy(&self) -> Result<CommentPolicy, gazette_store::StoreError> {
        Ok(self
            .store()
            .instance_setting(gazette_core::settings::COMMENT_POLICY)
            .await?
            .as_deref()
            .and_then(CommentPolicy::parse)
            .unwrap_or(self.0.settings.comment_policy))
    }

    pub(crate) fn wake_delivery(&self) {
        (self.0.on_enqueued)();
    }

    pub(crate) fn first_fetches(&self) -> &FirstFetches {
        &self.0.first_fetches
    }

    /// Thread collections read recently (FEP-7888).
    pub(crate) fn thread_reads(&self) -> &crate::threads::ThreadReads {
        &self.0.thread_reads
    }

    pub(crate) fn member_buckets(&self) -> &crate::network::rate::HostBuckets {
        &self.0.member_buckets
    }

    pub(crate) fn actor_cache(&self) -> &ActorCache {
        &self.0.actor_cache
    }

    /// Senders' keys fetched again after a bad signature.
    pub(crate) fn key_refresh(&self) -> &crate::signatures::refresh::KeyRefresh {
        &self.0.key_refresh
    }

    /// Records that `host` sent us a valid signed activity: if our delivery
    /// table thought it down or failing, it is revived (and the worker
    /// woken). Checked at most every [`HOST_CHECK_INTERVAL`] per host.
    pub(crate) async fn host_spoke(&self, host: &str) -> Result<(), gazette_store::StoreError> {
        {
            let mut checked = self.0.hosts_checked.lock().unwrap_or_else(|p| p.into_inner());
            if checked.get(host).is_some_and(|at| at.elapsed() < HOST_CHECK_INTERVAL) {
                return Ok(());
            }
            if checked.len() >= 10_000 {
                checked.clear();
            }
            checked.insert(host.to_owned(), std::time::Instant::now());
        }
        if self.store().host_alive(host).await? {
            tracing::info!(host, "host is reachable again; resuming deliveries");
            self.wake_delivery();
        }
        Ok(())
    }
}
