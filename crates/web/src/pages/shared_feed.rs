//! The network coordinator's shared feed for readers: `GET /network/feed`
//! (HTML, filters as query parameters, cursor pagination, full-text search
//! with the matches highlighted) and `GET /network/feed.json` (the same
//! page as JSON). Only on a coordinator (`[network] enabled`); 404 elsewhere.
//! The Atom view of every filtered page is in `feeds::shared_feed`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use gazette_core::network::{MATCH_END, MATCH_START};
use gazette_core::{ArticleKind, Country, FeedCursor, FeedFilter, Language, LegalForm};
use gazette_federation::NetworkSettings;
use gazette_store::{FeedEntry, FeedPage};
use serde::{Deserialize, Serialize};

use super::feed_filters::{self, Chip, FacetView};
use super::ui_lang::{finish, interface_language, switch_links};
use super::{FeedLink, Head, Nav, html_response, render_page, site, site_meta};
use crate::{ApiError, AppState, PageError};

/// Items per page of the shared feed.
pub(crate) const PER_PAGE: i64 = 20;
/// Longest search text accepted.
const MAX_QUERY_CHARS: usize = 200;

/// The query parameters of every view of the shared feed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FeedParams {
    language: Option<String>,
    country: Option<String>,
    organisation: Option<String>,
    kind: Option<String>,
    sector: Option<String>,
    legal_form: Option<String>,
    tag: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    /// Interface language (as on every listing page), not a filter.
    lang: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl FeedParams {
    /// The filter and cursor, each value checked; a bad one is refused with
    /// a message naming the parameter.
    pub(crate) fn parse(&self) -> Result<(FeedFilter, Option<FeedCursor>), String> {
        let bad = |name: &str, e: String| format!("{name}: {e}");
        let language = given(&self.language)
            .map(|v| {
                Language::parse(v)
                    .map(|l| l.as_str().to_owned())
                    .map_err(|e| bad("language", e))
            })
            .transpose()?;
        let country = given(&self.country)
            .map(|v| {
                Country::parse(v)
                    .map(|c| c.as_str().to_owned())
                    .map_err(|e| bad("country", e))
            })
            .transpose()?;
        let kind = given(&self.kind)
            .map(|v| {
                ArticleKind::parse(v)
                    .map(|k| k.as_str().to_owned())
                    .ok_or_else(|| format!("kind: `{v}` is not `interview` or `news`"))
            })
            .transpose()?;
        let legal_form = given(&self.legal_form)
            .map(|v| {
                LegalForm::parse(v).map(|f| f.as_str().to_owned()).ok_or_else(|| {
                    format!(
                        "legal_form: `{v}` is not one of cooperative, mutual, association, foundation, social_enterprise, other"
                    )
                })
            })
            .transpose()?;
        let tag = given(&self.tag)
            .map(|v| gazette_core::validate::normalise_tag(v).map_err(|e| bad("tag", e)))
            .transpose()?;
        let organisation = given(&self.organisation)
            .map(|v| {
                let h = v.trim_start_matches('@');
                if h.split('@').count() == 2 && !h.starts_with('@') && !h.ends_with('@') {
                    Ok(h.to_lowercase())
                } else {
                    Err(format!("organisation: `{v}` is not a handle such as name@example.org"))
                }
            })
            .transpose()?;
        let q = given(&self.q)
            .map(|v| {
                if v.chars().count() > MAX_QUERY_CHARS {
                    Err(format!(
                        "q: the search text is longer than {MAX_QUERY_CHARS} characters"
                    ))
                } else {
                    Ok(v.to_owned())
                }
            })
            .transpose()?;
        let cursor = given(&self.cursor)
            .map(|v| FeedCursor::parse(v).map_err(|e| bad("cursor", e)))
            .transpose()?;
        let filter = FeedFilter {
            language,
            country,
            organisation,
            kind,
            sector: given(&self.sector).map(str::to_lowercase),
            legal_form,
            tag,
            q,
        };
        Ok((filter, cursor))
    }
}

/// The filter as a query string (`a=b&c=d`, URL-encoded), for links to
/// the same view: its next page, its Atom and JSON forms.
pub(crate) fn filter_query(filter: &FeedFilter) -> String {
    let pairs = [
        ("language", &filter.language),
        ("country", &filter.country),
        ("organisation", &filter.organisation),
        ("kind", &filter.kind),
        ("sector", &filter.sector),
        ("legal_form", &filter.legal_form),
        ("tag", &filter.tag),
        ("q", &filter.q),
    ];
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

/// `path?query` with `extra` (already encoded) appended.
pub(crate) fn with_query(path: &str, query: &str, extra: &str) -> String {
    let q: Vec<&str> = [query, extra].into_iter().filter(|s| !s.is_empty()).collect();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// HTML-escapes `text` and turns the store's match marks into `<mark>`.
pub(crate) fn highlight(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            MATCH_START => out.push_str("<mark>"),
            MATCH_END => out.push_str("</mark>"),
            c => out.push(c),
        }
    }
    out
}

