//! Quote posts (FEP-044f) with the Fedify peer: an article's
//! `interactionPolicy.canQuote` as Fedify reads it; the peer's
//! `QuoteRequest` (a `Note` with `quote`) accepted with a
//! `QuoteAuthorization` stamp Fedify parses, or rejected, under the
//! instance's policy (`everyone`, `nobody`), an article's own (`nobody`,
//! `followers` before and after the peer follows, `everyone`); the quote
//! listed on the article page; the policy set in the admin, on the command
//! line and in front matter; revocation from the admin and from the CLI
//! delivering the `Delete` of the stamp, whose URL then answers 410; and a
//! quoting post deleted at its origin leaving the page.

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
