//! Inbox benchmark: a load generator for a running `gazette serve` (see
//! `scripts/bench-federation`, which starts one). It plays many remote
//! actors on a fake remote server of its own, `localhost:PORT` on loopback,
//! that serves their actor documents (with their public keys) and counts how
//! often each is fetched. It POSTs `Like`s of a demo article, each with a
//! unique id, to the shared inbox `/inbox`, signed the way Gazette's own
//! deliveries are (this crate's signer: draft-cavage `rsa-sha256` over
//! `(request-target) host date digest`, with `Digest`).
//!
//! Activities are signed before the clock starts (signing is what a sender
//! pays, not the inbox): the `Date` they carry must still be within an hour
//! when they arrive (Gazette's window and activitypub_federation's
//! signature expiry), which a run of a few seconds easily is.
//!
//! Two phases per run, each actor new to the server:
//! 1. cold keys: `--burst` consecutive activities per actor, so with
//!    `--concurrency` requests in flight several requests of one actor arrive
//!    together before its key is known; the fetch count per actor shows
//!    whether they shared one fetch;
//! 2. measured: `--requests` activities from the same (now known) actors,
//!    closed loop (`--rate 0`: `--concurrency` requests always in flight,
//!    the most the server accepts) or open loop at `--rate` per second
//!    (latency counted from when each request was due, so a slow server
//!    cannot hide its queue), at most `--concurrency` in flight.
//!
//! ```text
//! cargo run --release -p gazette-delivery --example inbox_load -- \
//!     --target http://localhost:PORT [--server-pid PID] [--actors 100] \
//!     [--burst 8] [--requests 20000] [--concurrency 64] [--rate 0] \
//!     [--fetch-delay-ms 20] [--slug SLUG]
//! ```

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use common::load::{self, Prepared, ToSign, closed_loop, generate_keys, ms, open_loop, statuses};
use common::{BoxError, Flags};
use reqwest::Url;

/// Distinct key pairs, shared round-robin by the actors (2048-bit key
/// generation is slow); each actor still has its own document and key id.
const KEY_PAIRS: usize = 8;
const DEMO_SLUG: &str = "maite-delcourt-solstice-commun-energie-citoyenne";

struct Settings {
    target: String,
    server_pid: Option<u32>,
    actors: usize,
    burst: usize,
    requests: usize,
    concurrency: usize,
    rate: f64,
    fetch_delay: Duration,
    slug: String,
}

fn main() -> Result<(), BoxError> {
    let flags = Flags::parse(&[
        "target",
        "server-pid",
        "actors",
        "burst",
        "requests",
        "concurrency",
        "rate",
        "fetch-delay-ms",
        "slug",
    ])?;
    let settings = Settings {
        target: flags
            .str("target")
            .ok_or("--target http://localhost:PORT is required")?
            .trim_end_matches('/')
            .to_owned(),
        server_pid: flags.str("server-pid").map(str::parse).transpose()?,
        actors: flags.get("actors", 100)?,
        burst: flags.get("burst", 8)?,
        requests: flags.get("requests", 20_000)?,
        concurrency: flags.get("concurrency", 64)?,
        rate: flags.get("rate", 0.0)?,
        fetch_delay: Duration::from_millis(flags.get("fetch-delay-ms", 20)?),
        slug: flags.str("slug").unwrap_or(DEMO_SLUG).to_owned(),
    };
    if settings.actors == 0 || settings.burst == 0 || settings.concurrency == 0 {
        return Err("--actors, --burst and --concurrency must be at least 1".into());
    }
    // reqwest is built without a TLS provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("loadgen")
        .enable_all()
        .build()?;
    rt.block_on(run(settings))
}

/// The fake remote server: actor documents and how often each was fetched.
struct Remote {
    base: String,
    public_pems: Vec<String>,
    delay: Duration,
    fetches: Mutex<HashMap<usize, u32>>,
    other_requests: AtomicUsize,
}

