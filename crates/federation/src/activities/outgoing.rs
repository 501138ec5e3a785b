//! Every activity Gazette sends, built in one place from one typed struct
//! ([`Activity`]) by one function per kind. The object documents they carry
//! (articles, actors, notes) are written by [`crate::json`]; the queueing
//! is done by the callers (`outbound`, `interact`, `network`).
//!
//! Two shapes, as Gazette has always sent them: follow bookkeeping
//! (`Follow`, `Accept`, `Reject`, `Undo` of a `Follow`) with the plain AS2
//! context, addressed to the one actor concerned; everything else with the
//! full [`crate::json::context`], a `published` time, `to` and `cc`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::error::FederationError;
use crate::json::{self, AS2, PUBLIC};

/// An activity as sent. `O` is its object: an id, an embedded activity or
/// `Follow`, a `Tombstone`, or a document from [`crate::json`].
#[derive(Debug, Clone, Serialize)]
pub struct Activity<O> {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc: Option<Vec<String>>,
    /// FEP-1b12: the group an activity is made for (the network actor's boosts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    pub object: O,
    /// What an `Accept` produced: the stamp of an accepted quote (FEP-044f).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

impl<O: Serialize> Activity<O> {
    /// An activity with the full context, published now, to `to` and `cc`.
    fn public(kind: &'static str, id: String, actor: &str, object: O, to: Vec<String>, cc: Vec<String>) -> Self {
        Activity {
            context: Some(json::context()),
            id,
            kind,
            actor: actor.to_owned(),
            published: Some(json::time(Utc::now())),
            to,
            cc: Some(cc),
            audience: None,
            object,
            result: None,
        }
    }

    /// The same activity without `@context`, as embedded in another
    /// (an `Undo`) or listed in an outbox.
    pub fn embedded(mut self) -> Self {
        self.context = None;
        self
    }

    /// As listed in an outbox: embedded, `published` when the article was.
    pub fn in_outbox(mut self, published: Option<DateTime<Utc>>) -> Self {
        self.context = None;
        self.published = published.map(json::time);
        self
    }

    /// The JSON queued for delivery.
    pub fn to_value(&self) -> Result<Value, FederationError> {
        serde_json::to_value(self)
            .map_err(|e| FederationError::Internal(format!("cannot write the {} activity {}: {e}", self.kind, self.id)))
    }
}

/// A `Follow` embedded in the `Accept`, `Reject` or `Undo` that names it.
#[derive(Debug, Clone, Serialize)]
pub struct FollowRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Who follows.
    pub actor: String,
    /// Who is followed.
    pub object: String,
}

impl FollowRef {
    /// The follow `id` of `follower` to `followed`.
    pub fn new(id: &str, follower: &str, followed: &str) -> Self {
        FollowRef {
            id: id.to_owned(),
            kind: "Follow",
            actor: follower.to_owned(),
            object: followed.to_owned(),
        }
    }
}

/// A `Tombstone` standing for a deleted object.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub former_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// Follow bookkeeping: the plain AS2 context, to the one actor concerned.
fn to_one<O>(kind: &'static str, id: String, actor: &str, object: O, recipient: &str) -> Activity<O> {
    Activity {
        context: Some(Value::String(AS2.to_owned())),
        id,
        kind,
        actor: actor.to_owned(),
        published: None,
        to: vec![recipient.to_owned()],
        cc: None,
        audience: None,
        object,
        result: None,
    }
}

/// `Follow` `id` of `target` by `actor`.
pub fn follow(id: &str, actor: &str, target: &str) -> Activity<String> {
    to_one("Follow", id.to_owned(), actor, target.to_owned(), target)
}

/// A `Follow` named by its actor and object alone, for one whose id we
/// never knew (follower synchronisation, FEP-8fcf).
#[derive(Debug, Clone, Serialize)]
pub struct UnnamedFollow {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub actor: String,
    pub object: String,
}

