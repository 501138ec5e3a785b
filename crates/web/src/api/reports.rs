//! Reports (`Flag` activities) received from other servers, for moderators.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use gazette_store::Report;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiJson};
use crate::openapi::{NotFound, Unauthorized};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub(crate) struct ReportsQuery {
    #[serde(default)]
    all: bool,
}

/// Reports, newest first.
#[derive(Serialize, ToSchema)]
struct ReportList {
    items: Vec<Report>,
}

/// `GET /api/reports[?all=true]` — open reports (all with `all=true`), newest first.
#[utoipa::path(
    get, path = "/reports", tag = "followers", operation_id = "listReports",
    summary = "Reports (Flag activities) from other servers, newest first",
    params(("all" = Option<bool>, Query, description = "Include resolved reports (false by default)")),
    responses((status = 200, description = "Reports", body = ReportList), (status = 401, response = Unauthorized))
)]
pub(crate) async fn list_reports(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Query(q): Query<ReportsQuery>,
) -> Result<Response, ApiError> {
    let items = state.store().list_reports(q.all).await?;
    Ok(Json(ReportList { items }).into_response())
}

/// The report to resolve.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ResolveInput {
    /// The `Flag` activity's id.
    id: String,
}

/// A report once resolved.
#[derive(Serialize, ToSchema)]
struct Resolved {
    id: String,
    /// Always `resolved`.
    status: &'static str,
}

/// `POST /api/reports/resolve` — marks the report `{id}` handled.
#[utoipa::path(
    post, path = "/reports/resolve", tag = "followers", operation_id = "resolveReport", summary = "Mark a report handled",
    request_body = ResolveInput,
    responses(
        (status = 200, description = "Resolved", body = Resolved),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn resolve_report(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ResolveInput>,
) -> Result<Response, ApiError> {
    state.store().resolve_report(&input.id).await?;
    Ok(Json(Resolved {
        id: input.id,
        status: "resolved",
    })
    .into_response())
}
