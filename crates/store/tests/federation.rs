//! Federation state on SQLite and PostgreSQL: keys, remote actors, followers,
//! activity dedupe, interactions and replies.

#![allow(clippy::unwrap_used)]

use chrono::Utc;
use gazette_core::slug::fold_for_search;
use gazette_core::validate::{self, NoLines};
use gazette_core::*;
use gazette_store::testing::TestDb;
use gazette_store::{Backend, FollowerFilter, Store};

gazette_store::each_backend!(
    keys_are_created_once,
    followers_and_inboxes,
    activities_are_seen_once,
    interactions_and_comments,
    received_likes_written_together,
    moderation_queue_and_who_interacted,
    an_edited_approved_reply_is_moderated_again,
    followers_seeded_in_bulk,
    outbound_interactions_once_and_undone,
    followers_by_server_and_cursor,
    followers_searched_by_name_or_handle,
    followers_searched_through_the_trigram_index,
    instance_settings_override_and_reset,
    one_follower_with_its_follow_activity,
    quotes_answered_listed_and_revoked,
    article_quote_policies_set_and_reset,
    a_quote_policy_change_is_an_edit_followers_hear,
    a_quote_policy_written_with_the_article_adds_no_event,
    ed25519_keys_and_remote_multikeys
);

fn remote(id: &str, host: &str, shared: Option<&str>) -> RemoteActor {
    RemoteActor {
        id: id.into(),
        kind: "Person".into(),
        preferred_username: id.rsplit('/').next().unwrap().into(),
        name: "Someone".into(),
        host: host.into(),
        inbox: format!("{id}/inbox"),
        shared_inbox: shared.map(Into::into),
        url: None,
        icon: None,
        public_key_id: format!("{id}#main-key"),
        public_key_pem: "PEM".into(),
        moved_to: None,
        // Stored with microsecond precision.
        refreshed_at: chrono::DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap(),
    }
}

async fn article(store: &Store) -> Article {
    let a = AuthorInput {
        username: "lea".into(),
        name: "Léa".into(),
        ..Default::default()
    };
    store.create_author(&validate::author(&a).unwrap()).await.unwrap();
    store.create_article(&published_by_lea("a", "T")).await.unwrap()
}

/// A published article by `lea` (created by [`article`]), validated.
fn published_by_lea(slug: &str, title: &str) -> NewArticle {
    let input = ArticleInput {
        slug: Some(slug.into()),
        kind: "news".into(),
        status: Some("published".into()),
        language: "en".into(),
        translations: vec![TranslationInput {
            language: "en".into(),
            title: title.into(),
            summary: "S".into(),
            body: "B".into(),
            ..Default::default()
        }],
        author: "lea".into(),
        ..Default::default()
    };
    validate::article(&input, ArticleStatus::Draft, Utc::now(), &NoLines, &|_| 1).unwrap()
}

async fn keys_are_created_once(store: &Store) {
    assert!(store.find_actor_key("organisation").await.unwrap().is_none());
    let first = store.ensure_actor_key("organisation", "pub1", "priv1").await.unwrap();
    let second = store.ensure_actor_key("organisation", "pub2", "priv2").await.unwrap();
    assert_eq!(first, ("pub1".to_owned(), "priv1".to_owned()));
    assert_eq!(second, first, "the first key stays");
}

/// An actor's Ed25519 key is stored once (the first one stays); a remote
/// key is remembered by id and refreshed.
async fn ed25519_keys_and_remote_multikeys(store: &Store) {
    use gazette_store::{Ed25519Key, RemoteMultikey};
    assert_eq!(store.find_ed25519_key("organisation").await.unwrap(), None);
    let key = |n: &str| Ed25519Key {
        local_key: "organisation".into(),
        generation: 1,
        key_fragment: "ed25519-key".into(),
        private_key_pkcs8: format!("pkcs8-{n}"),
        public_key_multibase: format!("z6Mk{n}"),
    };
    let first = store.ensure_ed25519_key(&key("1")).await.unwrap();
    let second = store.ensure_ed25519_key(&key("2")).await.unwrap();
    assert_eq!(first, key("1"));
    assert_eq!(second, first, "the first key stays");
    assert_eq!(store.find_ed25519_key("organisation").await.unwrap(), Some(first));

    let id = "https://m.example/users/ann#ed25519-key";
    assert_eq!(store.find_remote_multikey(id).await.unwrap(), None);
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut remote = RemoteMultikey {
        id: id.into(),
        controller: "https://m.example/users/ann".into(),
        public_key_multibase: "z6MkA".into(),
        fetched_at: at,
    };
    store.save_remote_multikey(&remote).await.unwrap();
    remote.public_key_multibase = "z6MkB".into();
    remote.fetched_at = at + chrono::Duration::hours(1);
    store.save_remote_multikey(&remote).await.unwrap();
    assert_eq!(store.find_remote_multikey(id).await.unwrap(), Some(remote));
}

/// A follow read back alone keeps the id of its `Follow` (the `Accept` or
/// `Reject` sent later names it) and its status; a follow sent again keeps
/// an acceptance.
async fn one_follower_with_its_follow_activity(store: &Store) {
    let network = "https://here.example/users/network";
    let org = remote("https://m.example/users/org", "m.example", None);
    store.upsert_remote_actor(&org).await.unwrap();
    assert_eq!(store.find_follower(network, &org.id).await.unwrap(), None);
    store
        .add_follower(network, &org.id, "https://m.example/f/1", FollowStatus::Pending)
        .await
        .unwrap();
    let f = store.find_follower(network, &org.id).await.unwrap().unwrap();
    assert_eq!(
        (f.actor, f.status, f.follow_id.as_str()),
        (org.clone(), FollowStatus::Pending, "https://m.example/f/1")
    );
    assert_eq!(
        store
            .find_follower("https://here.example/users/demo", &org.id)
            .await
            .unwrap(),
        None,
        "another local actor's follower"
    );
    store
        .set_follower_status(network, &org.id, FollowStatus::Accepted)
        .await
        .unwrap();
    store
        .add_follower(network, &org.id, "https://m.example/f/2", FollowStatus::Pending)
        .await
        .unwrap();
    let f = store.find_follower(network, &org.id).await.unwrap().unwrap();
    assert_eq!(
        (f.status, f.follow_id.as_str()),
        (FollowStatus::Accepted, "https://m.example/f/2")
    );
    assert!(store.remove_follower(network, &org.id).await.unwrap());
    assert_eq!(store.find_follower(network, &org.id).await.unwrap(), None);
}

