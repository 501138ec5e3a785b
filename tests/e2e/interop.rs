//! Interop with an independent ActivityPub implementation: a Fedify 2.3.6
//! peer (tests/fedify, signing draft-cavage like Mastodon) follows a Gazette
//! author and must receive a verified `Accept`, then `Create(Article)` with
//! every field parsed, `Update` and `Delete`; its likes and replies must show
//! on Gazette's side. A peer that knocks with RFC 9421 first must get its
//! follow, like and reply (and, with authorized fetch on, its signed GETs)
//! accepted without falling back to draft-cavage; a peer that refuses
//! draft-cavage gets Gazette's deliveries signed RFC 9421 after the first
//! refusal, and RFC 9421 is remembered. `gazette demo network`
//! fills a shared feed with every member's articles, and the Fedify peer
//! follows its network actor. Integrity proofs (FEP-8b32): Fedify verifies
//! the proofs on Gazette's activities and articles, Gazette verifies
//! Fedify's and refuses a reply changed after signing. Needs `npm ci` in
//! tests/fedify (scripts/test does it).

#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::fediverse::as2;
use common::{Env, eventually, path};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(60);

pub(crate) struct Peer {
    child: Child,
    pub(crate) base: String,
    pub(crate) actor: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fedify_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fedify")
}

pub(crate) fn start_peer(data: &std::path::Path) -> Peer {
    start_peer_with(data, &[])
}

pub(crate) fn start_peer_with(data: &std::path::Path, extra: &[&str]) -> Peer {
    let dir = fedify_dir();
    let node = dir.join("node_modules/node/bin/node");
    assert!(node.exists(), "run `npm ci` in tests/fedify first (scripts/test does)");
    let mut child = Command::new(node)
        .arg(dir.join("peer.mjs"))
        .args(["--port", "0", "--data"])
        .arg(data)
        .args(extra)
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
        actor: first["actor"].as_str().unwrap().to_owned(),
    }
}

