//! The network coordinator over HTTP: what `gazette network members`,
//! `approve`, `reject`, `suspend`, `remove`, `retry`, `invite`, `hide` and `restore`
//! do, through the same functions (`gazette_federation::network::membership`).
//! Only on a coordinator (`[network] enabled`); a 404 elsewhere. API tokens
//! are made by admins (the tokens page and `gazette token create`), so every
//! token may take these decisions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_core::{Member, MemberStatus};
use gazette_federation::FederationError;
use gazette_federation::network::{membership, retry};
use gazette_store::ModeratedItem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiJson, ApiQuery};
use crate::openapi::{ErrorBody, Unauthorized, ValidationFailed};
use crate::{ApiError, AppState};

/// Items per page of `GET /api/network/items`.
const PER_PAGE: i64 = 50;

/// The 404 of every route here, in the OpenAPI document.
const NOT_COORDINATOR: &str = "No such member or item, or this instance is not a network coordinator (`not_found`)";

/// The 404 of an instance that is not a coordinator.
fn coordinator(state: &AppState) -> Result<(), ApiError> {
    match state.fed().settings().network {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(
            "this instance is not a network coordinator (set `[network] enabled = true`)",
        )),
    }
}

/// Decisions refused for the member's status are 409s naming it; unknown
/// members and items 404s; a handle that cannot be looked up is the input
/// at fault (422, naming `field`).
pub(crate) fn federation_error(e: FederationError, field: &'static str) -> ApiError {
    match e {
        FederationError::Store(e) => e.into(),
        FederationError::Internal(e) => ApiError::internal(e),
        // Another server answered with an error or could not be reached: the
        // message names it, its status and its own message.
        FederationError::Remote(m) => ApiError::new(StatusCode::BAD_GATEWAY, "remote_failed", m),
        FederationError::NotFound => ApiError::not_found("not found"),
        FederationError::Refused(StatusCode::NOT_FOUND, m) => ApiError::not_found(m),
        FederationError::Refused(StatusCode::CONFLICT, m) => ApiError::new(StatusCode::CONFLICT, "wrong_state", m),
        FederationError::Refused(StatusCode::FORBIDDEN, m) => {
            ApiError::field(StatusCode::FORBIDDEN, "blocked", field, m)
        }
        other => ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid", field, other.to_string()),
    }
}

#[derive(Deserialize)]
pub(crate) struct MembersQuery {
    #[serde(default)]
    status: Option<String>,
}

/// Members and candidates.
#[derive(Serialize, ToSchema)]
struct MemberList {
    items: Vec<gazette_store::MemberHealth>,
}

/// `GET /api/network/members?status=…` — members and candidates with their health, by name.
#[utoipa::path(
    get, path = "/network/members", tag = "network", operation_id = "listNetworkMembers",
    summary = "Members and candidates with their health, by name (what `gazette network members` lists)",
    params(("status" = Option<MemberStatus>, Query)),
    responses(
        (status = 200, description = "Members", body = MemberList),
        (status = 401, response = Unauthorized),
        (status = 404, description = NOT_COORDINATOR, body = ErrorBody),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn list_members(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<MembersQuery>,
) -> Result<Response, ApiError> {
    coordinator(&state)?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(MemberStatus::parse(s).ok_or_else(|| {
            ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "status",
                format!("unknown status `{s}`: expected requested, approved, suspended, rejected, removed or left"),
            )
        })?),
    };
    let items = membership::health(state.fed(), status)
        .await
        .map_err(|e| federation_error(e, "status"))?;
    Ok(Json(MemberList { items }).into_response())
}

/// `POST /api/network/members/{member}/{action}` — `approve`, `reject`,
/// `suspend`, `remove` or `retry` (a stuck approved member) the member named by its `name@host` handle or its
/// actor id (percent-encoded). Answers the member as it now stands.
#[utoipa::path(
    post, path = "/network/members/{member}/{action}", tag = "network", operation_id = "decideMember",
    summary = "Approve (the network actor follows the member and reads its outbox), reject a request, suspend a \
        member (its articles hidden, kept), remove it (likewise, and no longer followed) or retry a stuck approved \
        member (a fresh follow unless accepted, the backfill at once unless done)",
    params(
        ("member" = String, Path, description = "`name@host` or the actor id (percent-encoded)"),
        ("action" = String, Path, description = "`approve`, `reject`, `suspend`, `remove` or `retry`")
    ),
    responses(
        (status = 200, description = "The member as it now stands", body = Member),
        (status = 401, response = Unauthorized),
        (status = 404, description = NOT_COORDINATOR, body = ErrorBody),
        (status = 409, description = "The member's status does not allow it (`wrong_state`; the message names the \
            status, e.g. only a requested member can be rejected; a member retried that is not stuck)", body = ErrorBody)
    )
)]
pub(crate) async fn decide_member(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path((member, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    coordinator(&state)?;
    let status = match action.as_str() {
        "approve" => MemberStatus::Approved,
        "reject" => MemberStatus::Rejected,
        "suspend" => MemberStatus::Suspended,
        "remove" => MemberStatus::Removed,
        "retry" => {
            let r = retry::retry(state.fed(), &member)
                .await
                .map_err(|e| federation_error(e, "member"))?;
            return Ok(Json(r.member).into_response());
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no action `{other}`: expected approve, reject, suspend, remove or retry"
            )));
        }
    };
    let m = membership::decide(state.fed(), &member, status)
        .await
        .map_err(|e| federation_error(e, "member"))?;
    Ok(Json(m).into_response())
}

