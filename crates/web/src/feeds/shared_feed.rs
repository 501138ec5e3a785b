//! `GET /network/feed.atom`: the Atom form of any filtered view of the
//! network coordinator's shared feed (the same query parameters as the
//! HTML page), so readers subscribe to "interviews from Belgium" or a search.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gazette_core::Language;

use super::{ATOM, Category, Entry, EntryAuthor, FeedCtx, head, xml_text};
use crate::pages::shared_feed::{FeedParams, filter_query, load, network, with_query};
use crate::pages::{site, xml_response};
use crate::{AppState, PageError};

pub(crate) async fn get_shared_feed_atom(
    State(state): State<AppState>,
    Query(params): Query<FeedParams>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let network = network(&state)?;
    let (filter, page) = load(&state, &params).await.map_err(|e| match e.strip_prefix('\u{0}') {
        Some(internal) => PageError::Internal(internal.to_owned()),
        None => PageError::BadRequest(e),
    })?;
    let org = state.store().find_organisation().await?;
    let site = site(&state, org.as_ref()).await?;
    let path = gazette_federation::network::FEED_PATH;
    let query = filter_query(&filter);
    let mut head = head(
        &state,
        &site,
        &with_query(&format!("{path}.atom"), &query, ""),
        &with_query(path, &query, ""),
        network.name.clone(),
        None,
    );
    head.subtitle = xml_text(&network.summary);
    let entries: Vec<Entry> = page
        .entries
        .into_iter()
        .map(|e| {
            let i = e.item;
            let lang = i
                .language
                .as_deref()
                .and_then(|l| Language::parse(l).ok())
                .unwrap_or_else(|| state.last_settings().default_language.clone());
            let mut content = i.summary_html.clone();
            content.push_str(&i.content_html);
            Entry {
                id: i.id.clone(),
                lang,
                title: xml_text(&i.title),
                href: crate::pages::web_link(i.url.as_deref(), &i.id),
                published: Some(i.published_at),
                updated: i.updated_at,
                author: Some(EntryAuthor {
                    name: xml_text(&e.member_name),
                    uri: crate::pages::web_link(e.member_url.as_deref(), &i.member),
                }),
                tags: i
                    .tags
                    .iter()
                    .map(|t| Category {
                        term: xml_text(t),
                        scheme: state.url(&format!("{path}?tag=")),
                    })
                    .collect(),
                summary: xml_text(&gazette_core::network::plain_text(&i.summary_html)),
                content: xml_text(&content),
            }
        })
        .collect();
    if let Some(newest) = entries.iter().map(|e| e.updated).max() {
        head.updated = newest;
    }
    let body = state.templates().render("feed.xml", FeedCtx { feed: head, entries })?;
    Ok(xml_response(&headers, body, ATOM))
}
