//! The headers every response carries so that a page, if something hostile
//! ever got into it, still cannot run script or be framed: a
//! Content-Security-Policy that allows only our own script and style files
//! (no inline script, no inline style, no plugins, no `<base>`),
//! `frame-ancestors 'none'` against clickjacking, a `Referrer-Policy`
//! that sends other sites our origin only, `X-Content-Type-Options:
//! nosniff`, and HSTS when the public URL is `https`. One layer around the
//! whole router; a handler that sets a stricter policy of its own (images
//! are served with `sandbox`) keeps it.

use axum::extract::State;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// Images may come from other servers (the network page shows followed
/// accounts' pictures); everything else only from this origin. No
/// `form-action`: the follow page's form redirects to the reader's server.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: http:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Two years, with subdomains: the value browsers' preload lists ask for.
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// What the layer adds; HSTS only when the public URL is `https` (over
/// plain HTTP browsers ignore it, and a test instance must not pin it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecurityHeaders {
    pub(crate) https: bool,
}

impl SecurityHeaders {
    pub(crate) fn for_public_url(public_url: &str) -> SecurityHeaders {
        SecurityHeaders {
            https: public_url.starts_with("https://"),
        }
    }
}

/// Adds the headers a handler did not set itself.
pub(crate) async fn add_security_headers(State(config): State<SecurityHeaders>, mut response: Response) -> Response {
    apply(response.headers_mut(), config);
    response
}

/// Adds the headers to `headers` where they are not set yet: by the layer
/// above to every answer, and by the response cache to an answer it
/// stores, so that a hit's copy already carries them.
pub(crate) fn apply(headers: &mut axum::http::HeaderMap, config: SecurityHeaders) {
    let mut set = |name: HeaderName, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE);
    set(X_FRAME_OPTIONS, "DENY");
    set(REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(X_CONTENT_TYPE_OPTIONS, "nosniff");
    if config.https {
        set(STRICT_TRANSPORT_SECURITY, HSTS);
    }
}
