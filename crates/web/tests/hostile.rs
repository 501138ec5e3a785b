//! What a hostile server could plant, rendered: rows holding `javascript:`
//! links (stored before links were checked on arrival, or by any path that
//! forgets to) must not become links on the public pages, the feeds or the
//! admin pages; and every page carries the security headers, with no inline
//! script or style that the Content-Security-Policy would block; and an
//! oversized file posted to the editor loses nothing typed. Driven through
//! the real router on a throw-away SQLite database.

// A failing unwrap is a failing test, which is what it should be.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::{Duration, Utc};
use gazette_core::validate::{self, NoLines};
use gazette_core::*;
use gazette_store::testing::TestDb;
use gazette_store::{NewUser, Role, Store};
use gazette_web::{AppConfig, AppState, Templates, ThemeConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://news.coop.test";
const EVIL: &str = "javascript:alert(document.domain)//";
const MALLORY: &str = "https://evil.example/users/mallory";

struct App {
    router: Router,
    /// `gazette_session=…` of a signed-in administrator.
    cookie: String,
    /// That session's CSRF token.
    csrf: String,
    article_id: String,
    slug: String,
    _db: TestDb,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl App {
    async fn get(&self, uri: &str) -> Reply {
        let req = Request::builder()
            .uri(uri)
            .header("cookie", &self.cookie)
            .body(Body::empty())
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// A multipart form post, as the editor sends it.
    async fn post_multipart(&self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let boundary = "gazette-test-boundary";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("cookie", &self.cookie)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }
}

fn config() -> AppConfig {
    AppConfig {
        public_url: PUBLIC_URL.into(),
        instance_name: "Test instance".into(),
        default_language: Language::parse("en").unwrap(),
        time_zone: gazette_core::local_time::Tz::UTC,
        max_upload_bytes: 1 << 20,
        theme: ThemeConfig {
            dir: None,
            primary_color: "#1d4ed8".into(),
            accent_color: "#b45309".into(),
            footer: String::new(),
        },
        admin: Default::default(),
        limits: Default::default(),
        metrics: Default::default(),
    }
}

/// An organisation, an author and a published article; a remote actor
/// whose profile link and avatar are `javascript:`; and, from that actor,
/// a visible and a pending reply, a like, a follow (of the organisation and
/// by it), an article on the network page, and a report, each carrying a
/// `javascript:` link where a link goes.
async fn app() -> App {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    store
        .save_organisation(&Organisation {
            username: "soleil".into(),
            name: "Soleil Commun".into(),
            description: "A cooperative.".into(),
            logo: None,
            website: Some("https://soleil.example.coop".into()),
            country: Country::parse("BE").unwrap(),
            legal_form: LegalForm::Cooperative,
            sectors: vec!["energy".into()],
            languages: vec![Language::parse("en").unwrap()],
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    let author = AuthorInput {
        username: "camille".into(),
        name: "Camille Renard".into(),
        bio: String::new(),
        avatar: None,
        fediverse_handle: None,
    };
    store.create_author(&validate::author(&author).unwrap()).await.unwrap();
    let input = ArticleInput {
        slug: Some("hello".into()),
        kind: "news".into(),
        status: Some("published".into()),
        language: "en".into(),
        translations: vec![TranslationInput {
            language: "en".into(),
            title: "Hello".into(),
            summary: "Summary".into(),
            body: "Body.".into(),
            ..Default::default()
        }],
        author: "camille".into(),
        publish_at: Some((Utc::now() - Duration::hours(1)).to_rfc3339()),
        ..Default::default()
    };
    let new = validate::article(&input, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1).unwrap();
    let article = store.create_article(&new).await.unwrap();
    plant(&store, &article.id).await;

    let user = store
        .create_user(
            &NewUser {
                username: "admin".into(),
                display_name: "Admin".into(),
                role: Role::Admin,
                author: None,
            },
            Some("a long enough password, surely"),
        )
        .await
        .unwrap();
    let (secret, session) = store
        .create_session(&user.id, Duration::hours(1), Duration::hours(1))
        .await
        .unwrap();

    let config = config();
    let federation = gazette_federation::FederationSettings::new(&config.public_url);
    let state = AppState::build(
        store.clone(),
        config,
        Templates::load(None).unwrap(),
        federation.clone(),
        gazette_http::build_client(&federation.http_config()).unwrap(),
        std::sync::Arc::new(|| {}),
    )
    .await
    .unwrap();
    App {
        router: gazette_web::router(state),
        cookie: format!("gazette_session={secret}"),
        csrf: session.csrf_token,
        article_id: article.id,
        slug: "hello".into(),
        _db: db,
    }
}

/// The hostile rows, written with the store API as an older version (or a
/// forgetful code path) would have stored them.
async fn plant(store: &Store, article_id: &str) {
    let now = Utc::now();
    store
        .upsert_remote_actor(&RemoteActor {
            id: MALLORY.into(),
            kind: "Person".into(),
            preferred_username: "mallory".into(),
            name: "Mallory".into(),
            host: "evil.example".into(),
            inbox: format!("{MALLORY}/inbox"),
            shared_inbox: None,
            url: Some(EVIL.into()),
            icon: Some(EVIL.into()),
            public_key_id: format!("{MALLORY}#main-key"),
            public_key_pem: "PEM".into(),
            moved_to: None,
            refreshed_at: now,
        })
        .await
        .unwrap();
    for (n, status) in [(1, "visible"), (2, "pending")] {
        store
            .upsert_comment(&Comment {
                id: format!("https://evil.example/notes/{n}"),
                article_id: article_id.into(),
                actor: MALLORY.into(),
                url: Some(" JaVaScRiPt:alert(1)".into()),
                content_html: format!("<p>Reply {n}</p>"),
                language: None,
                status: status.into(),
                published_at: now,
                updated_at: now,
            })
            .await
            .unwrap();
    }
    store
        .add_interaction("https://evil.example/likes/1", "like", article_id, MALLORY)
        .await
        .unwrap();
    store
        .record_quote(&gazette_store::QuoteAnswer {
            article_id,
            quote_post: "https://evil.example/notes/3",
            quote_url: Some(" JaVaScRiPt:alert(1)"),
            actor: MALLORY,
            request_id: "https://evil.example/requests/1",
            state: gazette_store::QuoteState::Accepted,
        })
        .await
        .unwrap();
    let org = format!("{PUBLIC_URL}/users/soleil");
    store
        .add_follower(&org, MALLORY, "https://evil.example/follows/1", FollowStatus::Accepted)
        .await
        .unwrap();
    store
        .add_following(&org, MALLORY, &format!("{PUBLIC_URL}/follows/1"))
        .await
        .unwrap();
    store.accept_following(MALLORY, "").await.unwrap();
    store
        .upsert_remote_article(&RemoteArticle {
            id: "https://evil.example/articles/1".into(),
            actor: MALLORY.into(),
            kind: "Article".into(),
            url: Some(EVIL.into()),
            name: "Click me".into(),
            summary_html: String::new(),
            content_html: "<p>Text</p>".into(),
            language: Some("en".into()),
            image_url: Some("javascript:alert(2)".into()),
            image_alt: Some("Picture".into()),
            published_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    store
        .add_report(
            "https://evil.example/flags/1",
            MALLORY,
            &[EVIL.into(), format!("{PUBLIC_URL}/users/camille")],
            "spam",
        )
        .await
        .unwrap();
}

/// Every `href` and `src` value and every Atom `<uri>` of `page`, entities
/// decoded.
fn links(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for key in [" href=\"", " src=\"", "<uri>"] {
        for (at, _) in page.match_indices(key) {
            let rest = &page[at + key.len()..];
            let end = rest.find(['"', '<']).unwrap();
            found.push(
                rest[..end]
                    .replace("&amp;", "&")
                    .replace("&#58;", ":")
                    .trim()
                    .to_ascii_lowercase(),
            );
        }
    }
    found
}

/// Inline script (other than JSON-LD data), inline style and event handler
/// attributes on `page`, which the Content-Security-Policy would block.
fn inline_code(page: &str) -> Vec<String> {
    let lower = page.to_ascii_lowercase();
    let mut found = Vec::new();
    for (at, _) in lower.match_indices("<script") {
        let tag = &lower[at..at + lower[at..].find('>').unwrap()];
        if !tag.contains(" src=") && !tag.contains("type=\"application/ld+json\"") {
            found.push(tag.to_owned());
        }
    }
    if lower.contains("<style") {
        found.push("<style>".into());
    }
    for (at, _) in lower.match_indices(" style=\"") {
        found.push(lower[at..(at + 40).min(lower.len())].to_owned());
    }
    for (at, _) in lower.match_indices(" on") {
        let rest = &lower[at + 3..];
        let name = rest.chars().take_while(char::is_ascii_alphabetic).count();
        // Inside a tag: an attribute name followed by `=`.
        let in_tag = lower[..at].rfind('<') > lower[..at].rfind('>');
        if name > 0 && in_tag && rest[name..].starts_with('=') {
            found.push(lower[at..(at + 20).min(lower.len())].to_owned());
        }
    }
    found
}

#[tokio::test]
async fn javascript_links_from_stored_rows_never_become_links() {
    let app = app().await;
    let pages = [
        format!("/articles/{}", app.slug),
        "/network".to_owned(),
        "/network.atom".to_owned(),
        "/admin/comments".to_owned(),
        "/admin/comments?status=pending".to_owned(),
        format!("/admin/articles/{}/interactions", app.article_id),
        format!("/admin/articles/{}/quotes", app.article_id),
        "/admin/followers?actor=soleil".to_owned(),
        "/admin/reports".to_owned(),
    ];
    for path in &pages {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let lower = page.body.to_ascii_lowercase();
        assert!(
            lower.contains("mallory") || lower.contains("click me"),
            "{path} shows the planted rows:\n{}",
            page.body
        );
        let bad: Vec<String> = links(&page.body)
            .into_iter()
            .filter(|l| !(l.is_empty() || l.starts_with("https://") || l.starts_with('/') || l.starts_with('#')))
            .collect();
        assert!(bad.is_empty(), "{path} links to {bad:?}:\n{}", page.body);
    }
    let article = app.get(&format!("/articles/{}", app.slug)).await.body;
    assert!(
        article.contains("href=\"https://evil.example/notes/1\""),
        "a reply with a bad url links to its id instead"
    );
    assert!(
        article.contains("href=\"https://evil.example/users/mallory\""),
        "a replier with a bad url links to its id instead"
    );
    assert!(
        article.contains("href=\"https://evil.example/notes/3\""),
        "a quote with a bad url links to the quoting post's id instead"
    );
    let reports = app.get("/admin/reports").await.body;
    assert!(
        reports.contains("users/camille"),
        "the report's other target is still listed"
    );
    let atom = app.get("/network.atom").await.body;
    assert!(atom.contains("<uri>https://evil.example/users/mallory</uri>"), "{atom}");
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_no_inline_code() {
    let app = app().await;
    let pages = [
        "/".to_owned(),
        format!("/articles/{}", app.slug),
        "/authors/camille".to_owned(),
        "/network".to_owned(),
        "/follow?target=soleil".to_owned(),
        "/no-such-page".to_owned(),
        "/admin".to_owned(),
        "/admin/login".to_owned(),
        "/admin/articles".to_owned(),
        "/admin/articles/new".to_owned(),
        format!("/admin/articles/{}", app.article_id),
        "/admin/comments".to_owned(),
        "/admin/settings".to_owned(),
        "/admin/organisation".to_owned(),
        "/admin/media".to_owned(),
        "/admin/users".to_owned(),
    ];
    for path in &pages {
        let page = app.get(path).await;
        let header = |name: &str| {
            page.headers
                .get(name)
                .unwrap_or_else(|| panic!("{path} has no {name} header"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("style-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "strict-origin-when-cross-origin", "{path}");
        assert!(header("strict-transport-security").starts_with("max-age="), "{path}");
        let inline = inline_code(&page.body);
        assert!(
            inline.is_empty(),
            "{path} has inline code the policy blocks: {inline:?}"
        );
    }
    // The theme colours come from a stylesheet now.
    let home = app.get("/").await.body;
    assert!(
        home.contains("/theme.css?primary=%231d4ed8&amp;accent=%23b45309"),
        "{home}"
    );
    let css = app.get("/theme.css?primary=%231d4ed8&accent=%23b45309").await;
    assert_eq!(css.body, ":root { --primary: #1d4ed8; --accent: #b45309; }\n");
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    let hostile = app
        .get("/theme.css?primary=red;}body{x:url(//e)&accent=%23b45309")
        .await;
    assert!(hostile.body.contains("--primary: #1d6b4f;"), "{}", hostile.body);
    // Not only pages: every response carries them.
    let api = app.get("/api/articles").await;
    assert!(api.headers.contains_key("content-security-policy"));
}

/// The editor's Preview button (no JavaScript) shows what is wrong with a
/// body; the messages quote the body, so they must be escaped, not run.
#[tokio::test]
async fn the_plain_preview_escapes_its_messages() {
    let app = app().await;
    let page = app
        .post_multipart(
            "/admin/articles/new",
            &[
                ("_csrf", app.csrf.as_str()),
                ("action", "preview"),
                ("kind", "news"),
                ("author", "camille"),
                ("tr-0-language", "en"),
                ("tr-0-title", "Title"),
                ("tr-0-body", "Hello <script>alert(document.cookie)</script>"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let preview = &page.body[page.body.find("tr-0-preview").unwrap()..];
    let preview = &preview[..preview.find("</div>").unwrap()];
    assert!(preview.contains("&lt;script&gt;"), "the message is shown: {preview}");
    assert!(!preview.contains("<script"), "and not as markup: {preview}");
}

/// A cover image over the instance's size limit is refused (413) with the
/// message beside its input, the text typed before it shown again, and no
/// article created.
#[tokio::test]
async fn an_oversized_cover_keeps_what_was_typed() {
    let app = app().await;
    let boundary = "gazette-test-boundary";
    let mut body = Vec::new();
    for (name, value) in [
        ("_csrf", app.csrf.as_str()),
        ("action", "save"),
        ("kind", "news"),
        ("author", "camille"),
        ("tr-0-language", "en"),
        ("tr-0-title", "Kept title"),
        ("tr-0-body", "Kept body."),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"cover_file\"; filename=\"big.png\"\r\n\
             content-type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    // One byte over the 1 MiB limit of `config()`.
    body.extend(std::iter::repeat_n(0u8, (1 << 20) + 1));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method("POST")
        .uri("/admin/articles/new")
        .header("cookie", &app.cookie)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let page = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{page}");
    assert!(page.contains("larger than the limit of 1.0 MB"), "{page}");
    assert!(page.contains("Kept title") && page.contains("Kept body."), "{page}");
    let list = app.get("/admin/articles").await;
    assert!(!list.body.contains("Kept title"), "nothing was saved: {}", list.body);
}
