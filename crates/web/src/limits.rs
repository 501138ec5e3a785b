//! Defences against clients that send too much or too many: the body limit
//! every request meets before any handler runs (large bodies only on the
//! upload routes, and only with credentials), the bound on requests in
//! flight and on each request's duration (503 with `Retry-After`), and the
//! bounded pool that password checks (argon2, 19 MiB each) wait for, and
//! the share of the inbox one remote server may take at once (429 past it).
//! The connection limits (how many, how long headers may take) are in
//! [`crate::server`].

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;
use tokio::sync::Semaphore;

use crate::AppState;

/// Largest body of any route that is not an upload (the inbox takes at most
/// 1 MiB, API JSON and admin forms less than this).
pub(crate) const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Room for an upload form's text (the article editor's) on top of its file.
pub(crate) const UPLOAD_TEXT_SLACK: usize = 8 * 1024 * 1024;

/// Limits on clients, from the `[server]`, `[admin]` and `[media]` config.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A connection whose request headers take longer than this is closed.
    pub header_read_timeout: Duration,
    /// A request that takes longer than this (body included) answers 503.
    pub request_timeout: Duration,
    /// Open connections at most; past it a connection gets one 503.
    pub max_connections: usize,
    /// Connections kept open between requests at most: while more are
    /// open, each closes once it has answered (with `Connection: close`).
    /// A thousand servers fetching a boosted article's preview each leave
    /// one open otherwise, some 30 KiB of buffers apiece.
    pub keep_alive_connections: usize,
    /// Requests being handled at once at most; past it, 503.
    pub max_in_flight: usize,
    /// Inbox posts one remote server may have in progress at once; past
    /// it, 429.
    pub max_inbox_per_host: usize,
    /// Password checks (argon2, 19 MiB each) running at once at most.
    pub password_checks: usize,
    /// How long a sign-in waits for a password check before answering 503.
    pub password_wait: Duration,
    /// Images with more pixels than this are refused.
    pub max_image_pixels: u64,
    /// Images wider or taller than this are refused.
    pub max_image_side: u32,
    /// Bytes of whole public answers kept in memory (`crate::cache`); 0: none.
    pub response_cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
            keep_alive_connections: 128,
            max_in_flight: 256,
            max_inbox_per_host: 16,
            password_checks: 2,
            password_wait: Duration::from_secs(3),
            max_image_pixels: 40_000_000,
            max_image_side: 10_000,
            response_cache_bytes: 16 << 20,
        }
    }
}

/// The counters behind [`Limits`] that live as long as the server.
pub(crate) struct Guards {
    in_flight: Semaphore,
    pub(crate) passwords: PasswordPool,
    inbox: HostSlots,
}

impl Guards {
    pub(crate) fn new(limits: &Limits) -> Self {
        Guards {
            in_flight: Semaphore::new(limits.max_in_flight.max(1)),
            passwords: PasswordPool::new(limits.password_checks.max(1), limits.password_wait),
            inbox: HostSlots::new(limits.max_inbox_per_host),
        }
    }
}

/// Requests in progress per remote host, each host bounded on its own, so
/// one busy server cannot take every place the inbox has.
struct HostSlots {
    max: usize,
    taken: Mutex<HashMap<String, usize>>,
}

/// A place taken in [`HostSlots`], given back when dropped.
struct HostSlot<'a> {
    slots: &'a HostSlots,
    host: String,
}

impl HostSlots {
    fn new(max: usize) -> Self {
        HostSlots {
            max: max.max(1),
            taken: Mutex::new(HashMap::new()),
        }
    }

    /// A place for `host`, or `None` when it already has `max` in progress.
    fn take(&self, host: &str) -> Option<HostSlot<'_>> {
        let mut taken = self.taken.lock().ok()?;
        let n = taken.entry(host.to_owned()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(HostSlot {
            slots: self,
            host: host.to_owned(),
        })
    }
}

impl Drop for HostSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut taken) = self.slots.taken.lock()
            && let Some(n) = taken.get_mut(&self.host)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                taken.remove(&self.host);
            }
        }
    }
}

/// The server an inbox post says it comes from: the host (and port) of its
/// signature's `keyId` (checked later by the inbox), else the peer address.
fn inbox_sender(headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    let key_host = headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|sig| {
            sig.split(',')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("keyid"))
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        })
        .and_then(|key| url::Url::parse(&key).ok())
        .and_then(|u| {
            let host = u.host_str()?.to_ascii_lowercase();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        });
    key_host.unwrap_or_else(|| peer.map(|p| p.ip().to_string()).unwrap_or_default())
}

