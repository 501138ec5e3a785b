//! Forms that could not be applied because their session had ended (or
//! their CSRF token was out of date) lose nothing typed: what they carried
//! ([`Kept`]) travels through the sign-in form as one hidden field, and
//! once signed in the user sees a page saying the change was not saved yet,
//! with what the form held and one button that posts it again to the same
//! address with the new session's CSRF token. The article editor instead
//! opens again with the text filled in (see `articles::restore_after_sign_in`).
//!
//! Nothing is ever saved by the sign-in itself: the save is a new post that
//! goes through the page's own handler (role checks, validation, the
//! editor's version check). A cross-site post (its `Origin` or
//! `Sec-Fetch-Site` says so) is not carried, the target must be an admin
//! form's path, passwords and the old CSRF token are dropped, and the number
//! of fields is bounded (the body itself by the routes' limits).

use axum::Form;
use axum::extract::{FromRequest, OriginalUri, Request};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::session::{Fields, csrf_refused};
use super::{Signed, error_page, render};
use crate::AppState;

/// Largest sign-in post: one carrying an editor's text (JSON-escaped).
pub(crate) const STASH_LIMIT: usize = 16 * 1024 * 1024;
/// At most this many fields are carried (the editor posts about a hundred).
const MAX_FIELDS: usize = 1000;

/// What a refused form carried: where it was posted, and its fields.
#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
pub(crate) struct Kept {
    /// The admin path the form was posted to.
    pub(crate) target: String,
    /// Posted as `multipart/form-data` (a form with a file input).
    #[serde(default)]
    pub(crate) multipart: bool,
    /// The text fields in order, without the CSRF token or any password.
    pub(crate) fields: Vec<(String, String)>,
    /// File inputs that held a file: browsers cannot be given it back.
    #[serde(default)]
    pub(crate) files: Vec<String>,
}

impl Kept {
    /// What is worth carrying of a posted form; `None` when nothing is
    /// (only a token or passwords) or when the target is not an admin form.
    pub(crate) fn new(
        target: &str,
        multipart: bool,
        fields: Vec<(String, String)>,
        files: Vec<String>,
    ) -> Option<Kept> {
        let target = safe_target(target)?.to_owned();
        let fields: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| carried(k)).collect();
        if (fields.is_empty() && files.is_empty()) || fields.len() > MAX_FIELDS {
            return None;
        }
        Some(Kept {
            target,
            multipart,
            fields,
            files,
        })
    }

    /// Reads a carried form back from the sign-in page, checking it again
    /// (the hidden field is only as trustworthy as the browser that sent it).
    pub(crate) fn parse(json: &str) -> Option<Kept> {
        let k: Kept = serde_json::from_str(json).ok()?;
        Kept::new(&k.target, k.multipart, k.fields, k.files)
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The first value of `name`, or `""`.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Whether a posted field may travel: never the CSRF token, never a password.
fn carried(name: &str) -> bool {
    name != "_csrf" && !name.to_ascii_lowercase().contains("password")
}

/// `path` when a kept form may be posted there again: an admin path
/// (same origin by construction: no scheme, no `//`, no `..`, nothing but
/// plain path characters), and not the sign-in, sign-out, reset or preview.
pub(crate) fn safe_target(path: &str) -> Option<&str> {
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_.~%@".contains(&b));
    let inside = path == "/admin" || path.starts_with("/admin/");
    let excluded = ["/admin/login", "/admin/logout", "/admin/reset", "/admin/preview"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    (plain && inside && !excluded && !path.contains("//") && !path.contains("..") && path.len() <= 512).then_some(path)
}

/// Whether the browser says the post came from another site. Browsers send
/// `Sec-Fetch-Site` and `Origin` with every form post; a request with
/// neither (a script, an old browser) is judged by its CSRF token alone.
pub(crate) fn cross_site(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let public = url::Url::parse(&state.config().public_url)
        .ok()
        .map(|u| u.origin().ascii_serialization());
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let same_host = host.is_some_and(|h| origin == format!("http://{h}") || origin == format!("https://{h}"));
    !(same_host || public.as_deref() == Some(origin))
}

/// The path a request was posted to (nested routers see their own).
pub(crate) fn target_of(req: &Request) -> String {
    req.extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned())
}

/// A form posted without a live session: the sign-in page carrying what it
/// held, or (nothing to carry, or a cross-site post) the page saying the
/// session ended.
pub(crate) async fn after_session_ended(state: &AppState, lang: &str, req: Request) -> Response {
    let target = target_of(&req);
    let ended = || {
        error_page(
            state,
            lang,
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "session_expired_text",
        )
    };
    if cross_site(state, req.headers()) || safe_target(&target).is_none() {
        return ended();
    }
    // Without a session nobody may send a large body: what is carried is
    // text, so a urlencoded form announced past the stash's size is refused
    // unread, and any body is read only up to that size (a multipart
    // form's file is dropped as it streams, its text fields kept).
    let multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/"));
    if !multipart && crate::limits::content_length(req.headers()).is_some_and(|n| n > STASH_LIMIT as u64) {
        return ended();
    }
    let req = req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, STASH_LIMIT)));
    let kept = match read_any(state, req).await {
        Some((multipart, fields, files)) => Kept::new(&target, multipart, fields, files),
        None => None,
    };
    match kept {
        Some(kept) => super::session::login_page_keeping(state, lang, &kept),
        None => ended(),
    }
}

