//! Fan-out benchmark: one article to many followers, through the real queue
//! (`Store::enqueue_delivery` on SQLite or PostgreSQL) and the real
//! [`gazette_delivery::Worker`] with its production settings, to sink
//! servers on loopback that check every request as a remote server would:
//! the draft-cavage signature (`rsa-sha256` over `(request-target) host date
//! digest`, verified against the actor's public key with ring), the key id,
//! the `Digest` of the body and the `Date`. Each sink host is its own
//! `localhost:PORT` (the worker limits requests per host:port), and every
//! accepted POST is counted per inbox, so the run proves that every inbox got
//! the activity exactly once.
//!
//! ```text
//! cargo run --release -p gazette-delivery --example fanout -- \
//!     [--followers 10000] [--hosts 1000] [--mode shared|personal] \
//!     [--backend sqlite|postgres] [--payload-bytes 4096] [--sync off|on]
//! ```
//!
//! `--sync on` queues the activity as a fan-out to an actor's followers
//! does (FEP-8fcf): the followers are stored as accepted followers, their
//! digests per host read with `Store::follower_digests` and queued with
//! `Store::enqueue_delivery_with_digests`; every sink then also checks the
//! `Collection-Synchronization` header against its own followers' digest.
//!
//! `shared`: every follower's server has a shared inbox, so 10,000 followers
//! on 1,000 hosts are 1,000 POSTs. `personal`: no shared inboxes (as on
//! GoToSocial), one POST per follower. `postgres` needs
//! `GAZETTE_TEST_POSTGRES_URL` (an admin URL; a throw-away database is
//! created and dropped). The worker and the sinks run in one process on two
//! runtimes of two threads each, on the same cores: CPU time is reported per
//! thread group. `scripts/bench-federation` runs the documented cases.

mod common;

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{BoxError, Flags};
use gazette_delivery::{DeliveryConfig, SignaturePolicy, SignatureScheme, Worker};
use gazette_store::Backend;
use gazette_store::testing::TestDb;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use support::Keys;
use tokio::sync::oneshot;

const ACTOR: &str = "https://news.example.org/users/camille";
const ACTIVITY: &str = "https://news.example.org/objects/01bench#create-1";
const SIGNED_HEADERS: &str = "(request-target) host date digest";

