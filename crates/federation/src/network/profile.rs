//! Reading what members publish: the `sse:` extension on an organisation
//! actor (its profile in the network), and an `Article` as a feed item.

use chrono::Utc;
use gazette_core::{MemberProfile, NetworkItem};
use serde_json::Value;

use crate::json::SSE;

/// An `sse:` property, written compacted (`sse:country`) or as a full IRI.
fn sse<'a>(doc: &'a Value, term: &str) -> Option<&'a Value> {
    doc.get(format!("sse:{term}"))
        .or_else(|| doc.get(format!("{SSE}{term}")))
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Strings of a list (or of a single value), trimmed, at most `max`.
fn texts(v: Option<&Value>, max: usize) -> Vec<String> {
    let items: Vec<&Value> = match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    };
    items.into_iter().filter_map(|i| text(Some(i))).take(max).collect()
}

/// A link given as a string, an object with `href` or `url`, or a list of
/// either: the first `http(s)` one, since it becomes an `href` or a `src`.
fn link(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => gazette_core::links::web_url(s),
        Value::Array(items) => items.iter().find_map(|i| link(Some(i))),
        Value::Object(o) => link(o.get("href").or_else(|| o.get("url"))),
        _ => None,
    }
}

/// What a member says about itself in its actor document.
pub fn profile_from_actor(actor: &Value) -> MemberProfile {
    let name = text(actor.get("name"))
        .or_else(|| text(actor.get("preferredUsername")))
        .unwrap_or_default();
    MemberProfile {
        name,
        url: link(actor.get("url")),
        country: text(sse(actor, "country"))
            .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase()),
        legal_form: text(sse(actor, "legalForm")).filter(|f| gazette_core::LegalForm::parse(f).is_some()),
        sectors: texts(sse(actor, "sectors"), 20)
            .into_iter()
            .map(|s| s.to_lowercase())
            .collect(),
        languages: texts(sse(actor, "languages"), 20),
        logo: link(actor.get("icon")),
    }
}