/// The coordinator settings, or 404 on an ordinary instance.
pub(crate) fn network(state: &AppState) -> Result<NetworkSettings, PageError> {
    state.fed().settings().network.clone().ok_or(PageError::NotFound)
}

/// One item as the page and the JSON show it.
#[derive(Debug, Serialize)]
pub(crate) struct ItemView {
    id: String,
    url: String,
    title: String,
    /// Safe HTML: the title with search matches marked.
    title_html: String,
    /// Sanitised HTML.
    summary_html: String,
    /// Safe HTML: an excerpt around the search matches, when searching.
    snippet_html: Option<String>,
    kind: Option<String>,
    language: Option<String>,
    languages: Vec<String>,
    tags: Vec<String>,
    image_url: Option<String>,
    image_alt: Option<String>,
    published: String,
    updated: String,
    organisation: OrganisationView,
}

#[derive(Debug, Serialize)]
struct OrganisationView {
    name: String,
    /// Its page on the coordinator (`/network/members/{handle}`).
    page: String,
    handle: String,
    url: Option<String>,
    logo: Option<String>,
    country: Option<String>,
    legal_form: Option<String>,
}

pub(crate) fn item_view(e: FeedEntry) -> ItemView {
    let i = e.item;
    ItemView {
        url: i.url.clone().unwrap_or_else(|| i.id.clone()),
        title_html: highlight(e.title_highlighted.as_deref().unwrap_or(&i.title)),
        snippet_html: e.snippet.as_deref().map(highlight),
        id: i.id,
        title: i.title,
        summary_html: i.summary_html,
        kind: i.kind,
        language: i.language,
        languages: i.languages,
        tags: i.tags,
        image_url: i.image_url,
        image_alt: i.image_alt,
        published: i.published_at.to_rfc3339(),
        updated: i.updated_at.to_rfc3339(),
        organisation: OrganisationView {
            page: format!("{}/{}", super::network_members::PATH, e.member_handle),
            name: e.member_name,
            handle: format!("@{}", e.member_handle),
            url: e.member_url,
            logo: e.member_logo,
            country: e.country,
            legal_form: e.legal_form,
        },
    }
}

/// Reads one page of the feed for `params`.
pub(crate) async fn load(state: &AppState, params: &FeedParams) -> Result<(FeedFilter, FeedPage), String> {
    let (filter, cursor) = params.parse()?;
    let page = state
        .store()
        .network_feed(&filter, cursor.as_ref(), PER_PAGE)
        .await
        .map_err(|e| format!("\u{0}{e}"))?;
    Ok((filter, page))
}

#[derive(Debug, Serialize)]
struct SharedFeedPage {
    network: NetworkHeader,
    items: Vec<ItemView>,
    next: Option<String>,
    atom: String,
    json: String,
    /// Where the filter form and the chips lead (`/` when the feed is the home page).
    base: String,
    filter: FeedFilter,
    searching: bool,
    filtered: bool,
    facets: Vec<FacetView>,
    chips: Vec<Chip>,
}

/// What heads every network page: name, description, logo, the network
/// actor's handle and the pages about it.
#[derive(Debug, Serialize)]
pub(crate) struct NetworkHeader {
    pub(crate) name: String,
    pub(crate) summary: String,
    pub(crate) logo: Option<String>,
    /// `@username@host`, to follow from Mastodon.
    pub(crate) handle: String,
    /// The shared feed's path (`/` when it is the home page).
    pub(crate) feed: String,
}

/// The header of the network's pages.
pub(crate) fn network_header(state: &AppState, network: &NetworkSettings, site: &super::Site) -> NetworkHeader {
    NetworkHeader {
        name: network.name.clone(),
        summary: network.summary.clone(),
        logo: network.logo.clone().or_else(|| site.logo.clone()),
        handle: format!("@{}@{}", network.username, state.fed().urls().host()),
        feed: if network.home {
            "/"
        } else {
            gazette_federation::network::FEED_PATH
        }
        .to_owned(),
    }
}

fn split_error(e: String) -> PageError {
    match e.strip_prefix('\u{0}') {
        Some(internal) => PageError::Internal(internal.to_owned()),
        None => PageError::BadRequest(e),
    }
}

/// `GET /network/feed`: the shared feed, newest first.
pub(crate) async fn get_shared_feed(
    State(state): State<AppState>,
    Query(params): Query<FeedParams>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    render_shared_feed(&state, &params, &headers, gazette_federation::network::FEED_PATH).await
}

