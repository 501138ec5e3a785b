//! The newsletter's public side: the subscription form (`/subscribe`, and
//! the footer of every page when `[mail]` is configured), the confirm link
//! of the double opt-in, and the unsubscribe page with its one-click POST
//! (RFC 8058). Every page works without JavaScript. The form checks a
//! token against a short-lived cookie of its own (double submit, as the
//! admin's sign-in form does); the links are signed ([`links`]) and need no
//! session. A subscription request answers the same whether the address is
//! new, waiting or confirmed. [`mails`] builds what the server's worker sends.

pub mod links;
pub mod mails;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{AppState, PageError};
use links::{LinkRefused, Purpose};

/// The cookie holding the subscription form's token.
const FORM_COOKIE: &str = "gazette_subscribe";
/// A waiting address is sent another confirmation at most this often.
const CONFIRM_AGAIN_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// Longest address accepted (RFC 5321's path limit).
const MAX_ADDRESS: usize = 254;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/subscribe", get(get_subscribe).post(post_subscribe))
        .route("/newsletter/confirm/{token}", get(get_confirm))
        .route(
            "/newsletter/unsubscribe/{token}",
            get(get_unsubscribe).post(post_unsubscribe),
        )
}

#[derive(Deserialize, Default)]
struct SubscribeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    lang: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// What the newsletter template shows: `step` is one of `form`, `sent`,
/// `confirmed`, `unsubscribe`, `unsubscribed`, `expired`, `invalid`.
#[derive(Serialize, Default)]
struct NewsletterPage {
    step: &'static str,
    email: String,
    chosen: String,
    csrf: String,
    /// Interface string naming what is wrong with the form, if anything.
    error: Option<&'static str>,
    /// The unsubscribe link's path (the page's own form posts there).
    action: String,
}

/// `GET /subscribe[?email=…&lang=…]`: the form, filled in from the footer's.
async fn get_subscribe(State(state): State<AppState>, Query(q): Query<SubscribeForm>) -> Result<Response, PageError> {
    if state.config().admin.mail.is_none() {
        return Err(PageError::NotFound);
    }
    form_page(&state, StatusCode::OK, q.email.trim().to_owned(), q.lang, None).await
}

/// `POST /subscribe`: records the request and queues the confirmation mail.
async fn post_subscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SubscribeForm>,
) -> Result<Response, PageError> {
    if state.config().admin.mail.is_none() {
        return Err(PageError::NotFound);
    }
    let email = form.email.trim().to_lowercase();
    let token_ok = crate::admin::cookie(&headers, FORM_COOKIE).is_some_and(|c| crate::admin::same(c, &form.csrf));
    if !token_ok {
        // A form from elsewhere, or an old page: shown again to send from here.
        return form_page(
            &state,
            StatusCode::FORBIDDEN,
            email,
            form.lang,
            Some("newsletter_resend"),
        )
        .await;
    }
    if !valid_address(&email) {
        return form_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            form.lang,
            Some("newsletter_bad_address"),
        )
        .await;
    }
    let language = site_language(&state, &form.lang).await?;
    let outcome = state.store().subscribe(&email, &language, CONFIRM_AGAIN_AFTER).await?;
    tracing::debug!(?outcome, "newsletter subscription request");
    let page = NewsletterPage {
        step: "sent",
        ..Default::default()
    };
    let body = crate::pages::render_simple_page(
        &state,
        "newsletter.html",
        "/subscribe",
        Some(&language),
        "newsletter",
        page,
    )
    .await?;
    Ok(no_store(StatusCode::OK, body))
}

/// `GET /newsletter/confirm/{token}`: confirms the subscription.
async fn get_confirm(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let key = state.store().newsletter_key().await?;
    let (status, step, lang) = match links::verify(&key, Purpose::Confirm, &token, chrono::Utc::now()) {
        Ok(id) => match state.store().find_subscriber(&id).await? {
            Some(s) if state.store().confirm_subscriber(&id).await? => (StatusCode::OK, "confirmed", Some(s.language)),
            _ => (StatusCode::NOT_FOUND, "invalid", None),
        },
        Err(LinkRefused::Expired) => (StatusCode::GONE, "expired", None),
        Err(LinkRefused::Invalid) => (StatusCode::NOT_FOUND, "invalid", None),
    };
    message_page(&state, status, step, lang.as_deref(), String::new()).await
}