/// A member's `Article` (or `Page`) as a feed item of `member`; the caller
/// has checked where it comes from. Every HTML field is sanitised.
pub fn item_from_object(object: &Value, member: &str) -> Result<NetworkItem, String> {
    let id = text(object.get("id")).ok_or("the object has no id")?;
    match object.get("type").and_then(Value::as_str) {
        Some("Article" | "Page") => {}
        other => {
            return Err(format!(
                "{id}: a {} is not an article",
                other.unwrap_or("typeless object")
            ));
        }
    }
    let raw_content = object.get("content").and_then(Value::as_str).unwrap_or_default();
    let content_map = object.get("contentMap").and_then(Value::as_object);
    let mut languages: Vec<String> = content_map.map(|m| m.keys().cloned().collect()).unwrap_or_default();
    languages.truncate(20);
    let language = content_map
        .and_then(|m| {
            m.iter()
                .find(|(_, v)| v.as_str() == Some(raw_content))
                .map(|(k, _)| k.clone())
        })
        .or_else(|| languages.first().cloned());
    let title = text(object.get("name"))
        .or_else(|| {
            object
                .get("nameMap")
                .and_then(Value::as_object)
                .and_then(|m| m.values().find_map(|v| text(Some(v))))
        })
        .unwrap_or_default();
    // Gazette opens an article's content with its title and standfirst,
    // which the feed shows on their own.
    let summary = crate::json::text_or_map(object, "summary");
    let content = crate::json::strip_article_lead(raw_content, &title, &summary);
    let time = |key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .and_then(gazette_core::validate::parse_time)
    };
    let published_at = time("published").unwrap_or_else(Utc::now);
    let tags = match object.get("tag") {
        Some(Value::Array(tags)) => tags
            .iter()
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("Hashtag"))
            .filter_map(|t| text(t.get("name")))
            .filter_map(|n| gazette_core::validate::normalise_tag(&n).ok())
            .take(30)
            .collect(),
        _ => Vec::new(),
    };
    let image = object
        .get("image")
        .map(|i| if i.is_array() { i.get(0).unwrap_or(i) } else { i });
    Ok(NetworkItem {
        id,
        member: member.to_owned(),
        attributed_to: link(object.get("attributedTo")),
        url: link(object.get("url")),
        kind: text(sse(object, "kind")).filter(|k| gazette_core::ArticleKind::parse(k).is_some()),
        language,
        languages,
        title,
        summary_html: gazette_core::markdown::sanitise(&crate::json::summary_as_html(&summary)),
        content_html: gazette_core::markdown::sanitise(content),
        tags,
        image_url: link(image),
        image_alt: image.and_then(|i| text(i.get("name"))),
        published_at,
        updated_at: time("updated").unwrap_or(published_at).max(published_at),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn profile_from_the_extension() {
        let p = profile_from_actor(&json!({
            "type": "Organization", "name": "Sunfield", "url": "https://s.example/",
            "icon": {"type": "Image", "url": "https://s.example/media/1"},
            "sse:country": "be", "sse:legalForm": "cooperative", "sse:sectors": ["Energy", "housing"],
            "https://gazette-sse.github.io/ns#languages": ["fr", "nl"],
        }));
        assert_eq!(p.name, "Sunfield");
        assert_eq!(p.country.as_deref(), Some("BE"));
        assert_eq!(p.legal_form.as_deref(), Some("cooperative"));
        assert_eq!(p.sectors, vec!["energy", "housing"]);
        assert_eq!(p.languages, vec!["fr", "nl"]);
        assert_eq!(p.logo.as_deref(), Some("https://s.example/media/1"));
        let odd =
            profile_from_actor(&json!({"preferredUsername": "x", "sse:country": "Belgium", "sse:legalForm": "guild"}));
        assert_eq!((odd.name.as_str(), odd.country, odd.legal_form), ("x", None, None));
    }

    #[test]
    fn article_to_item() {
        let item = item_from_object(
            &json!({
                "id": "https://s.example/objects/1", "type": "Article", "name": "Title",
                "content": "<p>Bonjour <script>x</script></p>",
                "contentMap": {"en": "<p>Hello</p>", "fr": "<p>Bonjour <script>x</script></p>"},
                "summary": "<p>Short</p>", "sse:kind": "interview", "url": "https://s.example/articles/t",
                "attributedTo": "https://s.example/users/a", "published": "2026-11-18T09:00:00Z",
                "updated": "2026-11-19T09:00:00Z",
                "tag": [{"type": "Hashtag", "name": "#Energy"}, {"type": "Mention", "name": "@a@b"}],
                "image": {"type": "Image", "url": "https://s.example/media/2", "name": "Alt"},
            }),
            "https://s.example/users/org",
        )
        .unwrap();
        assert_eq!(item.language.as_deref(), Some("fr"));
        assert_eq!(item.languages, vec!["en", "fr"]);
        assert!(!item.content_html.contains("script"));
        assert_eq!(item.kind.as_deref(), Some("interview"));
        assert_eq!(item.tags.len(), 1);
        assert_eq!(item.image_alt.as_deref(), Some("Alt"));
        assert!(item.updated_at > item.published_at);
        let note = item_from_object(&json!({"id": "https://s.example/n", "type": "Note"}), "m").unwrap_err();
        assert!(note.contains("Note"), "{note}");
        assert!(item_from_object(&json!({"type": "Article"}), "m").is_err());
    }

    #[test]
    fn only_http_links_are_kept() {
        let p = profile_from_actor(&json!({
            "name": "Evil", "url": "javascript:alert(document.domain)//",
            "icon": [{"type": "Image", "url": "data:image/svg+xml,<svg onload=alert(1)>"}, {"url": "https://e.example/i.png"}],
        }));
        assert_eq!(p.url, None);
        assert_eq!(
            p.logo.as_deref(),
            Some("https://e.example/i.png"),
            "the first http(s) link of a list"
        );
        let item = item_from_object(
            &json!({
                "id": "https://e.example/objects/1", "type": "Article", "name": "T",
                "url": [{"href": " JavaScript:alert(1)"}, "vbscript:x"],
                "image": {"type": "Image", "url": "javascript:alert(2)"},
                "attributedTo": "java\tscript:alert(3)",
            }),
            "https://e.example/users/org",
        )
        .unwrap();
        assert_eq!((item.url, item.image_url, item.attributed_to), (None, None, None));
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::{Value, json};

        use super::super::*;

        fn url() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("https://s.example/a".to_owned()),
                Just("http://s.example/b".to_owned()),
                Just("javascript:alert(1)//".to_owned()),
                Just(" JaVaScRiPt:alert(1)".to_owned()),
                Just("java\tscript:alert(1)".to_owned()),
                Just("data:text/html,<script>x</script>".to_owned()),
                Just("/relative".to_owned()),
                Just("//s.example/c".to_owned()),
                "[ -~]{0,16}",
            ]
        }

        /// A link in any of the shapes ActivityStreams allows, nested.
        fn link() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                url().prop_map(Value::from),
                Just(Value::Null),
                any::<i64>().prop_map(Value::from)
            ];
            leaf.prop_recursive(3, 12, 3, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                    inner.clone().prop_map(|v| json!({ "type": "Link", "href": v })),
                    inner.prop_map(|v| json!({ "type": "Image", "url": v, "name": "alt" })),
                ]
            })
        }

        fn html() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "<p>fine</p>",
                "<script>alert(1)</script>",
                "<img src=x onerror=alert(1)>",
                "<a href=\"javascript:alert(1)\">x</a>",
                "<p style=\"x\" onclick=\"y\">z</p>",
            ])
            .prop_map(str::to_owned)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            /// Whatever shape an article's JSON takes, reading it never
            /// panics, and what is kept of its links is http(s) only and of
            /// its HTML sanitised.
            #[test]
            fn items_keep_only_web_links(
                url in link(), image in link(), attributed in link(), icon in link(),
                content in html(), summary in html(), kind in prop::sample::select(vec!["Article", "Page", "Note"]),
            ) {
                let object = json!({
                    "id": "https://s.example/objects/1", "type": kind, "url": url, "image": image,
                    "attributedTo": attributed, "content": content, "summary": summary,
                });
                let web = |u: &Option<String>| u.as_deref().is_none_or(gazette_core::links::is_web_url);
                if let Ok(item) = item_from_object(&object, "https://s.example/users/org") {
                    prop_assert!(web(&item.url) && web(&item.image_url) && web(&item.attributed_to), "{item:?}");
                    for h in [&item.content_html, &item.summary_html] {
                        prop_assert!(!h.contains("<script") && !h.contains("onerror") && !h.contains("onclick") && !h.contains("javascript:"), "{h}");
                    }
                }
                let profile = profile_from_actor(&json!({ "name": "Org", "url": url, "icon": icon }));
                prop_assert!(web(&profile.url) && web(&profile.logo), "{profile:?}");
            }
        }
    }
}
