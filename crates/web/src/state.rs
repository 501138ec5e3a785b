//! What every handler gets: the store, the instance settings and the templates.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use activitypub_federation::config::FederationConfig;
use axum::body::Bytes;
use gazette_core::{Language, Media};
use gazette_federation::{FedContext, FederationError, FederationSettings};
use gazette_store::{Store, StoreError};

use crate::templates::Templates;

/// Theme settings an organisation changes without recompiling.
#[derive(Debug, Clone)]
pub struct ThemeConfig {
    /// Folder with `templates/` and `static/` overriding the built-in ones.
    pub dir: Option<PathBuf>,
    pub primary_color: String,
    pub accent_color: String,
    /// Extra footer text (plain text).
    pub footer: String,
}

/// Instance settings the web layer needs.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Origin used in every link and id, without trailing slash.
    pub public_url: String,
    pub instance_name: String,
    pub default_language: Language,
    /// The config file's `instance.time_zone`: the admin's times where
    /// neither a stored setting nor the user chose one.
    pub time_zone: gazette_core::local_time::Tz,
    pub max_upload_bytes: usize,
    pub theme: ThemeConfig,
    pub admin: AdminSettings,
    /// Bounds on bodies, connections, requests, password checks and images.
    pub limits: crate::limits::Limits,
    /// Who may read `/metrics` (`[metrics]`).
    pub metrics: crate::metrics::MetricsAccess,
}

/// Settings of the editors' web interface at `/admin`.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// A session ends after this long without a request.
    pub session_idle: chrono::Duration,
    /// And in any case this long after signing in.
    pub session_max: chrono::Duration,
    /// One-time password links made from the users page work this long.
    pub reset_link_valid: chrono::Duration,
    /// Where one-time links are also mailed (`[mail]`); `None`: only shown.
    pub mail: Option<crate::mail::MailSettings>,
}

impl Default for AdminSettings {
    fn default() -> Self {
        AdminSettings {
            session_idle: chrono::Duration::hours(12),
            session_max: chrono::Duration::days(14),
            reset_link_valid: chrono::Duration::hours(24),
            mail: None,
        }
    }
}

/// Shared, cheaply cloned state; no globals, so several instances can run in one process.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) config: AppConfig,
    pub(crate) templates: Templates,
    pub(crate) fed: FedContext,
    pub(crate) federation: FederationConfig<FedContext>,
    /// Requests in flight and the password-check pool.
    guards: crate::limits::Guards,
    /// Request counters for `/metrics`.
    metrics: crate::metrics::Registry,
    /// When the database last took `/healthz`'s write, and whether it did.
    write_probe: tokio::sync::Mutex<Option<(std::time::Instant, bool)>>,
    /// Image metadata never changes once stored, so pages read it from here
    /// instead of asking the database on every request.
    media: moka::sync::Cache<String, Media>,
    /// Whole public answers, served without the database (`crate::cache`).
    responses: crate::cache::ResponseCache,
    /// Rendered article pages by `slug|lang`, each with the validator it was
    /// rendered for (see [`AppState::cached_page`]).
    pages: moka::sync::Cache<String, (String, Bytes)>,
    /// The instance settings last read from the database (or written), for
    /// the few places that cannot wait for a query (error pages).
    last_settings: Mutex<Option<Arc<gazette_core::settings::InstanceSettings>>>,
}

/// `/healthz` writes to the database at most this often.
const WRITE_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// A health write that takes longer than this counts as failed.
const WRITE_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Bound on the bytes of cached rendered pages (tens of KiB each); the
/// least used are evicted past it.
const PAGE_CACHE_BYTES: u64 = 16 << 20;

/// Bound on cached image metadata (a few hundred bytes each); the least
/// used are evicted past it.
const MEDIA_CACHE_MAX: u64 = 10_000;

