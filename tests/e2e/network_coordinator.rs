//! Three Gazette instances on loopback: a network coordinator and two
//! member organisations. One asks to join and is approved, the other is
//! invited; their earlier articles are backfilled; a new article, its edit
//! and its deletion reach the shared feed; suspension hides a member; the
//! network actor's boost is in its outbox; filters, search and their Atom
//! and JSON forms; bad filters and forged articles are refused. The REST
//! API and the admin pages for members and moderation; a flooding member
//! rate limited with nothing lost; backfills again when a member accepts
//! the network's follow late and when it is approved again; a member that
//! leaves; "Member of" on members' pages (listing and cached article pages)
//! only once the coordinator approved it: a request waits, a rejection or
//! removal refuses the follow, an invitation or approval accepts it, and an
//! ordinary `Person` follower is accepted at once; the public members
//! page. The shared feed's page: facets with counts, chips, the home page
//! (`network.home`), the about and member pages, the interface language
//! (Accept-Language, the switch and its cookie). The same scenario runs on SQLite and, when configured, on PostgreSQL.
//! A member article relayed by another server while the member is down is
//! taken on its integrity proof, and served with it (FEP-8b32).

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::fediverse::{self, SignedPost, as2};
use common::{Env, cookie_value, eventually, form_body, path};
use gazette_store::Backend;
use rsa::RsaPrivateKey;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(60);

