//! End-to-end tests of the `gazette` command line on SQLite and PostgreSQL:
//! init, publish (and every bad input it must refuse), update, list, show,
//! delete and tokens, checked through the running server's pages and API.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Env, PNG, last_line, path};

both_backends!(
    init_creates_config_database_and_token,
    publish_update_show_delete,
    publish_refuses_bad_input_and_stores_nothing,
    tokens_create_list_revoke,
);

fn article(slug: &str, title: &str, extra: &str, body: &str) -> String {
    format!(
        "---\nslug: {slug}\nkind: news\ntitle: \"{title}\"\nsummary: A short standfirst.\nlanguage: en\n\
         tags: [SocialEconomy]\nauthor: ana\n{extra}---\n{body}\n"
    )
}

async fn with_author(env: &Env) {
    env.ok(&[
        "init",
        "--org-name",
        "Test Coop",
        "--country",
        "FR",
        "--legal-form",
        "cooperative",
    ]);
    // Authors are created through the API; the CLI test adds one with a token.
    let server = env.serve(&[]);
    let token = last_line(&env.ok(&["token", "create", "setup"])).to_owned();
    let resp = common::test_client()
        .post(server.url("/api/authors"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"username": "ana", "name": "Ana Pereira", "bio": "Writes about cooperatives."}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}

async fn init_creates_config_database_and_token(env: Env) {
    let out = env.ok(&[
        "init",
        "--org-name",
        "Test Coop",
        "--country",
        "be",
        "--legal-form",
        "mutual",
    ]);
    assert!(env.dir.join("gazette.toml").exists());
    let token = last_line(&out);
    assert!(token.starts_with("gzt_"), "{out}");
    // Running it again keeps the config and still works.
    let again = env.ok(&["init"]);
    assert!(again.contains("keeping existing config"), "{again}");
    let bad = env.fails(&["init", "--force", "--org-name", "X", "--country", "ZZ"]);
    assert!(bad.contains("--country") && bad.contains("ZZ"), "{bad}");
    env.ok(&["migrate"]);
}

async fn publish_update_show_delete(env: Env) {
    with_author(&env).await;
    env.write("cover.png", PNG);
    let file = env.write(
        "first.md",
        article(
            "first-news",
            "First news",
            "cover:\n  src: cover.png\n  alt: A single white dot\n",
            "## 🌱 Hello\n\nBody text.",
        ),
    );
    let out = env.ok(&["publish", path(&file)]);
    let url = last_line(&out).to_owned();
    assert!(url.ends_with("/articles/first-news"), "{out}");
    let shown = env.ok(&["article", "show", "first-news"]);
    let id = shown
        .lines()
        .find_map(|l| l.strip_prefix("id:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(shown.contains("status:    published"), "{shown}");

    let server = env.serve(&[]);
    let page = common::http_get(server.url("/articles/first-news")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("First news") && html.contains("🌱 Hello"), "{html}");

    // Publishing the same slug again is a clash, refused with the field named.
    let clash = env.fails(&["publish", path(&file)]);
    assert!(clash.contains("slug") && clash.contains("first-news"), "{clash}");

    // --update replaces the article and keeps its id, by slug or by URL.
    let file2 = env.write(
        "first.md",
        article("first-news", "First news, edited", "", "Edited body."),
    );
    env.ok(&["publish", "--update", path(&file2)]);
    let shown = env.ok(&["article", "show", &url]);
    assert!(shown.contains(&format!("id:        {id}")), "{shown}");
    assert!(shown.contains("First news, edited"), "{shown}");
    // The running server (which rendered the page before) shows the edit
    // as soon as it notices another process wrote (a fraction of a second).
    common::eventually(
        "the edit on the running server",
        std::time::Duration::from_secs(10),
        || async {
            let html = common::http_get(server.url("/articles/first-news"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (html.contains("First news, edited") && html.contains("Edited body.")).then_some(())
        },
    )
    .await;
    let renamed = env.write("renamed.md", article("renamed-news", "Renamed", "", "Body."));
    let out = env.ok(&["publish", "--update", "--url", &url, path(&renamed)]);
    assert!(last_line(&out).ends_with("/articles/renamed-news"));
    assert!(env.ok(&["article", "show", "renamed-news"]).contains(&id));
    let missing = env.fails(&[
        "publish",
        "--update",
        path(&env.write("new.md", article("brand-new", "New", "", "B"))),
    ]);
    assert!(
        missing.contains("--update") && missing.contains("brand-new"),
        "{missing}"
    );

    let list = env.ok(&["article", "list"]);
    assert!(list.contains("renamed-news") && list.contains("1 of 1"), "{list}");

    let deleted = env.ok(&["article", "delete", "renamed-news"]);
    assert!(last_line(&deleted).ends_with("/articles/renamed-news"));
    let gone = common::http_get(server.url("/articles/renamed-news")).await.unwrap();
    assert_eq!(gone.status(), 410);
    assert!(
        env.fails(&["article", "delete", "renamed-news"])
            .contains("already deleted")
    );
    assert!(env.fails(&["article", "show", "nothing-here"]).contains("nothing-here"));
}

async fn publish_refuses_bad_input_and_stores_nothing(env: Env) {
    let env = env.with_env("GAZETTE_MEDIA__MAX_UPLOAD_BYTES", "1000");
    with_author(&env).await;
    env.write("ok.png", PNG);
    env.write("big.png", [PNG, &vec![0u8; 2000]].concat());
    env.write("notes.txt", "not an image at all");
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "unknown kind",
            article("a", "T", "", "B").replace("kind: news", "kind: opinion"),
            &["kind", "opinion", "line 3"],
        ),
        (
            "missing title",
            article("a", "T", "", "B").replace("title: \"T\"\n", ""),
            &["title"],
        ),
        (
            "unknown language",
            article("a", "T", "", "B").replace("language: en", "language: xx"),
            &["language", "xx"],
        ),
        (
            "image without alt",
            article("a", "T", "cover:\n  src: ok.png\n", "B"),
            &["cover.alt"],
        ),
        (
            "oversized image",
            article("a", "T", "cover:\n  src: big.png\n  alt: Big\n", "B"),
            &["cover", "1000"],
        ),
        (
            "not an image",
            article("a", "T", "cover:\n  src: notes.txt\n  alt: Notes\n", "B"),
            &["cover", "not a JPEG, PNG"],
        ),
        (
            "script in body",
            article("a", "T", "", "Fine.\n\n<script>alert(1)</script>"),
            &["body", "script", "line 12"],
        ),
        (
            "javascript link",
            article("a", "T", "", "[click](javascript:alert(1))"),
            &["body", "javascript:"],
        ),
        (
            "unknown key",
            article("a", "T", "titel: oops\n", "B"),
            &["titel", "line 9"],
        ),
    ];
    for (what, text, needles) in cases {
        let file = env.write("bad.md", text);
        let err = env.fails(&["publish", path(&file)]);
        for n in needles {
            assert!(err.contains(n), "{what}: expected `{n}` in: {err}");
        }
    }
    // A slug clash is refused too, and the first article is untouched.
    let first = env.write("one.md", article("one", "One", "", "B"));
    env.ok(&["publish", path(&first)]);
    let clash = env.write(
        "two.md",
        article("one", "Two", "cover:\n  src: ok.png\n  alt: Dot\n", "B"),
    );
    assert!(env.fails(&["publish", path(&clash)]).contains("slug"));
    let list = env.ok(&["article", "list"]);
    assert!(list.contains("1 of 1") && list.contains("One"), "{list}");
    // Nothing half-written: the refused article's image was not stored.
    let server = env.serve(&[]);
    let token = last_line(&env.ok(&["token", "create", "check"])).to_owned();
    let media: serde_json::Value = common::test_client()
        .get(server.url("/api/media"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(media["items"].as_array().map(Vec::len), Some(0), "{media}");
}

async fn tokens_create_list_revoke(env: Env) {
    env.ok(&["init"]);
    let secret = last_line(&env.ok(&["token", "create", "publisher"])).to_owned();
    let server = env.serve(&[]);
    let client = common::test_client();
    let ok = client
        .get(server.url("/api/articles"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let list = env.ok(&["token", "list"]);
    assert!(list.contains("publisher") && list.contains("admin"), "{list}");
    env.ok(&["token", "revoke", "publisher"]);
    let refused = client
        .get(server.url("/api/articles"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(env.fails(&["token", "revoke", "publisher"]).contains("publisher"));
}

/// `gazette followers list` and `gazette reports list` print what other
/// servers sent (names, ids, a report's comment) with control characters
/// escaped: no terminal escape sequence reaches the terminal, and no
/// newline makes a line that looks like another entry.
#[tokio::test(flavor = "multi_thread")]
async fn remote_text_is_printed_without_control_characters() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let env = env.with_env("GAZETTE_INSTANCE__PUBLIC_URL", "https://news.example");
    env.ok(&[
        "init",
        "--org-name",
        "Test Coop",
        "--country",
        "FR",
        "--legal-form",
        "cooperative",
    ]);
    let store = gazette_store::Store::connect(env.database_url(), 1).await.unwrap();
    let org = store.find_organisation().await.unwrap().unwrap();
    let id = "https://evil.example/users/x\u{1b}[2J";
    let mut actor = common::remote_person(id, "Evil");
    actor.preferred_username = "x\u{1b}]0;owned\u{7}\u{1b}[31m".into();
    store.upsert_remote_actor(&actor).await.unwrap();
    store
        .add_follower(
            &format!("https://news.example/users/{}", org.username),
            id,
            "https://evil.example/follows/1",
            gazette_core::FollowStatus::Accepted,
        )
        .await
        .unwrap();
    store
        .add_report(
            "https://evil.example/flags/1\r",
            id,
            &["https://news.example/users/x\u{9b}2J".into()],
            "spam\n[open] 2026-01-01 00:00 — from https://trusted.example/actor",
        )
        .await
        .unwrap();
    for args in [&["followers", "list"][..], &["reports", "list"][..]] {
        let out = env.ok(args);
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "`gazette {}` printed control characters: {out:?}",
            args.join(" ")
        );
        assert!(out.contains("evil.example"), "{out}");
    }
    let reports = env.ok(&["reports", "list"]);
    assert_eq!(
        reports.lines().filter(|l| l.starts_with("[open]")).count(),
        1,
        "one report, however its comment is written: {reports}"
    );
    assert!(reports.contains("spam\\n[open]"), "{reports}");
}
