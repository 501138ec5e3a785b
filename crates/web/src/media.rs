//! Public image serving at `/media/{id}`. A media id never changes its bytes,
//! so responses are cached for a year and marked immutable; the SHA-256 of the
//! bytes is the ETag, so revalidation costs one metadata query and no blob.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{AppState, PageError};

const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/media/{id}", get(get_media))
}

/// `GET /media/{id}` — the image bytes with their sniffed Content-Type; 304
/// when `If-None-Match` names the current ETag; 404 for an unknown id.
#[utoipa::path(
    get, path = "/media/{id}", tag = "media", operation_id = "getMediaBytes",
    summary = "The image itself (public, cached for a year, ETag = SHA-256)",
    security(()),
    params(("id" = String, Path), ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, description = "The image bytes",
         headers(
             ("ETag" = String, description = "`\"<sha256>\"` of the bytes"),
             ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`")
         ),
         content(("image/jpeg"), ("image/png"), ("image/gif"), ("image/webp"))),
        (status = 304, description = "Not modified: the If-None-Match ETag is current"),
        (status = 404, description = "No image has this id")
    )
)]
async fn get_media(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let media = state.media_meta(&id).await?.ok_or(PageError::NotFound)?;
    let etag = format!("\"{}\"", media.sha256);
    let mut common = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        common.insert(ETAG, v);
    }
    common.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_FOREVER));
    if if_none_match(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }

    let (media, bytes) = state.store().get_media_data(&id).await?;
    // Only sniffed image types are ever stored, but the header is checked
    // rather than trusted: a bad value falls back to a type browsers won't run.
    let content_type = HeaderValue::from_str(&media.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    common.insert(CONTENT_TYPE, content_type);
    // Never let a browser guess another type, and give a document opened
    // directly no right to run anything.
    common.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    common.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok((common, bytes).into_response())
}

/// True when `If-None-Match` lists `etag` (weak or strong) or is `*`.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        })
}

#[cfg(test)]
// A failing unwrap is a failing test, which is what it should be.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_etags() {
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""));
        assert!(if_none_match(&h, "\"b\""));
        assert!(if_none_match(&h, "\"a\""));
        assert!(!if_none_match(&h, "\"c\""));
        assert!(!if_none_match(&HeaderMap::new(), "\"a\""));
    }
}
