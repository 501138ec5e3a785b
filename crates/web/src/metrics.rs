//! Prometheus metrics at `/metrics`, in the text exposition format written
//! here by hand: HTTP requests by route template and status class with a
//! latency histogram (counted by a layer around every route), inbox
//! activities by type and outcome and signature failures (counted by the
//! inbox, see `gazette_federation::inbox_counts`), and, read when scraped,
//! the delivery queue, open circuit breakers, the database
//! pool and the process's resident memory. Labels take bounded values only:
//! route templates (never raw paths), status classes, queue states.
//! Access is off, loopback-only or behind a bearer token (`[metrics]`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Who may read `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MetricsAccess {
    /// `/metrics` answers 404.
    #[default]
    Off,
    /// Only clients on this machine connecting directly: a request that
    /// came through a reverse proxy (it carries `X-Forwarded-For` or
    /// `Forwarded`) is refused even from loopback.
    Loopback,
    /// Anyone sending `Authorization: Bearer <token>`.
    Token(String),
}

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The counters kept between scrapes; one per [`AppState`].
#[derive(Default)]
pub(crate) struct Registry {
    http: Mutex<BTreeMap<String, Route>>,
}

/// One route template's requests.
#[derive(Default)]
struct Route {
    /// By status class (`2xx` … `5xx`, index 1 to 5; 0 for anything else).
    by_class: [u64; 6],
    /// Requests that took at most `BUCKETS[i]` seconds (not cumulative).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl Registry {
    fn record(&self, route: &str, status: StatusCode, seconds: f64) {
        let Ok(mut http) = self.http.lock() else { return };
        let r = match http.get_mut(route) {
            Some(r) => r,
            None => http.entry(route.to_owned()).or_default(),
        };
        let class = usize::from(status.as_u16() / 100);
        r.by_class[if (1..=5).contains(&class) { class } else { 0 }] += 1;
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            r.buckets[i] += 1;
        }
        r.count += 1;
        r.sum_seconds += seconds;
    }

    fn write_http(&self, out: &mut String) {
        let Ok(http) = self.http.lock() else { return };
        out.push_str(
            "# HELP gazette_http_requests_total HTTP requests answered, by route template and status class.\n",
        );
        out.push_str("# TYPE gazette_http_requests_total counter\n");
        for (route, r) in http.iter() {
            for (i, n) in r.by_class.iter().enumerate().filter(|(_, n)| **n > 0) {
                let class = if i == 0 { "other".to_owned() } else { format!("{i}xx") };
                let _ = writeln!(
                    out,
                    "gazette_http_requests_total{{route=\"{}\",status=\"{class}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP gazette_http_request_duration_seconds Time to answer HTTP requests, by route template.\n");
        out.push_str("# TYPE gazette_http_request_duration_seconds histogram\n");
        for (route, r) in http.iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (b, n) in BUCKETS.iter().zip(r.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "gazette_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "gazette_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(
                out,
                "gazette_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                r.sum_seconds
            );
            let _ = writeln!(
                out,
                "gazette_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                r.count
            );
        }
    }
}

/// A label value as the exposition format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The route template a response was answered by, carried out on it so
/// the response cache, outside the router, can count its hits under the
/// same label.
#[derive(Clone, Debug)]
pub(crate) struct RouteLabel(pub(crate) std::sync::Arc<str>);

/// Counts every request the router answers under its route template;
/// requests no route matched count as `unmatched`, so raw paths never
/// become labels. (Cache hits never reach the router: the cache counts
/// them, see [`record_hit`].)
pub(crate) async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route: std::sync::Arc<str> = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .into();
    let started = std::time::Instant::now();
    let mut response = next.run(req).await;
    state
        .metrics()
        .record(&route, response.status(), started.elapsed().as_secs_f64());
    response.extensions_mut().insert(RouteLabel(route));
    response
}

/// Counts an answer the response cache gave, under the route that
/// rendered it.
pub(crate) fn record_hit(state: &AppState, route: &str, status: StatusCode, started: std::time::Instant) {
    state.metrics().record(route, status, started.elapsed().as_secs_f64());
}

