//! Signing in and out: the session cookie and the [`Signed`] extractor that
//! every admin page takes (through a role extractor of [`super::roles`]
//! when the page is not for everyone), CSRF tokens on every form
//! ([`CsrfForm`] for ordinary forms; multipart forms check theirs with
//! [`csrf_ok`]), sign-in
//! rate limits per account and per address, one-time password reset links,
//! and the interface language switch.
//!
//! The session cookie holds a random secret whose hash the store keeps with
//! the session's own CSRF token; it is `HttpOnly`, `SameSite=Lax`, limited
//! to `/admin`, and `Secure` when the instance is served over https. Forms
//! shown before signing in (sign-in, password reset) carry a token that
//! must match a short-lived cookie of their own (double submit).

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use gazette_store::{Session, StoreError};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;

use super::error::{AdminError, AdminResult, Failure, OrPage};
use super::keep::Kept;
use super::roles::{Anyone, Needs};
use super::{error_page, render_ctx, see_other, ui_language};
use crate::AppState;

pub(crate) const SESSION_COOKIE: &str = "gazette_session";
const FORM_COOKIE: &str = "gazette_form";
/// Sign-in attempts counted over this window (from the first)…
const LIMIT_WINDOW_MINUTES: i64 = 15;
/// …refuse the account after this many (since its last success)…
const MAX_ACCOUNT_FAILURES: i64 = 5;
/// …and the address after this many failures, whatever the account.
const MAX_ADDRESS_FAILURES: i64 = 20;

/// A signed-in request: the live session, its cookie secret, and the
/// interface language. Without a live session, a page answers with a
/// redirect to the sign-in page; forms ([`CsrfForm`], and the multipart
/// ones through [`MaybeSigned`]) answer with the sign-in page carrying
/// what was posted (see [`super::keep`]).
pub(crate) struct Signed {
    /// The state, so a failure can be shown in [`Signed::lang`] (see
    /// [`Signed::fail`]).
    pub(crate) state: AppState,
    pub(crate) session: Session,
    secret: String,
    pub(crate) lang: String,
    /// Path and query of this request, to come back to after a side form.
    pub(crate) here: String,
    /// The time zone the user reads and types times in (theirs, else the
    /// instance's).
    pub(crate) tz: gazette_core::local_time::Tz,
}

impl Signed {
    /// The live session of a request, `None` when it has none (no cookie,
    /// or one whose session expired or ended).
    pub(crate) async fn find(parts: &Parts, state: &AppState) -> Result<Option<Signed>, Response> {
        let lang = ui_language(None, &parts.headers);
        let settings = &state.config().admin;
        // Nested routers see their own path; the original one names the page.
        let here = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .and_then(|u| u.0.path_and_query().map(|p| p.as_str().to_owned()))
            .unwrap_or_else(|| "/admin".to_owned());
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        // The instance settings are read with the session, so the page's
        // frame (the instance's name) is current.
        let (found, instance) = tokio::try_join!(
            state
                .store()
                .find_session(secret, settings.session_idle, settings.session_max),
            state.settings()
        )
        .map_err(|e| AdminError::new(state, &lang, e).into_response())?;
        Ok(found.map(|session| {
            let lang = ui_language(Some(&session.user), &parts.headers);
            Signed {
                state: state.clone(),
                tz: super::user_zone(&session.user, instance.time_zone),
                session,
                secret: secret.to_owned(),
                lang,
                here,
            }
        }))
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Signed::find(parts, state).await? {
            Some(signed) => Ok(signed),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                let here = parts
                    .extensions
                    .get::<axum::extract::OriginalUri>()
                    .and_then(|u| u.0.path_and_query().map(|p| p.as_str().to_owned()))
                    .unwrap_or_else(|| "/admin".to_owned());
                Err(see_other(&format!(
                    "/admin/login?next={}",
                    crate::pages::encode_segment(&here)
                )))
            }
            None => Err(error_page(
                state,
                &ui_language(None, &parts.headers),
                StatusCode::UNAUTHORIZED,
                "session_expired",
                "session_expired_text",
            )),
        }
    }
}

