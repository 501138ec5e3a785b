//! The public web: server-rendered HTML pages (home, article, author, tag),
//! plus the small machine-facing files around them (`/healthz`,
//! `/robots.txt`, `/sitemap.xml`, `/static/…`).
//!
//! Handlers gather what a page needs in as few store round trips as they can
//! (independent queries run together), turn domain values into the plain
//! view structs below, and hand those to a template. Templates never see
//! drafts: every listing asks the store for published articles only.
//!
//! Language: an article has one URL per translation (`/articles/{slug}/{lang}`)
//! that is also its canonical URL; `/articles/{slug}` picks a translation from
//! `Accept-Language` (and says so with `Vary`). Listing pages show each
//! article in the reader's language when it exists, and accept `?lang=`.
//!
//! This file holds the router and the helpers every page shares; the pages
//! themselves live beside it: `listings` (home, author, tag, `/network`),
//! `article`, `machine` (health, robots, sitemap, static files), the
//! network coordinator's pages (`shared_feed`, `network_members`,
//! `network_about`), and `views`, the structs templates see.

use axum::Router;
use axum::body::Body;
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use gazette_core::links::is_web_url;
use gazette_core::validate::{check_handle, normalise_handle};
use gazette_core::{Article, Author, Language, Organisation};
use gazette_store::{ArticleQuery, StoreError};
use serde::Serialize;

use crate::{AppState, PageError};

mod article;
mod feed_filters;
mod listings;
mod machine;
mod network_about;
mod network_members;
mod quotes;
pub(crate) mod shared_feed;
mod ui_lang;
mod views;

use article::{get_article, get_article_translation};
use listings::{get_author, get_front, get_network, get_tag};
use machine::{get_health, get_robots, get_sitemap, get_static, get_theme_css};
pub(crate) use ui_lang::remembered as remembered_ui_language;
use views::{
    Alternate, AuthorLink, Card, FeedLink, Head, Image, LangLink, Meta, Nav, PageCtx, Pagination, Person, TagLink,
};
pub(crate) use views::{NetworkLink, Site};

#[cfg(test)]
pub(crate) use ui_lang::UI_LANGUAGES;

/// Articles per listing page.
const PER_PAGE: i64 = 10;
/// Tags listed on the home page.
const HOME_TAGS: i64 = 30;
/// Nominal size of card thumbnails; CSS crops covers to this ratio, so the
/// page does not shift while images load even though cards skip the media lookup.
const THUMB_WIDTH: u32 = 640;
const THUMB_HEIGHT: u32 = 360;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(get_front))
        .route("/articles/{slug}", get(get_article))
        .route("/articles/{slug}/{lang}", get(get_article_translation))
        .route("/authors/{username}", get(get_author))
        .route("/tags/{tag}", get(get_tag))
        .route("/network", get(get_network))
        .route("/network/feed", get(shared_feed::get_shared_feed))
        .route("/network/feed.json", get(shared_feed::get_shared_feed_json))
        .route(network_members::PATH, get(network_members::get_network_members))
        .route(
            &format!("{}/{{handle}}", network_members::PATH),
            get(network_members::get_network_member),
        )
        .route(network_about::PATH, get(network_about::get_network_about))
        .route("/healthz", get(get_health))
        .route("/robots.txt", get(get_robots))
        .route("/sitemap.xml", get(get_sitemap))
        .route("/static/{*path}", get(get_static))
        .route("/theme.css", get(get_theme_css))
}

/// Renders the "follow from your server" page (see `follow.rs`).
pub(crate) async fn render_follow_page(
    state: &AppState,
    page: crate::follow::FollowPage,
) -> Result<Response, PageError> {
    let org = state.store().find_organisation().await?;
    let site = site(state, org.as_ref()).await?;
    let lang = site
        .languages
        .first()
        .cloned()
        .unwrap_or_else(|| state.last_settings().default_language.clone());
    let head = Head {
        title: format!("{} · {}", state.templates().text(lang.as_str(), "follow"), site.name),
        description: site.description.clone(),
        canonical: state.url("/follow"),
        feeds: Vec::new(),
        alternates: Vec::new(),
        meta: vec![Meta::name("robots", "noindex")],
        jsonld: None,
    };
    let nav = Nav {
        current: "follow",
        languages: Vec::new(),
    };
    let body = render_page(state, "follow.html", &lang, &site, head, nav, page)?;
    Ok(html_response(body, false))
}

