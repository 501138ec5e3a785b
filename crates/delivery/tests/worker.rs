//! The delivery worker against local sink servers that stand in for remote
//! inboxes and check every request as Mastodon would: the draft-cavage or
//! RFC 9421 signature (with the rsa crate and a signature base built here,
//! a second implementation), the Digest or Content-Digest, the Date, the
//! User-Agent; sinks that refuse one profile check the double-knock. Run on
//! SQLite and PostgreSQL. Nothing here sleeps to wait: tests poll the queue
//! or the sinks until a deadline.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use gazette_delivery::{DeliveryConfig, SignaturePolicy, SignatureScheme, Worker};
use gazette_store::testing::TestDb;
use gazette_store::{DeliveryRecord, DeliveryStatus, RetryPolicy, Store};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use support::Keys;
use tokio::sync::{Semaphore, oneshot};

gazette_store::each_backend!(
    threads 2; db:
    delivers_signed_posts_once_per_inbox,
    retries_server_errors_until_delivered,
    gives_up_on_gone_at_once,
    refuses_private_addresses,
    bounds_concurrency_per_host,
    keeps_a_connection_only_while_more_for_its_host_are_in_hand,
    a_killed_worker_leaves_nothing_behind,
    a_host_refusing_rfc9421_gets_draft_cavage_and_is_remembered,
    a_host_refusing_draft_cavage_gets_what_accept_signature_asks,
    a_pinned_profile_knocks_once,
);

const ORG: &str = "https://here.example/users/org";
const AUTHOR: &str = "https://here.example/users/lea";
const PUBLIC_URL: &str = "https://here.example";
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- keys

struct Actor {
    id: &'static str,
    public: RsaPublicKey,
}

/// Keys as activitypub_federation's `generate_actor_keypair()` makes them
/// (rsa 0.9, PKCS#8 PEM); the author's in PKCS#1, which is accepted too.
fn actors() -> (Keys, Vec<Actor>) {
    let mut pems = HashMap::new();
    let mut actors = Vec::new();
    for (id, pkcs8) in [(ORG, true), (AUTHOR, false)] {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = if pkcs8 {
            key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
        } else {
            key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string()
        };
        pems.insert(id.to_owned(), pem);
        actors.push(Actor {
            id,
            public: key.to_public_key(),
        });
    }
    (Keys(Arc::new(pems)), actors)
}

// ---------------------------------------------------------------- sinks

/// A remote inbox: verifies, records, and answers from a script of statuses
/// (then 202). Requests can be held at a gate.
struct Sink {
    port: u16,
    keys: HashMap<String, RsaPublicKey>,
    script: Mutex<VecDeque<u16>>,
    default_status: u16,
    gate: Option<Arc<Semaphore>>,
    latency: Duration,
    arrived: AtomicUsize,
    /// Requests being answered: this sink's, and any shared with other sinks.
    in_flight: Vec<Arc<InFlight>>,
    received: Mutex<Vec<(String, String)>>,
    problems: Mutex<Vec<String>>,
    accepts: Accepts,
    /// The signature profile of every request that arrived, and the status it got.
    knocks: Mutex<Vec<(&'static str, u16)>>,
    /// Per delivered request, whether it asked for its connection to close.
    closing: Mutex<Vec<bool>>,
}

/// Which signature profiles a sink takes; others get `refusal`, with an
/// `Accept-Signature` field when one is given.
#[derive(Clone)]
struct Accepts {
    cavage: bool,
    rfc9421: bool,
    refusal: u16,
    accept_signature: Option<&'static str>,
}

impl Default for Accepts {
    fn default() -> Self {
        Accepts {
            cavage: true,
            rfc9421: true,
            refusal: 401,
            accept_signature: None,
        }
    }
}

impl Sink {
    fn knocks(&self) -> Vec<(&'static str, u16)> {
        self.knocks.lock().unwrap().clone()
    }
    fn url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }
    fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }
    fn received(&self) -> Vec<(String, String)> {
        self.received.lock().unwrap().clone()
    }
    fn assert_no_problems(&self) {
        let problems = self.problems.lock().unwrap();
        assert!(problems.is_empty(), "sink {} saw bad requests: {problems:?}", self.port);
    }
}

#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlight {
    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

struct SinkOptions {
    script: Vec<u16>,
    default_status: u16,
    gate: Option<Arc<Semaphore>>,
    latency: Duration,
    shared_in_flight: Option<Arc<InFlight>>,
    accepts: Accepts,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            script: Vec::new(),
            default_status: 202,
            gate: None,
            latency: Duration::ZERO,
            shared_in_flight: None,
            accepts: Accepts::default(),
        }
    }
}

