//! Federation HTTP endpoints: discovery (WebFinger, host-meta, NodeInfo),
//! actor documents and their collections, article objects, and the inboxes.
//! With authorized fetch on, every AS2 document here but the instance actor
//! answers only signed GETs ([`authorize_fetch`]); discovery stays public.

use activitypub_federation::config::Data;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::header::{ACCEPT, CONTENT_TYPE, LOCATION, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gazette_core::{ArticleStatus, FollowStatus};
use gazette_store::ArticleQuery;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::activities::outgoing;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::{self, AS2};
use crate::keys::{INSTANCE_KEY, served_keys};
use crate::local::{LocalActor, actor_json, find_local_actor};
use crate::outbound::article_json;
use crate::signed_fetch::{RequestHead, authorize_fetch};

pub const ACTIVITY_JSON: &str = "application/activity+json";
const PAGE_SIZE: i64 = 20;

/// True when the client asks for ActivityStreams rather than HTML.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        let v = v.to_ascii_lowercase();
        v.contains("application/activity+json")
            || (v.contains("application/ld+json") && v.contains("activitystreams"))
            || v.contains("application/ld+json") && !v.contains("text/html")
    })
}

/// An AS2 JSON response with `Vary: Accept`.
pub fn activity_response(value: &Value) -> Response {
    let mut resp = (StatusCode::OK, value.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json; charset=utf-8"),
    );
    h.insert(VARY, HeaderValue::from_static("Accept"));
    resp
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp.headers_mut().insert(VARY, HeaderValue::from_static("Accept"));
    resp
}

#[derive(Deserialize)]
pub struct WebfingerQuery {
    resource: String,
}

/// `GET /.well-known/webfinger?resource=acct:name@host` (or an actor URL).
pub async fn get_webfinger(
    data: Data<FedContext>,
    Query(q): Query<WebfingerQuery>,
) -> Result<Response, FederationError> {
    let urls = data.urls();
    let resource = q.resource.trim();
    let username = if let Some(acct) = resource.strip_prefix("acct:") {
        let acct = acct.trim_start_matches('@');
        let (user, host) = acct
            .rsplit_once('@')
            .ok_or_else(|| FederationError::bad_request("resource must be acct:name@host"))?;
        if !host.eq_ignore_ascii_case(urls.host()) {
            return Err(FederationError::NotFound);
        }
        user.to_owned()
    } else if let Some(user) = urls.local_username(resource) {
        user.to_owned()
    } else if resource == urls.instance_actor() {
        urls.instance_username()
    } else {
        return Err(FederationError::NotFound);
    };
    // The instance actor; `acct:host:port@host:port` is its name from
    // before it had a plain one.
    let (subject, self_href, profile) = if username == urls.instance_username() || username == urls.host() {
        (
            format!("acct:{}@{}", urls.instance_username(), urls.host()),
            urls.instance_actor(),
            urls.url("/"),
        )
    } else {
        let actor = find_local_actor(&data, &username)
            .await?
            .ok_or(FederationError::NotFound)?;
        let profile = match &actor {
            LocalActor::Organisation(_) => urls.url("/"),
            LocalActor::Author(a) => urls.url(&format!("/authors/{}", a.username)),
            LocalActor::Network(_) => urls.url(crate::network::FEED_PATH),
        };
        (
            format!("acct:{}@{}", actor.username(), urls.host()),
            urls.actor(actor.username()),
            profile,
        )
    };
    let body = json!({
        "subject": subject,
        "aliases": [self_href, profile],
        "links": [
            { "rel": "self", "type": ACTIVITY_JSON, "href": self_href },
            { "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile },
        ]
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json; charset=utf-8"),
    );
    resp.headers_mut()
        .insert("access-control-allow-origin", HeaderValue::from_static("*"));
    Ok(resp)
}

/// `GET /.well-known/host-meta`: where WebFinger lives (XRD, for older software).
pub async fn get_host_meta(data: Data<FedContext>) -> Response {
    let template = data.urls().url("/.well-known/webfinger?resource={uri}");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}\"/>\n</XRD>\n",
        template.replace('&', "&amp;").replace('"', "&quot;")
    );
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
    );
    resp
}

