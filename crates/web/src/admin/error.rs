//! The one error of the admin pages, [`AdminError`]: what went wrong and the
//! interface language to say it in, rendered as the admin's error page.
//! Handlers return [`AdminResult`] and pass failures up with `?`: a store or
//! federation failure through [`OrPage::or_page`] (which adds the signed-in
//! user's language), a refusal of their own through [`Signed::fail`] or
//! [`Signed::forbidden`]. Store failures take their status from
//! [`crate::error::store_answer`], the mapping the whole web surface shares.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_federation::FederationError;
use gazette_store::StoreError;

use super::{Signed, error_page, error_page_text};
use crate::AppState;

/// What an admin handler answers: a page (or redirect), or the error page.
pub(crate) type AdminResult = Result<Response, AdminError>;

/// A failure inside the admin, with what it needs to be shown: the
/// interface language, and the state that holds the templates.
pub(crate) struct AdminError {
    state: AppState,
    lang: String,
    failure: Box<Failure>,
}

/// What went wrong.
pub(crate) enum Failure {
    /// The store refused or failed; its status comes from
    /// [`crate::error::store_answer`].
    Store(StoreError),
    /// A federation failure: a store failure inside keeps its meaning,
    /// anything else is the server's fault.
    Federation(FederationError),
    /// A page of its own: the status and the strings of its title and text.
    Page {
        status: StatusCode,
        title: &'static str,
        text: &'static str,
    },
    /// The status, the string of the title, and a message already in words
    /// (a refusal that quotes what was sent).
    Message {
        status: StatusCode,
        title: &'static str,
        text: String,
    },
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<FederationError> for Failure {
    fn from(e: FederationError) -> Self {
        Failure::Federation(e)
    }
}

impl Failure {
    /// 404: nothing here.
    pub(crate) fn not_found() -> Self {
        Failure::Page {
            status: StatusCode::NOT_FOUND,
            title: "error_not_found",
            text: "error_not_found_text",
        }
    }

    /// 403: this role may not do this.
    pub(crate) fn forbidden() -> Self {
        Failure::Page {
            status: StatusCode::FORBIDDEN,
            title: "error_forbidden",
            text: "error_forbidden_text",
        }
    }

    /// 400 for a request no page of ours sends, naming what is wrong.
    pub(crate) fn bad_request(text: impl Into<String>) -> Self {
        Failure::Message {
            status: StatusCode::BAD_REQUEST,
            title: "error_bad_request",
            text: text.into(),
        }
    }
}

impl AdminError {
    /// `failure`, to be shown in `lang` (pages outside a session).
    pub(crate) fn new(state: &AppState, lang: &str, failure: impl Into<Failure>) -> Self {
        AdminError {
            state: state.clone(),
            lang: lang.to_owned(),
            failure: Box::new(failure.into()),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let AdminError { state, lang, failure } = self;
        let store = |e: StoreError| {
            let answer = crate::error::store_answer(&e);
            match answer.status {
                StatusCode::NOT_FOUND => {
                    error_page(&state, &lang, answer.status, "error_not_found", "error_not_found_text")
                }
                StatusCode::INTERNAL_SERVER_ERROR => internal(&state, &lang, &e),
                // Forms that can be refused show their own message beside
                // the field; these come from hand-made or stale requests.
                status => {
                    let title = match status {
                        StatusCode::CONFLICT => "error_conflict",
                        _ => "error_bad_request",
                    };
                    let title = state.templates().text(&lang, title);
                    error_page_text(&state, &lang, status, &title, &e.to_string())
                }
            }
        };
        match *failure {
            Failure::Store(e) | Failure::Federation(FederationError::Store(e)) => store(e),
            Failure::Federation(other) => internal(&state, &lang, &other),
            Failure::Page { status, title, text } => error_page(&state, &lang, status, title, text),
            Failure::Message { status, title, text } => {
                let title = state.templates().text(&lang, title);
                error_page_text(&state, &lang, status, &title, &text)
            }
        }
    }
}

/// 500, the cause logged and not shown.
fn internal(state: &AppState, lang: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin page failed");
    error_page(
        state,
        lang,
        StatusCode::INTERNAL_SERVER_ERROR,
        "error_internal",
        "error_internal_text",
    )
}

impl Signed {
    /// `failure`, shown in this user's language.
    pub(crate) fn fail(&self, failure: impl Into<Failure>) -> AdminError {
        AdminError::new(&self.state, &self.lang, failure)
    }

    /// The 403 page for a role that may not do this.
    pub(crate) fn forbidden(&self) -> AdminError {
        self.fail(Failure::forbidden())
    }
}

/// `?` for a store or federation call inside a signed-in page: its failure
/// becomes the error page in the user's language.
pub(crate) trait OrPage<T> {
    fn or_page(self, signed: &Signed) -> Result<T, AdminError>;
}

impl<T, E: Into<Failure>> OrPage<T> for Result<T, E> {
    fn or_page(self, signed: &Signed) -> Result<T, AdminError> {
        self.map_err(|e| signed.fail(e))
    }
}
