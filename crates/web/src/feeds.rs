//! Atom 1.0 feeds of published articles: the whole site, one per language
//! (entries in that language) and one per tag. Each entry carries the full
//! body as escaped HTML, so feed readers show the article without a visit.
//!
//! Feeds are rendered from the `feed.xml` template (auto-escaped like HTML,
//! which is also correct XML) and answered with an ETag so readers polling
//! every few minutes mostly get a 304.

use gazette_core::html::escape;
use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use gazette_core::validate::normalise_tag;
use gazette_core::{Article, Author, Language};
use gazette_store::{ArticlePage, ArticleQuery};
use serde::Serialize;

mod shared_feed;

use crate::pages::{Site, article_path, author_path, media_path, site, tag_path, xml_response};
use crate::{AppState, PageError};

/// Entries per feed: enough for a reader that polls daily.
const FEED_SIZE: i64 = 20;
const ATOM: &str = "application/atom+xml; charset=utf-8";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/feed.atom", get(get_site_feed))
        .route("/feed/{file}", get(get_language_feed))
        .route("/tags/{tag}/feed.atom", get(get_tag_feed))
        .route("/network.atom", get(get_network_feed))
        .route("/network/feed.atom", get(shared_feed::get_shared_feed_atom))
}

#[derive(Debug, Serialize)]
struct FeedHead {
    id: String,
    /// `xml:base`, so relative links inside entry content resolve.
    base: String,
    title: String,
    subtitle: String,
    updated: DateTime<Utc>,
    self_href: String,
    alternate_href: String,
    lang: Option<Language>,
    author_name: String,
    author_uri: String,
    logo: Option<String>,
}

#[derive(Debug, Serialize)]
struct Entry {
    id: String,
    lang: Language,
    title: String,
    href: String,
    published: Option<DateTime<Utc>>,
    updated: DateTime<Utc>,
    author: Option<EntryAuthor>,
    tags: Vec<Category>,
    summary: String,
    /// HTML, escaped once more by the template as `type="html"` requires.
    content: String,
}

#[derive(Debug, Serialize)]
struct EntryAuthor {
    name: String,
    uri: String,
}

#[derive(Debug, Serialize)]
struct Category {
    term: String,
    scheme: String,
}

#[derive(Debug, Serialize)]
struct FeedCtx {
    feed: FeedHead,
    entries: Vec<Entry>,
}

/// `GET /feed.atom`: the newest published articles, each in its own language.
async fn get_site_feed(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let store = state.store();
    let query = ArticleQuery::published(FEED_SIZE, 0);
    let (listing, org, authors) = tokio::try_join!(
        store.list_articles(&query),
        store.find_organisation(),
        store.list_authors()
    )?;
    let site = site(&state, org.as_ref()).await?;
    let head = head(&state, &site, "/feed.atom", "/", site.name.clone(), None);
    render(&state, &headers, head, &listing, None, &authors)
}

/// `GET /feed/{lang}.atom`: the newest articles that have a translation in
/// `lang`, shown in it.
async fn get_language_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = file
        .strip_suffix(".atom")
        .and_then(|l| Language::parse(l).ok())
        .ok_or(PageError::NotFound)?;
    if file != format!("{lang}.atom") {
        return Ok(Redirect::permanent(&format!("/feed/{lang}.atom")).into_response());
    }
    let store = state.store();
    let query = ArticleQuery {
        language: Some(lang.clone()),
        ..ArticleQuery::published(FEED_SIZE, 0)
    };
    let (listing, org, authors) = tokio::try_join!(
        store.list_articles(&query),
        store.find_organisation(),
        store.list_authors()
    )?;
    let site = site(&state, org.as_ref()).await?;
    // A language the site neither publishes in nor plans to is a typo, not an empty feed.
    if listing.total == 0 && !site.languages.contains(&lang) {
        return Err(PageError::NotFound);
    }
    let title = format!("{} ({})", site.name, crate::templates::language_name(lang.as_str()));
    let head = head(
        &state,
        &site,
        &format!("/feed/{lang}.atom"),
        &format!("/?lang={lang}"),
        title,
        Some(lang.clone()),
    );
    render(&state, &headers, head, &listing, Some(&lang), &authors)
}

/// `GET /tags/{tag}/feed.atom`: the newest articles with a tag.
async fn get_tag_feed(
    State(state): State<AppState>,
    Path(raw_tag): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let tag = normalise_tag(&raw_tag).map_err(|_| PageError::NotFound)?;
    if tag != raw_tag {
        return Ok(Redirect::permanent(&format!("{}/feed.atom", tag_path(&tag))).into_response());
    }
    let store = state.store();
    let query = ArticleQuery {
        tag: Some(tag.clone()),
        ..ArticleQuery::published(FEED_SIZE, 0)
    };
    let (listing, org, authors) = tokio::try_join!(
        store.list_articles(&query),
        store.find_organisation(),
        store.list_authors()
    )?;
    if listing.total == 0 {
        return Err(PageError::NotFound);
    }
    let site = site(&state, org.as_ref()).await?;
    let path = tag_path(&tag);
    let head = head(
        &state,
        &site,
        &format!("{path}/feed.atom"),
        &path,
        format!("#{tag} · {}", site.name),
        None,
    );
    render(&state, &headers, head, &listing, None, &authors)
}

