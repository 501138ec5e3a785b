//! Likes, boosts and replies the organisation sends to remote articles and
//! notes, and taking them back.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_core::{InteractionKind, OutboundInteraction};
use gazette_federation::FederationError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiJson};
use crate::openapi::{Conflict, NotFound, RemoteFailed, Unauthorized, ValidationFailed};
use crate::{ApiError, AppState};

/// What to send, and to what.
#[derive(Deserialize, ToSchema)]
pub(crate) struct InteractionInput {
    /// `like`, `announce` (or `boost`) or `reply`.
    #[schema(examples("like", "announce", "boost", "reply"))]
    kind: String,
    /// The remote object's URL.
    #[schema(format = "uri")]
    object: String,
    /// The reply's Markdown (replies only).
    #[serde(default)]
    content: Option<String>,
}

/// A like, boost or reply sent by the organisation.
#[derive(Serialize, ToSchema)]
struct InteractionJson<'a> {
    #[serde(flatten)]
    interaction: &'a OutboundInteraction,
    /// The reply's own URL (its `Note` id), for replies.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri")]
    note: Option<String>,
}

fn to_json<'a>(state: &AppState, i: &'a OutboundInteraction) -> InteractionJson<'a> {
    InteractionJson {
        interaction: i,
        note: (i.kind == InteractionKind::Reply).then(|| state.fed().urls().note(&i.id)),
    }
}

/// Likes, boosts and replies sent, newest first.
#[derive(Serialize, ToSchema)]
struct InteractionList<'a> {
    items: Vec<InteractionJson<'a>>,
}

/// `GET /api/interactions` — likes, boosts and replies sent, newest first.
#[utoipa::path(
    get, path = "/interactions", tag = "followers", operation_id = "listInteractions",
    summary = "Likes, boosts and replies the organisation sent, newest first",
    responses((status = 200, description = "Interactions", body = InteractionList), (status = 401, response = Unauthorized))
)]
pub(crate) async fn list_interactions(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let items = state.store().list_outbound_interactions(500, 0).await?;
    let items = items.iter().map(|i| to_json(&state, i)).collect();
    Ok(Json(InteractionList { items }).into_response())
}

/// `POST /api/interactions` — likes, boosts or replies to a remote object as
/// the organisation; 201 with what was sent.
#[utoipa::path(
    post, path = "/interactions", tag = "followers", operation_id = "createInteraction",
    summary = "Like, boost or reply to a remote article or note as the organisation",
    request_body = InteractionInput,
    responses(
        (status = 201, description = "Queued for delivery", body = InteractionJson),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
        (status = 502, response = RemoteFailed)
    )
)]
pub(crate) async fn create_interaction(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<InteractionInput>,
) -> Result<Response, ApiError> {
    let kind = InteractionKind::parse(&input.kind).ok_or_else(|| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "kind",
            format!("unknown kind `{}`: expected like, announce or reply", input.kind),
        )
    })?;
    let data = state.federation_config().to_request_data();
    let done = gazette_federation::interact(&data, kind, &input.object, input.content.as_deref())
        .await
        .map_err(federation_error)?;
    Ok((StatusCode::CREATED, Json(to_json(&state, &done))).into_response())
}

/// `DELETE /api/interactions/{id}` — takes back a like or boost (`Undo`) or
/// deletes a reply (`Delete`); 204.
#[utoipa::path(
    delete, path = "/interactions/{id}", tag = "followers", operation_id = "deleteInteraction",
    summary = "Take back a like or boost (Undo), or delete a reply (Delete)",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Taken back; the activity is queued"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn delete_interaction(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = state
        .store()
        .find_outbound_interaction(&id)
        .await?
        .filter(|i| i.deleted_at.is_none())
        .ok_or_else(|| ApiError::not_found(format!("no interaction `{id}`")))?;
    let data = state.federation_config().to_request_data();
    gazette_federation::undo_interaction(&data, found.kind, &found.id)
        .await
        .map_err(federation_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn federation_error(e: FederationError) -> ApiError {
    match e {
        FederationError::Store(e) => e.into(),
        FederationError::Internal(e) => ApiError::internal(e),
        // Another server answered with an error or could not be reached: the
        // message names it, its status and its own message.
        FederationError::Remote(m) => ApiError::new(StatusCode::BAD_GATEWAY, "remote_failed", m),
        FederationError::Refused(StatusCode::CONFLICT, m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
        FederationError::Refused(StatusCode::NOT_FOUND, m) => ApiError::not_found(m),
        other => ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "object", other.to_string()),
    }
}
