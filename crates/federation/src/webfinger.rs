//! WebFinger lookups of `user@host` on other servers, through the
//! instance's one client: for `gazette follow` and the other handle-taking
//! commands (then the actor is fetched, signed, by activitypub_federation)
//! and for the "follow from your server" page. Done here rather than by the
//! library, whose lookup reports any failure of the actor fetch as "Failed
//! to resolve actor via webfinger": here every failure names the host and
//! what it answered.

use std::time::Duration;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::Value;
use url::Url;

use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::{DbRemoteActor, host_of};

/// WebFinger documents are small; anything bigger is not one.
pub const MAX_WEBFINGER_BYTES: usize = 64 * 1024;
/// Redirects followed (each to a host we federate with, each connection
/// through the address guard).
const MAX_REDIRECTS: usize = 3;
const TIMEOUT: Duration = Duration::from_secs(10);

/// The WebFinger document (JRD) of `acct:user@host`.
pub async fn lookup(ctx: &FedContext, user: &str, host: &str) -> Result<Value, FederationError> {
    let scheme = if ctx.settings().allow_private_addresses {
        "http"
    } else {
        "https"
    };
    let mut url = Url::parse(&format!("{scheme}://{host}/.well-known/webfinger"))
        .map_err(|e| FederationError::bad_request(format!("`{host}` is not a host name: {e}")))?;
    url.query_pairs_mut()
        .append_pair("resource", &format!("acct:{user}@{host}"));
    for _ in 0..=MAX_REDIRECTS {
        crate::safety::check_host(ctx, &host_of(&url)).await?;
        if !ctx.settings().allow_private_addresses {
            gazette_http::check_url(&url).map_err(|e| FederationError::Remote(e.to_string()))?;
        }
        let response = ctx
            .http()
            .get(url.clone())
            .header(ACCEPT, "application/jrd+json, application/json")
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| FederationError::Remote(crate::remote_status::unreachable(&e)))?;
        let status = response.status();
        if status.is_redirection()
            && let Some(location) = response.headers().get(LOCATION).and_then(|l| l.to_str().ok())
        {
            let next = url
                .join(location)
                .map_err(|e| FederationError::Remote(format!("{} redirected to a bad URL: {e}", host_of(&url))))?;
            if !matches!(next.scheme(), "http" | "https") || (next.scheme() == "http" && scheme == "https") {
                return Err(FederationError::Remote(format!(
                    "{} redirected to {next}, which is not https",
                    host_of(&url)
                )));
            }
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(FederationError::Remote(
                gazette_http::RemoteStatus::read(response).await.to_string(),
            ));
        }
        let answered = host_of(&url);
        let bytes = gazette_http::read_limited(response, MAX_WEBFINGER_BYTES)
            .await
            .map_err(|e| FederationError::Remote(format!("{answered}: {e}")))?;
        return serde_json::from_slice(&bytes)
            .map_err(|_| FederationError::Remote(format!("{answered} sent no WebFinger document")));
    }
    Err(FederationError::Remote(format!("{host} redirected too many times")))
}

/// The ActivityPub actor `user@host` stands for: its WebFinger `self` links
/// (ActivityPub types), the first that can be fetched; else the reason the
/// last could not.
pub(crate) async fn resolve(data: &Data<FedContext>, user: &str, host: &str) -> Result<DbRemoteActor, FederationError> {
    let doc = lookup(data, user, host).await?;
    let links = actor_links(&doc);
    let mut last = None;
    for link in links {
        match ObjectId::<DbRemoteActor>::parse(link)?.dereference(data).await {
            Ok(actor) => return Ok(actor),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| FederationError::Remote(format!("{host} names no ActivityPub actor for {user}@{host}"))))
}

/// The `href`s of a JRD's `self` links of an ActivityPub type.
fn actor_links(doc: &Value) -> Vec<&str> {
    doc["links"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .filter(|l| l["rel"] == "self")
                .filter(|l| {
                    l["type"].as_str().is_some_and(|t| {
                        t.starts_with("application/activity+json") || t.starts_with("application/ld+json")
                    })
                })
                .filter_map(|l| l["href"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_links_of_activitypub_types() {
        let doc = serde_json::json!({ "links": [
            { "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "https://s.example/@a" },
            { "rel": "self", "type": "application/activity+json", "href": "https://s.example/users/a" },
            { "rel": "self", "type": "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"", "href": "https://s.example/u/a" },
            { "rel": "self", "type": "text/html", "href": "https://s.example/x" },
        ]});
        assert_eq!(
            actor_links(&doc),
            ["https://s.example/users/a", "https://s.example/u/a"]
        );
        assert!(actor_links(&serde_json::json!({})).is_empty());
    }
}