async fn get(url: &str) -> reqwest::Response {
    common::http_get(url).await.unwrap()
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

/// Waits until the shared feed holds `n` items for `query`: a write by
/// another process (a `gazette network …` command) empties the server's
/// cache of public answers within the change signal's delay, not at once.
async fn expect_count(base: &str, query: &str, n: usize) {
    eventually(
        &format!("{n} items for {query:?}"),
        Duration::from_secs(10),
        || async move { (count(base, query).await == n).then_some(()) },
    )
    .await;
}

/// The status of `member`'s follow of the network actor `group`, from
/// `gazette following` on the member's instance (`None`: not followed).
fn network_follow(member: &Env, group: &str) -> Option<String> {
    member
        .ok(&["following"])
        .lines()
        .find(|l| l.trim_end().ends_with(group))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
}

/// Whether the page at `url` says the organisation is a member of a network.
async fn says_member(url: &str) -> bool {
    get(url).await.text().await.unwrap().contains("Member of")
}

#[tokio::test(flavor = "multi_thread")]
async fn coordinator_and_two_members_sqlite() {
    scenario(Backend::Sqlite).await;
}

/// Each instance gets a fresh PostgreSQL database of its own; skipped when
/// `GAZETTE_TEST_POSTGRES_URL` is not set (unless it is required).
#[tokio::test(flavor = "multi_thread")]
async fn coordinator_and_two_members_postgres() {
    scenario(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stuck_member_recovers_with_retry_sqlite() {
    stuck_member(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stuck_member_recovers_with_retry_postgres() {
    stuck_member(Backend::Postgres).await;
}

/// The member's health as `gazette network members --json` gives it.
fn member_health(c: &Env, handle: &str) -> Value {
    let all: Value = serde_json::from_str(&c.ok(&["network", "members", "--json"])).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|h| h["member"]["handle"] == handle)
        .cloned()
        .unwrap_or_else(|| panic!("no member {handle} in {all}"))
}

/// The stuck member of issue 19: a coordinator started with a wrong
/// setting (private addresses refused, the member being on loopback)
/// invites a member; its `Follow` is given up and the backfill fails.
/// Inviting again retries instead of answering "already a member"; once
/// the coordinator is fixed and restarted, `gazette network retry` gets the
/// member going: follow accepted, backfill done, articles in the feed. The
/// admin shows the reason, the last error and a Retry button (CSRF-checked).
async fn stuck_member(backend: Backend) {
    let (Some(c), Some(m)) = (Env::new(backend).await, Env::new(backend).await) else {
        return;
    };
    let c = c.federated().with_env("GAZETTE_NETWORK__ENABLED", "true");
    let m = m.federated();
    let sm = m.serve_federated(&["--demo"]);
    let handle = format!("demo@{}", sm.base.trim_start_matches("http://"));
    let wrong = c.serve_federated_with(&[], &[("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "false")]);
    // The command line resolves the member (its own setting is right); the
    // wrong server's delivery worker refuses the loopback inbox.
    c.ok(&["network", "invite", &format!("@{handle}")]);
    let given_up = |h: &Value| h["stuck"] == "follow_given_up" && h["member"]["backfill"]["state"] == "failed";
    let h = eventually("the network's Follow given up", DEADLINE, || async {
        let h = member_health(&c, &handle);
        given_up(&h).then_some(h)
    })
    .await;
    assert_eq!(h["member"]["status"], "approved");
    assert_eq!(h["followed"], "pending");
    assert!(
        h["last_error"].as_str().unwrap().contains("127.0.0.1")
            || h["last_error"].as_str().unwrap().contains("private"),
        "the last error names the refused address: {h}"
    );
    // The retry of a failed backfill is saved with its wait.
    assert_eq!(h["member"]["backfill"]["attempts"], 1);
    assert!(h["member"]["backfill"]["retry_at"].is_string(), "{h}");
    let table = c.ok(&["network", "members"]);
    assert!(table.contains("the network's Follow was given up"), "{table}");
    assert!(table.contains("last error:"), "{table}");
    // Inviting the stuck member again retries it rather than refusing.
    let out = c.ok(&["network", "invite", &format!("@{handle}")]);
    assert!(out.contains("invited"), "{out}");
    let err = c.fails(&["network", "approve", &format!("@{handle}")]);
    assert!(err.contains("is approved"), "{err}");

    // The admin says why, what to do, and offers a Retry refused without its CSRF token.
    c.create_user(&["edna", "--role", "editor"], "correct horse battery staple");
    let admin = Admin::sign_in(&wrong.base, "edna", "correct horse battery staple").await;
    let (status, html) = admin.get("/admin/network").await;
    assert_eq!(status, 200);
    assert!(html.contains("follow was given up. Fix what the error names"), "{html}");
    assert!(html.contains("Last error: <code>refusing to connect"), "{html}");
    assert!(html.contains("action=\"/admin/network/retry\""), "no Retry button");
    let resp = admin
        .send("/admin/network/retry", &[("_csrf", "forged"), ("member", &handle)])
        .await;
    assert_eq!(resp.status(), 403);

    // Fixed and restarted: still stuck (a given-up Follow is not sent again by itself)…
    drop(wrong);
    let sc = c.serve_federated(&[]);
    assert_eq!(member_health(&c, &handle)["followed"], "pending");
    // …until one command retries it.
    let out = c.ok(&["network", "retry", &format!("@{handle}")]);
    assert!(out.contains("retried") && out.contains("fresh Follow"), "{out}");
    let h = eventually("the member recovered", DEADLINE, || async {
        let h = member_health(&c, &handle);
        (h["followed"] == "accepted" && h["member"]["backfill"]["state"] == "done").then_some(h)
    })
    .await;
    assert!(h["stuck"].is_null(), "{h}");
    assert_eq!(h["member"]["backfill"]["attempts"], 0);
    assert_eq!(h["articles"], 3, "{h}");
    expect_count(&sc.base, "", 3).await;
    let err = c.fails(&["network", "retry", &format!("@{handle}")]);
    assert!(err.contains("is not stuck"), "{err}");
    // The REST API has it too: a member not stuck is a 409.
    let token = common::last_line(&c.ok(&["token", "create", "retry"])).to_owned();
    let resp = common::test_client()
        .post(sc.url(&format!("/api/network/members/{handle}/retry")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("is not stuck"));
    let admin = Admin::sign_in(&sc.base, "edna", "correct horse battery staple").await;
    let (_, html) = admin.get("/admin/network").await;
    assert!(
        !html.contains("action=\"/admin/network/retry\""),
        "a Retry button for a member not stuck"
    );
    drop(sm);
}

/// FEP-8b32 on the coordinator: a member's articles carry their author's
/// proof; the coordinator keeps them as received and serves them, proof
/// intact, in its network actor's boosts. With the member down, an article
/// of it relayed by another server is taken on its proof alone (the key
/// is known from the member's earlier articles), and a relayed copy
/// changed after signing is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_relayed_member_article_is_taken_on_its_proof() {
    relayed_member_article(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relayed_member_article_is_taken_on_its_proof_postgres() {
    relayed_member_article(Backend::Postgres).await;
}

/// A coordinator (with `coordinator_env` besides) whose one member, the
/// demo instance, is approved and backfilled (its three articles in the
/// feed): the coordinator's and the member's environments and servers.
async fn coordinator_and_demo_member(
    backend: Backend,
    coordinator_env: &[(&str, &str)],
) -> Option<(Env, common::Server, Env, common::Server)> {
    let (Some(c), Some(m)) = (Env::new(backend).await, Env::new(backend).await) else {
        return None;
    };
    let mut c = c.federated().with_env("GAZETTE_NETWORK__ENABLED", "true");
    for (key, value) in coordinator_env {
        c = c.with_env(key, value);
    }
    let m = m.federated();
    let sm = m.serve_federated(&["--demo"]);
    let handle = format!("demo@{}", sm.base.trim_start_matches("http://"));
    let sc = c.serve_federated(&[]);
    c.ok(&["network", "invite", &format!("@{handle}")]);
    expect_count(&sc.base, "", 3).await;
    Some((c, sc, m, sm))
}

async fn relayed_member_article(backend: Backend) {
    let Some((c, sc, m, sm)) = coordinator_and_demo_member(backend, &[]).await else {
        return;
    };

    // A new article reaches the feed; the network's boost serves it signed.
    let article = |slug: &str, title: &str| {
        format!(
            "---\nslug: {slug}\nkind: news\ntitle: {title}\nsummary: Signed.\nlanguage: en\n\
             author: camille_renard\n---\nBody.\n"
        )
    };
    let first = m.write("first.md", article("signed-first", "Signed first"));
    let url = common::last_line(&m.ok(&["publish", path(&first)])).to_owned();
    let first = as2(&url).await;
    assert_eq!(first["proof"]["cryptosuite"], "eddsa-jcs-2022", "{first}");
    expect_count(&sc.base, "", 4).await;
    let kept = eventually("the signed first article in the boosts", DEADLINE, || {
        boosted(&sc.base, &first["id"])
    })
    .await;
    assert_eq!(kept["proof"], first["proof"]);
    // Its own article coming back (as in its network's boost) is checked
    // with its own stored key, never fetched from itself.
    let relay = Forger::start().await;
    let (status, body) = relay.relay(&sm.url("/inbox"), &first, "back-home").await;
    assert_eq!(status, 202, "{body}");
    let mut changed = first.clone();
    changed["nameMap"]["en"] = json!("Not what the author wrote");
    let (status, body) = relay.relay(&sm.url("/inbox"), &changed, "back-home-changed").await;
    assert_eq!(status, 401, "{body}");

    // The coordinator is down while the member publishes again; then the
    // member is down too, and only a stranger relays the article.
    drop(sc);
    let second = m.write("second.md", article("signed-second", "Signed while away"));
    let url = common::last_line(&m.ok(&["publish", path(&second)])).to_owned();
    let second = as2(&url).await;
    drop(sm);
    let sc = c.serve_federated(&[]);
    let mut tampered = second.clone();
    tampered["nameMap"]["en"] = json!("Changed by the relay");
    let (status, body) = relay.relay(&sc.url("/inbox"), &tampered, "changed").await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("proof"), "{body}");
    let (status, body) = relay.relay(&sc.url("/inbox"), &second, "intact").await;
    assert_eq!(status, 202, "{body}");
    expect_count(&sc.base, "", 5).await;
    assert_eq!(count(&sc.base, "q=away").await, 1);
    assert_eq!(count(&sc.base, "q=relay").await, 0);
    let kept = eventually("the relayed article in the boosts", DEADLINE, || {
        boosted(&sc.base, &second["id"])
    })
    .await;
    assert_eq!(kept, second, "served as the member signed it");
}

/// A member rotates its author's keys. The coordinator reads the keys it
/// keeps again (every second here): during the grace period it replaces
/// its copy of the author's article with the one proven by the new key,
/// and once the old key retires it forgets that key, so a copy proven by
/// it is no longer taken on its proof (relayed by a stranger) and does
/// not stay served.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_key_rotation_reaches_the_kept_copies() {
    member_key_rotation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_key_rotation_reaches_the_kept_copies_postgres() {
    member_key_rotation(Backend::Postgres).await;
}

async fn member_key_rotation(backend: Backend) {
    let check_every_second = [("GAZETTE_FEDERATION__REMOTE_KEY_CHECK_SECONDS", "1")];
    let Some((_c, sc, m, sm)) = coordinator_and_demo_member(backend, &check_every_second).await else {
        return;
    };
    let source = m.write(
        "rotated.md",
        "---\nslug: before-rotation\nkind: news\ntitle: Before the rotation\nsummary: Signed.\n\
         language: en\nauthor: camille_renard\n---\nBody.\n",
    );
    let url = common::last_line(&m.ok(&["publish", path(&source)])).to_owned();
    let signed = as2(&url).await;
    let old_key = signed["proof"]["verificationMethod"].as_str().unwrap().to_owned();
    assert!(old_key.ends_with("/users/camille_renard#ed25519-key"), "{signed}");
    let kept = eventually("the signed article in the boosts", DEADLINE, || {
        boosted(&sc.base, &signed["id"])
    })
    .await;
    assert_eq!(kept["proof"], signed["proof"]);

    // The rotation: both keys listed for the grace period; the coordinator
    // reads the article again, proven by the new key.
    m.ok(&["keys", "rotate", "camille_renard"]);
    let new_key = old_key.replace("#ed25519-key", "#ed25519-key-2");
    let renewed = eventually("the kept copy proven by the new key", DEADLINE, || async {
        boosted(&sc.base, &signed["id"])
            .await
            .filter(|o| o["proof"]["verificationMethod"] == new_key.as_str())
    })
    .await;
    assert_eq!(renewed["nameMap"], signed["nameMap"]);

    // The old key retires. A copy proven by it, relayed by a stranger, is
    // taken on its proof while the coordinator still holds the key (and
    // then replaced again at the next reading); once the key is
    // forgotten it is refused, since the member no longer lists it.
    m.ok(&["keys", "retire", "camille_renard"]);
    let relay = Forger::start().await;
    let mut n = 0;
    let body = eventually("a copy proven by the retired key refused", DEADLINE, || {
        n += 1;
        let (relay, inbox, signed) = (&relay, sc.url("/inbox"), &signed);
        async move {
            let (status, body) = relay.relay(&inbox, signed, &format!("retired-{n}")).await;
            (status == 401).then_some(body)
        }
    })
    .await;
    assert!(body.contains(&old_key), "{body}");
    let served = eventually("the kept copy proven by the new key again", DEADLINE, || async {
        boosted(&sc.base, &signed["id"])
            .await
            .filter(|o| o["proof"]["verificationMethod"] == new_key.as_str())
    })
    .await;
    assert_eq!(served["nameMap"], signed["nameMap"]);
    drop(sm);
}

/// The object of the network actor's boost of `id` on its outbox's first page.
async fn boosted(base: &str, id: &Value) -> Option<Value> {
    let page = as2(&format!("{base}/users/network/outbox?page=1")).await;
    page["orderedItems"]
        .as_array()?
        .iter()
        .find(|a| a["object"]["id"] == *id)
        .map(|a| a["object"].clone())
}

async fn scenario(backend: Backend) {
    let (Some(c), Some(m1), Some(m2)) = (
        Env::new(backend).await,
        Env::new(backend).await,
        Env::new(backend).await,
    ) else {
        return;
    };
    // A low rate for members, so the flood below is refused in part; the
    // members retry fast (a short backoff unit), Retry-After setting the pace.
    let c = c
        .federated()
        .with_env("GAZETTE_NETWORK__ENABLED", "true")
        .with_env("GAZETTE_NETWORK__NAME", "European SSE Network")
        .with_env("GAZETTE_NETWORK__SUMMARY", "Social economy news from across Europe.")
        .with_env("GAZETTE_NETWORK__HOME", "true")
        .with_env("GAZETTE_NETWORK__MEMBER_RATE_PER_SECOND", "1")
        .with_env("GAZETTE_NETWORK__MEMBER_BURST", "1");
    let m1 = m1
        .federated()
        .with_env("GAZETTE_FEDERATION__DELIVERY_BACKOFF_UNIT_MS", "20");
    // Member 2 approves its followers by hand: the network's follow waits.
    let m2 = m2
        .federated()
        .with_env("GAZETTE_FEDERATION__DELIVERY_BACKOFF_UNIT_MS", "20")
        .with_env("GAZETTE_FEDERATION__MANUALLY_APPROVES_FOLLOWERS", "true");
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
    let resp = common::test_client()
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
    expect_count(&sc.base, "", 0).await;
    // Asking is not being a member: the follow of the network waits, is not
    // counted among the network's followers, and member 1's pages (a listing
    // and a cached article page, read once here) do not say "Member of".
    let group_id = sc.url("/users/network");
    let article1 = s1.url("/articles/share-offer-solar-roofs-social-housing");
    assert_eq!(network_follow(&m1, &group_id).as_deref(), Some("pending"));
    assert_eq!(as2(&sc.url("/users/network/followers")).await["totalItems"], 0);
    assert!(!says_member(&s1.url("/")).await);
    assert!(!says_member(&article1).await);
    // An unknown member is refused by name. Approving the pending follow
    // (`gazette followers approve`) is a membership decision too.
    let err = c.fails(&["network", "approve", "@nobody@example.org"]);
    assert!(err.contains("not a member"), "{err}");
    c.ok(&["followers", "approve", &format!("@demo@{h1}"), "--actor", "network"]);
    assert!(
        c.ok(&["network", "members", "--status", "approved"])
            .contains(&format!("@demo@{h1}"))
    );
    eventually("member 1's follow of the network accepted", DEADLINE, || async {
        (network_follow(&m1, &group_id).as_deref() == Some("accepted")).then_some(())
    })
    .await;
    eventually("\"Member of\" on member 1's pages", DEADLINE, || async {
        (says_member(&s1.url("/")).await && says_member(&article1).await).then_some(())
    })
    .await;
    assert!(get(&article1).await.text().await.unwrap().contains(&format!(
        "<a href=\"{}\">European SSE Network</a>",
        sc.url("/network/feed")
    )));

    // Approval: the network follows member 1 and backfills its three articles.
    eventually("member 1's articles backfilled", DEADLINE, || async {
        (count(&sc.base, "").await == 3).then_some(())
    })
    .await;
    // Member 2 asks to join and is rejected: its follow is refused (the
    // pending row goes on both sides) and its pages never say member.
    m2.ok(&["network", "join", &format!("@network@{hc}")]);
    eventually("member 2's request on the coordinator", DEADLINE, || async {
        c.ok(&["network", "members", "--status", "requested"])
            .contains(&format!("@demo@{h2}"))
            .then_some(())
    })
    .await;
    assert_eq!(network_follow(&m2, &group_id).as_deref(), Some("pending"));
    assert!(!says_member(&s2.url("/")).await);
    c.ok(&["network", "reject", &format!("@demo@{h2}")]);
    eventually("member 2's follow refused", DEADLINE, || async {
        network_follow(&m2, &group_id).is_none().then_some(())
    })
    .await;
    assert!(
        !c.ok(&["followers", "list", "--pending"])
            .contains(&s2.url("/users/demo"))
    );
    assert!(!says_member(&s2.url("/")).await);
    // It asks again, and is invited meanwhile: the invitation accepts its
    // waiting follow, and it is backfilled too.
    m2.ok(&["network", "join", &format!("@network@{hc}")]);
    eventually("member 2's second request on the coordinator", DEADLINE, || async {
        c.ok(&["network", "members", "--status", "requested"])
            .contains(&format!("@demo@{h2}"))
            .then_some(())
    })
    .await;
    let out = c.ok(&["network", "invite", &format!("@demo@{h2}")]);
    assert!(out.contains("invited"), "{out}");
    eventually("member 2's follow of the network accepted", DEADLINE, || async {
        (network_follow(&m2, &group_id).as_deref() == Some("accepted")).then_some(())
    })
    .await;
    eventually("member 2's articles backfilled", DEADLINE, || async {
        (count(&sc.base, "").await == 6).then_some(())
    })
    .await;
    // Once that first backfill is done it publishes, while the network's
    // follow still waits for its editors: the article does not reach the
    // coordinator…
    eventually("member 2's first backfill done", DEADLINE, || async {
        let members = c.ok(&["network", "members"]);
        (members.matches("done").count() == 2).then_some(())
    })
    .await;
    let gap = m2.write(
        "gap.md",
        "---\nslug: gap-article\nkind: news\ntitle: Article between approval and acceptance\n\
         summary: Written while the follow waited.\nlanguage: fr\nauthor: camille_renard\n---\nUn texte.\n",
    );
    m2.ok(&["publish", path(&gap)]);
    expect_count(&sc.base, "q=acceptance", 0).await;
    // …until it accepts the follow: its outbox is read again.
    let token2 = common::last_line(&m2.ok(&["token", "create", "followers"])).to_owned();
    eventually(
        "the network's follow waiting on member 2, approved",
        DEADLINE,
        || async {
            let resp = common::test_client()
                .post(s2.url("/api/followers/approve"))
                .bearer_auth(&token2)
                .json(&json!({ "follower": format!("@network@{hc}") }))
                .send()
                .await
                .unwrap();
            match resp.status().as_u16() {
                200 => Some(()),
                // Its Follow has not arrived yet.
                404 => None,
                other => panic!("{other}: {}", resp.text().await.unwrap()),
            }
        },
    )
    .await;
    eventually(
        "the article published before the Accept backfilled",
        DEADLINE,
        || async { (count(&sc.base, "q=acceptance").await == 1).then_some(()) },
    )
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
    expect_count(&sc.base, "country=FR", 4).await;
    expect_count(&sc.base, "country=be", 3).await;
    expect_count(&sc.base, "legal_form=mutual", 4).await;
    expect_count(&sc.base, "sector=health", 4).await;
    expect_count(&sc.base, "sector=energy", 3).await;
    expect_count(&sc.base, &format!("organisation=demo%40{h2}"), 4).await;
    expect_count(&sc.base, "kind=interview", 2).await;
    expect_count(&sc.base, "kind=interview&country=FR", 1).await;
    expect_count(&sc.base, "language=en", 4).await;
    expect_count(&sc.base, "tag=Energie", 4).await;
    expect_count(&sc.base, "tag=Energie&kind=interview", 2).await;

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
    // The member's article as received, with its author's proof (FEP-8b32).
    let boosted = &outbox["orderedItems"][0]["object"];
    assert_eq!(boosted["id"], object_id.as_str(), "{boosted}");
    assert_eq!(boosted["proof"]["cryptosuite"], "eddsa-jcs-2022", "{boosted}");
    expect_count(&sc.base, "tag=bakeries&kind=interview&language=en", 1).await;

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
    assert_eq!(atom.matches("<entry").count(), 4, "{atom}");
    assert!(atom.contains("Mutuelle Entraide"), "{atom}");

    // The page's facets count what each value would show under the other
    // filters, the filters in effect are chips that remove one each, and
    // the Atom and JSON views keep them.
    let html = get(&sc.url("/network/feed?country=FR&kind=interview"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<option value=\"FR\" selected>FR (1)</option>"), "{html}");
    assert!(html.contains("<option value=\"BE\">BE (2)</option>"), "{html}");
    assert!(html.contains("<option value=\"news\">News (3)</option>"), "{html}");
    assert!(html.contains("<option value=\"mutual\">Mutual (1)</option>"), "{html}");
    assert!(html.contains("Mutuelle Entraide (1)</option>"), "{html}");
    assert!(
        html.contains("href=\"/network/feed?kind=interview\">Country: FR"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/network/feed?country=FR\">Type: Interview"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/network/feed.atom?country=FR&amp;kind=interview\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"/network/feed.json?country=FR&amp;kind=interview\""),
        "{html}"
    );
    // The network heads it; its members have pages of their own.
    assert!(
        html.contains("<h1 class=\"network-header__name\">European SSE Network</h1>"),
        "{html}"
    );
    assert!(html.contains("Social economy news from across Europe."), "{html}");
    assert!(html.contains(&format!("href=\"/network/members/demo@{h2}\"")), "{html}");

    // The interface language: Accept-Language, else the reader's choice
    // (`?lang=`), remembered in a cookie that then wins over the header.
    let client = common::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let page = |lang: Option<&'static str>, query: &'static str, cookie: Option<String>| {
        let mut req = client.get(sc.url(&format!("/network/feed{query}")));
        if let Some(l) = lang {
            req = req.header("Accept-Language", l);
        }
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        req.send()
    };
    let resp = page(Some("de-AT,de;q=0.9,en;q=0.5"), "?country=FR", None)
        .await
        .unwrap();
    assert!(resp.headers()["vary"].to_str().unwrap().contains("Cookie"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\""), "{html}");
    assert!(html.contains("Gemeinsamer Feed") && html.contains("Land: FR"), "{html}");
    assert!(
        html.contains("href=\"/?country=FR&amp;lang=es\"")
            || html.contains("href=\"/network/feed?country=FR&amp;lang=es\""),
        "{html}"
    );
    let resp = page(Some("de"), "?lang=es", None).await.unwrap();
    let chosen = cookie_value(&resp, "gazette_lang");
    assert_eq!(chosen.as_deref(), Some("es"));
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"es\"") && html.contains("Canal común"),
        "{html}"
    );
    let html = page(Some("de"), "", Some("gazette_lang=pt".into()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<html lang=\"pt\"") && html.contains("Feed comum"),
        "{html}"
    );
    // Dates in the page language.
    let html = page(Some("nl"), "?country=FR", None)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let month = |names: &[&str]| names.iter().any(|m| html.contains(m));
    assert!(
        month(&[
            "januari",
            "februari",
            "maart",
            "april",
            "mei ",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december"
        ]),
        "{html}"
    );
    // Unknown languages fall back to English.
    let html = page(Some("pl"), "", None).await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"en\""), "{html}");

    // The home page is the shared feed (`network.home`), filters and all.
    let home = get(&sc.url("/?q=Bruges")).await.text().await.unwrap();
    assert!(home.contains("<mark>Bruges</mark>"), "{home}");
    assert!(home.contains("action=\"/\""), "{home}");
    assert!(home.contains("href=\"/network/feed.atom?q=Bruges\""), "{home}");

    // About the network: members, how to join, how to follow from Mastodon.
    let about = get(&sc.url("/network/about")).await.text().await.unwrap();
    assert!(about.contains(&format!("@network@{hc}")), "{about}");
    assert!(
        about.contains(&format!("gazette network join @network@{hc}")),
        "{about}"
    );
    assert!(about.contains("Mutuelle Entraide"), "{about}");
    assert!(about.contains("name=\"target\" value=\"network\""), "{about}");
    // A member's page: its profile and latest articles; others are 404.
    let member = get(&sc.url(&format!("/network/members/demo@{h2}")))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        member.contains("Mutuelle Entraide") && member.contains("Mutual"),
        "{member}"
    );
    assert_eq!(member.matches("<li class=\"card\">").count(), 4, "{member}");
    let encoded = h2.replace(':', "%3A");
    assert!(
        member.contains(&format!("href=\"/network/feed.atom?organisation=demo%40{encoded}\"")),
        "{member}"
    );
    assert_eq!(get(&sc.url("/network/members/nobody@example.org")).await.status(), 404);

    // Bad filters are refused with the parameter named.
    let resp = get(&sc.url("/network/feed?kind=opinion")).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("kind"));
    let resp = get(&sc.url("/network/feed.json?cursor=yesterday")).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "cursor", "{body}");

    // Cursor pagination through the JSON: 8 items in pages of 20 is one page.
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
    // A `Person` following the network actor (a Mastodon reader) is no
    // candidate: accepted at once, its `Accept` naming its `Follow`.
    let followers_before = as2(&sc.url("/users/network/followers")).await["totalItems"]
        .as_i64()
        .unwrap();
    let (status, follow_id) = forger.follow(&sc.url("/inbox"), &group_id).await;
    assert_eq!(status, 202, "{follow_id}");
    let accept = eventually("the network's Accept in the Person's inbox", DEADLINE, || async {
        forger.received().into_iter().find(|a| a["type"] == "Accept")
    })
    .await;
    assert_eq!(accept["actor"], group_id.as_str(), "{accept}");
    assert_eq!(accept["object"]["id"], follow_id.as_str(), "{accept}");
    assert_eq!(
        as2(&sc.url("/users/network/followers")).await["totalItems"],
        followers_before + 1
    );
    assert!(!c.ok(&["network", "members"]).contains("forger"));
    expect_count(&sc.base, "", 8).await;
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
    expect_count(&sc.base, "q=Impostor", 0).await;

    // Moderation: an item removed from the feed is kept, and comes back,
    // announced again under a new id.
    let announce_of = |outbox: &Value| {
        outbox["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["object"] == object_id.as_str() || a["object"]["id"] == object_id.as_str())
            .map(|a| a["id"].as_str().unwrap().to_owned())
    };
    let first_announce = announce_of(&as2(&sc.url("/users/network/outbox?page=1")).await).unwrap();
    let out = c.ok(&["network", "hide", &object_id]);
    assert!(out.contains("removed"), "{out}");
    expect_count(&sc.base, "q=sourdough", 0).await;
    // Another process wrote: the server's cached outbox is dropped within
    // the change signal's delay, so the outbox is polled, not read once.
    let outbox = sc.url("/users/network/outbox?page=1");
    let latest_announce = || async { announce_of(&as2(&outbox).await) };
    eventually(
        "the outbox without the hidden item's announce",
        Duration::from_secs(10),
        || async { latest_announce().await.is_none().then_some(()) },
    )
    .await;
    let err = c.fails(&["network", "hide", &object_id]);
    assert!(err.contains("already hidden"), "{err}");
    let out = c.ok(&["network", "restore", &object_id]);
    assert!(out.contains("announced again"), "{out}");
    expect_count(&sc.base, "q=sourdough", 1).await;
    let second_announce = eventually("the restored item announced again", Duration::from_secs(10), || async {
        latest_announce().await.filter(|id| *id != first_announce)
    })
    .await;
    assert_ne!(first_announce, second_announce);

    // The REST API: members with their health, decisions, clear refusals.
    let api = Api::new(&sc.base, common::last_line(&c.ok(&["token", "create", "network"])));
    let (status, body) = api.get("/api/network/members").await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    assert!(
        items
            .iter()
            .all(|h| h["followed"] == "accepted" && h["member"]["status"] == "approved"),
        "{body}"
    );
    let m1_handle = format!("demo@{h1}");
    let m2_handle = format!("demo@{h2}");
    let (status, body) = api.get("/api/network/members?status=nope").await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("status")),
        "{body}"
    );
    let (status, body) = api
        .post("/api/network/members/nobody@example.org/approve", json!(null))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api
        .post(&format!("/api/network/members/{m1_handle}/reject"), json!(null))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("is approved"),
        "{body}"
    );
    let (status, _) = api
        .post(&format!("/api/network/members/{m1_handle}/dance"), json!(null))
        .await;
    assert_eq!(status, 404);
    let (status, body) = api
        .post("/api/network/invitations", json!({ "target": format!("@{m2_handle}") }))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = api
        .post("/api/network/items/hide", json!({ "id": "https://nowhere.example/x" }))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api.post("/api/network/items/hide", json!({ "id": object_id })).await;
    assert_eq!((status, body["hidden"].as_bool()), (200, Some(true)), "{body}");
    let (status, body) = api.get("/api/network/items?hidden=true").await;
    assert_eq!((status, body["total"].as_i64()), (200, Some(1)), "{body}");
    let (status, body) = api.post("/api/network/items/restore", json!({ "id": object_id })).await;
    assert_eq!((status, body["hidden"].as_bool()), (200, Some(false)), "{body}");
    let (status, body) = api.post("/api/network/items/restore", json!({ "id": object_id })).await;
    assert_eq!(status, 409, "{body}");
    // An ordinary instance has none of it.
    let m1_api = Api::new(&s1.base, common::last_line(&m1.ok(&["token", "create", "x"])));
    let (status, body) = m1_api.get("/api/network/members").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a network coordinator")
    );

    // A flooding member: six articles published at once by member 1.
    // Over its rate the coordinator answers 429; its server retries after
    // Retry-After and every article arrives; the refusals are counted.
    let mut drafts = Vec::new();
    for i in 0..6 {
        let slug = format!("flood-{i}");
        let (status, body) = m1_api
            .post(
                "/api/articles",
                json!({
                    "slug": slug, "kind": "news", "language": "en", "author": "camille_renard",
                    "translations": [{ "language": "en", "title": format!("Flood number {i}"),
                                       "summary": "One of many.", "body": "Floodwater text." }]
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        drafts.push(slug);
    }
    let publishes = drafts
        .iter()
        .map(|slug| m1_api.post_owned(format!("/api/articles/{slug}/publish")));
    for (status, body) in futures_join_all(publishes).await {
        assert_eq!(status, 200, "{body}");
    }
    eventually("every flood article in the feed", DEADLINE, || async {
        (count(&sc.base, "q=Floodwater").await == 6).then_some(())
    })
    .await;
    let (_, body) = api.get("/api/network/members?status=approved").await;
    let limited = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["member"]["handle"] == m1_handle.as_str())
        .unwrap()["member"]["rate_limited"]
        .as_i64()
        .unwrap();
    assert!(limited > 0, "no activity of member 1 was refused for its rate: {body}");
    expect_count(&sc.base, "", 14).await;

    // The admin pages, signed in through the real form as an editor.
    c.create_user(&["edna", "--role", "editor"], "correct horse battery staple");
    let admin = Admin::sign_in(&sc.base, "edna", "correct horse battery staple").await;
    let (status, html) = admin.get("/admin/network").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("href=\"/admin/network\""), "no nav link");
    assert!(
        html.contains("Mutuelle Entraide") && html.contains(&format!("@{m1_handle}")),
        "{html}"
    );
    assert!(html.contains("Flood number 5"), "{html}");
    let (status, html_fr) = admin.get_lang("/admin/network", "fr").await;
    assert_eq!(status, 200);
    assert!(html_fr.contains("Membres et demandes"), "{html_fr}");
    let csrf = admin.csrf(&html);
    let (status, location) = admin
        .post(
            "/admin/network/items",
            &[("_csrf", &csrf), ("id", &object_id), ("action", "hide")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.contains("done=item_hidden"), "{location}");
    expect_count(&sc.base, "q=sourdough", 0).await;
    let (_, hidden) = admin.get("/admin/network?items=hidden").await;
    assert!(hidden.contains("Cooperative bakeries of Ghent and Bruges"), "{hidden}");
    let (status, _) = admin
        .post(
            "/admin/network/items",
            &[("_csrf", &csrf), ("id", &object_id), ("action", "restore")],
        )
        .await;
    assert_eq!(status, 303);
    expect_count(&sc.base, "q=sourdough", 1).await;
    // A decision the status does not allow is refused with the reason.
    let (status, page) = admin
        .post_page(
            "/admin/network/members",
            &[("_csrf", &csrf), ("member", &m1_handle), ("decision", "reject")],
        )
        .await;
    assert_eq!(status, 409);
    assert!(page.contains("is approved"), "{page}");
    // A form without its token is refused.
    let (status, _) = admin
        .post_page(
            "/admin/network/members",
            &[("_csrf", "forged"), ("member", &m1_handle), ("decision", "suspend")],
        )
        .await;
    assert_eq!(status, 403);
    // Removal asks for a confirmation first.
    let (status, confirm) = admin
        .post_page(
            "/admin/network/members",
            &[("_csrf", &csrf), ("member", &m2_handle), ("decision", "remove")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(confirm.contains("name=\"confirm\" value=\"yes\""), "{confirm}");
    assert_eq!(
        count(&sc.base, "country=FR").await,
        4,
        "nothing removed before the confirmation"
    );

    // Deleted at its origin: it leaves the feed.
    m1.ok(&["article", "delete", "cooperative-bakeries"]);
    eventually("the deletion in the feed", DEADLINE, || async {
        (count(&sc.base, "q=sourdough").await == 0).then_some(())
    })
    .await;
    expect_count(&sc.base, "", 13).await;

    // Suspension hides member 2's articles without losing them; what it
    // publishes meanwhile is not aggregated, and arrives on re-approval.
    c.ok(&["network", "suspend", &format!("@demo@{h2}")]);
    expect_count(&sc.base, "country=FR", 0).await;
    let during = m2.write(
        "during.md",
        "---\nslug: during-suspension\nkind: news\ntitle: Written during the suspension\n\
         summary: Later.\nlanguage: fr\nauthor: camille_renard\n---\nUn texte pendant.\n",
    );
    m2.ok(&["publish", path(&during)]);
    c.ok(&["network", "approve", &format!("@demo@{h2}")]);
    eventually(
        "the article of the suspension backfilled on re-approval",
        DEADLINE,
        || async { (count(&sc.base, "country=FR").await == 5).then_some(()) },
    )
    .await;

    // Member side: both members say which network they belong to, linked
    // to its feed (member 2's follow stayed accepted while it was
    // suspended); the coordinator links its feed and lists its members.
    assert!(says_member(&s2.url("/")).await);
    assert_eq!(network_follow(&m2, &group_id).as_deref(), Some("accepted"));
    let home1 = get(&s1.url("/")).await.text().await.unwrap();
    assert!(home1.contains("Member of"), "{home1}");
    assert!(
        home1.contains(&format!(
            "<a href=\"{}\">European SSE Network</a>",
            sc.url("/network/feed")
        )),
        "{home1}"
    );
    assert!(!home1.contains("href=\"/network/feed\""), "{home1}");
    assert_eq!(get(&s1.url("/network/members")).await.status(), 404);
    let home_c = get(&sc.url("/")).await.text().await.unwrap();
    assert!(home_c.contains("European SSE Network") && home_c.contains("href=\"/network/members\""));
    let members_page = get(&sc.url("/network/members")).await.text().await.unwrap();
    assert!(
        members_page.contains("Mutuelle Entraide")
            && members_page.contains("Mutual")
            && members_page.contains("health"),
        "{members_page}"
    );
    assert!(members_page.contains(&format!("@{m1_handle}")), "{members_page}");

    // Member 1 leaves (stops following the network actor): marked left,
    // its articles hidden but kept, and its pages no longer say member.
    m1.ok(&["unfollow", &format!("@network@{hc}")]);
    eventually("member 1 marked as left", DEADLINE, || async {
        c.ok(&["network", "members", "--status", "left"])
            .contains(&format!("@{m1_handle}"))
            .then_some(())
    })
    .await;
    expect_count(&sc.base, "country=BE", 0).await;
    let home1 = get(&s1.url("/")).await.text().await.unwrap();
    assert!(!home1.contains("European SSE Network"), "{home1}");
    assert!(!says_member(&article1).await, "a cached article page still says member");
    let (status, body) = api
        .post(&format!("/api/network/members/{m1_handle}/suspend"), json!(null))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("is left"), "{body}");
    let (status, body) = api
        .post(&format!("/api/network/members/{m1_handle}/approve"), json!(null))
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("approved")), "{body}");
    expect_count(&sc.base, "country=BE", 9).await;
    // Approved again, it joins again: a member's follow is accepted at once.
    m1.ok(&["network", "join", &format!("@network@{hc}")]);
    eventually("member 1's new follow accepted at once", DEADLINE, || async {
        (network_follow(&m1, &group_id).as_deref() == Some("accepted")).then_some(())
    })
    .await;
    eventually("member 1's pages say member again", DEADLINE, || async {
        says_member(&article1).await.then_some(())
    })
    .await;

    // Confirmed, the removal of member 2 hides its articles (kept).
    let (status, _) = admin
        .post(
            "/admin/network/members",
            &[
                ("_csrf", &csrf),
                ("member", &m2_handle),
                ("decision", "remove"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    expect_count(&sc.base, "country=FR", 0).await;
    let (_, body) = api.get("/api/network/members?status=removed").await;
    assert_eq!(body["items"][0]["articles"], 5, "{body}");
    // Removed, its follow of the network is refused: its pages stop saying member.
    eventually("member 2's follow refused on removal", DEADLINE, || async {
        network_follow(&m2, &group_id).is_none().then_some(())
    })
    .await;
    assert!(!says_member(&s2.url("/")).await);
}

/// Runs the futures together (tests have no `futures` crate).
async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A REST API client with a bearer token.
#[derive(Clone)]
struct Api {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.to_owned(),
            token: token.to_owned(),
            client: common::test_client(),
        }
    }

    async fn read(resp: reqwest::Response) -> (u16, Value) {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        Api::read(resp).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if !body.is_null() {
            req = req.json(&body);
        }
        Api::read(req.send().await.unwrap()).await
    }

    /// A POST without a body that owns what it needs (to be spawned).
    fn post_owned(&self, path: String) -> impl std::future::Future<Output = (u16, Value)> + Send + 'static {
        let api = self.clone();
        async move { api.post(&path, Value::Null).await }
    }
}