impl Peer {
    pub(crate) async fn control(&self, what: &str, body: Value) -> Value {
        let resp = common::test_client()
            .post(format!("{}/control/{what}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "peer {what} failed: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Everything the peer logged (`http-out` events name the signature each request carried).
    pub(crate) async fn events(&self) -> Vec<Value> {
        let v: Value = common::http_get(format!("{}/control/events", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn received(&self) -> Vec<Value> {
        let v: Value = common::http_get(format!("{}/control/received", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array().cloned().unwrap_or_default()
    }

    /// `GET /control/{what}` (followers, following…).
    pub(crate) async fn get(&self, what: &str) -> Value {
        common::http_get(format!("{}/control/{what}", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits for an event named `name` matching `pred`.
    pub(crate) async fn event(&self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("the peer's {name} event"), DEADLINE, || async {
            self.events().await.into_iter().find(|e| e["event"] == name && pred(e))
        })
        .await
    }

    /// Waits for a received activity of `kind` matching `pred`.
    pub(crate) async fn wait_for(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("the peer to receive {kind}"), DEADLINE, || async {
            self.received().await.into_iter().find(|e| e["type"] == kind && pred(e))
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fedify_follows_receives_and_interacts() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    // Signed the way Mastodon before 4.5 and most of the fediverse verify.
    let env = env
        .federated()
        .with_env("GAZETTE_FEDERATION__SIGNATURE", "draft-cavage");
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"));
    let author = server.url("/users/camille_renard");

    // WebFinger and the actor document are what Mastodon looks up first.
    let host = server.base.trim_start_matches("http://").to_owned();
    let wf: Value =
        common::http_get(server.url(&format!("/.well-known/webfinger?resource=acct:camille_renard@{host}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(wf["links"][0]["href"], author);
    let actor = as2(&author).await;
    assert_eq!(actor["type"], "Person");
    assert!(
        actor["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );

    // Follow → a signed Accept that Fedify verified.
    peer.control("follow", json!({ "target": author })).await;
    let accept = peer.wait_for("Accept", |_| true).await;
    assert_eq!(accept["actor"], author);

    // Publish → Create(Article) with every field Fedify could parse.
    env.write("cover.png", common::PNG);
    let en = env.write(
        "peer-news.en.md",
        "---\ntitle: Hello from the cooperative\nsummary: Solar roofs for every school.\nlanguage: en\n---\nEnglish **body**.\n",
    );
    let _ = en;
    let file = env.write(
        "peer-news.md",
        "---\nslug: peer-news\nkind: news\ntitle: Bonjour de la coopérative\nsummary: Des toits solaires pour chaque école.\n\
         language: fr\ntranslations:\n  en: peer-news.en.md\ntags: [Cooperatives, Energie]\nauthor: camille_renard\n\
         cover:\n  src: cover.png\n  alt: A white dot\n---\nCorps en **français**.\n",
    );
    env.ok(&["publish", path(&file)]);
    let create = peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    let article = &create["object"];
    assert_eq!(create["actor"], author);
    assert_eq!(article["nameMap"]["fr"], "Bonjour de la coopérative");
    assert_eq!(article["nameMap"]["en"], "Hello from the cooperative");
    assert!(
        article["contentMap"]["en"]
            .as_str()
            .unwrap()
            .contains("<strong>body</strong>")
    );
    assert!(article["summaryMap"]["fr"].as_str().unwrap().contains("toits solaires"));
    assert_eq!(article["mediaType"], "text/html");
    assert_eq!(article["source"]["mediaType"], "text/markdown");
    assert!(article["url"].as_str().unwrap().ends_with("/articles/peer-news"));
    assert!(article["published"].is_string());
    let tags = article["tags"].as_array().unwrap();
    assert!(
        tags.iter()
            .any(|t| t["type"] == "Hashtag" && t["name"] == "#Cooperatives"),
        "tags keep their case: {tags:?}"
    );
    // How GoToSocial and Mastodon will show it: no plain summary or name (a
    // content warning on GoToSocial), the title opening the content, linked
    // hashtags, a FEP-b2b8 preview.
    let raw = &create["raw"]["object"];
    assert!(raw.get("summary").is_none() && raw.get("name").is_none(), "{raw}");
    let fr = article["contentMap"]["fr"].as_str().unwrap();
    assert!(fr.starts_with("<h2>Bonjour de la coopérative</h2>"), "{fr}");
    assert!(
        fr.contains("class=\"mention hashtag\" rel=\"tag\">#<span>Cooperatives</span></a>"),
        "{fr}"
    );
    assert_eq!(raw["preview"]["type"], "Note");
    let object_id = article["id"].as_str().unwrap().to_owned();
    // FEP-7888: the thread's `context` is the article's replies collection, and resolves.
    assert_eq!(raw["context"], format!("{object_id}/replies"), "{raw}");
    let context = as2(raw["context"].as_str().unwrap()).await;
    assert_eq!(context["type"], "OrderedCollection", "{context}");
    assert_eq!(context["id"], raw["context"]);

    // Like and reply → counted and stored on Gazette's side.
    peer.control("like", json!({ "object": object_id })).await;
    let reply = peer
        .control("reply", json!({ "inReplyTo": object_id, "content": "<p>Bravo!</p>" }))
        .await;
    eventually("the like and the reply to be counted", DEADLINE, || async {
        let likes = as2(&format!("{object_id}/likes")).await;
        let replies = as2(&format!("{object_id}/replies")).await;
        (likes["totalItems"] == 1 && replies["totalItems"] == 1).then_some(())
    })
    .await;

    // Fedify's parser reads the author's `featured` collection and the
    // article's paged `replies`, as GoToSocial does.
    let collections = peer
        .control("collections", json!({ "actor": author, "object": object_id }))
        .await;
    let featured = &collections["featured"];
    assert_eq!(featured["id"], format!("{author}/featured"), "{collections}");
    assert_eq!(featured["type"], "OrderedCollection");
    assert!(
        featured["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == object_id.as_str() && i["type"] == "Article"),
        "{collections}"
    );
    let replies = &collections["replies"];
    assert_eq!(replies["type"], "OrderedCollection", "{collections}");
    assert_eq!(replies["totalItems"], 1);
    let page = &replies["pages"][0];
    assert_eq!(page["type"], "OrderedCollectionPage", "{collections}");
    assert_eq!(page["partOf"], format!("{object_id}/replies"));
    assert_eq!(page["itemIds"], json!([reply["note"]]), "{collections}");
    assert!(page["next"].is_null());

    // A profile edit → Update of the actor.
    let token = common::last_line(&env.ok(&["token", "create", "interop"])).to_owned();
    let resp = common::test_client()
        .put(server.url("/api/authors/camille_renard"))
        .bearer_auth(&token)
        .json(&json!({ "username": "camille_renard", "name": "Camille R.", "bio": "Edits interviews." }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    peer.wait_for("Update", |e| {
        e["object"]["type"] == "Person" || e["object"]["id"] == author
    })
    .await;

    // Edit → Update; delete → Delete of a Tombstone.
    let edited = env.write(
        "peer-news.md",
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("Corps en **français**.", "Corps modifié."),
    );
    env.ok(&["publish", "--update", path(&edited)]);
    peer.wait_for("Update", |e| e["object"]["type"] == "Article").await;
    env.ok(&["article", "delete", "peer-news"]);
    peer.wait_for("Delete", |_| true).await;
    let gone = common::test_client()
        .get(&object_id)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);
    let signed_in: Vec<Value> = peer
        .events()
        .await
        .into_iter()
        .filter(|e| e["event"] == "signed-in")
        .collect();
    assert!(
        signed_in.iter().any(|e| e["method"] == "POST")
            && signed_in
                .iter()
                .all(|e| e["signature"] == "draft-cavage" && e["status"].as_u64() < Some(400)),
        "{signed_in:#?}"
    );
    let _ = peer.actor.clone();
}

/// An interview whose interviewee has a fediverse handle mentions them: the
/// handle is resolved by WebFinger when the article goes out, the `Article`
/// carries a `Mention` and the interviewee's server is sent the `Create`
/// even though nobody there follows the author.
#[tokio::test(flavor = "multi_thread")]
async fn the_interviewee_is_mentioned_and_notified() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"));
    let peer_host = peer.base.trim_start_matches("http://").to_owned();
    let username = peer.actor.rsplit('/').next().unwrap().to_owned();
    let handle = format!("@{username}@{peer_host}");
    let file = env.write(
        "mention.md",
        format!(
            "---\nslug: talking-to-the-peer\nkind: interview\ntitle: A conversation with the peer\n\
             summary: Questions and answers.\nlanguage: en\nauthor: camille_renard\n\
             interviewee:\n  name: The Peer\n  fediverse_handle: \"{handle}\"\n---\n**Q.** Hello?\n\n**A.** Hello.\n"
        ),
    );
    env.ok(&["publish", path(&file)]);
    let create = peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    let tags = create["object"]["tags"].as_array().cloned().unwrap_or_default();
    assert!(
        tags.iter()
            .any(|t| t["type"] == "Mention" && t["href"] == peer.actor.as_str()),
        "{create}"
    );
    // The article served later carries the same mention, from the store.
    let object = as2(create["object"]["id"].as_str().unwrap()).await;
    let mention = object["tag"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "Mention")
        .cloned()
        .unwrap();
    assert_eq!(mention["href"], peer.actor.as_str());
    assert_eq!(mention["name"], handle.as_str());
    assert!(
        object["cc"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == peer.actor.as_str())
    );
    drop(server);
}

/// A Fedify follower of a network coordinator's network actor (as a
/// Mastodon user would follow it) gets a verified `Accept`, then the
/// network actor's `Announce` of each new member article, and its `Undo`
/// when the article is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_follows_the_network_actor_and_gets_its_boosts() {
    let (Some(c), Some(m)) = (
        Env::new(gazette_store::Backend::Sqlite).await,
        Env::new(gazette_store::Backend::Sqlite).await,
    ) else {
        return;
    };
    let c = c.federated().with_env("GAZETTE_NETWORK__ENABLED", "true");
    let m = m.federated();
    let coordinator = c.serve_federated(&[]);
    let member = m.serve_federated(&["--demo"]);
    let peer = start_peer(&c.dir.join("peer"));
    let network = coordinator.url("/users/network");
    let member_host = member.base.trim_start_matches("http://").to_owned();

    peer.control("follow", json!({ "target": network })).await;
    let accept = peer.wait_for("Accept", |e| e["actor"] == network.as_str()).await;
    assert_eq!(accept["actor"], network);

    c.ok(&["network", "invite", &format!("@demo@{member_host}")]);
    eventually(
        "the network's follow of the member to be accepted",
        DEADLINE,
        || async { c.ok(&["network", "members"]).contains(" accepted ").then_some(()) },
    )
    .await;

    let file = m.write(
        "boosted.md",
        "---\nslug: boosted-news\nkind: news\ntitle: Boosted by the network\nsummary: Every member article is boosted.\n\
         language: en\nauthor: camille_renard\n---\nBody.\n",
    );
    m.ok(&["publish", path(&file)]);
    let announce = peer
        .wait_for("Announce", |e| {
            e["actor"] == network.as_str()
                && e["object"]["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(&member.url("/objects/")))
        })
        .await;
    let object_id = announce["object"]["id"].as_str().unwrap().to_owned();
    assert_eq!(announce["to"][0], "https://www.w3.org/ns/activitystreams#Public");
    assert_eq!(announce["cc"][0], format!("{network}/followers"));

    m.ok(&["article", "delete", "boosted-news"]);
    let undo = peer.wait_for("Undo", |e| e["actor"] == network.as_str()).await;
    assert_eq!(undo["object"]["id"], announce["id"], "{undo}");
    assert!(object_id.starts_with("http://"));
}

/// `gazette demo network` as a child process, interrupted (SIGINT) or
/// killed on drop.
struct DemoNetwork {
    child: Child,
}

impl Drop for DemoNetwork {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL after `label` on the demo's output.
fn url_after<'a>(lines: &'a [String], label: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix(label))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_network_fills_the_shared_feed_and_fedify_follows_the_network() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let dir = env.dir.join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .current_dir(&env.dir)
        .args(["demo", "network", "--dir"])
        .arg(&dir)
        .env("GAZETTE_LOG__LEVEL", "warn")
        .env_remove("GAZETTE_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = DemoNetwork { child };
    // Its output, line by line, read beside the test so the deadline holds.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let started = std::time::Instant::now();
    loop {
        let left = DEADLINE.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains("Press Ctrl-C");
                lines.push(line);
                if done {
                    break;
                }
            }
            Err(e) => panic!("the demo network was not ready within {DEADLINE:?} ({e}): {lines:#?}"),
        }
    }
    let summary = lines.iter().find(|l| l.contains("members,")).unwrap();
    assert!(summary.contains("4 members"), "{summary}");

    // The shared feed holds articles from every member.
    let feed_url = url_after(&lines, "shared feed:")[0].to_owned();
    let members = url_after(&lines, "member:");
    assert_eq!(members.len(), 4, "{lines:#?}");
    let feed: Value = common::http_get(format!("{feed_url}.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = feed["items"].as_array().unwrap();
    for m in &members {
        assert!(
            items
                .iter()
                .any(|i| i["url"].as_str().unwrap_or_default().starts_with(m)),
            "no article of {m} in the shared feed: {feed}"
        );
    }
    let languages: std::collections::HashSet<&str> = items.iter().filter_map(|i| i["language"].as_str()).collect();
    for l in ["fr", "es", "it"] {
        assert!(languages.contains(l), "no article in {l}: {languages:?}");
    }
    // Every instance has its config, for the command line.
    let coordinator = dir.join("coordinator/gazette.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["--config"])
        .arg(&coordinator)
        .args(["network", "members", "--status", "approved"])
        .env_remove("GAZETTE_CONFIG")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(table.contains("4 member(s)"), "{table}");

    // The Fedify peer follows the network actor and is accepted.
    let base = feed_url.trim_end_matches("/network/feed").to_owned();
    let network = format!("{base}/users/network");
    let peer = start_peer(&env.dir.join("peer"));
    peer.control("follow", json!({ "target": network })).await;
    let accept = peer.wait_for("Accept", |_| true).await;
    assert_eq!(accept["actor"], network);
    // Beside the four member organisations, whose follows were accepted on approval.
    eventually("the peer among the network's followers", DEADLINE, || async {
        let page = as2(&format!("{network}/followers?page=1")).await;
        let ids = page["orderedItems"].as_array().cloned().unwrap_or_default();
        (page["totalItems"] == 5 && ids.iter().any(|id| *id == peer.actor.as_str())).then_some(())
    })
    .await;

    // Ctrl-C stops every instance; the directory given is kept.
    let pid = demo.child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let mut demo = demo;
    let status = eventually("the demo network to stop", DEADLINE, || {
        let exited = demo.child.try_wait().unwrap();
        async move { exited }
    })
    .await;
    assert!(status.success(), "{status}");
    assert!(
        common::http_get(&feed_url).await.is_err(),
        "the coordinator still answers"
    );
    assert!(coordinator.exists());
}

/// Fedify knocking with RFC 9421 first: its follow, like and reply reach
/// Gazette's inbox and verify there, and so do its signed GETs (authorized
/// fetch is on), every one at the first knock: no request to Gazette is
/// refused and none falls back to draft-cavage.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_signing_rfc9421_is_verified() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env.federated().with_env("GAZETTE_FEDERATION__AUTHORIZED_FETCH", "true");
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer_with(&env.dir.join("peer"), &["--first-knock", "rfc9421"]);
    let author = server.url("/users/camille_renard");

    peer.control("follow", json!({ "target": author })).await;
    peer.wait_for("Accept", |e| e["actor"] == author.as_str()).await;
    let file = env.write(
        "knock.md",
        "---\nslug: knock\nkind: news\ntitle: Knock knock\nsummary: RFC 9421.\nlanguage: en\n\
         author: camille_renard\n---\nBody.\n",
    );
    env.ok(&["publish", path(&file)]);
    let create = peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    let object_id = create["object"]["id"].as_str().unwrap().to_owned();
    peer.control("like", json!({ "object": object_id })).await;
    peer.control(
        "reply",
        json!({ "inReplyTo": object_id, "content": "<p>Signed anew.</p>" }),
    )
    .await;
    // Gazette's inbox answers once it has verified and processed: the
    // peer's log of its requests below says what Gazette answered.
    let to_gazette: Vec<Value> = peer
        .events()
        .await
        .into_iter()
        .filter(|e| e["event"] == "http-out" && e["url"].as_str().is_some_and(|u| u.starts_with(&server.base)))
        .collect();
    let posts = to_gazette.iter().filter(|e| e["method"] == "POST").count();
    let gets = to_gazette
        .iter()
        .filter(|e| e["method"] == "GET" && e["signature"] != "none")
        .count();
    assert!(posts >= 3, "follow, like and reply were POSTed: {to_gazette:?}");
    assert!(gets >= 1, "Fedify fetched Gazette's documents signed: {to_gazette:?}");
    for e in &to_gazette {
        if e["signature"] != "none" {
            assert_eq!(e["signature"], "rfc9421", "{e}");
        } else if e["method"] == "GET" && e["url"].as_str().is_some_and(|u| u.ends_with("#ed25519-key")) {
            // Fedify reads the key of an integrity proof unsigned, which
            // authorized fetch refuses; it then goes by the HTTP signature.
            assert_eq!(e["status"], 401, "{e}");
            continue;
        }
        assert!(
            e["status"].as_u64().is_some_and(|s| s < 400),
            "refused: {e}\nall requests to Gazette: {to_gazette:#?}"
        );
    }
}

/// A peer that has dropped draft-cavage (`--refuse-cavage`: its inbox
/// answers 401 with an `Accept-Signature` field to anything but RFC 9421,
/// and a signed GET must be RFC 9421 and verify with Fedify's verifier)
/// while Gazette still remembers it as a draft-cavage host: the first
/// delivery (the `Accept` of its follow) is refused once and arrives at
/// once signed RFC 9421; RFC 9421 is remembered in the store, and every
/// later request, from the server and from CLI processes (follow, publish,
/// edit, delete, like, reply, and the signed GETs they make), goes RFC 9421
/// at the first knock. Gazette's default signature setting (double-knock).
#[tokio::test(flavor = "multi_thread")]
async fn fedify_refusing_draft_cavage_gets_rfc9421_after_the_first_refusal() {
    use gazette_store::SignatureScheme;
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer_with(&env.dir.join("peer"), &["--refuse-cavage"]);
    let peer_host = peer.base.trim_start_matches("http://").to_owned();
    let author = server.url("/users/camille_renard");
    let store = gazette_store::Store::connect(env.database_url(), 1).await.unwrap();
    store
        .remember_signature_scheme(&peer_host, SignatureScheme::DraftCavage, chrono::Utc::now())
        .await
        .unwrap();

    // The peer follows an author: Gazette's Accept is refused once, then accepted.
    peer.control("follow", json!({ "target": author })).await;
    peer.wait_for("Accept", |e| e["actor"] == author.as_str()).await;
    let rejected: Vec<Value> = peer
        .events()
        .await
        .into_iter()
        .filter(|e| e["event"] == "rejected")
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert_eq!(rejected[0]["reason"], "cavageRefused");
    assert_eq!(rejected[0]["type"], "Accept");
    assert_eq!(
        store.find_signature_scheme(&peer_host).await.unwrap().unwrap().scheme,
        SignatureScheme::Rfc9421
    );

    // The organisation follows the peer; publish, edit, delete.
    env.ok(&["follow", &peer.actor]);
    peer.wait_for("Follow", |_| true).await;
    let file = env.write(
        "refused.md",
        "---\nslug: refused\nkind: news\ntitle: Knocking twice\nsummary: RFC 9421 only.\nlanguage: en\n\
         author: camille_renard\n---\nBody.\n",
    );
    env.ok(&["publish", path(&file)]);
    peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    let edited = env.write(
        "refused.md",
        std::fs::read_to_string(&file).unwrap().replace("Body.", "Edited body."),
    );
    env.ok(&["publish", "--update", path(&edited)]);
    peer.wait_for("Update", |e| e["object"]["type"] == "Article").await;
    env.ok(&["article", "delete", "refused"]);
    peer.wait_for("Delete", |_| true).await;

    // The peer publishes; the organisation likes it and replies (signed GETs of the article first).
    let published = peer.control("publish-article", json!({})).await;
    let article = published["article"].as_str().unwrap().to_owned();
    env.ok(&["like", &article]);
    peer.wait_for("Like", |e| e["object"]["id"] == article.as_str()).await;
    env.ok(&["reply", &article, "Thank you for knocking."]);
    peer.wait_for("Create", |e| {
        e["object"]["type"] == "Note" && e["object"]["inReplyTo"] == article.as_str()
    })
    .await;

    let events = peer.events().await;
    let rejected = events.iter().filter(|e| e["event"] == "rejected").count();
    assert_eq!(rejected, 1, "no refusal after the first: {events:#?}");
    let signed_in: Vec<&Value> = events.iter().filter(|e| e["event"] == "signed-in").collect();
    let first_refusal = signed_in.iter().position(|e| e["status"] == 401).unwrap();
    assert_eq!(signed_in[first_refusal]["signature"], "draft-cavage");
    let after = &signed_in[first_refusal + 1..];
    let posts: Vec<&&Value> = after.iter().filter(|e| e["method"] == "POST").collect();
    assert!(
        posts.len() >= 7,
        "Accept, Follow, Create, Update, Delete, Like, reply: {after:#?}"
    );
    for e in &posts {
        assert_eq!(e["signature"], "rfc9421", "{e}\n{after:#?}");
    }
    // Signed GETs (draft-cavage ones too: a server's memory of the host is
    // read again after a minute) all pass; the CLI's are RFC 9421 and verify.
    assert!(
        after.iter().all(|e| e["status"].as_u64().is_some_and(|s| s < 400)),
        "{after:#?}"
    );
    assert!(
        after
            .iter()
            .any(|e| e["method"] == "GET" && e["signature"] == "rfc9421"),
        "the like and the reply fetched the article signed with RFC 9421: {after:#?}"
    );
    let known = store.find_signature_scheme(&peer_host).await.unwrap().unwrap();
    assert_eq!(known.scheme, SignatureScheme::Rfc9421);
    store.close().await;
}

/// Key rotation with `gazette keys rotate` while `gazette serve` runs: the
/// Fedify follower receives the author's `Update` with the new key first
/// and the old one after it, signed with the old key (the one it holds),
/// its proof by the old Ed25519 key, both Multikeys listed (the new one,
/// `#ed25519-key-2`, first); a proof made before the rotation still
/// verifies against the old key id, one made after (the Create, its
/// article, an older article served again) against the new one;
/// the old key id still resolves with Fedify's
/// key fetcher during the grace period; an article published afterwards is
/// signed by the server with the new key (`#key-2`) and verified by Fedify;
/// `gazette keys retire` ends the grace period: the old key id no longer
/// resolves, and the old Ed25519 key no longer verifies the old proof. Rotating every actor also rotates the instance
/// actor's key, which signs the next signed GET.
/// On PostgreSQL the server hears of the rotation through the command's
/// announcement of its write; on SQLite through the change counter.
#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_signs_at_once_and_the_old_one_retires() {
    key_rotation(gazette_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_signs_at_once_and_the_old_one_retires_on_postgres() {
    key_rotation(gazette_store::Backend::Postgres).await;
}

async fn key_rotation(backend: gazette_store::Backend) {
    let Some(env) = Env::new(backend).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"));
    let author = server.url("/users/camille_renard");
    let old_key = format!("{author}#main-key");
    let new_key = format!("{author}#key-2");

    let old_method = format!("{author}#ed25519-key");
    let new_method = format!("{author}#ed25519-key-2");
    let multikeys = |actor: &Value| -> Vec<String> {
        actor["assertionMethod"]
            .as_array()
            .unwrap_or_else(|| panic!("no assertionMethod list: {actor}"))
            .iter()
            .map(|m| m["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    peer.control("follow", json!({ "target": author })).await;
    peer.wait_for("Accept", |e| e["actor"] == author.as_str()).await;
    assert_eq!(as2(&author).await["publicKey"]["id"], old_key.as_str());
    assert_eq!(multikeys(&as2(&author).await), [old_method.as_str()]);
    // An article as served before the rotation, kept (as a coordinator
    // keeps a member's article): its proof names the old Ed25519 key.
    let article_url = server.url("/articles/permanences-comprendre-sa-facture-hiver-2026");
    let old_copy = as2(&article_url).await;
    assert_eq!(
        old_copy["proof"]["verificationMethod"],
        old_method.as_str(),
        "{old_copy}"
    );

    let out = env.ok(&["keys", "rotate", "camille_renard"]);
    assert!(out.contains(&format!("new key {new_key}")), "{out}");
    assert!(out.contains(&format!("new Ed25519 key {new_method}")), "{out}");
    assert!(out.contains("queued to 1 inbox"), "{out}");

    // The follower hears of the new key: current first, the old one after it.
    let update = peer
        .wait_for("Update", |e| e["raw"]["object"]["id"] == author.as_str())
        .await;
    let keys = &update["raw"]["object"]["publicKey"];
    assert_eq!(keys[0]["id"], new_key.as_str(), "{update}");
    assert_eq!(keys[1]["id"], old_key.as_str(), "{update}");
    let served = as2(&author).await;
    assert_eq!(served["publicKey"][0]["id"], new_key.as_str(), "{served}");
    assert_eq!(served["publicKey"][1]["id"], old_key.as_str(), "{served}");
    // Both Multikeys too, the new one first, in the Update and served.
    let both = [new_method.as_str(), old_method.as_str()];
    assert_eq!(multikeys(&update["raw"]["object"]), both, "{update}");
    assert_eq!(multikeys(&served), both, "{served}");
    // The Update's proof is by the old Ed25519 key, the one the follower
    // holds, and Fedify verifies it.
    assert_eq!(
        update["raw"]["proof"]["verificationMethod"],
        old_method.as_str(),
        "{update}"
    );
    let proven = proof_events(&peer, "Update").await;
    let update_proof = proven
        .iter()
        .find(|e| e["id"] == update["raw"]["id"])
        .unwrap_or_else(|| panic!("no proof event for the Update: {proven:#?}"));
    assert_eq!(update_proof["activityVerified"], true, "{update_proof}");
    // A proof made before the rotation still verifies against the old key id.
    let old_proof = peer.control("verify-object", json!({ "json": old_copy })).await;
    assert_eq!(old_proof["verified"], true, "{old_proof}");

    // During the grace period both key ids resolve for Fedify.
    for key in [&old_key, &new_key] {
        let found = peer.control("fetch-key", json!({ "keyId": key })).await;
        assert_eq!(found["found"], true, "{found}");
        assert_eq!(found["owner"], author.as_str(), "{found}");
    }
    let listed = env.ok(&["keys", "list", "camille_renard"]);
    assert!(listed.contains(&format!("current  {new_key}")), "{listed}");
    assert!(
        listed.contains(&format!("old      {old_key}  served until")),
        "{listed}"
    );

    // Published after the rotation: signed by the server with the new key, verified by Fedify.
    let file = env.write(
        "rotated.md",
        "---\nslug: rotated\nkind: news\ntitle: A new key\nsummary: Rotated.\nlanguage: en\n\
         author: camille_renard\n---\nBody.\n",
    );
    env.ok(&["publish", path(&file)]);
    let create = peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    assert_eq!(create["actor"], author.as_str());
    // Its proofs, the Create's and the article's, by the new Ed25519 key:
    // Fedify verifies both against the new key id.
    let creates = proof_events(&peer, "Create").await;
    let create_proof = creates
        .iter()
        .find(|e| e["id"] == create["id"])
        .unwrap_or_else(|| panic!("no proof event for the Create: {creates:#?}"));
    assert_eq!(
        create_proof["verificationMethod"],
        new_method.as_str(),
        "{create_proof}"
    );
    assert_eq!(create_proof["activityVerified"], true, "{create_proof}");
    assert_eq!(create_proof["objectVerified"], true, "{create_proof}");
    assert_eq!(
        create["raw"]["object"]["proof"]["verificationMethod"],
        new_method.as_str(),
        "{create}"
    );
    // An article made before the rotation, served now: proven by the new key.
    let served = peer.control("verify-object", json!({ "url": article_url })).await;
    assert_eq!(served["verified"], true, "{served}");
    assert_eq!(served["proof"]["verificationMethod"], new_method.as_str(), "{served}");
    let posts: Vec<Value> = peer
        .events()
        .await
        .into_iter()
        .filter(|e| e["event"] == "signed-in" && e["method"] == "POST")
        .collect();
    let last = posts.last().unwrap();
    assert_eq!(
        last["keyId"],
        new_key.as_str(),
        "the Create is signed with the new key: {posts:#?}"
    );
    // The Accept before the rotation; the Update and the Create after it.
    assert_eq!(posts.len(), 3, "{posts:#?}");
    assert_eq!(posts[0]["keyId"], old_key.as_str(), "{posts:#?}");
    assert_eq!(
        posts[1]["keyId"],
        old_key.as_str(),
        "the Update is signed with the key the follower holds (GoToSocial checks no other): {posts:#?}"
    );
    assert!(last["status"].as_u64().is_some_and(|s| s < 400), "{posts:#?}");
    assert!(
        posts.iter().all(|e| e["status"].as_u64().is_some_and(|s| s < 400)),
        "Fedify refused nothing: {posts:#?}"
    );

    // Retired: no longer served, no longer resolvable.
    env.ok(&["keys", "retire", "camille_renard"]);
    eventually("the old key to be no longer served", DEADLINE, || async {
        (as2(&author).await["publicKey"]["id"] == new_key.as_str()).then_some(())
    })
    .await;
    let found = peer.control("fetch-key", json!({ "keyId": old_key })).await;
    assert_eq!(found["found"], false, "{found}");
    let found = peer.control("fetch-key", json!({ "keyId": new_key })).await;
    assert_eq!(found["found"], true, "{found}");
    let listed = env.ok(&["keys", "list", "camille_renard"]);
    assert!(!listed.contains("old "), "{listed}");
    // The old Ed25519 key retired with it: listed no more, and a proof by
    // it no longer verifies for Fedify reading the actor now.
    assert_eq!(multikeys(&as2(&author).await), [new_method.as_str()]);
    let retired = peer
        .control("verify-object-uncached", json!({ "json": old_copy }))
        .await;
    assert_eq!(retired["verified"], false, "{retired}");
    let current = peer
        .control("verify-object-uncached", json!({ "json": as2(&article_url).await }))
        .await;
    assert_eq!(current["verified"], true, "{current}");

    // Every local actor at once, the instance actor too: its signed GETs
    // (the like below fetches the peer's article) name its new key.
    let out = env.ok(&["keys", "rotate"]);
    let instance = server.url("/actor");
    assert!(out.contains(&format!("new key {instance}#key-2")), "{out}");
    assert!(out.contains(&format!("new key {author}#key-3")), "{out}");
    let published = peer.control("publish-article", json!({})).await;
    let article = published["article"].as_str().unwrap().to_owned();
    env.ok(&["like", &article]);
    peer.wait_for("Like", |e| e["object"]["id"] == article.as_str()).await;
    let gets: Vec<Value> = peer
        .events()
        .await
        .into_iter()
        .filter(|e| e["event"] == "signed-in" && e["method"] == "GET")
        .collect();
    assert_eq!(
        gets.last().unwrap()["keyId"],
        format!("{instance}#key-2").as_str(),
        "{gets:#?}"
    );
}

/// The proof events the peer logged: what Fedify's `verifyObject` made of
/// each inbox POST carrying a FEP-8b32 proof.
async fn proof_events(peer: &Peer, kind: &str) -> Vec<Value> {
    peer.events()
        .await
        .into_iter()
        .filter(|e| e["event"] == "proof" && e["type"] == kind)
        .collect()
}

/// Integrity proofs both ways (FEP-8b32, `eddsa-jcs-2022`, FEP-521a keys):
/// Fedify's own `verifyObject` verifies the proofs on Gazette's `Accept`,
/// on its `Create` and on the `Article` it embeds, and on the article
/// served at its URL; a changed copy does not verify. Gazette verifies
/// the proof Fedify puts on its activities (a `Like` sent by Fedify's
/// queue, a reply signed with the peer's Ed25519 key) and refuses, with a
/// 401 that names the proof, the same reply changed after signing though
/// its HTTP signature is valid.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_and_gazette_verify_each_others_proofs() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env
        .federated()
        .with_env("GAZETTE_FEDERATION__SIGNATURE", "draft-cavage");
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"));
    let author = server.url("/users/camille_renard");

    // The author's Ed25519 key, as a Multikey under assertionMethod.
    let actor = as2(&author).await;
    let method = &actor["assertionMethod"][0];
    assert_eq!(method["type"], "Multikey", "{actor}");
    assert_eq!(method["id"], format!("{author}#ed25519-key"));
    assert_eq!(method["controller"], author);
    assert!(method["publicKeyMultibase"].as_str().unwrap().starts_with("z6Mk"));

    peer.control("follow", json!({ "target": author })).await;
    peer.wait_for("Accept", |e| e["actor"] == author.as_str()).await;
    let accepts = proof_events(&peer, "Accept").await;
    assert!(
        accepts.iter().any(|e| e["activityVerified"] == true),
        "Fedify verified the Accept's proof: {accepts:#?}"
    );

    let file = env.write(
        "proofs.md",
        "---\nslug: proofs\nkind: news\ntitle: Signed twice\nsummary: By the author's Ed25519 key.\nlanguage: en\n\
         author: camille_renard\n---\nBody.\n",
    );
    env.ok(&["publish", path(&file)]);
    let create = peer.wait_for("Create", |e| e["object"]["type"] == "Article").await;
    let object_id = create["object"]["id"].as_str().unwrap().to_owned();
    let creates = proof_events(&peer, "Create").await;
    let create_proof = creates
        .iter()
        .find(|e| e["id"] == create["id"])
        .unwrap_or_else(|| panic!("no proof event for the Create: {creates:#?}"));
    assert_eq!(create_proof["activityVerified"], true, "{create_proof}");
    assert_eq!(create_proof["objectProof"], true, "{create_proof}");
    assert_eq!(create_proof["objectVerified"], true, "{create_proof}");
    assert_eq!(create_proof["verificationMethod"], format!("{author}#ed25519-key"));

    // The article at its URL, verified by Fedify; changed, it is not.
    let served = peer.control("verify-object", json!({ "url": object_id })).await;
    assert_eq!(served["verified"], true, "{served}");
    assert_eq!(served["proof"]["cryptosuite"], "eddsa-jcs-2022");
    let mut changed = as2(&object_id).await;
    changed["nameMap"]["en"] = json!("Signed once");
    let tampered = peer.control("verify-object", json!({ "json": changed })).await;
    assert_eq!(tampered["verified"], false, "{tampered}");

    // Fedify's Like carries Fedify's proof: accepted and counted.
    peer.control("like", json!({ "object": object_id })).await;
    eventually("the like to be counted", DEADLINE, || async {
        (as2(&format!("{object_id}/likes")).await["totalItems"] == 1).then_some(())
    })
    .await;
    // A reply with the peer's Ed25519 proof is verified and stored; the
    // same reply changed after signing is refused for its proof.
    let inbox = server.url("/inbox");
    let sent = peer
        .control("send-signed", json!({ "inbox": inbox, "inReplyTo": object_id }))
        .await;
    assert_eq!(sent["status"], 202, "{sent}");
    assert_eq!(sent["proof"]["cryptosuite"], "eddsa-jcs-2022", "{sent}");
    eventually("the signed reply to be counted", DEADLINE, || async {
        (as2(&format!("{object_id}/replies")).await["totalItems"] == 1).then_some(())
    })
    .await;
    let refused = peer
        .control(
            "send-signed",
            json!({ "inbox": inbox, "inReplyTo": object_id, "tamper": true }),
        )
        .await;
    assert_eq!(refused["status"], 401, "{refused}");
    assert!(
        refused["body"].as_str().unwrap().contains("proof"),
        "the refusal names the proof: {refused}"
    );
    assert_eq!(as2(&format!("{object_id}/replies")).await["totalItems"], 1);
}