/// The shared feed's page as served at `base` (its own path, or `/` when
/// `network.home` makes it the home page).
pub(crate) async fn render_shared_feed(
    state: &AppState,
    params: &FeedParams,
    headers: &HeaderMap,
    base: &str,
) -> Result<Response, PageError> {
    let network = network(state)?;
    let (filter, page) = load(state, params).await.map_err(split_error)?;
    let (org, facets) = tokio::try_join!(
        state.store().find_organisation(),
        state.store().network_feed_facets(&filter)
    )?;
    let site = site(state, org.as_ref()).await?;
    let ui = interface_language(state, headers, params.lang.as_deref());
    let lang = ui.lang.clone();
    let path = gazette_federation::network::FEED_PATH;
    let query = filter_query(&filter);
    let next = page.next.as_ref().map(|c| {
        with_query(
            base,
            &query,
            &format!(
                "cursor={}",
                url::form_urlencoded::byte_serialize(c.encode().as_bytes()).collect::<String>()
            ),
        )
    });
    let atom = with_query(&format!("{path}.atom"), &query, "");
    let templates = state.templates();
    let facets = feed_filters::facet_views(templates, lang.as_str(), facets, &filter);
    let chips = feed_filters::chips(templates, lang.as_str(), base, &filter, &facets);
    let header = network_header(state, &network, &site);
    let head = Head {
        title: if base == "/" {
            network.name.clone()
        } else {
            format!(
                "{} · {}",
                templates.text(lang.as_str(), "shared_feed_nav"),
                network.name
            )
        },
        description: network.summary.clone(),
        canonical: state.url(&with_query(base, &query, "")),
        feeds: vec![FeedLink {
            href: state.url(&atom),
            title: network.name.clone(),
            hreflang: None,
        }],
        alternates: Vec::new(),
        meta: site_meta(&site, &state.url(base), &lang),
        jsonld: None,
    };
    let nav = Nav {
        current: "shared_feed",
        languages: switch_links(&lang, base, &query),
    };
    let body = render_page(
        state,
        "shared_feed.html",
        &lang,
        &site,
        head,
        nav,
        SharedFeedPage {
            network: header,
            items: page.entries.into_iter().map(item_view).collect(),
            next,
            json: with_query(&format!("{path}.json"), &query, ""),
            atom,
            base: base.to_owned(),
            searching: filter.q.is_some(),
            filtered: filter != FeedFilter::default(),
            filter,
            facets,
            chips,
        },
    )?;
    Ok(finish(html_response(body, true), &ui))
}

#[derive(Debug, Serialize)]
struct FeedJson {
    items: Vec<ItemView>,
    /// The next page's URL (same filters), absent on the last page.
    next: Option<String>,
}

/// `GET /network/feed.json`: the same page as JSON (public, no token).
pub(crate) async fn get_shared_feed_json(
    State(state): State<AppState>,
    Query(params): Query<FeedParams>,
) -> Result<Response, ApiError> {
    if state.fed().settings().network.is_none() {
        return Err(ApiError::not_found("this instance is not a network coordinator"));
    }
    let (filter, page) = load(&state, &params).await.map_err(|e| match e.strip_prefix('\u{0}') {
        Some(internal) => ApiError::internal(internal),
        None => {
            let field = e.split(':').next().unwrap_or_default().to_owned();
            ApiError::field(axum::http::StatusCode::BAD_REQUEST, "bad_filter", field, e)
        }
    })?;
    let path = format!("{}.json", gazette_federation::network::FEED_PATH);
    let query = filter_query(&filter);
    let next = page.next.as_ref().map(|c| {
        state.url(&with_query(
            &path,
            &query,
            &format!(
                "cursor={}",
                url::form_urlencoded::byte_serialize(c.encode().as_bytes()).collect::<String>()
            ),
        ))
    });
    Ok(Json(FeedJson {
        items: page.entries.into_iter().map(item_view).collect(),
        next,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_escape_first() {
        assert_eq!(
            highlight("a <b> \u{E000}coop\u{E001} & co"),
            "a &lt;b&gt; <mark>coop</mark> &amp; co"
        );
    }

    #[test]
    fn filters_are_checked_and_named() {
        let p = FeedParams {
            country: Some("be".into()),
            kind: Some("interview".into()),
            organisation: Some("@Org@a.example".into()),
            tag: Some("#Energy".into()),
            language: Some(" ".into()),
            ..Default::default()
        };
        let (f, c) = p.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.country.as_deref(), Some("BE"));
        assert_eq!(f.organisation.as_deref(), Some("org@a.example"));
        assert_eq!(f.tag.as_deref(), Some("energy"));
        assert_eq!(f.language, None);
        assert!(c.is_none());
        assert_eq!(
            filter_query(&f),
            "country=BE&organisation=org%40a.example&kind=interview&tag=energy"
        );
        for (p, name) in [
            (
                FeedParams {
                    kind: Some("opinion".into()),
                    ..Default::default()
                },
                "kind",
            ),
            (
                FeedParams {
                    country: Some("Europe".into()),
                    ..Default::default()
                },
                "country",
            ),
            (
                FeedParams {
                    legal_form: Some("guild".into()),
                    ..Default::default()
                },
                "legal_form",
            ),
            (
                FeedParams {
                    organisation: Some("nobody".into()),
                    ..Default::default()
                },
                "organisation",
            ),
            (
                FeedParams {
                    cursor: Some("x".into()),
                    ..Default::default()
                },
                "cursor",
            ),
            (
                FeedParams {
                    q: Some("x".repeat(201)),
                    ..Default::default()
                },
                "q",
            ),
        ] {
            let e = p.parse().err().unwrap_or_default();
            assert!(e.starts_with(&format!("{name}:")), "{e}");
        }
    }
}
