//! `/admin/network` on a network coordinator: the members with their health
//! (follow accepted, last activity, articles, deliveries pending and
//! failing, signature failures, rate-limited activities, backfill), the
//! decisions on them (approve, reject, suspend, remove after a confirmation,
//! invite, retry a stuck member with its last error and what to do) and the moderation of the shared feed (hide, restore). What
//! `gazette network …` and `/api/network/…` do, through the same functions
//! in `gazette_federation::network::membership`. For editors and admins;
//! a 404 on an instance that is not a coordinator.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use gazette_core::MemberStatus;
use gazette_federation::FederationError;
use gazette_federation::network::{membership, retry};
use serde::Deserialize;
use serde_json::json;

use super::roles::{Editor, Needs, signed_as};
use super::session::CsrfForm;
use super::{AdminError, AdminResult, Failure, OrPage, Signed, back_to, done_notice, page_count, page_number, render};
use crate::AppState;

/// Feed items per page of the moderation list.
const PER_PAGE: i64 = 20;

const DONE: [&str; 8] = [
    "member_approved",
    "member_retried",
    "member_rejected",
    "member_suspended",
    "member_removed",
    "member_invited",
    "item_hidden",
    "item_restored",
];

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    done: Option<String>,
    /// `hidden` lists hidden items only.
    items: Option<String>,
    page: Option<String>,
}

/// `GET /admin/network`
pub(crate) async fn get_network(
    State(state): State<AppState>,
    NetworkEditor(signed): NetworkEditor,
    Query(p): Query<Params>,
) -> AdminResult {
    let flash = done_notice(&state, &signed.lang, p.done.as_deref(), &DONE);
    page(&state, &signed, &p, flash, None, String::new(), StatusCode::OK).await
}

/// An editor or admin, on a coordinator only: elsewhere the page is not
/// there (404, whatever the role).
pub(crate) struct NetworkEditor(Signed);

impl Needs for NetworkEditor {
    fn check(signed: &Signed) -> Result<(), AdminError> {
        if signed.state.fed().settings().network.is_none() {
            return Err(signed.fail(Failure::not_found()));
        }
        Editor::check(signed)
    }
}

impl FromRequestParts<AppState> for NetworkEditor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        signed_as::<NetworkEditor>(parts, state).await.map(NetworkEditor)
    }
}

async fn page(
    state: &AppState,
    signed: &Signed,
    p: &Params,
    flash: Option<String>,
    error: Option<String>,
    typed_invite: String,
    status: StatusCode,
) -> AdminResult {
    let hidden_only = p.items.as_deref() == Some("hidden");
    let page = page_number(p.page.as_deref());
    let members = membership::health(state.fed(), None).await.or_page(signed)?;
    let (items, total) = match state
        .store()
        .moderation_items(hidden_only, PER_PAGE, (page - 1) * PER_PAGE)
        .await
    {
        Ok(x) => x,
        Err(e) => return Err(signed.fail(e)),
    };
    let pages = page_count(total, PER_PAGE);
    let link = |n: i64| {
        let filter = if hidden_only { "items=hidden&" } else { "" };
        format!("/admin/network?{filter}page={n}#feed-items")
    };
    let rows: Vec<_> = members
        .iter()
        .map(|h| {
            let s = h.member.status;
            json!({
                "h": h,
                "can_approve": s.can_become(MemberStatus::Approved),
                "can_reject": s.can_become(MemberStatus::Rejected),
                "can_suspend": s.can_become(MemberStatus::Suspended),
                "can_remove": s.can_become(MemberStatus::Removed),
            })
        })
        .collect();
    let network = state.fed().settings().network.clone();
    let page_ctx = json!({
        "network_name": network.as_ref().map(|n| n.name.clone()),
        "network_handle": network
            .as_ref()
            .map(|n| format!("@{}@{}", n.username, state.fed().urls().host())),
        "members": rows,
        "items": items,
        "items_total": total,
        "hidden_only": hidden_only,
        "page": page,
        "pages": pages,
        "prev": (page > 1).then(|| link(page - 1)),
        "next": (page < pages).then(|| link(page + 1)),
        "flash": flash,
        "error": error,
        "typed_invite": typed_invite,
    });
    let mut r = render(state, signed, "network", "admin/network.html", page_ctx);
    *r.status_mut() = status;
    Ok(r)
}

