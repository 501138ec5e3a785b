//! Wiring: config → store → web state → a running server with its scheduler.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gazette_delivery::{DeliveryConfig, KeyPem, KeySource, Worker};
use gazette_federation::{FedContext, FederationMode, FederationSettings, NetworkSettings};
use gazette_store::Store;
use gazette_web::{AdminSettings, AppConfig, AppState, Limits, Templates, ThemeConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::error::CliError;

/// How often delivered and given-up deliveries are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How long finished deliveries stay visible (`gazette deliveries`) before a purge.
const KEEP_FINISHED_DAYS: i64 = 7;

/// Opens the configured database (creating the SQLite data dir) and migrates it.
pub async fn open_store(config: &Config) -> Result<Store, CliError> {
    let url = config.database_url();
    if let Some(dir) = sqlite_dir(&url) {
        std::fs::create_dir_all(&dir).map_err(|e| CliError::Io {
            what: format!("cannot create data directory {}", dir.display()),
            source: e,
        })?;
    }
    let store = Store::connect(&url, config.database.connections(&url)).await?;
    store.migrate().await?;
    Ok(store)
}

/// The directory a SQLite database file lives in, so it can be created first.
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or(rest);
    if file.is_empty() || file == ":memory:" {
        return None;
    }
    std::path::Path::new(file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.to_path_buf())
}

/// Private keys of local actors, for the delivery worker's signatures.
struct FedKeys(FedContext);

impl KeySource for FedKeys {
    async fn private_key_pem(
        &self,
        actor_id: &str,
    ) -> Result<Option<String>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.signing_key_pem(actor_id).await?.map(|k| k.pem))
    }

    /// The current key and its key id (`#key-<n>` after a rotation).
    async fn signing_key_pem(
        &self,
        actor_id: &str,
    ) -> Result<Option<KeyPem>, Box<dyn std::error::Error + Send + Sync>> {
        let key = gazette_federation::private_key_for(&self.0, actor_id)
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
        Ok(key.map(|(key_id, pem)| KeyPem { key_id, pem }))
    }
}

/// Federation settings for `config`.
pub fn federation_settings(config: &Config) -> FederationSettings {
    let mut settings = FederationSettings::new(&config.instance.public_url);
    settings.allow_private_addresses = config.federation.allow_private_addresses;
    settings.manually_approves_followers = config.federation.manually_approves_followers;
    settings.comment_policy = config.federation.comment_policy;
    settings.quote_policy = config.federation.quote_policy;
    settings.mode = config.federation.mode;
    settings.authorized_fetch = config.federation.authorized_fetch;
    settings.signature = config.federation.signature;
    settings.default_language = config.instance.default_language.clone();
    settings.network = config.network.enabled.then(|| NetworkSettings {
        username: config.network.username.clone(),
        name: config.network.name.clone(),
        summary: config.network.summary.clone(),
        home: config.network.home,
        logo: config.network.logo.clone(),
        backfill_max_pages: u32::try_from(config.network.backfill_max_pages).unwrap_or(u32::MAX),
        backfill_max_items: u32::try_from(config.network.backfill_max_items).unwrap_or(u32::MAX),
        member_rate_per_second: u32::try_from(config.network.member_rate_per_second).unwrap_or(u32::MAX),
        member_burst: u32::try_from(config.network.member_burst).unwrap_or(u32::MAX),
    });
    settings
}

/// The instance's one outgoing client (User-Agent, timeouts, no redirects,
/// the private-address guard unless `allow_private_addresses`): built once
/// per process, shared by federation, the web layer and the delivery worker.
pub fn http_client(config: &Config) -> Result<gazette_http::Client, CliError> {
    gazette_http::build_client(&federation_settings(config).http_config())
        .map_err(|e| CliError::Federation(e.to_string()))
}

/// A federation context for commands that change articles outside the
/// server (their deliveries are queued; a running server sends them).
pub fn fed_context(config: &Config, store: &Store) -> Result<FedContext, CliError> {
    Ok(FedContext::new(
        store.clone(),
        federation_settings(config),
        http_client(config)?,
        Arc::new(|| {}),
    ))
}