/// A page outside the listings (the newsletter's): `noindex`, in `lang`
/// when the site is written in it, else in its first language.
pub(crate) async fn render_simple_page(
    state: &AppState,
    template: &str,
    path: &str,
    lang: Option<&str>,
    title_key: &str,
    page: impl Serialize,
) -> Result<String, PageError> {
    let org = state.store().find_organisation().await?;
    let site = site(state, org.as_ref()).await?;
    let lang = lang
        .and_then(|l| site.languages.iter().find(|s| s.as_str() == l))
        .or(site.languages.first())
        .cloned()
        .unwrap_or_else(|| state.last_settings().default_language.clone());
    let head = Head {
        title: format!("{} · {}", state.templates().text(lang.as_str(), title_key), site.name),
        description: site.description.clone(),
        canonical: state.url(path),
        feeds: Vec::new(),
        alternates: Vec::new(),
        meta: vec![Meta::name("robots", "noindex")],
        jsonld: None,
    };
    let nav = Nav {
        current: "newsletter",
        languages: Vec::new(),
    };
    Ok(render_page(state, template, &lang, &site, head, nav, page)?)
}

/// JSON that cannot end or confuse the `<script>` element it sits in: `<`,
/// `>` and `&` only occur inside JSON strings, where `\u` escapes mean the same.
pub(crate) fn script_safe_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

// ---------------------------------------------------------------------------
// Shared helpers (also used by the feeds)
// ---------------------------------------------------------------------------

/// The instance as pages show it: the organisation's profile when there is
/// one, the instance's name otherwise, with the instance settings in effect
/// now (see [`crate::settings`]).
pub(crate) async fn site(state: &AppState, org: Option<&Organisation>) -> Result<Site, StoreError> {
    let settings = state.settings().await?;
    Ok(site_with(state, org, &settings))
}

/// [`site`] under `settings`.
pub(crate) fn site_with(
    state: &AppState,
    org: Option<&Organisation>,
    settings: &gazette_core::settings::InstanceSettings,
) -> Site {
    let config = state.config();
    let host = url::Url::parse(&config.public_url).ok().and_then(|u| {
        let host = u.host_str()?.to_owned();
        Some(match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        })
    });
    let languages = match org {
        Some(o) if !o.languages.is_empty() => o.languages.clone(),
        _ => vec![settings.default_language.clone()],
    };
    Site {
        name: org.map_or_else(|| settings.name.clone(), |o| o.name.clone()),
        description: org.map(|o| o.description.clone()).unwrap_or_default(),
        url: config.public_url.clone(),
        logo: org.and_then(|o| o.logo.as_deref()).map(media_path),
        // Only web links: the page puts this in an href.
        website: org
            .and_then(|o| o.website.clone())
            .filter(|w| w.starts_with("https://") || w.starts_with("http://")),
        handle: org.zip(host.as_deref()).map(|(o, h)| format!("@{}@{h}", o.username)),
        username: org.map(|o| o.username.clone()),
        host: host.clone().unwrap_or_default(),
        // The settings in effect: the config file's colours unless an
        // administrator set others (each request reads them).
        primary_color: css_color(&settings.primary_color, DEFAULT_PRIMARY),
        accent_color: css_color(&settings.accent_color, DEFAULT_ACCENT),
        footer: settings.footer.clone(),
        languages,
        updated_at: org.map(|o| o.updated_at),
        coordinator: state.fed().settings().network.is_some(),
        network_home: state.fed().settings().network.as_ref().is_some_and(|n| n.home),
        networks: Vec::new(),
        newsletter: config.admin.mail.is_some(),
    }
}

/// A remote object's link: its `url` when that is an `http(s)` URL, else
/// its id (rows stored before links were checked may hold anything; the
/// templates' `safe_url` filter is the last guard).
pub(crate) fn web_link(url: Option<&str>, id: &str) -> String {
    url.filter(|u| is_web_url(u)).unwrap_or(id).to_owned()
}

const DEFAULT_PRIMARY: &str = "#1d6b4f";
const DEFAULT_ACCENT: &str = "#f2a900";

