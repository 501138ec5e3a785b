//! An article (or note) from an actor we follow, stored for the network
//! page, whether it came in a `Create` or an `Update`.

use activitypub_federation::config::Data;
use chrono::Utc;
use serde_json::Value;

use super::Embedded;
use super::create::{check_origin, value_href};
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::DbRemoteActor;

/// Stores an article from a followed actor for the network page.
pub(super) async fn store_article(
    data: &Data<FedContext>,
    object: &Embedded,
    actor: &DbRemoteActor,
) -> Result<(), FederationError> {
    let id = check_origin(object, actor, "object")?;
    let o = &object.raw;
    let time = |key: &str| {
        o.get(key)
            .and_then(Value::as_str)
            .and_then(gazette_core::validate::parse_time)
    };
    let image = o
        .get("image")
        .and_then(|i| if i.is_array() { i.get(0) } else { Some(i) });
    let published = time("published").unwrap_or_else(Utc::now);
    // A Gazette article opens its content with its title and standfirst
    // (for servers that show nothing else); shown here on their own.
    let name = crate::json::text_or_map(o, "name");
    let summary = crate::json::text_or_map(o, "summary");
    let content = crate::json::text_or_map(o, "content");
    let mut content = crate::json::strip_article_lead(&content, &name, &summary).to_owned();
    let image_url = image.and_then(|i| i.get("url")).and_then(value_href);
    content.push_str(&crate::json::attached_images(o, image_url.as_deref()));
    let article = gazette_core::RemoteArticle {
        id: id.clone(),
        actor: actor.actor.id.clone(),
        kind: object.kind().unwrap_or("Article").to_owned(),
        url: o.get("url").and_then(|u| match u {
            Value::Array(items) => items.iter().find_map(value_href),
            other => value_href(other),
        }),
        name,
        summary_html: gazette_core::markdown::sanitise(&crate::json::summary_as_html(&summary)),
        content_html: gazette_core::markdown::sanitise(&content),
        language: o
            .get("contentMap")
            .and_then(Value::as_object)
            .and_then(|m| m.keys().next().cloned()),
        image_url,
        image_alt: image
            .and_then(|i| i.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        published_at: published,
        updated_at: time("updated").unwrap_or(published),
    };
    data.store().upsert_remote_article(&article).await?;
    tracing::info!(id, actor = %actor.actor.id, "network article stored");
    Ok(())
}
