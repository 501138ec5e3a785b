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

use super::{ApiAuth, ApiJson, ApiQuery, json_bytes, parse_count, parse_json};
use crate::content::{self, WriteError};
use crate::{ApiError, AppState};

const DEFAULT_PER_PAGE: i64 = 20;
const MAX_PER_PAGE: i64 = 100;

/// An article as the API shows it.
#[derive(Serialize)]
pub(crate) struct ArticleJson<'a> {
    #[serde(flatten)]
    article: &'a Article,
    /// The public HTML page.
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

#[derive(Serialize)]
struct ArticleList<'a> {
    items: Vec<ArticleJson<'a>>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// `GET /api/articles?status=&kind=&tag=&lang=&q=&page=&per_page=` — newest
/// first; without `status`, every article that is not deleted. `status` may
/// list several, comma-separated.
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
pub(crate) async fn get_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
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
pub(crate) async fn update_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
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
pub(crate) async fn delete_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let before = find(&state, &key).await?;
    content::set_status(&state, &before, ArticleStatus::Deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/articles/{id_or_slug}/publish` — makes the article public now
/// (keeping an earlier publication date if it has one).
pub(crate) async fn publish_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    set_status(&state, &key, ArticleStatus::Published).await
}

/// `POST /api/articles/{id_or_slug}/unpublish` — back to draft.
pub(crate) async fn unpublish_article(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
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
async fn find(state: &AppState, key: &str) -> Result<Article, ApiError> {
    if let Some(a) = state.store().find_article(key).await? {
        return Ok(a);
    }
    state
        .store()
        .find_article_by_slug(key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("article `{key}` not found")))
}
