//! End-to-end tests of `gazette serve` on SQLite and PostgreSQL: the demo
//! instance, scheduled publishing, durability across `kill -9`, and run-time
//! settings and stable error codes through the API, and the cache of public
//! answers following every write.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{Env, eventually, last_line, path};
use serde_json::json;

both_backends!(
    demo_instance_serves_pages_feeds_and_api,
    scheduled_article_publishes_itself,
    acknowledged_writes_survive_kill_9,
    settings_and_error_codes_through_the_api,
    public_answers_follow_every_write
);

async fn demo_instance_serves_pages_feeds_and_api(env: Env) {
    let server = env.serve(&["--demo"]);
    let client = common::test_client();
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
    let page = common::http_get(server.url("/articles/later")).await.unwrap();
    // Checked only when the answer came before the publication time: on a
    // loaded machine the CLI alone can take that long.
    if chrono::Utc::now() < due {
        assert_eq!(page.status(), 404, "not public before its time");
    }
    eventually(
        "the scheduled article to be published",
        Duration::from_secs(20),
        || async {
            let r = common::http_get(server.url("/articles/later")).await.ok()?;
            (r.status() == 200).then_some(())
        },
    )
    .await;
    assert!(env.ok(&["article", "show", "later"]).contains("status:    published"));
}