/// Theme colours end up in a stylesheet (`/theme.css`), where HTML escaping
/// does not apply: only hex colours are let through.
fn css_color(value: &str, fallback: &str) -> String {
    let v = value.trim();
    let hex = v.strip_prefix('#').unwrap_or("");
    if matches!(hex.len(), 3 | 4 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        v.to_ascii_lowercase()
    } else {
        fallback.to_owned()
    }
}

/// Renders a page template with the layout fields every page shares.
fn render_page(
    state: &AppState,
    template: &str,
    lang: &Language,
    site: &Site,
    head: Head,
    nav: Nav,
    page: impl Serialize,
) -> Result<String, minijinja::Error> {
    let ctx = PageCtx {
        lang,
        dir: text_direction(lang),
        site,
        head,
        nav,
        page,
    };
    state.templates().render(template, ctx)
}

fn html_response(body: impl Into<Body>, varies_by_language: bool) -> Response {
    let body: Body = body.into();
    let mut resp = Html(body).into_response();
    // Article URLs also serve ActivityStreams JSON by `Accept`.
    let vary = if varies_by_language {
        "Accept, Accept-Language"
    } else {
        "Accept"
    };
    resp.headers_mut().insert(VARY, HeaderValue::from_static(vary));
    resp
}

/// An XML body with a content ETag, answering 304 when the client has it.
pub(crate) fn xml_response(headers: &HeaderMap, body: String, content_type: &'static str) -> Response {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!(
        "\"{}\"",
        digest.iter().take(12).map(|b| format!("{b:02x}")).collect::<String>()
    );
    let cache = (CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    let Ok(etag_value) = HeaderValue::from_str(&etag) else {
        return ([(CONTENT_TYPE, HeaderValue::from_static(content_type)), cache], body).into_response();
    };
    if not_modified(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag_value), cache]).into_response();
    }
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (ETAG, etag_value),
            cache,
        ],
        body,
    )
        .into_response()
}

/// Whether `If-None-Match` names `etag` (weak or strong; `*` matches all).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
        })
}

/// `?page=` as a 1-based page number; anything else is a bad request.
fn parse_page(raw: Option<&str>) -> Result<i64, PageError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(1),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(i64::from(n)),
            _ => Err(PageError::BadRequest(format!(
                "`page` must be a whole number from 1, not `{s}`"
            ))),
        },
    }
}

fn page_count(total: i64) -> i64 {
    ((total + PER_PAGE - 1) / PER_PAGE).max(1)
}

fn with_page(path: &str, page: i64) -> String {
    if page > 1 {
        format!("{path}?page={page}")
    } else {
        path.to_owned()
    }
}

/// Newer/older links keep an explicit `?lang=` so readers stay in the language they chose.
fn pagination(path: &str, page: i64, total: i64, lang: Option<&Language>) -> Pagination {
    let pages = page_count(total);
    let link = |n: i64| {
        let mut params = Vec::new();
        if n > 1 {
            params.push(format!("page={n}"));
        }
        if let Some(l) = lang {
            params.push(format!("lang={l}"));
        }
        if params.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", params.join("&"))
        }
    };
    Pagination {
        page,
        pages,
        total,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
    }
}

/// The language of a listing page: `?lang=` when it is one of the site's
/// languages, else the reader's `Accept-Language`, else the instance default.
/// The flag says whether the reader chose it explicitly.
fn listing_language(state: &AppState, site: &Site, headers: &HeaderMap, param: Option<&str>) -> (Language, bool) {
    if let Some(l) = param
        .and_then(|p| Language::parse(p).ok())
        .filter(|l| site.languages.contains(l))
    {
        return (l, true);
    }
    let negotiated = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| Language::negotiate(h, &site.languages))
        .cloned();
    (
        negotiated.unwrap_or_else(|| state.last_settings().default_language.clone()),
        false,
    )
}

fn language_choices(site: &Site, current: &Language, path: &str) -> Vec<LangLink> {
    if site.languages.len() < 2 {
        return Vec::new();
    }
    site.languages
        .iter()
        .map(|l| LangLink {
            lang: l.clone(),
            name: crate::templates::language_name(l.as_str()),
            href: format!("{path}?lang={l}"),
            current: l == current,
        })
        .collect()
}

