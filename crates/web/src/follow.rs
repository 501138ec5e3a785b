//! "Follow from your server": the reader gives their own fediverse handle,
//! we look up their server's follow page (the OStatus subscribe template in
//! their WebFinger) and send them there to confirm. Works without JavaScript.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use gazette_federation::FederationError;
use serde::{Deserialize, Serialize};

use crate::{AppState, PageError};

const SUBSCRIBE_REL: &str = "http://ostatus.org/schema/1.0/subscribe";

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/follow", get(get_follow))
}

#[derive(Deserialize)]
struct FollowQuery {
    target: String,
    #[serde(default)]
    handle: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct FollowPage {
    name: String,
    target: String,
    /// `@username@host` of the actor to follow.
    ours: String,
    /// What the reader typed, shown again after an error.
    handle: String,
    /// Interface string naming the error, if any.
    error: Option<&'static str>,
    reason: String,
}

/// `GET /follow?target=USERNAME[&handle=@you@server]`: the form, or a redirect
/// to the reader's server with our actor to follow.
async fn get_follow(State(state): State<AppState>, Query(q): Query<FollowQuery>) -> Result<Response, PageError> {
    let actor = gazette_federation::find_local_actor(state.fed(), &q.target)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .ok_or(PageError::NotFound)?;
    let ours = format!("@{}@{}", actor.username(), state.fed().urls().host());
    let handle = q.handle.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let error = if handle.is_empty() {
        None
    } else {
        match parse_handle(&handle) {
            None => Some(("follow_bad_handle", String::new())),
            Some((user, host)) => match subscribe_url(&state, user, host, &ours).await {
                Ok(url) => return Ok(Redirect::to(&url).into_response()),
                Err(reason) => Some(("follow_failed", reason)),
            },
        }
    };
    let (error, reason) = match error {
        Some((key, reason)) => (Some(key), reason),
        None => (None, String::new()),
    };
    crate::pages::render_follow_page(
        &state,
        FollowPage {
            name: actor.display_name().to_owned(),
            target: actor.username().to_owned(),
            ours,
            handle,
            error,
            reason,
        },
    )
    .await
}

/// `@user@host` (the leading `@` optional) → (user, host).
fn parse_handle(handle: &str) -> Option<(&str, &str)> {
    let (user, host) = handle.trim_start_matches('@').split_once('@')?;
    let user_ok = !user.is_empty() && user.chars().all(|c| c.is_alphanumeric() || "_.-".contains(c));
    let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c));
    (user_ok && host_ok).then_some((user, host))
}

/// The reader's server's follow page for `ours`, or why it cannot be found.
/// The lookup goes through the instance's one client: blocked hosts are not
/// asked, and the address guard checks each connection (a name is resolved
/// once per connection, so no second lookup can lead elsewhere).
async fn subscribe_url(state: &AppState, user: &str, host: &str, ours: &str) -> Result<String, String> {
    let allow_private = state.fed().settings().allow_private_addresses;
    let doc = match gazette_federation::webfinger::lookup(state.fed(), user, host).await {
        Ok(doc) => doc,
        Err(FederationError::Refused(StatusCode::FORBIDDEN, _)) => {
            return Err(format!("{host} is not a server this one federates with"));
        }
        Err(e @ (FederationError::Store(_) | FederationError::Internal(_))) => {
            tracing::error!(error = %e, "follow page: lookup failed on our side");
            return Err("internal error".to_owned());
        }
        Err(e) => return Err(e.to_string()),
    };
    let template = doc["links"]
        .as_array()
        .and_then(|links| links.iter().find(|l| l["rel"] == SUBSCRIBE_REL))
        .and_then(|l| l["template"].as_str())
        .ok_or_else(|| format!("{host} has no follow page"))?;
    if !(template.starts_with("https://") || (allow_private && template.starts_with("http://"))) {
        return Err(format!("{host} gave an unusable follow page"));
    }
    let uri = format!("acct:{}", ours.trim_start_matches('@'));
    Ok(template.replace("{uri}", &urlencode(&uri)))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        assert_eq!(parse_handle("@ana@social.example"), Some(("ana", "social.example")));
        assert_eq!(parse_handle("ana@localhost:8081"), Some(("ana", "localhost:8081")));
        assert_eq!(parse_handle("ana"), None);
        assert_eq!(parse_handle("@ana@evil/path"), None);
        assert_eq!(urlencode("acct:demo@host:1"), "acct%3Ademo%40host%3A1");
    }
}
