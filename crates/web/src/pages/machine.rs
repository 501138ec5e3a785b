//! The machine-facing files beside the pages: `/healthz`, `/robots.txt`,
//! `/sitemap.xml`, `/static/…` and `/theme.css`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    Alternate, DEFAULT_ACCENT, DEFAULT_PRIMARY, all_published, article_base_path, article_path, author_path,
    clone_alts, css_color, not_modified, tag_path, xml_response,
};
use crate::{AppState, PageError};

/// `GET /healthz`: `ok` while the database answers and takes writes
/// (checked with a small write every few seconds), 503 otherwise.
pub(super) async fn get_health(State(state): State<AppState>) -> Response {
    let (status, text) = match state.store().ping().await {
        Ok(()) if state.database_writable().await => (StatusCode::OK, "ok"),
        Ok(()) => (StatusCode::SERVICE_UNAVAILABLE, "database takes no writes"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    };
    (
        status,
        [(CONTENT_TYPE, "text/plain; charset=utf-8"), (CACHE_CONTROL, "no-store")],
        text,
    )
        .into_response()
}

/// `GET /robots.txt`: crawlers welcome; points at the sitemap.
pub(super) async fn get_robots(State(state): State<AppState>) -> Result<Response, PageError> {
    let body = state.templates().render(
        "robots.txt",
        json!({ "sitemap_url": state.url("/sitemap.xml"), "site_url": state.url("") }),
    )?;
    Ok((
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct SitemapUrl {
    loc: String,
    lastmod: Option<DateTime<Utc>>,
    alternates: Vec<Alternate>,
}

/// `GET /sitemap.xml`: home, every published translation (with its
/// siblings as `xhtml:link` alternates), author and tag pages.
pub(super) async fn get_sitemap(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let store = state.store();
    let (articles, authors, tags) =
        tokio::try_join!(all_published(&state), store.list_authors(), store.list_tags(50_000))?;
    let mut urls = Vec::new();
    urls.push(SitemapUrl {
        loc: state.url("/"),
        lastmod: articles.iter().map(|a| a.updated_at).max(),
        alternates: Vec::new(),
    });
    let mut author_lastmod: HashMap<&str, DateTime<Utc>> = HashMap::new();
    let mut tag_lastmod: HashMap<String, DateTime<Utc>> = HashMap::new();
    for a in &articles {
        let alternates: Vec<Alternate> = if a.translations.len() > 1 {
            let mut alts: Vec<Alternate> = a
                .languages()
                .map(|l| Alternate {
                    hreflang: l.to_string(),
                    href: state.url(&article_path(&a.slug, l)),
                })
                .collect();
            alts.push(Alternate {
                hreflang: "x-default".into(),
                href: state.url(&article_base_path(&a.slug)),
            });
            alts
        } else {
            Vec::new()
        };
        for l in a.languages() {
            urls.push(SitemapUrl {
                loc: state.url(&article_path(&a.slug, l)),
                lastmod: Some(a.updated_at),
                alternates: clone_alts(&alternates),
            });
        }
        let e = author_lastmod.entry(a.author_id.as_str()).or_insert(a.updated_at);
        *e = (*e).max(a.updated_at);
        for t in &a.tags {
            let e = tag_lastmod.entry(t.to_lowercase()).or_insert(a.updated_at);
            *e = (*e).max(a.updated_at);
        }
    }
    // Authors without published articles have nothing worth indexing.
    for author in &authors {
        if let Some(lastmod) = author_lastmod.get(author.id.as_str()) {
            urls.push(SitemapUrl {
                loc: state.url(&author_path(&author.username)),
                lastmod: Some(*lastmod),
                alternates: Vec::new(),
            });
        }
    }
    for t in &tags {
        urls.push(SitemapUrl {
            loc: state.url(&tag_path(&t.tag)),
            lastmod: tag_lastmod.get(&t.tag.to_lowercase()).copied(),
            alternates: Vec::new(),
        });
    }
    let body = state.templates().render("sitemap.xml", json!({ "urls": urls }))?;
    Ok(xml_response(&headers, body, "application/xml; charset=utf-8"))
}

/// `GET /static/{*path}`: the theme's static files (built-in or overridden).
pub(super) async fn get_static(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let file = state.templates().static_file(&path).ok_or(PageError::NotFound)?;
    let cache = [(CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"))];
    let etag = HeaderValue::from_str(&file.etag).map_err(|e| PageError::Internal(e.to_string()))?;
    if not_modified(&headers, &file.etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache, [(ETAG, etag)]).into_response());
    }
    let content_type = HeaderValue::from_static(file.content_type);
    Ok((cache, [(ETAG, etag), (CONTENT_TYPE, content_type)], file.bytes.clone()).into_response())
}

/// The theme colours a page asks for.
#[derive(Debug, Deserialize)]
pub(super) struct ThemeColours {
    primary: Option<String>,
    accent: Option<String>,
}

/// `GET /theme.css?primary=…&accent=…`: the theme colours as CSS custom
/// properties. A stylesheet rather than a `<style>` element, so the
/// Content-Security-Policy needs no inline style; pages name their colours
/// in the URL, so it is cached for good and a new colour is a new URL.
pub(super) async fn get_theme_css(Query(colours): Query<ThemeColours>) -> Response {
    let body = format!(
        ":root {{ --primary: {}; --accent: {}; }}\n",
        css_color(colours.primary.as_deref().unwrap_or_default(), DEFAULT_PRIMARY),
        css_color(colours.accent.as_deref().unwrap_or_default(), DEFAULT_ACCENT),
    );
    (
        [
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (CONTENT_TYPE, "text/css; charset=utf-8"),
        ],
        body,
    )
        .into_response()
}
