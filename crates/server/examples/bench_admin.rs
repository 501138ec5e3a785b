//! The admin benchmark (run by `scripts/bench-admin`, results in
//! docs/benchmarks.md): every admin page must render in under 30 ms at
//! p99 with 10,000 articles and 50,000 followers in the database.
//!
//! `bench_admin seed --database-url URL --public-url URL [--articles N]
//! [--followers N]` adds published articles (by the demo authors, half of
//! them bilingual), followers of the organisation and its authors on 1,000
//! servers (100 waiting for approval), replies waiting for moderation and
//! a report, to a database that already has the demo content. The
//! articles' federation events are marked done, so a server started on it
//! sends nothing.
//!
//! `bench_admin measure --database-url URL --base URL --public-url URL
//! --user NAME --password PW [--requests N]` signs in like a browser and requests each
//! admin page N times, one at a time, printing p50, p90, p99 and max.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use gazette_core::validate::{self, NoLines};
use gazette_core::{ArticleInput, ArticleStatus, Comment, FollowStatus, Interviewee, RemoteActor, TranslationInput};
use gazette_store::{ArticleQuery, Store};

fn args() -> (String, HashMap<String, String>) {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_default();
    let mut opts = HashMap::new();
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        opts.insert(k.trim_start_matches("--").to_owned(), v);
    }
    (cmd, opts)
}

#[tokio::main]
async fn main() {
    let (cmd, opts) = args();
    let get = |k: &str| opts.get(k).cloned().unwrap_or_else(|| panic!("missing --{k}"));
    let num = |k: &str, d: usize| opts.get(k).map(|v| v.parse().unwrap()).unwrap_or(d);
    let store = Store::connect(&get("database-url"), 4).await.unwrap();
    match cmd.as_str() {
        "seed" => {
            seed(
                &store,
                &get("public-url"),
                num("articles", 10_000),
                num("followers", 50_000),
            )
            .await
        }
        "measure" => {
            measure(
                &store,
                &get("base"),
                &get("user"),
                &get("password"),
                &get("public-url"),
                num("requests", 300),
            )
            .await
        }
        other => panic!("unknown command `{other}`: seed or measure"),
    }
    store.close().await;
}

const WORDS: &[&str] = &[
    "cooperative",
    "energy",
    "housing",
    "mutual",
    "solidarity",
    "members",
    "village",
    "school",
    "roof",
    "network",
    "care",
    "food",
    "workers",
    "credit",
    "circular",
    "repair",
    "commons",
    "youth",
    "rural",
    "city",
];