/// `GET /network.atom`: the newest articles received from followed actors.
async fn get_network_feed(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let store = state.store();
    let ((items, _), org) = tokio::try_join!(store.list_remote_articles(FEED_SIZE, 0), store.find_organisation())?;
    let site = site(&state, org.as_ref()).await?;
    let mut head = head(
        &state,
        &site,
        "/network.atom",
        "/network",
        format!("{} · network", site.name),
        None,
    );
    let entries: Vec<Entry> = items
        .iter()
        .map(|(a, actor)| {
            let href = crate::pages::web_link(a.url.as_deref(), &a.id);
            let lang = a
                .language
                .as_deref()
                .and_then(|l| Language::parse(l).ok())
                .unwrap_or_else(|| state.last_settings().default_language.clone());
            Entry {
                id: a.id.clone(),
                lang,
                title: xml_text(if a.name.is_empty() { &actor.name } else { &a.name }),
                href,
                published: Some(a.published_at),
                updated: a.updated_at,
                author: Some(EntryAuthor {
                    name: xml_text(&actor.name),
                    uri: crate::pages::web_link(actor.url.as_deref(), &actor.id),
                }),
                tags: Vec::new(),
                summary: String::new(),
                content: xml_text(&format!("{}{}", a.summary_html, a.content_html)),
            }
        })
        .collect();
    if let Some(newest) = entries.iter().map(|e| e.updated).max() {
        head.updated = newest;
    }
    let body = state.templates().render("feed.xml", FeedCtx { feed: head, entries })?;
    Ok(xml_response(&headers, body, ATOM))
}

fn head(
    state: &AppState,
    site: &Site,
    self_path: &str,
    alternate_path: &str,
    title: String,
    lang: Option<Language>,
) -> FeedHead {
    FeedHead {
        id: state.url(self_path),
        base: state.url("/"),
        title: xml_text(&title),
        subtitle: xml_text(&site.description),
        // Replaced by the newest entry's date when there is one.
        updated: site.updated_at.unwrap_or(DateTime::UNIX_EPOCH),
        self_href: state.url(self_path),
        alternate_href: state.url(alternate_path),
        lang,
        author_name: xml_text(&site.name),
        author_uri: state.url("/"),
        logo: site.logo.as_deref().map(|l| state.url(l)),
    }
}

/// Renders the feed; entries are in `lang` when given (the language feed),
/// else in each article's default language.
fn render(
    state: &AppState,
    headers: &HeaderMap,
    mut head: FeedHead,
    listing: &ArticlePage,
    lang: Option<&Language>,
    authors: &[Author],
) -> Result<Response, PageError> {
    let authors: HashMap<&str, &Author> = authors.iter().map(|a| (a.id.as_str(), a)).collect();
    let entries: Vec<Entry> = listing
        .articles
        .iter()
        .map(|a| entry(state, a, lang, authors.get(a.author_id.as_str()).copied()))
        .collect();
    if let Some(newest) = entries.iter().map(|e| e.updated).max() {
        head.updated = newest;
    }
    let body = state.templates().render("feed.xml", FeedCtx { feed: head, entries })?;
    Ok(xml_response(headers, body, ATOM))
}

fn entry(state: &AppState, article: &Article, lang: Option<&Language>, author: Option<&Author>) -> Entry {
    let t = article.translation(lang);
    let href = state.url(&article_path(&article.slug, &t.language));
    let mut content = String::with_capacity(t.body_html.len() + 256);
    if let Some(cover) = &article.cover {
        // Feed readers show no separate cover: put it at the top of the body.
        content.push_str(&format!(
            "<p><img src=\"{}\" alt=\"{}\"></p>\n",
            escape(&state.url(&media_path(&cover.media_id))),
            escape(&cover.alt)
        ));
    }
    content.push_str(&t.body_html);
    Entry {
        id: href.clone(),
        lang: t.language.clone(),
        title: xml_text(&t.title),
        href,
        published: article.published_at,
        updated: article
            .published_at
            .map_or(article.updated_at, |p| p.max(article.updated_at)),
        author: author.map(|a| EntryAuthor {
            name: xml_text(&a.name),
            uri: state.url(&author_path(&a.username)),
        }),
        tags: article
            .tags
            .iter()
            .map(|tag| Category {
                term: xml_text(tag),
                scheme: state.url("/tags/"),
            })
            .collect(),
        summary: xml_text(&t.summary),
        content: xml_text(&content),
    }
}

/// Drops the characters XML 1.0 forbids even escaped (C0 controls but tab,
/// newline and carriage return; U+FFFE and U+FFFF), which would make the
/// whole feed unreadable.
fn xml_text(s: &str) -> String {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}');
    if s.chars().all(allowed) {
        s.to_owned()
    } else {
        s.chars().filter(|c| allowed(*c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_what_xml_forbids() {
        assert_eq!(xml_text("a\u{0}b\u{1b}c\td\n"), "abc\td\n");
        assert_eq!(xml_text("Énergie ✓"), "Énergie ✓");
    }
}
