//! The persistent delivery queue through the real binary: deliveries that
//! were pending when `gazette serve` was killed with SIGKILL go out after a
//! restart (to a Fedify peer that was down meanwhile, see tests/fedify), and
//! two `gazette serve` processes on one PostgreSQL database share the queue
//! without sending any delivery twice. `gazette deliveries` shows the queue.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::sink::Sink;
use common::{Env, eventually, path};
use gazette_store::{Backend, Store};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------- the Fedify peer

struct Peer {
    child: Child,
    base: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the peer on `port` (0 for any) with its keys and followers in `data`.
fn start_peer(data: &Path, port: u16) -> Peer {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fedify");
    let node = dir.join("node_modules/node/bin/node");
    assert!(node.exists(), "run `npm ci` in tests/fedify first (scripts/test does)");
    let mut child = Command::new(node)
        .arg(dir.join("peer.mjs"))
        .args(["--port", &port.to_string(), "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "listening");
    // Keep draining stdout so the peer never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Peer {
        child,
        base: first["base"].as_str().unwrap().to_owned(),
    }
}

impl Peer {
    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    async fn follow(&self, target: &str) {
        let resp = common::test_client()
            .post(format!("{}/control/follow", self.base))
            .json(&json!({ "target": target }))
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "follow failed: {}",
            resp.text().await.unwrap()
        );
    }

    /// Waits for a received activity of `kind` matching `pred`.
    async fn wait_for(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("the peer to receive {kind}"), DEADLINE, || async {
            let received: Value = common::http_get(format!("{}/control/received", self.base))
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            received
                .as_array()?
                .iter()
                .find(|e| e["type"] == kind && pred(e))
                .cloned()
        })
        .await
    }
}

/// `gazette deliveries --json`, and the entry for `host` in it.
fn deliveries(env: &Env, host: &str) -> (Value, Option<Value>) {
    let report: Value = serde_json::from_str(&env.ok(&["deliveries", "--json"])).unwrap();
    let entry = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == host)
        .cloned();
    (report, entry)
}

