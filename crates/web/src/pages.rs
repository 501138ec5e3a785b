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

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use gazette_core::links::is_web_url;
use gazette_core::validate::{check_handle, normalise_handle, normalise_tag};
use gazette_core::{Article, ArticleStatus, Author, Language, Organisation};
use gazette_store::{ArticleQuery, ArticleView as StoredArticle, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{AppState, PageError};

mod feed_filters;
mod network_about;
mod network_members;
pub(crate) mod shared_feed;
mod ui_lang;
pub(crate) use ui_lang::remembered as remembered_ui_language;

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

// ---------------------------------------------------------------------------
// View structs: what templates see. Dates are `DateTime<Utc>` (RFC 3339 once
// serialised), for the `date` and `rfc3339` filters.
// ---------------------------------------------------------------------------

/// The instance as every page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Site {
    pub(crate) name: String,
    pub(crate) description: String,
    /// Public origin, without trailing slash.
    pub(crate) url: String,
    /// `/media/{id}` of the organisation's logo.
    pub(crate) logo: Option<String>,
    pub(crate) website: Option<String>,
    /// `@username@host` of the organisation's actor.
    pub(crate) handle: Option<String>,
    /// The organisation's username (its actor), if it has a profile.
    pub(crate) username: Option<String>,
    /// `host[:port]` of the instance, as in handles.
    pub(crate) host: String,
    pub(crate) primary_color: String,
    pub(crate) accent_color: String,
    pub(crate) footer: String,
    pub(crate) languages: Vec<Language>,
    pub(crate) updated_at: Option<DateTime<Utc>>,
    /// This instance is a network coordinator (its nav links the shared feed).
    pub(crate) coordinator: bool,
    /// …whose home page is the shared feed (`network.home`).
    pub(crate) network_home: bool,
    /// Networks the organisation is a member of (filled on listing pages).
    pub(crate) networks: Vec<NetworkLink>,
    /// Mail is configured: the footer offers the newsletter.
    pub(crate) newsletter: bool,
}

/// A network the organisation belongs to: its name and page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NetworkLink {
    pub(crate) name: String,
    pub(crate) href: String,
}

#[derive(Debug, Serialize)]
struct Head {
    title: String,
    description: String,
    canonical: String,
    feeds: Vec<FeedLink>,
    /// `<link rel="alternate" hreflang>` to the page in other languages.
    alternates: Vec<Alternate>,
    meta: Vec<Meta>,
    /// Already escaped for a `<script>` element.
    jsonld: Option<String>,
}

#[derive(Debug, Serialize)]
struct FeedLink {
    href: String,
    title: String,
    hreflang: Option<String>,
}

#[derive(Debug, Serialize)]
struct Alternate {
    hreflang: String,
    href: String,
}

/// One `<meta>`: `attr` is `property` (OpenGraph) or `name`.
#[derive(Debug, Serialize)]
struct Meta {
    attr: &'static str,
    key: &'static str,
    content: String,
}

impl Meta {
    fn property(key: &'static str, content: impl Into<String>) -> Meta {
        Meta {
            attr: "property",
            key,
            content: content.into(),
        }
    }
    fn name(key: &'static str, content: impl Into<String>) -> Meta {
        Meta {
            attr: "name",
            key,
            content: content.into(),
        }
    }
}

#[derive(Debug, Serialize)]
struct LangLink {
    lang: Language,
    name: String,
    href: String,
    current: bool,
}

#[derive(Debug, Serialize)]
struct Nav {
    /// `home`, `article`, `author` or `tag`: which nav entry is this page.
    current: &'static str,
    /// Reading-language choices on listing pages (empty with one language).
    languages: Vec<LangLink>,
}

/// Everything a page template gets: the layout fields and the page's own.
#[derive(Debug, Serialize)]
struct PageCtx<'a, T: Serialize> {
    lang: &'a Language,
    dir: &'static str,
    site: &'a Site,
    head: Head,
    nav: Nav,
    #[serde(flatten)]
    page: T,
}

#[derive(Debug, Serialize)]
struct Image {
    src: String,
    alt: String,
    width: Option<u32>,
    height: Option<u32>,
}

