//! `/admin/newsletter` (admins only): subscribers per language, the queue
//! of mails waiting, an export of every address as CSV, and the removal of
//! one address (with its queued mails). See docs/ADMIN.md.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use serde_json::json;

use super::session::CsrfForm;
use super::{Admin, AdminResult, OrPage, Signed, render};
use crate::AppState;

/// `GET /admin/newsletter`
pub(crate) async fn get_newsletter(State(state): State<AppState>, Admin(signed): Admin) -> AdminResult {
    page(&state, &signed, String::new(), None, None).await
}

async fn page(
    state: &AppState,
    signed: &Signed,
    email: String,
    flash: Option<String>,
    error: Option<String>,
) -> AdminResult {
    let counts = state.store().subscriber_counts().await.or_page(signed)?;
    let queued = state.store().count_newsletter_queue().await.or_page(signed)?;
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let mut r = render(
        state,
        signed,
        "newsletter",
        "admin/newsletter.html",
        json!({ "counts": counts, "queued": queued, "email": email, "flash": flash, "error": error }),
    );
    if r.status().is_success() {
        *r.status_mut() = status;
    }
    Ok(r)
}

/// `GET /admin/newsletter/subscribers.csv`: `email,language,status,subscribed_at,confirmed_at`.
pub(crate) async fn get_csv(State(state): State<AppState>, Admin(signed): Admin) -> AdminResult {
    let subscribers = state.store().list_subscribers().await.or_page(&signed)?;
    let mut csv = String::from("email,language,status,subscribed_at,confirmed_at\r\n");
    for s in &subscribers {
        csv.push_str(&format!(
            "{},{},{},{},{}\r\n",
            csv_field(&s.email),
            csv_field(&s.language),
            if s.confirmed { "confirmed" } else { "pending" },
            s.created_at.to_rfc3339(),
            s.confirmed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ));
    }
    tracing::info!(
        by = signed.session.user.username,
        subscribers = subscribers.len(),
        "newsletter subscribers exported"
    );
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"subscribers.csv\""),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        csv,
    )
        .into_response())
}

/// A CSV field, quoted when it holds a separator or quote, and never
/// starting like a spreadsheet formula.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// `POST /admin/newsletter/remove` — forgets one address.
pub(crate) async fn post_remove(State(state): State<AppState>, form: CsrfForm<Admin>) -> AdminResult {
    let signed = &form.signed;
    let email = form.fields.get("email").trim().to_owned();
    match state.store().remove_subscriber_email(&email).await {
        Ok(true) => {
            tracing::info!(by = signed.session.user.username, "newsletter subscriber removed");
            let flash = state.templates().text(&signed.lang, "newsletter_admin_removed");
            page(&state, signed, String::new(), Some(flash), None).await
        }
        Ok(false) => {
            let error = state.templates().text(&signed.lang, "newsletter_admin_not_found");
            page(&state, signed, email, None, Some(error)).await
        }
        Err(e) => Err(signed.fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields() {
        assert_eq!(csv_field("ana@coop.example"), "ana@coop.example");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }
}
