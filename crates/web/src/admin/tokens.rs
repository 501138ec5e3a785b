//! `/admin/tokens` (admins only): the REST API's bearer tokens — create one
//! (its secret is shown once, then only its SHA-256 is kept; it belongs to
//! the admin who made it and stops working if they are disabled; it may
//! expire), list them with their owner, expiry and last use, revoke. The
//! same store calls as `gazette token`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use gazette_store::StoreError;
use serde_json::json;

use super::session::CsrfForm;
use super::{Admin, AdminResult, OrPage, Signed, render};
use crate::AppState;

/// What the page shows besides the list.
#[derive(Default)]
struct View {
    name: String,
    expires_days: String,
    error: Option<String>,
    /// A token just created: its name and secret, shown once.
    created: Option<(String, String)>,
    flash: Option<String>,
    status: Option<StatusCode>,
}

/// `GET /admin/tokens`
pub(crate) async fn get_tokens(State(state): State<AppState>, Admin(signed): Admin) -> AdminResult {
    page(&state, &signed, View::default()).await
}

async fn page(state: &AppState, signed: &Signed, view: View) -> AdminResult {
    let tokens = state.store().list_tokens().await.or_page(signed)?;
    let rows: Vec<_> = tokens
        .iter()
        .rev()
        .map(|t| {
            json!({
                "id": t.id,
                "name": t.name,
                "owner": t.owner,
                "created_at": t.created_at.to_rfc3339(),
                "expires_at": t.expires_at.map(|x| x.to_rfc3339()),
                "expired": t.expires_at.is_some_and(|x| x <= chrono::Utc::now()),
                "last_used_at": t.last_used_at.map(|x| x.to_rfc3339()),
                "revoked_at": t.revoked_at.map(|x| x.to_rfc3339()),
            })
        })
        .collect();
    let page = json!({
        "rows": rows,
        "name": view.name,
        "expires_days": view.expires_days,
        "error": view.error,
        "created": view.created.map(|(name, secret)| json!({"name": name, "secret": secret})),
        "flash": view.flash,
        "api_url": state.url("/api"),
    });
    let mut r = render(state, signed, "tokens", "admin/tokens.html", page);
    if let Some(s) = view.status {
        *r.status_mut() = s;
    }
    Ok(r)
}

/// `POST /admin/tokens` — creates a token named `name` and shows its secret once.
pub(crate) async fn post_create(State(state): State<AppState>, form: CsrfForm<Admin>) -> AdminResult {
    let signed = &form.signed;
    let name = form.fields.get("name").to_owned();
    let expires_days = form.fields.get("expires_days").trim().to_owned();
    let expires = match expires_days.as_str() {
        "" => None,
        days => match days.parse::<i64>() {
            Ok(d) if (1..=3660).contains(&d) => Some(chrono::Utc::now() + chrono::Duration::days(d)),
            _ => {
                let view = View {
                    name,
                    expires_days,
                    error: Some(state.templates().text(&signed.lang, "token_expires_invalid")),
                    status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                    ..Default::default()
                };
                return page(&state, signed, view).await;
            }
        },
    };
    let created = state
        .store()
        .create_token_for(&name, Some(&signed.session.user.id), expires)
        .await;
    match created {
        Ok((token, secret)) => {
            tracing::info!(
                by = signed.session.user.username,
                token = token.name,
                "API token created"
            );
            let view = View {
                created: Some((token.name, secret)),
                ..Default::default()
            };
            page(&state, signed, view).await
        }
        Err(StoreError::Invalid { .. }) => {
            let view = View {
                name,
                expires_days,
                error: Some(state.templates().text(&signed.lang, "token_name_required")),
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                ..Default::default()
            };
            page(&state, signed, view).await
        }
        Err(e) => Err(signed.fail(e)),
    }
}

/// `POST /admin/tokens/{id}/revoke` — the token stops working at once.
pub(crate) async fn post_revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Admin>,
) -> AdminResult {
    let signed = &form.signed;
    match state.store().revoke_token(&id).await {
        Ok(token) => {
            tracing::info!(
                by = signed.session.user.username,
                token = token.name,
                "API token revoked"
            );
            let flash = Some(
                state
                    .templates()
                    .text(&signed.lang, "done_token_revoked")
                    .replace("{name}", &token.name),
            );
            page(
                &state,
                signed,
                View {
                    flash,
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => Err(signed.fail(e)),
    }
}
