//! The public web (pages, feeds, sitemap, static files) driven through the
//! real router on a real (throw-away) SQLite database.

// A failing unwrap is a failing test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::{Duration, Utc};
use gazette_core::media::ImageInfo;
use gazette_core::validate::{self, NoLines};
use gazette_core::*;
use gazette_store::Store;
use gazette_store::testing::TestDb;
use gazette_web::{AppConfig, AppState, Templates, ThemeConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://news.coop.test";

// A 1×1 transparent PNG (the store trusts the dimensions it is given).
const PNG: [u8; 67] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

struct App {
    router: Router,
    store: Store,
    cover_id: String,
    // Dropped last: removes the database file.
    _db: TestDb,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// `content` of the first `<meta {attr}="{key}">`.
    fn meta(&self, attr: &str, key: &str) -> Option<String> {
        let needle = format!("<meta {attr}=\"{key}\" content=\"");
        let start = self.text().find(&needle)? + needle.len();
        let end = self.text()[start..].find('"')?;
        Some(self.text()[start..start + end].to_owned())
    }
}

fn config(theme_dir: Option<&Path>) -> AppConfig {
    AppConfig {
        public_url: PUBLIC_URL.into(),
        instance_name: "Test instance".into(),
        default_language: Language::parse("fr").unwrap(),
        time_zone: gazette_core::local_time::Tz::UTC,
        max_upload_bytes: 1 << 20,
        theme: ThemeConfig {
            dir: theme_dir.map(Path::to_path_buf),
            primary_color: "#1d4ed8".into(),
            accent_color: "#b45309".into(),
            footer: "Coopérative à finalité sociale".into(),
        },
        admin: Default::default(),
        limits: Default::default(),
        metrics: Default::default(),
    }
}

fn input(slug: &str, kind: &str, status: &str, translations: &[(&str, &str, &str)]) -> ArticleInput {
    ArticleInput {
        slug: Some(slug.into()),
        kind: kind.into(),
        status: Some(status.into()),
        language: translations[0].0.into(),
        translations: translations
            .iter()
            .map(|(l, title, body)| TranslationInput {
                language: (*l).into(),
                title: (*title).into(),
                summary: format!("Summary of {title}"),
                body: (*body).into(),
                ..Default::default()
            })
            .collect(),
        tags: vec!["Cooperatives".into(), "Énergie".into()],
        author: "camille".into(),
        ..Default::default()
    }
}

async fn create(store: &Store, input: &ArticleInput) -> Article {
    let new = validate::article(input, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1).unwrap();
    store.create_article(&new).await.unwrap()
}

/// An organisation (fr + en), one author with a fediverse handle, and:
/// `entretien` (published interview, fr + en, cover, interviewee), `brouillon`
/// (draft), `plus-tard` (scheduled), `supprime` (deleted), `balises` (a title
/// with markup, en only).
async fn app_with(theme_dir: Option<&Path>) -> App {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let img = |w, h| ImageInfo {
        content_type: "image/png",
        width: w,
        height: h,
    };
    let logo = store
        .create_media(&img(200, 200), "Logo: a rising sun", &PNG)
        .await
        .unwrap();
    let cover = store
        .create_media(&img(1200, 630), "Solar panels on a roof", &PNG)
        .await
        .unwrap();
    let photo = store
        .create_media(&img(400, 400), "Portrait of Ana Lima", &PNG)
        .await
        .unwrap();
    let avatar = store
        .create_media(&img(256, 256), "Abstract avatar", &PNG)
        .await
        .unwrap();
    store
        .save_organisation(&Organisation {
            username: "soleil".into(),
            name: "Soleil Commun".into(),
            description: "A citizen-owned energy cooperative.".into(),
            logo: Some(logo.id.clone()),
            website: Some("https://soleil.example.coop".into()),
            country: Country::parse("BE").unwrap(),
            legal_form: LegalForm::Cooperative,
            sectors: vec!["energy".into()],
            languages: vec![Language::parse("fr").unwrap(), Language::parse("en").unwrap()],
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    let author = AuthorInput {
        username: "camille".into(),
        name: "Camille Renard".into(),
        bio: "Communications officer.".into(),
        avatar: Some(avatar.id.clone()),
        fediverse_handle: Some("camille@social.example.org".into()),
    };
    store.create_author(&validate::author(&author).unwrap()).await.unwrap();

    let mut interview = input(
        "entretien",
        "interview",
        "published",
        &[
            (
                "fr",
                "Entretien avec Ana",
                "## 🔷 Une coopérative\n\nTexte en français.\n\n> **À propos**\n>\n> Une boîte.",
            ),
            ("en", "Interview with Ana", "## 🔷 A cooperative\n\nEnglish text."),
        ],
    );
    interview.cover = Some(CoverInput {
        media_id: cover.id.clone(),
        alt: "Panneaux solaires sur un toit".into(),
    });
    interview.interviewee = Some(Interviewee {
        name: "Ana Lima".into(),
        role: "Directrice".into(),
        organisation: "Coop Sol".into(),
        bio: "Ana dirige la coopérative.".into(),
        photo: Some(photo.id.clone()),
        fediverse_handle: Some("@ana@coop.example".into()),
        translations: Vec::new(),
    });
    // The English role and bio are given with the English text, as an
    // editor or a translation file gives them.
    let english = interview.translations.iter_mut().find(|t| t.language == "en").unwrap();
    english.interviewee_role = Some("Director".into());
    english.interviewee_bio = Some("Ana runs the cooperative.".into());
    interview.publish_at = Some((Utc::now() - Duration::hours(2)).to_rfc3339());
    create(&store, &interview).await;
    create(
        &store,
        &input("brouillon", "news", "draft", &[("fr", "Brouillon secret", "x")]),
    )
    .await;
    let mut later = input("plus-tard", "news", "scheduled", &[("fr", "Plus tard", "x")]);
    later.publish_at = Some((Utc::now() + Duration::days(3)).to_rfc3339());
    create(&store, &later).await;
    let deleted = create(
        &store,
        &input("supprime", "news", "published", &[("fr", "Supprimé", "x")]),
    )
    .await;
    store
        .set_article_status(&deleted.id, ArticleStatus::Deleted)
        .await
        .unwrap();
    let mut markup = input(
        "balises",
        "news",
        "published",
        &[("en", "<b>Bold</b> & \"quoted\" </script>", "Body & more.")],
    );
    markup.tags = vec!["Cooperatives".into()];
    create(&store, &markup).await;

    let templates = Templates::load(theme_dir).unwrap();
    let config = config(theme_dir);
    let federation = gazette_federation::FederationSettings::new(&config.public_url);
    let http = gazette_http::build_client(&federation.http_config()).unwrap();
    let state = AppState::build(
        store.clone(),
        config,
        templates,
        federation,
        http,
        std::sync::Arc::new(|| {}),
    )
    .await
    .unwrap();
    App {
        router: gazette_web::router(state),
        store,
        cover_id: cover.id,
        _db: db,
    }
}

async fn app() -> App {
    app_with(None).await
}

impl App {
    async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = Request::builder().uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Reply { status, headers, body }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.get_with(uri, &[]).await
    }
}

/// A small well-formedness check: balanced tags, quoted attributes, no bare
/// `<` or `&` in text. Enough to catch a missing escape in a template.
#[track_caller]
fn assert_well_formed_xml(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml.trim_start();
    if let Some(r) = rest.strip_prefix("<?xml") {
        rest = &r[r.find("?>").expect("unterminated declaration") + 2..];
    }
    let check_text = |text: &str| {
        assert!(!text.contains('<'), "bare < in {text:?}");
        let mut t = text;
        while let Some(i) = t.find('&') {
            let end = t[i..].find(';').unwrap_or_else(|| panic!("bare & in {text:?}"));
            let entity = &t[i + 1..i + end];
            assert!(
                ["amp", "lt", "gt", "quot", "apos"].contains(&entity)
                    || entity
                        .strip_prefix("#x")
                        .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
                    || entity.strip_prefix('#').is_some_and(|d| d.parse::<u32>().is_ok()),
                "bad entity &{entity}; in {text:?}"
            );
            t = &t[i + end..];
        }
    };
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        rest = &rest[open..];
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->").expect("unterminated comment") + 3..];
            continue;
        }
        let close = rest.find('>').expect("unterminated tag");
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag.split_whitespace().next().expect("empty tag").to_owned();
        // Attribute values: every `=` is followed by a quoted value with escaped content.
        let mut attrs = &tag[name.len()..];
        while let Some(eq) = attrs.find('=') {
            let after = &attrs[eq + 1..];
            assert!(after.starts_with('"'), "unquoted attribute in <{tag}>");
            let end = after[1..].find('"').expect("unterminated attribute");
            check_text(&after[1..1 + end]);
            attrs = &after[end + 2..];
        }
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

fn json_ld(page: &str) -> serde_json::Value {
    let start = page.find("<script type=\"application/ld+json\">").expect("no JSON-LD") + 35;
    let end = page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..start + end]).expect("JSON-LD is JSON")
}

