//! Fan-out throughput: signed deliveries per second from the queue to local
//! sinks that answer 202 at once. Ignored by default; run it in release:
//!
//! ```text
//! cargo test --release -p gazette-delivery --test throughput -- --ignored --nocapture
//! ```
//! (with `GAZETTE_TEST_POSTGRES_URL` set it runs on PostgreSQL too).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use gazette_delivery::{DeliveryConfig, Worker};
use gazette_store::testing::TestDb;
use gazette_store::{Backend, Store};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use support::Keys;
use tokio::sync::oneshot;

const ACTOR: &str = "https://here.example/users/org";
const HOSTS: usize = 40;
const PER_HOST: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run in release"]
async fn fan_out_throughput() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(db) = TestDb::new(backend).await {
            run(&db.store, backend).await;
        }
    }
}

async fn run(store: &Store, backend: Backend) {
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let keys = Keys::one(ACTOR, key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string());
    let mut inboxes = Vec::new();
    for _ in 0..HOSTS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route(
            "/{*path}",
            axum::routing::post(|| async { axum::http::StatusCode::ACCEPTED }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        inboxes.extend((0..PER_HOST).map(|i| format!("http://localhost:{port}/users/{i}/inbox")));
    }
    // A 4 KiB activity, about the size of an article's Create.
    let payload = format!(
        r#"{{"id":"https://here.example/a/1","content":"{}"}}"#,
        "x".repeat(4096)
    );
    let queued_at = Instant::now();
    let queued = store
        .enqueue_delivery("https://here.example/a/1", ACTOR, &payload, &inboxes)
        .await
        .unwrap();
    let enqueue = queued_at.elapsed();
    assert_eq!(queued as usize, HOSTS * PER_HOST);

    let config = DeliveryConfig {
        allow_private_addresses: true,
        ..DeliveryConfig::new("https://here.example")
    };
    let worker = Worker::new(store.clone(), config, keys).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let started = Instant::now();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let stats = store.delivery_stats().await.unwrap();
        if stats.iter().all(|s| s.pending == 0 && s.retrying == 0) {
            assert_eq!(
                stats.iter().map(|s| s.delivered).sum::<i64>() as usize,
                HOSTS * PER_HOST
            );
            break;
        }
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    task.await.unwrap();
    println!(
        "{backend:?}: queued {} deliveries in {:.0} ms; delivered in {:.2} s = {:.0} signed deliveries/s",
        HOSTS * PER_HOST,
        enqueue.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64(),
        (HOSTS * PER_HOST) as f64 / elapsed.as_secs_f64()
    );
}
