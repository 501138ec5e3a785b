//! What a sysadmin watches the instance with: the request id every answer
//! carries (kept from a proxy on this machine, replaced from anyone else)
//! and `/metrics` under each of its access rules. Driven through the real
//! router on a throw-away SQLite database.

// A failing unwrap is a failing test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use gazette_core::Language;
use gazette_store::testing::TestDb;
use gazette_web::{AppConfig, AppState, MetricsAccess, Templates, ThemeConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://news.coop.test";

async fn app(metrics: MetricsAccess) -> (Router, TestDb) {
    let db = TestDb::sqlite().await;
    let config = AppConfig {
        public_url: PUBLIC_URL.into(),
        instance_name: "Test instance".into(),
        default_language: Language::parse("en").unwrap(),
        time_zone: gazette_core::local_time::Tz::UTC,
        max_upload_bytes: 1 << 20,
        theme: ThemeConfig {
            dir: None,
            primary_color: "#1d4ed8".into(),
            accent_color: "#b45309".into(),
            footer: String::new(),
        },
        admin: Default::default(),
        limits: Default::default(),
        metrics,
    };
    let federation = gazette_federation::FederationSettings::new(PUBLIC_URL);
    let state = AppState::build(
        db.store.clone(),
        config,
        Templates::load(None).unwrap(),
        federation.clone(),
        gazette_http::build_client(&federation.http_config()).unwrap(),
        std::sync::Arc::new(|| {}),
    )
    .await
    .unwrap();
    (gazette_web::router(state), db)
}

struct Reply {
    status: StatusCode,
    request_id: Option<String>,
    body: String,
}

/// `GET uri` from `peer` (as the server would record it), with `headers`.
async fn get(router: &Router, uri: &str, peer: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let request_id = res
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        request_id,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

const LOCAL: &str = "127.0.0.1:40000";
const REMOTE: &str = "203.0.113.9:40000";

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let (router, _db) = app(MetricsAccess::Off).await;
    let a = get(&router, "/healthz", REMOTE, &[]).await;
    let b = get(&router, "/no/such/page", REMOTE, &[]).await;
    assert_eq!(b.status, StatusCode::NOT_FOUND);
    let (a, b) = (a.request_id.unwrap(), b.request_id.unwrap());
    assert_eq!(a.len(), 32, "{a}");
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_local_proxys_request_id_is_kept_and_anyone_elses_replaced() {
    let (router, _db) = app(MetricsAccess::Off).await;
    let id = [("x-request-id", "proxy-4f2a.17")];
    let kept = get(&router, "/healthz", LOCAL, &id).await;
    assert_eq!(kept.request_id.as_deref(), Some("proxy-4f2a.17"));
    let replaced = get(&router, "/healthz", REMOTE, &id).await;
    let replaced = replaced.request_id.unwrap();
    assert_ne!(replaced, "proxy-4f2a.17");
    assert_eq!(replaced.len(), 32);
    // Even from the proxy, an id that could not go into a log line as is.
    let odd = get(&router, "/healthz", LOCAL, &[("x-request-id", "a b\"c")]).await;
    assert_ne!(odd.request_id.as_deref(), Some("a b\"c"));
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let (router, _db) = app(MetricsAccess::default()).await;
    assert_eq!(get(&router, "/metrics", LOCAL, &[]).await.status, StatusCode::NOT_FOUND);
}

/// The `route="/healthz",status="2xx"` counter in a scrape.
fn healthz_count(body: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix("gazette_http_requests_total{route=\"/healthz\",status=\"2xx\"} "))
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn loopback_metrics_answer_only_this_machine_and_count_requests() {
    let (router, _db) = app(MetricsAccess::Loopback).await;
    assert_eq!(
        get(&router, "/metrics", REMOTE, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    // Passed on by a reverse proxy on this machine: from anyone.
    let proxied = [("x-forwarded-for", "198.51.100.7")];
    assert_eq!(
        get(&router, "/metrics", LOCAL, &proxied).await.status,
        StatusCode::NOT_FOUND
    );
    get(&router, "/healthz", REMOTE, &[]).await;
    let first = get(&router, "/metrics", LOCAL, &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    for name in [
        "gazette_http_requests_total",
        "gazette_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"}",
        "gazette_deliveries{state=\"pending\"} 0",
        "gazette_delivery_oldest_pending_seconds 0",
        "gazette_delivery_open_circuits 0",
        "gazette_inbox_signature_failures_total 0",
        "gazette_db_pool_connections{state=\"idle\"}",
        "process_resident_memory_bytes",
    ] {
        assert!(first.body.contains(name), "no {name} in\n{}", first.body);
    }
    let before = healthz_count(&first.body);
    assert!(before >= 1);
    get(&router, "/healthz", REMOTE, &[]).await;
    get(&router, "/healthz", REMOTE, &[]).await;
    let after = healthz_count(&get(&router, "/metrics", LOCAL, &[]).await.body);
    assert_eq!(after, before + 2);
    // Unmatched paths share one label: no raw path becomes a series.
    get(&router, "/no/such/page-1", REMOTE, &[]).await;
    let body = get(&router, "/metrics", LOCAL, &[]).await.body;
    assert!(body.contains("route=\"unmatched\",status=\"4xx\""), "{body}");
    assert!(!body.contains("page-1"));
}

/// An unsigned activity of type `kind` posted to the shared inbox; its status.
async fn post_unsigned(router: &Router, kind: &str) -> StatusCode {
    let body = format!(
        r#"{{"id":"https://elsewhere.example/a/1","type":"{kind}","actor":"https://elsewhere.example/u/x","object":"{PUBLIC_URL}/users/soleil"}}"#
    );
    let mut req = Request::builder()
        .method("POST")
        .uri("/inbox")
        .header("content-type", "application/activity+json")
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(REMOTE.parse::<SocketAddr>().unwrap()));
    router.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn inbox_activities_count_by_type_and_outcome() {
    let (router, _db) = app(MetricsAccess::Loopback).await;
    assert_eq!(post_unsigned(&router, "Follow").await, StatusCode::UNAUTHORIZED);
    assert_eq!(post_unsigned(&router, "Follow").await, StatusCode::UNAUTHORIZED);
    assert_eq!(post_unsigned(&router, "Made-Up-Type-1").await, StatusCode::UNAUTHORIZED);
    let body = get(&router, "/metrics", LOCAL, &[]).await.body;
    for line in [
        "gazette_inbox_activities_total{type=\"Follow\",outcome=\"signature_failed\"} 2\n",
        "gazette_inbox_activities_total{type=\"other\",outcome=\"signature_failed\"} 1\n",
        "gazette_inbox_signature_failures_total 3\n",
    ] {
        assert!(body.contains(line), "no {line} in\n{body}");
    }
    assert!(!body.contains("Made-Up"));
}

#[tokio::test]
async fn token_metrics_need_the_bearer_token() {
    let token = "scrape-me-0123456789";
    let (router, _db) = app(MetricsAccess::Token(token.into())).await;
    assert_eq!(
        get(&router, "/metrics", LOCAL, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let wrong = [("authorization", "Bearer scrape-me-0123456780")];
    assert_eq!(
        get(&router, "/metrics", REMOTE, &wrong).await.status,
        StatusCode::UNAUTHORIZED
    );
    let right = format!("Bearer {token}");
    let ok = get(&router, "/metrics", REMOTE, &[("authorization", &right)]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(
        ok.body.contains("gazette_deliveries{state=\"given_up\"} 0"),
        "{}",
        ok.body
    );
}