/// A request that may or may not come with a live session: the multipart
/// forms (editor, image library, logo, avatar), which read their own body
/// and keep what was posted when the session has ended. A live session of
/// a user that rule `R` (see [`super::roles`]) keeps out gets the 403 page.
pub(crate) enum MaybeSigned<R: Needs = Anyone> {
    Signed(Box<Signed>, PhantomData<R>),
    /// No live session; the interface language from `Accept-Language`.
    Ended {
        lang: String,
    },
}

impl<R: Needs> FromRequestParts<AppState> for MaybeSigned<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(match Signed::find(parts, state).await? {
            Some(signed) => {
                R::check(&signed).map_err(IntoResponse::into_response)?;
                MaybeSigned::Signed(Box::new(signed), PhantomData)
            }
            None => MaybeSigned::Ended {
                lang: ui_language(None, &parts.headers),
            },
        })
    }
}

impl<R: Needs> MaybeSigned<R> {
    /// The signed-in request, or (the session ended) the answer that keeps
    /// what `req` posted through the sign-in (see [`super::keep`]).
    pub(crate) async fn or_keep(self, state: &AppState, req: Request) -> Result<(Signed, Request), Response> {
        match self {
            MaybeSigned::Signed(signed, _) => Ok((*signed, req)),
            MaybeSigned::Ended { lang } => Err(super::keep::after_session_ended(state, &lang, req).await),
        }
    }
}

/// A urlencoded form posted by a signed-in user, its CSRF token checked,
/// then the rule `R` on who may post it (see [`super::roles`]; 403 for
/// anyone else). Without a live session, or with another session's token,
/// the form is not applied but kept (see [`super::keep`]).
pub(crate) struct CsrfForm<R: Needs = Anyone> {
    pub(crate) signed: Signed,
    pub(crate) fields: Fields,
    role: PhantomData<R>,
}

impl<R: Needs> FromRequest<AppState> for CsrfForm<R> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let found = Signed::find(&parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Some(signed) = found else {
            // Signed out meanwhile: the sign-in page carries what was posted.
            let lang = ui_language(None, req.headers());
            return Err(super::keep::after_session_ended(state, &lang, req).await);
        };
        let headers = req.headers().clone();
        let target = super::keep::target_of(&req);
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|e| signed.fail(Failure::bad_request(e.body_text())).into_response())?;
        let fields = Fields(pairs);
        if !csrf_ok(&signed, fields.get("_csrf")) {
            // Another session's token (signed in again elsewhere): shown
            // again to be saved knowingly, never applied as it is.
            return Err(super::keep::stale_form(state, &signed, &headers, &target, &fields));
        }
        R::check(&signed).map_err(IntoResponse::into_response)?;
        Ok(CsrfForm {
            signed,
            fields,
            role: PhantomData,
        })
    }
}

/// Posted form fields, in order.
pub(crate) struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or `""`.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// True when `given` is this session's CSRF token.
pub(crate) fn csrf_ok(signed: &Signed, given: &str) -> bool {
    same(given, &signed.session.csrf_token)
}

