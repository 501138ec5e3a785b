//! The inbox of a real `gazette serve`, fed by fake remote servers in this
//! process: each serves actor documents shaped like one fediverse software's
//! and records what Gazette sends to its inboxes, and the tests sign every
//! request themselves (draft-cavage) so each header can be spoiled on
//! purpose. Covers the refusals (unsigned, badly signed, stale, wrong digest,
//! oversized, malformed, mismatched hosts), duplicates, unknown types, the
//! follow → signed `Accept` round trip, likes, boosts, replies and deletions,
//! and the real-world payloads in tests/fixtures/inbox.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use common::fediverse::{self, as2};
use common::remote::{Delivery, FLAVOURS, Flavour, MASTODON, Remote, keys};
use common::{Env, Server, eventually, unique};
use gazette_store::Store;
use rsa::RsaPrivateKey;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(30);
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

// ---------------------------------------------------------------- signed requests

/// A POST to Gazette, signed as a remote actor would sign it; headers and
/// body are plain data so tests can spoil any of them after signing.
#[derive(Debug, Clone)]
struct Post {
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Post {
    /// Signs `body` with `key` under `key_id`, covering `flavour.signed`, dated `date`.
    fn signed(flavour: Flavour, key: &RsaPrivateKey, key_id: &str, url: &str, body: Vec<u8>, date: SystemTime) -> Post {
        let mut post = Post {
            url: url.to_owned(),
            headers: vec![
                ("date".into(), httpdate::fmt_http_date(date)),
                ("digest".into(), fediverse::digest(&body)),
                ("content-type".into(), "application/activity+json".into()),
            ],
            body,
        };
        post.sign(flavour, key, key_id, flavour.signed);
        post
    }

    /// Replaces the `Signature` header with one over `signed` as the headers are now.
    fn sign(&mut self, flavour: Flavour, key: &RsaPrivateKey, key_id: &str, signed: &str) {
        let url = reqwest::Url::parse(&self.url).unwrap();
        let lines: Vec<String> = signed
            .split(' ')
            .map(|h| match h {
                "(request-target)" => format!("(request-target): post {}", url.path()),
                "host" => format!("host: {}", fediverse::host_port(&url)),
                "content-length" => format!("content-length: {}", self.body.len()),
                other => format!("{other}: {}", self.header(other).unwrap_or_default()),
            })
            .collect();
        self.set(
            "signature",
            &format!(
                r#"keyId="{key_id}",algorithm="{}",headers="{signed}",signature="{}""#,
                flavour.algorithm,
                fediverse::sign(key, &lines)
            ),
        );
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(k, _)| k != name);
    }

    async fn send(&self) -> (u16, String) {
        let mut req = common::test_client().post(&self.url).body(self.body.clone());
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }
}

async fn total(url: &str) -> i64 {
    as2(url).await["totalItems"].as_i64().unwrap()
}

/// Checks a request Gazette sent: its `Digest` matches the body and its
/// draft-cavage signature verifies with the key in the signer's actor document.
async fn verify_gazette_signature(d: &Delivery) {
    let header = |name: &str| d.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("digest"), fediverse::digest(&d.raw), "Digest of {}", d.path);
    let signature = header("signature");
    let field = |name: &str| fediverse::signature_field(&signature, name).unwrap();
    let key_id = field("keyId");
    let actor_id = key_id.split('#').next().unwrap();
    assert_eq!(actor_id, d.body["actor"], "signed by the activity's actor");
    let actor = as2(actor_id).await;
    assert_eq!(actor["publicKey"]["id"], key_id);
    let key = fediverse::actor_key(&actor);
    let signed = field("headers");
    assert!(signed.contains("date") && signed.contains("digest"), "{signed}");
    let lines: Vec<String> = signed
        .split(' ')
        .map(|h| match h {
            "(request-target)" => format!("(request-target): post {}", d.path),
            other => format!("{other}: {}", header(other)),
        })
        .collect();
    fediverse::verify(&key, &lines, &field("signature"))
        .unwrap_or_else(|e| panic!("Gazette's signature on {} does not verify: {e}", d.path));
}

// ---------------------------------------------------------------- the instance

/// A demo `gazette serve` and what the tests aim at.
struct Instance {
    server: Server,
    env: Env,
    /// `/users/camille_renard`.
    author: String,
    /// The `/objects/{id}` of one of camille's articles.
    article: String,
}

impl Instance {
    async fn start(env: Env) -> Instance {
        // The fake remote here checks Gazette's deliveries as draft-cavage
        // (`verify_gazette_signature`); RFC 9421 and the double-knock are
        // checked in crates/delivery/tests/worker.rs and tests/interop.rs.
        let env = env
            .federated()
            .with_env("GAZETTE_FEDERATION__SIGNATURE", "draft-cavage");
        let server = env.serve_federated(&["--demo"]);
        let author = server.url("/users/camille_renard");
        let outbox = as2(&format!("{author}/outbox?page=1")).await;
        let article = outbox["orderedItems"][0]["object"]["id"].as_str().unwrap().to_owned();
        assert!(article.starts_with(&server.url("/objects/")), "{article}");
        Instance {
            server,
            env,
            author,
            article,
        }
    }

