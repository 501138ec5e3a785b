//! The editors' web interface under `/admin`: server-rendered pages that
//! work without JavaScript (scripts only add live preview), in English or
//! French (the user's choice, else `Accept-Language`), every asset served
//! by Gazette itself.
//!
//! Layout: [`session`] signs people in and out (cookies, CSRF, rate limits,
//! reset links), and [`keep`] carries a form posted after its session ended
//! through the sign-in, to be saved with a click; [`dashboard`] is the home page; [`articles`] the list and
//! the editor; [`media`] the image library (with [`upload`], the reading
//! of forms that carry a file). Editors also get [`followers`], [`interactions`] of an
//! article, [`comments`] moderation, [`reports`], [`blocks`] (and the
//! allowlist), [`deliveries`] and, on a network coordinator, the
//! [`network`] (members and feed moderation); admins [`users`], [`tokens`],
//! the [`profiles`] of the organisation and authors, and the instance
//! [`settings`] (everyone has their own account preferences there too). This file holds the
//! router, the page frame every template gets and the error pages. Handlers
//! say who may use them with the extractors of [`roles`] and fail with the
//! one [`error::AdminError`] (see there); who may do what is decided by
//! [`Role`], see docs/ADMIN.md.

mod articles;
mod blocks;
mod comments;
mod dashboard;
mod deliveries;
mod error;
mod followers;
mod interactions;
mod keep;
mod media;
mod network;
mod newsletter;
mod profiles;
mod reports;
mod roles;
mod session;
mod settings;
mod tokens;
mod upload;
mod users;

use axum::Router;
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use gazette_core::Language;
use gazette_core::local_time::{self, Tz};
use gazette_store::{Role, StoreError, User};
use serde::Serialize;
use serde_json::{Value, json};

use crate::AppState;
pub(crate) use error::{AdminError, AdminResult, Failure, OrPage};
pub(crate) use keep::STASH_LIMIT;
pub(crate) use roles::{Admin, Editor};
pub(crate) use session::{SESSION_COOKIE, Signed, cookie, same};

