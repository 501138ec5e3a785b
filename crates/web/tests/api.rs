//! The REST API, media serving and the OpenAPI document, driven through the
//! real router on a real (throw-away) SQLite database. Every answer under
//! `/api` is checked against the schema the document gives for its route,
//! method and status (see [`check_schema`]).

// A failing unwrap is a failing test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use gazette_core::{AuthorInput, Language};
use gazette_store::QuoteState;
use gazette_store::testing::TestDb;
use gazette_web::{AppConfig, AppState, Templates, ThemeConfig};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://gazette.test";
const MAX_UPLOAD: usize = 4096;

// A 1×1 transparent PNG.
const PNG: [u8; 67] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

struct App {
    router: Router,
    /// The same routes without the layers around the router, whose `Debug` lists them.
    routes: Router,
    token: String,
    /// The OpenAPI document, which every API answer must match.
    doc: Value,
    // Dropped last: removes the database file.
    _db: TestDb,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// Asserts a JSON error with this status, code and field.
    #[track_caller]
    fn assert_error(&self, status: StatusCode, code: &str, field: Option<&str>) -> Value {
        let v = self.json();
        assert_eq!(self.status, status, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        if let Some(f) = field {
            assert_eq!(v["error"]["field"], f, "{v}");
        }
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        v
    }
}

async fn app() -> App {
    let db = TestDb::sqlite().await;
    let (_, token) = db.store.create_token("tests").await.unwrap();
    db.store
        .create_author(&AuthorInput {
            username: "marie".into(),
            name: "Marie Dupont".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let config = AppConfig {
        public_url: PUBLIC_URL.into(),
        instance_name: "Test coop".into(),
        default_language: Language::parse("fr").unwrap(),
        time_zone: gazette_core::local_time::Tz::UTC,
        max_upload_bytes: MAX_UPLOAD,
        theme: ThemeConfig {
            dir: None,
            primary_color: "#1d4ed8".into(),
            accent_color: "#b91c1c".into(),
            footer: String::new(),
        },
        admin: Default::default(),
        limits: Default::default(),
        metrics: Default::default(),
    };
    let federation = gazette_federation::FederationSettings::new(PUBLIC_URL);
    let state = AppState::build(
        db.store.clone(),
        config,
        Templates::load(None).unwrap(),
        federation.clone(),
        gazette_http::build_client(&federation.http_config()).unwrap(),
        std::sync::Arc::new(|| {}),
    )
    .await
    .unwrap();
    let routes = gazette_web::routes(state.clone());
    let router = gazette_web::router(state);
    let doc = router
        .clone()
        .oneshot(Request::builder().uri("/api/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    App {
        router,
        routes,
        token,
        doc: serde_json::from_slice(&doc).unwrap(),
        _db: db,
    }
}

impl App {
    /// Sends a request; an answer of an operation the document describes
    /// must have a documented status and match its schema.
    async fn send(&self, req: Request<Body>) -> Reply {
        let method = req.method().as_str().to_ascii_lowercase();
        let path = req.uri().path().to_owned();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let reply = Reply { status, headers, body };
        self.check_against_document(&method, &path, &reply);
        reply
    }

    /// Panics when `reply` is not what the document says `method path` answers.
    #[track_caller]
    fn check_against_document(&self, method: &str, path: &str, reply: &Reply) {
        let Some(template) = documented_path(&self.doc, path) else {
            return;
        };
        let operation = &self.doc["paths"][template.as_str()][method];
        if operation.is_null() {
            return; // a method the route does not take: 405, checked by the route test
        }
        let status = reply.status.as_str();
        let mut response = &operation["responses"][status];
        assert!(
            !response.is_null(),
            "{method} {template}: status {status} is not documented"
        );
        if let Some(pointer) = response["$ref"].as_str() {
            response = self.doc.pointer(pointer.trim_start_matches('#')).unwrap();
        }
        let Some(schema) = response["content"].get("application/json").map(|c| &c["schema"]) else {
            // No body (204), or not JSON (images): then the answer must not be JSON either.
            let content_type = reply.headers.get("content-type").map(|v| v.to_str().unwrap());
            assert!(
                !content_type.is_some_and(|t| t.starts_with("application/json")),
                "{method} {template}: answers JSON with status {status}, which the document gives no schema for"
            );
            return;
        };
        let mut errors = Vec::new();
        check_schema(&self.doc, schema, &reply.json(), "", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {path} ({status}) does not match its schema in the OpenAPI document:\n{}",
            errors.join("\n")
        );
    }

    fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(self.request(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&self, uri: &str) -> Reply {
        self.send(self.request(Method::POST, uri).body(Body::empty()).unwrap())
            .await
    }

    async fn delete(&self, uri: &str) -> Reply {
        self.send(self.request(Method::DELETE, uri).body(Body::empty()).unwrap())
            .await
    }

    async fn json(&self, method: Method, uri: &str, body: &Value) -> Reply {
        self.raw_json(method, uri, &[], body.to_string()).await
    }

    async fn raw_json(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: String) -> Reply {
        let mut req = self.request(method, uri).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    /// `POST /api/media` with the given parts: (name, declared content type, bytes).
    async fn upload(&self, parts: &[(&str, Option<&str>, &[u8])], content_length: bool) -> Reply {
        let boundary = "gazette-test-boundary-7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        for (name, ct, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match ct {
                Some(ct) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"x.png\"\r\nContent-Type: {ct}\r\n\r\n")
                        .as_bytes(),
                ),
                None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut req = self
            .request(Method::POST, "/api/media")
            .header("content-type", format!("multipart/form-data; boundary={boundary}"));
        if content_length {
            req = req.header("content-length", body.len());
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }
}

fn article(slug: &str) -> Value {
    json!({
        "slug": slug,
        "kind": "news",
        "language": "fr",
        "translations": [
            { "language": "fr", "title": "Une coopérative ouvre", "summary": "Résumé", "body": "Du **texte**." },
            { "language": "en", "title": "A cooperative opens", "summary": "Summary", "body": "Some **text**." }
        ],
        "tags": ["#EconomieSociale"],
        "author": "marie"
    })
}

#[tokio::test]
async fn refuses_requests_without_a_valid_token() {
    let app = app().await;
    let routes: [(Method, &str); 26] = [
        (Method::GET, "/api/articles"),
        (Method::POST, "/api/articles"),
        (Method::GET, "/api/articles/x"),
        (Method::PUT, "/api/articles/x"),
        (Method::DELETE, "/api/articles/x"),
        (Method::POST, "/api/articles/x/publish"),
        (Method::POST, "/api/articles/x/unpublish"),
        (Method::GET, "/api/articles/x/quotes"),
        (Method::PUT, "/api/articles/x/quote-policy"),
        (Method::DELETE, "/api/articles/x/quotes/q"),
        (Method::GET, "/api/authors"),
        (Method::POST, "/api/authors"),
        (Method::GET, "/api/authors/x"),
        (Method::PUT, "/api/authors/x"),
        (Method::DELETE, "/api/authors/x"),
        (Method::GET, "/api/media"),
        (Method::POST, "/api/media"),
        (Method::GET, "/api/media/x"),
        (Method::GET, "/api/organisation"),
        (Method::PUT, "/api/organisation"),
        (Method::GET, "/api/deliveries"),
        (Method::GET, "/api/blocks"),
        (Method::POST, "/api/blocks"),
        (Method::DELETE, "/api/blocks/domain/x.example"),
        (Method::GET, "/api/allowlist"),
        (Method::DELETE, "/api/allowlist/x.example"),
    ];
    for (method, uri) in routes {
        let none = app
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        none.assert_error(StatusCode::UNAUTHORIZED, "unauthorized", None);
        assert!(none.header("www-authenticate").starts_with("Bearer"), "{method} {uri}");

        let bad = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("authorization", "Bearer gzt_not-a-real-token")
            .body(Body::empty())
            .unwrap();
        let bad = app.send(bad).await;
        bad.assert_error(StatusCode::UNAUTHORIZED, "unauthorized", None);
        assert!(
            bad.header("www-authenticate").contains("invalid_token"),
            "{method} {uri}"
        );
    }
    // Not a bearer scheme at all.
    let basic = Request::builder()
        .uri("/api/articles")
        .header("authorization", "Basic dXNlcjpwdw==")
        .body(Body::empty());
    app.send(basic.unwrap())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized", None);
    // The token itself works, with any case of the scheme.
    let lower = Request::builder()
        .uri("/api/articles")
        .header("authorization", format!("bearer {}", app.token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(lower).await.status, StatusCode::OK);
}

#[tokio::test]
async fn article_lifecycle() {
    let app = app().await;

    let created = app.json(Method::POST, "/api/articles", &article("ouverture")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json());
    let a = created.json();
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), format!("{PUBLIC_URL}/api/articles/{id}"));
    assert_eq!(created.header("etag"), "\"1\"");
    assert_eq!(a["status"], "draft");
    assert_eq!(a["version"], 1);
    assert_eq!(a["url"], format!("{PUBLIC_URL}/articles/ouverture"));
    assert_eq!(a["translations"][0]["language"], "fr");
    assert_eq!(
        a["translations"][0]["body_html"].as_str().unwrap().trim(),
        "<p>Du <strong>texte</strong>.</p>"
    );
    assert_eq!(a["tags"], json!(["EconomieSociale"]), "the case it was written in");

    // By id and by slug.
    let by_id = app.get(&format!("/api/articles/{id}")).await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.json()["slug"], "ouverture");
    let by_slug = app.get("/api/articles/ouverture").await;
    assert_eq!(by_slug.json()["id"], id);
    app.get("/api/articles/nothing-here")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);

    // Replace the content, based on version 1: the id is kept.
    let mut edit = article("ouverture-officielle");
    edit["translations"][0]["title"] = json!("La coopérative est ouverte");
    let updated = app
        .raw_json(
            Method::PUT,
            "/api/articles/ouverture",
            &[("if-match", "\"1\"")],
            edit.to_string(),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.json());
    let u = updated.json();
    assert_eq!(u["id"], id);
    assert_eq!(u["version"], 2);
    assert_eq!(u["slug"], "ouverture-officielle");
    assert_eq!(u["translations"][0]["title"], "La coopérative est ouverte");
    assert_eq!(u["created_at"], a["created_at"]);
    assert_eq!(updated.header("etag"), "\"2\"");

    // Edits based on version 1 are now stale, however the version is given.
    let uri = format!("/api/articles/{id}");
    app.raw_json(Method::PUT, &uri, &[("if-match", "\"1\"")], edit.to_string())
        .await
        .assert_error(StatusCode::CONFLICT, "stale_version", Some("version"));
    app.json(Method::PUT, &format!("{uri}?version=1"), &edit)
        .await
        .assert_error(StatusCode::CONFLICT, "stale_version", Some("version"));
    let mut with_version = edit.clone();
    with_version["version"] = json!(1);
    app.json(Method::PUT, &uri, &with_version).await.assert_error(
        StatusCode::CONFLICT,
        "stale_version",
        Some("version"),
    );
    app.raw_json(Method::PUT, &uri, &[("if-match", "\"x\"")], edit.to_string())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid", Some("If-Match"));
    assert_eq!(
        app.get(&uri).await.json()["version"],
        2,
        "a refused edit changes nothing"
    );
    // The current version, and no version at all, are accepted.
    with_version["version"] = json!(2);
    assert_eq!(app.json(Method::PUT, &uri, &with_version).await.status, StatusCode::OK);
    assert_eq!(app.json(Method::PUT, &uri, &edit).await.json()["version"], 4);

    let published = app.post(&format!("{uri}/publish")).await;
    assert_eq!(published.status, StatusCode::OK);
    let p = published.json();
    assert_eq!(p["status"], "published");
    assert!(p["published_at"].is_string());
    let listed = app.get("/api/articles?status=published").await.json();
    assert_eq!(listed["total"], 1);

    let unpublished = app.post("/api/articles/ouverture-officielle/unpublish").await.json();
    assert_eq!(unpublished["status"], "draft");

    let deleted = app.delete(&uri).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    assert_eq!(app.get(&uri).await.json()["status"], "deleted");
    let list = app.get("/api/articles").await.json();
    assert_eq!(list["total"], 0, "deleted articles are not listed by default");
    assert_eq!(app.get("/api/articles?status=deleted").await.json()["total"], 1);
}

#[tokio::test]
async fn lists_with_filters_and_pages() {
    let app = app().await;
    for i in 0..3 {
        let r = app
            .json(Method::POST, "/api/articles", &article(&format!("news-{i}")))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let mut interview = article("entretien");
    interview["kind"] = json!("interview");
    interview["interviewee"] = json!({ "name": "Ana Silva", "role": "Présidente" });
    interview["translations"] = json!([{ "language": "fr", "title": "Entretien", "body": "Q/R" }]);
    assert_eq!(
        app.json(Method::POST, "/api/articles", &interview).await.status,
        StatusCode::CREATED
    );
    app.post("/api/articles/news-1/publish").await;

    let page = app.get("/api/articles?per_page=2&page=2").await.json();
    assert_eq!(
        (page["total"].as_i64(), page["page"].as_i64(), page["per_page"].as_i64()),
        (Some(4), Some(2), Some(2))
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.get("/api/articles?kind=interview").await.json()["total"], 1);
    assert_eq!(app.get("/api/articles?lang=en").await.json()["total"], 3);
    assert_eq!(
        app.get("/api/articles?status=published").await.json()["items"][0]["slug"],
        "news-1"
    );
    assert_eq!(app.get("/api/articles?status=draft,published").await.json()["total"], 4);
    assert_eq!(app.get("/api/articles?tag=EconomieSociale").await.json()["total"], 4);
    assert_eq!(
        app.get("/api/articles?tag=economiesociale").await.json()["total"],
        4,
        "any case"
    );
    assert_eq!(app.get("/api/articles?q=entre").await.json()["total"], 1);

    app.get("/api/articles?per_page=101").await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("per_page"),
    );
    app.get("/api/articles?page=0")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("page"));
    app.get("/api/articles?kind=opinion")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("kind"));
    app.get("/api/articles?status=gone").await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        Some("status"),
    );
    app.get("/api/articles?lang=zz").await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_language",
        Some("lang"),
    );
}