async fn followers_and_inboxes(store: &Store) {
    let org = "https://here.example/users/demo".to_owned();
    let author = "https://here.example/users/lea".to_owned();
    let a = remote(
        "https://m.example/users/a",
        "m.example",
        Some("https://m.example/inbox"),
    );
    let b = remote(
        "https://m.example/users/b",
        "m.example",
        Some("https://m.example/inbox"),
    );
    let c = remote("https://gts.example/users/c", "gts.example", None);
    for r in [&a, &b, &c] {
        store.upsert_remote_actor(r).await.unwrap();
    }
    assert_eq!(store.find_remote_actor(&a.id).await.unwrap().as_ref(), Some(&a));
    assert!(
        store
            .add_follower(&org, &a.id, "f1", FollowStatus::Accepted)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_follower(&org, &a.id, "f1b", FollowStatus::Pending)
            .await
            .unwrap(),
        "a repeated follow is not new"
    );
    store
        .add_follower(&author, &b.id, "f2", FollowStatus::Accepted)
        .await
        .unwrap();
    store
        .add_follower(&org, &c.id, "f3", FollowStatus::Accepted)
        .await
        .unwrap();
    let inboxes = store.follower_inboxes(&[org.clone(), author.clone()]).await.unwrap();
    assert_eq!(
        inboxes,
        vec!["https://gts.example/users/c/inbox", "https://m.example/inbox"],
        "one per shared inbox"
    );
    assert_eq!(store.count_followers(&org).await.unwrap(), 2);
    let listed = store.list_followers(&org, FollowStatus::Accepted, 10, 0).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed.iter().find(|f| f.actor.id == a.id).unwrap().status,
        FollowStatus::Accepted,
        "accepted stays accepted"
    );

    let d = remote("https://p.example/users/d", "p.example", None);
    store.upsert_remote_actor(&d).await.unwrap();
    store
        .add_follower(&author, &d.id, "f4", FollowStatus::Pending)
        .await
        .unwrap();
    assert_eq!(
        store.count_followers(&author).await.unwrap(),
        1,
        "pending followers are not counted"
    );
    store
        .set_follower_status(&author, &d.id, FollowStatus::Accepted)
        .await
        .unwrap();
    assert_eq!(store.count_followers(&author).await.unwrap(), 2);

    let moved = remote("https://new.example/users/a2", "new.example", None);
    store.upsert_remote_actor(&moved).await.unwrap();
    store.move_follower(&a.id, &moved.id).await.unwrap();
    let listed = store.list_followers(&org, FollowStatus::Accepted, 10, 0).await.unwrap();
    assert!(listed.iter().any(|f| f.actor.id == moved.id) && !listed.iter().any(|f| f.actor.id == a.id));

    assert!(store.remove_follower(&org, &c.id).await.unwrap());
    assert!(!store.remove_follower(&org, &c.id).await.unwrap());
    assert!(store.delete_remote_actor(&b.id).await.unwrap());
    assert_eq!(
        store.count_followers(&author).await.unwrap(),
        1,
        "deleting an actor removes its follows"
    );
}

async fn activities_are_seen_once(store: &Store) {
    assert!(
        store
            .mark_activity_received("https://m.example/activities/1")
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_activity_received("https://m.example/activities/1")
            .await
            .unwrap()
    );
    // Forgotten after a failure of ours, it is new again.
    store
        .forget_activity_received("https://m.example/activities/1")
        .await
        .unwrap();
    assert!(
        store
            .mark_activity_received("https://m.example/activities/1")
            .await
            .unwrap()
    );
}

async fn interactions_and_comments(store: &Store) {
    let art = article(store).await;
    let a = remote("https://m.example/users/a", "m.example", None);
    let b = remote("https://m.example/users/b", "m.example", None);
    store.upsert_remote_actor(&a).await.unwrap();
    store.upsert_remote_actor(&b).await.unwrap();
    assert!(store.add_interaction("l1", "like", &art.id, &a.id).await.unwrap());
    assert!(
        !store.add_interaction("l1-again", "like", &art.id, &a.id).await.unwrap(),
        "one like per actor"
    );
    store.add_interaction("s1", "announce", &art.id, &b.id).await.unwrap();
    let c = Comment {
        id: "https://m.example/notes/1".into(),
        article_id: art.id.clone(),
        actor: a.id.clone(),
        url: None,
        content_html: "<p>Nice</p>".into(),
        language: Some("en".into()),
        status: "visible".into(),
        published_at: Utc::now(),
        updated_at: Utc::now(),
    };
    assert!(!store.comment_exists(&c.id).await.unwrap());
    assert_eq!(store.count_comments_of_article(&art.id).await.unwrap(), 0);
    store.upsert_comment(&c).await.unwrap();
    assert!(store.comment_exists(&c.id).await.unwrap());
    assert_eq!(store.count_comments_of_article(&art.id).await.unwrap(), 1);
    assert_eq!(
        store.interaction_counts(&art.id).await.unwrap(),
        gazette_store::InteractionCounts {
            likes: 1,
            shares: 1,
            replies: 1
        }
    );
    // Someone else may not edit or delete the reply.
    let forged = Comment {
        actor: b.id.clone(),
        content_html: "<p>forged</p>".into(),
        ..c.clone()
    };
    assert!(store.upsert_comment(&forged).await.is_err());
    assert!(!store.delete_comment(&c.id, &b.id).await.unwrap());
    let edited = Comment {
        content_html: "<p>Nice, edited</p>".into(),
        ..c.clone()
    };
    store.upsert_comment(&edited).await.unwrap();
    let listed = store.list_comments(&art.id, "visible").await.unwrap();
    assert_eq!(listed[0].0.content_html, "<p>Nice, edited</p>");
    assert_eq!(listed[0].1.id, a.id);
    assert!(
        !store.remove_interaction("l1", &b.id).await.unwrap(),
        "only the liker can undo"
    );
    assert!(store.remove_interaction("l1", &a.id).await.unwrap());
    store.set_comment_status(&c.id, "hidden").await.unwrap();
    assert_eq!(
        store.interaction_counts(&art.id).await.unwrap(),
        gazette_store::InteractionCounts {
            likes: 0,
            shares: 1,
            replies: 0
        }
    );
    assert!(store.delete_comment(&c.id, &a.id).await.unwrap());
}

