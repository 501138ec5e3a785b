//! The public read path's response cache: whole answers (article pages and
//! their AS2 objects, actors, WebFinger, NodeInfo, Atom feeds, the home,
//! tag and author listings) kept in memory, so that a page a thousand
//! servers fetch at once is rendered once. A hit is a lookup and a copy of
//! `Bytes`, without the database; conditional requests get 304, and gzip
//! and brotli bodies are made once, when an answer is stored.
//!
//! Freshness: every request that may have written (any method but GET and
//! HEAD, once it succeeded) empties the cache at once, and so does every
//! change the database reports from another process (`Store::changes`,
//! watched by the binary: PostgreSQL notifications, SQLite's change
//! counter every 100 ms); while that watch is down nothing is cached.
//! Pages rendered while a write happened are not stored (`store.rs`).

mod entry;
mod store;

use axum::extract::{Request, State};
use axum::http::header::{ACCEPT_LANGUAGE, IF_MODIFIED_SINCE, IF_NONE_MATCH, SET_COOKIE};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use store::Fill;
pub use store::ResponseCache;

use crate::state::AppState;
use entry::{Conditions, Entry, add_vary, default_cache_control};

/// Larger answers are not read into memory to be stored (none of the
/// cached routes comes near it).
const MAX_BODY: usize = 4 << 20;
/// Longer query strings or `Accept-Language` headers are not cached (so a
/// client cannot fill the cache with variants of one page).
const MAX_QUERY: usize = 256;
const MAX_LANGUAGE: usize = 128;

/// Cache-Control of stored pages: browsers revalidate every time (a 304 is
/// cheap), a reverse proxy may keep a copy 10 s and serve it while it
/// fetches a fresher one for 30 s more.
const PUBLIC: &str = "public, max-age=0, s-maxage=10, stale-while-revalidate=30";
/// Of a deleted article's 410: a proxy may repeat it briefly, never
/// serve an older 200 past its s-maxage.
const GONE: &str = "public, max-age=0, s-maxage=10";
/// How long a request waits for another's render of the same key before
/// rendering it itself.
const FILL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The middleware around the router; see the module docs. It sits outside
/// the router, so a hit costs no routing, no clone of a route's service
/// (the federation routes' hold the whole federation configuration) and
/// none of the layers inside; hits are counted in the metrics here.
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let hit = |entry: &Entry, conditions: &Conditions| {
        let resp = entry.respond(conditions);
        if let Some(route) = &entry.route {
            crate::metrics::record_hit(&state, &route.0, resp.status(), started);
        }
        resp
    };
    let cache = state.response_cache();
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        let resp = next.run(req).await;
        if resp.status().as_u16() < 400 {
            cache.invalidate();
            let store = state.store().clone();
            tokio::spawn(async move {
                if let Err(e) = store.announce_change().await {
                    tracing::warn!(error = %e, "could not tell other processes about a write");
                }
            });
        }
        return resp;
    }
    let Some(key) = key(&state, &req) else {
        return next.run(req).await;
    };
    let conditions = Conditions::of(req.headers());
    if method != Method::GET {
        return match cache.get(&key) {
            Some(entry) => hit(&entry, &conditions),
            None => next.run(req).await,
        };
    }
    // A miss is rendered by one request; the others asking meanwhile wait
    // for its answer, then render it themselves only if it was not stored
    // (not cacheable, or a write came in between).
    let mut first = None;
    if cache.generation().is_some() {
        if let Some(entry) = cache.get(&key) {
            return hit(&entry, &conditions);
        }
        match cache.fill(&key) {
            Fill::First(guard) => first = Some(guard),
            Fill::Wait(mut done) => {
                // Err: the render ended (its guard is gone), which is the news.
                let _ = tokio::time::timeout(FILL_WAIT, done.changed()).await;
                if let Some(entry) = cache.get(&key) {
                    return hit(&entry, &conditions);
                }
            }
        }
    }
    let Some(generation) = cache.generation() else {
        return next.run(req).await;
    };
    let path_negotiates = negotiates(req.uri().path());
    let mut req = req;
    // The page answers in full, so that the answer can be stored.
    req.headers_mut().remove(IF_NONE_MATCH);
    req.headers_mut().remove(IF_MODIFIED_SINCE);
    let resp = next.run(req).await;
    let status = resp.status();
    if !matches!(status, StatusCode::OK | StatusCode::GONE) || resp.headers().contains_key(SET_COOKIE) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, path = %key, "could not read a page's answer to cache it");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if path_negotiates {
        add_vary(&mut parts.headers, "Accept");
    }
    if status == StatusCode::OK {
        add_vary(&mut parts.headers, "Accept-Encoding");
        default_cache_control(&mut parts.headers, PUBLIC);
    } else {
        default_cache_control(&mut parts.headers, GONE);
    }
    // The layer above would add them to every hit's copy.
    crate::security_headers::apply(
        &mut parts.headers,
        crate::security_headers::SecurityHeaders::for_public_url(&state.config().public_url),
    );
    let mut entry = Entry::new(generation, status, parts.headers, body, cache.last_modified_secs());
    entry.route = parts.extensions.get::<crate::metrics::RouteLabel>().cloned();
    let entry = Arc::new(entry);
    cache.insert(key, entry.clone());
    drop(first);
    entry.respond(&conditions)
}

/// Paths whose answer depends on `Accept` (HTML or ActivityStreams).
fn negotiates(path: &str) -> bool {
    ["/articles/", "/users/", "/objects/", "/notes/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The cache key of a request, or `None` when its answer is not cached:
/// not a public read route, a long query, or an ActivityStreams document
/// that authorized fetch keeps to signed requests.
fn key(state: &AppState, req: &Request) -> Option<String> {
    let path = req.uri().path();
    let public = matches!(
        path,
        "/" | "/feed.atom"
            | "/actor"
            | "/.well-known/webfinger"
            | "/.well-known/nodeinfo"
            | "/.well-known/host-meta"
            | "/nodeinfo/2.1"
            | "/sitemap.xml"
    ) || [
        "/articles/",
        "/authors/",
        "/tags/",
        "/feed/",
        "/users/",
        "/objects/",
        "/notes/",
        // The shared feed and its member and about pages (their language
        // may come from a cookie, which the key below carries).
        "/network/",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    // An answer that depends on who signed the request is never shared.
    if !public || gazette_federation::follower_sync::is_signer_specific(path) {
        return None;
    }
    let query = req.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY {
        return None;
    }
    let activity = gazette_federation::wants_activity_json(req.headers());
    if state.fed().settings().authorized_fetch
        && (activity || ["/users/", "/objects/", "/notes/"].iter().any(|p| path.starts_with(p)))
    {
        return None;
    }
    let language = if activity {
        ""
    } else {
        let l = req
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if l.len() > MAX_LANGUAGE {
            return None;
        }
        l
    };
    // The network pages' interface language may come from a cookie.
    let remembered = if activity {
        None
    } else {
        crate::pages::remembered_ui_language(req.headers())
    };
    Some(format!(
        "{}|{path}?{query}|{language}|{}",
        if activity { "as2" } else { "page" },
        remembered.unwrap_or("")
    ))
}
