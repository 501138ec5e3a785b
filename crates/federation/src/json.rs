//! The one place that turns Gazette's types into ActivityStreams JSON:
//! local actors, articles and the activities that carry them. The exact
//! shapes are documented in docs/FEDERATION.md.

use chrono::{DateTime, SecondsFormat, Utc};
use gazette_core::{Article, Author, Media, Organisation};
use serde_json::{Value, json};

use crate::urls::Urls;

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
pub const AS2: &str = "https://www.w3.org/ns/activitystreams";
pub const SECURITY: &str = "https://w3id.org/security/v1";
/// Namespace of Gazette's small extension for the social and solidarity
/// economy (`sse:country`, `sse:legalForm`, `sse:sectors`, `sse:languages`
/// on organisations, `sse:kind` on articles); see docs/FEDERATION.md.
pub const SSE: &str = "https://gazette-sse.github.io/ns#";

/// The `@context` of everything we publish: AS2, security/v1, and the terms
/// Mastodon uses that AS2 lacks (Hashtag must be defined, or JSON-LD
/// consumers such as Fedify drop the tags).
pub fn context() -> Value {
    json!([
        AS2,
        SECURITY,
        {
            "Hashtag": "as:Hashtag",
            "sensitive": "as:sensitive",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "attributionDomains": { "@id": "toot:attributionDomains", "@type": "@id" },
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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Plain text as a one-paragraph HTML summary.
fn html_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim())))
        .collect()
}

fn image(urls: &Urls, media: &Media, alt: Option<&str>) -> Value {
    json!({
        "type": "Image",
        "url": urls.media(&media.id),
        "mediaType": media.content_type,
        "name": alt.unwrap_or(&media.alt),
        "width": media.width,
        "height": media.height,
    })
}

/// What a local actor JSON needs beyond its own fields.
pub struct ActorParts<'a> {
    pub public_key_pem: &'a str,
    pub icon: Option<&'a Media>,
    pub image: Option<&'a Media>,
    pub manually_approves_followers: bool,
}

fn actor_common(
    urls: &Urls,
    username: &str,
    kind: &str,
    name: &str,
    summary_html: String,
    page: String,
    parts: &ActorParts<'_>,
) -> Value {
    let id = urls.actor(username);
    let mut v = json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "preferredUsername": username,
        "name": name,
        "summary": summary_html,
        "url": page,
        "inbox": urls.inbox(username),
        "outbox": urls.outbox(username),
        "followers": urls.followers(username),
        "following": urls.following(username),
        "endpoints": { "sharedInbox": urls.shared_inbox() },
        "publicKey": { "id": urls.key_id(&id), "owner": id, "publicKeyPem": parts.public_key_pem },
        "manuallyApprovesFollowers": parts.manually_approves_followers,
        "discoverable": true,
        "indexable": true,
        "alsoKnownAs": [],
        "attributionDomains": [urls.host()],
    });
    if let Some(icon) = parts.icon {
        v["icon"] = image(urls, icon, None);
    }
    if let Some(img) = parts.image {
        v["image"] = image(urls, img, None);
    }
    v
}

