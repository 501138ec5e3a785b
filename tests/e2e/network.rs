//! Two Gazette instances federating on loopback: B follows an author of A,
//! A accepts, and A's articles appear on B's /network page; edits arrive as
//! edits, deletions as deletions, and unfollowing stops the follow.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::fediverse::as2;
use common::{Env, eventually, path};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

async fn text(url: &str) -> String {
    common::http_get(url).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_follow_publish_edit_delete() {
    let Some(a) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let Some(b) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let (a, b) = (a.federated(), b.federated());
    let server_a = a.serve_federated(&["--demo"]);
    let server_b = b.serve_federated(&["--demo"]);
    let host_a = server_a.base.trim_start_matches("http://").to_owned();
    let camille = server_a.url("/users/camille_renard");

    // B follows camille on A by handle; A accepts; B's follow turns accepted.
    let out = b.ok(&["follow", &format!("@camille_renard@{host_a}")]);
    assert!(out.contains("pending"), "{out}");
    eventually("A to count B's organisation as a follower", DEADLINE, || async {
        (as2(&format!("{camille}/followers")).await["totalItems"] == 1).then_some(())
    })
    .await;
    eventually("B's follow to be accepted", DEADLINE, || async {
        b.ok(&["following"]).contains("accepted").then_some(())
    })
    .await;

    // A publishes: the article shows on B's network page and feed.
    let file = a.write(
        "net.md",
        "---\nslug: net-news\nkind: news\ntitle: Shared across the network\nsummary: A standfirst for the network.\n\
         language: en\nauthor: camille_renard\n---\nBody for the network.\n",
    );
    a.ok(&["publish", path(&file)]);
    eventually("the article on B's /network", DEADLINE, || async {
        text(&server_b.url("/network"))
            .await
            .contains("Shared across the network")
            .then_some(())
    })
    .await;
    let feed = text(&server_b.url("/network.atom")).await;
    assert!(
        feed.contains("Shared across the network") && feed.contains("<entry"),
        "{feed}"
    );

    // An edit arrives as an edit.
    let edited = a.write(
        "net.md",
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("Shared across the network", "Edited for the network"),
    );
    a.ok(&["publish", "--update", path(&edited)]);
    eventually("the edit on B", DEADLINE, || async {
        let page = text(&server_b.url("/network")).await;
        (page.contains("Edited for the network") && !page.contains("Shared across the network")).then_some(())
    })
    .await;

    // A deletion arrives as a deletion.
    a.ok(&["article", "delete", "net-news"]);
    eventually("the deletion on B", DEADLINE, || async {
        (!text(&server_b.url("/network")).await.contains("Edited for the network")).then_some(())
    })
    .await;

    // Unfollowing removes B from camille's followers.
    b.ok(&["unfollow", &camille]);
    eventually("A to drop the follower", DEADLINE, || async {
        (as2(&format!("{camille}/followers")).await["totalItems"] == 0).then_some(())
    })
    .await;
    assert!(!b.ok(&["following"]).contains("camille_renard"));
}

/// "Follow from your server": the reader's handle leads, through their
/// server's WebFinger subscribe template, to their own follow page.
#[tokio::test(flavor = "multi_thread")]
async fn follow_from_your_server_redirects_to_the_readers_server() {
    let Some(a) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let a = a.federated();
    let server = a.serve_federated(&["--demo"]);
    let host_a = server.base.trim_start_matches("http://").to_owned();

    // The reader's server: WebFinger with an OStatus subscribe template.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let reader_host = format!("localhost:{}", listener.local_addr().unwrap().port());
    let template = format!("http://{reader_host}/authorize_interaction?uri={{uri}}");
    let doc = serde_json::json!({
        "subject": format!("acct:reader@{reader_host}"),
        "links": [{ "rel": "http://ostatus.org/schema/1.0/subscribe", "template": template }]
    });
    let app = axum::Router::new().route(
        "/.well-known/webfinger",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client = common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .get(server.url(&format!("/follow?target=camille_renard&handle=@reader@{reader_host}")))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let expected_uri = format!("acct%3Acamille_renard%40{}", host_a.replace(':', "%3A"));
    assert_eq!(
        location,
        format!("http://{reader_host}/authorize_interaction?uri={expected_uri}")
    );

    // The form itself, a bad handle (shown again with a message), an unknown actor.
    let form = client.get(server.url("/follow?target=demo")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains(&format!("@demo@{host_a}")));
    let bad = client
        .get(server.url("/follow?target=demo&handle=not-a-handle"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 200);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("role=\"alert\"") && bad.contains("not-a-handle"), "{bad}");
    assert_eq!(
        client
            .get(server.url("/follow?target=nobody"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Pages carry the form.
    let page = text(&server.url("/authors/camille_renard")).await;
    assert!(page.contains("action=\"/follow\"") && page.contains(&format!("@camille_renard@{host_a}")));
}

/// With manual approval, follows wait until an editor approves or rejects them.
#[tokio::test(flavor = "multi_thread")]
async fn manual_approval_of_followers() {
    let Some(a) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let Some(b) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let a = a
        .federated()
        .with_env("GAZETTE_FEDERATION__MANUALLY_APPROVES_FOLLOWERS", "true");
    let b = b.federated();
    let server_a = a.serve_federated(&["--demo"]);
    let _server_b = b.serve_federated(&["--demo"]);
    let host_a = server_a.base.trim_start_matches("http://").to_owned();
    let camille = server_a.url("/users/camille_renard");
    assert_eq!(as2(&camille).await["manuallyApprovesFollowers"], true);

    // Rejected: B's follow disappears on both sides.
    b.ok(&["follow", &format!("@camille_renard@{host_a}")]);
    let b_demo = eventually("the pending follow on A", DEADLINE, || async {
        let list = a.ok(&["followers", "list", "--pending"]);
        list.lines()
            .find(|l| l.contains("camille_renard") && l.contains("pending"))
            .map(|l| l.rsplit('(').next().unwrap().trim_end_matches(')').to_owned())
    })
    .await;
    assert_eq!(
        as2(&format!("{camille}/followers")).await["totalItems"],
        0,
        "pending followers are not counted"
    );
    assert!(b.ok(&["following"]).contains("pending"));
    a.ok(&["followers", "reject", &b_demo]);
    eventually("B to learn of the rejection", DEADLINE, || async {
        (!b.ok(&["following"]).contains("camille_renard")).then_some(())
    })
    .await;
    assert!(
        a.fails(&["followers", "approve", &b_demo])
            .contains("no pending follow")
    );

    // Approved: accepted on both sides.
    b.ok(&["follow", &format!("@camille_renard@{host_a}")]);
    eventually("the second pending follow on A", DEADLINE, || async {
        a.ok(&["followers", "list", "--pending"])
            .contains(&b_demo)
            .then_some(())
    })
    .await;
    let out = a.ok(&["followers", "approve", &b_demo, "--actor", "camille_renard"]);
    assert!(out.contains("camille_renard"), "{out}");
    eventually("B's follow to be accepted", DEADLINE, || async {
        b.ok(&["following"]).contains("accepted").then_some(())
    })
    .await;
    assert_eq!(as2(&format!("{camille}/followers")).await["totalItems"], 1);
    assert!(a.ok(&["followers", "list"]).contains(&b_demo));
}

/// The organisation of each instance likes, boosts and replies to an
/// article of the other (A by the CLI, B by the API); the article's page
/// and its AS2 counts show them, and taking them back removes them. A also
/// follows an author of B and receives B's new article.
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_like_boost_and_reply_both_ways() {
    let Some(a) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let Some(b) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let (a, b) = (a.federated(), b.federated());
    let server_a = a.serve_federated(&["--demo"]);
    let server_b = b.serve_federated(&["--demo"]);
    let article_a = server_a.url("/articles/permanences-comprendre-sa-facture-hiver-2026");
    let article_b = server_b.url("/articles/share-offer-solar-roofs-social-housing");
    let counts = |url: String| async move {
        let o = as2(&url).await;
        (
            o["likes"]["totalItems"].as_i64().unwrap(),
            o["shares"]["totalItems"].as_i64().unwrap(),
            o["replies"]["totalItems"].as_i64().unwrap(),
        )
    };

    // A → B, from the command line.
    let out = a.ok(&["like", &article_b]);
    assert!(out.contains("like of"), "{out}");
    a.ok(&["boost", &article_b]);
    let out = a.ok(&[
        "reply",
        &article_b,
        "Bravo from **instance A**: we will share this offer. #SharedOffer",
    ]);
    let note = out.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(note.starts_with(&server_a.url("/notes/")), "{out}");
    eventually("B to count A's like, boost and reply", DEADLINE, || async {
        (counts(article_b.clone()).await == (1, 1, 1)).then_some(())
    })
    .await;
    let page = text(&article_b).await;
    assert!(page.contains("Likes: 1") && page.contains("Boosts: 1"), "{page}");
    assert!(
        page.contains("Bravo from <strong>instance A</strong>: we will share this offer."),
        "{page}"
    );
    let reply = as2(&note).await;
    assert_eq!(reply["type"], "Note");
    assert_eq!(reply["inReplyTo"], as2(&article_b).await["id"]);
    // FEP-7888: in the thread B's article names.
    let thread_b = as2(&article_b).await["context"].clone();
    assert!(thread_b.as_str().is_some_and(|c| c.ends_with("/replies")), "{thread_b}");
    assert_eq!(reply["context"], thread_b, "{reply}");
    assert_eq!(reply["tag"][0]["type"], "Mention");
    // Its language, its hashtag (linked as Mastodon writes it) and its own page.
    assert_eq!(reply["url"], note.as_str());
    assert_eq!(reply["contentMap"]["en"], reply["content"], "{reply}");
    assert_eq!(reply["tag"][1]["type"], "Hashtag", "{reply}");
    assert_eq!(reply["tag"][1]["name"], "#SharedOffer");
    assert!(
        reply["content"]
            .as_str()
            .unwrap()
            .contains("class=\"mention hashtag\" rel=\"tag\">#<span>SharedOffer</span></a>"),
        "{reply}"
    );
    let shown = common::http_get(&note).await.unwrap();
    assert_eq!(shown.status(), 200, "a browser gets the reply, not a redirect");
    assert!(shown.url().as_str() == note, "no redirect");
    let shown = shown.text().await.unwrap();
    assert!(
        shown.contains("Bravo from <strong>instance A</strong>")
            && shown.contains(&format!("href=\"{}\"", reply["inReplyTo"].as_str().unwrap())),
        "{shown}"
    );

    // What makes no sense is refused with a message that says why.
    let err = a.fails(&["like", &article_b]);
    assert!(err.contains("already"), "{err}");
    let err = a.fails(&["like", &article_a]);
    assert!(err.contains("on this instance"), "{err}");
    let err = a.fails(&["reply", &article_b]);
    assert!(err.contains("needs some text"), "{err}");

    // Taking them back.
    a.ok(&["like", &article_b, "--undo"]);
    a.ok(&["reply", &note, "--delete"]);
    eventually("B to drop the like and the reply", DEADLINE, || async {
        (counts(article_b.clone()).await == (0, 1, 0)).then_some(())
    })
    .await;
    assert!(!text(&article_b).await.contains("Bravo from"));
    let gone = common::test_client()
        .get(&note)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);

    // A follows B (the other way round from the test above) and gets B's
    // new articles on its network page.
    let host_b = server_b.base.trim_start_matches("http://").to_owned();
    a.ok(&["follow", &format!("@tom_verbeke@{host_b}")]);
    eventually("A's follow of tom to be accepted", DEADLINE, || async {
        a.ok(&["following"]).contains("accepted").then_some(())
    })
    .await;
    let file = b.write(
        "from-b.md",
        "---\nslug: from-b\nkind: news\ntitle: News from instance B\nsummary: For A's network page.\n\
         language: en\nauthor: tom_verbeke\n---\nBody.\n",
    );
    b.ok(&["publish", path(&file)]);
    eventually("B's article on A's /network", DEADLINE, || async {
        text(&server_a.url("/network"))
            .await
            .contains("News from instance B")
            .then_some(())
    })
    .await;

    // B → A, through the API.
    let token = common::last_line(&b.ok(&["token", "create", "interactions"])).to_owned();
    let api = common::test_client();
    let post = |body: Value| {
        api.post(server_b.url("/api/interactions"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let boost = post(serde_json::json!({ "kind": "boost", "object": article_a }))
        .await
        .unwrap();
    assert_eq!(boost.status(), 201);
    let boost: Value = boost.json().await.unwrap();
    let resp = post(serde_json::json!({ "kind": "reply", "object": article_a, "content": "Merci, *instance B*." }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = post(serde_json::json!({ "kind": "wave", "object": article_a }))
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "kind", "{body}");
    eventually("A to count B's boost and reply", DEADLINE, || async {
        (counts(article_a.clone()).await == (0, 1, 1)).then_some(())
    })
    .await;
    assert!(text(&article_a).await.contains("Merci, <em>instance B</em>."));
    let undone = api
        .delete(server_b.url(&format!("/api/interactions/{}", boost["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(undone.status(), 204);
    eventually("A to drop B's boost", DEADLINE, || async {
        (counts(article_a.clone()).await == (0, 0, 1)).then_some(())
    })
    .await;
}
