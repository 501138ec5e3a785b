//! The article page: `/articles/{slug}` and its translations, as HTML for
//! browsers and as an ActivityStreams `Article` for servers, with the page cache.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use gazette_core::{Article, ArticleStatus, Author, Language, Organisation};
use gazette_store::ArticleView as StoredArticle;
use serde::Serialize;
use serde_json::json;

use super::{
    Alternate, FeedLink, Head, Image, LangLink, Meta, Nav, NetworkLink, Person, Site, TagLink, article_base_path,
    article_path, handle, handle_url, html_response, media_path, network_members, og_locale, person, render_page,
    rfc3339, script_safe_json, site, site_feeds, tag_path, truncate_words, web_link,
};
use crate::{AppState, PageError};

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
    /// Accepted quotes (FEP-044f): all of them counted, the latest listed.
    quote_count: i64,
    quotes: Vec<super::quotes::QuoteView>,
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
struct ArticlePage {
    article: ArticleView,
}

/// `GET /articles/{slug}`: the article in the reader's language
/// (`Accept-Language`), else in its own default language.
pub(super) async fn get_article(
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
pub(super) async fn get_article_translation(
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

// ---------------------------------------------------------------------------
// The article page
// ---------------------------------------------------------------------------

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
/// versions, its reactions and quotes, the instance settings in effect and the networks the
/// organisation is a member of, so an edit or a membership decision from
/// any process is seen on the next request.
async fn article_page(state: &AppState, view: &StoredArticle, lang: &Language) -> Result<Bytes, PageError> {
    let a = &view.article;
    let key = format!("{}|{lang}", a.slug);
    let username = view.organisation.as_ref().map(|o| o.username.as_str());
    let (reactions, quotes, settings, networks) = tokio::try_join!(
        async { Ok::<_, PageError>(state.store().reactions_stamp(&a.id).await?) },
        async { Ok::<_, PageError>(state.store().quotes_stamp(&a.id).await?) },
        async { Ok(state.settings().await?) },
        network_members::networks_of(state, username)
    )?;
    // The instance settings (name, footer, languages) show on the page too.
    let settings = crate::settings::fingerprint(&settings);
    let networks_stamp = network_members::networks_fingerprint(&networks);
    let validator = format!(
        "{}:{}:{}:{}:{}:{reactions}:{quotes}:{settings:x}:{networks_stamp:x}",
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
    let (cover_media, photo_media, counts, comments, (quote_count, quotes)) = tokio::try_join!(
        cover,
        photo,
        store.interaction_counts(&article.id),
        store.list_comments(&article.id, "visible"),
        super::quotes::accepted_quotes(store, &article.id),
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
        quote_count,
        quotes,
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