/// Compares secrets in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && !a.is_empty() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 403 for a form without the right CSRF token.
pub(crate) fn csrf_refused(state: &AppState, lang: &str) -> Response {
    error_page(state, lang, StatusCode::FORBIDDEN, "csrf_refused", "csrf_refused_text")
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// `Set-Cookie` for an admin cookie; `max_age` `Some(0)` deletes it.
fn set_cookie(state: &AppState, name: &str, value: &str, same_site: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/admin; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.config().public_url.starts_with("https://") {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("gazette_invalid=1"))
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The address a request came from: the peer, or the last hop a reverse
/// proxy on this machine recorded in `X-Forwarded-For`.
fn client_address(parts_headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    let Some(peer) = peer else {
        return "unknown".to_owned();
    };
    if peer.ip().is_loopback()
        && let Some(forwarded) = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
    {
        return forwarded.to_owned();
    }
    peer.ip().to_string()
}

/// Only paths inside the admin are followed after signing in.
pub(crate) fn safe_next(next: &str) -> &str {
    if next.starts_with("/admin") && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/admin"
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct LoginParams {
    next: Option<String>,
    done: Option<String>,
}

/// `GET /admin/login` — the sign-in form (already signed in: the dashboard).
pub(crate) async fn get_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<LoginParams>,
) -> Response {
    let lang = ui_language(None, &headers);
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        let s = &state.config().admin;
        if let Ok(Some(_)) = state.store().find_session(secret, s.session_idle, s.session_max).await {
            return see_other(safe_next(p.next.as_deref().unwrap_or("/admin")));
        }
    }
    let notice = match p.done.as_deref() {
        Some("signed_out") => Some(state.templates().text(&lang, "signed_out")),
        Some("password_set") => Some(state.templates().text(&lang, "password_set")),
        _ => None,
    };
    login_page(
        &state,
        &lang,
        StatusCode::OK,
        "",
        p.next.as_deref().unwrap_or("/admin"),
        None,
        notice,
    )
}

/// The sign-in page shown when a form arrives after its session ended: it
/// carries what was posted in a hidden field, and says nothing was saved.
pub(crate) fn login_page_keeping(state: &AppState, lang: &str, kept: &Kept) -> Response {
    let notice = state.templates().text(lang, "session_expired_kept");
    let json = kept.to_json();
    login_page_full(
        state,
        lang,
        StatusCode::UNAUTHORIZED,
        "",
        "/admin",
        None,
        Some(notice),
        Some(json.as_str()),
    )
}

/// The sign-in form with a fresh form token (and its cookie).
fn login_page(
    state: &AppState,
    lang: &str,
    status: StatusCode,
    username: &str,
    next: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    login_page_full(state, lang, status, username, next, error, notice, None)
}

/// [`login_page`], carrying a stash of posted fields when there is one.
#[allow(clippy::too_many_arguments)]
fn login_page_full(
    state: &AppState,
    lang: &str,
    status: StatusCode,
    username: &str,
    next: &str,
    error: Option<String>,
    notice: Option<String>,
    stash: Option<&str>,
) -> Response {
    let token = random_hex();
    let ctx = json!({
        "lang": lang,
        "site_name": state.last_settings().name,
        "csrf": token,
        "username": username,
        "next": safe_next(next),
        "error": error,
        "notice": notice,
        "stash": stash.filter(|s| !s.is_empty()),
    });
    let mut r = render_ctx(state, lang, status, "admin/login.html", ctx);
    r.headers_mut()
        .append(SET_COOKIE, set_cookie(state, FORM_COOKIE, &token, "Strict", Some(3600)));
    r
}

/// `POST /admin/login` — checks the form token, the rate limits, then the
/// password; on success opens a session and goes to `next`.
pub(crate) async fn post_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<axum::extract::Extension<ConnectInfo<SocketAddr>>>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AdminResult {
    let lang = ui_language(None, &headers);
    let fail = |e: StoreError| AdminError::new(&state, &lang, e);
    let fields = Fields(fields);
    let (username, password, next) = (
        fields.get("username").trim(),
        fields.get("password"),
        fields.get("next"),
    );
    let t = |k: &str| state.templates().text(&lang, k);
    // Fields posted after a session ended, to give back once signed in.
    let stash = fields.get("stash");
    let kept_notice = || (!stash.is_empty()).then(|| t("session_expired_kept"));
    if !cookie(&headers, FORM_COOKIE).is_some_and(|c| same(c, fields.get("_csrf"))) {
        if stash.is_empty() {
            return Ok(csrf_refused(&state, &lang));
        }
        // The sign-in form's own token ran out while it carried posted
        // fields: a fresh form, still carrying them.
        return Ok(login_page_full(
            &state,
            &lang,
            StatusCode::FORBIDDEN,
            username,
            next,
            Some(t("csrf_refused_sign_in")),
            kept_notice(),
            Some(stash),
        ));
    }
    if username.is_empty() || password.is_empty() {
        return Ok(login_page_full(
            &state,
            &lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            username,
            next,
            Some(t("login_missing")),
            kept_notice(),
            Some(stash),
        ));
    }
    let ip = client_address(&headers, peer.map(|p| p.0.0));
    // Counted before the password is checked, in one statement: however
    // many arrive at once, only the first few of the window are checked.
    let window = Duration::minutes(LIMIT_WINDOW_MINUTES);
    let attempts = state
        .store()
        .count_login_attempt(username, &ip, window)
        .await
        .map_err(fail)?;
    if attempts.account > MAX_ACCOUNT_FAILURES || attempts.address > MAX_ADDRESS_FAILURES {
        let msg = t("login_rate_limited").replace("{minutes}", &LIMIT_WINDOW_MINUTES.to_string());
        return Ok(login_page_full(
            &state,
            &lang,
            StatusCode::TOO_MANY_REQUESTS,
            username,
            next,
            Some(msg),
            kept_notice(),
            Some(stash),
        ));
    }
    // A few password checks at a time (19 MiB each); the rest wait briefly.
    let checked = state
        .guards()
        .passwords
        .run(state.store().check_login(username, password))
        .await;
    let user = match checked {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => return Err(fail(e)),
        Err(crate::limits::PoolBusy) => {
            tracing::warn!(username, ip, "sign-in turned away: password checks all busy");
            return Ok(crate::limits::busy(
                2,
                "too many sign-ins at once; try again in a moment",
            ));
        }
    };
    let recorded = match &user {
        Some(_) => state.store().forgive_login_attempt(username, &ip).await,
        None => Ok(()),
    };
    recorded
        .and(state.store().record_login_attempt(username, &ip, user.is_some()).await)
        .map_err(fail)?;
    let Some(user) = user else {
        tracing::info!(username, ip, "failed admin sign-in");
        return Ok(login_page_full(
            &state,
            &lang,
            StatusCode::UNAUTHORIZED,
            username,
            next,
            Some(t("login_wrong")),
            kept_notice(),
            Some(stash),
        ));
    };
    let s = &state.config().admin;
    let (secret, session) = state
        .store()
        .create_session(&user.id, s.session_idle, s.session_max)
        .await
        .map_err(fail)?;
    tracing::info!(username = user.username, ip, "admin signed in");
    let mut r = match Kept::parse(stash) {
        None => see_other(safe_next(next)),
        Some(kept) => {
            // The form that was posted, shown again, not saved: saving it
            // is a new post with this session's CSRF token.
            let signed = Signed {
                state: state.clone(),
                lang: ui_language(Some(&session.user), &headers),
                tz: super::user_zone(&session.user, state.last_settings().time_zone),
                session,
                secret: secret.clone(),
                here: kept.target.clone(),
            };
            super::keep::after_sign_in(&state, &signed, &kept).await
        }
    };
    let h = r.headers_mut();
    h.append(SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &secret, "Lax", None));
    h.append(SET_COOKIE, set_cookie(&state, FORM_COOKIE, "", "Strict", Some(0)));
    Ok(r)
}