#[derive(Debug, Serialize)]
struct TagLink {
    name: String,
    href: String,
    count: Option<i64>,
}

#[derive(Debug, Serialize)]
struct AuthorLink {
    name: String,
    href: String,
}

/// An article in a listing.
#[derive(Debug, Serialize)]
struct Card {
    href: String,
    kind: &'static str,
    lang: Language,
    title: String,
    summary: String,
    cover: Option<Image>,
    author: Option<AuthorLink>,
    published: Option<DateTime<Utc>>,
    tags: Vec<TagLink>,
}

#[derive(Debug, Serialize)]
struct Pagination {
    page: i64,
    pages: i64,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Serialize)]
struct Person {
    name: String,
    username: String,
    href: String,
    bio: String,
    avatar: Option<Image>,
    handle: Option<String>,
    handle_url: Option<String>,
}

#[derive(Debug, Serialize)]
struct IntervieweeView {
    name: String,
    role: String,
    organisation: String,
    bio: String,
    photo: Option<Image>,
    handle: Option<String>,
    handle_url: Option<String>,
}

#[derive(Debug, Serialize)]
struct ArticleView {
    slug: String,
    kind: &'static str,
    lang: Language,
    title: String,
    summary: String,
    body_html: String,
    url: String,
    cover: Option<Image>,
    interviewee: Option<IntervieweeView>,
    author: Option<Person>,
    tags: Vec<TagLink>,
    published: Option<DateTime<Utc>>,
    /// Set only when the article changed noticeably after publication.
    updated: Option<DateTime<Utc>>,
    translations: Vec<LangLink>,
    reactions: Reactions,
}

/// What came back from the fediverse: counts and the visible replies.
#[derive(Debug, Serialize)]
struct Reactions {
    likes: i64,
    boosts: i64,
    replies: Vec<ReplyView>,
}

