//! `/admin/media`: the image library. Everyone signed in sees the images
//! (newest first, with size, dimensions, alt text, where each is used and a
//! Markdown snippet to paste) and may upload one with its alt text; editors
//! and admins also correct alt text and delete images that nothing uses.
//! A delete of a used image is refused with the list of places using it.
//!
//! The editor's script uploads here too (`Accept: application/json`): it
//! gets the stored image's URL and snippet back instead of a page.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gazette_core::Media;
use gazette_store::{MediaUse, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::{CsrfForm, MaybeSigned, csrf_ok};
use super::upload::{Refusal, check_image, markdown_snippet, read_upload_form, too_large};
use super::{AdminResult, Editor, Failure, FormError, OrPage, Signed, done_notice, page_count, page_number, render};
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    page: Option<String>,
    done: Option<String>,
    /// `1`: only the images an import stored without alt text.
    needs_alt: Option<String>,
}

/// One place an image is used, as the page shows it.
#[derive(Serialize)]
struct UseView {
    text: String,
    href: String,
}

#[derive(Serialize)]
struct Row {
    id: String,
    url: String,
    alt: String,
    content_type: String,
    width: u32,
    height: u32,
    size: String,
    created: String,
    markdown: String,
    uses: Vec<UseView>,
    /// Stored by an import without alt text.
    needs_alt: bool,
}

/// What a refused form brings back to the page.
#[derive(Default)]
struct Refused {
    errors: Vec<FormError>,
    /// Alt text typed in the upload form.
    upload_alt: String,
    /// Alt text typed for an image, by id.
    row_alt: HashMap<String, String>,
    status: Option<StatusCode>,
}

/// A size for people: bytes, KB or MB.
fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn use_view(state: &AppState, lang: &str, u: &MediaUse) -> UseView {
    let text = state
        .templates()
        .text(lang, &format!("media_use_{}", u.kind))
        .replace("{name}", &u.label);
    let href = match u.kind {
        "logo" => "/admin/organisation".to_owned(),
        "avatar" => format!("/admin/authors/{}", crate::pages::encode_segment(&u.key)),
        _ => format!("/admin/articles/{}", crate::pages::encode_segment(&u.key)),
    };
    UseView { text, href }
}

fn row(state: &AppState, lang: &str, m: &Media, uses: &[MediaUse]) -> Row {
    Row {
        id: m.id.clone(),
        url: crate::pages::media_path(&m.id),
        alt: m.alt.clone(),
        content_type: m.content_type.clone(),
        width: m.width,
        height: m.height,
        size: human_size(m.size),
        created: m.created_at.to_rfc3339(),
        markdown: markdown_snippet(&m.alt, &m.id),
        uses: uses.iter().map(|u| use_view(state, lang, u)).collect(),
        needs_alt: m.alt.trim().is_empty(),
    }
}

async fn page(state: &AppState, signed: &Signed, number: i64, flash: Option<String>, refused: Refused) -> AdminResult {
    page_of(state, signed, number, flash, refused, false).await
}

/// The library, or with `needs_alt_only` the images waiting for alt text.
async fn page_of(
    state: &AppState,
    signed: &Signed,
    number: i64,
    flash: Option<String>,
    refused: Refused,
    needs_alt_only: bool,
) -> AdminResult {
    let store = state.store();
    let offset = (number - 1).saturating_mul(PER_PAGE);
    let listed = async {
        match needs_alt_only {
            true => tokio::try_join!(
                store.list_media_needing_alt(PER_PAGE, offset),
                store.count_media_needing_alt()
            ),
            false => tokio::try_join!(store.list_media(PER_PAGE, offset), store.count_media()),
        }
    };
    let (found, total, needs_alt_count) = match tokio::try_join!(listed, store.count_media_needing_alt()) {
        Ok(((found, total), n)) => (found, total, n),
        Err(e) => return Err(signed.fail(e)),
    };
    let ids: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
    let uses = store.media_uses_of(&ids).await.or_page(signed)?;
    let rows: Vec<Row> = found
        .iter()
        .map(|m| {
            let mut r = row(
                state,
                &signed.lang,
                m,
                uses.get(&m.id).map(Vec::as_slice).unwrap_or(&[]),
            );
            if let Some(typed) = refused.row_alt.get(&m.id) {
                r.alt = typed.clone();
            }
            r
        })
        .collect();
    let pages = page_count(total, PER_PAGE);
    let filter = if needs_alt_only { "needs_alt=1&" } else { "" };
    let link = |n: i64| format!("/admin/media?{filter}page={n}");
    let field_errors = super::field_errors(&refused.errors);
    let body = json!({
        "rows": rows,
        "total": total,
        "page": number,
        "pages": pages,
        "prev": (number > 1).then(|| link(number - 1)),
        "next": (number < pages).then(|| link(number + 1)),
        "can_manage": signed.session.user.role.is_editor(),
        "flash": flash,
        "errors": refused.errors,
        "field_errors": field_errors,
        "upload_alt": refused.upload_alt,
        "max_upload_mb": state.config().max_upload_bytes as f64 / (1024.0 * 1024.0),
        "needs_alt_only": needs_alt_only,
        "needs_alt_count": needs_alt_count,
    });
    let mut r = render(state, signed, "media", "admin/media.html", body);
    if let Some(s) = refused.status {
        *r.status_mut() = s;
    }
    Ok(r)
}

