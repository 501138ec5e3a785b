//! Three Gazette instances on loopback: a network coordinator and two
//! member organisations. One asks to join and is approved, the other is
//! invited; their earlier articles are backfilled; a new article, its edit
//! and its deletion reach the shared feed; suspension hides a member; the
//! network actor's boost is in its outbox; filters, search and their Atom
//! and JSON forms; bad filters and forged articles are refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{Env, eventually, path};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(60);

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

async fn as2(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The shared feed's JSON for a query string.
async fn feed(base: &str, query: &str) -> Value {
    let resp = get(&format!("{base}/network/feed.json?{query}")).await;
    assert_eq!(resp.status(), 200, "feed {query}");
    resp.json().await.unwrap()
}

fn titles(feed: &Value) -> Vec<String> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn count(base: &str, query: &str) -> usize {
    feed(base, query).await["items"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn coordinator_and_two_members() {
    let (Some(c), Some(m1), Some(m2)) = (
        Env::new(gazette_store::Backend::Sqlite).await,
        Env::new(gazette_store::Backend::Sqlite).await,
        Env::new(gazette_store::Backend::Sqlite).await,
    ) else {
        return;
    };
    let c = c
        .federated()
        .with_env("GAZETTE_NETWORK__ENABLED", "true")
        .with_env("GAZETTE_NETWORK__NAME", "European SSE Network");
    let (m1, m2) = (m1.federated(), m2.federated());
    let sc = c.serve_federated(&[]);
    let s1 = m1.serve_federated(&["--demo"]);
    let s2 = m2.serve_federated(&["--demo"]);
    let host = |base: &str| base.trim_start_matches("http://").to_owned();
    let (hc, h1, h2) = (host(&sc.base), host(&s1.base), host(&s2.base));

    // The network actor: a Group found by WebFinger; members publish the sse: extension.
    let wf: Value = get(&sc.url(&format!("/.well-known/webfinger?resource=acct:network@{hc}")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wf["links"][0]["href"], sc.url("/users/network"));
    let group = as2(&sc.url("/users/network")).await;
    assert_eq!(group["type"], "Group");
    assert_eq!(group["name"], "European SSE Network");
    assert_eq!(group["url"], sc.url("/network/feed"));
    let org1 = as2(&s1.url("/users/demo")).await;
    assert_eq!(org1["sse:country"], "BE");
    assert_eq!(org1["sse:legalForm"], "cooperative");
    assert_eq!(org1["sse:sectors"], json!(["energy", "housing"]));
    assert!(org1["@context"].to_string().contains("gazette-sse.github.io/ns#"));
    // An ordinary instance has no shared feed, and refuses coordinator commands.
    assert_eq!(get(&s1.url("/network/feed")).await.status(), 404);
    assert!(m1.fails(&["network", "members"]).contains("not a network coordinator"));

    // Member 2 is a French mutual in health (its profile, before it is invited).
    let token = common::last_line(&m2.ok(&["token", "create", "profile"])).to_owned();
    let resp = reqwest::Client::new()
        .put(s2.url("/api/organisation"))
        .bearer_auth(&token)
        .json(
            &json!({"name": "Mutuelle Entraide", "country": "FR", "legal_form": "mutual",
                      "sectors": ["health"], "languages": ["fr"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // Member 1 asks to join; nothing is aggregated before approval.
    let out = m1.ok(&["network", "join", &format!("@network@{hc}")]);
    assert!(out.contains("asked to join"), "{out}");
    eventually("the join request on the coordinator", DEADLINE, || async {
        c.ok(&["network", "members", "--status", "requested"])
            .contains(&format!("@demo@{h1}"))
            .then_some(())
    })
    .await;
    assert_eq!(count(&sc.base, "").await, 0);
    let err = c.fails(&["network", "approve", "@nobody@example.org"]);
    assert!(err.contains("not a member"), "{err}");
    c.ok(&["network", "approve", &format!("@demo@{h1}")]);

    // Approval: the network follows member 1 and backfills its three articles.
    eventually("member 1's articles backfilled", DEADLINE, || async {
        (count(&sc.base, "").await == 3).then_some(())
    })
    .await;
    // Member 2 is invited, and backfilled too.
    let out = c.ok(&["network", "invite", &format!("@demo@{h2}")]);
    assert!(out.contains("invited"), "{out}");
    eventually("member 2's articles backfilled", DEADLINE, || async {
        (count(&sc.base, "").await == 6).then_some(())
    })
    .await;
    let members = c.ok(&["network", "members"]);
    assert!(
        members.contains("Mutuelle Entraide") && members.contains("FR"),
        "{members}"
    );
    eventually("both backfills done and both follows accepted", DEADLINE, || async {
        let members = c.ok(&["network", "members"]);
        (members.matches("done").count() == 2 && members.matches(" accepted ").count() == 2).then_some(())
    })
    .await;

    // Filters, from the members' metadata and the articles' own.
    assert_eq!(count(&sc.base, "country=FR").await, 3);
    assert_eq!(count(&sc.base, "country=be").await, 3);
    assert_eq!(count(&sc.base, "legal_form=mutual").await, 3);
    assert_eq!(count(&sc.base, "sector=health").await, 3);
    assert_eq!(count(&sc.base, "sector=energy").await, 3);
    assert_eq!(count(&sc.base, &format!("organisation=demo%40{h2}")).await, 3);
    assert_eq!(count(&sc.base, "kind=interview").await, 2);
    assert_eq!(count(&sc.base, "kind=interview&country=FR").await, 1);
    assert_eq!(count(&sc.base, "language=en").await, 4);
    assert_eq!(count(&sc.base, "tag=Energie").await, 4);
    assert_eq!(count(&sc.base, "tag=Energie&kind=interview").await, 2);

    // A new article on member 1: in the feed within seconds, boosted by the network actor.
    let file = m1.write(
        "bakeries.md",
        "---\nslug: cooperative-bakeries\nkind: interview\ntitle: Cooperative bakeries of Ghent\n\
         summary: Three bakers share one oven.\nlanguage: en\ntags: [Bakeries]\nauthor: camille_renard\n\
         interviewee:\n  name: Jan Peeters\n  role: Baker\n  organisation: De Oven\n---\n\
         The sourdough starters are owned in common by the members.\n",
    );
    m1.ok(&["publish", path(&file)]);
    let item = eventually("the new article in the feed", DEADLINE, || async {
        let f = feed(&sc.base, "q=sourdough").await;
        (titles(&f) == ["Cooperative bakeries of Ghent"]).then(|| f["items"][0].clone())
    })
    .await;
    assert_eq!(item["kind"], "interview");
    assert_eq!(item["tags"], json!(["bakeries"]));
    assert!(
        item["snippet_html"]
            .as_str()
            .unwrap()
            .contains("<mark>sourdough</mark>"),
        "{item}"
    );
    assert_eq!(item["organisation"]["handle"], format!("@demo@{h1}"));
    let object_id = item["id"].as_str().unwrap().to_owned();
    assert!(object_id.starts_with(&s1.url("/objects/")), "{object_id}");
    let outbox = as2(&sc.url("/users/network/outbox?page=1")).await;
    assert_eq!(outbox["orderedItems"][0]["type"], "Announce");
    assert_eq!(outbox["orderedItems"][0]["object"], object_id.as_str());
    assert_eq!(count(&sc.base, "tag=bakeries&kind=interview&language=en").await, 1);

    // Its edit changes it in the feed.
    let edited = m1.write(
        "bakeries.md",
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("bakeries of Ghent", "bakeries of Ghent and Bruges"),
    );
    m1.ok(&["publish", "--update", path(&edited)]);
    eventually("the edit in the feed", DEADLINE, || async {
        (titles(&feed(&sc.base, "q=sourdough").await) == ["Cooperative bakeries of Ghent and Bruges"]).then_some(())
    })
    .await;

    // The HTML page, its Atom, and the highlighted search.
    let html = get(&sc.url("/network/feed?q=Bruges")).await.text().await.unwrap();
    assert!(html.contains("<mark>Bruges</mark>"), "{html}");
    assert!(html.contains("href=\"/network/feed.atom?q=Bruges\""), "{html}");
    let atom = get(&sc.url("/network/feed.atom?country=FR"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(atom.matches("<entry").count(), 3, "{atom}");
    assert!(atom.contains("Mutuelle Entraide"), "{atom}");

    // Bad filters are refused with the parameter named.
    let resp = get(&sc.url("/network/feed?kind=opinion")).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("kind"));
    let resp = get(&sc.url("/network/feed.json?cursor=yesterday")).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "cursor", "{body}");

    // Cursor pagination through the JSON: 7 items in pages of 20 is one page.
    assert!(feed(&sc.base, "").await["next"].is_null());

    // Forged articles: a stranger's signed Create claiming member 1's host,
    // and one of its own, change nothing.
    let forger = Forger::start().await;
    let forged_id = s1.url("/objects/forged-article");
    let (status, body) = forger.create(&sc.url("/inbox"), &forged_id, "Forged article").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("origin"), "{body}");
    let own = format!("{}/objects/1", forger.base);
    let (status, body) = forger.create(&sc.url("/inbox"), &own, "Stranger's article").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(count(&sc.base, "").await, 7);
    assert!(count(&sc.base, "q=Forged").await == 0 && count(&sc.base, "q=Stranger").await == 0);
    // Signed with another key than member 1's: refused, and counted in its health.
    let (status, body) = forger
        .create_as(
            &sc.url("/inbox"),
            &s1.url("/users/demo"),
            &s1.url("/objects/x"),
            "Impostor",
        )
        .await;
    assert_eq!(status, 401, "{body}");
    let members: Value = serde_json::from_str(&c.ok(&["network", "members", "--json"])).unwrap();
    let m1_health = members
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["member"]["handle"] == format!("demo@{h1}"))
        .unwrap();
    assert_eq!(m1_health["member"]["signature_failures"], 1, "{m1_health}");
    assert_eq!(m1_health["followed"], "accepted");
    assert_eq!(count(&sc.base, "q=Impostor").await, 0);

    // Moderation: an item removed from the feed is kept, and comes back.
    let out = c.ok(&["network", "hide", &object_id]);
    assert!(out.contains("removed"), "{out}");
    assert_eq!(count(&sc.base, "q=sourdough").await, 0);
    c.ok(&["network", "restore", &object_id]);
    assert_eq!(count(&sc.base, "q=sourdough").await, 1);

    // Deleted at its origin: it leaves the feed.
    m1.ok(&["article", "delete", "cooperative-bakeries"]);
    eventually("the deletion in the feed", DEADLINE, || async {
        (count(&sc.base, "q=sourdough").await == 0).then_some(())
    })
    .await;
    assert_eq!(count(&sc.base, "").await, 6);

    // Suspension hides member 2's articles without losing them.
    c.ok(&["network", "suspend", &format!("@demo@{h2}")]);
    assert_eq!(count(&sc.base, "").await, 3);
    assert_eq!(count(&sc.base, "country=FR").await, 0);
    c.ok(&["network", "approve", &format!("@demo@{h2}")]);
    assert_eq!(count(&sc.base, "country=FR").await, 3);
}

/// A server outside the network that signs what it sends (draft-cavage,
/// rsa-sha256), serving its actor document for the key.
struct Forger {
    base: String,
    key: RsaPrivateKey,
}

impl Forger {
    async fn start() -> Forger {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = RsaPublicKey::from(&key).to_public_key_pem(LineEnding::LF).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let actor = format!("{base}/users/forger");
        let doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor, "type": "Person", "preferredUsername": "forger", "inbox": format!("{actor}/inbox"),
            "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": pem},
        });
        let app = axum::Router::new().route(
            "/users/forger",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { ([("content-type", "application/activity+json")], doc.to_string()) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Forger { base, key }
    }

    /// POSTs a `Create` of an `Article` with `object_id` to `inbox`, signed by the forger.
    async fn create(&self, inbox: &str, object_id: &str, title: &str) -> (u16, String) {
        self.create_as(inbox, &format!("{}/users/forger", self.base), object_id, title)
            .await
    }

    /// The same as `actor`, still signed with the forger's own key.
    async fn create_as(&self, inbox: &str, actor: &str, object_id: &str, title: &str) -> (u16, String) {
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/activities/{}", BASE64.encode(object_id)),
            "type": "Create", "actor": actor,
            "object": {"id": object_id, "type": "Article", "name": title, "content": "<p>Not what it claims</p>",
                       "attributedTo": actor, "to": ["https://www.w3.org/ns/activitystreams#Public"]},
        });
        let body = activity.to_string().into_bytes();
        let url = reqwest::Url::parse(inbox).unwrap();
        let date = httpdate::fmt_http_date(SystemTime::now());
        let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(&body)));
        let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let signing = format!(
            "(request-target): post {}\nhost: {host}\ndate: {date}\ndigest: {digest}",
            url.path()
        );
        let signature = self
            .key
            .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(signing.as_bytes()))
            .unwrap();
        let resp = reqwest::Client::new()
            .post(inbox)
            .header("content-type", "application/activity+json")
            .header("date", date)
            .header("digest", digest)
            .header(
                "signature",
                format!(
                    r#"keyId="{actor}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="{}""#,
                    BASE64.encode(signature)
                ),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}