    fn shared_inbox(&self) -> String {
        self.server.url("/inbox")
    }

    fn host(&self) -> &str {
        self.server.base.trim_start_matches("http://")
    }

    /// `remote`'s actor at `actor` (an id) signs `activity` for `inbox`.
    fn post(&self, remote: &Remote, inbox: &str, activity: &Value) -> Post {
        let actor = activity["actor"].as_str().unwrap();
        Post::signed(
            remote.flavour,
            &keys().0,
            &remote.key_id(actor),
            inbox,
            serde_json::to_vec(activity).unwrap(),
            SystemTime::now(),
        )
    }

    /// Signs and sends `activity` to the shared inbox; the status and body.
    async fn deliver(&self, remote: &Remote, activity: &Value) -> (u16, String) {
        self.post(remote, &self.shared_inbox(), activity).send().await
    }

    /// Like [`Instance::deliver`], and the answer must be 202.
    async fn accepted(&self, remote: &Remote, activity: &Value) {
        let (status, body) = self.deliver(remote, activity).await;
        assert_eq!(status, 202, "{} refused: {body}", activity["type"]);
    }

    async fn counts(&self) -> Counts {
        Counts {
            followers: total(&format!("{}/followers", self.author)).await,
            likes: total(&format!("{}/likes", self.article)).await,
            shares: total(&format!("{}/shares", self.article)).await,
            replies: total(&format!("{}/replies", self.article)).await,
        }
    }

    /// The stored content of a reply, read with the store API.
    async fn reply_html(&self, note_id: &str) -> Option<String> {
        let store = Store::connect(self.env.database_url(), 1).await.unwrap();
        let article_id = self.article.rsplit('/').next().unwrap();
        let comments = store.list_comments(article_id, "visible").await.unwrap();
        comments
            .into_iter()
            .find(|(c, _)| c.id == note_id)
            .map(|(c, _)| c.content_html)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Counts {
    followers: i64,
    likes: i64,
    shares: i64,
    replies: i64,
}

/// A bare activity from `actor` with a fresh id on the actor's server.
fn activity(remote: &Remote, actor: &str, kind: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{}", remote.base, unique()),
        "type": kind,
        "actor": actor,
        "object": object,
    })
}

// ---------------------------------------------------------------- refusals

