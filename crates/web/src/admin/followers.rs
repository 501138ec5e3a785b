//! `/admin/followers`: who follows the organisation and each author, with
//! their servers (the servers with most followers, counted, and a filter by
//! server), a search by name or handle, newest first, older pages by
//! cursor (keeping the filters) so the last costs what the first does.
//! When followers are approved by hand
//! (`federation.manually_approves_followers`), pending follows are approved
//! or rejected here through [`gazette_federation::answer_follow`], which
//! queues the `Accept` or `Reject` exactly as `gazette followers` does.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use gazette_core::FollowStatus;
use gazette_federation::{FederationError, LocalActor};
use gazette_store::{FollowerCursor, FollowerFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::CsrfForm;
use super::{AdminResult, Editor, Failure, OrPage, back_to, done_notice, render};
use crate::AppState;
use crate::pages::encode_segment;

const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    actor: Option<String>,
    status: Option<String>,
    /// Only followers on this server.
    host: Option<String>,
    /// Only followers whose name or handle contains this.
    q: Option<String>,
    /// The page after this follower (`FollowerCursor::encode`).
    before: Option<String>,
    done: Option<String>,
}

/// Servers listed with their follower counts above the table.
const TOP_HOSTS: i64 = 20;

/// One local actor with its follower counts, for the tabs.
#[derive(Serialize)]
struct ActorTab {
    username: String,
    name: String,
    is_organisation: bool,
    accepted: i64,
    pending: i64,
}

#[derive(Serialize)]
struct Row {
    id: String,
    handle: String,
    name: String,
    host: String,
    url: Option<String>,
    since: String,
}

#[derive(Serialize)]
struct HostCount {
    host: String,
    followers: i64,
    href: String,
}