fn main() -> Result<(), BoxError> {
    let flags = Flags::parse(&["followers", "hosts", "mode", "backend", "payload-bytes", "sync"])?;
    let followers: usize = flags.get("followers", 10_000)?;
    let hosts: usize = flags.get("hosts", 1_000)?;
    let personal = match flags.str("mode").unwrap_or("shared") {
        "shared" => false,
        "personal" => true,
        other => return Err(format!("--mode {other}: expected shared or personal").into()),
    };
    let backend = match flags.str("backend").unwrap_or("sqlite") {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        other => return Err(format!("--backend {other}: expected sqlite or postgres").into()),
    };
    let payload_bytes: usize = flags.get("payload-bytes", 4096)?;
    let sync = match flags.str("sync").unwrap_or("off") {
        "off" => false,
        "on" => true,
        other => return Err(format!("--sync {other}: expected off or on").into()),
    };
    if hosts == 0 || followers < hosts {
        return Err("need at least one host and one follower per host".into());
    }
    // reqwest is built without a TLS provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
    let private_pem = key.to_pkcs8_pem(LineEnding::LF)?.to_string();
    let public_der = key.to_public_key().to_pkcs1_der()?.as_bytes().to_vec();
    let sinks = Arc::new(Sinks {
        key: UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_der),
        key_id: format!("{ACTOR}#main-key"),
        counts: Mutex::new(HashMap::new()),
        accepted_at: Mutex::new(Vec::with_capacity(followers)),
        accepted: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        sync: Mutex::new(None),
    });

    // Two runtimes of two threads each: the sinks stand for the remote
    // servers, the worker for Gazette. Thread names give the CPU split.
    let sink_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sinks")
        .enable_all()
        .build()?;
    let worker_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("worker")
        .enable_all()
        .build()?;
    let ports = sink_rt.block_on(start_sinks(&sink_rt, hosts, sinks.clone()))?;

    let inboxes: Vec<String> = (0..followers)
        .map(|j| {
            let port = ports[j % hosts];
            if personal {
                format!("http://localhost:{port}/users/f{j}/inbox")
            } else {
                format!("http://localhost:{port}/inbox")
            }
        })
        .collect();
    // With --sync: follower j is `http://localhost:PORT/users/fJ`, on the
    // host of its inbox; each sink expects the digest of its own followers.
    let followers_of_hosts: Option<Vec<gazette_core::RemoteActor>> = sync.then(|| {
        (0..followers)
            .map(|j| {
                let port = ports[j % hosts];
                let id = format!("http://localhost:{port}/users/f{j}");
                gazette_core::RemoteActor {
                    kind: "Person".into(),
                    preferred_username: format!("f{j}"),
                    name: format!("f{j}"),
                    host: format!("localhost:{port}"),
                    inbox: format!("{id}/inbox"),
                    shared_inbox: (!personal).then(|| format!("http://localhost:{port}/inbox")),
                    url: None,
                    icon: None,
                    public_key_id: format!("{id}#main-key"),
                    public_key_pem: String::new(),
                    moved_to: None,
                    refreshed_at: chrono::Utc::now(),
                    id,
                }
            })
            .collect()
    });
    if let Some(actors) = &followers_of_hosts {
        let mut by_host: HashMap<String, Vec<&str>> = HashMap::new();
        for a in actors {
            by_host.entry(a.host.clone()).or_default().push(&a.id);
        }
        let expected = by_host
            .into_iter()
            .map(|(host, ids)| (host, gazette_store::followers_digest(ids)))
            .collect();
        *lock(&sinks.sync) = Some(expected);
    }
    let keys = Keys::one(ACTOR, private_pem);
    let result = worker_rt.block_on(run(backend, &inboxes, payload_bytes, keys, sinks, followers_of_hosts));
    drop(worker_rt);
    drop(sink_rt);
    result
}

/// What every sink shares: the key to verify with and the tallies.
struct Sinks {
    key: UnparsedPublicKey<Vec<u8>>,
    key_id: String,
    /// Accepted POSTs per inbox (`host:port/path`).
    counts: Mutex<HashMap<String, u32>>,
    /// When each POST was accepted, for the sustained rate.
    accepted_at: Mutex<Vec<Instant>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    /// With `--sync on`: the followers digest each sink host expects.
    sync: Mutex<Option<HashMap<String, String>>>,
}

async fn start_sinks(rt: &tokio::runtime::Runtime, hosts: usize, sinks: Arc<Sinks>) -> Result<Vec<u16>, BoxError> {
    let mut ports = Vec::with_capacity(hosts);
    for _ in 0..hosts {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        ports.push(listener.local_addr()?.port());
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::post(receive))
            .with_state(sinks.clone());
        rt.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("sink stopped: {e}");
            }
        });
    }
    Ok(ports)
}

