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
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use common::{BoxError, Flags};
use gazette_delivery::{SignedHeaders, SigningKey};
use reqwest::Url;
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

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
    common::install_crypto_provider();
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

/// A signed request, ready to send.
struct Prepared {
    body: Bytes,
    headers: SignedHeaders,
}

/// What came back from one phase.
struct Outcome {
    elapsed: Duration,
    /// Microseconds per request, sorted.
    latencies: Vec<u64>,
    statuses: HashMap<String, usize>,
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

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn statuses(map: &HashMap<String, usize>) -> String {
    let mut v: Vec<String> = map.iter().map(|(k, n)| format!("{n} × {k}")).collect();
    v.sort();
    v.join(", ")
}

fn generate_keys(n: usize) -> Result<(Vec<String>, Vec<String>), BoxError> {
    let made: Vec<Result<(String, String), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                scope.spawn(move || {
                    (t..n)
                        .step_by(2)
                        .map(|_| {
                            let key =
                                RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
                            let private = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?;
                            let public = key
                                .to_public_key()
                                .to_public_key_pem(LineEnding::LF)
                                .map_err(|e| e.to_string())?;
                            Ok((private.to_string(), public))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|_| vec![Err("key thread panicked".into())]))
            .collect()
    });
    let mut privates = Vec::new();
    let mut publics = Vec::new();
    for m in made {
        let (private, public) = m?;
        privates.push(private);
        publics.push(public);
    }
    Ok((privates, publics))
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
        let now = SystemTime::now();
        let chunks: Vec<&[(usize, String)]> = items.chunks(items.len().div_ceil(2).max(1)).collect();
        let signed: Vec<Result<Vec<Prepared>, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(move || self.sign_chunk(chunk, now)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("signing thread panicked".into())))
                .collect()
        });
        let mut out = Vec::with_capacity(items.len());
        for part in signed {
            out.extend(part?);
        }
        Ok(out)
    }

    fn sign_chunk(&self, chunk: &[(usize, String)], now: SystemTime) -> Result<Vec<Prepared>, String> {
        let mut keys: HashMap<usize, SigningKey> = HashMap::new();
        chunk
            .iter()
            .map(|(actor, id)| {
                let actor_id = format!("{}/users/a{actor}", self.base);
                if !keys.contains_key(actor) {
                    let pem = &self.keys[actor % self.keys.len()];
                    let key = SigningKey::from_pem(&actor_id, pem).map_err(|e| e.to_string())?;
                    keys.insert(*actor, key);
                }
                let key = keys.get(actor).ok_or("no key")?;
                let body = serde_json::json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": id,
                    "type": "Like",
                    "actor": actor_id,
                    "object": self.article_id,
                })
                .to_string();
                let headers = key
                    .sign_post(self.inbox, body.as_bytes(), now)
                    .map_err(|e| e.to_string())?;
                Ok(Prepared {
                    body: Bytes::from(body),
                    headers,
                })
            })
            .collect()
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

/// Sends one request; the status (or "error") when it is over.
async fn send(client: &reqwest::Client, inbox: &Url, p: &Prepared) -> String {
    let res = client
        .post(inbox.clone())
        .header(header::HOST, &p.headers.host)
        .header(header::DATE, &p.headers.date)
        .header("digest", &p.headers.digest)
        .header("signature", &p.headers.signature)
        .header(header::CONTENT_TYPE, "application/activity+json")
        .body(p.body.clone())
        .send()
        .await;
    match res {
        Ok(res) => {
            let status = res.status().as_u16().to_string();
            let body = res.bytes().await;
            if status != "202" {
                static SHOWN: AtomicUsize = AtomicUsize::new(0);
                if SHOWN.fetch_add(1, Ordering::Relaxed) < 3 {
                    let text = body
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    eprintln!("answer {status}: {text}");
                }
            }
            status
        }
        Err(e) => {
            eprintln!("request failed: {e}");
            "error".to_owned()
        }
    }
}

/// `concurrency` requests always in flight until all are sent.
async fn closed_loop(client: &reqwest::Client, inbox: &Url, requests: Vec<Prepared>, concurrency: usize) -> Outcome {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let (client, inbox, requests, next) = (client.clone(), inbox.clone(), requests.clone(), next.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = requests.get(i) else { break };
                let t = Instant::now();
                let status = send(&client, &inbox, p).await;
                out.push((t.elapsed().as_micros() as u64, status));
            }
            out
        });
    }
    let mut results = Vec::new();
    while let Some(r) = tasks.join_next().await {
        results.extend(r.unwrap_or_default());
    }
    outcome(started.elapsed(), results)
}

/// Requests due at `rate` per second, latency counted from when each was due.
async fn open_loop(
    client: &reqwest::Client,
    inbox: &Url,
    requests: Vec<Prepared>,
    rate: f64,
    max_in_flight: usize,
) -> Outcome {
    let room = Arc::new(Semaphore::new(max_in_flight));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (i, p) in requests.into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = room.clone().acquire_owned().await else {
            break;
        };
        let (client, inbox) = (client.clone(), inbox.clone());
        tasks.spawn(async move {
            let status = send(&client, &inbox, &p).await;
            drop(permit);
            (due.elapsed().as_micros() as u64, status)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Ok(r) = r {
            results.push(r);
        }
    }
    outcome(started.elapsed(), results)
}

fn outcome(elapsed: Duration, results: Vec<(u64, String)>) -> Outcome {
    let mut statuses = HashMap::new();
    let mut latencies = Vec::with_capacity(results.len());
    for (micros, status) in results {
        latencies.push(micros);
        *statuses.entry(status).or_insert(0) += 1;
    }
    latencies.sort_unstable();
    Outcome {
        elapsed,
        latencies,
        statuses,
    }
}
