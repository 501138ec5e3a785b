//! Profiles of the local actors (admins only): `/admin/organisation` and
//! `/admin/authors`. Saves go through [`crate::profiles`], the path the
//! REST API uses: the same validation, and the same `Update` of the actor
//! queued to its followers. A refused save shows the form again with what
//! was typed and a message beside each bad field.
//!
//! Usernames are fediverse names (`@name@host`) that followers' servers
//! keep: once set they are shown, not edited, here.
//!
//! The logo and avatars have their own small forms on these pages (a file
//! with its alt text, or an image from the library, or none): the chosen
//! image becomes the actor's `icon`, and the change is federated by the
//! same save.

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gazette_core::{AuthorInput, LegalForm, Organisation};
use gazette_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::{CsrfForm, Fields, MaybeSigned, csrf_ok};
use super::upload::{Refusal, check_image, read_upload_form, too_large};
use super::{
    Admin, AdminResult, Failure, FormError, OrPage, Signed, done_notice, field_errors, field_message, render,
    see_other, store_message,
};
use crate::AppState;
use crate::content::WriteError;
use crate::profiles::{self, OrganisationInput};

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    done: Option<String>,
}

/// Splits a comma- or line-separated list.
fn list(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The messages of a refused save in the interface language, keyed by the
/// form's field ids (`{prefix}{field}`); `typed` is the username the form
/// asked for (named by a clash). `Err` for a failure that is not the form's.
fn write_errors(
    state: &AppState,
    lang: &str,
    e: WriteError,
    prefix: &str,
    typed: &str,
) -> Result<(StatusCode, Vec<FormError>), StoreError> {
    let one = |field: &str, message: String| FormError::new(format!("{prefix}{field}"), message);
    match e {
        WriteError::Invalid(v) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v.0.iter()
                .map(|f| one(&f.field, field_message(state, lang, f)))
                .collect(),
        )),
        WriteError::Store(e @ StoreError::Conflict { .. }) => {
            let field = super::store_field(&e);
            Ok((
                StatusCode::CONFLICT,
                vec![one(field, store_message(state, lang, &e, typed))],
            ))
        }
        WriteError::Store(e @ StoreError::Invalid { .. }) => {
            let field = super::store_field(&e);
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![one(field, store_message(state, lang, &e, typed))],
            ))
        }
        WriteError::Store(e) => Err(e),
    }
}

/// The organisation form, as typed.
#[derive(Serialize, Default)]
struct OrgForm {
    username: String,
    name: String,
    description: String,
    website: String,
    country: String,
    legal_form: String,
    sectors: String,
    languages: String,
    logo: Option<String>,
}

impl OrgForm {
    fn from_org(o: &Organisation) -> Self {
        OrgForm {
            username: o.username.clone(),
            name: o.name.clone(),
            description: o.description.clone(),
            website: o.website.clone().unwrap_or_default(),
            country: o.country.as_str().to_owned(),
            legal_form: o.legal_form.as_str().to_owned(),
            sectors: o.sectors.join(", "),
            languages: o.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", "),
            logo: o.logo.clone(),
        }
    }

    fn from_fields(f: &Fields, current: Option<&Organisation>) -> Self {
        OrgForm {
            // Shown, not edited, once set (see the module doc).
            username: current
                .map(|c| c.username.clone())
                .unwrap_or_else(|| f.get("org-username").to_owned()),
            name: f.get("org-name").to_owned(),
            description: f.get("org-description").to_owned(),
            website: f.get("org-website").to_owned(),
            country: f.get("org-country").to_owned(),
            legal_form: f.get("org-legal_form").to_owned(),
            sectors: f.get("org-sectors").to_owned(),
            languages: f.get("org-languages").to_owned(),
            logo: current.and_then(|c| c.logo.clone()),
        }
    }

    fn to_input(&self) -> OrganisationInput {
        OrganisationInput {
            username: Some(self.username.clone()),
            name: self.name.clone(),
            description: self.description.clone(),
            logo: self.logo.clone(),
            website: Some(self.website.clone()),
            country: self.country.clone(),
            legal_form: self.legal_form.clone(),
            sectors: list(&self.sectors),
            languages: list(&self.languages),
        }
    }
}

/// What the logo or avatar form held when it was refused.
#[derive(Serialize, Default)]
struct ImageForm {
    alt: String,
    existing: String,
}

/// Recent library images to choose a logo or avatar from.
const LIBRARY_CHOICES: i64 = 50;

