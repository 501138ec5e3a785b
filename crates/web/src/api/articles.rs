//! Articles: list, create, read, replace, soft-delete, publish and unpublish.
//! Bodies are [`ArticleInput`]; answers are the stored [`Article`] plus its
//! public `url`. Versions guard against lost updates (`If-Match: "<version>"`).

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::{ETAG, IF_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gazette_core::validate;
use gazette_core::{Article, ArticleInput, ArticleKind, ArticleStatus, Language};
use gazette_store::ArticleQuery;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::{ApiAuth, ApiJson, ApiQuery, json_bytes, parse_count, parse_json};
use crate::content::{self, WriteError};
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed};
use crate::{ApiError, AppState};

const DEFAULT_PER_PAGE: i64 = 20;
const MAX_PER_PAGE: i64 = 100;

/// An article as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ArticleJson<'a> {
    #[serde(flatten)]
    article: &'a Article,
    /// The public HTML page.
    #[schema(format = "uri")]
    url: String,
}

fn to_json<'a>(state: &AppState, article: &'a Article) -> ArticleJson<'a> {
    ArticleJson {
        article,
        url: state.url(&format!("/articles/{}", article.slug)),
    }
}

/// One article with its version as ETag, so a client can send it back in `If-Match`.
fn respond(state: &AppState, status: StatusCode, article: &Article, location: bool) -> Response {
    let mut response = (status, axum::Json(to_json(state, article))).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", article.version)) {
        headers.insert(ETAG, v);
    }
    if location && let Ok(v) = HeaderValue::from_str(&state.url(&format!("/api/articles/{}", article.id))) {
        headers.insert(LOCATION, v);
    }
    response
}

/// Filters of `GET /api/articles`; all strings so a bad one is named in the error.
#[derive(Deserialize, Default)]
pub(crate) struct ListParams {
    status: Option<String>,
    kind: Option<String>,
    tag: Option<String>,
    lang: Option<String>,
    q: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// One page of articles.
#[derive(Serialize, ToSchema)]
struct ArticleList<'a> {
    items: Vec<ArticleJson<'a>>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// `GET /api/articles?status=&kind=&tag=&lang=&q=&page=&per_page=` — newest
/// first; without `status`, every article that is not deleted. `status` may
/// list several, comma-separated.
#[utoipa::path(
    get, path = "/articles", tag = "articles", operation_id = "listArticles",
    summary = "List articles, newest first (all but deleted ones unless `status` says otherwise)",
    params(
        ("status" = Option<String>, Query, description = "Comma-separated statuses, e.g. `draft,published`", example = "draft,scheduled"),
        ("kind" = Option<ArticleKind>, Query),
        ("tag" = Option<String>, Query),
        ("lang" = Option<String>, Query, description = "Only articles with a translation in this BCP 47 language"),
        ("q" = Option<String>, Query, description = "Case-insensitive text in a title or slug"),
        ("page" = Option<u32>, Query, minimum = 1, description = "From 1 (the default)"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "From 1 to 100; 20 by default")
    ),
    responses(
        (status = 200, description = "One page of articles", body = ArticleList),
        (status = 401, response = Unauthorized),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn list_articles(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let invalid = |field: &str, msg: String| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid", field, msg);
    let mut statuses = Vec::new();
    for s in p
        .status
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let status = ArticleStatus::parse(s).ok_or_else(|| {
            invalid(
                "status",
                format!("unknown status `{s}`: expected draft, scheduled, published or deleted"),
            )
        })?;
        statuses.push(status);
    }
    let kind = match p.kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(
            ArticleKind::parse(k)
                .ok_or_else(|| invalid("kind", format!("unknown kind `{k}`: expected `news` or `interview`")))?,
        ),
    };
    let language = match p.lang.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(l) => Some(
            Language::parse(l)
                .map_err(|m| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "unknown_language", "lang", m))?,
        ),
    };
    let tag = match p.tag.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(validate::normalise_tag(t).map_err(|m| invalid("tag", m))?),
    };
    let page = parse_count("page", p.page.as_deref(), 1, i64::from(u32::MAX))?;
    let per_page = parse_count("per_page", p.per_page.as_deref(), DEFAULT_PER_PAGE, MAX_PER_PAGE)?;
    let query = ArticleQuery {
        statuses,
        kind,
        tag,
        author_id: None,
        language,
        search: p.q,
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    let found = state.store().list_articles(&query).await?;
    let items = found.articles.iter().map(|a| to_json(&state, a)).collect();
    Ok(axum::Json(ArticleList {
        items,
        total: found.total,
        page,
        per_page,
    })
    .into_response())
}