/// The whole-site feed and one feed per site language.
fn site_feeds(state: &AppState, site: &Site, lang: &Language) -> Vec<FeedLink> {
    let mut feeds = vec![FeedLink {
        href: state.url("/feed.atom"),
        title: site.name.clone(),
        hreflang: None,
    }];
    if site.languages.len() > 1 {
        // The reader's language first: feed readers pick the first one offered.
        let mut langs: Vec<&Language> = site.languages.iter().collect();
        langs.sort_by_key(|l| *l != lang);
        for l in langs {
            feeds.push(FeedLink {
                href: state.url(&format!("/feed/{l}.atom")),
                title: format!("{} ({})", site.name, crate::templates::language_name(l.as_str())),
                hreflang: Some(l.to_string()),
            });
        }
    }
    feeds
}

/// OpenGraph for listing pages: a website card with the organisation's logo.
fn site_meta(site: &Site, url: &str, lang: &Language) -> Vec<Meta> {
    let mut meta = vec![
        Meta::property("og:type", "website"),
        Meta::property("og:title", site.name.clone()),
        Meta::property("og:site_name", site.name.clone()),
        Meta::property("og:url", url.to_owned()),
        Meta::property("og:locale", og_locale(lang)),
        Meta::name("twitter:card", "summary"),
    ];
    if !site.description.is_empty() {
        meta.push(Meta::property("og:description", truncate_words(&site.description, 300)));
    }
    if let Some(logo) = &site.logo {
        meta.push(Meta::property("og:image", format!("{}{logo}", site.url)));
    }
    meta
}

fn card(article: &Article, lang: &Language, author: Option<&Author>) -> Card {
    let t = article.translation(Some(lang));
    Card {
        href: article_path(&article.slug, &t.language),
        kind: article.kind.as_str(),
        lang: t.language.clone(),
        title: t.title.clone(),
        summary: t.summary.clone(),
        cover: article.cover.as_ref().map(|c| Image {
            src: media_path(&c.media_id),
            alt: c.alt.clone(),
            width: Some(THUMB_WIDTH),
            height: Some(THUMB_HEIGHT),
        }),
        author: author.map(|a| AuthorLink {
            name: a.name.clone(),
            href: author_path(&a.username),
        }),
        published: article.published_at,
        tags: article
            .tags
            .iter()
            .map(|tag| TagLink {
                name: tag.clone(),
                href: tag_path(tag),
                count: None,
            })
            .collect(),
    }
}

fn person(author: &Author) -> Person {
    Person {
        name: author.name.clone(),
        username: author.username.clone(),
        href: author_path(&author.username),
        bio: author.bio.clone(),
        // The name is always next to the avatar, so the image is decorative.
        avatar: author.avatar.as_deref().map(|id| Image {
            src: media_path(id),
            alt: String::new(),
            width: Some(96),
            height: Some(96),
        }),
        handle: author.fediverse_handle.as_deref().and_then(handle),
        handle_url: author.fediverse_handle.as_deref().and_then(handle_url),
    }
}

/// Every published article, oldest pages last (the store caps one page at 1,000).
pub(crate) async fn all_published(state: &AppState) -> Result<Vec<Article>, StoreError> {
    const CHUNK: i64 = 1000;
    let mut out = Vec::new();
    loop {
        let page = state
            .store()
            .list_articles(&ArticleQuery::published(CHUNK, out.len() as i64))
            .await?;
        let n = page.articles.len() as i64;
        out.extend(page.articles);
        if n < CHUNK || out.len() as i64 >= page.total {
            return Ok(out);
        }
    }
}

fn clone_alts(alts: &[Alternate]) -> Vec<Alternate> {
    alts.iter()
        .map(|a| Alternate {
            hreflang: a.hreflang.clone(),
            href: a.href.clone(),
        })
        .collect()
}

/// `@name@host` for a valid handle (whatever the stored form), else nothing.
pub(crate) fn handle(raw: &str) -> Option<String> {
    check_handle(raw).ok().map(|()| normalise_handle(raw))
}

/// `@name@host` → `https://host/@name`, the profile URL Mastodon and most
/// fediverse servers answer.
pub(crate) fn handle_url(raw: &str) -> Option<String> {
    let h = handle(raw)?;
    let (user, host) = h.trim_start_matches('@').split_once('@')?;
    Some(format!("https://{host}/@{user}"))
}

pub(crate) fn article_base_path(slug: &str) -> String {
    format!("/articles/{}", encode_segment(slug))
}