/// `GET /newsletter/unsubscribe/{token}`: a button that unsubscribes (a
/// link followed by a mail scanner must not unsubscribe by itself).
async fn get_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let key = state.store().newsletter_key().await?;
    match links::verify(&key, Purpose::Unsubscribe, &token, chrono::Utc::now()) {
        Ok(id) => {
            let lang = state.store().find_subscriber(&id).await?.map(|s| s.language);
            let action = format!("/newsletter/unsubscribe/{token}");
            message_page(&state, StatusCode::OK, "unsubscribe", lang.as_deref(), action).await
        }
        Err(LinkRefused::Expired) => message_page(&state, StatusCode::GONE, "expired", None, String::new()).await,
        Err(LinkRefused::Invalid) => message_page(&state, StatusCode::NOT_FOUND, "invalid", None, String::new()).await,
    }
}

/// `POST /newsletter/unsubscribe/{token}`: unsubscribes at once, without a
/// session or a form token (the signed link is the authority), as mail
/// programs do for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
async fn post_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, PageError> {
    let key = state.store().newsletter_key().await?;
    match links::verify(&key, Purpose::Unsubscribe, &token, chrono::Utc::now()) {
        Ok(id) => {
            let lang = state.store().find_subscriber(&id).await?.map(|s| s.language);
            if state.store().unsubscribe(&id).await? {
                tracing::info!("a newsletter subscriber unsubscribed");
            }
            message_page(&state, StatusCode::OK, "unsubscribed", lang.as_deref(), String::new()).await
        }
        Err(LinkRefused::Expired) => message_page(&state, StatusCode::GONE, "expired", None, String::new()).await,
        Err(LinkRefused::Invalid) => message_page(&state, StatusCode::NOT_FOUND, "invalid", None, String::new()).await,
    }
}

async fn form_page(
    state: &AppState,
    status: StatusCode,
    email: String,
    lang: String,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let token = random_hex();
    let page = NewsletterPage {
        step: "form",
        email,
        chosen: lang.clone(),
        csrf: token.clone(),
        error,
        action: String::new(),
    };
    let body =
        crate::pages::render_simple_page(state, "newsletter.html", "/subscribe", Some(&lang), "newsletter", page)
            .await?;
    let mut r = no_store(status, body);
    let mut cookie = format!("{FORM_COOKIE}={token}; Path=/subscribe; HttpOnly; SameSite=Strict; Max-Age=3600");
    if state.config().public_url.starts_with("https://") {
        cookie.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    Ok(r)
}

async fn message_page(
    state: &AppState,
    status: StatusCode,
    step: &'static str,
    lang: Option<&str>,
    action: String,
) -> Result<Response, PageError> {
    let page = NewsletterPage {
        step,
        action,
        ..Default::default()
    };
    let body =
        crate::pages::render_simple_page(state, "newsletter.html", "/subscribe", lang, "newsletter", page).await?;
    Ok(no_store(status, body))
}

fn no_store(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The language asked for when the site is written in it, else the site's first.
async fn site_language(state: &AppState, asked: &str) -> Result<String, PageError> {
    let org = state.store().find_organisation().await?;
    let site = crate::pages::site(state, org.as_ref()).await?;
    Ok(site
        .languages
        .iter()
        .find(|l| l.as_str() == asked)
        .or(site.languages.first())
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|| state.last_settings().default_language.as_str().to_owned()))
}

/// One address a mail server would take: `local@domain`, no display name.
fn valid_address(email: &str) -> bool {
    email.len() <= MAX_ADDRESS && !email.contains(['<', '>', ' ', ',', ';']) && email.parse::<lettre::Address>().is_ok()
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(valid_address("ana@coop.example"));
        assert!(!valid_address("ana"));
        assert!(!valid_address("Ana <ana@coop.example>"));
        assert!(!valid_address("ana@coop.example, bo@coop.example"));
        assert!(!valid_address(&format!("{}@coop.example", "a".repeat(250))));
    }
}