/// An approved reply edited by its author goes back to the queue when the
/// policy holds replies (the inbox passes `pending`), not when it shows
/// them (`visible`) or when nothing changed; a hidden one stays hidden.
/// Likes arriving at once share statements on SQLite (one each on
/// PostgreSQL): each caller still learns whether its own was counted, and
/// one that cannot be written (its actor is not stored) fails alone.
async fn received_likes_written_together(store: &Store) {
    let art = article(store).await;
    let a = remote("https://m.example/users/a", "m.example", None);
    let b = remote("https://m.example/users/b", "m.example", None);
    store.upsert_remote_actor(&a).await.unwrap();
    store.upsert_remote_actor(&b).await.unwrap();
    let like = |id: String, by: &str, article_id: Option<&str>, slug: Option<&str>| {
        let (store, by) = (store.clone(), by.to_owned());
        let (article_id, slug) = (article_id.map(str::to_owned), slug.map(str::to_owned));
        tokio::spawn(async move {
            store
                .add_interaction_if_public(&id, "like", article_id.as_deref(), slug.as_deref(), &by)
                .await
        })
    };
    let mut by_a = Vec::new();
    for n in 0..40 {
        by_a.push(like(format!("https://m.example/likes/a{n}"), &a.id, None, Some("a")));
    }
    let by_b = like("https://m.example/likes/b".into(), &b.id, Some(&art.id), None);
    let unknown = like(
        "https://m.example/likes/ghost".into(),
        "https://m.example/users/ghost",
        Some(&art.id),
        None,
    );
    let nowhere = like("https://m.example/likes/n".into(), &b.id, None, Some("no-such-slug"));
    let mut counted = 0;
    for task in by_a {
        counted += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(counted, 1, "one like per actor, whichever came first");
    assert!(by_b.await.unwrap().unwrap(), "liked by id");
    assert!(unknown.await.unwrap().is_err(), "an actor that is not stored");
    assert!(!nowhere.await.unwrap().unwrap(), "not one of our articles");
    assert!(
        !store
            .add_interaction_if_public("https://m.example/likes/b", "like", Some(&art.id), None, &b.id)
            .await
            .unwrap(),
        "the same activity again"
    );
    assert_eq!(store.interaction_counts(&art.id).await.unwrap().likes, 2);
    // Answered after a flush of the log; the writing connection waits for
    // the disk again once the statements are done.
    if let Some((flushes, synchronous)) = gazette_store::testing::wal_flush_state(store).await.unwrap() {
        assert!(flushes >= 1, "the likes were flushed before they were answered");
        assert_eq!(synchronous, 2, "the writer is left at synchronous = FULL");
    }
    store.set_article_status(&art.id, ArticleStatus::Draft).await.unwrap();
    let c = remote("https://m.example/users/c", "m.example", None);
    store.upsert_remote_actor(&c).await.unwrap();
    assert!(
        !store
            .add_interaction_if_public("https://m.example/likes/c", "like", Some(&art.id), None, &c.id)
            .await
            .unwrap(),
        "not public any more"
    );
}

async fn an_edited_approved_reply_is_moderated_again(store: &Store) {
    let art = article(store).await;
    let a = remote("https://m.example/users/a", "m.example", None);
    store.upsert_remote_actor(&a).await.unwrap();
    let held = Comment {
        id: "https://m.example/notes/9".into(),
        article_id: art.id.clone(),
        actor: a.id.clone(),
        url: Some("https://m.example/@a/9".into()),
        content_html: "<p>Fine words</p>".into(),
        language: None,
        status: "pending".into(),
        published_at: Utc::now(),
        updated_at: Utc::now(),
    };
    let status = |store: &Store| {
        let store = store.clone();
        async move {
            let mut found = None;
            for s in ["visible", "pending", "hidden"] {
                if store
                    .list_comments_by_status(s, 10, 0)
                    .await
                    .unwrap()
                    .iter()
                    .any(|m| m.comment.id == "https://m.example/notes/9")
                {
                    found = Some(s);
                }
            }
            found.unwrap()
        }
    };
    store.upsert_comment(&held).await.unwrap();
    store.set_comment_status(&held.id, "visible").await.unwrap();
    // The same text sent again (a duplicate Update) leaves it approved.
    store.upsert_comment(&held).await.unwrap();
    assert_eq!(status(store).await, "visible");
    let spam = Comment {
        content_html: "<p>Buy <a href=\"https://spam.example\">pills</a></p>".into(),
        ..held.clone()
    };
    store.upsert_comment(&spam).await.unwrap();
    assert_eq!(status(store).await, "pending", "the edit waits for a moderator");
    assert!(store.list_comments(&art.id, "visible").await.unwrap().is_empty());
    // Under an open policy an edit stays visible.
    store.set_comment_status(&held.id, "visible").await.unwrap();
    let open_edit = Comment {
        content_html: "<p>Edited openly</p>".into(),
        status: "visible".into(),
        ..held.clone()
    };
    store.upsert_comment(&open_edit).await.unwrap();
    assert_eq!(status(store).await, "visible");
    // A rejected reply is not brought back by an edit.
    store.set_comment_status(&held.id, "hidden").await.unwrap();
    store.upsert_comment(&spam).await.unwrap();
    assert_eq!(status(store).await, "hidden");
}

async fn moderation_queue_and_who_interacted(store: &Store) {
    let art = article(store).await;
    let a = remote("https://m.example/users/a", "m.example", None);
    let b = remote(
        "https://n.example/users/b",
        "n.example",
        Some("https://n.example/inbox"),
    );
    store.upsert_remote_actor(&a).await.unwrap();
    store.upsert_remote_actor(&b).await.unwrap();
    store.add_interaction("l-a", "like", &art.id, &a.id).await.unwrap();
    store.add_interaction("l-b", "like", &art.id, &b.id).await.unwrap();
    store.add_interaction("s-b", "announce", &art.id, &b.id).await.unwrap();
    let likers: Vec<String> = store
        .list_interactions(&art.id, "like", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(actor, _)| actor.id)
        .collect();
    assert_eq!(likers.len(), 2);
    assert!(likers.contains(&a.id) && likers.contains(&b.id));
    assert_eq!(store.list_interactions(&art.id, "like", 1).await.unwrap().len(), 1);
    let boosters = store.list_interactions(&art.id, "announce", 10).await.unwrap();
    assert_eq!(boosters.len(), 1);
    assert_eq!(boosters[0].0.id, b.id);

    let t0 = Utc::now();
    for (i, (actor, status)) in [(&a, "pending"), (&b, "pending"), (&a, "visible")]
        .into_iter()
        .enumerate()
    {
        store
            .upsert_comment(&Comment {
                id: format!("https://{}/notes/{i}", actor.host),
                article_id: art.id.clone(),
                actor: actor.id.clone(),
                url: None,
                content_html: format!("<p>reply {i}</p>"),
                language: None,
                status: status.into(),
                published_at: t0 + chrono::Duration::seconds(i as i64),
                updated_at: t0,
            })
            .await
            .unwrap();
    }
    assert_eq!(store.count_comments_by_status("pending").await.unwrap(), 2);
    let queue = store.list_comments_by_status("pending", 10, 0).await.unwrap();
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[0].comment.content_html, "<p>reply 1</p>", "newest first");
    assert_eq!(queue[0].actor.id, b.id);
    assert_eq!(queue[0].article_slug, art.slug);
    assert_eq!(queue[0].article_title, art.translation(None).title);
    assert_eq!(
        store.list_comments_by_status("pending", 1, 1).await.unwrap()[0]
            .actor
            .id,
        a.id
    );

    // Approving moves a reply from the queue to the article's visible replies.
    let first = queue[1].comment.id.clone();
    store.set_comment_status(&first, "visible").await.unwrap();
    assert_eq!(store.count_comments_by_status("pending").await.unwrap(), 1);
    assert_eq!(store.list_comments(&art.id, "visible").await.unwrap().len(), 2);
    store.set_comment_status(&first, "hidden").await.unwrap();
    assert_eq!(
        store.list_comments_by_status("hidden", 10, 0).await.unwrap()[0]
            .comment
            .id,
        first
    );
    // A status that does not exist is refused and changes nothing.
    let err = store.set_comment_status(&first, "deleted").await.unwrap_err();
    assert!(
        matches!(err, gazette_store::StoreError::Invalid { field: "status", .. }),
        "{err}"
    );
    assert_eq!(store.count_comments_by_status("hidden").await.unwrap(), 1);
    assert!(matches!(
        store
            .set_comment_status("https://nowhere/1", "visible")
            .await
            .unwrap_err(),
        gazette_store::StoreError::NotFound { .. }
    ));
}

async fn followers_seeded_in_bulk(store: &Store) {
    let local = "https://gz.example/users/org";
    let actors: Vec<RemoteActor> = (0..1201)
        .map(|i| {
            remote(
                &format!("https://h{}.example/users/u{i}", i % 7),
                &format!("h{}.example", i % 7),
                None,
            )
        })
        .collect();
    gazette_store::testing::seed_followers(store, local, &actors, FollowStatus::Accepted)
        .await
        .unwrap();
    gazette_store::testing::seed_followers(store, local, &actors[..3], FollowStatus::Pending)
        .await
        .unwrap();
    assert_eq!(
        store
            .count_followers_with_status(local, FollowStatus::Accepted)
            .await
            .unwrap(),
        1201,
        "three batches, and a second seeding changes nothing stored"
    );
    assert_eq!(
        store
            .count_followers_with_status(local, FollowStatus::Pending)
            .await
            .unwrap(),
        0
    );
    let page = store
        .list_followers(local, FollowStatus::Accepted, 50, 1200)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(store.follower_inboxes(&[local.to_owned()]).await.unwrap().len(), 1201);
}