#[tokio::test(flavor = "multi_thread")]
async fn refuses_what_it_cannot_trust() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env).await;
    let remote = Remote::start(MASTODON).await;
    let alice = remote.actor("users/alice");
    let like = activity(&remote, &alice, "Like", json!(gz.article));
    let valid = gz.post(&remote, &gz.shared_inbox(), &like);
    let (key, stranger) = keys();
    let before = gz.counts().await;

    let refused = |post: Post, status: u16, why: &'static str| async move {
        let (got, body) = post.send().await;
        assert_eq!(got, status, "{why}: answered {got} {body}");
    };

    let mut unsigned = valid.clone();
    unsigned.remove("signature");
    refused(unsigned, 401, "no Signature header").await;
    let mut bare = valid.clone();
    bare.headers.retain(|(k, _)| k == "content-type");
    refused(bare, 401, "no signature, date or digest").await;
    let mut garbage = valid.clone();
    garbage.set("signature", "this is not a signature");
    refused(garbage, 401, "a Signature header that does not parse").await;

    let mut wrong_key = valid.clone();
    wrong_key.sign(MASTODON, stranger, &remote.key_id(&alice), MASTODON.signed);
    refused(wrong_key, 401, "signed with a key that is not the actor's").await;

    let mut tampered = valid.clone();
    let mut other = like.clone();
    other["object"] = json!(gz.author);
    tampered.body = serde_json::to_vec(&other).unwrap();
    refused(tampered.clone(), 400, "body changed after signing: Digest mismatch").await;
    let digest = fediverse::digest(&tampered.body);
    tampered.set("digest", &digest);
    refused(tampered, 401, "body and Digest changed after signing").await;

    let hours = |h: u64| Duration::from_secs(h * 3600);
    let body = serde_json::to_vec(&like).unwrap();
    let dated = |date: SystemTime| {
        Post::signed(
            MASTODON,
            key,
            &remote.key_id(&alice),
            &gz.shared_inbox(),
            body.clone(),
            date,
        )
    };
    refused(dated(SystemTime::now() - hours(2)), 401, "Date two hours old").await;
    refused(
        dated(SystemTime::now() - hours(13)),
        401,
        "Date older than Mastodon's 12 hours",
    )
    .await;
    refused(dated(SystemTime::now() + hours(2)), 401, "Date two hours ahead").await;
    let mut undated = valid.clone();
    undated.sign(MASTODON, key, &remote.key_id(&alice), "(request-target) host digest");
    refused(undated, 401, "Date not covered by the signature").await;
    let mut bad_date = valid.clone();
    bad_date.set("date", "yesterday at noon");
    bad_date.sign(MASTODON, key, &remote.key_id(&alice), MASTODON.signed);
    refused(bad_date, 401, "Date that is not an HTTP date").await;

    let mut wrong_digest = valid.clone();
    wrong_digest.set("digest", &fediverse::digest(b"something else"));
    wrong_digest.sign(MASTODON, key, &remote.key_id(&alice), MASTODON.signed);
    refused(wrong_digest, 400, "signed Digest that does not match the body").await;
    let mut no_digest = valid.clone();
    no_digest.remove("digest");
    no_digest.sign(MASTODON, key, &remote.key_id(&alice), "(request-target) host date");
    refused(no_digest, 400, "no Digest").await;

    let mut huge = like.clone();
    huge["content"] = json!("x".repeat(1024 * 1024));
    refused(gz.post(&remote, &gz.shared_inbox(), &huge), 413, "body over 1 MiB").await;
    let malformed = Post::signed(
        MASTODON,
        key,
        &remote.key_id(&alice),
        &gz.shared_inbox(),
        b"{\"type\": \"Like\", \"actor\": ".to_vec(),
        SystemTime::now(),
    );
    refused(malformed, 400, "malformed JSON").await;
    // Well-formed JSON, signed by its actor, but not the shape of its type:
    // refused, and the answer names the property.
    for (kind, object, field) in [("Like", json!(42), "`object`"), ("Move", json!(gz.author), "`target`")] {
        let shapeless = activity(&remote, &alice, kind, object);
        let (got, body) = gz.post(&remote, &gz.shared_inbox(), &shapeless).send().await;
        assert_eq!(got, 400, "a {kind} of the wrong shape: {body}");
        assert!(
            body.contains(kind) && body.contains(field),
            "the refusal names {field}: {body}"
        );
    }
    let mut elsewhere = like.clone();
    elsewhere["id"] = json!(format!("http://elsewhere.example/activities/{}", unique()));
    refused(
        gz.post(&remote, &gz.shared_inbox(), &elsewhere),
        400,
        "activity id on another host than its actor",
    )
    .await;
    let nobody = activity(&remote, &remote.actor("nobody/here"), "Like", json!(gz.article));
    refused(
        gz.post(&remote, &gz.shared_inbox(), &nobody),
        401,
        "actor whose document cannot be fetched",
    )
    .await;

    assert_eq!(gz.counts().await, before, "a refused request changed something");

    // The untouched request still goes through, at either inbox, once.
    refused(valid, 202, "the valid request").await;
    let personal = gz.post(&remote, &format!("{}/inbox", gz.author), &like);
    refused(personal, 202, "the same activity again, at the author's inbox").await;
    assert_eq!(gz.counts().await.likes, before.likes + 1);
}

// ---------------------------------------------------------------- what activities do

both_backends!(follows_interactions_and_deletions, real_world_payloads);