async fn sink(actors: &[Actor], options: SinkOptions) -> Arc<Sink> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink = Arc::new(Sink {
        port: listener.local_addr().unwrap().port(),
        keys: actors
            .iter()
            .map(|a| (format!("{}#main-key", a.id), a.public.clone()))
            .collect(),
        script: Mutex::new(options.script.into()),
        default_status: options.default_status,
        gate: options.gate,
        latency: options.latency,
        arrived: AtomicUsize::new(0),
        in_flight: std::iter::once(Arc::default())
            .chain(options.shared_in_flight)
            .collect(),
        received: Mutex::new(Vec::new()),
        problems: Mutex::new(Vec::new()),
        accepts: options.accepts,
        knocks: Mutex::new(Vec::new()),
        closing: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/{*path}", axum::routing::post(inbox))
        .with_state(sink.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sink
}

async fn inbox(
    State(sink): State<Arc<Sink>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap) {
    let profile = if headers.contains_key("signature-input") {
        "rfc9421"
    } else {
        "draft-cavage"
    };
    let accepted = match profile {
        "rfc9421" => sink.accepts.rfc9421 && meets_challenge(&sink.accepts, &headers),
        _ => sink.accepts.cavage,
    };
    if !accepted {
        sink.knocks.lock().unwrap().push((profile, sink.accepts.refusal));
        let mut answer = HeaderMap::new();
        if let Some(value) = sink.accepts.accept_signature {
            answer.insert("accept-signature", value.parse().unwrap());
        }
        return (StatusCode::from_u16(sink.accepts.refusal).unwrap(), answer);
    }
    sink.arrived.fetch_add(1, Ordering::SeqCst);
    for counter in &sink.in_flight {
        let now = counter.now.fetch_add(1, Ordering::SeqCst) + 1;
        counter.max.fetch_max(now, Ordering::SeqCst);
    }
    if let Some(gate) = &sink.gate {
        gate.acquire().await.unwrap().forget();
    }
    if !sink.latency.is_zero() {
        // The remote server taking its time (the sink waits, not the test).
        tokio::time::sleep(sink.latency).await;
    }
    for counter in &sink.in_flight {
        counter.now.fetch_sub(1, Ordering::SeqCst);
    }
    let checked = match profile {
        "rfc9421" => check_rfc9421(&sink, &method, &uri, &headers, &body),
        _ => check_request(&sink, &method, &uri, &headers, &body),
    };
    if let Err(problem) = checked {
        sink.problems.lock().unwrap().push(problem);
        sink.knocks.lock().unwrap().push((profile, 400));
        return (StatusCode::BAD_REQUEST, HeaderMap::new());
    }
    sink.received
        .lock()
        .unwrap()
        .push((uri.path().to_owned(), String::from_utf8_lossy(&body).into_owned()));
    let closing = headers
        .get("connection")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    sink.closing.lock().unwrap().push(closing);
    let status = sink.script.lock().unwrap().pop_front().unwrap_or(sink.default_status);
    sink.knocks.lock().unwrap().push((profile, status));
    (StatusCode::from_u16(status).unwrap(), HeaderMap::new())
}

/// What Mastodon checks of a signed POST.
fn check_request(sink: &Sink, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(format!("no {name} header"))
    };
    let ua = header("user-agent")?;
    if ua != format!("Gazette/{} (+{PUBLIC_URL})", env!("CARGO_PKG_VERSION")) {
        return Err(format!("User-Agent {ua}"));
    }
    if header("content-type")? != "application/activity+json" {
        return Err("content type".into());
    }
    if header("host")? != sink.host() {
        return Err(format!("Host {}", header("host")?));
    }
    let date = httpdate::parse_http_date(&header("date")?).map_err(|e| e.to_string())?;
    let skew = SystemTime::now().duration_since(date).unwrap_or_else(|e| e.duration());
    if skew > Duration::from_secs(12 * 3600) {
        return Err("stale Date".into());
    }
    let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
    if header("digest")? != digest {
        return Err("Digest does not match the body".into());
    }
    let fields: HashMap<&str, String> = {
        let signature = header("signature")?;
        let mut fields = HashMap::new();
        for part in signature.split(',') {
            let (k, v) = part.split_once('=').ok_or("malformed Signature")?;
            let key = ["keyId", "algorithm", "headers", "signature"]
                .into_iter()
                .find(|n| *n == k.trim());
            fields.insert(
                key.ok_or(format!("unknown Signature field {k}"))?,
                v.trim_matches('"').to_owned(),
            );
        }
        fields
    };
    if fields.get("algorithm").map(String::as_str) != Some("rsa-sha256") {
        return Err("algorithm".into());
    }
    let signed_headers = fields.get("headers").ok_or("no headers field")?;
    if signed_headers != "(request-target) host date digest" {
        return Err(format!("signed headers {signed_headers}"));
    }
    let key = sink
        .keys
        .get(fields.get("keyId").ok_or("no keyId")?.as_str())
        .ok_or("unknown keyId")?;
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let signing_string = format!(
        "(request-target): {} {target}\nhost: {}\ndate: {}\ndigest: {}",
        method.as_str().to_lowercase(),
        header("host")?,
        header("date")?,
        header("digest")?
    );
    let signature = BASE64
        .decode(fields.get("signature").ok_or("no signature")?)
        .map_err(|e| e.to_string())?;
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(signing_string.as_bytes()),
        &signature,
    )
    .map_err(|e| format!("signature does not verify: {e}"))
}

