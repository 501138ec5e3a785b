//! What went wrong talking to another server, in words: activitypub_federation
//! reads any answer as a document, so a remote 500 became "Failed to parse
//! object", a 418 "doesn't have valid ActivityPub Content-Type" and a 404
//! "EOF while parsing". The middleware here sits in the library's client and
//! turns error answers into [`RemoteStatus`] errors (host, status, the
//! server's own message); [`remote_problem`] finds them, and network
//! failures, in the library's errors.

use activitypub_federation::error::Error as LibraryError;
use axum::http::Extensions;
use gazette_http::RemoteStatus;
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

/// Fails requests answered 4xx or 5xx, except 410 Gone, which the library
/// reads as "deleted". Redirects pass: the library follows one itself.
pub(crate) struct ErrorStatuses;

#[async_trait::async_trait]
impl Middleware for ErrorStatuses {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let response = next.run(req, extensions).await?;
        let status = response.status();
        if (status.is_client_error() && status != StatusCode::GONE) || status.is_server_error() {
            return Err(reqwest_middleware::Error::middleware(
                RemoteStatus::read(response).await,
            ));
        }
        Ok(response)
    }
}

/// What another server answered, or why it could not be reached, when `e`
/// comes from a request to it.
pub(crate) fn remote_problem(e: &LibraryError) -> Option<String> {
    match e {
        LibraryError::ReqwestMiddleware(reqwest_middleware::Error::Middleware(m)) => {
            m.downcast_ref::<RemoteStatus>().map(ToString::to_string)
        }
        LibraryError::ReqwestMiddleware(reqwest_middleware::Error::Reqwest(r)) | LibraryError::Reqwest(r) => {
            Some(unreachable(r))
        }
        _ => None,
    }
}

/// "social.example could not be reached: …", "social.example did not answer
/// in time", or the address guard's refusal.
pub(crate) fn unreachable(e: &reqwest::Error) -> String {
    if let Some(forbidden) = gazette_http::find_forbidden(e) {
        return forbidden.to_string();
    }
    let host = match e.url() {
        Some(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => u.to_string(),
        },
        None => "the remote server".to_owned(),
    };
    if e.is_timeout() {
        format!("{host} did not answer in time")
    } else {
        format!("{host} could not be reached: {}", gazette_http::error_chain(e))
    }
}