async fn follows_interactions_and_deletions(env: Env) {
    let gz = Instance::start(env).await;
    let remote = Remote::start(MASTODON).await;
    let alice = remote.actor("users/alice");
    let bob = remote.actor("users/bob");
    let followers = format!("{}/followers", gz.author);

    // Follow → 202, a follower, and a signed Accept at the follower's own inbox.
    let follow = activity(&remote, &alice, "Follow", json!(gz.author));
    let (status, body) = gz.post(&remote, &format!("{}/inbox", gz.author), &follow).send().await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(total(&followers).await, 1);
    let accept = remote
        .wait_for_accept("/users/alice/inbox", follow["id"].as_str().unwrap())
        .await;
    assert_eq!(accept.body["actor"], gz.author);
    assert_eq!(accept.body["object"]["actor"], alice);
    assert_eq!(accept.body["object"]["object"], gz.author);
    verify_gazette_signature(&accept).await;

    // The same activity again is acknowledged and ignored.
    gz.accepted(&remote, &follow).await;
    assert_eq!(total(&followers).await, 1);
    // A second follower; once its Accept is in, alice still has only one.
    let follow_bob = activity(&remote, &bob, "Follow", json!(gz.author));
    gz.accepted(&remote, &follow_bob).await;
    remote
        .wait_for_accept("/users/bob/inbox", follow_bob["id"].as_str().unwrap())
        .await;
    assert_eq!(total(&followers).await, 2);
    let accepts_for_alice = remote
        .received()
        .iter()
        .filter(|d| d.body["type"] == "Accept" && d.body["object"]["actor"] == alice)
        .count();
    assert_eq!(accepts_for_alice, 1);

    // Likes and boosts count once per actor and are undone only by their author.
    let like = activity(&remote, &alice, "Like", json!(gz.article));
    gz.accepted(&remote, &like).await;
    let like_bob = activity(&remote, &bob, "Like", json!(gz.article));
    gz.accepted(&remote, &like_bob).await;
    gz.accepted(&remote, &activity(&remote, &alice, "Like", json!(gz.article)))
        .await;
    let boost = activity(&remote, &alice, "Announce", json!(gz.article));
    gz.accepted(&remote, &boost).await;
    let c = gz.counts().await;
    assert_eq!((c.likes, c.shares), (2, 1));
    gz.accepted(&remote, &activity(&remote, &alice, "Undo", like.clone()))
        .await;
    gz.accepted(&remote, &activity(&remote, &alice, "Undo", like_bob["id"].clone()))
        .await;
    gz.accepted(&remote, &activity(&remote, &alice, "Undo", boost.clone()))
        .await;
    let c = gz.counts().await;
    assert_eq!((c.likes, c.shares), (1, 0), "only bob's like is left");

    // A reply; edited by its author only; deleted by its author only.
    let note_id = format!("{alice}/statuses/{}", unique());
    let note = |content: &str| {
        json!({
            "id": note_id, "type": "Note", "attributedTo": alice, "inReplyTo": gz.article,
            "content": content, "contentMap": { "en": content }, "to": [PUBLIC],
            "published": "2025-11-18T10:00:00Z",
        })
    };
    gz.accepted(&remote, &activity(&remote, &alice, "Create", note("<p>First!</p>")))
        .await;
    assert_eq!(gz.counts().await.replies, 1);
    gz.accepted(&remote, &activity(&remote, &alice, "Update", note("<p>Edited</p>")))
        .await;
    assert_eq!(gz.reply_html(&note_id).await.unwrap(), "<p>Edited</p>");
    let mut hijack = note("<p>Hijacked</p>");
    hijack.as_object_mut().unwrap().remove("attributedTo");
    let (status, body) = gz
        .deliver(&remote, &activity(&remote, &bob, "Update", hijack.clone()))
        .await;
    assert!(
        (400..500).contains(&status),
        "bob edited alice's reply: {status} {body}"
    );
    hijack["attributedTo"] = json!(alice);
    let (status, body) = gz.deliver(&remote, &activity(&remote, &bob, "Create", hijack)).await;
    assert_eq!(status, 400, "a note attributed to someone else: {body}");
    assert_eq!(gz.reply_html(&note_id).await.unwrap(), "<p>Edited</p>");
    let tombstone = json!({ "id": note_id, "type": "Tombstone", "atomUri": note_id });
    gz.accepted(&remote, &activity(&remote, &bob, "Delete", tombstone.clone()))
        .await;
    assert_eq!(gz.counts().await.replies, 1, "bob cannot delete alice's reply");
    gz.accepted(&remote, &activity(&remote, &alice, "Delete", tombstone))
        .await;
    assert_eq!(gz.counts().await.replies, 0);

    // A type we do not handle (Misskey's and Pleroma's reactions) is accepted.
    let mut react = activity(&remote, &bob, "EmojiReact", json!(gz.article));
    react["content"] = json!("🔥");
    gz.accepted(&remote, &react).await;

    // alice is deleted: her follow and her like go with her.
    gz.accepted(&remote, &activity(&remote, &alice, "Like", json!(gz.article)))
        .await;
    assert_eq!(gz.counts().await.likes, 2);
    remote.set_gone("users/alice");
    let mut delete = activity(&remote, &alice, "Delete", json!(alice));
    delete["to"] = json!([PUBLIC]);
    gz.accepted(&remote, &delete).await;
    let c = gz.counts().await;
    assert_eq!((c.followers, c.likes), (1, 1), "bob's follow and like remain");
    // Her server now answers 410 for her: anything more from her is refused, not failed.
    let (status, body) = gz
        .deliver(&remote, &activity(&remote, &alice, "Like", json!(gz.article)))
        .await;
    assert!((400..500).contains(&status), "after deletion: {status} {body}");
}

// ---------------------------------------------------------------- hostile content