/// The web layer's state for `config`.
pub async fn web_state(
    config: &Config,
    store: Store,
    http: gazette_http::Client,
    on_enqueued: Arc<dyn Fn() + Send + Sync>,
) -> Result<AppState, CliError> {
    let templates = Templates::load(config.theme.dir.as_deref()).map_err(CliError::Theme)?;
    let app = AppConfig {
        public_url: config.instance.public_url.clone(),
        instance_name: config.instance.name.clone(),
        default_language: config.instance.default_language.clone(),
        time_zone: config.instance.time_zone,
        max_upload_bytes: usize::try_from(config.media.max_upload_bytes).unwrap_or(usize::MAX),
        theme: ThemeConfig {
            dir: config.theme.dir.clone(),
            primary_color: config.theme.primary_color.clone(),
            accent_color: config.theme.accent_color.clone(),
            footer: config.theme.footer.clone(),
        },
        admin: AdminSettings {
            // Ten years at most: chrono's durations are bounded.
            session_idle: chrono::Duration::minutes(
                i64::try_from(config.admin.session_idle_minutes.min(10 * 366 * 24 * 60)).unwrap_or(720),
            ),
            // A year at most, as `gazette user` allows.
            reset_link_valid: chrono::Duration::hours(
                i64::try_from(config.admin.reset_link_hours.min(24 * 366)).unwrap_or(24),
            ),
            mail: config.mail.settings(&config.instance.public_url),
            ..AdminSettings::default()
        },
        limits: Limits {
            header_read_timeout: Duration::from_secs(config.server.header_read_timeout_seconds),
            request_timeout: Duration::from_secs(config.server.request_timeout_seconds),
            max_connections: usize::try_from(config.server.max_connections).unwrap_or(usize::MAX),
            keep_alive_connections: usize::try_from(config.server.keep_alive_connections).unwrap_or(usize::MAX),
            max_in_flight: usize::try_from(config.server.max_in_flight).unwrap_or(usize::MAX),
            max_inbox_per_host: usize::try_from(config.server.max_inbox_per_host).unwrap_or(usize::MAX),
            password_checks: usize::try_from(config.admin.password_checks).unwrap_or(usize::MAX),
            max_image_pixels: config.media.max_image_pixels,
            max_image_side: u32::try_from(config.media.max_image_side).unwrap_or(u32::MAX),
            response_cache_bytes: usize::try_from(config.server.response_cache_bytes).unwrap_or(usize::MAX),
            ..Limits::default()
        },
        metrics: config.metrics.access(),
    };
    AppState::build(store, app, templates, federation_settings(config), http, on_enqueued)
        .await
        .map_err(|e| CliError::Federation(e.to_string()))
}

/// Binds `listen` (the public URL is settled against the bound address
/// afterwards, see `identity::settle`).
pub async fn bind(listen: SocketAddr) -> Result<TcpListener, CliError> {
    TcpListener::bind(listen).await.map_err(|e| CliError::Io {
        what: format!("cannot listen on {listen}"),
        source: e,
    })
}

