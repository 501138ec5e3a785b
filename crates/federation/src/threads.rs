//! Threads (FEP-7888): when a reply to one of our articles arrives and
//! its server announces more of the thread than we hold (a `replies`
//! collection with more items than the article has replies here, or a
//! `context` collection that is not ours), the replies we missed are read
//! from those collections, in a task of its own, and stored through the
//! inbox's own path ([`crate::activities::reply::store_reply`]), so the
//! comment policy and moderation apply to them as to any reply.
//!
//! Bounded: at most [`MAX_PAGES`] pages and [`MAX_ITEMS`] items per
//! arriving reply, all within [`BUDGET`]; one collection URL is read at
//! most once per [`READ_AGAIN_AFTER`] (remembered in memory, per process:
//! a restart may read it once more, which stores nothing twice). Only a
//! `Note` replying to one of our articles and attributed to an actor on
//! the Note's own host is stored; an item embedded in a page of another
//! host is fetched again from its own id first, so a server cannot speak
//! for another. Replies to replies are not stored (nor are they by the
//! inbox).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use activitypub_federation::config::{Data, FederationConfig};
use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::fetch::object_id::ObjectId;
use serde_json::Value;
use url::Url;

use crate::activities::Embedded;
use crate::context::FedContext;
use crate::error::FederationError;
use crate::remote::{DbRemoteActor, host_of};
use crate::urls::Urls;

/// Collection pages read per arriving reply, over all its collections.
pub const MAX_PAGES: usize = 3;
/// Items looked at per arriving reply.
pub const MAX_ITEMS: usize = 100;
/// Time allowed for the whole read of one arriving reply's collections.
pub const BUDGET: Duration = Duration::from_secs(5);
/// A collection URL is read at most once in this time.
pub const READ_AGAIN_AFTER: Duration = Duration::from_secs(600);

/// Collection URLs remembered at most (the memory stays bounded).
const MAX_REMEMBERED: usize = 10_000;

/// Collection URLs read recently, with when (in memory, per process).
#[derive(Debug, Default)]
pub struct ThreadReads(Mutex<HashMap<String, Instant>>);

impl ThreadReads {
    /// Whether `url` may be read at `now`; if so, it counts as read then.
    pub fn claim(&self, url: &str, now: Instant) -> bool {
        let mut read = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if read
            .get(url)
            .is_some_and(|at| now.saturating_duration_since(*at) < READ_AGAIN_AFTER)
        {
            return false;
        }
        if read.len() >= MAX_REMEMBERED {
            read.retain(|_, at| now.saturating_duration_since(*at) < READ_AGAIN_AFTER);
            if read.len() >= MAX_REMEMBERED {
                // Ten thousand threads read in ten minutes: a flood, not
                // conversation; read no more until some are forgotten.
                return false;
            }
        }
        read.insert(url.to_owned(), now);
        true
    }
}

/// A collection worth reading, and the `totalItems` it must exceed to be
/// worth reading further (for a `replies` collection given by URL only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToRead {
    pub url: String,
    pub more_than: Option<i64>,
}

/// The collections of an arriving reply `note` to read, when the article
/// has `held` replies stored here: its `replies` when it announces more
/// than that (or gives no count), its `context` when that is not ours.
pub fn collections_to_read(note: &Value, held: i64, urls: &Urls) -> Vec<ToRead> {
    let mut out: Vec<ToRead> = Vec::new();
    let ours = |u: &str| u.starts_with(&format!("{}/", urls.base()));
    match note.get("replies") {
        Some(Value::String(u)) if !ours(u) => out.push(ToRead {
            url: u.clone(),
            more_than: Some(held),
        }),
        Some(Value::Object(o)) => {
            let total = o.get("totalItems").and_then(Value::as_i64);
            // Mastodon embeds the first page: empty and the last, it says
            // there is nothing to read.
            let empty = o.get("first").and_then(Value::as_object).is_some_and(|f| {
                f.get("next").is_none()
                    && ["items", "orderedItems"]
                        .iter()
                        .all(|k| f.get(*k).and_then(Value::as_array).is_none_or(Vec::is_empty))
            });
            if let Some(u) = o.get("id").and_then(Value::as_str)
                && !ours(u)
                && !empty
                && total.is_none_or(|t| t > held)
            {
                out.push(ToRead {
                    url: u.to_owned(),
                    more_than: Some(held),
                });
            }
        }
        _ => {}
    }
    let context = match note.get("context") {
        Some(Value::String(u)) => Some(u.as_str()),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str),
        _ => None,
    };
    if let Some(u) = context
        && !ours(u)
        && out.iter().all(|r| r.url != u)
    {
        out.push(ToRead {
            url: u.to_owned(),
            more_than: None,
        });
    }
    out.retain(|r| Url::parse(&r.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")));
    out
}

/// Why an item of a collection is not stored (for the logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NotANote,
    NoId,
    NotReplyingToUs,
    AttributedElsewhere,
}

