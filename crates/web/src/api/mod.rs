//! The REST API under `/api`: articles (and their quotes), authors, media, the organisation
//! profile, the delivery queue, and blocks and the allowlist as JSON, for
//! the CLI, editors and other tools; on a network coordinator, its members
//! and the moderation of the shared feed. Every route but `GET /api/openapi.json`
//! needs a bearer token (see [`ApiAuth`]); every error is the JSON shape of
//! [`ApiError`], including the ones axum's own extractors would have answered
//! in plain text ([`ApiJson`], [`ApiQuery`]).
//!
//! One submodule per resource; this file holds the router and the extractors
//! they share. Each handler is listed once; its route and its OpenAPI
//! operation both come from its `#[utoipa::path]`, so the router and the
//! document at `/api/openapi.json` cannot disagree.

mod articles;
mod authors;
mod blocks;
pub(crate) mod deliveries;
mod followers;
mod interactions;
mod media;
mod network;
mod organisation;
mod quotes;
mod reports;
mod settings;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Extension, Router};
use gazette_core::ApiToken;
use serde::de::DeserializeOwned;
use utoipa_axum::PathItemExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, AppState, openapi};

/// The API, to be nested under `/api`, with [`crate::openapi::get_openapi`]'s
/// document, written when it is first asked for.
///
/// Each handler is routed on the path and methods of its `#[utoipa::path]`,
/// the same attribute the document's operation comes from, so the two
/// cannot disagree. The router is built at start; the document (utoipa's
/// structures for every operation and schema, over 2 MB on the heap while
/// they are written out, and most of a megabyte of code) only when a client
/// asks for it, so a server nobody asks keeps neither in memory.
pub(crate) fn router(public_url: &str) -> Router<AppState> {
    let router = api_handlers!(route_each);
    let document = crate::openapi::Document::new(public_url, || api_handlers!(document_each).split_for_parts().1);
    router
        .layer(Extension(document))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
}

/// Every handler of the API, once, each with the layer of its own if it has
/// one; `$then!` receives the list ([`route_each`], [`document_each`]).
macro_rules! api_handlers {
    ($then:ident) => {
        $then! {
            openapi::get_openapi,
            articles::list_articles,
            articles::create_article,
            articles::get_article,
            articles::update_article,
            articles::delete_article,
            articles::publish_article,
            articles::unpublish_article,
            quotes::list_quotes,
            quotes::set_quote_policy,
            quotes::revoke_quote,
            authors::list_authors,
            authors::create_author,
            authors::get_author,
            authors::update_author,
            authors::delete_author,
            media::list_media,
            media::upload_media => media::upload_body_limit(),
            media::get_media,
            deliveries::get_deliveries,
            blocks::list_blocks,
            blocks::create_block,
            blocks::delete_block,
            blocks::list_allowlist,
            blocks::create_allow,
            blocks::delete_allow,
            followers::list_followers,
            followers::approve_follower,
            followers::reject_follower,
            interactions::list_interactions,
            interactions::create_interaction,
            interactions::delete_interaction,
            reports::list_reports,
            reports::resolve_report,
            organisation::get_organisation,
            organisation::update_organisation,
            network::list_members,
            network::decide_member,
            network::create_invitation,
            network::list_items,
            network::hide_item,
            network::restore_item,
            settings::get_settings,
            settings::update_settings,
        }
    };
}
use api_handlers;

/// The router: each handler on the path and the methods its
/// `#[utoipa::path]` names (the `__path_…` type that attribute writes
/// beside the function), none of the operation's description built.
macro_rules! route_each {
    ($($module:ident :: $handler:ident $(=> $layer:expr)?),* $(,)?) => {{
        let router = Router::<AppState>::new();
        $(
            let router = {
                type Operation = utoipa_axum::paste! { $module::[<__path_ $handler>] };
                let methods = <Operation as utoipa::Path>::methods()
                    .iter()
                    .fold(MethodRouter::new(), |methods, method| {
                        methods.on(method.to_method_filter(), $module::$handler)
                    });
                $(let methods = methods.layer($layer);)?
                router.route(&<Operation as utoipa::Path>::path(), methods)
            };
        )*
        router
    }};
}
use route_each;

/// The document's operations: utoipa-axum's `routes!` for each handler (its
/// router, built again here, is dropped).
macro_rules! document_each {
    ($($module:ident :: $handler:ident $(=> $layer:expr)?),* $(,)?) => {
        OpenApiRouter::<AppState>::new() $(.routes(routes!($module::$handler)))*
    };
}
use document_each;