/// Whether an RFC 9421 request covers what the sink's `Accept-Signature`
/// asks for (its components, its nonce); a sink without one takes any.
fn meets_challenge(accepts: &Accepts, headers: &HeaderMap) -> bool {
    let Some(asked) = accepts.accept_signature else {
        return true;
    };
    let input = headers
        .get("signature-input")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let list = input.split(['(', ')']).nth(1).unwrap_or_default();
    let covered: Vec<&str> = list.split(' ').collect();
    let components = asked.split(['(', ')']).nth(1).unwrap_or_default();
    let nonce = asked.split(";nonce=").nth(1);
    components.split(' ').all(|c| covered.contains(&c)) && nonce.is_none_or(|n| input.contains(&format!(";nonce={n}")))
}

/// What Mastodon and Fedify check of an RFC 9421 POST, with a signature
/// base built here (not Gazette's): `@method`, `@target-uri` and
/// `content-digest` covered, `Content-Digest` matching the body, `created`
/// recent, the `rsa-v1_5-sha256` signature verifying with the rsa crate.
fn check_rfc9421(sink: &Sink, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(format!("no {name} header"))
    };
    let ua = header("user-agent")?;
    if ua != format!("Gazette/{} (+{PUBLIC_URL})", env!("CARGO_PKG_VERSION")) {
        return Err(format!("User-Agent {ua}"));
    }
    if header("content-type")? != "application/activity+json" {
        return Err("content type".into());
    }
    if header("host")? != sink.host() {
        return Err(format!("Host {}", header("host")?));
    }
    if header("content-digest")? != format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body))) {
        return Err("Content-Digest does not match the body".into());
    }
    // sig1=("@method" "@target-uri" …);created=…;keyid="…";alg="…"
    let input = header("signature-input")?;
    let (label, params_line) = input.split_once('=').ok_or("malformed Signature-Input")?;
    let list = params_line
        .strip_prefix('(')
        .and_then(|r| r.split_once(')'))
        .ok_or("no inner list")?;
    let components: Vec<&str> = list.0.split(' ').map(|c| c.trim_matches('"')).collect();
    let params: HashMap<&str, &str> = list
        .1
        .split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k, v.trim_matches('"')))
        .collect();
    for needed in ["@method", "@target-uri", "content-digest"] {
        if !components.contains(&needed) {
            return Err(format!("{needed} is not covered: {input}"));
        }
    }
    if params.get("alg") != Some(&"rsa-v1_5-sha256") {
        return Err(format!("alg: {input}"));
    }
    let created: u64 = params
        .get("created")
        .ok_or("no created")?
        .parse()
        .map_err(|_| "created")?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now.abs_diff(created) > 300 {
        return Err("stale created".into());
    }
    let key = sink
        .keys
        .get(*params.get("keyid").ok_or("no keyid")?)
        .ok_or("unknown keyid")?;
    let mut base = String::new();
    for c in &components {
        let value = match *c {
            "@method" => method.as_str().to_owned(),
            "@target-uri" => format!("http://{}{}", header("host")?, uri.path_and_query().unwrap()),
            "@authority" => header("host")?,
            "@path" => uri.path().to_owned(),
            field => header(field)?,
        };
        base.push_str(&format!("\"{c}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params_line}"));
    let signature = header("signature")?;
    let signature = signature
        .strip_prefix(&format!("{label}=:"))
        .and_then(|s| s.strip_suffix(':'))
        .ok_or(format!("no signature labelled {label}: {signature}"))?;
    let signature = BASE64.decode(signature).map_err(|e| e.to_string())?;
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(base.as_bytes()),
        &signature,
    )
    .map_err(|e| format!("RFC 9421 signature does not verify: {e}\n{base}"))
}

