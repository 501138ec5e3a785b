//! `GET /network/members` on a network coordinator: the approved member
//! organisations as they describe themselves (name, country, legal form,
//! sectors, logo, link), by name. 404 on an instance that is not a
//! coordinator; `GET /network/members/{handle}`, one member's profile and
//! its latest articles in the shared feed. Also the member side: [`member_networks`], the networks an
//! organisation belongs to, shown on its public pages (article pages too,
//! their cache validator covering it through [`networks_fingerprint`]).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gazette_core::{FeedFilter, MemberStatus};
use serde::{Deserialize, Serialize};

use super::shared_feed::{ItemView, NetworkHeader, filter_query, item_view, network, network_header, with_query};
use super::ui_lang::{finish, interface_language, switch_links};
use super::{FeedLink, Head, Nav, NetworkLink, Site, html_response, render_page, site, site_meta};
use crate::{AppState, PageError};

pub(crate) const PATH: &str = "/network/members";

#[derive(Deserialize)]
pub(crate) struct Params {
    pub(crate) lang: Option<String>,
}

/// Latest articles on a member's page.
const MEMBER_ITEMS: i64 = 10;

#[derive(Serialize)]
struct MemberCard {
    name: String,
    handle: String,
    /// Its page here, `/network/members/{handle}`.
    page: String,
    /// Its web page (or its actor id), only `http(s)`.
    href: String,
    country: Option<String>,
    legal_form: Option<String>,
    sectors: Vec<String>,
    logo: Option<String>,
}

#[derive(Serialize)]
struct MembersPage {
    network: NetworkHeader,
    members: Vec<MemberCard>,
}

#[derive(Serialize)]
struct MemberPage {
    network: NetworkHeader,
    member: MemberCard,
    items: Vec<ItemView>,
    /// The shared feed filtered to this member (all its articles), and its Atom.
    more: String,
    atom: String,
}

fn member_card(m: gazette_core::Member) -> MemberCard {
    MemberCard {
        page: format!("{PATH}/{}", m.handle),
        href: web_link(m.profile.url.clone()).unwrap_or_else(|| m.actor.clone()),
        name: m.profile.name,
        handle: format!("@{}", m.handle),
        country: m.profile.country,
        legal_form: m.profile.legal_form,
        sectors: m.profile.sectors,
        logo: web_link(m.profile.logo),
    }
}

fn web_link(url: Option<String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// `GET /network/members`: the members of the network.
pub(crate) async fn get_network_members(
    State(state): State<AppState>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let network = network(&state)?;
    let (org, members) = tokio::try_join!(
        state.store().find_organisation(),
        state.store().list_members(Some(MemberStatus::Approved))
    )?;
    let site = site(&state, org.as_ref()).await?;
    let ui = interface_language(&state, &headers, params.lang.as_deref());
    let lang = ui.lang.clone();
    let members = members.into_iter().map(member_card).collect();
    let head = Head {
        title: format!(
            "{} · {}",
            state.templates().text(lang.as_str(), "network_members_title"),
            network.name
        ),
        description: network.summary.clone(),
        canonical: state.url(PATH),
        feeds: Vec::new(),
        alternates: Vec::new(),
        meta: site_meta(&site, &state.url(PATH), &lang),
        jsonld: None,
    };
    let nav = Nav {
        current: "network_members",
        languages: switch_links(&lang, PATH, ""),
    };
    let body = render_page(
        &state,
        "network_members.html",
        &lang,
        &site,
        head,
        nav,
        MembersPage {
            network: network_header(&state, &network, &site),
            members,
        },
    )?;
    Ok(finish(html_response(body, true), &ui))
}

/// `GET /network/members/{handle}`: one approved member, its profile and
/// its latest articles in the shared feed (404 for anyone else).
pub(crate) async fn get_network_member(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let network = network(&state)?;
    let wanted = handle.trim_start_matches('@').to_lowercase();
    let filter = FeedFilter {
        organisation: Some(wanted.clone()),
        ..Default::default()
    };
    let (org, members, page) = tokio::try_join!(
        state.store().find_organisation(),
        state.store().list_members(Some(MemberStatus::Approved)),
        state.store().network_feed(&filter, None, MEMBER_ITEMS)
    )?;
    let member = members
        .into_iter()
        .find(|m| m.handle.to_lowercase() == wanted)
        .ok_or(PageError::NotFound)?;
    let site = site(&state, org.as_ref()).await?;
    let ui = interface_language(&state, &headers, params.lang.as_deref());
    let lang = ui.lang.clone();
    let path = format!("{PATH}/{}", member.handle);
    let feed = gazette_federation::network::FEED_PATH;
    let query = filter_query(&filter);
    let atom = with_query(&format!("{feed}.atom"), &query, "");
    let card = member_card(member);
    let head = Head {
        title: format!("{} · {}", card.name, network.name),
        description: network.summary.clone(),
        canonical: state.url(&path),
        feeds: vec![FeedLink {
            href: state.url(&atom),
            title: format!("{} · {}", card.name, network.name),
            hreflang: None,
        }],
        alternates: Vec::new(),
        meta: site_meta(&site, &state.url(&path), &lang),
        jsonld: None,
    };
    let nav = Nav {
        current: "network_members",
        languages: switch_links(&lang, &path, ""),
    };
    let body = render_page(
        &state,
        "network_member.html",
        &lang,
        &site,
        head,
        nav,
        MemberPage {
            network: network_header(&state, &network, &site),
            member: card,
            items: page.entries.into_iter().map(item_view).collect(),
            more: with_query(feed, &query, ""),
            atom,
        },
    )?;
    Ok(finish(html_response(body, true), &ui))
}

/// Fills `site.networks` with the networks the organisation is a member
/// of: the `Group` actors whose follow by the organisation was accepted,
/// each linked to its page (the shared feed, on a Gazette coordinator).
pub(crate) async fn member_networks(state: &AppState, site: &mut Site) -> Result<(), PageError> {
    site.networks = networks_of(state, site.username.as_deref()).await?;
    Ok(())
}

/// The networks the organisation with this username is a member of (none
/// without an organisation).
pub(crate) async fn networks_of(state: &AppState, username: Option<&str>) -> Result<Vec<NetworkLink>, PageError> {
    let Some(username) = username else {
        return Ok(Vec::new());
    };
    let actor = state.fed().urls().actor(username);
    Ok(state
        .store()
        .accepted_groups(&actor)
        .await?
        .into_iter()
        .map(|g| NetworkLink {
            name: if g.name.trim().is_empty() {
                g.handle()
            } else {
                g.name.clone()
            },
            href: web_link(g.url.clone()).unwrap_or_else(|| g.id.clone()),
        })
        .collect())
}

/// A short stamp of what [`networks_of`] shows, for a page cache validator:
/// it changes when a membership is accepted or ends, or a network is renamed.
pub(crate) fn networks_fingerprint(networks: &[NetworkLink]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for n in networks {
        n.name.hash(&mut h);
        n.href.hash(&mut h);
    }
    networks.len().hash(&mut h);
    h.finish()
}
