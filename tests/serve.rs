//! End-to-end tests of `gazette serve` on SQLite and PostgreSQL: the demo
//! instance, scheduled publishing, durability across `kill -9`, and run-time
//! settings and stable error codes through the API.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Env, eventually, last_line, path};
use serde_json::json;

both_backends!(
    demo_instance_serves_pages_feeds_and_api,
    scheduled_article_publishes_itself,
    acknowledged_writes_survive_kill_9,
    settings_and_error_codes_through_the_api
);

async fn demo_instance_serves_pages_feeds_and_api(env: Env) {
    let server = env.serve(&["--demo"]);
    let client = reqwest::Client::new();
    let get = |p: &str| client.get(server.url(p)).send();

    let health = get("/healthz").await.unwrap();
    assert_eq!(health.status(), 200);

    let home = get("/").await.unwrap().text().await.unwrap();
    assert!(home.contains("Solstice Commun"), "home shows the organisation");
    let links: Vec<&str> = home
        .match_indices("href=\"/articles/")
        .map(|(i, _)| &home[i + 6..])
        .collect();
    assert!(links.len() >= 3, "home lists the interview and two news items");

    let slug = "maite-delcourt-solstice-commun-energie-citoyenne";
    let fr = client
        .get(server.url(&format!("/articles/{slug}")))
        .header("Accept-Language", "fr-BE,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(fr.status(), 200);
    let fr = fr.text().await.unwrap();
    assert!(fr.contains("lang=\"fr\"") && fr.contains("Présentation de Maïté Delcourt"));
    let en = client
        .get(server.url(&format!("/articles/{slug}")))
        .header("Accept-Language", "en-GB,en")
        .send()
        .await
        .unwrap();
    let en = en.text().await.unwrap();
    assert!(en.contains("lang=\"en\""), "Accept-Language picks English");
    assert!(en.contains("fediverse:creator") && en.contains("@camille@social.example.org"));
    assert!(en.contains("og:image") && en.contains("NewsArticle"));
    assert!(
        en.contains("General coordinator") && !en.contains("Coordinatrice générale"),
        "the interviewee's role in English on the English page"
    );
    assert!(
        fr.contains("Coordinatrice générale"),
        "and in French on the French page"
    );

    for feed in ["/feed.atom", "/feed/fr.atom", "/tags/cooperatives/feed.atom"] {
        let resp = get(feed).await.unwrap();
        assert_eq!(resp.status(), 200, "{feed}");
        assert!(resp.text().await.unwrap().contains("<entry"), "{feed} has entries");
    }
    assert!(get("/sitemap.xml").await.unwrap().text().await.unwrap().contains(slug));
    assert!(
        get("/robots.txt")
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Sitemap:")
    );
    let openapi: serde_json::Value = get("/api/openapi.json").await.unwrap().json().await.unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3.1"));

    // Restarting with --demo on a non-empty database adds nothing twice.
    drop(server);
    let again = env.serve(&["--demo"]);
    let list = env.ok(&["article", "list"]);
    assert!(list.contains("3 of 3"), "{list}");
    drop(again);
}

async fn scheduled_article_publishes_itself(env: Env) {
    env.ok(&["init"]);
    let server = env.serve(&["--demo"]);
    let due = chrono::Utc::now() + chrono::Duration::seconds(5);
    let at = due.to_rfc3339();
    let file = env.write(
        "later.md",
        format!(
            "---\nslug: later\nkind: news\ntitle: Later\nlanguage: en\nauthor: tom_verbeke\nstatus: scheduled\npublish_at: \"{at}\"\n---\nSoon.\n"
        ),
    );
    env.ok(&["publish", path(&file)]);
    let page = reqwest::get(server.url("/articles/later")).await.unwrap();
    // Checked only when the answer came before the publication time: on a
    // loaded machine the CLI alone can take that long.
    if chrono::Utc::now() < due {
        assert_eq!(page.status(), 404, "not public before its time");
    }
    eventually(
        "the scheduled article to be published",
        Duration::from_secs(20),
        || async {
            let r = reqwest::get(server.url("/articles/later")).await.ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
    assert!(env.ok(&["article", "show", "later"]).contains("status:    published"));
}

async fn acknowledged_writes_survive_kill_9(env: Env) {
    let token = last_line(&env.ok(&["init"])).to_owned();
    let server = env.serve(&["--demo"]);
    let client = reqwest::Client::new();
    let mut slugs = Vec::new();
    for i in 0..20 {
        let slug = format!("durable-{i}");
        let resp = client
            .post(server.url("/api/articles"))
            .bearer_auth(&token)
            .json(&json!({
                "slug": slug, "kind": "news", "status": "published", "language": "en", "author": "tom_verbeke",
                "translations": [{"language": "en", "title": format!("Durable {i}"), "summary": "S", "body": "B"}]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        slugs.push(slug);
    }
    server.kill9();
    let server = env.serve(&[]);
    for slug in slugs {
        let r = reqwest::get(server.url(&format!("/articles/{slug}"))).await.unwrap();
        assert_eq!(r.status(), 200, "{slug} survived kill -9");
    }
}

async fn settings_and_error_codes_through_the_api(env: Env) {
    let token = last_line(&env.ok(&["init"])).to_owned();
    let server = env.serve(&["--demo"]);
    let client = reqwest::Client::new();
    let put = |body: serde_json::Value| {
        client
            .put(server.url("/api/settings"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let list: serde_json::Value = client
        .get(server.url("/api/articles?status=published"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slug = list["items"][0]["slug"].as_str().unwrap().to_owned();
    let page = || async {
        reqwest::get(server.url(&format!("/articles/{slug}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(
        !page().await.contains("Footer from the API"),
        "cached before the change"
    );

    // Every bad value named, with a stable code; nothing stored.
    let bad = put(json!({"set": {"instance.name": " ", "nope": "x", "theme.footer": "fine"}}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let bad: serde_json::Value = bad.json().await.unwrap();
    let codes: Vec<&str> = bad["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["settings_name_required", "settings_unknown"]);
    let now: serde_json::Value = client
        .get(server.url("/api/settings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        now["settings"]["theme.footer"]["overridden"], false,
        "a refused change stores nothing"
    );

    let ok =
        put(json!({"set": {"theme.footer": "Footer from the API", "federation.manually_approves_followers": true}}))
            .await
            .unwrap();
    assert_eq!(ok.status(), 200);
    let ok: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(ok["settings"]["theme.footer"]["value"], "Footer from the API");
    assert_eq!(
        ok["settings"]["federation.manually_approves_followers"]["value"],
        "true"
    );
    assert_eq!(ok["settings"]["theme.footer"]["default"], "");
    let home = reqwest::get(server.url("/")).await.unwrap().text().await.unwrap();
    assert!(home.contains("Footer from the API"), "the home page at once");
    assert!(
        page().await.contains("Footer from the API"),
        "the cached article page too"
    );
    let reset = put(json!({"reset": ["theme.footer"]})).await.unwrap();
    assert_eq!(reset.status(), 200);
    assert!(!page().await.contains("Footer from the API"), "gone once put back");

    // The API keeps English messages and adds stable codes.
    let article = |slug: &str, title: &str| {
        json!({
            "slug": slug, "kind": "news", "status": "draft", "language": "en", "author": "tom_verbeke",
            "translations": [{"language": "en", "title": title, "summary": "S", "body": "B"}]
        })
    };
    let post = |body: serde_json::Value| {
        client
            .post(server.url("/api/articles"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let clash = post(article(&slug, "Same address")).await.unwrap();
    assert_eq!(clash.status(), 409);
    let clash: serde_json::Value = clash.json().await.unwrap();
    assert_eq!(clash["error"]["details"][0]["message_code"], "slug_taken");
    let untitled = post(article("untitled", "")).await.unwrap();
    assert_eq!(untitled.status(), 422);
    let untitled: serde_json::Value = untitled.json().await.unwrap();
    let detail = &untitled["error"]["details"][0];
    assert_eq!(detail["message_code"], "title_required_in");
    assert_eq!(detail["params"]["lang"], "en");
    assert!(detail["message"].as_str().unwrap().contains("title is missing"));
}