/// Whether `item` (an embedded object) is a `Note` replying to one of our
/// articles, by its id or page URL, and attributed to an actor on the
/// Note's own host (scheme, host and port); its author's id if so.
pub fn reply_to_us(item: &Value, urls: &Urls) -> Result<String, Skip> {
    let kind = match item.get("type") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(a)) => a.iter().find_map(Value::as_str),
        _ => None,
    };
    if kind != Some("Note") {
        return Err(Skip::NotANote);
    }
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Url::parse(s).ok())
        .ok_or(Skip::NoId)?;
    let in_reply_to = id_of(item.get("inReplyTo")).unwrap_or_default();
    if urls.local_article_id(&in_reply_to).is_none() && urls.local_article_slug(&in_reply_to).is_none() {
        return Err(Skip::NotReplyingToUs);
    }
    let author = id_of(item.get("attributedTo"))
        .and_then(|a| Url::parse(&a).ok())
        .ok_or(Skip::AttributedElsewhere)?;
    if author.scheme() != id.scheme() || host_of(&author) != host_of(&id) {
        return Err(Skip::AttributedElsewhere);
    }
    Ok(author.to_string())
}

/// The id in a property given as an id, an object, or a list (the first).
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        Value::Array(a) => a.first().and_then(|f| id_of(Some(f))),
        _ => None,
    }
}

/// What a read stored and looked at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub pages: usize,
    pub items: usize,
    pub stored: usize,
}

