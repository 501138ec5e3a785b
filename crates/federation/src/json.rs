//! The one place that turns Gazette's types into ActivityStreams JSON:
//! local actors (in `json/actors.rs`), articles and collections; the
//! activities that carry them are built in `activities/outgoing.rs`. The
//! exact shapes are documented in docs/FEDERATION.md.

use chrono::{DateTime, SecondsFormat, Utc};
use gazette_core::html::escape;
use gazette_core::{Article, Author, Language, Media, Translation};
use serde_json::{Value, json};

use crate::urls::Urls;

mod actors;
pub use actors::{ActorParts, author_actor, instance_actor, network_actor, organisation_actor};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
pub const AS2: &str = "https://www.w3.org/ns/activitystreams";
pub const SECURITY: &str = "https://w3id.org/security/v1";
/// Defines `proof` and `DataIntegrityProof` (FEP-8b32).
pub const DATA_INTEGRITY: &str = "https://w3id.org/security/data-integrity/v1";
/// Defines `Multikey` and `publicKeyMultibase` (FEP-521a).
pub const MULTIKEY: &str = "https://w3id.org/security/multikey/v1";
/// Namespace of Gazette's small extension for the social and solidarity
/// economy (`sse:country`, `sse:legalForm`, `sse:sectors`, `sse:languages`
/// on organisations, `sse:kind` on articles); see docs/FEDERATION.md.
pub const SSE: &str = "https://gazette-sse.github.io/ns#";

/// The `@context` of everything we publish: AS2, security/v1, the
/// contexts of integrity proofs and Multikeys (with `assertionMethod`, as
/// the DID context defines it), and the terms Mastodon uses that AS2 lacks
/// (Hashtag must be defined, or JSON-LD consumers such as Fedify drop the tags).
pub fn context() -> Value {
    json!([
        AS2,
        SECURITY,
        DATA_INTEGRITY,
        MULTIKEY,
        {
            "assertionMethod": { "@id": "https://w3id.org/security#assertionMethod", "@type": "@id", "@container": "@set" },
            "Hashtag": "as:Hashtag",
            "sensitive": "as:sensitive",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "attributionDomains": { "@id": "toot:attributionDomains", "@type": "@id" },
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "preview": { "@id": "as:preview", "@type": "@id" },
            "alsoKnownAs": { "@id": "as:alsoKnownAs", "@type": "@id" },
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "sse": SSE
        }
    ])
}

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Plain text as a one-paragraph HTML summary.
pub(crate) fn html_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim())))
        .collect()
}

pub(crate) fn image(urls: &Urls, media: &Media, alt: Option<&str>) -> Value {
    json!({
        "type": "Image",
        "url": urls.media(&media.id),
        "mediaType": media.content_type,
        "name": alt.unwrap_or(&media.alt),
        "width": media.width,
        "height": media.height,
    })
}

/// Media an article refers to, looked up by the caller.
pub struct ArticleMedia<'a> {
    pub cover: Option<&'a Media>,
}

/// Interaction counts shown in the article's collections.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub likes: i64,
    pub shares: i64,
    pub replies: i64,
}

/// The article's translations, `primary` first when the article has it
/// (else its own default language), then the others in their order.
/// Mastodon reads only the first entry of `nameMap`, `summaryMap` and
/// `contentMap`, so the first is the instance's language.
pub fn ordered_translations<'a>(a: &'a Article, primary: &Language) -> Vec<&'a Translation> {
    let first = a
        .translations
        .iter()
        .find(|t| &t.language == primary)
        .unwrap_or_else(|| a.translation(None));
    let mut out = vec![first];
    out.extend(a.translations.iter().filter(|t| t.language != first.language));
    out
}

/// A hashtag link as Mastodon writes one, so its apps (and GoToSocial's)
/// show and follow it as a tag: `#<span>Name</span>` to the tag's page.
pub fn hashtag_link(urls: &Urls, tag: &str) -> String {
    format!(
        "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
        escape(&urls.tag(&tag.to_lowercase())),
        escape(tag)
    )
}

/// The title and standfirst as the start of an article's `content`: the
/// only place GoToSocial, Misskey and Akkoma show them (see
/// docs/FEDERATION.md, "How an article is shown").
pub fn article_lead(title: &str, standfirst: &str) -> String {
    let mut lead = format!("<h2>{}</h2>", escape(title.trim()));
    if !standfirst.trim().is_empty() {
        lead.push_str(&format!("<p><strong>{}</strong></p>", escape(standfirst.trim())));
    }
    lead
}

