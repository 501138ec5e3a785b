//! Errors at the HTTP edge of the web surface: the one place where store
//! and validation errors become status codes ([`store_answer`], which the
//! JSON API's [`ApiError`], the public pages' [`PageError`] and the admin's
//! `AdminError` all use). Clients get a safe message; internal details go
//! to logs.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use gazette_core::html::escape;
use gazette_core::{FieldError, ValidationError};
use gazette_store::StoreError;
use serde_json::json;

/// An error from a JSON API handler: `{"error": {"code", "message", "field", "details"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            details: Vec::new(),
        }
    }

    pub fn field(status: StatusCode, code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        ApiError {
            status,
            code,
            details: vec![FieldError::new(field.clone(), code, message.clone())],
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let first = e.first().cloned();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: first.as_ref().map(|f| f.code).unwrap_or("invalid"),
            message: e.to_string(),
            field: first.map(|f| f.field),
            details: e.0,
        }
    }
}

/// How the web surface answers a store failure. Each surface words the
/// answer its own way (JSON, a small page, an admin page in the user's
/// language) but takes the status from here.
#[derive(Debug)]
pub(crate) struct StoreAnswer {
    pub(crate) status: StatusCode,
    /// A stable name for the kind of failure: `not_found`, `conflict`,
    /// `stale_version`, `invalid` or `internal`.
    pub(crate) code: &'static str,
    /// The input a refusal is about (conflicts, stale versions, invalid input).
    pub(crate) field: Option<&'static str>,
    /// The store's message about that field, else the whole error.
    pub(crate) message: String,
}

/// The one mapping from [`StoreError`] to HTTP for public pages, the JSON
/// API and the admin: missing is 404, a clash or a stale version 409, a
/// refused value 422, and anything else (the database, corrupt data) 500.
pub(crate) fn store_answer(e: &StoreError) -> StoreAnswer {
    let (status, code, field, message) = match e {
        StoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", None, e.to_string()),
        StoreError::Conflict { field, message } => (StatusCode::CONFLICT, "conflict", Some(*field), message.clone()),
        StoreError::StaleVersion { .. } => (StatusCode::CONFLICT, "stale_version", Some("version"), e.to_string()),
        StoreError::Invalid { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some(*field),
            message.clone(),
        ),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None, e.to_string()),
    };
    StoreAnswer {
        status,
        code,
        field,
        message,
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let answer = store_answer(&e);
        match answer.field {
            _ if answer.status == StatusCode::INTERNAL_SERVER_ERROR => ApiError::internal(e),
            None => ApiError::new(answer.status, answer.code, answer.message),
            Some(field) => {
                let mut err = ApiError::field(answer.status, answer.code, field, answer.message);
                // A stable name for the conflict clients meet most.
                if answer.code == "conflict" && field == "slug" {
                    for d in &mut err.details {
                        d.key = "slug_taken";
                    }
                }
                err
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = &self.field {
            error["field"] = json!(field);
        }
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// An error from an HTML page handler, shown as a small accessible page.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    /// The article existed and was deleted.
    Gone,
    BadRequest(String),
    Internal(String),
}

impl From<StoreError> for PageError {
    /// Public pages only read: what is missing is a 404, anything else the
    /// server's fault.
    fn from(e: StoreError) -> Self {
        match store_answer(&e).status {
            StatusCode::NOT_FOUND => PageError::NotFound,
            _ => PageError::Internal(e.to_string()),
        }
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> Self {
        PageError::Internal(format!("template: {e:#}"))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, text) = match &self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address.".to_owned(),
            ),
            PageError::Gone => (
                StatusCode::GONE,
                "Article deleted",
                "This article was deleted by its publisher.".to_owned(),
            ),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m.clone()),
            PageError::Internal(m) => {
                tracing::error!(error = %m, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not show this page.".to_owned(),
                )
            }
        };
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>\
             <body><main class=\"container error-page\"><h1>{title}</h1><p>{}</p><p><a href=\"/\">Home</a></p></main></body></html>",
            escape(&text)
        );
        (status, Html(body)).into_response()
    }
}
