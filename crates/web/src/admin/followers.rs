//! `/admin/followers`: who follows the organisation and each author, with
//! their servers, page by page. When followers are approved by hand
//! (`federation.manually_approves_followers`), pending follows are approved
//! or rejected here through [`gazette_federation::answer_follow`], which
//! queues the `Accept` or `Reject` exactly as `gazette followers` does.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gazette_core::FollowStatus;
use gazette_federation::{FederationError, LocalActor};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::CsrfForm;
use super::{
    Signed, back_to, done_notice, error_page_text, fed_failure, page_count, page_number, render, require_editor,
    store_failure,
};
use crate::AppState;

const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    actor: Option<String>,
    status: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

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

/// `GET /admin/followers?actor=&status=accepted|pending&page=` — followers
/// of one local actor (the organisation first), newest first.
pub(crate) async fn get_followers(State(state): State<AppState>, signed: Signed, Query(p): Query<Params>) -> Response {
    if let Some(r) = require_editor(&state, &signed) {
        return r;
    }
    let actors = match gazette_federation::local_actors(state.fed()).await {
        Ok(a) => a,
        Err(e) => return fed_failure(&state, &signed.lang, e),
    };
    let store = state.store();
    let mut tabs = Vec::with_capacity(actors.len());
    for a in &actors {
        let id = state.fed().urls().actor(a.username());
        let counts = tokio::try_join!(
            store.count_followers_with_status(&id, FollowStatus::Accepted),
            store.count_followers_with_status(&id, FollowStatus::Pending),
        );
        let (accepted, pending) = match counts {
            Ok(c) => c,
            Err(e) => return store_failure(&state, &signed.lang, e),
        };
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
    let page = page_number(p.page.as_deref());
    let (rows, total, username) = match selected {
        None => (Vec::new(), 0, String::new()),
        Some(tab) => {
            let id = state.fed().urls().actor(&tab.username);
            let total = match status {
                FollowStatus::Accepted => tab.accepted,
                FollowStatus::Pending => tab.pending,
            };
            let found = match store
                .list_followers(&id, status, PER_PAGE, (page - 1).saturating_mul(PER_PAGE))
                .await
            {
                Ok(f) => f,
                Err(e) => return store_failure(&state, &signed.lang, e),
            };
            let rows: Vec<Row> = found
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
            (rows, total, tab.username.clone())
        }
    };
    let pages = page_count(total, PER_PAGE);
    let link = |n: i64| format!("/admin/followers?actor={username}&status={}&page={n}", status.as_str());
    let page_json = json!({
        "tabs": tabs,
        "actor": username,
        "status": status.as_str(),
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "prev": (page > 1).then(|| link(page - 1)),
        "next": (page < pages).then(|| link(page + 1)),
        "manual": state.fed().settings().manually_approves_followers,
        "flash": done_notice(&state, &signed.lang, p.done.as_deref(), &["approved", "rejected"]),
    });
    render(&state, &signed, "followers", "admin/followers.html", page_json)
}

/// `POST /admin/followers/answer` — `decision=approve|reject` of the pending
/// follow of `follower` to the local actor `actor`.
pub(crate) async fn post_answer(State(state): State<AppState>, form: CsrfForm) -> Response {
    let signed = &form.signed;
    if let Some(r) = require_editor(&state, signed) {
        return r;
    }
    let f = &form.fields;
    let approve = match f.get("decision") {
        "approve" => true,
        "reject" => false,
        other => {
            let msg = format!("unknown decision `{other}`: expected approve or reject");
            return error_page_text(
                &state,
                &signed.lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Bad request",
                &msg,
            );
        }
    };
    let actor = Some(f.get("actor")).filter(|a| !a.is_empty());
    match gazette_federation::answer_follow(state.fed(), actor, f.get("follower"), approve).await {
        Ok(_) => back_to(
            f.get("back"),
            "/admin/followers?status=pending",
            if approve { "approved" } else { "rejected" },
        ),
        Err(FederationError::Refused(StatusCode::NOT_FOUND, m)) => {
            let title = state.templates().text(&signed.lang, "error_not_found");
            error_page_text(&state, &signed.lang, StatusCode::NOT_FOUND, &title, &m)
        }
        Err(e) => fed_failure(&state, &signed.lang, e),
    }
}