async fn get_actor(State(remote): State<Arc<Remote>>, Path(name): Path<String>) -> axum::response::Response {
    let Some(i) = name.strip_prefix('a').and_then(|n| n.parse::<usize>().ok()) else {
        remote.other_requests.fetch_add(1, Ordering::Relaxed);
        return StatusCode::NOT_FOUND.into_response();
    };
    *lock(&remote.fetches).entry(i).or_insert(0) += 1;
    // A remote server's answer takes a while; the window in which concurrent
    // requests of one actor may each start a fetch.
    tokio::time::sleep(remote.delay).await;
    let id = format!("{}/users/a{i}", remote.base);
    let pem = &remote.public_pems[i % remote.public_pems.len()];
    let doc = serde_json::json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": format!("a{i}"),
        "name": format!("Remote actor {i}"),
        "inbox": format!("{id}/inbox"),
        "endpoints": {"sharedInbox": format!("{}/inbox", remote.base)},
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem},
    });
    ([(header::CONTENT_TYPE, "application/activity+json")], doc.to_string()).into_response()
}

async fn other(State(remote): State<Arc<Remote>>) -> StatusCode {
    remote.other_requests.fetch_add(1, Ordering::Relaxed);
    StatusCode::NOT_FOUND
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn run(s: Settings) -> Result<(), BoxError> {
    let started = Instant::now();
    let (privates, public_pems) = generate_keys(KEY_PAIRS.min(s.actors))?;
    let keys_took = started.elapsed();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://localhost:{}", listener.local_addr()?.port());
    let remote = Arc::new(Remote {
        base: base.clone(),
        public_pems,
        delay: s.fetch_delay,
        fetches: Mutex::new(HashMap::new()),
        other_requests: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .route("/users/{name}", axum::routing::get(get_actor))
        .fallback(other)
        .with_state(remote.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("fake remote server stopped: {e}");
        }
    });

    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(s.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let article = fetch_json(&client, &format!("{}/articles/{}", s.target, s.slug)).await?;
    let article_id = article["id"]
        .as_str()
        .ok_or("the demo article has no id; start the server with --demo")?
        .to_owned();
    let likes_before = likes(&client, &article_id).await?;

    // Sign everything first, on two threads.
    let inbox = Url::parse(&format!("{}/inbox", s.target))?;
    let cold: Vec<(usize, String)> = (0..s.actors * s.burst)
        .map(|i| (i / s.burst, format!("{base}/likes/cold-{i}")))
        .collect();
    let measured: Vec<(usize, String)> = (0..s.requests)
        .map(|i| (i % s.actors, format!("{base}/likes/{i}")))
        .collect();
    let sign_started = Instant::now();
    let signing = Signing {
        base: &base,
        article_id: &article_id,
        inbox: &inbox,
        keys: &privates,
    };
    let cold = signing.sign_all(&cold)?;
    let measured = signing.sign_all(&measured)?;
    let sign_took = sign_started.elapsed();
    println!(
        "inbox benchmark against {} ({}): {} remote actors at {base} ({} key pairs, made in {:.1} s), actor documents answered after {} ms; {} activities signed in advance in {:.1} s",
        s.target,
        inbox,
        s.actors,
        privates.len(),
        keys_took.as_secs_f64(),
        s.fetch_delay.as_millis(),
        cold.len() + measured.len(),
        sign_took.as_secs_f64()
    );

    // Phase 1: cold keys, bursts of requests per actor.
    let outcome = closed_loop(&client, &inbox, cold, s.concurrency).await;
    let fetches = lock(&remote.fetches).clone();
    let total: u32 = fetches.values().sum();
    let more_than_once = fetches.values().filter(|&&n| n > 1).count();
    let max = fetches.values().copied().max().unwrap_or(0);
    println!(
        "cold keys: {} requests ({} per actor in a row, {} in flight) in {:.2} s: {}; p50 {:.1} ms, p99 {:.1} ms",
        outcome.latencies.len(),
        s.burst,
        s.concurrency,
        outcome.elapsed.as_secs_f64(),
        statuses(&outcome.statuses),
        ms(common::percentile(&outcome.latencies, 50.0)),
        ms(common::percentile(&outcome.latencies, 99.0)),
    );
    println!(
        "  actor documents fetched: {total} times for {} actors ({} never); fetched more than once: {more_than_once} actors (at most {max} times); other requests to the remote server: {}",
        s.actors,
        s.actors - fetches.len(),
        remote.other_requests.load(Ordering::Relaxed)
    );

    // Phase 2: the measured run, keys known.
    let server_before = s.server_pid.map(common::process_cpu);
    let own_before = common::process_cpu(std::process::id());
    let machine_before = common::machine_busy();
    let outcome = if s.rate > 0.0 {
        open_loop(&client, &inbox, measured, s.rate, s.concurrency).await
    } else {
        closed_loop(&client, &inbox, measured, s.concurrency).await
    };
    let secs = outcome.elapsed.as_secs_f64();
    let server_cpu = s
        .server_pid
        .map(common::process_cpu)
        .zip(server_before)
        .map(|(a, b)| a - b);
    let own_cpu = common::process_cpu(std::process::id()) - own_before;
    let machine = common::machine_busy() - machine_before;
    let accepted = outcome.statuses.get("202").copied().unwrap_or(0);
    let l = &outcome.latencies;
    let mode = if s.rate > 0.0 {
        format!(
            "open loop at {} requests/s offered, at most {} in flight",
            s.rate, s.concurrency
        )
    } else {
        format!("closed loop, {} in flight", s.concurrency)
    };
    println!(
        "measured ({mode}): {} requests in {secs:.2} s: {}; {:.0} accepted/s",
        l.len(),
        statuses(&outcome.statuses),
        accepted as f64 / secs
    );
    println!(
        "  latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(common::percentile(l, 50.0)),
        ms(common::percentile(l, 90.0)),
        ms(common::percentile(l, 99.0)),
        ms(common::percentile(l, 100.0))
    );
    let after: u32 = lock(&remote.fetches).values().sum();
    println!(
        "  actor documents fetched during this phase: {}",
        after.saturating_sub(total)
    );
    println!(
        "  CPU seconds: gazette serve {}, load generator + fake remote {own_cpu:.2}, whole machine {machine:.2} of {:.2} available",
        server_cpu.map_or("?".to_owned(), |c| format!("{c:.2}")),
        secs * std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
    );
    let likes_after = likes(&client, &article_id).await?;
    println!(
        "  the article's likes went from {likes_before} to {likes_after} (counted once per actor: +{} expected)",
        s.actors
    );
    Ok(())
}

struct Signing<'a> {
    base: &'a str,
    article_id: &'a str,
    inbox: &'a Url,
    keys: &'a [String],
}

impl Signing<'_> {
    /// Signs `Like`s of (actor number, activity id), on two threads.
    fn sign_all(&self, items: &[(usize, String)]) -> Result<Vec<Prepared>, BoxError> {
        let items = items
            .iter()
            .map(|(actor, id)| {
                let actor_id = format!("{}/users/a{actor}", self.base);
                let body = serde_json::json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": id,
                    "type": "Like",
                    "actor": actor_id,
                    "object": self.article_id,
                })
                .to_string();
                ToSign {
                    actor_id,
                    key: actor % self.keys.len(),
                    body,
                }
            })
            .collect();
        load::sign_all(self.inbox, self.keys, items)
    }
}

async fn fetch_json(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, BoxError> {
    let res = client
        .get(url)
        .header(header::ACCEPT, "application/activity+json")
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("GET {url}: {}", res.status()).into());
    }
    Ok(serde_json::from_slice(&res.bytes().await?)?)
}

async fn likes(client: &reqwest::Client, article_id: &str) -> Result<i64, BoxError> {
    let json = fetch_json(client, &format!("{article_id}/likes")).await?;
    json["totalItems"]
        .as_i64()
        .ok_or_else(|| "likes collection without totalItems".into())
}
