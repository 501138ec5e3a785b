//! Domain and actor blocks, and the allowlist: what `gazette block`,
//! `unblock`, `allow`, `disallow` and `blocks` do, over HTTP. Blocking a
//! domain purges what was stored from it; changes apply at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_federation::{FederationError, FederationMode};
use gazette_store::{ActorBlock, DomainAllow, DomainBlock, PurgeReport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiJson};
use crate::openapi::{BadRequest, NotFound, Unauthorized, UnsupportedMediaType, ValidationFailed};
use crate::{ApiError, AppState};

/// Everything blocked.
#[derive(Serialize, ToSchema)]
struct BlockList {
    domains: Vec<DomainBlock>,
    actors: Vec<ActorBlock>,
}

/// `GET /api/blocks` — blocked domains and actors.
#[utoipa::path(
    get, path = "/blocks", tag = "safety", operation_id = "listBlocks",
    summary = "Blocked domains and actors (what `gazette blocks` lists)",
    responses((status = 200, description = "Blocked domains and actors", body = BlockList), (status = 401, response = Unauthorized))
)]
pub(crate) async fn list_blocks(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store();
    Ok(Json(BlockList {
        domains: store.list_domain_blocks().await?,
        actors: store.list_actor_blocks().await?,
    })
    .into_response())
}

/// What a block is of.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum BlockKind {
    Domain,
    Actor,
}

/// What to block.
#[derive(Deserialize, ToSchema)]
pub(crate) struct BlockInput {
    /// `domain` or `actor` (read as a string, so another value is a 422 naming `kind`).
    #[schema(value_type = BlockKind)]
    kind: String,
    /// A domain (`example.org`, a URL is cut to its host), or an actor id or `@name@host`.
    value: String,
    #[serde(default)]
    reason: String,
}

/// One block, as created.
#[derive(Serialize, ToSchema)]
struct BlockCreated {
    kind: BlockKind,
    /// The normalised domain, or the actor id.
    value: String,
    reason: String,
    created_at: chrono::DateTime<chrono::Utc>,
    /// For a domain: what was deleted with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    purged: Option<PurgeReport>,
}