#[derive(Debug, Serialize)]
struct ReplyView {
    /// Where the reply can be read on its own server.
    href: String,
    author_name: String,
    author_handle: String,
    author_href: String,
    /// Sanitised when it was received.
    content_html: String,
    lang: Option<String>,
    published: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct HomePage {
    articles: Vec<Card>,
    pagination: Pagination,
    tags: Vec<TagLink>,
}

#[derive(Debug, Serialize)]
struct AuthorPage {
    author: Person,
    articles: Vec<Card>,
    pagination: Pagination,
}

#[derive(Debug, Serialize)]
struct TagPage {
    tag: String,
    /// Path of the tag's Atom feed.
    feed: String,
    articles: Vec<Card>,
    pagination: Pagination,
}

#[derive(Debug, Serialize)]
struct ArticlePage {
    article: ArticleView,
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct ListParams {
    page: Option<String>,
    lang: Option<String>,
}

/// `GET /`: the shared feed on a coordinator with `network.home`, else
/// the organisation's home page ([`get_home`]).
async fn get_front(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if state.fed().settings().network.as_ref().is_some_and(|n| n.home) {
        let Query(params) =
            Query::<shared_feed::FeedParams>::try_from_uri(&uri).map_err(|e| PageError::BadRequest(e.body_text()))?;
        return shared_feed::render_shared_feed(&state, &params, &headers, "/").await;
    }
    let Query(params) = Query::<ListParams>::try_from_uri(&uri).map_err(|e| PageError::BadRequest(e.body_text()))?;
    get_home(State(state), Query(params), headers).await
}

/// The organisation and its latest published articles, `?page=N`.
async fn get_home(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let page = parse_page(params.page.as_deref())?;
    let store = state.store();
    let query = ArticleQuery::published(PER_PAGE, (page - 1) * PER_PAGE);
    let (listing, org, tags, authors) = tokio::try_join!(
        store.list_articles(&query),
        store.find_organisation(),
        store.list_tags(HOME_TAGS),
        store.list_authors()
    )?;
    let pages = page_count(listing.total);
    if page > pages {
        return Err(PageError::NotFound);
    }
    let mut site = site(&state, org.as_ref()).await?;
    network_members::member_networks(&state, &mut site).await?;
    let (lang, explicit) = listing_language(&state, &site, &headers, params.lang.as_deref());
    let authors: HashMap<&str, &Author> = authors.iter().map(|a| (a.id.as_str(), a)).collect();
    let cards = listing
        .articles
        .iter()
        .map(|a| card(a, &lang, authors.get(a.author_id.as_str()).copied()))
        .collect();
    let tags: Vec<TagLink> = tags
        .into_iter()
        .map(|t| TagLink {
            href: tag_path(&t.tag),
            name: t.tag,
            count: Some(t.count),
        })
        .collect();
    let lang_param = explicit.then_some(&lang);
    let head = Head {
        title: if page > 1 {
            format!("{} ({page}/{pages})", site.name)
        } else {
            site.name.clone()
        },
        description: truncate_words(&site.description, 300),
        canonical: state.url(&with_page("/", page)),
        feeds: site_feeds(&state, &site, &lang),
        alternates: Vec::new(),
        meta: site_meta(&site, &state.url("/"), &lang),
        jsonld: None,
    };
    let nav = Nav {
        current: "home",
        languages: language_choices(&site, &lang, "/"),
    };
    let pagination = pagination("/", page, listing.total, lang_param);
    let body = render_page(
        &state,
        "home.html",
        &lang,
        &site,
        head,
        nav,
        HomePage {
            articles: cards,
            pagination,
            tags,
        },
    )?;
    Ok(html_response(body, true))
}

/// `GET /articles/{slug}`: the article in the reader's language
/// (`Accept-Language`), else in its own default language.
async fn get_article(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    head: gazette_federation::RequestHead,
) -> Result<Response, PageError> {
    if gazette_federation::wants_activity_json(&headers) {
        return article_activity(&state, &slug, &head).await;
    }
    let view = public_view(state.store().find_article_view(&slug).await?)?;
    let article = &view.article;
    let available: Vec<Language> = article.languages().cloned().collect();
    let lang = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| Language::negotiate(h, &available))
        .unwrap_or(&article.default_language)
        .clone();
    let body = article_page(&state, &view, &lang).await?;
    Ok(html_response(body, true))
}

/// `GET /articles/{slug}/{lang}`: one translation of an article.
async fn get_article_translation(
    State(state): State<AppState>,
    Path((slug, lang)): Path<(String, String)>,
    headers: HeaderMap,
    head: gazette_federation::RequestHead,
) -> Result<Response, PageError> {
    if gazette_federation::wants_activity_json(&headers) {
        return article_activity(&state, &slug, &head).await;
    }
    let lang = Language::parse(&lang).map_err(|_| PageError::NotFound)?;
    let view = public_view(state.store().find_article_view(&slug).await?)?;
    let article = &view.article;
    if !article.languages().any(|l| *l == lang) {
        return Err(PageError::NotFound);
    }
    let body = article_page(&state, &view, &lang).await?;
    Ok(html_response(body, false))
}

/// `GET /authors/{username}`: an author's profile and published articles, `?page=N`.
async fn get_author(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let page = parse_page(params.page.as_deref())?;
    let store = state.store();
    let (author, org) = tokio::try_join!(store.find_author(&username), store.find_organisation())?;
    let author = author.ok_or(PageError::NotFound)?;
    let query = ArticleQuery {
        author_id: Some(author.id.clone()),
        ..ArticleQuery::published(PER_PAGE, (page - 1) * PER_PAGE)
    };
    let listing = store.list_articles(&query).await?;
    let pages = page_count(listing.total);
    if page > pages {
        return Err(PageError::NotFound);
    }
    let mut site = site(&state, org.as_ref()).await?;
    network_members::member_networks(&state, &mut site).await?;
    let (lang, explicit) = listing_language(&state, &site, &headers, params.lang.as_deref());
    let path = author_path(&author.username);
    let cards: Vec<Card> = listing.articles.iter().map(|a| card(a, &lang, Some(&author))).collect();
    let person = person(&author);
    let mut meta = site_meta(&site, &state.url(&path), &lang);
    meta.retain(|m| m.key != "og:type" && m.key != "og:title");
    meta.push(Meta::property("og:type", "profile"));
    meta.push(Meta::property("og:title", author.name.clone()));
    meta.push(Meta::property("profile:username", author.username.clone()));
    if let Some(handle) = &person.handle {
        meta.push(Meta::name("fediverse:creator", handle.clone()));
    }
    let head = Head {
        title: format!("{} · {}", author.name, site.name),
        description: if author.bio.is_empty() {
            format!("{} · {}", author.name, site.name)
        } else {
            truncate_words(&author.bio, 300)
        },
        canonical: state.url(&with_page(&path, page)),
        feeds: site_feeds(&state, &site, &lang),
        alternates: Vec::new(),
        meta,
        jsonld: None,
    };
    let nav = Nav {
        current: "author",
        languages: language_choices(&site, &lang, &path),
    };
    let pagination = pagination(&path, page, listing.total, explicit.then_some(&lang));
    let body = render_page(
        &state,
        "author.html",
        &lang,
        &site,
        head,
        nav,
        AuthorPage {
            author: person,
            articles: cards,
            pagination,
        },
    )?;
    Ok(html_response(body, true))
}

/// `GET /tags/{tag}`: published articles with a tag, `?page=N`, and its feed.
async fn get_tag(
    State(state): State<AppState>,
    Path(raw_tag): Path<String>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let tag = normalise_tag(&raw_tag).map_err(|_| PageError::NotFound)?;
    if tag != raw_tag {
        // `#Énergie` and `énergie` are one tag: send readers to its one URL.
        return Ok(Redirect::permanent(&tag_path(&tag)).into_response());
    }
    let page = parse_page(params.page.as_deref())?;
    let store = state.store();
    let query = ArticleQuery {
        tag: Some(tag.clone()),
        ..ArticleQuery::published(PER_PAGE, (page - 1) * PER_PAGE)
    };
    let (listing, org, authors) = tokio::try_join!(
        store.list_articles(&query),
        store.find_organisation(),
        store.list_authors()
    )?;
    if listing.total == 0 || page > page_count(listing.total) {
        return Err(PageError::NotFound);
    }
    let mut site = site(&state, org.as_ref()).await?;
    network_members::member_networks(&state, &mut site).await?;
    let (lang, explicit) = listing_language(&state, &site, &headers, params.lang.as_deref());
    let authors: HashMap<&str, &Author> = authors.iter().map(|a| (a.id.as_str(), a)).collect();
    let cards: Vec<Card> = listing
        .articles
        .iter()
        .map(|a| card(a, &lang, authors.get(a.author_id.as_str()).copied()))
        .collect();
    let path = tag_path(&tag);
    // Shown as the newest article writes it (`InteropTest`), found by its key.
    let tag = listing
        .articles
        .iter()
        .flat_map(|a| a.tags.iter())
        .find(|t| t.to_lowercase() == tag)
        .cloned()
        .unwrap_or(tag);
    let feed = format!("{path}/feed.atom");
    let mut feeds = site_feeds(&state, &site, &lang);
    feeds.insert(
        0,
        FeedLink {
            href: state.url(&feed),
            title: format!("#{tag} · {}", site.name),
            hreflang: None,
        },
    );
    let head = Head {
        title: format!("#{tag} · {}", site.name),
        description: format!("#{tag} · {}", site.name),
        canonical: state.url(&with_page(&path, page)),
        feeds,
        alternates: Vec::new(),
        meta: site_meta(&site, &state.url(&path), &lang),
        jsonld: None,
    };
    let nav = Nav {
        current: "tag",
        languages: language_choices(&site, &lang, &path),
    };
    let pagination = pagination(&path, page, listing.total, explicit.then_some(&lang));
    let body = render_page(
        &state,
        "tag.html",
        &lang,
        &site,
        head,
        nav,
        TagPage {
            tag,
            feed,
            articles: cards,
            pagination,
        },
    )?;
    Ok(html_response(body, true))
}

#[derive(Debug, Serialize)]
struct NetworkItem {
    /// The original, when it is a web address (else no link is shown).
    href: Option<String>,
    name: String,
    /// An article's standfirst (sanitised HTML).
    summary: String,
    /// A post's content warning, as text: the post shows behind it.
    warning: Option<String>,
    /// The post's text and images (sanitised HTML, web links only).
    content: String,
    lang: Option<String>,
    image: Option<String>,
    image_alt: Option<String>,
    author: String,
    author_url: Option<String>,
    handle: String,
    host: String,
    published: String,
}

#[derive(Debug, Serialize)]
struct NetworkPage {
    items: Vec<NetworkItem>,
    pagination: Pagination,
}

/// `GET /network`: articles received from the actors this instance follows, `?page=N`.
async fn get_network(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let page = parse_page(params.page.as_deref())?;
    let store = state.store();
    let ((items, total), org) = tokio::try_join!(
        store.list_remote_articles(PER_PAGE, (page - 1) * PER_PAGE),
        store.find_organisation()
    )?;
    if page > 1 && page > page_count(total) {
        return Err(PageError::NotFound);
    }
    let mut site = site(&state, org.as_ref()).await?;
    network_members::member_networks(&state, &mut site).await?;
    let (lang, explicit) = listing_language(&state, &site, &headers, params.lang.as_deref());
    let items = items
        .into_iter()
        .map(|(a, actor)| {
            // Notes (and other short posts) use `summary` as a content
            // warning; articles as their standfirst.
            let is_post = !matches!(a.kind.as_str(), "Article" | "Page");
            let summary = gazette_core::markdown::sanitise_remote(&a.summary_html);
            let warning = gazette_core::network::plain_text(&summary);
            NetworkItem {
                href: web_url(a.url.as_deref()).or_else(|| web_url(Some(&a.id))),
                name: a.name,
                warning: (is_post && !warning.is_empty()).then_some(warning),
                summary: if is_post { String::new() } else { summary },
                content: gazette_core::markdown::sanitise_remote(&a.content_html),
                lang: a.language,
                image: web_url(a.image_url.as_deref()),
                image_alt: a.image_alt,
                author: actor.name.clone(),
                author_url: web_url(actor.url.as_deref()),
                handle: actor.handle(),
                host: actor.host.clone(),
                published: a.published_at.to_rfc3339(),
            }
        })
        .collect();
    let path = "/network";
    let head = Head {
        title: format!(
            "{} · {}",
            state.templates().text(lang.as_str(), "network_title"),
            site.name
        ),
        description: site.description.clone(),
        canonical: state.url(&with_page(path, page)),
        feeds: vec![FeedLink {
            href: state.url("/network.atom"),
            title: format!("{} · network", site.name),
            hreflang: None,
        }],
        alternates: Vec::new(),
        meta: site_meta(&site, &state.url(path), &lang),
        jsonld: None,
    };
    let nav = Nav {
        current: "network",
        languages: language_choices(&site, &lang, path),
    };
    let pagination = pagination(path, page, total, explicit.then_some(&lang));
    let body = render_page(
        &state,
        "network.html",
        &lang,
        &site,
        head,
        nav,
        NetworkPage { items, pagination },
    )?;
    Ok(html_response(body, true))
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

/// `GET /healthz`: `ok` while the database answers and takes writes
/// (checked with a small write every few seconds), 503 otherwise.
async fn get_health(State(state): State<AppState>) -> Response {
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
async fn get_robots(State(state): State<AppState>) -> Result<Response, PageError> {
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
async fn get_sitemap(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
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
async fn get_static(
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
struct ThemeColours {
    primary: Option<String>,
    accent: Option<String>,
}

/// `GET /theme.css?primary=…&accent=…`: the theme colours as CSS custom
/// properties. A stylesheet rather than a `<style>` element, so the
/// Content-Security-Policy needs no inline style; pages name their colours
/// in the URL, so it is cached for good and a new colour is a new URL.
async fn get_theme_css(Query(colours): Query<ThemeColours>) -> Response {
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

// ---------------------------------------------------------------------------
// The article page
// ---------------------------------------------------------------------------

/// Published articles pass; deleted ones are gone (410); drafts and
/// scheduled ones do not exist for readers.
/// The article at this slug as an ActivityStreams `Article` (the same URL
/// serves HTML to browsers); a deleted one answers 410 with a `Tombstone`.
async fn article_activity(
    state: &AppState,
    slug: &str,
    head: &gazette_federation::RequestHead,
) -> Result<Response, PageError> {
    // Authorized fetch covers this representation too (HTML never needs a signature).
    let data = state.federation_config().to_request_data();
    if let Err(refused) = gazette_federation::authorize_fetch(&data, head).await {
        return Ok(refused.into_response());
    }
    let article = state
        .store()
        .find_article_by_slug(slug)
        .await?
        .ok_or(PageError::NotFound)?;
    match article.status {
        ArticleStatus::Published => {
            let json = gazette_federation::article_json(state.fed(), &article)
                .await
                .map_err(|e| PageError::Internal(e.to_string()))?;
            Ok(gazette_federation::activity_response(&json))
        }
        ArticleStatus::Deleted => Ok(gazette_federation::gone_tombstone(state.fed(), &article)),
        _ => Err(PageError::NotFound),
    }
}

/// Published articles are shown; deleted ones are gone (410); drafts and
/// scheduled ones do not exist yet as far as readers know (404).
fn public_view(view: Option<StoredArticle>) -> Result<StoredArticle, PageError> {
    match view {
        Some(v) if v.article.status == ArticleStatus::Published => Ok(v),
        Some(v) if v.article.status == ArticleStatus::Deleted => Err(PageError::Gone),
        _ => Err(PageError::NotFound),
    }
}

/// The rendered article page, from the page cache when nothing it shows has
/// changed: the validator names the article's, author's and organisation's
/// versions, the instance settings in effect and the networks the
/// organisation is a member of, so an edit or a membership decision from
/// any process is seen on the next request.
async fn article_page(state: &AppState, view: &StoredArticle, lang: &Language) -> Result<Bytes, PageError> {
    let a = &view.article;
    let key = format!("{}|{lang}", a.slug);
    let username = view.organisation.as_ref().map(|o| o.username.as_str());
    let (reactions, settings, networks) = tokio::try_join!(
        async { Ok::<_, PageError>(state.store().reactions_stamp(&a.id).await?) },
        async { Ok(state.settings().await?) },
        network_members::networks_of(state, username)
    )?;
    // The instance settings (name, footer, languages) show on the page too.
    let settings = crate::settings::fingerprint(&settings);
    let networks_stamp = network_members::networks_fingerprint(&networks);
    let validator = format!(
        "{}:{}:{}:{}:{}:{reactions}:{settings:x}:{networks_stamp:x}",
        a.id,
        a.version,
        a.updated_at.timestamp_micros(),
        view.author.updated_at.timestamp_micros(),
        view.organisation
            .as_ref()
            .map_or(0, |o| o.updated_at.timestamp_micros())
    );
    if let Some(page) = state.cached_page(&key, &validator) {
        return Ok(page);
    }
    let page = Bytes::from(render_article(state, a, view.organisation.as_ref(), &view.author, lang, networks).await?);
    state.cache_page(key, validator, page.clone());
    Ok(page)
}

async fn render_article(
    state: &AppState,
    article: &Article,
    org: Option<&Organisation>,
    author: &Author,
    lang: &Language,
    networks: Vec<NetworkLink>,
) -> Result<String, PageError> {
    let cover = async {
        match &article.cover {
            Some(c) => state.media_meta(&c.media_id).await,
            None => Ok(None),
        }
    };
    let photo = async {
        match article.interviewee.as_ref().and_then(|i| i.photo.as_deref()) {
            Some(id) => state.media_meta(id).await,
            None => Ok(None),
        }
    };
    let store = state.store();
    let (cover_media, photo_media, counts, comments) = tokio::try_join!(
        cover,
        photo,
        store.interaction_counts(&article.id),
        store.list_comments(&article.id, "visible"),
    )?;
    let reactions = Reactions {
        likes: counts.likes,
        boosts: counts.shares,
        replies: comments
            .into_iter()
            .map(|(c, actor)| ReplyView {
                href: web_link(c.url.as_deref(), &c.id),
                author_name: if actor.name.is_empty() {
                    actor.preferred_username.clone()
                } else {
                    actor.name.clone()
                },
                author_handle: actor.handle(),
                author_href: web_link(actor.url.as_deref(), &actor.id),
                content_html: c.content_html,
                lang: c.language,
                published: c.published_at,
            })
            .collect(),
    };

    let mut site = site(state, org).await?;
    site.networks = networks;
    let t = article.translation(Some(lang));
    let canonical = state.url(&article_path(&article.slug, lang));
    let published = article.published_at;
    let modified = published.map_or(article.updated_at, |p| p.max(article.updated_at));
    // "Updated" only for real edits: an article imported with an older date,
    // or published from a draft, was last written when it went public.
    let updated = published
        .map(|p| p.max(article.created_at))
        .filter(|since| article.updated_at > *since + Duration::minutes(5))
        .map(|_| article.updated_at);
    let description = if t.summary.is_empty() {
        truncate_words(&gazette_core::markdown::plain_text(&t.body_markdown), 200)
    } else {
        t.summary.clone()
    };
    // A cover whose media row has gone would be a broken image: leave it out.
    let cover = article.cover.as_ref().zip(cover_media.as_ref()).map(|(c, m)| Image {
        src: media_path(&m.id),
        alt: if c.alt.is_empty() { m.alt.clone() } else { c.alt.clone() },
        width: Some(m.width),
        height: Some(m.height),
    });
    let person = Some(person(author));
    let interviewee = article.interviewee.as_ref().map(|i| IntervieweeView {
        name: i.name.clone(),
        role: i.role_in(&t.language).to_owned(),
        organisation: i.organisation.clone(),
        bio: i.bio_in(&t.language).to_owned(),
        photo: photo_media.as_ref().map(|m| Image {
            src: media_path(&m.id),
            alt: m.alt.clone(),
            width: Some(m.width),
            height: Some(m.height),
        }),
        handle: i.fediverse_handle.as_deref().and_then(handle),
        handle_url: i.fediverse_handle.as_deref().and_then(handle_url),
    });
    let tags: Vec<TagLink> = article
        .tags
        .iter()
        .map(|tag| TagLink {
            name: tag.clone(),
            href: tag_path(tag),
            count: None,
        })
        .collect();
    let translations: Vec<LangLink> = article
        .languages()
        .map(|l| LangLink {
            lang: l.clone(),
            name: crate::templates::language_name(l.as_str()),
            href: article_path(&article.slug, l),
            current: l == lang,
        })
        .collect();
    let mut alternates: Vec<Alternate> = Vec::new();
    if article.translations.len() > 1 {
        alternates = article
            .languages()
            .map(|l| Alternate {
                hreflang: l.to_string(),
                href: state.url(&article_path(&article.slug, l)),
            })
            .collect();
        alternates.push(Alternate {
            hreflang: "x-default".into(),
            href: state.url(&article_base_path(&article.slug)),
        });
    }

    // OpenGraph and Twitter cards: what Mastodon and others build previews from.
    let mut meta = vec![
        Meta::property("og:type", "article"),
        Meta::property("og:title", t.title.clone()),
        Meta::property("og:description", description.clone()),
        Meta::property("og:url", canonical.clone()),
        Meta::property("og:site_name", site.name.clone()),
        Meta::property("og:locale", og_locale(lang)),
    ];
    for l in article.languages().filter(|l| *l != lang) {
        meta.push(Meta::property("og:locale:alternate", og_locale(l)));
    }
    if let (Some(c), Some(m)) = (&cover, &cover_media) {
        meta.push(Meta::property("og:image", state.url(&c.src)));
        meta.push(Meta::property("og:image:type", m.content_type.clone()));
        meta.push(Meta::property("og:image:width", m.width.to_string()));
        meta.push(Meta::property("og:image:height", m.height.to_string()));
        meta.push(Meta::property("og:image:alt", c.alt.clone()));
    }
    if let Some(p) = published {
        meta.push(Meta::property("article:published_time", rfc3339(p)));
    }
    meta.push(Meta::property("article:modified_time", rfc3339(modified)));
    if let Some(p) = &person {
        meta.push(Meta::property("article:author", state.url(&p.href)));
    }
    meta.push(Meta::property("article:section", article.kind.as_str()));
    for tag in &article.tags {
        meta.push(Meta::property("article:tag", tag.clone()));
    }
    meta.push(Meta::name(
        "twitter:card",
        if cover.is_some() {
            "summary_large_image"
        } else {
            "summary"
        },
    ));
    meta.push(Meta::name("twitter:title", t.title.clone()));
    meta.push(Meta::name("twitter:description", description.clone()));
    if let Some(c) = &cover {
        meta.push(Meta::name("twitter:image", state.url(&c.src)));
        meta.push(Meta::name("twitter:image:alt", c.alt.clone()));
    }
    if let Some(h) = person.as_ref().and_then(|p| p.handle.clone()) {
        // Mastodon credits the author on preview cards from this tag.
        meta.push(Meta::name("fediverse:creator", h));
    }
    meta.push(Meta::name("author", author.name.clone()));

    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": t.title,
        "description": description,
        "inLanguage": lang.as_str(),
        "url": canonical,
        "mainEntityOfPage": { "@type": "WebPage", "@id": canonical },
        "dateModified": rfc3339(modified),
        "publisher": publisher_ld(state, &site),
    });
    if let Some(p) = published {
        ld["datePublished"] = json!(rfc3339(p));
    }
    if let (Some(c), Some(m)) = (&cover, &cover_media) {
        ld["image"] = json!([{ "@type": "ImageObject", "url": state.url(&c.src), "width": m.width, "height": m.height, "caption": c.alt }]);
    }
    if let Some(p) = &person {
        let mut a = json!({ "@type": "Person", "name": p.name, "url": state.url(&p.href) });
        if let Some(u) = &p.handle_url {
            a["sameAs"] = json!([u]);
        }
        ld["author"] = a;
    }
    if !article.tags.is_empty() {
        ld["keywords"] = json!(article.tags.join(", "));
    }
    if let Some(i) = &article.interviewee {
        let mut about = json!({ "@type": "Person", "name": i.name });
        let role = i.role_in(&t.language);
        if !role.is_empty() {
            about["jobTitle"] = json!(role);
        }
        if !i.organisation.is_empty() {
            about["worksFor"] = json!({ "@type": "Organization", "name": i.organisation });
        }
        ld["about"] = about;
    }

    let mut feeds = vec![FeedLink {
        href: state.url(&format!("/feed/{lang}.atom")),
        title: format!("{} ({})", site.name, crate::templates::language_name(lang.as_str())),
        hreflang: Some(lang.to_string()),
    }];
    feeds.extend(
        site_feeds(state, &site, lang)
            .into_iter()
            .filter(|f| f.hreflang.is_none()),
    );
    let head = Head {
        title: format!("{} · {}", t.title, site.name),
        description,
        canonical: canonical.clone(),
        feeds,
        alternates,
        meta,
        jsonld: Some(script_safe_json(&ld)),
    };
    let view = ArticleView {
        slug: article.slug.clone(),
        kind: article.kind.as_str(),
        lang: t.language.clone(),
        title: t.title.clone(),
        summary: t.summary.clone(),
        body_html: t.body_html.clone(),
        url: canonical,
        cover,
        interviewee,
        author: person,
        tags,
        published,
        updated,
        translations,
        reactions,
    };
    let nav = Nav {
        current: "article",
        languages: Vec::new(),
    };
    Ok(render_page(
        state,
        "article.html",
        lang,
        &site,
        head,
        nav,
        ArticlePage { article: view },
    )?)
}

fn publisher_ld(state: &AppState, site: &Site) -> serde_json::Value {
    let mut p = json!({ "@type": "Organization", "name": site.name, "url": state.url("/") });
    if let Some(logo) = &site.logo {
        p["logo"] = json!({ "@type": "ImageObject", "url": state.url(logo) });
    }
    p
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