/// Followers per server stay right through every way follows change (the
/// triggers of migration 12), and cursor pages cover every follower once.
async fn followers_by_server_and_cursor(store: &Store) {
    let local = "https://here.example/users/org";
    let other_local = "https://here.example/users/lea";
    let mut ids = Vec::new();
    for i in 0..7 {
        let host = if i < 5 { "a.example" } else { "b.example" };
        let id = format!("https://{host}/users/u{i}");
        store.upsert_remote_actor(&remote(&id, host, None)).await.unwrap();
        let status = if i == 6 {
            FollowStatus::Pending
        } else {
            FollowStatus::Accepted
        };
        store
            .add_follower(local, &id, &format!("{id}/f"), status)
            .await
            .unwrap();
        ids.push(id);
    }
    store
        .add_follower(other_local, &ids[0], "https://a.example/f2", FollowStatus::Accepted)
        .await
        .unwrap();
    let hosts = |status| async move { store.follower_hosts(local, status, 10).await.unwrap() };
    assert_eq!(
        hosts(FollowStatus::Accepted).await,
        [("a.example".to_owned(), 5), ("b.example".to_owned(), 1)]
    );
    assert_eq!(hosts(FollowStatus::Pending).await, [("b.example".to_owned(), 1)]);
    assert_eq!(
        store.count_follower_hosts(local, FollowStatus::Accepted).await.unwrap(),
        2
    );
    // Approving moves the count; removing and a deleted account lower it.
    store
        .set_follower_status(local, &ids[6], FollowStatus::Accepted)
        .await
        .unwrap();
    assert_eq!(
        store
            .count_followers_on_host(local, FollowStatus::Accepted, "b.example")
            .await
            .unwrap(),
        2
    );
    assert!(hosts(FollowStatus::Pending).await.is_empty());
    store.remove_follower(local, &ids[1]).await.unwrap();
    assert!(store.delete_remote_actor(&ids[2]).await.unwrap());
    assert_eq!(
        hosts(FollowStatus::Accepted).await,
        [("a.example".to_owned(), 3), ("b.example".to_owned(), 2)]
    );
    assert_eq!(
        store
            .follower_hosts(other_local, FollowStatus::Accepted, 10)
            .await
            .unwrap(),
        [("a.example".to_owned(), 1)],
        "another local actor's followers are counted apart"
    );
    // A follow asked again keeps its row and its count.
    store
        .add_follower(local, &ids[0], "https://a.example/f3", FollowStatus::Pending)
        .await
        .unwrap();
    assert_eq!(
        store
            .count_followers_on_host(local, FollowStatus::Accepted, "a.example")
            .await
            .unwrap(),
        3
    );

    // Pages of two by cursor, newest first, cover all five once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .followers_page(
                local,
                FollowStatus::Accepted,
                FollowerFilter::default(),
                cursor.as_ref(),
                2,
            )
            .await
            .unwrap();
        assert!(page.followers.len() <= 2);
        seen.extend(page.followers.iter().map(|f| f.actor.id.clone()));
        match page.older {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let all = store
        .list_followers(local, FollowStatus::Accepted, 100, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.actor.id)
        .collect::<Vec<_>>();
    assert_eq!(seen, all, "the same order as the offset listing, each once");
    let on_b = store
        .followers_page(
            local,
            FollowStatus::Accepted,
            FollowerFilter {
                host: Some("b.example"),
                search: None,
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(on_b.followers.len(), 2);
    assert!(on_b.followers.iter().all(|f| f.actor.host == "b.example"));
    assert!(on_b.older.is_none());
}

async fn followers_searched_by_name_or_handle(store: &Store) {
    let local = "https://gazette.example/users/coop";
    let other_local = "https://gazette.example/users/lea";
    let named = |id: &str, host: &str, name: &str| RemoteActor {
        name: name.into(),
        ..remote(id, host, None)
    };
    let actors = [
        named("https://a.example/users/elodie", "a.example", "Élodie Martin"),
        named("https://b.example/users/marc", "b.example", "Marc Dupont"),
        named("https://a.example/users/coop1", "a.example", "Coopérative Une"),
        named("https://b.example/users/coop2", "b.example", "Cooperative Deux"),
        named("https://a.example/users/coop3", "a.example", "COOPÉRATIVE Trois"),
        named("https://c.example/users/coop4", "c.example", "Coop 100% locale"),
        named("https://c.example/users/zoe", "c.example", "Zoë"),
    ];
    for (i, a) in actors.iter().enumerate() {
        store.upsert_remote_actor(a).await.unwrap();
        store
            .add_follower(local, &a.id, &format!("{}/follow", a.id), FollowStatus::Accepted)
            .await
            .unwrap();
        if i == 0 {
            store
                .add_follower(other_local, &a.id, "https://a.example/f", FollowStatus::Accepted)
                .await
                .unwrap();
        }
    }
    let page = |host: Option<&'static str>, search: &'static str, before, limit| {
        let before: Option<gazette_store::FollowerCursor> = before;
        async move {
            store
                .followers_page(
                    local,
                    FollowStatus::Accepted,
                    FollowerFilter {
                        host,
                        search: Some(search),
                    },
                    before.as_ref(),
                    limit,
                )
                .await
                .unwrap()
        }
    };
    let ids = |p: &gazette_store::FollowerPage| p.followers.iter().map(|f| f.actor.id.clone()).collect::<Vec<_>>();

    // By name, whatever the case and accents.
    for q in ["elodie", "ÉLODIE", " Élo ", "martin"] {
        assert_eq!(ids(&page(None, q, None, 10).await), [actors[0].id.clone()], "{q}");
    }
    assert_eq!(ids(&page(None, "zoe", None, 10).await), [actors[6].id.clone()]);
    // By handle, with or without the leading @, in part.
    assert_eq!(
        ids(&page(None, "@marc@b.example", None, 10).await),
        [actors[1].id.clone()]
    );
    assert_eq!(ids(&page(None, "marc@b.ex", None, 10).await), [actors[1].id.clone()]);
    // `%` and `_` are searched for, not wildcards.
    assert_eq!(ids(&page(None, "100%", None, 10).await), [actors[5].id.clone()]);
    assert!(page(None, "_", None, 10).await.followers.is_empty());
    assert!(page(None, "nobody", None, 10).await.followers.is_empty());
    // Nothing to look for: no filter.
    assert_eq!(page(None, " @ ", None, 10).await.followers.len(), actors.len());
    // With the server filter.
    let coop_on_a = page(Some("a.example"), "coop", None, 10).await;
    assert_eq!(ids(&coop_on_a), [actors[4].id.clone(), actors[2].id.clone()]);

    // Paged by cursor with the search: every match once, newest first,
    // in the unfiltered order.
    let all: Vec<String> = store
        .list_followers(local, FollowStatus::Accepted, 100, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.actor.id)
        .filter(|id| id.contains("/coop"))
        .collect();
    assert_eq!(all.len(), 4);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(None, "coop", cursor, 3).await;
        assert!(p.followers.len() <= 3);
        seen.extend(ids(&p));
        match p.older {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, all);

    // A renamed actor is found by its new name only, on every follow.
    store
        .upsert_remote_actor(&named(&actors[0].id, "a.example", "Elodie Bernard"))
        .await
        .unwrap();
    assert!(page(None, "martin", None, 10).await.followers.is_empty());
    assert_eq!(ids(&page(None, "bernard", None, 10).await), [actors[0].id.clone()]);
    let other = store
        .followers_page(
            other_local,
            FollowStatus::Accepted,
            FollowerFilter {
                host: None,
                search: Some("bernard"),
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(ids(&other), [actors[0].id.clone()]);
    // Followers seeded in bulk are searchable too.
    gazette_store::testing::seed_followers(
        store,
        local,
        &[named("https://d.example/users/x", "d.example", "Ünal Yılmaz")],
        FollowStatus::Accepted,
    )
    .await
    .unwrap();
    assert_eq!(page(None, "unal", None, 10).await.followers.len(), 1);
}

/// The follower search through migration 22's trigram index gives what a
/// test of every follower's key gives, page by page: texts of three
/// characters or more (found through the index, or on SQLite by the walk
/// when the index finds too many actors), shorter ones (the walk), with
/// any case and accents, and with actors renamed or forgotten.
async fn followers_searched_through_the_trigram_index(store: &Store) {
    let local = "https://gazette.example/users/coop";
    let named = |i: usize, name: &str| {
        let host = format!("s{}.example", i % 7);
        RemoteActor {
            name: name.into(),
            preferred_username: format!("member{i}"),
            ..remote(&format!("https://{host}/users/member{i}"), &host, None)
        }
    };
    // More actors than SQLite's limit on the index's candidates (300),
    // all matching `member`, with a few names apart; one day apart, so the
    // order by date is the order of creation.
    let now = Utc::now();
    let mut actors: Vec<RemoteActor> = (0..700)
        .map(|i| RemoteActor {
            refreshed_at: chrono::DateTime::from_timestamp_micros(
                (now - chrono::Duration::minutes(i as i64)).timestamp_micros(),
            )
            .unwrap(),
            ..named(i, &format!("Member {i}"))
        })
        .collect();
    actors[5].name = "Élodie Martin-Lefèvre".into();
    actors[6].name = "ZOË Œuvre".into();
    actors[7].name = "Jean Zoo".into();
    gazette_store::testing::seed_followers(store, local, &actors, FollowStatus::Accepted)
        .await
        .unwrap();
    let key = |a: &RemoteActor| fold_for_search(&format!("{}\n{}@{}", a.name, a.preferred_username, a.host));

    // Every page of a search, by cursor; and what a test of every key gives.
    let search = |q: &'static str| async move {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let p = store
                .followers_page(
                    local,
                    FollowStatus::Accepted,
                    FollowerFilter {
                        host: None,
                        search: Some(q),
                    },
                    cursor.as_ref(),
                    50,
                )
                .await
                .unwrap();
            seen.extend(p.followers.into_iter().map(|f| f.actor.id));
            match p.older {
                Some(c) => cursor = Some(c),
                None => return seen,
            }
        }
    };
    let all: Vec<RemoteActor> = {
        let order: Vec<String> = store
            .list_followers(local, FollowStatus::Accepted, 10_000, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.actor.id)
            .collect();
        order
            .iter()
            .map(|id| actors.iter().find(|a| &a.id == id).unwrap().clone())
            .collect()
    };
    let expected = |q: &str, actors: &[RemoteActor]| -> Vec<String> {
        let q = fold_for_search(q.trim().trim_start_matches('@'));
        actors
            .iter()
            .filter(|a| key(a).contains(&q))
            .map(|a| a.id.clone())
            .collect()
    };

    // In the middle of a name or handle, any case and accents.
    assert_eq!(search("odie mar").await, [actors[5].id.clone()]);
    assert_eq!(search("MARTIN-LEFEVRE").await, [actors[5].id.clone()]);
    assert_eq!(search("ïn-lÉfè").await, [actors[5].id.clone()]);
    assert_eq!(search("oeuv").await, [actors[6].id.clone()]);
    assert_eq!(search("ber599@s4.exa").await, [actors[599].id.clone()]);
    // Few matches, and many (more than the index's candidates on SQLite).
    for q in [
        "member12",
        "@member20",
        "zoe",
        "zoo",
        "member",
        "ember 1",
        "ber 3",
        ".example",
    ] {
        let want = expected(q, &all);
        assert!(!want.is_empty(), "{q}");
        assert_eq!(search(q).await, want, "{q}");
    }
    assert_eq!(search("member").await.len(), 700);
    // With the server filter, through the index and by the walk.
    for q in ["member1", "member"] {
        let on_s3: Vec<RemoteActor> = all.iter().filter(|a| a.host == "s3.example").cloned().collect();
        let p = store
            .followers_page(
                local,
                FollowStatus::Accepted,
                FollowerFilter {
                    host: Some("s3.example"),
                    search: Some(q),
                },
                None,
                500,
            )
            .await
            .unwrap();
        let got: Vec<String> = p.followers.into_iter().map(|f| f.actor.id).collect();
        assert_eq!(got, expected(q, &on_s3), "{q}");
        assert!(!got.is_empty());
    }
    // One or two characters: no trigram, the same answers.
    for q in ["z", "Zo", "7", "@m", "œ"] {
        let want = expected(q, &all);
        assert!(!want.is_empty(), "{q}");
        assert_eq!(search(q).await, want, "{q}");
    }
    // No match, with a trigram or without.
    for q in ["nobody", "zz", "q", "member99999", "ZOË Œuvrx"] {
        assert!(search(q).await.is_empty(), "{q}");
    }

    // A renamed actor is found by its new name only; a forgotten one no more.
    store
        .upsert_remote_actor(&RemoteActor {
            name: "Nadia Zoo".into(),
            ..actors[5].clone()
        })
        .await
        .unwrap();
    assert!(search("odie mar").await.is_empty());
    assert_eq!(search("nadia z").await, [actors[5].id.clone()]);
    assert_eq!(search("zoo").await, [actors[5].id.clone(), actors[7].id.clone()]);
    assert!(store.delete_remote_actor(&actors[7].id).await.unwrap());
    assert_eq!(search("zoo").await, [actors[5].id.clone()]);
}

async fn instance_settings_override_and_reset(store: &Store) {
    assert!(store.list_instance_settings().await.unwrap().is_empty());
    let set = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    store
        .update_instance_settings(&[set("instance.name", "A"), set("theme.footer", "F")], &[], None)
        .await
        .unwrap();
    store
        .update_instance_settings(&[set("instance.name", "B")], &["theme.footer".to_owned()], None)
        .await
        .unwrap();
    let all = store.list_instance_settings().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].name.as_str(), all[0].value.as_str()), ("instance.name", "B"));
    assert_eq!(
        store.instance_setting("instance.name").await.unwrap().as_deref(),
        Some("B")
    );
    assert_eq!(store.instance_setting("theme.footer").await.unwrap(), None);
}

