//! Gazette's one outgoing HTTP client. Everything the instance sends or
//! fetches goes through the client [`build_client`] makes: the delivery
//! worker's signed POSTs, and (handed to activitypub_federation) the signed
//! GETs of actors, keys, objects and outboxes, WebFinger lookups, and the
//! "follow from your server" page.
//!
//! Every request carries `User-Agent: Gazette/<version> (+<public URL>)`
//! (GoToSocial answers 418 to requests without one); connecting may take
//! 10 s and a request 30 s (activitypub_federation sets 10 s on its own
//! fetches); redirects are never followed by the client (a signed request
//! cannot follow one, and a redirect could lead past the address guard:
//! callers that accept one follow it themselves); no proxy is taken from the
//! environment (it would resolve names for us, past the guard); connections
//! are pooled and reused; TLS uses ring. Unless `allow_private_addresses` is
//! set, the DNS resolver drops loopback, private and other non-public
//! addresses, so the address checked is the one connected to ([`guard`]).
//! Bodies are read with a limit ([`read_limited`]); a failed answer becomes
//! a [`RemoteStatus`] naming the host, the status and the remote server's
//! own message.

mod guard;
mod remote;

use std::sync::Arc;
use std::time::Duration;

pub use guard::{ForbiddenAddress, check_url, find_forbidden, is_forbidden};
pub use remote::{ReadError, RemoteStatus, read_limited};
/// The client type [`build_client`] returns.
pub use reqwest::Client;

/// Largest body read from a remote server by default (activitypub_federation
/// uses the same limit for what it fetches).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// How the outgoing client is set up.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The instance's public URL, named in the `User-Agent`.
    pub public_url: String,
    /// Connect to loopback, private and other non-public addresses too.
    /// Only for tests and closed networks.
    pub allow_private_addresses: bool,
    pub connect_timeout: Duration,
    /// For a whole request, response included (a request may set a shorter one).
    pub request_timeout: Duration,
    /// Idle connections kept per host for reuse.
    pub max_idle_per_host: usize,
}

impl HttpConfig {
    /// Production defaults for an instance at `public_url`.
    pub fn new(public_url: impl Into<String>) -> Self {
        HttpConfig {
            public_url: public_url.into(),
            allow_private_addresses: false,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_idle_per_host: 8,
        }
    }

    /// `Gazette/<version> (+<public URL>)`.
    pub fn user_agent(&self) -> String {
        user_agent(&self.public_url)
    }
}

/// `Gazette/<version> (+<public URL>)`.
pub fn user_agent(public_url: &str) -> String {
    format!("Gazette/{} (+{})", env!("CARGO_PKG_VERSION"), public_url)
}

/// Only setting the client up can fail here.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("HTTP client setup: {0}")]
    Client(String),
}

/// The outgoing client (see the crate documentation). Cheap to clone: clones
/// share one connection pool, so build it once per process.
/// TLS for everything Gazette connects to (HTTP here, SMTP in the web
/// crate): ring as the crypto, server certificates checked against the
/// system's roots.
pub fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| e.to_string())?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

pub fn build_client(config: &HttpConfig) -> Result<reqwest::Client, HttpError> {
    let tls = tls_config().map_err(HttpError::Tls)?;
    let mut builder = reqwest::Client::builder()
        .user_agent(config.user_agent())
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(config.max_idle_per_host)
        .tls_backend_preconfigured(tls);
    if !config.allow_private_addresses {
        builder = builder.dns_resolver(guard::GuardedResolver);
    }
    builder.build().map_err(|e| HttpError::Client(e.to_string()))
}

/// An error and its causes on one line ("error sending request: … :
/// Connection refused"), since reqwest's own message hides the cause.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// reqwest without a TLS feature fails https URLs with "scheme is not
    /// http"; ours must open a TLS handshake.
    #[tokio::test]
    async fn https_speaks_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = HttpConfig {
            allow_private_addresses: true,
            ..HttpConfig::new("https://here.example")
        };
        let client = build_client(&config).unwrap();
        let request = tokio::spawn(async move { client.get(format!("https://localhost:{port}/")).send().await });
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut first = [0u8; 1];
        socket.read_exact(&mut first).await.unwrap();
        assert_eq!(first[0], 0x16, "a TLS handshake record");
        drop(socket);
        assert!(request.await.unwrap().is_err());
    }

    /// Every request names us; redirects come back to the caller.
    #[tokio::test]
    async fn requests_carry_the_user_agent_and_redirects_are_not_followed() {
        use axum::http::HeaderMap;
        use axum::response::Redirect;
        use axum::routing::get;
        let app = axum::Router::new()
            .route(
                "/ua",
                get(|h: HeaderMap| async move {
                    h.get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                }),
            )
            .route("/moved", get(|| async { Redirect::temporary("/ua") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = build_client(&HttpConfig {
            allow_private_addresses: true,
            ..HttpConfig::new("https://news.example")
        })
        .unwrap();
        let ua = client
            .get(format!("{base}/ua"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            ua,
            format!("Gazette/{} (+https://news.example)", env!("CARGO_PKG_VERSION"))
        );
        let moved = client.get(format!("{base}/moved")).send().await.unwrap();
        assert_eq!(moved.status(), 307);
    }

    /// Without `allow_private_addresses`, a name that resolves to loopback
    /// is refused when connecting, and the error says so.
    #[tokio::test]
    async fn the_guard_refuses_loopback_names() {
        let client = build_client(&HttpConfig::new("https://news.example")).unwrap();
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        let forbidden = find_forbidden(&err).expect("a ForbiddenAddress in the chain");
        assert_eq!(forbidden.host, "localhost");
    }
}