fn article_file(env: &Env, slug: &str) -> PathBuf {
    env.write(
        &format!("{slug}.md"),
        format!(
            "---\nslug: {slug}\nkind: news\ntitle: Queued while the peer was down\nsummary: It must still arrive.\n\
             language: en\nauthor: camille_renard\n---\nDelivered after a restart.\n"
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_deliveries_go_out_after_kill_9() {
    let Some(env) = Env::new(Backend::Sqlite).await else {
        return;
    };
    // The real retry schedule with 200 ms units: the first retry comes 3 to
    // 4.8 s after a failure instead of 15 to 24 s.
    let env = env
        .federated()
        .with_env("GAZETTE_FEDERATION__DELIVERY_BACKOFF_UNIT_MS", "200");
    let server = env.serve_federated(&["--demo"]);
    let peer_data = env.dir.join("peer");
    let peer = start_peer(&peer_data, 0);
    let author = server.url("/users/camille_renard");
    peer.follow(&author).await;
    peer.wait_for("Accept", |e| e["actor"] == author).await;

    // The peer goes down; the article's Create fails and waits for a retry.
    let peer_port = peer.port();
    let peer_host = format!("localhost:{peer_port}");
    drop(peer);
    env.ok(&["publish", path(&article_file(&env, "while-down"))]);
    let entry = eventually("a failed attempt to show in `gazette deliveries`", DEADLINE, || async {
        let (_, entry) = deliveries(&env, &peer_host);
        entry.filter(|e| e["retrying"] == 1)
    })
    .await;
    assert_eq!(entry["pending"], 0, "{entry}");
    assert!(entry["consecutive_failures"].as_i64().unwrap() >= 1, "{entry}");
    assert!(entry["last_error"].is_string(), "{entry}");
    let table = env.ok(&["deliveries"]);
    let row = table
        .lines()
        .find(|l| l.starts_with(&peer_host))
        .unwrap_or_else(|| panic!("no row for {peer_host}:\n{table}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    // HOST PENDING RETRYING DELIVERED GIVEN-UP UNAVAILABLE STREAK …
    assert_eq!(columns[2], "1", "{table}");
    assert_eq!(columns[5], "no", "{table}");
    assert!(table.lines().any(|l| l.starts_with("TOTAL")), "{table}");

    // SIGKILL: no shutdown code runs. Then the same instance and the same
    // peer (same port, same keys) come back.
    server.kill9();
    let server = env.serve_federated(&[]);
    let peer = start_peer(&peer_data, peer_port);
    let create = peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    assert_eq!(create["actor"], author);
    assert!(
        create["object"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/articles/while-down"),
        "{create}"
    );
    let entry = eventually("the delivery to be recorded", DEADLINE, || async {
        let (_, entry) = deliveries(&env, &peer_host);
        entry.filter(|e| e["retrying"] == 0 && e["pending"] == 0 && e["delivered"] == 2)
    })
    .await;
    assert_eq!(entry["consecutive_failures"], 0, "{entry}");
    assert!(entry["last_success_at"].is_string(), "{entry}");
    drop(server);
}

/// An article change is recorded in the same transaction as the article
/// write; deliveries are queued from it afterwards. Here the process "dies"
/// between the two: the change is written straight through the store (as
/// the server's own write does) and nothing queues its deliveries, until a
/// server starts and sends them.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_saved_just_before_a_crash_still_reaches_followers() {
    let Some(env) = Env::new(Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"), 0);
    let author = server.url("/users/camille_renard");
    peer.follow(&author).await;
    peer.wait_for("Accept", |e| e["actor"] == author).await;
    server.kill9();

    let store = Store::connect(env.database_url(), 1).await.unwrap();
    let camille = store.get_author("camille_renard").await.unwrap();
    let article = store
        .list_articles(&gazette_store::ArticleQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .articles
        .into_iter()
        .find(|a| a.is_public() && a.author_id == camille.id)
        .unwrap();
    store
        .set_article_status(&article.id, gazette_core::ArticleStatus::Deleted)
        .await
        .unwrap();
    assert_eq!(store.pending_article_events(10).await.unwrap().len(), 1);
    drop(store);

    let server = env.serve_federated(&[]);
    let object = server.url(&format!("/objects/{}", article.id));
    let delete = peer
        .wait_for("Delete", |e| e["object"]["id"] == object || e["object"] == object)
        .await;
    assert_eq!(delete["actor"], author);
    drop(server);
}

// ---------------------------------------------------------------- inbox sinks

/// Long enough that one process alone could not empty the queue before the
/// other one polls it (every 5 s): both must be sending at once.
const SINK_LATENCY: Duration = Duration::from_millis(500);

const SINKS: usize = 3;
const FOLLOWERS_PER_SINK: usize = 120;

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_share_one_queue() {
    let Some(env) = Env::new(Backend::Postgres).await else {
        return;
    };
    // Both processes are the same instance: one public URL, one database,
    // two listening ports.
    let env = env.federated();
    let first = env.serve_federated(&["--demo"]);
    let second = env.serve(&[]);
    let author = first.url("/users/camille_renard");

    // Followers on three remote hosts, each without a shared inbox, so every
    // follower is one delivery.
    let store = Store::connect(env.database_url(), 2).await.unwrap();
    let mut sinks = Vec::new();
    for _ in 0..SINKS {
        let sink = Sink::start(SINK_LATENCY).await;
        for i in 0..FOLLOWERS_PER_SINK {
            sink.follower(&store, &author, &format!("f{i}")).await;
        }
        let port = sink.port;
        sinks.push((sink, port));
    }

    env.ok(&["publish", path(&article_file(&env, "for-everyone"))]);
    eventually("every follower to receive the Create", DEADLINE, || async {
        let done = sinks.iter().all(|(sink, _)| sink.answered() >= FOLLOWERS_PER_SINK);
        done.then_some(())
    })
    .await;
    // Results are recorded after the answers: wait for an empty queue, so a
    // second send, if there were one, would have happened by now.
    eventually("the queue to be empty", DEADLINE, || async {
        let stats = store.delivery_stats().await.unwrap();
        let idle = stats.iter().all(|h| h.pending == 0 && h.retrying == 0);
        let delivered: i64 = stats.iter().map(|h| h.delivered).sum();
        (idle && delivered == (SINKS * FOLLOWERS_PER_SINK) as i64).then_some(())
    })
    .await;

    let mut activities_sent = std::collections::HashSet::new();
    for (sink, port) in &sinks {
        let received = sink.received();
        let mut per_inbox: HashMap<&str, Vec<&str>> = HashMap::new();
        for (inbox, activity) in &received {
            let id = activity["id"].as_str().unwrap_or_default();
            per_inbox.entry(inbox.as_str()).or_default().push(id);
        }
        assert_eq!(per_inbox.len(), FOLLOWERS_PER_SINK, "sink {port}: {per_inbox:?}");
        for (inbox, activities) in &per_inbox {
            assert_eq!(activities.len(), 1, "sink {port}: {inbox} got {activities:?}");
            activities_sent.insert(activities[0].to_owned());
        }
        // One process sends at most 8 requests at once to a host: more
        // means both were delivering at the same time, and still nothing
        // was sent twice.
        let max = sink.max_in_flight();
        assert!(
            (9..=16).contains(&max),
            "sink {port}: at most {max} requests at once (one process sends at most 8 to a host)"
        );
    }
    assert_eq!(activities_sent.len(), 1, "one Create for everyone: {activities_sent:?}");
    store.close().await;
    drop((first, second));
}
