//! `/admin/reports`: reports (`Flag` activities) other servers sent about
//! content or accounts here — open ones first, all on request — and the
//! button that marks one handled.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gazette_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use super::session::CsrfForm;
use super::{Signed, back_to, done_notice, error_page, render, require_editor, store_failure};
use crate::AppState;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    all: Option<String>,
    done: Option<String>,
}

/// `GET /admin/reports[?all=1]` — open reports (every report with `all`), newest first.
pub(crate) async fn get_reports(State(state): State<AppState>, signed: Signed, Query(p): Query<Params>) -> Response {
    if let Some(r) = require_editor(&state, &signed) {
        return r;
    }
    let all = p.all.as_deref().is_some_and(|a| !a.is_empty() && a != "0");
    let reports = match state.store().list_reports(all).await {
        Ok(r) => r,
        Err(e) => return store_failure(&state, &signed.lang, e),
    };
    let rows: Vec<_> = reports
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "reporter": r.reporter,
                "reporter_host": url::Url::parse(&r.reporter).ok().and_then(|u| u.host_str().map(str::to_owned)),
                "targets": r.targets,
                "content": r.content,
                "status": r.status,
                "created_at": r.created_at.to_rfc3339(),
            })
        })
        .collect();
    let page = json!({
        "rows": rows,
        "all": all,
        "flash": done_notice(&state, &signed.lang, p.done.as_deref(), &["resolved"]),
    });
    render(&state, &signed, "reports", "admin/reports.html", page)
}

/// `POST /admin/reports/resolve` — marks the report `id` handled.
pub(crate) async fn post_resolve(State(state): State<AppState>, form: CsrfForm) -> Response {
    let signed = &form.signed;
    if let Some(r) = require_editor(&state, signed) {
        return r;
    }
    match state.store().resolve_report(form.fields.get("id")).await {
        Ok(()) => back_to(form.fields.get("back"), "/admin/reports", "resolved"),
        Err(StoreError::NotFound { .. }) => error_page(
            &state,
            &signed.lang,
            StatusCode::NOT_FOUND,
            "error_not_found",
            "report_not_found",
        ),
        Err(e) => store_failure(&state, &signed.lang, e),
    }
}