/// The canonical path of one translation.
pub(crate) fn article_path(slug: &str, lang: &Language) -> String {
    format!("/articles/{}/{lang}", encode_segment(slug))
}

pub(crate) fn author_path(username: &str) -> String {
    format!("/authors/{}", encode_segment(username))
}

/// `url` if it is an absolute `http(s)` address: the only kind of address
/// from another server that becomes a link or an image here.
fn web_url(url: Option<&str>) -> Option<String> {
    gazette_core::links::web_url(url?)
}

/// A tag's page: the lower-case key (tags are shown as written).
pub(crate) fn tag_path(tag: &str) -> String {
    format!("/tags/{}", encode_segment(&tag.to_lowercase()))
}

pub(crate) fn media_path(id: &str) -> String {
    format!("/media/{}", encode_segment(id))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `dir` for `<html>`: the right-to-left scripts among ISO 639-1 languages.
pub(crate) fn text_direction(lang: &Language) -> &'static str {
    match lang.primary() {
        "ar" | "he" | "fa" | "ur" | "yi" | "ps" | "dv" | "ug" => "rtl",
        _ => "ltr",
    }
}

/// `og:locale` wants `ll_TT`: the tag's own region, else the language's main one.
fn og_locale(lang: &Language) -> String {
    let mut parts = lang.as_str().split('-').filter(|p| p.len() == 2);
    let primary = parts.next().unwrap_or("en");
    if let Some(region) = parts.next() {
        return format!("{primary}_{region}");
    }
    let region = match primary {
        "en" => "GB",
        "ca" => "ES",
        "cs" => "CZ",
        "da" => "DK",
        "el" => "GR",
        "et" => "EE",
        "ga" => "IE",
        "sl" => "SI",
        "sv" => "SE",
        "uk" => "UA",
        "nb" | "nn" | "no" => "NO",
        "eu" | "gl" => "ES",
        "ar" => "AR",
        other => return format!("{other}_{}", other.to_ascii_uppercase()),
    };
    format!("{primary}_{region}")
}

/// At most `max` characters, cut at a word boundary with an ellipsis.
pub(crate) fn truncate_words(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut[..],
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pages_parse_strictly() {
        assert_eq!(parse_page(None).unwrap(), 1);
        assert_eq!(parse_page(Some("3")).unwrap(), 3);
        assert!(parse_page(Some("0")).is_err());
        assert!(parse_page(Some("-1")).is_err());
        assert!(parse_page(Some("x")).is_err());
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(10), 1);
        assert_eq!(page_count(11), 2);
    }

    #[test]
    fn pagination_links_keep_the_chosen_language() {
        let fr = Language::parse("fr").unwrap();
        let p = pagination("/", 2, 25, Some(&fr));
        assert_eq!(p.prev.as_deref(), Some("/?lang=fr"));
        assert_eq!(p.next.as_deref(), Some("/?page=3&lang=fr"));
        let p = pagination("/tags/x", 1, 5, None);
        assert_eq!((p.prev, p.next), (None, None));
    }

    #[test]
    fn urls_and_handles() {
        assert_eq!(tag_path("économie_sociale"), "/tags/%C3%A9conomie_sociale");
        assert_eq!(
            handle("camille@social.example.org").as_deref(),
            Some("@camille@social.example.org")
        );
        assert_eq!(
            handle_url("@camille@social.example.org").as_deref(),
            Some("https://social.example.org/@camille")
        );
        assert_eq!(handle("not a handle"), None);
        assert_eq!(og_locale(&Language::parse("fr").unwrap()), "fr_FR");
        assert_eq!(og_locale(&Language::parse("pt-BR").unwrap()), "pt_BR");
        assert_eq!(og_locale(&Language::parse("en").unwrap()), "en_GB");
        assert_eq!(css_color("#1D6B4F", "#000"), "#1d6b4f");
        assert_eq!(css_color("red;}</style>", "#000"), "#000");
    }

    #[test]
    fn json_ld_cannot_close_its_script() {
        let v = json!({ "headline": "</script><script>alert(1)</script> & more" });
        let s = script_safe_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
    }

    #[test]
    fn truncates_at_words() {
        assert_eq!(truncate_words("short", 10), "short");
        assert_eq!(truncate_words("one two three four", 12), "one two…");
    }
}