/// `GET /metrics`.
pub(crate) async fn get_metrics(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>();
    match &state.config().metrics {
        MetricsAccess::Off => return StatusCode::NOT_FOUND.into_response(),
        MetricsAccess::Loopback => {
            // A request a proxy on this machine passed on (it says whom
            // for) comes from anywhere: not a local scraper.
            let proxied = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
            if proxied || !peer.is_some_and(|p| p.0.ip().is_loopback()) {
                return StatusCode::NOT_FOUND.into_response();
            }
        }
        MetricsAccess::Token(token) => {
            let given = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
                return (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", HeaderValue::from_static("Bearer"))],
                )
                    .into_response();
            }
        }
    }
    let mut out = String::new();
    state.metrics().write_http(&mut out);
    write_inbox(&state, &mut out);
    write_queue(&state, &mut out).await;
    write_process(&state, &mut out);
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Activities received, by type (a fixed list, else `other`) and outcome.
fn write_inbox(state: &AppState, out: &mut String) {
    let counts = state.fed().inbox_counts();
    out.push_str("# HELP gazette_inbox_activities_total Activities posted to the inbox, by type and outcome.\n");
    out.push_str("# TYPE gazette_inbox_activities_total counter\n");
    for (kind, outcome, n) in counts.snapshot() {
        let _ = writeln!(
            out,
            "gazette_inbox_activities_total{{type=\"{kind}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    out.push_str(
        "# HELP gazette_inbox_signature_failures_total Inbox posts refused because their signature did not verify.\n",
    );
    out.push_str("# TYPE gazette_inbox_signature_failures_total counter\n");
    let _ = writeln!(
        out,
        "gazette_inbox_signature_failures_total {}",
        counts.signature_failures()
    );
}

/// The delivery queue, read now; a failed read leaves these lines out
/// (and is logged) rather than failing the scrape.
async fn write_queue(state: &AppState, out: &mut String) {
    let now = chrono::Utc::now();
    let s = match state.store().delivery_summary(now).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the delivery queue");
            return;
        }
    };
    out.push_str("# HELP gazette_deliveries Deliveries in the queue, by state.\n");
    out.push_str("# TYPE gazette_deliveries gauge\n");
    for (st, n) in [
        ("pending", s.pending),
        ("retrying", s.retrying),
        ("delivered", s.delivered),
        ("given_up", s.given_up),
    ] {
        let _ = writeln!(out, "gazette_deliveries{{state=\"{st}\"}} {n}");
    }
    let age = s
        .oldest_pending
        .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    out.push_str(
        "# HELP gazette_delivery_oldest_pending_seconds Age of the oldest delivery not yet done (0 when none).\n",
    );
    out.push_str("# TYPE gazette_delivery_oldest_pending_seconds gauge\n");
    let _ = writeln!(out, "gazette_delivery_oldest_pending_seconds {age}");
    out.push_str("# HELP gazette_delivery_open_circuits Remote hosts whose circuit breaker is open.\n");
    out.push_str("# TYPE gazette_delivery_open_circuits gauge\n");
    let _ = writeln!(out, "gazette_delivery_open_circuits {}", s.open_circuits);
}

/// The database pool and the process's memory.
fn write_process(state: &AppState, out: &mut String) {
    let (size, idle) = state.store().pool_usage();
    out.push_str("# HELP gazette_db_pool_connections Connections of the database read pool, by state.\n");
    out.push_str("# TYPE gazette_db_pool_connections gauge\n");
    let _ = writeln!(out, "gazette_db_pool_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(
        out,
        "gazette_db_pool_connections{{state=\"in_use\"}} {}",
        (size as usize).saturating_sub(idle)
    );
    if let Some(lists) = state.store().sender_lists_seen() {
        out.push_str(
            "# HELP gazette_inbox_block_list_entries Entries of the lists the inbox checks senders against, as this process last read them.\n",
        );
        out.push_str("# TYPE gazette_inbox_block_list_entries gauge\n");
        for (list, n) in [
            ("domain_blocks", lists.domain_blocks),
            ("domain_allows", lists.domain_allows),
            ("actor_blocks", lists.actor_blocks),
        ] {
            let _ = writeln!(out, "gazette_inbox_block_list_entries{{list=\"{list}\"}} {n}");
        }
    }
    if let Some(bytes) = resident_bytes() {
        out.push_str("# HELP process_resident_memory_bytes Resident memory of the process.\n");
        out.push_str("# TYPE process_resident_memory_bytes gauge\n");
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
}

/// `VmRSS` from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_classes() {
        let r = Registry::default();
        r.record("/a/{slug}", StatusCode::OK, 0.003);
        r.record("/a/{slug}", StatusCode::NOT_FOUND, 0.2);
        r.record("/a/{slug}", StatusCode::OK, 30.0);
        let mut out = String::new();
        r.write_http(&mut out);
        assert!(out.contains("gazette_http_requests_total{route=\"/a/{slug}\",status=\"2xx\"} 2\n"));
        assert!(out.contains("gazette_http_requests_total{route=\"/a/{slug}\",status=\"4xx\"} 1\n"));
        assert!(out.contains("le=\"0.005\"} 1\n"));
        assert!(out.contains("le=\"0.25\"} 2\n"));
        assert!(out.contains("le=\"10\"} 2\n"));
        assert!(out.contains("le=\"+Inf\"} 3\n"));
        assert!(out.contains("gazette_http_request_duration_seconds_count{route=\"/a/{slug}\"} 3\n"));
    }

    #[test]
    fn resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
        }
    }
}