/// `POST /api/articles` — stores a new article (a draft unless `status` says
/// otherwise); 201 with `Location`. Nothing is stored when any field is bad.
#[utoipa::path(
    post, path = "/articles", tag = "articles", operation_id = "createArticle",
    summary = "Create an article (a draft unless `status` says otherwise)",
    request_body = ArticleInput,
    responses(
        (status = 201, description = "Article created", body = ArticleJson, headers(
            ("ETag" = String, description = "`\"<version>\"` of the article, e.g. `\"3\"`"),
            ("Location" = String, description = "API URL of the new resource")
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn create_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<Response, ApiError> {
    let article = content::create_article(&state, &input, &[]).await?;
    Ok(respond(&state, StatusCode::CREATED, &article, true))
}

/// `GET /api/articles/{id_or_slug}` — any status, deleted ones included, so a
/// client can see and restore what it deleted.
#[utoipa::path(
    get, path = "/articles/{id_or_slug}", tag = "articles", operation_id = "getArticle",
    summary = "One article, whatever its status",
    params(IdOrSlug),
    responses(
        (status = 200, description = "The article; its ETag is the version to send back in If-Match", body = ArticleJson,
         headers(("ETag" = String, description = "`\"<version>\"` of the article, e.g. `\"3\"`"))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn get_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrSlug { id_or_slug: key }): Path<IdOrSlug>,
) -> Result<Response, ApiError> {
    let article = find(&state, &key).await?;
    Ok(respond(&state, StatusCode::OK, &article, false))
}

/// The body of `PUT /api/articles/{id_or_slug}`: an [`ArticleInput`] and,
/// optionally, the `version` it was based on. Read once, parsed twice, because
/// `#[serde(flatten)]` would lose the line and column of errors.
pub(crate) struct ArticleUpdate {
    input: ArticleInput,
    version: Option<i64>,
}

/// The body's schema: an [`ArticleInput`] and an optional `version`, written
/// by hand because the body is read by hand.
impl utoipa::PartialSchema for ArticleUpdate {
    fn schema() -> RefOr<Schema> {
        let version = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .description(Some("The version this edit is based on"));
        AllOfBuilder::new()
            .item(Ref::from_schema_name(ArticleInput::name()))
            .item(ObjectBuilder::new().property("version", version))
            .into()
    }
}

impl ToSchema for ArticleUpdate {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ArticleInput::name().into_owned(), ArticleInput::schema()));
        ArticleInput::schemas(schemas);
    }
}

/// The article named in the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct IdOrSlug {
    /// Article id or slug.
    id_or_slug: String,
}

impl IdOrSlug {
    pub(super) fn as_str(&self) -> &str {
        &self.id_or_slug
    }
}

