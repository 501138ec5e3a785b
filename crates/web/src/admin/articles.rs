//! Articles in the admin: the list (status filter, search, pages) and the
//! editor, one multipart form for create and edit with every translation
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

use gazette_core::html::escape;
use std::collections::HashMap;

use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use gazette_core::local_time::{self, LocalTimeError, Reading, Tz};
use gazette_core::media::{ImageError, ImageInfo, accept};
use gazette_core::{Article, ArticleInput, ArticleStatus, CoverInput, Interviewee, TranslationInput};
use gazette_store::{ArticleQuery, NewMedia, Role, StoreError};
use http_body_util::Limited;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::keep::Kept;
use super::session::{CsrfForm, MaybeSigned, csrf_ok};
use super::{AdminError, AdminResult, Failure, FormError, OrPage, Signed, render, see_other};
use crate::AppState;
use crate::content::{self, WriteError};

const PER_PAGE: i64 = 25;
/// Room for the text fields on top of the image in one editor post.
const TEXT_SLACK: usize = 8 * 1024 * 1024;
/// Key that ties an uploaded cover to the article input in one transaction.
const UPLOAD_KEY: &str = "upload:cover";
/// How many recent library images the editor offers to insert.
const LIBRARY_CHOICES: i64 = 50;

#[derive(Deserialize, Default)]
pub(crate) struct ListParams {
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

/// One row of the articles list.
#[derive(Serialize)]
struct Row {
    id: String,
    title: String,
    slug: String,
    status: &'static str,
    kind: &'static str,
    languages: Vec<String>,
    author: String,
    date: String,
}

/// `GET /admin/articles?status=&q=&page=` — newest first; authors see their own.
pub(crate) async fn get_articles(
    State(state): State<AppState>,
    signed: Signed,
    Query(p): Query<ListParams>,
) -> AdminResult {
    let user = &signed.session.user;
    let status = p.status.as_deref().and_then(ArticleStatus::parse);
    let page = p
        .page
        .as_deref()
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let search = p.q.clone().filter(|q| !q.trim().is_empty());
    let query = ArticleQuery {
        statuses: status.into_iter().collect(),
        author_id: if user.role.is_editor() {
            None
        } else {
            Some(user.author_id.clone().unwrap_or_default())
        },
        search: search.clone(),
        limit: PER_PAGE,
        offset: (page - 1).saturating_mul(PER_PAGE),
        ..Default::default()
    };
    let (found, authors) =
        tokio::try_join!(state.store().list_articles(&query), state.store().list_authors()).or_page(&signed)?;
    let names: HashMap<&str, &str> = authors.iter().map(|a| (a.id.as_str(), a.name.as_str())).collect();
    let rows: Vec<Row> = found
        .articles
        .iter()
        .map(|a| Row {
            id: a.id.clone(),
            title: a.translation(None).title.clone(),
            slug: a.slug.clone(),
            status: a.status.as_str(),
            kind: a.kind.as_str(),
            languages: a.languages().map(|l| l.as_str().to_owned()).collect(),
            author: names.get(a.author_id.as_str()).copied().unwrap_or("").to_owned(),
            date: a.published_at.unwrap_or(a.updated_at).to_rfc3339(),
        })
        .collect();
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |n: i64| {
        let mut q = vec![format!("page={n}")];
        if let Some(s) = status {
            q.push(format!("status={}", s.as_str()));
        }
        if let Some(s) = &search {
            q.push(format!("q={}", crate::pages::encode_segment(s)));
        }
        format!("/admin/articles?{}", q.join("&"))
    };
    let page_json = json!({
        "rows": rows,
        "total": found.total,
        "status": status.map(|s| s.as_str()).unwrap_or(""),
        "q": search.clone().unwrap_or_default(),
        "page": page,
        "pages": pages,
        "prev": (page > 1).then(|| link(page - 1)),
        "next": (page < pages).then(|| link(page + 1)),
        "done": p.done,
    });
    Ok(render(&state, &signed, "articles", "admin/articles.html", page_json))
}

/// Exactly what the editor form holds, so a refused save shows it again.
#[derive(Serialize, Default, Clone)]
struct EditorForm {
    id: Option<String>,
    version: Option<i64>,
    /// The stored status (`new` before the first save).
    status: String,
    slug: String,
    kind: String,
    author: String,
    tags: String,
    /// `YYYY-MM-DDTHH:MM` in the user's time zone, as
    /// `<input type="datetime-local">` sends it.
    publish_at: String,
    translations: Vec<TranslationForm>,
    interviewee: IntervieweeForm,
    /// The stored cover, if any.
    cover: Option<CoverView>,
    cover_alt: String,
    cover_remove: bool,
    /// The "insert an image" part: which text column, the alt text, and a
    /// library image chosen instead of a new file.
    inline_column: usize,
    inline_alt: String,
    inline_existing: String,
}

#[derive(Serialize, Default, Clone)]
struct TranslationForm {
    language: String,
    title: String,
    summary: String,
    body: String,
    /// An interview's interviewee's role and bio in this language (the
    /// main language's are in the interviewee panel).
    iv_role: String,
    iv_bio: String,
    /// Rendered body, after the Preview button.
    preview: Option<String>,
}

impl TranslationForm {
    fn is_blank(&self) -> bool {
        self.title.trim().is_empty() && self.summary.trim().is_empty() && self.body.trim().is_empty()
    }
}

#[derive(Serialize, Default, Clone)]
struct IntervieweeForm {
    name: String,
    role: String,
    organisation: String,
    bio: String,
    handle: String,
    /// Media id of a photo set elsewhere (CLI, API), kept as is.
    photo: Option<String>,
}

#[derive(Serialize, Clone)]
struct CoverView {
    media_id: String,
    url: String,
}

/// An uploaded cover, already checked to be an image within the limit.
struct Upload {
    media: NewMedia,
}

impl EditorForm {
    fn from_article(a: &Article, author_username: &str, tz: Tz) -> Self {
        let text = |lang: &str| {
            a.interviewee
                .as_ref()
                .and_then(|iv| iv.translations.iter().find(|t| t.language == lang))
        };
        let mut translations: Vec<TranslationForm> = a
            .translations
            .iter()
            .map(|t| TranslationForm {
                language: t.language.as_str().to_owned(),
                title: t.title.clone(),
                summary: t.summary.clone(),
                body: t.body_markdown.clone(),
                iv_role: text(t.language.as_str()).map(|x| x.role.clone()).unwrap_or_default(),
                iv_bio: text(t.language.as_str()).map(|x| x.bio.clone()).unwrap_or_default(),
                preview: None,
            })
            .collect();
        translations.push(TranslationForm::default());
        let iv = a.interviewee.clone().unwrap_or_default();
        EditorForm {
            id: Some(a.id.clone()),
            version: Some(a.version),
            status: a.status.as_str().to_owned(),
            slug: a.slug.clone(),
            kind: a.kind.as_str().to_owned(),
            author: author_username.to_owned(),
            tags: a.tags.join(", "),
            publish_at: a
                .published_at
                .filter(|_| a.status == ArticleStatus::Scheduled)
                .map(|t| local_time::to_local_input(t, tz))
                .unwrap_or_default(),
            translations,
            interviewee: IntervieweeForm {
                name: iv.name,
                role: iv.role,
                organisation: iv.organisation,
                bio: iv.bio,
                handle: iv.fediverse_handle.unwrap_or_default(),
                photo: iv.photo,
            },
            cover: a.cover.as_ref().map(|c| CoverView {
                media_id: c.media_id.clone(),
                url: crate::pages::media_path(&c.media_id),
            }),
            cover_alt: a.cover.as_ref().map(|c| c.alt.clone()).unwrap_or_default(),
            cover_remove: false,
            ..Default::default()
        }
    }

