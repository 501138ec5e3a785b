//! The organisation that runs this instance: one profile, read and replaced.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gazette_core::Organisation;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiAuth, ApiJson};
use crate::openapi::{BadRequest, NotFound, Unauthorized, UnsupportedMediaType, ValidationFailed};
use crate::profiles::{self, OrganisationInput};
use crate::{ApiError, AppState};

/// The organisation profile as the API shows it.
#[derive(Serialize, ToSchema)]
struct OrganisationJson<'a> {
    #[serde(flatten)]
    organisation: &'a Organisation,
    /// The instance's home page.
    #[schema(format = "uri")]
    url: String,
}

fn respond(state: &AppState, organisation: &Organisation) -> Response {
    axum::Json(OrganisationJson {
        organisation,
        url: state.url("/"),
    })
    .into_response()
}

/// `GET /api/organisation` — 404 until a profile has been saved.
#[utoipa::path(
    get, path = "/organisation", tag = "organisation", operation_id = "getOrganisation",
    summary = "The organisation profile",
    responses(
        (status = 200, description = "The organisation profile", body = OrganisationJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn get_organisation(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let org = state
        .store()
        .find_organisation()
        .await?
        .ok_or_else(|| ApiError::not_found("no organisation profile yet: create it with PUT /api/organisation"))?;
    Ok(respond(&state, &org))
}

/// `PUT /api/organisation` — creates or replaces the profile.
#[utoipa::path(
    put, path = "/organisation", tag = "organisation", operation_id = "updateOrganisation",
    summary = "Create or replace the organisation profile",
    request_body = OrganisationInput,
    responses(
        (status = 200, description = "The organisation profile", body = OrganisationJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn update_organisation(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<OrganisationInput>,
) -> Result<Response, ApiError> {
    let saved = profiles::save_organisation(&state, &input).await?;
    Ok(respond(&state, &saved))
}
