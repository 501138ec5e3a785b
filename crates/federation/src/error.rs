//! The federation layer's error type and its HTTP mapping: refusals are 4xx
//! with a reason, our own failures are 500, and nothing a remote server sends
//! can make us answer 5xx by itself being odd.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("not found")]
    NotFound,
    #[error("gone")]
    Gone,
    /// The request is refused (bad signature, blocked domain, malformed…).
    #[error("{1}")]
    Refused(StatusCode, String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("federation library: {0}")]
    Library(activitypub_federation::error::Error),
    /// Another server answered with an error, or could not be reached: the
    /// message names the host, the HTTP status and the server's own message
    /// ("social.example answered HTTP 500 Internal Server Error: …").
    #[error("{0}")]
    Remote(String),
    /// Too many requests from the sender: retry after this many seconds.
    #[error("{1}")]
    RateLimited(u64, String),
    #[error("{0}")]
    Internal(String),
}

impl FederationError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        FederationError::Refused(StatusCode::BAD_REQUEST, msg.into())
    }
}

/// A library error that came from talking to another server becomes
/// [`FederationError::Remote`] with what the server answered (see
/// [`crate::remote_status`]); other library errors stay as they are.
impl From<activitypub_federation::error::Error> for FederationError {
    fn from(e: activitypub_federation::error::Error) -> Self {
        match crate::remote_status::remote_problem(&e) {
            Some(problem) => FederationError::Remote(problem),
            None => FederationError::Library(e),
        }
    }
}

impl From<serde_json::Error> for FederationError {
    fn from(e: serde_json::Error) -> Self {
        FederationError::bad_request(format!("malformed JSON: {e}"))
    }
}

impl From<url::ParseError> for FederationError {
    fn from(e: url::ParseError) -> Self {
        FederationError::bad_request(format!("malformed URL: {e}"))
    }
}

impl IntoResponse for FederationError {
    fn into_response(self) -> Response {
        use activitypub_federation::error::Error as L;
        let (status, msg) = match &self {
            FederationError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
            FederationError::Gone => (StatusCode::GONE, "gone".to_owned()),
            FederationError::Refused(s, m) => (*s, m.clone()),
            FederationError::RateLimited(secs, m) => {
                tracing::info!(retry_after = secs, reason = %m, "federation request rate limited");
                let mut r = (StatusCode::TOO_MANY_REQUESTS, m.clone()).into_response();
                r.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*secs));
                return r;
            }
            // The sender's actor or key could not be fetched: we cannot
            // verify the request, so it is refused, not failed.
            FederationError::Remote(m) => (StatusCode::UNAUTHORIZED, format!("cannot verify the sender: {m}")),
            FederationError::Store(StoreError::NotFound { .. }) => (StatusCode::NOT_FOUND, self.to_string()),
            // e.g. an `Update` of a reply by someone other than its author.
            FederationError::Store(StoreError::Conflict { message, .. }) => (StatusCode::CONFLICT, message.clone()),
            FederationError::Library(e) => match e {
                L::ActivitySignatureInvalid => (StatusCode::UNAUTHORIZED, e.to_string()),
                L::ActivityBodyDigestInvalid => (StatusCode::BAD_REQUEST, e.to_string()),
                L::ParseReceivedActivity { .. } | L::UrlParse(_) | L::UrlVerificationError(_) => {
                    (StatusCode::BAD_REQUEST, e.to_string())
                }
                L::NotFound | L::ObjectDeleted(_) => (StatusCode::BAD_REQUEST, e.to_string()),
                // The sender's actor or key could not be fetched: we cannot
                // verify the request, so it is refused, not failed.
                L::Reqwest(_)
                | L::ReqwestMiddleware(_)
                | L::ParseFetchedObject(..)
                | L::RequestLimit
                | L::ResponseBodyLimit
                | L::DomainResolveError(_)
                | L::ResolveInternalIpError(..) => (StatusCode::UNAUTHORIZED, format!("cannot verify the sender: {e}")),
                other => {
                    tracing::warn!(error = %other, "federation request refused");
                    (StatusCode::BAD_REQUEST, other.to_string())
                }
            },
            FederationError::Store(e) => {
                tracing::error!(error = %e, "federation: store failure");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
            }
            FederationError::Internal(e) => {
                tracing::error!(error = %e, "federation: internal failure");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
            }
        };
        if status.is_client_error() {
            tracing::info!(%status, reason = %msg, "federation request refused");
        }
        (status, msg).into_response()
    }
}