/// Languages the interface is written in.
const UI_LANGUAGES: [&str; 2] = ["en", "fr"];

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::get_dashboard))
        .route(
            "/login",
            get(session::get_login)
                .post(session::post_login)
                // A sign-in may carry an editor's text posted after its session ended.
                .layer(axum::extract::DefaultBodyLimit::max(keep::STASH_LIMIT)),
        )
        .route("/logout", post(session::post_logout))
        .route("/reset/{token}", get(session::get_reset).post(session::post_reset))
        .route("/language", post(session::post_language))
        .route("/articles", get(articles::get_articles))
        .route(
            "/articles/new",
            get(articles::get_new_article)
                .post(articles::post_new_article)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/articles/{id}",
            get(articles::get_edit_article)
                .post(articles::post_edit_article)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/articles/{id}/interactions", get(interactions::get_interactions))
        .route("/articles/{id}/quotes", get(articles::get_quotes))
        .route("/articles/{id}/quotes/policy", post(articles::post_quote_policy))
        .route("/articles/{id}/quotes/revoke", post(articles::post_revoke_quote))
        .route("/preview", post(articles::post_preview))
        .route(
            "/media",
            get(media::get_media)
                .post(media::post_media)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/media/{id}/alt", post(media::post_alt))
        .route("/media/{id}/delete", post(media::post_delete))
        .route("/followers", get(followers::get_followers))
        .route("/followers/answer", post(followers::post_answer))
        .route("/comments", get(comments::get_comments))
        .route("/comments/status", post(comments::post_status))
        .route("/reports", get(reports::get_reports))
        .route("/reports/resolve", post(reports::post_resolve))
        .route("/blocks", get(blocks::get_blocks).post(blocks::post_block))
        .route("/blocks/remove", post(blocks::post_unblock))
        .route("/allowlist", post(blocks::post_allow))
        .route("/allowlist/remove", post(blocks::post_disallow))
        .route("/deliveries", get(deliveries::get_deliveries))
        .route("/network", get(network::get_network))
        .route("/network/members", post(network::post_member))
        .route("/network/invite", post(network::post_invite))
        .route("/network/retry", post(network::post_retry))
        .route("/network/items", post(network::post_item))
        .route("/users", get(users::get_users).post(users::post_invite))
        .route("/users/{username}/{action}", post(users::post_user_action))
        .route("/settings", get(settings::get_settings).post(settings::post_settings))
        .route("/account", get(settings::get_account))
        .route("/account/password", post(settings::post_password))
        .route("/account/time_zone", post(settings::post_time_zone))
        .route("/tokens", get(tokens::get_tokens).post(tokens::post_create))
        .route("/newsletter", get(newsletter::get_newsletter))
        .route("/newsletter/subscribers.csv", get(newsletter::get_csv))
        .route("/newsletter/remove", post(newsletter::post_remove))
        .route("/tokens/{id}/revoke", post(tokens::post_revoke))
        .route(
            "/organisation",
            get(profiles::get_organisation).post(profiles::post_organisation),
        )
        .route(
            "/organisation/logo",
            post(profiles::post_logo).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/authors", get(profiles::get_authors))
        .route(
            "/authors/new",
            get(profiles::get_new_author).post(profiles::post_new_author),
        )
        .route(
            "/authors/{username}",
            get(profiles::get_author).post(profiles::post_author),
        )
        .route(
            "/authors/{username}/avatar",
            post(profiles::post_avatar).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .fallback(not_found)
}

async fn not_found(state: axum::extract::State<AppState>, headers: HeaderMap) -> Response {
    let lang = ui_language(None, &headers);
    error_page(
        &state,
        &lang,
        StatusCode::NOT_FOUND,
        "error_not_found",
        "error_not_found_text",
    )
}

/// The interface language: the user's choice, else the best match for
/// `Accept-Language`, else English.
pub(crate) fn ui_language(user: Option<&User>, headers: &HeaderMap) -> String {
    if let Some(l) = user
        .and_then(|u| u.locale.as_deref())
        .filter(|l| UI_LANGUAGES.contains(l))
    {
        return l.to_owned();
    }
    let available: Vec<Language> = UI_LANGUAGES.iter().filter_map(|l| Language::parse(l).ok()).collect();
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| Language::negotiate(h, &available))
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|| "en".to_owned())
}

/// The time zone `user` reads admin times in: their own choice when it is
/// still a zone the database knows, else the instance's.
pub(crate) fn user_zone(user: &User, instance: Tz) -> Tz {
    user.time_zone
        .as_deref()
        .and_then(|z| local_time::parse_zone("time_zone", z).ok())
        .unwrap_or(instance)
}

/// The signed-in user as templates see them.
#[derive(Serialize)]
struct UserView<'a> {
    username: &'a str,
    display_name: &'a str,
    role: &'static str,
    is_editor: bool,
    is_admin: bool,
}

/// Renders `template` inside the admin frame: `page` is merged with the
/// language, the user, the CSRF token and the navigation.
pub(crate) fn render(state: &AppState, signed: &Signed, nav: &str, template: &str, page: Value) -> Response {
    let lang = signed.lang.clone();
    let user = &signed.session.user;
    let mut ctx = json!({
        "lang": lang,
        "locale": user.locale,
        // Every `|date` of the page shows its time in this zone.
        "time_zone": signed.tz.name(),
        "here": signed.here,
        "csrf": signed.session.csrf_token,
        "nav": nav,
        "site_name": state.last_settings().name,
        "network_coordinator": state.fed().settings().network.is_some(),
        "newsletter": state.config().admin.mail.is_some(),
        "user": UserView {
            username: &user.username,
            display_name: &user.display_name,
            role: user.role.as_str(),
            is_editor: user.role.is_editor(),
            is_admin: user.role == Role::Admin,
        },
    });
    merge(&mut ctx, page);
    render_ctx(state, &lang, StatusCode::OK, template, ctx)
}

/// Renders a template with a full context (pages outside the session too).
pub(crate) fn render_ctx(state: &AppState, lang: &str, status: StatusCode, template: &str, ctx: Value) -> Response {
    match state.templates().render(template, ctx) {
        Ok(html) => html_response(status, html),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), template, "admin template failed");
            let text = state.templates().text(lang, "error_internal_text");
            html_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("<!doctype html><title>Error</title><p>{text}</p>"),
            )
        }
    }
}