async fn receive(State(sinks): State<Arc<Sinks>>, headers: HeaderMap, uri: Uri, body: Bytes) -> StatusCode {
    match verify(&sinks, &headers, &uri, &body) {
        Ok(inbox) => {
            let now = Instant::now();
            *lock(&sinks.counts).entry(inbox).or_insert(0) += 1;
            lock(&sinks.accepted_at).push(now);
            sinks.accepted.fetch_add(1, Ordering::Relaxed);
            StatusCode::ACCEPTED
        }
        Err(why) => {
            if sinks.rejected.fetch_add(1, Ordering::Relaxed) < 5 {
                eprintln!("sink rejected {uri}: {why}");
            }
            StatusCode::UNAUTHORIZED
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Checks a delivery as Mastodon does; returns its inbox (`host/path`).
fn verify(sinks: &Sinks, headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<String, String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("no {name} header"))
    };
    let signature = header("signature")?;
    let param = |name: &str| {
        signature
            .split(',')
            .find_map(|part| {
                let (k, v) = part.split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"'))
            })
            .ok_or_else(|| format!("signature without {name}"))
    };
    if param("keyId")? != sinks.key_id {
        return Err("unknown keyId".into());
    }
    if param("algorithm")? != "rsa-sha256" || param("headers")? != SIGNED_HEADERS {
        return Err("unexpected algorithm or signed headers".into());
    }
    let (host, date, digest) = (header("host")?, header("date")?, header("digest")?);
    let expected_digest = format!(
        "SHA-256={}",
        BASE64.encode(ring::digest::digest(&ring::digest::SHA256, body))
    );
    if digest != expected_digest {
        return Err("digest does not match the body".into());
    }
    let sent = httpdate::parse_http_date(date).map_err(|e| format!("date: {e}"))?;
    let skew = SystemTime::now().duration_since(sent).unwrap_or_else(|e| e.duration());
    if skew > Duration::from_secs(300) {
        return Err("date too far from now".into());
    }
    if let Some(expected) = lock(&sinks.sync).as_ref() {
        let value = header("collection-synchronization")?;
        let want = format!(
            "collectionId=\"{ACTOR}/followers\", url=\"{ACTOR}/followers_synchronization/{host}\", digest=\"{}\"",
            expected.get(host).map(String::as_str).unwrap_or("none")
        );
        if value != want {
            return Err(format!("Collection-Synchronization {value}, expected {want}"));
        }
    }
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signing_string = format!("(request-target): post {target}\nhost: {host}\ndate: {date}\ndigest: {digest}");
    let raw = BASE64
        .decode(param("signature")?)
        .map_err(|e| format!("signature: {e}"))?;
    sinks
        .key
        .verify(signing_string.as_bytes(), &raw)
        .map_err(|_| "bad signature".to_owned())?;
    Ok(format!("{host}{}", uri.path()))
}

async fn run(
    backend: Backend,
    inboxes: &[String],
    payload_bytes: usize,
    keys: Keys,
    sinks: Arc<Sinks>,
    followers: Option<Vec<gazette_core::RemoteActor>>,
) -> Result<(), BoxError> {
    let db = TestDb::new(backend)
        .await
        .ok_or("PostgreSQL needs GAZETTE_TEST_POSTGRES_URL (an admin connection URL)")?;
    let store = db.store.clone();
    let payload = format!(
        r#"{{"@context":"https://www.w3.org/ns/activitystreams","id":"{ACTIVITY}","type":"Create","actor":"{ACTOR}","object":{{"type":"Article","content":"{}"}}}}"#,
        "x".repeat(payload_bytes)
    );
    let mut expected: Vec<String> = inboxes
        .iter()
        .map(|i| i.trim_start_matches("http://").to_owned())
        .collect();
    expected.sort();
    expected.dedup();
    let n = expected.len();

    if let Some(followers) = &followers {
        gazette_store::testing::seed_followers(&store, ACTOR, followers, gazette_core::FollowStatus::Accepted).await?;
    }
    let enqueue_started = Instant::now();
    let queued = match &followers {
        None => store.enqueue_delivery(ACTIVITY, ACTOR, &payload, inboxes).await?,
        Some(_) => {
            // As a fan-out to the actor's followers: their digest per host, once.
            let digests = store.follower_digests(ACTOR).await?;
            println!(
                "  followers digests of {} hosts read in {:.0} ms",
                digests.len(),
                enqueue_started.elapsed().as_secs_f64() * 1000.0
            );
            store
                .enqueue_delivery_with_digests(ACTIVITY, ACTOR, &payload, inboxes, None, &digests)
                .await?
        }
    };
    let enqueue = enqueue_started.elapsed();
    if queued as usize != n {
        return Err(format!("queued {queued} deliveries, expected {n}").into());
    }

    // The sinks verify draft-cavage, as the earlier runs in docs/benchmarks.md did.
    let config = DeliveryConfig {
        allow_private_addresses: true,
        signature: SignaturePolicy::Only(SignatureScheme::DraftCavage),
        ..DeliveryConfig::new("https://news.example.org")
    };
    let (concurrency, per_host) = (config.concurrency, config.per_host_concurrency);
    let worker = Worker::new(store.clone(), config, keys)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let cpu_before = common::thread_cpu();
    let pg_before = common::processes_cpu("postgres");
    let machine_before = common::machine_busy();
    let started = Instant::now();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));

    let deadline = started + Duration::from_secs(600);
    while (sinks.accepted.load(Ordering::Relaxed) as usize) < n {
        if Instant::now() > deadline {
            return Err(format!("timed out: {} of {n} delivered", sinks.accepted.load(Ordering::Relaxed)).into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all_sent = started.elapsed();
    loop {
        let stats = store.delivery_stats().await?;
        if stats.iter().all(|s| s.pending == 0 && s.retrying == 0) {
            break;
        }
        if Instant::now() > deadline {
            return Err("timed out waiting for results to be recorded".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all_recorded = started.elapsed();
    let cpu_after = common::thread_cpu();
    let pg_after = common::processes_cpu("postgres");
    let machine_after = common::machine_busy();
    // Anything sent twice would arrive now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop.send(());
    task.await?;

    let stats = store.delivery_stats().await?;
    let delivered: i64 = stats.iter().map(|s| s.delivered).sum();
    let given_up: i64 = stats.iter().map(|s| s.given_up).sum();
    let counts = lock(&sinks.counts).clone();
    let twice = counts.values().filter(|&&c| c > 1).count();
    let missing = expected.iter().filter(|i| !counts.contains_key(*i)).count();
    let unexpected = counts.len() + missing - n;
    let rejected = sinks.rejected.load(Ordering::Relaxed);

    let mut times = lock(&sinks.accepted_at).clone();
    times.sort();
    let rate = n as f64 / all_sent.as_secs_f64();
    let (lo, hi) = (n / 10, (n * 9 / 10).max(n / 10 + 1).min(n - 1));
    let sustained = match (times.get(lo), times.get(hi)) {
        (Some(a), Some(b)) if b > a => (hi - lo) as f64 / (*b - *a).as_secs_f64(),
        _ => rate,
    };

    let hosts = {
        let mut h: Vec<&str> = expected.iter().filter_map(|i| i.split('/').next()).collect();
        h.dedup();
        h.len()
    };
    println!(
        "fan-out, {backend:?}: {} followers → {n} inboxes on {hosts} hosts; worker: {concurrency} requests at once, {per_host} per host",
        inboxes.len()
    );
    println!(
        "  queued in {:.0} ms (one transaction); worker start to last POST accepted {:.2} s, to all results recorded {:.2} s",
        enqueue.as_secs_f64() * 1000.0,
        all_sent.as_secs_f64(),
        all_recorded.as_secs_f64()
    );
    println!("  {rate:.0} signed deliveries/s overall, {sustained:.0}/s sustained (10th to 90th percentile delivery)");
    println!(
        "  sinks: {} POSTs accepted, every signature and digest verified; {rejected} rejected; inboxes reached once: {}, twice or more: {twice}, never: {missing}, unexpected: {unexpected}",
        counts.values().map(|&c| c as u64).sum::<u64>(),
        counts.values().filter(|&&c| c == 1).count()
    );
    println!("  store: {delivered} delivered, {given_up} given up");
    let mut cpu: Vec<(String, f64)> = cpu_after
        .iter()
        .map(|(k, v)| (k.clone(), v - cpu_before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    cpu.sort_by(|a, b| b.1.total_cmp(&a.1));
    let ours: f64 = cpu.iter().map(|(_, v)| v).sum();
    let parts: Vec<String> = cpu.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
    println!(
        "  CPU seconds to all recorded: {} (this process {ours:.2}); postgres processes {:.2}; whole machine {:.2} of {:.2} available",
        parts.join(", "),
        pg_after - pg_before,
        machine_after - machine_before,
        all_recorded.as_secs_f64() * std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
    );
    if twice > 0 || missing > 0 || unexpected > 0 || delivered as usize != n {
        return Err("not every inbox got the activity exactly once".into());
    }
    drop(db);
    Ok(())
}
