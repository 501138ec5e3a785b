//! A request id on every request: the one a trusted proxy (a peer on this
//! machine, as for `X-Forwarded-For` in the admin's sign-in counting) sent
//! in `X-Request-Id`, else a fresh random one. It is echoed in the
//! response's `X-Request-Id` and every log line written while the request
//! is handled carries it (a `request` span with `request_id`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use tracing::Instrument;

/// The header the id is read from and echoed in.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a proxy; longer ones are replaced.
const MAX_ID_LEN: usize = 128;

/// Wraps the request in a span with its id and echoes the id.
pub(crate) async fn with_request_id(req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let id = peer
        .filter(|p| p.ip().is_loopback())
        .and_then(|_| req.headers().get(&X_REQUEST_ID))
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(fresh_id);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut response = async move {
        let response = next.run(req).await;
        tracing::debug!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "request handled"
        );
        response
    }
    .instrument(span)
    .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, v);
    }
    response
}

/// A proxy's id is kept when it is short and made of letters, digits and
/// `-_.:` only (so it can go into a header and a log line unchanged).
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// 128 random bits in hex.
fn fresh_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    let mut id = String::with_capacity(32);
    for x in b {
        id.push(char::from(HEX[usize::from(x >> 4)]));
        id.push(char::from(HEX[usize::from(x & 0xf)]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_ids_are_kept() {
        assert!(acceptable("abc-123_x.y:z"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("a\nb"));
        assert!(!acceptable(&"a".repeat(MAX_ID_LEN + 1)));
        let id = fresh_id();
        assert_eq!(id.len(), 32);
        assert!(acceptable(&id));
        assert_ne!(id, fresh_id());
    }
}