/// A refusal (unknown member, a decision its status does not allow, an
/// organisation that cannot be found) shown on the page with its reason.
async fn refused(state: &AppState, signed: &Signed, e: FederationError, typed_invite: String) -> AdminResult {
    let (status, message) = match e {
        FederationError::Refused(status, m) => (status, m),
        FederationError::NotFound => (
            StatusCode::NOT_FOUND,
            state.templates().text(&signed.lang, "error_not_found"),
        ),
        e @ (FederationError::Store(_) | FederationError::Internal(_)) => return Err(signed.fail(e)),
        other => (StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    };
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        state,
        signed,
        &Params::default(),
        None,
        Some(message),
        typed_invite,
        status,
    )
    .await
}

/// `POST /admin/network/members` — `member` and `decision` (`approve`,
/// `reject`, `suspend`, `remove`); a removal without `confirm=yes` shows
/// the confirmation page first.
pub(crate) async fn post_member(State(state): State<AppState>, form: CsrfForm<NetworkEditor>) -> AdminResult {
    let signed = &form.signed;
    let member = form.fields.get("member").trim().to_owned();
    let (status, done) = match form.fields.get("decision") {
        "approve" => (MemberStatus::Approved, "member_approved"),
        "reject" => (MemberStatus::Rejected, "member_rejected"),
        "suspend" => (MemberStatus::Suspended, "member_suspended"),
        "remove" => (MemberStatus::Removed, "member_removed"),
        _ => {
            let t = state.templates().text(&signed.lang, "coord_decision_unknown");
            return refused(&state, signed, FederationError::bad_request(t), String::new()).await;
        }
    };
    if status == MemberStatus::Removed && form.fields.get("confirm") != "yes" {
        let found = state.store().find_member_by_name(&member).await.or_page(signed)?;
        let Some(m) = found else {
            return Err(signed.fail(Failure::not_found()));
        };
        return Ok(render(
            &state,
            signed,
            "network",
            "admin/network_remove.html",
            json!({ "member": m }),
        ));
    }
    match membership::decide(state.fed(), &member, status).await {
        Ok(_) => Ok(back_to("/admin/network", "/admin/network", done)),
        Err(e) => refused(&state, signed, e, String::new()).await,
    }
}

/// `POST /admin/network/invite` — `target` (`@name@host` or an actor URL).
pub(crate) async fn post_invite(State(state): State<AppState>, form: CsrfForm<NetworkEditor>) -> AdminResult {
    let signed = &form.signed;
    let target = form.fields.get("target").trim().to_owned();
    if target.is_empty() {
        let t = state.templates().text(&signed.lang, "coord_invite_required");
        return refused(&state, signed, FederationError::bad_request(t), target).await;
    }
    let data = state.federation_config().to_request_data();
    match membership::invite(&data, &target).await {
        Ok(_) => Ok(back_to("/admin/network", "/admin/network", "member_invited")),
        Err(e) => refused(&state, signed, e, target).await,
    }
}

/// `POST /admin/network/retry` — `member`: a stuck approved member is
/// followed again and its backfill queued (`gazette network retry`).
pub(crate) async fn post_retry(State(state): State<AppState>, form: CsrfForm<NetworkEditor>) -> AdminResult {
    let signed = &form.signed;
    match retry::retry(state.fed(), form.fields.get("member").trim()).await {
        Ok(_) => Ok(back_to("/admin/network", "/admin/network", "member_retried")),
        Err(e) => refused(&state, signed, e, String::new()).await,
    }
}

/// `POST /admin/network/items` — `id` and `action` (`hide` or `restore`).
pub(crate) async fn post_item(State(state): State<AppState>, form: CsrfForm<NetworkEditor>) -> AdminResult {
    let signed = &form.signed;
    let (hidden, done) = match form.fields.get("action") {
        "hide" => (true, "item_hidden"),
        "restore" => (false, "item_restored"),
        _ => {
            let t = state.templates().text(&signed.lang, "coord_decision_unknown");
            return refused(&state, signed, FederationError::bad_request(t), String::new()).await;
        }
    };
    match membership::hide_item(state.fed(), form.fields.get("id").trim(), hidden).await {
        Ok(_) => Ok(back_to(form.fields.get("back"), "/admin/network", done)),
        Err(e) => refused(&state, signed, e, String::new()).await,
    }
}