/// `POST /admin/logout` — ends this session.
pub(crate) async fn post_logout(State(state): State<AppState>, form: CsrfForm) -> AdminResult {
    state
        .store()
        .delete_session(&form.signed.secret)
        .await
        .or_page(&form.signed)?;
    let mut r = see_other("/admin/login?done=signed_out");
    r.headers_mut()
        .append(SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", "Lax", Some(0)));
    Ok(r)
}

/// `GET /admin/reset/{token}` — the form that sets a new password.
pub(crate) async fn get_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> AdminResult {
    let lang = ui_language(None, &headers);
    match state.store().find_password_reset(&token).await {
        Ok(Some(user)) => Ok(reset_page(&state, &lang, StatusCode::OK, &token, &user.username, None)),
        Ok(None) => Ok(reset_expired(&state, &lang)),
        Err(e) => Err(AdminError::new(&state, &lang, e)),
    }
}

fn reset_expired(state: &AppState, lang: &str) -> Response {
    error_page(
        state,
        lang,
        StatusCode::NOT_FOUND,
        "reset_expired",
        "reset_expired_text",
    )
}

fn reset_page(
    state: &AppState,
    lang: &str,
    status: StatusCode,
    token: &str,
    username: &str,
    error: Option<String>,
) -> Response {
    let form_token = random_hex();
    let ctx = json!({
        "lang": lang,
        "site_name": state.last_settings().name,
        "csrf": form_token,
        "token": token,
        "username": username,
        "error": error,
        "min_chars": gazette_store::MIN_PASSWORD_CHARS,
    });
    let mut r = render_ctx(state, lang, status, "admin/reset.html", ctx);
    r.headers_mut().append(
        SET_COOKIE,
        set_cookie(state, FORM_COOKIE, &form_token, "Strict", Some(3600)),
    );
    r
}

/// `POST /admin/reset/{token}` — sets the password once, signs out everywhere.
pub(crate) async fn post_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AdminResult {
    let lang = ui_language(None, &headers);
    let fail = |e: StoreError| AdminError::new(&state, &lang, e);
    let fields = Fields(fields);
    if !cookie(&headers, FORM_COOKIE).is_some_and(|c| same(c, fields.get("_csrf"))) {
        return Ok(csrf_refused(&state, &lang));
    }
    let user = match state.store().find_password_reset(&token).await.map_err(fail)? {
        Some(u) => u,
        None => return Ok(reset_expired(&state, &lang)),
    };
    let (password, again) = (fields.get("password"), fields.get("password_again"));
    if password != again {
        let msg = state.templates().text(&lang, "passwords_differ");
        return Ok(reset_page(
            &state,
            &lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &user.username,
            Some(msg),
        ));
    }
    match state.store().use_password_reset(&token, password).await {
        Ok(_) => Ok(see_other("/admin/login?done=password_set")),
        Err(StoreError::Invalid { .. }) => {
            let msg = state
                .templates()
                .text(&lang, "password_too_short")
                .replace("{min}", &gazette_store::MIN_PASSWORD_CHARS.to_string());
            Ok(reset_page(
                &state,
                &lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                &token,
                &user.username,
                Some(msg),
            ))
        }
        Err(StoreError::NotFound { .. }) => Ok(reset_expired(&state, &lang)),
        Err(e) => Err(fail(e)),
    }
}

/// `POST /admin/language` — the interface language (`en`, `fr`, or empty
/// to follow the browser), then back to the page it was chosen on.
pub(crate) async fn post_language(State(state): State<AppState>, form: CsrfForm) -> AdminResult {
    let locale = match form.fields.get("locale") {
        l @ ("en" | "fr") => Some(l),
        _ => None,
    };
    state
        .store()
        .set_user_locale(&form.signed.session.user.id, locale)
        .await
        .or_page(&form.signed)?;
    Ok(see_other(safe_next(form.fields.get("back"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_next() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; gazette_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, FORM_COOKIE), None);
        assert_eq!(
            safe_next("/admin/articles?status=draft"),
            "/admin/articles?status=draft"
        );
        assert_eq!(safe_next("https://evil.example/admin"), "/admin");
        assert_eq!(safe_next("//evil.example"), "/admin");
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("", ""));
    }

    #[test]
    fn forwarded_address_only_from_a_local_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1, 203.0.113.9"));
        let local: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let remote: SocketAddr = "198.51.100.2:4000".parse().unwrap();
        assert_eq!(client_address(&h, Some(local)), "203.0.113.9");
        assert_eq!(client_address(&h, Some(remote)), "198.51.100.2");
        assert_eq!(client_address(&HeaderMap::new(), Some(local)), "127.0.0.1");
    }
}
