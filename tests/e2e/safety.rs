//! Safety end to end, against a real `gazette serve` and fake remote servers
//! in this process that sign their requests themselves (as in
//! tests/e2e/inbox.rs): domain blocks (inbox refused before any fetch, content
//! purged, no deliveries, no fetches), actor blocks, allowlist mode (only
//! listed domains accepted and delivered to), and authorized fetch (unsigned
//! AS2 GETs refused, GETs signed by a remote actor or by another Gazette
//! answered, HTML always public).

#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use common::fediverse::{self, AS2};
use common::remote::{MASTODON, Remote, keys};
use common::{Env, Server, eventually, path, unique};
use gazette_store::Store;
use rsa::RsaPrivateKey;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(30);

fn http() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            common::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
        })
        .clone()
}

// ---------------------------------------------------------------- the instance

/// A demo `gazette serve` on `http://localhost:PORT`.
struct Instance {
    server: Server,
    env: Env,
    /// `/users/camille_renard`.
    author: String,
}

impl Instance {
    async fn start(env: Env, settings: &[(&str, &str)]) -> Instance {
        let mut env = env.federated().with_env("GAZETTE_METRICS__ACCESS", "loopback");
        for (k, v) in settings {
            env = env.with_env(k, v);
        }
        let server = env.serve_federated(&["--demo"]);
        let author = server.url("/users/camille_renard");
        Instance { server, env, author }
    }

    /// Waits until the server's inbox acts on `n` entries of `list`: its
    /// change watch has seen what a CLI command (another process) wrote.
    async fn inbox_sees(&self, list: &str, n: i64) {
        let url = self.server.url("/metrics");
        let line = format!("gazette_inbox_block_list_entries{{list=\"{list}\"}} {n}\n");
        eventually(&format!("the inbox to act on {n} {list}"), DEADLINE, || async {
            let body = http().get(&url).send().await.ok()?.text().await.ok()?;
            body.contains(&line).then_some(())
        })
        .await;
    }

    fn inbox(&self) -> String {
        self.server.url("/inbox")
    }

    async fn store(&self) -> Store {
        Store::connect(self.env.database_url(), 1).await.unwrap()
    }

    async fn followers(&self) -> i64 {
        self.store().await.count_followers(&self.author).await.unwrap()
    }

    /// The id of camille's newest article, read from the database (the
    /// outbox may need a signature).
    async fn article(&self) -> String {
        let store = self.store().await;
        let list = store
            .list_articles(&gazette_store::ArticleQuery::published(1, 0))
            .await
            .unwrap();
        self.server.url(&format!("/objects/{}", list.articles[0].id))
    }

    /// Publishes a new article by camille; returns its object id.
    async fn publish(&self, title: &str) -> String {
        let slug = format!("s{}", unique());
        let file = self.env.write(
            &format!("{slug}.md"),
            format!(
                "---\nslug: {slug}\nkind: news\ntitle: {title}\nsummary: A standfirst.\nlanguage: en\n\
                 author: camille_renard\n---\nBody.\n"
            ),
        );
        self.env.ok(&["publish", path(&file)]);
        let store = self.store().await;
        let a = store.find_article_by_slug(&slug).await.unwrap().unwrap();
        self.server.url(&format!("/objects/{}", a.id))
    }

    /// Hosts the activity `activity_id` was queued for.
    async fn queued_hosts(&self, activity_id: &str) -> Vec<String> {
        let store = self.store().await;
        let mut hosts: Vec<String> = store
            .list_deliveries(activity_id)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.host)
            .collect();
        hosts.sort();
        hosts
    }

    /// `remote`'s `name` follows camille; the answer's status.
    async fn follow(&self, remote: &Remote, name: &str) -> u16 {
        let follow = remote.activity(name, "Follow", json!(self.author));
        remote.deliver(&format!("{}/inbox", self.author), &follow).await.0
    }
}