    fn blank(default_language: &str, author: &str) -> Self {
        EditorForm {
            status: "new".into(),
            kind: "interview".into(),
            author: author.to_owned(),
            translations: vec![
                TranslationForm {
                    language: default_language.to_owned(),
                    ..Default::default()
                },
                TranslationForm::default(),
            ],
            ..Default::default()
        }
    }

    /// The article input this form describes, for `status` (`None`: keep).
    fn to_input(&self, status: Option<&str>, upload: Option<&Upload>) -> ArticleInput {
        let translations = self
            .translations
            .iter()
            .enumerate()
            .filter(|(i, t)| *i == 0 || !t.is_blank())
            .map(|(i, t)| {
                // Only other languages have their own role and bio fields.
                let interview = i > 0 && self.kind == "interview";
                let given = |v: &str| (interview && !v.trim().is_empty()).then(|| v.trim().to_owned());
                TranslationInput {
                    language: t.language.trim().to_owned(),
                    title: t.title.clone(),
                    summary: t.summary.clone(),
                    body: t.body.clone(),
                    interviewee_role: given(&t.iv_role),
                    interviewee_bio: given(&t.iv_bio),
                }
            })
            .collect();
        let cover = match (upload, &self.cover) {
            (Some(_), _) => Some(CoverInput {
                media_id: UPLOAD_KEY.into(),
                alt: self.cover_alt.clone(),
            }),
            (None, Some(c)) if !self.cover_remove => Some(CoverInput {
                media_id: c.media_id.clone(),
                alt: self.cover_alt.clone(),
            }),
            _ => None,
        };
        let interviewee = (self.kind == "interview").then(|| Interviewee {
            name: self.interviewee.name.trim().to_owned(),
            role: self.interviewee.role.trim().to_owned(),
            organisation: self.interviewee.organisation.trim().to_owned(),
            bio: self.interviewee.bio.trim().to_owned(),
            photo: self.interviewee.photo.clone(),
            fediverse_handle: Some(self.interviewee.handle.trim().to_owned()).filter(|h| !h.is_empty()),
            translations: Vec::new(),
        });
        ArticleInput {
            slug: Some(self.slug.trim().to_owned()).filter(|s| !s.is_empty()),
            kind: self.kind.clone(),
            status: status.map(str::to_owned),
            language: self
                .translations
                .first()
                .map(|t| t.language.trim().to_owned())
                .unwrap_or_default(),
            translations,
            tags: self
                .tags
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            author: self.author.clone(),
            cover,
            interviewee,
            publish_at: Some(self.publish_at.trim().to_owned()).filter(|s| !s.is_empty()),
        }
    }