/// A hostile server's `javascript:` links (the actor's `url` and `icon`, a
/// reply's `url`, a followed account's article `url` and `image`, a `Flag`'s
/// object) are not stored, so no page links to them; and under the
/// `moderated` comment policy an approved reply edited by its author waits
/// for a moderator again instead of showing the new text.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_links_are_dropped_and_edited_replies_are_moderated() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env.with_env("GAZETTE_FEDERATION__COMMENT_POLICY", "moderated")).await;
    let store = Store::connect(gz.env.database_url(), 1).await.unwrap();
    let remote = Remote::start(MASTODON).await;
    let evil = "javascript:alert(document.domain)//";
    remote.set_field("users/mallory", "url", json!(evil));
    remote.set_field(
        "users/mallory",
        "icon",
        json!({ "type": "Image", "url": "JavaScript:alert(1)" }),
    );
    let mallory = remote.actor("users/mallory");

    // A reply with a javascript: url, held for moderation, then approved.
    let note_id = format!("{mallory}/statuses/{}", unique());
    let note = |content: &str| {
        json!({
            "id": note_id, "type": "Note", "attributedTo": mallory, "inReplyTo": gz.article,
            "content": content, "url": " javascript:alert(2)", "to": [PUBLIC],
        })
    };
    gz.accepted(
        &remote,
        &activity(&remote, &mallory, "Create", note("<p>Kind words</p>")),
    )
    .await;
    let actor = store.find_remote_actor(&mallory).await.unwrap().unwrap();
    assert_eq!((actor.url, actor.icon), (None, None), "the actor's javascript: links");
    let held = store.list_comments_by_status("pending", 10, 0).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].comment.url, None, "the reply's javascript: url");
    // The article's page, cached while the reply waits, shows it once
    // approved (here by another connection, as another process would).
    let slug = store
        .list_articles(&gazette_store::ArticleQuery::published(1, 0))
        .await
        .unwrap()
        .articles
        .remove(0)
        .slug;
    let article_page = gz.server.url(&format!("/articles/{slug}"));
    let page_text = || async {
        let resp = common::http_get(&article_page).await.unwrap();
        resp.text().await.unwrap()
    };
    for _ in 0..2 {
        assert!(
            !page_text().await.contains("Kind words"),
            "a reply shown before approval"
        );
    }
    store.set_comment_status(&note_id, "visible").await.unwrap();
    assert_eq!(gz.reply_html(&note_id).await.as_deref(), Some("<p>Kind words</p>"));
    common::eventually(
        "the approved reply on the cached page",
        Duration::from_secs(10),
        || async { page_text().await.contains("Kind words").then_some(()) },
    )
    .await;

    // Its author edits it: the new text waits for a moderator.
    gz.accepted(
        &remote,
        &activity(&remote, &mallory, "Update", note("<p>Buy pills</p>")),
    )
    .await;
    assert_eq!(
        gz.reply_html(&note_id).await,
        None,
        "the edit is not shown before approval"
    );
    let held = store.list_comments_by_status("pending", 10, 0).await.unwrap();
    assert_eq!(held[0].comment.content_html, "<p>Buy pills</p>");
    store.set_comment_status(&note_id, "visible").await.unwrap();

    // A followed account's article with javascript: links.
    store
        .add_following(&gz.author, &mallory, &gz.server.url("/follows/1"))
        .await
        .unwrap();
    store.accept_following(&mallory, "").await.unwrap();
    let article = json!({
        "id": format!("{mallory}/articles/{}", unique()), "type": "Article", "attributedTo": mallory,
        "name": "Read me", "content": "<p>Text</p>", "url": [evil, { "href": "vbscript:x" }],
        "image": { "type": "Image", "url": "javascript:alert(3)" }, "to": [PUBLIC],
    });
    gz.accepted(&remote, &activity(&remote, &mallory, "Create", article))
        .await;
    let (items, _) = store.list_remote_articles(10, 0).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0].0.url.clone(), items[0].0.image_url.clone()), (None, None));

    // A report naming a javascript: link beside a real object.
    let mut flag = activity(&remote, &mallory, "Flag", json!([evil, gz.article]));
    flag["content"] = json!("spam");
    gz.accepted(&remote, &flag).await;
    let reports = store.list_reports(false).await.unwrap();
    assert_eq!(reports[0].targets, vec![gz.article.clone()]);
    let only_evil = activity(&remote, &mallory, "Flag", json!([evil]));
    let (status, body) = gz.deliver(&remote, &only_evil).await;
    assert_eq!(status, 400, "a report of nothing we can link to: {body}");

    // And no page links to them.
    for path in [format!("/articles/{slug}"), "/network".into(), "/network.atom".into()] {
        let page = common::http_get(gz.server.url(&path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("mallory") || page.contains("Read me"), "{path}:\n{page}");
        assert!(!page.to_ascii_lowercase().contains("javascript:"), "{path}:\n{page}");
    }
}

// ---------------------------------------------------------------- real-world payloads

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/inbox")
}