async fn library(state: &AppState) -> Result<Vec<serde_json::Value>, StoreError> {
    Ok(state
        .store()
        .list_media(LIBRARY_CHOICES, 0)
        .await?
        .iter()
        .map(|m| json!({"id": m.id, "alt": m.alt}))
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn org_page(
    state: &AppState,
    signed: &Signed,
    form: &OrgForm,
    exists: bool,
    errors: Vec<FormError>,
    flash: Option<String>,
    status: StatusCode,
    image: ImageForm,
) -> AdminResult {
    let library = library(state).await.or_page(signed)?;
    let page = json!({
        "image": image,
        "library": library,
        "max_upload_mb": state.config().max_upload_bytes as f64 / (1024.0 * 1024.0),
        "form": form,
        "exists": exists,
        "legal_forms": LegalForm::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        "field_errors": field_errors(&errors),
        "errors": errors,
        "flash": flash,
        "logo_url": form.logo.as_deref().map(crate::pages::media_path),
    });
    let mut r = render(state, signed, "organisation", "admin/organisation.html", page);
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /admin/organisation`
pub(crate) async fn get_organisation(
    State(state): State<AppState>,
    Admin(signed): Admin,
    Query(p): Query<Params>,
) -> AdminResult {
    let current = state.store().find_organisation().await.or_page(&signed)?;
    let form = current.as_ref().map(OrgForm::from_org).unwrap_or_default();
    let flash = done_notice(
        &state,
        &signed.lang,
        p.done.as_deref(),
        &["profile_saved", "logo_saved", "logo_removed"],
    );
    org_page(
        &state,
        &signed,
        &form,
        current.is_some(),
        Vec::new(),
        flash,
        StatusCode::OK,
        ImageForm::default(),
    )
    .await
}

/// `POST /admin/organisation` — saves the profile (and federates the change).
pub(crate) async fn post_organisation(State(state): State<AppState>, form: CsrfForm<Admin>) -> AdminResult {
    let signed = &form.signed;
    let current = state.store().find_organisation().await.or_page(signed)?;
    let typed = OrgForm::from_fields(&form.fields, current.as_ref());
    match profiles::save_organisation(&state, &typed.to_input()).await {
        Ok(_) => Ok(see_other("/admin/organisation?done=profile_saved")),
        Err(e) => match write_errors(&state, &signed.lang, e, "org-", &typed.username) {
            Ok((status, errors)) => {
                org_page(
                    &state,
                    signed,
                    &typed,
                    current.is_some(),
                    errors,
                    None,
                    status,
                    ImageForm::default(),
                )
                .await
            }
            Err(e) => Err(signed.fail(e)),
        },
    }
}

/// `GET /admin/authors` — every author, with links to their profiles.
pub(crate) async fn get_authors(
    State(state): State<AppState>,
    Admin(signed): Admin,
    Query(p): Query<Params>,
) -> AdminResult {
    let authors = state.store().list_authors().await.or_page(&signed)?;
    let page = json!({
        "authors": authors.iter().map(|a| json!({
            "username": a.username,
            "name": a.name,
            "handle": a.fediverse_handle,
            "public_url": format!("/authors/{}", a.username),
        })).collect::<Vec<_>>(),
        "flash": done_notice(&state, &signed.lang, p.done.as_deref(), &["profile_saved", "author_created"]),
    });
    Ok(render(&state, &signed, "authors", "admin/authors.html", page))
}

/// The author form, as typed.
#[derive(Serialize, Default)]
struct AuthorForm {
    /// Set when editing an existing author.
    current: Option<String>,
    username: String,
    name: String,
    bio: String,
    handle: String,
    avatar: Option<String>,
}

impl AuthorForm {
    fn to_input(&self) -> AuthorInput {
        AuthorInput {
            username: self.username.clone(),
            name: self.name.clone(),
            bio: self.bio.clone(),
            avatar: self.avatar.clone(),
            fediverse_handle: Some(self.handle.trim().to_owned()).filter(|h| !h.is_empty()),
        }
    }
}

async fn author_page(
    state: &AppState,
    signed: &Signed,
    form: &AuthorForm,
    errors: Vec<FormError>,
    status: StatusCode,
    image: ImageForm,
    flash: Option<String>,
) -> AdminResult {
    let library = library(state).await.or_page(signed)?;
    let page = json!({
        "image": image,
        "library": library,
        "flash": flash,
        "max_upload_mb": state.config().max_upload_bytes as f64 / (1024.0 * 1024.0),
        "form": form,
        "field_errors": field_errors(&errors),
        "errors": errors,
        "avatar_url": form.avatar.as_deref().map(crate::pages::media_path),
        "action": form.current.as_ref().map(|u| format!("/admin/authors/{u}")).unwrap_or_else(|| "/admin/authors/new".into()),
    });
    let mut r = render(state, signed, "authors", "admin/author.html", page);
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /admin/authors/new`
pub(crate) async fn get_new_author(State(state): State<AppState>, Admin(signed): Admin) -> AdminResult {
    author_page(
        &state,
        &signed,
        &AuthorForm::default(),
        Vec::new(),
        StatusCode::OK,
        ImageForm::default(),
        None,
    )
    .await
}

/// `POST /admin/authors/new`
pub(crate) async fn post_new_author(State(state): State<AppState>, form: CsrfForm<Admin>) -> AdminResult {
    let signed = &form.signed;
    let f = &form.fields;
    let typed = AuthorForm {
        current: None,
        username: f.get("author-username").to_owned(),
        name: f.get("author-name").to_owned(),
        bio: f.get("author-bio").to_owned(),
        handle: f.get("author-fediverse_handle").to_owned(),
        avatar: None,
    };
    match profiles::create_author(&state, &typed.to_input()).await {
        Ok(_) => Ok(see_other("/admin/authors?done=author_created")),
        Err(e) => match write_errors(&state, &signed.lang, e, "author-", &typed.username) {
            Ok((status, errors)) => {
                author_page(&state, signed, &typed, errors, status, ImageForm::default(), None).await
            }
            Err(e) => Err(signed.fail(e)),
        },
    }
}

/// `GET /admin/authors/{username}`
pub(crate) async fn get_author(
    State(state): State<AppState>,
    Admin(signed): Admin,
    Path(username): Path<String>,
    Query(p): Query<Params>,
) -> AdminResult {
    let a = state.store().get_author(&username).await.or_page(&signed)?;
    let form = AuthorForm {
        current: Some(a.username.clone()),
        username: a.username,
        name: a.name,
        bio: a.bio,
        handle: a.fediverse_handle.unwrap_or_default(),
        avatar: a.avatar,
    };
    let flash = done_notice(
        &state,
        &signed.lang,
        p.done.as_deref(),
        &["avatar_saved", "avatar_removed"],
    );
    author_page(
        &state,
        &signed,
        &form,
        Vec::new(),
        StatusCode::OK,
        ImageForm::default(),
        flash,
    )
    .await
}

/// `POST /admin/authors/{username}` — saves the profile (and federates the change).
pub(crate) async fn post_author(
    State(state): State<AppState>,
    Path(username): Path<String>,
    form: CsrfForm<Admin>,
) -> AdminResult {
    let signed = &form.signed;
    let current = state.store().get_author(&username).await.or_page(signed)?;
    let f = &form.fields;
    let typed = AuthorForm {
        current: Some(current.username.clone()),
        username: current.username.clone(),
        name: f.get("author-name").to_owned(),
        bio: f.get("author-bio").to_owned(),
        handle: f.get("author-fediverse_handle").to_owned(),
        avatar: current.avatar.clone(),
    };
    match profiles::update_author(&state, &current.id, &typed.to_input()).await {
        Ok(_) => Ok(see_other("/admin/authors?done=profile_saved")),
        Err(e) => match write_errors(&state, &signed.lang, e, "author-", &typed.username) {
            Ok((status, errors)) => {
                author_page(&state, signed, &typed, errors, status, ImageForm::default(), None).await
            }
            Err(e) => Err(signed.fail(e)),
        },
    }
}

/// What a logo or avatar form asks for.
enum ImageChoice {
    Set(String),
    Remove,
}

/// Why a logo or avatar form was not applied: `Ok` is shown on the profile
/// page (its status, the messages, what was typed), `Err` is a whole page
/// (bad request, CSRF, store failure).
type ImageRefusal = Result<(StatusCode, Vec<FormError>, ImageForm), Response>;

/// Reads a logo or avatar form (fields `{prefix}-file`, `-alt`, `-existing`,
/// `-remove`), posted to `target`: a new file is checked and stored in the
/// library with its alt text.
async fn image_choice(
    state: &AppState,
    signed: &Signed,
    req: Request,
    prefix: &str,
) -> Result<ImageChoice, Box<ImageRefusal>> {
    let lang = &signed.lang;
    let t = |k: &str| state.templates().text(lang, k);
    let page = |r: Response| Err(Box::new(Err(r)));
    let headers = req.headers().clone();
    let target = super::keep::target_of(&req);
    let file_field = format!("{prefix}-file");
    let form = match read_upload_form(state, req, &file_field).await {
        Ok(f) => f,
        Err(msg) => {
            return page(signed.fail(Failure::bad_request(msg)).into_response());
        }
    };
    if !csrf_ok(signed, form.fields.get("_csrf")) {
        let kept = form.kept(&target, &file_field);
        return page(super::keep::stale_token(state, signed, &headers, kept));
    }
    let typed = ImageForm {
        alt: form.fields.get(&format!("{prefix}-alt")).trim().to_owned(),
        existing: form.fields.get(&format!("{prefix}-existing")).trim().to_owned(),
    };
    let refuse = |status: StatusCode, field: &str, message: String, typed: ImageForm| {
        Err(Box::new(Ok((status, vec![FormError::new(field, message)], typed))))
    };
    if !form.fields.get(&format!("{prefix}-remove")).is_empty() {
        return Ok(ImageChoice::Remove);
    }
    if form.too_big {
        let Refusal { status, message } = too_large(state, lang);
        return refuse(status, &file_field, message, typed);
    }
    if let Some(bytes) = &form.file {
        let (info, bytes) = match check_image(state, lang, bytes) {
            Ok(a) => a,
            Err(Refusal { status, message }) => return refuse(status, &file_field, message, typed),
        };
        if typed.alt.is_empty() {
            let field = format!("{prefix}-alt");
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, &field, t("media_alt_required"), typed);
        }
        return match state.store().create_media(&info, &typed.alt, &bytes).await {
            Ok(m) => Ok(ImageChoice::Set(m.id)),
            Err(e) => page(signed.fail(e).into_response()),
        };
    }
    if typed.existing.is_empty() {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, &file_field, t("inline_choose"), typed);
    }
    match state.store().find_media(&typed.existing).await {
        Ok(Some(m)) => Ok(ImageChoice::Set(m.id)),
        Ok(None) => {
            let field = format!("{prefix}-existing");
            refuse(StatusCode::UNPROCESSABLE_ENTITY, &field, t("inline_unknown"), typed)
        }
        Err(e) => page(signed.fail(e).into_response()),
    }
}

/// Applies a logo or avatar form with `save` (which sets or, with `None`,
/// removes the image and federates the change): `Ok` is the `done` key
/// for the page's notice (`{what}_saved` or `{what}_removed`), `Err` what
/// to show instead.
async fn apply_image<T, F, Fut>(
    state: &AppState,
    signed: &Signed,
    req: Request,
    what: &str,
    prefix: &str,
    save: F,
) -> Result<String, ImageRefusal>
where
    F: FnOnce(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<T, WriteError>>,
{
    let (image, done) = match image_choice(state, signed, req, what).await {
        Ok(ImageChoice::Set(id)) => (Some(id), format!("{what}_saved")),
        Ok(ImageChoice::Remove) => (None, format!("{what}_removed")),
        Err(refusal) => return Err(*refusal),
    };
    match save(image).await {
        Ok(_) => Ok(done),
        Err(e) => match write_errors(state, &signed.lang, e, prefix, "") {
            Ok((status, errors)) => Err(Ok((status, errors, ImageForm::default()))),
            Err(e) => Err(Err(signed.fail(e).into_response())),
        },
    }
}

/// `POST /admin/organisation/logo` — sets or removes the logo (multipart).
pub(crate) async fn post_logo(State(state): State<AppState>, signed: MaybeSigned<Admin>, req: Request) -> AdminResult {
    let (signed, req) = match signed.or_keep(&state, req).await {
        Ok(signed) => signed,
        Err(kept) => return Ok(kept),
    };
    let current = match state.store().find_organisation().await {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(see_other("/admin/organisation")),
        Err(e) => return Err(signed.fail(e)),
    };
    let save = |logo| profiles::set_organisation_logo(&state, logo);
    match apply_image(&state, &signed, req, "logo", "org-", save).await {
        Ok(done) => Ok(see_other(&format!("/admin/organisation?done={done}"))),
        Err(Err(page)) => Ok(page),
        Err(Ok((status, errors, typed))) => {
            let form = OrgForm::from_org(&current);
            org_page(&state, &signed, &form, true, errors, None, status, typed).await
        }
    }
}

/// `POST /admin/authors/{username}/avatar` — sets or removes an author's avatar (multipart).
pub(crate) async fn post_avatar(
    State(state): State<AppState>,
    signed: MaybeSigned<Admin>,
    Path(username): Path<String>,
    req: Request,
) -> AdminResult {
    let (signed, req) = match signed.or_keep(&state, req).await {
        Ok(signed) => signed,
        Err(kept) => return Ok(kept),
    };
    let current = state.store().get_author(&username).await.or_page(&signed)?;
    let save = |avatar| profiles::set_author_avatar(&state, &current.id, avatar);
    match apply_image(&state, &signed, req, "avatar", "author-", save).await {
        Ok(done) => Ok(see_other(&format!(
            "/admin/authors/{}?done={done}",
            crate::pages::encode_segment(&current.username)
        ))),
        Err(Err(page)) => Ok(page),
        Err(Ok((status, errors, typed))) => {
            let form = AuthorForm {
                current: Some(current.username.clone()),
                username: current.username.clone(),
                name: current.name.clone(),
                bio: current.bio.clone(),
                handle: current.fediverse_handle.clone().unwrap_or_default(),
                avatar: current.avatar.clone(),
            };
            author_page(&state, &signed, &form, errors, status, typed, None).await
        }
    }
}