/// `POST /api/blocks` — blocks a domain (purging what was stored from it) or
/// an actor (forgetting it); blocking again only changes the reason.
#[utoipa::path(
    post, path = "/blocks", tag = "safety", operation_id = "createBlock",
    summary = "Block a domain (and its subdomains: no delivery, inbox refused with 403, fetches refused, its remote actors \
        with their follows, likes, replies and articles purged, unsent deliveries to it dropped) or an actor \
        (refused, and forgotten with what it did here). Blocking again only changes the reason",
    request_body = BlockInput,
    responses(
        (status = 201, description = "The block as stored", body = BlockCreated),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn create_block(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<BlockInput>,
) -> Result<Response, ApiError> {
    let created = match input.kind.as_str() {
        "domain" => {
            let (b, purged) = gazette_federation::safety::block_domain(state.store(), &input.value, &input.reason)
                .await
                .map_err(federation_error)?;
            BlockCreated {
                kind: BlockKind::Domain,
                value: b.domain,
                reason: b.reason,
                created_at: b.created_at,
                purged: Some(purged),
            }
        }
        "actor" => {
            let data = state.federation_config().to_request_data();
            let b = gazette_federation::safety::block_actor(&data, &input.value, &input.reason)
                .await
                .map_err(federation_error)?;
            BlockCreated {
                kind: BlockKind::Actor,
                value: b.actor_id,
                reason: b.reason,
                created_at: b.created_at,
                purged: None,
            }
        }
        other => return Err(bad_kind(other)),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `DELETE /api/blocks/{kind}/{value}` — lifts a block; `value` is the
/// domain, or the actor id (percent-encoded) or handle.
#[utoipa::path(
    delete, path = "/blocks/{kind}/{value}", tag = "safety", operation_id = "deleteBlock",
    summary = "Lift a block (purged content does not come back)",
    params(
        ("kind" = BlockKind, Path),
        ("value" = String, Path, description = "The domain, or the actor id (percent-encoded) or `@name@host`")
    ),
    responses(
        (status = 204, description = "Unblocked"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn delete_block(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path((kind, value)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let removed = match kind.as_str() {
        "domain" => state.store().remove_domain_block(&value).await?,
        "actor" => {
            let data = state.federation_config().to_request_data();
            gazette_federation::safety::unblock_actor(&data, &value)
                .await
                .map_err(federation_error)?
                .is_some()
        }
        other => return Err(bad_kind(other)),
    };
    if !removed {
        return Err(ApiError::not_found(format!("no {kind} block for `{value}`")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whether the allowlist is in force (`federation.mode`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// The list is not in force.
    Open,
    Allowlist,
}

/// The allowlist and whether it is in force.
#[derive(Serialize, ToSchema)]
struct Allowlist {
    /// `open`: the list is not in force.
    mode: Mode,
    domains: Vec<DomainAllow>,
}

/// `GET /api/allowlist` — the domains an instance in allowlist mode federates with.
#[utoipa::path(
    get, path = "/allowlist", tag = "safety", operation_id = "listAllowlist",
    summary = "The domains an instance with `federation.mode = \"allowlist\"` federates with, and the mode",
    responses((status = 200, description = "The allowlist", body = Allowlist), (status = 401, response = Unauthorized))
)]
pub(crate) async fn list_allowlist(_auth: ApiAuth, State(state): State<AppState>) -> Result<Response, ApiError> {
    let mode = match state.fed().settings().mode {
        FederationMode::Open => Mode::Open,
        FederationMode::Allowlist => Mode::Allowlist,
    };
    Ok(Json(Allowlist {
        mode,
        domains: state.store().list_domain_allows().await?,
    })
    .into_response())
}

/// A domain to allow.
#[derive(Deserialize, ToSchema)]
pub(crate) struct AllowInput {
    #[schema(examples("friends.example", "localhost:8001"))]
    domain: String,
}

/// `POST /api/allowlist` — puts a domain (and its subdomains) on the allowlist.
#[utoipa::path(
    post, path = "/allowlist", tag = "safety", operation_id = "createAllow",
    summary = "Put a domain (and its subdomains) on the allowlist",
    request_body = AllowInput,
    responses(
        (status = 201, description = "The entry as stored", body = DomainAllow),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn create_allow(
    _auth: ApiAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AllowInput>,
) -> Result<Response, ApiError> {
    let allow = state.store().add_domain_allow(&input.domain).await?;
    Ok((StatusCode::CREATED, Json(allow)).into_response())
}

/// `DELETE /api/allowlist/{domain}` — takes a domain off the allowlist.
#[utoipa::path(
    delete, path = "/allowlist/{domain}", tag = "safety", operation_id = "deleteAllow",
    summary = "Take a domain off the allowlist",
    params(("domain" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed)
    )
)]
pub(crate) async fn delete_allow(
    _auth: ApiAuth,
    State(state): State<AppState>,
    Path(domain): Path<String>,
) -> Result<Response, ApiError> {
    if !state.store().remove_domain_allow(&domain).await? {
        return Err(ApiError::not_found(format!("`{domain}` is not on the allowlist")));
    }
    if state.fed().settings().mode == FederationMode::Allowlist {
        let n = state.store().drop_deliveries_outside_allowlist().await?;
        tracing::info!(
            domain,
            deliveries = n,
            "domain left the allowlist; its pending deliveries given up"
        );
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn bad_kind(kind: &str) -> ApiError {
    ApiError::field(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        "kind",
        format!("unknown kind `{kind}`: expected domain or actor"),
    )
}

/// Store failures keep their mapping; a handle that cannot be looked up is
/// the client's input at fault (422, field `value`).
fn federation_error(e: FederationError) -> ApiError {
    match e {
        FederationError::Store(e) => e.into(),
        FederationError::Internal(e) => ApiError::internal(e),
        other => ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "value",
            format!("cannot find this actor: {other}"),
        ),
    }
}