/// What an activity must do here, per docs/FEDERATION.md ("Activities we accept").
fn expected_change(activity: &Value, gz: &Instance) -> Counts {
    let object = &activity["object"];
    let is = |v: &Value, id: &str| v == id || v["id"] == id;
    let mut c = Counts::default();
    match activity["type"].as_str().unwrap() {
        "Follow" if is(object, &gz.author) => c.followers = 1,
        "Undo" if object["type"] == "Follow" && is(&object["object"], &gz.author) => c.followers = -1,
        "Like" if is(object, &gz.article) => c.likes = 1,
        "Announce" if is(object, &gz.article) => c.shares = 1,
        "Create" if object["type"] == "Note" && is(&object["inReplyTo"], &gz.article) => c.replies = 1,
        _ => {}
    }
    c
}

/// Every file in tests/fixtures/inbox, named `{software}-{what}.json`, is
/// filled in, signed the way that software signs, and delivered; each must
/// be accepted and have its documented effect, in file-name order.
async fn real_world_payloads(env: Env) {
    let gz = Instance::start(env).await;
    let mut remotes = Vec::new();
    for flavour in FLAVOURS {
        remotes.push(Remote::start(*flavour).await);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "fixtures missing: {files:?}");
    let mut softwares = HashSet::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let software = name.split('-').next().unwrap();
        let remote = remotes
            .iter()
            .find(|r| r.flavour.name == software)
            .unwrap_or_else(|| panic!("{name}: no fake server for `{software}`"));
        softwares.insert(software);
        let author_name = gz.author.rsplit('/').next().unwrap();
        let text = std::fs::read_to_string(file)
            .unwrap()
            .replace("{{REMOTE}}", &remote.base)
            .replace("{{REMOTE_HOST}}", remote.base.trim_start_matches("http://"))
            .replace("{{AUTHOR}}", &gz.author)
            .replace("{{AUTHOR_HANDLE}}", &format!("@{author_name}@{}", gz.host()))
            .replace("{{ARTICLE}}", &gz.article)
            .replace("{{N}}", &unique().to_string());
        assert!(!text.contains("{{"), "{name}: unknown placeholder");
        let activity: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let actor = activity["actor"].as_str().unwrap();
        // Follows go to the followed actor's inbox, the rest to the shared one.
        let inbox = if activity["type"] == "Follow" {
            format!("{}/inbox", activity["object"].as_str().unwrap())
        } else {
            gz.shared_inbox()
        };
        let before = gz.counts().await;
        let (status, body) = gz.post(remote, &inbox, &activity).send().await;
        assert_eq!(status, 202, "{name} refused: {body}");
        let change = expected_change(&activity, &gz);
        let after = gz.counts().await;
        let got = Counts {
            followers: after.followers - before.followers,
            likes: after.likes - before.likes,
            shares: after.shares - before.shares,
            replies: after.replies - before.replies,
        };
        assert_eq!(got, change, "{name}: counts changed by {got:?}");
        if activity["type"] == "Follow" {
            // Always the follower's own inbox (GoToSocial has no shared one).
            let own = reqwest::Url::parse(actor).unwrap().path().to_owned() + "/inbox";
            let accept = remote.wait_for_accept(&own, activity["id"].as_str().unwrap()).await;
            verify_gazette_signature(&accept).await;
        }
    }
    for flavour in FLAVOURS {
        assert!(softwares.contains(flavour.name), "no fixture from {}", flavour.name);
    }
}

/// A sender that rotated its key: the first signature with the new key fails
/// against the stored one, Gazette fetches the actor again and accepts it.
/// A signature with the key it no longer publishes is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_is_fetched_again() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env).await;
    let remote = Remote::start(MASTODON).await;
    let alice = remote.actor("users/alice");
    gz.accepted(&remote, &activity(&remote, &alice, "Like", json!(gz.article)))
        .await;
    let before = gz.counts().await;

    let (old, new) = keys();
    remote.rotate_key(new);
    let boost = activity(&remote, &alice, "Announce", json!(gz.article));
    let post = Post::signed(
        remote.flavour,
        new,
        &remote.key_id(&alice),
        &gz.shared_inbox(),
        serde_json::to_vec(&boost).unwrap(),
        SystemTime::now(),
    );
    let (status, body) = post.send().await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(gz.counts().await.shares, before.shares + 1);

    // The old key no longer verifies.
    let again = activity(&remote, &alice, "Like", json!(gz.article));
    let post = Post::signed(
        remote.flavour,
        old,
        &remote.key_id(&alice),
        &gz.shared_inbox(),
        serde_json::to_vec(&again).unwrap(),
        SystemTime::now(),
    );
    let (status, body) = post.send().await;
    assert_eq!(status, 401, "{body}");
}

