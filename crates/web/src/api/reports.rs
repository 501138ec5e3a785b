//! Reports (`Flag` activities) received from other servers, for moderators.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiAuth, ApiJson};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub(crate) struct ReportsQuery {
    #[serde(default)]
    all: bool,
}

/// `GET /api/reports[?all=true]` — open reports (all with `all=true`), newest first.
pub(crate) async fn list_reports(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Query(q): Query<ReportsQuery>,
) -> Result<Response, ApiError> {
    let items = state.store().list_reports(q.all).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
pub(crate) struct ResolveInput {
    id: String,
}

/// `POST /api/reports/resolve` — marks the report `{id}` handled.
pub(crate) async fn resolve_report(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ResolveInput>,
) -> Result<Response, ApiError> {
    state.store().resolve_report(&input.id).await?;
    Ok(Json(serde_json::json!({ "id": input.id, "status": "resolved" })).into_response())
}
