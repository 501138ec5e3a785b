//! The network actor's outbox: its standing boosts of member articles,
//! newest first, in pages of 20 (`?page=N`).

use activitypub_federation::config::Data;
use axum::response::Response;
use serde_json::json;

use crate::activities::outgoing;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::{self, AS2};
use crate::routes::activity_response;

const PAGE_SIZE: i64 = 20;

/// `GET /users/{network}/outbox[?page=N]`.
pub async fn get_outbox(data: &Data<FedContext>, page: Option<i64>) -> Result<Response, FederationError> {
    let network = super::settings(data)?;
    let urls = data.urls();
    let outbox = urls.outbox(&network.username);
    let actor_id = super::actor_id(data, network);
    let Some(page) = page else {
        let (_, total) = data.store().network_announces(0, 0).await?;
        return Ok(activity_response(&json!({
            "@context": AS2, "id": outbox, "type": "OrderedCollection", "totalItems": total,
            "first": format!("{outbox}?page=1"),
        })));
    };
    let page = page.max(1);
    let offset = (page - 1) * PAGE_SIZE;
    let (boosts, total) = data.store().network_announces(PAGE_SIZE, offset).await?;
    let mut items = Vec::with_capacity(boosts.len());
    for (object, id, published) in boosts {
        // A member article kept with its proof is served as received.
        let object = super::publish::announced_object(data, &object).await?;
        let boost = outgoing::group_announce(id, &actor_id, object, urls.followers(&network.username));
        items.push(boost.in_outbox(Some(published)).to_value()?);
    }
    let mut body = json!({
        "@context": json::context(), "id": format!("{outbox}?page={page}"), "type": "OrderedCollectionPage",
        "partOf": outbox, "totalItems": total, "orderedItems": items,
    });
    if offset + PAGE_SIZE < total {
        body["next"] = json!(format!("{outbox}?page={}", page + 1));
    }
    Ok(activity_response(&body))
}