// ---------------------------------------------------------------- blocks

both_backends!(domain_and_actor_blocks);

async fn domain_and_actor_blocks(env: Env) {
    let gz = Instance::start(env, &[]).await;
    let (bad, good) = (Remote::start(MASTODON).await, Remote::start(MASTODON).await);
    let article = gz.article().await;

    // Before any block: followers, a like and a reply from the soon-blocked domain.
    assert_eq!(gz.follow(&bad, "alice").await, 202);
    assert_eq!(gz.follow(&good, "bob").await, 202);
    assert_eq!(gz.follow(&good, "carol").await, 202);
    let like = bad.activity("alice", "Like", json!(article));
    assert_eq!(bad.deliver(&gz.inbox(), &like).await.0, 202);
    let note = json!({
        "id": format!("{}/notes/{}", bad.user("alice"), unique()), "type": "Note",
        "attributedTo": bad.user("alice"), "inReplyTo": article, "content": "<p>Spam</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    assert_eq!(
        bad.deliver(&gz.inbox(), &bad.activity("alice", "Create", note)).await.0,
        202
    );
    let store = gz.store().await;
    let article_id = article.rsplit('/').next().unwrap();
    let counts = store.interaction_counts(article_id).await.unwrap();
    assert_eq!((gz.followers().await, counts.likes, counts.replies), (3, 1, 1));

    // Blocking the domain purges its follower, like and reply.
    let out = gz.env.ok(&["block", "domain", bad.host(), "--reason", "spam"]);
    assert!(out.contains("purged 1 remote actor"), "{out}");
    gz.inbox_sees("domain_blocks", 1).await;
    let counts = store.interaction_counts(article_id).await.unwrap();
    assert_eq!((gz.followers().await, counts.likes, counts.replies), (2, 0, 0));

    // Its activities are refused before anything is fetched from it.
    let fetched = bad.gets();
    let (status, body) = bad
        .deliver(
            &format!("{}/inbox", gz.author),
            &bad.activity("dave", "Follow", json!(gz.author)),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        bad.deliver(&gz.inbox(), &bad.activity("alice", "Like", json!(article)))
            .await
            .0,
        403
    );
    assert_eq!(bad.gets(), fetched, "a blocked server was asked for something");
    assert_eq!(gz.followers().await, 2);

    // New articles go to the other server only.
    let object = gz.publish("After the block").await;
    let create = good.wait_for("Create", &object).await;
    let create_id = create["id"].as_str().unwrap();
    assert_eq!(gz.queued_hosts(create_id).await, [good.host()]);
    assert!(!bad.posts().iter().any(|a| a["type"] == "Create"));

    // Nothing is fetched from it either.
    let err = gz.env.fails(&["follow", &bad.user("alice")]);
    assert!(err.contains("blocked"), "{err}");
    assert_eq!(bad.gets(), fetched);

    // An actor block: bob is forgotten and refused; carol, on the same server, is not.
    let out = gz.env.ok(&["block", "actor", &format!("@bob@{}", good.host())]);
    assert!(out.contains(&good.user("bob")), "{out}");
    gz.inbox_sees("actor_blocks", 1).await;
    assert_eq!(gz.followers().await, 1);
    assert_eq!(
        good.deliver(&gz.inbox(), &good.activity("bob", "Like", json!(article)))
            .await
            .0,
        403
    );
    assert_eq!(
        good.deliver(&gz.inbox(), &good.activity("carol", "Like", json!(article)))
            .await
            .0,
        202
    );
    let err = gz.env.fails(&["follow", &good.user("bob")]);
    assert!(err.contains("blocked"), "{err}");
    // An activity whose id is on the blocked domain is refused, even from
    // an allowed sender: the inbox checked the sender's host, not that one.
    let mut relayed = good.activity("carol", "Like", json!(article));
    relayed["id"] = json!(format!("{}/activities/{}", bad.base, unique()));
    let (status, body) = good.deliver(&gz.inbox(), &relayed).await;
    assert!((400..500).contains(&status), "{status} {body}");

    let list = gz.env.ok(&["blocks"]);
    assert!(
        list.contains(bad.host()) && list.contains("spam") && list.contains(&good.user("bob")),
        "{list}"
    );

    // Lifting the blocks lets them back in.
    gz.env.ok(&["unblock", "actor", &good.user("bob")]);
    gz.inbox_sees("actor_blocks", 0).await;
    assert_eq!(
        good.deliver(&gz.inbox(), &good.activity("bob", "Like", json!(article)))
            .await
            .0,
        202
    );
    gz.env.ok(&["unblock", "domain", bad.host()]);
    gz.inbox_sees("domain_blocks", 0).await;
    assert_eq!(gz.follow(&bad, "alice").await, 202);
    assert_eq!(gz.followers().await, 2);
    gz.env.fails(&["unblock", "domain", bad.host()]);
}

// ---------------------------------------------------------------- allowlist

#[tokio::test(flavor = "multi_thread")]
async fn allowlist_mode_federates_only_with_listed_domains() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env, &[("GAZETTE_FEDERATION__MODE", "allowlist")]).await;
    let (friend, stranger) = (Remote::start(MASTODON).await, Remote::start(MASTODON).await);

    // Nobody is on the list yet: everyone is refused, and nothing is fetched.
    assert_eq!(gz.follow(&friend, "alice").await, 403);
    assert_eq!((friend.gets(), gz.followers().await), (0, 0));

    // Listed domains are accepted and answered.
    let out = gz.env.ok(&["allow", "domain", friend.host()]);
    assert!(
        out.contains("on the allowlist") && !out.contains("not in force"),
        "{out}"
    );
    gz.env.ok(&["allow", "domain", stranger.host()]);
    gz.inbox_sees("domain_allows", 2).await;
    assert_eq!(gz.follow(&friend, "alice").await, 202);
    assert_eq!(gz.follow(&stranger, "bob").await, 202);
    friend.wait_for_type("Accept").await;
    stranger.wait_for_type("Accept").await;
    assert_eq!(gz.followers().await, 2);

    // Taken off the list: its follower stays stored, but gets nothing and is heard no more.
    gz.env.ok(&["disallow", "domain", stranger.host()]);
    gz.inbox_sees("domain_allows", 1).await;
    assert_eq!(gz.follow(&stranger, "carol").await, 403);
    let object = gz.publish("For friends only").await;
    let create = friend.wait_for("Create", &object).await;
    assert_eq!(gz.queued_hosts(create["id"].as_str().unwrap()).await, [friend.host()]);
    assert!(!stranger.posts().iter().any(|a| a["type"] == "Create"));
    assert_eq!(gz.followers().await, 2);
    let err = gz.env.fails(&["follow", &stranger.user("bob")]);
    assert!(err.contains("allowlist"), "{err}");
    assert!(gz.env.ok(&["blocks"]).contains(friend.host()));
}