/// Serves until `shutdown` turns true, with the delivery worker, the
/// scheduled-publishing task, the newsletter's sender (with `[mail]`) and
/// the hourly purge of finished deliveries beside it.
pub async fn serve(
    config: &Config,
    store: Store,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
) -> Result<(), CliError> {
    if config.federation.mode == FederationMode::Allowlist {
        // Deliveries queued before the switch to allowlist mode (or before a
        // domain left the list while this server was down) must not go out.
        let n = store.drop_deliveries_outside_allowlist().await?;
        if n > 0 {
            tracing::info!(
                deliveries = n,
                "allowlist mode: pending deliveries to unlisted hosts given up"
            );
        }
    }
    let mut delivery_config = DeliveryConfig::new(config.instance.public_url.clone());
    delivery_config.allow_private_addresses = config.federation.allow_private_addresses;
    // A fallback: `wakeups` starts the worker within a moment of any write.
    delivery_config.poll_interval = Duration::from_secs(config.federation.delivery_poll_seconds);
    delivery_config.retry.backoff_unit = Duration::from_millis(config.federation.delivery_backoff_unit_ms);
    delivery_config.signature = config.federation.signature;
    // One client for everything the server sends or fetches.
    let http = http_client(config)?;
    let keys = FedKeys(FedContext::new(
        store.clone(),
        federation_settings(config),
        http.clone(),
        Arc::new(|| {}),
    ));
    let worker = Worker::with_client(store.clone(), delivery_config, keys, http.clone())
        .map_err(|e| CliError::Federation(e.to_string()))?;
    let handle = worker.handle();
    let wake_scheduler = Arc::new(tokio::sync::Notify::new());
    let wake_newsletter = Arc::new(tokio::sync::Notify::new());
    let mut stop_worker = shutdown.clone();
    let delivery = tokio::spawn(worker.run(async move {
        while !*stop_worker.borrow() {
            if stop_worker.changed().await.is_err() {
                break;
            }
        }
    }));
    crate::network::check_username(config, &store).await?;
    let wake_worker = handle.clone();
    let state = web_state(config, store.clone(), http, Arc::new(move || wake_worker.wake())).await?;
    let wakeups = tokio::spawn(crate::wakeups::run(
        store.clone(),
        handle,
        vec![wake_scheduler.clone(), wake_newsletter.clone()],
        state.response_cache().clone(),
        shutdown.clone(),
    ));
    let fed = state.fed().clone();
    // The server's one federation configuration, shared by its tasks.
    let federation = state.federation_config().clone();
    let backfill = match config.network.enabled {
        true => Some(tokio::spawn(gazette_federation::network::backfill::run(
            federation.clone(),
            shutdown.clone(),
        ))),
        false => None,
    };
    let key_checks = {
        let max_age = Duration::from_secs(config.federation.remote_key_check_seconds);
        tokio::spawn(gazette_federation::proofs::refresh::run(
            federation,
            max_age.min(KEY_CHECK_ROUND),
            chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::days(1)),
            shutdown.clone(),
        ))
    };
    let scheduler = tokio::spawn(crate::scheduler::run(
        store.clone(),
        fed,
        wake_scheduler,
        shutdown.clone(),
    ));
    // The newsletter goes out only with mail configured.
    let newsletter = config.mail.settings(&config.instance.public_url).map(|mail| {
        tokio::spawn(crate::newsletter_worker::run(
            state.clone(),
            mail,
            wake_newsletter,
            shutdown.clone(),
        ))
    });
    let purge = tokio::spawn(purge_finished_deliveries(store.clone(), shutdown.clone()));
    let checkpoints = tokio::spawn(checkpoint_wal(store.clone(), shutdown.clone()));
    let mut stop = shutdown.clone();
    let result = gazette_web::serve(listener, state, async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    let _ = scheduler.await;
    let _ = key_checks.await;
    let _ = wakeups.await;
    let _ = purge.await;
    let _ = checkpoints.await;
    if let Some(newsletter) = newsletter {
        let _ = newsletter.await;
    }
    if let Some(backfill) = backfill {
        let _ = backfill.await;
    }
    let _ = delivery.await;
    store.close().await;
    result.map_err(|e| CliError::Io {
        what: "server failed".into(),
        source: e,
    })
}

/// The longest wait between two rounds reading other servers' Ed25519
/// keys again (each round reads those older than
/// `federation.remote_key_check_seconds`).
const KEY_CHECK_ROUND: Duration = Duration::from_secs(3600);

/// How often SQLite's write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// On SQLite, copies the write-ahead log into the database file every
/// [`CHECKPOINT_EVERY`], beside the writes rather than inside a commit
/// (see `Store::checkpoint_wal`). Nothing to do on PostgreSQL.
async fn checkpoint_wal(store: Store, mut shutdown: watch::Receiver<bool>) {
    if store.backend() != gazette_store::Backend::Sqlite {
        return;
    }
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        match store.checkpoint_wal().await {
            Ok(Some((log, copied))) => tracing::trace!(log, copied, "write-ahead log copied"),
            Ok(None) => return,
            Err(e) => tracing::debug!(error = %e, "checkpoint of the write-ahead log failed; will retry"),
        }
    }
}

/// Every hour (and once at start), drops deliveries finished more than
/// [`KEEP_FINISHED_DAYS`] ago so the queue does not grow without bound, and
/// old actor keys whose grace period is over. Safe
/// with several processes on one database: deleting twice deletes nothing.
async fn purge_finished_deliveries(store: Store, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(PURGE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let before = chrono::Utc::now() - chrono::Duration::days(KEEP_FINISHED_DAYS);
        match store.purge_delivered(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "purged finished deliveries"),
            Err(e) => tracing::warn!(error = %e, "purging finished deliveries failed; will retry"),
        }
        // Old keys past their grace period are no longer served (see
        // `gazette keys rotate`); deleting them also empties the caches.
        match store.delete_retired_actor_keys(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "retired old actor keys"),
            Err(e) => tracing::warn!(error = %e, "deleting retired actor keys failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_dirs() {
        assert_eq!(super::sqlite_dir("sqlite://data/gazette.db"), Some("data".into()));
        assert_eq!(
            super::sqlite_dir("sqlite:///var/lib/g/g.db?mode=rwc"),
            Some("/var/lib/g".into())
        );
        assert_eq!(super::sqlite_dir("sqlite:g.db"), None);
        assert_eq!(super::sqlite_dir("postgres://h/db"), None);
    }
}
