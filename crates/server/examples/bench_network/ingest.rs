//! `bench_network ingest`: member articles arriving in a running
//! coordinator's inbox. The benchmark's members (approved by `seed`) are
//! served here, each on its own loopback port with its own actor document
//! and key id (8 RSA key pairs shared round-robin, as in `inbox_load`), so
//! the coordinator fetches each actor once and verifies every signature.
//! Each POST is a `Create` of a new `Article` signed by the member that
//! wrote it, sent to the shared inbox: direct from its origin, so it must
//! be stored without fetching the article again (requests to the fake
//! instances other than actor documents are counted and shown).
//!
//! Phases: one `Create` per member (actors unknown yet: each is fetched),
//! then the measured run (closed loop with `--concurrency` in flight, or an
//! open loop at `--rate`), then a check that every article sent is in the
//! feed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use gazette_store::Store;
use reqwest::Url;
use serde_json::json;

use crate::common::load::{self, Outcome, ToSign, closed_loop, generate_keys, ms, open_loop, statuses};
use crate::common::{self, BoxError};
use crate::corpus::{self, MemberSpec};

const KEY_PAIRS: usize = 8;

pub(crate) struct Settings {
    pub(crate) target: String,
    pub(crate) members: usize,
    pub(crate) articles: usize,
    pub(crate) concurrency: usize,
    pub(crate) rate: f64,
    pub(crate) port_base: u16,
    pub(crate) server_pid: Option<u32>,
}

/// What the fake member instances were asked, by kind of request.
#[derive(Default)]
struct Seen {
    requests: Mutex<BTreeMap<String, usize>>,
}

struct Instance {
    spec: MemberSpec,
    public_pem: String,
    seen: Arc<Seen>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn serve_instance(State(i): State<Arc<Instance>>, req: Request) -> axum::response::Response {
    let path = req.uri().path().to_owned();
    let kind = if req.method() == axum::http::Method::GET && path == "/users/org" {
        "GET actor document"
    } else if req.method() == axum::http::Method::GET && path.starts_with("/objects/") {
        "GET article (a re-fetch)"
    } else if req.method() == axum::http::Method::POST {
        "POST (a delivery)"
    } else {
        "other"
    };
    *lock(&i.seen.requests).entry(kind.to_owned()).or_insert(0) += 1;
    match kind {
        "GET actor document" => {
            let s = &i.spec;
            let p = &s.profile;
            let doc = json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1",
                    {"sse": "https://gazette-sse.github.io/ns#"}],
                "id": s.actor,
                "type": "Organization",
                "preferredUsername": "org",
                "name": p.name,
                "url": p.url,
                "inbox": format!("{}/inbox", s.actor),
                "outbox": format!("{}/outbox", s.actor),
                "followers": format!("{}/followers", s.actor),
                "endpoints": {"sharedInbox": format!("http://{}/inbox", s.host)},
                "publicKey": {"id": format!("{}#main-key", s.actor), "owner": s.actor, "publicKeyPem": i.public_pem},
                "sse:country": p.country,
                "sse:legalForm": p.legal_form,
                "sse:sectors": p.sectors,
                "sse:languages": p.languages,
            });
            ([(header::CONTENT_TYPE, "application/activity+json")], doc.to_string()).into_response()
        }
        "POST (a delivery)" => StatusCode::ACCEPTED.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The `Create` of article `n` (by the member the corpus gives it to).
fn create(specs: &[MemberSpec], n: u64, run: &str) -> (usize, ToSign, String) {
    let m = corpus::author_of(n, specs.len());
    let spec = &specs[m];
    let article = corpus::article(spec, n, run, Utc::now());
    let id = article["id"].as_str().unwrap_or_default().to_owned();
    let body = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", {"sse": "https://gazette-sse.github.io/ns#"}],
        "id": format!("{id}/create"),
        "type": "Create",
        "actor": spec.actor,
        "to": article["to"],
        "cc": article["cc"],
        "object": article,
    });
    (
        m,
        ToSign {
            actor_id: spec.actor.clone(),
            key: m % KEY_PAIRS,
            body: body.to_string(),
        },
        id,
    )
}

fn report(name: &str, o: &Outcome, extra: &str) {
    let secs = o.elapsed.as_secs_f64();
    let accepted = o.statuses.get("202").copied().unwrap_or(0);
    println!(
        "{name}: {} requests in {secs:.2} s: {}; {:.0} accepted/s{extra}",
        o.latencies.len(),
        statuses(&o.statuses),
        accepted as f64 / secs
    );
    println!(
        "  latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(common::percentile(&o.latencies, 50.0)),
        ms(common::percentile(&o.latencies, 90.0)),
        ms(common::percentile(&o.latencies, 99.0)),
        ms(common::percentile(&o.latencies, 100.0))
    );
}