mod reports {
    use super::*;

    async fn reports_are_listed_and_resolved(store: &Store) {
        let targets = vec!["https://here.example/users/lea".to_owned()];
        assert!(
            store
                .add_report("https://m.example/flag/1", "https://m.example/actor", &targets, "Spam")
                .await
                .unwrap()
        );
        assert!(
            !store
                .add_report("https://m.example/flag/1", "https://m.example/actor", &targets, "Spam")
                .await
                .unwrap()
        );
        let open = store.list_reports(false).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].targets, targets);
        assert_eq!(open[0].status, "open");
        store.resolve_report("https://m.example/flag/1").await.unwrap();
        assert!(store.list_reports(false).await.unwrap().is_empty());
        assert_eq!(store.list_reports(true).await.unwrap()[0].status, "resolved");
        assert!(store.resolve_report("nope").await.is_err());
    }

    gazette_store::each_backend!(reports_are_listed_and_resolved);
}

/// Likes and boosts sent by a local actor: once per object; undoing forgets
/// them. Replies: several per object; deleting keeps a tombstone.
async fn outbound_interactions_once_and_undone(store: &Store) {
    let sent = |id: &str, kind: InteractionKind, source: Option<&str>| OutboundInteraction {
        id: id.into(),
        actor_id: "https://here.example/users/org".into(),
        kind,
        object_id: "https://there.example/objects/1".into(),
        object_actor: "https://there.example/users/ann".into(),
        source: source.map(Into::into),
        content_html: source.map(|s| format!("<p>{s}</p>")),
        created_at: Utc::now(),
        deleted_at: None,
        context: source.map(|_| "https://there.example/contexts/1".into()),
    };
    store
        .add_outbound_interaction(&sent("l1", InteractionKind::Like, None))
        .await
        .unwrap();
    match store
        .add_outbound_interaction(&sent("l2", InteractionKind::Like, None))
        .await
    {
        Err(gazette_store::StoreError::Conflict { message, .. }) => assert!(message.contains("already"), "{message}"),
        other => panic!("a second like of the same object must conflict, got {other:?}"),
    }
    store
        .add_outbound_interaction(&sent("b1", InteractionKind::Announce, None))
        .await
        .unwrap();
    store
        .add_outbound_interaction(&sent("r1", InteractionKind::Reply, Some("one")))
        .await
        .unwrap();
    store
        .add_outbound_interaction(&sent("r2", InteractionKind::Reply, Some("two")))
        .await
        .unwrap();
    let found = store
        .find_outbound_by_object(
            "https://here.example/users/org",
            InteractionKind::Like,
            "https://there.example/objects/1",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "l1");
    assert_eq!(store.list_outbound_interactions(10, 0).await.unwrap().len(), 4);
    assert_eq!(
        store
            .find_outbound_interaction("r1")
            .await
            .unwrap()
            .unwrap()
            .context
            .as_deref(),
        Some("https://there.example/contexts/1"),
        "a reply keeps the thread it answers"
    );

    assert!(store.undo_outbound_interaction("l1").await.unwrap());
    assert!(!store.undo_outbound_interaction("l1").await.unwrap(), "undone once");
    assert!(store.find_outbound_interaction("l1").await.unwrap().is_none());
    // Liking again after undoing is allowed.
    store
        .add_outbound_interaction(&sent("l3", InteractionKind::Like, None))
        .await
        .unwrap();

    assert!(store.undo_outbound_interaction("r1").await.unwrap());
    assert!(!store.undo_outbound_interaction("r1").await.unwrap());
    let tomb = store.find_outbound_interaction("r1").await.unwrap().unwrap();
    assert!(tomb.deleted_at.is_some());
    assert_eq!(tomb.source.as_deref(), Some("one"));
    let live: Vec<String> = store
        .list_outbound_interactions(10, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(
        !live.contains(&"r1".to_owned()) && live.contains(&"r2".to_owned()),
        "{live:?}"
    );
}

/// Actors stored before migration 18 have no search key: the store writes
/// it (when it starts, or when asked) and their follows become searchable.
async fn search_keys_filled_for_older_actors(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let store = &db.store;
    let local = "https://gazette.example/users/coop";
    let a = RemoteActor {
        name: "Chloé Lefèvre".into(),
        ..remote("https://a.example/users/chloe", "a.example", None)
    };
    store.upsert_remote_actor(&a).await.unwrap();
    store
        .add_follower(local, &a.id, "https://a.example/f", FollowStatus::Accepted)
        .await
        .unwrap();
    // As an older version left them (through a second connection).
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE remote_actors SET search_key = NULL")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("UPDATE followers SET search_key = ''")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let search = || async {
        store
            .followers_page(
                local,
                FollowStatus::Accepted,
                FollowerFilter {
                    host: None,
                    search: Some("chloe lefevre"),
                },
                None,
                10,
            )
            .await
            .unwrap()
            .followers
            .len()
    };
    assert_eq!(search().await, 0);
    // Starting again (migrate) fills them in, once.
    assert!(store.migrate().await.unwrap().is_empty());
    assert_eq!(search().await, 1);
    assert_eq!(store.fill_actor_search_keys().await.unwrap(), 0);
}

