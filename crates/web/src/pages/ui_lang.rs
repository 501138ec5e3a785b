//! The interface language of the network's public pages (shared feed,
//! members, member pages, about): one of the seven languages the interface
//! strings are written in, whatever languages the organisation publishes
//! in. The reader's choice (`?lang=xx`, from the switch every such page
//! shows) wins and is remembered in a cookie for a year; then that cookie;
//! then `Accept-Language`; then the instance's default language when it is
//! one of the seven; else English. Article pages keep their own language
//! switch (one URL per translation).

use axum::http::header::{SET_COOKIE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use gazette_core::Language;

use super::LangLink;
use crate::AppState;
use crate::admin::cookie;

/// The languages the public interface is written in, in the switch's order.
pub(crate) const UI_LANGUAGES: [&str; 7] = ["en", "fr", "de", "es", "it", "pt", "nl"];
/// Remembers the reader's choice.
const COOKIE_NAME: &str = "gazette_lang";
/// One year.
const COOKIE_MAX_AGE: i64 = 365 * 24 * 3600;

/// The interface language of one request.
#[derive(Debug, Clone)]
pub(crate) struct UiLanguage {
    pub(crate) lang: Language,
    /// Chosen with `?lang=` on this request (the cookie is then set).
    chosen: bool,
    /// Whether it was set over HTTPS (the cookie is then `Secure`).
    secure: bool,
}

fn supported() -> Vec<Language> {
    UI_LANGUAGES.iter().filter_map(|l| Language::parse(l).ok()).collect()
}

/// One of the seven, by its primary subtag (`pt-BR` is `pt`).
fn known(tag: &str) -> Option<Language> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    UI_LANGUAGES
        .contains(&primary.as_str())
        .then(|| Language::parse(&primary).ok())
        .flatten()
}

/// The language a reader chose earlier and the cookie remembers (one of
/// the seven), for the response cache's key: pages in that language are
/// never served to readers who chose another.
pub(crate) fn remembered(headers: &HeaderMap) -> Option<&'static str> {
    let primary = known(cookie(headers, COOKIE_NAME)?)?;
    UI_LANGUAGES.iter().copied().find(|l| *l == primary.as_str())
}

/// The interface language for a request with these headers and `?lang=`.
pub(crate) fn interface_language(state: &AppState, headers: &HeaderMap, param: Option<&str>) -> UiLanguage {
    let secure = state.config().public_url.starts_with("https://");
    if let Some(lang) = param.and_then(known) {
        return UiLanguage {
            lang,
            chosen: true,
            secure,
        };
    }
    let lang = cookie(headers, COOKIE_NAME)
        .and_then(known)
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| Language::negotiate(h, &supported()).cloned())
        })
        .or_else(|| known(state.last_settings().default_language.as_str()))
        .unwrap_or_else(|| Language::parse("en").unwrap_or_else(|_| state.last_settings().default_language.clone()));
    UiLanguage {
        lang,
        chosen: false,
        secure,
    }
}

/// The language switch of a page at `path` whose other query parameters
/// are `query` (already encoded): one link per language, `lang=` added.
pub(crate) fn switch_links(current: &Language, path: &str, query: &str) -> Vec<LangLink> {
    supported()
        .into_iter()
        .map(|l| {
            let extra = format!("lang={l}");
            LangLink {
                href: super::shared_feed::with_query(path, query, &extra),
                name: crate::templates::language_name(l.as_str()),
                current: l.primary() == current.primary(),
                lang: l,
            }
        })
        .collect()
}

/// Marks a page response as depending on the language cookie, and
/// remembers a choice made on this request.
pub(crate) fn finish(mut resp: Response, ui: &UiLanguage) -> Response {
    let headers = resp.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Language, Cookie"));
    if ui.chosen {
        let mut c = format!(
            "{COOKIE_NAME}={}; Path=/; Max-Age={COOKIE_MAX_AGE}; SameSite=Lax",
            ui.lang.primary()
        );
        if ui.secure {
            c.push_str("; Secure");
        }
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_seven_by_primary_subtag() {
        assert_eq!(known("pt-BR").map(|l| l.to_string()).as_deref(), Some("pt"));
        assert_eq!(known("NL").map(|l| l.to_string()).as_deref(), Some("nl"));
        assert!(known("pl").is_none());
        assert!(known("").is_none());
    }

    #[test]
    fn cookie_is_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("a=1; gazette_lang=de; b=2"),
        );
        assert_eq!(cookie(&h, COOKIE_NAME), Some("de"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn switch_keeps_the_query() {
        let en = Language::parse("en").unwrap();
        let links = switch_links(&en, "/network/feed", "country=BE");
        assert_eq!(links.len(), 7);
        assert_eq!(links[1].href, "/network/feed?country=BE&lang=fr");
        assert!(links[0].current);
    }
}