pub(crate) async fn run(store: &Store, s: Settings) -> Result<(), BoxError> {
    let started = Instant::now();
    let (privates, publics) = generate_keys(KEY_PAIRS)?;
    let specs: Vec<MemberSpec> = (0..s.members).map(|n| corpus::member(n, s.port_base)).collect();
    let seen = Arc::new(Seen::default());
    for (n, spec) in specs.iter().enumerate() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", spec.port))
            .await
            .map_err(|e| format!("member {n}: cannot listen on 127.0.0.1:{}: {e}", spec.port))?;
        let instance = Arc::new(Instance {
            spec: corpus::member(n, s.port_base),
            public_pem: publics[n % KEY_PAIRS].clone(),
            seen: seen.clone(),
        });
        let app = axum::Router::new().fallback(serve_instance).with_state(instance);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("fake member instance stopped: {e}");
            }
        });
    }
    let inbox = Url::parse(&format!("{}/inbox", s.target))?;
    // Article numbers start past the seed's (other texts, other dates), and
    // the ids carry the run's time, so runs never collide.
    let run_id = format!("ingest-{}-", Utc::now().timestamp());
    let total = s.members + s.articles;
    let mut ids = Vec::with_capacity(total);
    let mut cold = Vec::with_capacity(s.members);
    let mut measured = Vec::with_capacity(s.articles);
    let mut covered = vec![false; s.members];
    let mut n = 1_000_000_000u64;
    // Phase 1: the first article of every member (in order of members).
    while cold.len() < s.members {
        let (m, sign, id) = create(&specs, n, &run_id);
        n += 1;
        if covered[m] {
            continue;
        }
        covered[m] = true;
        ids.push(id);
        cold.push(sign);
    }
    for _ in 0..s.articles {
        let (_, sign, id) = create(&specs, n, &run_id);
        n += 1;
        ids.push(id);
        measured.push(sign);
    }
    let sign_started = Instant::now();
    let cold = load::sign_all(&inbox, &privates, cold)?;
    let measured = load::sign_all(&inbox, &privates, measured)?;
    println!(
        "ingest benchmark against {inbox}: {} members on 127.0.0.1:{}–{} ({KEY_PAIRS} key pairs); {} Creates signed in advance in {:.1} s (set-up {:.1} s)",
        s.members,
        s.port_base,
        s.port_base as usize + s.members - 1,
        cold.len() + measured.len(),
        sign_started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(s.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;

    let o = closed_loop(&client, &inbox, cold, s.concurrency.min(s.members)).await;
    report("first article of each member (actor unknown: fetched)", &o, "");
    println!("  requests to the member instances: {}", seen_now(&seen));

    let server_before = s.server_pid.map(common::process_cpu);
    let pg_before = common::processes_cpu("postgres");
    let machine_before = common::machine_busy();
    let o = if s.rate > 0.0 {
        open_loop(&client, &inbox, measured, s.rate, s.concurrency).await
    } else {
        closed_loop(&client, &inbox, measured, s.concurrency).await
    };
    let mode = if s.rate > 0.0 {
        format!("open loop at {}/s offered, at most {} in flight", s.rate, s.concurrency)
    } else {
        format!("closed loop, {} in flight", s.concurrency)
    };
    let server = s
        .server_pid
        .map(common::process_cpu)
        .zip(server_before)
        .map_or("?".to_owned(), |(a, b)| format!("{:.1}", a - b));
    let machine = common::machine_busy() - machine_before;
    report(&format!("measured ({mode})"), &o, "");
    println!(
        "  CPU seconds: gazette serve {server}, postgres {:.1}, whole machine {machine:.1} of {:.1} available",
        common::processes_cpu("postgres") - pg_before,
        o.elapsed.as_secs_f64() * std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
    );
    println!("  requests to the member instances so far: {}", seen_now(&seen));

    // Every article sent must be in the feed: polled, with a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut missing: Vec<&String> = ids.iter().collect();
    loop {
        let mut still = Vec::new();
        for id in missing {
            if store.find_network_item(id).await?.is_none() {
                still.push(id);
            }
        }
        missing = still;
        if missing.is_empty() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "  in the feed afterwards: {} of {} articles sent{}",
        ids.len() - missing.len(),
        ids.len(),
        missing
            .first()
            .map_or(String::new(), |id| format!(" (missing e.g. {id})"))
    );
    if !missing.is_empty() {
        return Err(format!("{} articles accepted but not in the feed", missing.len()).into());
    }
    Ok(())
}

fn seen_now(seen: &Seen) -> String {
    let map = lock(&seen.requests);
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(k, n)| format!("{n} × {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}
