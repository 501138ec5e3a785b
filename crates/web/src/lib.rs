//! Gazette's HTTP layer: public pages, feeds, media and the REST API as axum
//! routers over one [`AppState`]. Errors from below are mapped to HTTP here
//! and nowhere else.

mod admin;
mod api;
mod cache;
mod content;
mod error;
mod feeds;
mod follow;
mod limits;
pub mod mail;
mod media;
mod metrics;
pub mod newsletter;
mod old_urls;
mod openapi;
mod pages;
mod profiles;
mod request_id;
mod security_headers;
mod server;
mod settings;
mod state;
mod templates;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use api::deliveries::{DeliveryReport, DeliveryTotals};
pub use cache::ResponseCache;
pub use error::{ApiError, PageError};
pub use limits::Limits;
pub use metrics::MetricsAccess;
pub use state::{AdminSettings, AppConfig, AppState, ThemeConfig};
pub use templates::Templates;

/// Every route of the instance, as served by [`router`].
pub fn router(state: AppState) -> Router {
    let routes = routes(state.clone());
    // The layers of [`routes`] wrap each route, and axum clones a route's
    // whole service for every request it routes; the ones below wrap the
    // router once, as its fallback, so what they answer themselves costs
    // neither.
    Router::new()
        .fallback_service(routes)
        // Public answers from memory, outside the router and the limits: a
        // hit costs no routing and no slot among the requests in flight,
        // nor does a request waiting for another's render of the same page
        // (a stampede of previews would otherwise fill every slot and be
        // refused); a miss renders inside them. Hits are counted in the
        // metrics by the cache, under the route that rendered them.
        .layer(axum::middleware::from_fn_with_state(state.clone(), cache::layer))
        // Outside the limits, so every answer (their refusals too) carries them.
        .layer(axum::middleware::map_response_with_state(
            security_headers::SecurityHeaders::for_public_url(&state.config().public_url),
            security_headers::add_security_headers,
        ))
        // Around everything, so every log line of a request carries its id.
        .layer(axum::middleware::from_fn(request_id::with_request_id))
}

/// The routes (its `Debug` lists them) with the layers around each: the
/// limits and the metrics. Without the response cache, the security
/// headers and the request id, which [`router`] puts around them.
pub fn routes(state: AppState) -> Router {
    let federation = gazette_federation::router(state.federation_config().clone());
    Router::new()
        .merge(pages::router())
        .merge(feeds::router())
        .merge(follow::router())
        .merge(newsletter::router())
        .merge(media::router())
        .nest("/api", api::router(&state.config().public_url))
        .nest("/admin", admin::router())
        .route("/metrics", axum::routing::get(metrics::get_metrics))
        .fallback(old_urls::redirect_old_path)
        .with_state(state.clone())
        .merge(federation)
        // Bodies, requests in flight and their duration are bounded before
        // any route's own code runs.
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::guard))
        // Refusals by the limits count too.
        .layer(axum::middleware::from_fn_with_state(state, metrics::count_requests))
}

/// Serves `state` on an already-bound listener until `shutdown` resolves, so
/// tests can bind port 0 and several instances can share one process.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config().limits.clone();
    server::run(listener, router(state), limits, shutdown).await
}