/// Unknown paths under `/api` answer in JSON too, so clients parse one shape.
async fn not_found() -> ApiError {
    ApiError::not_found("no such API endpoint; see /api/openapi.json")
}

/// A known path with the wrong method (axum still adds the `Allow` header).
async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take this method; see /api/openapi.json",
    )
}

/// Proof that the request carried a live API token (`Authorization: Bearer …`).
/// Taken as the first argument of every protected handler, so the check runs
/// before any body is read.
pub(crate) struct ApiAuth(
    #[allow(dead_code)] // kept for handlers that will record who did what
    pub(crate)  ApiToken,
);

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(secret) = bearer_token(&parts.headers) else {
            return Err(unauthorized(
                "missing API token: send `Authorization: Bearer <token>`",
                None,
            ));
        };
        match state.store().verify_token(secret).await {
            Ok(Some(token)) => Ok(ApiAuth(token)),
            Ok(None) => Err(unauthorized("invalid or revoked API token", Some("invalid_token"))),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

/// The secret of an `Authorization: Bearer` header; the scheme is case-insensitive (RFC 7235).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, secret) = value.split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then_some(secret)
}

/// A 401 with the challenge RFC 6750 asks for, so clients know to send a token.
fn unauthorized(message: &str, error: Option<&str>) -> Response {
    let mut response = ApiError::unauthorized(message).into_response();
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"gazette\", error=\"{e}\""),
        None => "Bearer realm=\"gazette\"".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    response
}

/// A JSON body whose every failure is an [`ApiError`] (code `invalid_json`,
/// naming the field where serde can), never axum's plain-text rejection.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The raw bytes of a request that says it carries JSON.
pub(crate) async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    if !is_json(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected a request with `Content-Type: application/json`",
        ));
    }
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is too large",
            )
        } else {
            ApiError::new(e.status(), "bad_request", e.body_text())
        }
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserialises `bytes` as `T` the way axum's `Json` does, keeping its error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    axum::Json::<T>::from_bytes(bytes)
        .map(|axum::Json(v)| v)
        .map_err(json_error)
}

/// Maps a JSON rejection to `invalid_json`, with the field serde was reading
/// when it failed (`translations.0.title`) and its message (line and column).
fn json_error(rejection: JsonRejection) -> ApiError {
    let status = match rejection.status() {
        // axum says 422 for a well-formed body of the wrong shape and 400 for bad syntax; keep that.
        s @ (StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST) => s,
        _ => StatusCode::BAD_REQUEST,
    };
    let serde = serde_error(&rejection);
    match serde.and_then(field_of) {
        // ApiError::field puts the field in front: "kind: invalid type: integer `5`, expected a string at line 1 column 26".
        Some(field) => ApiError::field(
            status,
            "invalid_json",
            field,
            serde.map(|e| e.inner().to_string()).unwrap_or_default(),
        ),
        None => {
            let detail = serde.map(|e| e.to_string()).unwrap_or_else(|| rejection.body_text());
            ApiError::new(
                status,
                "invalid_json",
                format!("the body is not valid JSON for this request: {detail}"),
            )
        }
    }
}

/// The serde error inside a JSON rejection (axum boxes it twice).
fn serde_error(rejection: &JsonRejection) -> Option<&serde_path_to_error::Error<serde_json::Error>> {
    let source = std::error::Error::source(rejection)?;
    let inner = source.source().unwrap_or(source);
    inner.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>()
}

/// Dotted field path (`translations.0.title`) like validation errors use; for a
/// missing field, serde reports the parent, so the missing name is appended.
fn field_of(e: &serde_path_to_error::Error<serde_json::Error>) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut parts: Vec<String> = e
        .path()
        .iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect();
    let msg = e.inner().to_string();
    if let Some(rest) = msg.strip_prefix("missing field `")
        && let Some((name, _)) = rest.split_once('`')
    {
        parts.push(name.to_owned());
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Query parameters whose failures are JSON errors (`invalid_query`).
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
    }
}

/// Parses an optional positive integer query parameter, naming it on error.
pub(crate) fn parse_count(field: &str, value: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    match v.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            field,
            format!("`{v}` is not a whole number from 1 to {max}"),
        )),
    }
}