async fn acknowledged_writes_survive_kill_9(env: Env) {
    let token = last_line(&env.ok(&["init"])).to_owned();
    let server = env.serve(&["--demo"]);
    let client = common::test_client();
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
        let r = common::http_get(server.url(&format!("/articles/{slug}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{slug} survived kill -9");
    }
}

async fn settings_and_error_codes_through_the_api(env: Env) {
    let token = last_line(&env.ok(&["init"])).to_owned();
    let server = env.serve(&["--demo"]);
    let client = common::test_client();
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
        common::http_get(server.url(&format!("/articles/{slug}")))
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
    let home = common::http_get(server.url("/")).await.unwrap().text().await.unwrap();
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

/// A GET of a public answer: status, headers and text.
async fn read(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap_or_default())
}

/// The public answers kept in memory (`crates/web/src/cache`) change with
/// every write that changes them, at once when the write came through this
/// server and within the change signal's delay when another process wrote
/// (`gazette publish`); they answer 304 to their ETag, come compressed, and
/// tell proxies how long to keep them.
async fn public_answers_follow_every_write(env: Env) {
    let token = last_line(&env.ok(&["init"])).to_owned();
    let server = env.serve(&["--demo"]);
    let client = common::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let api = |method: reqwest::Method, p: &str, body: Option<serde_json::Value>| {
        let mut req = client
            .request(method, server.url(&format!("/api{p}")))
            .bearer_auth(&token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(status.is_success(), "{status} {text}");
            serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default()
        }
    };
    let article = |status: &str, title: &str, de: bool| {
        let mut translations = vec![json!({"language": "en", "title": title, "summary": "S", "body": "Body"})];
        if de {
            translations.push(json!({"language": "de", "title": "Zweiter Titel", "summary": "S", "body": "Text"}));
        }
        json!({
            "slug": "cache-check", "kind": "news", "status": status, "language": "en",
            "author": "tom_verbeke", "tags": ["cachetag"], "translations": translations,
        })
    };
    let as2 = [("accept", "application/activity+json")];
    let de = [("accept-language", "de")];
    api(
        reqwest::Method::POST,
        "/articles",
        Some(article("published", "First title", false)),
    )
    .await;
    let listings = [
        "/",
        "/tags/cachetag",
        "/authors/tom_verbeke",
        "/feed.atom",
        "/tags/cachetag/feed.atom",
    ];
    let page = server.url("/articles/cache-check");

    // Filled, then served from memory: the same bytes and ETag.
    for p in listings.iter().copied().chain(["/articles/cache-check"]) {
        let (s1, h1, t1) = read(&client, &server.url(p), &[]).await;
        let (s2, h2, t2) = read(&client, &server.url(p), &[]).await;
        assert_eq!((s1, s2), (200, 200), "{p}");
        assert!(t1.contains("First title"), "{p}: {t1}");
        assert_eq!((&h1["etag"], &t1), (&h2["etag"], &t2), "{p}");
    }
    let (_, _, object) = read(&client, &page, &as2).await;
    assert!(object.contains("First title"), "{object}");
    let (_, _, german) = read(&client, &page, &de).await;
    assert!(german.contains("First title"), "no German yet");

    // Conditional requests, compression, Vary and Cache-Control.
    let (_, headers, body) = read(&client, &page, &[]).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    let vary = headers["vary"].to_str().unwrap();
    assert!(
        ["Accept", "Accept-Encoding", "Accept-Language"]
            .iter()
            .all(|v| vary.split(", ").any(|x| x == *v)),
        "{vary}"
    );
    let cache_control = headers["cache-control"].to_str().unwrap();
    assert!(
        cache_control.contains("public")
            && cache_control.contains("s-maxage")
            && cache_control.contains("stale-while-revalidate"),
        "{cache_control}"
    );
    let last_modified = headers["last-modified"].to_str().unwrap().to_owned();
    let (status, h, _) = read(&client, &page, &[("if-none-match", &etag)]).await;
    assert_eq!((status, &h["etag"]), (304, &headers["etag"]));
    let (status, _, _) = read(&client, &page, &[("if-modified-since", &last_modified)]).await;
    assert_eq!(status, 304);
    let (status, _, _) = read(&client, &page, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(status, 200);
    for (accept, coding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let resp = client
            .get(&page)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-encoding"], coding);
        let compressed = resp.bytes().await.unwrap();
        assert!(
            compressed.len() < body.len() / 2,
            "{coding}: {} bytes",
            compressed.len()
        );
    }
    let (_, h, _) = read(&client, &server.url("/users/demo"), &as2).await;
    assert!(h["vary"].to_str().unwrap().contains("Accept"), "{:?}", h["vary"]);

    // An edit with a translation added: every answer at once.
    api(
        reqwest::Method::PUT,
        "/articles/cache-check",
        Some(article("published", "Second title", true)),
    )
    .await;
    for p in listings.iter().copied().chain(["/articles/cache-check"]) {
        let (_, _, text) = read(&client, &server.url(p), &[]).await;
        assert!(text.contains("Second title") && !text.contains("First title"), "{p}");
    }
    let (_, _, object) = read(&client, &page, &as2).await;
    assert!(object.contains("Second title"), "{object}");
    let (_, _, german) = read(&client, &page, &de).await;
    assert!(german.contains("Zweiter Titel"), "the translation, negotiated");
    let (status, h, _) = read(&client, &page, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 200, "the old ETag no longer matches");
    assert_ne!(h["etag"].to_str().unwrap(), etag);

    // Author and organisation profiles: their pages, actors and the article.
    let (_, _, actor) = read(&client, &server.url("/users/tom_verbeke"), &as2).await;
    assert!(!actor.contains("Tom Renamed"));
    let mut author = api(reqwest::Method::GET, "/authors/tom_verbeke", None).await;
    author["name"] = json!("Tom Renamed");
    api(reqwest::Method::PUT, "/authors/tom_verbeke", Some(author)).await;
    for (p, accept) in [
        ("/users/tom_verbeke", &as2[..]),
        ("/authors/tom_verbeke", &[][..]),
        ("/articles/cache-check", &[][..]),
    ] {
        let (_, _, text) = read(&client, &server.url(p), accept).await;
        assert!(text.contains("Tom Renamed"), "{p}");
    }
    let (_, _, org_actor) = read(&client, &server.url("/users/demo"), &as2).await;
    assert!(!org_actor.contains("Solstice Renamed"));
    let mut org = api(reqwest::Method::GET, "/organisation", None).await;
    org["name"] = json!("Solstice Renamed");
    api(reqwest::Method::PUT, "/organisation", Some(org)).await;
    for (p, accept) in [("/users/demo", &as2[..]), ("/", &[][..])] {
        let (_, _, text) = read(&client, &server.url(p), accept).await;
        assert!(text.contains("Solstice Renamed"), "{p}");
    }

    // A 404 is not kept: the author created afterwards is found.
    let finger = server.url(&format!(
        "/.well-known/webfinger?resource=acct:cache_author@{}",
        server.url("").trim_start_matches("http://").trim_end_matches('/')
    ));
    assert_eq!(read(&client, &finger, &[]).await.0, 404);
    api(
        reqwest::Method::POST,
        "/authors",
        Some(json!({"username": "cache_author", "name": "Cache Author", "bio": ""})),
    )
    .await;
    assert_eq!(read(&client, &finger, &[]).await.0, 200);

    // Unpublished: gone from its page and the listings at once.
    api(reqwest::Method::POST, "/articles/cache-check/unpublish", None).await;
    assert_eq!(read(&client, &page, &[]).await.0, 404);
    assert_eq!(read(&client, &page, &as2).await.0, 404);
    for p in listings {
        let (_, _, text) = read(&client, &server.url(p), &[]).await;
        assert!(!text.contains("Second title"), "{p}");
    }
    api(reqwest::Method::POST, "/articles/cache-check/publish", None).await;
    assert_eq!(read(&client, &page, &[]).await.0, 200);

    // Deleted: 410, which proxies may repeat but not as an old 200.
    let resp = client
        .delete(server.url("/api/articles/cache-check"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    for _ in 0..2 {
        let (status, h, _) = read(&client, &page, &[]).await;
        assert_eq!(status, 410);
        let cc = h["cache-control"].to_str().unwrap();
        assert!(!cc.contains("stale-while-revalidate"), "{cc}");
    }
    for p in listings {
        let (_, _, text) = read(&client, &server.url(p), &[]).await;
        assert!(!text.contains("Second title"), "{p}");
    }

    // Another process: `gazette publish` beside the server. Its edit shows
    // within the change signal's delay (100 ms; the deadline is for slow machines).
    let write = |title: &str| {
        env.write(
            "cli.md",
            format!("---\nslug: cli-edit\nkind: news\ntitle: {title}\nlanguage: en\nauthor: tom_verbeke\ntags: [clitag]\n---\nFrom the CLI.\n"),
        )
    };
    env.ok(&["publish", path(&write("CLI first"))]);
    let cli_page = server.url("/articles/cli-edit");
    for p in [cli_page.clone(), server.url("/tags/clitag")] {
        eventually("the CLI's article", Duration::from_secs(10), || async {
            read(&client, &p, &[]).await.2.contains("CLI first").then_some(())
        })
        .await;
    }
    let (_, _, object) = read(&client, &cli_page, &as2).await;
    assert!(object.contains("CLI first"));
    env.ok(&["publish", "--update", path(&write("CLI second"))]);
    for (p, accept) in [
        (cli_page.clone(), &[][..]),
        (cli_page.clone(), &as2[..]),
        (server.url("/tags/clitag"), &[][..]),
        (server.url("/feed.atom"), &[][..]),
    ] {
        eventually("the CLI's edit", Duration::from_secs(10), || async {
            let text = read(&client, &p, accept).await.2;
            (text.contains("CLI second") && !text.contains("CLI first")).then_some(())
        })
        .await;
    }
    env.ok(&["article", "delete", "cli-edit"]);
    eventually("the CLI's deletion", Duration::from_secs(10), || async {
        (read(&client, &cli_page, &[]).await.0 == 410).then_some(())
    })
    .await;
}