/// Removes what [`article_lead`] put before a Gazette article's body, for
/// readers that show the title and standfirst themselves; other content is
/// returned as it is.
pub fn strip_article_lead<'a>(content: &'a str, title: &str, standfirst: &str) -> &'a str {
    let heading = format!("<h2>{}</h2>", escape(title.trim()));
    let Some(rest) = content.strip_prefix(&heading) else {
        return content;
    };
    let standfirst = format!("<p><strong>{}</strong></p>", escape(standfirst.trim()));
    rest.strip_prefix(&standfirst).unwrap_or(rest)
}

/// An article's HTML for other servers: the lead, the body with its tags'
/// hashtags linked, and a last paragraph linking every tag.
fn article_content(urls: &Urls, t: &Translation, tags: &[String]) -> String {
    let mut html = article_lead(&t.title, &t.summary);
    html.push_str(&link_hashtags(urls, &t.body_html, tags));
    if !tags.is_empty() {
        let links: Vec<String> = tags.iter().map(|tag| hashtag_link(urls, tag)).collect();
        html.push_str(&format!("<p>{}</p>", links.join(" ")));
    }
    html
}

/// Turns `#tag` in the text of `html` (outside tags, links and code) into
/// [`hashtag_link`]s, for the tags in `tags` (compared case-insensitively).
pub fn link_hashtags(urls: &Urls, html: &str, tags: &[String]) -> String {
    if tags.is_empty() || !html.contains('#') {
        return html.to_owned();
    }
    let wanted: Vec<String> = tags.iter().map(|t| t.to_lowercase()).collect();
    let mut out = String::with_capacity(html.len());
    // Depth of elements whose text must stay as it is.
    let mut verbatim = 0usize;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            let tag = &rest[..end];
            let name: String = tag
                .trim_start_matches(['<', '/'])
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            if matches!(name.as_str(), "a" | "code" | "pre") {
                if tag.starts_with("</") {
                    verbatim = verbatim.saturating_sub(1);
                } else if !tag.ends_with("/>") {
                    verbatim += 1;
                }
            }
            out.push_str(tag);
            rest = &rest[end..];
            continue;
        }
        let at_word_start = out
            .chars()
            .next_back()
            .is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '&' || p == '#'));
        if c == '#' && verbatim == 0 && at_word_start {
            let word: String = rest[1..]
                .chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
                .collect();
            if !word.is_empty() && wanted.contains(&word.to_lowercase()) {
                out.push_str(&hashtag_link(urls, &word));
                rest = &rest[1 + word.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The hashtags written in a text (`#word`, letters, digits and `_`),
/// each once, as first written.
pub fn hashtags_in(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let starts = c == '#' && prev.is_none_or(|p| p.is_whitespace() || "([{\"'".contains(p));
        prev = Some(c);
        if !starts {
            continue;
        }
        let word: String = text[i + 1..]
            .chars()
            .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
            .collect();
        if word.chars().any(char::is_alphabetic)
            && word.chars().count() <= 100
            && !found.iter().any(|f| f.to_lowercase() == word.to_lowercase())
        {
            found.push(word);
        }
    }
    found
}

/// A natural-language property of a received object: the plain value,
/// else the first entry of its `…Map` (Gazette itself sends `name` and
/// `summary` of articles only as maps).
pub fn text_or_map(o: &Value, key: &str) -> String {
    match o.get(key).and_then(Value::as_str) {
        Some(s) => s.to_owned(),
        None => o
            .get(format!("{key}Map"))
            .and_then(Value::as_object)
            .and_then(|m| m.values().find_map(Value::as_str))
            .unwrap_or_default()
            .to_owned(),
    }
}

/// A received `summary` as HTML: plain text (as Gazette sends it) in
/// paragraphs, HTML as it is (the caller sanitises).
pub fn summary_as_html(summary: &str) -> String {
    if summary.contains('<') {
        summary.to_owned()
    } else {
        html_paragraphs(summary)
    }
}

/// The images attached to a received post (a Note's photos) as HTML to
/// show after its text: only `http(s)` URLs, with their alt text; `skip`
/// (the cover, shown already) is left out.
pub fn attached_images(o: &Value, skip: Option<&str>) -> String {
    let list: Vec<&Value> = match o.get("attachment") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    let mut html = String::new();
    for a in list.into_iter().take(8) {
        let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
        let media_type = a.get("mediaType").and_then(Value::as_str).unwrap_or_default();
        if !(kind == "Image" || (kind == "Document" && media_type.starts_with("image/"))) {
            continue;
        }
        let url = match a.get("url") {
            Some(Value::String(u)) => Some(u.as_str()),
            Some(Value::Object(l)) => l.get("href").and_then(Value::as_str),
            Some(Value::Array(items)) => items
                .iter()
                .find_map(|i| i.as_str().or_else(|| i.get("href").and_then(Value::as_str))),
            _ => None,
        };
        let Some(url) = url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) else {
            continue;
        };
        if Some(url) == skip {
            continue;
        }
        let alt = a.get("name").and_then(Value::as_str).unwrap_or_default();
        html.push_str(&format!(
            "<p><img src=\"{}\" alt=\"{}\" loading=\"lazy\"></p>",
            escape(url),
            escape(alt)
        ));
    }
    html
}

/// A `Hashtag` tag object.
pub fn hashtag(urls: &Urls, tag: &str) -> Value {
    json!({ "type": "Hashtag", "href": urls.tag(&tag.to_lowercase()), "name": format!("#{tag}") })
}

/// An article as an AS2 `Article` with every translation, `primary` (the
/// instance's default language) first.
///
/// `name` and `summary` are sent only as language maps (plain text):
/// GoToSocial shows a plain `summary`, or else a plain `name`, as a content
/// warning that hides the body, and ignores the maps; Mastodon reads the
/// maps' first entries. The title and standfirst open `content` instead, for
/// the servers that show only that. docs/FEDERATION.md gives the reasons.
#[allow(clippy::too_many_arguments)]
pub fn article(
    urls: &Urls,
    a: &Article,
    author: &Author,
    media: &ArticleMedia<'_>,
    counts: Counts,
    replies: &[String],
    mention: Option<Mention<'_>>,
    primary: &Language,
) -> Value {
    let translations = ordered_translations(a, primary);
    let first = translations[0];
    let mut name_map = serde_json::Map::new();
    let mut summary_map = serde_json::Map::new();
    let mut content_map = serde_json::Map::new();
    let mut preview_map = serde_json::Map::new();
    let page = urls.article_page(a);
    for t in &translations {
        let lang = t.language.to_string();
        name_map.insert(lang.clone(), json!(t.title.trim()));
        if !t.summary.trim().is_empty() {
            summary_map.insert(lang.clone(), json!(t.summary.trim()));
        }
        content_map.insert(lang.clone(), json!(article_content(urls, t, &a.tags)));
        preview_map.insert(lang, json!(preview_html(t, &page)));
    }
    let author_id = urls.actor(&author.username);
    let mut tags: Vec<Value> = a.tags.iter().map(|t| hashtag(urls, t)).collect();
    let mut cc = vec![json!(urls.followers(&author.username))];
    if let Some(m) = mention {
        tags.push(json!({ "type": "Mention", "href": m.actor_id, "name": m.handle }));
        cc.push(json!(m.actor_id));
    }
    let replies = replies_collection(&urls.replies(a), replies);
    let has_summary = !summary_map.is_empty();
    let mut v = json!({
        "@context": context(),
        "id": urls.article(a),
        "type": "Article",
        "nameMap": name_map,
        "summaryMap": summary_map,
        "content": article_content(urls, first, &a.tags),
        "contentMap": content_map,
        "mediaType": "text/html",
        "source": { "content": first.body_markdown, "mediaType": "text/markdown" },
        "preview": {
            "type": "Note",
            "attributedTo": author_id,
            "content": preview_html(first, &page),
            "contentMap": preview_map,
            "mediaType": "text/html",
        },
        "url": page,
        "attributedTo": author_id,
        "to": [PUBLIC],
        "cc": cc,
        "tag": tags,
        "sensitive": false,
        "sse:kind": a.kind.as_str(),
        "replies": replies,
        // FEP-7888: the thread is the article's replies collection.
        "context": urls.replies(a),
        "likes": { "id": urls.likes(a), "type": "Collection", "totalItems": counts.likes },
        "shares": { "id": urls.shares(a), "type": "Collection", "totalItems": counts.shares },
    });
    if !has_summary && let Some(o) = v.as_object_mut() {
        o.remove("summaryMap");
    }
    if let Some(p) = a.published_at {
        v["published"] = json!(time(p));
        v["preview"]["published"] = json!(time(p));
        if a.updated_at > p {
            v["updated"] = json!(time(a.updated_at));
        }
    }
    if let (Some(cover), Some(m)) = (&a.cover, media.cover) {
        let img = image(urls, m, Some(&cover.alt));
        v["image"] = img.clone();
        let mut doc = img;
        doc["type"] = json!("Document");
        v["attachment"] = json!([doc.clone()]);
        v["preview"]["attachment"] = json!([doc]);
    }
    v
}

/// FEP-b2b8's `preview`: what a microblogging server may show instead of
/// the article: the title, the standfirst and the link.
fn preview_html(t: &Translation, page: &str) -> String {
    let mut html = format!("<p><strong>{}</strong></p>", escape(t.title.trim()));
    if !t.summary.trim().is_empty() {
        html.push_str(&format!("<p>{}</p>", escape(t.summary.trim())));
    }
    html.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>", escape(page)));
    html
}

/// Page `n` of a paged collection.
pub fn page_url(collection: &str, n: i64) -> String {
    format!("{collection}?page={n}")
}

/// Replies per page of a `replies` collection.
pub const REPLIES_PAGE_SIZE: i64 = 20;

/// An article's `replies` collection (`items`: the visible replies' ids,
/// oldest first) with its first page embedded, as Mastodon writes it:
/// GoToSocial reads replies only from an embedded first page.
pub fn replies_collection(collection: &str, items: &[String]) -> Value {
    json!({
        "id": collection, "type": "OrderedCollection", "totalItems": items.len(),
        "first": replies_page(collection, items, 1),
    })
}

/// Page `page` (from 1) of a `replies` collection: `partOf`, `next` and
/// `prev` link the pages.
pub fn replies_page(collection: &str, items: &[String], page: i64) -> Value {
    let page = page.max(1);
    let total = items.len() as i64;
    let start = usize::try_from((page - 1) * REPLIES_PAGE_SIZE).unwrap_or(usize::MAX);
    let size = usize::try_from(REPLIES_PAGE_SIZE).unwrap_or(usize::MAX);
    let shown: Vec<&String> = items.iter().skip(start).take(size).collect();
    let mut body = json!({
        "id": page_url(collection, page), "type": "OrderedCollectionPage",
        "partOf": collection, "totalItems": total, "orderedItems": shown,
    });
    if page > 1 {
        body["prev"] = json!(page_url(collection, page - 1));
    }
    if page * REPLIES_PAGE_SIZE < total {
        body["next"] = json!(page_url(collection, page + 1));
    }
    body
}

/// An interviewee's fediverse account, resolved to its actor id.
pub struct Mention<'a> {
    pub actor_id: &'a str,
    pub handle: &'a str,
}