/// Admin pages are private and change with every save: never cached.
fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// A small page saying what went wrong, in the interface language.
pub(crate) fn error_page(
    state: &AppState,
    lang: &str,
    status: StatusCode,
    title_key: &str,
    text_key: &str,
) -> Response {
    let templates = state.templates();
    error_page_text(
        state,
        lang,
        status,
        &templates.text(lang, title_key),
        &templates.text(lang, text_key),
    )
}

pub(crate) fn error_page_text(state: &AppState, lang: &str, status: StatusCode, title: &str, text: &str) -> Response {
    let ctx = json!({
        "lang": lang,
        "site_name": state.last_settings().name,
        "title": title,
        "text": text,
    });
    render_ctx(state, lang, status, "admin/error.html", ctx)
}

/// A validation problem in the interface language: the translation of its
/// stable `key` (`v_KEY` in the strings, `{param}`s filled in), else its
/// English message.
pub(crate) fn field_message(state: &AppState, lang: &str, e: &gazette_core::FieldError) -> String {
    let Some(mut text) = state.templates().text_opt(lang, &format!("v_{}", e.key)) else {
        return e.to_string();
    };
    for (k, v) in &e.params {
        text = text.replace(&format!("{{{k}}}"), v);
    }
    text
}

/// A message for a refused form: shown in the page's summary, and beside
/// its field (the input's id) when it has one.
#[derive(Serialize, Clone)]
pub(crate) struct FormError {
    pub(crate) field: String,
    pub(crate) message: String,
}

impl FormError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FormError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The messages beside their fields, by input id (templates' `field_errors`).
pub(crate) fn field_errors(errors: &[FormError]) -> std::collections::HashMap<&str, &str> {
    errors
        .iter()
        .filter(|e| !e.field.is_empty())
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect()
}

/// The field a store refusal names (`""` for other failures).
pub(crate) fn store_field(e: &StoreError) -> &'static str {
    match e {
        StoreError::Conflict { field, .. } | StoreError::Invalid { field, .. } => field,
        _ => "",
    }
}

/// A store refusal (a clash or a rule) in the interface language: the
/// string `s_conflict_FIELD` or `s_invalid_FIELD` with `{value}` (what was
/// typed) filled in, else the store's own (English) message.
pub(crate) fn store_message(state: &AppState, lang: &str, e: &StoreError, value: &str) -> String {
    let (kind, field, message) = match e {
        StoreError::Conflict { field, message } => ("conflict", *field, message),
        StoreError::Invalid { field, message } => ("invalid", *field, message),
        other => return other.to_string(),
    };
    match state.templates().text_opt(lang, &format!("s_{kind}_{field}")) {
        Some(text) => text.replace("{value}", value),
        None => message.clone(),
    }
}

/// The one-line notice for `?done=KEY` after a form, when `KEY` is one of
/// `known` (the string `done_KEY`); anything else shows nothing.
pub(crate) fn done_notice(state: &AppState, lang: &str, done: Option<&str>, known: &[&str]) -> Option<String> {
    done.filter(|d| known.contains(d))
        .map(|d| state.templates().text(lang, &format!("done_{d}")))
}

/// 303 back to the admin page a form came from (its `back` field, else
/// `fallback`), saying `done=KEY` there.
pub(crate) fn back_to(back: &str, fallback: &str, done: &str) -> Response {
    let page = if back.starts_with("/admin") { back } else { fallback };
    let page = session::safe_next(page);
    let (path, query) = page.split_once('?').unwrap_or((page, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("done="))
        .collect();
    let done = format!("done={done}");
    pairs.push(&done);
    see_other(&format!("{path}?{}", pairs.join("&")))
}

/// A page number from the query (1 when absent or bad).
pub(crate) fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|n| n.parse::<i64>().ok()).filter(|n| *n >= 1).unwrap_or(1)
}

/// Pages needed for `total` rows, at least one.
pub(crate) fn page_count(total: i64, per_page: i64) -> i64 {
    ((total + per_page - 1) / per_page).max(1)
}

/// 303 See Other to `to` (after a POST, so reloading does not post again).
pub(crate) fn see_other(to: &str) -> Response {
    axum::response::Redirect::to(to).into_response()
}