#[tokio::test]
async fn search_keys_filled_for_older_actors_sqlite() {
    search_keys_filled_for_older_actors(Backend::Sqlite).await;
}

#[tokio::test]
async fn search_keys_filled_for_older_actors_postgres() {
    search_keys_filled_for_older_actors(Backend::Postgres).await;
}

/// Key rotation: generations and key ids, the old key served until it
/// retires, ended at once on demand, and deleted when past its time.
mod key_rotation {
    use super::*;
    use chrono::Duration;

    async fn keys_rotate_and_old_keys_retire(store: &Store) {
        let t0 = Utc::now();
        assert!(
            store.rotate_actor_key("organisation", "p", "s", t0, t0).await.is_err(),
            "no key to rotate yet"
        );
        store.ensure_actor_key("organisation", "pub1", "priv1").await.unwrap();
        store.ensure_actor_key("author:a", "apub1", "apriv1").await.unwrap();
        let first = store.find_current_actor_key("organisation").await.unwrap().unwrap();
        assert_eq!((first.generation, first.key_fragment.as_str()), (1, "main-key"));

        let grace = Duration::days(7);
        let second = store
            .rotate_actor_key("organisation", "pub2", "priv2", t0, t0 + grace)
            .await
            .unwrap();
        assert_eq!((second.generation, second.key_fragment.as_str()), (2, "key-2"));
        let current = store.find_current_actor_key("organisation").await.unwrap().unwrap();
        assert_eq!(current.public_key_pem, "pub2");
        assert_eq!(current.key_fragment, "key-2");
        assert_eq!(
            store.find_actor_key("organisation").await.unwrap(),
            Some(("pub2".to_owned(), "priv2".to_owned())),
            "every reader of the key pair sees the new one"
        );
        let old = store.live_old_actor_keys("organisation", t0).await.unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(
            (old[0].key_fragment.as_str(), old[0].public_key_pem.as_str()),
            ("main-key", "pub1")
        );
        assert!(store.live_old_actor_keys("author:a", t0).await.unwrap().is_empty());
        // Its private half signs the Update announcing the new key, during the grace period only.
        let private = |fragment: &'static str, at| async move {
            store
                .find_old_actor_private_key("organisation", fragment, at)
                .await
                .unwrap()
        };
        assert_eq!(private("main-key", t0).await.as_deref(), Some("priv1"));
        assert_eq!(private("key-2", t0).await, None, "the current key is not an old one");
        assert_eq!(private("main-key", t0 + grace).await, None, "retired");

        // A second rotation within the grace period keeps both old keys.
        let t1 = t0 + Duration::days(1);
        store
            .rotate_actor_key("organisation", "pub3", "priv3", t1, t1 + grace)
            .await
            .unwrap();
        let old = store.live_old_actor_keys("organisation", t1).await.unwrap();
        let fragments: Vec<_> = old.iter().map(|k| k.key_fragment.as_str()).collect();
        assert_eq!(fragments, ["key-2", "main-key"], "newest first");