#[tokio::test]
async fn bad_articles_name_the_field_and_store_nothing() {
    let app = app().await;
    // (what, how the valid article is spoiled, status, code, field)
    type Case = (
        &'static str,
        Box<dyn Fn(&mut Value)>,
        StatusCode,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "unknown kind",
            Box::new(|a| a["kind"] = json!("opinion")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "kind",
        ),
        (
            "missing title",
            Box::new(|a| a["translations"][0]["title"] = json!("  ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "title",
        ),
        (
            "no translations",
            Box::new(|a| a["translations"] = json!([])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "title",
        ),
        (
            "unknown language",
            Box::new(|a| {
                a["language"] = json!("zz");
                a["translations"][0]["language"] = json!("zz");
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_language",
            "language",
        ),
        (
            "cover without alt",
            Box::new(|a| a["cover"] = json!({ "media_id": "m1", "alt": "" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "cover.alt",
        ),
        (
            "script in Markdown",
            Box::new(|a| a["translations"][0]["body"] = json!("Hello\n\n<script>alert(1)</script>")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsafe_html",
            "body",
        ),
        (
            "script in a translation",
            Box::new(|a| a["translations"][1]["body"] = json!("<SCRIPT src=x></SCRIPT>")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsafe_html",
            "translations.en.body",
        ),
        (
            "javascript: link",
            Box::new(|a| a["translations"][0]["body"] = json!("[click](javascript:alert(1))")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsafe_link",
            "body",
        ),
        (
            "unknown author",
            Box::new(|a| a["author"] = json!("nobody")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "author",
        ),
        (
            "cover that was never uploaded",
            Box::new(|a| a["cover"] = json!({ "media_id": "m1", "alt": "A photo" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "cover",
        ),
        (
            "kind of the wrong type",
            Box::new(|a| a["kind"] = json!(5)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
            "kind",
        ),
        (
            "translation without its title field",
            Box::new(|a| a["translations"][1] = json!({ "language": "en" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
            "translations.1.title",
        ),
    ];
    for (what, change, status, code, field) in cases {
        let mut a = article("bad");
        change(&mut a);
        let r = app.json(Method::POST, "/api/articles", &a).await;
        let v = r.json();
        assert_eq!(r.status, status, "{what}: {v}");
        assert_eq!(v["error"]["code"], code, "{what}: {v}");
        assert_eq!(v["error"]["field"], field, "{what}: {v}");
        if what == "javascript: link" {
            assert!(v["error"]["message"].as_str().unwrap().contains("javascript:"), "{v}");
        }
    }

    // Not JSON at all: the message says where.
    let r = app
        .raw_json(
            Method::POST,
            "/api/articles",
            &[],
            "{\"kind\": \"news\",\n \"language\": ".into(),
        )
        .await;
    let v = r.assert_error(StatusCode::BAD_REQUEST, "invalid_json", None);
    assert!(v["error"]["message"].as_str().unwrap().contains("line 2"), "{v}");
    let r = app
        .raw_json(Method::POST, "/api/articles", &[], "{\"kind\": news}".into())
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_json", None);
    // JSON, but not an object.
    let r = app.raw_json(Method::POST, "/api/articles", &[], "[1, 2]".into()).await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", None);
    // Not declared as JSON.
    let r = app
        .send(
            app.request(Method::POST, "/api/articles")
                .body(Body::from(article("x").to_string()))
                .unwrap(),
        )
        .await;
    r.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);

    let list = app
        .get("/api/articles?status=draft,scheduled,published,deleted")
        .await
        .json();
    assert_eq!(list["total"], 0, "a failed create leaves nothing stored: {list}");
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn slug_clash_is_a_conflict_on_slug() {
    let app = app().await;
    assert_eq!(
        app.json(Method::POST, "/api/articles", &article("taken")).await.status,
        StatusCode::CREATED
    );
    let r = app.json(Method::POST, "/api/articles", &article("taken")).await;
    r.assert_error(StatusCode::CONFLICT, "conflict", Some("slug"));
    // Renaming another article onto it is refused the same way.
    assert_eq!(
        app.json(Method::POST, "/api/articles", &article("other")).await.status,
        StatusCode::CREATED
    );
    let r = app.json(Method::PUT, "/api/articles/other", &article("taken")).await;
    r.assert_error(StatusCode::CONFLICT, "conflict", Some("slug"));
    // A deleted article keeps its slug.
    assert_eq!(app.delete("/api/articles/taken").await.status, StatusCode::NO_CONTENT);
    let r = app.json(Method::POST, "/api/articles", &article("taken")).await;
    r.assert_error(StatusCode::CONFLICT, "conflict", Some("slug"));
    assert_eq!(app.get("/api/articles").await.json()["total"], 1);
}

#[tokio::test]
async fn uploads_and_serves_media() {
    let app = app().await;

    // The declared type of the part is ignored: the bytes say PNG.
    let r = app
        .upload(
            &[("alt", None, b"A red logo"), ("file", Some("text/plain"), &PNG)],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let m = r.json();
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["content_type"], "image/png");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64(), m["size"].as_u64()),
        (Some(1), Some(1), Some(67))
    );
    assert_eq!(m["alt"], "A red logo");
    assert_eq!(m["url"], format!("{PUBLIC_URL}/media/{id}"));
    assert_eq!(r.header("location"), format!("{PUBLIC_URL}/api/media/{id}"));
    let sha = m["sha256"].as_str().unwrap().to_owned();

    // Too large, just over the limit and far over it (the body is then cut off while read).
    let big = vec![0x89u8; MAX_UPLOAD + 1];
    app.upload(&[("file", Some("image/png"), &big), ("alt", None, b"x")], false)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", Some("file"));
    let huge = vec![0u8; 200 * 1024];
    app.upload(&[("file", Some("image/png"), &huge), ("alt", None, b"x")], false)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", Some("file"));
    app.upload(&[("file", Some("image/png"), &huge), ("alt", None, b"x")], true)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", Some("file"));
    // Not an image, whatever it claims to be.
    app.upload(
        &[
            ("file", Some("image/png"), b"%PDF-1.4 not an image"),
            ("alt", None, b"x"),
        ],
        true,
    )
    .await
    .assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        Some("file"),
    );
    app.upload(
        &[
            (
                "file",
                Some("image/svg+xml"),
                b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            ),
            ("alt", None, b"x"),
        ],
        true,
    )
    .await
    .assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        Some("file"),
    );
    // No alt text, or only blanks.
    app.upload(&[("file", Some("image/png"), &PNG)], true)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "required", Some("alt"));
    app.upload(&[("file", Some("image/png"), &PNG), ("alt", None, b"  ")], true)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "required", Some("alt"));
    app.upload(&[("alt", None, b"no file")], true).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        Some("file"),
    );
    // Not multipart.
    app.json(Method::POST, "/api/media", &json!({ "alt": "x" }))
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);

    let list = app.get("/api/media").await.json();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "failed uploads store nothing: {list}"
    );
    assert_eq!(app.get(&format!("/api/media/{id}")).await.json()["sha256"], sha);
    app.get("/api/media/unknown")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);

    // Public serving: no token needed, cached forever, revalidated by ETag.
    let served = app
        .send(
            Request::builder()
                .uri(format!("/media/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body.as_ref(), PNG.as_slice());
    assert_eq!(served.header("content-type"), "image/png");
    assert_eq!(served.header("cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(served.header("x-content-type-options"), "nosniff");
    let etag = served.header("etag").to_owned();
    assert_eq!(etag, format!("\"{sha}\""));
    let again = Request::builder()
        .uri(format!("/media/{id}"))
        .header("if-none-match", &etag)
        .body(Body::empty());
    let again = app.send(again.unwrap()).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), etag);
    let other = Request::builder()
        .uri(format!("/media/{id}"))
        .header("if-none-match", "\"abc\"")
        .body(Body::empty());
    assert_eq!(app.send(other.unwrap()).await.status, StatusCode::OK);
    let missing = app
        .send(Request::builder().uri("/media/unknown").body(Body::empty()).unwrap())
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The upload can be a cover, with alt text of its own.
    let mut a = article("with-cover");
    a["cover"] = json!({ "media_id": id, "alt": "The logo of the cooperative" });
    let r = app.json(Method::POST, "/api/articles", &a).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    assert_eq!(r.json()["cover"]["media_id"], id);
}

#[tokio::test]
async fn authors_crud() {
    let app = app().await;
    let r = app
        .json(
            Method::POST,
            "/api/authors",
            &json!({ "username": "Tom_B", "name": "Tom B", "fediverse_handle": "tom@social.example.org" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let t = r.json();
    assert_eq!(t["username"], "tom_b");
    assert_eq!(t["fediverse_handle"], "@tom@social.example.org");
    assert_eq!(t["url"], format!("{PUBLIC_URL}/authors/tom_b"));
    let id = t["id"].as_str().unwrap().to_owned();

    assert_eq!(app.get("/api/authors/tom_b").await.json()["id"], id);
    assert_eq!(
        app.get("/api/authors").await.json()["items"].as_array().unwrap().len(),
        2
    );
    let r = app
        .json(
            Method::PUT,
            &format!("/api/authors/{id}"),
            &json!({ "username": "tom", "name": "Tom Bernard" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.json()["id"].as_str(), r.json()["name"].as_str()),
        (Some(id.as_str()), Some("Tom Bernard"))
    );

    app.json(
        Method::POST,
        "/api/authors",
        &json!({ "username": "tom", "name": "Another" }),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "conflict", Some("username"));
    app.json(Method::POST, "/api/authors", &json!({ "username": "a b", "name": "X" }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("username"));
    app.json(Method::POST, "/api/authors", &json!({ "username": "ann", "name": "" }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "required", Some("name"));
    app.json(Method::POST, "/api/authors", &json!({ "name": "No username" }))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", Some("username"));

    // An author with articles cannot be deleted; one without can.
    assert_eq!(
        app.json(Method::POST, "/api/articles", &article("par-marie"))
            .await
            .status,
        StatusCode::CREATED
    );
    app.delete("/api/authors/marie")
        .await
        .assert_error(StatusCode::CONFLICT, "conflict", Some("author"));
    assert_eq!(app.delete("/api/authors/tom").await.status, StatusCode::NO_CONTENT);
    app.get("/api/authors/tom")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn organisation_profile() {
    let app = app().await;
    app.get("/api/organisation")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let good = json!({
        "username": "demo", "name": "Coopérative Demo", "description": "Une SCOP",
        "website": "https://coop.example.org", "country": "fr", "legal_form": "cooperative",
        "sectors": ["Édition"], "languages": ["fr", "en"]
    });
    let cases = [
        ("country", json!("XX"), "invalid"),
        ("legal_form", json!("company"), "invalid"),
        ("languages", json!(["fr", "klingon"]), "unknown_language"),
        ("name", json!(""), "required"),
        ("website", json!("javascript:alert(1)"), "invalid"),
    ];
    for (field, value, code) in cases {
        let mut bad = good.clone();
        bad[field] = value;
        app.json(Method::PUT, "/api/organisation", &bad).await.assert_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            Some(field),
        );
    }
    let mut no_name = good.clone();
    no_name.as_object_mut().unwrap().remove("name");
    app.json(Method::PUT, "/api/organisation", &no_name).await.assert_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "required",
        Some("name"),
    );

    let r = app.json(Method::PUT, "/api/organisation", &good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    let o = app.get("/api/organisation").await.json();
    assert_eq!(
        (o["country"].as_str(), o["legal_form"].as_str()),
        (Some("FR"), Some("cooperative"))
    );
    assert_eq!(o["languages"], json!(["fr", "en"]));
    // The username is kept when not given again.
    let mut renamed = good.clone();
    renamed.as_object_mut().unwrap().remove("username");
    renamed["name"] = json!("Demo SCOP");
    let o = app.json(Method::PUT, "/api/organisation", &renamed).await.json();
    assert_eq!(
        (o["username"].as_str(), o["name"].as_str()),
        (Some("demo"), Some("Demo SCOP"))
    );
}

#[tokio::test]
async fn delivery_queue_per_host() {
    let app = app().await;
    let empty = app.get("/api/deliveries").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(
        empty.json(),
        json!({ "hosts": [], "totals": { "hosts": 0, "pending": 0, "retrying": 0, "delivered": 0, "given_up": 0,
                                         "unavailable_hosts": 0, "open_circuits": 0 } })
    );

    // Four inboxes on three hosts: one delivered, one failing (its circuit
    // opens at the first failure under this policy), one refused, one waiting.
    let store = &app._db.store;
    let inboxes = [
        "https://a.example/inbox",
        "https://b.example/inbox",
        "https://b.example/users/x/inbox",
        "https://c.example:8443/inbox",
    ]
    .map(String::from);
    let activity = format!("{PUBLIC_URL}/activities/1");
    let queued = store
        .enqueue_delivery(&activity, &format!("{PUBLIC_URL}/users/marie"), "{}", &inboxes)
        .await
        .unwrap();
    assert_eq!(queued, 4);
    let rows = store.list_deliveries(&activity).await.unwrap();
    let id = |inbox: &str| rows.iter().find(|r| r.inbox == inbox).unwrap().id.clone();
    let now = chrono::Utc::now();
    let policy = gazette_store::RetryPolicy {
        circuit_threshold: 1,
        ..Default::default()
    };
    store
        .delivery_succeeded(&id(&inboxes[0]), "a.example", now)
        .await
        .unwrap();
    store
        .delivery_failed(
            &id(&inboxes[1]),
            "b.example",
            now,
            "HTTP 503 Service Unavailable",
            true,
            &policy,
        )
        .await
        .unwrap();
    store
        .delivery_failed(&id(&inboxes[3]), "c.example:8443", now, "HTTP 410 Gone", false, &policy)
        .await
        .unwrap();

    let r = app.get("/api/deliveries").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let hosts = v["hosts"].as_array().unwrap();
    let names: Vec<&str> = hosts.iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.example", "b.example", "c.example:8443"]);
    let (a, b, c) = (&hosts[0], &hosts[1], &hosts[2]);
    assert_eq!(
        (&a["pending"], &a["delivered"], &a["consecutive_failures"]),
        (&json!(0), &json!(1), &json!(0))
    );
    assert!(a["last_success_at"].is_string(), "{a}");
    assert!(a["circuit_open_until"].is_null(), "{a}");
    assert_eq!(
        (&b["pending"], &b["retrying"], &b["delivered"]),
        (&json!(1), &json!(1), &json!(0))
    );
    assert_eq!(b["consecutive_failures"], 1);
    assert_eq!(b["last_error"], "HTTP 503 Service Unavailable");
    assert_eq!(b["unavailable"], false);
    let open_until = chrono::DateTime::parse_from_rfc3339(b["circuit_open_until"].as_str().unwrap()).unwrap();
    assert!(open_until > now, "{b}");
    assert_eq!((&c["given_up"], &c["pending"]), (&json!(1), &json!(0)));
    // A refusal is an answer: the host is alive, so no streak.
    assert_eq!(c["consecutive_failures"], 0);
    assert_eq!(
        v["totals"],
        json!({ "hosts": 3, "pending": 1, "retrying": 1, "delivered": 1, "given_up": 1,
                "unavailable_hosts": 0, "open_circuits": 1 })
    );
}

/// The document's path template that `path` falls under: literal segments
/// must be equal, `{name}` takes any one segment; the most literal wins.
fn documented_path(doc: &Value, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()));
            fits.then(|| (parts.iter().filter(|t| !t.starts_with('{')).count(), template))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template.clone())
}

/// Checks `value` against `schema` (the subset of JSON Schema utoipa writes:
/// `$ref`, `allOf`, `oneOf`, `anyOf`, `type`, `enum`, `required`,
/// `properties`, `additionalProperties`, `items`, `minimum`, and the
/// `date-time` and `uri` formats). Stricter than JSON Schema in one way: an
/// object may only carry the properties its schema declares, so a field the
/// API sends but the document forgets is caught too. A small checker rather
/// than a validator crate such as `jsonschema`, which brings its own regex
/// engines and `$ref` resolution: far more build than this one test needs.
fn check_schema(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    check_part(doc, schema, value, at, errors);
    if let (Some(object), Some(declared)) = (value.as_object(), declared_properties(doc, schema)) {
        for key in object.keys().filter(|k| !declared.contains(k.as_str())) {
            errors.push(format!("{at}/{key}: not in the schema"));
        }
    }
}

/// [`check_schema`] without the check for undeclared properties, which the
/// caller makes over every part of an `allOf`.
fn check_part(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(pointer) = schema["$ref"].as_str() {
        let Some(target) = doc.pointer(pointer.trim_start_matches('#')) else {
            errors.push(format!("{at}: unresolved $ref {pointer}"));
            return;
        };
        return check_part(doc, target, value, at, errors);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        check_part(doc, part, value, at, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[key].as_array() {
            let fits = branches.iter().any(|b| {
                let mut e = Vec::new();
                check_schema(doc, b, value, at, &mut e);
                e.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: {value} matches no branch of {key}"));
            }
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{at}: {value} is not of type {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < min
    {
        errors.push(format!("{at}: {n} is under the minimum {min}"));
    }
    if let Some(text) = value.as_str() {
        match schema["format"].as_str() {
            Some("date-time") if chrono::DateTime::parse_from_rfc3339(text).is_err() => {
                errors.push(format!("{at}: `{text}` is not an RFC 3339 date-time"));
            }
            Some("uri") if !text.starts_with("https://") && !text.starts_with("http://") => {
                errors.push(format!("{at}: `{text}` is not an absolute URL"));
            }
            _ => {}
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                errors.push(format!("{at}/{name}: required, missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, child) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => check_schema(doc, s, child, &format!("{at}/{key}"), errors),
                None if schema["additionalProperties"].is_object() => check_schema(
                    doc,
                    &schema["additionalProperties"],
                    child,
                    &format!("{at}/{key}"),
                    errors,
                ),
                None => {}
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            check_schema(doc, items, item, &format!("{at}/{i}"), errors);
        }
    }
}

/// Every property name an object schema declares, over its `$ref` and
/// `allOf` parts; `None` when it takes any (no `properties` anywhere, or
/// `additionalProperties`) or is a choice (`oneOf`, `anyOf`: each branch checks itself).
fn declared_properties<'a>(doc: &'a Value, schema: &'a Value) -> Option<BTreeSet<&'a str>> {
    if let Some(pointer) = schema["$ref"].as_str() {
        return declared_properties(doc, doc.pointer(pointer.trim_start_matches('#'))?);
    }
    if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() || schema.get("additionalProperties").is_some() {
        return None;
    }
    let mut names: BTreeSet<&str> = schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut open = schema.get("properties").is_none();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        match declared_properties(doc, part) {
            Some(more) => {
                names.extend(more);
                open = false;
            }
            None => return None,
        }
    }
    (!open).then_some(names)
}

/// Every `$ref` in `v` that points into the document must exist.
fn check_refs(doc: &Value, v: &Value, path: &str, missing: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    let target = child.as_str().unwrap_or_default();
                    let resolved = target.strip_prefix('#').and_then(|pointer| doc.pointer(pointer));
                    if resolved.is_none() {
                        missing.push(format!("{path}: {target}"));
                    }
                } else {
                    check_refs(doc, child, &format!("{path}/{k}"), missing);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_refs(doc, child, &format!("{path}/{i}"), missing);
            }
        }
        _ => {}
    }
}

/// The path templates a router serves, read from its `Debug` listing (axum
/// offers no other way to list them): its `RouteId(n): "/path"` entries.
fn served_paths(router: &Router) -> BTreeSet<String> {
    let listing = format!("{router:?}");
    listing
        .split("RouteId(")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            let path = rest.strip_prefix("): \"")?;
            Some(path[..path.find('"')?].to_owned())
        })
        .filter(|p| !p.contains("__private__"))
        .collect()
}

#[tokio::test]
async fn openapi_document_describes_every_route() {
    let app = app().await;
    // Public: no token.
    let r = app
        .send(Request::builder().uri("/api/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("application/json"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Gazette REST API");
    assert_eq!(doc["servers"][0]["url"], PUBLIC_URL);
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
    assert_eq!(doc["security"], json!([{ "bearerAuth": [] }]));
    assert_eq!(doc["paths"]["/api/openapi.json"]["get"]["security"], json!([{}]));
    let mut missing = Vec::new();
    check_refs(&doc, &doc, "", &mut missing);
    assert!(missing.is_empty(), "unresolved $refs: {missing:?}");

    // Every operation has a summary, a known tag and a unique id.
    let tags: Vec<&Value> = doc["tags"].as_array().unwrap().iter().map(|t| &t["name"]).collect();
    let mut ids = BTreeSet::new();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}: no summary"
            );
            assert!(tags.contains(&&op["tags"][0]), "{method} {path}: tag {}", op["tags"]);
            assert!(
                ids.insert(op["operationId"].as_str().unwrap()),
                "{method} {path}: operationId taken"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }

    // What the router serves, from the router: its paths under /api (and the
    // public image route the document also describes), and for each the
    // methods it does not refuse with 405.
    let documented_paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    let mut served = BTreeSet::new();
    let paths = served_paths(&app.routes);
    assert!(
        paths.contains("/api/articles"),
        "cannot read the router's paths from {paths:?}"
    );
    for path in paths
        .iter()
        .filter(|p| p.starts_with("/api/") || documented_paths.contains(p))
    {
        let uri: Vec<&str> = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect();
        let uri = uri.join("/");
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let r = app
                .send(
                    Request::builder()
                        .method(method.clone())
                        .uri(&uri)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            let fallback = String::from_utf8_lossy(&r.body).contains("no such API endpoint");
            if r.status != StatusCode::METHOD_NOT_ALLOWED && !fallback {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );

    // Unknown API paths and methods answer in JSON too.
    app.get("/api/nothing")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let patch = app
        .send(app.request(Method::PATCH, "/api/articles").body(Body::empty()).unwrap())
        .await;
    patch.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
    assert!(patch.header("allow").contains("POST"), "{:?}", patch.headers);
}

/// The checker itself: it must refuse what does not fit, or the checks of
/// every answer above would prove nothing.
#[tokio::test]
async fn schema_checker_refuses_answers_that_do_not_fit() {
    let app = app().await;
    let schema = json!({ "$ref": "#/components/schemas/ArticleJson" });
    let r = app.json(Method::POST, "/api/articles", &article("checked")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let good = r.json();
    let check = |v: &Value| {
        let mut errors = Vec::new();
        check_schema(&app.doc, &schema, v, "", &mut errors);
        errors
    };
    assert_eq!(check(&good), Vec::<String>::new());
    let mut extra = good.clone();
    extra["surprise"] = json!(1);
    assert_eq!(check(&extra), ["/surprise: not in the schema"]);
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("url");
    assert_eq!(check(&missing), ["/url: required, missing"]);
    let mut wrong = good.clone();
    wrong["translations"][0]["title"] = json!(5);
    wrong["status"] = json!("lost");
    wrong["created_at"] = json!("yesterday");
    let errors = check(&wrong);
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[tokio::test]
async fn followers_list_and_answers() {
    let app = app().await;
    let r = app.get("/api/followers").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["items"], serde_json::json!([]));
    let r = app.get("/api/followers?status=blocked").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["field"], "status");
    let r = app
        .json(
            Method::POST,
            "/api/followers/approve",
            &serde_json::json!({ "follower": "@nobody@example.org" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["field"], "follower");
    let r = app
        .json(
            Method::POST,
            "/api/followers/reject",
            &serde_json::json!({ "follower": " " }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A remote account `id` on `host`, as the inbox would have stored it.
fn remote_actor(id: &str, host: &str, username: &str) -> gazette_core::RemoteActor {
    gazette_core::RemoteActor {
        id: id.into(),
        kind: "Person".into(),
        preferred_username: username.into(),
        name: username.to_uppercase(),
        host: host.into(),
        inbox: format!("{id}/inbox"),
        shared_inbox: None,
        url: None,
        icon: None,
        public_key_id: format!("{id}#main-key"),
        public_key_pem: "PEM".into(),
        moved_to: None,
        refreshed_at: chrono::Utc::now(),
    }
}

/// Quotes of an article (FEP-044f) through the API: the policy that
/// applies and the article's own, the quotes other servers asked for,
/// and revoking an accepted one (its author queues the `Delete` of the
/// stamp to the quoting server).
#[tokio::test]
async fn quotes_of_an_article() {
    let app = app().await;
    let store = &app._db.store;
    let created = app.json(Method::POST, "/api/articles", &article("citee")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.post("/api/articles/citee/publish").await.status, StatusCode::OK);

    let r = app.get("/api/articles/citee/quotes").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({ "policy": "default", "applies": "everyone", "accepted": 0, "items": [] })
    );

    let quoter = "https://masto.example/users/lea";
    let mut lea = remote_actor(quoter, "masto.example", "lea");
    lea.url = Some("https://masto.example/@lea".into());
    store.upsert_remote_actor(&lea).await.unwrap();
    let answer = |post: &'static str, state| gazette_store::QuoteAnswer {
        article_id: &id,
        quote_post: post,
        quote_url: None,
        actor: quoter,
        request_id: post,
        state,
    };
    let accepted = store
        .record_quote(&answer("https://masto.example/statuses/1", QuoteState::Accepted))
        .await
        .unwrap();
    let refused = store
        .record_quote(&answer("https://masto.example/statuses/2", QuoteState::Rejected))
        .await
        .unwrap();

    let list = app.get(&format!("/api/articles/{id}/quotes")).await.json();
    assert_eq!(list["accepted"], 1);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let by_id = |v: &Value, q: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == q)
            .cloned()
            .unwrap()
    };
    let first = by_id(&list, &accepted.id);
    assert_eq!(first["state"], "accepted");
    assert_eq!(first["post"], "https://masto.example/statuses/1");
    assert_eq!(first["stamp"], format!("{PUBLIC_URL}/quotes/{}", accepted.id));
    assert_eq!(first["quoter"]["handle"], "@lea@masto.example");
    assert_eq!(first["quoter"]["url"], "https://masto.example/@lea");
    assert_eq!(by_id(&list, &refused.id)["stamp"], Value::Null);

    // The policy: a published article's change is announced to its followers.
    let r = app
        .json(
            Method::PUT,
            "/api/articles/citee/quote-policy",
            &json!({ "policy": "followers" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    assert_eq!(r.json(), json!({ "policy": "followers", "announced": true }));
    let list = app.get("/api/articles/citee/quotes").await.json();
    assert_eq!(
        (&list["policy"], &list["applies"]),
        (&json!("followers"), &json!("followers"))
    );
    let again = app
        .json(
            Method::PUT,
            "/api/articles/citee/quote-policy",
            &json!({ "policy": "followers" }),
        )
        .await;
    assert_eq!(again.json()["announced"], false);
    app.json(
        Method::PUT,
        "/api/articles/citee/quote-policy",
        &json!({ "policy": "some" }),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("policy"));
    app.json(
        Method::PUT,
        "/api/articles/nothing-here/quote-policy",
        &json!({ "policy": "nobody" }),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found", None);

    // Revoking: the accepted one (twice is still done), not the refused one.
    let revoke = format!("/api/articles/citee/quotes/{}", accepted.id);
    assert_eq!(app.delete(&revoke).await.status, StatusCode::NO_CONTENT);
    assert_eq!(store.get_quote(&accepted.id).await.unwrap().state, QuoteState::Revoked);
    assert_eq!(app.delete(&revoke).await.status, StatusCode::NO_CONTENT);
    app.delete(&format!("/api/articles/citee/quotes/{}", refused.id))
        .await
        .assert_error(StatusCode::CONFLICT, "conflict", None);
    app.delete("/api/articles/citee/quotes/unknown")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let list = app.get("/api/articles/citee/quotes").await.json();
    assert_eq!(list["accepted"], 0);
    assert_eq!(by_id(&list, &accepted.id)["state"], "revoked");
    // The Delete of the stamp, queued for the quoting server's inbox.
    let delete = format!("{PUBLIC_URL}/users/marie#quote-revocations/{}", accepted.id);
    let queued = store.list_deliveries(&delete).await.unwrap();
    assert_eq!(
        queued.iter().map(|d| d.inbox.as_str()).collect::<Vec<_>>(),
        [format!("{quoter}/inbox")]
    );
}

#[tokio::test]
async fn blocks_and_allowlist() {
    let app = app().await;
    let store = &app._db.store;
    let spammer = "https://spam.example/users/a";
    store
        .upsert_remote_actor(&remote_actor(spammer, "spam.example", "a"))
        .await
        .unwrap();
    let r = app.get("/api/blocks").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), serde_json::json!({ "domains": [], "actors": [] }));

    // A domain block purges the domain's actors.
    let block = serde_json::json!({ "kind": "domain", "value": "https://Spam.Example/", "reason": "spam" });
    let r = app.json(Method::POST, "/api/blocks", &block).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let v = r.json();
    assert_eq!(
        (v["value"].as_str(), v["reason"].as_str()),
        (Some("spam.example"), Some("spam"))
    );
    assert_eq!(v["purged"]["actors"], 1);
    assert!(store.find_remote_actor(spammer).await.unwrap().is_none());
    assert!(store.is_domain_blocked("www.spam.example").await.unwrap());
    let r = app
        .json(
            Method::POST,
            "/api/blocks",
            &serde_json::json!({ "kind": "domain", "value": "not a domain" }),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("domain"));
    let r = app
        .json(
            Method::POST,
            "/api/blocks",
            &serde_json::json!({ "kind": "server", "value": "x.example" }),
        )
        .await;
    r.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some("kind"));

    // An actor block by id needs no lookup.
    let troll = "https://ok.example/users/troll";
    let r = app
        .json(
            Method::POST,
            "/api/blocks",
            &serde_json::json!({ "kind": "actor", "value": troll }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    assert_eq!(r.json()["value"], troll);
    let r = app.get("/api/blocks").await;
    assert_eq!(r.json()["domains"][0]["domain"], "spam.example");
    assert_eq!(r.json()["actors"][0]["actor_id"], troll);

    let encoded = "https%3A%2F%2Fok.example%2Fusers%2Ftroll";
    assert_eq!(
        app.delete(&format!("/api/blocks/actor/{encoded}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete("/api/blocks/domain/spam.example").await.status,
        StatusCode::NO_CONTENT
    );
    app.delete("/api/blocks/domain/spam.example")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(
        app.get("/api/blocks").await.json(),
        serde_json::json!({ "domains": [], "actors": [] })
    );

    // The allowlist (not in force in open mode, which the answer says).
    let r = app
        .json(
            Method::POST,
            "/api/allowlist",
            &serde_json::json!({ "domain": "Friends.Example" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["domain"], "friends.example");
    let r = app.get("/api/allowlist").await;
    assert_eq!(r.json()["mode"], "open");
    assert_eq!(r.json()["domains"][0]["domain"], "friends.example");
    assert_eq!(
        app.delete("/api/allowlist/friends.example").await.status,
        StatusCode::NO_CONTENT
    );
    app.delete("/api/allowlist/friends.example")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn network_routes_are_404_off_a_coordinator() {
    let app = app().await;
    let r = app.get("/api/network/members").await;
    let v = r.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a network coordinator"),
        "{v}"
    );
    let r = app
        .json(
            Method::POST,
            "/api/network/items/hide",
            &json!({ "id": "https://a.example/x" }),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found", None);
    let r = app
        .json(
            Method::POST,
            "/api/network/invitations",
            &json!({ "target": "@org@a.example" }),
        )
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "not_found", None);
}
