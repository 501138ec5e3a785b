//! Listing pages: the front and home page, an author's and a tag's articles, and
//! `/network` (articles from the actors this instance follows), `?page=N`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use gazette_core::Author;
use gazette_core::validate::normalise_tag;
use gazette_store::ArticleQuery;
use serde::{Deserialize, Serialize};

use super::{
    Card, FeedLink, HOME_TAGS, Head, Meta, Nav, PER_PAGE, Pagination, Person, TagLink, author_path, card,
    html_response, language_choices, listing_language, network_members, page_count, pagination, parse_page, person,
    render_page, shared_feed, site, site_feeds, site_meta, tag_path, truncate_words, web_url, with_page,
};
use crate::{AppState, PageError};

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

#[derive(Debug, Deserialize)]
pub(super) struct ListParams {
    page: Option<String>,
    lang: Option<String>,
}

/// `GET /`: the shared feed on a coordinator with `network.home`, else
/// the organisation's home page ([`get_home`]).
pub(super) async fn get_front(
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

/// `GET /authors/{username}`: an author's profile and published articles, `?page=N`.
pub(super) async fn get_author(
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
pub(super) async fn get_tag(
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
pub(super) async fn get_network(
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