/// `Undo` `id` of a follow of `target` by `actor` whose id we never knew.
pub fn undo_unnamed_follow(id: String, actor: &str, target: &str) -> Activity<UnnamedFollow> {
    let follow = UnnamedFollow {
        kind: "Follow",
        actor: actor.to_owned(),
        object: target.to_owned(),
    };
    to_one("Undo", id, actor, follow, target)
}

/// FEP-044f answers, from the quoted article's `author` to the `requester`
/// only, with `context` (AS2 and the quote terms): the `Accept` of the
/// quote `request` whose `result` is the `stamp` URL.
pub fn accept_quote(
    id: String,
    author: &str,
    request: Value,
    stamp: String,
    requester: &str,
    context: Value,
) -> Activity<Value> {
    let mut accept = to_one("Accept", id, author, request, requester);
    accept.context = Some(context);
    accept.result = Some(stamp);
    accept
}

/// The `Reject` of the quote `request` (see [`accept_quote`]).
pub fn reject_quote(id: String, author: &str, request: Value, requester: &str, context: Value) -> Activity<Value> {
    let mut reject = to_one("Reject", id, author, request, requester);
    reject.context = Some(context);
    reject
}

/// The `Delete` of a revoked quote's `stamp` (see [`accept_quote`]).
pub fn delete_quote_stamp(id: String, author: &str, stamp: Value, quoter: &str, context: Value) -> Activity<Value> {
    let mut delete = to_one("Delete", id, author, stamp, quoter);
    delete.context = Some(context);
    delete
}

/// `Undo` of `actor`'s follow `follow_id` of `target`; its id is the follow's with `/undo`.
pub fn undo_follow(follow_id: &str, actor: &str, target: &str) -> Activity<FollowRef> {
    let follow = FollowRef::new(follow_id, actor, target);
    to_one("Undo", format!("{follow_id}/undo"), actor, follow, target)
}

/// `Accept` `id`, by `actor`, of `follower`'s follow `follow_id`.
pub fn accept_follow(id: String, actor: &str, follow_id: &str, follower: &str) -> Activity<FollowRef> {
    to_one(
        "Accept",
        id,
        actor,
        FollowRef::new(follow_id, follower, actor),
        follower,
    )
}

/// `Reject` `id`, by `actor`, of `follower`'s follow `follow_id`.
pub fn reject_follow(id: String, actor: &str, follow_id: &str, follower: &str) -> Activity<FollowRef> {
    to_one(
        "Reject",
        id,
        actor,
        FollowRef::new(follow_id, follower, actor),
        follower,
    )
}

/// `Create` (`updated` false) or `Update` of an article by its author:
/// public, `cc` as given (`article` is its document, without `@context`).
pub fn article(id: String, author: &str, article: Value, updated: bool, cc: Vec<String>) -> Activity<Value> {
    let kind = if updated { "Update" } else { "Create" };
    Activity::public(kind, id, author, article, vec![PUBLIC.to_owned()], cc)
}

