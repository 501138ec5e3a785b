//! `/admin/reports`: reports (`Flag` activities) other servers sent about
//! content or accounts here — open ones first, all on request — and the
//! button that marks one handled.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use gazette_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use super::session::CsrfForm;
use super::{AdminResult, Editor, Failure, OrPage, back_to, done_notice, render};
use crate::AppState;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    all: Option<String>,
    done: Option<String>,
}

/// `GET /admin/reports[?all=1]` — open reports (every report with `all`), newest first.
pub(crate) async fn get_reports(
    State(state): State<AppState>,
    Editor(signed): Editor,
    Query(p): Query<Params>,
) -> AdminResult {
    let all = p.all.as_deref().is_some_and(|a| !a.is_empty() && a != "0");
    let reports = state.store().list_reports(all).await.or_page(&signed)?;
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
    Ok(render(&state, &signed, "reports", "admin/reports.html", page))
}

/// `POST /admin/reports/resolve` — marks the report `id` handled.
pub(crate) async fn post_resolve(State(state): State<AppState>, form: CsrfForm<Editor>) -> AdminResult {
    let signed = &form.signed;
    match state.store().resolve_report(form.fields.get("id")).await {
        Ok(()) => Ok(back_to(form.fields.get("back"), "/admin/reports", "resolved")),
        Err(StoreError::NotFound { .. }) => Err(signed.fail(Failure::Page {
            status: StatusCode::NOT_FOUND,
            title: "error_not_found",
            text: "report_not_found",
        })),
        Err(e) => Err(signed.fail(e)),
    }
}
