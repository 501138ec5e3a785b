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
    follow_page(template, host, ours, allow_private)
}

/// The reader's follow page: `template` filled in with `ours`, only when it
/// is an `https` URL (`http` on a test instance) on the server named in the
/// handle, port included. Any other answer is refused, so that a WebFinger
/// document cannot make this site send its readers somewhere else (a
/// look-alike sign-in page, say).
fn follow_page(template: &str, host: &str, ours: &str, allow_private: bool) -> Result<String, String> {
    let unusable = || format!("{host} gave an unusable follow page");
    let uri = format!("acct:{}", ours.trim_start_matches('@'));
    let url = url::Url::parse(&template.replace("{uri}", &urlencode(&uri))).map_err(|_| unusable())?;
    let scheme_ok = url.scheme() == "https" || (allow_private && url.scheme() == "http");
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port.parse::<u16>().map_err(|_| unusable())?)),
        None => (host, None),
    };
    let host_ok = url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(name))
        && match port {
            Some(p) => url.port_or_known_default() == Some(p),
            None => url.port().is_none(),
        };
    if !(scheme_ok && host_ok && url.username().is_empty() && url.password().is_none()) {
        return Err(unusable());
    }
    Ok(url.into())
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

    #[test]
    fn follow_pages_only_on_the_readers_server() {
        let page =
            |template: &str, host: &str, private: bool| follow_page(template, host, "@news@ours.example", private);
        assert_eq!(
            page(
                "https://social.example/authorize_interaction?uri={uri}",
                "social.example",
                false
            )
            .unwrap(),
            "https://social.example/authorize_interaction?uri=acct%3Anews%40ours.example"
        );
        assert!(page("https://SOCIAL.example/follow?u={uri}", "social.example", false).is_ok());
        assert!(page("http://localhost:8081/follow?u={uri}", "localhost:8081", true).is_ok());
        for (template, host, private) in [
            ("https://phish.example/login?u={uri}", "social.example", false),
            ("https://social.example.phish.example/?u={uri}", "social.example", false),
            ("https://social.example@phish.example/?u={uri}", "social.example", false),
            ("https://user@social.example/?u={uri}", "social.example", false),
            ("https://social.example:8443/?u={uri}", "social.example", false),
            ("https://localhost:9999/?u={uri}", "localhost:8081", true),
            ("http://social.example/?u={uri}", "social.example", false),
            ("javascript:alert(1)//{uri}", "social.example", true),
            ("//phish.example/{uri}", "social.example", false),
            ("not a url", "social.example", false),
        ] {
            assert!(page(template, host, private).is_err(), "{template} for {host}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// Templates a WebFinger answer could give: any scheme, user info,
        /// the reader's host or a look-alike, any port, any path.
        fn template() -> impl Strategy<Value = String> {
            (
                prop::sample::select(vec![
                    "https://",
                    "http://",
                    "HTTPS://",
                    "javascript:",
                    "//",
                    "https:/",
                    "",
                ]),
                prop::sample::select(vec!["", "user@", "social.example@", "a:b@"]),
                prop::sample::select(vec![
                    "social.example",
                    "SOCIAL.EXAMPLE",
                    "social.example.",
                    "evil.example",
                    "social.example.evil.example",
                    "xn--socal-bva.example",
                    "127.0.0.1",
                    "[::1]",
                ]),
                prop::sample::select(vec!["", ":443", ":8443", ":80", ":"]),
                "[ -~]{0,12}",
            )
                .prop_map(|(scheme, user, host, port, path)| format!("{scheme}{user}{host}{port}/{path}{{uri}}"))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            /// A follow page is only ever an https URL on the reader's own
            /// server, whatever the WebFinger answer says.
            #[test]
            fn follow_pages_stay_on_the_readers_server(template in template()) {
                if let Ok(page) = follow_page(&template, "social.example", "@news@ours.example", false) {
                    let url = url::Url::parse(&page).unwrap();
                    prop_assert_eq!(url.scheme(), "https");
                    prop_assert_eq!(url.host_str(), Some("social.example"), "{}", &page);
                    prop_assert_eq!(url.port(), None);
                    prop_assert!(url.username().is_empty() && url.password().is_none());
                }
            }
        }
    }
}