impl AppState {
    /// Builds the state, including federation (the instance actor's key is
    /// created on first start). `http` is the instance's one outgoing client
    /// (see `gazette_http`); `on_enqueued` wakes the delivery worker.
    pub async fn build(
        store: Store,
        config: AppConfig,
        templates: Templates,
        federation: FederationSettings,
        http: reqwest::Client,
        on_enqueued: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Self, FederationError> {
        let fed = FedContext::new(store.clone(), federation, http, on_enqueued);
        let federation = gazette_federation::federation_config(fed.clone()).await?;
        Ok(AppState(Arc::new(Inner {
            store,
            guards: crate::limits::Guards::new(&config.limits),
            responses: crate::cache::ResponseCache::new(config.limits.response_cache_bytes),
            write_probe: tokio::sync::Mutex::new(None),
            metrics: Default::default(),
            config,
            templates,
            fed,
            federation,
            media: moka::sync::Cache::new(MEDIA_CACHE_MAX),
            pages: moka::sync::Cache::builder()
                .max_capacity(PAGE_CACHE_BYTES)
                .weigher(|key: &String, (validator, page): &(String, Bytes)| {
                    u32::try_from(key.len() + validator.len() + page.len()).unwrap_or(u32::MAX)
                })
                .build(),
            last_settings: Mutex::new(None),
        })))
    }

    /// Queues the deliveries of the article changes just saved, in the
    /// background: the request answers at once, and the change is already
    /// recorded with the article, so nothing is lost if this is cut short
    /// (the scheduler retries every few seconds).
    pub fn federate_soon(&self) {
        let fed = self.0.fed.clone();
        tokio::spawn(async move { gazette_federation::federate_changes(&fed).await });
    }

    /// The federation context (store, URLs, settings).
    pub fn fed(&self) -> &FedContext {
        &self.0.fed
    }

    pub fn federation_config(&self) -> &FederationConfig<FedContext> {
        &self.0.federation
    }

    /// The cache of whole public answers; the binary tells it about other
    /// processes' writes (see `crate::cache`).
    pub fn response_cache(&self) -> &crate::cache::ResponseCache {
        &self.0.responses
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn config(&self) -> &AppConfig {
        &self.0.config
    }

    /// Whether the database takes writes: a small write at most every
    /// [`WRITE_PROBE_EVERY`] (callers in between get the last answer), and
    /// one that does not finish within [`WRITE_PROBE_TIMEOUT`] fails.
    pub(crate) async fn database_writable(&self) -> bool {
        let mut last = self.0.write_probe.lock().await;
        if let Some((at, ok)) = *last
            && at.elapsed() < WRITE_PROBE_EVERY
        {
            return ok;
        }
        let ok = match tokio::time::timeout(WRITE_PROBE_TIMEOUT, self.0.store.probe_write()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: the database takes no writes");
                false
            }
            Err(_) => {
                tracing::warn!("health check: a write to the database did not finish in time");
                false
            }
        };
        *last = Some((std::time::Instant::now(), ok));
        ok
    }

    /// What an uploaded image may be: bytes and pixels.
    pub(crate) fn image_limits(&self) -> gazette_core::media::ImageLimits {
        gazette_core::media::ImageLimits {
            bytes: self.0.config.max_upload_bytes,
            pixels: self.0.config.limits.max_image_pixels,
            side: self.0.config.limits.max_image_side,
        }
    }

    pub(crate) fn guards(&self) -> &crate::limits::Guards {
        &self.0.guards
    }

    pub(crate) fn metrics(&self) -> &crate::metrics::Registry {
        &self.0.metrics
    }

    pub(crate) fn templates(&self) -> &Templates {
        &self.0.templates
    }

    /// Drops an image's remembered metadata after its alt text changed or
    /// it was deleted.
    pub(crate) fn forget_media(&self, id: &str) {
        self.0.media.invalidate(id);
    }

    /// Metadata of a stored image, from memory when seen before.
    pub(crate) async fn media_meta(&self, id: &str) -> Result<Option<Media>, StoreError> {
        if let Some(m) = self.0.media.get(id) {
            return Ok(Some(m));
        }
        let found = self.0.store.find_media(id).await?;
        if let Some(m) = &found {
            self.0.media.insert(id.to_owned(), m.clone());
        }
        Ok(found)
    }

    /// A page rendered earlier for `key`, if it was rendered for exactly
    /// `validator` (which names every version the page depends on).
    pub(crate) fn cached_page(&self, key: &str, validator: &str) -> Option<Bytes> {
        self.0
            .pages
            .get(key)
            .filter(|(v, _)| v == validator)
            .map(|(_, page)| page)
    }

    pub(crate) fn cache_page(&self, key: String, validator: String, page: Bytes) {
        self.0.pages.insert(key, (validator, page));
    }

    /// The settings last read by [`AppState::settings`], else the config
    /// file's: for pages that cannot wait for a query.
    pub(crate) fn last_settings(&self) -> Arc<gazette_core::settings::InstanceSettings> {
        self.0
            .last_settings
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .unwrap_or_else(|| Arc::new(self.setting_defaults()))
    }

    pub(crate) fn remember_settings(&self, s: Arc<gazette_core::settings::InstanceSettings>) {
        if let Ok(mut last) = self.0.last_settings.lock() {
            *last = Some(s);
        }
    }

    /// Absolute URL for a path on this instance.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.0.config.public_url, path)
    }
}