/// A coordinator's member articles are not checked against the activity
/// ids already received (the item write is the duplicate check): the same
/// signed `Create` twice, and the same article under a new activity id,
/// leave one item in the shared feed and one boost to the network's
/// followers.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_article_sent_again_is_stored_and_boosted_once() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env.with_env("GAZETTE_NETWORK__ENABLED", "true")).await;
    let network = gz.server.url("/users/network");
    let members = Remote::start(MASTODON).await;
    let org = members.actor("users/coop");
    let readers = Remote::start(MASTODON).await;
    let reader = readers.actor("users/reader");

    // The member, approved (as `gazette network approve` would leave it).
    let store = Store::connect(gz.env.database_url(), 1).await.unwrap();
    let host = members.base.trim_start_matches("http://");
    store
        .request_membership(
            &org,
            host,
            &format!("coop@{host}"),
            &format!("{org}/inbox"),
            &gazette_core::MemberProfile {
                name: "Coop".into(),
                ..Default::default()
            },
            gazette_core::MemberStatus::Approved,
        )
        .await
        .unwrap();
    // A reader follows the network actor.
    let follow = activity(&readers, &reader, "Follow", json!(network));
    gz.accepted(&readers, &follow).await;
    readers
        .wait_for_accept("/users/reader/inbox", follow["id"].as_str().unwrap())
        .await;

    let article = |n: u32| {
        json!({
            "id": format!("{}/articles/{n}", members.base),
            "type": "Article",
            "attributedTo": org,
            "name": format!("Article {n}"),
            "content": "<p>Body</p>",
            "published": "2026-11-20T10:00:00Z",
            "to": [PUBLIC],
        })
    };
    let create = activity(&members, &org, "Create", article(1));
    let post = gz.post(&members, &gz.shared_inbox(), &create);
    for what in ["the Create", "the same signed request again"] {
        let (status, body) = post.send().await;
        assert_eq!(status, 202, "{what}: {body}");
    }
    gz.accepted(&members, &activity(&members, &org, "Create", article(1)))
        .await;
    // A second article; once its boost is in, the first was boosted once.
    gz.accepted(&members, &activity(&members, &org, "Create", article(2)))
        .await;
    let announced = |n: u32| {
        let id = format!("{}/articles/{n}", members.base);
        readers
            .received()
            .into_iter()
            .filter(|d| d.body["type"] == "Announce" && d.body["object"] == id.as_str())
            .count()
    };
    eventually("the boost of the second article", DEADLINE, || async {
        (announced(2) == 1).then_some(())
    })
    .await;
    assert_eq!(announced(1), 1, "{:?}", readers.received());
    let feed: Value = common::test_client()
        .get(gz.server.url("/network/feed.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = feed["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 2, "{feed}");
}