/// `GET /admin/media?page=` — the library, newest first.
pub(crate) async fn get_media(State(state): State<AppState>, signed: Signed, Query(p): Query<Params>) -> AdminResult {
    let flash = done_notice(
        &state,
        &signed.lang,
        p.done.as_deref(),
        &["media_uploaded", "media_alt_saved", "media_deleted"],
    );
    let number = page_number(p.page.as_deref());
    let needs_alt_only = p.needs_alt.as_deref() == Some("1");
    page_of(&state, &signed, number, flash, Refused::default(), needs_alt_only).await
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `POST /admin/media` — stores an uploaded image with its alt text. A page
/// post comes back to the library; the editor's script (asking for JSON)
/// gets `{id, url, alt, markdown}` or `{error}`.
pub(crate) async fn post_media(State(state): State<AppState>, signed: MaybeSigned, req: Request) -> AdminResult {
    let (signed, req) = match signed.or_keep(&state, req).await {
        Ok(signed) => signed,
        Err(kept) => return Ok(kept),
    };
    let json_reply = wants_json(req.headers());
    let headers = req.headers().clone();
    let lang = signed.lang.clone();
    let t = |k: &str| state.templates().text(&lang, k);
    let form = match read_upload_form(&state, req, "file").await {
        Ok(f) => f,
        Err(msg) => return Err(signed.fail(Failure::bad_request(msg))),
    };
    if !csrf_ok(&signed, form.fields.get("_csrf")) {
        if json_reply {
            return Ok(super::session::csrf_refused(&state, &lang));
        }
        let kept = form.kept("/admin/media", "file");
        return Ok(super::keep::stale_token(&state, &signed, &headers, kept));
    }
    let alt = form.fields.get("alt").trim().to_owned();
    let mut errors = Vec::new();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let mut accepted = None;
    let file_refused = match (&form.file, form.too_big) {
        (_, true) => Some(too_large(&state, &lang)),
        (None, false) => Some(Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: t("media_file_required"),
        }),
        (Some(bytes), false) => match check_image(&state, &lang, bytes) {
            Ok(a) => {
                accepted = Some(a);
                None
            }
            Err(refusal) => Some(refusal),
        },
    };
    if let Some(Refusal { status: s, message }) = file_refused {
        status = s;
        errors.push(FormError::new("media-file", message));
    }
    if alt.is_empty() {
        errors.push(FormError::new("media-alt", t("media_alt_required")));
    }
    if let (true, Some((info, bytes))) = (errors.is_empty(), accepted) {
        let m = state.store().create_media(&info, &alt, &bytes).await.or_page(&signed)?;
        if !json_reply {
            return Ok(super::see_other("/admin/media?done=media_uploaded"));
        }
        let stored = json!({
            "id": m.id,
            "url": crate::pages::media_path(&m.id),
            "alt": m.alt,
            "markdown": markdown_snippet(&m.alt, &m.id),
        });
        return Ok((StatusCode::CREATED, Json(stored)).into_response());
    }
    if json_reply {
        let message = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ");
        return Ok((status, Json(json!({ "error": message }))).into_response());
    }
    let refused = Refused {
        errors,
        upload_alt: alt,
        status: Some(status),
        ..Default::default()
    };
    page(&state, &signed, 1, None, refused).await
}

/// The library page again, with one refused row form's message (and the
/// alt text typed there, when there is one).
async fn refuse_row(
    state: &AppState,
    form: &CsrfForm<Editor>,
    field: String,
    message: String,
    status: StatusCode,
    typed_alt: Option<(&str, &str)>,
) -> AdminResult {
    let mut refused = Refused {
        errors: vec![FormError::new(field, message)],
        status: Some(status),
        ..Default::default()
    };
    if let Some((id, alt)) = typed_alt {
        refused.row_alt.insert(id.to_owned(), alt.to_owned());
    }
    let number = page_number(Some(form.fields.get("page")));
    page(state, &form.signed, number, None, refused).await
}

/// `POST /admin/media/{id}/alt` — corrects an image's alt text (editors).
pub(crate) async fn post_alt(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Editor>,
) -> AdminResult {
    let signed = &form.signed;
    let alt = form.fields.get("alt");
    match state.store().update_media_alt(&id, alt).await {
        Ok(_) => {
            state.forget_media(&id);
            Ok(back(&form, "media_alt_saved"))
        }
        Err(StoreError::Invalid { .. }) => {
            let message = state.templates().text(&signed.lang, "media_alt_required");
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            refuse_row(&state, &form, format!("alt-{id}"), message, status, Some((&id, alt))).await
        }
        Err(e) => Err(signed.fail(e)),
    }
}

/// `POST /admin/media/{id}/delete` — deletes an unused image (editors); a
/// used one stays, and the page says where it is used.
pub(crate) async fn post_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Editor>,
) -> AdminResult {
    let signed = &form.signed;
    match state.store().delete_media(&id).await {
        Ok(()) => {
            state.forget_media(&id);
            Ok(back(&form, "media_deleted"))
        }
        Err(StoreError::Conflict { .. }) => {
            let uses = state.store().media_uses(&id).await.or_page(signed)?;
            let places: Vec<String> = uses.iter().map(|u| use_view(&state, &signed.lang, u).text).collect();
            let message = state
                .templates()
                .text(&signed.lang, "media_in_use")
                .replace("{places}", &places.join("; "));
            refuse_row(
                &state,
                &form,
                format!("delete-{id}"),
                message,
                StatusCode::CONFLICT,
                None,
            )
            .await
        }
        Err(e) => Err(signed.fail(e)),
    }
}

/// 303 back to the library page the form was on.
fn back(form: &CsrfForm<Editor>, done: &str) -> Response {
    let n = page_number(Some(form.fields.get("page")));
    super::see_other(&format!("/admin/media?page={n}&done={done}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_say_them() {
        assert_eq!(human_size(67), "67 B");
        assert_eq!(human_size(2048), "2.0 KB");
        assert_eq!(human_size(3 * 1024 * 1024 + 1), "3.0 MB");
    }
}