    /// Sets the field the editor page names `name` (unknown names are ignored).
    fn set(&mut self, name: &str, value: String) {
        match name {
            "version" => self.version = value.trim().parse().ok(),
            "slug" => self.slug = value,
            "kind" => self.kind = value,
            "author" => self.author = value,
            "tags" => self.tags = value,
            "publish_at" => self.publish_at = value,
            "cover_alt" => self.cover_alt = value,
            "cover_remove" => self.cover_remove = !value.is_empty(),
            "inline_column" => self.inline_column = value.trim().parse().unwrap_or(0),
            "inline_alt" => self.inline_alt = value,
            "inline_existing" => self.inline_existing = value,
            "iv-name" => self.interviewee.name = value,
            "iv-role" => self.interviewee.role = value,
            "iv-organisation" => self.interviewee.organisation = value,
            "iv-bio" => self.interviewee.bio = value,
            "iv-handle" => self.interviewee.handle = value,
            other => {
                // tr-{i}-{part}: one column of the translations.
                if let Some((i, part)) = other
                    .strip_prefix("tr-")
                    .and_then(|r| r.split_once('-'))
                    .and_then(|(i, p)| Some((i.parse::<usize>().ok()?, p)))
                    .filter(|(i, _)| *i < 50)
                {
                    while self.translations.len() <= i {
                        self.translations.push(TranslationForm::default());
                    }
                    let tr = &mut self.translations[i];
                    match part {
                        "language" => tr.language = value,
                        "title" => tr.title = value,
                        "summary" => tr.summary = value,
                        "body" => tr.body = value,
                        "iv_role" => tr.iv_role = value,
                        "iv_bio" => tr.iv_bio = value,
                        _ => {}
                    }
                }
            }
        }
    }

