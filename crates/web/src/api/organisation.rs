//! The organisation that runs this instance: one profile, read and replaced.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gazette_core::Organisation;
use serde::Serialize;

use super::{ApiAuth, ApiJson};
use crate::profiles::{self, OrganisationInput};
use crate::{ApiError, AppState};

#[derive(Serialize)]
struct OrganisationJson<'a> {
    #[serde(flatten)]
    organisation: &'a Organisation,
    /// The instance's home page.
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
pub(crate) async fn get_organisation(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let org = state
        .store()
        .find_organisation()
        .await?
        .ok_or_else(|| ApiError::not_found("no organisation profile yet: create it with PUT /api/organisation"))?;
    Ok(respond(&state, &org))
}

/// `PUT /api/organisation` — creates or replaces the profile.
pub(crate) async fn update_organisation(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<OrganisationInput>,
) -> Result<Response, ApiError> {
    let saved = profiles::save_organisation(&state, &input).await?;
    Ok(respond(&state, &saved))
}