// ---------------------------------------------------------------- worker

fn config() -> DeliveryConfig {
    DeliveryConfig {
        allow_private_addresses: true,
        request_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
        lease: Duration::from_secs(3),
        poll_interval: Duration::from_millis(100),
        retry: RetryPolicy {
            // The real schedule in milliseconds: 15 ms, 16 ms, 31 ms…
            backoff_unit: Duration::from_millis(1),
            circuit_base: Duration::from_millis(20),
            circuit_max: Duration::from_millis(100),
            ..Default::default()
        },
        ..DeliveryConfig::new(PUBLIC_URL)
    }
}

struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    handle: gazette_delivery::DeliveryHandle,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

fn start(store: &Store, config: DeliveryConfig, keys: Keys) -> Running {
    let worker = Worker::new(store.clone(), config, keys).unwrap();
    let handle = worker.handle();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    Running {
        stop: Some(stop),
        task,
        handle,
    }
}

async fn enqueue(store: &Store, activity: &str, actor: &str, inboxes: &[String]) -> u64 {
    store
        .enqueue_delivery(activity, actor, &payload(activity), inboxes)
        .await
        .unwrap()
}

fn payload(activity: &str) -> String {
    format!(r#"{{"@context":"https://www.w3.org/ns/activitystreams","id":"{activity}","type":"Create"}}"#)
}

/// Polls `check` until it holds, failing at the deadline.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn rows(store: &Store, activities: &[&str]) -> Vec<DeliveryRecord> {
    let mut out = Vec::new();
    for a in activities {
        out.extend(store.list_deliveries(a).await.unwrap());
    }
    out
}

async fn all_finished(store: &Store, activities: &[&str]) -> bool {
    rows(store, activities)
        .await
        .iter()
        .all(|r| r.status != DeliveryStatus::Pending)
}

/// Every delivery of `activities` went through, and no sink saw a bad request.
async fn assert_delivered(store: &Store, activities: &[&str], sinks: &[&Sink]) {
    for s in sinks {
        s.assert_no_problems();
    }
    for r in rows(store, activities).await {
        assert_eq!(r.status, DeliveryStatus::Delivered, "{}: {:?}", r.inbox, r.last_error);
    }
}

// ---------------------------------------------------------------- tests

async fn delivers_signed_posts_once_per_inbox(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let (a, b, c) = (
        sink(&actors, SinkOptions::default()).await,
        sink(&actors, SinkOptions::default()).await,
        sink(&actors, SinkOptions::default()).await,
    );
    let first = "https://here.example/activities/1";
    let inboxes = [
        a.url("/inbox"),
        a.url("/inbox"),
        a.url("/users/x/inbox"),
        b.url("/inbox"),
        c.url("/inbox"),
    ];
    assert_eq!(
        enqueue(store, first, ORG, &inboxes).await,
        4,
        "two inboxes on one host are two, one inbox twice is one"
    );
    let second = "https://here.example/activities/2";
    assert_eq!(enqueue(store, second, AUTHOR, &[b.url("/inbox")]).await, 1);

    // A long poll interval: only the enqueue's wake-up can bring the third activity out quickly.
    let running = start(
        store,
        DeliveryConfig {
            poll_interval: Duration::from_secs(600),
            ..config()
        },
        keys,
    );
    until("both activities are sent", || async {
        all_finished(store, &[first, second]).await
    })
    .await;
    assert_delivered(store, &[first, second], &[&a, &b, &c]).await;
    let third = "https://here.example/activities/3";
    assert_eq!(
        running
            .handle
            .enqueue(third, ORG, &payload(third), &[c.url("/inbox")])
            .await
            .unwrap(),
        1
    );
    until("the third is delivered", || async { c.received().len() == 2 }).await;
    until("and recorded", || async { all_finished(store, &[third]).await }).await;
    running.stop().await;

    for s in [&a, &b, &c] {
        s.assert_no_problems();
    }
    let mut at_a: Vec<String> = a.received().into_iter().map(|(path, _)| path).collect();
    at_a.sort();
    assert_eq!(at_a, ["/inbox", "/users/x/inbox"]);
    assert!(
        a.received().iter().all(|(_, body)| *body == payload(first)),
        "the body is sent as stored"
    );
    let at_b: HashSet<String> = b.received().into_iter().map(|(_, body)| body).collect();
    assert_eq!(at_b, HashSet::from([payload(first), payload(second)]));
    assert_eq!(c.received().len(), 2);

    let stats = store.delivery_stats().await.unwrap();
    assert_eq!(stats.len(), 3);
    assert!(
        stats
            .iter()
            .all(|s| s.pending == 0 && s.retrying == 0 && s.given_up == 0 && s.last_success_at.is_some())
    );
    assert_eq!(stats.iter().map(|s| s.delivered).sum::<i64>(), 6);
}

