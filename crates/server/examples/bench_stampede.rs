//! The preview stampede (issue 16): an article goes out to followers on a
//! thousand servers, and each server, as Mastodon does for its preview
//! card, fetches the article page and its ActivityPub object as soon as
//! the `Create` arrives, while the fan-out is still running. Run by
//! `scripts/bench-stampede`, results in docs/benchmarks.md. Reported: the
//! fetches' p50/p99/max and statuses, the fan-out's throughput with the
//! fetches against rounds without them in the same run (goal: within
//! 10%), the server's CPU seconds per round (what the fetches cost it,
//! apart from their clients on the same cores), and the server's resident
//! memory.
//!
//! ```text
//! bench_stampede --gazette PATH --database-url URL [--followers 5000] [--hosts 1000] [--rounds 3]
//!                [--client plain|reqwest]
//! ```
//!
//! `PATH serve --demo` starts on a fresh database (URL must be empty);
//! each host is a loopback listener `localhost:PORT` with a shared inbox,
//! its followers spread evenly; rounds alternate "quiet" (no fetch) and
//! "stampede" publications through the API.

#![allow(clippy::unwrap_used)]

#[path = "../../delivery/examples/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use common::{BoxError, Flags, percentile, process_cpu};
use gazette_core::{FollowStatus, RemoteActor};
use gazette_store::Store;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Longest wait for one round before the run is declared broken.
const GIVE_UP: Duration = Duration::from_secs(120);

/// What the hosts saw: a `Create` (its slug) or a finished fetch.
enum Event {
    Created { slug: String, at: Instant },
    Fetched { micros: u64, status: u16 },
}

/// One loopback host: its inbox records each `Create` and, while
/// `stampede` is on, fetches the article's page and object at once.
struct Host {
    events: mpsc::UnboundedSender<Event>,
    stampede: Arc<AtomicBool>,
    fetcher: Fetcher,
}

/// How a host fetches. The hosts stand for servers elsewhere, whose CPU
/// is not the server's: `Plain` (the default) spends as little of the
/// shared cores as a load generator can (one connection, one request,
/// read to the end, close), `Reqwest` is a full HTTP client per host, as
/// the runs before 2026-12-08 measured.
#[derive(Clone)]
enum Fetcher {
    Plain(std::net::SocketAddr),
    Reqwest(reqwest::Client),
}

impl Fetcher {
    /// GETs `url` (on the server) with `accept`, reads the whole answer and
    /// returns its status (0 on any failure).
    async fn fetch(&self, url: &str, accept: &str) -> u16 {
        match self {
            Fetcher::Reqwest(client) => match client.get(url).header("Accept", accept).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.bytes().await {
                        Ok(_) => status,
                        Err(_) => 0,
                    }
                }
                Err(_) => 0,
            },
            Fetcher::Plain(addr) => {
                match tokio::time::timeout(Duration::from_secs(60), plain_get(*addr, url, accept)).await {
                    Ok(Ok(status)) => status,
                    _ => 0,
                }
            }
        }
    }
}

/// One HTTP/1.1 GET on a new connection, as a server fetching a preview
/// once sends it, read to the end of the body (by its length, or its
/// chunks), then the connection closed.
async fn plain_get(addr: std::net::SocketAddr, url: &str, accept: &str) -> std::io::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(|| bad("not http"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: {accept}\r\nUser-Agent: bench-stampede\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(32 * 1024);
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(bad("closed before the headers' end"));
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("headers not UTF-8"))?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    if let Some(len) = header("content-length") {
        let len: usize = len.parse().map_err(|_| bad("content-length"))?;
        while buf.len() < head_end + len {
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(bad("closed before the body's end"));
            }
        }
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        // Enough of chunked decoding to find the last chunk.
        while !buf[head_end..].windows(5).any(|w| w == b"0\r\n\r\n") {
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(bad("closed before the last chunk"));
            }
        }
    } else if status != 304 && status != 204 {
        while stream.read_buf(&mut buf).await? != 0 {}
    }
    Ok(status)
}