        // The first old key retires after seven days, the second a day later.
        let after_first = t0 + grace + Duration::seconds(1);
        let old = store.live_old_actor_keys("organisation", after_first).await.unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].key_fragment, "key-2");
        assert_eq!(store.delete_retired_actor_keys(after_first).await.unwrap(), 1);
        assert_eq!(store.delete_retired_actor_keys(after_first).await.unwrap(), 0);
        assert_eq!(store.live_old_actor_keys("organisation", t1).await.unwrap().len(), 1);

        // Ending the grace period at once.
        store
            .rotate_actor_key("author:a", "apub2", "apriv2", t1, t1 + grace)
            .await
            .unwrap();
        assert_eq!(store.retire_old_actor_keys(Some("author:a")).await.unwrap(), 1);
        assert!(store.live_old_actor_keys("author:a", t1).await.unwrap().is_empty());
        assert_eq!(store.live_old_actor_keys("organisation", t1).await.unwrap().len(), 1);
        assert_eq!(store.retire_old_actor_keys(None).await.unwrap(), 1);

        let all = store.list_actor_keys().await.unwrap();
        let listed: Vec<_> = all.iter().map(|k| (k.local_key.as_str(), k.generation)).collect();
        assert_eq!(listed, [("author:a", 2), ("organisation", 3)]);
    }

    /// The `Update` a rotation queues waits until `not_before`.
    async fn an_update_can_wait_before_it_is_sent(store: &Store) {
        let now = Utc::now();
        let inbox = vec!["https://remote.example/inbox".to_owned()];
        let queued = store
            .enqueue_delivery_not_before(
                "https://here.example/users/a#update-1",
                "https://here.example/users/a",
                "{}",
                &inbox,
                Some(now + Duration::seconds(2)),
            )
            .await
            .unwrap();
        assert_eq!(queued, 1);
        let lease = std::time::Duration::from_secs(60);
        assert!(
            store
                .claim_deliveries(now, lease, 10, 10, &[])
                .await
                .unwrap()
                .is_empty()
        );
        let later = store
            .claim_deliveries(now + Duration::seconds(3), lease, 10, 10, &[])
            .await
            .unwrap();
        assert_eq!(later.len(), 1);
    }

    /// The Ed25519 key rotates with the RSA key, in one transaction: a new
    /// generation under a new key id, the replaced key (private half too)
    /// kept until the same time as the RSA key, retired with it.
    async fn ed25519_keys_rotate_and_retire_with_the_rsa_keys(store: &Store) {
        use gazette_store::{Ed25519Key, NewEd25519Key, ed25519_key_fragment};
        let t0 = Utc::now();
        let grace = Duration::days(7);
        let new = |n: &str| NewEd25519Key {
            private_key_pkcs8: format!("pkcs8-{n}"),
            public_key_multibase: format!("z6Mk{n}"),
        };
        store.ensure_actor_key("author:b", "pub1", "priv1").await.unwrap();
        // No Ed25519 key yet: nothing rotates, the RSA key neither.
        let err = store
            .rotate_actor_keys("author:b", "pub2", "priv2", Some(&new("2")), t0, t0 + grace)
            .await
            .unwrap_err();
        assert!(matches!(err, gazette_store::StoreError::NotFound { .. }), "{err:?}");
        assert_eq!(
            store
                .find_current_actor_key("author:b")
                .await
                .unwrap()
                .unwrap()
                .generation,
            1,
            "the RSA rotation was undone with it"
        );
        assert!(store.live_old_actor_keys("author:b", t0).await.unwrap().is_empty());

        store
            .ensure_ed25519_key(&Ed25519Key {
                local_key: "author:b".into(),
                generation: 1,
                key_fragment: ed25519_key_fragment(1),
                private_key_pkcs8: "pkcs8-1".into(),
                public_key_multibase: "z6Mk1".into(),
            })
            .await
            .unwrap();
        let rotated = store
            .rotate_actor_keys("author:b", "pub2", "priv2", Some(&new("2")), t0, t0 + grace)
            .await
            .unwrap();
        assert_eq!(rotated.rsa.key_fragment, "key-2");
        let ed = rotated.ed25519.unwrap();
        assert_eq!((ed.generation, ed.key_fragment.as_str()), (2, "ed25519-key-2"));
        assert_eq!(store.find_ed25519_key("author:b").await.unwrap(), Some(ed.clone()));
        let old = store.live_old_ed25519_keys("author:b", t0).await.unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(
            (
                old[0].key_fragment.as_str(),
                old[0].public_key_multibase.as_str(),
                old[0].private_key_pkcs8.as_str()
            ),
            ("ed25519-key", "z6Mk1", "pkcs8-1")
        );
        assert_eq!(
            old[0].retires_at,
            store.live_old_actor_keys("author:b", t0).await.unwrap()[0].retires_at
        );
        let found = store.find_old_ed25519_key("author:b", "ed25519-key", t0).await.unwrap();
        assert_eq!(found.as_ref(), Some(&old[0]));
        assert_eq!(
            store
                .find_old_ed25519_key("author:b", "ed25519-key-2", t0)
                .await
                .unwrap(),
            None,
            "the current key is not an old one"
        );
        assert_eq!(
            store
                .find_old_ed25519_key("author:b", "ed25519-key", t0 + grace)
                .await
                .unwrap(),
            None,
            "retired"
        );
        assert!(
            store
                .live_old_ed25519_keys("author:b", t0 + grace)
                .await
                .unwrap()
                .is_empty()
        );

        // A second rotation within the grace period: both old keys listed, newest first.
        let t1 = t0 + Duration::days(1);
        let rotated = store
            .rotate_actor_keys("author:b", "pub3", "priv3", Some(&new("3")), t1, t1 + grace)
            .await
            .unwrap();
        assert_eq!(rotated.ed25519.unwrap().key_fragment, "ed25519-key-3");
        let fragments: Vec<_> = store
            .live_old_ed25519_keys("author:b", t1)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.key_fragment)
            .collect();
        assert_eq!(fragments, ["ed25519-key-2", "ed25519-key"]);

        // Past the first grace period, the first keys (RSA and Ed25519) are deleted.
        let after_first = t0 + grace + Duration::seconds(1);
        assert_eq!(store.delete_retired_actor_keys(after_first).await.unwrap(), 2);
        let left = store.live_old_ed25519_keys("author:b", t1).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].key_fragment, "ed25519-key-2");
        // Retired at once on demand, RSA and Ed25519 together.
        assert_eq!(store.retire_old_actor_keys(Some("author:b")).await.unwrap(), 2);
        assert!(store.live_old_ed25519_keys("author:b", t1).await.unwrap().is_empty());
        assert!(store.live_old_actor_keys("author:b", t1).await.unwrap().is_empty());
        // Without an Ed25519 key to rotate (the instance actor), only the RSA key changes.
        let rotated = store
            .rotate_actor_keys("author:b", "pub4", "priv4", None, t1, t1 + grace)
            .await
            .unwrap();
        assert_eq!((rotated.rsa.generation, rotated.ed25519), (4, None));
        assert_eq!(
            store.find_ed25519_key("author:b").await.unwrap().unwrap().key_fragment,
            "ed25519-key-3"
        );
    }

    gazette_store::each_backend!(
        keys_rotate_and_old_keys_retire,
        an_update_can_wait_before_it_is_sent,
        ed25519_keys_rotate_and_retire_with_the_rsa_keys
    );
}