// ---------------------------------------------------------------- authorized fetch

/// GETs `url` signed by `key_id` with `key`, covering `(request-target) host date accept`.
async fn signed_get(url: &str, key: &RsaPrivateKey, key_id: &str) -> (u16, String) {
    let u = reqwest::Url::parse(url).unwrap();
    let date = httpdate::fmt_http_date(SystemTime::now());
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    let lines = [
        format!("(request-target): get {target}"),
        format!("host: {}", fediverse::host_port(&u)),
        format!("date: {date}"),
        format!("accept: {AS2}"),
    ];
    let signature = format!(
        r#"keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date accept",signature="{}""#,
        fediverse::sign(key, &lines)
    );
    let resp = http()
        .get(url)
        .header("accept", AS2)
        .header("date", date)
        .header("signature", signature)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

async fn get(url: &str, accept: &str) -> u16 {
    http()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn authorized_fetch_requires_signed_gets() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env, &[("GAZETTE_FEDERATION__AUTHORIZED_FETCH", "true")]).await;
    let remote = Remote::start(MASTODON).await;
    let article = gz.article().await;
    let slug = {
        let store = gz.store().await;
        let id = article.rsplit('/').next().unwrap();
        store.find_article(id).await.unwrap().unwrap().slug
    };
    let page = gz.server.url(&format!("/articles/{slug}"));
    let as2_documents = [
        gz.author.clone(),
        format!("{}/outbox", gz.author),
        format!("{}/outbox?page=1", gz.author),
        format!("{}/followers", gz.author),
        format!("{}/following", gz.author),
        article.clone(),
        format!("{article}/replies"),
        format!("{article}/likes"),
        page.clone(),
    ];

    // Unsigned: 401 for every AS2 document.
    for url in &as2_documents {
        assert_eq!(get(url, AS2).await, 401, "unsigned GET {url}");
    }
    // HTML, the instance actor and discovery stay public.
    assert_eq!(get(&page, "text/html").await, 200);
    assert_eq!(get(&gz.author, "text/html").await, 303);
    assert_eq!(get(&article, "text/html").await, 303);
    assert_eq!(get(&gz.server.url("/actor"), AS2).await, 200);
    let host = gz.server.base.trim_start_matches("http://");
    let webfinger = format!("/.well-known/webfinger?resource=acct:camille_renard@{host}");
    assert_eq!(get(&gz.server.url(&webfinger), "application/jrd+json").await, 200);
    assert_eq!(get(&gz.server.url("/nodeinfo/2.1"), "application/json").await, 200);

    // Signed by a remote actor: answered.
    let alice = remote.user("alice");
    let key_id = format!("{alice}#main-key");
    for url in &as2_documents {
        let (status, body) = signed_get(url, &keys().0, &key_id).await;
        assert_eq!(status, 200, "signed GET {url}: {body}");
    }
    let (_, actor) = signed_get(&gz.author, &keys().0, &key_id).await;
    let actor: Value = serde_json::from_str(&actor).unwrap();
    assert_eq!(actor["id"], gz.author);

    // Signed with a key that is not the actor's, or stale: 401.
    let (status, _) = signed_get(&gz.author, &keys().1, &key_id).await;
    assert_eq!(status, 401, "wrong key");
    let (status, _) = signed_get(&gz.author, &keys().0, &format!("{}#main-key", remote.actor("nobody/x"))).await;
    assert_eq!(status, 401, "a signer whose actor cannot be fetched");

    // A blocked signer: 403, without fetching anything from it.
    gz.env.ok(&["block", "domain", remote.host()]);
    let fetched = remote.gets();
    let (status, _) = signed_get(&gz.author, &keys().0, &key_id).await;
    assert_eq!(status, 403, "blocked signer");
    assert_eq!(remote.gets(), fetched);
}

/// Gazette's own signed fetches pass another Gazette's authorized fetch: B
/// follows an author of A (which requires signed GETs) by handle.
#[tokio::test(flavor = "multi_thread")]
async fn gazette_fetches_from_gazette_in_authorized_fetch_mode() {
    let Some(a) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let Some(b) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let a = Instance::start(a, &[("GAZETTE_FEDERATION__AUTHORIZED_FETCH", "true")]).await;
    let b = Instance::start(b, &[]).await;
    let host_a = a.server.base.trim_start_matches("http://").to_owned();
    let out = b.env.ok(&["follow", &format!("@camille_renard@{host_a}")]);
    assert!(out.contains("pending"), "{out}");
    eventually("A to count B's organisation as a follower", DEADLINE, || async {
        (a.followers().await == 1).then_some(())
    })
    .await;
    eventually("B's follow to be accepted", DEADLINE, || async {
        b.env.ok(&["following"]).contains("accepted").then_some(())
    })
    .await;
}
