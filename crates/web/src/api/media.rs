//! Image uploads and their metadata. The bytes decide what an upload is (see
//! [`gazette_core::media::sniff`]); the part's declared Content-Type and file
//! name are ignored. The bytes themselves are served by `crate::media`.

use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gazette_core::Media;
use gazette_core::media::{ImageError, accept};
use http_body_util::Limited;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiQuery, parse_count};
use crate::openapi::{BadRequest, NotFound, TooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed};
use crate::{ApiError, AppState};

/// Room for the multipart boundaries, part headers and the alt text on top of
/// the image itself, so a file of exactly the limit still fits.
const MULTIPART_SLACK: usize = 64 * 1024;
const MAX_ALT: usize = 1_500;

/// axum's fixed 2 MB default would refuse large images before the handler runs
/// and answer in plain text. The real cap, `max_upload_bytes` plus
/// [`MULTIPART_SLACK`], lives in the state, which the router is built without,
/// so [`upload_media`] applies it per request with the same `Limited` body
/// that `DefaultBodyLimit::max` would use, and answers in JSON.
pub(crate) fn upload_body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::disable()
}

/// An image's metadata as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct MediaJson<'a> {
    #[serde(flatten)]
    media: &'a Media,
    /// Where the bytes are served.
    #[schema(format = "uri")]
    url: String,
}

fn to_json<'a>(state: &AppState, media: &'a Media) -> MediaJson<'a> {
    MediaJson {
        media,
        url: state.url(&format!("/media/{}", media.id)),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::field(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "file",
        format!("the file is larger than this instance's limit of {limit} bytes"),
    )
}

/// `POST /api/media` — `multipart/form-data` with a `file` part (JPEG, PNG,
/// GIF or WebP) and an `alt` part describing it; 201 with the stored metadata.
/// Too big: 413 `too_large`; not an image: 415 `unsupported_media_type`; no
/// alt text: 422 naming `alt`.
#[utoipa::path(
    post, path = "/media", tag = "media", operation_id = "uploadMedia",
    summary = "Upload an image (JPEG, PNG, GIF or WebP) with its alt text",
    description = "The type is read from the bytes; the part's declared Content-Type and file name are ignored.",
    request_body(
        content = MediaUpload, content_type = "multipart/form-data",
        description = "A `file` part (JPEG, PNG, GIF or WebP; its declared type is ignored) and an `alt` part"
    ),
    responses(
        (status = 201, description = "Image created", body = MediaJson,
         headers(("Location" = String, description = "API URL of the new resource"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn upload_media(
    _auth: ApiAuth,
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let limit = state.config().max_upload_bytes;
    let cap = limit.saturating_add(MULTIPART_SLACK);
    // Refuse an announced oversized body before reading any of it.
    if content_length(req.headers()).is_some_and(|n| n > cap) {
        return Err(too_large(limit));
    }
    if !is_multipart(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected `multipart/form-data` with a `file` part and an `alt` part",
        ));
    }
    let req = req.map(|body| Body::new(Limited::new(body, cap)));
    let mut multipart = Multipart::from_request(req, &state)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text()))?;

    let read_error = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text())
        }
    };
    let mut file: Option<Bytes> = None;
    let mut alt: Option<String> = None;
    while let Some(field) = multipart.next_field().await.map_err(read_error)? {
        match field.name() {
            Some("file") => file = Some(field.bytes().await.map_err(read_error)?),
            Some("alt") => alt = Some(field.text().await.map_err(read_error)?),
            // Other parts are skipped (and still count towards the cap).
            _ => {}
        }
    }

    let Some(file) = file else {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "file",
            "no `file` part was sent",
        ));
    };
    let (info, file) = accept(&file, &state.image_limits()).map_err(|e| match e {
        ImageError::TooLarge { .. } => too_large(limit),
        ImageError::NotAnImage => ApiError::field(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "file",
            e.to_string(),
        ),
        ImageError::Empty => ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "required", "file", e.to_string()),
        ImageError::Unreadable(_) | ImageError::TooManyPixels { .. } => {
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "file", e.to_string())
        }
    })?;
    let alt = alt.as_deref().map(str::trim).unwrap_or_default();
    if alt.is_empty() {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "alt",
            "an image needs alt text describing it for people who cannot see it",
        ));
    }
    if alt.chars().count() > MAX_ALT {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_long",
            "alt",
            format!("alt text is longer than {MAX_ALT} characters"),
        ));
    }
    let media = state.store().create_media(&info, alt, &file).await?;
    let mut response = (StatusCode::CREATED, axum::Json(to_json(&state, &media))).into_response();
    if let Ok(v) = HeaderValue::from_str(&state.url(&format!("/api/media/{}", media.id))) {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

/// The parts of an upload: the image and its alt text.
// Read part by part by `upload_media`, which names the part at fault in its errors.
#[derive(ToSchema)]
#[allow(dead_code)] // never built: the parts are streamed, not deserialised
struct MediaUpload {
    /// The image.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// Describes the image for people who cannot see it.
    #[schema(min_length = 1, max_length = 1500)]
    alt: String,
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("multipart/form-data"))
}

#[derive(Deserialize, Default)]
pub(crate) struct PageParams {
    page: Option<String>,
    per_page: Option<String>,
}

/// One page of images.
#[derive(Serialize, ToSchema)]
struct MediaList<'a> {
    items: Vec<MediaJson<'a>>,
    page: i64,
    per_page: i64,
}

/// `GET /api/media?page=&per_page=` — uploaded images, newest first.
#[utoipa::path(
    get, path = "/media", tag = "media", operation_id = "listMedia", summary = "Uploaded images, newest first",
    params(
        ("page" = Option<u32>, Query, minimum = 1, description = "From 1 (the default)"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "From 1 to 100; 50 by default")
    ),
    responses(
        (status = 200, description = "One page of images", body = MediaList),
        (status = 401, response = Unauthorized),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn list_media(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let page = parse_count("page", p.page.as_deref(), 1, i64::from(u32::MAX))?;
    let per_page = parse_count("per_page", p.per_page.as_deref(), 50, 100)?;
    let media = state
        .store()
        .list_media(per_page, (page - 1).saturating_mul(per_page))
        .await?;
    let items = media.iter().map(|m| to_json(&state, m)).collect();
    Ok(axum::Json(MediaList { items, page, per_page }).into_response())
}

/// `GET /api/media/{id}` — metadata of one image.
#[utoipa::path(
    get, path = "/media/{id}", tag = "media", operation_id = "getMedia", summary = "One image's metadata",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The image's metadata", body = MediaJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn get_media(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let media = state.store().get_media(&id).await?;
    Ok(axum::Json(to_json(&state, &media)).into_response())
}
