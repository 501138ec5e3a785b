//! Signed POSTs to an inbox, shared by the inbox benchmarks (this folder's
//! `inbox_load` and the network coordinator's `bench_network` in
//! crates/server/examples, which includes this module by path): RSA key
//! pairs, requests signed in advance, and closed- and open-loop senders
//! that record each request's latency and status.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header;
use gazette_delivery::{SignedHeaders, SigningKey};
use reqwest::Url;
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::BoxError;

/// A signed request, ready to send.
pub(crate) struct Prepared {
    pub(crate) body: Bytes,
    pub(crate) headers: SignedHeaders,
}

/// What came back from one phase.
pub(crate) struct Outcome {
    pub(crate) elapsed: Duration,
    /// Microseconds per request, sorted.
    pub(crate) latencies: Vec<u64>,
    pub(crate) statuses: HashMap<String, usize>,
}

pub(crate) fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

pub(crate) fn statuses(map: &HashMap<String, usize>) -> String {
    let mut v: Vec<String> = map.iter().map(|(k, n)| format!("{n} × {k}")).collect();
    v.sort();
    v.join(", ")
}

/// `n` RSA-2048 key pairs, made on two threads: private keys as PKCS#8
/// PEM, public keys as SPKI PEM.
pub(crate) fn generate_keys(n: usize) -> Result<(Vec<String>, Vec<String>), BoxError> {
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

/// Sends one request; the status (or "error") when it is over.
pub(crate) async fn send(client: &reqwest::Client, inbox: &Url, p: &Prepared) -> String {
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
pub(crate) async fn closed_loop(
    client: &reqwest::Client,
    inbox: &Url,
    requests: Vec<Prepared>,
    concurrency: usize,
) -> Outcome {
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
pub(crate) async fn open_loop(
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

pub(crate) fn outcome(elapsed: Duration, results: Vec<(u64, String)>) -> Outcome {
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

/// An activity to sign: the sending actor's id, which of the private keys
/// it uses, and the JSON body.
pub(crate) struct ToSign {
    pub(crate) actor_id: String,
    pub(crate) key: usize,
    pub(crate) body: String,
}

/// Signs POSTs of `items` to `inbox` with `keys` (PKCS#8 PEM), on two
/// threads, all dated now: draft-cavage `rsa-sha256` over
/// `(request-target) host date digest`, as Gazette's own deliveries are.
pub(crate) fn sign_all(inbox: &Url, keys: &[String], items: Vec<ToSign>) -> Result<Vec<Prepared>, BoxError> {
    let now = std::time::SystemTime::now();
    let chunk_len = items.len().div_ceil(2).max(1);
    let signed: Vec<Result<Vec<Prepared>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk_len)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut cache: HashMap<&str, SigningKey> = HashMap::new();
                    chunk
                        .iter()
                        .map(|t| {
                            if !cache.contains_key(t.actor_id.as_str()) {
                                let pem = keys.get(t.key).ok_or("no such key")?;
                                let key = SigningKey::from_pem(&t.actor_id, pem).map_err(|e| e.to_string())?;
                                cache.insert(&t.actor_id, key);
                            }
                            let key = cache.get(t.actor_id.as_str()).ok_or("no key")?;
                            let headers = key
                                .sign_post(inbox, t.body.as_bytes(), now)
                                .map_err(|e| e.to_string())?;
                            Ok(Prepared {
                                body: Bytes::from(t.body.clone()),
                                headers,
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()
                })
            })
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
