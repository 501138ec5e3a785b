//! `GET /network/members` on a network coordinator: the approved member
//! organisations as they describe themselves (name, country, legal form,
//! sectors, logo, link), by name. 404 on an instance that is not a
//! coordinator. Also the member side: [`member_networks`], the networks an
//! organisation belongs to, shown on its public pages (article pages too,
//! their cache validator covering it through [`networks_fingerprint`]).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gazette_core::MemberStatus;
use serde::{Deserialize, Serialize};

use super::shared_feed::network;
use super::{Head, Nav, NetworkLink, Site, html_response, listing_language, render_page, site, site_meta};
use crate::{AppState, PageError};

pub(crate) const PATH: &str = "/network/members";

#[derive(Deserialize)]
pub(crate) struct Params {
    lang: Option<String>,
}

#[derive(Serialize)]
struct MemberCard {
    name: String,
    handle: String,
    /// Its web page (or its actor id), only `http(s)`.
    href: String,
    country: Option<String>,
    legal_form: Option<String>,
    sectors: Vec<String>,
    logo: Option<String>,
}

#[derive(Serialize)]
struct MembersPage {
    network: String,
    members: Vec<MemberCard>,
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
    let (lang, _) = listing_language(&state, &site, &headers, params.lang.as_deref());
    let members = members
        .into_iter()
        .map(|m| MemberCard {
            href: web_link(m.profile.url.clone()).unwrap_or_else(|| m.actor.clone()),
            name: m.profile.name,
            handle: format!("@{}", m.handle),
            country: m.profile.country,
            legal_form: m.profile.legal_form,
            sectors: m.profile.sectors,
            logo: web_link(m.profile.logo),
        })
        .collect();
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
        languages: Vec::new(),
    };
    let body = render_page(
        &state,
        "network_members.html",
        &lang,
        &site,
        head,
        nav,
        MembersPage {
            network: network.name.clone(),
            members,
        },
    )?;
    Ok(html_response(body, true))
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