/// Runs password checks a few at a time: each argon2 check takes 19 MiB
/// and tens of milliseconds of CPU, so hundreds at once would take
/// gigabytes (and glibc keeps what its per-thread arenas once held).
/// Callers beyond the bound wait up to `wait`, then are turned away.
pub(crate) struct PasswordPool {
    permits: Semaphore,
    wait: Duration,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// The pool stayed full for as long as a caller could wait.
#[derive(Debug)]
pub(crate) struct PoolBusy;

impl PasswordPool {
    pub(crate) fn new(size: usize, wait: Duration) -> Self {
        PasswordPool {
            permits: Semaphore::new(size),
            wait,
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Runs `work` once a place is free, or answers [`PoolBusy`] after the wait.
    pub(crate) async fn run<T>(&self, work: impl Future<Output = T>) -> Result<T, PoolBusy> {
        let _permit = tokio::time::timeout(self.wait, self.permits.acquire())
            .await
            .map_err(|_| PoolBusy)?
            .map_err(|_| PoolBusy)?;
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let out = work.await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(out)
    }

    /// The most checks that ever ran at once.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// 503 with `Retry-After`, for a server that is busy right now.
pub(crate) fn busy(retry_after_seconds: u32, text: &'static str) -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response();
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds));
    r
}

fn too_large(limit: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("request body too large: at most {limit} bytes here"),
    )
        .into_response()
}

/// Whether `path` (the full path) takes an uploaded file on `POST`.
fn is_upload_route(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    matches!(
        segments.as_slice(),
        ["", "admin", "media"]
            | ["", "admin", "articles", _]
            | ["", "admin", "organisation", "logo"]
            | ["", "admin", "authors", _, "avatar"]
            | ["", "api", "media"]
    )
}

/// Whether a request carries something that may prove who sent it (a
/// session cookie or a bearer token); the handler checks it before reading.
fn has_credentials(headers: &HeaderMap) -> bool {
    let cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(crate::admin::SESSION_COOKIE));
    cookie || headers.contains_key(AUTHORIZATION)
}

/// The largest body a request may send.
pub(crate) fn body_limit(state: &AppState, method: &Method, path: &str, headers: &HeaderMap) -> usize {
    if method == Method::POST && is_upload_route(path) && has_credentials(headers) {
        return state.config().max_upload_bytes.saturating_add(UPLOAD_TEXT_SLACK);
    }
    if method == Method::POST && path == "/admin/login" {
        return crate::admin::STASH_LIMIT;
    }
    DEFAULT_BODY_LIMIT
}

/// The announced length of a request body, if any.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// First layer of every route: refuses an announced oversized body before
/// reading a byte of it, bounds the rest as it streams, bounds the requests
/// in flight and how long each may take.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = body_limit(&state, req.method(), req.uri().path(), req.headers());
    if content_length(req.headers()).is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let _host_slot = if req.method() == Method::POST && req.uri().path().ends_with("/inbox") {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let sender = inbox_sender(req.headers(), peer);
        match state.guards().inbox.take(&sender) {
            Some(slot) => Some(slot),
            None => {
                let mut r = busy(1, "too many deliveries from your server in progress; try again shortly");
                *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                return r;
            }
        }
    } else {
        None
    };
    let Ok(_permit) = state.guards().in_flight.try_acquire() else {
        return busy(1, "too many requests in progress; try again shortly");
    };
    let req = req.map(|body| Body::new(Limited::new(body, limit)));
    match tokio::time::timeout(state.config().limits.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => busy(5, "the request took too long"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn upload_routes_are_the_ones_with_a_file() {
        for p in [
            "/admin/media",
            "/admin/articles/new",
            "/admin/articles/0192abc",
            "/admin/organisation/logo",
            "/admin/authors/camille/avatar",
            "/api/media",
        ] {
            assert!(is_upload_route(p), "{p}");
        }
        for p in [
            "/admin/login",
            "/admin/media/x/alt",
            "/admin/articles/x/interactions",
            "/admin/organisation",
            "/users/x/inbox",
            "/api/articles",
        ] {
            assert!(!is_upload_route(p), "{p}");
        }
    }

    #[test]
    fn each_remote_host_has_its_own_share_of_the_inbox() {
        let slots = HostSlots::new(2);
        let a1 = slots.take("a.example").unwrap();
        let _a2 = slots.take("a.example").unwrap();
        assert!(slots.take("a.example").is_none(), "a third from one host is refused");
        let _b = slots.take("b.example").expect("another host still gets in");
        drop(a1);
        assert!(slots.take("a.example").is_some(), "a place given back is free again");

        let mut h = HeaderMap::new();
        h.insert(
            "signature",
            HeaderValue::from_static(
                "keyId=\"https://Social.Example/users/x#main-key\",algorithm=\"rsa-sha256\",signature=\"abc=\"",
            ),
        );
        let peer: SocketAddr = "198.51.100.2:4000".parse().unwrap();
        assert_eq!(inbox_sender(&h, Some(peer)), "social.example");
        h.insert(
            "signature",
            HeaderValue::from_static("keyId=\"http://127.0.0.1:19100/users/m#main-key\",signature=\"x\""),
        );
        assert_eq!(inbox_sender(&h, Some(peer)), "127.0.0.1:19100");
        assert_eq!(inbox_sender(&HeaderMap::new(), Some(peer)), "198.51.100.2");
    }

    #[tokio::test]
    async fn password_checks_never_exceed_the_pool() {
        let pool = Arc::new(PasswordPool::new(3, Duration::from_secs(60)));
        let mut tasks = Vec::new();
        for i in 0..40u64 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.run(tokio::task::spawn_blocking(move || {
                    // Real CPU work, long enough for the tasks to overlap.
                    (0..200_000u64).fold(i, |a, b| a.wrapping_mul(31).wrapping_add(b))
                }))
                .await
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert!(pool.peak() <= 3, "peak {}", pool.peak());
        assert!(pool.peak() >= 1);
    }

    #[tokio::test]
    async fn a_full_pool_turns_callers_away_after_the_wait() {
        let pool = Arc::new(PasswordPool::new(1, Duration::from_millis(50)));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let holder = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(wait).await })
        };
        // Poll until the holder has its place.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pool.running.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "holder never ran");
            tokio::task::yield_now().await;
        }
        assert!(
            pool.run(async {}).await.is_err(),
            "the second caller waits, then is refused"
        );
        release.send(()).unwrap();
        assert!(holder.await.unwrap().is_ok());
        assert!(pool.run(async {}).await.is_ok());
    }
}
