//! Articles in the admin: the list ([`list`]: status filter, search,
//! pages) and the editor, one multipart form for create and edit with every translation
//! side by side, the interview fields, tags, schedule and cover image (a
//! new file is stored in the same transaction as the article, so a refused
//! save leaves no orphan image). Saves go through [`crate::content`], the
//! write path the REST API uses, which also federates the change.
//!
//! A refused save never loses what was typed: the form comes back with the
//! text as sent and a message per field (only a chosen file must be chosen
//! again: browsers do not keep file inputs). The article's version travels
//! in a hidden field, so a save based on an older version is refused with
//! a conflict instead of overwriting someone else's edit.
//!
//! The schedule is typed and shown in the user's time zone
//! ([`Signed::tz`]): a time the clocks skip there is refused, naming it,
//! with everything kept; one they repeat takes the first and says so.
//!
//! This file holds the editor's routes and its page; [`form`] what the
//! form holds and how it becomes an article, [`read`] the reading of its
//! multipart post.

mod form;
mod list;
mod quotes;
mod read;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use gazette_core::html::escape;
use gazette_core::local_time::{self, LocalTimeError, Reading};
use gazette_core::{Article, ArticleStatus};
use gazette_store::{NewMedia, Role, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::keep::Kept;
use super::session::{CsrfForm, MaybeSigned, csrf_ok};
use super::{AdminError, AdminResult, Failure, FormError, OrPage, Signed, render, see_other};
use crate::AppState;
use crate::content::{self, WriteError};
use form::{CoverView, EditorForm, TranslationForm};
pub(crate) use list::get_articles;
pub(crate) use quotes::{get_quotes, post_policy as post_quote_policy, post_revoke as post_revoke_quote};
use read::{Posted, read_editor};

/// How many recent library images the editor offers to insert.
const LIBRARY_CHOICES: i64 = 50;

/// Everything the editor template needs besides the form.
struct EditorView {
    errors: Vec<FormError>,
    conflict: Option<i64>,
    notice: Option<String>,
    status: StatusCode,
}

impl EditorView {
    fn ok() -> Self {
        EditorView {
            errors: Vec::new(),
            conflict: None,
            notice: None,
            status: StatusCode::OK,
        }
    }

    fn failed(status: StatusCode, errors: Vec<FormError>) -> Self {
        EditorView {
            errors,
            status,
            ..EditorView::ok()
        }
    }
}

async fn render_editor(state: &AppState, signed: &Signed, form: &EditorForm, view: EditorView) -> AdminResult {
    let (authors, library) = tokio::try_join!(
        state.store().list_authors(),
        state.store().list_media(LIBRARY_CHOICES, 0)
    )
    .or_page(signed)?;
    let user = &signed.session.user;
    let field_errors = super::field_errors(&view.errors);
    let public_url = (form.status == "published").then(|| state.url(&format!("/articles/{}", form.slug)));
    // A time the clocks repeat: say which of the two is meant.
    let repeated = match local_time::read_local(&form.publish_at, signed.tz) {
        Ok(Reading::Repeated { first, .. }) => Some(
            state
                .templates()
                .text(&signed.lang, "local_time_repeated")
                .replace("{time}", &local_time::format_in(first, signed.tz, "%Y-%m-%d %H:%M"))
                .replace("{zone}", signed.tz.name())
                .replace("{offset}", &local_time::offset_at(first, signed.tz)),
        ),
        _ => None,
    };
    let page = json!({
        "form": form,
        "errors": view.errors,
        "field_errors": field_errors,
        "conflict": view.conflict,
        "notice": view.notice,
        "authors": authors.iter().map(|a| json!({"username": a.username, "name": a.name})).collect::<Vec<_>>(),
        "can_publish": user.role.is_editor(),
        "max_upload_mb": state.config().max_upload_bytes as f64 / (1024.0 * 1024.0),
        "action": form.id.as_ref().map(|id| format!("/admin/articles/{id}")).unwrap_or_else(|| "/admin/articles/new".into()),
        "public_url": public_url,
        "publish_at_repeated": repeated,
        "library": library.iter().map(|m| json!({"id": m.id, "alt": m.alt})).collect::<Vec<_>>(),
    });
    let mut r = render(state, signed, "articles", "admin/editor.html", page);
    *r.status_mut() = view.status;
    Ok(r)
}

/// The author profile an `author`-role user writes as; `None` for others.
fn own_author(signed: &Signed) -> Option<&str> {
    let user = &signed.session.user;
    (user.role == Role::Author).then(|| user.author_id.as_deref().unwrap_or(""))
}

/// Whether the signed-in user may change this article (see docs/ADMIN.md).
fn may_edit(signed: &Signed, a: &Article) -> bool {
    match own_author(signed) {
        None => true,
        Some(own) => a.author_id == own && a.status == ArticleStatus::Draft,
    }
}

/// `GET /admin/articles/new` — a blank editor.
pub(crate) async fn get_new_article(State(state): State<AppState>, signed: Signed) -> AdminResult {
    let author = match own_author(&signed) {
        Some("") => return Err(no_author_profile(&signed)),
        Some(id) => state.store().get_author(id).await.or_page(&signed)?.username,
        None => String::new(),
    };
    let settings = state.settings().await.or_page(&signed)?;
    let form = EditorForm::blank(settings.default_language.as_str(), &author);
    render_editor(&state, &signed, &form, EditorView::ok()).await
}

/// 403 for an author-role user who has no author profile to write as.
fn no_author_profile(signed: &Signed) -> AdminError {
    signed.fail(Failure::Page {
        status: StatusCode::FORBIDDEN,
        title: "error_forbidden",
        text: "no_author_profile",
    })
}

#[derive(Deserialize, Default)]
pub(crate) struct EditParams {
    done: Option<String>,
}

/// `GET /admin/articles/{id}` — the editor for a stored article.
pub(crate) async fn get_edit_article(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(p): Query<EditParams>,
) -> AdminResult {
    let article = state.store().get_article(&id).await.or_page(&signed)?;
    if !may_edit(&signed, &article) {
        return Err(signed.forbidden());
    }
    let author = state.store().get_author(&article.author_id).await.or_page(&signed)?;
    let form = EditorForm::from_article(&article, &author.username, signed.tz);
    let mut view = EditorView::ok();
    view.notice = p
        .done
        .as_deref()
        .filter(|d| ["save", "publish", "schedule", "unpublish"].contains(d))
        .map(|d| state.templates().text(&signed.lang, &format!("done_{d}")));
    render_editor(&state, &signed, &form, view).await
}

/// `POST /admin/articles/new` — creates the article (or previews it).
pub(crate) async fn post_new_article(State(state): State<AppState>, signed: MaybeSigned, req: Request) -> AdminResult {
    let (signed, req) = match signed.or_keep(&state, req).await {
        Ok(signed) => signed,
        Err(kept) => return Ok(kept),
    };
    save(state, signed, None, req).await
}

/// `POST /admin/articles/{id}` — saves, publishes, schedules, unpublishes or previews.
pub(crate) async fn post_edit_article(
    State(state): State<AppState>,
    signed: MaybeSigned,
    Path(id): Path<String>,
    req: Request,
) -> AdminResult {
    let (signed, req) = match signed.or_keep(&state, req).await {
        Ok(signed) => signed,
        Err(kept) => return Ok(kept),
    };
    let current = state.store().get_article(&id).await.or_page(&signed)?;
    if !may_edit(&signed, &current) {
        return Err(signed.forbidden());
    }
    save(state, signed, Some(current), req).await
}

/// Whether a kept form was posted to the editor (`/admin/articles/new` or
/// `/admin/articles/{id}`), which opens again with it instead of the
/// generic "not saved yet" page.
pub(crate) fn is_editor_path(target: &str) -> bool {
    target
        .strip_prefix("/admin/articles/")
        .is_some_and(|r| !r.is_empty() && !r.contains(['/', '?']))
}

/// After signing in with an editor form that was posted while signed out:
/// the editor of `kept.target` with the text as it was posted and a note
/// that nothing is saved yet. What was kept is only shown, never saved:
/// saving takes another post with the new session's CSRF token, checked
/// against the article's version the text was based on.
pub(crate) async fn restore_after_sign_in(state: &AppState, signed: &Signed, kept: &Kept) -> AdminResult {
    let next = kept.target.as_str();
    let mut form = EditorForm::default();
    for (name, value) in &kept.fields {
        form.set(name, value.clone());
    }
    let t = |k: &str| state.templates().text(&signed.lang, k);
    let id = next
        .strip_prefix("/admin/articles/")
        .filter(|r| !r.contains(['/', '?']));
    match id {
        Some("new") => {
            form.id = None;
            form.status = "new".into();
            form.cover = None;
            form.interviewee.photo = None;
            if let Some(own) = own_author(signed) {
                match state.store().get_author(own).await {
                    Ok(a) => form.author = a.username,
                    Err(_) => return Err(no_author_profile(signed)),
                }
            }
        }
        Some(id) => {
            let current = state.store().get_article(id).await.or_page(signed)?;
            if !may_edit(signed, &current) {
                return Err(signed.forbidden());
            }
            // Only the typed fields come from the browser; what the form
            // does not post comes from the stored article.
            form.id = Some(current.id.clone());
            form.status = current.status.as_str().to_owned();
            form.cover = current.cover.as_ref().map(|c| CoverView {
                media_id: c.media_id.clone(),
                url: crate::pages::media_path(&c.media_id),
            });
            form.interviewee.photo = current.interviewee.as_ref().and_then(|i| i.photo.clone());
        }
        None => return Ok(see_other(next)),
    }
    for tr in &mut form.translations {
        tr.preview = None;
    }
    if form.translations.last().is_none_or(|t| !t.is_blank()) {
        form.translations.push(TranslationForm::default());
    }
    let mut view = EditorView::ok();
    let mut notice = t("restored_not_saved");
    if !kept.files.is_empty() {
        notice = format!("{notice} {}", t("kept_choose_file_again"));
    }
    view.notice = Some(notice);
    render_editor(state, signed, &form, view).await
}

async fn save(state: AppState, signed: Signed, current: Option<Article>, req: Request) -> AdminResult {
    let t = |k: &str| state.templates().text(&signed.lang, k);
    let mut posted = read_editor(&state, &signed, current.as_ref(), req).await?;
    // A form without this session's token is not saved, but what it carried
    // is shown again, so nothing typed is lost.
    if !csrf_ok(&signed, &posted.csrf) {
        let errors = vec![FormError {
            field: String::new(),
            message: t("csrf_refused_text_editor"),
        }];
        return render_editor(
            &state,
            &signed,
            &posted.form,
            EditorView::failed(StatusCode::FORBIDDEN, errors),
        )
        .await;
    }
    if !posted.errors.is_empty() {
        let status = if posted.too_big {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let errors = std::mem::take(&mut posted.errors);
        return render_editor(&state, &signed, &posted.form, EditorView::failed(status, errors)).await;
    }
    if posted.action == "insert_image" {
        return insert_image(&state, &signed, posted).await;
    }
    let editor = signed.session.user.role.is_editor();
    let status = match (posted.action.as_str(), editor) {
        ("preview", _) => {
            for tr in posted.form.translations.iter_mut().filter(|t| !t.is_blank()) {
                tr.preview = Some(match gazette_core::markdown::render(&tr.body, "body", 1) {
                    Ok(html) => html,
                    // Shown as HTML: the messages quote the body (`<script>` is not allowed…).
                    Err(errs) => preview_errors(&errs),
                });
            }
            return render_editor(&state, &signed, &posted.form, EditorView::ok()).await;
        }
        ("save", _) if current.is_none() => Some("draft"),
        ("save", _) => None,
        ("publish", true) => Some("published"),
        ("schedule", true) => Some("scheduled"),
        ("unpublish", true) => Some("draft"),
        _ => return Err(signed.forbidden()),
    };
    if let Some(own) = own_author(&signed) {
        // Authors write as themselves, whatever the form says.
        match state.store().get_author(own).await {
            Ok(a) => posted.form.author = a.username,
            Err(_) => return Err(no_author_profile(&signed)),
        }
    }
    let mut input = posted.form.to_input(status, posted.upload.as_ref());
    // The schedule was typed in the user's zone; what cannot be read at
    // all is left to the article's validation, which names it.
    if let Some(raw) = input.publish_at.clone() {
        match local_time::read_local(&raw, signed.tz) {
            Ok(reading) => input.publish_at = Some(reading.instant().to_rfc3339()),
            Err(e @ LocalTimeError::Skipped { .. }) => {
                let errors = vec![FormError {
                    field: "publish_at".into(),
                    message: super::field_message(&state, &signed.lang, &e.to_field_error("publish_at", &raw)),
                }];
                return render_editor(
                    &state,
                    &signed,
                    &posted.form,
                    EditorView::failed(StatusCode::UNPROCESSABLE_ENTITY, errors),
                )
                .await;
            }
            Err(LocalTimeError::Unreadable) => {}
        }
    }
    let media: Vec<NewMedia> = posted.upload.into_iter().map(|u| u.media).collect();
    let result = match &current {
        None => content::create_article(&state, &input, &media).await,
        Some(c) => content::update_article(&state, c, &input, posted.form.version, &media).await,
    };
    let form = &posted.form;
    let fail = |status, errors| EditorView::failed(status, errors);
    match result {
        Ok(article) => Ok(see_other(&format!(
            "/admin/articles/{}?done={}",
            article.id, posted.action
        ))),
        Err(WriteError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|e| FormError {
                        field: form.field_id(&e.field),
                        message: super::field_message(&state, &signed.lang, e),
                    })
                    .collect();
            render_editor(&state, &signed, form, fail(StatusCode::UNPROCESSABLE_ENTITY, errors)).await
        }
        Err(WriteError::Store(StoreError::StaleVersion { current: now_at, .. })) => {
            // Keep the typed text; the next save, made knowingly, replaces version `now_at`.
            let mut form = posted.form.clone();
            form.version = Some(now_at);
            let mut view = fail(StatusCode::CONFLICT, Vec::new());
            view.conflict = Some(now_at);
            render_editor(&state, &signed, &form, view).await
        }
        Err(WriteError::Store(e @ (StoreError::Conflict { .. } | StoreError::Invalid { .. }))) => {
            let field = super::store_field(&e);
            let status = match &e {
                StoreError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let message = match (&e, field) {
                // The slug clash, the one conflict an editor meets by hand.
                (StoreError::Conflict { .. }, "slug") => {
                    let slug = match form.slug.trim() {
                        "" => gazette_core::slug::slugify(
                            &form.translations.first().map(|t| t.title.clone()).unwrap_or_default(),
                        ),
                        s => s.to_owned(),
                    };
                    t("v_slug_taken").replace("{slug}", &slug)
                }
                _ => super::store_message(&state, &signed.lang, &e, ""),
            };
            let errors = vec![FormError {
                field: form.field_id(field),
                message,
            }];
            render_editor(&state, &signed, form, fail(status, errors)).await
        }
        Err(WriteError::Store(e)) => Err(signed.fail(e)),
    }
}

/// The editor's "insert image" button: stores the chosen file in the
/// library (or takes the chosen library image) and appends its Markdown to
/// the chosen text column. Nothing is saved to the article: the form comes
/// back with everything as typed plus the image, to be saved as usual.
async fn insert_image(state: &AppState, signed: &Signed, mut posted: Posted) -> AdminResult {
    let t = |k: &str| state.templates().text(&signed.lang, k);
    let form = &mut posted.form;
    // The chosen image, or the field to show the refusal beside and its message.
    let chosen: Result<(String, String), (&str, &str)> = match (posted.inline.take(), form.inline_existing.trim()) {
        (Some((info, bytes)), _) => match form.inline_alt.trim() {
            "" => Err(("inline_alt", "media_alt_required")),
            alt => {
                let m = state.store().create_media(&info, alt, &bytes).await.or_page(signed)?;
                Ok((m.id, alt.to_owned()))
            }
        },
        (None, "") => Err(("inline_file", "inline_choose")),
        (None, id) => match state.store().find_media(id).await.or_page(signed)? {
            Some(m) => {
                let alt = Some(form.inline_alt.trim().to_owned()).filter(|a| !a.is_empty());
                Ok((m.id, alt.unwrap_or(m.alt)))
            }
            None => Err(("inline_existing", "inline_unknown")),
        },
    };
    let chosen = match chosen {
        Ok(c) => c,
        Err((field, key)) => {
            let errors = vec![FormError::new(field, t(key))];
            let view = EditorView::failed(StatusCode::UNPROCESSABLE_ENTITY, errors);
            return render_editor(state, signed, form, view).await;
        }
    };
    let column = form.inline_column.min(form.translations.len().saturating_sub(1));
    if let Some(tr) = form.translations.get_mut(column) {
        let body = tr.body.trim_end().to_owned();
        let snippet = super::upload::markdown_snippet(&chosen.1, &chosen.0);
        tr.body = if body.is_empty() {
            format!("{snippet}\n")
        } else {
            format!("{body}\n\n{snippet}\n")
        };
    }
    form.inline_alt.clear();
    form.inline_existing.clear();
    if form.translations.last().is_some_and(|t| !t.is_blank()) {
        form.translations.push(TranslationForm::default());
    }
    let mut view = EditorView::ok();
    view.notice = Some(t("inline_inserted"));
    render_editor(state, signed, form, view).await
}

/// `POST /admin/preview` — the live preview: Markdown `body` rendered as
/// the public page renders it (an HTML fragment), or what is wrong with it.
pub(crate) async fn post_preview(State(_state): State<AppState>, form: CsrfForm) -> Response {
    match gazette_core::markdown::render(form.fields.get("body"), "body", 1) {
        Ok(html) => Html(html).into_response(),
        Err(errs) => (StatusCode::UNPROCESSABLE_ENTITY, Html(preview_errors(&errs))).into_response(),
    }
}

/// What is wrong with a body, as the preview shows it: a list of the
/// messages, escaped, since they quote what was typed.
fn preview_errors(errs: &[gazette_core::FieldError]) -> String {
    let list: String = errs
        .iter()
        .map(|e| format!("<li>{}</li>", escape(&e.to_string())))
        .collect();
    format!("<ul class=\"preview-errors\">{list}</ul>")
}
