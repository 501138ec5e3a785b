//! Quote posts of one article (FEP-044f): who may quote it, the quotes
//! other servers asked for (accepted, refused, revoked), and revoking an
//! accepted one, as the admin's quotes page and `gazette article
//! quote-policy` / `revoke-quote` do.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_federation::{FederationError, QuotePolicy};
use gazette_store::{Quote, QuotePolicyChange, QuoteState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::articles::{IdOrSlug, find};
use super::{ApiAuth, ApiJson};
use crate::openapi::{Conflict, NotFound, Unauthorized, ValidationFailed};
use crate::{ApiError, AppState};

/// Quotes listed, newest first.
const LISTED: i64 = 500;

/// Who quotes.
#[derive(Serialize, ToSchema)]
struct QuoterJson {
    /// Actor id.
    #[schema(format = "uri")]
    id: String,
    /// `@name@host`.
    handle: String,
    name: String,
    /// Profile page, when it has one.
    #[schema(format = "uri")]
    url: Option<String>,
}

/// One request to quote the article, as it was answered.
#[derive(Serialize, ToSchema)]
struct QuoteJson {
    /// Ours: the id of its stamp.
    id: String,
    /// `accepted`, `rejected` or `revoked`.
    #[schema(value_type = String, examples("accepted", "rejected", "revoked"))]
    state: QuoteState,
    /// The quoting post's ActivityPub id.
    #[schema(format = "uri")]
    post: String,
    /// Its web page, when it gave one.
    #[schema(format = "uri")]
    url: Option<String>,
    /// The stamp (`QuoteAuthorization`) the quoting server shows: served
    /// while accepted, 410 once revoked.
    #[schema(format = "uri")]
    stamp: Option<String>,
    quoter: QuoterJson,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn quote_json(state: &AppState, q: Quote) -> QuoteJson {
    QuoteJson {
        stamp: (q.state != QuoteState::Rejected).then(|| gazette_federation::quotes::stamp_url(state.fed(), &q.id)),
        quoter: QuoterJson {
            handle: q.actor.handle(),
            id: q.actor.id,
            name: q.actor.name,
            url: q.actor.url,
        },
        id: q.id,
        state: q.state,
        post: q.quote_post,
        url: q.quote_url,
        created_at: q.created_at,
        updated_at: q.updated_at,
    }
}

/// The article's quote policy and its quotes.
#[derive(Serialize, ToSchema)]
struct QuoteList {
    /// The article's own policy (`everyone`, `followers`, `nobody`), or
    /// `default` (the instance's `federation.quote_policy`).
    #[schema(examples("default", "everyone"))]
    policy: String,
    /// The policy that applies.
    #[schema(examples("everyone", "followers", "nobody"))]
    applies: &'static str,
    /// Accepted quotes (the count shown on the article page).
    accepted: i64,
    /// Every request answered, newest first (up to 500).
    items: Vec<QuoteJson>,
}

/// `GET /api/articles/{id_or_slug}/quotes`
#[utoipa::path(
    get, path = "/articles/{id_or_slug}/quotes", tag = "articles", operation_id = "listQuotes",
    summary = "Who may quote an article, and the quotes other servers asked for",
    params(IdOrSlug),
    responses(
        (status = 200, description = "The policy and the quotes, newest first", body = QuoteList),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)
    )
)]
pub(crate) async fn list_quotes(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<IdOrSlug>,
) -> Result<Response, ApiError> {
    let article = find(&state, key.as_str()).await?;
    let store = state.store();
    let (own, quotes, accepted) = tokio::try_join!(
        store.article_quote_policy(&article.id),
        store.list_quotes(&article.id, false, LISTED),
        store.count_quotes(&article.id),
    )?;
    let applies = own
        .as_deref()
        .and_then(QuotePolicy::parse)
        .unwrap_or(state.fed().settings().quote_policy);
    Ok(Json(QuoteList {
        policy: own.unwrap_or_else(|| "default".to_owned()),
        applies: applies.as_str(),
        accepted,
        items: quotes.into_iter().map(|q| quote_json(&state, q)).collect(),
    })
    .into_response())
}

/// The body of `PUT /api/articles/{id_or_slug}/quote-policy`.
#[derive(Deserialize, ToSchema)]
pub(crate) struct QuotePolicyInput {
    /// `everyone`, `followers`, `nobody`, or `default` (the instance's).
    #[schema(examples("everyone", "followers", "nobody", "default"))]
    policy: String,
}

/// What setting the policy did.
#[derive(Serialize, ToSchema)]
struct QuotePolicySet {
    policy: String,
    /// True when followers are sent an `Update` of the article (the policy
    /// that applies to a published article changed).
    announced: bool,
}

/// `PUT /api/articles/{id_or_slug}/quote-policy`
#[utoipa::path(
    put, path = "/articles/{id_or_slug}/quote-policy", tag = "articles", operation_id = "setQuotePolicy",
    summary = "Set who may quote an article",
    params(IdOrSlug),
    request_body = QuotePolicyInput,
    responses(
        (status = 200, description = "Set; a change on a published article is sent to its followers", body = QuotePolicySet),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn set_quote_policy(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(key): Path<IdOrSlug>,
    ApiJson(input): ApiJson<QuotePolicyInput>,
) -> Result<Response, ApiError> {
    let policy = match input.policy.as_str() {
        "default" => None,
        p => Some(QuotePolicy::parse(p).ok_or_else(|| {
            ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "policy",
                format!("unknown policy `{p}`: expected everyone, followers, nobody or default"),
            )
        })?),
    };
    let article = find(&state, key.as_str()).await?;
    let change = gazette_federation::quotes::set_policy(state.fed(), &article.id, policy)
        .await
        .map_err(federation_error)?;
    let announced = matches!(change, QuotePolicyChange::Announced { .. });
    if announced {
        state.federate_soon();
    }
    Ok(Json(QuotePolicySet {
        policy: input.policy,
        announced,
    })
    .into_response())
}

/// `/api/articles/{id_or_slug}/quotes/{quote}`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct QuotePath {
    /// Article id or slug.
    id_or_slug: String,
    /// The quote's id (its stamp's).
    quote: String,
}

/// `DELETE /api/articles/{id_or_slug}/quotes/{quote}`
#[utoipa::path(
    delete, path = "/articles/{id_or_slug}/quotes/{quote}", tag = "articles", operation_id = "revokeQuote",
    summary = "Revoke an accepted quote: its stamp answers 410 and the quoting server is sent its Delete",
    params(QuotePath),
    responses(
        (status = 204, description = "Revoked (or revoked before)"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    )
)]
pub(crate) async fn revoke_quote(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(path): Path<QuotePath>,
) -> Result<Response, ApiError> {
    let article = find(&state, &path.id_or_slug).await?;
    let quote = state
        .store()
        .find_quote(&path.quote)
        .await?
        .filter(|q| q.article_id == article.id)
        .ok_or_else(|| ApiError::not_found(format!("no quote `{}` of article `{}`", path.quote, path.id_or_slug)))?;
    match quote.state {
        QuoteState::Accepted => {
            gazette_federation::quotes::revoke(state.fed(), &quote.id)
                .await
                .map_err(federation_error)?;
        }
        QuoteState::Revoked => {}
        QuoteState::Rejected => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("quote `{}` was refused: there is no permission to revoke", quote.id),
            ));
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn federation_error(e: FederationError) -> ApiError {
    match e {
        FederationError::Store(e) => e.into(),
        other => ApiError::internal(other.to_string()),
    }
}