/// `GET /.well-known/nodeinfo`: the NodeInfo discovery document.
pub async fn get_nodeinfo_links(data: Data<FedContext>) -> Json<Value> {
    Json(json!({ "links": [{
        "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
        "href": data.urls().url("/nodeinfo/2.1"),
    }]}))
}

/// `GET /nodeinfo/2.1`: software, protocols and real usage counts.
pub async fn get_nodeinfo(data: Data<FedContext>) -> Result<Response, FederationError> {
    let store = data.store();
    let authors = store.list_authors().await?.len() as i64;
    let org = store.find_organisation().await?;
    let posts = store.count_articles(ArticleStatus::Published).await?;
    let body = json!({
        "version": "2.1",
        "software": {
            "name": "gazette",
            "version": data.settings().version,
            "repository": "https://github.com/gazette-sse/gazette",
            "homepage": data.urls().url("/"),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": ["atom1.0"] },
        "openRegistrations": false,
        "usage": {
            "users": { "total": authors + i64::from(org.is_some()), "activeMonth": authors, "activeHalfyear": authors },
            "localPosts": posts,
        },
        "metadata": { "nodeName": org.map(|o| o.name).unwrap_or_default() },
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\""),
    );
    Ok(resp)
}

/// `GET /actor/outbox`: the instance actor publishes nothing, so an empty
/// collection (GoToSocial counts an actor's posts through its outbox and
/// logs a warning when it answers 404).
pub async fn get_instance_outbox(data: Data<FedContext>) -> Response {
    activity_response(&json!({
        "@context": json::AS2,
        "id": format!("{}/outbox", data.urls().instance_actor()),
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    }))
}

/// `GET /actor`: the instance actor.
pub async fn get_instance_actor(data: Data<FedContext>) -> Result<Response, FederationError> {
    let keys = served_keys(&data, INSTANCE_KEY, chrono::Utc::now()).await?;
    Ok(activity_response(&json::instance_actor(
        data.urls(),
        data.urls().host(),
        &keys,
    )))
}

/// `GET /users/{username}`: the actor as AS2, or a redirect to its page for browsers.
pub async fn get_actor(
    data: Data<FedContext>,
    Path(username): Path<String>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    let actor = find_local_actor(&data, &username)
        .await?
        .ok_or(FederationError::NotFound)?;
    if !wants_activity_json(&head.headers) {
        let page = match &actor {
            LocalActor::Organisation(_) => data.urls().url("/"),
            LocalActor::Author(a) => data.urls().url(&format!("/authors/{}", a.username)),
            LocalActor::Network(_) => data.urls().url(crate::network::FEED_PATH),
        };
        return Ok(redirect(&page));
    }
    authorize_fetch(&data, &head).await?;
    Ok(activity_response(&actor_json(&data, &actor).await?))
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

/// `GET /users/{username}/outbox[?page=N]`: the actor's `Create`s, newest first.
pub async fn get_outbox(
    data: Data<FedContext>,
    Path(username): Path<String>,
    Query(q): Query<PageQuery>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    authorize_fetch(&data, &head).await?;
    let actor = find_local_actor(&data, &username)
        .await?
        .ok_or(FederationError::NotFound)?;
    if let LocalActor::Network(_) = &actor {
        return crate::network::outbox::get_outbox(&data, q.page).await;
    }
    let urls = data.urls();
    let outbox = urls.outbox(actor.username());
    let mut query = ArticleQuery::published(PAGE_SIZE, 0);
    if let LocalActor::Author(a) = &actor {
        query.author_id = Some(a.id.clone());
    }
    let Some(page) = q.page else {
        let total = data
            .store()
            .list_articles(&ArticleQuery { limit: 0, ..query })
            .await?
            .total;
        return Ok(activity_response(&json!({
            "@context": AS2, "id": outbox, "type": "OrderedCollection", "totalItems": total,
            "first": format!("{outbox}?page=1"), "last": format!("{outbox}?page={}", ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)),
        })));
    };
    let page = page.max(1);
    query.offset = (page - 1) * PAGE_SIZE;
    let list = data.store().list_articles(&query).await?;
    let actor_id = urls.actor(actor.username());
    let mut items = Vec::new();
    for a in &list.articles {
        let author = data.store().get_author(&a.author_id).await?;
        let author_id = urls.actor(&author.username);
        let object_id = urls.article(a);
        let item = if author_id == actor_id {
            let object = crate::proofs::embeddable(article_json(&data, a).await?);
            let cc = vec![urls.followers(actor.username())];
            outgoing::article(format!("{object_id}#create-1"), &actor_id, object, false, cc)
                .in_outbox(a.published_at)
                .to_value()?
        } else {
            let cc = vec![urls.followers(actor.username())];
            outgoing::announce(format!("{object_id}#announce"), &actor_id, object_id.clone(), cc)
                .in_outbox(a.published_at)
                .to_value()?
        };
        items.push(item);
    }
    let mut body = json!({
        "@context": json::context(), "id": format!("{outbox}?page={page}"), "type": "OrderedCollectionPage",
        "partOf": outbox, "totalItems": list.total, "orderedItems": items,
    });
    if page > 1 {
        body["prev"] = json!(format!("{outbox}?page={}", page - 1));
    }
    if query.offset + PAGE_SIZE < list.total {
        body["next"] = json!(format!("{outbox}?page={}", page + 1));
    }
    Ok(activity_response(&body))
}

/// `GET /users/{username}/followers[?page=N]`: count, and pages of follower ids.
pub async fn get_followers(
    data: Data<FedContext>,
    Path(username): Path<String>,
    Query(q): Query<PageQuery>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    authorize_fetch(&data, &head).await?;
    let actor = find_local_actor(&data, &username)
        .await?
        .ok_or(FederationError::NotFound)?;
    let urls = data.urls();
    let id = urls.followers(actor.username());
    let actor_id = urls.actor(actor.username());
    let total = data.store().count_followers(&actor_id).await?;
    let Some(page) = q.page else {
        return Ok(activity_response(&json!({
            "@context": AS2, "id": id, "type": "OrderedCollection", "totalItems": total, "first": format!("{id}?page=1"),
        })));
    };
    let page = page.max(1);
    let list = data
        .store()
        .list_followers(&actor_id, FollowStatus::Accepted, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await?;
    let mut body = json!({
        "@context": AS2, "id": format!("{id}?page={page}"), "type": "OrderedCollectionPage", "partOf": id,
        "totalItems": total, "orderedItems": list.iter().map(|f| f.actor.id.clone()).collect::<Vec<_>>(),
    });
    if page * PAGE_SIZE < total {
        body["next"] = json!(format!("{id}?page={}", page + 1));
    }
    Ok(activity_response(&body))
}

/// `GET /users/{username}/following`: local actors follow nobody yet.
pub async fn get_following(
    data: Data<FedContext>,
    Path(username): Path<String>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    authorize_fetch(&data, &head).await?;
    let actor = find_local_actor(&data, &username)
        .await?
        .ok_or(FederationError::NotFound)?;
    let id = data.urls().following(actor.username());
    Ok(activity_response(
        &json!({ "@context": AS2, "id": id, "type": "OrderedCollection", "totalItems": 0, "orderedItems": [] }),
    ))
}

/// How many articles an actor's `featured` collection lists.
const FEATURED: i64 = 5;

/// `GET /users/{username}/featured`: the organisation's latest articles (it
/// has no pinned ones), an author's own latest; empty for the network
/// actor. Mastodon and GoToSocial show these as pinned posts on the profile.
pub async fn get_featured(
    data: Data<FedContext>,
    Path(username): Path<String>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    authorize_fetch(&data, &head).await?;
    let actor = find_local_actor(&data, &username)
        .await?
        .ok_or(FederationError::NotFound)?;
    let urls = data.urls();
    let mut query = ArticleQuery::published(FEATURED, 0);
    let items: Vec<String> = match &actor {
        LocalActor::Network(_) => Vec::new(),
        LocalActor::Organisation(_) | LocalActor::Author(_) => {
            if let LocalActor::Author(a) = &actor {
                query.author_id = Some(a.id.clone());
            }
            let list = data.store().list_articles(&query).await?;
            list.articles.iter().map(|a| urls.article(a)).collect()
        }
    };
    Ok(activity_response(&json!({
        "@context": AS2, "id": urls.featured(actor.username()), "type": "OrderedCollection",
        "totalItems": items.len(), "orderedItems": items,
    })))
}

/// `GET /objects/{id}`: an article as AS2 (410 once deleted), or a redirect to its page.
pub async fn get_object(
    data: Data<FedContext>,
    Path(id): Path<String>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    let wants_as2 = wants_activity_json(&head.headers);
    if wants_as2 {
        authorize_fetch(&data, &head).await?;
    }
    let article = data.store().find_article(&id).await?.ok_or(FederationError::NotFound)?;
    match article.status {
        ArticleStatus::Published => {}
        ArticleStatus::Deleted => return Ok(gone_tombstone(&data, &article)),
        _ => return Err(FederationError::NotFound),
    }
    if !wants_as2 {
        return Ok(redirect(&data.urls().article_page(&article)));
    }
    Ok(activity_response(&article_json(&data, &article).await?))
}

/// `GET /notes/{id}`: a reply written here, as AS2 (410 once deleted), or
/// as a small HTML page for browsers.
pub async fn get_note(
    data: Data<FedContext>,
    Path(id): Path<String>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    let wants_as2 = wants_activity_json(&head.headers);
    if wants_as2 {
        authorize_fetch(&data, &head).await?;
    }
    let note = data
        .store()
        .find_outbound_interaction(&id)
        .await?
        .filter(|i| i.kind == gazette_core::InteractionKind::Reply)
        .ok_or(FederationError::NotFound)?;
    if let Some(deleted) = note.deleted_at {
        let mut body = json::tombstone(&data.urls().note(&note.id), deleted);
        body["@context"] = json!(AS2);
        body["formerType"] = json!("Note");
        let mut resp = activity_response(&body);
        *resp.status_mut() = StatusCode::GONE;
        return Ok(resp);
    }
    let language = data.default_language().await?;
    let username = data
        .urls()
        .local_username(&note.actor_id)
        .unwrap_or_default()
        .to_owned();
    if !wants_as2 {
        let author = find_local_actor(&data, &username).await?;
        let name = author.as_ref().map_or(username.as_str(), LocalActor::display_name);
        return Ok(note_page(&data, &note, name, &language));
    }
    let object_actor = data.store().find_remote_actor(&note.object_actor).await?;
    Ok(activity_response(&crate::interact::note_json(
        &data,
        &note,
        &username,
        object_actor.as_ref(),
        &language,
    )))
}

/// A reply written here as a small HTML page, for people who follow its
/// `url` from their app: who wrote it, when, what it answers, the text.
fn note_page(
    data: &FedContext,
    note: &gazette_core::OutboundInteraction,
    author: &str,
    language: &gazette_core::Language,
) -> Response {
    let urls = data.urls();
    let esc = gazette_core::html::escape;
    let id = urls.note(&note.id);
    let hashtags = json::hashtags_in(note.source.as_deref().unwrap_or_default());
    let content = json::link_hashtags(urls, note.content_html.as_deref().unwrap_or_default(), &hashtags);
    // The object replied to came from another server: only a web address
    // becomes a link.
    let replied_to = if note.object_id.starts_with("https://") || note.object_id.starts_with("http://") {
        format!(
            "<a href=\"{0}\" rel=\"nofollow noopener noreferrer\">{0}</a>",
            esc(&note.object_id)
        )
    } else {
        esc(&note.object_id)
    };
    let published = json::time(note.created_at);
    let body = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"alternate\" type=\"application/activity+json\" href=\"{id}\">\n\
         <link rel=\"stylesheet\" href=\"{css}\">\n</head>\n<body>\n<main class=\"note\">\n<article>\n\
         <p class=\"note-meta\"><a href=\"{home}\">{author}</a> · <time datetime=\"{published}\">{published}</time></p>\n\
         <p class=\"note-context\">In reply to {replied_to}</p>\n<div class=\"note-content\">{content}</div>\n\
         </article>\n</main>\n</body>\n</html>\n",
        lang = esc(language.as_str()),
        title = esc(&format!("Reply by {author}")),
        id = esc(&id),
        css = esc(&urls.url("/static/style.css")),
        home = esc(&urls.url("/")),
        author = esc(author),
    );
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    resp.headers_mut().insert(VARY, HeaderValue::from_static("Accept"));
    resp
}

/// 410 with a `Tombstone` body, for deleted articles.
pub fn gone_tombstone(data: &FedContext, article: &gazette_core::Article) -> Response {
    let mut body = json::tombstone(&data.urls().article(article), article.updated_at);
    body["@context"] = json!(AS2);
    let mut resp = activity_response(&body);
    *resp.status_mut() = StatusCode::GONE;
    resp
}

/// `GET /objects/{id}/replies[?page=N]`: visible replies' ids, oldest
/// first, in pages of 20 (`first`, embedded, then `next`), as GoToSocial
/// expects.
pub async fn get_replies(
    data: Data<FedContext>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    authorize_fetch(&data, &head).await?;
    let article = data
        .store()
        .find_article(&id)
        .await?
        .filter(|a| a.is_public())
        .ok_or(FederationError::NotFound)?;
    let comments = data.store().list_comments(&article.id, "visible").await?;
    let items: Vec<String> = comments.into_iter().map(|(c, _)| c.id).collect();
    let collection = data.urls().replies(&article);
    Ok(activity_response(&replies_page(&collection, &items, q.page)))
}

/// The replies collection (no `page`), its first page embedded, or one of
/// its pages.
fn replies_page(collection: &str, items: &[String], page: Option<i64>) -> Value {
    let mut body = match page {
        None => json::replies_collection(collection, items),
        Some(n) => json::replies_page(collection, items, n),
    };
    body["@context"] = json!(AS2);
    body
}

/// `GET /objects/{id}/likes` and `/shares`: counts only.
pub async fn get_counts(
    data: Data<FedContext>,
    Path((id, which)): Path<(String, String)>,
    head: RequestHead,
) -> Result<Response, FederationError> {
    authorize_fetch(&data, &head).await?;
    let article = data
        .store()
        .find_article(&id)
        .await?
        .filter(|a| a.is_public())
        .ok_or(FederationError::NotFound)?;
    let counts = data.store().interaction_counts(&article.id).await?;
    let (url, total) = match which.as_str() {
        "likes" => (data.urls().likes(&article), counts.likes),
        "shares" => (data.urls().shares(&article), counts.shares),
        _ => return Err(FederationError::NotFound),
    };
    Ok(activity_response(
        &json!({ "@context": AS2, "id": url, "type": "Collection", "totalItems": total }),
    ))
}

#[cfg(test)]
mod tests {
    use super::replies_page;

    #[test]
    fn replies_come_in_pages_linked_to_the_collection() {
        let c = "https://n.example/objects/a/replies";
        let items: Vec<String> = (0..25).map(|i| format!("https://r.example/notes/{i}")).collect();
        let top = replies_page(c, &items, None);
        assert_eq!(top["type"], "OrderedCollection");
        assert_eq!(top["totalItems"], 25);
        assert_eq!(top["first"]["id"], format!("{c}?page=1"));
        assert_eq!(top["first"]["next"], format!("{c}?page=2"));
        let first = replies_page(c, &items, Some(1));
        assert_eq!(first["type"], "OrderedCollectionPage");
        assert_eq!(first["partOf"], c);
        assert_eq!(first["orderedItems"].as_array().unwrap().len(), 20);
        assert_eq!(first["next"], format!("{c}?page=2"));
        let second = replies_page(c, &items, Some(2));
        assert_eq!(second["orderedItems"][4], "https://r.example/notes/24");
        assert!(second.get("next").is_none());
        assert_eq!(second["prev"], format!("{c}?page=1"));
        let empty = replies_page(c, &[], Some(1));
        assert_eq!(empty["orderedItems"], serde_json::json!([]));
        assert!(empty.get("next").is_none());
    }
}