async fn retries_server_errors_until_delivered(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let flaky = sink(
        &actors,
        SinkOptions {
            script: vec![500, 503, 429],
            ..Default::default()
        },
    )
    .await;
    let activity = "https://here.example/activities/1";
    enqueue(store, activity, ORG, &[flaky.url("/inbox")]).await;
    let running = start(store, config(), keys);
    until("it is sent", || async { all_finished(store, &[activity]).await }).await;
    running.stop().await;
    assert_delivered(store, &[activity], &[&flaky]).await;
    assert_eq!(flaky.received().len(), 4, "three failures, then success");
    let row = &rows(store, &[activity]).await[0];
    assert_eq!((row.attempts, row.last_error.as_deref()), (3, None));
}

async fn gives_up_on_gone_at_once(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let gone = sink(
        &actors,
        SinkOptions {
            default_status: 410,
            ..Default::default()
        },
    )
    .await;
    let activity = "https://here.example/activities/1";
    enqueue(store, activity, ORG, &[gone.url("/inbox")]).await;
    // An actor without a key cannot sign: given up without a request.
    let unsigned = "https://here.example/activities/2";
    enqueue(
        store,
        unsigned,
        "https://here.example/users/nobody",
        &[gone.url("/other")],
    )
    .await;
    let running = start(store, config(), keys);
    until("both are given up", || async {
        all_finished(store, &[activity, unsigned]).await
    })
    .await;
    running.stop().await;
    gone.assert_no_problems();
    assert_eq!(gone.received().len(), 1, "asked once");
    let row = &rows(store, &[activity]).await[0];
    assert_eq!(
        (row.status, row.attempts, row.last_error.as_deref()),
        (DeliveryStatus::GivenUp, 1, Some("HTTP 410 Gone"))
    );
    let row = &rows(store, &[unsigned]).await[0];
    assert_eq!((row.status, row.attempts), (DeliveryStatus::GivenUp, 0));
    assert!(
        row.last_error.as_deref().unwrap().contains("no private key"),
        "{:?}",
        row.last_error
    );
}

async fn refuses_private_addresses(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let local = sink(&actors, SinkOptions::default()).await;
    let activity = "https://here.example/activities/1";
    let inboxes = [
        local.url("/inbox"),
        format!("http://127.0.0.1:{}/inbox", local.port),
        format!("http://[::1]:{}/inbox", local.port),
        "http://169.254.169.254/latest/meta-data".to_owned(),
    ];
    assert_eq!(enqueue(store, activity, ORG, &inboxes).await, 4);
    let running = start(
        store,
        DeliveryConfig {
            allow_private_addresses: false,
            ..config()
        },
        keys,
    );
    until("all are given up", || async { all_finished(store, &[activity]).await }).await;
    running.stop().await;
    assert!(
        local.received().is_empty() && local.arrived.load(Ordering::SeqCst) == 0,
        "nothing reached the sink"
    );
    for row in rows(store, &[activity]).await {
        assert_eq!(
            (row.status, row.attempts),
            (DeliveryStatus::GivenUp, 0),
            "{}",
            row.inbox
        );
        let error = row.last_error.unwrap();
        // Names are caught in the resolver, on the address the connection
        // would use; IP literals before sending.
        let host = row.host.rsplit_once(':').map_or(row.host.as_str(), |(h, _)| h);
        let expected = format!("refusing to connect to {host}: it resolves only to non-public addresses");
        assert!(error.starts_with(&expected), "{}: {error}", row.inbox);
    }
}

