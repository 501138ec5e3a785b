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

use crate::context::FedContext;
use crate::error::FederationError;
use crate::json::{self, AS2};
use crate::keys::{INSTANCE_KEY, ensure_key};
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
    let (public, _) = ensure_key(&data, INSTANCE_KEY).await?;
    Ok(activity_response(&json::instance_actor(
        data.urls(),
        data.urls().host(),
        &public,
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
            let mut object = article_json(&data, a).await?;
            if let Some(o) = object.as_object_mut() {
                o.remove("@context");
            }
            let mut act = json::activity(
                &format!("{object_id}#create-1"),
                "Create",
                &actor_id,
                object,
                json!([json::PUBLIC]),
                json!([urls.followers(actor.username())]),
            );
            act.as_object_mut().map(|o| o.remove("@context"));
            act["published"] = json!(a.published_at.map(json::time));
            act
        } else {
            let mut act = json::activity(
                &format!("{object_id}#announce"),
                "Announce",
                &actor_id,
                json!(object_id),
                json!([json::PUBLIC]),
                json!([urls.followers(actor.username())]),
            );
            act.as_object_mut().map(|o| o.remove("@context"));
            act["published"] = json!(a.published_at.map(json::time));
            act
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

/// `GET /notes/{id}`: a reply written here, as AS2 (410 once deleted); a
/// browser is sent to what it replies to.
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
    if !wants_as2 {
        return Ok(redirect(&note.object_id));
    }
    let username = data
        .urls()
        .local_username(&note.actor_id)
        .unwrap_or_default()
        .to_owned();
    let object_actor = data.store().find_remote_actor(&note.object_actor).await?;
    Ok(activity_response(&crate::interact::note_json(
        &data,
        &note,
        &username,
        object_actor.as_ref(),
    )))
}

/// 410 with a `Tombstone` body, for deleted articles.
pub fn gone_tombstone(data: &FedContext, article: &gazette_core::Article) -> Response {
    let mut body = json::tombstone(&data.urls().article(article), article.updated_at);
    body["@context"] = json!(AS2);
    let mut resp = activity_response(&body);
    *resp.status_mut() = StatusCode::GONE;
    resp
}

/// `GET /objects/{id}/replies`: visible replies' ids.
pub async fn get_replies(
    data: Data<FedContext>,
    Path(id): Path<String>,
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
    Ok(activity_response(&json!({
        "@context": AS2, "id": data.urls().replies(&article), "type": "OrderedCollection",
        "totalItems": items.len(), "orderedItems": items,
    })))
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