/// A `Tombstone` for a deleted article.
pub fn tombstone(id: &str, deleted: DateTime<Utc>) -> Value {
    json!({ "id": id, "type": "Tombstone", "formerType": "Article", "deleted": time(deleted) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServedKey;
    use gazette_core::{ArticleKind, ArticleStatus};

    fn urls() -> Urls {
        Urls::new("https://news.example.org")
    }

    fn translation(lang: &str, title: &str, summary: &str, body_html: &str) -> Translation {
        Translation {
            language: Language::parse(lang).unwrap(),
            title: title.into(),
            summary: summary.into(),
            body_markdown: format!("{title} markdown"),
            body_html: body_html.into(),
        }
    }

    fn sample() -> (Article, Author) {
        let now = Utc::now();
        let article = Article {
            id: "a1".into(),
            slug: "energy".into(),
            kind: ArticleKind::News,
            status: ArticleStatus::Published,
            default_language: Language::parse("fr").unwrap(),
            translations: vec![
                translation(
                    "fr",
                    "Titre & co",
                    "Le chapeau <court>",
                    "<p>Corps avec #InteropTest.</p>",
                ),
                translation(
                    "en",
                    "Title",
                    "The standfirst",
                    "<p>Body about #interoptest and <code>#InteropTest</code>.</p>",
                ),
            ],
            tags: vec!["InteropTest".into(), "Énergie".into()],
            author_id: "u1".into(),
            cover: None,
            interviewee: None,
            published_at: Some(now),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let author = Author {
            id: "u1".into(),
            username: "camille".into(),
            name: "Camille".into(),
            bio: String::new(),
            avatar: None,
            fediverse_handle: None,
            created_at: now,
            updated_at: now,
        };
        (article, author)
    }

    fn article_json(primary: &str) -> Value {
        let (a, author) = sample();
        article(
            &urls(),
            &a,
            &author,
            &ArticleMedia { cover: None },
            Counts::default(),
            &["https://r.example/1".to_owned(), "https://r.example/2".to_owned()],
            None,
            &Language::parse(primary).unwrap(),
        )
    }

    #[test]
    fn the_instance_language_comes_first_in_every_map() {
        let v = article_json("en");
        for key in ["nameMap", "summaryMap", "contentMap"] {
            let first = v[key].as_object().unwrap().keys().next().unwrap().clone();
            assert_eq!(first, "en", "{key}: {v}");
        }
        assert_eq!(
            v["preview"]["contentMap"].as_object().unwrap().keys().next().unwrap(),
            "en"
        );
        assert_eq!(v["source"]["content"], "Title markdown");
        assert!(v["content"].as_str().unwrap().starts_with("<h2>Title</h2>"));
        // The article's own default language first when the instance's is missing.
        let v = article_json("de");
        assert_eq!(v["nameMap"].as_object().unwrap().keys().next().unwrap(), "fr");
    }

    #[test]
    fn title_and_standfirst_are_plain_maps_and_open_the_content() {
        let v = article_json("fr");
        // GoToSocial makes a plain `summary` (or else `name`) a content warning.
        assert!(v.get("name").is_none() && v.get("summary").is_none(), "{v}");
        assert_eq!(v["nameMap"]["fr"], "Titre & co");
        assert_eq!(v["summaryMap"]["fr"], "Le chapeau <court>", "plain text, not HTML");
        let content = v["content"].as_str().unwrap();
        assert!(
            content.starts_with("<h2>Titre &amp; co</h2><p><strong>Le chapeau &lt;court&gt;</strong></p><p>Corps"),
            "{content}"
        );
        assert_eq!(v["contentMap"]["fr"], v["content"]);
        assert_eq!(
            strip_article_lead(content, "Titre & co", "Le chapeau <court>"),
            content.split_once("</strong></p>").unwrap().1
        );
        assert_eq!(strip_article_lead("<p>Other</p>", "Titre", "x"), "<p>Other</p>");
    }

    #[test]
    fn hashtags_are_linked_as_mastodon_writes_them_with_their_case() {
        let v = article_json("en");
        let link = "<a href=\"https://news.example.org/tags/interoptest\" class=\"mention hashtag\" rel=\"tag\">#<span>InteropTest</span></a>";
        let fr = v["contentMap"]["fr"].as_str().unwrap();
        assert!(fr.contains(&format!("<p>Corps avec {link}.</p>")), "{fr}");
        let en = v["contentMap"]["en"].as_str().unwrap();
        assert!(en.contains("<code>#InteropTest</code>"), "code is left alone: {en}");
        assert!(
            en.contains("#<span>interoptest</span></a> and"),
            "as written in the text: {en}"
        );
        assert!(
            en.ends_with(&format!(
                "<p>{link} <a href=\"https://news.example.org/tags/énergie\" class=\"mention hashtag\" rel=\"tag\">#<span>Énergie</span></a></p>"
            )),
            "{en}"
        );
        let tags = v["tag"].as_array().unwrap();
        assert_eq!(tags[0]["name"], "#InteropTest");
        assert_eq!(tags[0]["href"], "https://news.example.org/tags/interoptest");
    }

    #[test]
    fn preview_and_paged_replies() {
        let v = article_json("fr");
        let preview = &v["preview"];
        assert_eq!(preview["type"], "Note");
        assert_eq!(preview["attributedTo"], "https://news.example.org/users/camille");
        let html = preview["contentMap"]["en"].as_str().unwrap();
        assert_eq!(
            html,
            "<p><strong>Title</strong></p><p>The standfirst</p>\
             <p><a href=\"https://news.example.org/articles/energy\">https://news.example.org/articles/energy</a></p>"
        );
        let replies = &v["replies"];
        assert_eq!(replies["type"], "OrderedCollection");
        assert_eq!(replies["totalItems"], 2);
        // GoToSocial reads replies only from an embedded first page.
        let first = &replies["first"];
        assert_eq!(first["type"], "OrderedCollectionPage");
        assert_eq!(first["id"], "https://news.example.org/objects/a1/replies?page=1");
        assert_eq!(first["partOf"], "https://news.example.org/objects/a1/replies");
        assert_eq!(v["context"], "https://news.example.org/objects/a1/replies", "FEP-7888");
        assert_eq!(
            first["orderedItems"],
            json!(["https://r.example/1", "https://r.example/2"])
        );
        assert!(first.get("next").is_none());
    }

    #[test]
    fn link_hashtags_leaves_markup_and_other_words_alone() {
        let u = urls();
        let tags = vec!["coop".to_owned()];
        assert_eq!(
            link_hashtags(&u, "<a href=\"/x#coop\">#coop</a> a#coop &#35;coop #cooper", &tags),
            "<a href=\"/x#coop\">#coop</a> a#coop &#35;coop #cooper"
        );
        assert_eq!(
            link_hashtags(&u, "<p>(#Coop)</p>", &tags),
            format!("<p>({})</p>", hashtag_link(&u, "Coop"))
        );
    }

    #[test]
    fn hashtags_in_text() {
        assert_eq!(
            hashtags_in("#Énergie for all, #coop_42 (#Coop) a#b #1 # done"),
            vec!["Énergie", "coop_42", "Coop"]
        );
    }

    #[test]
    fn actors_link_their_featured_collection() {
        let (_, author) = sample();
        let keys = [served("main-key", "PEM")];
        let parts = ActorParts {
            keys: &keys,
            icon: None,
            image: None,
            manually_approves_followers: false,
        };
        let v = author_actor(&urls(), &author, &parts);
        assert_eq!(v["featured"], "https://news.example.org/users/camille/featured");
        assert_eq!(
            v["publicKey"],
            json!({"id": "https://news.example.org/users/camille#main-key",
                   "owner": "https://news.example.org/users/camille", "publicKeyPem": "PEM"})
        );
        assert_eq!(v["attributionDomains"], json!(["news.example.org"]));
    }

    #[test]
    fn received_text_and_images() {
        let o = json!({
            "nameMap": {"fr": "Titre"}, "summary": "Plain",
            "attachment": [
                {"type": "Document", "mediaType": "image/png", "url": "https://a.example/1.png", "name": "A \"cat\""},
                {"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)", "name": "x"},
                {"type": "Image", "url": {"type": "Link", "href": "https://a.example/2.png"}},
                {"type": "Document", "mediaType": "video/mp4", "url": "https://a.example/v.mp4"}
            ]
        });
        assert_eq!(text_or_map(&o, "name"), "Titre");
        assert_eq!(text_or_map(&o, "summary"), "Plain");
        assert_eq!(summary_as_html("Plain"), "<p>Plain</p>");
        assert_eq!(
            attached_images(&o, Some("https://a.example/2.png")),
            "<p><img src=\"https://a.example/1.png\" alt=\"A &quot;cat&quot;\" loading=\"lazy\"></p>"
        );
    }

    fn served(fragment: &str, pem: &str) -> ServedKey {
        ServedKey {
            fragment: fragment.into(),
            public_key_pem: pem.into(),
        }
    }

    /// During a grace period after a rotation, `publicKey` lists the
    /// current key first and the old key after it, each under its own id.
    #[test]
    fn old_keys_follow_the_current_key() {
        let (_, author) = sample();
        let keys = [served("key-2", "NEW"), served("main-key", "OLD")];
        let parts = ActorParts {
            keys: &keys,
            icon: None,
            image: None,
            manually_approves_followers: false,
        };
        let v = author_actor(&urls(), &author, &parts);
        let id = "https://news.example.org/users/camille";
        assert_eq!(
            v["publicKey"],
            json!([
                {"id": format!("{id}#key-2"), "owner": id, "publicKeyPem": "NEW"},
                {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": "OLD"},
            ])
        );
    }

    /// The instance actor's name is plain with or without a port in the
    /// public URL; its id and inbox keep the port.
    #[test]
    fn instance_actor_has_a_plain_username() {
        for (base, name) in [
            ("https://news.example.org", "news.example.org"),
            ("http://localhost:18080", "localhost"),
        ] {
            let urls = Urls::new(base);
            let actor = instance_actor(&urls, urls.host(), &[served("main-key", "PEM")]);
            assert_eq!(actor["preferredUsername"], name, "{base}");
            assert_eq!(actor["id"], format!("{base}/actor"));
            assert_eq!(actor["inbox"], format!("{base}/inbox"));
        }
    }
}