/// Called once a reply that arrived in the inbox was stored: when it
/// announces more of its thread than we hold, reads it in a task of its
/// own (a failure is logged; the inbox request does not wait for it).
pub(crate) fn on_reply_stored(data: &Data<FedContext>, note: &Embedded, article_id: String) {
    if note.raw.get("replies").is_none() && note.raw.get("context").is_none() {
        return;
    }
    let ctx = data.app_data().clone();
    let note = note.raw.clone();
    tokio::spawn(async move {
        let note_id = note.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        match read_thread(&ctx, &note, &article_id).await {
            Ok(o) if o.pages > 0 => {
                tracing::info!(
                    note = note_id,
                    pages = o.pages,
                    items = o.items,
                    stored = o.stored,
                    "thread read (FEP-7888)"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(note = note_id, error = %e, "cannot read the reply's thread"),
        }
    });
}

/// Reads the collections `note` announces, within [`BUDGET`].
pub async fn read_thread(ctx: &FedContext, note: &Value, article_id: &str) -> Result<Outcome, FederationError> {
    let held = ctx.store().count_comments_of_article(article_id).await?;
    let wanted = collections_to_read(note, held, ctx.urls());
    if wanted.is_empty() {
        return Ok(Outcome::default());
    }
    let config = crate::federation_config(ctx.clone()).await?;
    let mut outcome = Outcome::default();
    let read = async {
        for c in &wanted {
            if outcome.pages >= MAX_PAGES || outcome.items >= MAX_ITEMS {
                break;
            }
            if !ctx.thread_reads().claim(&c.url, Instant::now()) {
                tracing::debug!(collection = c.url, "collection read recently; not read again");
                continue;
            }
            read_collection(&config, c, &mut outcome).await?;
        }
        Ok::<(), FederationError>(())
    };
    match tokio::time::timeout(BUDGET, read).await {
        Ok(done) => done?,
        Err(_) => tracing::info!(
            pages = outcome.pages,
            items = outcome.items,
            "thread read stopped at its time limit"
        ),
    }
    Ok(outcome)
}

/// A page to read: fetched by URL, or embedded in the previous document.
enum Page {
    Url(String),
    Embedded(Value),
}

/// Reads one collection, page after page (`first`, then `next`), every page
/// on the collection's host, within the outcome's bounds.
async fn read_collection(
    config: &FederationConfig<FedContext>,
    collection: &ToRead,
    outcome: &mut Outcome,
) -> Result<(), FederationError> {
    let host = host_of(&Url::parse(&collection.url)?);
    let mut seen = HashSet::new();
    let mut next = Some(Page::Url(collection.url.clone()));
    let mut top = true;
    while let Some(page) = next.take() {
        let page = match page {
            Page::Embedded(v) => v,
            Page::Url(u) => {
                let url = Url::parse(&u)?;
                if host_of(&url) != host || !seen.insert(u.clone()) || outcome.pages >= MAX_PAGES {
                    break;
                }
                outcome.pages += 1;
                fetch(config, &url).await?
            }
        };
        if top
            && let (Some(more_than), Some(total)) =
                (collection.more_than, page.get("totalItems").and_then(Value::as_i64))
            && total <= more_than
        {
            tracing::debug!(collection = collection.url, total, "no more replies than we hold");
            break;
        }
        top = false;
        let mut any = false;
        for field in ["orderedItems", "items"] {
            for item in page.get(field).and_then(Value::as_array).into_iter().flatten() {
                any = true;
                if outcome.items >= MAX_ITEMS {
                    return Ok(());
                }
                outcome.items += 1;
                match take_item(config, item, &host).await {
                    Ok(true) => outcome.stored += 1,
                    Ok(false) => {}
                    Err(e) => tracing::debug!(collection = collection.url, error = %e, "thread item not stored"),
                }
            }
        }
        let link = if any {
            page.get("next")
        } else {
            page.get("first").or_else(|| page.get("next"))
        };
        next = match link {
            Some(Value::String(u)) => Some(Page::Url(u.clone())),
            Some(v @ Value::Object(o)) if o.contains_key("items") || o.contains_key("orderedItems") => {
                Some(Page::Embedded(v.clone()))
            }
            Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).map(|u| Page::Url(u.to_owned())),
            _ => None,
        };
    }
    Ok(())
}

/// One item of a page on `page_host`: stored when it is a reply to one of
/// our articles not stored yet. An item given by id, or embedded but from
/// another host, is fetched from its own id first.
async fn take_item(
    config: &FederationConfig<FedContext>,
    item: &Value,
    page_host: &str,
) -> Result<bool, FederationError> {
    let data = config.to_request_data();
    let urls = data.urls();
    // The id as given: the key a reply is stored under.
    let (item, id) = match item {
        Value::String(id) => (Value::Null, id.clone()),
        Value::Object(_) => {
            if let Err(why) = reply_to_us(item, urls) {
                tracing::debug!(?why, "thread item ignored");
                return Ok(false);
            }
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
            (item.clone(), id)
        }
        _ => return Ok(false),
    };
    let id_url = Url::parse(&id)?;
    if data.store().comment_exists(&id).await? {
        return Ok(false);
    }
    // Blocked hosts are refused by the client's URL check (`safety.rs`).
    let item = if item.is_null() || host_of(&id_url) != page_host {
        let fetched = fetch(config, &id_url).await?;
        if fetched.get("id").and_then(Value::as_str) != Some(id.as_str()) {
            return Err(FederationError::bad_request(format!(
                "{id} answers with another object"
            )));
        }
        if data.store().comment_exists(&id).await? {
            return Ok(false);
        }
        fetched
    } else {
        item
    };
    let author = match reply_to_us(&item, urls) {
        Ok(a) => a,
        Err(why) => {
            tracing::debug!(?why, item = id, "thread item ignored");
            return Ok(false);
        }
    };
    crate::safety::check_actor(&data, &author).await?;
    let actor: DbRemoteActor = ObjectId::<DbRemoteActor>::parse(&author)?.dereference(&data).await?;
    let note: Embedded =
        serde_json::from_value(item).map_err(|e| FederationError::bad_request(format!("thread item {id}: {e}")))?;
    crate::activities::reply::store_reply(&data, &note, &actor).await?;
    Ok(true)
}

/// One signed GET (by the instance actor), with a fresh request context.
async fn fetch(config: &FederationConfig<FedContext>, url: &Url) -> Result<Value, FederationError> {
    Ok(fetch_object_http::<FedContext, Value>(url, &config.to_request_data())
        .await?
        .object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn urls() -> Urls {
        Urls::new("https://news.example")
    }

    #[test]
    fn a_collection_is_read_once_in_ten_minutes() {
        let reads = ThreadReads::default();
        let t0 = Instant::now();
        assert!(reads.claim("https://m.example/c/1", t0));
        assert!(!reads.claim("https://m.example/c/1", t0 + Duration::from_secs(599)));
        assert!(reads.claim("https://m.example/c/2", t0 + Duration::from_secs(1)));
        assert!(reads.claim("https://m.example/c/1", t0 + READ_AGAIN_AFTER));
        // A flood of distinct collections is remembered up to a bound, then refused.
        let flood = ThreadReads::default();
        for i in 0..MAX_REMEMBERED {
            assert!(flood.claim(&format!("https://m.example/f/{i}"), t0));
        }
        assert!(!flood.claim("https://m.example/f/new", t0 + Duration::from_secs(1)));
        assert!(flood.claim("https://m.example/f/new", t0 + READ_AGAIN_AFTER));
    }

    #[test]
    fn only_collections_announcing_more_are_read() {
        let u = urls();
        let replies = |total: i64| json!({ "replies": { "id": "https://m.example/n/1/replies", "type": "Collection", "totalItems": total } });
        assert!(collections_to_read(&replies(2), 2, &u).is_empty(), "as many as we hold");
        assert_eq!(
            collections_to_read(&replies(3), 2, &u),
            vec![ToRead {
                url: "https://m.example/n/1/replies".into(),
                more_than: Some(2)
            }]
        );
        // Mastodon's shape: no count, the first page embedded.
        let first = |items: Value, next: Option<&str>| {
            let mut r = json!({ "replies": { "id": "https://m.example/n/1/replies", "type": "Collection",
                "first": { "type": "CollectionPage", "items": items } } });
            if let Some(n) = next {
                r["replies"]["first"]["next"] = json!(n);
            }
            r
        };
        assert!(
            collections_to_read(&first(json!([]), None), 0, &u).is_empty(),
            "empty and last"
        );
        assert_eq!(
            collections_to_read(&first(json!([]), Some("https://m.example/n/1/replies?page=2")), 0, &u).len(),
            1
        );
        assert_eq!(
            collections_to_read(&first(json!(["https://m.example/n/2"]), None), 0, &u).len(),
            1
        );
        // By URL only: read, and its count checked then.
        let by_url = json!({ "replies": "https://m.example/n/1/replies" });
        assert_eq!(collections_to_read(&by_url, 5, &u)[0].more_than, Some(5));
        // A context that is ours is not read; another server's is.
        let ours = json!({ "context": "https://news.example/objects/a1/replies" });
        assert!(collections_to_read(&ours, 0, &u).is_empty());
        let theirs = json!({ "context": "https://m.example/contexts/9", "replies": "https://m.example/contexts/9" });
        assert_eq!(collections_to_read(&theirs, 0, &u).len(), 1, "one URL read once");
        assert!(collections_to_read(&json!({ "context": "javascript:x" }), 0, &u).is_empty());
        assert!(collections_to_read(&json!({ "content": "hi" }), 0, &u).is_empty());
    }

    #[test]
    fn only_replies_to_our_articles_by_their_own_host_are_taken() {
        let u = urls();
        let note = json!({
            "id": "https://m.example/notes/1", "type": "Note",
            "attributedTo": "https://m.example/users/a", "inReplyTo": "https://news.example/objects/a1",
        });
        assert_eq!(reply_to_us(&note, &u), Ok("https://m.example/users/a".into()));
        let mut by_page = note.clone();
        by_page["inReplyTo"] = json!("https://news.example/articles/a-title");
        assert!(reply_to_us(&by_page, &u).is_ok());
        let mut elsewhere = note.clone();
        elsewhere["inReplyTo"] = json!("https://m.example/notes/0");
        assert_eq!(reply_to_us(&elsewhere, &u), Err(Skip::NotReplyingToUs));
        let mut other_host = note.clone();
        other_host["attributedTo"] = json!("https://evil.example/users/a");
        assert_eq!(reply_to_us(&other_host, &u), Err(Skip::AttributedElsewhere));
        let mut other_port = note.clone();
        other_port["attributedTo"] = json!("https://m.example:8443/users/a");
        assert_eq!(reply_to_us(&other_port, &u), Err(Skip::AttributedElsewhere));
        let mut nobody = note.clone();
        nobody.as_object_mut().unwrap().remove("attributedTo");
        assert_eq!(reply_to_us(&nobody, &u), Err(Skip::AttributedElsewhere));
        let mut article = note.clone();
        article["type"] = json!("Article");
        assert_eq!(reply_to_us(&article, &u), Err(Skip::NotANote));
        let mut no_id = note.clone();
        no_id.as_object_mut().unwrap().remove("id");
        assert_eq!(reply_to_us(&no_id, &u), Err(Skip::NoId));
    }
}
