//! `GET /network/about` on a network coordinator: what the network is (its
//! name, description and logo), who its members are, how an organisation
//! joins, and how to follow it from Mastodon (the network actor's handle,
//! with the same follow form as the footer's). 404 on other instances.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gazette_core::MemberStatus;
use serde::Serialize;

use super::network_members::{self, Params};
use super::shared_feed::{NetworkHeader, network, network_header};
use super::ui_lang::{finish, interface_language, switch_links};
use super::{Head, Nav, html_response, render_page, site, site_meta};
use crate::{AppState, PageError};

pub(crate) const PATH: &str = "/network/about";

#[derive(Serialize)]
struct AboutMember {
    name: String,
    page: String,
    country: Option<String>,
}

#[derive(Serialize)]
struct AboutPage {
    network: NetworkHeader,
    /// The network actor's username, for the follow form.
    username: String,
    members: Vec<AboutMember>,
    /// The command a member's administrator runs to ask to join.
    join_command: String,
}

/// `GET /network/about`: about the network.
pub(crate) async fn get_network_about(
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
    let header = network_header(&state, &network, &site);
    let mut members: Vec<AboutMember> = members
        .into_iter()
        .map(|m| AboutMember {
            page: format!("{}/{}", network_members::PATH, m.handle),
            name: m.profile.name,
            country: m.profile.country,
        })
        .collect();
    members.sort_by_key(|m| m.name.to_lowercase());
    let head = Head {
        title: format!(
            "{} · {}",
            state.templates().text(lang.as_str(), "network_about_title"),
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
        current: "network_about",
        languages: switch_links(&lang, PATH, ""),
    };
    let body = render_page(
        &state,
        "network_about.html",
        &lang,
        &site,
        head,
        nav,
        AboutPage {
            join_command: format!("gazette network join {}", header.handle),
            username: network.username.clone(),
            network: header,
            members,
        },
    )?;
    Ok(finish(html_response(body, true), &ui))
}
