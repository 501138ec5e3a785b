//! The old addresses of imported posts: when the old site's domain now
//! points here, a request for a path no route knows (`/2025/05/solar-roofs/`)
//! is looked up among the paths `gazette import` recorded and answered
//! with a 301 to the article; anything else is the usual 404.

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::PageError;

/// Longer paths are not looked up.
const MAX_PATH: usize = 2048;

/// The router's fallback.
pub(crate) async fn redirect_old_path(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if !matches!(method, Method::GET | Method::HEAD) || path.len() > MAX_PATH {
        return PageError::NotFound.into_response();
    }
    match state.store().find_redirect_for_old_path(path).await {
        Ok(Some(slug)) => {
            let location = format!(
                "{}{}",
                state.config().public_url,
                crate::pages::article_base_path(&slug)
            );
            (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response()
        }
        Ok(None) => PageError::NotFound.into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}
