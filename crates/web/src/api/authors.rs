//! Authors: the people who write articles. Bodies are [`AuthorInput`];
//! answers are the stored [`Author`] plus the `url` of their public page.

use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gazette_core::{Author, AuthorInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiAuth, ApiJson};
use crate::openapi::{BadRequest, Conflict, NotFound, Unauthorized, UnsupportedMediaType, ValidationFailed};
use crate::profiles;
use crate::{ApiError, AppState};

/// An author as the API shows it.
#[derive(Serialize, ToSchema)]
struct AuthorJson<'a> {
    #[serde(flatten)]
    author: &'a Author,
    /// The author's public page.
    #[schema(format = "uri")]
    url: String,
}

/// The author named in the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct IdOrUsername {
    /// Author id or username.
    id_or_username: String,
}

fn to_json<'a>(state: &AppState, author: &'a Author) -> AuthorJson<'a> {
    AuthorJson {
        author,
        url: state.url(&format!("/authors/{}", author.username)),
    }
}

/// Every author.
#[derive(Serialize, ToSchema)]
struct AuthorList<'a> {
    items: Vec<AuthorJson<'a>>,
}

/// `GET /api/authors` — every author, by name.
#[utoipa::path(
    get, path = "/authors", tag = "authors", operation_id = "listAuthors", summary = "Every author, by name",
    responses((status = 200, description = "The authors", body = AuthorList), (status = 401, response = Unauthorized))
)]
pub(crate) async fn list_authors(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let authors = state.store().list_authors().await?;
    let items = authors.iter().map(|a| to_json(&state, a)).collect();
    Ok(axum::Json(AuthorList { items }).into_response())
}

/// `POST /api/authors` — 201 with `Location`; a taken username is 409 naming `username`.
#[utoipa::path(
    post, path = "/authors", tag = "authors", operation_id = "createAuthor", summary = "Create an author",
    request_body = AuthorInput,
    responses(
        (status = 201, description = "Author created", body = AuthorJson,
         headers(("Location" = String, description = "API URL of the new resource"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn create_author(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AuthorInput>,
) -> Result<Response, ApiError> {
    let author = profiles::create_author(&state, &input).await?;
    let mut response = (StatusCode::CREATED, axum::Json(to_json(&state, &author))).into_response();
    if let Ok(v) = HeaderValue::from_str(&state.url(&format!("/api/authors/{}", author.id))) {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

/// `GET /api/authors/{id_or_username}`
#[utoipa::path(
    get, path = "/authors/{id_or_username}", tag = "authors", operation_id = "getAuthor", summary = "One author",
    params(IdOrUsername),
    responses(
        (status = 200, description = "The author", body = AuthorJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn get_author(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrUsername { id_or_username: key }): Path<IdOrUsername>,
) -> Result<Response, ApiError> {
    let author = state.store().get_author(&key).await?;
    Ok(axum::Json(to_json(&state, &author)).into_response())
}

/// `PUT /api/authors/{id_or_username}` — replaces the profile, keeping the id.
#[utoipa::path(
    put, path = "/authors/{id_or_username}", tag = "authors", operation_id = "updateAuthor",
    summary = "Replace an author's profile, keeping the id",
    params(IdOrUsername),
    request_body = AuthorInput,
    responses(
        (status = 200, description = "The author", body = AuthorJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn update_author(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrUsername { id_or_username: key }): Path<IdOrUsername>,
    ApiJson(input): ApiJson<AuthorInput>,
) -> Result<Response, ApiError> {
    let author = profiles::update_author(&state, &key, &input).await?;
    Ok(axum::Json(to_json(&state, &author)).into_response())
}

/// `DELETE /api/authors/{id_or_username}` — 204; 409 while the author still has articles.
#[utoipa::path(
    delete, path = "/authors/{id_or_username}", tag = "authors", operation_id = "deleteAuthor",
    summary = "Delete an author who has no articles",
    params(IdOrUsername),
    responses(
        (status = 204, description = "Done; no body"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    )
)]
pub(crate) async fn delete_author(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrUsername { id_or_username: key }): Path<IdOrUsername>,
) -> Result<StatusCode, ApiError> {
    state.store().delete_author(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}