    /// The form id of the input a validation or store field names.
    fn field_id(&self, field: &str) -> String {
        let column = |lang: &str| {
            self.translations
                .iter()
                .position(|t| t.language.trim() == lang)
                .or_else(|| lang.parse::<usize>().ok())
                .unwrap_or(0)
        };
        match field {
            "title" | "summary" | "body" => format!("tr-0-{field}"),
            "language" => "tr-0-language".into(),
            "cover" | "cover.alt" | "alt" => "cover_alt".into(),
            "file" => "cover_file".into(),
            "inline_file" | "inline_alt" => field.into(),
            "interviewee" | "interviewee.name" => "iv-name".into(),
            "interviewee.fediverse_handle" => "iv-handle".into(),
            "kind" | "slug" | "tags" | "author" | "publish_at" => field.into(),
            f => match f.strip_prefix("translations.").and_then(|r| r.split_once('.')) {
                Some((lang, part)) => format!("tr-{}-{part}", column(lang)),
                None => String::new(),
            },
        }
    }
}

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

/// The posted editor: its fields, the chosen action and any uploaded cover.
struct Posted {
    form: EditorForm,
    action: String,
    csrf: String,
    upload: Option<Upload>,
    /// A new image to insert into the text.
    inline: Option<(ImageInfo, Vec<u8>)>,
    errors: Vec<FormError>,
    /// The file was over the instance's limit.
    too_big: bool,
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

/// Reads the multipart editor form. Text fields come before the file input
/// in the page, so an oversized file still leaves every typed field read.
async fn read_editor(
    state: &AppState,
    signed: &Signed,
    current: Option<&Article>,
    req: Request,
) -> Result<Posted, AdminError> {
    let lang = signed.lang.as_str();
    let bad = |msg: String| signed.fail(Failure::bad_request(msg));
    let is_multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(bad("the editor posts multipart/form-data".into()));
    }
    let limit = state.config().max_upload_bytes;
    let image_limits = state.image_limits();
    let req = req.map(|body| Body::new(Limited::new(body, limit.saturating_add(TEXT_SLACK))));
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|e| bad(e.body_text()))?;
    let mut form = EditorForm {
        status: current
            .map(|a| a.status.as_str().to_owned())
            .unwrap_or_else(|| "new".into()),
        id: current.map(|a| a.id.clone()),
        ..Default::default()
    };
    if let Some(a) = current {
        form.cover = a.cover.as_ref().map(|c| CoverView {
            media_id: c.media_id.clone(),
            url: crate::pages::media_path(&c.media_id),
        });
        form.interviewee.photo = a.interviewee.as_ref().and_then(|i| i.photo.clone());
    }
    let mut action = String::from("save");
    let mut csrf = String::new();
    let mut file: Option<Vec<u8>> = None;
    let mut inline_file: Option<Vec<u8>> = None;
    let mut errors = Vec::new();
    let mut too_big = false;
    let t = |k: &str| state.templates().text(lang, k);
    let too_large_for = |field: &str| FormError {
        field: field.into(),
        message: t("upload_too_large").replace("{mb}", &format!("{:.1}", limit as f64 / (1024.0 * 1024.0))),
    };
    let too_large = || too_large_for("cover_file");
    // The file part being read when the body ran past the cap.
    let mut last_file = "cover_file";
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // The body ran past the cap: only an oversized file gets here once the text is read.
            Err(_) if !form.translations.is_empty() => {
                errors.push(too_large_for(last_file));
                too_big = true;
                file = None;
                inline_file = None;
                break;
            }
            Err(e) => return Err(bad(e.body_text())),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "cover_file" || name == "inline_file" {
            last_file = if name == "cover_file" {
                "cover_file"
            } else {
                "inline_file"
            };
            match read_capped(field, limit).await {
                Ok(Some(bytes)) if !bytes.is_empty() && name == "cover_file" => file = Some(bytes),
                Ok(Some(bytes)) if !bytes.is_empty() => inline_file = Some(bytes),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    errors.push(too_large_for(last_file));
                    too_big = true;
                    break;
                }
            }
            continue;
        }
        let value = match field.text().await {
            Ok(v) => v,
            Err(e) => return Err(bad(e.body_text())),
        };
        match name.as_str() {
            "_csrf" => csrf = value,
            "action" => action = value,
            _ => form.set(&name, value),
        }
    }
    if form.translations.is_empty() {
        form.translations.push(TranslationForm::default());
    }
    if form.translations.last().is_some_and(|t| !t.is_blank()) {
        form.translations.push(TranslationForm::default());
    }
    let upload = match file {
        None => None,
        Some(bytes) => match accept(&bytes, &image_limits) {
            Ok((info, bytes)) => Some(Upload {
                media: NewMedia {
                    key: UPLOAD_KEY.into(),
                    info,
                    alt: form.cover_alt.trim().to_owned(),
                    bytes,
                },
            }),
            Err(ImageError::TooLarge { .. }) => {
                errors.push(too_large());
                too_big = true;
                None
            }
            Err(e @ ImageError::TooManyPixels { .. }) => {
                let refusal = super::upload::too_many_pixels(state, lang, &e);
                errors.push(FormError::new("cover_file", refusal.message));
                None
            }
            Err(_) => {
                errors.push(FormError {
                    field: "cover_file".into(),
                    message: t("upload_not_image"),
                });
                None
            }
        },
    };
    let inline = match inline_file {
        None => None,
        Some(bytes) => match accept(&bytes, &image_limits) {
            Ok(accepted) => Some(accepted),
            Err(ImageError::TooLarge { .. }) => {
                errors.push(too_large_for("inline_file"));
                too_big = true;
                None
            }
            Err(e @ ImageError::TooManyPixels { .. }) => {
                let refusal = super::upload::too_many_pixels(state, lang, &e);
                errors.push(FormError::new("inline_file", refusal.message));
                None
            }
            Err(_) => {
                errors.push(FormError {
                    field: "inline_file".into(),
                    message: t("upload_not_image"),
                });
                None
            }
        },
    };
    if upload.is_some() && form.cover_alt.trim().is_empty() {
        errors.push(FormError {
            field: "cover_alt".into(),
            message: t("cover_alt_required"),
        });
    }
    Ok(Posted {
        form,
        action,
        csrf,
        upload,
        inline,
        errors,
        too_big,
    })
}

