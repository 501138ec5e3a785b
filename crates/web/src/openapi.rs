//! `GET /api/openapi.json`: the REST API described as OpenAPI 3.1, generated
//! by utoipa from the handlers' `#[utoipa::path]` attributes and the types
//! they take and answer (`ToSchema`), so it cannot drift from them. The
//! routes and their operations both come from each handler's attribute
//! (`api::router`); this module adds what belongs to the whole API: its
//! description, tags, bearer scheme, error body and shared error responses.

use std::sync::{Arc, OnceLock};

use axum::Extension;
use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use gazette_core::FieldError;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

/// What the document says about the API as a whole; the paths under `/api`
/// come from the router (see [`Document`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gazette REST API",
        version = env!("CARGO_PKG_VERSION"),
        description = "Publish news and interviews, upload images, edit the organisation profile and watch the delivery \
            queue of a Gazette instance. Every endpoint except this document needs `Authorization: Bearer <token>` \
            (create a token with `gazette token create`). Errors are always JSON: \
            `{\"error\": {\"code\", \"message\", \"field\", \"details\"}}`, with `field` naming the offending input \
            (`title`, `translations.en.body`, `cover.alt`, `file`…).",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    security(("bearerAuth" = [])),
    tags(
        (name = "articles"), (name = "authors"), (name = "media"), (name = "organisation"), (name = "deliveries"),
        (name = "followers"), (name = "safety"), (name = "network"), (name = "meta")
    ),
    paths(crate::media::get_media),
    components(
        schemas(ErrorBody),
        responses(BadRequest, Unauthorized, NotFound, RemoteFailed, Conflict, TooLarge, UnsupportedMediaType, ValidationFailed)
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The whole document as served: [`ApiDoc`] with the API router's
/// operations under `/api` and this instance as its server. Written out the
/// first time it is asked for, then kept as its JSON (about 64 KiB) rather
/// than as utoipa's structures (over 1 MiB), and not copied per request.
#[derive(Clone)]
pub(crate) struct Document(Arc<Lazy>);

/// What the document is written from, and the JSON once written.
struct Lazy {
    public_url: String,
    operations: fn() -> utoipa::openapi::OpenApi,
    json: OnceLock<Bytes>,
}

impl Document {
    /// The document of `operations` (the API's paths, relative to `/api`),
    /// served by `public_url`.
    pub(crate) fn new(public_url: &str, operations: fn() -> utoipa::openapi::OpenApi) -> Document {
        Document(Arc::new(Lazy {
            public_url: public_url.to_owned(),
            operations,
            json: OnceLock::new(),
        }))
    }

    fn json(&self) -> Bytes {
        let lazy = &*self.0;
        lazy.json.get_or_init(|| write(lazy)).clone()
    }
}

fn write(lazy: &Lazy) -> Bytes {
    let mut doc = ApiDoc::openapi().nest("/api", (lazy.operations)());
    doc.servers = Some(vec![Server::new(&lazy.public_url)]);
    let json = serde_json::to_vec(&doc).unwrap_or_else(|e| {
        // Not expected (string keys, no custom serializers); said plainly
        // rather than served empty.
        tracing::error!(error = %e, "writing the OpenAPI document failed");
        serde_json::json!({ "error": format!("the OpenAPI document could not be written: {e}") })
            .to_string()
            .into_bytes()
    });
    Bytes::from(json)
}

/// `GET /api/openapi.json` — public, so tools can discover the API before they hold a token.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta", operation_id = "getOpenapi", summary = "This document",
    security(()),
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub(crate) async fn get_openapi(Extension(doc): Extension<Document>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], doc.json())
}

/// The bearer token every operation but this document requires.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API token from `gazette token create`, sent as `Authorization: Bearer gzt_…`",
            ))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearerAuth", SecurityScheme::Http(scheme));
    }
}

/// Every error the API answers: the body `ApiError::into_response` writes
/// (`error.rs`, which builds it as JSON). Only described here; tests/api.rs
/// checks every error answer of its tests against it, unknown fields included.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)] // never built: a description of `ApiError`'s body
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)] // never built: a description of `ApiError`'s body
struct ErrorDetail {
    #[schema(examples(
        "required",
        "invalid",
        "unknown_language",
        "conflict",
        "stale_version",
        "invalid_json",
        "too_large",
        "unsupported_media_type",
        "unauthorized",
        "not_found"
    ))]
    code: String,
    message: String,
    /// Dotted path of the first offending field.
    #[schema(examples("title", "translations.en.body", "cover.alt", "file"))]
    field: Option<String>,
    /// Every offending field, when validation found several.
    details: Option<Vec<FieldError>>,
}

/// An error response with the [`ErrorBody`] schema.
fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build(),
    )
}

/// Declares the error responses operations share, by name and description.
macro_rules! error_responses {
    ($($name:ident => $description:literal),* $(,)?) => {$(
        #[doc = $description]
        pub(crate) struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), error_response($description).build().into())
            }
        }
    )*};
}

error_responses! {
    BadRequest => "Malformed request: `invalid_json` (with the field, line and column), `invalid_query`, `invalid_multipart`, `invalid`",
    NotFound => "No such resource (`not_found`)",
    RemoteFailed => "Another server answered with an error or could not be reached (`remote_failed`); the message names the host, the HTTP status and the server's own message",
    Conflict => "A unique value is taken (`conflict`, e.g. field `slug` or `username`), or the article changed since the given version (`stale_version`)",
    TooLarge => "The body or file is over the limit (`too_large`, field `file` for uploads)",
    UnsupportedMediaType => "Wrong body type, or an upload that is not a JPEG, PNG, GIF or WebP image (`unsupported_media_type`, field `file`)",
    ValidationFailed => "One or more fields are invalid; `field` names the first, `details` lists them all. Also `invalid_json` for a body of the wrong shape",
}

/// Missing, invalid or revoked token: the one error with a header.
pub(crate) struct Unauthorized;

impl<'s> ToResponse<'s> for Unauthorized {
    fn response() -> (&'s str, RefOr<Response>) {
        let challenge = utoipa::openapi::HeaderBuilder::new()
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .examples(["Bearer realm=\"gazette\""]),
            ))
            .build();
        let response = error_response("Missing, invalid or revoked token (`unauthorized`)")
            .header("WWW-Authenticate", challenge)
            .build();
        ("Unauthorized", response.into())
    }
}