async fn bounds_concurrency_per_host(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let overall = Arc::new(InFlight::default());
    let options = || SinkOptions {
        latency: Duration::from_millis(30),
        shared_in_flight: Some(overall.clone()),
        ..Default::default()
    };
    let (busy, other) = (sink(&actors, options()).await, sink(&actors, options()).await);
    let activity = "https://here.example/activities/1";
    let mut inboxes: Vec<String> = (0..24).map(|i| busy.url(&format!("/users/{i}/inbox"))).collect();
    inboxes.extend((0..6).map(|i| other.url(&format!("/users/{i}/inbox"))));
    enqueue(store, activity, ORG, &inboxes).await;
    let running = start(
        store,
        DeliveryConfig {
            per_host_concurrency: 3,
            concurrency: 5,
            ..config()
        },
        keys,
    );
    until("all are sent", || async { all_finished(store, &[activity]).await }).await;
    running.stop().await;
    assert_delivered(store, &[activity], &[&busy, &other]).await;
    assert_eq!((busy.received().len(), other.received().len()), (24, 6));
    let (max_busy, max_other) = (busy.in_flight[0].max(), other.in_flight[0].max());
    assert!(max_busy <= 3 && max_other <= 3, "per host: {max_busy}, {max_other}");
    assert!(overall.max() <= 5, "overall: {}", overall.max());
    assert!(max_busy >= 2, "requests to one host do run side by side");
}

/// A host with one delivery in hand is asked to close the connection after
/// answering (a fan-out reaches each server once; an idle pooled connection
/// to each would hold its buffers); a host with several keeps it for the
/// next.
async fn keeps_a_connection_only_while_more_for_its_host_are_in_hand(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let options = || SinkOptions {
        latency: Duration::from_millis(20),
        ..Default::default()
    };
    let (busy, lone) = (sink(&actors, options()).await, sink(&actors, options()).await);
    let activity = "https://here.example/activities/1";
    let mut inboxes: Vec<String> = (0..12).map(|i| busy.url(&format!("/users/{i}/inbox"))).collect();
    inboxes.push(lone.url("/inbox"));
    enqueue(store, activity, ORG, &inboxes).await;
    let running = start(
        store,
        DeliveryConfig {
            per_host_concurrency: 2,
            ..config()
        },
        keys,
    );
    until("all are sent", || async { all_finished(store, &[activity]).await }).await;
    running.stop().await;
    assert_delivered(store, &[activity], &[&busy, &lone]).await;
    assert_eq!(*lone.closing.lock().unwrap(), vec![true]);
    let busy_closing = busy.closing.lock().unwrap().clone();
    assert_eq!(busy_closing.len(), 12);
    assert!(busy_closing.iter().any(|c| !c), "kept for the next: {busy_closing:?}");
}

async fn a_killed_worker_leaves_nothing_behind(db: &TestDb) {
    let (keys, actors) = actors();
    let gate = Arc::new(Semaphore::new(0));
    let slow = sink(
        &actors,
        SinkOptions {
            gate: Some(gate.clone()),
            ..Default::default()
        },
    )
    .await;
    let activities: Vec<String> = (0..12)
        .map(|i| format!("https://here.example/activities/{i}"))
        .collect();
    for a in &activities {
        enqueue(&db.store, a, ORG, &[slow.url("/inbox")]).await;
    }
    // The first worker claims four, starts sending, and is killed mid-request.
    let first = start(
        &db.store,
        DeliveryConfig {
            concurrency: 4,
            ..config()
        },
        keys.clone(),
    );
    until("four requests hang at the sink", || async {
        slow.arrived.load(Ordering::SeqCst) == 4
    })
    .await;
    first.task.abort();
    assert!(first.task.await.unwrap_err().is_cancelled());
    let ids: Vec<&str> = activities.iter().map(String::as_str).collect();
    let leased = rows(&db.store, &ids)
        .await
        .iter()
        .filter(|r| r.locked_until.is_some())
        .count();
    assert_eq!(leased, 4, "the dead worker's claims are still leased");

    // A restarted process (a new pool on the same database) delivers everything,
    // the four abandoned ones once their lease has run out.
    gate.add_permits(1000);
    let store = Store::connect(&db.url, 4).await.unwrap();
    let second = start(&store, config(), keys);
    until("every activity is sent", || async { all_finished(&store, &ids).await }).await;
    second.stop().await;
    assert_delivered(&store, &ids, &[&slow]).await;
    let bodies: HashSet<String> = slow.received().into_iter().map(|(_, body)| body).collect();
    assert_eq!(bodies.len(), 12, "each activity arrived");
    store.close().await;
}

// ---------------------------------------------------------------- double-knock