fn words(seed: usize, n: usize) -> String {
    (0..n)
        .map(|i| WORDS[(seed.wrapping_mul(31).wrapping_add(i * 7)) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

async fn seed(store: &Store, public_url: &str, articles: usize, followers: usize) {
    let started = Instant::now();
    let authors = store.list_authors().await.unwrap();
    assert!(
        !authors.is_empty(),
        "seed a database with the demo content first (gazette serve --demo)"
    );
    let org = store.get_organisation().await.unwrap();
    let now = Utc::now();
    for i in 0..articles {
        let body = format!(
            "## {}\n\n{}.\n\n> {}\n\n{}.",
            words(i, 3),
            words(i + 1, 60),
            words(i + 2, 12),
            words(i + 3, 80)
        );
        let mut translations = vec![TranslationInput {
            language: "en".into(),
            title: format!("{} {i}", words(i, 6)),
            summary: words(i + 5, 25),
            body: body.clone(),
            ..Default::default()
        }];
        if i % 2 == 0 {
            translations.push(TranslationInput {
                language: "fr".into(),
                title: format!("{} {i} (fr)", words(i + 9, 6)),
                summary: words(i + 11, 25),
                body,
                ..Default::default()
            });
        }
        let input = ArticleInput {
            slug: Some(format!("bench-{i}")),
            kind: if i % 3 == 0 { "interview" } else { "news" }.into(),
            status: Some("published".into()),
            language: "en".into(),
            translations,
            tags: vec![WORDS[i % WORDS.len()].into(), "SocialEconomy".into()],
            author: authors[i % authors.len()].username.clone(),
            publish_at: Some((now - chrono::Duration::minutes(i as i64)).to_rfc3339()),
            interviewee: (i % 3 == 0).then(|| Interviewee {
                name: format!("Person {i}"),
                role: "Director".into(),
                organisation: format!("{} cooperative", WORDS[i % WORDS.len()]),
                bio: words(i + 4, 15),
                ..Default::default()
            }),
            ..Default::default()
        };
        let new = validate::article(&input, ArticleStatus::Draft, now, &NoLines, &|_| 1).unwrap();
        store.create_article(&new).await.unwrap();
    }
    // Nothing to federate: nobody followed when these were "published".
    loop {
        let events = store.pending_article_events(1000).await.unwrap();
        if events.is_empty() {
            break;
        }
        for e in events {
            store.finish_article_event(&e.id).await.unwrap();
        }
    }
    println!("{articles} articles in {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut locals = vec![format!("{public_url}/users/{}", org.username)];
    locals.extend(authors.iter().map(|a| format!("{public_url}/users/{}", a.username)));
    let remote = |i: usize| {
        let host = format!("server{}.example", i % 1000);
        let id = format!("https://{host}/users/member{i}");
        RemoteActor {
            kind: "Person".into(),
            preferred_username: format!("member{i}"),
            name: format!("Member {i}"),
            inbox: format!("{id}/inbox"),
            shared_inbox: Some(format!("https://{host}/inbox")),
            url: Some(format!("https://{host}/@member{i}")),
            icon: None,
            public_key_id: format!("{id}#main-key"),
            public_key_pem: "PEM".into(),
            moved_to: None,
            refreshed_at: now - chrono::Duration::seconds(i as i64),
            host,
            id,
        }
    };
    // Four in five follow the organisation (100 of them waiting for
    // approval), the others the authors.
    let all: Vec<RemoteActor> = (0..followers).map(remote).collect();
    let (org_part, rest) = all.split_at(followers * 4 / 5);
    let (pending, org_part) = org_part.split_at(100.min(org_part.len()));
    gazette_store::testing::seed_followers(store, &locals[0], org_part, FollowStatus::Accepted)
        .await
        .unwrap();
    gazette_store::testing::seed_followers(store, &locals[0], pending, FollowStatus::Pending)
        .await
        .unwrap();
    let per_author = rest.len().div_ceil(locals.len() - 1).max(1);
    for (chunk, local) in rest.chunks(per_author).zip(&locals[1..]) {
        gazette_store::testing::seed_followers(store, local, chunk, FollowStatus::Accepted)
            .await
            .unwrap();
    }
    println!("{followers} followers in {:.1} s", started.elapsed().as_secs_f64());

    let recent = store
        .list_articles(&ArticleQuery::published(50, 0))
        .await
        .unwrap()
        .articles;
    for (i, a) in all.iter().take(200).enumerate() {
        let article = &recent[i % recent.len()];
        store
            .upsert_comment(&Comment {
                id: format!("{}/notes/{i}", a.id),
                article_id: article.id.clone(),
                actor: a.id.clone(),
                url: None,
                content_html: format!("<p>{}</p>", words(i, 30)),
                language: Some("en".into()),
                status: if i % 4 == 0 { "visible" } else { "pending" }.into(),
                published_at: now - chrono::Duration::minutes(i as i64),
                updated_at: now,
            })
            .await
            .unwrap();
    }
    store
        .add_report(
            "https://server1.example/flags/1",
            "https://server1.example/actor",
            std::slice::from_ref(&all[1].id),
            "Benchmark report",
        )
        .await
        .unwrap();
    gazette_store::testing::settle(store).await.unwrap();
}

async fn measure(store: &Store, base: &str, user: &str, password: &str, public_url: &str, requests: usize) {
    // reqwest is built without a TLS provider of its own.
    gazette_federation::install_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = sign_in(&client, base, user, password).await;
    let article = store
        .list_articles(&ArticleQuery::published(1, 0))
        .await
        .unwrap()
        .articles
        .remove(0);
    let org = store.get_organisation().await.unwrap();
    // The oldest page of the organisation's followers, by cursor: the
    // follower just before the last 50.
    let org_id = format!("{public_url}/users/{}", org.username);
    let accepted = store
        .count_followers_with_status(&org_id, FollowStatus::Accepted)
        .await
        .unwrap();
    let before_last = store
        .list_followers(&org_id, FollowStatus::Accepted, 1, (accepted - 51).max(0))
        .await
        .unwrap()
        .remove(0);
    let deepest = gazette_store::FollowerCursor {
        since: before_last.since,
        follower: before_last.actor.id,
    }
    .encode();
    let pages = [
        "/admin".to_owned(),
        "/admin/articles".to_owned(),
        "/admin/articles?status=published&q=solidarity&page=3".to_owned(),
        "/admin/articles?q=solidarity".to_owned(),
        "/admin/articles?q=solidarity&page=200".to_owned(),
        "/admin/articles?page=400".to_owned(),
        format!("/admin/articles/{}", article.id),
        format!("/admin/articles/{}/interactions", article.id),
        "/admin/articles/new".to_owned(),
        "/admin/comments".to_owned(),
        "/admin/media".to_owned(),
        "/admin/followers".to_owned(),
        format!(
            "/admin/followers?actor={}&status=accepted&before={}",
            org.username,
            encode(&deepest)
        ),
        format!(
            "/admin/followers?actor={}&status=accepted&host=server7.example",
            org.username
        ),
        format!("/admin/followers?actor={}&status=pending", org.username),
        // A search matching about a hundred followers, and one matching none
        // (the whole index read).
        format!("/admin/followers?actor={}&status=accepted&q=member399", org.username),
        format!("/admin/followers?actor={}&status=accepted&q=nobody-here", org.username),
        "/admin/reports".to_owned(),
        "/admin/blocks".to_owned(),
        "/admin/deliveries".to_owned(),
        "/admin/users".to_owned(),
        "/admin/tokens".to_owned(),
        "/admin/organisation".to_owned(),
        "/admin/authors".to_owned(),
        "/admin/settings".to_owned(),
        "/admin/account".to_owned(),
    ];
    println!(
        "{:<56} {:>7} {:>7} {:>7} {:>7} {:>6}",
        "page", "p50 ms", "p90 ms", "p99 ms", "max ms", "KiB"
    );
    let mut worst = Duration::ZERO;
    for path in &pages {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(requests);
        let mut size = 0;
        for i in 0..requests + 20 {
            let t = Instant::now();
            let r = client.get(&url).header("cookie", &cookie).send().await.unwrap();
            let status = r.status();
            let body = r.bytes().await.unwrap();
            let elapsed = t.elapsed();
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
            size = body.len();
            // The first requests warm the caches and the connection.
            if i >= 20 {
                times.push(elapsed);
            }
        }
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 * p / 100.0).ceil() as usize).clamp(1, times.len()) - 1];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        worst = worst.max(pct(99.0));
        println!(
            "{:<56} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>6.1}",
            path,
            ms(pct(50.0)),
            ms(pct(90.0)),
            ms(pct(99.0)),
            ms(*times.last().unwrap()),
            size as f64 / 1024.0
        );
    }
    println!("worst p99: {:.2} ms (goal: under 30 ms)", worst.as_secs_f64() * 1000.0);
}

/// Signs in as a browser does; returns the `Cookie` header of the session.
async fn sign_in(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let r = client.get(format!("{base}/admin/login")).send().await.unwrap();
    let form_cookie = cookie_of(&r, "gazette_form");
    let html = r.text().await.unwrap();
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let r = client
        .post(format!("{base}/admin/login"))
        .header("cookie", format!("gazette_form={form_cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={}&password={}&_csrf={csrf}&next=%2Fadmin",
            encode(user),
            encode(password)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "sign-in failed");
    format!("gazette_session={}", cookie_of(&r, "gazette_session"))
}

fn cookie_of(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