/// The bytes of a file part, or `None` when it is larger than `limit`.
async fn read_capped(
    mut field: Field<'_>,
    limit: usize,
) -> Result<Option<Vec<u8>>, axum::extract::multipart::MultipartError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
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

#[cfg(test)]
mod tests {
    use super::EditorForm;

    /// The role and bio typed in a translation column go with that
    /// translation, for interviews only; the main column has none of its own.
    #[test]
    fn interviewee_role_and_bio_per_translation_column() {
        let mut form = EditorForm::blank("fr", "camille");
        for (name, value) in [
            ("kind", "interview"),
            ("iv-name", "Ana"),
            ("iv-role", "Directrice"),
            ("tr-0-title", "Titre"),
            ("tr-0-iv_role", "ignored"),
            ("tr-1-language", "en"),
            ("tr-1-title", "Title"),
            ("tr-1-iv_role", " Director "),
            ("tr-1-iv_bio", "Ana runs it."),
        ] {
            form.set(name, value.to_owned());
        }
        let input = form.to_input(None, None);
        assert_eq!(input.translations[0].interviewee_role, None);
        assert_eq!(input.translations[1].interviewee_role.as_deref(), Some("Director"));
        assert_eq!(input.translations[1].interviewee_bio.as_deref(), Some("Ana runs it."));
        assert_eq!(input.interviewee.as_ref().map(|i| i.role.as_str()), Some("Directrice"));

        form.set("kind", "news".to_owned());
        let input = form.to_input(None, None);
        assert_eq!(input.translations[1].interviewee_role, None, "news has no interviewee");
    }
}
