//! End-to-end tests of `gazette import` on SQLite and PostgreSQL: a
//! WordPress export (tests/fixtures/import/wordpress.xml) and RSS, Atom and
//! JSON feeds come in through the real binary, their images served by a
//! loopback HTTP server; dates, tags, authors (created and mapped), images
//! with alt text and those that need it, languages, the old URL's 301, a
//! second run without duplicates, and a run killed midway that resumes.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::Env;
use gazette_core::{Article, ArticleStatus};
use gazette_store::{ArticleQuery, Store};
use tokio::sync::watch;

both_backends!(
    wordpress_export_comes_in_whole_then_updates_without_duplicates,
    a_killed_import_leaves_whole_posts_and_resumes,
    feeds_come_in_through_the_guarded_client,
);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/import")
}

/// The loopback server the imported images (and feeds) come from. While
/// `hold` names a file, requests for it wait until the hold is lifted.
#[derive(Clone)]
struct Site {
    base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    hold: watch::Sender<Option<String>>,
}

#[derive(Clone)]
struct SiteState {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    hold: watch::Receiver<Option<String>>,
    base: String,
}

async fn serve_upload(State(s): State<SiteState>, UrlPath(name): UrlPath<String>) -> Response {
    *s.hits.lock().unwrap().entry(name.clone()).or_default() += 1;
    let mut hold = s.hold.clone();
    // Held requests wait for the test to lift the hold (or for the client to go away).
    let _ = hold.wait_for(|h| h.as_deref() != Some(name.as_str())).await;
    match std::fs::read(fixtures().join(&name)) {
        Ok(bytes) if name.ends_with(".png") => ([("content-type", "image/png")], bytes).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve_feed(State(s): State<SiteState>, UrlPath(name): UrlPath<String>) -> Response {
    match std::fs::read_to_string(fixtures().join(&name)) {
        Ok(text) => text.replace("{{IMAGES}}", &s.base).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn start_site() -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(HashMap::new()));
    let (hold, rx) = watch::channel(None);
    let app = axum::Router::new()
        .route("/uploads/{name}", axum::routing::get(serve_upload))
        .route("/feeds/{name}", axum::routing::get(serve_feed))
        .with_state(SiteState {
            hits: hits.clone(),
            hold: rx,
            base: base.clone(),
        });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Site { base, hits, hold }
}

impl Site {
    fn hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

/// An instance that may fetch from loopback, with an organisation and the
/// author `camille` whom `marc`'s posts are mapped to.
async fn instance(env: Env) -> (Env, Store) {
    let env = env.with_env("GAZETTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true");
    env.ok(&[
        "init",
        "--org-name",
        "Sunny Roofs",
        "--country",
        "FR",
        "--legal-form",
        "cooperative",
    ]);
    let store = Store::connect(env.database_url(), 2).await.unwrap();
    store
        .create_author(&gazette_core::AuthorInput {
            username: "camille".into(),
            name: "Camille Roux".into(),
            bio: String::new(),
            avatar: None,
            fediverse_handle: None,
        })
        .await
        .unwrap();
    (env, store)
}

fn export(env: &Env, site: &Site, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join("wordpress.xml")).unwrap();
    env.write("wordpress.xml", edit(text.replace("{{IMAGES}}", &site.base)))
}

async fn by_slug(store: &Store, slug: &str) -> Article {
    store
        .find_article_by_slug(slug)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no article `{slug}`"))
}

async fn count_articles(store: &Store) -> i64 {
    store
        .list_articles(&ArticleQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .total
}

fn no_redirects() -> reqwest::Client {
    common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn wordpress_export_comes_in_whole_then_updates_without_duplicates(env: Env) {
    let site = start_site().await;
    let (env, store) = instance(env).await;
    let file = export(&env, &site, |t| t);
    let file = file.to_str().unwrap();
    let out = env.ok(&["import", "wordpress", file, "--author-map", "marc=camille"]);
    assert!(
        out.contains("imported: 6, updated: 0, unchanged: 0, skipped: 2"),
        "{out}"
    );
    assert!(out.contains("skipped “About us”: a page (use --pages"), "{out}");
    assert!(out.contains("skipped “Old test post”: status `trash`"), "{out}");
    assert!(out.contains("1 image(s) came without alt text"), "{out}");

    // Block editor: original date, hashtags, the author created from the
    // export, the excerpt as summary, the image with the attachment's alt
    // text and its caption, the featured image as cover.
    let solar = by_slug(&store, "solar-roofs-schools").await;
    assert_eq!(solar.status, ArticleStatus::Published);
    assert_eq!(solar.published_at.unwrap().to_rfc3339(), "2025-05-03T08:30:00+00:00");
    assert_eq!(solar.tags, vec!["Energy", "SolarEnergy"]);
    assert_eq!(solar.default_language.as_str(), "en-GB");
    let lea = store.get_author(&solar.author_id).await.unwrap();
    assert_eq!((lea.username.as_str(), lea.name.as_str()), ("lea", "Léa Dubois"));
    let t = &solar.translations[0];
    assert_eq!(t.title, "Solar roofs for three schools");
    assert_eq!(t.summary, "Three schools get solar roofs paid for by the members.");
    assert!(!t.body_html.contains("wp:"), "{}", t.body_html);
    assert!(t.body_html.contains("<strong>solar roofs</strong>"), "{}", t.body_html);
    assert!(t.body_html.contains("<h2>What comes next</h2>"), "{}", t.body_html);
    let cover = solar.cover.clone().expect("the featured image is the cover");
    assert_eq!(cover.alt, "Solar panels on a school roof");
    assert!(
        t.body_html.contains(&format!(
            "<img src=\"/media/{}\" alt=\"Solar panels on a school roof\"><figcaption>The first roof, in May</figcaption>",
            cover.media_id
        )),
        "{}",
        t.body_html
    );

    // Classic editor: the mapped author, the first sentences as summary, the
    // [caption] shortcode as a figure, the image without alt text imported.
    let shop = by_slug(&store, "shop-old-mill").await;
    assert_eq!(store.get_author(&shop.author_id).await.unwrap().username, "camille");
    assert_eq!(shop.published_at.unwrap().to_rfc3339(), "2024-11-20T09:15:00+00:00");
    assert_eq!(shop.tags, vec!["LocalShop"]);
    let t = &shop.translations[0];
    assert_eq!(
        t.summary,
        "The shop in the old mill opens on Saturday. Members get 5% off. Everyone is welcome. Opening hours are 9 to 18, every day but Monday."
    );
    assert!(
        t.body_html
            .contains("<figcaption>The field behind the mill</figcaption>"),
        "{}",
        t.body_html
    );
    assert!(
        t.body_html
            .contains("alt=\"The shop’s counter, made of reclaimed wood\"")
            || t.body_html
                .contains("alt=\"The shop's counter, made of reclaimed wood\""),
        "{}",
        t.body_html
    );
    assert!(!t.body_html.contains("[caption"), "{}", t.body_html);
    let needing = store.list_media_needing_alt(10, 0).await.unwrap();
    assert_eq!(needing.len(), 1);
    assert!(
        t.body_html
            .contains(&format!("<img src=\"/media/{}\" alt=\"\">", needing[0].id)),
        "{}",
        t.body_html
    );
    assert_eq!(store.count_media().await.unwrap(), 3);

    // WPML's language, drafts, pending, future.
    assert_eq!(by_slug(&store, "toits-solaires").await.default_language.as_str(), "fr");
    assert_eq!(
        by_slug(&store, "draft-annual-report").await.status,
        ArticleStatus::Draft
    );
    assert_eq!(by_slug(&store, "volunteers-wanted").await.status, ArticleStatus::Draft);
    let future = by_slug(&store, "general-assembly").await;
    assert_eq!(future.status, ArticleStatus::Scheduled);
    assert_eq!(future.published_at.unwrap().to_rfc3339(), "2040-01-15T18:00:00+00:00");
    assert_eq!(count_articles(&store).await, 6);
    // Old posts are not announced to followers without --federate.
    assert!(store.pending_article_events(10).await.unwrap().is_empty());

    // The old addresses answer with a 301 to the article.
    let server = env.serve(&[]);
    let client = no_redirects();
    for old in ["/2025/05/solar-roofs-schools/", "/2025/05/solar-roofs-schools"] {
        let resp = client.get(server.url(old)).send().await.unwrap();
        assert_eq!(resp.status(), 301, "{old}");
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.ends_with("/articles/solar-roofs-schools"), "{location}");
    }
    assert_eq!(
        client
            .get(server.url("/2099/01/nothing/"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let page = client
        .get(server.url("/articles/solar-roofs-schools"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Solar panels on a school roof"));

    // The admin's media library lists the image that needs alt text.
    let password = "a long enough password for the import test";
    env.create_user(&["edna", "--role", "editor"], password);
    let login = client.get(server.url("/admin/login")).send().await.unwrap();
    let form = common::cookie_value(&login, "gazette_form").unwrap();
    let signed = client
        .post(server.url("/admin/login"))
        .header("cookie", format!("gazette_form={form}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(common::form_body(&[
            ("_csrf", &form),
            ("username", "edna"),
            ("password", password),
            ("next", "/admin"),
        ]))
        .send()
        .await
        .unwrap();
    let session = common::cookie_value(&signed, "gazette_session").expect("signed in");
    let library = |path: &'static str| {
        client
            .get(server.url(path))
            .header("cookie", format!("gazette_session={session}"))
            .send()
    };
    let all = library("/admin/media").await.unwrap().text().await.unwrap();
    assert!(
        all.contains("1 image(s) came in by an import without alt text"),
        "{all}"
    );
    let only = library("/admin/media?needs_alt=1").await.unwrap().text().await.unwrap();
    assert!(only.contains("Images that need alt text (1)"), "{only}");
    assert!(only.contains(&format!("media-{}", needing[0].id)), "{only}");
    assert!(!only.contains(&format!("media-{}\"", cover.media_id)), "{only}");
    drop(server);

    // Again: nothing changes, nothing is downloaded again.
    let hits = site.hits();
    let out = env.ok(&["import", "wordpress", file, "--author-map", "marc=camille"]);
    assert!(
        out.contains("imported: 0, updated: 0, unchanged: 6, skipped: 2"),
        "{out}"
    );
    assert_eq!(site.hits(), hits);

    // An edited export updates the article in place, same id, same slug.
    export(&env, &site, |t| {
        t.replace("Solar roofs for three schools", "Solar roofs for four schools")
    });
    let out = env.ok(&["import", "wordpress", file, "--author-map", "marc=camille"]);
    assert!(
        out.contains("imported: 0, updated: 1, unchanged: 5, skipped: 2"),
        "{out}"
    );
    let again = by_slug(&store, "solar-roofs-schools").await;
    assert_eq!(again.id, solar.id);
    assert_eq!(again.translations[0].title, "Solar roofs for four schools");
    assert_eq!(again.published_at, solar.published_at);
    assert_eq!(count_articles(&store).await, 6);
    assert_eq!(store.count_media().await.unwrap(), 3);

    // Pages on request.
    let out = env.ok(&["import", "wordpress", file, "--author-map", "marc=camille", "--pages"]);
    assert!(
        out.contains("imported: 1, updated: 0, unchanged: 6, skipped: 1"),
        "{out}"
    );
    assert_eq!(by_slug(&store, "about").await.status, ArticleStatus::Published);

    // An article deleted here is not brought back by a later import.
    env.ok(&["article", "delete", "toits-solaires"]);
    export(&env, &site, |t| {
        t.replace("Solar roofs for three schools", "Solar roofs for four schools")
            .replace("Les membres ont voté", "Les membres ont enfin voté")
    });
    let out = env.ok(&["import", "wordpress", file, "--author-map", "marc=camille", "--pages"]);
    assert!(
        out.contains("imported: 0, updated: 0, unchanged: 6, skipped: 2"),
        "{out}"
    );
    assert!(out.contains("was deleted here since the last import"), "{out}");
    assert_eq!(by_slug(&store, "toits-solaires").await.status, ArticleStatus::Deleted);

    // A mapping to an author who does not exist is refused before anything is read.
    let err = env.fails(&["import", "wordpress", file, "--author-map", "marc=nobody"]);
    assert!(err.contains("no Gazette author `nobody`"), "{err}");
    store.close().await;
}

/// A child process killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn a_killed_import_leaves_whole_posts_and_resumes(env: Env) {
    let site = start_site().await;
    let (env, store) = instance(env).await;
    let file = export(&env, &site, |t| t);
    // The second post's first image does not come until the hold is lifted.
    site.hold.send_replace(Some("field.png".into()));
    let mut child = Running(
        env.command(&["import", "wordpress", file.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the first post's progress line");
        assert!(!line.contains("2/8"), "the second post must wait for its image: {line}");
        if line.contains("import: 1/8 imported: Solar roofs for three schools") {
            break;
        }
    }
    // The second post is now waiting for its image: stop the run there.
    common::eventually("the request for field.png", Duration::from_secs(30), || async {
        (site.hits.lock().unwrap().get("field.png").copied().unwrap_or(0) > 0).then_some(())
    })
    .await;
    drop(child);
    assert_eq!(count_articles(&store).await, 1, "only the whole first post is stored");
    assert_eq!(
        store.count_media().await.unwrap(),
        1,
        "no image of the unfinished post is kept"
    );

    site.hold.send_replace(None);
    let out = env.ok(&["import", "wordpress", file.to_str().unwrap()]);
    assert!(
        out.contains("imported: 5, updated: 0, unchanged: 1, skipped: 2"),
        "{out}"
    );
    assert_eq!(count_articles(&store).await, 6);
    assert_eq!(store.count_media().await.unwrap(), 3);
    // Without a mapping, marc is created from the export.
    let shop = by_slug(&store, "shop-old-mill").await;
    assert_eq!(store.get_author(&shop.author_id).await.unwrap().name, "Marc Petit");
    store.close().await;
}

async fn feeds_come_in_through_the_guarded_client(env: Env) {
    let site = start_site().await;
    // Without allow_private_addresses the guarded client refuses loopback.
    env.ok(&["init"]);
    let err = env.fails(&["import", "feed", &format!("{}/feeds/rss.xml", site.base)]);
    assert!(err.contains("cannot fetch the feed"), "{err}");
    let (env, store) = instance(env).await;

    let rss = format!("{}/feeds/rss.xml", site.base);
    let out = env.ok(&["import", "feed", &rss]);
    assert!(
        out.contains("imported: 1, updated: 0, unchanged: 0, skipped: 0"),
        "{out}"
    );
    let a = by_slug(&store, "members-meeting-moved-to-friday").await;
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2025-05-06T07:00:00+00:00");
    assert_eq!(a.tags, vec!["Governance"]);
    assert_eq!(a.translations[0].summary, "The meeting moves to Friday evening.");
    assert!(
        a.translations[0].body_html.contains("alt=\"The meeting room\""),
        "{}",
        a.translations[0].body_html
    );
    assert_eq!(store.get_author(&a.author_id).await.unwrap().name, "Sam Okafor");
    assert_eq!(store.count_media().await.unwrap(), 1);
    let out = env.ok(&["import", "feed", &rss]);
    assert!(out.contains("imported: 0, updated: 0, unchanged: 1"), "{out}");

    let out = env.ok(&[
        "import",
        "feed",
        &format!("{}/feeds/atom.xml", site.base),
        "--author-map",
        "Camille Roux=camille",
    ]);
    assert!(out.contains("imported: 1"), "{out}");
    let a = by_slug(&store, "le-marche-de-printemps").await;
    assert_eq!(a.default_language.as_str(), "fr");
    assert_eq!(a.tags, vec!["Marché"]);
    assert_eq!(store.get_author(&a.author_id).await.unwrap().username, "camille");
    assert_eq!(a.published_at.unwrap().to_rfc3339(), "2025-04-01T10:00:00+00:00");

    let out = env.ok(&["import", "feed", &format!("{}/feeds/feed.json", site.base)]);
    assert!(out.contains("imported: 1"), "{out}");
    assert!(out.contains("1 image(s) came without alt text"), "{out}");
    let a = by_slug(&store, "eine-neue-windturbine").await;
    assert_eq!(a.default_language.as_str(), "de");
    assert_eq!(a.tags, vec!["Windkraft"]);
    // A feed's image has no alt text: it waits in the library, not as the cover.
    assert!(a.cover.is_none());
    assert_eq!(store.count_media_needing_alt().await.unwrap(), 1);
    assert_eq!(count_articles(&store).await, 3);
    store.close().await;
}
