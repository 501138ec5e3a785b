//! Followers of the organisation and authors, and the answer to pending
//! follows when the instance approves followers by hand.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_core::FollowStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiJson, ApiQuery};
use crate::openapi::{NotFound, Unauthorized, ValidationFailed};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub(crate) struct FollowersQuery {
    #[serde(default)]
    status: Option<String>,
    /// Username of the organisation or an author; all when absent.
    #[serde(default)]
    actor: Option<String>,
}

/// One follow of a local actor.
#[derive(Serialize, ToSchema)]
struct FollowerJson {
    /// Username of the followed local actor.
    actor: String,
    /// The follower's actor id.
    #[schema(format = "uri")]
    follower: String,
    /// `@name@host`.
    handle: String,
    name: String,
    status: FollowStatus,
    since: chrono::DateTime<chrono::Utc>,
}

/// Followers, newest first.
#[derive(Serialize, ToSchema)]
struct FollowerList {
    items: Vec<FollowerJson>,
}

/// `GET /api/followers?status=accepted|pending&actor=USERNAME` — followers, newest first.
#[utoipa::path(
    get, path = "/followers", tag = "followers", operation_id = "listFollowers",
    summary = "Followers of the organisation and the authors, newest first",
    params(
        ("status" = Option<FollowStatus>, Query, description = "`accepted` (the default) or `pending`"),
        ("actor" = Option<String>, Query, description = "Username of one local actor")
    ),
    responses(
        (status = 200, description = "Followers", body = FollowerList),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn list_followers(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<FollowersQuery>,
) -> Result<Response, ApiError> {
    let s = q.status.as_deref().unwrap_or("accepted");
    let status = FollowStatus::parse(s).ok_or_else(|| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "status",
            format!("unknown status `{s}`: expected accepted or pending"),
        )
    })?;
    let fed = state.fed();
    let actors = gazette_federation::local_actors(fed)
        .await
        .map_err(ApiError::internal)?;
    if let Some(a) = &q.actor
        && !actors.iter().any(|x| x.username() == a)
    {
        return Err(ApiError::not_found(format!("no local actor `{a}`")));
    }
    let mut items = Vec::new();
    for actor in actors
        .iter()
        .filter(|a| q.actor.as_deref().is_none_or(|u| u == a.username()))
    {
        let id = fed.urls().actor(actor.username());
        for f in state.store().list_followers(&id, status, 100_000, 0).await? {
            items.push(FollowerJson {
                actor: actor.username().to_owned(),
                handle: f.actor.handle(),
                name: f.actor.name.clone(),
                follower: f.actor.id,
                status: f.status,
                since: f.since,
            });
        }
    }
    Ok(Json(FollowerList { items }).into_response())
}

/// Whose pending follows to answer.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AnswerInput {
    /// The follower's actor id or `@name@host`.
    follower: String,
    /// Only this local actor's pending follow; all when absent.
    #[serde(default)]
    actor: Option<String>,
}

/// The answer to a follower's pending follows.
#[derive(Serialize, ToSchema)]
struct Answered {
    /// The follower as given.
    follower: String,
    /// Usernames of the local actors whose pending follow was answered.
    actors: Vec<String>,
    approved: bool,
}

/// `POST /api/followers/approve` — accepts pending follows from `follower`.
#[utoipa::path(
    post, path = "/followers/approve", tag = "followers", operation_id = "approveFollower",
    summary = "Accept pending follows from a follower",
    request_body = AnswerInput,
    responses(
        (status = 200, description = "The local actors whose pending follow was answered", body = Answered),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn approve_follower(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AnswerInput>,
) -> Result<Response, ApiError> {
    answer(&state, input, true).await
}

/// `POST /api/followers/reject` — refuses pending follows from `follower`.
#[utoipa::path(
    post, path = "/followers/reject", tag = "followers", operation_id = "rejectFollower",
    summary = "Refuse pending follows from a follower",
    request_body = AnswerInput,
    responses(
        (status = 200, description = "The local actors whose pending follow was answered", body = Answered),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn reject_follower(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AnswerInput>,
) -> Result<Response, ApiError> {
    answer(&state, input, false).await
}

async fn answer(state: &AppState, input: AnswerInput, approve: bool) -> Result<Response, ApiError> {
    if input.follower.trim().is_empty() {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "follower",
            "give the follower's actor id or @name@host",
        ));
    }
    match gazette_federation::answer_follow(state.fed(), input.actor.as_deref(), &input.follower, approve).await {
        Ok(actors) => Ok(Json(Answered {
            follower: input.follower,
            actors,
            approved: approve,
        })
        .into_response()),
        Err(gazette_federation::FederationError::Refused(StatusCode::NOT_FOUND, m)) => {
            Err(ApiError::field(StatusCode::NOT_FOUND, "not_found", "follower", m))
        }
        // A request to join refused for the member's status: 409, as through `/api/network`.
        Err(e) => Err(super::network::federation_error(e, "follower")),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use gazette_federation::FederationError;

    #[test]
    fn refused_decisions_keep_their_status() {
        let e = super::super::network::federation_error(
            FederationError::Refused(StatusCode::CONFLICT, "the member is rejected".into()),
            "follower",
        );
        assert_eq!((e.status, e.code), (StatusCode::CONFLICT, "wrong_state"));
        assert_eq!(e.message, "the member is rejected");
    }
}