/// Turning manual follower approval on or off in the settings sends every
/// local actor's `Update` to its followers, with the new
/// `manuallyApprovesFollowers`, instead of waiting for their next fetch.
#[tokio::test(flavor = "multi_thread")]
async fn a_follower_approval_change_is_federated() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env).await;
    let remote = Remote::start(MASTODON).await;
    let alice = remote.actor("users/alice");
    let follow = activity(&remote, &alice, "Follow", json!(gz.author));
    gz.accepted(&remote, &follow).await;
    remote
        .wait_for_accept("/users/alice/inbox", follow["id"].as_str().unwrap())
        .await;
    let token = common::last_line(&gz.env.ok(&["token", "create", "settings"])).to_owned();
    let put = |body: Value| {
        common::test_client()
            .put(gz.server.url("/api/settings"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let updates = |approves: bool| {
        remote
            .received()
            .into_iter()
            .filter(|d| {
                d.body["type"] == "Update"
                    && d.body["object"]["id"] == gz.author.as_str()
                    && d.body["object"]["manuallyApprovesFollowers"] == approves
            })
            .count()
    };
    assert_eq!(updates(true), 0);
    let on = put(json!({"set": {"federation.manually_approves_followers": "true"}}))
        .await
        .unwrap();
    assert_eq!(on.status(), 200, "{}", on.text().await.unwrap());
    eventually("an Update saying follows wait for approval", DEADLINE, || async {
        (updates(true) == 1).then_some(())
    })
    .await;
    let off = put(json!({"reset": ["federation.manually_approves_followers"]}))
        .await
        .unwrap();
    assert_eq!(off.status(), 200, "{}", off.text().await.unwrap());
    eventually("an Update saying follows are accepted again", DEADLINE, || async {
        (updates(false) == 1).then_some(())
    })
    .await;
    // Another setting changes nothing the actors say: no Update. Once the
    // Update of a later approval change (queued after it) is in, there is
    // still one with `false`.
    let footer = put(json!({"set": {"theme.footer": "A footer"}})).await.unwrap();
    assert_eq!(footer.status(), 200);
    put(json!({"set": {"federation.manually_approves_followers": "true"}}))
        .await
        .unwrap();
    eventually("the second Update saying follows wait", DEADLINE, || async {
        (updates(true) == 2).then_some(())
    })
    .await;
    assert_eq!(updates(false), 1, "{:?}", remote.received());
}

// ---------------------------------------------------------------- threads (FEP-7888)

/// A reply whose `replies` collection announces more replies to our article
/// than we hold: the two we missed are read from it (one embedded in the
/// page, one given by id and fetched) and stored as replies. A second
/// reply's `context` collection holds only what must not be stored — a
/// note attributed to another host's actor, a note embedded from another
/// host that is not there, a reply to something else — and a legitimate
/// reply on its third page, after which no page is read.
#[tokio::test(flavor = "multi_thread")]
async fn replies_missed_are_read_from_the_thread() {
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    let gz = Instance::start(env).await;
    let remote = Remote::start(MASTODON).await;
    let other = Remote::start(MASTODON).await;
    let base = remote.base.clone();
    let note = |path: &str, by: &str, in_reply_to: &str| {
        json!({
            "id": format!("{base}/{path}"), "type": "Note", "attributedTo": remote.user(by),
            "inReplyTo": in_reply_to, "content": format!("<p>{path}</p>"), "to": [PUBLIC],
        })
    };
    let stored = || async {
        let store = Store::connect(gz.env.database_url(), 1).await.unwrap();
        let article_id = gz.article.rsplit('/').next().unwrap();
        let mut ids: Vec<String> = store
            .list_comments(article_id, "visible")
            .await
            .unwrap()
            .into_iter()
            .map(|(c, _)| c.id.trim_start_matches(&format!("{base}/")).to_owned())
            .collect();
        ids.sort();
        ids
    };

    // alice's reply announces three replies; we hold hers only.
    remote.serve(
        "notes/alice/replies",
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{base}/notes/alice/replies"), "type": "OrderedCollection", "totalItems": 3,
            "first": format!("{base}/notes/alice/replies/page/1"),
        }),
    );
    remote.serve(
        "notes/alice/replies/page/1",
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{base}/notes/alice/replies/page/1"), "type": "OrderedCollectionPage",
            "orderedItems": [note("notes/bob", "bob", &gz.article), format!("{base}/notes/carol")],
        }),
    );
    let mut carol = note("notes/carol", "carol", &gz.article);
    carol["@context"] = json!("https://www.w3.org/ns/activitystreams");
    remote.serve("notes/carol", carol);
    let mut alice = note("notes/alice", "alice", &gz.article);
    alice["replies"] =
        json!({ "id": format!("{base}/notes/alice/replies"), "type": "OrderedCollection", "totalItems": 3 });
    gz.accepted(&remote, &activity(&remote, &remote.user("alice"), "Create", alice))
        .await;
    eventually("the two replies read from alice's thread", DEADLINE, || async {
        (stored().await == ["notes/alice", "notes/bob", "notes/carol"]).then_some(())
    })
    .await;

    // mallory's context: three pages of what must not be stored, then a
    // fourth that is never read.
    let page = |n: u32, items: Value| {
        json!({
            "id": format!("{base}/contexts/m/page/{n}"), "type": "OrderedCollectionPage",
            "orderedItems": items, "next": format!("{base}/contexts/m/page/{}", n + 1),
        })
    };
    let mut elsewhere = note("notes/forged", "dave", &gz.article);
    elsewhere["attributedTo"] = json!(other.user("dave"));
    let mut from_other = note("notes/absent", "dave", &gz.article);
    from_other["id"] = json!(format!("{}/notes/absent", other.base));
    from_other["attributedTo"] = json!(other.user("dave"));
    let aside = note("notes/aside", "erin", &format!("{base}/notes/alice"));
    // The first page embedded in the collection, as Mastodon does.
    remote.serve(
        "contexts/m",
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{base}/contexts/m"), "type": "OrderedCollection",
            "first": page(1, json!([elsewhere, from_other, aside])),
        }),
    );
    remote.serve("contexts/m/page/2", page(2, json!([])));
    remote.serve(
        "contexts/m/page/3",
        page(3, json!([note("notes/frank", "frank", &gz.article)])),
    );
    remote.serve(
        "contexts/m/page/4",
        page(4, json!([note("notes/far", "frank", &gz.article)])),
    );
    let mut mallory = note("notes/mallory", "mallory", &gz.article);
    mallory["context"] = json!(format!("{base}/contexts/m"));
    gz.accepted(&remote, &activity(&remote, &remote.user("mallory"), "Create", mallory))
        .await;
    eventually("frank's reply on the third page", DEADLINE, || async {
        stored().await.contains(&"notes/frank".to_owned()).then_some(())
    })
    .await;
    assert_eq!(
        stored().await,
        [
            "notes/alice",
            "notes/bob",
            "notes/carol",
            "notes/frank",
            "notes/mallory"
        ],
        "nothing forged, from elsewhere or replying elsewhere"
    );
    assert!(
        other.fetched("/notes/absent"),
        "the note embedded from another host is looked up there"
    );
    assert!(!remote.fetched("/contexts/m/page/4"), "three pages at most");
}