/// A browser-like session on the admin pages: cookies by hand, no redirects followed.
struct Admin {
    base: String,
    session: String,
    client: reqwest::Client,
}

impl Admin {
    async fn sign_in(base: &str, username: &str, password: &str) -> Admin {
        let client = common::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = client.get(format!("{base}/admin/login")).send().await.unwrap();
        let form_cookie = cookie_value(&resp, "gazette_form").expect("the login form sets its CSRF cookie");
        let resp = client
            .post(format!("{base}/admin/login"))
            .header("cookie", format!("gazette_form={form_cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("_csrf", &form_cookie),
                ("username", username),
                ("password", password),
                ("next", "/admin"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "sign-in refused");
        let session = cookie_value(&resp, "gazette_session").expect("a session cookie");
        Admin {
            base: base.to_owned(),
            session,
            client,
        }
    }

    async fn get_lang(&self, path: &str, lang: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("gazette_session={}", self.session))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.get_lang(path, "en").await
    }

    /// The CSRF token of the forms on a page.
    fn csrf(&self, html: &str) -> String {
        let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token");
        let rest = &html[at + "name=\"_csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    async fn send(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("gazette_session={}", self.session))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .await
            .unwrap()
    }

    /// A form answered with a redirect: its status and `Location`.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let resp = self.send(path, fields).await;
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (resp.status().as_u16(), location)
    }

    /// A form answered with a page.
    async fn post_page(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let resp = self.send(path, fields).await;
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// A server outside the network that signs what it sends (draft-cavage,
/// rsa-sha256), serving its actor document for the key.
struct Forger {
    base: String,
    key: RsaPrivateKey,
    /// What its inbox received.
    inbox: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Forger {
    async fn start() -> Forger {
        let key = fediverse::new_key();
        let pem = fediverse::public_pem(&key);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let actor = format!("{base}/users/forger");
        let doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor, "type": "Person", "preferredUsername": "forger", "inbox": format!("{actor}/inbox"),
            "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": pem},
        });
        let inbox = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let received = inbox.clone();
        let app = axum::Router::new()
            .route(
                "/users/forger",
                axum::routing::get(move || {
                    let doc = doc.clone();
                    async move { ([("content-type", "application/activity+json")], doc.to_string()) }
                }),
            )
            .route(
                "/users/forger/inbox",
                axum::routing::post(move |body: String| {
                    let received = received.clone();
                    async move {
                        received.lock().unwrap().push(serde_json::from_str(&body).unwrap());
                        axum::http::StatusCode::ACCEPTED
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Forger { base, key, inbox }
    }

    /// The activities its inbox received so far.
    fn received(&self) -> Vec<Value> {
        self.inbox.lock().unwrap().clone()
    }

    /// POSTs a `Follow` of `object` to `inbox`; its status and the follow's id.
    async fn follow(&self, inbox: &str, object: &str) -> (u16, String) {
        let actor = format!("{}/users/forger", self.base);
        let id = format!("{actor}/follows/1");
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": id, "type": "Follow", "actor": actor, "object": object,
        });
        let (status, body) = self.post_signed(inbox, &actor, &activity).await;
        (status, if status == 202 { id } else { body })
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
        self.post_signed(inbox, actor, &activity).await
    }

    /// POSTs a `Create` by the forger embedding `object` as it is (a
    /// relay passing on someone else's article); `tag` makes its id unique.
    async fn relay(&self, inbox: &str, object: &Value, tag: &str) -> (u16, String) {
        let actor = format!("{}/users/forger", self.base);
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/relays/{tag}"), "type": "Create", "actor": actor, "object": object,
        });
        self.post_signed(inbox, &actor, &activity).await
    }

    /// POSTs `activity` to `inbox` as `actor`, signed with the forger's key.
    async fn post_signed(&self, inbox: &str, actor: &str, activity: &Value) -> (u16, String) {
        SignedPost::new(&self.key, format!("{actor}#main-key"))
            .send(inbox, activity.to_string().as_bytes())
            .await
    }
}
