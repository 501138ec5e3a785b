//! Authors: the people who write articles. Bodies are [`AuthorInput`];
//! answers are the stored [`Author`] plus the `url` of their public page.

use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gazette_core::{Author, AuthorInput};
use serde::Serialize;

use super::{ApiAuth, ApiJson};
use crate::profiles;
use crate::{ApiError, AppState};

#[derive(Serialize)]
struct AuthorJson<'a> {
    #[serde(flatten)]
    author: &'a Author,
    url: String,
}

fn to_json<'a>(state: &AppState, author: &'a Author) -> AuthorJson<'a> {
    AuthorJson {
        author,
        url: state.url(&format!("/authors/{}", author.username)),
    }
}

#[derive(Serialize)]
struct AuthorList<'a> {
    items: Vec<AuthorJson<'a>>,
}

/// `GET /api/authors` — every author, by name.
pub(crate) async fn list_authors(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let authors = state.store().list_authors().await?;
    let items = authors.iter().map(|a| to_json(&state, a)).collect();
    Ok(axum::Json(AuthorList { items }).into_response())
}

/// `POST /api/authors` — 201 with `Location`; a taken username is 409 naming `username`.
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
pub(crate) async fn get_author(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let author = state.store().get_author(&key).await?;
    Ok(axum::Json(to_json(&state, &author)).into_response())
}

/// `PUT /api/authors/{id_or_username}` — replaces the profile, keeping the id.
pub(crate) async fn update_author(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiJson(input): ApiJson<AuthorInput>,
) -> Result<Response, ApiError> {
    let author = profiles::update_author(&state, &key, &input).await?;
    Ok(axum::Json(to_json(&state, &author)).into_response())
}

/// `DELETE /api/authors/{id_or_username}` — 204; 409 while the author still has articles.
pub(crate) async fn delete_author(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store().delete_author(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}