/// The text fields of a urlencoded or multipart post (and the names of the
/// file inputs that held a file); `None` for anything else.
async fn read_any(state: &AppState, req: Request) -> Option<(bool, Vec<(String, String)>, Vec<String>)> {
    let kind = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if kind.starts_with("application/x-www-form-urlencoded") {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state).await.ok()?;
        Some((false, pairs, Vec::new()))
    } else if kind.starts_with("multipart/form-data") {
        let (fields, files) = super::upload::read_text_fields(state, req).await.ok()?;
        Some((true, fields, files))
    } else {
        None
    }
}

/// Why a form is shown again instead of being applied.
pub(crate) enum Why {
    /// It was posted while signed out; the user has just signed in.
    SignedIn,
    /// Its CSRF token was not this session's (signed in again elsewhere).
    StaleToken,
}

/// A form with a live session but another session's CSRF token: shown
/// again to be saved knowingly, unless it came from another site or holds
/// nothing worth keeping (then the plain refusal).
pub(crate) fn stale_token(state: &AppState, signed: &Signed, headers: &HeaderMap, kept: Option<Kept>) -> Response {
    match kept {
        Some(kept) if !cross_site(state, headers) => page(state, signed, &kept, Why::StaleToken, StatusCode::FORBIDDEN),
        _ => csrf_refused(state, &signed.lang),
    }
}

/// [`stale_token`] for a urlencoded form.
pub(crate) fn stale_form(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    target: &str,
    fields: &Fields,
) -> Response {
    let kept = Kept::new(target, false, fields.0.clone(), Vec::new());
    stale_token(state, signed, headers, kept)
}

/// After signing in with a carried form: the editor opens again with its
/// text; any other form gets the "not saved yet" page.
pub(crate) async fn after_sign_in(state: &AppState, signed: &Signed, kept: &Kept) -> Response {
    if super::articles::is_editor_path(&kept.target) {
        return super::articles::restore_after_sign_in(state, signed, kept)
            .await
            .into_response();
    }
    page(state, signed, kept, Why::SignedIn, StatusCode::OK)
}

/// The admin page a form belongs to: its menu entry (the page's name in
/// the strings) and the address to go back to without saving.
fn page_of(target: &str) -> (&'static str, &'static str, &'static str) {
    const PAGES: [(&str, &str, &str, &str); 14] = [
        ("/admin/articles", "articles", "articles", "/admin/articles"),
        ("/admin/media", "media", "media_library", "/admin/media"),
        ("/admin/comments", "comments", "comments", "/admin/comments"),
        ("/admin/followers", "followers", "followers", "/admin/followers"),
        ("/admin/reports", "reports", "reports", "/admin/reports"),
        ("/admin/blocks", "blocks", "blocks", "/admin/blocks"),
        ("/admin/allowlist", "blocks", "blocks", "/admin/blocks"),
        ("/admin/network", "network", "coord_admin", "/admin/network"),
        ("/admin/users", "users", "users", "/admin/users"),
        ("/admin/tokens", "tokens", "tokens", "/admin/tokens"),
        ("/admin/settings", "settings", "settings", "/admin/settings"),
        ("/admin/account", "account", "my_account", "/admin/account"),
        (
            "/admin/organisation",
            "organisation",
            "organisation",
            "/admin/organisation",
        ),
        ("/admin/authors", "authors", "authors", "/admin/authors"),
    ];
    if target == "/admin/language" {
        return ("account", "interface_language", "/admin/account");
    }
    PAGES
        .iter()
        .find(|(prefix, ..)| target == *prefix || target.starts_with(&format!("{prefix}/")))
        .map(|(_, nav, name, back)| (*nav, *name, *back))
        .unwrap_or(("dashboard", "dashboard", "/admin"))
}

/// Fields not worth showing: where the form goes back to, hidden page state.
fn shown(name: &str) -> bool {
    !matches!(name, "back" | "page" | "version")
}