/// A host that answers 400 to RFC 9421 gets the same delivery signed
/// draft-cavage at once; that is remembered (in the store: a restarted
/// worker knows it), so the next delivery goes draft-cavage first. Once
/// what was learned is older than `signature_recheck`, RFC 9421 is tried
/// first again, and draft-cavage learned anew.
async fn a_host_refusing_rfc9421_gets_draft_cavage_and_is_remembered(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let old = sink(
        &actors,
        SinkOptions {
            accepts: Accepts {
                rfc9421: false,
                refusal: 400,
                ..Accepts::default()
            },
            ..Default::default()
        },
    )
    .await;
    let running = start(store, config(), keys.clone());
    let first = "https://here.example/activities/k1";
    enqueue(store, first, ORG, &[old.url("/inbox")]).await;
    until("the first is delivered", || async {
        all_finished(store, &[first]).await
    })
    .await;
    assert_delivered(store, &[first], &[&old]).await;
    assert_eq!(old.knocks(), [("rfc9421", 400), ("draft-cavage", 202)]);
    let known = store.find_signature_scheme(&old.host()).await.unwrap().unwrap();
    assert_eq!(known.scheme, SignatureScheme::DraftCavage);
    let second = "https://here.example/activities/k2";
    enqueue(store, second, AUTHOR, &[old.url("/inbox")]).await;
    until("the second is delivered", || async {
        all_finished(store, &[second]).await
    })
    .await;
    running.stop().await;
    assert_eq!(old.knocks()[2..], [("draft-cavage", 202)], "no refusal the second time");

    // A restarted worker reads it from the store.
    let running = start(store, config(), keys.clone());
    let third = "https://here.example/activities/k3";
    enqueue(store, third, ORG, &[old.url("/inbox")]).await;
    until("the third is delivered", || async {
        all_finished(store, &[third]).await
    })
    .await;
    running.stop().await;
    assert_eq!(old.knocks()[3..], [("draft-cavage", 202)]);

    // Eight days later, RFC 9421 is tried again (and still refused).
    let long_ago = chrono::Utc::now() - chrono::Duration::days(8);
    store
        .remember_signature_scheme(&old.host(), SignatureScheme::DraftCavage, long_ago)
        .await
        .unwrap();
    let running = start(store, config(), keys);
    let fourth = "https://here.example/activities/k4";
    enqueue(store, fourth, ORG, &[old.url("/inbox")]).await;
    until("the fourth is delivered", || async {
        all_finished(store, &[fourth]).await
    })
    .await;
    running.stop().await;
    assert_delivered(store, &[first, second, third, fourth], &[&old]).await;
    assert_eq!(old.knocks()[4..], [("rfc9421", 400), ("draft-cavage", 202)]);
    let known = store.find_signature_scheme(&old.host()).await.unwrap().unwrap();
    assert_eq!(known.scheme, SignatureScheme::DraftCavage);
    assert!(known.learned_at > long_ago + chrono::Duration::days(7), "learned anew");
}