/// Whom to invite.
#[derive(Deserialize, ToSchema)]
pub(crate) struct InviteInput {
    /// `@name@host` or an actor URL.
    target: String,
}

/// `POST /api/network/invitations` — invites an organisation: an approved
/// member at once, followed by the network actor (201 with the member).
#[utoipa::path(
    post, path = "/network/invitations", tag = "network", operation_id = "inviteNetworkMember",
    summary = "Invite an organisation: an approved member at once, followed by the network actor",
    request_body = InviteInput,
    responses(
        (status = 201, description = "The member", body = Member),
        (status = 401, response = Unauthorized),
        (status = 404, description = NOT_COORDINATOR, body = ErrorBody),
        (status = 409, description = "Already a member (approved or suspended: `wrong_state`)", body = ErrorBody),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn create_invitation(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<InviteInput>,
) -> Result<Response, ApiError> {
    coordinator(&state)?;
    let target = input.target.trim();
    if target.is_empty() {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "target",
            "give the organisation to invite as @name@host or its actor URL",
        ));
    }
    let data = state.federation_config().to_request_data();
    let m = membership::invite(&data, target)
        .await
        .map_err(|e| federation_error(e, "target"))?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ItemsQuery {
    /// Only hidden items.
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    page: Option<i64>,
}

/// One page of shared feed items.
#[derive(Serialize, ToSchema)]
struct ItemList {
    items: Vec<ModeratedItem>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// `GET /api/network/items?hidden=true&page=N` — feed items (not deleted
/// at their origin), newest first, with whether moderators hid them.
#[utoipa::path(
    get, path = "/network/items", tag = "network", operation_id = "listNetworkItems",
    summary = "Shared feed items (not deleted at their origin), newest first, 50 a page",
    params(
        ("hidden" = Option<bool>, Query, description = "Only the hidden ones"),
        ("page" = Option<u32>, Query, minimum = 1, description = "From 1 (the default)")
    ),
    responses(
        (status = 200, description = "Items", body = ItemList),
        (status = 401, response = Unauthorized),
        (status = 404, description = NOT_COORDINATOR, body = ErrorBody),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn list_items(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> Result<Response, ApiError> {
    coordinator(&state)?;
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "page",
            "pages start at 1",
        ));
    }
    let (items, total) = state
        .store()
        .moderation_items(q.hidden.unwrap_or(false), PER_PAGE, (page - 1) * PER_PAGE)
        .await?;
    Ok(Json(ItemList {
        items,
        total,
        page,
        per_page: PER_PAGE,
    })
    .into_response())
}

/// The item to hide or restore.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ItemInput {
    /// The item's id (its origin URL).
    #[schema(format = "uri")]
    id: String,
}

/// `POST /api/network/items/hide` — removes an item from the shared feed
/// (kept) and undoes the network actor's boost of it.
#[utoipa::path(
    post, path = "/network/items/hide", tag = "network", operation_id = "hideNetworkItem",
    summary = "Remove an item from the shared feed (kept) and undo the network actor's boost",
    request_body = ItemInput,
    responses(
        (status = 200, description = "The item as it now stands", body = ModeratedItem),
        (status = 401, response = Unauthorized),
        (status = 404, description = NOT_COORDINATOR, body = ErrorBody),
        (status = 409, description = "Already hidden (`wrong_state`)", body = ErrorBody)
    )
)]
pub(crate) async fn hide_item(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ItemInput>,
) -> Result<Response, ApiError> {
    set_hidden(&state, &input.id, true).await
}

/// `POST /api/network/items/restore` — shows a hidden item again (and
/// announces it anew if it had been announced).
#[utoipa::path(
    post, path = "/network/items/restore", tag = "network", operation_id = "restoreNetworkItem",
    summary = "Show a hidden item again (announced anew, under a new id, if it had been)",
    request_body = ItemInput,
    responses(
        (status = 200, description = "The item as it now stands", body = ModeratedItem),
        (status = 401, response = Unauthorized),
        (status = 404, description = NOT_COORDINATOR, body = ErrorBody),
        (status = 409, description = "Not hidden (`wrong_state`)", body = ErrorBody)
    )
)]
pub(crate) async fn restore_item(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ItemInput>,
) -> Result<Response, ApiError> {
    set_hidden(&state, &input.id, false).await
}

async fn set_hidden(state: &AppState, id: &str, hidden: bool) -> Result<Response, ApiError> {
    coordinator(state)?;
    let item = membership::hide_item(state.fed(), id.trim(), hidden)
        .await
        .map_err(|e| federation_error(e, "id"))?;
    Ok(Json(item).into_response())
}