#[tokio::test]
async fn article_statuses_map_to_http() {
    let app = app().await;
    assert_eq!(app.get("/articles/entretien").await.status, StatusCode::OK);
    assert_eq!(app.get("/articles/entretien/en").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/articles/entretien/de").await.status,
        StatusCode::NOT_FOUND,
        "no German translation"
    );
    assert_eq!(
        app.get("/articles/entretien/klingon").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/articles/brouillon").await.status,
        StatusCode::NOT_FOUND,
        "drafts are not public"
    );
    assert_eq!(app.get("/articles/brouillon/fr").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/articles/plus-tard").await.status,
        StatusCode::NOT_FOUND,
        "scheduled is not yet public"
    );
    assert_eq!(app.get("/articles/supprime").await.status, StatusCode::GONE);
    assert_eq!(app.get("/articles/supprime/fr").await.status, StatusCode::GONE);
    assert_eq!(app.get("/articles/nothing-here").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn article_language_follows_accept_language() {
    let app = app().await;
    let en = app
        .get_with("/articles/entretien", &[("accept-language", "en-GB,en;q=0.9,fr;q=0.5")])
        .await;
    assert_eq!(en.status, StatusCode::OK);
    assert!(en.text().contains("<html lang=\"en\""), "{}", en.text());
    assert!(en.text().contains("Interview with Ana"));
    assert!(en.header("vary").is_some_and(|v| v.contains("Accept-Language")));
    assert_eq!(en.meta("property", "og:locale").as_deref(), Some("en_GB"));
    assert!(en.text().contains(&format!(
        "<link rel=\"canonical\" href=\"{PUBLIC_URL}/articles/entretien/en\">"
    )));

    let fr = app
        .get_with("/articles/entretien", &[("accept-language", "fr-BE, en;q=0.3")])
        .await;
    assert!(fr.text().contains("<html lang=\"fr\""));
    assert!(fr.text().contains("Entretien avec Ana"));
    assert!(
        fr.text().contains("Aller au contenu"),
        "interface strings follow the page language"
    );

    let other = app.get_with("/articles/entretien", &[("accept-language", "de")]).await;
    assert!(
        other.text().contains("<html lang=\"fr\""),
        "falls back to the article's default language"
    );
    let none = app.get("/articles/entretien").await;
    assert!(none.text().contains("Entretien avec Ana"));

    let explicit = app
        .get_with("/articles/entretien/en", &[("accept-language", "fr")])
        .await;
    assert!(
        explicit.text().contains("Interview with Ana"),
        "the URL's language wins"
    );
    // The URL names the language; only the AS2/HTML negotiation varies.
    assert_eq!(explicit.header("vary"), Some("Accept"));
    // Language switch and hreflang alternates.
    let page = explicit.text();
    assert!(
        page.contains("<link rel=\"alternate\" hreflang=\"fr\" href=\"https://news.coop.test/articles/entretien/fr\">")
    );
    assert!(page.contains(
        "<link rel=\"alternate\" hreflang=\"x-default\" href=\"https://news.coop.test/articles/entretien\">"
    ));
    assert!(
        page.contains("<a href=\"/articles/entretien/fr\" hreflang=\"fr\" lang=\"fr\" rel=\"alternate\">Français</a>")
    );
    assert!(page.contains("aria-current=\"page\">English</a>"));
}

#[tokio::test]
async fn article_page_has_preview_metadata() {
    let app = app().await;
    let r = app.get("/articles/entretien/en").await;
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.meta("property", "og:title").as_deref(), Some("Interview with Ana"));
    assert_eq!(r.meta("property", "og:type").as_deref(), Some("article"));
    assert_eq!(
        r.meta("property", "og:url").as_deref(),
        Some("https://news.coop.test/articles/entretien/en")
    );
    assert_eq!(
        r.meta("property", "og:image"),
        Some(format!("{PUBLIC_URL}/media/{}", app.cover_id))
    );
    assert_eq!(r.meta("property", "og:image:width").as_deref(), Some("1200"));
    assert_eq!(r.meta("property", "og:image:height").as_deref(), Some("630"));
    assert_eq!(
        r.meta("property", "og:image:alt").as_deref(),
        Some("Panneaux solaires sur un toit")
    );
    assert_eq!(r.meta("property", "og:site_name").as_deref(), Some("Soleil Commun"));
    assert_eq!(
        r.meta("property", "article:author").as_deref(),
        Some("https://news.coop.test/authors/camille")
    );
    assert_eq!(r.meta("property", "article:tag").as_deref(), Some("Cooperatives"));
    assert!(r.meta("property", "article:published_time").is_some());
    assert_eq!(r.meta("name", "twitter:card").as_deref(), Some("summary_large_image"));
    assert_eq!(
        r.meta("name", "fediverse:creator").as_deref(),
        Some("@camille@social.example.org")
    );
    assert_eq!(
        r.meta("name", "description").as_deref(),
        Some("Summary of Interview with Ana")
    );
    assert!(r.text().contains("<meta name=\"viewport\""));
    assert!(
        r.text()
            .contains(r#"<link rel="alternate" type="application/atom+xml""#)
    );

    let ld = json_ld(r.text());
    assert_eq!(ld["@type"], "NewsArticle");
    assert_eq!(ld["headline"], "Interview with Ana");
    assert_eq!(ld["inLanguage"], "en");
    assert_eq!(ld["author"]["@type"], "Person");
    assert_eq!(ld["author"]["name"], "Camille Renard");
    assert_eq!(ld["publisher"]["@type"], "Organization");
    assert_eq!(ld["publisher"]["name"], "Soleil Commun");
    assert!(
        ld["publisher"]["logo"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://news.coop.test/media/")
    );
    assert_eq!(ld["image"][0]["width"], 1200);
    assert_eq!(
        ld["mainEntityOfPage"]["@id"],
        "https://news.coop.test/articles/entretien/en"
    );
    assert_eq!(ld["keywords"], "Cooperatives, Énergie");
    assert!(ld["datePublished"].is_string() && ld["dateModified"].is_string());

    // The page itself: landmarks, one h1, cover with dimensions, boxes, tags.
    let page = r.text();
    assert_eq!(page.matches("<h1").count(), 1, "exactly one h1");
    for landmark in [
        "<header",
        "<nav",
        "<main id=\"main\"",
        "<footer",
        "class=\"skip-link\" href=\"#main\"",
    ] {
        assert!(page.contains(landmark), "missing {landmark}");
    }
    assert!(page.contains(&format!(
        "<img src=\"/media/{}\" alt=\"Panneaux solaires sur un toit\" width=\"1200\" height=\"630\"",
        app.cover_id
    )));
    assert!(
        page.contains("Ana Lima") && page.contains("Director, Coop Sol") && page.contains("https://coop.example/@ana")
    );
    assert!(page.contains("Ana runs the cooperative."), "the English bio");
    assert!(
        !page.contains("Directrice") && !page.contains("Ana dirige"),
        "no French on the English page"
    );
    let french = app.get("/articles/entretien/fr").await;
    let french = french.text();
    assert!(
        french.contains("Directrice, Coop Sol") && french.contains("Ana dirige la coopérative."),
        "the French page has the French role and bio"
    );
    assert!(page.contains("About the author") && page.contains("Communications officer."));
    assert!(page.contains("<a href=\"/tags/%C3%A9nergie\" rel=\"tag\">#Énergie</a>"));
    assert!(page.contains("<h2>🔷 A cooperative</h2>"));
    assert!(page.contains("<time datetime=\""));
    assert!(
        page.contains("<link rel=\"stylesheet\" href=\"/theme.css?primary=%231d4ed8&amp;accent=%23b45309\">"),
        "theme colours"
    );
    assert!(page.contains("Coopérative à finalité sociale"), "theme footer");
}

#[tokio::test]
async fn markup_in_content_is_escaped() {
    let app = app().await;
    let r = app.get("/articles/balises").await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(!page.contains("<b>Bold</b>"), "title must be escaped");
    assert!(page.contains("&lt;b&gt;Bold&lt;"), "{page}");
    // Only the closing tag of the JSON-LD script itself, never one from the title.
    assert_eq!(page.matches("</script>").count(), 1);
    assert_eq!(json_ld(page)["headline"], "<b>Bold</b> & \"quoted\" </script>");
    assert_eq!(
        r.meta("name", "twitter:card").as_deref(),
        Some("summary"),
        "no cover, small card"
    );

    let feed = app.get("/feed.atom").await;
    assert!(!feed.text().contains("<b>Bold"));
    assert_well_formed_xml(feed.text());
}

#[tokio::test]
async fn home_lists_published_articles_in_the_readers_language() {
    let app = app().await;
    let r = app.get_with("/", &[("accept-language", "en")]).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(page.contains("<html lang=\"en\""));
    assert!(page.contains("<h1 id=\"site-title\" class=\"intro__title\">Soleil Commun</h1>"));
    assert!(page.contains("A citizen-owned energy cooperative."));
    assert!(page.contains("Interview with Ana"), "card in the reader's language");
    assert!(page.contains("href=\"/articles/entretien/en\""));
    assert!(!page.contains("Brouillon secret") && !page.contains("Plus tard") && !page.contains("Supprimé"));
    assert!(page.contains("badge--interview\">Interview</span>"));
    assert!(
        page.contains("alt=\"Panneaux solaires sur un toit\""),
        "thumbnail with alt"
    );
    assert!(page.contains("<a href=\"/authors/camille\">Camille Renard</a>"));
    assert!(page.contains("href=\"/tags/cooperatives\""));
    assert!(r.header("vary").is_some_and(|v| v.contains("Accept-Language")));
    assert_eq!(page.matches("<h1").count(), 1);

    let fr = app.get_with("/?lang=fr", &[("accept-language", "en")]).await;
    assert!(fr.text().contains("<html lang=\"fr\""), "?lang= beats Accept-Language");
    assert!(fr.text().contains("Entretien avec Ana"));
    assert!(
        fr.text().contains("badge--interview\">Entretien</span>"),
        "strings inside imported macros follow the page"
    );
    // The English-only article keeps its language, marked as such.
    assert!(fr.text().contains("<article class=\"card\" lang=\"en\">"));

    assert_eq!(app.get("/?page=2").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/?page=0").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/?page=abc").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn listings_paginate() {
    let app = app().await;
    for i in 0..11 {
        create(
            &app.store,
            &input(
                &format!("news-{i}"),
                "news",
                "published",
                &[("fr", &format!("Nouvelle {i}"), "x")],
            ),
        )
        .await;
    }
    // 13 published: 10 on page 1, 3 on page 2.
    let one = app.get("/").await;
    assert_eq!(one.text().matches("<article class=\"card\"").count(), 10);
    assert!(one.text().contains("<link rel=\"next\" href=\"/?page=2\">"));
    assert!(!one.text().contains("rel=\"prev\""));
    let two = app.get("/?page=2").await;
    assert_eq!(two.status, StatusCode::OK);
    assert_eq!(two.text().matches("<article class=\"card\"").count(), 3);
    assert!(two.text().contains("<link rel=\"prev\" href=\"/\">"));
    assert!(
        two.text()
            .contains(&format!("<link rel=\"canonical\" href=\"{PUBLIC_URL}/?page=2\">"))
    );
    assert_eq!(app.get("/?page=3").await.status, StatusCode::NOT_FOUND);

    let tag = app.get("/tags/cooperatives?page=2").await;
    assert_eq!(tag.status, StatusCode::OK);
    assert!(tag.text().contains("rel=\"prev\""));
    let author = app.get("/authors/camille?page=2").await;
    assert_eq!(author.status, StatusCode::OK);
}

#[tokio::test]
async fn author_and_tag_pages() {
    let app = app().await;
    let r = app.get("/authors/camille").await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(page.contains("<h1 class=\"profile__name\">Camille Renard</h1>"));
    assert!(page.contains("Communications officer."));
    assert!(
        page.contains("<a href=\"https://social.example.org/@camille\" rel=\"me\">@camille@social.example.org</a>")
    );
    assert!(page.contains("Entretien avec Ana"));
    assert!(!page.contains("Brouillon secret"));
    assert_eq!(
        r.meta("name", "fediverse:creator").as_deref(),
        Some("@camille@social.example.org")
    );
    assert_eq!(app.get("/authors/nobody").await.status, StatusCode::NOT_FOUND);

    let tag = app.get("/tags/%C3%A9nergie").await;
    assert_eq!(tag.status, StatusCode::OK);
    assert!(tag.text().contains("#Énergie"), "shown as written, found by its key");
    assert!(
        tag.text().contains("href=\"/tags/%C3%A9nergie/feed.atom\""),
        "link to the tag feed"
    );
    assert!(
        tag.text()
            .contains("https://news.coop.test/tags/%C3%A9nergie/feed.atom"),
        "feed discovery link"
    );
    assert!(tag.text().contains("Entretien avec Ana") && !tag.text().contains("Bold"));
    let upper = app.get("/tags/Cooperatives").await;
    assert_eq!(upper.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(upper.header("location"), Some("/tags/cooperatives"));
    assert_eq!(app.get("/tags/nothing").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/tags/not%20a%20tag").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn atom_feeds() {
    let app = app().await;
    let r = app.get("/feed.atom").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/atom+xml; charset=utf-8"));
    let feed = r.text();
    assert_well_formed_xml(feed);
    assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""));
    assert_eq!(feed.matches("<entry").count(), 2, "published only: {feed}");
    assert!(feed.contains("<id>https://news.coop.test/articles/entretien/fr</id>"));
    assert!(
        feed.contains("<link rel=\"self\" type=\"application/atom+xml\" href=\"https://news.coop.test/feed.atom\"/>")
    );
    assert!(feed.contains("<category term=\"Énergie\""));
    assert!(feed.contains("<name>Camille Renard</name>"));
    assert!(feed.contains("<uri>https://news.coop.test/authors/camille</uri>"));
    assert!(feed.contains("<content type=\"html\">"));
    assert!(
        feed.contains("&lt;h2&gt;🔷 Une coopérative&lt;&#x2f;h2&gt;")
            || feed.contains("&lt;h2&gt;🔷 Une coopérative&lt;/h2&gt;")
    );
    assert!(feed.contains("<published>") && feed.contains("<updated>"));

    // Conditional GET.
    let etag = r.header("etag").unwrap().to_owned();
    let again = app.get_with("/feed.atom", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    let en = app.get("/feed/en.atom").await;
    assert_eq!(en.status, StatusCode::OK);
    assert_well_formed_xml(en.text());
    assert!(en.text().contains("xml:lang=\"en\""));
    assert!(en.text().contains("Interview with Ana") && !en.text().contains("Entretien avec Ana"));
    assert_eq!(en.text().matches("<entry").count(), 2);
    let fr = app.get("/feed/fr.atom").await;
    assert_eq!(fr.text().matches("<entry").count(), 1);
    assert_eq!(
        app.get("/feed/de.atom").await.status,
        StatusCode::NOT_FOUND,
        "not a site language, nothing in it"
    );
    assert_eq!(app.get("/feed/xx.atom").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/feed/en.rss").await.status, StatusCode::NOT_FOUND);

    let tag = app.get("/tags/%C3%A9nergie/feed.atom").await;
    assert_eq!(tag.status, StatusCode::OK);
    assert_well_formed_xml(tag.text());
    assert_eq!(tag.text().matches("<entry").count(), 1);
    assert_eq!(app.get("/tags/nothing/feed.atom").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sitemap_robots_and_health() {
    let app = app().await;
    let r = app.get("/sitemap.xml").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("application/xml"));
    let xml = r.text();
    assert_well_formed_xml(xml);
    for loc in [
        "<loc>https://news.coop.test/</loc>",
        "<loc>https://news.coop.test/articles/entretien/fr</loc>",
        "<loc>https://news.coop.test/articles/entretien/en</loc>",
        "<loc>https://news.coop.test/articles/balises/en</loc>",
        "<loc>https://news.coop.test/authors/camille</loc>",
        "<loc>https://news.coop.test/tags/cooperatives</loc>",
    ] {
        assert!(xml.contains(loc), "missing {loc} in {xml}");
    }
    assert!(xml.contains(
        "<xhtml:link rel=\"alternate\" hreflang=\"en\" href=\"https://news.coop.test/articles/entretien/en\"/>"
    ));
    assert!(xml.contains("<lastmod>"));
    assert!(!xml.contains("brouillon") && !xml.contains("supprime") && !xml.contains("plus-tard"));

    let robots = app.get("/robots.txt").await;
    assert_eq!(robots.status, StatusCode::OK);
    assert!(robots.header("content-type").unwrap().starts_with("text/plain"));
    assert!(robots.text().contains("User-agent: *\nAllow: /"));
    assert!(robots.text().contains("Sitemap: https://news.coop.test/sitemap.xml\n"));

    let health = app.get("/healthz").await;
    assert_eq!((health.status, health.text()), (StatusCode::OK, "ok"));
    assert!(health.header("content-type").unwrap().starts_with("text/plain"));
    app.store.close().await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// A database that answers reads but takes no writes (its write lock held
/// by another connection, as by another process) makes `/healthz` 503; it
/// is 200 again once writes get through.
#[tokio::test]
async fn health_needs_a_database_that_takes_writes() {
    let app = app().await;
    let health = app.get("/healthz").await;
    assert_eq!((health.status, health.text()), (StatusCode::OK, "ok"));
    let lock = gazette_store::testing::hold_write_lock(&app._db.url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let health = app.get("/healthz").await;
        if health.status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(health.text(), "database takes no writes");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz stayed {}",
            health.status
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(lock);
    loop {
        if app.get("/healthz").await.status == StatusCode::OK {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "/healthz did not recover");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn static_files_are_cached() {
    let app = app().await;
    let css = app.get("/static/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), Some("public, max-age=3600"));
    assert!(css.text().contains(":focus-visible"));
    let etag = css.header("etag").unwrap().to_owned();
    let again = app.get_with("/static/style.css", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(app.get("/static/nope.css").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/static/../Cargo.toml").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn theme_folder_overrides_templates_and_static_files() {
    let dir = std::env::temp_dir().join(format!("gazette-web-theme-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::create_dir_all(dir.join("static")).unwrap();
    std::fs::write(
        dir.join("templates/home.html"),
        "{% extends \"base.html\" %}{% block main %}<h1>Themed {{ site.name }}</h1>{% endblock %}",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/strings.json"),
        r#"{"fr": {"skip_to_content": "Sauter au contenu"}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("static/style.css"), "body { color: rebeccapurple }").unwrap();
    std::fs::write(dir.join("static/extra.css"), ".x {}").unwrap();
    let app = app_with(Some(&dir)).await;

    let home = app.get("/").await;
    assert!(home.text().contains("<h1>Themed Soleil Commun</h1>"), "{}", home.text());
    assert!(home.text().contains("Sauter au contenu"));
    assert_eq!(
        app.get("/static/style.css").await.text(),
        "body { color: rebeccapurple }"
    );
    assert_eq!(app.get("/static/extra.css").await.status, StatusCode::OK);
    // Templates not overridden stay built-in.
    assert!(
        app.get("/articles/entretien")
            .await
            .text()
            .contains("Entretien avec Ana")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The article page, though cached, says "Member of" exactly when the
/// organisation's follow of a network's `Group` is accepted: its cache
/// validator covers the membership (an acceptance, a rename, a `Reject`).
#[tokio::test]
async fn cached_article_page_follows_the_membership() {
    let app = app().await;
    let uri = "/articles/entretien/en";
    let org = format!("{PUBLIC_URL}/users/soleil");
    let mut group = RemoteActor {
        id: "https://net.example/users/network".into(),
        kind: "Group".into(),
        preferred_username: "network".into(),
        name: "European SSE Network".into(),
        host: "net.example".into(),
        inbox: "https://net.example/users/network/inbox".into(),
        shared_inbox: None,
        url: Some("https://net.example/network/feed".into()),
        icon: None,
        public_key_id: "https://net.example/users/network#main-key".into(),
        public_key_pem: "PEM".into(),
        moved_to: None,
        refreshed_at: Utc::now(),
    };
    let page = app.get(uri).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("Member of"), "{}", page.text());

    // Asked to join: pending, so nothing yet (the cached page is still right).
    app.store.upsert_remote_actor(&group).await.unwrap();
    app.store
        .add_following(&org, &group.id, "https://news.coop.test/follows/1")
        .await
        .unwrap();
    assert!(!app.get(uri).await.text().contains("Member of"));

    // Accepted: the next request says so, linked to the network's page.
    assert!(
        app.store
            .accept_following(&group.id, "https://news.coop.test/follows/1")
            .await
            .unwrap()
    );
    let page = app.get(uri).await;
    assert!(
        page.text()
            .contains("Member of <a href=\"https://net.example/network/feed\">European SSE Network</a>"),
        "{}",
        page.text()
    );

    // Renamed, then refused (a `Reject` forgets the follow).
    group.name = "SSE Network Europe".into();
    app.store.upsert_remote_actor(&group).await.unwrap();
    assert!(app.get(uri).await.text().contains(">SSE Network Europe</a>"));
    assert!(app.store.remove_following(None, &group.id).await.unwrap());
    let page = app.get(uri).await;
    assert!(!page.text().contains("Member of"), "{}", page.text());
}

/// `/network` shows a followed account's post in full: its text through the
/// remote sanitiser (web links only), its content warning as a disclosure,
/// its images with their alt text, and a link to the original only when
/// that is a web address.
#[tokio::test]
async fn network_shows_followed_posts_in_full() {
    let app = app().await;
    let ann = RemoteActor {
        id: "https://gts.example/users/ann".into(),
        kind: "Person".into(),
        preferred_username: "ann".into(),
        name: "Ann".into(),
        host: "gts.example".into(),
        inbox: "https://gts.example/users/ann/inbox".into(),
        shared_inbox: None,
        url: Some("javascript:alert(1)".into()),
        icon: None,
        public_key_id: "https://gts.example/users/ann#main-key".into(),
        public_key_pem: "PEM".into(),
        moved_to: None,
        refreshed_at: Utc::now(),
    };
    app.store.upsert_remote_actor(&ann).await.unwrap();
    let now = Utc::now();
    let note = |id: &str, summary: &str, url: Option<&str>| RemoteArticle {
        id: format!("https://gts.example/statuses/{id}"),
        actor: ann.id.clone(),
        kind: "Note".into(),
        url: url.map(str::to_owned),
        name: String::new(),
        summary_html: summary.into(),
        content_html: format!(
            "<p>Post {id} <a href=\"mailto:ann@gts.example\">mail</a> <a href=\"https://ok.example/{id}\">ok</a></p>\
             <p><img src=\"https://gts.example/media/{id}.png\" alt=\"A cat on a roof\" loading=\"lazy\"></p>"
        ),
        language: Some("en".into()),
        image_url: None,
        image_alt: None,
        published_at: now,
        updated_at: now,
    };
    app.store
        .upsert_remote_article(&note("1", "<p>Spoilers &amp; more</p>", Some("javascript:alert(2)")))
        .await
        .unwrap();
    app.store
        .upsert_remote_article(&note("2", "", Some("https://gts.example/@ann/2")))
        .await
        .unwrap();
    let page = app.get("/network").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("Post 1") && html.contains("Post 2"),
        "the text in full: {html}"
    );
    assert!(
        html.contains("<details class=\"post__warning\">\n            <summary>Spoilers &amp; more"),
        "the content warning hides the post: {html}"
    );
    assert!(
        html.contains("src=\"https://gts.example/media/2.png\" alt=\"A cat on a roof\""),
        "images with their alt text: {html}"
    );
    assert!(html.contains("href=\"https://ok.example/2\""), "{html}");
    assert!(
        html.contains("href=\"https://gts.example/@ann/2\""),
        "the original: {html}"
    );
    assert!(
        html.contains("href=\"https://gts.example/statuses/1\""),
        "a non-web url falls back to the id: {html}"
    );
    for bad in ["mailto:", "javascript:"] {
        assert!(!html.contains(bad), "no {bad} link: {html}");
    }
    assert!(!html.contains(">Network</a>"), "no placeholder title: {html}");
}