/// `GET /admin/followers?actor=&status=accepted|pending&host=&q=&before=` —
/// followers of one local actor (the organisation first), newest first,
/// optionally of one server and whose name or handle contains `q`, with the
/// servers they come from; pages go back in time with an "older than"
/// cursor.
pub(crate) async fn get_followers(
    State(state): State<AppState>,
    Editor(signed): Editor,
    Query(p): Query<Params>,
) -> AdminResult {
    let actors = gazette_federation::local_actors(state.fed()).await.or_page(&signed)?;
    let store = state.store();
    let mut tabs = Vec::with_capacity(actors.len());
    for a in &actors {
        let id = state.fed().urls().actor(a.username());
        let counts = tokio::try_join!(
            store.count_followers_with_status(&id, FollowStatus::Accepted),
            store.count_followers_with_status(&id, FollowStatus::Pending),
        );
        let (accepted, pending) = counts.or_page(&signed)?;
        tabs.push(ActorTab {
            username: a.username().to_owned(),
            name: a.display_name().to_owned(),
            is_organisation: matches!(a, LocalActor::Organisation(_)),
            accepted,
            pending,
        });
    }
    let selected = p
        .actor
        .as_deref()
        .and_then(|u| tabs.iter().find(|t| t.username == u))
        .or_else(|| tabs.first());
    let status = match p.status.as_deref() {
        Some("pending") => FollowStatus::Pending,
        _ => FollowStatus::Accepted,
    };
    let host = p
        .host
        .as_deref()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty());
    let search =
        p.q.as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
    let before = p.before.as_deref().and_then(FollowerCursor::decode);
    let link = |username: &str, host: Option<&str>, before: Option<&FollowerCursor>| {
        let mut q = format!(
            "/admin/followers?actor={}&status={}",
            encode_segment(username),
            status.as_str()
        );
        if let Some(h) = host {
            q.push_str(&format!("&host={}", encode_segment(h)));
        }
        if let Some(s) = &search {
            q.push_str(&format!("&q={}", encode_segment(s)));
        }
        if let Some(c) = before {
            q.push_str(&format!("&before={}", encode_segment(&c.encode())));
        }
        q
    };
    let mut page_json = json!({});
    let (rows, total, username) = match selected {
        None => (Vec::new(), 0, String::new()),
        Some(tab) => {
            let id = state.fed().urls().actor(&tab.username);
            let filter = FollowerFilter {
                host: host.as_deref(),
                search: search.as_deref(),
            };
            let found = tokio::try_join!(
                store.followers_page(&id, status, filter, before.as_ref(), PER_PAGE),
                store.follower_hosts(&id, status, TOP_HOSTS),
                store.count_follower_hosts(&id, status),
                async {
                    match host.as_deref() {
                        Some(h) => store.count_followers_on_host(&id, status, h).await,
                        None => Ok(match status {
                            FollowStatus::Accepted => tab.accepted,
                            FollowStatus::Pending => tab.pending,
                        }),
                    }
                },
            );
            let (page, hosts, host_total, total) = found.or_page(&signed)?;
            let rows: Vec<Row> = page
                .followers
                .into_iter()
                .map(|f| Row {
                    handle: f.actor.handle(),
                    name: f.actor.name,
                    host: f.actor.host,
                    url: f.actor.url,
                    id: f.actor.id,
                    since: f.since.to_rfc3339(),
                })
                .collect();
            let hosts: Vec<HostCount> = hosts
                .into_iter()
                .map(|(h, n)| HostCount {
                    href: link(&tab.username, Some(&h), None),
                    host: h,
                    followers: n,
                })
                .collect();
            page_json = json!({
                "hosts": hosts,
                "host_total": host_total,
                "older": page.older.as_ref().map(|c| link(&tab.username, host.as_deref(), Some(c))),
                "newest": before.is_some().then(|| link(&tab.username, host.as_deref(), None)),
                "all_hosts": host.is_some().then(|| link(&tab.username, None, None)),
                "clear_search": search.is_some().then(|| {
                    let mut l = format!(
                        "/admin/followers?actor={}&status={}",
                        encode_segment(&tab.username),
                        status.as_str()
                    );
                    if let Some(h) = &host {
                        l.push_str(&format!("&host={}", encode_segment(h)));
                    }
                    l
                }),
            });
            (rows, total, tab.username.clone())
        }
    };
    // Read with the session (see `Signed::find`): current.
    let manual = state.last_settings().manually_approves_followers;
    let page = json!({
        "tabs": tabs,
        "actor": username,
        "status": status.as_str(),
        "host": host.clone().unwrap_or_default(),
        "q": search.clone().unwrap_or_default(),
        "rows": rows,
        "total": total,
        "manual": manual,
        "flash": done_notice(&state, &signed.lang, p.done.as_deref(), &["approved", "rejected"]),
    });
    let mut page = page;
    super::merge(&mut page, page_json);
    Ok(render(&state, &signed, "followers", "admin/followers.html", page))
}

/// `POST /admin/followers/answer` — `decision=approve|reject` of the pending
/// follow of `follower` to the local actor `actor`.
pub(crate) async fn post_answer(State(state): State<AppState>, form: CsrfForm<Editor>) -> AdminResult {
    let signed = &form.signed;
    let f = &form.fields;
    let approve = match f.get("decision") {
        "approve" => true,
        "reject" => false,
        other => {
            let msg = state
                .templates()
                .text(&signed.lang, "follow_decision_unknown")
                .replace("{value}", other);
            return Err(signed.fail(Failure::Message {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                title: "error_bad_request",
                text: msg,
            }));
        }
    };
    let actor = Some(f.get("actor")).filter(|a| !a.is_empty());
    match gazette_federation::answer_follow(state.fed(), actor, f.get("follower"), approve).await {
        Ok(_) => Ok(back_to(
            f.get("back"),
            "/admin/followers?status=pending",
            if approve { "approved" } else { "rejected" },
        )),
        Err(FederationError::Refused(StatusCode::NOT_FOUND, m)) => Err(signed.fail(Failure::Message {
            status: StatusCode::NOT_FOUND,
            title: "error_not_found",
            text: m,
        })),
        Err(e) => Err(signed.fail(e)),
    }
}