impl<S: Send + Sync> FromRequest<S> for ArticleUpdate {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        #[derive(Deserialize)]
        struct Version {
            #[serde(default)]
            version: Option<i64>,
        }
        let bytes = json_bytes(req, state).await?;
        let input = parse_json::<ArticleInput>(&bytes)?;
        let Version { version } = parse_json(&bytes)?;
        Ok(ArticleUpdate { input, version })
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct VersionParam {
    version: Option<String>,
}

/// `PUT /api/articles/{id_or_slug}` — replaces the content, keeping the id.
/// The version it was based on may come as `If-Match: "<version>"`, `?version=`
/// or `version` in the body; if the article has moved on since: 409 `stale_version`.
/// Without `status` the article keeps its status (a deleted one comes back as a draft).
#[utoipa::path(
    put, path = "/articles/{id_or_slug}", tag = "articles", operation_id = "updateArticle",
    summary = "Replace an article's content, keeping its id",
    description = "The version the edit is based on may be given as `If-Match`, `?version=` or `version` in the body; \
        if the article was saved since, the answer is 409 `stale_version`. Without `status`, the article keeps its \
        status (a deleted one comes back as a draft).",
    params(
        IdOrSlug,
        ("If-Match" = Option<String>, Header,
         description = "`\"<version>\"` the edit is based on (the article's ETag); `*` skips the check"),
        ("version" = Option<u32>, Query, minimum = 1, description = "The version this edit is based on")
    ),
    request_body(content = ArticleUpdate, description = "An article, optionally with the `version` it is based on"),
    responses(
        (status = 200, description = "The article; its ETag is the version to send back in If-Match", body = ArticleJson,
         headers(("ETag" = String, description = "`\"<version>\"` of the article, e.g. `\"3\"`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn update_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrSlug { id_or_slug: key }): Path<IdOrSlug>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<VersionParam>,
    update: ArticleUpdate,
) -> Result<Response, ApiError> {
    let expected = expected_version(&headers, query.version.as_deref(), update.version)?;
    let current = find(&state, &key).await?;
    let article = content::update_article(&state, &current, &update.input, expected, &[]).await?;
    Ok(respond(&state, StatusCode::OK, &article, false))
}

/// The expected version from the header, the query or the body; they must agree.
fn expected_version(headers: &HeaderMap, query: Option<&str>, body: Option<i64>) -> Result<Option<i64>, ApiError> {
    let bad = |field: &str, v: &str| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid",
            field,
            format!("`{v}` is not an article version such as \"3\" (see the ETag of the article)"),
        )
    };
    let mut found: Vec<i64> = Vec::new();
    if let Some(raw) = headers.get(IF_MATCH) {
        let v = raw.to_str().map_err(|_| bad("If-Match", "?"))?.trim();
        // `*` means "whatever the current version is": no check.
        if v != "*" {
            let tag = v.trim_start_matches("W/").trim_matches('"');
            found.push(tag.parse().map_err(|_| bad("If-Match", v))?);
        }
    }
    if let Some(v) = query.map(str::trim).filter(|v| !v.is_empty()) {
        found.push(v.parse().map_err(|_| bad("version", v))?);
    }
    found.extend(body);
    if found.windows(2).any(|w| w[0] != w[1]) {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid",
            "version",
            "If-Match, ?version= and the body's version disagree",
        ));
    }
    Ok(found.first().copied())
}

/// `DELETE /api/articles/{id_or_slug}` — soft delete: the article is kept as a
/// tombstone (its page answers 410 and its slug stays reserved); 204.
#[utoipa::path(
    delete, path = "/articles/{id_or_slug}", tag = "articles", operation_id = "deleteArticle",
    summary = "Delete an article (kept as a tombstone: its page answers 410 Gone)",
    params(IdOrSlug),
    responses(
        (status = 204, description = "Done; no body"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn delete_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrSlug { id_or_slug: key }): Path<IdOrSlug>,
) -> Result<StatusCode, ApiError> {
    let before = find(&state, &key).await?;
    content::set_status(&state, &before, ArticleStatus::Deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/articles/{id_or_slug}/publish` — makes the article public now
/// (keeping an earlier publication date if it has one).
#[utoipa::path(
    post, path = "/articles/{id_or_slug}/publish", tag = "articles", operation_id = "publishArticle",
    summary = "Make an article public now",
    params(IdOrSlug),
    responses(
        (status = 200, description = "The article", body = ArticleJson,
         headers(("ETag" = String, description = "`\"<version>\"` of the article, e.g. `\"3\"`"))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn publish_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrSlug { id_or_slug: key }): Path<IdOrSlug>,
) -> Result<Response, ApiError> {
    set_status(&state, &key, ArticleStatus::Published).await
}

/// `POST /api/articles/{id_or_slug}/unpublish` — back to draft.
#[utoipa::path(
    post, path = "/articles/{id_or_slug}/unpublish", tag = "articles", operation_id = "unpublishArticle",
    summary = "Take an article back to draft",
    params(IdOrSlug),
    responses(
        (status = 200, description = "The article", body = ArticleJson,
         headers(("ETag" = String, description = "`\"<version>\"` of the article, e.g. `\"3\"`"))),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn unpublish_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(IdOrSlug { id_or_slug: key }): Path<IdOrSlug>,
) -> Result<Response, ApiError> {
    set_status(&state, &key, ArticleStatus::Draft).await
}

async fn set_status(state: &AppState, key: &str, status: ArticleStatus) -> Result<Response, ApiError> {
    let before = find(state, key).await?;
    let article = content::set_status(state, &before, status).await?;
    Ok(respond(state, StatusCode::OK, &article, false))
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Invalid(v) => v.into(),
            WriteError::Store(s) => s.into(),
        }
    }
}

/// An article by id, else by slug.
pub(super) async fn find(state: &AppState, key: &str) -> Result<Article, ApiError> {
    if let Some(a) = state.store().find_article(key).await? {
        return Ok(a);
    }
    state
        .store()
        .find_article_by_slug(key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("article `{key}` not found")))
}