/// FEP-044f: a quote request's answer is kept per quoting post; asking again
/// keeps the stamp id; the page lists accepted quotes only; a revocation is
/// final; a deleted quoting post is forgotten, only by its author.
async fn quotes_answered_listed_and_revoked(store: &Store) {
    use gazette_store::{QuoteAnswer, QuoteState};
    let art = article(store).await;
    let ann = remote("https://q.example/users/ann", "q.example", None);
    let bob = remote("https://q.example/users/bob", "q.example", None);
    store.upsert_remote_actor(&ann).await.unwrap();
    store.upsert_remote_actor(&bob).await.unwrap();
    let answer = |post: &'static str, actor: &'static str, state| QuoteAnswer {
        article_id: "",
        quote_post: post,
        quote_url: Some("https://q.example/@ann/1"),
        actor,
        request_id: "https://q.example/requests/1",
        state,
    };
    let ann_post = "https://q.example/notes/1";
    let first = store
        .record_quote(&QuoteAnswer {
            article_id: &art.id,
            ..answer(ann_post, "https://q.example/users/ann", QuoteState::Rejected)
        })
        .await
        .unwrap();
    assert_eq!(first.state, QuoteState::Rejected);
    assert_eq!(first.actor.id, ann.id);
    assert_eq!(store.count_quotes(&art.id).await.unwrap(), 0);
    assert!(store.list_quotes(&art.id, true, 10).await.unwrap().is_empty());
    let empty = store.quotes_stamp(&art.id).await.unwrap();

    // Asked again (the policy changed): same row, same stamp id, accepted.
    let again = store
        .record_quote(&QuoteAnswer {
            article_id: &art.id,
            request_id: "https://q.example/requests/2",
            ..answer(ann_post, "https://q.example/users/ann", QuoteState::Accepted)
        })
        .await
        .unwrap();
    assert_eq!(
        (again.id.as_str(), again.state),
        (first.id.as_str(), QuoteState::Accepted)
    );
    assert_eq!(again.request_id, "https://q.example/requests/2");
    let one = store.quotes_stamp(&art.id).await.unwrap();
    assert_ne!(one, empty, "an accepted quote changes what the page shows");
    assert_eq!(store.get_quote(&again.id).await.unwrap(), again);
    assert!(matches!(
        store.get_quote("nope").await,
        Err(gazette_store::StoreError::NotFound { .. })
    ));

    let bob_post = "https://q.example/notes/2";
    let bobs = store
        .record_quote(&QuoteAnswer {
            article_id: &art.id,
            ..answer(bob_post, "https://q.example/users/bob", QuoteState::Accepted)
        })
        .await
        .unwrap();
    assert_eq!(store.count_quotes(&art.id).await.unwrap(), 2);
    let listed: Vec<String> = store
        .list_quotes(&art.id, true, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(listed, vec![bobs.id.clone(), again.id.clone()], "newest first");

    // Revoked once; the second revocation finds nothing to revoke.
    let revoked = store.revoke_quote(&again.id).await.unwrap().unwrap();
    assert_eq!(revoked.actor.id, ann.id);
    assert!(store.revoke_quote(&again.id).await.unwrap().is_none());
    assert_ne!(
        store.quotes_stamp(&art.id).await.unwrap(),
        one,
        "nor does a revoked one"
    );
    assert!(store.revoke_quote("nope").await.unwrap().is_none());
    assert_eq!(
        store.find_quote(&again.id).await.unwrap().unwrap().state,
        QuoteState::Revoked
    );
    assert_eq!(store.count_quotes(&art.id).await.unwrap(), 1);
    assert_eq!(
        store.list_quotes(&art.id, false, 10).await.unwrap().len(),
        2,
        "the admin sees all"
    );
    // Asking again does not undo a revocation.
    let asked = store
        .record_quote(&QuoteAnswer {
            article_id: &art.id,
            ..answer(ann_post, "https://q.example/users/ann", QuoteState::Accepted)
        })
        .await
        .unwrap();
    assert_eq!(asked.state, QuoteState::Revoked);

    // Someone else cannot take over or delete Bob's quote.
    let taken = store
        .record_quote(&QuoteAnswer {
            article_id: &art.id,
            ..answer(bob_post, "https://q.example/users/ann", QuoteState::Rejected)
        })
        .await
        .unwrap();
    assert_eq!((taken.state, taken.actor.id), (QuoteState::Accepted, bob.id.clone()));
    assert_eq!(store.delete_quotes_by_post(bob_post, &ann.id).await.unwrap(), 0);
    assert_eq!(store.delete_quotes_by_post(bob_post, &bob.id).await.unwrap(), 1);
    assert_eq!(store.count_quotes(&art.id).await.unwrap(), 0);
    assert!(store.find_quote(&bobs.id).await.unwrap().is_none());
}

async fn article_quote_policies_set_and_reset(store: &Store) {
    let art = article(store).await;
    assert_eq!(store.article_quote_policy(&art.id).await.unwrap(), None);
    store
        .set_article_quote_policy(&art.id, Some("nobody"), "everyone")
        .await
        .unwrap();
    store
        .set_article_quote_policy(&art.id, Some("followers"), "everyone")
        .await
        .unwrap();
    assert_eq!(
        store.article_quote_policy(&art.id).await.unwrap().as_deref(),
        Some("followers")
    );
    store.set_article_quote_policy(&art.id, None, "everyone").await.unwrap();
    assert_eq!(store.article_quote_policy(&art.id).await.unwrap(), None);
    assert!(matches!(
        store
            .set_article_quote_policy("missing", Some("nobody"), "everyone")
            .await,
        Err(gazette_store::StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.set_article_quote_policy("missing", None, "everyone").await,
        Err(gazette_store::StoreError::NotFound { .. })
    ));
}

/// The article events waiting to be delivered, as (kind, version), each
/// forgotten once read.
async fn take_events(store: &Store) -> Vec<(ArticleEvent, i64)> {
    let events = store.pending_article_events(100).await.unwrap();
    for e in &events {
        store.finish_article_event(&e.id).await.unwrap();
    }
    events.into_iter().map(|e| (e.event, e.version)).collect()
}

/// A change of the policy that applies to a published article is an edit:
/// a new version and `updated_at`, and an `updated` event in the same
/// transaction; the same policy again, or an own policy equal to the
/// instance's, changes nothing; a draft's policy is stored without event.
async fn a_quote_policy_change_is_an_edit_followers_hear(store: &Store) {
    use gazette_store::QuotePolicyChange::{Announced, Stored, Unchanged};
    let art = article(store).await;
    assert_eq!(take_events(store).await, [(ArticleEvent::Published, 1)]);

    let set = |policy: Option<&'static str>, instance: &'static str| {
        let id = art.id.clone();
        async move { store.set_article_quote_policy(&id, policy, instance).await.unwrap() }
    };
    assert_eq!(set(Some("nobody"), "everyone").await, Announced { version: 2 });
    let after = store.get_article(&art.id).await.unwrap();
    assert_eq!(after.version, 2);
    assert!(after.updated_at > art.updated_at, "updated_at moves");
    assert_eq!(take_events(store).await, [(ArticleEvent::Updated, 2)]);

    // The same value again; then the instance's, which is the same policy.
    assert_eq!(set(Some("nobody"), "everyone").await, Unchanged);
    assert_eq!(set(None, "nobody").await, Unchanged);
    assert_eq!(store.article_quote_policy(&art.id).await.unwrap(), None);
    assert_eq!(set(Some("everyone"), "nobody").await, Announced { version: 3 });
    let third = store.get_article(&art.id).await.unwrap();
    assert_eq!(set(None, "everyone").await, Unchanged);
    let unchanged = store.get_article(&art.id).await.unwrap();
    assert_eq!((unchanged.version, unchanged.updated_at), (3, third.updated_at));
    assert_eq!(take_events(store).await, [(ArticleEvent::Updated, 3)]);

    // Back to a draft: the policy is kept for later, nothing is sent.
    store.set_article_status(&art.id, ArticleStatus::Draft).await.unwrap();
    assert_eq!(take_events(store).await, [(ArticleEvent::Deleted, 4)]);
    assert_eq!(set(Some("followers"), "everyone").await, Stored);
    assert_eq!(store.get_article(&art.id).await.unwrap().version, 4);
    assert_eq!(take_events(store).await, []);
    assert_eq!(
        store.article_quote_policy(&art.id).await.unwrap().as_deref(),
        Some("followers")
    );
}

/// A policy written with the article's create or edit rides on that
/// write's own event: one version, one activity.
async fn a_quote_policy_written_with_the_article_adds_no_event(store: &Store) {
    let art = article(store).await;
    assert_eq!(take_events(store).await, [(ArticleEvent::Published, 1)]);
    let new = published_by_lea("b", "T2");
    let b = store
        .create_article_with_quote_policy(&new, &[], Some("nobody"))
        .await
        .unwrap();
    assert_eq!(b.version, 1);
    assert_eq!(
        store.article_quote_policy(&b.id).await.unwrap().as_deref(),
        Some("nobody")
    );
    assert_eq!(take_events(store).await, [(ArticleEvent::Published, 1)]);

    let edited = store
        .update_article_with_quote_policy(&b.id, &new, Some(1), &[], None)
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    assert_eq!(store.article_quote_policy(&b.id).await.unwrap(), None);
    assert_eq!(take_events(store).await, [(ArticleEvent::Updated, 2)]);
    // A stale edit changes neither the article nor its policy.
    assert!(matches!(
        store
            .update_article_with_quote_policy(&b.id, &new, Some(1), &[], Some("nobody"))
            .await,
        Err(gazette_store::StoreError::StaleVersion { .. })
    ));
    assert_eq!(store.article_quote_policy(&b.id).await.unwrap(), None);
    assert_eq!(store.article_quote_policy(&art.id).await.unwrap(), None);
}
