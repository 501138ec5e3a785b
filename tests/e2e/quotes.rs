//! Quote posts (FEP-044f) with the Fedify peer: an article's
//! `interactionPolicy.canQuote` as Fedify reads it; the peer's
//! `QuoteRequest` (a `Note` with `quote`) accepted with a
//! `QuoteAuthorization` stamp Fedify parses, or rejected, under the
//! instance's policy (`everyone`, `nobody`), an article's own (`nobody`,
//! `followers` before and after the peer follows, `everyone`); the quote
//! listed on the article page; the policy set in the admin, on the command
//! line and in front matter; revocation from the admin and from the CLI
//! delivering the `Delete` of the stamp, whose URL then answers 410; a
//! quoting post deleted at its origin leaving the page; and a policy change
//! reaching the follower as an `Update` of the article.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common;
use crate::interop::{Peer, start_peer};

use common::fediverse::as2;
use common::{Env, eventually, path};
use gazette_store::Backend;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(60);
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const EDITOR_PASSWORD: &str = "an editor's password for quotes";

/// Publishes an article by the demo author and returns its AS2 id.
async fn publish(env: &Env, server: &common::Server, slug: &str) -> String {
    let file = env.write(
        &format!("{slug}.md"),
        format!(
            "---\nslug: {slug}\nkind: news\ntitle: Worth quoting\nsummary: A standfirst.\nlanguage: en\n\
             author: camille_renard\n---\nA body others will quote.\n"
        ),
    );
    env.ok(&["publish", path(&file)]);
    as2(&server.url(&format!("/articles/{slug}"))).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The article's `canQuote.automaticApproval`, once it is `expected`
/// (a policy set by the CLI reaches the server's cache within a moment).
async fn wait_policy(object: &str, expected: Value) {
    eventually(&format!("automaticApproval {expected}"), DEADLINE, || async {
        let a = as2(object).await;
        (a["interactionPolicy"]["canQuote"]["automaticApproval"] == expected).then_some(())
    })
    .await;
}

/// The peer asks to quote `object`; the answer it got (`accepted` with
/// its stamp, or `rejected`) and the request it sent.
async fn ask(peer: &Peer, object: &str) -> (Value, Value) {
    let sent = peer.control("quote", json!({ "object": object })).await;
    let request = sent["request"].as_str().unwrap().to_owned();
    let answer = eventually(&format!("an answer to {request}"), DEADLINE, || async {
        let all: Value = common::http_get(format!("{}/control/quotes", peer.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.as_array()
            .unwrap()
            .iter()
            .find(|q| q["request"] == request.as_str() && q["state"] != "pending")
            .cloned()
    })
    .await;
    (sent, answer)
}

async fn page(server: &common::Server, slug: &str) -> String {
    common::http_get(server.url(&format!("/articles/{slug}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn status_of(url: &str) -> u16 {
    common::test_client()
        .get(url)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An editor signed in to the admin, cookies kept by hand.
struct Admin {
    base: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Admin {
    async fn sign_in(base: &str, user: &str, password: &str) -> Admin {
        let mut a = Admin {
            base: base.to_owned(),
            client: common::client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        };
        a.get("/admin/login").await;
        let token = a
            .cookies
            .get("gazette_form")
            .cloned()
            .expect("the sign-in form's cookie");
        let (status, _, _) = a
            .post(
                "/admin/login",
                &[
                    ("_csrf", &token),
                    ("username", user),
                    ("password", password),
                    ("next", "/admin"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        a
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        for c in resp.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
    }

    fn cookie(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, p: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{p}", self.base))
            .header("cookie", self.cookie())
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn post(&mut self, p: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let resp = self
            .client
            .post(format!("{}{p}", self.base))
            .header("cookie", self.cookie())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (resp.status().as_u16(), location, resp.text().await.unwrap())
    }
}

/// The value of the first `name="_csrf"` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + "name=\"_csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn fedify_asks_to_quote_under_each_policy() {
    let Some(env) = Env::new(Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"));
    let author = server.url("/users/camille_renard");
    let object = publish(&env, &server, "quoted-news").await;
    let article_id = object.rsplit('/').next().unwrap().to_owned();

    // Everyone (the default): the article says so, in terms Fedify reads.
    wait_policy(&object, json!([PUBLIC])).await;
    let (first, answer) = ask(&peer, &object).await;
    assert_eq!(first["canQuote"]["automaticApproval"], json!([PUBLIC]), "{first}");
    assert_eq!(answer["state"], "accepted", "{answer}");
    assert_eq!(answer["answeredBy"], author.as_str());
    assert!(answer["objectEmbedded"].as_bool().unwrap(), "{answer}");
    let stamp_url = answer["stamp"].as_str().unwrap().to_owned();
    assert!(stamp_url.starts_with(&server.url("/quotes/")), "{stamp_url}");
    let stamp = peer.control("stamp", json!({ "stamp": stamp_url })).await;
    assert_eq!(stamp["isQuoteAuthorization"], true, "{stamp}");
    assert_eq!(stamp["id"], stamp_url.as_str());
    assert_eq!(stamp["interactingObject"], first["note"]);
    assert_eq!(stamp["interactionTarget"], object.as_str());
    assert_eq!(stamp["attributedTo"], json!([author]));
    let note = first["note"].as_str().unwrap().to_owned();
    eventually("the quote on the article page", DEADLINE, || async {
        let html = page(&server, "quoted-news").await;
        (html.contains(&format!("href=\"{note}\"")) && html.contains("Quotes: 1")).then_some(())
    })
    .await;

    // The article's own policy: nobody.
    env.ok(&["article", "quote-policy", "quoted-news", "nobody"]);
    wait_policy(&object, json!([])).await;
    let (_, answer) = ask(&peer, &object).await;
    assert_eq!(answer["state"], "rejected", "{answer}");
    assert!(answer["stamp"].is_null());

    // Followers only: refused until the peer follows the author.
    let followers = format!("{author}/followers");
    env.ok(&["article", "quote-policy", "quoted-news", "followers"]);
    wait_policy(&object, json!([followers])).await;
    let (asked, answer) = ask(&peer, &object).await;
    assert_eq!(asked["canQuote"]["automaticApproval"], json!([followers]));
    assert_eq!(answer["state"], "rejected", "{answer}");
    peer.control("follow", json!({ "target": author })).await;
    peer.wait_for("Accept", |e| e["actor"] == author.as_str()).await;
    let (follower_quote, answer) = ask(&peer, &object).await;
    assert_eq!(answer["state"], "accepted", "{answer}");
    let listed = env.ok(&["article", "quotes", "quoted-news"]);
    assert_eq!(listed.matches(" accepted ").count(), 2, "{listed}");
    assert_eq!(listed.matches(" rejected ").count(), 2, "{listed}");

    // An editor revokes the first quote from the admin: the peer receives
    // the Delete of the stamp, which stops resolving, and the page drops it.
    assert_eq!(status_of(&stamp_url).await, 200);
    env.create_user(&["edna", "--role", "editor"], EDITOR_PASSWORD);
    let mut admin = Admin::sign_in(&server.base, "edna", EDITOR_PASSWORD).await;
    let (status, html) = admin.get(&format!("/admin/articles/{article_id}/quotes")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&note), "{html}");
    let stamp_id = stamp_url.rsplit('/').next().unwrap();
    let revoke = format!("/admin/articles/{article_id}/quotes/revoke");
    let (status, _, _) = admin.post(&revoke, &[("_csrf", "forged"), ("quote", stamp_id)]).await;
    assert_eq!(status, 403, "a forged form is refused");
    assert_eq!(status_of(&stamp_url).await, 200);
    let (status, location, body) = admin
        .post(&revoke, &[("_csrf", &csrf_of(&html)), ("quote", stamp_id)])
        .await;
    assert_eq!(status, 303, "{body}");
    assert!(location.contains("done=quote_revoked"), "{location}");
    let delete = peer
        .wait_for("Delete", |e| e["object"]["id"] == stamp_url.as_str())
        .await;
    assert_eq!(delete["actor"], author.as_str());
    assert_eq!(delete["raw"]["object"]["type"], "QuoteAuthorization", "{delete}");
    assert_eq!(status_of(&stamp_url).await, 410);
    let follower_note = follower_quote["note"].as_str().unwrap().to_owned();
    eventually("the revoked quote to leave the page", DEADLINE, || async {
        let html = page(&server, "quoted-news").await;
        (!html.contains(&format!("href=\"{note}\""))
            && html.contains(&format!("href=\"{follower_note}\""))
            && html.contains("Quotes: 1"))
        .then_some(())
    })
    .await;

    // The policy form: back to everyone, announced at once.
    let (_, html) = admin.get(&format!("/admin/articles/{article_id}/quotes")).await;
    assert!(html.contains("Revoked") && html.contains("Refused"), "{html}");
    let (status, location, body) = admin
        .post(
            &format!("/admin/articles/{article_id}/quotes/policy"),
            &[("_csrf", &csrf_of(&html)), ("policy", "everyone")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert!(location.contains("done=quote_policy"), "{location}");
    wait_policy(&object, json!([PUBLIC])).await;
    assert!(
        env.ok(&["article", "quote-policy", "quoted-news"])
            .contains("quoted-news: everyone")
    );

    // The quoting post deleted at its origin: the quote is forgotten.
    peer.control("delete-note", json!({ "note": follower_note, "to": author }))
        .await;
    eventually("the deleted quoting post to leave the page", DEADLINE, || async {
        let html = page(&server, "quoted-news").await;
        (!html.contains(&follower_note)).then_some(())
    })
    .await;
    let listed = env.ok(&["article", "quotes", "quoted-news"]);
    assert!(!listed.contains(&follower_note), "{listed}");
}

/// With `federation.quote_policy = "nobody"` (PostgreSQL), requests are
/// refused unless the article opens itself to everyone; a quote revoked
/// from the CLI sends the `Delete` of its stamp.
#[tokio::test(flavor = "multi_thread")]
async fn nobody_by_default_but_one_article_for_everyone() {
    let Some(env) = Env::new(Backend::Postgres).await else {
        return;
    };
    let env = env.federated().with_env("GAZETTE_FEDERATION__QUOTE_POLICY", "nobody");
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"));
    let author = server.url("/users/camille_renard");
    let object = publish(&env, &server, "closed-news").await;

    wait_policy(&object, json!([])).await;
    let (_, answer) = ask(&peer, &object).await;
    assert_eq!(answer["state"], "rejected", "{answer}");
    assert!(
        env.ok(&["article", "quote-policy", "closed-news"])
            .contains("nobody (the instance's")
    );

    env.ok(&["article", "quote-policy", "closed-news", "everyone"]);
    wait_policy(&object, json!([PUBLIC])).await;
    let (_, answer) = ask(&peer, &object).await;
    assert_eq!(answer["state"], "accepted", "{answer}");
    let stamp_url = answer["stamp"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&stamp_url).await, 200);

    let stamp_id = stamp_url.rsplit('/').next().unwrap();
    env.ok(&["article", "revoke-quote", stamp_id]);
    let delete = peer
        .wait_for("Delete", |e| e["object"]["id"] == stamp_url.as_str())
        .await;
    assert_eq!(delete["actor"], author.as_str());
    assert_eq!(status_of(&stamp_url).await, 410);
    let again = env.fails(&["article", "revoke-quote", stamp_id]);
    assert!(again.contains("no accepted quote"), "{again}");

    // The policy written in a file's front matter.
    let file = env.write(
        "open-news.md",
        "---\nslug: open-news\nkind: news\ntitle: Open to quotes\nlanguage: en\nauthor: camille_renard\n\
         quote_policy: everyone\n---\nBody.\n",
    );
    env.ok(&["publish", path(&file)]);
    let open = as2(&server.url("/articles/open-news")).await;
    assert_eq!(
        open["interactionPolicy"]["canQuote"]["automaticApproval"],
        json!([PUBLIC])
    );
}

/// The article's AS2 document as served, with its ETag.
async fn served(object: &str) -> (String, Value) {
    let resp = common::test_client()
        .get(object)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "GET {object}: {}", resp.status());
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    (etag, resp.json().await.unwrap())
}

/// The article's version, as `gazette article show` prints it.
fn version_of(env: &Env, slug: &str) -> String {
    let shown = env.ok(&["article", "show", slug]);
    shown
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .unwrap_or_else(|| panic!("no version in {shown}"))
        .trim()
        .to_owned()
}

/// The `Update` of `object` the peer received with id `{object}#update-{version}`,
/// once it has.
async fn update_received(peer: &Peer, object: &str, version: u32) -> Value {
    let id = format!("{object}#update-{version}");
    peer.wait_for("Update", |e| e["id"] == id.as_str()).await
}

/// What Fedify's `verifyObject` made of the proofs of the activity `id`.
async fn proofs_of(peer: &Peer, id: &str) -> Value {
    peer.event("proof", |e| e["id"] == id).await
}

/// A change of an article's quote policy is an edit its followers see
/// (FEP-044f with the edit's delivery): set on the command line, from the
/// admin and in front matter, the follower (the Fedify peer) receives an
/// `Update` of the article whose `interactionPolicy.canQuote` Fedify reads
/// as the new policy and whose proofs it verifies; the served object
/// moves with it (`updated`, ETag, the same proof as delivered). The same
/// policy again, `default` equal to the own policy, and a draft's change
/// send nothing and keep the version; a front matter policy written with
/// an edit sends one `Update` for both.
#[tokio::test(flavor = "multi_thread")]
async fn a_quote_policy_change_reaches_followers_as_an_update() {
    let Some(env) = Env::new(Backend::Sqlite).await else {
        return;
    };
    let env = env.federated();
    let server = env.serve_federated(&["--demo"]);
    let peer = start_peer(&env.dir.join("peer"));
    let author = server.url("/users/camille_renard");
    let followers = format!("{author}/followers");
    peer.control("follow", json!({ "target": author })).await;
    peer.wait_for("Accept", |e| e["actor"] == author.as_str()).await;

    let object = publish(&env, &server, "policy-news").await;
    let article_id = object.rsplit('/').next().unwrap().to_owned();
    let create = peer.wait_for("Create", |e| e["object"]["id"] == object.as_str()).await;
    assert_eq!(
        create["object"]["canQuote"]["automaticApproval"],
        json!([PUBLIC]),
        "{create}"
    );
    let (etag_before, before) = served(&object).await;
    assert_eq!(version_of(&env, "policy-news"), "1");

    // The command line: followers only. One Update, from the author, with
    // the new policy as Fedify reads it, verified.
    let said = env.ok(&["article", "quote-policy", "policy-news", "followers"]);
    assert!(said.contains("version 2, its Update queued"), "{said}");
    let update = update_received(&peer, &object, 2).await;
    assert_eq!(update["actor"], author.as_str());
    assert_eq!(update["object"]["id"], object.as_str());
    assert_eq!(
        update["object"]["canQuote"]["automaticApproval"],
        json!([followers]),
        "{update}"
    );
    let delivered = &update["raw"]["object"];
    assert_eq!(
        delivered["interactionPolicy"]["canQuote"]["automaticApproval"],
        json!([followers])
    );
    assert!(before.get("updated").is_none(), "{before}");
    assert!(
        delivered["updated"].is_string(),
        "the article's updated moved: {delivered}"
    );
    let proofs = proofs_of(&peer, update["id"].as_str().unwrap()).await;
    assert_eq!(proofs["activityVerified"], true, "{proofs}");
    assert_eq!(proofs["objectVerified"], true, "{proofs}");
    // Served as delivered: the same updated and proof, a new ETag.
    let (etag, now) = eventually("the served article to follow the change", DEADLINE, || async {
        let (etag, now) = served(&object).await;
        (now["proof"] == delivered["proof"]).then_some((etag, now))
    })
    .await;
    assert_ne!(etag, etag_before);
    assert_ne!(now["proof"], before["proof"]);
    assert_eq!(now["updated"], delivered["updated"]);
    assert_eq!(
        now["interactionPolicy"]["canQuote"]["automaticApproval"],
        json!([followers])
    );
    let checked = peer.control("verify-object", json!({ "url": object })).await;
    assert_eq!(checked["verified"], true, "{checked}");

    // The same value again: nothing changes, nothing is sent.
    let said = env.ok(&["article", "quote-policy", "policy-news", "followers"]);
    assert!(said.contains("unchanged"), "{said}");
    assert_eq!(version_of(&env, "policy-news"), "2");

    // The admin: back to everyone, announced the same way.
    env.create_user(&["edna", "--role", "editor"], EDITOR_PASSWORD);
    let mut admin = Admin::sign_in(&server.base, "edna", EDITOR_PASSWORD).await;
    let (_, html) = admin.get(&format!("/admin/articles/{article_id}/quotes")).await;
    let (status, location, body) = admin
        .post(
            &format!("/admin/articles/{article_id}/quotes/policy"),
            &[("_csrf", &csrf_of(&html)), ("policy", "everyone")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert!(location.contains("done=quote_policy_sent"), "{location}");
    let (_, html) = admin.get(location.trim_start_matches(&server.base)).await;
    assert!(
        html.contains("the servers of its followers are sent the article updated"),
        "{html}"
    );
    let update = update_received(&peer, &object, 3).await;
    assert_eq!(
        update["object"]["canQuote"]["automaticApproval"],
        json!([PUBLIC]),
        "{update}"
    );
    let proofs = proofs_of(&peer, update["id"].as_str().unwrap()).await;
    assert_eq!(proofs["objectVerified"], true, "{proofs}");
    // `default` is the instance's `everyone`: the policy that applies stays.
    let said = env.ok(&["article", "quote-policy", "policy-news", "default"]);
    assert!(said.contains("unchanged"), "{said}");
    assert_eq!(version_of(&env, "policy-news"), "3");

    // A draft keeps its policy for later and sends nothing.
    let draft = env.write(
        "draft-news.md",
        "---\nslug: draft-news\nkind: news\ntitle: Not yet\nlanguage: en\nauthor: camille_renard\n\
         status: draft\n---\nBody.\n",
    );
    env.ok(&["publish", path(&draft)]);
    let said = env.ok(&["article", "quote-policy", "draft-news", "nobody"]);
    assert!(said.contains("the article is draft: nothing sent"), "{said}");
    assert_eq!(version_of(&env, "draft-news"), "1");

    // Front matter with an edit: one Update carries both.
    let file = env.write(
        "policy-news.md",
        "---\nslug: policy-news\nkind: news\ntitle: Worth quoting, edited\nsummary: A standfirst.\nlanguage: en\n\
         author: camille_renard\nquote_policy: nobody\n---\nA body others will quote.\n",
    );
    env.ok(&["publish", "--update", path(&file)]);
    let update = update_received(&peer, &object, 4).await;
    assert_eq!(update["object"]["canQuote"]["automaticApproval"], json!([]), "{update}");
    assert_eq!(update["raw"]["object"]["nameMap"]["en"], "Worth quoting, edited");
    assert_eq!(version_of(&env, "policy-news"), "4");

    // Every Update the follower got for the article: one per change.
    let updates: Vec<String> = peer
        .received()
        .await
        .into_iter()
        .filter(|e| e["type"] == "Update")
        .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<String> = (2..=4).map(|v| format!("{object}#update-{v}")).collect();
    assert_eq!(updates, expected);
    let shown = env.ok(&["article", "show", "draft-news"]);
    let draft_id = shown
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .unwrap()
        .trim()
        .to_owned();
    let about_draft: Vec<Value> = peer
        .received()
        .await
        .into_iter()
        .filter(|e| e["object"]["id"].as_str().is_some_and(|id| id.ends_with(&draft_id)))
        .collect();
    assert!(about_draft.is_empty(), "nothing about the draft: {about_draft:#?}");
}