/// The organisation as an `Organization` actor.
pub fn organisation_actor(urls: &Urls, org: &Organisation, parts: &ActorParts<'_>) -> Value {
    let mut v = actor_common(
        urls,
        &org.username,
        "Organization",
        &org.name,
        html_paragraphs(&org.description),
        urls.url("/"),
        parts,
    );
    v["published"] = json!(time(org.updated_at));
    v["sse:country"] = json!(org.country.as_str());
    v["sse:legalForm"] = json!(org.legal_form.as_str());
    v["sse:sectors"] = json!(org.sectors);
    v["sse:languages"] = json!(org.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>());
    if let Some(site) = &org.website {
        v["attachment"] = json!([{
            "type": "PropertyValue",
            "name": "Website",
            "value": format!("<a href=\"{0}\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">{0}</a>", escape(site)),
        }]);
    }
    v
}

/// A network coordinator's network actor, a `Group` (FEP-1b12): members'
/// articles reach its followers as its `Announce`s.
pub fn network_actor(urls: &Urls, network: &crate::context::NetworkSettings, parts: &ActorParts<'_>) -> Value {
    let mut v = actor_common(
        urls,
        &network.username,
        "Group",
        &network.name,
        html_paragraphs(&network.summary),
        urls.url(crate::network::FEED_PATH),
        parts,
    );
    v["attachment"] = json!([{
        "type": "PropertyValue",
        "name": "Feed",
        "value": format!("<a href=\"{0}\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">{0}</a>",
            escape(&urls.url(crate::network::FEED_PATH))),
    }]);
    v
}

/// An author as a `Person` actor.
pub fn author_actor(urls: &Urls, author: &Author, parts: &ActorParts<'_>) -> Value {
    let page = urls.url(&format!("/authors/{}", author.username));
    let mut v = actor_common(
        urls,
        &author.username,
        "Person",
        &author.name,
        html_paragraphs(&author.bio),
        page,
        parts,
    );
    v["published"] = json!(time(author.created_at));
    if let Some(handle) = &author.fediverse_handle {
        v["attachment"] = json!([{ "type": "PropertyValue", "name": "Fediverse", "value": escape(handle) }]);
    }
    v
}

/// The instance actor (`Application`) that signs server-to-server fetches.
pub fn instance_actor(urls: &Urls, name: &str, public_key_pem: &str) -> Value {
    let id = urls.instance_actor();
    json!({
        "@context": context(),
        "id": id,
        "type": "Application",
        "preferredUsername": urls.instance_username(),
        "name": name,
        "url": urls.url("/"),
        "inbox": urls.shared_inbox(),
        "outbox": format!("{id}/outbox"),
        "endpoints": { "sharedInbox": urls.shared_inbox() },
        "publicKey": { "id": urls.key_id(&id), "owner": id, "publicKeyPem": public_key_pem },
        "manuallyApprovesFollowers": true,
        "discoverable": false,
        "indexable": false,
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

/// An article as an AS2 `Article` with every translation.
pub fn article(
    urls: &Urls,
    a: &Article,
    author: &Author,
    media: &ArticleMedia<'_>,
    counts: Counts,
    mention: Option<Mention<'_>>,
) -> Value {
    let default = a.translation(None);
    let mut name_map = serde_json::Map::new();
    let mut summary_map = serde_json::Map::new();
    let mut content_map = serde_json::Map::new();
    for t in &a.translations {
        name_map.insert(t.language.to_string(), json!(t.title));
        summary_map.insert(t.language.to_string(), json!(html_paragraphs(&t.summary)));
        content_map.insert(t.language.to_string(), json!(t.body_html));
    }
    let author_id = urls.actor(&author.username);
    let mut tags: Vec<Value> = a
        .tags
        .iter()
        .map(|t| json!({ "type": "Hashtag", "href": urls.tag(t), "name": format!("#{t}") }))
        .collect();
    let mut cc = vec![json!(urls.followers(&author.username))];
    if let Some(m) = mention {
        tags.push(json!({ "type": "Mention", "href": m.actor_id, "name": m.handle }));
        cc.push(json!(m.actor_id));
    }
    let mut v = json!({
        "@context": context(),
        "id": urls.article(a),
        "type": "Article",
        "name": default.title,
        "nameMap": name_map,
        "summary": html_paragraphs(&default.summary),
        "summaryMap": summary_map,
        "content": default.body_html,
        "contentMap": content_map,
        "mediaType": "text/html",
        "source": { "content": default.body_markdown, "mediaType": "text/markdown" },
        "url": urls.article_page(a),
        "attributedTo": author_id,
        "to": [PUBLIC],
        "cc": cc,
        "tag": tags,
        "sensitive": false,
        "sse:kind": a.kind.as_str(),
        "replies": { "id": urls.replies(a), "type": "Collection", "totalItems": counts.replies },
        "likes": { "id": urls.likes(a), "type": "Collection", "totalItems": counts.likes },
        "shares": { "id": urls.shares(a), "type": "Collection", "totalItems": counts.shares },
    });
    if let Some(p) = a.published_at {
        v["published"] = json!(time(p));
        if a.updated_at > p {
            v["updated"] = json!(time(a.updated_at));
        }
    }
    if let (Some(cover), Some(m)) = (&a.cover, media.cover) {
        let img = image(urls, m, Some(&cover.alt));
        v["image"] = img.clone();
        let mut doc = img;
        doc["type"] = json!("Document");
        v["attachment"] = json!([doc]);
    }
    v
}

/// An interviewee's fediverse account, resolved to its actor id.
pub struct Mention<'a> {
    pub actor_id: &'a str,
    pub handle: &'a str,
}

/// Wraps `object` in an activity of `kind` by `actor`, addressed like the object.
pub fn activity(id: &str, kind: &str, actor: &str, object: Value, to: Value, cc: Value) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "actor": actor,
        "published": time(Utc::now()),
        "to": to,
        "cc": cc,
        "object": object,
    })
}

/// A `Tombstone` for a deleted article.
pub fn tombstone(id: &str, deleted: DateTime<Utc>) -> Value {
    json!({ "id": id, "type": "Tombstone", "formerType": "Article", "deleted": time(deleted) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instance actor's name is plain with or without a port in the
    /// public URL; its id and inbox keep the port.
    #[test]
    fn instance_actor_has_a_plain_username() {
        for (base, name) in [
            ("https://news.example.org", "news.example.org"),
            ("http://localhost:18080", "localhost"),
        ] {
            let urls = Urls::new(base);
            let actor = instance_actor(&urls, urls.host(), "PEM");
            assert_eq!(actor["preferredUsername"], name, "{base}");
            assert_eq!(actor["id"], format!("{base}/actor"));
            assert_eq!(actor["inbox"], format!("{base}/inbox"));
        }
    }
}