/// The `cc` of an object document (who besides the public it is for).
pub fn cc_of(document: &Value) -> Vec<String> {
    document
        .get("cc")
        .and_then(Value::as_array)
        .map(|cc| cc.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `Delete` of an article by its author, to the public and its followers.
pub fn delete_article(id: String, author: &str, object_id: &str, followers: String) -> Activity<Tombstone> {
    let tombstone = Tombstone {
        id: object_id.to_owned(),
        kind: "Tombstone",
        former_type: "Article",
        deleted: Some(json::time(Utc::now())),
    };
    Activity::public(
        "Delete",
        id,
        author,
        tombstone,
        vec![PUBLIC.to_owned()],
        vec![followers],
    )
}

/// `Announce` (a boost) of `object_id` by `actor`, to the public and
/// `cc`: the actor's followers (and the object's author, for a boost of
/// someone else's post).
pub fn announce<O: Serialize>(id: String, actor: &str, object: O, cc: Vec<String>) -> Activity<O> {
    Activity::public("Announce", id, actor, object, vec![PUBLIC.to_owned()], cc)
}

/// The network actor's `Announce` of a member article: an [`announce`]
/// for its group (FEP-1b12 `audience`).
pub fn group_announce<O: Serialize>(id: String, group: &str, object: O, followers: String) -> Activity<O> {
    let mut boost = announce(id, group, object, vec![followers]);
    boost.audience = Some(group.to_owned());
    boost
}

/// `Undo` `id` of `activity` (embedded without its context), addressed as it was.
pub fn undo<O: Serialize>(id: String, actor: &str, activity: Activity<O>) -> Activity<Activity<O>> {
    let (to, cc) = (activity.to.clone(), activity.cc.clone().unwrap_or_default());
    Activity::public("Undo", id, actor, activity.embedded(), to, cc)
}

/// `Update` of a local actor (`document` without `@context`) to the public and its followers.
pub fn update_actor(id: String, actor: &str, document: Value, followers: String) -> Activity<Value> {
    Activity::public("Update", id, actor, document, vec![PUBLIC.to_owned()], vec![followers])
}

/// `Like` of `object_id`, to its author only.
pub fn like(id: String, actor: &str, object_id: &str, object_actor: &str) -> Activity<String> {
    let mut like = Activity::public(
        "Like",
        id,
        actor,
        object_id.to_owned(),
        vec![object_actor.to_owned()],
        Vec::new(),
    );
    like.cc = None;
    like
}

/// `Create` of a reply written here (`note` without `@context`), public,
/// `cc` its author and our followers.
pub fn create_note(id: String, actor: &str, note: Value, cc: Vec<String>) -> Activity<Value> {
    Activity::public("Create", id, actor, note, vec![PUBLIC.to_owned()], cc)
}

/// `Delete` of a reply written here, addressed as it was.
pub fn delete_note(id: String, actor: &str, note_id: &str, cc: Vec<String>) -> Activity<Tombstone> {
    let tombstone = Tombstone {
        id: note_id.to_owned(),
        kind: "Tombstone",
        former_type: "Note",
        deleted: None,
    };
    Activity::public("Delete", id, actor, tombstone, vec![PUBLIC.to_owned()], cc)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ME: &str = "https://news.example/users/org";
    const THEM: &str = "https://social.example/users/alice";

    fn value<O: Serialize>(a: &Activity<O>) -> Value {
        a.to_value().unwrap()
    }

    #[test]
    fn follow_bookkeeping_has_the_plain_context_and_one_recipient() {
        let f = value(&follow("https://news.example/f/1", ME, THEM));
        assert_eq!(
            f,
            json!({ "@context": AS2, "id": "https://news.example/f/1", "type": "Follow", "actor": ME, "object": THEM, "to": [THEM] })
        );
        let undo = value(&undo_follow("https://news.example/f/1", ME, THEM));
        assert_eq!(
            undo,
            json!({
                "@context": AS2, "id": "https://news.example/f/1/undo", "type": "Undo", "actor": ME,
                "to": [THEM],
                "object": { "id": "https://news.example/f/1", "type": "Follow", "actor": ME, "object": THEM },
            })
        );
        let accept = value(&accept_follow(
            "https://news.example/a/1".into(),
            ME,
            "https://social.example/f/9",
            THEM,
        ));
        assert_eq!(
            accept,
            json!({
                "@context": AS2, "id": "https://news.example/a/1", "type": "Accept", "actor": ME, "to": [THEM],
                "object": { "id": "https://social.example/f/9", "type": "Follow", "actor": THEM, "object": ME },
            })
        );
        let reject = value(&reject_follow(
            "https://news.example/r/1".into(),
            ME,
            "https://social.example/f/9",
            THEM,
        ));
        assert_eq!(reject["type"], "Reject");
        assert_eq!(reject["object"], accept["object"]);
    }

    #[test]
    fn quote_answers_and_unnamed_undos_go_to_one_actor() {
        let context = json!([AS2, { "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest" }]);
        let request = json!({ "id": "https://them.example/r/1", "type": "QuoteRequest" });
        let accept = value(&accept_quote(
            "https://news.example/qa/1".into(),
            ME,
            request.clone(),
            "https://news.example/quotes/1".into(),
            THEM,
            context.clone(),
        ));
        assert_eq!(accept["@context"], context);
        assert_eq!(accept["type"], "Accept");
        assert_eq!(accept["result"], "https://news.example/quotes/1");
        assert_eq!(accept["to"], json!([THEM]));
        assert_eq!(accept["object"], request);
        assert!(accept.get("cc").is_none() && accept.get("published").is_none());
        let reject = value(&reject_quote(
            "https://news.example/qr/1".into(),
            ME,
            request,
            THEM,
            context,
        ));
        assert_eq!(reject["type"], "Reject");
        assert!(reject.get("result").is_none());

        let undo = value(&undo_unnamed_follow("https://news.example/u/1".into(), ME, THEM));
        assert_eq!(undo["object"], json!({ "type": "Follow", "actor": ME, "object": THEM }));
        assert_eq!(undo["to"], json!([THEM]));
        assert_eq!(undo["@context"], AS2);
    }

    #[test]
    fn public_activities_have_the_full_context_and_addressing() {
        let followers = format!("{ME}/followers");
        let doc = json!({ "id": "https://news.example/a/x", "type": "Article", "cc": [followers] });
        let create = value(&article(
            "https://news.example/a/x#create-1".into(),
            ME,
            doc.clone(),
            false,
            cc_of(&doc),
        ));
        assert_eq!(create["@context"], json::context());
        assert_eq!(create["type"], "Create");
        assert_eq!(create["to"], json!([PUBLIC]));
        assert_eq!(create["cc"], json!([followers]));
        assert_eq!(create["object"], doc);
        assert!(create["published"].is_string());
        assert!(create.get("audience").is_none());
        assert_eq!(value(&article("u".into(), ME, doc, true, Vec::new()))["type"], "Update");

        let delete = value(&delete_article(
            "https://news.example/a/x#delete-2".into(),
            ME,
            "https://news.example/a/x",
            followers.clone(),
        ));
        assert_eq!(delete["object"]["type"], "Tombstone");
        assert_eq!(delete["object"]["formerType"], "Article");
        assert!(delete["object"]["deleted"].is_string());

        let boost = group_announce(
            "https://news.example/b/1".into(),
            ME,
            "https://m.example/a/1".to_owned(),
            followers.clone(),
        );
        let unboost = value(&undo("https://news.example/b/1/undo".into(), ME, boost));
        assert_eq!(unboost["to"], json!([PUBLIC]));
        assert_eq!(unboost["cc"], json!([followers]));
        assert!(
            unboost["object"].get("@context").is_none(),
            "embedded without its context"
        );
        assert_eq!(unboost["object"]["audience"], ME);
        assert_eq!(unboost["object"]["object"], "https://m.example/a/1");

        let l = value(&like(
            "https://news.example/l/1".into(),
            ME,
            "https://social.example/n/1",
            THEM,
        ));
        assert_eq!(l["to"], json!([THEM]));
        assert!(l.get("cc").is_none(), "a like goes to the author alone");
        let undo_like = value(&undo(
            "https://news.example/l/1/undo".into(),
            ME,
            like(
                "https://news.example/l/1".into(),
                ME,
                "https://social.example/n/1",
                THEM,
            ),
        ));
        assert_eq!(undo_like["cc"], json!([]));

        let gone = value(&delete_note(
            "https://news.example/n/1#delete".into(),
            ME,
            "https://news.example/n/1",
            vec![THEM.into()],
        ));
        assert_eq!(
            gone["object"],
            json!({ "id": "https://news.example/n/1", "type": "Tombstone", "formerType": "Note" })
        );

        let listed = value(
            &announce(
                "https://news.example/a/x#announce".into(),
                ME,
                "https://news.example/a/x",
                vec![followers],
            )
            .in_outbox(None),
        );
        assert!(listed.get("@context").is_none() && listed.get("published").is_none());
    }
}