/// A field's label as its page says it, when the strings know it (a
/// setting `set-name`, `org-name` as `org_name`, `author-bio` as `bio`),
/// else its name.
fn label(state: &AppState, lang: &str, name: &str) -> String {
    // Fields whose page labels them with a string of another name.
    const ALIASES: [(&str, &str); 8] = [
        ("author-name", "display_name"),
        ("author-username", "fediverse_name"),
        ("author-fediverse_handle", "own_fediverse_account"),
        ("org-username", "fediverse_name"),
        ("invite-name", "display_name"),
        ("logo-alt", "alt_text"),
        ("avatar-alt", "alt_text"),
        ("alt", "alt_text"),
    ];
    let templates = state.templates();
    if let Some((_, key)) = ALIASES.iter().find(|(field, _)| *field == name) {
        return templates.text(lang, key);
    }
    let suffix = name.split_once('-').map(|(_, s)| s).unwrap_or(name);
    [
        format!("setting_{name}"),
        name.replace('-', "_"),
        suffix.replace('-', "_"),
    ]
    .iter()
    .find_map(|key| templates.text_opt(lang, key))
    .unwrap_or_else(|| name.to_owned())
}

/// "Your change to PAGE is not saved yet": what the form held, and one
/// button that posts it again with this session's CSRF token.
pub(crate) fn page(state: &AppState, signed: &Signed, kept: &Kept, why: Why, status: StatusCode) -> Response {
    let lang = &signed.lang;
    let templates = state.templates();
    let (nav, name_key, fallback) = page_of(&kept.target);
    let page_name = templates.text(lang, name_key);
    // Back to where the form was, when it said (and it is an admin page).
    let back = Some(kept.get("back"))
        .filter(|b| super::session::safe_next(b) == *b && b.starts_with("/admin"))
        .unwrap_or(fallback);
    let shown_fields: Vec<serde_json::Value> = kept
        .fields
        .iter()
        .filter(|(k, _)| shown(k))
        .map(|(k, v)| json!({ "name": k, "label": label(state, lang, k), "value": v }))
        .collect();
    let ctx = json!({
        "kept": kept,
        "shown": shown_fields,
        "page_name": page_name,
        "back": back,
        // The language switch comes back to the page, not to the form's target.
        "here": back,
        "stale": matches!(why, Why::StaleToken),
    });
    let mut r = render(state, signed, nav, "admin/kept.html", ctx);
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn only_admin_form_paths_are_targets() {
        assert_eq!(safe_target("/admin/settings"), Some("/admin/settings"));
        assert_eq!(
            safe_target("/admin/authors/tom_verbeke"),
            Some("/admin/authors/tom_verbeke")
        );
        for bad in [
            "https://evil.example/admin/settings",
            "//evil.example/admin",
            "/admin//evil.example",
            "/admin/../evil",
            "/adminx",
            "/admin\\evil",
            "/admin/settings?x=1",
            "/admin/settings\r\nSet-Cookie: a=b",
            "/admin/login",
            "/admin/logout",
            "/admin/reset/abc",
            "/admin/preview",
            "/public/admin",
            "",
        ] {
            assert_eq!(safe_target(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_and_passwords_never_travel() {
        let kept = Kept::new(
            "/admin/account/password",
            false,
            pairs(&[("_csrf", "t"), ("current_password", "x"), ("new_password", "y")]),
            Vec::new(),
        );
        assert_eq!(kept, None, "nothing worth carrying");
        let kept = Kept::new(
            "/admin/settings",
            false,
            pairs(&[("_csrf", "old"), ("set-name", "Sunfield"), ("Password", "p")]),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(kept.fields, pairs(&[("set-name", "Sunfield")]));
        // Read back from the sign-in page, it is checked again.
        assert_eq!(Kept::parse(&kept.to_json()), Some(kept));
        let forged = r#"{"target":"https://evil.example/","fields":[["a","b"]]}"#;
        assert_eq!(Kept::parse(forged), None);
        let sneaky = r#"{"target":"/admin/settings","fields":[["_csrf","old"],["set-name","x"]]}"#;
        assert_eq!(Kept::parse(sneaky).unwrap().fields, pairs(&[("set-name", "x")]));
    }

    #[test]
    fn the_number_of_fields_is_bounded() {
        let many: Vec<(String, String)> = (0..=MAX_FIELDS).map(|i| (format!("f{i}"), "v".into())).collect();
        assert_eq!(Kept::new("/admin/settings", false, many, Vec::new()), None);
    }

    #[test]
    fn forms_belong_to_their_page() {
        assert_eq!(page_of("/admin/users/eddie/role").1, "users");
        assert_eq!(page_of("/admin/allowlist/remove").2, "/admin/blocks");
        assert_eq!(page_of("/admin/organisation/logo").1, "organisation");
        assert_eq!(page_of("/admin/somewhere").1, "dashboard");
    }
}
