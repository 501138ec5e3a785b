//! Profiles of the local actors (admins only): `/admin/organisation` and
//! `/admin/authors`. Saves go through [`crate::profiles`], the path the
//! REST API uses: the same validation, and the same `Update` of the actor
//! queued to its followers. A refused save shows the form again with what
//! was typed and a message beside each bad field.
//!
//! Usernames are fediverse names (`@name@host`) that followers' servers
//! keep: once set they are shown, not edited, here.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gazette_core::{AuthorInput, LegalForm, Organisation};
use gazette_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::{CsrfForm, Fields};
use super::{Signed, done_notice, render, require_admin, see_other, store_failure};
use crate::AppState;
use crate::content::WriteError;
use crate::profiles::{self, OrganisationInput};

#[derive(Deserialize, Default)]
pub(crate) struct Params {
    done: Option<String>,
}

#[derive(Serialize, Clone)]
struct FormError {
    field: String,
    message: String,
}

/// Splits a comma- or line-separated list.
fn list(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The messages of a refused save, keyed by the form's field ids (`{prefix}{field}`).
fn write_errors(e: WriteError, prefix: &str) -> Result<(StatusCode, Vec<FormError>), StoreError> {
    let one = |field: &str, message: String| FormError {
        field: format!("{prefix}{field}"),
        message,
    };
    match e {
        WriteError::Invalid(v) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v.0.iter().map(|f| one(&f.field, f.to_string())).collect(),
        )),
        WriteError::Store(StoreError::Conflict { field, message }) => {
            Ok((StatusCode::CONFLICT, vec![one(field, format!("{field}: {message}"))]))
        }
        WriteError::Store(StoreError::Invalid { field, message }) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![one(field, format!("{field}: {message}"))],
        )),
        WriteError::Store(e) => Err(e),
    }
}

fn field_errors(errors: &[FormError]) -> HashMap<&str, &str> {
    errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect()
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

fn org_page(
    state: &AppState,
    signed: &Signed,
    form: &OrgForm,
    exists: bool,
    errors: Vec<FormError>,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let page = json!({
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
    r
}

/// `GET /admin/organisation`
pub(crate) async fn get_organisation(
    State(state): State<AppState>,
    signed: Signed,
    Query(p): Query<Params>,
) -> Response {
    if let Some(r) = require_admin(&state, &signed) {
        return r;
    }
    let current = match state.store().find_organisation().await {
        Ok(c) => c,
        Err(e) => return store_failure(&state, &signed.lang, e),
    };
    let form = current.as_ref().map(OrgForm::from_org).unwrap_or_default();
    let flash = done_notice(&state, &signed.lang, p.done.as_deref(), &["profile_saved"]);
    org_page(
        &state,
        &signed,
        &form,
        current.is_some(),
        Vec::new(),
        flash,
        StatusCode::OK,
    )
}

/// `POST /admin/organisation` — saves the profile (and federates the change).
pub(crate) async fn post_organisation(State(state): State<AppState>, form: CsrfForm) -> Response {
    let signed = &form.signed;
    if let Some(r) = require_admin(&state, signed) {
        return r;
    }
    let current = match state.store().find_organisation().await {
        Ok(c) => c,
        Err(e) => return store_failure(&state, &signed.lang, e),
    };
    let typed = OrgForm::from_fields(&form.fields, current.as_ref());
    match profiles::save_organisation(&state, &typed.to_input()).await {
        Ok(_) => see_other("/admin/organisation?done=profile_saved"),
        Err(e) => match write_errors(e, "org-") {
            Ok((status, errors)) => org_page(&state, signed, &typed, current.is_some(), errors, None, status),
            Err(e) => store_failure(&state, &signed.lang, e),
        },
    }
}

/// `GET /admin/authors` — every author, with links to their profiles.
pub(crate) async fn get_authors(State(state): State<AppState>, signed: Signed, Query(p): Query<Params>) -> Response {
    if let Some(r) = require_admin(&state, &signed) {
        return r;
    }
    let authors = match state.store().list_authors().await {
        Ok(a) => a,
        Err(e) => return store_failure(&state, &signed.lang, e),
    };
    let page = json!({
        "authors": authors.iter().map(|a| json!({
            "username": a.username,
            "name": a.name,
            "handle": a.fediverse_handle,
            "public_url": format!("/authors/{}", a.username),
        })).collect::<Vec<_>>(),
        "flash": done_notice(&state, &signed.lang, p.done.as_deref(), &["profile_saved", "author_created"]),
    });
    render(&state, &signed, "authors", "admin/authors.html", page)
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

fn author_page(
    state: &AppState,
    signed: &Signed,
    form: &AuthorForm,
    errors: Vec<FormError>,
    status: StatusCode,
) -> Response {
    let page = json!({
        "form": form,
        "field_errors": field_errors(&errors),
        "errors": errors,
        "avatar_url": form.avatar.as_deref().map(crate::pages::media_path),
        "action": form.current.as_ref().map(|u| format!("/admin/authors/{u}")).unwrap_or_else(|| "/admin/authors/new".into()),
    });
    let mut r = render(state, signed, "authors", "admin/author.html", page);
    *r.status_mut() = status;
    r
}

/// `GET /admin/authors/new`
pub(crate) async fn get_new_author(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(r) = require_admin(&state, &signed) {
        return r;
    }
    author_page(&state, &signed, &AuthorForm::default(), Vec::new(), StatusCode::OK)
}

/// `POST /admin/authors/new`
pub(crate) async fn post_new_author(State(state): State<AppState>, form: CsrfForm) -> Response {
    let signed = &form.signed;
    if let Some(r) = require_admin(&state, signed) {
        return r;
    }
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
        Ok(_) => see_other("/admin/authors?done=author_created"),
        Err(e) => match write_errors(e, "author-") {
            Ok((status, errors)) => author_page(&state, signed, &typed, errors, status),
            Err(e) => store_failure(&state, &signed.lang, e),
        },
    }
}

/// `GET /admin/authors/{username}`
pub(crate) async fn get_author(
    State(state): State<AppState>,
    signed: Signed,
    Path(username): Path<String>,
) -> Response {
    if let Some(r) = require_admin(&state, &signed) {
        return r;
    }
    let a = match state.store().get_author(&username).await {
        Ok(a) => a,
        Err(e) => return store_failure(&state, &signed.lang, e),
    };
    let form = AuthorForm {
        current: Some(a.username.clone()),
        username: a.username,
        name: a.name,
        bio: a.bio,
        handle: a.fediverse_handle.unwrap_or_default(),
        avatar: a.avatar,
    };
    author_page(&state, &signed, &form, Vec::new(), StatusCode::OK)
}

/// `POST /admin/authors/{username}` — saves the profile (and federates the change).
pub(crate) async fn post_author(
    State(state): State<AppState>,
    Path(username): Path<String>,
    form: CsrfForm,
) -> Response {
    let signed = &form.signed;
    if let Some(r) = require_admin(&state, signed) {
        return r;
    }
    let current = match state.store().get_author(&username).await {
        Ok(a) => a,
        Err(e) => return store_failure(&state, &signed.lang, e),
    };
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
        Ok(_) => see_other("/admin/authors?done=profile_saved"),
        Err(e) => match write_errors(e, "author-") {
            Ok((status, errors)) => author_page(&state, signed, &typed, errors, status),
            Err(e) => store_failure(&state, &signed.lang, e),
        },
    }
}