/// Hosts that take only RFC 9421 and answer 401 with an
/// `Accept-Signature` field. One asks for components Gazette covers anyway:
/// a delivery signed draft-cavage (what the store remembered) is signed
/// again at once with RFC 9421, under the label asked for; RFC 9421 is
/// remembered, and the next delivery is RFC 9421 at the first knock. The
/// other asks for more (`@path`, `date`) and a nonce, which Gazette's own
/// RFC 9421 signature lacks: its second knock covers them and signs the
/// nonce. A host nothing is known of is sent RFC 9421 first.
async fn a_host_refusing_draft_cavage_gets_what_accept_signature_asks(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let only_rfc9421 = |accept_signature| SinkOptions {
        accepts: Accepts {
            cavage: false,
            refusal: 401,
            accept_signature: Some(accept_signature),
            ..Accepts::default()
        },
        ..Default::default()
    };
    let modern = sink(
        &actors,
        only_rfc9421(r#"sig2=("@method" "@target-uri" "content-digest");created"#),
    )
    .await;
    let strict = sink(
        &actors,
        only_rfc9421(r#"sig1=("@method" "@target-uri" "@path" "content-digest" "date");created;nonce="n-42""#),
    )
    .await;
    let fresh = sink(&actors, SinkOptions::default()).await;
    store
        .remember_signature_scheme(&modern.host(), SignatureScheme::DraftCavage, chrono::Utc::now())
        .await
        .unwrap();
    let running = start(store, config(), keys);
    let first = "https://here.example/activities/m1";
    let inboxes = [modern.url("/inbox"), strict.url("/inbox"), fresh.url("/inbox")];
    enqueue(store, first, ORG, &inboxes).await;
    until("the first is delivered", || async {
        all_finished(store, &[first]).await
    })
    .await;
    assert_eq!(modern.knocks(), [("draft-cavage", 401), ("rfc9421", 202)]);
    assert_eq!(strict.knocks(), [("rfc9421", 401), ("rfc9421", 202)]);
    assert_eq!(fresh.knocks(), [("rfc9421", 202)]);
    for host in [modern.host(), strict.host(), fresh.host()] {
        let known = store.find_signature_scheme(&host).await.unwrap().unwrap();
        assert_eq!(known.scheme, SignatureScheme::Rfc9421, "{host}");
    }
    let second = "https://here.example/activities/m2";
    enqueue(store, second, AUTHOR, &[modern.url("/inbox")]).await;
    until("the second is delivered", || async {
        all_finished(store, &[second]).await
    })
    .await;
    running.stop().await;
    assert_delivered(store, &[first, second], &[&modern, &strict, &fresh]).await;
    assert_eq!(modern.knocks()[2..], [("rfc9421", 202)]);
}

/// `federation.signature = "draft-cavage"` (or `"rfc9421"`): one knock, and
/// a refusal is retried on the usual schedule, never with the other
/// profile; nothing is remembered.
async fn a_pinned_profile_knocks_once(db: &TestDb) {
    let store = &db.store;
    let (keys, actors) = actors();
    let modern = sink(
        &actors,
        SinkOptions {
            accepts: Accepts {
                cavage: false,
                ..Accepts::default()
            },
            ..Default::default()
        },
    )
    .await;
    let pinned = DeliveryConfig {
        signature: SignaturePolicy::Only(SignatureScheme::DraftCavage),
        retry: RetryPolicy {
            max_retries: 1,
            ..config().retry
        },
        ..config()
    };
    let running = start(store, pinned, keys.clone());
    let first = "https://here.example/activities/p1";
    enqueue(store, first, ORG, &[modern.url("/inbox")]).await;
    until("the first is given up", || async {
        all_finished(store, &[first]).await
    })
    .await;
    running.stop().await;
    assert_eq!(rows(store, &[first]).await[0].status, DeliveryStatus::GivenUp);
    assert!(
        modern.knocks().iter().all(|k| *k == ("draft-cavage", 401)),
        "{:?}",
        modern.knocks()
    );
    assert_eq!(store.find_signature_scheme(&modern.host()).await.unwrap(), None);

    let running = start(
        store,
        DeliveryConfig {
            signature: SignaturePolicy::Only(SignatureScheme::Rfc9421),
            ..config()
        },
        keys,
    );
    let second = "https://here.example/activities/p2";
    enqueue(store, second, ORG, &[modern.url("/inbox")]).await;
    until("the second is delivered", || async {
        all_finished(store, &[second]).await
    })
    .await;
    running.stop().await;
    assert_delivered(store, &[second], &[&modern]).await;
    assert_eq!(modern.knocks().last(), Some(&("rfc9421", 202)));
    assert_eq!(store.find_signature_scheme(&modern.host()).await.unwrap(), None);
}

// ---------------------------------------------------------------- signed GET

/// `SigningKey::sign_get` (`gazette doctor`'s self-fetch) signs
/// `(request-target) host date` so that the rsa crate verifies it, with the
/// port in `host` and the query in the target; another host does not verify.
#[test]
fn signed_get_verifies_independently() {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let signer = gazette_delivery::SigningKey::from_pem(ORG, &pem).unwrap();
    let url = reqwest::Url::parse("http://localhost:8443/users/org?page=1").unwrap();
    let signed = signer.sign_get(&url, SystemTime::now()).unwrap();
    assert_eq!(signed.host, "localhost:8443");
    let sig = signed
        .signature
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    assert!(
        signed.signature.contains(&format!("keyId=\"{ORG}#main-key\"")),
        "{}",
        signed.signature
    );
    assert!(signed.signature.contains("headers=\"(request-target) host date\""));
    let signature = BASE64.decode(sig).unwrap();
    let check = |host: &str| {
        let string = format!(
            "(request-target): get /users/org?page=1\nhost: {host}\ndate: {}",
            signed.date
        );
        key.to_public_key()
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(string.as_bytes()),
                &signature,
            )
            .is_ok()
    };
    assert!(check("localhost:8443"));
    assert!(!check("localhost"));
}