async fn inbox(State(host): State<Arc<Host>>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if activity["type"] != "Create" {
        return StatusCode::ACCEPTED;
    }
    let object = &activity["object"];
    let (Some(page), Some(id)) = (object["url"].as_str(), object["id"].as_str()) else {
        return StatusCode::ACCEPTED;
    };
    let slug = page
        .rsplit_once("/articles/")
        .map(|(_, s)| s.to_owned())
        .unwrap_or_default();
    let _ = host.events.send(Event::Created { slug, at });
    if host.stampede.load(Ordering::Relaxed) {
        for (url, accept) in [(page, "text/html"), (id, "application/activity+json")] {
            let (fetcher, events, url) = (host.fetcher.clone(), host.events.clone(), url.to_owned());
            tokio::spawn(async move {
                let start = Instant::now();
                // Read to the end, as a preview fetch does.
                let status = fetcher.fetch(&url, accept).await;
                let micros = start.elapsed().as_micros() as u64;
                let _ = events.send(Event::Fetched { micros, status });
            });
        }
    }
    StatusCode::ACCEPTED
}

fn vm(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_owned())
        .unwrap_or_else(|| "?".into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let flags = Flags::parse(&["gazette", "database-url", "followers", "hosts", "rounds", "client"])?;
    let followers: usize = flags.get("followers", 5000)?;
    let hosts: usize = flags.get("hosts", 1000)?;
    let rounds: usize = flags.get("rounds", 3)?;
    let gazette = flags.str("gazette").ok_or("missing --gazette")?;
    let database_url = flags.str("database-url").ok_or("missing --database-url")?.to_owned();
    let plain = match flags.str("client").unwrap_or("plain") {
        "plain" => true,
        "reqwest" => false,
        other => return Err(format!("--client {other}: expected plain or reqwest").into()),
    };
    gazette_federation::install_crypto_provider();

    let server = support::Gazette::start(Path::new(gazette), &database_url, "bench-stampede")?;
    let (pid, listen, public) = (server.pid(), server.listen, server.public.clone());
    let rss_at_start = vm(pid, "VmRSS:");

    // The hosts: one listener each, one client each (a server of its own
    // opens its own connections), all fetching from the same loopback port.
    let (tx, mut events) = mpsc::unbounded_channel();
    let stampede = Arc::new(AtomicBool::new(false));
    let mut ports = Vec::with_capacity(hosts);
    for _ in 0..hosts {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        ports.push(listener.local_addr()?.port());
        let fetcher = if plain {
            Fetcher::Plain(listen)
        } else {
            Fetcher::Reqwest(
                reqwest::Client::builder()
                    .resolve("localhost", listen)
                    .timeout(Duration::from_secs(60))
                    .build()?,
            )
        };
        let host = Arc::new(Host {
            events: tx.clone(),
            stampede: stampede.clone(),
            fetcher,
        });
        let app = axum::Router::new()
            .fallback(axum::routing::post(inbox))
            .with_state(host);
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    let store = Store::connect(&database_url, 2).await?;
    let author = format!("{public}/users/camille_renard");
    for i in 0..followers {
        let port = ports[i % hosts];
        let id = format!("http://localhost:{port}/users/reader{i}");
        store
            .upsert_remote_actor(&RemoteActor {
                id: id.clone(),
                kind: "Person".into(),
                preferred_username: format!("reader{i}"),
                name: format!("Reader {i}"),
                host: format!("localhost:{port}"),
                inbox: format!("{id}/inbox"),
                shared_inbox: Some(format!("http://localhost:{port}/inbox")),
                url: None,
                icon: None,
                public_key_id: format!("{id}#main-key"),
                public_key_pem: String::new(),
                moved_to: None,
                refreshed_at: Utc::now(),
            })
            .await?;
        store
            .add_follower(&author, &id, &format!("{id}/follows/1"), FollowStatus::Accepted)
            .await?;
    }
    store.close().await;

    let token = server.token()?;

    println!(
        "# {} — {} cores; load average before: {}",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "database: {}; {followers} followers on {hosts} hosts (shared inboxes); fetch client: {}; RSS after start: {rss_at_start}",
        database_url.split(':').next().unwrap_or("?"),
        if plain { "plain" } else { "reqwest" }
    );
    println!();
    println!(
        "| round | fetches | fan-out s | deliveries/s | server CPU s | fetch p50 ms | p99 ms | max ms | statuses |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");

    let api = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let mut quiet = Vec::new();
    let mut loud = Vec::new();
    // The server's CPU seconds per round, from the publish to the last Create
    // and fetch: what the fetches cost the server, apart from their clients.
    let (mut quiet_cpu, mut loud_cpu) = (Vec::new(), Vec::new());
    let mut all_fetches = Vec::new();
    for round in 0..rounds * 2 {
        let fetching = round % 2 == 1;
        stampede.store(fetching, Ordering::Relaxed);
        let slug = format!("stampede-{round}");
        let cpu_before = process_cpu(pid);
        let start = Instant::now();
        let resp = api
            .post(format!("http://{listen}/api/articles"))
            .bearer_auth(&token)
            .json(&json!({
                "slug": slug, "kind": "news", "status": "published", "language": "en", "author": "camille_renard",
                "translations": [{"language": "en", "title": format!("Stampede {round}"),
                    "summary": "A preview every server fetches.", "body": "Read me.\n\n".repeat(200)}]
            }))
            .send()
            .await?;
        if resp.status() != 201 {
            return Err(format!("publish: {} {}", resp.status(), resp.text().await?).into());
        }
        let (mut created, mut last) = (0, start);
        let mut fetches = Vec::new();
        let mut statuses: HashMap<u16, usize> = HashMap::new();
        let want_fetches = if fetching { 2 * hosts } else { 0 };
        let deadline = tokio::time::Instant::now() + GIVE_UP;
        while created < hosts || fetches.len() < want_fetches {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(Event::Created { slug: s, at })) if s == slug => {
                    created += 1;
                    last = last.max(at);
                }
                Ok(Some(Event::Created { .. })) => {}
                Ok(Some(Event::Fetched { micros, status })) => {
                    fetches.push(micros);
                    *statuses.entry(status).or_insert(0) += 1;
                }
                _ => {
                    return Err(format!(
                        "round {round}: {created} of {hosts} Creates and {} of {want_fetches} fetches within {GIVE_UP:?}",
                        fetches.len()
                    )
                    .into());
                }
            }
        }
        let cpu = process_cpu(pid) - cpu_before;
        let fanout = (last - start).as_secs_f64();
        let rate = hosts as f64 / fanout;
        fetches.sort_unstable();
        let mut st: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} × {s}")).collect();
        st.sort();
        let ms = |p: f64| format!("{:.1}", percentile(&fetches, p) as f64 / 1000.0);
        if fetching {
            println!(
                "| {round} | {} | {fanout:.2} | {rate:.0} | {cpu:.2} | {} | {} | {} | {} |",
                fetches.len(),
                ms(50.0),
                ms(99.0),
                ms(100.0),
                st.join(", ")
            );
            loud.push(rate);
            loud_cpu.push(cpu);
            all_fetches.extend(fetches);
        } else {
            println!("| {round} | none | {fanout:.2} | {rate:.0} | {cpu:.2} | | | | |");
            quiet.push(rate);
            quiet_cpu.push(cpu);
        }
    }
    all_fetches.sort_unstable();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (q, l) = (median(&mut quiet), median(&mut loud));
    let (qc, lc) = (median(&mut quiet_cpu), median(&mut loud_cpu));
    println!();
    println!(
        "fan-out, median of {rounds} rounds: {q:.0} deliveries/s quiet, {l:.0} with the fetches ({:.0}%)",
        100.0 * l / q
    );
    println!(
        "server CPU per round, median: {qc:.2} s quiet, {lc:.2} s with the fetches: the {} fetches cost the server {:.0}% more ({:.0} µs each)",
        2 * hosts,
        100.0 * (lc - qc) / qc,
        1e6 * (lc - qc) / (2 * hosts) as f64
    );
    println!(
        "fetches, all stampede rounds: n={} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all_fetches.len(),
        percentile(&all_fetches, 50.0) as f64 / 1000.0,
        percentile(&all_fetches, 99.0) as f64 / 1000.0,
        percentile(&all_fetches, 100.0) as f64 / 1000.0
    );
    println!(
        "server memory: RSS {} now, peak (VmHWM) {}",
        vm(pid, "VmRSS:"),
        vm(pid, "VmHWM:")
    );
    drop(server);
    Ok(())
}
