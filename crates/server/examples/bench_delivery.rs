//! Publish → first delivery: how long after an article is published its
//! `Create` reaches a follower's inbox on loopback, when published through
//! the API and with `gazette publish` (a separate process, which the server
//! hears of through the database). Run by `scripts/bench-delivery`, results
//! in docs/benchmarks.md; the goal is p99 under a second.
//!
//! `bench_delivery --gazette PATH --database-url URL [--api N] [--cli N]`
//! starts `PATH serve --demo` on a fresh database (URL must be empty) and
//! a loopback inbox following the demo author, then publishes N articles
//! one at a time each way, waiting for each `Create` before the next, and
//! prints p50, p99 and max: for the API from the request, for the CLI from
//! the command's start and from its exit.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use gazette_core::{FollowStatus, RemoteActor};
use gazette_store::Store;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Longest wait for one delivery before the run is declared broken.
const GIVE_UP: Duration = Duration::from_secs(60);

fn args() -> HashMap<String, String> {
    let mut it = std::env::args().skip(1);
    let mut opts = HashMap::new();
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        opts.insert(k.trim_start_matches("--").to_owned(), v);
    }
    opts
}

/// Each `Create` the inbox receives: the article's slug and when it came.
type Arrivals = mpsc::UnboundedSender<(String, Instant)>;

async fn inbox(State(tx): State<Arc<Arrivals>>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if activity["type"] == "Create"
        && let Some(slug) = activity["object"]["url"]
            .as_str()
            .and_then(|u| u.rsplit_once("/articles/"))
            .map(|(_, s)| s.to_owned())
    {
        let _ = tx.send((slug, at));
    }
    StatusCode::ACCEPTED
}

#[tokio::main]
async fn main() {
    let opts = args();
    // reqwest is built without a TLS provider of its own (see gazette-federation).
    gazette_federation::install_crypto_provider();
    let get = |k: &str| opts.get(k).cloned().unwrap_or_else(|| panic!("missing --{k}"));
    let num = |k: &str, d: usize| opts.get(k).map(|v| v.parse().unwrap()).unwrap_or(d);
    let server = support::Gazette::start(Path::new(&get("gazette")), &get("database-url"), "bench-delivery").unwrap();
    let database_url = get("database-url");
    let (public, listen) = (server.public.clone(), server.listen);

    let (tx, mut arrivals) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .fallback(axum::routing::post(inbox))
        .with_state(Arc::new(tx));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let store = Store::connect(&database_url, 2).await.unwrap();
    let follower = format!("http://localhost:{sink_port}/users/reader");
    store
        .upsert_remote_actor(&RemoteActor {
            id: follower.clone(),
            kind: "Person".into(),
            preferred_username: "reader".into(),
            name: "Reader".into(),
            host: format!("localhost:{sink_port}"),
            inbox: format!("{follower}/inbox"),
            shared_inbox: None,
            url: None,
            icon: None,
            public_key_id: format!("{follower}#main-key"),
            public_key_pem: String::new(),
            moved_to: None,
            refreshed_at: Utc::now(),
        })
        .await
        .unwrap();
    store
        .add_follower(
            &format!("{public}/users/camille_renard"),
            &follower,
            &format!("{follower}/follows/1"),
            FollowStatus::Accepted,
        )
        .await
        .unwrap();
    store.close().await;

    let token = server.token().unwrap();

    let mut wait_for = async |slug: &str| -> Instant {
        let deadline = tokio::time::Instant::now() + GIVE_UP;
        loop {
            match tokio::time::timeout_at(deadline, arrivals.recv()).await {
                Ok(Some((got, at))) if got == slug => return at,
                Ok(Some(_)) => {}
                _ => panic!("no Create of {slug} within {GIVE_UP:?}"),
            }
        }
    };

    println!(
        "# {} — {} cores; load average before: {}",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!("database: {}", database_url.split(':').next().unwrap_or("?"));

    let client = reqwest::Client::new();
    let mut api = Vec::new();
    for i in 0..num("api", 100) {
        let slug = format!("api-{i}");
        let start = Instant::now();
        let resp = client
            .post(format!("http://{listen}/api/articles"))
            .bearer_auth(&token)
            .json(&json!({
                "slug": slug, "kind": "news", "status": "published", "language": "en", "author": "camille_renard",
                "translations": [{"language": "en", "title": format!("API {i}"), "summary": "S", "body": "B"}]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        api.push(wait_for(&slug).await - start);
    }
    report("API: POST /api/articles → Create at the follower", &mut api);

    let mut from_start = Vec::new();
    let mut from_exit = Vec::new();
    for i in 0..num("cli", 30) {
        let slug = format!("cli-{i}");
        let file = server.dir().join(format!("{slug}.md"));
        std::fs::write(
            &file,
            format!(
                "---\nslug: {slug}\nkind: news\ntitle: CLI {i}\nsummary: S\nlanguage: en\nauthor: camille_renard\n---\nB\n"
            ),
        )
        .unwrap();
        let start = Instant::now();
        let out = server.command(&["publish", file.to_str().unwrap()]).output().unwrap();
        let exited = Instant::now();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let at = wait_for(&slug).await;
        from_start.push(at - start);
        // The Create may come before the command has quite exited.
        from_exit.push(at.saturating_duration_since(exited));
    }
    report(
        "CLI: `gazette publish` started → Create at the follower",
        &mut from_start,
    );
    report("CLI: `gazette publish` exited → Create at the follower", &mut from_exit);

    drop(server);
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "{what}: n={} p50 {} p99 {} max {}",
        samples.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(samples[samples.len() - 1])
    );
}
