//! Gazette's ActivityPub federation, built on activitypub_federation:
//! local actors (organisation, authors, instance), articles as AS2 objects,
//! discovery, the inbox, and the activities queued for delivery.
//!
//! Outgoing activities are never sent from here: they are written to the
//! delivery queue in the database (see `gazette-delivery`), so publishing
//! never waits on the network and nothing is lost in a crash.

pub mod activities;
pub mod context;
pub mod error;
pub mod follower_sync;
pub mod inbox;
pub mod inbox_counts;
pub mod interact;
pub mod json;
pub mod keys;
pub mod local;
pub mod network;
pub mod outbound;
pub mod proofs;
pub mod quotes;
pub mod remote;
mod remote_status;
pub mod routes;
pub mod safety;
pub mod signatures;
pub mod signed_fetch;
pub mod threads;
pub mod urls;
pub mod webfinger;

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use url::Url;

pub use context::{CommentPolicy, FedContext, FederationMode, FederationSettings, NetworkSettings};
pub use error::FederationError;
pub use interact::{interact, undo as undo_interaction};
pub use local::{LocalActor, find_local_actor, private_key_for};
pub use outbound::{
    actor_changed, answer_follow, article_changed, article_json, dispatch_article_events, federate_changes, follow,
    local_actors, resolve_actor, unfollow,
};
pub use quotes::QuotePolicy;
pub use routes::{activity_response, gone_tombstone, wants_activity_json};
pub use signed_fetch::{RequestHead, authorize_fetch};
pub use urls::Urls;

/// activitypub_federation's configuration for this instance: our domain,
/// the instance actor signing fetches, the domain blocks and allowlist
/// checked before every fetch ([`safety::SafetyVerifier`]), signed GETs
/// re-signed with RFC 9421 or draft-cavage as the double-knock decides
/// (`signatures::knock`), and `debug`
/// (http, private addresses) only when `allow_private_addresses` is set,
/// which only tests do. The library sends through the instance's one
/// outgoing client ([`FedContext::http`]: User-Agent, address guard, no
/// redirects), with error answers turned into errors that name the host,
/// the status and the remote message ([`remote_status`]). Fetches keep the
/// library's limits: 10 seconds per request, 1 MiB per response, 20 fetches
/// per incoming request.
pub async fn federation_config(ctx: FedContext) -> Result<FederationConfig<FedContext>, FederationError> {
    install_crypto_provider();
    let urls = ctx.urls().clone();
    let (public, private) = keys::ensure_key(&ctx, keys::INSTANCE_KEY).await?;
    let instance = remote::InstanceActor {
        id: Url::parse(&urls.instance_actor())?,
        inbox: Url::parse(&urls.shared_inbox())?,
        public_key_pem: public,
        private_key_pem: private,
    };
    let debug = ctx.settings().allow_private_addresses;
    let verifier = safety::SafetyVerifier::new(&ctx);
    let allow_http = debug || urls.base().starts_with("http://");
    let knocker = signatures::knock::Knocker::new(
        ctx.store().clone(),
        ctx.settings().signature,
        signatures::knock::RECHECK_AFTER,
    );
    let signed_gets = signatures::signed_gets::SignedGets::new(knocker, ctx.store().clone(), instance.id.to_string());
    let client = reqwest_middleware::ClientBuilder::new(ctx.http().clone())
        .with(remote_status::ErrorStatuses)
        .with(signed_gets)
        .build();
    FederationConfig::builder()
        .domain(urls.host())
        .client(client)
        .app_data(ctx)
        .signed_fetch_actor(&instance)
        .debug(debug)
        .allow_http_urls(allow_http)
        .http_signature_compat(true)
        .url_verifier(Box::new(verifier))
        .build()
        .await
        .map_err(|e| FederationError::Internal(format!("federation config: {e}")))
}

/// Makes ring the process-wide rustls crypto provider. reqwest is built
/// without one (to keep aws-lc-rs out of the build), so this must run before
/// any HTTP client is created; later calls do nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The federation routes, ready to merge into the instance's router.
pub fn router(config: FederationConfig<FedContext>) -> Router {
    let ctx: FedContext = (*config.to_request_data()).clone();
    let signature_failures = axum::middleware::from_fn_with_state(ctx, network::count_signature_failures);
    Router::new()
        .route("/.well-known/webfinger", get(routes::get_webfinger))
        .route("/.well-known/host-meta", get(routes::get_host_meta))
        .route("/.well-known/nodeinfo", get(routes::get_nodeinfo_links))
        .route("/nodeinfo/2.1", get(routes::get_nodeinfo))
        .route("/actor", get(routes::get_instance_actor))
        .route("/actor/outbox", get(routes::get_instance_outbox))
        .route(
            "/inbox",
            post(inbox::post_inbox)
                .layer(inbox_limit())
                .layer(signature_failures.clone()),
        )
        .route("/users/{username}", get(routes::get_actor))
        .route(
            "/users/{username}/inbox",
            post(inbox::post_inbox).layer(inbox_limit()).layer(signature_failures),
        )
        .route("/users/{username}/outbox", get(routes::get_outbox))
        .route("/users/{username}/followers", get(routes::get_followers))
        .route(
            "/users/{username}/followers_synchronization/{host}",
            get(follower_sync::get_followers_synchronization),
        )
        .route("/users/{username}/following", get(routes::get_following))
        .route("/users/{username}/featured", get(routes::get_featured))
        .route("/objects/{id}", get(routes::get_object))
        .route("/notes/{id}", get(routes::get_note))
        .route("/quotes/{id}", get(quotes::get_stamp))
        .route("/objects/{id}/replies", get(routes::get_replies))
        .route("/objects/{id}/{which}", get(routes::get_counts))
        .layer(FederationMiddleware::new(config))
}

/// Inbox bodies over [`inbox::MAX_ACTIVITY_BYTES`] are refused with 413.
fn inbox_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(inbox::MAX_ACTIVITY_BYTES)
}
